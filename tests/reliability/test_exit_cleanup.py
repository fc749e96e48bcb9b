"""After a command (the screening UI among them) and the ranking process: the objects
left when the work is done are handed to the operating system, not walked by the
interpreter's last garbage collections (at 40,000 records those kept the shell waiting
about 2 s after `q` closed the UI: benchmarks/quit_latency.py), and only once everything
is committed and closed.

Each case runs in a fresh interpreter: gc.freeze there must not reach the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")

# An exit handler registered before the command runs runs after everything the command
# registered: it sees what the interpreter's final collections would walk.
AFTER_COMMAND = r"""
import atexit, gc, json, sys

def report():
    sys.stderr.write("FROZEN " + json.dumps(gc.get_freeze_count()) + "\n")

atexit.register(report)
sys.argv = ["screener", *sys.argv[1:]]
from screener.__main__ import run
run()
"""


def run_command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", AFTER_COMMAND, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def frozen(result: subprocess.CompletedProcess[str]) -> int:
    line = next(x for x in result.stderr.splitlines() if x.startswith("FROZEN "))
    return int(json.loads(line.removeprefix("FROZEN ")))


def test_a_finished_command_leaves_its_objects_to_the_system(tmp_path: Path) -> None:
    review = tmp_path / "review"
    assert CliRunner().invoke(main, ["init", str(review), "--protocol", MINIMAL]).exit_code == 0
    result = run_command("decide", "1", "--review", str(review), "--reviewer", "ann",
                         "--label", "include", cwd=tmp_path)
    # no record 1 in an empty review: the command fails cleanly, and still skips the walk
    assert result.returncode == 2, result.stderr
    assert frozen(result) > 1000
    status = run_command("status", "--review", str(review), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert frozen(status) > 1000


def test_a_decision_made_before_exit_is_committed(tmp_path: Path) -> None:
    """The freeze comes after the command's transaction: the decision is in the review."""
    review = tmp_path / "review"
    assert CliRunner().invoke(main, ["init", str(review), "--protocol", MINIMAL]).exit_code == 0
    ris = tmp_path / "one.ris"
    ris.write_text("TY  - JOUR\nTI  - A trial of something\nPY  - 2020\nER  - \n",
                   encoding="utf-8")
    assert CliRunner().invoke(main, ["import", str(ris), "--review", str(review)]
                              ).exit_code == 0
    result = run_command("decide", "1", "--review", str(review), "--reviewer", "ann",
                         "--label", "include", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert frozen(result) > 1000
    status = CliRunner().invoke(main, ["status", "--review", str(review)])
    assert "ann: 1 screened (include 1)" in status.output, status.output


RANKER_CHILD = r"""
import gc, sys
from multiprocessing import Pipe
from pathlib import Path
from screener.workflow.ranker_process import serve

parent, child = Pipe()
parent.send(("quit", None))
serve(child, sys.argv[1], Path(sys.argv[2]))
print(gc.get_freeze_count())
"""


def test_the_ranking_process_leaves_its_objects_to_the_system_when_told_to_quit(
        tmp_path: Path) -> None:
    """The UI waits for the ranking process to end before it gives the shell back."""
    review = tmp_path / "review"
    assert CliRunner().invoke(main, ["init", str(review), "--protocol", MINIMAL]).exit_code == 0
    url = f"sqlite:///{review / 'review.db'}"
    result = subprocess.run([sys.executable, "-c", RANKER_CHILD, url, str(review)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 1000
