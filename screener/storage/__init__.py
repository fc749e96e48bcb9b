"""Storage: SQLAlchemy models, engines (SQLite folder or PostgreSQL), migrations, and
functions that take a session and return core objects (`screener.storage.repo`).

The other layers use `Database` and `repo` and never import SQLAlchemy themselves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from screener.storage import repo
from screener.storage.engine import (
    ESCAPES,
    INT_MAX,
    NO_ANSWER,
    PG_ANSWER_TIMEOUT_ENV,
    PG_CONNECT_TIMEOUT_ENV,
    READ_ONLY,
    RESTORE_STEPS,
    SCHEMA_HEAD,
    ReviewFileReplaced,
    StorageError,
    StorageUnavailable,
    closed_in_read_only_folder,
    closed_on_full_disk,
    current_revision,
    disk_nearly_full,
    head_revision,
    known_revisions,
    make_engine,
    network_filesystem,
    normalise_url,
    pg_answer_timeout,
    pg_connect_timeout,
    redact,
    session_factory,
    sqlite_file,
    sqlite_file_problem,
    sqlite_path_too_long,
    sqlite_url,
    upgrade,
)

__all__ = ["INT_MAX", "RESTORE_STEPS", "Database", "Session", "StorageError", "StorageUnavailable",
           "close_for_replacement", "connection_hint", "copy_sqlite_file", "normalise_url",
           "redact", "repo", "sqlite_file", "sqlite_url"]


_SNAPSHOT: ContextVar[tuple[Database, Session] | None] = ContextVar("screener_snapshot",
                                                                  default=None)
"""The database and session of the `Database.snapshot` open in this context, if any."""


class Database:
    """An open review database: engine, session factory and migrations."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = make_engine(self.url)
        self._factory = session_factory(self.engine)

    def cannot_write(self) -> str | None:
        """Why this SQLite review was opened as an immutable file, so that no command can
        write it (its disk is full, or its folder read-only); None when it can be written
        (as far as can be told before writing)."""
        path = str(self.sqlite_path or "")
        if closed_on_full_disk(path) and os.access(os.path.dirname(path), os.W_OK):
            return _explain_full_disk(path, "no space left on the device")
        if closed_in_read_only_folder(path):
            return _explain_sqlite_read_only(path, "attempt to write a readonly database")
        return None

    def network_filesystem(self) -> str | None:
        """The network file system (nfs4, cifs, ...) a SQLite review's file is on, or None."""
        path = self.sqlite_path
        return network_filesystem(str(path)) if path is not None else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def display_url(self) -> str:
        """The URL as a user writes it (psql and createdb take it; the driver name, which
        only SQLAlchemy reads, is left out), without the password; for SQLite, the database
        file's path (what a user copies, restores or checks with sqlite3)."""
        if self.sqlite_path is not None:
            return str(self.sqlite_path)
        return redact(self.url.replace("postgresql+psycopg://", "postgresql://", 1))

    def check_review_file(self) -> None:
        """Refuse an existing SQLite file that cannot be a review (empty, cut short, not
        SQLite, another application's database) before anything connects to it: a
        connection sets WAL mode, which writes into the file. A file not there yet passes
        (a new review is created in it)."""
        path = self.engine.url.database if self.is_sqlite else None
        if path and path != ":memory:" and os.path.isfile(path):
            problem = sqlite_file_problem(Path(path))
            if problem:
                raise StorageError(problem)

    def check_reachable(self) -> None:
        try:
            with self.engine.connect():
                pass
        except DatabaseError as exc:
            damaged = _explain_damaged(exc, self.display_url)
            if damaged:
                raise StorageError(damaged) from None
            if not isinstance(exc, OperationalError):
                raise
            if self.is_sqlite:
                raise StorageError(_explain_sqlite_open(self.engine.url.database or "", exc)) from None
            try:
                self._raise_if_silent(exc)
            except StorageUnavailable as down:  # (which server: the URL, password hidden)
                raise StorageUnavailable(f"cannot connect to {self.display_url}: {down}") from None
            said = _first_line(exc)
            raise StorageError(f"cannot connect to {self.display_url}: {said}. "
                               f"{connection_hint(said, self.url)}") from None

    def has_tables(self) -> bool:
        self.check_reachable()
        with self._explained(), self.engine.connect() as conn:
            # only reads: on SQLite a plain BEGIN, which a writer's lock does not hold up
            conn = conn.execution_options(**{READ_ONLY: True})
            return inspect(conn).has_table("reviews")

    def foreign_tables(self) -> list[str]:
        """In a database that holds no review (`has_tables` False), the tables of its default
        schema: another application's, even where a name is one of screener's ("records")."""
        self.check_reachable()
        with self._explained(), self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            return sorted(t for t in inspect(conn).get_table_names() if t != "alembic_version")

    def schema(self) -> str | None:
        """On PostgreSQL, the schema that holds the review's tables (the first of the
        connection's search path that exists: `public` unless the URL sets another; when
        none exists, as for a review whose schema was dropped, the first the path names);
        None on SQLite."""
        from sqlalchemy import text

        if self.is_sqlite:
            return None
        with self._explained(), self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            schema = conn.scalar(text("SELECT current_schema()"))
            if schema is None:
                named = [name for name in _search_path(str(conn.scalar(text(
                    "SELECT current_setting('search_path')")) or "")) if name != "$user"]
                return named[0] if named else None
            return str(schema)

    def review_schemas(self) -> list[str]:
        """On PostgreSQL, the schemas of the database that hold a review's tables (this
        review's and other reviews', one per schema), sorted; [] on SQLite."""
        from sqlalchemy import text

        if self.is_sqlite:
            return []
        with self._explained(), self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            return sorted(map(str, conn.scalars(text(
                "SELECT schemaname FROM pg_catalog.pg_tables WHERE tablename IN "
                "('reviews', 'decisions', 'alembic_version') GROUP BY schemaname "
                "HAVING count(*) = 3"))))

    def upgrade(self) -> None:
        """Apply migrations to head (idempotent)."""
        self.check_reachable()
        current = self.revision()
        if current is not None and current not in known_revisions():
            raise StorageError(
                f"{self.display_url} was written by a newer screener (database schema "
                f"{current}; this one knows up to {head_revision()}): upgrade screener to "
                "the version your team uses. Nothing was changed")
        try:
            upgrade(self.engine)
        except OperationalError as exc:
            if self.is_sqlite and _is_read_only(exc):  # (an older review, read-only)
                raise StorageError(_explain_sqlite_read_only(
                    self.engine.url.database or "", _first_line(exc))) from None
            raise StorageError(self._explain_migration(current, exc)) from None
        except DBAPIError as exc:
            raise StorageError(self._explain_migration(current, exc)) from None

    def _explain_migration(self, current: str | None, exc: DBAPIError) -> str:
        """Why creating (`current` None) or upgrading the review's tables failed, and, when
        the server refused this account, who may do it."""
        said = _first_line(exc)
        if not any(words in said.lower() for words in ("permission denied", "must be owner")):
            return f"migrating {self.display_url} failed: {said}"
        role = self.engine.url.username or "this account"
        if current is None:
            schema = re.search(r"for schema (\S+)", said)
            return (f"cannot create the review's tables in {self.display_url} ({said}): "
                    "nothing was created. Run init with the database owner's account (the "
                    "one the database was created for: createdb -O ROLE), or ask the owner to "
                    f"run `GRANT CREATE ON SCHEMA {schema.group(1) if schema else 'public'} "
                    f"TO {role}` in psql")
        owner = self._owner()
        return (f"this screener needs the review's database schema upgraded from {current} to "
                f"{head_revision()}, which only the owner of its tables"
                f"{f' (role {owner})' if owner else ''} may do ({said}): nothing was changed. "
                f"Ask them to run `screener db upgrade --db {self.display_url}` with their "
                "account (the tables it adds get the grants the others have), then try again; "
                "or use the screener version the team used until now")

    def _owner(self) -> str | None:
        """The PostgreSQL role owning the review's tables (None: it cannot be read)."""
        from sqlalchemy import text

        try:
            with self.engine.connect() as conn:
                owner = conn.execute(text("SELECT pg_get_userbyid(relowner) FROM pg_class "
                                          "WHERE oid = to_regclass('reviews')")).scalar()
        except DBAPIError:
            return None
        return str(owner) if owner else None

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite review (None on PostgreSQL)."""
        path = self.engine.url.database if self.is_sqlite else None
        return Path(path) if path and path != ":memory:" else None

    def copy_to(self, target: Path) -> None:
        """Write the whole SQLite database into the new file `target` with SQLite's online
        backup: a snapshot of what was committed (what still sits in the -wal journal too),
        consistent while other processes write, as a file copy is not."""
        import sqlite3

        self.check_reachable()
        with self._explained():
            raw = self.engine.raw_connection()
        try:
            copy = sqlite3.connect(target)
            try:
                raw.driver_connection.backup(copy)  # type: ignore[union-attr]
                copy.execute("PRAGMA journal_mode = DELETE")  # (one file, no journal beside)
            finally:
                copy.close()
        except sqlite3.Error as exc:
            error = StorageError(f"copying {self.display_url} to {target} failed ({exc}); "
                                 "nothing was written")
            error.reason = str(exc)
            raise error from None
        finally:
            raw.close()

    def integrity_problems(self, limit: int = 10) -> list[str]:
        """What SQLite's `PRAGMA integrity_check` finds wrong in the database file (an index
        missing rows, pages torn by a copy taken while it was written), up to `limit` lines;
        empty when it is sound, and on PostgreSQL (the server keeps its own files sound)."""
        if not self.is_sqlite:
            return []
        from sqlalchemy import text

        with self._explained(), self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            rows = [str(row[0]) for row in conn.execute(text(f"PRAGMA integrity_check({limit})"))]
        return [] if rows == ["ok"] else rows

    def revision(self) -> str | None:
        with self._explained():
            return current_revision(self.engine)

    @staticmethod
    def head() -> str:
        return SCHEMA_HEAD

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One user action, one transaction: committed on success, rolled back on error.

        Database failures a user can act on (read-only file, full disk, unreachable
        server) become a `StorageError`; the transaction is rolled back, so nothing of
        the failed action is written and everything committed before stays.
        """
        with self._explained(), self._factory() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads, rolled back at the end.

        On SQLite it takes no write lock (plain BEGIN under WAL): it sees the database as
        of its first read and never waits for, nor delays, a writer. Writing inside it is
        a programming error (SQLite would refuse with "database is locked" when another
        connection writes). Within `snapshot` it is the snapshot's transaction.
        """
        shared = self._snapshot_session()
        if shared is not None:
            yield shared
            return
        with self._read_only() as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every `read` within it (in this thread or task) is one read transaction, so
        figures read by separate functions agree although others write meanwhile: on
        SQLite a plain BEGIN under WAL reads one snapshot (from its first read); on
        PostgreSQL the transaction is REPEATABLE READ (READ COMMITTED, the default, sees
        each statement's own). Nested, the outer one stands."""
        if self._snapshot_session() is not None:
            yield
            return
        isolation = {} if self.is_sqlite else {"isolation_level": "REPEATABLE READ"}
        with self._read_only(**isolation) as session:
            token = _SNAPSHOT.set((self, session))
            try:
                yield
            finally:
                _SNAPSHOT.reset(token)

    def _snapshot_session(self) -> Session | None:
        """The session of the `snapshot` open on this database in this thread or task."""
        shared = _SNAPSHOT.get()
        return shared[1] if shared is not None and shared[0] is self else None

    @contextmanager
    def _read_only(self, **options: object) -> Iterator[Session]:
        """A session whose transaction only reads (`options`: more execution options),
        rolled back at the end."""
        with self._explained(), self._factory() as session:
            session.connection(execution_options={READ_ONLY: True, **options})
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def _explained(self) -> Iterator[None]:
        """Database failures a user can act on become a `StorageError` with the remedy."""
        try:
            yield
        except ReviewFileReplaced:
            # Close this process's connections to the replaced file now: the last one to
            # close checkpoints its -wal into that file and deletes the -wal and -shm by
            # name, so no connection opening the new file lays them over it.
            self.engine.dispose()
            raise
        except OperationalError as exc:
            self._raise_if_silent(exc)
            if self.is_sqlite and _is_read_only(exc):
                raise StorageError(_explain_sqlite_read_only(self.engine.url.database or "",
                                                             _first_line(exc))) from None
            said = _explain_operational(exc, self.display_url)
            error = StorageError(said)  # (a second try may get past the two below)
            error.try_again = said.startswith(("database error on ",
                                               f"the review {self.display_url} stayed busy"))
            raise error from None
        except DatabaseError as exc:
            damaged = _explain_damaged(exc, self.display_url)
            if damaged:
                raise StorageError(damaged) from None
            if "permission denied" in _first_line(exc).lower():
                raise StorageError(_explain_refused(self.display_url, _first_line(exc))) from None
            raise

    def missing_privileges(self) -> dict[str, list[str]]:
        """On PostgreSQL, what this account lacks of the rights screening needs, by table or
        sequence of the review's ({"decisions": ["INSERT", "UPDATE"]}); empty when it has
        them all, and on SQLite (the file's permissions decide)."""
        if self.is_sqlite:
            return {}
        from sqlalchemy import text

        from screener.storage.models import Base

        with self._explained(), self.engine.connect() as conn:
            rows = conn.execute(text(_MISSING_PRIVILEGES),
                                {"tables": sorted(Base.metadata.tables)}).all()
        lacking: dict[str, list[str]] = {}
        for name, privilege, _ in rows:
            lacking.setdefault(str(name), []).append(str(privilege))
        return lacking

    def check_can_write(self) -> None:
        """A `StorageError` saying what is missing when this PostgreSQL account may not
        write the review (a read-only auditor's role): before the screening UI opens, whose
        first step claims a record."""
        by_rights: dict[str, list[str]] = {}
        for name, privileges in self.missing_privileges().items():
            by_rights.setdefault(", ".join(privileges), []).append(name)
        if by_rights:
            said = "; ".join(f"{rights} on {', '.join(names)}"
                             for rights, names in by_rights.items())
            raise StorageError(_explain_refused(self.display_url, f"it lacks {said}"))

    def _raise_if_silent(self, exc: OperationalError) -> None:
        """`StorageUnavailable` when the PostgreSQL server is not there for a reason that is
        not the user's input (the CLI exits 75): it did not answer a connection
        (connect_timeout) or a statement (`answering_connection`) in time, is not running,
        is shutting down or starting, has no connection left, or closed the connection."""
        if self.is_sqlite:
            return
        said = _first_line(exc)
        url = self.engine.url
        where = f"{url.host or 'localhost'}:{url.port}" if url.port else str(url.host or "localhost")
        if said.startswith(NO_ANSWER) or "timeout expired" in said.lower():
            seconds, variable = ((pg_answer_timeout(), PG_ANSWER_TIMEOUT_ENV)
                                 if said.startswith(NO_ANSWER) else
                                 (pg_connect_timeout(), PG_CONNECT_TIMEOUT_ENV))
            raise StorageUnavailable(
                f"the PostgreSQL server at {where} did not answer within {seconds} s: nothing "
                "was stored. Check that it is running and reachable, then try again (a server "
                f"busy with a long job may need more time: set {variable})") from None
        unavailable = _server_unavailable(said)
        if unavailable is not None:
            what, hint = unavailable
            raise StorageUnavailable(f"the PostgreSQL server at {where} {what} ({said}): "
                                     f"nothing was stored. {hint}") from None

    def dispose(self) -> None:
        self.engine.dispose()


