"""Engine set-up for SQLite (a review folder) and PostgreSQL (a team server), and migrations.

SQLite runs in WAL mode with foreign keys on and a busy timeout; every transaction that
may write starts with BEGIN IMMEDIATE so that concurrent reviewers queue instead of failing
with "database is locked". Read-only transactions (a connection with the execution option
READ_ONLY) start with a plain BEGIN: under WAL they read a snapshot and neither wait for a
writer nor hold up one, so the ranking process and the statistics never delay a decision.
Must not import textual, click or other screener layers but core.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 60_000

READ_ONLY = "screener_read_only"
"""Execution option marking a connection whose transaction only reads."""

INT_MAX = 2**31 - 1
"""The largest value of an INTEGER column (ids, seeds, counts): 32 bits on PostgreSQL."""


class StorageError(Exception):
    """A database problem the user can act on (bad URL, not a review, unreachable server)."""

    reason: str = ""
    """What the database said, when the message wraps it (`Database.copy_to`)."""
    try_again: bool = False
    """Whether the same action may well work once the database answers again (a server
    restarting, a lost connection): the screening UI then says to press the key again."""


class StorageUnavailable(StorageError):
    """The database server did not answer in time (hung, stopped, or lost by the network),
    or is not there to serve (not running, restarting, out of connections): not the user's
    input; nothing of the action was stored. The CLI exits 75 (try again later)."""

    try_again = True


def redact(url: str) -> str:
    """The URL with any password replaced by ***, safe to print (also when it cannot be
    parsed: then everything between `user:` and the last `@` is hidden)."""
    try:
        parsed = make_url(url)
        # (with two '@', the password's first one was read as the host's, or a '/' in the
        # password began the database name: everything up to the last '@' is hidden below)
        if "@" not in (parsed.host or "") and not _more_than_one_at(url):
            return _hide_query_password(parsed.render_as_string(hide_password=True))
    except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
        pass
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" in rest.split("?", 1)[0]:
        userinfo, host = rest.split("?", 1)[0].rsplit("@", 1)
        host += rest[len(userinfo) + 1 + len(host):]
        user, colon, _password = userinfo.partition(":")
        rest = f"{user}{':***' if colon else ''}@{host}"
    return _hide_query_password(f"{scheme}{sep}{rest}")


def _more_than_one_at(url: str) -> bool:
    """A PostgreSQL URL with more than one '@' before its query: a password's '@' not
    written %40 (a SQLite path may hold any number)."""
    scheme, _, rest = url.partition("://")
    return scheme.lower().startswith("postgres") and rest.split("?", 1)[0].count("@") > 1


ESCAPES = "write an '@' as %40, a '/' as %2F, a ':' as %3A and a '%' as %25"
"""How to write the characters a URL reads otherwise in a user name or password."""


def _hide_query_password(url: str) -> str:
    """libpq also takes the password as a parameter: `...db?password=...`."""
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", url)


_BRACKETS = re.compile(r"@\[[^\]/?]*(?:[/?]|$)|://\[[^\]/?]*(?:[/?]|$)")


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs (driver psycopg 3) and `sqlite:///path`."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: e.g. a port that is not a number
        if _more_than_one_at(url):
            raise StorageError(_two_ats(url)) from None
        hint = (" (an IPv6 address needs its closing bracket: postgresql://user@[::1]:5432/db)"
                if _BRACKETS.search(url) else "")
        raise StorageError(
            f"cannot read the database URL {redact(url)!r}{hint}: use "
            "postgresql://user@host:port/db or sqlite:///path/to/review.db"
        ) from exc
    if "@" in (parsed.host or "") or _more_than_one_at(url):
        raise StorageError(_two_ats(url))
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if not parsed.database:
            raise StorageError(
                f"the database URL {redact(url)!r} names no database: end it with /DBNAME "
                "(postgresql://user@host:port/review), the database that holds or will hold "
                "the review")
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StorageError(
            f"unsupported database {backend!r} in {redact(url)}: screener works with SQLite "
            "(a review folder) or PostgreSQL (postgresql://user@host:port/db)"
        )
    return parsed.render_as_string(hide_password=False)


def _two_ats(url: str) -> str:
    return (f"cannot read the database URL {redact(url)!r}: it holds more than one '@'. In "
            f"the user name or password, {ESCAPES}; or leave the password out of the URL and "
            "use ~/.pgpass or PGPASSWORD")


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite database file `path`, with any character a URL reads otherwise
    escaped: a folder named `Ketamine%20review`, `Does it work?` or `Trial #2` must open its
    own review.db, not `Ketamine review`'s or a file `Does it work` beside it."""
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The database file a SQLite URL names, decoded as SQLAlchemy reads it (None for
    another database, an in-memory one, or a URL that cannot be read)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


