"""Migrations: an empty database upgrades to head, and the models match it exactly."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from screener.storage import Database, sqlite_url
from screener.storage.models import Base


def _db(backend: str, tmp_path: Path, db_url: str | None) -> Database:
    return Database(db_url or sqlite_url(tmp_path / "review.db"))


def test_upgrade_empty_database_to_head_matches_models(backend: str, tmp_path: Path,
                                                       db_url: str | None) -> None:
    db = _db(backend, tmp_path, db_url)
    try:
        assert db.revision() is None
        db.upgrade()
        assert db.revision() == Database.head()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"reviews", "protocol_versions", "sources", "records", "duplicate_links",
                "reviewers", "decisions", "rankings", "reports"} <= tables
    finally:
        db.dispose()


def test_upgrade_is_idempotent(backend: str, tmp_path: Path, db_url: str | None) -> None:
    db = _db(backend, tmp_path, db_url)
    try:
        db.upgrade()
        db.upgrade()
        assert db.revision() == Database.head()
    finally:
        db.dispose()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "review.db"))
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            # FULL (2): a committed decision survives a power cut or system crash
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        db.dispose()


def test_concurrent_first_open_migrates_once(backend: str, tmp_path: Path,
                                             db_url: str | None) -> None:
    """Several reviewers opening a new database at the same moment: every process succeeds
    and the schema is at head (on PostgreSQL the migration is serialised by a lock)."""
    import subprocess
    import sys

    url = db_url or sqlite_url(tmp_path / "review.db")
    code = ("import sys; from screener.storage import Database; db = Database(sys.argv[1]); "
            "db.upgrade(); print(db.revision()); db.dispose()")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for rc, out, err in results:
        assert rc == 0, err
        assert out.strip() == Database.head()


def test_the_schema_head_constant_is_the_migrations_head() -> None:
    """Opening a review compares its revision with SCHEMA_HEAD; a new migration must move it
    (else reviews would not be upgraded to it when opened)."""
    from screener.storage.engine import SCHEMA_HEAD, head_revision

    assert SCHEMA_HEAD == head_revision()


def test_a_command_on_an_up_to_date_review_does_not_load_alembic(tmp_path: Path) -> None:
    """Alembic and its migration scripts cost a fraction of a second per command: they load
    only when a review needs upgrading, not for `status` on a review at head."""
    import subprocess
    import sys

    from screener.workflow.review import create_review

    protocol = Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml"
    create_review(tmp_path / "rev", protocol).close()
    code = ("import sys\nfrom screener.cli import main\n"
            "try:\n    main(['status', '--review', sys.argv[1]])\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print('alembic loaded' if 'alembic' in sys.modules else 'alembic not loaded')")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "rev")],
                         capture_output=True, text=True, check=True).stdout
    assert "records" in out and out.strip().endswith("alembic not loaded")
