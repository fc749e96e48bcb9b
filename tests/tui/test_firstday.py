"""Pilot tests from a novice reviewer's first day: the decision buttons' glyphs, the help
on the stopping panel, the adjudicator's keys and undo, the conflicts list, changing an
agreed decision during reconciliation, a screener's conflicts key and the blinding dialog."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Button, Static

from screener.core.decisions import Stage
from screener.tui.app import ScreenerApp
from screener.tui.dialogs import HelpScreen
from screener.tui.widgets import safe_lines
from screener.workflow.progress import StoppingItem

from .conftest import FakeRanker
from .test_app import settle
from .test_conflicts import DUAL, adjudicator_decisions, disagree, open_conflicts

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


def screen_lines(app: ScreenerApp) -> list[str]:
    """The terminal's lines as the reviewer sees them (from the screenshot SVG)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for x, y, text in re.findall(r'<text[^>]*?x="([\d.]+)"[^>]*?y="([\d.]+)"[^>]*>(.*?)</text>',
                                 app.export_screenshot()):
        rows.setdefault(float(y), []).append((float(x), html.unescape(text)))
    return ["".join(t for _, t in sorted(row)).replace("\xa0", " ")
            for _, row in sorted(rows.items())]


# -- 2. the side panel's figures explained; "key papers: none set" is no met criterion ----
async def test_help_explains_each_figure_of_the_side_panel(make_app: MakeApp) -> None:
    app, _, _, _ = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text", Static).render())
        lines = text.splitlines()
        for figure in ("Irrelevant run", "Stopping p-value", "Est. recall", "2x relevant",
                       "key papers", "Screened"):
            line = next((ln for ln in lines if figure in ln), "")
            assert line, figure  # explained, on a line of its own
        assert "Stopping rule met" in text  # when the rule says stop
        # "Esc closes" is on screen without scrolling
        assert any("Esc closes" in line for line in screen_lines(app))


def test_key_papers_none_set_is_not_shown_as_met() -> None:
    line = " ".join(safe_lines(StoppingItem("key papers found", "none set", True)))
    assert "none set" in line
    assert "✓" not in line and "✗" not in line  # not applicable: neither met nor missing
    met = " ".join(safe_lines(StoppingItem("key papers found", "100%", True)))
    assert met.lstrip().startswith("✓")


# -- 3. the adjudicator's undo, and a help that lists the keys as they work for the role ---
def notes(app: ScreenerApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def help_lines(app: ScreenerApp) -> list[str]:
    assert isinstance(app.screen, HelpScreen)
    return str(app.screen.query_one("#help-keys", Static).render()).splitlines()


async def test_adjudicator_undo_says_how_and_reopens_the_last_resolution(
        make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await pilot.press("u")  # nothing to take back: it says how a resolution is changed
        await pilot.pause()
        assert any("resolving it again" in n for n in notes(app)), notes(app)
        screen = await open_conflicts(pilot)
        await pilot.press("enter", "i")
        await pilot.pause()
        assert adjudicator_decisions(review) == [(ids[0], "Adjudicator", "include", None)]
        await pilot.press("u")  # the resolution just made is open again, to be changed
        await pilot.pause()
        assert screen.current is not None and screen.current.record_id == ids[0]
        assert any(f"Record {ids[0]} reopened" in n for n in notes(app)), notes(app)
        await pilot.press("e", "3")
        await settle(pilot)
        assert adjudicator_decisions(review) == [(ids[0], "Adjudicator", "exclude", "design")]
        assert screen.current is None


async def test_help_lists_the_adjudicators_keys_as_they_work(make_app: MakeApp) -> None:
    app, _, _, _ = make_app(DUAL, reviewer="Adjudicator")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        lines = help_lines(app)
        for key in "iemn":
            line = next(ln for ln in lines if ln.strip().startswith(f"{key} "))
            assert "conflict" in line, line  # they resolve an open conflict, nothing else
        undo = next(ln for ln in lines if ln.strip().startswith("u "))
        assert "resolution" in undo, undo