SQLITE_PATH_MAX = 504
"""The longest path, in bytes, of a database file SQLite opens (its unix limit of 512,
less room for the `-journal` it may add); longer, it says only "unable to open"."""


def sqlite_path_too_long(path: str) -> str:
    """Why SQLite cannot open the database file `path`, when its whole path is too long,
    in words ("" when it is not)."""
    size = len(os.fsencode(os.path.abspath(path)))
    if size <= SQLITE_PATH_MAX:
        return ""
    return (f"cannot open the review database {path}: its path is {size} bytes long, and "
            f"SQLite opens a database whose path is at most {SQLITE_PATH_MAX} bytes. Use a "
            "review folder with a shorter path (nearer the top of the drive, or with shorter "
            "folder names): create the review there, or move it there and give that path")


SQLITE_HEADER = b"SQLite format 3\x00"

RESTORE_STEPS = ("quit every screener window and command, run `screener restore BACKUP "
                 "--review DIR` (BACKUP: a folder `screener backup` wrote, or a copy of the "
                 "whole review folder; add --discard-newer when it says the damaged "
                 "review.db cannot be read), then check it with `screener log verify` "
                 "(README: \"Backing up, moving and sharing a review\")")
"""How to restore review.db, as every message about a damaged review.db says it."""

_REMEDY = ("nothing was changed. Check that --review (or --db) names the review's folder; if "
           f"this file was the review, restore review.db from a backup: {RESTORE_STEPS}")


def sqlite_file_problem(path: Path) -> str | None:
    """Why the existing file `path` cannot be a screener review (empty, cut short, not
    SQLite, without screener's tables), or None when it may be one. Only reads: the file
    is opened read-only, before any connection that could write (setting WAL mode writes
    a header even into an empty file)."""
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read {path} ({exc.strerror}); {_REMEDY}"
    if size == 0:
        return (f"{path} is empty (0 bytes), not a screener review; {_REMEDY}. An empty file "
                "left by an `init` that did not finish can be deleted before running init again")
    if not header.startswith(SQLITE_HEADER):
        return f"{path} is not an SQLite database, so not a screener review; {_REMEDY}"
    short = _cut_short(path, header, size)
    if short:
        return f"{path} is cut short ({short}), so it cannot be read; {_REMEDY}"
    tables = _table_names(path)
    if tables is None:
        return None  # (it could not be opened read-only; connecting will say why)
    if "reviews" in tables:
        return stale_journal(path)
    if not tables:
        return (f"{path} is an SQLite database without tables, not a screener review; "
                f"{_REMEDY}. One left by an `init` that did not finish can be deleted before "
                "running init again")
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    return (f"{path} is an SQLite database of another application (tables {shown}), not a "
            f"screener review; {_REMEDY}")


def _cut_short(path: Path, header: bytes, size: int) -> str | None:
    """How a file is shorter than its header says it is (None: it is not). A file beside
    a journal is left alone: SQLite completes or rolls back an interrupted write from it."""
    if any(Path(f"{path}{side}").exists() for side in ("-wal", "-journal")):
        return None
    if len(header) < 100:
        return f"{size} bytes, less than an SQLite header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    pages_valid = header[24:28] == header[92:96] and pages > 0
    if pages_valid and size < page_size * pages:
        return f"{size:,} bytes of the {page_size * pages:,} its header gives"
    return None


