"""Back up a review kept in a folder: a consistent copy of review.db (SQLite's online backup,
not a file copy, which a write in progress can tear) with the rest of the folder, written
under a temporary name, checked, then renamed into place."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from screener.core.paths import sync_file, sync_folder, sync_tree
from screener.core.wording import counted
from screener.protocol import normalise_protocol_text
from screener.storage import (
    Database,
    StorageError,
    close_for_replacement,
    copy_sqlite_file,
    normalise_url,
    redact,
    repo,
    sqlite_file,
    sqlite_url,
)
from screener.workflow.audit_check import RESTORE, database_damage
from screener.workflow.review import (
    _SQLITE_FILES,
    DB_FILE,
    PROTOCOL_FILE,
    Review,
    ReviewError,
    open_review,
    write_protocol_copy,
)


@dataclass(frozen=True, slots=True)
class Backup:
    target: Path
    decisions: int
    """Decision rows in the copy (the decision log's length)."""
    files: tuple[str, ...]
    """What the copy holds besides review.db (protocol.yaml, exports, ...)."""
    removed: tuple[str, ...] = ()
    """Leftovers of interrupted backups removed from the folder beside it (their names)."""
    amending_removed: tuple[str, ...] = ()
    """Leftovers of interrupted protocol amendments removed from the review folder."""


def _pg_dump_advice(schema: str | None, shared: bool = False) -> str:
    """The pg_dump (and pg_restore) that back up a review kept in PostgreSQL: in a schema of
    its own (the URL sets the search path), that schema only, not the other reviews or
    applications of the database, as a plain pg_dump would; so too for a review in `public`
    of a database `shared` with other reviews in their own schemas."""
    if not _own_schema(schema) and not (schema == "public" and shared):
        return ("`pg_dump -Fc -f review.dump URL` (restore with pg_restore into an empty "
                "database)")
    if schema == "public":  # (every new database has a public schema, empty)
        return ("its schema only (the database holds other reviews in schemas of their own, "
                "which a plain pg_dump would take too): `pg_dump -Fc -n public -f review.dump "
                "URL` (restore with `pg_restore -d URL review.dump` into an empty database: "
                "its error 'schema \"public\" already exists', and exit code 1, is the empty "
                "public schema every new database has, and the review is restored)")
    return (f"its schema only (a plain pg_dump takes every schema of the database): "
            f"`pg_dump -Fc -n {_schema_argument(schema)} -f review.dump URL` (restore with "
            f"`pg_restore -d URL review.dump` into a database without a schema {schema}: "
            "it creates it)")


def _own_schema(schema: str | None) -> TypeGuard[str]:
    """The review is kept in a schema of its own, not in the database's `public`."""
    return bool(schema) and schema != "public"


def _schema_name(schema: str) -> str:
    """`schema` as pg_dump's and pg_restore's -n, and SQL, read it: pg_dump -n reads a
    pattern, where an unquoted name is folded to lower case and * ? are wildcards."""
    return schema if re.fullmatch(r"[a-z_][a-z0-9_$]*", schema) else (
        '"' + schema.replace('"', '""') + '"')


def _schema_argument(schema: str) -> str:
    """`_schema_name` quoted for the shell."""
    import shlex

    return shlex.quote(_schema_name(schema))


def backup_review(review: Review, target: Path) -> Backup:
    """Write a copy of `review` to the new folder `target` that opens as a review and passes
    SQLite's integrity check; nothing is left at `target` when any step fails."""
    source = review.db.sqlite_path
    if source is None:
        schema, others = review.db.schema(), review.db.review_schemas()
        raise ReviewError(f"{review.location} is kept in PostgreSQL: back it up with the "
                          f"server's own tools, {_pg_dump_advice(schema, len(others) > 1)}, and "
                          "copy the review folder's protocol.yaml beside it")
    if target.exists() or target.is_symlink():
        raise ReviewError(f"{target} exists: a backup goes into a new folder, so that nothing "
                          "is written over; give a path that does not exist yet")
    folder = review.folder.resolve() if review.folder is not None else None
    if folder is not None and target.resolve().is_relative_to(folder):
        raise ReviewError(f"{target} is inside the review folder {folder}: the next backup "
                          "would copy this one into itself; give a path outside it")
    if not target.parent.is_dir():
        raise ReviewError(f"no such folder: {target.parent}; create it first, or give "
                          "another place for the backup")
    damage = database_damage(review)
    if damage:
        raise ReviewError(f"{damage}: no backup was written. {RESTORE}")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                        dir=target.parent))
    except OSError as exc:
        raise ReviewError(f"cannot write in {target.parent} ({exc.strerror}): give a "
                          "place for the backup you can write") from None
    try:
        files = _copy_folder(review, folder, staging)
        review.db.copy_to(staging / DB_FILE)
        decisions = _check(staging)
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # (as a folder made by mkdir; mkdtemp's is private)
        sync_tree(staging)  # (the copy is on the disk before its name is)
        os.rename(staging, target)
        sync_folder(target.parent)
    except (OSError, StorageError) as exc:
        # (named by the backup's path: the staging folder beside it is gone with this)
        shutil.rmtree(staging, ignore_errors=True)
        why = exc.strerror if isinstance(exc, OSError) else exc.reason or str(exc)
        raise ReviewError(f"writing the backup {target} failed ({why}); nothing was left "
                          f"at {target}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Backup(target, decisions, files, remove_leftovers(target.parent, BACKUP_LEFTOVER),
                  () if folder is None else remove_leftovers(folder, AMEND_LEFTOVER))


