"""Snapshots of the main, browse and help screens at fixed terminal sizes.

Deterministic: fixed records, no clock, progress without stopping statistics
(`fixed_progress`), a fake ranker that is never called before the shot.
Update after an intended change with `pytest tests/tui --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from screener.tui.app import ScreenerApp

from .conftest import FakeRanker, fixed_progress


async def _settle(pilot: Pilot[None]) -> None:
    for _ in range(2):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # a listing replaced by a newer one
            pass
        await pilot.pause()


def _app(review_factory: Callable[..., Any], protocol: str = "ketamine-depression.yaml") -> ScreenerApp:
    review, ids = review_factory(protocol)
    return ScreenerApp(review, "ann", ranker=FakeRanker(ids), progress_fn=fixed_progress,
                       background_delay=0)


def test_main_screen_100x32(snap_compare: Any, review_factory: Callable[..., Any]) -> None:
    assert snap_compare(_app(review_factory), terminal_size=(100, 32), run_before=_settle)


def test_main_screen_80x24(snap_compare: Any, review_factory: Callable[..., Any]) -> None:
    assert snap_compare(_app(review_factory), terminal_size=(80, 24), run_before=_settle)


def test_browse_screen(snap_compare: Any, review_factory: Callable[..., Any]) -> None:
    async def browse(pilot: Pilot[None]) -> None:
        from textual.widgets import DataTable

        await pilot.press("b")
        # the listing arrives from a worker and the columns are sized after it: under load
        # that can take more than one pause, so wait until the table stops changing
        last = None
        for _ in range(50):
            await _settle(pilot)
            table = pilot.app.screen.query_one(DataTable)
            state = (table.row_count, table.virtual_size)
            if table.row_count and state == last:
                break
            last = state

    assert snap_compare(_app(review_factory, "minimal.yaml"), terminal_size=(100, 32),
                        run_before=browse)


def test_help_screen(snap_compare: Any, review_factory: Callable[..., Any]) -> None:
    async def help_(pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        await _settle(pilot)

    assert snap_compare(_app(review_factory, "minimal.yaml"), terminal_size=(80, 24),
                        run_before=help_)


def test_main_screen_60x24(snap_compare: Any, review_factory: Callable[..., Any]) -> None:
    """A split pane: the side panel goes below the record card."""
    assert snap_compare(_app(review_factory), terminal_size=(60, 24), run_before=_settle)
