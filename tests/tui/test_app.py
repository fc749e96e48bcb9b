"""Pilot tests of the screening app: every path a reviewer takes, checked on screen and in
the database (read through a fresh connection)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Static
from textual.worker import WorkerCancelled

from screener.core.decisions import Label, ReportStatus, Stage
from screener.core.records import Record
from screener.storage import repo
from screener.tui.app import ScreenerApp
from screener.tui.browse import BrowseScreen
from screener.tui.dialogs import HelpScreen, NoteScreen, ReasonScreen
from screener.tui.widgets import RecordCard
from screener.workflow.review import open_review
from screener.workflow.screening import record_decision

from .conftest import TITLES, FakeRanker, stored, write_protocol

MakeApp = Callable[..., tuple[ScreenerApp, Any, list[int], FakeRanker]]


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and their messages be handled (a follow-up ranking included),
    and the keys typed be acted on: until the app is `quiet`, not for a while. (Three
    rounds of workers and `pilot.pause`, as before, are not enough on a loaded machine:
    `pause` waits for the process to look idle by its CPU time, which a process starved
    of CPU does at once, with keys still on their way through dialogs.)"""
    for _ in range(3):
        await _finish_workers(pilot)
    for _ in range(QUIET_ROUNDS):
        if quiet(pilot.app):
            return
        await _finish_workers(pilot)
    raise AssertionError(f"the app was still busy after {QUIET_ROUNDS} rounds")


QUIET_ROUNDS = 500


async def _finish_workers(pilot: Pilot[None]) -> None:
    try:
        await pilot.app.workers.wait_for_complete()
    except WorkerCancelled:  # a listing replaced by a newer one
        pass
    await pilot.pause()


def quiet(app: Any) -> bool:
    """Nothing left to do but wait for the reviewer: no message waiting in the app or on any
    screen's widgets, no key held in the key gate (a dialog opening or closing), no worker
    running."""
    if app.message_queue_size or (isinstance(app, ScreenerApp) and app.key_gate.closed):
        return False
    nodes = [node for screen in app.screen_stack for node in screen.walk_children(with_self=True)]
    return (all(node.message_queue_size == 0 for node in nodes)
            and all(worker.is_finished for worker in app.workers))


def card(app: ScreenerApp) -> RecordCard:
    return app.screening.query_one("#card", RecordCard)


def shown(app: ScreenerApp, part: str = "title") -> str:
    """What a part of the record card shows (title, meta, abstract, legend, context)."""
    return card(app).part(part).plain


async def test_card_shows_record_as_pubmed_does(make_app: MakeApp) -> None:
    app, _, ids, _ = make_app("ketamine-depression.yaml")
    async with app.run_test(size=(100, 32)):
        assert app.current_record_id == ids[0]
        assert shown(app) == TITLES[0]
        meta = shown(app, "meta")
        for part in ("Murrough, James W; Iosifescu, Dan V",
                     "Am J Psychiatry. 2013;170(10):1134-42.",
                     "DOI: 10.1176/appi.ajp.2013.13030392", "PMID: 23982301",
                     "Publication types: Journal Article; Randomized Controlled Trial",
                     "Keywords: ketamine; depression", "MeSH terms: Depressive Disorder; Ketamine"):
            assert part in meta
        abstract = card(app).part("abstract")
        assert "METHODS: Adults were randomised" in str(abstract)
        legend = shown(app, "legend")
        assert "include term" in legend and "exclude term" in legend
        criteria = str(app.screening.query_one("#criteria", Static).render())
        assert "P1" in criteria and "[7] Review, editorial, letter or abstract only" in criteria


def _contrast(a: Any, b: Any) -> float:
    """WCAG contrast ratio of two textual Colors."""
    def luminance(c: Any) -> float:
        lin = [(v / 255) / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4
               for v in (c.r, c.g, c.b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def drawn_rows(app: ScreenerApp) -> list[list[Any]]:
    """The screen as drawn: per terminal row, its segments (text and rich style)."""
    return [list(strip) for strip in app.screen._compositor.render_strips()]


def drawn_contrast(app: ScreenerApp, fragment: str) -> float:
    """WCAG contrast ratio of the text drawn on screen that holds `fragment` (its colours
    as the terminal gets them: opacity, dimming and theme applied)."""
    from textual.color import Color

    segment = next((seg for row in drawn_rows(app) for seg in row
                    if fragment in seg.text and seg.style and seg.style.color), None)
    assert segment is not None, f"{fragment!r} is not on screen"
    return _contrast(Color.from_rich_color(segment.style.color),
                     Color.from_rich_color(segment.style.bgcolor))


@pytest.mark.parametrize("theme", ["dark", "light"])
async def test_the_highlight_legend_is_readable_and_shows_the_marks_it_explains(
        make_app: MakeApp, theme: str) -> None:
    # the light theme drew the legend white on light grey (1.32:1), and in both themes its
    # samples lost the colours of the terms they explain
    from textual.color import Color

    app, review, ids, _ = make_app("ketamine-depression.yaml", theme=theme, reverse=False)
    record_decision(review, ids[1], "ann", Label.EXCLUDE, reason_id="outcome")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)  # (the footer's keys composed: a pause was not enough under load)
        shown_card = card(app)
        text = shown_card._card_text()
        background = shown_card.background_colors[1]
        plain = text.plain
        console = app.console

        def colour_at(fragment: str) -> Any:
            style = text.get_style_at_offset(console, plain.index(fragment))
            return style.color, style
        legend, _ = colour_at("Terms: ")
        assert _contrast(Color.from_rich_color(legend), background) >= 4.5, (theme, legend)
        sample, sample_style = colour_at("include term")
        marked = card(app).part("abstract")
        term = next(span for span in marked.spans if "underline" in str(span.style))
        term_style = text.get_style_at_offset(console, plain.index(
            marked.plain[term.start:term.end]))
        assert sample == term_style.color and sample_style.underline
        # the terms themselves and the footer's keys are readable too
        assert _contrast(Color.from_rich_color(term_style.color), background) >= 4.5, theme
        from textual.widgets._footer import FooterKey

        key = app.query(FooterKey).first()
        key_style = key.get_component_rich_style("footer-key--key")
        assert _contrast(Color.from_rich_color(key_style.color),
                         Color.from_rich_color(key_style.bgcolor)
                         if key_style.bgcolor else key.background_colors[1]) >= 4.5, theme
        # so is the rest of the text, as drawn (each was under 4.5:1 in one theme or both)
        await settle(pilot)
        ratios = {"Exclude button": drawn_contrast(app, "✗ Excl"),
                  "header's dimmed sub-title": drawn_contrast(app, "title/abstract")}
        app.screening.shown_at -= 31  # read long enough
        await pilot.press("b")
        await settle(pilot)
        ratios["filter tab not chosen"] = drawn_contrast(app, "Unscreened")
        ratios["placeholder"] = drawn_contrast(app, "search title and abstract")
        await pilot.press("slash")  # the search box has the focus: another background
        await settle(pilot)
        ratios["placeholder, focused"] = drawn_contrast(app, "earch title and abstract")
        await pilot.press("down")  # into the records: the cursor row has the focus
        await settle(pilot)
        ratios["focused cursor row"] = drawn_contrast(app, TITLES[0][:20])
        await pilot.press("down", "enter")  # the record decided before: revisited
        await settle(pilot)
        ratios["revisited record's context line"] = drawn_contrast(app, "your decision")
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, NoteScreen)
        ratios["note's placeholder"] = drawn_contrast(app, "check dose")
        low = {what: round(ratio, 2) for what, ratio in ratios.items() if ratio < 4.5}
        assert not low, (theme, low)


TWO_AUTHORS = [Record(title="Two authors", authors=("Smith, J", "Müller, K"), year=2020)]


async def test_card_separates_authors_so_each_name_reads_as_one(
        review_factory: Callable[..., Any]) -> None:
    # stored "Last, First": commas between authors made "Smith, J, Müller, K" four names
    review, ids = review_factory(records=TWO_AUTHORS)
    app = ScreenerApp(review, "ann", Stage.TITLE_ABSTRACT, ranker=FakeRanker(ids),
                      background_delay=0)
    async with app.run_test(size=(100, 32)):
        first_line = shown(app, "meta").splitlines()[0]
        assert first_line.split("; ") == ["Smith, J", "Müller, K"]


async def test_card_shows_the_original_language_title_under_the_english_one(
        review_factory: Callable[..., Any]) -> None:
    # PubMed's English title only: a reviewer of a Chinese article never saw its own title
    from screener.core.records import ORIGINAL_TITLE

    records = [Record(title="[Ketamine for depression].", year=2020,
                      raw={ORIGINAL_TITLE: "氯胺酮治疗抑郁症"})]
    review, ids = review_factory(records=records)
    app = ScreenerApp(review, "ann", Stage.TITLE_ABSTRACT, ranker=FakeRanker(ids),
                      background_delay=0)
    async with app.run_test(size=(100, 32)):
        assert shown(app) == "[Ketamine for depression].\nOriginal title: 氯胺酮治疗抑郁症"


async def test_terms_are_marked_with_styles_not_colour_alone(make_app: MakeApp) -> None:
    app, _, _, _ = make_app("ketamine-depression.yaml")
    async with app.run_test(size=(100, 32)):
        text = card(app).part("title")
        styles = {str(text)[s.start:s.end]: s.style for s in text.spans}
        include = styles["Ketamine"]
        assert include.bold and include.underline  # type: ignore[union-attr]
        abstract = card(app).part("abstract")
        marked = {str(abstract)[s.start:s.end] for s in abstract.spans}
        assert {"randomised", "midazolam", "Remission", "BACKGROUND: "} <= marked


async def test_include_is_committed_before_the_next_record_shows(make_app: MakeApp) -> None:
    app, review, ids, ranker = make_app()
    async with app.run_test() as pilot:
        await pilot.press("i")
        # The next record is on screen and the decision is already in the database.
        assert app.current_record_id == ids[1]
        assert stored(review) == [(ids[0], "ann", "include", None, "")]
        assert "Screened 1 of 5" in str(app.screening.query_one("#status-counts").render())
        await settle(pilot)
        assert ranker.calls >= 1 and app.rankings_applied >= 1
        # The fake ranker reversed the queue: the last record comes next.
        await pilot.press("i")
        assert app.current_record_id == ids[4]
        await settle(pilot)
        await pilot.press("m")
        assert app.current_record_id == ids[3]
        assert [row[2] for row in stored(review)] == ["include", "include", "maybe"]


