"""Pilot tests from a reviewer's hour in tmux: what the screen shows when quitting with a
note held, the header at common widths, keys offered where they cannot work, browse by
keyboard, and the card after revisits and undo."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import pytest

from screener.core.decisions import Stage
from screener.tui.app import ScreenerApp
from screener.tui.browse import BrowseScreen
from screener.tui.dialogs import ConfirmScreen, HelpScreen
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


# -- 3. keys that cannot work are not offered; pressed anyway, they say why ---------------
def footer(app: ScreenerApp) -> list[str]:
    from textual.widgets._footer import FooterKey

    return [k.description for k in app.screen.query(FooterKey)]


def buttons(app: ScreenerApp) -> list[str]:
    from textual.widgets import Button

    return [str(b.label) for b in app.screening.query(Button) if b.display]


def toasts(app: ScreenerApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_blind_dual_screener_is_not_offered_not_retrieved(review_factory: Any) -> None:
    from .test_undo_and_reports import at_full_text

    _, ids, app = at_full_text(review_factory, "ann")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        assert app.current_record_id == ids[0]
        assert "Not retrieved" not in footer(app)
        assert "Not retrieved" not in buttons(app) and "✓ Include" in buttons(app)
        await pilot.press("r")
        await pilot.pause()
        assert any("the adjudicator (Adjudicator) marks full-text reports" in t
                   for t in toasts(app))
        assert app.current_record_id == ids[0]
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Not retrieved (the adjudicator marks reports)" in str(
            app.screen.query_one("#help-keys").render())


async def test_r_at_title_abstract_says_it_is_for_full_text(make_app: MakeApp) -> None:
    app, review, _, _ = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert any("is for full-text reports" in t for t in toasts(app))
        assert stored(review) == []
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Not retrieved (full-text stage only)" in str(
            app.screen.query_one("#help-keys").render())


async def test_the_adjudicators_start_screen_offers_no_decision_keys(make_app: MakeApp) -> None:
    from .test_conflicts import DUAL, disagree

    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        assert not {"Include", "Exclude", "Maybe", "Note", "Undo"} & set(footer(app))
        assert buttons(app) == []
        await pilot.press("m")
        await pilot.pause()
        assert any("You resolve the conflicts: press c" in t for t in toasts(app))
        assert stored(review)[-1][1] == "bob"  # nothing stored


async def test_the_adjudicator_adds_a_note_to_a_resolution(make_app: MakeApp) -> None:
    from .test_conflicts import DUAL, disagree, open_conflicts

    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_conflicts(pilot)
        assert "Note" not in footer(app)  # offered once a conflict is open
        await pilot.press("enter")
        await pilot.pause()
        assert "Note" in footer(app)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"dose unclear", "enter")
        await pilot.pause()
        assert "your note (with your resolution): dose unclear" in str(
            screen.query_one("#conflict-votes").render())
        await pilot.press("i")
        await pilot.pause()
    assert stored(review)[-1] == (ids[0], "Adjudicator", "include", None, "dose unclear")


# -- 4. browse by keyboard -------------------------------------------------------------------
async def open_browse(app: ScreenerApp, pilot: Any) -> BrowseScreen:
    """Press b and wait for the list."""
    await pilot.press("b")
    await settle(pilot)
    assert isinstance(app.screen, BrowseScreen)
    return app.screen


async def test_browse_reopens_on_the_filter_last_used(make_app: MakeApp) -> None:
    """A tester went through the maybe records one by one: browse reopened on All each
    time, so every record meant Right, Right, Right again. It now reopens on the filter
    used last in this session; `/` (a search) still starts from All."""
    from textual.widgets import Tabs

    app, _, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("m", "m")  # ids[0] and ids[1] maybe
        screen = await open_browse(app, pilot)
        await pilot.press("right", "right", "right", "right")  # All -> ... -> Maybe
        await settle(pilot)
        assert screen.query_one(Tabs).active == "filter-maybe"
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_record_id == ids[0]
        screen = await open_browse(app, pilot)
        assert screen.query_one(Tabs).active == "filter-maybe"
        await pilot.press("escape")  # back without opening one: the filter is kept too
        await settle(pilot)
        screen = await open_browse(app, pilot)
        assert screen.query_one(Tabs).active == "filter-maybe"
        await pilot.press("escape", "slash")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        assert app.screen.query_one(Tabs).active == "filter-all"


async def test_browse_names_an_exclusion_reason_as_the_card_does(make_app: MakeApp) -> None:
    """Browse listed "exclude (outcome)", the reason's id, where the card says "exclude
    (Wrong outcome)": the same words in both places."""
    from textual.widgets import DataTable

    from screener.core.decisions import Label
    from screener.workflow.screening import record_decision

    app, review, ids, _ = make_app(reverse=False)
    record_decision(review, ids[1], "ann", Label.EXCLUDE, reason_id="outcome")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        screen = await open_browse(app, pilot)
        cell = str(screen.query_one(DataTable).get_cell(str(ids[1]), "label"))
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.current_record_id == ids[1]
        said = shown(app, "context").removeprefix("your decision: ")
    assert cell == said == "exclude (Wrong outcome)"


