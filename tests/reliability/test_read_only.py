"""A read-only review.db, and a review folder that is read-only, seen by a process that
really may not write them: commands that only read work on the read-only file; commands
that write say which is read-only (exit 2) and write nothing.

Root writes through any permission bits, so the commands run without the capabilities that
let it (setpriv), or as nobody; the tests skip, saying why, where neither is possible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")
RIS = str(REPO / "tests" / "data" / "formats" / "ris" / "asreview_scopus_first2.ris")

_NO_BYPASS = "-dac_override,-dac_read_search,-fowner"
CANDIDATES = [
    ["setpriv", f"--inh-caps={_NO_BYPASS}", f"--bounding-set={_NO_BYPASS}", "--"],
    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"],
]
"""Prefixes that run a command unable to write what its permission bits forbid."""


def _unprivileged(folder: Path) -> list[str]:
    """A prefix whose processes may not write a file mode 0444 in `folder` but can run
    screener; skips the test when there is none."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("runs as root and setpriv is missing: no way to run a command that "
                    "permission bits stop")
    probe = folder / "probe"
    probe.write_text("x")
    probe.chmod(0o444)
    code = (f"import screener.cli\ntry:\n    open({str(probe)!r}, 'a')\nexcept PermissionError:"
            "\n    print('stopped')")
    tried = []
    try:
        for prefix in CANDIDATES:
            out = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True,
                                 text=True, cwd=REPO)
            if out.stdout.strip() == "stopped":
                return prefix
            tried.append(f"{' '.join(prefix[:2])}: {(out.stderr or out.stdout).strip()[-120:]}")
    finally:
        probe.unlink()
    pytest.skip("runs as root and cannot drop the right to write through permission bits "
                f"({'; '.join(tried)})")


