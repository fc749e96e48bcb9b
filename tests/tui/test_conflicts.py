"""Pilot tests of the conflicts screen: the adjudicator resolves a dual-screening conflict
in the terminal; a screener in a blind review is told why they cannot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import DataTable, Static

from screener.core.decisions import Decision, Label, Role, Stage
from screener.storage import repo
from screener.tui.app import ScreenerApp
from screener.tui.conflicts import ConflictsScreen
from screener.tui.dialogs import ConfirmScreen, ReasonScreen
from screener.tui.screening import ScreeningScreen
from screener.tui.widgets import RecordCard
from screener.workflow.review import Review, open_review
from screener.workflow.screening import record_decision
from screener.workflow.team import list_conflicts

from .conftest import TITLES, FakeRanker
from .test_app import settle

MakeApp = Callable[..., tuple[ScreenerApp, Any, list[int], FakeRanker]]
DUAL = "dual-screening.yaml"


def disagree(review: Review, ids: list[int]) -> None:
    """ann includes and bob excludes the first two records; both include the third."""
    for rid in ids[:2]:
        record_decision(review, rid, "ann", Label.INCLUDE)
        record_decision(review, rid, "bob", Label.EXCLUDE, reason_id="design",
                        note="an editorial")
    record_decision(review, ids[2], "ann", Label.INCLUDE)
    record_decision(review, ids[2], "bob", Label.INCLUDE)


def adjudications(review: Review) -> list[Decision]:
    """Current adjudicator decisions at title/abstract, read through a fresh connection."""
    other = open_review(review.folder)
    try:
        with other.transaction() as session:
            return [d for d in repo.current_decisions(session, Stage.TITLE_ABSTRACT)
                    if d.reviewer_role == Role.ADJUDICATOR]
    finally:
        other.close()


def adjudicator_decisions(review: Review) -> list[tuple[int, str, str, str | None]]:
    """Current adjudicator decisions as (record, reviewer, label, reason)."""
    return [(d.record_id, d.reviewer, d.label.value, d.reason_id) for d in adjudications(review)]


def conflicts_now(review: Review) -> list[int]:
    other = open_review(review.folder)
    try:
        return [c.record_id for c in list_conflicts(other, Stage.TITLE_ABSTRACT, "Adjudicator")]
    finally:
        other.close()


def table_rows(screen: ConflictsScreen) -> list[list[str]]:
    table: DataTable[str] = screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def three_conflicts(make_app: MakeApp) -> tuple[ScreenerApp, Review, list[int]]:
    """The adjudicator's app on a dual review with conflicts on the first, second and
    fourth records (`disagree`, then ann includes and bob excludes the fourth)."""
    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    record_decision(review, ids[3], "ann", Label.INCLUDE)
    record_decision(review, ids[3], "bob", Label.EXCLUDE, reason_id="design")
    return app, review, ids


def type_at_once(app: ScreenerApp, *keys: str) -> None:
    """Keys that arrive together, as in one terminal read (a fast typist, a paste)."""
    from textual import events

    for key in keys:
        app.post_message(events.Key(key, None if key == "enter" else key))


async def open_conflicts(pilot: Any, key: str = "c") -> ConflictsScreen:
    """Press the conflicts key once the app has settled, and say yes when asked to end
    blinding (the first time, in a blind review); the conflicts screen is on top."""
    await settle(pilot)
    await pilot.press(key)
    await pilot.pause()
    if isinstance(pilot.app.screen, ConfirmScreen):
        await pilot.press("y")
        await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ConflictsScreen)
    return screen


async def test_adjudicator_resolves_a_conflict(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        # the adjudicator is offered no records: the card says which key lists conflicts,
        # and the footer shows it instead of the decision keys
        card = app.screening.query_one(RecordCard)
        assert "press c to list them" in card.part("title").plain
        from textual.widgets._footer import FooterKey

        shown = [k.description for k in app.screening.query(FooterKey)]
        assert "Conflicts" in shown and "Include" not in shown and "Undo" not in shown
        screen = await open_conflicts(pilot)
        rows = table_rows(screen)
        assert [r[0] for r in rows] == [str(ids[0]), str(ids[1])]
        assert rows[0][1] == "ann: include; bob: exclude (design)"
        assert rows[0][2].endswith("…") and TITLES[0].startswith(rows[0][2][:-1])
        assert not screen.query_one("#conflict-detail").display

        # Deciding before opening a conflict stores nothing.
        await pilot.press("i")
        await pilot.pause()
        assert adjudicator_decisions(review) == []

        await pilot.press("enter")
        await pilot.pause()
        assert screen.current is not None and screen.current.record_id == ids[0]
        assert screen.query_one("#conflict-detail").display
        votes = str(screen.query_one("#conflict-votes", Static).render())
        assert "ann: include" in votes
        assert "bob: exclude — Wrong study design · note: an editorial" in votes
        assert screen.query_one(RecordCard).part("title").plain == TITLES[0]

        await pilot.press("i")
        await pilot.pause()
        assert adjudicator_decisions(review) == [(ids[0], "Adjudicator", "include", None)]
        assert [r[0] for r in table_rows(screen)] == [str(ids[1])]
        assert screen.current is None

        # Exclude asks for a reason (optional at title/abstract here); key 3 = design.
        await pilot.press("enter")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("3")
        await pilot.pause()
        assert app.screen is screen
        assert table_rows(screen) == []
        assert "0 conflicts" in str(screen.query_one("#conflicts-summary").render())

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ScreeningScreen)
        # the two resolutions count on the main screen
        assert "Adjudicator: 2 resolved" in str(app.screen.query_one("#status-counts").render())

    assert sorted(adjudicator_decisions(review)) == [
        (ids[0], "Adjudicator", "include", None), (ids[1], "Adjudicator", "exclude", "design")]
    assert conflicts_now(review) == []


async def test_screener_in_a_blind_review_gets_a_notification(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(DUAL, reviewer="ann")
    disagree(review, ids)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ScreeningScreen)
        assert any("resolved by the adjudicator" in n.message for n in app._notifications)
    assert adjudicator_decisions(review) == []


async def test_conflicts_key_is_remappable(make_app: MakeApp, tmp_path: Any) -> None:
    keys = tmp_path / "keys.yaml"
    keys.write_text("conflicts: x\n")
    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator", user_keys_file=keys)
    disagree(review, ids)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, ConflictsScreen)
        await open_conflicts(pilot, "x")


async def test_adjudicator_keys_typed_fast_and_the_cursor_stays_in_place(
        make_app: MakeApp) -> None:
    app, review, ids = three_conflicts(make_app)
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_conflicts(pilot)
        await pilot.press("down")  # the second conflict
        type_at_once(app, "enter", "i")  # in one terminal read
        await settle(pilot)
        assert adjudicator_decisions(review) == [(ids[1], "Adjudicator", "include", None)]
        table: DataTable[str] = screen.query_one(DataTable)
        assert [r[0] for r in table_rows(screen)] == [str(ids[0]), str(ids[3])]
        assert table.cursor_row == 1  # on the next conflict, not back at the first
        type_at_once(app, "enter", "e", "3")
        await settle(pilot)
        assert app.screen is screen
        assert sorted(adjudicator_decisions(review)) == [
            (ids[1], "Adjudicator", "include", None), (ids[3], "Adjudicator", "exclude", "design")]


async def test_an_adjudicator_typing_several_resolutions_in_one_burst_loses_none(
        make_app: MakeApp) -> None:
    """'i Enter e 1 Enter n ... Enter i' in one send-keys stored only the first resolution:
    Enter, a priority binding, overtook the 'i' still on its way to the table, reopened the
    conflict 'i' then resolved, and every key after it found no conflict open (a helper's
    run in tmux)."""
    app, review, ids = three_conflicts(make_app)
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_conflicts(pilot)
        type_at_once(app, "enter", "i", "enter", "e", "3", "enter", "n", "o", "k", "enter", "i")
        await settle(pilot)
        assert not [n.message for n in app._notifications if "Open a conflict" in n.message]
        assert sorted(adjudicator_decisions(review)) == [
            (ids[0], "Adjudicator", "include", None), (ids[1], "Adjudicator", "exclude", "design"),
            (ids[3], "Adjudicator", "include", None)]
        assert app.screen is screen and table_rows(screen) == []
    assert {d.record_id: d.note for d in adjudications(review)}[ids[3]] == "ok"


async def test_keys_on_the_conflicts_screen_that_do_nothing_say_why(
        make_app: MakeApp, review_factory: Callable[..., Any],
        full_text_conflict: Callable[..., None]) -> None:
    """? and u did nothing here, m on a full-text conflict did nothing, and with no conflict
    at all a decision key said 'Open a conflict with Enter first' (a helper's run)."""
    from screener.tui.dialogs import HelpScreen

    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_conflicts(pilot)
        await pilot.press("i")
        await pilot.press("u")
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert "No conflict to resolve at title/abstract" in said
        assert any(m.startswith("Nothing resolved here yet. To change an earlier resolution")
                   for m in said)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen

    review2, ids2 = review_factory(DUAL, folder="full-text")
    full_text_conflict(review2, ids2[0])
    app2 = ScreenerApp(review2, "Adjudicator", Stage.FULL_TEXT, ranker=FakeRanker(ids2),
                       background_delay=0)
    async with app2.run_test(size=(110, 36)) as pilot:
        await open_conflicts(pilot)
        await pilot.press("enter", "m")
        await settle(pilot)
        assert "Maybe is for title/abstract; at full text include or exclude" in [
            n.message for n in app2._notifications]
        assert adjudicator_decisions(review2) == []


async def test_a_conflict_that_arises_while_the_screen_is_open_joins_the_list(
        make_app: MakeApp, monkeypatch: Any) -> None:
    """A screener's change made while the adjudicator's conflicts screen was open showed
    up only once the screen was closed and opened again (a helper's run)."""
    monkeypatch.setattr(ConflictsScreen, "REFRESH_S", 0.2)
    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_conflicts(pilot)
        assert [r[0] for r in table_rows(screen)] == [str(ids[0]), str(ids[1])]
        other = open_review(review.folder)  # bob, in another shell
        try:
            record_decision(other, ids[2], "bob", Label.EXCLUDE, reason_id="design")
        finally:
            other.close()
        await pilot.pause(0.6)
        await settle(pilot)
        assert [r[0] for r in table_rows(screen)] == [str(ids[0]), str(ids[1]), str(ids[2])]
        summary = str(screen.query_one("#conflicts-summary", Static).content)
        assert summary.startswith("3 conflicts")


async def test_listing_conflicts_asks_before_it_ends_blinding(make_app: MakeApp) -> None:
    # one key would otherwise unblind the stage for everyone, records still to screen too
    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    record_decision(review, ids[3], "ann", Label.INCLUDE)  # bob has not screened it yet
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        text = " ".join(str(label.render()) for label in app.screen.query("Label"))
        assert "not yet screened by all their reviewers" in text
        await pilot.press("n")  # no: nothing changes, still blind
        await settle(pilot)
        assert not isinstance(app.screen, (ConfirmScreen, ConflictsScreen))
        other = open_review(review.folder)
        try:
            from screener.workflow.team import reconciliation_started

            assert not reconciliation_started(other, Stage.TITLE_ABSTRACT)
        finally:
            other.close()
        screen = await open_conflicts(pilot)  # yes: listed, and not asked again
        screen.dismiss()
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConflictsScreen)