async def test_exclude_with_reason_by_key(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app()
    async with app.run_test() as pilot:
        await pilot.press("e")
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("2")
        assert app.current_record_id == ids[1]
        assert stored(review) == [(ids[0], "ann", "exclude", "intervention", "")]


async def test_exclude_reason_can_be_skipped_when_not_required(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app()
    async with app.run_test() as pilot:
        await pilot.press("e")
        hint = app.screen.query_one(".dialog-hint", Static)
        assert "Enter: exclude without a reason" in str(hint.render())
        await pilot.press("down")  # a reason highlighted: Enter would store it, and says so
        assert "Enter: exclude with [1]" in str(hint.render()), str(hint.render())
        await pilot.press("escape", "e", "enter")  # Enter: exclude without a reason
        await pilot.press("e", "escape")  # Escape: an `e` pressed by mistake records nothing
        assert not isinstance(app.screen, ReasonScreen)
        assert app.current_record_id == ids[1]
        assert stored(review) == [(ids[0], "ann", "exclude", None, "")]


async def test_exclude_reason_required_by_protocol(make_app: MakeApp, tmp_path: Path) -> None:
    protocol = write_protocol(tmp_path / "p", screening={"reason_required_at_title_abstract": True})
    app, review, ids, _ = make_app(protocol)
    async with app.run_test() as pilot:
        await pilot.press("e", "enter")
        assert isinstance(app.screen, ReasonScreen)  # Enter does not skip a required reason
        await pilot.press("escape")  # Escape cancels the exclusion
        assert not isinstance(app.screen, ReasonScreen)
        assert app.current_record_id == ids[0] and stored(review) == []
        await pilot.press("e", "down", "down", "enter")  # arrows + Enter pick a reason too
        assert stored(review) == [(ids[0], "ann", "exclude", "intervention", "")]


async def test_maybe(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app()
    async with app.run_test() as pilot:
        await pilot.press("m")
        assert stored(review) == [(ids[0], "ann", "maybe", None, "")]
        assert "maybe 1" in str(app.screening.query_one("#status-counts").render())


async def test_note_goes_with_the_next_decision_on_the_record(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app()
    async with app.run_test() as pilot:
        await pilot.press("n")
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"check dose", "enter")
        assert "note (with your next decision): check dose" in shown(app, "context")
        assert stored(review) == []
        await pilot.press("m")
        await pilot.press("i")
        assert stored(review) == [(ids[0], "ann", "maybe", None, "check dose"),
                                  (ids[1], "ann", "include", None, "")]


async def test_undo_steps_back_through_own_decisions(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test() as pilot:
        await pilot.press("i", "m")
        assert app.current_record_id == ids[2]
        await pilot.press("u")
        assert app.current_record_id == ids[1]
        await pilot.press("u")
        assert app.current_record_id == ids[0]
        assert "Screened 0 of 5" in str(app.screening.query_one("#status-counts").render())
        await pilot.press("u")  # nothing left to undo: stays
        assert app.current_record_id == ids[0]
        with open_review(review.folder) as fresh, fresh.transaction() as session:
            assert repo.current_decisions(session) == []
            assert [d.label for d in repo.decision_log(session)] == [
                Label.INCLUDE, Label.MAYBE, Label.UNDONE, Label.UNDONE]
        await pilot.press("e", "1")
        assert stored(review)[-1] == (ids[0], "ann", "exclude", "population", "")


async def test_search_title_and_abstract_then_decide(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("slash")
        assert isinstance(app.screen, BrowseScreen)
        await pilot.press(*"placebo", "enter")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == [str(ids[2])]
        await pilot.press("enter")
        assert app.current_record_id == ids[2]
        assert "your decision: not screened by you" in shown(app, "context")
        await pilot.press("e", "4")
        assert stored(review) == [(ids[2], "ann", "exclude", "design", "")]
        # Back to the queue: the record that was waiting is shown again.
        assert app.current_record_id == ids[0]


async def test_browse_filters_and_change_a_decision(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"dose?", "enter", "i", "m")
        await pilot.press("b")
        await settle(pilot)
        browse = app.screen
        assert isinstance(browse, BrowseScreen)
        assert browse.result is not None and browse.result.matching == 5
        for tab, expected in (("included", [ids[0]]), ("maybe", [ids[1]]),
                              ("notes", [ids[0]]), ("unscreened", ids[2:])):
            browse.query_one("Tabs").active = f"filter-{tab}"  # type: ignore[attr-defined]
            await settle(pilot)
            assert [r.record_id for r in browse.result.rows] == expected, tab
        browse.query_one("Tabs").active = "filter-included"  # type: ignore[attr-defined]
        await settle(pilot)
        table = browse.query_one(DataTable)
        assert str(table.get_row_at(0)[1]) == "include ✎"
        table.focus()
        await pilot.press("enter")
        assert app.current_record_id == ids[0]
        # the note is said once (it was also in "your decision: include, note: dose?")
        assert shown(app, "context") == ("your decision: include · "
                                         "note (kept with your next decision): dose?")
        await pilot.press("escape")  # only looking: back to the queue, nothing stored
        assert app.current_record_id != ids[0] and len(stored(review)) == 2
        await pilot.press("b")
        await settle(pilot)
        app.screen.query_one("Tabs").active = "filter-included"  # type: ignore[attr-defined]
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        table.focus()
        await pilot.press("enter")
        assert app.current_record_id == ids[0]
        await pilot.press("e", "3")
        log = stored(review)
        assert log[0] == (ids[0], "ann", "include", None, "dose?")
        assert log[-1] == (ids[0], "ann", "exclude", "outcome", "dose?")  # note kept
        assert len(log) == 3  # a new row; the first decision is kept
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        await pilot.press("escape")
        assert app.current_record_id == ids[2]


async def test_blind_dual_screening_hides_other_reviewers(review_factory: Any) -> None:
    review, ids = review_factory("dual-screening.yaml")
    record_decision(review, ids[0], "bob", Label.INCLUDE)
    app = ScreenerApp(review, "ann", ranker=FakeRanker(ids), background_delay=0)
    async with app.run_test(size=(100, 32)) as pilot:
        assert app.current_record_id == ids[0]  # bob's decision does not take it away
        assert "bob" not in shown(app, "context")
        await pilot.press("b")
        await settle(pilot)
        browse = app.screen
        assert isinstance(browse, BrowseScreen) and browse.result is not None
        table = browse.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()] == [
            "id", "your decision", "year", "first author", "title"]
        assert browse.result.rows[0].label is None and browse.result.rows[0].others == ""
        browse.query_one("Tabs").active = "filter-included"  # type: ignore[attr-defined]
        await settle(pilot)
        assert browse.result.matching == 0


async def test_open_review_shows_other_reviewers_in_browse(review_factory: Any) -> None:
    review, ids = review_factory("minimal.yaml")
    record_decision(review, ids[0], "bob", Label.INCLUDE)
    app = ScreenerApp(review, "ann", ranker=FakeRanker(ids), background_delay=0)
    async with app.run_test(size=(100, 32)) as pilot:
        assert app.current_record_id == ids[1]  # single screening: bob's record is done
        await pilot.press("b")
        await settle(pilot)
        browse = app.screen
        assert isinstance(browse, BrowseScreen) and browse.result is not None
        assert browse.result.rows[0].others == "bob: include"


async def test_counts_leave_out_records_other_reviewers_settled(review_factory: Any) -> None:
    review, ids = review_factory("minimal.yaml")
    record_decision(review, ids[0], "bob", Label.INCLUDE)
    record_decision(review, ids[1], "bob", Label.EXCLUDE, reason_id="design")
    app = ScreenerApp(review, "ann", ranker=FakeRanker(ids), background_delay=0)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        counts = str(app.screening.query_one("#status-counts").render())
        # single screening: bob's two records are not offered to ann, so "of 3", not "of 5"
        assert "Screened 0 of 3" in counts and "2 for other reviewers" in counts
        await pilot.press("i")
        await settle(pilot)
        assert "Screened 1 of 3" in str(app.screening.query_one("#status-counts").render())


async def test_undo_of_a_changed_decision_shows_the_earlier_one_again(
        make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"check dose", "enter", "i")  # ids[0]: include, with a note
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("enter")  # ids[0] from browse
        assert app.current_record_id == ids[0]
        await pilot.press("e", "1")  # changed to exclude
        await pilot.press("u")
        assert app.current_record_id == ids[0]
        context = shown(app, "context")
        assert "your decision: include" in context  # the include stands again
        assert "check dose" in context  # and the undone decision's note waits
        await settle(pilot)
        counts = str(app.screening.query_one("#status-counts").render())
        assert "Screened 1 of 5" in counts and "Includes 1" in counts
    assert stored(review)[-1][2] == "undone"


async def test_including_a_record_included_already_adds_no_row_and_undo_skips_it(
        make_app: MakeApp) -> None:
    """Pressing i on a record opened from browse that the reviewer had included (same
    label, note) stored a second include, where `decide` says nothing changed; and undo
    then withdrew that copy ('your earlier decision (include) stands again') instead of the
    reviewer's last real decision."""
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"check dose", "enter", "i", "m")  # ids[0] include, ids[1] maybe
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("enter")  # ids[0] from browse
        assert app.current_record_id == ids[0]
        await pilot.press("i")  # as it stands: include, the same note
        assert any(n.message == "already included; nothing changed"
                   for n in app._notifications), [n.message for n in app._notifications]
        assert app.current_record_id == ids[2]  # on to the queue, as after a decision
        assert len(stored(review)) == 2
        await settle(pilot)
        counts = str(app.screening.query_one("#status-counts").render())
        assert "Screened 2 of 5" in counts and "Includes 1" in counts
        await pilot.press("u")  # the last real decision: ids[1]'s maybe
        assert app.current_record_id == ids[1]
    log = stored(review)
    assert [(r[0], r[2]) for r in log] == [(ids[0], "include"), (ids[1], "maybe"),
                                           (ids[1], "undone")]


async def test_note_is_offered_again_after_its_decision_is_undone(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"ask author", "enter", "i", "u")
        assert app.current_record_id == ids[0]
        assert "note (with your next decision): ask author" in shown(app, "context")
        await pilot.press("m")
    assert stored(review)[-1] == (ids[0], "ann", "maybe", None, "ask author")


async def test_full_text_include_exclude_and_not_retrieved(review_factory: Any) -> None:
    review, ids = review_factory("minimal.yaml")
    for rid in ids[:4]:
        record_decision(review, rid, "ann", Label.INCLUDE)
    app = ScreenerApp(review, "ann", Stage.FULL_TEXT, ranker=FakeRanker(ids),
                      background_delay=0)
    async with app.run_test() as pilot:
        assert app.current_record_id == ids[0]
        assert "Full-text report" in str(app.screening.query_one("#card").border_title)
        assert app.sub_title == "ann · full-text"
        # no maybe, ranking or stopping rule at full text: the panel shows counts only
        await settle(pilot)
        assert "maybe" not in str(app.screening.query_one("#status-counts").render())
        assert not app.screening.query_one("#status-stopping").display
        assert not app.screening.query_one("#status-rank").display
        await pilot.press("e", "enter")  # a reason is always required at full text
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("1")
        await pilot.press("i")
        await pilot.press("r")
        await pilot.press("m")  # no maybe at full text
        assert app.current_record_id == ids[3]
        await pilot.press("e", "escape")
        assert app.current_record_id == ids[3]
        assert stored(review, Stage.FULL_TEXT) == [(ids[0], "ann", "exclude", "population", ""),
                                                   (ids[1], "ann", "include", None, "")]
        await settle(pilot)
        assert app.screening.progress is not None and app.screening.progress.total == 3
    with open_review(review.folder) as fresh, fresh.transaction() as session:
        assert repo.reports(session)[ids[2]] == ReportStatus.NOT_RETRIEVED
    # a slip of "r" is taken back with "u" (the mark was the last step)
    app = ScreenerApp(review, "ann", Stage.FULL_TEXT, ranker=FakeRanker(ids),
                      background_delay=0)
    async with app.run_test() as pilot:
        assert app.current_record_id == ids[3]
        await pilot.press("r")
        assert app.current_record_id is None  # nothing left
        await pilot.press("u")
        assert app.current_record_id == ids[3]
        await pilot.press("u")  # then the decisions, latest first
        assert app.current_record_id == ids[1]
    with open_review(review.folder) as fresh, fresh.transaction() as session:
        assert repo.reports(session)[ids[3]] == ReportStatus.SOUGHT
        assert repo.reports(session)[ids[2]] == ReportStatus.NOT_RETRIEVED  # an earlier session's
        # each mark and its undo is in the event log, with who and which record
        marks = [(e.kind, e.record_id, e.actor) for e, _ in repo.event_log(session)
                 if e.kind.startswith("report_")]
        assert marks == [("report_not_retrieved", ids[2], "ann"),
                         ("report_not_retrieved", ids[3], "ann"),
                         ("report_sought_again", ids[3], "ann")]
        assert repo.verify_events(session).ok


async def test_keys_remapped_in_protocol(make_app: MakeApp, tmp_path: Path) -> None:
    protocol = write_protocol(tmp_path / "p", keys={"include": "y", "exclude": "x"})
    app, review, ids, _ = make_app(protocol)
    async with app.run_test() as pilot:
        await pilot.press("i")  # no longer include
        assert stored(review) == []
        await pilot.press("y")
        await pilot.press("x", "1")
        assert stored(review) == [(ids[0], "ann", "include", None, ""),
                                  (ids[1], "ann", "exclude", "population", "")]


@pytest.mark.parametrize(("key", "press"), [
    ("f5", "f5"), ("ctrl+s", "ctrl+s"), ("space", "space"), ("M", "M"), ("slash", "slash")])
async def test_every_key_form_the_protocol_check_accepts_fires(
        make_app: MakeApp, tmp_path: Path, key: str, press: str) -> None:
    """The check now refuses key names no press can reach ('foo', 'esc', 'ctrl+i'); each
    form it accepts must reach its action."""
    keys = {"include": key} if key != "slash" else {"include": key, "search": "x"}
    protocol = write_protocol(tmp_path / "p", keys=keys)
    app, review, ids, _ = make_app(protocol)
    async with app.run_test() as pilot:
        await pilot.press(press)
        await settle(pilot)
        assert stored(review) == [(ids[0], "ann", "include", None, "")]


async def test_an_amendment_made_while_the_screen_is_open_is_shown_before_a_decision_counts(
        make_app: MakeApp, tmp_path: Path) -> None:
    """A helper amended the protocol in another shell while the UI was open: the UI kept
    the old reasons, terms and keys, yet stamped its decisions with the new version. Now
    the first decision after the amendment is refused (nothing saved) and the screen shows
    the version in force; the next one counts, under it (the periodic look is off here:
    this is the decision's own check; tests/tui/test_protocol_watch.py has the look)."""
    import yaml

    from screener.workflow.review import amend_protocol

    app, review, ids, _ = make_app(protocol_check_s=0)
    assert review.folder is not None
    data = yaml.safe_load((review.folder / "protocol.yaml").read_text(encoding="utf-8"))
    data["exclusion_reasons"].append({"id": "conference", "label": "Conference abstract",
                                      "key": "7"})
    data["highlight"] = {"include": ["ketamine"]}
    data["keys"] = {"include": "y"}
    amended = tmp_path / "amended.yaml"
    amended.write_text(yaml.safe_dump(data), encoding="utf-8")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        other = open_review(review.folder)  # another shell
        try:
            amend_protocol(other, amended, "conference abstracts are excluded")
        finally:
            other.close()
        panel = str(app.screening.query_one("#criteria", Static).content)
        assert "Conference abstract" not in panel  # nothing has read the amendment yet
        await pilot.press("i")
        await settle(pilot)
        assert stored(review) == []
        assert any(n.title == "Not saved" and "amended" in n.message
                   for n in app._notifications)
        assert any(n.title == "Protocol amended" for n in app._notifications)
        panel = str(app.screening.query_one("#criteria", Static).content)
        assert "[7] Conference abstract (conference)" in panel
        assert app.screening.query_one(RecordCard).protocol.highlight.include == ("ketamine",)
        await pilot.press("e", "7")
        await settle(pilot)
        await pilot.press("y")  # the amended protocol's include key
        await settle(pilot)
        assert stored(review) == [(ids[0], "ann", "exclude", "conference", ""),
                                  (ids[1], "ann", "include", None, "")]
        with review.read() as session:
            hashes = {d.protocol_hash for d in repo.current_decisions(session, Stage.TITLE_ABSTRACT)}
        assert hashes == {review.protocol_hash} and review.protocol_version == 2
        # the reason dialog checks first: a reason added meanwhile is offered at once
        data["exclusion_reasons"].append({"id": "animal", "label": "Animal study", "key": "8"})
        amended.write_text(yaml.safe_dump(data), encoding="utf-8")
        other = open_review(review.folder)
        try:
            amend_protocol(other, amended, "animal studies are excluded")
        finally:
            other.close()
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("8")
        await settle(pilot)
        assert len(stored(review)) == 3 and stored(review)[-1][2:4] == ("exclude", "animal")


async def test_an_amendment_of_the_stopping_rule_recomputes_the_panel_at_once(
        make_app: MakeApp, tmp_path: Path) -> None:
    """The UI took up an amendment that raised the recall target (toast "Protocol amended")
    yet kept "✓ Stopping rule met" in the panel, figures of the old rule, until the next
    decision, while `status` said not met. The figures are recomputed under the new version
    as soon as the screen follows it."""
    import yaml

    from screener.workflow.progress import Progress, StoppingItem
    from screener.workflow.review import amend_protocol

    def met_below_99(review: Any, reviewer: str, stage: Stage) -> Progress:
        """Met while the recall target is under 0.99 (as the amendment makes it)."""
        met = review.protocol.stopping.recall_target < 0.99
        return Progress(reviewer, stage, 0, 5, 0, 0, 0, (), p_value=0.04 if met else 0.5,
                        checklist=(StoppingItem("screened fraction", "1", True),),
                        stop_by_test=met)

    app, review, _, _ = make_app(progress_fn=met_below_99, protocol_check_s=0)
    assert review.folder is not None
    data = yaml.safe_load((review.folder / "protocol.yaml").read_text(encoding="utf-8"))
    data["stopping"] = {**data.get("stopping", {}), "recall_target": 0.99}
    amended = tmp_path / "amended.yaml"
    amended.write_text(yaml.safe_dump(data), encoding="utf-8")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.screening.query_one("#status-stopping", Static)
        assert "✓ Stopping rule met" in str(panel.render())
        other = open_review(review.folder)  # another shell
        try:
            amend_protocol(other, amended, "stricter")
        finally:
            other.close()
        await pilot.press("i")  # refused: the screen follows version 2
        await settle(pilot)
        assert any(n.title == "Protocol amended" for n in app._notifications)
        assert stored(review) == []
        assert "Stopping rule met" not in str(panel.render()).replace("not met", "")
        assert "p-value 0.500" in str(panel.render())


async def test_keys_remapped_in_user_file_win_over_protocol(make_app: MakeApp, tmp_path: Path,
                                                            monkeypatch: Any) -> None:
    config = tmp_path / "config"
    (config / "screener").mkdir(parents=True)
    (config / "screener" / "keys.yaml").write_text('include: "j"\nmaybe: k  # mine\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    protocol = write_protocol(tmp_path / "p", keys={"include": "y"})
    app, review, ids, _ = make_app(protocol)
    async with app.run_test() as pilot:
        await pilot.press("y", "i")
        assert stored(review) == []
        await pilot.press("j", "k")
        assert stored(review) == [(ids[0], "ann", "include", None, ""),
                                  (ids[1], "ann", "maybe", None, "")]


async def test_a_remapped_key_keeps_its_place_in_the_footer(make_app: MakeApp,
                                                             tmp_path: Path) -> None:
    """Include stays the first key of the footer, shown with the protocol's key."""
    from textual.widgets._footer import FooterKey

    protocol = write_protocol(tmp_path / "p", keys={"include": "y"})
    app, review, ids, _ = make_app(protocol)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        keys = [(k.description, k.key_display) for k in app.screening.query(FooterKey)]
        assert keys[:3] == [("Include", "y"), ("Exclude", "e"), ("Maybe", "m")], keys
        await pilot.press("y")
        assert stored(review) == [(ids[0], "ann", "include", None, "")]


async def test_clashing_user_key_is_refused_with_a_notification(make_app: MakeApp, tmp_path: Path,
                                                                monkeypatch: Any) -> None:
    config = tmp_path / "config"
    (config / "screener").mkdir(parents=True)
    (config / "screener" / "keys.yaml").write_text("include: e\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    app, review, ids, _ = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert any("also the key for exclude" in n.message for n in app._notifications)
        await pilot.press("i")
        assert stored(review) == [(ids[0], "ann", "include", None, "")]


async def test_mouse_buttons(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.click("#btn-include")
        await pilot.click("#btn-maybe")
        await pilot.click("#btn-exclude")
        await pilot.press("enter")
        await pilot.click("#btn-undo")
        assert app.current_record_id == ids[2]
        assert [r[2] for r in stored(review)] == ["include", "maybe", "exclude", "undone"]


async def test_ranker_errors_are_notified_not_fatal(make_app: MakeApp) -> None:
    app, review, ids, ranker = make_app()
    ranker.error = RuntimeError("model exploded")
    async with app.run_test() as pilot:
        await pilot.press("i")
        await settle(pilot)
        assert any("model exploded" in n.message for n in app._notifications)
        await pilot.press("i")
        await settle(pilot)
        assert app.current_record_id == ids[2] and ranker.calls == 2


async def test_a_database_problem_is_notified_by_its_message_alone(make_app: MakeApp) -> None:
    """The notices read "Progress unavailable: StorageError: database error on ...": the
    class name is noise to a reviewer for a problem the message explains. A bug still
    names its kind (RuntimeError above)."""
    from screener.storage import StorageError

    said = "the disk holding review.db is full: Free some space and try again"

    def failing(*_args: object) -> object:
        raise StorageError(said)

    app, _, _, ranker = make_app(progress_fn=failing, progress_delay=0)
    ranker.error = StorageError(said)
    async with app.run_test() as pilot:
        await pilot.press("i")
        await settle(pilot)
        shown = {n.title: n.message for n in app._notifications}
        assert shown.get("Progress unavailable") == said, shown
        assert shown.get("Re-ranking failed") == said, shown


async def test_a_reviewer_the_allocation_leaves_out_is_told_why_nothing_is_left(
        make_app: MakeApp) -> None:
    """The allocation in force gives every record to ann and bob: dave, joining in a
    leaver's place, saw 'Nothing left for you to screen', as when screening is over. The
    screen now says the allocation gives him no records and that allocating again naming
    him lets him screen them."""
    from screener.workflow.team import allocate

    app, review, ids, _ = make_app("dual-screening.yaml", reviewer="dave")
    allocate(review, ["ann", "bob"], 1.0, seed=1, new_reviewers=True)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.current_record_id is None
        text = " ".join(shown(app).split())
        assert (f"Nothing left for you: the allocation in force at title_abstract gives you "
                f"no records; {len(ids)} records it gives others wait for screeners (if one "
                "has left, `screener allocate` again naming you in their place)") in text, text
        await pilot.press("q")


async def test_missing_ranking_library_disables_reranking(make_app: MakeApp) -> None:
    app, review, ids, ranker = make_app()
    ranker.error = ImportError("No module named 'screener.ranking.stopping'")
    async with app.run_test() as pilot:
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert ranker.calls == 1
        assert sum("not available" in n.message for n in app._notifications) == 1


async def test_nothing_left_help_theme_and_quit(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app()
    async with app.run_test() as pilot:
        await pilot.press(*"iiiii")
        assert app.current_record_id is None
        assert "Nothing left for you to screen" in shown(app)
        await pilot.press("i")  # nothing to decide on: no crash, nothing stored
        assert len(stored(review)) == 5
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)
        assert app.theme == "textual-dark"
        await pilot.press("t")
        assert app.theme == "textual-light"
        await pilot.press("q")
    assert app.return_code == 0


async def test_quick_decisions_start_one_reranking(make_app: MakeApp) -> None:
    # The delay is long so that three presses fit in it even on a loaded machine.
    app, review, ids, ranker = make_app(background_delay=4.0)
    async with app.run_test() as pilot:
        await pilot.press("i", "m", "i")
        assert ranker.calls == 0 and len(stored(review)) == 3  # stored at once, ranked later
        await pilot.pause(4.3)
        await settle(pilot)
        assert ranker.calls == 1 and app.rankings_applied == 1
        assert app.screening.progress is not None and app.screening.progress.screened == 3


async def test_full_garbage_collection_waits_for_the_reviewer_to_pause(make_app: MakeApp) -> None:
    """A full collection (100-200 ms in a big process) never runs between a decision and
    the next record: only once the reviewer pauses."""
    import gc

    app, review, ids, _ = make_app(gc_idle_seconds=1.0)
    full: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    tuned = gc.get_threshold()  # (tests/conftest.py's, for the suite)
    gc.set_threshold(700, 10, 10)  # Python's defaults, a reviewer's process
    try:
        async with app.run_test() as pilot:
            await pilot.pause()
            assert app.idle_gc.active
            gc.callbacks.append(watch)
            try:
                await pilot.press("m")
                # Enough new objects for several automatic full collections.
                garbage = [[i] for i in range(300_000)]
                del garbage
                assert full == [] and app.idle_gc.collections == 0
                assert stored(review) == [(ids[0], "ann", "maybe", None, "")]
                await pilot.pause(1.5)  # the reviewer reads
                assert full and app.idle_gc.collections == 1
            finally:
                gc.callbacks.remove(watch)
        assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0  # as before
    finally:
        gc.set_threshold(*tuned)


def test_the_screening_ui_started_from_the_command_line_collects_when_the_reviewer_pauses(
        review_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`screener screen` (run_app) starts the idle collector; the tests' apps leave
    collections to Python unless they ask for it, as the one above does."""
    from screener.tui.app import run_app
    from screener.tui.idle_gc import GC_IDLE_S

    review, _ = review_factory()
    started: list[float | None] = []
    monkeypatch.setattr(ScreenerApp, "run", lambda app: started.append(app.gc_idle_seconds))
    assert run_app(review, "ann") == 0
    assert started == [GC_IDLE_S]


def test_an_overdue_collection_waits_for_the_next_frame() -> None:
    """Without a pause, every max_decisions-th decision hands the full collection to
    `after_frame` (run once the next record is on screen), never runs it in the handler."""
    import gc

    from screener.tui.idle_gc import IdleCollector

    class Timer:
        def stop(self) -> None:
            pass

    later: list[Any] = []
    collector = IdleCollector(lambda seconds, callback: Timer(), idle_seconds=60,
                              max_decisions=3, after_frame=later.append)
    saved = gc.get_threshold()
    collector.start()
    try:
        for _ in range(5):
            collector.activity()
        assert collector.collections == 0 and len(later) == 1  # after the 3rd decision
        later.pop()()
        assert collector.collections == 1
    finally:
        collector.stop()
    assert gc.get_threshold() == saved and gc.get_freeze_count() == 0


async def test_keys_arriving_in_one_burst_reach_the_dialog_they_open(make_app: MakeApp) -> None:
    # over SSH a fast "e 3" (exclude, reason 3) or "n" + text often arrives in one read:
    # the keys after the one that opens a dialog must reach that dialog, not be dropped
    from textual import events

    app, review, ids, _ = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        first = app.current_record_id
        for key in ("e", "3"):
            app.post_message(events.Key(key, key))
        await settle(pilot)
        assert stored(review)[-1] == (first, "ann", "exclude", "outcome", "")
        second = app.current_record_id
        assert second != first
        for key, char in (("n", "n"), ("o", "o"), ("k", "k"), ("enter", None)):
            app.post_message(events.Key(key, char))
        await settle(pilot)
        assert not isinstance(app.screen, NoteScreen)
        await pilot.press("i")
        assert stored(review)[-1] == (second, "ann", "include", None, "ok")
        # "/" and the search text typed straight after it
        for key in ("slash", *"placebo", "enter"):
            app.post_message(events.Key(key, "/" if key == "slash" else
                                        None if key == "enter" else key))
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        table = app.screen.query_one(DataTable)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == [str(ids[2])]


async def test_keys_replayed_after_the_last_screen_closed_are_dropped() -> None:
    # CI: a key held in the gate was replayed while the app was closing, and the replay
    # asked for the screen on top of an empty stack: ScreenStackError in the test's teardown
    from textual import events

    from screener.tui.dialogs import GatedKeysApp, ReplayKeys

    app = GatedKeysApp()
    assert app.screen_stack == []
    app.key_gate.keep(events.Key("i", "i"))
    await app.on_replay_keys(ReplayKeys())
    assert app.key_gate.keys == []  # taken from the gate, given to no screen


async def test_narrow_terminal_keeps_the_card_full_width(make_app: MakeApp) -> None:
    app, _, _, _ = make_app("ketamine-depression.yaml")
    async with app.run_test(size=(60, 24)) as pilot:
        await settle(pilot)
        card_region = card(app).region
        side = app.screening.query_one("#side").region
        assert card_region.width >= 56  # the whole width, less the card's border
        assert side.y >= card_region.bottom and side.height > 0  # the panel is below it
        assert "Screened 0 of 5" in str(app.screening.query_one("#status-counts").render())
        await pilot.resize_terminal(100, 32)
        await pilot.pause()
        assert app.screening.query_one("#side").region.x > card(app).region.x  # beside it


async def test_keys_arriving_in_one_burst_after_a_dialog_closes_reach_the_queue(
        make_app: MakeApp) -> None:
    # "n ok Enter i" or "e 3 i" typed fast: the key after the one that closes the dialog
    # must decide the record, not go into the closing dialog
    from textual import events

    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        for key, char in (("n", "n"), ("o", "o"), ("k", "k"), ("enter", None), ("i", "i")):
            app.post_message(events.Key(key, char))
        await settle(pilot)
        assert stored(review) == [(ids[0], "ann", "include", None, "ok")]
        for key in ("e", "3", "m"):
            app.post_message(events.Key(key, key))
        await settle(pilot)
        assert stored(review)[1:] == [(ids[1], "ann", "exclude", "outcome", ""),
                                      (ids[2], "ann", "maybe", None, "")]
        assert app.current_record_id == ids[3]


@pytest.mark.parametrize("gap_s", [0, 0.005, 0.02, 0.1])
async def test_every_decision_typed_fast_is_stored_in_order(make_app: MakeApp,
                                                           gap_s: float) -> None:
    """A reviewer typing "e 3 e 3 m n ok Enter e 3 i" faster than the dialogs open and
    close: each key reaches the record and dialog it was typed for (an exclusion was lost
    when the next "e" overtook the "3" of the one before, one time in five at 0.15 s)."""
    await type_fast_and_check(make_app, gap_s)


async def test_keys_typed_fast_are_all_waited_for_on_a_starved_machine(
        make_app: MakeApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """`settle` waits until the keys above have been acted on, also when `pilot.pause`
    returns at once: it waits for the process to look idle by its CPU time, as a process
    starved of CPU (pytest -n 2 on a loaded machine) does at once; the test above failed
    so once, with the decisions after the first not yet stored."""
    import asyncio

    import textual.pilot

    async def looks_idle_at_once(min_sleep: float = 0, max_sleep: float = 1) -> None:
        await asyncio.sleep(0)

    monkeypatch.setattr(textual.pilot, "wait_for_idle", looks_idle_at_once)
    await type_fast_and_check(make_app, 0)


async def type_fast_and_check(make_app: MakeApp, gap_s: float) -> None:
    import asyncio

    from textual import events

    app, review, ids, _ = make_app(reverse=False)
    keys = [("e", "e"), ("3", "3"), ("e", "e"), ("3", "3"), ("m", "m"), ("n", "n"),
            ("o", "o"), ("k", "k"), ("enter", None), ("e", "e"), ("3", "3"), ("i", "i")]
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        for key, char in keys:
            app.post_message(events.Key(key, char))
            await asyncio.sleep(gap_s)
        await settle(pilot)
        assert stored(review) == [(ids[0], "ann", "exclude", "outcome", ""),
                                  (ids[1], "ann", "exclude", "outcome", ""),
                                  (ids[2], "ann", "maybe", None, ""),
                                  (ids[3], "ann", "exclude", "outcome", "ok"),
                                  (ids[4], "ann", "include", None, "")]
        assert app.screen is app.screening


async def test_a_changed_decision_keeps_its_note(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"dose?", "enter", "i")
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("enter")  # ids[0] again, from browse
        assert "note (kept with your next decision): dose?" in shown(app, "context")
        await pilot.press("m")
    assert stored(review)[-1] == (ids[0], "ann", "maybe", None, "dose?")


async def test_a_note_brought_back_by_undo_waits_while_the_reviewer_moves_on(
        make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("n", *"keep", "enter", "i", "i", "u", "u")
        assert app.current_record_id == ids[0]
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # another record, from browse
        assert app.current_record_id == ids[2]
        await pilot.press("i")  # decided; the queue shows ids[0] again
        assert app.current_record_id == ids[0]
        assert "note (with your next decision): keep" in shown(app, "context")
        await pilot.press("e", "1")
    assert stored(review)[-1] == (ids[0], "ann", "exclude", "population", "keep")


async def test_a_record_decided_in_another_window_is_not_decided_again(
        make_app: MakeApp) -> None:
    from screener.workflow.screening import ScreeningSession

    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        assert app.current_record_id == ids[0]
        other = ScreeningSession(review, "ann")  # the same reviewer in a second terminal
        item = other.next()
        assert item is not None and item.record.id == ids[0]
        other.decide(ids[0], Label.INCLUDE)
        await pilot.press("e", "1")  # in this window, on the same record
        await settle(pilot)
        assert stored(review) == [(ids[0], "ann", "include", None, "")]  # not overwritten
        assert app.current_record_id == ids[1]  # moved on to the next record


def test_rank_line_says_what_put_the_record_there() -> None:
    from screener.tui.widgets import rank_line

    assert rank_line(3, 1.23456, "model") == "Rank 3 · model 1.235"
    assert rank_line(3, 0.1, "protocol") == "Rank 3 · match 0.100"
    assert rank_line(1, None, "model") == "Rank 1 · not scored"  # left out by the ranking
    assert rank_line(None, None, "undo") == "Back by undo (not ranked)"
    assert rank_line(1, 0.0, "random") == "Rank 1 · random order"
    assert rank_line(None, None, "") == "Import order (not ranked)"
    assert rank_line(None, None, "model", revisit=True) == "Revisited (not in queue)"
    assert rank_line(None, None, "model", revisit=True, queued=True) == "From browse (in queue)"


async def test_a_record_opened_from_browse_is_marked_as_revisited(make_app: MakeApp) -> None:
    app, _, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("i", "b")
        await settle(pilot)
        await pilot.press("enter")
        assert app.current_record_id == ids[0]
        assert str(app.screening.query_one("#status-rank").render()) == "Revisited (not in queue)"
        await pilot.press("escape")
        assert str(app.screening.query_one("#status-rank").render()) != "Revisited (not in queue)"


async def test_footer_offers_esc_back_only_where_esc_goes_back_to_the_queue(
        make_app: MakeApp) -> None:
    from textual.widgets._footer import FooterKey

    app, _, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)

        def offered() -> dict[str, str]:
            return {k.description: k.key_display for k in app.screening.query(FooterKey)
                    if k.display}

        assert "Back" not in offered()           # a queue record: Esc does nothing
        await pilot.press("i", "b")
        await settle(pilot)
        await pilot.press("enter")               # opened from browse
        await pilot.pause()
        assert app.current_record_id == ids[0] and offered().get("Back") == "esc"
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_record_id != ids[0] and "Back" not in offered()
        await pilot.press("u")                   # undo brings the record back
        await settle(pilot)
        assert app.current_record_id == ids[0] and offered().get("Back") == "esc"
        for width in (66, 80, 90):  # the extra key costs no other key its place (at 66 it
            await pilot.resize_terminal(width, 24)  # gives way itself: it is in the help)
            await pilot.pause()
            keys = list(app.screening.query(FooterKey))
            cut = [k.description for k in keys if k.display
                   and (not k.region.width or k.region.right > width)]
            assert cut == [], (width, cut)
            assert ("Back" in offered()) == (width >= 80)


async def test_footer_shows_every_key_down_to_66_columns(make_app: MakeApp) -> None:
    from textual.widgets._footer import FooterKey

    app, _, _, _ = make_app("ketamine-depression.yaml")
    async with app.run_test(size=(66, 24)) as pilot:
        await settle(pilot)
        keys = list(app.screening.query(FooterKey))
        shown = [k.description for k in keys if k.region.right <= 66 and k.region.width]
        assert {"Include", "Exclude", "Maybe", "Help", "Quit"} <= set(shown), shown
        await pilot.resize_terminal(120, 32)
        await pilot.pause()
        assert not app.screening.query_one("FitFooter").compact  # roomy again when wide


async def test_every_decision_button_is_whole_beside_the_side_panel(review_factory: Any) -> None:
    """From 72 columns the side panel sits beside the record and leaves the buttons 40 to 48
    columns under 81 (full text: 55 under 87): they were cut ("↶ Und" at 79, no Undo at
    72). Each button's whole label is on screen, inside the bar."""
    from textual.widgets import Button

    review, ids = review_factory("minimal.yaml")
    for rid in ids[:3]:
        record_decision(review, rid, "ann", Label.INCLUDE)
    for stage, middle in ((Stage.TITLE_ABSTRACT, "◐ Maybe"), (Stage.FULL_TEXT, "Not retrieved")):
        app = ScreenerApp(review, "ann", stage, ranker=FakeRanker(ids), background_delay=0)
        async with app.run_test(size=(79, 24)) as pilot:
            for width in (79, 72, 76, 100):
                await pilot.resize_terminal(width, 24)
                await pilot.pause()
                bar = app.screening.query_one("#decisions").region
                assert app.screening.query_one("#side").region.x >= bar.right  # beside it
                buttons = list(app.screening.query(Button))
                labels = [b.render_line(0).text.strip() for b in buttons]
                assert labels[2:] == [middle, "Note", "↶ Undo"], (stage, width, labels)
                assert labels[0].startswith("✓ Incl") and labels[1].startswith("✗ Excl")
                for button in buttons:
                    assert button.region.x >= bar.x and button.region.right <= bar.right, (
                        stage, width, str(button.label), button.region, bar)


def screen_text(app: ScreenerApp, region: Any) -> str:
    """The words on screen inside `region` (what a reviewer reads there), on one line."""
    rows = ["".join(segment.text for segment in row) for row in drawn_rows(app)]
    return " ".join(" ".join(row[region.x:region.right] for row in
                             rows[region.y:region.bottom]).split())


MANY_REASONS = [{"id": f"r{n}", "label": f"Reason number {n}", "key": key}
                for n, key in enumerate("123456789abc", 1)]


@pytest.mark.parametrize("size, reasons", [((60, 24), None), ((60, 18), None),
                                           ((60, 20), MANY_REASONS)])
async def test_reason_dialog_hint_wraps_in_a_narrow_terminal(
        make_app: MakeApp, tmp_path: Path, size: tuple[int, int],
        reasons: list[dict[str, str]] | None) -> None:
    # at 60x18, or with twelve reasons at 60x20, the list took the rows of the hint below
    # it: "Esc cancels" (or the whole hint) was not on screen
    protocol = (write_protocol(tmp_path / "p", exclusion_reasons=reasons) if reasons
                else "ketamine-depression.yaml")
    app, _, _, _ = make_app(protocol)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.screening.shown_at -= 31  # read long enough
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ReasonScreen)
        dialog = app.screen
        options = dialog.query_one(OptionList)
        for step in range(options.option_count + 1):
            if step:
                await pilot.press("down")  # each reason highlighted in turn: a longer hint
                await pilot.pause()
            on_screen = screen_text(app, dialog.query_one(".dialog").content_region)
            hint = str(dialog.query_one(".dialog-hint", Static).content)
            # the whole hint is on screen, wrapped onto more lines inside the dialog
            assert " ".join(hint.split()) in on_screen, (step, hint)
            assert "Esc cancels" in hint
            if options.highlighted is not None:  # and so is the reason it names
                label = dialog.reasons[options.highlighted].label
                assert f"[{dialog.reasons[options.highlighted].key}] {label}" in on_screen


@pytest.mark.parametrize("size", [(60, 20), (60, 24), (100, 32), (120, 40)])
async def test_messages_leave_the_record_readable(make_app: MakeApp,
                                                  size: tuple[int, int]) -> None:
    # at 60x20 two or three messages (undo, "nothing to undo") stacked up over the right
    # half of the record card, over its title and authors
    from textual.widgets._toast import Toast

    app, _, _, _ = make_app()
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(pilot)
        app.screening.shown_at -= 31  # read long enough
        await pilot.press("i", "u", "u", "u")
        await settle(pilot)
        visible = app.screen._compositor.visible_widgets  # (region, clip) of those shown
        shown_toasts = [(str(t.render()), visible[t][0].intersection(visible[t][1]))
                        for t in app.screen.query(Toast) if t in visible]
        assert shown_toasts and "Nothing to undo" in shown_toasts[-1][0]  # the newest shows
        record = card(app).region
        for text, region in shown_toasts:
            assert not region.overlaps(record), (text, region, record)


@pytest.mark.parametrize("size", [(60, 16), (60, 20), (80, 24), (120, 40)])
async def test_messages_leave_the_record_readable_with_the_side_panel_hidden(
        make_app: MakeApp, tmp_path: Path, size: tuple[int, int]) -> None:
    # messages sit over the side panel; with it hidden (p) they covered the right of the
    # record's last rows, the abstract being read, in a short pane its title too
    from textual.widgets._toast import Toast

    app, _, _, _ = make_app(settings_file=tmp_path / "ui.json")
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("p")
        app.screening.shown_at -= 31  # read long enough
        await pilot.press("i", "u", "u", "u")
        await settle(pilot)
        assert not app.screen.query_one("#side").display
        visible = app.screen._compositor.visible_widgets  # (region, clip) of those shown
        shown_toasts = [(str(t.render()), t.region, visible[t][0].intersection(visible[t][1]))
                        for t in app.screen.query(Toast) if t in visible]
        assert shown_toasts and "Nothing to undo" in shown_toasts[-1][0]  # the newest shows
        assert shown_toasts[-1][2] == shown_toasts[-1][1]  # whole, not cut
        text = card(app).content_region  # the title and abstract
        for message, _, region in shown_toasts:
            assert not region.overlaps(text), (message, region, text)


async def test_a_toast_naming_a_path_escapes_the_bytes_that_are_not_utf8(
        make_app: MakeApp, tmp_path: Path) -> None:
    """A settings file in a folder whose name is not UTF-8 (Latin-1 'résumé') that cannot
    be written: the toast named it with Python's stand-ins for the bytes (shown as
    replacement characters, or not at all), where the command line shows 'r\\xe9sum\\xe9'."""
    import os

    bad = os.fsdecode(b"r\xe9sum\xe9")
    (tmp_path / "file").write_text("")  # a file where the folder would go: cannot write
    app, _, _, _ = make_app(settings_file=tmp_path / "file" / bad / "ui.json")
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        (message,) = [n.message for n in app._notifications if "theme" in n.message]
        assert f"{tmp_path}/file/r\\xe9sum\\xe9/ui.json" in message, message
        assert bad not in message


async def test_p_hides_the_side_panel_for_a_small_terminal_and_it_stays_hidden(
        make_app: MakeApp, tmp_path: Path) -> None:
    settings = tmp_path / "ui.json"
    app, review, _, _ = make_app(settings_file=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        card, side = app.screen.query_one("#card"), app.screen.query_one("#side")
        narrow = card.size.width
        assert side.display and side.region.width == 30
        await pilot.press("p")
        await pilot.pause()
        assert not side.display and side.region.width == 0
        assert card.size.width == narrow + 30  # the record has the panel's width now
        assert card.border_subtitle == ("Screened 0 of 5 · includes 0 · stopping rule not "
                                        "met")  # the essentials
        await pilot.press("i")
        await pilot.pause(0.5)
        assert app.screen.query_one("#card").border_subtitle == (
            "Screened 1 of 5 · includes 1 · stopping rule not met")
        # the verdict, met or not (it said "stopping rule met" or nothing at all)
        app.screening.progress = _all_ticked(p_value=0.361, stop_level=0.05)
        app.screening.show_status()
        assert card.border_subtitle == "Screened 55 of 60 · includes 2 · stopping rule not met"
        app.screening.progress = _all_ticked(stop_by_test=True, stop_level=0.05)
        app.screening.show_status()
        assert card.border_subtitle == "Screened 55 of 60 · includes 2 · stopping rule met"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)  # help lists the key
        assert "p  Side panel" in str(app.screen.query_one("#help-keys").render())
        assert "↑ ↓  Scroll the record (PgUp, PgDn, Home, End too)" in str(
            app.screen.query_one("#help-keys").render())
    assert json.loads(settings.read_text(encoding="utf-8")) == {"side_panel": False}
    again = ScreenerApp(review, "ann", ranker=FakeRanker([]), settings_file=settings)
    async with again.run_test(size=(80, 24)) as pilot:
        assert not again.screen.query_one("#side").display  # the reviewer's last choice
        await pilot.press("p")
        await pilot.pause()
        assert again.screen.query_one("#side").display
        assert not again.screen.query_one("#card").border_subtitle
    assert json.loads(settings.read_text(encoding="utf-8")) == {"side_panel": True}


async def test_theme_chosen_with_t_is_kept_for_the_next_session(
        make_app: MakeApp, tmp_path: Path) -> None:
    settings = tmp_path / "ui.json"
    app, review, _, _ = make_app(settings_file=settings)
    async with app.run_test() as pilot:
        assert app.theme == "textual-dark"
        await pilot.press("t")
        assert app.theme == "textual-light"
    again = ScreenerApp(review, "ann", ranker=FakeRanker([]), settings_file=settings)
    async with again.run_test():
        assert again.theme == "textual-light"  # the reviewer's last choice
    chosen = ScreenerApp(review, "ann", ranker=FakeRanker([]), settings_file=settings,
                         theme="dark")
    async with chosen.run_test():
        assert chosen.theme == "textual-dark"  # an explicit --theme wins
    settings.write_text("{not json", encoding="utf-8")
    damaged = ScreenerApp(review, "ann", ranker=FakeRanker([]), settings_file=settings)
    async with damaged.run_test() as pilot:
        assert damaged.theme == "textual-dark"  # a damaged file is ignored, not fatal
        await pilot.press("t")
    assert json.loads(settings.read_text(encoding="utf-8")) == {"theme": "light"}


async def test_theme_that_cannot_be_saved_still_switches_and_warns(
        make_app: MakeApp, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    app, _, _, _ = make_app(settings_file=blocker / "ui.json")  # its folder is a file
    async with app.run_test() as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert app.theme == "textual-light"
        assert any("theme not saved" in str(n.message) for n in app._notifications)


async def test_the_safe_irrelevant_run_follows_each_decision_at_once(make_app: MakeApp) -> None:
    # the panel's run updates in place; the SAFE line's run must not lag behind it until
    # the statistics worker returns
    from screener.workflow.progress import progress

    app, _, _, _ = make_app(reverse=False, progress_fn=progress, progress_delay=0)
    async with app.run_test() as pilot:
        await pilot.press("i")
        await settle(pilot)  # the worker's progress, with the SAFE items
        app.progress_delay = app.background_delay = 1000  # only the in-place update runs
        await pilot.press("e", "enter", "e", "enter")
        await pilot.pause()
        p = app.screening.progress
        assert p is not None and p.consecutive_irrelevant == 2
        (item,) = [i for i in p.checklist if i.name == "consecutive irrelevant"]
        assert item.value.startswith("2 of") and not item.passed


async def test_the_panel_says_its_statistics_are_from_before_the_latest_decisions(
        make_app: MakeApp) -> None:
    """During fast screening the stopping figures wait for a pause; until then the panel
    says which count they were computed at, not passing them off as current."""
    from screener.workflow.progress import progress

    app, _, _, _ = make_app(reverse=False, progress_fn=progress, progress_delay=0)
    async with app.run_test() as pilot:
        await pilot.press("i")
        await settle(pilot)
        stopping = app.screening.query_one("#status-stopping")
        assert "as of" not in str(stopping.render())  # just computed
        app.progress_delay = app.background_delay = 1000  # the statistics wait for a pause
        await pilot.press("e", "enter", "e", "enter")
        await pilot.pause()
        assert "(as of 1 screened)" in str(stopping.render())
        app.screening.refresh_progress()
        await settle(pilot)
        assert "as of" not in str(stopping.render())


async def test_a_decision_key_right_after_a_record_appears_is_not_taken(
        make_app: MakeApp) -> None:
    """A key held down (auto-repeat) or bounced decided records nobody had read: "ii"
    stored two includes 0.1 s apart. A decision key within `min_view_s` of the record
    appearing is refused, with a word why, and the same key later decides."""
    app, review, ids, _ = make_app(reverse=False, min_view_s=30)
    async with app.run_test() as pilot:
        app.screening.shown_at -= 31  # the first record has been read
        await pilot.press("i", "i", "m", "e")  # a bounce, then keys on the unread record
        await pilot.pause()
        assert stored(review) == [(ids[0], "ann", "include", None, "")]
        assert app.current_record_id == ids[1] and app.screen is app.screening  # no dialog
        warned = [str(n.message) for n in app._notifications
                  if "on screen for only" in str(n.message)]
        assert len(warned) == 1 and f"record {ids[1]}" in warned[0]  # said once, not per key
        app.screening.shown_at -= 31  # read now
        await pilot.press("m")
        assert stored(review)[-1] == (ids[1], "ann", "maybe", None, "")
        await pilot.press("u", "i")  # undo brings back a record already read: no wait
        await pilot.pause()
        assert stored(review)[-1] == (ids[1], "ann", "include", None, "")


async def test_browse_keeps_the_title_on_screen_in_a_narrow_terminal(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app()  # single screening: the others' column is shown too
    record_decision(review, ids[0], "ann", Label.EXCLUDE, reason_id="intervention",
                    note="adults only")  # a long decision cell: "exclude (Wrong intervention) ✎"
    record_decision(review, ids[1], "bob", Label.EXCLUDE, reason_id="intervention")
    async with app.run_test(size=(66, 24)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        table = app.screen.query_one(DataTable)
        keys = [c.key.value for c in table.ordered_columns]
        left = sum(c.get_render_width(table)
                   for c in table.ordered_columns[:keys.index("title")])
        assert left + 10 < 66, left  # at least ten columns of the title are on screen


async def test_quitting_gives_up_the_record_on_screen(review_factory: Any) -> None:
    """A reviewer who quits no longer holds the record shown: another reviewer is offered it
    at once (it was held for 20 minutes, and `next` said nothing was left)."""
    from datetime import UTC, datetime, timedelta

    review, ids = review_factory("minimal.yaml")
    app = ScreenerApp(review, "ann", ranker=FakeRanker(ids), background_delay=0)
    since = datetime.now(UTC) - timedelta(hours=1)
    async with app.run_test() as pilot:
        assert app.current_record_id == ids[0]
        with review.read() as session:
            assert (ids[0], "ann") in repo.active_claims(session, Stage.TITLE_ABSTRACT, since)
        await pilot.press("q")
    with review.read() as session:
        assert repo.active_claims(session, Stage.TITLE_ABSTRACT, since) == []


def _all_ticked(**changes: Any) -> Any:
    """A reviewer's Progress with every SAFE item ticked (p 0.01, the test not passed)."""
    from screener.workflow.progress import Progress, StoppingItem

    items = tuple(StoppingItem(name, "1 of ≥ 1", True) for name in (
        "screened fraction", "2x relevant", "irrelevant run", "key papers"))
    return replace(Progress(reviewer="ann", stage=Stage.TITLE_ABSTRACT, screened=55,
                            total=60, includes=2, maybes=0, consecutive_irrelevant=53,
                            p_value=0.01, estimated_recall=0.97, checklist=items), **changes)


def _panel_host() -> Any:
    """An app holding the status panel alone."""
    from textual.app import App, ComposeResult

    from screener.tui.widgets import StatusPanel

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield StatusPanel()

    return Host()


async def test_the_panel_says_when_the_stopping_rule_is_met() -> None:
    """The reviewer is told in words, not left to read p < 0.05 and four ticks."""
    from screener.tui.widgets import StatusPanel

    base = _all_ticked()
    async with _panel_host().run_test() as pilot:
        panel = pilot.app.query_one(StatusPanel)
        panel.show(base, 1, 0.5, 50)
        text = str(panel.query_one("#status-stopping").render())
        assert "Stopping rule met" not in text                  # the test has not said stop
        from dataclasses import replace

        panel.show(replace(base, stop_by_test=True), 1, 0.5, 50)
        assert "✓ Stopping rule met" in str(panel.query_one("#status-stopping").render())
        # the estimated recall's lower end, the recall the stopping test supports, beside it
        assert "Est. recall 97%\n" in text + "\n"
        panel.show(replace(base, estimated_recall_interval=(0.62, 0.99)), 1, 0.5, 50)
        assert "Est. recall 97% (≥62%)" in str(panel.query_one("#status-stopping").render())


async def test_the_panel_says_its_figures_count_only_since_an_import() -> None:
    """Records imported after screening began: the run and the test count only the
    decisions since, and the panel says how many, in its 27 columns."""
    from screener.tui.widgets import StatusPanel

    async with _panel_host().run_test() as pilot:
        panel = pilot.app.query_one(StatusPanel)
        panel.show(_all_ticked(), 1, 0.5, 50)
        assert "Since import" not in str(panel.query_one("#status-stopping").render())
        panel.show(_all_ticked(added_since_start=64, screened_since=1234,
                               consecutive_irrelevant=12), 1, 0.5, 50)
        text = str(panel.query_one("#status-stopping").render())
    assert text.startswith("Since import: 1,234 counted\nIrrelevant run 12/50")
    assert max(len(line) for line in text.splitlines()) <= 27


async def test_the_panel_says_when_the_stopping_rule_is_not_met() -> None:
    """With every SAFE item ticked the panel showed "Stopping p-value 0.361" and no verdict,
    while a met rule says "✓ Stopping rule met": it says not met, and why, in the narrow
    panel's 27 columns."""
    from screener.tui.widgets import StatusPanel

    base = _all_ticked(p_value=0.361, stop_level=0.05)
    items = base.checklist
    async with _panel_host().run_test() as pilot:
        panel = pilot.app.query_one(StatusPanel)

        def shown(progress: Any) -> str:
            panel.show(progress, 1, 0.5, 50)
            return str(panel.query_one("#status-stopping").render())

        text = shown(base)
        assert "✗ Stopping rule not met\n  p 0.361, needs < 0.05" in text
        assert "Stopping rule met" not in text.replace("rule not met", "")
        failing = (replace(items[0], passed=False), replace(items[1], passed=False), *items[2:])
        text = shown(replace(base, p_value=0.01, stop_by_test=True, checklist=failing))
        assert "✗ Stopping rule not met\n  2 SAFE items not met" in text and "needs" not in text
        text = shown(replace(base, checklist=failing[1:], stop_level=0.01))
        assert "✗ Stopping rule not met\n  p 0.361, needs < 0.01\n  1 SAFE item not met" in text
        assert max(len(line) for line in text.splitlines()) <= 27
        assert "not met" not in shown(replace(base, checklist=()))  # not computed yet


@pytest.mark.parametrize("size", [(80, 24), (100, 32)])
async def test_every_safe_line_fits_the_side_panel_uncut(make_app: MakeApp,
                                                         size: tuple[int, int]) -> None:
    """The panel cut "✓ key papers: none list…": each SAFE item must be readable whole,
    also with the largest counts a big review reaches."""
    from textual.geometry import Region

    from screener.workflow.progress import at_least, progress

    app, review, ids, _ = make_app(reverse=False)
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    computed = progress(review, "ann")  # no key papers in the protocol
    big = {"screened / (2 x estimated relevant)": at_least(12345, 2468),
           "consecutive irrelevant": at_least(12345, 1000)}
    items = tuple(replace(item, value=big.get(item.name, item.value))
                  for item in computed.checklist)
    async with app.run_test(size=size) as pilot:
        # the statistics worker started on opening must land first, or its figures replace
        # these (a clean-clone CI run showed the computed '1/5' and '0/50' here)
        await settle(pilot)
        app.screening.progress = replace(computed, checklist=items)
        app.screening.show_status()
        await pilot.pause()
        panel = app.screening.query_one("#status-stopping", Static)
        width, height = panel.size
        lines = ["".join(s.text for s in strip)
                 for strip in panel.render_lines(Region(0, 0, width, height))]
        text = " ".join(line.strip() for line in lines)
        assert "…" not in text
        words = text.split()
        for item in items:
            for word in item.value.replace(" of ≥ ", " ").split():
                assert any(word in w for w in words), (word, text)


async def test_the_panel_shows_no_recall_before_a_relevant_record_is_found(
        review_factory: Any) -> None:
    """Two excludes and nothing relevant yet: the panel read "Est. recall 0%"; there is
    no recall to estimate (nor records left: 0 fits as well as any number), so it shows a
    dash, as before the statistics are computed."""
    from textual.app import App, ComposeResult

    from screener.tui.widgets import DASH, StatusPanel
    from screener.workflow.progress import progress

    review, ids = review_factory()
    for rid in ids[:2]:
        record_decision(review, rid, "ann", Label.EXCLUDE)
    computed = progress(review, "ann")
    assert computed.estimated_remaining is None

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield StatusPanel()

    async with Host().run_test() as pilot:
        panel = pilot.app.query_one(StatusPanel)
        panel.show(computed, 1, 0.5, 50)
        text = str(panel.query_one("#status-stopping").render())
    assert computed.p_value is not None  # the statistics were computed
    assert f"Est. recall {DASH}\n" in text and "Est. recall 0%" not in text


async def test_down_from_the_search_box_goes_into_the_results(make_app: MakeApp) -> None:
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("slash")                       # search: the box has the focus
        await settle(pilot)
        browse = app.screen
        assert isinstance(browse, BrowseScreen) and isinstance(browse.focused, Input)
        await pilot.press("down")
        assert isinstance(browse.focused, DataTable)
        await settle(pilot)
        await pilot.press("enter")                       # opens the first record listed
        assert app.current_record_id == ids[0]


async def test_tab_and_enter_never_decide_a_record(make_app: MakeApp) -> None:
    """The decision buttons are for the mouse: Tab does not land on them, so a stray Enter
    after Tab, Tab decides nothing (it excluded the record)."""
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        for _ in range(6):
            await pilot.press("tab")
            await pilot.press("enter")
        assert stored(review) == [] and app.current_record_id == ids[0]
        await pilot.click("#btn-include")                 # the mouse still decides
        assert [row[0] for row in stored(review)] == [ids[0]]


async def test_a_record_decided_elsewhere_shows_that_decision_when_opened(
        make_app: MakeApp) -> None:
    """The reviewer decides record 2 with `screener decide` while the UI is open: browse
    lists it, and the card opened from browse said "not screened by you" until a restart."""
    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        record_decision(review, ids[1], "ann", Label.EXCLUDE, reason_id="outcome",
                        note="from the command line")
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.current_record_id == ids[1]
        assert "your decision: exclude" in shown(app, "context")
        assert "from the command line" in shown(app, "context")
        assert str(card(app).border_title).endswith(f"{ids[1]} (revisited)")
        assert "Screened 1 of 5" in str(app.screening.query_one("#status-counts").render())
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # never decided: not "revisited"
        await settle(pilot)
        assert app.current_record_id == ids[2]
        assert str(card(app).border_title).endswith(f"{ids[2]} (from browse)")


async def test_a_note_with_line_breaks_is_edited_on_one_line_and_kept(
        make_app: MakeApp) -> None:
    """A note written with `decide --note` may hold line breaks and tabs: the one-line
    editor shows them as ↵ and ⇥ (written raw, they broke the dialog), and gives them
    back as they were."""
    app, review, ids, _ = make_app(reverse=False)
    record_decision(review, ids[0], "ann", Label.MAYBE, note="line one\nline two\tdose?")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_record_id == ids[0]
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, NoteScreen)
        assert app.screen.query_one(Input).value == "line one↵line two⇥dose?"
        await pilot.press("end", *" ok", "enter", "i")
        await settle(pilot)
    assert stored(review)[-1] == (ids[0], "ann", "include", None, "line one\nline two\tdose? ok")


async def test_a_small_split_pane_keeps_the_record_readable(make_app: MakeApp) -> None:
    """At 50 x 12 the side panel below the record took every row: the card was only its
    borders. Under 20 rows (and 72 columns) the panel is left out."""
    app, _, _, _ = make_app("ketamine-depression.yaml")
    async with app.run_test(size=(50, 12)) as pilot:
        await settle(pilot)
        assert card(app).region.height >= 5, card(app).region
        assert app.screening.query_one("#side").region.height == 0
        await pilot.resize_terminal(50, 30)
        await pilot.pause()
        assert app.screening.query_one("#side").region.height > 0  # below the record again


async def test_records_imported_since_dedup_are_noted_when_the_ui_opens(make_app: MakeApp
                                                                         ) -> None:
    """An update search imported after dedup and not deduplicated: the UI opened on the
    records' new copies without a word; it now says so on opening, as status and next do."""
    from screener.workflow.importing import deduplicate, import_file

    app, review, _, _ = make_app()
    deduplicate(review)
    import_file(review, Path(__file__).parents[1] / "data" / "formats" / "medline"
                / "rispy_example_pubmed.nbib", source="PubMed", searched="2021-07-01")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert any("10 records imported since dedup last ran: run `screener dedup`"
                   in n.message for n in app._notifications)



@pytest.mark.parametrize("keys", [("n", *"check dose", "enter"), ("n", *"check dose")],
                         ids=["kept", "being typed"])
async def test_a_note_not_yet_saved_survives_the_terminal_closing(
        make_app: MakeApp, tmp_path: Path, keys: tuple[str, ...]) -> None:
    """A note kept for the next decision, or half typed in the note dialog, was lost when
    the terminal was closed (SIGHUP): q asks first, a signal did not. It is kept and, in
    the next session, waits for the next decision on its record, as it did."""
    import os
    import signal

    if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
        pytest.skip("SIGHUP is ignored here (nohup): the UI keeps running, as it should")
    settings = tmp_path / "ui.json"
    app, review, ids, _ = make_app(settings_file=settings, quit_on_signals=True)
    async with app.run_test() as pilot:
        await settle(pilot)
        first = app.screening.record.id
        await pilot.press(*keys)
        await settle(pilot)
        os.kill(os.getpid(), signal.SIGHUP)
        await pilot.pause()
    assert app.return_code is not None and stored(review) == []
    again = ScreenerApp(review, "ann", Stage.TITLE_ABSTRACT, ranker=FakeRanker(ids),
                        background_delay=0, settings_file=settings)
    async with again.run_test(notifications=True) as pilot:
        await settle(pilot)
        said = [n.message for n in again._notifications]
        assert any(f"(record {first}) waits for your next decision" in m for m in said), said
        assert again.screening.record.id == first
        assert "check dose" in shown(again, "context")
        await pilot.press("i")
        await settle(pilot)
    assert stored(review) == [(first, "ann", "include", None, "check dose")]
    assert not (review.folder / "unsaved-notes.json").exists()


def test_a_hung_up_terminal_is_told_from_a_live_one() -> None:
    # the check the UI makes every TERMINAL_CHECK_S: a pseudo-terminal whose other end
    # closed (the terminal window or SSH session gone) fails to give its settings (EIO)
    import os

    from screener.tui.terminal import terminal_gone

    main, tty = os.openpty()
    try:
        assert not terminal_gone(tty)
        os.close(main)
        assert terminal_gone(tty)
    finally:
        os.close(tty)
    read, write = os.pipe()  # not a terminal: not for this check to judge
    assert not terminal_gone(read)
    os.close(read), os.close(write)


async def test_the_ui_quits_keeping_its_note_when_its_terminal_hangs_up_unsignalled(
        make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With SIGHUP ignored (nohup, `trap '' HUP`), closing the terminal sent no signal: the
    UI ran on without one for hours, a core busy (Textual's input thread reading the end
    of its input over and over) and its half-typed note never kept (a tester's tmux run).
    It now looks at its terminal every few seconds and, once it has hung up, quits as on
    SIGHUP, keeping the note for the next session."""
    from screener.tui import app as app_module

    gone = [False]
    monkeypatch.setattr(app_module, "TERMINAL_CHECK_S", 0.05)
    monkeypatch.setattr(app_module, "terminal_gone", lambda: gone[0])
    settings = tmp_path / "ui.json"
    app, review, _ids, _ = make_app(settings_file=settings, quit_on_signals=True)
    async with app.run_test() as pilot:
        await settle(pilot)
        first = app.screening.record.id
        await pilot.press("n", *"check dose")
        await pilot.pause(0.2)
        assert app.return_code is None  # the terminal is there: nothing happens
        gone[0] = True
        await pilot.pause(0.3)
    assert app.return_code is not None and stored(review) == []
    kept = json.loads((review.folder / "unsaved-notes.json").read_text(encoding="utf-8"))
    assert [(row["record"], row["note"]) for row in kept] == [(first, "check dose")]


async def test_a_note_the_review_folder_cannot_take_is_kept_elsewhere_and_said(
        make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review folder that could not take unsaved-notes.json (read-only, full disk): the
    note typed when the terminal closed was lost without a word. It is kept beside ui.json,
    said on stderr once the UI has quit, and given back in the next session."""
    from screener.tui import app as app_module

    gone = [False]
    monkeypatch.setattr(app_module, "TERMINAL_CHECK_S", 0.05)
    monkeypatch.setattr(app_module, "terminal_gone", lambda: gone[0])
    settings = tmp_path / "config" / "ui.json"
    app, review, ids, _ = make_app(settings_file=settings, quit_on_signals=True)
    (review.folder / "unsaved-notes.json").mkdir()  # cannot be written there (as root too)
    async with app.run_test() as pilot:
        await settle(pilot)
        first = app.screening.record.id
        await pilot.press("n", *"check dose")
        await pilot.pause()
        gone[0] = True
        await pilot.pause(0.3)
    assert app.return_code is not None
    assert len(app.exit_notes) == 1 and (
        f"kept in {settings.parent / 'unsaved-notes.json'}" in app.exit_notes[0])
    again = ScreenerApp(review, "ann", Stage.TITLE_ABSTRACT, ranker=FakeRanker(ids),
                        background_delay=0, settings_file=settings)
    async with again.run_test() as pilot:
        await settle(pilot)
        assert again.screening.record.id == first
        assert "check dose" in shown(again, "context")


async def test_pairs_waiting_come_next_once_the_rule_is_met_while_screening(
        review_factory: Callable[..., Any], tmp_path: Path) -> None:
    """Dual screening: once a screener's own stopping rule is met, the records the other
    screener decided and they have not come first, but only when the queue was rebuilt:
    ann, who kept screening past her rule, went on through her ranked order and met bob's
    records only after a restart."""
    protocol = write_protocol(tmp_path / "p", "dual-screening.yaml",
                              stopping={"recall_target": 0.5, "confidence": 0.5,
                                        "consecutive_irrelevant": 5,
                                        "min_screened_fraction": 0.1})
    review, ids = review_factory(protocol, [Record(title=f"Trial {n}") for n in range(20)])
    bob_only = ids[-3:]  # last in ann's order
    for record_id in bob_only:
        record_decision(review, record_id, "bob", Label.EXCLUDE, reason_id="design")
    app = ScreenerApp(review, "ann", Stage.TITLE_ABSTRACT,
                      ranker=FakeRanker(ids, reverse=False), background_delay=0,
                      progress_delay=0, rank_on_open=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        decided = 0
        while not app.screening.progress.criteria_met:  # the panel says it once computed
            assert app.screening.record is not None and decided < 16
            await pilot.press(*(("i",) if decided == 0 else ("e", "3")))
            decided += 1
            await settle(pilot)
        seen = []
        for _ in range(4):  # the record on screen may have been shown before it was met
            assert app.screening.record is not None
            seen.append(app.screening.record.id)
            await pilot.press("e", "3")
            await settle(pilot)
    assert set(bob_only) <= set(seen), (seen, bob_only)


async def test_the_ui_keeps_no_more_objects_after_more_decisions(make_app: MakeApp) -> None:
    """A long session's UI grew ~0.45 MB a decision (106 to 415 MB over 706 decisions) and
    never shrank: Textual's footer composes its keys again at every change of the keys
    offered (a reason dialog opened and closed, undo's Esc key), and kept every earlier
    key. The footer keys alive after 16 exclude-and-undo rounds are as many as after 4."""
    import gc

    from textual.widgets._footer import FooterKey

    def alive() -> int:
        gc.collect()
        return sum(isinstance(o, FooterKey) for o in gc.get_objects())

    app, review, ids, _ = make_app(reverse=False)
    async with app.run_test(size=(120, 40)) as pilot:  # (the footer's style never changes)
        counts = {}
        for round_ in range(1, 17):
            await pilot.press("e", "1")  # the reason dialog opens and closes: keys change
            await settle(pilot)
            await pilot.press("u")  # the record is back (its Esc key shows), to decide again
            await settle(pilot)
            if round_ in (4, 16):
                counts[round_] = alive()
        assert stored(review)[-1][2] == "undone"
        assert counts[16] <= counts[4], counts  # (it kept every key: 159, then 567)


async def test_a_decision_key_before_the_record_is_drawn_is_not_taken(
        make_app: MakeApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under load the next record reached the screen 0.3 s or more after it was taken from
    the queue, and "Key not taken" counted from then: `e` and a reason typed while the
    screen still showed the record just decided excluded the next one, never seen (four
    times in a row). The time on screen counts from the frame that shows the record; a
    key before it is not taken, and the record is decided once it has been read."""
    app, review, ids, _ = make_app(reverse=False, min_view_s=30)
    now = [1000.0]
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = app.screening
        screen.clock = lambda: now[0]
        screen.shown_at = now[0] - 31  # the first record has been read
        stall = monkeypatch.context()
        with stall as patch:  # drawing stalls: no frame reaches the screen
            patch.setattr(screen, "_compositor_refresh", lambda: None)
            patch.setattr(screen._compositor, "update_widgets", lambda widgets: None)
            await pilot.press("i")
            await pilot.pause()
            assert app.current_record_id == ids[1]  # taken from the queue, not yet drawn
            now[0] += 31  # the drawing is slow
            screen.shown_at -= 31
            await pilot.press("e", "1")
            await pilot.pause()
            assert stored(review) == [(ids[0], "ann", "include", None, "")]
            assert app.screen is screen  # no reason dialog for the unseen record
        await settle(pilot)  # drawn now
        warned = [str(n.message) for n in app._notifications if "Not saved" in str(n.message)]
        assert len(warned) == 1 and f"record {ids[1]} was not on screen yet" in warned[0]
        await pilot.press("m")  # on screen from now: too soon still
        await settle(pilot)
        assert len(stored(review)) == 1
        now[0] += 31  # read
        await pilot.press("m")
        await settle(pilot)
        assert stored(review)[-1] == (ids[1], "ann", "maybe", None, "")


@pytest.mark.parametrize("since", ["reassign", "changed"])
async def test_the_first_panel_counts_the_irrelevant_run_as_status_does(
        make_app: MakeApp, since: str) -> None:
    # before the statistics worker returns, the panel's run came from the reviewer's
    # decisions in row order: a decision moved by reassign (written at the end of the log)
    # or changed since (a new row) counted as the latest screened, so the panel said a
    # run status did not
    from screener.workflow.progress import progress
    from screener.workflow.reassign import reassign

    def unavailable(*_: object) -> Any:
        raise RuntimeError("the statistics are not computed in this test")

    app, review, ids, _ = make_app(progress_fn=unavailable)
    if since == "reassign":  # anne's include was screened between ann's exclusions
        for rid, name, label in zip(ids, ["ann", "anne", "ann", "ann"],
                                    [Label.EXCLUDE, Label.INCLUDE, Label.EXCLUDE,
                                     Label.EXCLUDE], strict=False):
            record_decision(review, rid, name, label)
        reassign(review, "anne", "ann")
    else:  # the first record, excluded, is changed to maybe after the others
        for rid, label in zip(ids, [Label.EXCLUDE, Label.INCLUDE, Label.EXCLUDE],
                              strict=False):
            record_decision(review, rid, "ann", label)
        record_decision(review, ids[0], "ann", Label.MAYBE)
    status = progress(review, "ann")
    async with app.run_test() as pilot:
        await pilot.pause()
        first = app.screening.progress
        assert first is not None and first.checklist == ()  # the quick figures alone
        assert (first.screened, first.consecutive_irrelevant) == (
            status.screened, status.consecutive_irrelevant)
        assert status.consecutive_irrelevant == {"reassign": 2, "changed": 1}[since]


async def test_a_window_too_small_for_the_record_says_so_when_a_key_is_refused(
        make_app: MakeApp) -> None:
    """In a window so small the record card has no rows, every decision key was refused
    with "was not on screen yet (still being drawn)": a card of no height is never drawn.
    The key is still not taken, and the reviewer is told to enlarge the window; once it is
    large enough, the record is drawn and decided as usual."""
    app, review, ids, _ = make_app(reverse=False, min_view_s=30)
    now = [1000.0]
    async with app.run_test(size=(50, 5)) as pilot:
        await settle(pilot)
        screen = app.screening
        screen.clock = lambda: now[0]
        assert screen.query_one(RecordCard).scrollable_content_region.height == 0
        now[0] += 31
        await pilot.press("i")
        await settle(pilot)
        assert stored(review) == []
        (warned,) = [str(n.message) for n in app._notifications if "Not saved" in str(n.message)]
        assert f"record {ids[0]}" in warned and "too small" in warned and "enlarge" in warned.lower()
        assert "still being drawn" not in warned
        await pilot.resize_terminal(100, 32)
        await settle(pilot)
        now[0] += 31  # read
        await pilot.press("i")
        await settle(pilot)
        assert stored(review) == [(ids[0], "ann", "include", None, "")]


async def test_a_key_refused_for_another_reason_after_the_window_was_enlarged_says_so(
        make_app: MakeApp) -> None:
    """The notice was given once per record: after "the window is too small", a key pressed
    within min_view_s of the record reaching the enlarged window was refused silently. It
    is told again when its reason changed (once per reason, as before)."""
    app, review, ids, _ = make_app(reverse=False, min_view_s=30)
    now = [1000.0]

    def refused() -> list[str]:
        return [str(n.message) for n in app._notifications if "Not saved" in str(n.message)]

    async with app.run_test(size=(50, 5)) as pilot:
        await settle(pilot)
        app.screening.clock = lambda: now[0]
        now[0] += 31
        await pilot.press("i")
        await settle(pilot)
        assert len(refused()) == 1 and "too small" in refused()[0], refused()
        await pilot.resize_terminal(100, 32)
        await settle(pilot)
        now[0] += 1  # (drawn now, not read yet)
        await pilot.press("i")
        await settle(pilot)
        assert stored(review) == []
        assert len(refused()) == 2, refused()
        assert f"record {ids[0]} was on screen for only" in refused()[1], refused()
        await pilot.press("i")  # (the same reason again: not told twice)
        await settle(pilot)
        assert len(refused()) == 2 and stored(review) == [], refused()