LEFT_BY_AN_INTERRUPTED_WRITE = (".screener-*.tmp", ".screener-*.tmp.old", ".*.partial",
                                ".*.amending")
"""Temporary files and folders a killed export, backup or amendment leaves (SIGKILL, a
power cut): not part of the review, so a backup does not copy them."""


BACKUP_LEFTOVER = re.compile(r"\..+\.[a-z0-9_]{8}\.partial")
"""A backup's staging folder (tempfile.mkdtemp's 8 characters between '.NAME.' and
'.partial'), left beside the backup's place by a backup killed before its rename."""

EXPORT_LEFTOVER = re.compile(r"\.screener-[a-z0-9_]{8}\.tmp(\.old)?")
"""An export's temporary file (tempfile.mkstemp's 8 characters), or the link that keeps a
file --force replaces until every file is in place, left by an export killed meanwhile."""

AMEND_LEFTOVER = re.compile(r"\..+\.amending")
"""The protocol text `protocol amend` (or `init`) writes beside the folder's copy and renames
onto it, left in the review folder by one killed meanwhile; a backup of the review, which
leaves it out, removes it."""

LEFTOVER_AGE_S = 3600.0
"""A leftover unchanged for this many seconds is no running process's: removed.

The names carry no process id (and a process id would mean nothing to another computer
sharing the folder), so age decides. A backup changes its staging folder continuously
(every file copied, review.db written page by page, the copy opened to be checked), an
export writes its file in one go: an hour without a change is a killed process, while
a minute-long export of a large review or the backup of a large database still
running is never taken for one. A leftover younger than that is kept until a later run."""