async def test_browse_filters_and_opens_by_keyboard(make_app: MakeApp) -> None:
    from textual.widgets import DataTable, Input, Tabs

    app, _, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("m", "i")  # ids[0] maybe, ids[1] included
        screen = await open_browse(app, pilot)
        assert {"Filter", "Open record", "Search", "Back"} <= set(footer(app))
        await pilot.press("right", "right")  # All -> Unscreened -> Included
        await settle(pilot)
        assert screen.query_one(Tabs).active == "filter-included"
        table = screen.query_one(DataTable)
        assert table.row_count == 1 and table.has_focus
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_record_id == ids[1]
        # from the filter tabs, Down goes into the records and Enter opens one (browse
        # reopens on Included, the filter last used: Left is Unscreened)
        screen = await open_browse(app, pilot)
        assert screen.query_one(Tabs).active == "filter-included"
        screen.query_one(Tabs).focus()
        await pilot.press("left", "down")
        await settle(pilot)
        assert screen.query_one(DataTable).has_focus
        await pilot.press("up", "shift+tab")  # back on the tabs; Enter goes to the records
        await pilot.press("enter")
        assert screen.query_one(DataTable).has_focus
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_record_id == ids[2]  # the first unscreened record
        # in the search box Left/Right/Enter are the box's
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press(*"rats", "left", "x", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BrowseScreen)
        assert screen.query_one(Input).value == "ratxs"
        assert screen.query_one(Tabs).active == "filter-all"
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert "Left and Right change the filter" in str(
            app.screen.query_one("#help-text").render())


async def test_help_and_quit_keys_work_in_browse(make_app: MakeApp) -> None:
    """? and q did nothing in browse until Esc: ? now opens the help over the list, q
    closes the list (not the app); typed in the search box they are text."""
    from textual.widgets import Input

    app, _, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        browse = await open_browse(app, pilot)
        assert {"Help", "Back"} <= set(footer(app))
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is browse
        await pilot.press("slash", *"q?")
        await settle(pilot)
        assert app.screen is browse and browse.query_one(Input).value == "q?"
        await pilot.press("enter")  # search; the focus goes to the records
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, BrowseScreen) and app.is_running
        assert app.current_record_id == ids[0]


async def test_typing_in_browse_goes_into_the_search_box(make_app: MakeApp) -> None:
    """Browse opens with the focus on the records, under a search box: "ketamine" typed
    there went nowhere, and its Enter opened the first record. A letter, digit or sign that
    is not one of browse's keys now goes into the box; browse's own keys still work."""
    from textual import events
    from textual.widgets import DataTable, Input, Tabs

    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        browse = await open_browse(app, pilot)
        box = browse.query_one(Input)
        assert browse.query_one(DataTable).has_focus
        await pilot.press(*"ketamine quality")  # the q in it is text, not Back or Quit
        assert app.screen is browse and box.has_focus and box.value == "ketamine quality"
        await pilot.press("ctrl+u", *"rat", "enter")
        await settle(pilot)
        assert app.screen is browse and box.value == "rat" and browse.text == "rat"
        table = browse.query_one(DataTable)
        assert table.has_focus and [table.get_row_at(i)[0] for i in range(table.row_count)] \
            == [str(ids[1])]
        # from the filter tabs too a key starts a new search, as / does; typed in one
        # burst (over SSH), the Enter after it searches, it does not open a record
        browse.query_one(Tabs).focus()
        await pilot.pause()
        for key in (*"rats", "enter"):
            app.post_message(events.Key(key, None if key == "enter" else key))
        await settle(pilot)
        assert app.screen is browse and box.value == "rats" and browse.text == "rats"
        # browse's own keys on the records: ? help, q back (not quit), Enter opens
        table.focus()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is browse and box.value == "rats"
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_record_id == ids[1] and app.is_running
        assert stored(review) == []


