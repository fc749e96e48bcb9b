"""Reviewers, screening stages, labels and decisions.

Pure domain: standard library only. Decisions are append-only: the current decision
of a reviewer on a record at a stage is the latest one for that key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar


class Stage(StrEnum):
    TITLE_ABSTRACT = "title_abstract"
    FULL_TEXT = "full_text"

    @property
    def label(self) -> str:
        """The stage as people write it: 'title/abstract', 'full-text'."""
        return "title/abstract" if self is Stage.TITLE_ABSTRACT else "full-text"


class Label(StrEnum):
    INCLUDE = "include"
    EXCLUDE = "exclude"
    MAYBE = "maybe"
    UNDONE = "undone"
    """Withdraws the reviewer's earlier decision (undo); the earlier row stays in the log."""


class Role(StrEnum):
    SCREENER = "screener"
    ADJUDICATOR = "adjudicator"


class ReportStatus(StrEnum):
    """Full-text report status, as PRISMA 2020 counts reports."""

    SOUGHT = "sought"
    NOT_RETRIEVED = "not_retrieved"
    ASSESSED = "assessed"


@dataclass(frozen=True, slots=True)
class Reviewer:
    name: str
    role: Role = Role.SCREENER
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """One screening decision, as stored (append-only) and as shown in the log."""

    record_id: int
    reviewer: str
    stage: Stage
    label: Label
    reason_id: str | None = None
    """Exclusion reason id from the protocol (required at full text when excluding)."""
    criterion_ids: tuple[str, ...] = ()
    """Eligibility criteria the reviewer cited."""
    note: str = ""
    created_at: datetime | None = None
    protocol_hash: str = ""
    ranking_id: int | None = None
    """The ranking that put the record in front of the reviewer (None: import order)."""
    rank_position: int | None = None
    """1-based position of the record in that ranking when it was shown."""
    reviewer_role: Role = Role.SCREENER
    id: int | None = None
    seq: int | None = None
    """Position in the decision log (1, 2, ...)."""
    row_hash: str = ""
    """Hash chained to the previous log row (see screener.core.audit)."""


class _Keyed(Protocol):
    """What the undo stacks read of a decision (a `Decision`, or a log row)."""

    @property
    def record_id(self) -> int: ...
    @property
    def reviewer(self) -> str: ...
    @property
    def stage(self) -> str: ...
    @property
    def label(self) -> str: ...


K = TypeVar("K", bound=_Keyed)


def _stacks(decisions: Iterable[K], withdrawn: dict[int, int] | None = None
            ) -> dict[tuple[int, str, str], list[tuple[int, K]]]:
    """(position, decision) still standing per (record, reviewer, stage), oldest first: an
    `undone` row withdraws the latest one of its key (`withdrawn` gets the undo's position
    -> the withdrawn decision's position)."""
    stacks: dict[tuple[int, str, str], list[tuple[int, K]]] = {}
    for index, decision in enumerate(decisions):
        stack = stacks.setdefault((decision.record_id, decision.reviewer, decision.stage), [])
        if decision.label == Label.UNDONE:
            if stack:
                popped, _ = stack.pop()
                if withdrawn is not None:
                    withdrawn[index] = popped
        else:
            stack.append((index, decision))
    return stacks


def undo_targets(decisions: Iterable[_Keyed]) -> dict[int, int]:
    """For each `undone` row that withdrew a decision, given in log order: its position ->
    the position of the decision it withdrew."""
    withdrawn: dict[int, int] = {}
    _stacks(decisions, withdrawn)
    return withdrawn


def current_decisions(decisions: Iterable[Decision]) -> dict[tuple[int, str, str], Decision]:
    """The standing decision per (record, reviewer, stage), decisions given in time order;
    the result is in the order those decisions were made.

    An `undone` row withdraws the latest standing decision of its key, and the decision it
    had replaced (if any) stands again: undoing a changed decision restores the earlier
    one, as the reviewer left it."""
    standing = sorted((stack[-1][0], key, stack[-1][1])
                      for key, stack in _stacks(decisions).items() if stack)
    return {key: decision for _, key, decision in standing}


def in_screening_order(decisions: Iterable[Decision]) -> list[Decision]:
    """The standing decisions (as `current_decisions`) in the order their records were
    screened: a changed decision keeps the place of the first decision it changed, so
    revising an old record does not count as screening a new one."""
    standing = sorted((stack[0][0], stack[-1][1])
                      for stack in _stacks(decisions).values() if stack)
    return [decision for _, decision in standing]
