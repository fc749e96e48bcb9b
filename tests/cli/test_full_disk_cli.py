"""CLI on a review whose disk is full (a real 3 MiB tmpfs filled to the last byte; needs
root and `mount`, skipped otherwise): the commands that only read work, so a user can back
the review up or export it to another disk, and a command that writes says the disk is
full and what to do, not "disk I/O error"."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> None:
    with (disk / "filler").open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    assert shutil.disk_usage(disk).free == 0


def test_a_review_on_a_full_disk_can_be_read_backed_up_and_exported(
        small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rev = str(small_disk / "rev")
    assert run("init", rev, "--protocol", MINIMAL)[0] == 0
    (tmp_path / "a.csv").write_text("title,abstract\nOne trial,x\nTwo trial,y\n",
                                    encoding="utf-8")
    assert run("import", str(tmp_path / "a.csv"), "--review", rev)[0] == 0
    _fill(small_disk)
    for args in (["status"], ["log", "verify"], ["backup", str(tmp_path / "bk")],
                 ["export", "log", "--out", str(tmp_path / "log.csv")]):
        code, out = run(*args, "--review", rev)
        assert code == 0 and "disk I/O error" not in out, (args, out)
    assert (tmp_path / "bk" / "review.db").is_file() and (tmp_path / "log.csv").is_file()
    code, out = run("decide", "1", "--reviewer", "ann", "--label", "include", "--review", rev)
    assert code != 0
    assert f"the disk holding {rev}/review.db is full" in out and "Free some space" in out, out
    # the screening UI is not opened only to fail on its first step with a traceback
    opened: list[object] = []
    monkeypatch.setattr("screener.cli.screen._need_terminal", lambda: None)
    monkeypatch.setattr("screener.tui.app.run_app", lambda *args, **kw: opened.append(args))
    code, out = run("screen", "--reviewer", "ann", "--review", rev)
    assert code == 2 and f"the disk holding {rev}/review.db is full" in out, out
    assert opened == []
    (small_disk / "filler").unlink()
    assert run("decide", "1", "--reviewer", "ann", "--label", "include", "--review", rev)[0] == 0


def test_a_backup_onto_a_full_disk_names_the_backup(small_disk: Path, tmp_path: Path) -> None:
    """It named the hidden staging folder beside it (.bk.xxxx.partial/review.db), which the
    failure had removed."""
    rev = str(tmp_path / "rev")
    assert run("init", rev, "--protocol", MINIMAL)[0] == 0
    _fill(small_disk)
    code, out = run("backup", str(small_disk / "bk"), "--review", rev)
    assert code == 2
    assert f"writing the backup {small_disk / 'bk'} failed" in out, out
    assert ".partial" not in out and list(small_disk.iterdir()) == [small_disk / "filler"]


def test_commands_that_read_leave_the_full_disk_review_folder_as_it_was(
        small_disk: Path, tmp_path: Path) -> None:
    """status and export on a full disk worked but left an empty review.db-wal and a 3-byte
    review.db-shm beside the database (the check that review.db is a review opened it
    read-only, which still creates them, and failed to grow the -shm)."""
    rev = small_disk / "rev"
    assert run("init", str(rev), "--protocol", MINIMAL)[0] == 0
    _fill(small_disk)
    before = sorted(p.name for p in rev.iterdir())
    for args in (["status"], ["export", "log", "--out", str(tmp_path / "log.csv")],
                 ["export", "prisma", "--out", str(tmp_path / "prisma.svg")]):
        code, out = run(*args, "--review", str(rev))
        assert code == 0, (args, out)
        assert sorted(p.name for p in rev.iterdir()) == before, args