def stale_journal(path: Path) -> str | None:
    """Why the review.db-wal beside `path` must not be applied to it, or None.

    SQLite lays every valid frame of a -wal over the database file when it opens it, and
    nothing ties a -wal to the file it was written beside: a review.db and an older -wal
    (a sync tool or a copy delivering the two from different times) open as the old
    review, and the first write makes that for good. The review's decision and event logs
    only grow, and a -wal only holds what was committed after the file's last checkpoint,
    so with the right -wal the review as review.db and its -wal give it has at least the
    decisions and events of review.db alone; fewer means the -wal is older than the file.
    Both are read without writing (review.db alone as an immutable file, then with its
    -wal read-only), review.db alone first, so a writer working meanwhile only adds to the
    second figure."""
    wal = Path(f"{path}-wal")
    try:
        if wal.stat().st_size == 0:
            return None
    except OSError:
        return None
    alone = _log_lengths(path, "immutable=1")
    applied = _log_lengths(path, "mode=ro") if alone else None
    back = ", ".join(f"from {before} {what} to {after}" for what, before, after in zip(
        ("decisions", "events"), alone or (), applied or (), strict=False)
        if before is not None and after is not None and after < before)
    if not back:  # (a length its schema lacks in one view is not compared)
        return None
    return (f"{wal.name} beside {path} is older than {path.name}: SQLite would apply it and "
            f"take the review back {back}, and the newer ones would be lost for good at the "
            "next write (a sync tool or a copy paired files from different times). Nothing "
            "was changed. Quit every screener window and command on this review, then move "
            f"{wal.name} and {path.name}-shm out of the folder (keep them) and run the "
            f"command again: the review opens as {path.name} holds it; check it with "
            "`screener log verify` (README: \"Backing up, moving and sharing a review\")")


def _log_lengths(path: Path, mode: str) -> tuple[int | None, int | None] | None:
    """The review's decision and event log lengths as SQLite opened with `mode` reads
    them (None: it could not be read; a length None: its schema has no such column)."""
    import sqlite3
    from urllib.parse import quote

    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?{mode}", uri=True)
        try:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM reviews ORDER BY id LIMIT 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    keys = row.keys()
    return (int(row["decision_count"] or 0) if "decision_count" in keys else None,
            int(row["event_count"] or 0) if "event_count" in keys else None)


def _table_names(path: Path) -> set[str] | None:
    import sqlite3
    from urllib.parse import quote

    # (mode=ro still creates the -wal and -shm beside a WAL database; on a full disk that
    # left an empty review.db-wal and a 3-byte review.db-shm after a command that reads)
    mode = "immutable=1" if opens_immutable(str(path)) else "mode=ro"
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?{mode}", uri=True)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return {name for (name,) in rows}


INVISIBLE = re.compile("[\u200b\u2060\ufeff]")
"""Zero-width space, word joiner and zero-width no-break space (byte-order mark): invisible,
they are no part of a word."""


def fold_case(text: str | None) -> str | None:
    """Text as search compares it, in every script: composed (NFC), case-folded ('Кетамин'
    -> 'кетамин', 'Straße' -> 'strasse'), the dot that folding leaves on Turkish 'İ'
    dropped ('İLAÇ' -> 'ilaç'), without zero-width spaces. ASCII text is only lower-cased.
    Registered on SQLite connections as the SQL function `FOLD_FUNCTION`."""
    if text is None or text.isascii():
        return None if text is None else text.lower()
    text = unicodedata.normalize("NFC", INVISIBLE.sub("", text)).casefold()
    return text.replace("i\u0307", "i") if "\u0307" in text else text


FOLD_FUNCTION = "screener_fold"
"""SQLite's LIKE and lower() fold ASCII letters only, so search compares `fold_case` of
the text (a function of this name on every SQLite connection)."""


def _add_functions(dbapi_conn: Any) -> None:
    dbapi_conn.create_function(FOLD_FUNCTION, 1, fold_case, deterministic=True)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's begin event decide when transactions start.
    dbapi_conn.isolation_level = None
    _add_functions(dbapi_conn)
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    # FULL: a commit is on the disk when it returns (NORMAL, with WAL, may lose the last
    # commits to a power cut or system crash; it saved about 2 ms a decision, see README)
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()


def _sqlite_on_connect_immutable(dbapi_conn: Any, _record: Any) -> None:
    # No WAL pragma: it would write. Nothing writes the file while it is read this way.
    dbapi_conn.isolation_level = None
    _add_functions(dbapi_conn)
    dbapi_conn.execute("PRAGMA foreign_keys = ON")