async def test_a_conflict_that_went_away_meanwhile_leaves_the_list(make_app: MakeApp) -> None:
    """While the adjudicator has a conflict open, a screener changes their mind and the
    two agree: resolving is refused, and the list shows the conflicts as they are now
    (it kept the settled one, and its detail, until the screen was opened again)."""
    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_conflicts(pilot)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert screen.current is not None and screen.current.record_id == ids[1]
        record_decision(review, ids[1], "bob", Label.INCLUDE)  # in bob's own window
        await pilot.press("i")
        await settle(pilot)
        assert any("no conflict" in str(n.message) for n in app._notifications)
        assert [r[0] for r in table_rows(screen)] == [str(ids[0])]
        assert screen.current is None and not screen.query_one("#conflict-detail").display
    assert adjudicator_decisions(review) == []


async def test_the_votes_are_whole_in_an_80_column_terminal(make_app: MakeApp) -> None:
    """The votes are what the adjudicator scans the list for: they come before the title,
    which may run off the edge (it was the votes that were cut, without an ellipsis)."""
    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_conflicts(pilot)
        table: DataTable[str] = screen.query_one(DataTable)
        keys = [c.key.value for c in table.ordered_columns]
        upto = keys.index("votes") + 1
        used = sum(c.get_render_width(table) for c in table.ordered_columns[:upto])
        assert used <= 80 - 2, used  # the table's border


