"""reassign moves decisions to the reviewer meant without moving them in the screening
order: the stopping statistics read that order, and a decision made earlier under a
mistyped name was screened then, not when it was moved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.importing import import_records
from screener.workflow.progress import Progress, progress
from screener.workflow.reassign import reassign
from screener.workflow.review import Review
from screener.workflow.screening import record_decision

STOPPING = ("consecutive_irrelevant", "sample_screened", "p_value", "estimated_recall",
            "estimated_recall_interval", "estimated_remaining", "stop_by_test",
            "sample_start", "added_since_start", "screened_since")


def _imported(review: Review, n: int, name: str) -> list[int]:
    done = import_records(review, [Record(title=f"{name} record {i}") for i in range(n)],
                          source=name, kind="database")
    with review.read() as session:
        return repo.source_record_ids(session, done.source_id)


def _stopping(figures: Progress) -> dict[str, Any]:
    return {name: getattr(figures, name) for name in STOPPING}


@pytest.mark.parametrize("others", [(), ("bob",)])
def test_a_reassign_changes_no_stopping_statistic(make_review: Callable[..., Any],
                                                 others: tuple[str, ...]) -> None:
    # a decision moved from anne to ann was placed at the end of the screening order, as
    # if screened at the move: the irrelevant run, the stopping test's p-value and where
    # the sample starts after the update search all changed (run 3 -> 2, sample start
    # 8 -> 6), though nothing was screened
    review = make_review()
    first = _imported(review, 8, "Embase")
    who = ["ann", "anne", "ann", *others, "ann", "anne", "ann", "ann", "ann"]
    label = [Label.EXCLUDE, Label.INCLUDE] + [Label.EXCLUDE] * (len(who) - 2)
    for rid, name, lab in zip(first, who, label, strict=False):
        record_decision(review, rid, name, lab)
    later = _imported(review, 4, "Update")
    for rid, name in zip(later, ["ann", "anne", "ann"], strict=False):
        record_decision(review, rid, name, Label.EXCLUDE)
    before = progress(review, "ann")
    assert before.consecutive_irrelevant > 0 and before.added_since_start == 4
    reassign(review, "anne", "ann")
    assert _stopping(progress(review, "ann")) == _stopping(before)


def test_a_reassign_moves_a_decision_the_adjudicator_resolved(
        make_review: Callable[..., Any]) -> None:
    # fixing a mistyped name (anne -> ann) was refused when the adjudicator had resolved one
    # of anne's records ('it takes no further screener's decision'); moving the others alone
    # (--record) left that decision under anne, and agreement was split between 'ann and
    # bob' and 'anne and bob'. A rename moves it: the resolution and outcome stand
    from screener.core.decisions import Stage
    from screener.workflow.reporting import prisma_counts
    from screener.workflow.screening import apply_outcome_effects, outcomes
    from screener.workflow.team import agreement, resolve

    review = make_review("dual-screening.yaml")
    r1, r2, r3 = _imported(review, 3, "Embase")
    for rid, bob in ((r1, Label.EXCLUDE), (r2, Label.INCLUDE), (r3, Label.EXCLUDE)):
        record_decision(review, rid, "anne", Label.INCLUDE if rid != r3 else Label.EXCLUDE,
                        note=f"anne's note {rid}")
        record_decision(review, rid, "bob", bob)
    resolve(review, r1, "Adjudicator", Label.INCLUDE)

    def state() -> tuple[Any, ...]:
        prisma = prisma_counts(review).counts
        with review.read() as session:
            return (outcomes(review, session, Stage.TITLE_ABSTRACT), prisma,
                    [(d.reviewer, d.label) for d in repo.decision_log(session)
                     if d.reviewer == "Adjudicator"])

    def pairs() -> list[tuple[str, str, Any]]:
        return [(p.reviewer_a, p.reviewer_b, p.stats) for p in agreement(review).pairs]

    before, pairs_before = state(), pairs()
    assert [(a, b) for a, b, _ in pairs_before] == [("anne", "bob")]
    moved = reassign(review, "anne", "ann")
    assert sorted(rid for rid, _ in moved.moved) == [r1, r2, r3]
    assert state() == before
    assert before[0][r1].adjudicated and not before[0][r1].conflict
    assert pairs() == [("ann", "bob", stats) for _, _, stats in pairs_before]
    with review.read() as session:
        log = repo.decision_log(session)
        undone = {d.record_id for d in log
                  if d.reviewer == "anne" and d.label == Label.UNDONE}
        assert undone == {r1, r2, r3}
        copies = {d.record_id: d.note for d in log if d.reviewer == "ann"}
        assert set(copies) == {r1, r2, r3}
        assert copies[r1].startswith(f"anne's note {r1} [moved from anne: decision ")
    with review.transaction() as session:  # (the effects of the record's decisions again)
        apply_outcome_effects(review, session, r1, Stage.TITLE_ABSTRACT)
    assert state() == before


def test_a_refused_reassign_says_a_partial_move_splits_the_reviewer(
        make_review: Callable[..., Any]) -> None:
    # a record of anne's allocated to others (the allocation keeps it with anne) cannot be
    # decided by ann, so the reassign is refused; the way round it the refusal offered
    # (--record for the others) left that decision under 'anne', and the report then
    # counted three reviewers (anne, bob, ann)
    from screener.workflow.review import ReviewError
    from screener.workflow.team import allocate

    review = make_review("dual-screening.yaml")
    r1, *_ = _imported(review, 4, "Embase")
    record_decision(review, r1, "anne", Label.INCLUDE)
    allocate(review, ["ann", "bob"], 0.0, new_reviewers=True)
    with review.read() as session:
        rows = len(repo.decision_log(session))
    with pytest.raises(ReviewError) as refused:
        reassign(review, "anne", "ann")
    said = " ".join(str(refused.value).split())
    assert f"record {r1} at title_abstract" in said and "nothing was moved" in said
    assert "allocated to other reviewers" in said, said
    assert "anne and ann as two reviewers" in said, said
    with review.read() as session:
        assert len(repo.decision_log(session)) == rows
