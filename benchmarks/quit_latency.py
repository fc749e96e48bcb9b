"""How long `q` in the screening UI takes to give the shell back, on a large review.

Builds (once, in --cache) a review of --records varied records (pooled from
../shared/data/screening/*.csv.gz, as benchmarks/tui_latency.py builds them), with 60
decisions and a stored ranking, then runs `screener screen` in a tmux session of 160x45:
waits until the first record is on screen and the ranking process is up (--wait seconds),
presses `q`, and times

- "UI gone": from `q` to the moment the screen no longer shows the UI (tmux capture-pane,
  polled every 10 ms);
- "shell back": from `q` to the moment the shell runs the next command (`date +%s.%N`,
  written right after `screener screen` returns).

    .venv/bin/python benchmarks/quit_latency.py [--records 40000] [--runs 3] [--wait 12]
        [--baseline REV] [--cache DIR]

With --baseline REV the same is measured for git revision REV (checked out in a temporary
git worktree, removed afterwards) before the working tree, so the two can be compared on
the same review and machine. Measured on a 2-core machine under load (load average about
5), 40,000 records, median of 3 (`--baseline 49e1a32`):

    revision                    UI gone   shell back
    baseline (49e1a32)           0.26 s     3.35 s
    working tree                 0.23 s     0.54 s

The time went to the interpreter's last garbage collections at exit, in the UI process
(about 2 s: 134,000 objects with Textual, SQLAlchemy and the session) and in the ranking
child the UI waits for (0.4 to 1 s: the review's features and the model); both now leave
their objects to the operating system once everything is closed (gc.freeze).
Needs tmux.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from baseline import checkout  # noqa: E402
from tui_latency import build  # noqa: E402

from screener.core.decisions import Label  # noqa: E402
from screener.workflow.review import open_review  # noqa: E402
from screener.workflow.screening import record_decision  # noqa: E402

SESSION = "screener-quit-latency"
PYTHON = sys.executable


def prepare(records: int, cache: Path) -> Path:
    """The review, with decisions and a ranking (so the UI starts its ranking process)."""
    folder = build(records, cache, None)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    status = subprocess.run([PYTHON, "-m", "screener", "status", "--review", str(folder)],
                            env=env, capture_output=True, text=True, check=True).stdout
    if "ann:" in status:
        return folder
    review = open_review(folder)
    try:
        for n, record_id in enumerate(range(1, records, records // 60)):
            record_decision(review, record_id, "ann",
                            Label.INCLUDE if n % 6 == 0 else Label.EXCLUDE)
    finally:
        review.close()
    print("ranking the review once (features are computed and cached)...", file=sys.stderr)
    subprocess.run([PYTHON, "-m", "screener", "rank", "--review", str(folder),
                    "--reviewer", "ann"], env=env, capture_output=True, check=True)
    return folder


def _screen_text() -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", SESSION],
                          capture_output=True, text=True).stdout


def quit_once(source: Path, folder: Path, wait: float) -> tuple[float, float]:
    """Open the UI with `source` on the path, press q; (UI gone, shell back) in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        done = Path(tmp) / "done"
        subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "160", "-y", "45",
                        "bash --norc --noprofile"], check=True)
        try:
            command = (f"cd {folder} && PYTHONPATH={source} {PYTHON} -m screener screen "
                       f"--reviewer ann; date +%s.%N > {done}")
            subprocess.run(["tmux", "send-keys", "-t", SESSION, command, "Enter"], check=True)
            deadline = time.time() + 120
            while "Screened" not in _screen_text():
                if time.time() > deadline:
                    raise SystemExit("the UI did not open within 120 s")
                time.sleep(0.05)
            time.sleep(wait)  # the ranking process starts a second after the UI opens
            pressed = time.time()
            subprocess.run(["tmux", "send-keys", "-t", SESSION, "q"], check=True)
            gone = None
            while not done.exists() or not done.read_text().strip():
                if gone is None and "Screened" not in _screen_text():
                    gone = time.time() - pressed
                if time.time() > pressed + 60:
                    raise SystemExit("the shell did not come back within 60 s")
                time.sleep(0.01)
            back = float(done.read_text()) - pressed
            return (gone if gone is not None else back), back
        finally:
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def measure(label: str, source: Path, folder: Path, runs: int, wait: float) -> None:
    results = [quit_once(source, folder, wait) for _ in range(runs)]
    gone = statistics.median(r[0] for r in results)
    back = statistics.median(r[1] for r in results)
    each = ", ".join(f"{r[1]:.2f}" for r in results)
    print(f"{label:<26} {gone:6.2f} s   {back:6.2f} s   (shell back per run: {each})",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait", type=float, default=12.0,
                        help="seconds on the first record before q (the ranking process "
                             "starts meanwhile)")
    parser.add_argument("--baseline", metavar="REV",
                        help="also measure git revision REV, for comparison")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "screener-quit-latency")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("needs tmux")
    folder = prepare(args.records, args.cache)
    print(f"{args.records:,} records; median of {args.runs} runs\n")
    print(f"{'revision':<26} {'UI gone':>8}   {'shell back':>8}")
    if args.baseline:
        with checkout(args.baseline) as tree:
            measure(f"baseline ({args.baseline})", tree, folder, args.runs, args.wait)
    measure("working tree", ROOT, folder, args.runs, args.wait)


if __name__ == "__main__":
    main()
