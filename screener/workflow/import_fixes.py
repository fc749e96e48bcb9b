"""Putting a wrong import right: its source name, kind or search date corrected
(`screener correct-import`), or the whole import withdrawn while none of its records has
been decided (`screener withdraw-import`).

The import stays in the event log as it was recorded; the correction is an event of its
own, which `log verify` folds in when it checks the sources table against the imports.

Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from screener.core.wording import counted
from screener.storage import Session, repo
from screener.workflow.importing import _check_date, _check_kind, _source_name
from screener.workflow.review import Review, ReviewError

CORRECTED_FIELDS = {"source": "name", "kind": "kind", "searched_on": "searched_on"}
"""An import_corrected event's detail -> the sources column it sets (the details use the
records_imported event's names)."""


@dataclass(frozen=True, slots=True)
class Correction:
    source_id: int
    before: dict[str, str]
    after: dict[str, str]
    """The fields changed, as the import event names them (source, kind, searched_on)."""


def source_row(session: Session, source_id: int, nothing: str) -> dict[str, Any]:
    """The source (import) with this id, or ReviewError listing the review's imports."""
    found = repo.sources(session)
    for source in found:
        if source["id"] == source_id:
            return source
    listed = "; ".join(f"{s['id']}: {s['name']} ({_where(s)})" for s in found) or "none"
    raise ReviewError(f"no import {source_id} in this review (its imports: {listed}); "
                      f"{nothing}")


def correct_import(review: Review, source_id: int, *, name: str | None = None,
                   kind: str | None = None, searched: str | None = None,
                   reason: str) -> Correction:
    """Set an import's source name, kind (PRISMA column) or search date, in one
    transaction, logged (import_corrected, with the values before and the reason): the
    report's Identification section and the PRISMA counts follow the corrected values."""
    nothing = "nothing was changed"
    if not reason.strip():
        raise ReviewError(f"--reason is empty: say why the import is corrected; {nothing}")
    if name is None and kind is None and searched is None:
        raise ReviewError("give what to correct: --source NAME, --kind KIND or --searched "
                          f"DATE; {nothing}")
    if kind is not None:
        _check_kind(kind)
    searched_on = _check_date(searched) if searched is not None else None
    with review.transaction() as session:
        source = source_row(session, source_id, nothing)
        given = {"source": None if name is None else _source_name(
                     session, name, "--source", nothing.capitalize()),
                 "kind": kind, "searched_on": searched_on}
        wanted = {k: v for k, v in given.items() if v is not None}
        current = {"source": source["name"], "kind": source["kind"],
                   "searched_on": source["searched_on"]}
        after = {k: v for k, v in wanted.items() if v != current[k]}
        if not after:
            raise ReviewError(f"import {source_id} has these values already; {nothing}")
        before = {k: current[k] for k in after}
        repo.update_source(session, source_id,
                           **{CORRECTED_FIELDS[k]: v for k, v in after.items()})
        repo.add_event(session, "import_corrected", details={
            "source_id": source_id, "before": before, "after": after, "reason": reason})
    return Correction(source_id, before, after)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    source_id: int
    name: str
    records: int
    restored: tuple[int, ...]
    """Records of other imports removed as copies of this one's: they count again."""


def withdraw_import(review: Review, source_id: int, *, reason: str) -> Withdrawal:
    """Take back an import none of whose records has been decided (or allocated): its
    records leave screening, the counts, PRISMA identification and deduplication (a
    record elsewhere removed as a copy of one of them counts again); the import's event
    stays in the log, and the withdrawal is logged beside it (import_withdrawn). Refused
    (ReviewError, nothing changed) when any of its records has a decision row."""
    nothing = "nothing was withdrawn"
    if not reason.strip():
        raise ReviewError(f"--reason is empty: say why the import is withdrawn; {nothing}")
    with review.transaction() as session:
        repo.lock_review(session)
        source = source_row(session, source_id, nothing)
        per_reviewer, decided, runs = repo.source_entanglements(session, source_id)
        what = f"import {source_id} ({source['name']}, {_where(source)})"
        if per_reviewer:
            rows = sum(per_reviewer.values())
            by = ", ".join(f"{name}: {n}" for name, n in sorted(per_reviewer.items()))
            raise ReviewError(
                f"{counted(decided, 'record')} of {what} {'has' if decided == 1 else 'have'} "
                f"decisions ({counted(rows, 'decision row')}: {by}), which the decision "
                f"log keeps for good: it cannot be withdrawn, {nothing}. Correct its name, "
                "kind or date with `screener correct-import`, or screen its records as any "
                "others")
        if runs:
            raise ReviewError(
                f"records of {what} are allocated to reviewers (allocation run"
                f"{'s' if len(runs) > 1 else ''} {', '.join(map(str, runs))}), which the "
                f"event log records: {nothing}")
        ceiling = repo.record_id_span(session)[1]
        dropped = repo.withdraw_source(session, source_id)
        mine = {rid for rid, _ in dropped} | {keep for _, keep in dropped}
        restored = tuple(sorted({rid for rid, _ in dropped} - _ids_gone(session, mine)))
        repo.add_event(session, "import_withdrawn", details={
            "source_id": source_id, "source": source["name"], "kind": source["kind"],
            "file": source["file_name"], "query": source["query"],
            "searched_on": source["searched_on"], "records": source["records"],
            "imported": str(source["imported_at"]), "reason": reason,
            repo.WITHDRAWN_CEILING: ceiling,
            "duplicate_links_dropped": [list(pair) for pair in dropped],
            "duplicates_restored": list(restored)})
    return Withdrawal(source_id, source["name"], source["records"], restored)


def _ids_gone(session: Session, ids: set[int]) -> set[int]:
    present = {r.id for r in repo.get_records(session, ids)}
    return ids - present


def _where(source: dict[str, Any]) -> str:
    return (f"{source['file_name'] or source['query'] or source['format']}, "
            f"{counted(source['records'], 'record')}")
