"""The end of a parallel test run (pytest -n 2, as scripts/test.sh runs it) prints no
warning: a worker's last garbage collections finish before it reports, not after, when
execnet interrupts a worker still busy 5 s after the controller ended it (SIGINT)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parent / "conftest.py"

# A test that leaves garbage whose collection takes longer than execnet's 5 s: collected
# after the worker reported, it was cut short by SIGINT.
SLOW_GARBAGE = '''
import time


class Slow:
    def __del__(self) -> None:
        time.sleep(7)


def test_leaves_slow_garbage() -> None:
    slow = Slow()
    slow.cycle = slow  # (only the garbage collector frees it)
'''


@pytest.mark.slow
def test_a_parallel_run_ends_without_an_interrupted_collection(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('screener_conftest', {str(CONFTEST)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "pytest_sessionfinish = module.pytest_sessionfinish\n", encoding="utf-8")
    (tmp_path / "test_slow_garbage.py").write_text(SLOW_GARBAGE, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "1", "-p", "no:cacheprovider",
                          "-p", "no:randomly", "--rootdir", str(tmp_path), str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    said = run.stdout + run.stderr
    assert run.returncode == 0, said
    assert "1 passed" in said
    assert "KeyboardInterrupt" not in said and "Exception ignored" not in said, said
