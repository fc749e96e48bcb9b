"""Pilot tests from a novice reviewer's first day: the decision buttons' glyphs, the help
on the stopping panel, the adjudicator's keys and undo, the conflicts list, changing an
agreed decision during reconciliation, a screener's conflicts key and the blinding dialog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Button

from screener.core.decisions import Stage
from screener.tui.app import ScreenerApp

from .conftest import FakeRanker

MakeApp = Callable[..., tuple[ScreenerApp, Any, list[int], FakeRanker]]


@pytest.mark.parametrize("stage", [Stage.TITLE_ABSTRACT, Stage.FULL_TEXT])
async def test_no_button_starts_with_another_actions_key(make_app: MakeApp, stage: Stage) -> None:
    """'? Maybe' read as "? is Maybe's key", but ? opens the help: a button's glyph is
    never a key, and red/green is never the only cue (each label says what it does)."""
    app, _, _, _ = make_app(stage=stage)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        keys = set(app.keymap.keys.values())
        for button in app.screening.query(Button):
            label = button.label.plain if isinstance(button.label, Text) else str(button.label)
            glyph, _, words = label.partition(" ")
            assert glyph not in keys or not words, label
            assert any(c.isalpha() for c in label), label