_MISSING_PRIVILEGES = """
SELECT c.relname, p.privilege, p.o
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN (VALUES ('SELECT', 1), ('INSERT', 2), ('UPDATE', 3), ('DELETE', 4)) AS p(privilege, o)
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
  AND c.relname = ANY(:tables) AND NOT has_table_privilege(c.oid, p.privilege)
UNION ALL
SELECT c.relname, 'USAGE', 5
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
  AND CASE WHEN c.relkind = 'S' THEN NOT has_sequence_privilege(c.oid, 'USAGE') END
ORDER BY 1, 3
"""
"""Each (table or sequence, privilege) of the review's, in the connection's schema, that the
account lacks (`has_table_privilege` with several privileges is true when it has any one)."""

REVIEWER_RIGHTS = ("SELECT, INSERT, UPDATE and DELETE on the review's tables and USAGE on "
                   "its sequences")
"""What a reviewer's PostgreSQL role needs (README: "Sharing a review on PostgreSQL")."""


def _search_path(setting: str) -> list[str]:
    """The schema names of a search_path setting ('"$user", public', 'ketamine', '"My
    Review"'), unquoted."""
    return [quoted.replace('""', '"') if quoted else plain for quoted, plain in re.findall(
        r'\s*(?:"((?:[^"]|"")*)"|([^,\s]+))\s*(?:,|$)', setting) if quoted or plain]