def closed_in_read_only_folder(path: str) -> bool:
    """True when the review database `path` is there, in a folder this process may not
    write, and was closed cleanly (no -wal journal beside it). SQLite cannot open such a
    WAL database the usual way, not even to read (it must create the -shm index next to
    it), but can read it as an immutable file: no process is writing it, since a writer
    would have its journal there. (A writer that opens the review later is not seen by
    this process; its commands are short reads.)"""
    folder = os.path.dirname(path) or "."
    return (path not in ("", ":memory:") and os.path.isfile(path)
            and not os.access(folder, os.W_OK) and not Path(f"{path}-wal").exists())


MOUNTS = Path("/proc/mounts")
"""Linux's table of mounted file systems (device, mount point, type, ...)."""

NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afs", "ncpfs", "9p",
    "fuse.sshfs", "sshfs", "davfs", "fuse.davfs", "fuse.rclone", "ceph", "glusterfs",
    "fuse.glusterfs", "lustre", "gpfs"})
"""File system types reached over a network, where SQLite's locks and shared memory (which
WAL mode needs) do not hold between computers."""


def network_filesystem(path: str) -> str | None:
    """The type of network file system (nfs4, cifs, ...) the file `path` lives on, from the
    mount table; None on a local disk or where the table cannot be read (not Linux)."""
    try:
        table = MOUNTS.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    where = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    best, kind = "", None
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ").replace("\\011", "\t")
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind if kind in NETWORK_FILESYSTEMS else None


FULL_DISK_BYTES = 64 * 1024
"""Less free space than this on the review's disk: SQLite cannot make the -shm index (32
KiB) a WAL database needs to be opened, nor log a change."""


def closed_on_full_disk(path: str) -> bool:
    """True when the review database `path` is there, on a disk with (nearly) no space left,
    and its -wal journal is missing or empty (every commit is in the file). SQLite fails to
    open such a WAL database at all ("disk I/O error": it cannot make its -shm index), but
    can read it as an immutable file: with no space, nothing can be committed meanwhile."""
    if path in ("", ":memory:") or not os.path.isfile(path):
        return False
    try:
        if os.path.getsize(f"{path}-wal") > 0:
            return False
    except OSError:
        pass  # (no journal)
    return disk_nearly_full(path, FULL_DISK_BYTES)


def disk_nearly_full(path: str, below: int = 1 << 20) -> bool:
    """Whether the disk holding the file `path` has less than `below` bytes free."""
    import shutil

    try:
        return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free < below
    except OSError:
        return False


def opens_immutable(path: str) -> bool:
    """Whether the review database `path` is read as an immutable file (closed cleanly in a
    read-only folder, or on a full disk): nothing may be created beside it then."""
    return closed_in_read_only_folder(path) or closed_on_full_disk(path)


class ReviewFileReplaced(StorageError):
    """review.db at its path is no longer the file this process opened: another program
    (a sync tool, a restore) put a file in its place while the review was open."""


