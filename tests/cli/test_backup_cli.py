"""CLI: `screener backup` writes a copy of a review folder that opens and holds every decision
committed, those still in review.db-wal too (copying review.db alone loses them); it writes
nothing over an existing folder and leaves nothing half-written behind."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")
RIS = str(REPO / "tests" / "data" / "formats" / "ris" / "asreview_scopus_first2.ris")


def _ok(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def review(tmp_path: Path) -> Path:
    folder = tmp_path / "rev"
    _ok("init", str(folder), "--protocol", MINIMAL)
    _ok("import", RIS, "--review", str(folder))
    return folder


def _decisions(folder: Path) -> int:
    conn = sqlite3.connect(f"file:{folder / 'review.db'}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM decisions").fetchone()[0])
    finally:
        conn.close()


def test_backup_holds_the_decisions_still_in_the_wal_journal(review: Path,
                                                             tmp_path: Path) -> None:
    # a UI left open keeps the journal: the decisions are in review.db-wal, not review.db
    held = sqlite3.connect(review / "review.db")
    held.execute("SELECT count(*) FROM records").fetchone()
    try:
        for record in ("1", "2"):
            _ok("decide", record, "--reviewer", "ann", "--label", "include",
                "--review", str(review))
        assert (review / "review.db-wal").stat().st_size > 0
        plain = tmp_path / "plain"
        plain.mkdir()
        (plain / "review.db").write_bytes((review / "review.db").read_bytes())
        assert _decisions(plain) < 2  # what copying review.db alone gives

        out = _ok("backup", str(tmp_path / "bk"), "--review", str(review))
    finally:
        held.close()
    assert "2 decisions, integrity check OK" in out, out
    copy = tmp_path / "bk"
    assert sorted(p.name for p in copy.iterdir()) == ["exports", "protocol.yaml", "review.db"]
    assert (copy / "protocol.yaml").read_bytes() == (review / "protocol.yaml").read_bytes()
    assert _decisions(copy) == 2
    status = _ok("status", "--review", str(copy))
    assert "My systematic review" in status, status
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_backup_writes_nothing_over_an_existing_folder(review: Path, tmp_path: Path) -> None:
    target = tmp_path / "old"
    target.mkdir()
    (target / "keep.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["backup", str(target), "--review", str(review)])
    assert result.exit_code == 2, result.output
    assert f"{target} exists" in result.output and "does not exist yet" in result.output
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    inside = CliRunner().invoke(main, ["backup", str(review / "bk"), "--review", str(review)])
    assert inside.exit_code == 2 and "inside the review folder" in inside.output, inside.output
    assert not (review / "bk").exists()


def test_a_backup_that_fails_leaves_nothing_behind(review: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from screener.storage import Database

    def torn(self: Database, target: Path) -> None:
        target.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(Database, "copy_to", torn)
    result = CliRunner().invoke(main, ["backup", str(tmp_path / "bk"), "--review", str(review)])
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output and "nothing was left" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rev"]
    # named by the backup's path, not the hidden staging folder beside it (now removed)
    assert f"the backup {tmp_path / 'bk'} failed" in result.output, result.output
    assert ".partial" not in result.output, result.output


def test_a_backup_leaves_out_what_killed_commands_left_behind(review: Path,
                                                              tmp_path: Path) -> None:
    """An export or a backup killed outright (SIGKILL, a power cut) leaves its temporary
    file or folder; the next backup copied them as if they were part of the review."""
    (review / "exports" / ".screener-k2j4x.tmp").write_text("half an export")
    (review / "exports" / "log.csv").write_text("seq\n")
    (review / ".bk.a8f3.partial").mkdir()
    (review / ".protocol.yaml.amending").write_text("a protocol")
    _ok("backup", str(tmp_path / "bk"), "--review", str(review))
    copied = sorted(str(p.relative_to(tmp_path / "bk")) for p in (tmp_path / "bk").rglob("*"))
    assert copied == ["exports", "exports/log.csv", "protocol.yaml", "review.db"]


def _an_hour_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the leftovers' age pass (their change time cannot be set back)."""
    import time
    from types import SimpleNamespace

    from screener.workflow import backup

    later = time.time() + getattr(backup, "LEFTOVER_AGE_S", 3600) + 1
    monkeypatch.setattr(backup, "time", SimpleNamespace(time=lambda: later), raising=False)


