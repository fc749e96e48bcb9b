"""What a record's decisions add up to at one stage: agreed outcome, conflict, or pending.

Pure domain: standard library only. A conflict is derived, never stored; an
adjudication is simply a decision by a reviewer in the adjudicator role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from screener.core.decisions import Decision, Label, Role, Stage
from screener.core.protocol import ScreeningMode


@dataclass(frozen=True, slots=True)
class Outcome:
    label: Label | None
    """The record's result at this stage, or None while pending or in conflict."""
    conflict: bool = False
    screened_by: int = 0
    """How many screeners (not adjudicators) have a current decision."""
    adjudicated: bool = False
    reason_id: str | None = None


def is_conflict(a: Decision, b: Decision, mode: ScreeningMode) -> bool:
    """Whether two reviewers' current decisions on one record disagree under the protocol."""
    labels = {a.label, b.label}
    if labels == {Label.INCLUDE, Label.EXCLUDE}:
        return True
    if labels == {Label.MAYBE, Label.EXCLUDE}:
        return mode.maybe_vs_exclude_is_conflict
    if (a.stage == Stage.FULL_TEXT and a.label == b.label == Label.EXCLUDE
            and mode.reason_mismatch_is_conflict):
        return (a.reason_id or "") != (b.reason_id or "")
    return False


def record_outcome(current: Sequence[Decision], mode: ScreeningMode) -> Outcome:
    """Combine the current decisions (one per reviewer) on a record at one stage.

    Single screening: the latest decision stands. Dual screening: once
    `reviewers_per_record` screeners have decided, agreement gives the outcome
    (include with maybe → include; maybe with exclude, when not a conflict → maybe);
    disagreement is a conflict until an adjudicator decides.
    """
    adjudications = [d for d in current if d.reviewer_role == Role.ADJUDICATOR]
    screeners = [d for d in current if d.reviewer_role != Role.ADJUDICATOR]
    if adjudications:
        last = max(adjudications, key=lambda d: d.id or 0)
        return Outcome(last.label, False, len(screeners), True, last.reason_id)
    if not screeners:
        return Outcome(None)
    if not mode.dual:
        last = max(screeners, key=lambda d: d.id or 0)
        return Outcome(last.label, False, len(screeners), False, last.reason_id)
    if len(screeners) < mode.reviewers_per_record:
        return Outcome(None, False, len(screeners))
    for i, a in enumerate(screeners):
        for b in screeners[i + 1:]:
            if is_conflict(a, b, mode):
                return Outcome(None, True, len(screeners))
    labels = {d.label for d in screeners}
    if labels == {Label.EXCLUDE}:
        reasons = [d.reason_id for d in screeners if d.reason_id]
        return Outcome(Label.EXCLUDE, False, len(screeners), False, reasons[0] if reasons else None)
    if Label.INCLUDE in labels:
        return Outcome(Label.INCLUDE, False, len(screeners))
    return Outcome(Label.MAYBE, False, len(screeners))


def passes_title_abstract(outcome: Outcome) -> bool:
    """Included or maybe at title/abstract: the full text is sought (when in doubt, retrieve)."""
    return outcome.label in (Label.INCLUDE, Label.MAYBE)
