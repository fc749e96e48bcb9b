"""Read a screening label that an import kept in `Record.raw` (CSV label column, ASReview
RIS notes, Rayyan's decisions in RIS notes or its CSV notes column). The importers never act on labels; the CLI/workflow decides (`--labels-as`).

Standard library only; must not import sqlalchemy, textual, click, sklearn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from screener.core.decisions import Label
from screener.core.labels import decision_label, label_value
from screener.core.records import Record

LABEL_COLUMNS = ("label_included", "included", "label", "label_abstract_screening",
                 "final_included", "inclusion", "decision")
"""Column names (case-insensitive) read as labels, in this order (`decision`: screener's
own records export, whose `stage` column says which stage's decisions it holds)."""

_FULL_TEXT = {"full_text", "full text", "fulltext"}

_L = TypeVar("_L")

_ASREVIEW = {"asreview_relevant": 1, "asreview_irrelevant": 0}


def labels_from_raw(record: Record) -> int | None:
    """The label kept in `record.raw` (1 included, 0 excluded), or None when there is none.

    Reads a label column (`label_included`, `included`, `label`, ...: 1/0, yes/no,
    true/false, include/exclude, as `screener.core.labels.label_value` reads them) or ASReview's RIS notes (N1 'ASReview_relevant' /
    'ASReview_irrelevant').
    """
    return _read_label(record, label_value)


def decision_from_raw(record: Record, reviewer: str | None = None) -> Label | None:
    """The title/abstract decision kept in `record.raw`, or None when there is none: what
    `labels_from_raw` reads, and a maybe (Covidence's and Rayyan's "Maybe", "Unsure", ...:
    `screener.core.labels.decision_label`), which title/abstract screening allows. A record
    with Rayyan decisions (`rayyan_votes`) gives `reviewer`'s (the name in any case), or
    None when `reviewer` made none on it."""
    votes = rayyan_votes(record)
    if votes:
        vote = _vote_of(votes, reviewer)
        return decision_label(vote) if vote is not None else None
    return _read_label(record, decision_label)


_RAYYAN = re.compile(r"RAYYAN-INCLUSION:\s*\{(.*?)\}", re.DOTALL)
_RAYYAN_VOTE = re.compile(r'"([^"]*)"\s*=>\s*"([^"]*)"')
_RAYYAN_REASONS = re.compile(r"RAYYAN-EXCLUSION-REASONS:[ \t]*([^|\n]*)")
_RAYYAN_LABELS = re.compile(r"RAYYAN-LABELS:[ \t]*([^|\n]*)")
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_USER_NOTES_OF = re.compile(rf'"([^"]*)"\s*=>\s*\[((?:\s*{_QUOTED}\s*,?)*)\s*\]')
_USER_NOTES = re.compile(rf'USER-NOTES:\s*\{{((?:\s*"[^"]*"\s*=>\s*\[(?:\s*{_QUOTED}\s*,?)*\s*\]'
                         r'\s*,?)*)\s*\}')
_RAYYAN_PARTS = (_RAYYAN, _RAYYAN_REASONS, _RAYYAN_LABELS, _USER_NOTES)


def _rayyan_notes(record: Record) -> str:
    """The text of a record's RIS notes (N1) and notes column, where Rayyan writes
    `RAYYAN-INCLUSION: {"Ann"=>"Included", "Bob"=>"Maybe"} | RAYYAN-EXCLUSION-REASONS: ...`
    (on one line or several)."""
    raw = record.raw or {}
    texts = [raw.get("N1")] + [v for k, v in raw.items() if str(k).strip().lower() == "notes"]
    return "\n".join(str(item) for value in texts if value
                     for item in (value if isinstance(value, list) else [value]))


def rayyan_votes(record: Record) -> dict[str, str]:
    """Each reviewer's Rayyan decision on the record (name -> "Included", "Excluded",
    "Maybe"), in the file's order; empty for a record without Rayyan decisions."""
    notes = _rayyan_notes(record)
    return {name.strip(): vote.strip() for block in _RAYYAN.findall(notes)
            for name, vote in _RAYYAN_VOTE.findall(block)} if "RAYYAN-" in notes else {}


def _vote_of(votes: dict[str, str], reviewer: str | None) -> str | None:
    wanted = (reviewer or "").casefold()
    return next((v for name, v in votes.items() if name.casefold() == wanted), None)


def _rayyan_reasons(record: Record) -> str:
    """Rayyan's exclusion reasons for the record (of all its reviewers: Rayyan does not say
    whose), as it writes them."""
    return ", ".join(reason.strip() for found in _RAYYAN_REASONS.findall(_rayyan_notes(record))
                     for reason in found.split(",") if reason.strip())


def _unquoted(text: str) -> str:
    """A string as Rayyan quotes it (Ruby's inspect: JSON's escapes, mostly)."""
    try:
        return str(json.loads(text))
    except ValueError:
        return text[1:-1]


def _rayyan_note(record: Record, reviewer: str | None, excluded: bool) -> str:
    """What Rayyan's notes hold besides the decisions, for `reviewer`'s imported decision:
    the record's Rayyan labels, its exclusion reasons (with an exclusion; Rayyan does not
    say whose they are), the reviewer's own notes (USER-NOTES), and any other text of the
    notes (a CSV's notes cell holds the record's own notes too)."""
    notes = _rayyan_notes(record)
    wanted = (reviewer or "").casefold()
    own = [_unquoted(text) for block in _USER_NOTES.findall(notes)
           for name, items in _USER_NOTES_OF.findall(block) if name.casefold() == wanted
           for text in re.findall(_QUOTED, items)]
    labels = ", ".join(label.strip() for found in _RAYYAN_LABELS.findall(notes)
                       for label in found.split(",") if label.strip())
    reasons = _rayyan_reasons(record)
    rest = notes
    for part in _RAYYAN_PARTS:
        rest = part.sub("|", rest)
    other = [text.strip() for text in re.split(r"[|\n]", rest) if text.strip()]
    return "; ".join(
        ([f"Rayyan labels: {labels}"] if labels else [])
        + ([f"Rayyan exclusion reasons: {reasons}"] if reasons and excluded else [])
        + ([f"Rayyan notes: {'; '.join(own)}"] if own else []) + other)


def _read_label(record: Record, read: Callable[[Any], _L | None]) -> _L | None:
    """The first label column's value that `read` reads, else ASReview's RIS notes."""
    raw = record.raw or {}
    lowered = {str(k).strip().lower(): v for k, v in raw.items()}
    if _at_full_text(lowered):
        return None
    for column in LABEL_COLUMNS:
        if column in lowered:
            value = lowered[column]
            values = value if isinstance(value, list) else [value]
            for item in values:
                label = read(item)
                if label is not None:
                    return label
    notes = raw.get("N1")
    if isinstance(notes, list):
        for note in notes:
            for token in str(note).replace(".", " ").split():
                if token.lower() in _ASREVIEW:
                    return read(_ASREVIEW[token.lower()])
    return None


def unreadable_label(record: Record, reviewer: str | None = None) -> str | None:
    """The text of a label column (or `reviewer`'s Rayyan decision) that holds something
    other than a decision (e.g. "2"), or None when the record has a decision, an empty label
    cell or no label column."""
    if decision_from_raw(record, reviewer) is not None:
        return None
    if votes := rayyan_votes(record):
        return _vote_of(votes, reviewer)
    lowered = {str(k).strip().lower(): v for k, v in (record.raw or {}).items()}
    return None if _at_full_text(lowered) else _label_text(lowered)


def full_text_decision(record: Record) -> str | None:
    """The decision of a row of screener's full-text records export (its `stage` column
    says full_text), which is no title/abstract label; None for any other record."""
    lowered = {str(k).strip().lower(): v for k, v in (record.raw or {}).items()}
    return _label_text(lowered) if _at_full_text(lowered) else None


REASON_COLUMNS = ("reason", "exclusion_reason")
NOTE_COLUMNS = ("note", "notes")
"""Columns (any case) read with a label as its exclusion reason and note (`reason` and
`note`: screener's own records export)."""


def label_reason_and_note(record: Record, reviewer: str | None = None) -> tuple[str, str]:
    """The text of the record's reason and note columns ("" when it has none), as they go
    with its label (`decision_from_raw`). For Rayyan's decisions: no reason (Rayyan's
    exclusion reasons are the record's, not a reviewer's) and, with `reviewer`'s exclusion,
    the note `Rayyan exclusion reasons: ...`."""
    if rayyan_votes(record):
        return "", _rayyan_note(record, reviewer,
                                decision_from_raw(record, reviewer) == Label.EXCLUDE)
    lowered = {str(k).strip().lower(): v for k, v in (record.raw or {}).items()}
    return ("; ".join(_texts(lowered, REASON_COLUMNS)),
            "; ".join(_texts(lowered, NOTE_COLUMNS)))


def _at_full_text(lowered: dict[str, Any]) -> bool:
    return str(lowered.get("stage") or "").strip().lower() in _FULL_TEXT


def _texts(lowered: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    """The non-empty texts of the first of `columns` that has any."""
    for column in columns:
        value = lowered.get(column)
        items = value if isinstance(value, list) else [value]
        texts = [str(v).strip() for v in items if v is not None and str(v).strip()]
        if texts:
            return texts
    return []


def _label_text(lowered: dict[str, Any]) -> str | None:
    """The first non-empty text of a label column."""
    return next(iter(_texts(lowered, LABEL_COLUMNS)), None)