def _explain_refused(where: str, said: str) -> str:
    """The server refused this account an action on the review (`said`): what to ask for."""
    return (f"the database account may not do this on {where} ({said}): nothing was written. "
            f"Ask the database owner to grant it {REVIEWER_RIGHTS}")


def copy_sqlite_file(source: Path, target: Path) -> None:
    """Write the SQLite database `source` (with what its -wal journal holds) into the file
    `target` with SQLite's online backup, opening `source` read-only: nothing is written to
    it, so a backup on a read-only disk can be copied back."""
    import sqlite3

    try:
        src = sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True)
        try:
            copy = sqlite3.connect(target)
            try:
                src.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")
            finally:
                copy.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        error = StorageError(f"copying {source} to {target} failed ({exc})")
        error.reason = str(exc)
        raise error from None


def close_for_replacement(path: Path) -> bool:
    """Take the SQLite database `path` out of WAL mode (its journal folded into it), which
    SQLite allows only while no other connection has it open: False when one has (a
    screening window, a command still running), True when it could be replaced now."""
    import sqlite3

    try:
        conn = sqlite3.connect(path, timeout=0)
    except sqlite3.Error:
        return True  # (what cannot be opened is no one's)
    try:
        conn.execute("PRAGMA journal_mode = DELETE").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return False
        return True
    except sqlite3.Error:
        return True
    finally:
        conn.close()
    return True


