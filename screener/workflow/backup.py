"""Back up a review kept in a folder: a consistent copy of review.db (SQLite's online backup,
not a file copy, which a write in progress can tear) with the rest of the folder, written
under a temporary name, checked, then renamed into place."""

from __future__ import annotations

import os
import shutil
import tempfile
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
    return Backup(target, decisions, files)


LEFT_BY_AN_INTERRUPTED_WRITE = (".screener-*.tmp", ".screener-*.tmp.old", ".*.partial",
                                ".*.amending")
"""Temporary files and folders a killed export, backup or amendment leaves (SIGKILL, a
power cut): not part of the review, so a backup does not copy them."""


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