async def test_single_screening_says_there_are_no_conflicts_instead_of_an_empty_list(
        make_app: MakeApp) -> None:
    # one screener decides each record: the conflicts screen could only ever be empty
    app, _, _, _ = make_app("minimal.yaml")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        told = [str(n.message).lower() for n in app._notifications]
        assert len(told) == 1 and "single screening" in told[0]
        assert app.screen is app.screening  # no empty "0 conflicts" screen on top


async def test_the_conflicts_footer_offers_decision_keys_only_while_one_is_open(
        make_app: MakeApp) -> None:
    from textual.widgets._footer import FooterKey

    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_conflicts(pilot)

        def offered() -> set[str]:
            return {k.description for k in screen.query(FooterKey)}

        deciding = {"Include", "Exclude", "Maybe", "Note"}
        assert not deciding & offered()
        await pilot.press("i")           # before one is open: told how, nothing stored
        await pilot.pause()
        assert adjudicator_decisions(review) == []
        assert any("Enter" in str(n.message) for n in app._notifications)
        await pilot.press("enter")
        await pilot.pause()
        assert deciding <= offered()
        await pilot.press("i")
        await pilot.press("enter", "i")  # the second conflict: none is left open
        await pilot.pause()
        assert [d[0] for d in adjudicator_decisions(review)] == ids[:2]
        assert "0 conflicts" in str(screen.query_one("#conflicts-summary").render())
        assert not deciding & offered()


