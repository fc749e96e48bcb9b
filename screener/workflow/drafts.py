"""Notes a reviewer wrote in the screening UI and had not yet stored with a decision, kept
in a file when the UI is closed from outside (the terminal closed: SIGHUP; SIGTERM), and
given back to that reviewer at that stage the next time the UI opens.

A file, not a table: a note is stored only with a decision (append-only rows), and a
draft is not a decision. The file is `unsaved-notes.json` in the review folder (a review
opened by --db URL alone has none: the caller gives another folder); it is removed once
every draft in it has been given back. A review folder that cannot take it (read-only, full
disk) has them kept in the caller's folder instead, given back from there too, else in a
new file in the temporary folder, else they are written out in the message that says so
(`keep_drafts_somewhere`). Imports workflow.review and core only.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from screener.core.decisions import Stage
from screener.core.paths import write_durably
from screener.workflow.review import Review

DRAFTS_FILE = "unsaved-notes.json"

SCREENING = "screening"
"""Where a draft was typed, for the screen it is given back on: the screening screen (its
note waits for the reviewer's next decision on the record); `CONFLICTS`: the conflicts
screen (the adjudicator's note waits for the conflict's resolution)."""
CONFLICTS = "conflicts"


def drafts_path(review: Review, elsewhere: Path) -> Path:
    """Where the drafts of `review` are kept: its folder, else the folder `elsewhere`."""
    return (review.folder or elsewhere) / DRAFTS_FILE


def drafts_paths(review: Review, elsewhere: Path) -> list[Path]:
    """The files drafts of `review` are kept in and given back from: `drafts_path`, then the
    one in `elsewhere` (where they go when the review folder cannot take them)."""
    first, second = drafts_path(review, elsewhere), elsewhere / DRAFTS_FILE
    return [first] if first == second else [first, second]


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
    write_durably(path, json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8"))


def _mine(row: dict[str, object], review: Review, reviewer: str, stage: Stage,
          place: str) -> bool:
    """A draft of `reviewer` at `stage` in `review`, typed on the screen `place` (one kept
    before the place was stored: on the screening screen): the review is told by when it was
    created, not by its path (typed another way, a backup copy, a moved folder are the same
    review). A draft kept before that was stored is matched by its folder (the file is in
    it) or, for a review opened by --db alone, by its location as before."""
    if (row.get("reviewer"), row.get("stage"), row.get("place", SCREENING)) != (
            reviewer, stage.value, place):
        return False
    if "created" in row:
        return row["created"] == review.created
    return review.folder is not None or row.get("review") == review.location


def keep_drafts(path: Path, review: Review, reviewer: str, stage: Stage,
                notes: dict[int, str], place: str = SCREENING) -> None:
    """Keep `notes` (record id: note) of `reviewer` at `stage`, typed on the screen `place`,
    in the file `path`, in place of the ones kept there before for them (others' are left).
    Raises OSError."""
    rows = [row for row in _read(path) if not _mine(row, review, reviewer, stage, place)]
    _write(path, rows + _rows(review, reviewer, stage, notes, place))


def _rows(review: Review, reviewer: str, stage: Stage, notes: dict[int, str],
          place: str) -> list[dict[str, object]]:
    return [{"review": review.location, "created": review.created, "reviewer": reviewer,
             "stage": stage.value, "place": place, "record": record_id, "note": note}
            for record_id, note in sorted(notes.items()) if note]


def take_drafts(path: Path, review: Review, reviewer: str, stage: Stage,
                place: str = SCREENING) -> dict[int, str]:
    """The notes kept in `path` for `reviewer` at `stage` on the screen `place` (record id:
    note), taken out of it (the file is removed once nothing is left in it). A file that
    cannot be read gives none; one that cannot be rewritten keeps them (given back again
    next time)."""
    rows = _read(path)
    taken = {int(str(row["record"])): str(row["note"]) for row in rows
             if _mine(row, review, reviewer, stage, place)
             and str(row.get("record", "")).isdigit() and row.get("note")}
    if taken:
        try:
            _write(path, [row for row in rows
                          if not _mine(row, review, reviewer, stage, place)])
        except OSError:
            pass
    return taken


def keep_drafts_somewhere(paths: list[Path], review: Review, reviewer: str, stage: Stage,
                          notes: dict[int, str], place: str = SCREENING) -> str:
    """`keep_drafts` in the first of `paths` that can be written (given back from any of
    them next time), else in a new file in the temporary folder (not given back by itself).
    Returns '' when they are in the first, else what to tell the reviewer (stderr): where
    they are, or, when nothing could be written, the notes themselves."""
    notes = {record_id: note for record_id, note in notes.items() if note}
    if not notes:
        return ""
    failed: list[str] = []
    for n, path in enumerate(paths):
        try:
            if n:
                path.parent.mkdir(parents=True, exist_ok=True)
            keep_drafts(path, review, reviewer, stage, notes, place)
        except OSError as exc:
            failed.append(f"{path} ({exc.strerror or exc})")
            continue
        if not n:
            return ""
        return (f"your notes not saved with a decision could not be kept in {failed[0]}: "
                f"they are kept in {path} and wait for your next decision on their records "
                "the next time you screen, as always")
    problem = " or ".join(failed)
    try:
        fd, name = tempfile.mkstemp(prefix="screener-unsaved-notes-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(_rows(review, reviewer, stage, notes, place), out, ensure_ascii=False,
                      indent=1)
    except OSError:
        written = "; ".join(f"record {record_id}: {note!r}"
                            for record_id, note in sorted(notes.items()))
        return (f"your notes not saved with a decision could not be kept in {problem}, nor "
                f"in the temporary folder: {written}")
    return (f"your notes not saved with a decision could not be kept in {problem}: they are "
            f"in {name}, which screening does not read: copy each into your next decision "
            "on its record")
