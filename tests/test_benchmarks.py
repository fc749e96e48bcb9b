"""The benchmark scripts find the shared data as benchmarks/RANKING.md says: the folder named
by SCREENER_SHARED_DATA, else ../shared/data beside the repository; a missing folder is one
message and exit code 2 (the scripts are run, not imported: they are not a package)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"


@pytest.mark.parametrize("script", ["ranking.py", "stopping.py", "dedup.py", "import_speed.py",
                                    "export_speed.py", "tui_latency.py", "scale.py",
                                    "ranking_speed.py"])
def test_a_missing_shared_data_folder_is_one_message_and_exit_2(tmp_path: Path,
                                                                 script: str) -> None:
    # ranking.py ended in a FileNotFoundError traceback; stopping.py, dedup.py, import_speed.py,
    # export_speed.py and tui_latency.py read /work/shared/data whatever the variable said
    missing = tmp_path / "no-such-data"
    env = {**os.environ, "SCREENER_SHARED_DATA": str(missing), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(BENCHMARKS / script)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.startswith(str(missing))
    assert f"not found (SCREENER_SHARED_DATA is {missing})" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_the_shared_data_folder_defaults_to_shared_data_beside_the_repository(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import shared_data

    monkeypatch.delenv("SCREENER_SHARED_DATA", raising=False)
    assert shared_data.data_root() == REPO.parent / "shared" / "data"
    monkeypatch.setenv("SCREENER_SHARED_DATA", str(tmp_path))
    (tmp_path / "screening").mkdir()
    assert shared_data.shared_data("screening") == tmp_path / "screening"