@pytest.fixture
def review(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "rev"
    assert CliRunner().invoke(main, ["init", str(folder), "--protocol", MINIMAL]).exit_code == 0
    assert CliRunner().invoke(main, ["import", RIS, "--review", str(folder)]).exit_code == 0
    yield folder
    for path in (folder, *folder.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _state(folder: Path) -> str:
    result = CliRunner().invoke(main, ["status", "--review", str(folder)])
    assert result.exit_code == 0, result.output
    return result.output


def _run(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([*prefix, sys.executable, "-m", "screener", *args],
                         capture_output=True, text=True, cwd=REPO)
    assert "Traceback" not in out.stderr, out.stderr
    return out


def test_a_read_only_review_db_is_read_and_refuses_writes_by_name(review: Path,
                                                                  tmp_path: Path) -> None:
    prefix = _unprivileged(tmp_path)
    (review / "review.db").chmod(0o444)
    before = _state(review)
    elsewhere = tmp_path / "out"
    elsewhere.mkdir(mode=0o777)
    elsewhere.chmod(0o777)
    for args in (["status"], ["log", "verify"], ["export", "log", "--out", f"{elsewhere}/l.csv"],
                 ["report", "--out", f"{elsewhere}/r.md"]):
        out = _run(prefix, *args, "--review", str(review))
        assert out.returncode == 0, (args, out.stderr)
    assert "2 unique" in _run(prefix, "status", "--review", str(review)).stdout
    assert (elsewhere / "l.csv").is_file() and (elsewhere / "r.md").is_file()
    for args in (["decide", "1", "--reviewer", "ann", "--label", "include"], ["import", RIS,
                                                                             "--again"]):
        out = _run(prefix, *args, "--review", str(review))
        assert out.returncode == 2, (args, out.stderr)
        assert f"{review / 'review.db'} is read-only" in out.stderr, out.stderr
        assert "nothing was written" in out.stderr and "write access" in out.stderr
    assert _state(review) == before


def test_a_review_in_a_read_only_folder_is_read_and_refuses_writes(review: Path,
                                                                   tmp_path: Path) -> None:
    """An archived review (a read-only share, a read-only mount) closed cleanly: status,
    log verify, the exports and the report work; a decision is refused, naming the folder."""
    prefix = _unprivileged(tmp_path)
    before = _state(review)
    for side in ("-wal", "-shm"):
        assert not (review / f"review.db{side}").exists()  # (closed cleanly: no journal)
    elsewhere = tmp_path / "out"
    elsewhere.mkdir(mode=0o777)
    elsewhere.chmod(0o777)
    review.chmod(0o555)
    assert _run(prefix, "status", "--review", str(review)).stdout == before
    for args in (["log", "verify"], ["export", "log", "--out", f"{elsewhere}/l.csv"],
                 ["export", "prisma", "--out", f"{elsewhere}/p.svg"],
                 ["report", "--out", f"{elsewhere}/r.md"]):
        out = _run(prefix, *args, "--review", str(review))
        assert out.returncode == 0, (args, out.stderr)
    assert (elsewhere / "l.csv").is_file() and (elsewhere / "r.md").is_file()
    assert "<svg" in (elsewhere / "p.svg").read_text()
    (review / "exports").chmod(0o555)  # (the whole folder archived read-only)
    out = _run(prefix, "export", "log", "--review", str(review))  # to exports/ in the folder
    (review / "exports").chmod(0o755)
    assert out.returncode == 2 and "nothing was written" in out.stderr, out.stderr
    assert "Give --out PATH in a folder you can write" in out.stderr, out.stderr
    out = _run(prefix, "decide", "1", "--reviewer", "ann", "--label", "include",
               "--review", str(review))
    assert out.returncode == 2, out.stderr
    assert f"the review folder {review} is read-only" in out.stderr, out.stderr
    assert "nothing was written" in out.stderr and "status" in out.stderr
    assert sorted(p.name for p in review.iterdir()) == sorted(
        p.name for p in review.iterdir() if not p.name.startswith("review.db-"))
    review.chmod(0o755)
    assert _state(review) == before


def test_a_read_only_folder_beside_a_writer_is_read_with_the_journal(review: Path,
                                                                     tmp_path: Path) -> None:
    """Someone who may write the folder has the review open (its -wal journal is there): a
    reader who may not write the folder reads the review as it is, journal included."""
    import sqlite3

    prefix = _unprivileged(tmp_path)
    writer = sqlite3.connect(review / "review.db")
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE reviews SET title = 'Renamed while open'")
        writer.commit()
        assert (review / "review.db-wal").exists()
        review.chmod(0o555)
        out = _run(prefix, "status", "--review", str(review))
        assert out.returncode == 0 and "Renamed while open" in out.stdout, out
        assert _run(prefix, "log", "verify", "--review", str(review)).returncode == 0
    finally:
        review.chmod(0o755)
        writer.close()


def test_a_journal_without_its_index_in_a_read_only_folder_is_named(review: Path,
                                                                    tmp_path: Path) -> None:
    """A folder copied while the review was open (review.db-wal, no review.db-shm) that may not
    be written cannot be read at all: the message says why and what to do, not that the
    command writes."""
    import sqlite3

    prefix = _unprivileged(tmp_path)
    writer = sqlite3.connect(review / "review.db")
    copy = tmp_path / "copy"
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE reviews SET title = 'Renamed while open'")
        writer.commit()
        copy.mkdir()
        for name in ("review.db", "review.db-wal", "protocol.yaml"):
            shutil.copy(review / name, copy / name)
    finally:
        writer.close()
    copy.chmod(0o555)
    try:
        for args in (["status"], ["log", "verify"]):
            out = _run(prefix, *args, "--review", str(copy))
            assert out.returncode == 2, (args, out)
            assert (f"{copy / 'review.db-wal'} is there without review.db-shm, and the folder "
                    "cannot be written") in out.stderr, out.stderr
            assert "Copy the whole review folder somewhere you can write" in out.stderr
            assert "this command writes" not in out.stderr
    finally:
        copy.chmod(0o755)
    assert "Renamed while open" in _state(copy)   # (the same folder, writable: all there)


def test_agreement_and_conflicts_read_a_review_in_a_read_only_folder(tmp_path: Path) -> None:
    """Once reconciliation has started, agreement and conflicts only read: they work on an
    archived review, and a refused write names them among the commands that do."""
    prefix = _unprivileged(tmp_path)
    folder = tmp_path / "dual"
    dual = str(REPO / "protocols" / "dual-screening.yaml")
    for args in (["init", str(folder), "--protocol", dual], ["import", RIS],
                 ["decide", "1", "--reviewer", "ann", "--label", "include"],
                 ["decide", "1", "--reviewer", "bob", "--label", "exclude", "--reason",
                  "population", "--new-reviewer"],
                 ["conflicts", "--reviewer", "Adjudicator"]):
        if args[0] != "init":
            args = [*args, "--review", str(folder)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
    folder.chmod(0o555)
    try:
        out = _run(prefix, "agreement", "--review", str(folder))
        assert out.returncode == 0 and "ann" in out.stdout, out
        out = _run(prefix, "conflicts", "--review", str(folder))
        assert out.returncode == 0 and "bob: exclude (population)" in out.stdout, out
        out = _run(prefix, "decide", "2", "--reviewer", "ann", "--label", "include",
                   "--review", str(folder))
        assert out.returncode == 2, out
        assert "agreement, conflicts" in out.stderr, out.stderr
    finally:
        folder.chmod(0o755)
