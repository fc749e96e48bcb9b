"""Browse listing, filters, search, blind mode and the status panel's progress."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from screener.core.decisions import Label, Stage
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.browse import (
    BrowseFilter,
    browse,
    get_record,
    my_decisions,
    panel_progress,
)
from screener.workflow.review import Review
from screener.workflow.screening import record_decision
from screener.workflow.team import allocate


def add(review: Review) -> list[int]:
    records = [Record(title="Ketamine trial", abstract="placebo", authors=("Ann, A",), year=2020),
               Record(title="Rats study", abstract="ketamine in rats"),
               Record(title="Exercise review", abstract="walking")]
    with review.transaction() as s:
        source = repo.add_source(s, name="Test", kind="database")
        return repo.add_records(s, source, records)


def test_filters_and_search(make_review: Callable[..., Any]) -> None:
    review = make_review()
    ids = add(review)
    allocate(review, ["ann", "bob"], 1.0, seed=1)  # single screening, all double-checked
    record_decision(review, ids[0], "ann", Label.INCLUDE, note="dose")
    record_decision(review, ids[1], "ann", Label.EXCLUDE, reason_id="population")
    record_decision(review, ids[1], "bob", Label.MAYBE)

    def listed(which: BrowseFilter, text: str = "") -> list[int]:
        return [r.record_id for r in browse(review, "ann", Stage.TITLE_ABSTRACT, which,
                                            text=text).rows]

    assert listed(BrowseFilter.ALL) == ids
    assert listed(BrowseFilter.UNSCREENED) == [ids[2]]
    assert listed(BrowseFilter.INCLUDED) == [ids[0]]
    assert listed(BrowseFilter.EXCLUDED) == [ids[1]]
    assert listed(BrowseFilter.MAYBE) == []
    assert listed(BrowseFilter.NOTES) == [ids[0]]
    assert listed(BrowseFilter.ALL, "KETAMINE") == ids[:2]
    assert listed(BrowseFilter.EXCLUDED, "ketamine") == [ids[1]]
    result = browse(review, "ann", which=BrowseFilter.ALL)
    first, second = result.rows[0], result.rows[1]
    assert (first.label, first.note, first.first_author, first.year) == (
        Label.INCLUDE, "dose", "Ann, A", 2020)
    assert (second.reason_id, second.others) == ("population", "bob: maybe")
    limited = browse(review, "ann", limit=1)
    assert len(limited.rows) == 1 and limited.matching == 3
    assert get_record(review, ids[2]) is not None and get_record(review, 999) is None
    assert set(my_decisions(review, "ann", Stage.TITLE_ABSTRACT)) == set(ids[:2])


def test_unscreened_leaves_out_records_a_colleague_settled(
        make_review: Callable[..., Any]) -> None:
    review = make_review()  # single screening shared by ann and bob
    ids = add(review)
    record_decision(review, ids[0], "bob", Label.EXCLUDE, reason_id="design")
    unscreened = browse(review, "ann", which=BrowseFilter.UNSCREENED)
    assert [r.record_id for r in unscreened.rows] == ids[1:]  # bob's is not ann's to screen
    first = browse(review, "ann").rows[0]
    assert (first.record_id, first.label, first.others) == (ids[0], None, "bob: exclude")


def test_blind_mode_never_returns_other_reviewers(make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review)
    record_decision(review, ids[0], "bob", Label.INCLUDE)
    rows = browse(review, "ann").rows
    assert [(r.label, r.others) for r in rows] == [(None, "")] * 3
    assert browse(review, "ann", which=BrowseFilter.INCLUDED).matching == 0
    assert [r.label for r in browse(review, "bob").rows][0] == Label.INCLUDE


def test_panel_progress_counts(make_review: Callable[..., Any]) -> None:
    review = make_review()
    ids = add(review)
    record_decision(review, ids[0], "ann", Label.EXCLUDE)
    record_decision(review, ids[1], "ann", Label.INCLUDE)
    record_decision(review, ids[2], "ann", Label.MAYBE)
    progress = panel_progress(review, "ann", Stage.TITLE_ABSTRACT)
    assert (progress.screened, progress.total, progress.includes, progress.maybes) == (3, 3, 1, 1)
    # the maybe ends the run of irrelevant records (it may be relevant)
    assert progress.recall_curve == (0, 1, 1) and progress.consecutive_irrelevant == 0
    assert progress.p_value is not None and progress.checklist
    from screener.ranking.stopping import stopping_test

    assert progress.p_value == stopping_test([0, 1, 1], 3)  # the maybe counted as relevant
    record_decision(review, ids[2], "ann", Label.EXCLUDE)  # changed: now a run of one
    assert panel_progress(review, "ann", Stage.TITLE_ABSTRACT).consecutive_irrelevant == 1


def test_panel_progress_counts_without_the_stopping_rules(
        make_review: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    review = make_review()
    ids = add(review)
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    record_decision(review, ids[1], "ann", Label.EXCLUDE)
    import screener.ranking

    monkeypatch.setitem(sys.modules, "screener.ranking.stopping", None)  # import fails
    monkeypatch.delattr(screener.ranking, "stopping", raising=False)
    progress = panel_progress(review, "ann", Stage.TITLE_ABSTRACT)
    assert (progress.screened, progress.total, progress.includes) == (2, 3, 1)
    assert progress.recall_curve == (1, 1) and progress.consecutive_irrelevant == 1
    assert progress.p_value is None and progress.checklist == ()