_UNAVAILABLE = (
    (("connection refused",),
     "refused the connection",
     "No server is running there: start it (or ask whoever runs it), then try again; if it "
     "runs on another machine or port, check the host and port in the URL"),
    (("shutting down",),
     "is shutting down",
     "Wait until it is running again (a restart takes seconds), then try again"),
    (("starting up", "recovery mode", "not yet accepting connections"),
     "is starting up",
     "Try again in a moment"),
    (("too many connections", "too many clients", "connection slots are reserved"),
     "has no connection left for this account",
     "Close other sessions on it (screener windows and commands, psql), then try again; or ask "
     "its administrator to raise max_connections (too many clients) or the role's "
     "CONNECTION LIMIT (too many connections for role)"),
    (("server closed the connection", "terminating connection", "connection already closed",
      "the connection is closed", "connection is lost", "consuming input failed",
      "ssl syscall error: eof"),
     "closed the connection",
     "It was restarted or stopped, or an administrator ended the session: try again (if it "
     "keeps happening, check that the server is running, and its log)"),
)
"""Words of a PostgreSQL failure that is not the user's input, what the server did, and
what to do: exit 75 (try again later), not 2."""


def _server_unavailable(said: str) -> tuple[str, str] | None:
    """(what the server did, what to do) when `said` tells of a PostgreSQL server not there
    to serve (`_UNAVAILABLE`); None for another failure (a wrong password, say)."""
    low = said.lower()
    for words, what, hint in _UNAVAILABLE:
        if any(word in low for word in words):
            return what, hint
    return None


