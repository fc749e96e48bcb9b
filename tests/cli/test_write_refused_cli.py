"""A write the system refuses with space left on the disk ("disk I/O error"): the message
names the likely causes and what to check, not only SQLite's words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from tests.conftest import PROTOCOLS

resource = pytest.importorskip("resource")


def test_a_decision_refused_by_a_file_size_limit_names_the_limit(tmp_path: Path) -> None:
    rev = tmp_path / "rev"
    assert CliRunner().invoke(main, ["init", str(rev), "--protocol",
                                     str(PROTOCOLS / "minimal.yaml")]).exit_code == 0
    data = tmp_path / "recs.csv"
    data.write_text("title,abstract\n" + "".join(f"Record {i},About {i}\n" for i in range(40)),
                    encoding="utf-8")
    imported = CliRunner().invoke(main, ["import", str(data), "--source", "PubMed",
                                         "--review", str(rev)])
    assert imported.exit_code == 0, imported.output

    def limit_files() -> None:  # as `ulimit -f 10` in the shell
        resource.setrlimit(resource.RLIMIT_FSIZE, (10 * 1024, resource.RLIM_INFINITY))

    done = subprocess.run(
        [sys.executable, "-m", "screener", "decide", "1", "--reviewer", "ann",
         "--new-reviewer", "--label", "include", "--review", str(rev)],
        capture_output=True, text=True, timeout=120, preexec_fn=limit_files)
    assert done.returncode == 2, done.stderr
    said = done.stderr
    assert "Traceback" not in said and "was not saved" in said
    assert "at most 10,240 bytes (`ulimit -f`)" in said and "ulimit -f unlimited" in said
    assert "quota" in said and "network" in said and "disk failing" in said
