"""How long a `screener` command takes from the shell, and which heavy modules it loads.

Builds a small review (the bundled demo dataset, 882 records, under minimal.yaml) in a
temporary folder, then runs each command as a user does (`python -m screener ...`, a new
interpreter each time, byte-code cached: one warm-up run first) --runs times and prints

- wall: the best wall-clock time (best of --runs: the machine's other work only adds);
- cpu: user + system CPU time of that run (steadier than wall on a busy machine);
- heavy modules loaded, each with its import time (`python -X importtime`, cumulative).

    .venv/bin/python benchmarks/cli_startup.py [--runs 5] [--baseline REV]

With --baseline REV the same commands are timed on git revision REV (a temporary git
worktree, removed afterwards) first, for comparison. Measured on a 2-core machine under
heavy load (load average 7 to 9: wall times are inflated, CPU times less), best of 3,
`--baseline 49e1a32` (before) and the working tree (after):

    command                       before: wall    cpu     after: wall    cpu
    --help                                0.38 s  0.21 s         0.50 s  0.21 s
    status --help                         2.17 s  1.02 s         0.25 s  0.13 s
    import --help                         1.89 s  1.07 s         0.34 s  0.17 s
    screen --help                         1.75 s  0.88 s         0.31 s  0.16 s
    protocol check minimal.yaml           1.68 s  0.84 s         2.09 s  1.08 s
    status                                3.39 s  1.67 s         3.14 s  1.29 s
    next --reviewer ann                   3.49 s  1.37 s         2.29 s  1.07 s

`--help` loads click only; a command's own help, and a usage error, loaded the whole
database layer (SQLAlchemy) and the protocol's schema checker before printing (no
longer). A command that opens a review needs them (about 0.8 s of its start, CPU); numpy
where it computes the stopping statistics (status); scikit-learn and scipy only where it
ranks, textual only in `screen`. `protocol check` loaded SQLAlchemy too (it read the
protocol through screener.workflow, whose package imported the storage layer); no longer
(best of 3, the same loaded machine: wall 1.39 s, CPU 0.93 s before; 0.98 s, 0.37 s after).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from baseline import checkout  # noqa: E402

HEAVY = ("click", "sqlalchemy", "jsonschema", "yaml", "numpy", "scipy", "sklearn",
         "textual", "rich", "psycopg", "openpyxl", "rapidfuzz", "Bio", "matplotlib")
DEMO = ROOT / "screener" / "demo" / "Meijboom_2021.csv.gz"
MINIMAL = ROOT / "protocols" / "minimal.yaml"
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",), ("--version",), ("status", "--help"), ("import", "--help"),
    ("screen", "--help"), ("protocol", "check", str(MINIMAL)), ("status",),
    ("next", "--reviewer", "ann"),
)
IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)")


def environment(source: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(source)
    return env


def timed(args: tuple[str, ...], source: Path, cwd: Path) -> tuple[float, float]:
    """(wall, cpu) seconds of one `python -m screener ARGS`."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "screener", *args], cwd=cwd,
                               env=environment(source), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def heavy_imports(args: tuple[str, ...], source: Path, cwd: Path) -> str:
    """The heavy top-level packages the command imports, each with its import time."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "screener", *args],
                            cwd=cwd, env=environment(source), capture_output=True, text=True)
    seen: dict[str, float] = {}
    for line in result.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match and match.group(3) in HEAVY and match.group(3) not in seen:
            seen[match.group(3)] = int(match.group(1)) / 1e6
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in seen.items()) or "-"


def measure(label: str, source: Path, review: Path, runs: int) -> None:
    print(f"\n{label}\n{'command':<38} {'wall':>7} {'cpu':>7}   heavy modules (import s)")
    for args in COMMANDS:
        timed(args, source, review)  # warm-up: byte-code compiled and cached
        wall, cpu = min(timed(args, source, review) for _ in range(runs))
        shown = " ".join(a if a != str(MINIMAL) else "minimal.yaml" for a in args)
        print(f"{shown:<38} {wall:6.2f}s {cpu:6.2f}s   "
              f"{heavy_imports(args, source, review)}", flush=True)


def build(folder: Path) -> Path:
    review = folder / "review"
    env = environment(ROOT)
    for args in (("init", str(review), "--protocol", str(MINIMAL)),
                 ("import", str(DEMO), "--review", str(review)),
                 ("decide", "1", "--review", str(review), "--reviewer", "ann",
                  "--label", "exclude")):
        subprocess.run([sys.executable, "-m", "screener", *args], env=env,
                       capture_output=True, check=True)
    return review


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV",
                        help="also time git revision REV, for comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        review = build(Path(tmp))
        print(f"review: the demo dataset (882 records); best of {args.runs} runs")
        if args.baseline:
            with checkout(args.baseline) as tree:
                measure(f"baseline ({args.baseline})", tree, review, args.runs)
        measure("working tree", ROOT, review, args.runs)


if __name__ == "__main__":
    main()
