"""Ctrl-C: a real SIGINT at a known point of a command (while its modules load, in the
middle of an import's transaction, between an export's temporary file and its rename)
gives one line on stderr and exit code 130, never a traceback, and leaves the review and
the export folder as they were.

The child runs `python -m screener` with a pause point: when it gets there it writes
PAUSED to stderr and waits on stdin; the test then sends SIGINT. No timing is guessed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")

CHILD = r"""
import os, runpy, signal, sys

# as in a terminal: a suite started in the background (`cmd &` in a script) hands its
# children SIGINT ignored, and Python then installs no KeyboardInterrupt handler
signal.signal(signal.SIGINT, signal.default_int_handler)

kind, what, *args = sys.argv[1:]

def pause():
    sys.stderr.write("PAUSED\n")
    sys.stderr.flush()
    sys.stdin.readline()            # until the test's SIGINT
    sys.stderr.write("no signal came\n")

class PauseOnImport:                # a module about to be imported
    def find_spec(self, name, path=None, target=None):
        if name == what:
            sys.meta_path.remove(self)
            pause()
        return None

if kind == "import":
    sys.meta_path.insert(0, PauseOnImport())
elif kind == "after":               # after module.function ran (its rows in the transaction)
    import importlib
    module_name, func_name = what.rsplit(".", 1)
    module = importlib.import_module(module_name)
    original = getattr(module, func_name)
    def paused(*a, **k):
        result = original(*a, **k)
        pause()
        return result
    setattr(module, func_name, paused)
elif kind == "replace":             # before os.replace moves a file to a name ending in `what`
    real_replace = os.replace
    def replace(src, dst, *a, **k):
        if str(dst).endswith(what):
            pause()
        return real_replace(src, dst, *a, **k)
    os.replace = replace
sys.argv = ["screener", *args]
runpy.run_module("screener", run_name="__main__", alter_sys=True)
"""


def interrupt_at(kind: str, what: str, *args: str, sig: int = signal.SIGINT) -> str:
    """Run `screener ARGS`, send `sig` (SIGINT: Ctrl-C) when it reaches the pause point;
    its stderr. It exits with 128 + the signal's number, as a shell reports it."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, kind, what, *args],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert child.stderr is not None
    first = child.stderr.readline()
    if first != "PAUSED\n":
        child.kill()
        out, err = child.communicate()
        pytest.fail(f"never reached the pause point {kind} {what}: {first}{err}")
    child.send_signal(sig)
    out, err = child.communicate(timeout=300)
    assert child.returncode == 128 + sig, err
    assert "Traceback" not in err and "no signal came" not in err, err
    # one line (no blank line before it: stderr is not a terminal that echoed "^C")
    assert err == "interrupted: nothing was written by the unfinished step\n", err
    return err


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def review(tmp_path: Path) -> Path:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    return tmp_path / "rev"


def _big_ris(path: Path, n: int) -> Path:
    path.write_text("".join(
        f"TY  - JOUR\nTI  - Trial {i} of ketamine for depression\nAU  - Author{i}, A.\n"
        f"PY  - {1990 + i % 30}\nAB  - Abstract {i} " + "words " * 40 + "\nER  - \n\n"
        for i in range(n)), encoding="utf-8")
    return path


@pytest.mark.parametrize("module", ["click", "sqlalchemy"])
def test_ctrl_c_while_the_command_loads_its_modules(review: Path, module: str) -> None:
    """The first second of a command: click (loaded with the CLI, before click runs) and
    SQLAlchemy (loaded when the review is opened)."""
    before = (review / "review.db").read_bytes()
    interrupt_at("import", module, "status", "--review", str(review))
    assert (review / "review.db").read_bytes() == before


def test_ctrl_c_in_the_middle_of_a_big_import_leaves_the_review_unchanged(
        review: Path, tmp_path: Path) -> None:
    big = _big_ris(tmp_path / "big.ris", 3000)
    interrupt_at("after", "screener.storage.repo.add_records", "import", str(big),
                 "--review", str(review))
    assert "0 unique" in run("status", "--review", str(review))
    # nothing half-done stands in the way: the same file imports whole afterwards
    assert "3000 records (ris)" in run("import", str(big), "--review", str(review))
    assert "3,000 unique" in run("status", "--review", str(review))


def test_ctrl_c_before_an_export_is_renamed_into_place_leaves_no_file(review: Path) -> None:
    exports = review / "exports"
    interrupt_at("replace", "decision-log.csv", "export", "log", "--review", str(review))
    assert list(exports.iterdir()) == [], "a temporary or half-written file was left"
    run("export", "log", "--review", str(review))
    assert [p.name for p in exports.iterdir()] == ["decision-log.csv"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_a_hang_up_before_an_export_is_renamed_leaves_no_file(
        review: Path, sig: int) -> None:
    """kill, systemd or a closed SSH session stop a command as Ctrl-C does: it left a
    0-byte .screener-XXXX.tmp beside the export."""
    exports = review / "exports"
    interrupt_at("replace", "decision-log.csv", "export", "log", "--review", str(review),
                 sig=sig)
    assert list(exports.iterdir()) == [], "a temporary or half-written file was left"


def test_sigterm_in_the_middle_of_an_import_leaves_the_review_unchanged(
        review: Path, tmp_path: Path) -> None:
    big = _big_ris(tmp_path / "big.ris", 300)
    interrupt_at("after", "screener.storage.repo.add_records", "import", str(big),
                 "--review", str(review), sig=signal.SIGTERM)
    assert "0 unique" in run("status", "--review", str(review))