def remove_leftovers(folder: Path, pattern: re.Pattern[str],
                     now: float | None = None) -> tuple[str, ...]:
    """Remove from `folder` what a killed backup or export of screener's left there (names
    matching `pattern`; regular files and folders, never a link) and no running process
    is writing: unchanged (modified, or its status: a link made, a mode set) for
    `LEFTOVER_AGE_S`. Returns the names removed; one that cannot be read or removed is
    left, silently (it is only clutter)."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return ()
    for entry in entries:
        if not pattern.fullmatch(entry.name) or entry.is_symlink():
            continue
        changed = _last_change(entry)
        if changed is None or now - changed < LEFTOVER_AGE_S:
            continue
        try:
            if entry.is_dir():
                shutil.rmtree(entry)
            elif entry.is_file():
                entry.unlink()
            else:
                continue
        except OSError:
            continue
        removed.append(entry.name)
    return tuple(removed)


def _last_change(entry: Path) -> float | None:
    """The latest change (st_mtime or st_ctime) of `entry` and, for a folder, of anything
    in it; None when it cannot be read. (The change time, which no process sets back, as
    copy2 does the modification time of a copied file.)"""
    try:
        stats = [entry.lstat()]
        if entry.is_dir():
            for root, dirs, files in os.walk(entry):
                stats.extend(Path(root, name).lstat() for name in (*dirs, *files))
    except OSError:
        return None
    return max(max(s.st_mtime, s.st_ctime) for s in stats)


def _copy_folder(review: Review, folder: Path | None, staging: Path) -> tuple[str, ...]:
    """Copy what the review folder holds besides review.db and its journals into `staging`;
    a folder without its protocol copy (a review opened by --db URL) gets the protocol in
    force, and an exports folder, as `init` makes them."""
    skip = {DB_FILE + side for side in _SQLITE_FILES}
    stray = shutil.ignore_patterns(*LEFT_BY_AN_INTERRUPTED_WRITE)
    if folder is not None:
        for entry in sorted(folder.iterdir()):
            if entry.name in skip or stray(str(folder), [entry.name]):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, staging / entry.name, symlinks=True, ignore=stray)
            else:
                shutil.copy2(entry, staging / entry.name, follow_symlinks=False)
    if not (staging / PROTOCOL_FILE).exists():
        with review.read() as session:
            text = repo.latest_protocol(session)[1]
        (staging / PROTOCOL_FILE).write_text(text, encoding="utf-8")
    (staging / "exports").mkdir(exist_ok=True)
    return tuple(sorted(p.name + "/" * p.is_dir() for p in staging.iterdir()))


def _check(staging: Path) -> int:
    """Open the copy as a review and run SQLite's integrity check on it; its decision rows."""
    with _open_checked(staging / DB_FILE, "the copy", "no backup was written") as copy, \
            copy.read() as session:
        return repo.count_decisions(session)


def _open_checked(db_file: Path, what: str, nothing: str) -> Review:
    """The review in `db_file` (a copy being written), open, once it passes SQLite's
    integrity check; refused (ReviewError naming `what`, then `nothing`) otherwise."""
    try:
        copy = open_review(None, sqlite_url(db_file.resolve()))
    except (ReviewError, StorageError) as exc:
        raise ReviewError(f"{what} does not open as a review ({exc}); {nothing}") from None
    damage = database_damage(copy)
    if damage:
        copy.close()
        raise ReviewError(f"{what} failed SQLite's integrity check: {damage}; {nothing}")
    return copy



# --- restore ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Newer:
    """What a review folder holds that a backup lacks (lost by restoring the backup)."""

    decisions: dict[str, int]
    """Decision rows (decisions, changes, undos) the backup lacks, per reviewer."""
    imports: int
    """Imports (records_imported events) the backup lacks."""
    events: int
    """Other events the backup lacks (duplicates removed, allocations, amendments, ...)."""

    def __bool__(self) -> bool:
        return bool(self.decisions or self.imports or self.events)

    def text(self) -> str:
        parts = []
        if self.decisions:
            parts.append(counted(sum(self.decisions.values()), "decision row") + " ("
                         + ", ".join(f"{name}: {n}" for name, n in
                                     sorted(self.decisions.items())) + ")")
        if self.imports:
            parts.append(counted(self.imports, "import"))
        if self.events:
            parts.append(counted(self.events, "other event") + " (duplicates removed, "
                         "allocations, amendments, ...)")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Restored:
    folder: Path
    backup: Path
    decisions: int
    """Decision rows of the restored review."""
    discarded: Newer
    unread: str = ""
    """Why the folder's own review.db could not be read (then what it held is not counted)."""
    had_none: bool = False
    """The folder had no review.db (lost): the backup's is now its review."""