def _run(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_a_backup_removes_what_killed_backups_left_beside_it(
        review: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backup killed outright left its hidden staging folder (.bk.xxxxxxxx.partial, a
    whole copy of review.db) beside the backup's place, and nothing ever removed it."""
    import tempfile

    place = tmp_path / "backups"
    place.mkdir()
    killed = Path(tempfile.mkdtemp(prefix=".bk.", suffix=".partial", dir=place))
    (killed / "review.db").write_bytes((review / "review.db").read_bytes())
    theirs = [place / ".bk.partial", place / "notes.partial", place / ".x.abcdefgh.part"]
    for path in theirs:
        path.mkdir()
    # just made: a backup running in another shell may be writing it; it is kept
    out, err = _run("backup", str(place / "bk1"), "--review", str(review))
    assert killed.is_dir() and "removed" not in err, err
    _an_hour_later(monkeypatch)
    out, err = _run("backup", str(place / "bk2"), "--review", str(review))
    assert not killed.exists()
    assert err.count("note: removed") == 1, err
    assert (f"removed 1 leftover of an interrupted backup from {place} ({killed.name})"
            in " ".join(err.split())), err
    assert sorted(p.name for p in place.iterdir()) == sorted(
        ["bk1", "bk2", *(p.name for p in theirs)])


def test_an_export_removes_what_killed_exports_left_in_its_folder(
        review: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An export killed outright left its hidden temporary file (.screener-xxxxxxxx.tmp)
    in the exports folder, and nothing ever removed it."""
    import tempfile

    exports = review / "exports"
    fd, name = tempfile.mkstemp(prefix=".screener-", suffix=".tmp", dir=exports)
    os.write(fd, b"half an export")
    os.close(fd)
    killed = [Path(name), Path(name + ".old")]
    killed[1].write_text("the file --force was replacing")
    (exports / ".screener-notes.txt").write_text("not ours")
    out, err = _run("export", "log", "--review", str(review))
    assert all(p.exists() for p in killed) and "removed" not in err, err
    _an_hour_later(monkeypatch)
    out, err = _run("export", "log", "--review", str(review), "--force")
    assert not any(p.exists() for p in killed)
    assert err.count("note: removed") == 1, err
    assert (f"removed 2 leftovers of an interrupted export from {exports} "
            f"({killed[0].name}, {killed[1].name})" in " ".join(err.split())), err
    assert sorted(p.name for p in exports.iterdir()) == [".screener-notes.txt",
                                                         "decision-log.csv"]


def test_a_backup_removes_what_a_killed_protocol_amend_left_in_the_review_folder(
        review: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `protocol amend` killed outright left .protocol.yaml.amending (the new protocol's
    text, staged to be renamed onto the copy) in the review folder: backups skipped it, but
    nothing removed it."""
    killed = review / ".protocol.yaml.amending"
    protocol = (review / "protocol.yaml").read_text()
    killed.write_text(protocol + "# amended\n")
    theirs = [review / "protocol.yaml.amending", review / ".amending"]
    for path in theirs:
        path.write_text("not a leftover of ours")
    # just made: an amendment running in another shell may be about to rename it
    out, err = _run("backup", str(tmp_path / "bk1"), "--review", str(review))
    assert killed.is_file() and "removed" not in err, err
    _an_hour_later(monkeypatch)
    out, err = _run("backup", str(tmp_path / "bk2"), "--review", str(review))
    assert not killed.exists()
    assert err.count("note: removed") == 1, err
    assert (f"removed 1 leftover of an interrupted protocol amend from {review} "
            f"({killed.name}): unchanged for over an hour" in " ".join(err.split())), err
    assert all(path.is_file() for path in theirs)
    assert not (tmp_path / "bk2" / killed.name).exists()
    assert (review / "protocol.yaml").read_text() == protocol  # the copy is untouched


def _decide(review: Path, record: str, label: str = "include") -> None:
    _ok("decide", record, "--reviewer", "ann", "--label", label, "--review", str(review))


def test_log_verify_file_after_a_restore_says_the_review_holds_fewer_decisions(
        review: Path, tmp_path: Path) -> None:
    _decide(review, "1")
    _ok("backup", str(tmp_path / "bk"), "--review", str(review))
    early = tmp_path / "early.jsonl"
    _ok("export", "log", "--format", "jsonl", "--out", str(early), "--review", str(review))
    _decide(review, "2")
    _decide(review, "2", "maybe")  # (ann changes her mind)
    log = tmp_path / "log.jsonl"
    _ok("export", "log", "--format", "jsonl", "--out", str(log), "--review", str(review))

    result = CliRunner().invoke(main, ["log", "verify", "--file", str(early),
                                       "--review", str(review)])
    assert result.exit_code == 1
    assert ("the exported log has 1 rows but the review records 3: rows cut off the end of "
            "the file, or decisions made since it was exported") in result.stderr, result.stderr

    # restored from the backup, as README says
    for side in ("-wal", "-shm"):
        (review / f"review.db{side}").unlink(missing_ok=True)
    (review / "review.db").write_bytes((tmp_path / "bk" / "review.db").read_bytes())
    result = CliRunner().invoke(main, ["log", "verify", "--file", str(log),
                                       "--review", str(review)])
    assert result.exit_code == 1
    assert ("log FAILED: the review holds fewer decisions than the exported log (1 of its 3, "
            "the same as its first 1): the review may have been restored from an older copy, "
            "or its last decisions deleted") in result.stderr, result.stderr
    assert "rows added" not in result.stderr
    assert CliRunner().invoke(main, ["log", "verify", "--file", str(early),
                                     "--review", str(review)]).exit_code == 0


def test_merge_of_a_copy_that_imported_records_names_the_import_to_repeat(
        review: Path, tmp_path: Path) -> None:
    """A plain copy of the review folder that imported a file and screened its records:
    merge names that import and how to repeat it here; done, the merge goes through."""
    other = str(REPO / "tests" / "data" / "formats" / "ris" / "asreview_zotero_nan_first3.ris")
    copy = tmp_path / "copy"
    _ok("backup", str(copy), "--review", str(review))
    _ok("import", other, "--source", "Hand search", "--review", str(copy))
    _ok("decide", "3", "--reviewer", "ann", "--label", "include", "--review", str(copy))

    result = CliRunner().invoke(main, ["merge", str(copy), "--review", str(review)])
    assert result.exit_code == 2, result.output
    assert (f"{copy} holds records this review does not have (record 3): the copy imported "
            "them itself (source 'Hand search' from asreview_zotero_nan_first3.ris, imported ") in result.output
    assert ("Import the same into this review first (`screener import asreview_zotero_nan_first3.ris "
            "--source 'Hand search'`), then merge again") in result.output, result.output
    assert "edited outside screener" not in result.output

    _ok("import", other, "--source", "Hand search", "--review", str(review))
    assert "merged 1 new decision" in _ok("merge", str(copy), "--review", str(review))


def test_restore_refuses_to_lose_decisions_made_after_the_backup(tmp_path: Path) -> None:
    review = tmp_path / "dual"
    _ok("init", str(review), "--protocol", "dual-screening")
    _ok("import", RIS, "--review", str(review))
    _ok("decide", "1", "--reviewer", "ann", "--label", "include", "--review", str(review))
    _ok("backup", str(tmp_path / "bk"), "--review", str(review))
    _ok("decide", "2", "--reviewer", "ann", "--label", "exclude", "--review", str(review))
    _ok("decide", "2", "--reviewer", "bob", "--label", "include", "--new-reviewer",
        "--review", str(review))
    before = (review / "review.db").read_bytes()

    refused = CliRunner().invoke(main, ["restore", str(tmp_path / "bk"), "--review",
                                        str(review)])
    assert refused.exit_code == 2, refused.output
    said = " ".join(refused.output.split())
    assert "2 decision rows (ann: 1, bob: 1)" in said, said
    assert "export-reviewer" in said and "--discard-newer" in said, said
    assert "nothing was restored" in said, said
    assert (review / "review.db").read_bytes() == before
    assert _decisions(review) == 3

    done = CliRunner().invoke(main, ["restore", str(tmp_path / "bk"), "--review",
                                     str(review), "--discard-newer"])
    assert done.exit_code == 0, done.output
    assert "1 decision, integrity check OK" in done.output, done.output
    assert "discarded" in done.output and "ann: 1, bob: 1" in done.output, done.output
    assert _decisions(review) == 1
    assert not [p for p in review.iterdir() if p.name.startswith(".screener-")]
    verify = CliRunner().invoke(main, ["log", "verify", "--review", str(review)])
    assert verify.exit_code == 0, verify.output
    events = _ok("log", "events", "--review", str(review))
    assert "restored from the backup" in events and "ann" in events, events
    _ok("conflicts", "--reviewer", "Adjudicator", "--review", str(review))  # (not blind)
    _ok("report", "--out", str(tmp_path / "report.md"), "--review", str(review))
    report = " ".join((tmp_path / "report.md").read_text(encoding="utf-8").split())
    assert ("restored from a backup, discarding what was recorded after it (1 decision row "
            "of ann, 1 decision row of bob") in report, report


def test_restore_of_a_backup_with_everything_puts_back_what_the_folder_lost(
        review: Path, tmp_path: Path) -> None:
    for record in ("1", "2"):
        _ok("decide", record, "--reviewer", "ann", "--label", "include",
            "--review", str(review))
    _ok("backup", str(tmp_path / "bk"), "--review", str(review))
    db = sqlite3.connect(review / "review.db")  # a decision lost (as by a damaged file)
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("DELETE FROM decisions WHERE seq = 2")
    db.commit()
    db.close()
    out = _ok("restore", str(tmp_path / "bk"), "--review", str(review))
    assert "2 decisions, integrity check OK" in out, out
    assert _decisions(review) == 2
    assert "restored from the backup" in _ok("log", "events", "--review", str(review))


def test_restore_refuses_a_backup_of_another_review_and_a_review_held_open(
        review: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    _ok("init", str(other), "--protocol", MINIMAL)
    _ok("backup", str(tmp_path / "bk-other"), "--review", str(other))
    wrong = CliRunner().invoke(main, ["restore", str(tmp_path / "bk-other"), "--review",
                                      str(review)])
    assert wrong.exit_code == 2 and "backup of another review" in wrong.output, wrong.output
    # a folder whose review.db was lost, and the backup of a review with another protocol
    # (one made from the same protocol file cannot be told from it without the database)
    protocol = tmp_path / "another.yaml"
    protocol.write_text(Path(MINIMAL).read_text("utf-8").replace("title:", "title: Other", 1),
                        "utf-8")
    _ok("init", str(tmp_path / "third"), "--protocol", str(protocol))
    _ok("backup", str(tmp_path / "bk-third"), "--review", str(tmp_path / "third"))
    (review / "review.db").rename(tmp_path / "review.db.kept")
    lost = CliRunner().invoke(main, ["restore", str(tmp_path / "bk-third"), "--review",
                                     str(review)], env={"SCREENER_DB": None})
    assert lost.exit_code == 2 and "backup of another review" in lost.output, lost.output
    assert "review.db" not in [p.name for p in review.iterdir()]
    (tmp_path / "review.db.kept").rename(review / "review.db")

    _ok("backup", str(tmp_path / "bk"), "--review", str(review))
    held = sqlite3.connect(review / "review.db")
    held.execute("SELECT count(*) FROM records").fetchone()
    try:
        busy = CliRunner().invoke(main, ["restore", str(tmp_path / "bk"), "--review",
                                         str(review)])
    finally:
        held.close()
    assert busy.exit_code == 2 and "open in another screener window" in busy.output, (
        busy.output)
    assert not [p for p in review.iterdir() if p.name.startswith(".screener-")]
    _ok("restore", str(tmp_path / "bk"), "--review", str(review))


def test_restore_of_a_review_kept_in_postgresql_is_one_clear_refusal(
        tmp_path: Path, pg_url: str) -> None:
    # restore puts back a SQLite review.db only: on a review kept in PostgreSQL it said the
    # dump file was "not a backup of a review", and `--db URL` was "No such option" (usage)
    folder = tmp_path / "rev"
    _ok("init", str(folder), "--protocol", MINIMAL, "--db", pg_url)
    dump = tmp_path / "review.dump"      # (what `pg_dump -Fc` writes begins so)
    dump.write_bytes(b"PGDMP\x01\x0e\x00")
    made = sorted(p.name for p in folder.iterdir())
    for args, env in ((["--review", str(folder)], {}),
                      (["--review", str(folder), "--db", pg_url], {}),
                      (["--review", str(folder)], {"SCREENER_DB": pg_url})):
        result = CliRunner().invoke(main, ["restore", str(dump), *args], env=env)
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        (line,) = result.output.splitlines()
        assert line.startswith("error: ") and "PostgreSQL" in line, line
        assert "pg_restore" in line and "nothing was restored" in line, line
    assert sorted(p.name for p in folder.iterdir()) == made


def test_restore_puts_back_a_lost_review_db(review: Path, tmp_path: Path) -> None:
    # the folder kept its protocol.yaml, review.db was deleted: restore, the recovery case
    # it exists for, said the review "is kept in PostgreSQL" and refused
    _ok("decide", "1", "--reviewer", "ann", "--label", "include", "--review", str(review))
    _ok("backup", str(tmp_path / "bk"), "--review", str(review))
    for side in ("", "-wal", "-shm"):
        Path(f"{review / 'review.db'}{side}").unlink(missing_ok=True)
    result = CliRunner().invoke(main, ["restore", str(tmp_path / "bk"), "--review",
                                       str(review)], env={"SCREENER_DB": None})
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"restored {review} from ")
    assert "had no review.db: the backup's is now its review" in result.output
    assert _decisions(review) == _decisions(tmp_path / "bk") == 1
    assert "ann" in _ok("status", "--review", str(review))


def test_restoring_the_same_backup_again_is_not_refused_for_the_first_restore(
        review: Path, tmp_path: Path) -> None:
    # the second restore was refused: the folder held '1 other event' the backup lacked,
    # the first restore's own event
    _ok("decide", "1", "--reviewer", "ann", "--label", "include", "--review", str(review))
    _ok("backup", str(tmp_path / "bk"), "--review", str(review))
    _ok("restore", str(tmp_path / "bk"), "--review", str(review))
    again = CliRunner().invoke(main, ["restore", str(tmp_path / "bk"), "--review",
                                      str(review)])
    assert again.exit_code == 0, again.output
    assert "discarded" not in again.output
    # work done after a restore still counts
    _ok("decide", "2", "--reviewer", "ann", "--label", "include", "--review", str(review))
    after = CliRunner().invoke(main, ["restore", str(tmp_path / "bk"), "--review",
                                      str(review)])
    assert after.exit_code == 2 and "1 decision row (ann: 1)" in after.output, after.output
    assert "other event" not in after.output


@pytest.mark.parametrize("lost", [True, False], ids=["review.db deleted", "before init"])
def test_a_folder_with_a_protocol_and_no_review_db_says_how_to_go_on(
        review: Path, tmp_path: Path, lost: bool) -> None:
    # every command said the review 'is kept in PostgreSQL ... give --db URL', for a folder
    # whose review.db was deleted, or a protocol.yaml copied in before `init`
    folder = review
    if lost:
        for side in ("", "-wal", "-shm"):
            Path(f"{review / 'review.db'}{side}").unlink(missing_ok=True)
    else:
        folder = tmp_path / "new"
        folder.mkdir()
        (folder / "protocol.yaml").write_bytes((review / "protocol.yaml").read_bytes())
    for args in (["status"], ["import", RIS]):
        result = CliRunner().invoke(main, [*args, "--review", str(folder)],
                                    env={"SCREENER_DB": None})
        assert result.exit_code == 2, result.output
        (line,) = result.output.splitlines()
        assert "it is the folder of a review kept in PostgreSQL" not in line, line
        assert "has a protocol but no review.db" in line, line
        assert "--db URL" in line and "SCREENER_DB" in line, line
        assert "screener restore BACKUP" in line and "screener init" in line, line
    assert not (folder / "review.db").exists()  # nothing was created