def connection_hint(said: str, url: str) -> str:
    """What to do when the PostgreSQL server at `url` refused a connection with `said`."""
    import shlex

    from sqlalchemy.engine import make_url

    low = said.lower()
    if "database" in low and "does not exist" in low:
        parsed = make_url(url)
        flags = [f"-h {shlex.quote(parsed.host)}" if parsed.host else "",
                 f"-p {parsed.port}" if parsed.port else "",
                 f"-U {shlex.quote(parsed.username)}" if parsed.username else ""]
        command = " ".join([
            "createdb", *filter(None, flags), shlex.quote(parsed.database or "")])
        return (f"Create it first: `{command}` (or CREATE DATABASE in psql, as an account "
                "allowed to), or check the database name. A database holds one review, or "
                "one per schema: to keep this review in a database that holds another, "
                "`CREATE SCHEMA name` there and add ?options=-csearch_path%3Dname to the URL "
                "(README: PostgreSQL for teams)")
    if "sslmode" in low:
        return ("sslmode in the URL must be one of disable, allow, prefer, require, verify-ca "
                "or verify-full (?sslmode=require)")
    if "ssl" in low:
        return ("Check sslmode in the URL: require, verify-ca and verify-full need a server "
                "with SSL on (ask its administrator), prefer uses SSL where the server has it, "
                "disable never does")
    if "password" in low:
        return ("Check the user name and password: keep the password in ~/.pgpass or "
                f"PGPASSWORD (in a password in the URL, {ESCAPES}: a '%' and two hex "
                "digits are read as one character)")
    if any(word in low for word in ("refused", "resolve host", "translate host", "timeout",
                                    "timed out", "no route", "unreachable")):
        return "Check the host and port in the URL, and that the server is running"
    return "Check the host, port, user and database name, and that the server is running"