class NewerThanBackup(ReviewError):
    """The review folder holds decisions, imports or events its backup lacks."""


def _kept_in_postgresql(where: str, what: str = "is kept in PostgreSQL",
                        schema: str | None = None, shared: bool = False) -> ReviewError:
    """The refusal of `restore` for a review kept in PostgreSQL, with what restores one: in
    `schema` of its own, the schema alone, as `backup` advises dumping it; so too for a
    review in `public` of a database `shared` with other reviews in their own schemas."""
    if schema == "public" and shared:
        how = ("from the dump of its schema `pg_dump -Fc -n public -f review.dump URL` wrote "
               "(`screener backup` names it): `pg_restore -d URL review.dump` into a database "
               "whose public schema holds no review (its error 'schema \"public\" already "
               "exists', and exit code 1, is that public schema, and the review is restored; "
               "to keep the review there now, first `ALTER SCHEMA public RENAME TO "
               "public_old` and `CREATE SCHEMA public`); from a dump of the whole database, "
               "which holds the database's other reviews too, restore public alone: "
               "`pg_restore -n public -d URL review.dump` (a plain pg_restore would put back "
               "every schema the dump holds)")
    elif not _own_schema(schema):
        how = ("from the dump `pg_dump -Fc -f review.dump URL` wrote: `pg_restore -d URL "
               "review.dump` into an empty database (then point --db or SCREENER_DB at it)")
    else:
        sql, arg = _schema_name(schema), _schema_argument(schema)
        how = (f"from the dump of its schema `pg_dump -Fc -n {arg} -f review.dump URL` wrote "
               f"(`screener backup` names it): `pg_restore -d URL review.dump`, which creates "
               f"the schema {schema}, into a database without one (to keep the review there "
               f"now, first `ALTER SCHEMA {sql} RENAME TO {_schema_name(schema + '_old')}`); "
               f"from a dump of the whole database, `CREATE SCHEMA {sql}` and restore that "
               f"schema alone: `pg_restore -n {arg} -d URL review.dump` (a plain pg_restore "
               "would put back every schema the dump holds)")
    return ReviewError(
        f"{where} {what}, and `screener restore` puts back a SQLite review.db "
        f"only: nothing was restored. Restore it with the server's own tools {how}, and copy "
        "the backup's protocol.yaml into the review folder")


def _pg_schema(db_url: str) -> tuple[str | None, bool]:
    """The schema the PostgreSQL review at `db_url` is kept in (`Database.schema`), and
    whether the database holds reviews in other schemas (`Database.review_schemas`: the
    review itself may be lost), for the advice; (None, False) when the server cannot tell
    (down, refused): the refusal stands without it."""
    try:
        db = Database(db_url)
    except StorageError:
        return None, False
    try:
        schema = db.schema()
        return schema, any(other != schema for other in db.review_schemas())
    except StorageError:
        return None, False
    finally:
        db.dispose()


def _refuse_other_database(folder: Path, db_url: str | None, backup: Path) -> None:
    """Refuse a restore into a review whose database is not the folder's review.db: one
    kept in PostgreSQL (--db or SCREENER_DB names the server; or BACKUP is a pg_dump file),
    or a SQLite file --db names elsewhere. A folder holding its own review.db is that
    review (as `screen --review` opens it over SCREENER_DB); one holding its protocol and no
    review.db, with no URL, lost its review.db: the backup puts it back (`_compare` checks
    that the backup is of the review that protocol is)."""
    if (folder / DB_FILE).exists():
        return
    if db_url:
        url = normalise_url(db_url)
        file = sqlite_file(url)
        if file is None:
            schema, shared = _pg_schema(db_url)
            raise _kept_in_postgresql(redact(db_url), schema=schema, shared=shared)
        if file.resolve() != (folder / DB_FILE).resolve():
            raise ReviewError(f"{redact(db_url)} is not {folder / DB_FILE}: restore puts a "
                              "backup into a review folder; give the folder of that file "
                              "with --review; nothing was restored")
    if backup.is_file() and _starts_with(backup, _PG_DUMP):
        raise _kept_in_postgresql(str(backup), "is a PostgreSQL dump (pg_dump)")