class OpenedFile:
    """The database file a SQLite engine opened, told from a file put at its path later.

    SQLite goes on reading and writing the file it opened (now unlinked) after a sync tool
    renames another review.db over it, but finds the -wal and -shm beside it by name and,
    seeing the file moved, leaves them there when it closes: the next connection to open
    the path lays that -wal over the new file (a teammate's decisions, delivered by the
    sync tool, vanished once the UI quit). So every transaction first checks that the
    path still names the file opened (its device and inode), and no new connection opens a
    file put in its place; the first time it does not, the review as this process has it
    is copied beside the new file and the -wal and -shm left by the replaced file (the
    ones seen while it was there) are removed, so the new file opens as it came."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None
        self.journal: tuple[int, int] | None = None
        """The -wal journal the file had at its last transaction."""
        self.kept: Path | None = None
        """Where the review as this process had it was copied when the file was replaced."""
        self.replaced = False

    def remember(self) -> None:
        """Note the file a first connection opened (created, for a new review)."""
        if self.identity is None:
            self.identity = _file_id(self.path)

    def check(self, dbapi_conn: Any = None) -> None:
        """Raise `ReviewFileReplaced` when the path names another file now; the first
        time, with the connection `dbapi_conn` to the file opened, set it aside (above)."""
        if not self.replaced:
            now = _file_id(self.path)
            if self.identity is None or now is None or now == self.identity:
                self.journal = _file_id(f"{self.path}-wal")
                return  # (gone: SQLite goes on with the file it has open, as for a move)
            self.replaced = True
            if dbapi_conn is not None:
                self._set_aside(dbapi_conn)
        raise ReviewFileReplaced(replaced_message(self.path, self.kept))

    def _set_aside(self, dbapi_conn: Any) -> None:
        wal = f"{self.path}-wal"
        if self.journal is not None and _file_id(wal) != self.journal:
            return  # another process with the replaced file open did it (or a sync tool)
        self.kept = keep_replaced(self.path, dbapi_conn)
        for side in (wal, f"{self.path}-shm"):
            try:
                os.unlink(side)
            except OSError:
                pass  # (not there)


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


REPLACED_COPY = "{stem} (replaced while open {when}){suffix}"
"""The name of the copy of a review.db kept when another program replaced it."""


def keep_replaced(path: str, dbapi_conn: Any) -> Path | None:
    """Copy the database `dbapi_conn` has open (the file that was at `path`, its committed
    journal included) into a new file beside `path`; None when that fails."""
    import sqlite3
    from datetime import datetime

    original = Path(path)
    when = datetime.now().strftime("%Y-%m-%d %H.%M.%S")
    target = original.with_name(REPLACED_COPY.format(
        stem=original.stem, when=when, suffix=original.suffix))
    if target.exists():
        return target
    try:
        copy = sqlite3.connect(target)
        try:
            dbapi_conn.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # (one file, no journal beside)
        finally:
            copy.close()
    except (sqlite3.Error, OSError):
        target.unlink(missing_ok=True)
        return None
    return target


def replaced_message(path: str, kept: Path | None) -> str:
    name = os.path.basename(path)
    saved = (f"The review as this window had it, with the decisions made here, is kept as "
             f"{kept}: once the review is open again, put that file in a folder of its own "
             f"as {name} with the review's protocol.yaml and `screener merge` that folder to "
             "bring back decisions missing from the new file" if kept is not None else
             f"The review as this window had it could not be kept: decisions made here "
             f"since the file was last synced are missing from the new {name}")
    return (f"{path} was replaced by another program (a sync tool?) while screener had it "
            "open: your last action was not saved, and nothing more is written to the "
            f"replaced file. Quit screener (every window and command on this review) and "
            f"open the review again: it then works on the {name} now there. {saved} "
            "(README: \"Backing up, moving and sharing a review\"). Keep a review folder out "
            "of sync tools while it is open, or share it on PostgreSQL")


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite connections get WAL, foreign keys and a busy timeout.

    A review closed cleanly in a folder this process may not write (an archived review, a
    read-only share), or on a disk with no space left, is opened as an immutable file: the
    commands that only read work (a backup or export to another disk), and any write
    fails as read-only."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        if opens_immutable(path):
            import sqlite3
            from urllib.parse import quote

            uri = f"file:{quote(os.path.abspath(path))}?immutable=1"
            engine = create_engine(url, creator=lambda: sqlite3.connect(
                uri, uri=True, check_same_thread=False))
            event.listen(engine, "connect", _sqlite_on_connect_immutable)
            opened = None
        else:
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_on_connect)
            opened = OpenedFile(path) if path not in ("", ":memory:") else None
            if opened is not None:
                @event.listens_for(engine, "do_connect")
                def _check_file(*_args: Any) -> None:
                    opened.check()  # (no connection to a file put in its place)

                @event.listens_for(engine, "connect")
                def _connected(*_args: Any) -> None:
                    opened.remember()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            if opened is not None:
                opened.check(conn.connection.dbapi_connection)
            reads_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")

        return engine
    connect_args = {"connect_timeout": pg_connect_timeout(), **PG_LOST_SERVER_ARGS}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    connection_class = answering_connection(pg_answer_timeout())

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return connection_class.connect(*cargs, **cparams)

    return engine


PG_CONNECT_TIMEOUT_ENV = "SCREENER_PG_CONNECT_TIMEOUT"
"""Seconds to wait for a PostgreSQL server to answer a connection (default 10)."""
PG_ANSWER_TIMEOUT_ENV = "SCREENER_PG_ANSWER_TIMEOUT"
"""Seconds a PostgreSQL server may stay silent on an open connection, a statement or commit
under way, before the action fails (default 30)."""
NO_ANSWER = "the server did not answer within"
"""How the error of a connection given up on (`answering_connection`) begins."""


def pg_connect_timeout() -> int:
    """`PG_CONNECT_TIMEOUT_ENV` as a whole number of seconds (10 when unset or empty); a value
    that is not one is a `StorageError` naming the variable."""
    return _seconds(PG_CONNECT_TIMEOUT_ENV, 10)


def pg_answer_timeout() -> int:
    """`PG_ANSWER_TIMEOUT_ENV` as a whole number of seconds (30 when unset or empty)."""
    return _seconds(PG_ANSWER_TIMEOUT_ENV, 30)


def _seconds(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip() or str(default)
    try:
        seconds = int(raw)
    except ValueError:
        seconds = -1
    if seconds < 1:
        raise StorageError(f"{variable}={raw!r} is not a number of seconds: set it to a "
                           "whole number of 1 or more (e.g. 60), or unset it for the default "
                           f"of {default}")
    return seconds


PSYCOPG_GIVES_UP_FROM = (3, 2)
"""The psycopg release from which `answering_connection` works: 3.2 made Connection.wait
`wait(gen, interval)` and its wait functions (Python and C) send the generator an empty
`Ready` each interval nothing happens; 3.1's `wait(gen, timeout)` loops on the socket
until it is ready, so a silent server would never be given up on. pyproject's lower bound
is this release."""


def _check_psycopg(psycopg: Any) -> None:
    """A `StorageError` naming the installed psycopg when it is older than
    `PSYCOPG_GIVES_UP_FROM` (installed beside screener without its dependencies)."""
    version = str(getattr(psycopg, "__version__", ""))
    try:
        release = tuple(int(n) for n in version.split(".")[:2])
    except ValueError:
        return  # (a development build: taken as recent)
    if release < PSYCOPG_GIVES_UP_FROM:
        needed = ".".join(map(str, PSYCOPG_GIVES_UP_FROM))
        raise StorageError(f"psycopg {version} is installed, but screener needs psycopg "
                           f"{needed} or later to give up on a PostgreSQL server that stops "
                           f"answering: run pip install 'psycopg[binary]>={needed}'")


def answering_connection(seconds: int) -> Any:
    """A psycopg connection class that gives up on a server silent for `seconds` while it
    waits for an answer (a statement, a commit, the pool's ping): the connection is closed
    and the statement fails with an OperationalError that begins with `NO_ANSWER`.

    libpq has no such limit: a server process that hangs (stopped, swapping, a disk that
    stopped answering) while its machine still acknowledges the packets never trips the TCP
    keepalives nor `tcp_user_timeout` (`PG_LOST_SERVER_ARGS`), and statement_timeout is the
    server's own, so a decision in the UI and any command waited for good. The clock starts
    again whenever the server sends or takes something, so a long import that streams is
    not cut; a single statement the server works on for longer than `seconds` without a
    word (a lock held by another long writer) fails likewise, and says so. An older psycopg
    than `PSYCOPG_GIVES_UP_FROM` is a `StorageError`."""
    import psycopg

    _check_psycopg(psycopg)

    def answered_within(gen: Any) -> Any:
        """`gen`, failing once the socket has been idle `seconds` (psycopg's wait sends
        READY_NONE every interval in which nothing happened)."""
        last = time.monotonic()
        try:
            state = next(gen)
            while True:
                ready = yield state
                now = time.monotonic()
                if ready:
                    last = now
                elif now - last >= seconds:
                    raise TimeoutError
                state = gen.send(ready)
        except StopIteration as done:
            return done.value

    class AnsweringConnection(psycopg.Connection[Any]):
        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            if timeout is not None:  # (psycopg's own bounded waits: cancelling, closing)
                return super().wait(gen, interval, timeout)
            try:
                return super().wait(answered_within(gen), interval)
            except TimeoutError:
                self.pgconn.finish()  # in an unknown state: never used again
                raise psycopg.OperationalError(f"{NO_ANSWER} {seconds} s") from None

    return AnsweringConnection


PG_LOST_SERVER_ARGS = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                       "keepalives_count": 3, "tcp_user_timeout": 20_000}
"""libpq settings that give up on a server the network lost (a cable, Wi-Fi, VPN gone): a
statement whose packets go unacknowledged for 20 s fails, so a decision in the UI ends in
'Not saved' instead of a screen frozen until the network returns (and an idle connection
is probed every 30 s). A server process that hangs while its machine still answers is not
caught this way."""


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One user action, one transaction: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def _alembic_config() -> Config:
    from alembic.config import Config

    folder = resources.files("screener.storage") / "migrations"
    config = Config()
    config.set_main_option("script_location", str(folder))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every schema revision this version of screener ships."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(
        _alembic_config()).walk_revisions()}


SCHEMA_HEAD = "0005"
"""The newest schema revision this version of screener ships (the head of its migrations,
`head_revision()`; a test keeps them equal). Opening a review compares its revision with
this constant, so a command does not load Alembic and parse the migration scripts unless the
review needs upgrading."""


def current_revision(engine: Engine) -> str | None:
    """The review's schema revision, as Alembic records it (None: no schema yet). Read
    with plain SQL, without loading Alembic."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        conn = conn.execution_options(**{READ_ONLY: True})  # SQLite: plain BEGIN, no write lock
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise StorageError(f"the database records {len(rows)} schema revisions ({', '.join(rows)}) "
                           "where there is one: it was changed outside screener")
    return str(rows[0]) if rows else None


_MIGRATION_LOCK = 0x5C2EE4E2  # any constant; the advisory lock key for schema migrations


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the shipped Alembic migrations up to `revision` (idempotent)."""
    from alembic import command

    config = _alembic_config()
    with engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        before: dict[str, str] = {}
        if postgres:
            # Two reviewers opening a new database at once would both create the tables:
            # the second waits here until the first commits, then finds the schema at head.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            before = _relations(conn)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        if postgres and "reviews" in before:  # (an upgrade: not a new review's tables)
            _like_the_review_tables(conn, {name: kind for name, kind in _relations(conn).items()
                                           if name not in before})


_RELATIONS = """
SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'S')
"""


def _relations(conn: Any) -> dict[str, str]:
    """The tables and sequences of the connection's schema: name -> 'r' (or 'p'), or 'S'."""
    from sqlalchemy import text

    return {str(name): str(kind) for name, kind in conn.execute(text(_RELATIONS))}