def _explain_sqlite_open(path: str, exc: OperationalError) -> str:
    if "unable to open" in _first_line(exc).lower() and (too_long := sqlite_path_too_long(path)):
        return too_long
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        return (f"no such folder: {folder}, where the database {os.path.basename(path)} "
                "would be; create the folder first, or check the path (a SQLite URL takes "
                "four slashes before an absolute path: sqlite:////abs/path/review.db)")
    if (not os.access(folder, os.W_OK) and os.path.isfile(f"{path}-wal")
            and not Path(f"{path}-shm").exists()):
        name = os.path.basename(path)
        return (f"{path}-wal is there without {name}-shm, and the folder cannot be written: SQLite cannot read the review's journal (its latest changes) "
                f"without the {name}-shm it would create beside it, so nothing can be read. "
                "Copy the whole review folder somewhere you can write and use the copy, or "
                "open the review where it was written (a folder copied while the review was "
                f"open, or without {name}-shm, looks like this)")
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        return _explain_sqlite_read_only(path, _first_line(exc))
    return _explain_operational(exc, path)


def _is_read_only(exc: OperationalError) -> bool:
    low = _first_line(exc).lower()
    return "readonly" in low or "read-only" in low or "read only" in low


def _explain_sqlite_read_only(path: str, said: str) -> str:
    """A review.db this process may not write, or whose folder it may not write: which of
    the two, and what still works."""
    folder = os.path.dirname(path) or "."
    if os.access(folder, os.W_OK) and disk_nearly_full(path):  # (opened immutable: full)
        return _explain_full_disk(path, "no space left on the device")
    if not os.access(folder, os.W_OK):
        return (f"the review folder {folder} is read-only: this command writes to the review, "
                "and nothing was written. The commands that only read (status, agreement, "
                "conflicts once reconciliation has started, the exports, the report, log "
                "verify, backup) work on it; to write, ask for write access to the "
                "folder, or copy the review folder somewhere writable")
    return (f"{path} is read-only ({said}): this command writes to the review, "
            "and nothing was written. Ask for write access to the file, or copy the review "
            "folder somewhere writable (status, agreement, conflicts, the exports, the report, "
            "log verify and backup read a read-only review.db)")


