"""The app's default ranker: a child process, a cold start at open, gone after quit."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from screener.tui.app import ScreenerApp
from screener.workflow.review import Review

from ..workflow.test_ranking_process import gone
from .conftest import FakeRanker
from .test_app import settle


async def test_opens_with_a_cold_start_ranking_without_a_decision(
        review_factory: Callable[..., tuple[Review, list[int]]]) -> None:
    review, ids = review_factory("ketamine-depression.yaml")
    ranker = FakeRanker(ids)
    app = ScreenerApp(review, "ann", ranker=ranker, background_delay=0, rank_on_open=True)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert ranker.calls == 1 and app.rankings_applied == 1
        assert app.session.queue.ids[0] == ids[-1]  # the new order is in use


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc to see processes")
async def test_default_ranker_runs_in_a_child_that_ends_with_the_app(
        review_factory: Callable[..., tuple[Review, list[int]]]) -> None:
    review, _ = review_factory("ketamine-depression.yaml")
    app = ScreenerApp(review, "ann", background_delay=0)
    async with app.run_test() as pilot:
        deadline = time.monotonic() + 120
        while app.rankings_applied < 1 and time.monotonic() < deadline:
            await pilot.pause(0.2)
        assert app.rankings_applied == 1, "the cold-start ranking did not arrive"
        assert app.process_ranker is not None and app.process_ranker.process is not None, \
            app.process_ranker.fallback_reason if app.process_ranker else "no process ranker"
        pid = app.process_ranker.process.pid
        assert pid is not None and not gone(pid)
        assert app.session.queue.ranking_id is not None
        await pilot.press("i")
        # the next record comes from the cold start: its score is a protocol match, not a
        # model score (the two scales differ)
        rank_line = str(app.screening.query_one("#status-rank").render())
        assert rank_line.startswith("Rank 1 · match "), rank_line
        while app.rankings_applied < 2 and time.monotonic() < deadline:
            await pilot.pause(0.2)
        assert app.rankings_applied == 2
        await pilot.press("q")
    deadline = time.monotonic() + 20
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(pid), f"ranking process {pid} outlived the app"


def _ranked(review: Review, ids: list[int]) -> None:
    """A stored ranking of `ids` (as `screener rank` leaves one)."""
    from screener.core.decisions import Stage
    from screener.storage import repo

    with review.transaction() as s:
        repo.add_ranking(s, stage=Stage.TITLE_ABSTRACT, reviewer_id=None, config={},
                         config_hash="x", training_size=0, n_included=0, order_ids=ids,
                         scores=[1.0] * len(ids))


@pytest.mark.parametrize("update", [False, True])
async def test_opens_with_a_new_ranking_when_records_were_imported_since_the_last(
        review_factory: Callable[..., tuple[Review, list[int]]], update: bool) -> None:
    """An update imported after the latest ranking: the UI opened on that ranking, the new
    records after every ranked one, until the first decision re-ranked. It now ranks on
    open, as it does when there is no ranking; with none imported since, it does not."""
    from screener.core.records import Record
    from screener.storage import repo

    review, ids = review_factory("minimal.yaml")  # (single screening: one shared ranking)
    _ranked(review, ids)
    if update:
        with review.transaction() as s:
            source = repo.add_source(s, name="Update", kind="database")
            repo.add_records(s, source, [Record(title=f"Update {i}") for i in range(3)])
    ranker = FakeRanker(ids)
    app = ScreenerApp(review, "ann", ranker=ranker, background_delay=0, rank_on_open=True)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert ranker.calls == (1 if update else 0)