_GRANTS = """
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
       a.privilege_type
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.oid = to_regclass(:name) AND a.grantee <> c.relowner
"""


def _like_the_review_tables(conn: Any, new: dict[str, str]) -> None:
    """Give the tables and sequences a migration created (`new`: name -> kind) the owner
    and grants of the review's first ones (`reviews` and its id sequence), so the team's
    roles keep working after an upgrade: made by a superuser, they were the superuser's,
    and the reviewers' roles were refused them ("permission denied for table events").
    (Only the owner of the review's tables, a member of its role or a superuser can
    migrate: the migrations alter those tables.)"""
    from sqlalchemy import text

    if not new:
        return
    owner, may_hand_over = conn.execute(text(
        "SELECT pg_get_userbyid(relowner), pg_has_role(relowner, 'MEMBER') FROM pg_class "
        "WHERE oid = to_regclass('reviews')")).one()
    sequence = conn.execute(text("SELECT pg_get_serial_sequence('reviews', 'id')")).scalar()
    grants = {"TABLE": conn.execute(text(_GRANTS), {"name": "reviews"}).all(),
              "SEQUENCE": conn.execute(text(_GRANTS), {"name": sequence}).all()
              if sequence else []}
    quote = conn.dialect.identifier_preparer.quote
    # tables first: a table handed over takes its serial columns' sequences with it
    for name, kind in sorted(new.items(), key=lambda item: item[1] == "S"):
        what = "SEQUENCE" if kind == "S" else "TABLE"
        for grantee, privilege in grants[what]:
            conn.exec_driver_sql(f"GRANT {privilege} ON {what} {quote(name)} TO {grantee}")
        if not may_hand_over:  # (not expected, as above): the owner may use it all
            conn.exec_driver_sql(f"GRANT ALL ON {what} {quote(name)} TO {quote(owner)}")
        elif conn.execute(text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = "
                               "to_regclass(:name)"), {"name": quote(name)}).scalar() != owner:
            conn.exec_driver_sql(f"ALTER {what} {quote(name)} OWNER TO {quote(owner)}")
