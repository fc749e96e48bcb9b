"""Notes a reviewer wrote in the screening UI and had not yet stored with a decision, kept
in a file when the UI is closed from outside (the terminal closed: SIGHUP; SIGTERM), and
given back to that reviewer at that stage the next time the UI opens.

A file, not a table: a note is stored only with a decision (append-only rows), and a
draft is not a decision. The file is `unsaved-notes.json` in the review folder (a review
opened by --db URL alone has none: the caller gives another folder); it is removed once
every draft in it has been given back. Imports workflow.review and core only.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from screener.core.decisions import Stage
from screener.core.paths import replace_durably
from screener.workflow.review import Review

DRAFTS_FILE = "unsaved-notes.json"


def drafts_path(review: Review, elsewhere: Path) -> Path:
    """Where the drafts of `review` are kept: its folder, else the folder `elsewhere`."""
    return (review.folder or elsewhere) / DRAFTS_FILE


def _read(path: Path) -> list[dict[str, object]]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    if not rows:
        path.unlink(missing_ok=True)
        return
    fd, name = tempfile.mkstemp(prefix=".screener-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(rows, out, ensure_ascii=False, indent=1)
        replace_durably(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _mine(row: dict[str, object], review: Review, reviewer: str, stage: Stage) -> bool:
    """A draft of `reviewer` at `stage` in `review`: told by when the review was created, not
    by its path (typed another way, a backup copy, a moved folder are the same review). A
    draft kept before that was stored is matched by its folder (the file is in it) or, for
    a review opened by --db alone, by its location as before."""
    if (row.get("reviewer"), row.get("stage")) != (reviewer, stage.value):
        return False
    if "created" in row:
        return row["created"] == review.created
    return review.folder is not None or row.get("review") == review.location


def keep_drafts(path: Path, review: Review, reviewer: str, stage: Stage,
                notes: dict[int, str]) -> None:
    """Keep `notes` (record id: note) of `reviewer` at `stage` in the file `path`, in place
    of the ones kept there before for them (others' are left). Raises OSError."""
    rows = [row for row in _read(path) if not _mine(row, review, reviewer, stage)]
    rows += [{"review": review.location, "created": review.created, "reviewer": reviewer,
              "stage": stage.value,
              "record": record_id, "note": note}
             for record_id, note in sorted(notes.items()) if note]
    _write(path, rows)


def take_drafts(path: Path, review: Review, reviewer: str, stage: Stage) -> dict[int, str]:
    """The notes kept in `path` for `reviewer` at `stage` (record id: note), taken out of it
    (the file is removed once nothing is left in it). A file that cannot be read gives none;
    one that cannot be rewritten keeps them (given back again next time)."""
    rows = _read(path)
    taken = {int(str(row["record"])): str(row["note"]) for row in rows
             if _mine(row, review, reviewer, stage) and str(row.get("record", "")).isdigit()
             and row.get("note")}
    if taken:
        try:
            _write(path, [row for row in rows if not _mine(row, review, reviewer, stage)])
        except OSError:
            pass
    return taken
