"""Pilot tests from a reviewer's hour in tmux: what the screen shows when quitting with a
note held, the header at common widths, keys offered where they cannot work, browse by
keyboard, and the card after revisits and undo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from screener.core.decisions import Stage
from screener.tui.app import ScreenerApp
from screener.tui.dialogs import ConfirmScreen
from screener.tui.screening import ScreeningScreen

from .conftest import FakeRanker, stored
from .test_app import settle, shown

MakeApp = Callable[..., tuple[ScreenerApp, Any, list[int], FakeRanker]]


# -- 1. a held note is never lost silently on quit -------------------------------------
async def test_quit_with_a_held_note_asks_first(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"check dose", "enter")
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "note not saved with a decision" in app.screen.text
        assert "check dose" in app.screen.text
        await pilot.press("enter")  # Enter does not lose it: back to the record
        await pilot.pause()
        assert isinstance(app.screen, ScreeningScreen)
        assert app.is_running
        assert "note (with your next decision): check dose" in shown(app, "context")
        await pilot.press("i")  # decided: the note is stored, nothing is held any more
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    assert stored(review) == [(ids[0], "ann", "include", None, "check dose")]


@pytest.mark.parametrize(("key", "answer", "quits"),
                         [("q", "y", True), ("ctrl+c", "y", True), ("ctrl+c", "escape", False)])
async def test_quit_keys_with_a_held_note_ask_first(make_app: MakeApp, key: str, answer: str,
                                                    quits: bool) -> None:
    app, _, _, _ = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"x", "enter", key)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(answer)
        await pilot.pause()
        assert app.is_running is not quits
    assert not any("ctrl+q" in str(n.message) for n in app._notifications)


async def test_ctrl_c_quits_like_q(make_app: MakeApp) -> None:
    app, _, _, _ = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert not app.is_running
    assert not any("ctrl+q" in str(n.message) for n in app._notifications)


async def test_quit_on_a_revisited_record_whose_note_is_stored_asks_nothing(
        make_app: MakeApp) -> None:
    app, _, _, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"dose?", "enter", "i", "b")
        await settle(pilot)
        await pilot.press("enter")  # the first record again: its note is the stored one
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


# -- 2. who is screening, and at which stage, is always in the header ---------------------
@pytest.mark.parametrize(("width", "stage"), [
    (72, Stage.TITLE_ABSTRACT), (80, Stage.TITLE_ABSTRACT), (100, Stage.TITLE_ABSTRACT),
    (132, Stage.TITLE_ABSTRACT), (200, Stage.TITLE_ABSTRACT), (72, Stage.FULL_TEXT)])
async def test_header_shows_reviewer_and_stage_at_common_widths(
        make_app: MakeApp, width: int, stage: Stage) -> None:
    from textual.widgets._header import HeaderTitle

    app, _, _, _ = make_app("ketamine-depression.yaml", stage=stage)
    async with app.run_test(size=(width, 32)) as pilot:
        await pilot.pause()
        title = app.screening.query_one(HeaderTitle)
        text = str(title.render())
        assert text.endswith(f" — ann · {stage.label}"), text
        assert text.startswith("Ketamine and esketamine")
        assert len(text) <= title.content_region.width
        await pilot.resize_terminal(width + 20, 32)  # and after the terminal is resized
        await pilot.pause()
        text = str(title.render())
        assert text.endswith(f" — ann · {stage.label}") and len(text) <= width + 2, text
