"""Pilot tests of undo and of full-text reports marked not retrieved, as a reviewer meets
them: the adjudicator takes back their own mark with `u`; a report marked elsewhere while
on screen is dropped, not kept on screen for ever; undo is refused where a new decision
would be; Esc leaves a record undo brought back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from screener.core.decisions import Label, ReportStatus, Stage
from screener.storage import repo
from screener.tui.app import ScreenerApp
from screener.tui.browse import BrowseScreen
from screener.workflow.review import Review, open_review
from screener.workflow.screening import mark_not_retrieved, record_decision
from screener.workflow.team import list_conflicts, resolve

from .conftest import FakeRanker, stored
from .test_app import settle

MakeApp = Callable[..., tuple[ScreenerApp, Any, list[int], FakeRanker]]
DUAL = "dual-screening.yaml"


def toasts(app: ScreenerApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def reports(review: Review) -> dict[int, ReportStatus]:
    with open_review(review.folder) as fresh, fresh.read() as session:
        return repo.reports(session)


def both_include(review: Review, ids: list[int], count: int = 4) -> None:
    """Blind dual review: ann and bob include the first `count` records at title/abstract,
    and the adjudicator lists the conflicts (none), which opens the full-text stage."""
    for rid in ids[:count]:
        record_decision(review, rid, "ann", Label.INCLUDE)
        record_decision(review, rid, "bob", Label.INCLUDE)
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")


def app_for(review: Review, ids: list[int], reviewer: str,
            stage: Stage = Stage.FULL_TEXT) -> ScreenerApp:
    return ScreenerApp(review, reviewer, stage, ranker=FakeRanker(ids, reverse=False),
                       background_delay=0)


def at_full_text(review_factory: Any, reviewer: str) -> tuple[Review, list[int], ScreenerApp]:
    """A blind dual review whose first four records passed title/abstract, and the app of
    `reviewer` at full text."""
    review, ids = review_factory(DUAL)
    both_include(review, ids)
    return review, ids, app_for(review, ids, reviewer)


async def test_the_adjudicator_takes_back_their_not_retrieved_mark_with_u(
        review_factory: Any) -> None:
    from textual.widgets._footer import FooterKey

    review, ids, app = at_full_text(review_factory, "Adjudicator")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        footer = [k.description for k in app.screening.query(FooterKey)]
        assert "Undo" not in footer  # nothing of theirs to take back yet
        await pilot.press("r")  # no report on screen: they are told how to get one
        await pilot.pause()
        assert ("Open the report from browse (b) first, then press r to mark it not "
                "retrieved") in toasts(app)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        await pilot.press("enter")  # the first report, opened from browse
        assert app.current_record_id == ids[0]
        await pilot.press("r")
        assert "Record 1: full text marked not retrieved (u takes it back)" in toasts(app)
        assert reports(review)[ids[0]] == ReportStatus.NOT_RETRIEVED
        await pilot.pause()
        assert "Undo" in [k.description for k in app.screening.query(FooterKey)]
        await pilot.press("u")  # what the toast says
        assert reports(review)[ids[0]] == ReportStatus.SOUGHT
        assert app.current_record_id == ids[0]  # the report is on screen again
        assert any("full text sought again" in t for t in toasts(app))
        await pilot.pause()
        assert "Undo" not in [k.description for k in app.screening.query(FooterKey)]
        await pilot.press("u")  # nothing more: their resolutions are not undone this way
        assert reports(review)[ids[0]] == ReportStatus.SOUGHT
    with open_review(review.folder) as fresh, fresh.read() as session:
        assert [(e.kind, e.record_id, e.actor) for e, _ in repo.event_log(session)
                if e.kind.startswith("report_")] == [
            ("report_not_retrieved", ids[0], "Adjudicator"),
            ("report_sought_again", ids[0], "Adjudicator")]


async def test_the_adjudicators_u_leaves_their_resolutions_alone(review_factory: Any) -> None:
    review, ids = review_factory(DUAL)
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    record_decision(review, ids[0], "bob", Label.EXCLUDE, reason_id="design")
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")
    resolve(review, ids[0], "Adjudicator", Label.INCLUDE)
    app = app_for(review, ids, "Adjudicator", Stage.TITLE_ABSTRACT)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
    assert stored(review)[-1] == (ids[0], "Adjudicator", "include", None, "")


async def test_a_report_marked_not_retrieved_elsewhere_leaves_the_screen(
        review_factory: Any) -> None:
    review, ids, app = at_full_text(review_factory, "ann")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        assert app.current_record_id == ids[0]
        # `screener not-retrieved 1 --reviewer Adjudicator` in another shell
        mark_not_retrieved(review, ids[0], "Adjudicator")
        await pilot.press("i")
        assert any("marked not retrieved while it was on screen" in t for t in toasts(app))
        assert app.current_record_id == ids[1]  # on to the next report
        # one marked while another is on screen is not offered afterwards
        mark_not_retrieved(review, ids[2], "Adjudicator")
        await pilot.press("i")
        assert app.current_record_id == ids[3]
        await pilot.press("i")
        assert app.current_record_id is None  # nothing left: no stale card
        await settle(pilot)
        counts = str(app.screening.query_one("#status-counts").render())
        assert "Screened 2 of 2" in counts, counts
    assert stored(review, Stage.FULL_TEXT) == [(ids[1], "ann", "include", None, ""),
                                               (ids[3], "ann", "include", None, "")]


async def test_r_on_a_report_someone_else_marked_moves_on(review_factory: Any) -> None:
    review, ids = review_factory("minimal.yaml")  # single screening: screeners mark too
    for rid in ids[:3]:
        record_decision(review, rid, "ann", Label.INCLUDE)
    app = app_for(review, ids, "ann")
    async with app.run_test(size=(100, 32)) as pilot:
        assert app.current_record_id == ids[0]
        mark_not_retrieved(review, ids[0], "bob")
        await pilot.press("r")
        assert any("marked not retrieved already, by someone else" in t for t in toasts(app))
        assert app.current_record_id == ids[1]
        await pilot.press("u")  # bob's mark is not ann's to take back
        assert reports(review)[ids[0]] == ReportStatus.NOT_RETRIEVED


async def test_undo_is_refused_once_the_adjudicator_resolved_the_record(
        review_factory: Any) -> None:
    review, ids = review_factory(DUAL)
    record_decision(review, ids[1], "ann", Label.EXCLUDE)
    record_decision(review, ids[0], "ann", Label.INCLUDE)  # ann's latest decision
    record_decision(review, ids[0], "bob", Label.EXCLUDE, reason_id="design")
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")
    resolve(review, ids[0], "Adjudicator", Label.INCLUDE)
    before = stored(review)
    app = app_for(review, ids, "ann", Stage.TITLE_ABSTRACT)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        on_screen = app.current_record_id
        await pilot.press("u")
        await settle(pilot)
        assert any("resolved by the adjudicator (Adjudicator)" in t
                   and "can no longer be undone" in t for t in toasts(app)), toasts(app)
        assert app.current_record_id == on_screen  # nothing changed on screen
    assert stored(review) == before  # nor in the log: ann's decision stands


async def test_esc_after_undo_goes_back_to_the_queue(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("i", "i")
        assert app.current_record_id == ids[2]
        await pilot.press("u")
        assert app.current_record_id == ids[1]
        assert str(app.screening.query_one("#status-rank").render()) == \
            "Back by undo (not ranked)"
        await pilot.press("escape")  # undecided, for now: back where the queue was
        assert app.current_record_id == ids[2]
        assert any("record 2, undecided, waits at its end" in t for t in toasts(app))
        assert stored(review)[-1] == (ids[1], "ann", "undone", None, "undo of decision 2")
        await pilot.press("i")
        assert app.current_record_id == ids[3]
        await settle(pilot)  # the next ranking gives the undone record its place again
        await pilot.press("i")
        assert app.current_record_id == ids[1]


async def test_esc_after_undo_at_full_text_puts_the_record_last(review_factory: Any) -> None:
    review, ids = review_factory("minimal.yaml")
    for rid in ids[:3]:
        record_decision(review, rid, "ann", Label.INCLUDE)
    app = app_for(review, ids, "ann")  # no ranking at full text: the queue keeps its order
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("i", "i", "u", "u")
        assert app.current_record_id == ids[0]  # two reports brought back by undo
        await pilot.press("escape")
        assert app.current_record_id == ids[1]
        await pilot.press("escape")
        assert app.current_record_id == ids[2]  # where the queue was before the undos
        assert "(revisited)" not in str(app.screening.query_one("#card").border_title)
        await pilot.press("escape")  # a record of the queue: Esc leaves it on screen
        assert app.current_record_id == ids[2]
        await pilot.press("i")
        assert app.current_record_id == ids[0]  # the put-off ones waited at the end
        await pilot.press("i")
        assert app.current_record_id == ids[1]
        await pilot.press("escape")  # the only one left: it stays
        assert app.current_record_id == ids[1]
        assert any("the only one left" in t for t in toasts(app))
