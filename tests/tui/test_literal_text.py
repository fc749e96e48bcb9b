"""Text that comes from records, searches and reviewers is shown as typed: square brackets
are common in bibliographic data ("[corrected]", "[11C]raclopride", "[in Chinese]") and
were read as Textual markup, dropping words or crashing the UI."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from screener.core.decisions import Label
from screener.core.records import Record
from screener.tui.app import ScreenerApp
from screener.tui.browse import BrowseScreen
from screener.workflow.screening import record_decision

from .conftest import FakeRanker
from .test_app import settle
from .test_conflicts import DUAL, open_conflicts, table_rows

BRACKETED = [
    Record(title="Ketamine for depression [corrected]", abstract="A trial.",
           authors=("[Anonymous]",), year=2020, journal="J [Engl]"),
    Record(title="Esketamine nasal spray [in Chinese] [review]", abstract="A review.",
           authors=("Wu, L",), year=2021, journal="Zhonghua"),
    Record(title="Effect of [11C]raclopride and [/] closing tag [/bold] on ketamine",
           abstract="PET.", authors=("Li, X",), year=2019, journal="Neuroimage"),
]
TITLES = [r.title for r in BRACKETED]


def bracketed_app(review_factory: Any, protocol: str = "minimal.yaml", reviewer: str = "ann"
                  ) -> tuple[ScreenerApp, Any, list[int]]:
    review, ids = review_factory(protocol, records=BRACKETED)
    return ScreenerApp(review, reviewer, ranker=FakeRanker(ids, reverse=False),
                       background_delay=0), review, ids


async def test_browse_lists_bracketed_titles_and_authors_whole(review_factory: Any) -> None:
    app, _, _ = bracketed_app(review_factory)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        table = app.screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[-1] for r in rows] == TITLES
        assert "[Anonymous]" in rows[0]


async def test_a_search_for_brackets_is_shown_as_typed(review_factory: Any) -> None:
    app, _, ids = bracketed_app(review_factory)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("slash", *"[/]", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BrowseScreen)  # the UI is still there
        summary = str(screen.query_one("#browse-summary").render())
        assert "'[/]'" in summary
        table = screen.query_one(DataTable)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == [str(ids[2])]
        await pilot.press("escape")
        await pilot.press("slash", *"[/L]", "enter")
        await settle(pilot)
        assert "'[/L]'" in str(app.screen.query_one("#browse-summary").render())


async def test_conflicts_list_and_notifications_show_bracketed_text(
        review_factory: Any) -> None:
    review, ids = review_factory(DUAL, records=BRACKETED)
    for rid in ids:
        record_decision(review, rid, "ann [lead]", Label.INCLUDE)
        record_decision(review, rid, "[/]bob", Label.EXCLUDE, reason_id="design")
    app = ScreenerApp(review, "Adjudicator", ranker=FakeRanker(ids), background_delay=0)
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await open_conflicts(pilot)
        rows = table_rows(screen)
        # (the reviewers in name order, "[" before "a"; each exclusion with its reason)
        assert [r[1] for r in rows] == ["[/]bob: exclude (design); ann [lead]: include"] * 3
        assert all(r[2] == t or (r[2].endswith("…") and t.startswith(r[2][:-1]))
                   for r, t in zip(rows, TITLES, strict=True))
        app.notify("Record 3: [/] is not markup")  # e.g. an error quoting a title
        await pilot.pause()
        assert any("[/] is not markup" in str(n.message) for n in app._notifications)



BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
SPOOFED = [
    Record(title="Ketamine \u202egnippoeR\u202c trial", abstract="Left \u2067override\u2069 "
           "text and \u200f marks, \u202aembedded\u202c.", authors=("Mal\u202eory\u202c, A",),
           year=2020, journal="J \u200eBidi"),
    Record(title="Esketamine nasal spray", abstract="A trial.", authors=("Wu, L",), year=2021),
]


def no_bidi_on_screen(app: ScreenerApp) -> str:
    """The screen as the terminal gets it (line filters applied), checked to hold no
    bidirectional control; returned for further checks."""
    screen = app.export_screenshot()
    assert not [hex(ord(c)) for c in screen if c in BIDI]
    return screen


async def test_bidi_controls_in_record_text_never_reach_the_terminal(
        review_factory: Any) -> None:
    review, ids = review_factory("minimal.yaml", records=SPOOFED)
    app = ScreenerApp(review, "ann", ranker=FakeRanker(ids, reverse=False),
                      background_delay=0, min_view_s=0)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        assert "gnippoeR" in no_bidi_on_screen(app)  # the card, in stored (logical) order
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        no_bidi_on_screen(app)
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[-1]) == SPOOFED[0].title  # the stored text unchanged


async def test_bidi_controls_in_a_conflict_never_reach_the_terminal(
        review_factory: Any) -> None:
    review, ids = review_factory(DUAL, records=SPOOFED)
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    record_decision(review, ids[0], "bob", Label.EXCLUDE, reason_id="design")
    app = ScreenerApp(review, "Adjudicator", ranker=FakeRanker(ids), background_delay=0)
    async with app.run_test(size=(140, 30)) as pilot:
        await open_conflicts(pilot)
        no_bidi_on_screen(app)
        await pilot.press("enter")  # the conflict's card
        await settle(pilot)
        assert "gnippoeR" in no_bidi_on_screen(app)


UNTITLED = [Record(title="", abstract="Esketamine nasal spray for resistant depression.",
                   authors=("Nobody, N",), year=2018),
            Record(title="Ketamine for depression", abstract="A trial.", authors=("Wu, L",))]


async def test_a_record_without_a_title_says_so_in_browse_and_conflicts(
        review_factory: Any) -> None:
    """The card said "(no title)" where browse and the conflicts list left the cell blank."""
    review, ids = review_factory(DUAL, records=UNTITLED)
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    record_decision(review, ids[0], "bob", Label.EXCLUDE, reason_id="design")
    app = ScreenerApp(review, "Adjudicator", ranker=FakeRanker(ids, reverse=False),
                      background_delay=0)
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await open_conflicts(pilot)
        assert [r[2] for r in table_rows(screen)] == ["(no title)"]
        await pilot.press("escape", "b")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        table = app.screen.query_one(DataTable)
        assert [str(table.get_row_at(i)[-1]) for i in range(table.row_count)] == [
            "(no title)", "Ketamine for depression"]
