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

from screener.core.paths import sync_folder, sync_tree
from screener.storage import StorageError, repo
from screener.workflow.audit_check import RESTORE, database_damage
from screener.workflow.review import (
    _SQLITE_FILES,
    DB_FILE,
    PROTOCOL_FILE,
    Review,
    ReviewError,
    open_review,
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


def backup_review(review: Review, target: Path) -> Backup:
    """Write a copy of `review` to the new folder `target` that opens as a review and passes
    SQLite's integrity check; nothing is left at `target` when any step fails."""
    source = review.db.sqlite_path
    if source is None:
        raise ReviewError(
            f"{review.location} is kept in PostgreSQL: back it up with the server's own tools, "
            "`pg_dump -Fc -f review.dump URL` (restore with pg_restore into an empty "
            "database), and copy the review folder's protocol.yaml beside it")
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
    try:
        copy = open_review(staging)
    except (ReviewError, StorageError) as exc:
        raise ReviewError(f"the copy does not open as a review ({exc}); no backup was "
                          "written") from None
    with copy:
        damage = database_damage(copy)
        if damage:
            raise ReviewError(f"the copy failed SQLite's integrity check: {damage}; no "
                              "backup was written")
        with copy.read() as session:
            return repo.count_decisions(session)