_PG_DUMP = b"PGDMP"
"""How a dump of `pg_dump -Fc` (custom format) begins."""


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(len(magic)) == magic
    except OSError:
        return False


def restore_review(folder: Path, backup: Path, *, discard_newer: bool = False,
                   db_url: str | None = None) -> Restored:
    """Put the review.db of `backup` (a folder `backup_review` wrote, or a copy of a review
    folder) in place of `folder`'s, as backup writes one: copied beside it under a temporary
    name, checked (it opens as the same review, passes SQLite's integrity check), then
    renamed onto review.db, so a restore cut short leaves the folder's review as it was.

    Refused (NewerThanBackup) when the folder's review holds decisions, imports or events
    the backup lacks, unless `discard_newer`; refused while any window or command has the
    folder's review.db open, and for a review kept in PostgreSQL (`db_url`, from --db or
    SCREENER_DB, names the server, or the folder holds no review.db but a protocol). The
    restore is an event in the restored review's log."""
    source = backup / DB_FILE
    current = folder / DB_FILE
    if not folder.is_dir():
        raise ReviewError(f"no such folder: {folder}; give the review folder to restore "
                          "into with --review DIR")
    _refuse_other_database(folder, db_url, backup)
    if not source.is_file():
        raise ReviewError(f"{backup} is not a backup of a review (no {DB_FILE} in it): give "
                          "the folder `screener backup` wrote")
    if backup.resolve() == folder.resolve():
        raise ReviewError(f"{backup} is the review folder itself: give the backup's folder")
    if current.exists() and not current.is_file():
        raise ReviewError(f"{current} is not a file: nothing was restored")
    try:
        fd, name = tempfile.mkstemp(prefix=".screener-", suffix=".tmp", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise ReviewError(f"cannot write in {folder} ({exc.strerror}): nothing was "
                          "restored") from None
    staging = Path(name)
    had_none = not current.exists()
    try:
        copy_sqlite_file(source, staging)
        decisions, newer, unread = _compare(staging, current, backup)
        if newer and not discard_newer:
            raise NewerThanBackup(
                f"{folder} holds what the backup {backup} lacks: {newer.text()}; restoring "
                "would lose them, so nothing was restored. To keep a reviewer's decisions, "
                "write them to an offline copy first (`screener export-reviewer COPY "
                "--reviewer NAME`), restore, then `screener merge COPY`; to restore and lose "
                "them, add --discard-newer")
        if unread and not discard_newer:
            raise NewerThanBackup(
                f"{current} cannot be read ({unread}), so what it holds that the backup "
                f"lacks cannot be counted: nothing was restored. Restore and lose whatever "
                "it holds newer than the backup with --discard-newer")
        _log_restore(staging, backup, decisions, newer if newer else None)
        if current.exists() and not close_for_replacement(current):
            raise ReviewError(f"{current} is open in another screener window or command: "
                              "quit them all (they would go on writing to the file being "
                              "replaced), then restore again; nothing was restored")
        sync_file(staging)
        for side in ("-wal", "-shm", "-journal"):
            Path(f"{current}{side}").unlink(missing_ok=True)
        os.replace(staging, current)
        sync_folder(folder)
    except (OSError, StorageError) as exc:
        staging.unlink(missing_ok=True)
        why = exc.strerror if isinstance(exc, OSError) else exc.reason or str(exc)
        raise ReviewError(f"restoring {backup} into {folder} failed ({why}); the folder's "
                          f"{DB_FILE} was left as it was") from None
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    _restore_protocol_copy(folder, sqlite_url(current.resolve()))
    return Restored(folder, backup, decisions, newer, unread, had_none)


def _compare(staging: Path, current: Path, backup: Path) -> tuple[int, Newer, str]:
    """The decision rows of the copy, what the folder's review holds that it lacks, and why
    the folder's review could not be read ("" when it could, or there is none)."""
    with _open_checked(staging, str(backup / DB_FILE),
                       "nothing was restored; restore an older backup") as copy:
        with copy.read() as session:
            decisions = repo.count_decisions(session)
            kept_uids = set(repo.decision_uid_reviewers(session))
            kept_events = {h for _, h in repo.event_log(session)}
            texts = set(map(normalise_protocol_text, repo.protocol_texts(session).values()))
    if not current.exists():
        _refuse_another_protocol(current.parent, backup, copy, texts)
        return decisions, Newer({}, 0, 0), ""
    try:
        review = open_review(None, sqlite_url(current.resolve()))
    except (ReviewError, StorageError) as exc:
        return decisions, Newer({}, 0, 0), str(exc)
    with review:
        if review.created != copy.created:
            raise ReviewError(f"{backup} is a backup of another review ({copy.title!r}, "
                              f"created {copy.created}; the folder's is {review.title!r}, "
                              f"created {review.created}): nothing was restored")
        try:
            with review.read() as session:
                theirs = repo.decision_uid_reviewers(session)
                # (a restore from this same backup is no work the backup lacks: restoring
                # it again loses nothing, and logs itself again)
                events = [e for e, h in repo.event_log(session) if h not in kept_events
                          and not (e.kind == "review_restored" and e.details.get("backup")
                                   == str(backup.resolve()))]
        except StorageError as exc:
            return decisions, Newer({}, 0, 0), str(exc)
    lost: dict[str, int] = {}
    for uid, name in theirs.items():
        if uid not in kept_uids:
            lost[name] = lost.get(name, 0) + 1
    imports = sum(e.kind == "records_imported" for e in events)
    return decisions, Newer(lost, imports, len(events) - imports), ""


def _refuse_another_protocol(folder: Path, backup: Path, copy: Review,
                             texts: set[str]) -> None:
    """A folder that lost its review.db tells which review it was by its protocol.yaml:
    refuse a backup none of whose protocol versions it is (a backup of another review)."""
    protocol = folder / PROTOCOL_FILE
    try:
        held = normalise_protocol_text(protocol.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return  # (no protocol, or not one: nothing tells another review)
    if held not in texts:
        raise ReviewError(
            f"{backup} is a backup of another review ({copy.title!r}, created "
            f"{copy.created}): {protocol} is none of its protocol versions, and {folder} has "
            f"no {DB_FILE} to tell more; nothing was restored. If it is this review's backup "
            f"(its protocol.yaml edited by hand since), move {protocol} aside and restore "
            "again; a review kept in PostgreSQL is restored with pg_restore (give --db)")


def _log_restore(staging: Path, backup: Path, decisions: int, discarded: Newer | None) -> None:
    with open_review(None, sqlite_url(staging)) as copy, copy.transaction() as session:
        details: dict[str, object] = {"backup": str(backup.resolve()),
                                       "decisions": decisions}
        if discarded is not None:
            details["discarded_decisions"] = dict(sorted(discarded.decisions.items()))
            details["discarded_imports"] = discarded.imports
            details["discarded_events"] = discarded.events
        repo.add_event(session, "review_restored", details=details)
    # (journal_mode DELETE, as copy_sqlite_file left it: one file to rename, no WAL beside)
    close_for_replacement(staging)


def _restore_protocol_copy(folder: Path, url: str) -> None:
    """The folder's protocol.yaml made the restored review's protocol in force."""
    with open_review(folder, url) as review, review.read() as session:
        text = repo.latest_protocol(session)[1]
    copy = folder / PROTOCOL_FILE
    try:
        if copy.is_file() and copy.read_bytes() == text.encode("utf-8"):
            return
    except OSError:
        pass
    write_protocol_copy(text, copy)
