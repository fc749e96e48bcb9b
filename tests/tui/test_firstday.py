"""Pilot tests from a novice reviewer's first day: the decision buttons' glyphs, the help
on the stopping panel, the adjudicator's keys and undo, the conflicts list, changing an
agreed decision during reconciliation, a screener's conflicts key and the blinding dialog."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Button, DataTable, Static

from screener.core.decisions import Label, Stage
from screener.tui.app import ScreenerApp
from screener.tui.dialogs import HelpScreen
from screener.tui.widgets import safe_lines
from screener.workflow.progress import StoppingItem
from screener.workflow.screening import record_decision
from screener.workflow.team import list_conflicts

from .conftest import TITLES, FakeRanker, write_protocol
from .test_app import settle
from .test_conflicts import DUAL, adjudicator_decisions, disagree, open_conflicts, table_rows

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
        assert any(line.split()[:2] == ["c", "Conflicts"] for line in lines)  # theirs
        undo = next(ln for ln in lines if ln.strip().startswith("u "))
        assert "resolution" in undo, undo


# -- 4. the conflicts list: reasons in the row, reviewers in one order, fits 80x24 ---------
def reason_conflicts(review_factory: Any, tmp_path: Path) -> tuple[Any, list[int]]:
    """A dual review where different exclusion reasons conflict at full text: bob decides
    first on the first and third records, ann on the second and fourth; the first three
    are excluded by both for different reasons, the fourth included by one."""
    protocol = write_protocol(tmp_path / "protocols", DUAL, screening={
        "conflicts": {"maybe_vs_exclude": True, "reason_mismatch_full_text": True}})
    review, ids = review_factory(protocol)
    order = [("bob", "ann"), ("ann", "bob")]
    for i, rid in enumerate(ids[:4]):
        for who in order[i % 2]:
            record_decision(review, rid, who, Label.INCLUDE)
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")
    for i, rid in enumerate(ids[:4]):
        first, second = order[i % 2]
        record_decision(review, rid, first, Label.EXCLUDE, stage=Stage.FULL_TEXT,
                        reason_id="design")
        if i == 3:
            record_decision(review, rid, second, Label.INCLUDE, stage=Stage.FULL_TEXT)
        else:
            record_decision(review, rid, second, Label.EXCLUDE, stage=Stage.FULL_TEXT,
                            reason_id="population")
    return review, ids


async def test_conflict_rows_show_reasons_in_one_reviewer_order_and_fit_80x24(
        review_factory: Any, tmp_path: Path) -> None:
    review, ids = reason_conflicts(review_factory, tmp_path)
    app = ScreenerApp(review, "Adjudicator", Stage.FULL_TEXT, ranker=FakeRanker(ids),
                      background_delay=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_conflicts(pilot)
        rows = table_rows(screen)
        assert len(rows) == 4
        for _, votes, _ in rows:
            assert votes.startswith("ann: ") and "; bob: " in votes, votes  # by name
        assert "population" in rows[0][1] and "design" in rows[0][1]  # no "agreement"
        table = screen.query_one(DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        for (_, _, title), full in zip(rows, TITLES, strict=False):
            assert title == full or (title.endswith("…") and full.startswith(title[:-1]))
        await pilot.press("enter", "i")  # the summary grows ("1 resolved here"): not cut
        await settle(pilot)
        summary = str(screen.query_one("#conflicts-summary").render())
        on_screen = " ".join(screen_lines(app))
        assert "resolved here" in summary
        assert all(word in on_screen for word in summary.split()), (summary, on_screen)


def test_cli_conflicts_lists_votes_by_reviewer_name_and_names_the_stage(
        review_factory: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from screener.cli import main

    review, ids = reason_conflicts(review_factory, tmp_path)
    where = ["--review", str(review.folder)]
    out = CliRunner().invoke(main, ["conflicts", "--stage", "full_text", "--reviewer",
                                    "Adjudicator", *where]).output
    votes = [line.split(":")[0].strip() for line in out.splitlines() if line.startswith("    ")]
    assert votes == ["ann", "bob"] * 4, out
    assert "(population)" in out and "(design)" in out
    empty = CliRunner().invoke(main, ["conflicts", "--reviewer", "Adjudicator", *where])
    assert "no conflicts at title/abstract" in empty.output, empty.output


def test_agreement_and_report_say_reason_conflicts_are_counted_apart(
        review_factory: Any, tmp_path: Path) -> None:
    """'agreement 100%, kappa 1.00' at full text beside conflicts of reasons read as a
    contradiction: both say the agreement is on the labels, and how many records both
    reviewers excluded for different reasons."""
    from click.testing import CliRunner

    from screener.cli import main

    review, ids = reason_conflicts(review_factory, tmp_path)
    list_conflicts(review, Stage.FULL_TEXT, "Adjudicator")  # (ends blinding there)
    where = ["--review", str(review.folder)]
    out = CliRunner().invoke(main, ["agreement", "--stage", "full_text", *where]).output
    assert "3 records that both excluded for different reasons" in out, out
    assert "the agreement is on the labels only" in out and "conflicts of reasons" in out
    report = tmp_path / "report.md"
    CliRunner().invoke(main, ["report", "--out", str(report), *where])
    text = report.read_text(encoding="utf-8")
    assert "3 records that both excluded for different reasons" in text, text


# -- 5. changing an agreed decision after reconciliation began: asked first -------------
async def test_changing_an_agreed_decision_after_reconciliation_asks_first(
        make_app: MakeApp) -> None:
    from screener.tui.dialogs import ConfirmScreen
    from screener.workflow.browse import get_record

    from .conftest import stored

    app, review, ids, _ = make_app(DUAL, reviewer="ann")
    for who in ("ann", "bob"):
        record_decision(review, ids[0], who, Label.INCLUDE)  # agreed: on to full text
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")  # reconciliation began
    before = stored(review)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        record = get_record(review, ids[0])
        assert record is not None
        app.screening.show_record(record)  # as from browse
        await pilot.pause()
        await pilot.press("e", "3")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        said = app.screen.text
        assert "conflict" in said and "bob" in said and "full-text stage" in said, said
        await pilot.press("n")
        await settle(pilot)
        assert stored(review) == before  # nothing stored
        assert app.screening.record is not None and app.screening.record.id == ids[0]
        await pilot.press("e", "3")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
    assert stored(review)[-1][:4] == (ids[0], "ann", "exclude", "design")


async def test_a_resolved_record_says_so_on_the_card(make_app: MakeApp) -> None:
    from screener.workflow.browse import get_record
    from screener.workflow.team import resolve

    from .test_app import shown

    app, review, ids, _ = make_app(DUAL, reviewer="ann")
    disagree(review, ids)
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")
    resolve(review, ids[0], "Adjudicator", Label.INCLUDE)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        record = get_record(review, ids[0])
        assert record is not None
        app.screening.show_record(record)
        await pilot.pause()
        assert "resolved by the adjudicator" in shown(app, "context"), shown(app, "context")


# -- 6. a screener's conflicts key: one toast, in words; the help lists it to its role ----
@pytest.mark.parametrize("decided", [False, True])
async def test_a_screeners_conflicts_key_says_who_resolves_them(make_app: MakeApp,
                                                               decided: bool) -> None:
    from screener.tui.screening import ScreeningScreen

    app, review, ids, _ = make_app(DUAL, reviewer="ann")
    if decided:
        disagree(review, ids)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ScreeningScreen)  # no empty conflicts screen
        said = [n for n in notes(app) if "onflict" in n]
        assert len(said) == 1, notes(app)
        assert "title/abstract" in said[0] and "title_abstract" not in said[0], said
        assert "Adjudicator" in said[0], said  # who resolves them
        await pilot.press("question_mark")
        await pilot.pause()
        assert not any("Conflicts" in line for line in help_lines(app))


# -- 7. the End blinding dialog says where the others' decisions become visible ---------
async def test_end_blinding_says_where_decisions_become_visible(make_app: MakeApp) -> None:
    from screener.tui.dialogs import ConfirmScreen

    app, review, ids, _ = make_app(DUAL, reviewer="Adjudicator")
    disagree(review, ids)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = app.screen.text
        for place in ("screener status", "decision log", "report"):
            assert place in text, text
        assert "only their own" in text  # not on the screening screen or in browse
