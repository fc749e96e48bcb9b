"""Browse and search records for one reviewer at one stage (the UI's browse screen).

Lists records with the reviewer's own current decision, filtered (unscreened, included,
excluded, maybe, with notes) and optionally by a title/abstract search. In blind dual
screening other reviewers' decisions are never returned; otherwise a short summary of them
is. Also the status panel's progress, which works before the stopping rules land.
Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from screener.core.decisions import Decision, Label, Stage
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.progress import Progress, placed, screening_places
from screener.workflow.review import Review
from screener.workflow.screening import eligible_ids
from screener.workflow.team import is_blind, not_offered_ids


class BrowseFilter(StrEnum):
    ALL = "all"
    UNSCREENED = "unscreened"
    INCLUDED = "included"
    EXCLUDED = "excluded"
    MAYBE = "maybe"
    NOTES = "notes"
    """Records on which the reviewer's current decision carries a note."""


_LABEL_OF = {BrowseFilter.INCLUDED: Label.INCLUDE, BrowseFilter.EXCLUDED: Label.EXCLUDE,
             BrowseFilter.MAYBE: Label.MAYBE}


@dataclass(frozen=True, slots=True)
class BrowseRow:
    record_id: int
    title: str
    year: int | None
    first_author: str
    label: Label | None
    """The reviewer's own current decision at this stage (None: not screened by them)."""
    reason_id: str | None
    note: str
    others: str = ""
    """Other reviewers' current labels ('bob: include'); always "" when screening is blind."""


@dataclass(frozen=True, slots=True)
class BrowseResult:
    rows: tuple[BrowseRow, ...]
    matching: int
    """How many records match the filter (rows holds at most `limit` of them)."""


def browse(review: Review, reviewer: str, stage: Stage = Stage.TITLE_ABSTRACT,
           which: BrowseFilter = BrowseFilter.ALL, *, text: str = "",
           limit: int = 500) -> BrowseResult:
    """Records eligible at `stage` matching the filter (and `text`, if given), import order."""
    blind = is_blind(review)
    with review.read() as session:
        eligible = eligible_ids(session, stage)
        current = repo.current_decisions(session, stage)
        mine = {d.record_id: d for d in current if d.reviewer == reviewer}
        if text.strip():
            hits = {r.id for r in repo.search_records(session, text.strip(), limit=100_000)}
            candidates = [i for i in eligible if i in hits]
        else:
            candidates = eligible
        if which == BrowseFilter.UNSCREENED:
            # not those other reviewers settled (or that are allocated to others): they are
            # not this reviewer's to screen
            closed = not_offered_ids(review, session, reviewer, stage)
            ids = [i for i in candidates if i not in mine and i not in closed]
        elif which == BrowseFilter.NOTES:
            ids = [i for i in candidates if i in mine and mine[i].note.strip()]
        elif which in _LABEL_OF:
            ids = [i for i in candidates if i in mine and mine[i].label == _LABEL_OF[which]]
        else:
            ids = list(candidates)
        shown = ids[:limit]
        records = {r.id: r for r in repo.get_records(session, shown)} if shown else {}
    others: dict[int, list[str]] = {}
    if not blind:
        for d in current:
            if d.reviewer != reviewer and d.record_id in records:
                others.setdefault(d.record_id, []).append(f"{d.reviewer}: {d.label.value}")
    rows = []
    for rid in shown:
        record = records[rid]
        decision = mine.get(rid)
        rows.append(BrowseRow(
            rid, record.title, record.year, record.first_author,
            decision.label if decision else None, decision.reason_id if decision else None,
            decision.note if decision else "", "; ".join(others.get(rid, []))))
    return BrowseResult(tuple(rows), len(ids))


def get_record(review: Review, record_id: int) -> Record | None:
    with review.read() as session:
        return repo.get_record(session, record_id)


def my_decisions(review: Review, reviewer: str, stage: Stage) -> dict[int, Decision]:
    """The reviewer's own current decisions at a stage, by record id, in the order their
    records were first screened, as `status`'s irrelevant run reads them (a changed decision
    keeps its record's place, one `reassign` moved that of the decision it was moved from),
    so the screening UI's first counts, shown before the stopping statistics, agree."""
    with review.read() as session:
        mine = [d for d in repo.current_decisions(session, stage, screening_order=True)
                if d.reviewer == reviewer]
        return {d.record_id: d for d in placed(mine, screening_places(session, stage))}


def panel_progress(review: Review, reviewer: str, stage: Stage = Stage.TITLE_ABSTRACT) -> Progress:
    """`workflow.progress.progress`, or the counts alone while the stopping rules are missing.

    The stopping fields (p-value, estimated recall, SAFE checklist) stay None/empty when
    `screener.ranking.stopping` cannot be imported yet.
    """
    from screener.workflow.progress import progress, progress_counts

    try:
        return progress(review, reviewer, stage)
    except ImportError:
        return progress_counts(review, reviewer, stage)
