"""CLI: a review.db that is not a review (empty, cut short, a text file, another
application's SQLite database) gets one message naming the file and what to do, exit code
2, from every command that opens a review, and the file is left byte for byte as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")
RIS = str(REPO / "tests" / "data" / "formats" / "ris" / "asreview_scopus_first2.ris")

ARGS: dict[str, list[str]] = {
    "agreement": [], "backup": ["{tmp}/bk"], "conflicts": [], "db upgrade": [], "dedup": [], "export log": [],
    "export prisma": [], "export records": [], "log events": [], "log verify": [],
    "protocol show": [], "report": [], "status": [],
    "allocate": ["--reviewers", "ann,bob"],
    "decide": ["1", "--reviewer", "ann", "--label", "include"],
    "resolve": ["1", "--reviewer", "ann", "--label", "include"],
    "reassign": ["--from", "ann", "--to", "bob"],
    "correct-import": ["1", "--source", "Embase", "--reason", "r"],
    "withdraw-import": ["1", "--reason", "r"],
    "export-reviewer": ["{tmp}/copy", "--reviewer", "ann"],
    "import": [RIS],
    "import-ids": ["--email", "a@example.org", "{tmp}/ids.txt"],
    "merge": ["{tmp}/copy"],
    "next": ["--reviewer", "ann"],
    "not-retrieved": ["1"],
    "protocol amend": [MINIMAL, "--reason", "r"],
    "rank": ["--reviewer", "ann"],
    "screen": ["--reviewer", "ann"],
    "search pubmed": ["covid", "--email", "a@example.org"],
}
"""Arguments each command that opens a review needs to get that far."""

REPLACES_REVIEW_DB = {"restore"}
"""Commands that put a backup in place of review.db: a damaged one is what they are for
(test_a_damaged_review_db_says_how_to_restore_it restores one)."""


def _review_commands() -> Iterator[str]:
    def walk(group: click.Group, prefix: str) -> Iterator[str]:
        for name, command in sorted(group.commands.items()):
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")
            elif (any(p.name == "review_dir" for p in command.params)
                  and name not in REPLACES_REVIEW_DB):
                yield f"{prefix}{name}"

    return walk(main, "")


def test_every_command_that_opens_a_review_is_checked_here() -> None:
    assert sorted(_review_commands()) == sorted(ARGS), "add the new command to ARGS"


def _empty(db: Path) -> None:
    db.write_bytes(b"")


def _text(db: Path) -> None:
    db.write_text("notes saved under the wrong name\n", encoding="utf-8")


def _foreign(db: Path) -> None:
    db.unlink()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.close()


def _no_tables(db: Path) -> None:
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 7")   # (writes the header: a database, no tables)
    conn.close()


def _cut_short(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[:len(data) // 2])


@pytest.fixture
def review(tmp_path: Path) -> Path:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "rev"), "--protocol", MINIMAL])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "rev" / "review.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")   # (the whole review in the file)
    conn.close()
    for side in ("-wal", "-shm"):
        (tmp_path / "rev" / f"review.db{side}").unlink(missing_ok=True)
    (tmp_path / "ids.txt").write_text("12345\n", encoding="utf-8")
    return tmp_path / "rev"


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty": (_empty, "is empty (0 bytes)"),
    "text": (_text, "is not an SQLite database"),
    "foreign": (_foreign, "is an SQLite database of another application (tables moz_places)"),
    "no tables": (_no_tables, "is an SQLite database without tables"),
    "cut short": (_cut_short, "is cut short ("),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_review_db_that_is_no_review_is_named_and_left_unchanged(
        review: Path, damage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import screener.cli.screen

    monkeypatch.setattr(screener.cli.screen, "_need_terminal", lambda: None)  # (a terminal)
    db = review / "review.db"
    make, words = DAMAGE[damage]
    make(db)
    before = db.read_bytes()
    for command, args in ARGS.items():
        args = [a.replace("{tmp}", str(review.parent)) for a in args]
        result = CliRunner().invoke(main, [*command.split(), *args, "--review", str(review)])
        assert result.exit_code == 2, (command, result.output)
        assert f"{db} {words}" in result.output, (command, result.output)
        assert "restore review.db from a backup" in result.output, (command, result.output)
        assert db.read_bytes() == before, f"{command} changed {db}"
        assert sorted(p.name for p in review.iterdir()) == [
            "exports", "protocol.yaml", "review.db"], command
    result = CliRunner().invoke(main, ["init", str(review), "--protocol", MINIMAL])
    assert result.exit_code == 2 and words in result.output, result.output
    assert db.read_bytes() == before


def test_a_review_from_before_the_latest_migrations_still_opens_and_is_upgraded(
        review: Path) -> None:
    """The check that refuses files that are no review lets an older review through: it is
    upgraded as it always was."""
    from alembic import command

    from screener.storage import Database, sqlite_url
    from screener.storage.engine import _alembic_config

    db = Database(sqlite_url(review / "review.db"))
    with db.engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    assert db.revision() == "0001"
    result = CliRunner().invoke(main, ["status", "--review", str(review)])
    assert result.exit_code == 0 and "My systematic review" in result.output, result.output
    assert db.revision() == Database.head()
    # the upgrade is said once, on stderr (teammates on an older screener can no longer open it)
    assert (f"was made by an older screener: its database was upgraded from schema 0001 to "
            f"{Database.head()}") in result.stderr, result.stderr
    again = CliRunner().invoke(main, ["status", "--review", str(review)])
    assert again.exit_code == 0 and "older screener" not in again.stderr, again.stderr
    db.dispose()


def _drop_index_entry(db: Path, index: str, row: int) -> None:
    """Take row `row` out of `index` and nothing else, as a copy torn halfway through a
    checkpoint leaves it: the index is rebuilt as a partial index without the row, then
    given its own definition back."""
    conn = sqlite3.connect(db)
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?",
                 (f"{sql} WHERE id != {row}", index))
    conn.commit()
    conn.close()
    conn = sqlite3.connect(db)
    conn.execute(f"REINDEX {index}")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (sql, index))
    conn.commit()
    conn.close()


def test_log_verify_and_backup_name_a_damaged_database_file(review: Path) -> None:
    """A review.db whose index lost a row (its hash chains intact) fails `log verify`,
    which names the damage and how to restore, and `backup` refuses to copy it."""
    assert CliRunner().invoke(main, ["import", RIS, "--review", str(review)]).exit_code == 0
    for record in ("1", "2"):
        result = CliRunner().invoke(main, ["decide", record, "--reviewer", "ann", "--label",
                                           "include", "--review", str(review)])
        assert result.exit_code == 0, result.output
    assert CliRunner().invoke(main, ["log", "verify", "--review", str(review)]).exit_code == 0
    _drop_index_entry(review / "review.db", "ix_decisions_reviewer_id", 2)

    result = CliRunner().invoke(main, ["log", "verify", "--review", str(review)])
    assert result.exit_code == 1, result.output
    assert (f"database FAILED: the database file {review / 'review.db'} is damaged (row 2 "
            "missing from index ix_decisions_reviewer_id") in result.stderr, result.output
    assert "Restore review.db from a backup" in result.stderr
    assert "tables OK" not in result.output
    backup = CliRunner().invoke(main, ["backup", str(review.parent / "bk"),
                                       "--review", str(review)])
    assert backup.exit_code == 2, backup.output
    assert "is damaged (row 2 missing" in backup.output and "no backup was written" in backup.output
    assert not (review.parent / "bk").exists()


def test_a_malformed_review_db_is_named_by_its_path_not_a_url(review: Path) -> None:
    db = review / "review.db"
    _pages_overwritten(db)
    result = CliRunner().invoke(main, ["status", "--review", str(review)])
    assert result.exit_code == 2, result.output
    assert f"error: {db} is not a readable screener database" in result.output, result.output
    assert "sqlite:" not in result.output


def _pages_overwritten(db: Path) -> None:
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page * 2:] = b"\xff" * (len(data) - page * 2)   # (header intact, the pages after not)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_cut_short, _pages_overwritten])
def test_a_damaged_review_db_says_how_to_restore_it(review: Path,
                                                    damage: Callable[[Path], None]) -> None:
    """The message said 'restore review.db from a backup' and no more: not where backups
    come from, that every UI must be closed and review.db-wal/-shm deleted first (SQLite
    would apply them to the restored file), nor how to check the result. The steps it
    gives restore the review."""
    backup = review.parent / "bk"
    assert CliRunner().invoke(main, ["backup", str(backup), "--review",
                                     str(review)]).exit_code == 0
    damage(review / "review.db")
    result = CliRunner().invoke(main, ["status", "--review", str(review)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    said = " ".join(result.output.split())
    for step in ("restore review.db from a backup", "quit every screener window and command",
                 "`screener restore BACKUP --review DIR`", "`screener backup`", "--discard-newer",
                 "`screener log verify`", "Backing up, moving and sharing a review"):
        assert step.lower() in said.lower(), (step, said)
    restore = ["restore", str(backup), "--review", str(review)]
    first = CliRunner().invoke(main, restore)
    assert first.exit_code == 2 and "cannot be read" in first.output, first.output
    done = CliRunner().invoke(main, [*restore, "--discard-newer"])
    assert done.exit_code == 0, done.output
    assert CliRunner().invoke(main, ["log", "verify", "--review", str(review)]).exit_code == 0
