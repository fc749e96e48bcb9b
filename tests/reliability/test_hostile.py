"""Hostile and extreme input handled safely: huge fields, SQL metacharacters, passwords in
URLs, a full disk and a read-only review. Each gets a clear message and nothing is lost."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import StorageError, repo
from screener.workflow.review import create_review, open_review
from screener.workflow.screening import ScreeningSession, record_decision

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "protocols" / "minimal.yaml"


def test_megabyte_abstract_and_100000_authors(tmp_path: Path) -> None:
    abstract = ("word " * 210_000)[:1_000_000]
    authors = tuple(f"Author{i}, A." for i in range(100_000))
    with create_review(tmp_path / "r", MINIMAL) as review:
        with review.transaction() as s:
            source = repo.add_source(s, name="X", kind="database")
            (rid,) = repo.add_records(s, source, [Record(title="Big", abstract=abstract,
                                                         authors=authors)])
        item = ScreeningSession(review, "ann").next()
        assert item is not None and item.record.id == rid
        assert len(item.record.abstract) == 1_000_000 and len(item.record.authors) == 100_000
        record_decision(review, rid, "ann", Label.INCLUDE)


def test_sql_metacharacters_in_notes_and_names(tmp_path: Path) -> None:
    nasty = "x'); DROP TABLE decisions; -- \" % _ \\ ; SELECT * FROM records"
    with create_review(tmp_path / "r", MINIMAL) as review:
        with review.transaction() as s:
            source = repo.add_source(s, name=nasty, kind="database")
            (rid,) = repo.add_records(s, source, [Record(title=nasty)])
        record_decision(review, rid, nasty, Label.MAYBE, note=nasty)
        with review.transaction() as s:
            (d,) = repo.current_decisions(s)
            assert (d.reviewer, d.note) == (nasty, nasty)
            assert [r.title for r in repo.search_records(s, "DROP TABLE decisions")] == [nasty]
            assert repo.sources(s)[0]["name"] == nasty


def test_password_in_url_is_never_printed(tmp_path: Path) -> None:
    for args in (["status", "--db", "postgresql://ann:hunter2@127.0.0.1:9/db"],
                 ["init", str(tmp_path / "x"), "--protocol", str(MINIMAL), "--db",
                  "postgresql://ann:hunter2@127.0.0.1:9/db"],
                 ["status", "--db", "oracle://ann:hunter2@h/db"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (2, 75)  # (75: no server there)
        assert "hunter2" not in result.output and "***" in result.output


def test_full_disk_during_a_decision(tmp_path: Path) -> None:
    """SQLite's max_page_count makes the disk 'full'; the failed decision is not written and
    every earlier one stays."""
    with create_review(tmp_path / "r", MINIMAL) as review:
        with review.transaction() as s:
            source = repo.add_source(s, name="X", kind="database")
            ids = repo.add_records(s, source, [Record(title=f"R{i}") for i in range(20)])
        for rid in ids[:5]:
            record_decision(review, rid, "ann", Label.EXCLUDE)
    db_path = tmp_path / "r" / "review.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    with open_review(tmp_path / "r") as review:
        from sqlalchemy import event

        @event.listens_for(review.db.engine, "connect")
        def _cap(dbapi_conn: object, _rec: object) -> None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]

        review.db.engine.dispose()
        with pytest.raises(StorageError, match="disk holding .* is full"):
            for rid in ids[5:]:
                record_decision(review, rid, "ann", Label.INCLUDE, note="n" * 200_000)
    with open_review(tmp_path / "r") as review, review.transaction() as s:
        labels = [d.label for d in repo.current_decisions(s)]
    assert labels[:5] == [Label.EXCLUDE] * 5
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _read_only_runner(folder: Path) -> list[str] | None:
    """A command prefix that runs a process which sees `folder` read-only, or None."""
    if os.geteuid() != 0:
        return []  # plain permissions are enough for a normal user
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-m", "sh", "-c",
                            f"mount --bind '{folder}' '{folder}' && "
                            f"mount -o remount,bind,ro '{folder}' '{folder}'"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "-m", "sh", "-c",
            f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}' "
            f"'{folder}' && exec \"$@\"", "sh"]


def test_read_only_review_gives_clear_message(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    with create_review(folder, MINIMAL) as review:
        with review.transaction() as s:
            source = repo.add_source(s, name="X", kind="database")
            (rid, *_) = repo.add_records(s, source, [Record(title="A"), Record(title="B")])
        record_decision(review, rid, "ann", Label.INCLUDE)
    with sqlite3.connect(folder / "review.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    prefix = _read_only_runner(folder)
    if prefix is None:
        if os.environ.get("CI") == "true":
            pytest.fail("cannot make a read-only mount here (unshare/mount refused)")
        pytest.skip("cannot make a read-only mount here")
    if prefix == []:
        for path in (folder, *folder.iterdir()):
            os.chmod(path, 0o555 if path.is_dir() else 0o444)
    try:
        out = subprocess.run(
            [*prefix, sys.executable, "-m", "screener", "decide", str(rid + 1), "--reviewer",
             "bob", "--new-reviewer", "--label", "include", "--review", str(folder)],
            capture_output=True, text=True, cwd=REPO)
        assert out.returncode == 2, out.stderr
        assert "is read-only" in out.stderr and "write access" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    finally:
        for path in (folder, *folder.iterdir()):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    with open_review(folder) as review, review.transaction() as s:
        assert [(d.record_id, d.label) for d in repo.current_decisions(s)] == [(rid, Label.INCLUDE)]


def test_output_encoding_without_the_characters_shown(tmp_path: Path) -> None:
    """A Latin-1 terminal or Windows cp1252 redirected output cannot show CJK or emoji: the
    command still prints, with those characters escaped, instead of a traceback."""
    folder = tmp_path / "r"
    title = "中文标题 🧪 — résumé"
    with create_review(folder, MINIMAL) as review:
        with review.transaction() as s:
            source = repo.add_source(s, name="来源 🧪", kind="database")
            repo.add_records(s, source, [Record(title=title)])
    encoding = "latin-1"
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    for args in (["next", "--reviewer", "ann"], ["status"], ["status", "--json"],
                 ["log", "events"]):
        out = subprocess.run([sys.executable, "-m", "screener", *args, "--review", str(folder)],
                             capture_output=True, cwd=REPO, env=env)
        stderr = out.stderr.decode(encoding)
        assert out.returncode == 0 and "Traceback" not in stderr, (args, stderr)
        if args == ["status", "--json"]:
            sources = json.loads(out.stdout.decode(encoding))["sources"]
            assert [s["name"] for s in sources] == ["来源 🧪"]
        if args[0] == "next":
            assert "\\u4e2d\\u6587" in out.stdout.decode(encoding) and "résumé" in \
                out.stdout.decode(encoding)