async def test_shift_arrows_scroll_long_titles_in_browse(make_app: MakeApp) -> None:
    """Left/Right became the filter keys, so long titles could no longer be scrolled into
    view: Shift+Left/Right scroll the list sideways."""
    from textual.widgets import DataTable, Tabs

    app, _, _, _ = make_app(reverse=False)
    async with app.run_test(size=(60, 24)) as pilot:
        browse = await open_browse(app, pilot)
        table = browse.query_one(DataTable)
        assert table.max_scroll_x > 0  # the titles run past the right edge at 60 columns
        await pilot.press("shift+right")
        await pilot.pause()
        assert table.scroll_x > 0 and browse.query_one(Tabs).active == "filter-all"
        await pilot.press("shift+left")
        await pilot.pause()
        assert table.scroll_x == 0


# -- 5. the card after a revisit, a search and an undo ----------------------------------------
async def open_lithium_from_search(app: ScreenerApp, pilot: Any) -> str:
    """Search for 'lithium', open the first hit (record 5); the panel's rank line."""
    await pilot.press("slash")
    await settle(pilot)
    await pilot.press(*"lithium", "enter")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    return str(app.screening.query_one("#status-rank").render())


async def test_a_never_decided_record_from_search_is_said_to_be_in_the_queue(
        make_app: MakeApp) -> None:
    app, _, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        rank = await open_lithium_from_search(app, pilot)
        assert app.current_record_id == ids[4]
        assert rank == "From browse (in queue)"
        assert "your decision: not screened by you" in shown(app, "context")


async def test_after_undo_the_card_says_what_was_undone(make_app: MakeApp) -> None:
    app, _, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"dose", "enter", "e", "1", "u")
        assert app.current_record_id == ids[0]
        assert shown(app, "context") == ("you undid: exclude (Wrong population) · "
                                          "note (with your next decision): dose")
        await pilot.press("i")  # decided again: the next record says nothing of it
        assert "you undid" not in shown(app, "context")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
async def test_sigterm_or_a_hang_up_quits_the_ui_and_keeps_its_decisions(
        make_app: MakeApp, signum: int) -> None:
    """The command line turns SIGTERM and SIGHUP into Ctrl-C; in the UI they quit it as q
    does (the terminal restored, the record on screen given up), decisions kept."""
    app, review, ids, _ = make_app(reverse=False, quit_on_signals=True)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("i")
        await pilot.pause()
        # (the app's own handler, or this test would end pytest)
        assert signal.getsignal(signum) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), signum)
        for _ in range(50):
            await pilot.pause(0.02)
            if not app.is_running:
                break
        assert not app.is_running
    assert stored(review)[-1][:3] == (ids[0], "ann", "include")


async def test_a_record_others_settled_is_not_said_to_be_in_the_queue_nor_who_settled_it(
        make_app: MakeApp) -> None:
    """Blind dual screening: carl opened from a search a record ann and bob had settled.
    The panel said 'From browse (in queue)' though the queue does not offer it, and i said
    it was 'settled at title_abstract by ann and bob', naming who screened it while the
    stage is blind. Now: 'From browse (settled by others)', and no names."""
    from screener.core.decisions import Label
    from screener.workflow.screening import record_decision

    app, review, ids, _ = make_app("dual-screening.yaml", reviewer="carl", reverse=False)
    for who in ("ann", "bob"):
        record_decision(review, ids[4], who, Label.EXCLUDE)
    async with app.run_test(size=(100, 32)) as pilot:
        rank = await open_lithium_from_search(app, pilot)
        assert app.current_record_id == ids[4]
        assert rank == "From browse (settled by others)"
        await pilot.press("i")
        await settle(pilot)
        said = [n.message for n in app._notifications if "already settled" in n.message]
        assert said and "by other reviewers (it needs 2 reviewers)" in said[-1]
        assert not any("ann" in m or "bob" in m for m in said)
    assert [r for r, who, *_ in stored(review) if who == "carl"] == []