async def test_an_adjudicators_kept_note_comes_back_on_the_conflicts_screen(
        make_app: MakeApp, tmp_path: Any) -> None:
    """The note an adjudicator had written for a conflict's resolution when the terminal
    closed came back on the screening screen, where the adjudicator decides nothing, so it
    was never stored with the resolution. It comes back on the conflicts screen, where it
    was typed, and is stored with the conflict's resolution."""
    settings = tmp_path / "ui.json"
    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator", settings_file=settings,
                                   quit_on_signals=True)
    disagree(review, ids)
    async with app.run_test(size=(110, 36)) as pilot:
        await open_conflicts(pilot)
        await pilot.press("enter", "n", *"check dose", "enter")
        await settle(pilot)
        app.closed_from_outside()  # as on SIGHUP
        await pilot.pause()
    assert app.return_code is not None and adjudicator_decisions(review) == []
    again = ScreenerApp(review, "Adjudicator", Stage.TITLE_ABSTRACT, ranker=FakeRanker(ids),
                        background_delay=0, settings_file=settings)
    async with again.run_test(size=(110, 36), notifications=True) as pilot:
        await settle(pilot)
        assert again.unsaved_notes() == {}  # nothing waits on the screening screen
        screen = await open_conflicts(pilot)
        said = [n.message for n in again._notifications]
        assert any(f"(record {ids[0]}) waits for your next resolution of its conflict" in m
                   for m in said), said
        await pilot.press("enter")
        await pilot.pause()
        assert screen.current is not None and screen.current.record_id == ids[0]
        assert "your note (with your resolution): check dose" in str(
            screen.query_one("#conflict-votes", Static).render())
        await pilot.press("i")
        await settle(pilot)
    resolved = {d.record_id: d.note for d in adjudications(review)}
    assert resolved == {ids[0]: "check dose"}
    assert not (review.folder / "unsaved-notes.json").exists()