def _explain_damaged(exc: DatabaseError, where: str) -> str | None:
    """A database file that is not one, or is damaged: what to do (None: another error)."""
    text = _first_line(exc)
    low = text.lower()
    if "not a database" in low or "malformed" in low or "file is encrypted" in low:
        return (f"{where} is not a readable screener database ({text}): the file was replaced "
                f"or damaged, and nothing was written. Restore review.db from a backup: "
                f"{RESTORE_STEPS}")
    return None


def _explain_operational(exc: OperationalError, where: str) -> str:
    text = _first_line(exc)
    low = text.lower()
    if "readonly" in low or "read-only" in low or "read only" in low:
        return (f"the review database {where} is read-only ({text}): nothing was written. "
                "Ask for write access to the review folder, or copy it somewhere writable")
    if ("disk is full" in low or "no space" in low or "disk full" in low
            or ("disk i/o error" in low and os.path.isabs(where) and disk_nearly_full(where))):
        # (SQLite says "disk I/O error" when it cannot make the -shm index on a full disk)
        return _explain_full_disk(where, text)
    if "locked" in low or "busy" in low:
        return (f"the review {where} stayed busy for too long ({text}): nothing was written. "
                "Try again in a moment")
    if "unable to open" in low:
        return (f"cannot open the review database {where} ({text}): check that the folder "
                "exists and is readable")
    if "disk i/o error" in low and os.path.isabs(where):
        return _explain_io_error(where, text)
    return (f"database error on {where}: {text}; nothing of this action was written. Try again; if "
            "it fails again, check that the database server is running and reachable (or "
            "the disk holding the review)")


def _explain_io_error(where: str, text: str) -> str:
    """A write the system refused for a reason other than a full disk: the likely causes,
    the one this process can see first."""
    seen = []
    if (limit := _file_size_limit()) is not None:
        seen.append(f"this shell lets a program write files of at most {limit:,} bytes (`ulimit "
                    "-f`): raise the limit (`ulimit -f unlimited`, or ask whoever set it) and "
                    "try again")
    kind = network_filesystem(where)
    if kind is not None:
        seen.append(f"the review is on a network drive ({kind}), which may have gone away or "
                    "refused the write: check the connection; a review belongs on a local disk "
                    "or on PostgreSQL (README: \"Backing up, moving and sharing a review\")")
    other = ("a disk quota reached (`quota -s`, or ask the administrator), a network or sync "
             "drive that went away, or the disk failing (the system log, `dmesg`)")
    causes = (f"{'; '.join(seen)}. Otherwise: {other}" if seen else f"likely {other}")
    return (f"could not write {where} ({text}): the last action was not saved; everything saved "
            f"before it is safe. The system refused the write, with space left on the disk: "
            f"{causes}. The commands that only read (status, the exports, backup to another "
            "disk) may still work")


def _file_size_limit() -> int | None:
    """The largest file this process may write (`ulimit -f`), None when unlimited."""
    try:
        import resource
    except ImportError:  # (not on Windows)
        return None
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if limit == resource.RLIM_INFINITY else int(limit)


def _explain_full_disk(where: str, text: str) -> str:
    return (f"the disk holding {where} is full ({text}): the last action was not saved; "
            "everything saved before it is safe. The commands that only read (status, the "
            "exports, the report, log verify, backup to another disk) still work. Free some "
            "space and try again")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
