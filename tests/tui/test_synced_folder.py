"""The screening UI on a review folder that a sync tool (Dropbox, OneDrive) also writes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from screener.core.decisions import Label
from screener.tui.app import ScreenerApp
from screener.workflow.review import open_review
from screener.workflow.screening import record_decision

from .conftest import FakeRanker, stored
from .test_app import settle, shown

MakeApp = Callable[..., tuple[ScreenerApp, Any, list[int], FakeRanker]]


async def test_a_review_db_replaced_under_the_ui_is_said_and_the_note_kept(
        make_app: MakeApp, tmp_path: Path) -> None:
    """A sync tool renamed a teammate's review.db over the one the UI had open: the UI
    went on writing the replaced file, its -wal was laid over the new one, and the
    teammate's decisions were gone once it quit. Now the next decision is refused with
    what happened and what to do, the note typed for it waits, and the new file stays."""
    app, review, ids, _ = make_app()
    theirs = tmp_path / "theirs"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("i")  # ids[0]
        await settle(pilot)
        theirs.mkdir()
        review.db.copy_to(theirs / "review.db")
        shutil.copy(review.folder / "protocol.yaml", theirs)
        teammate = open_review(theirs)
        record_decision(teammate, ids[3], "bob", Label.INCLUDE)
        teammate.close()
        shutil.copy(theirs / "review.db", review.folder / ".sync.tmp")
        os.replace(review.folder / ".sync.tmp", review.folder / "review.db")
        on_screen = app.current_record_id
        await pilot.press("n", *"dose?", "enter", "i")
        await settle(pilot)
        assert any(n.title == "Not saved" and "replaced by another program" in n.message
                   for n in app._notifications)
        assert app.current_record_id == on_screen
        assert "dose?" in shown(app, "context")
    review.close()
    assert stored(review) == [(ids[0], "ann", "include", None, ""),
                              (ids[3], "bob", "include", None, "")]


async def test_the_ui_names_a_conflicted_copy_when_it_opens(make_app: MakeApp) -> None:
    app, review, _, _ = make_app()
    copy = "review (Bob's conflicted copy 2026-11-30).db"
    review.db.copy_to(review.folder / copy)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        said = [n.message for n in app._notifications if n.title == "Another copy of the review"]
        assert len(said) == 1 and copy in said[0] and "screener merge" in said[0]


async def test_an_idle_ui_follows_the_review_figures_when_others_decide(
        make_app: MakeApp) -> None:
    """The stopping panel of a UI left open showed figures (and 'Stopping rule met/not
    met') that no longer held while teammates decided, until the reviewer's own next
    decision. The periodic look (every protocol_check_s; called here rather than waited
    for) now also reads the decision log's head and recomputes the figures when it moved."""
    from textual.widgets import Static

    app, review, ids, _ = make_app(protocol_check_s=0)

    def stopping() -> str:
        return str(app.screening.query_one("#status-stopping", Static).content)

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "Irrelevant run 0/" in stopping()
        teammate = open_review(review.folder)  # in single screening the figures are shared
        for record_id in ids[:3]:
            record_decision(teammate, record_id, "bob", Label.EXCLUDE, reason_id="design")
        teammate.close()
        await settle(pilot)
        assert "Irrelevant run 0/" in stopping()  # nothing has looked yet
        app.screening.look_for_amendment()
        await settle(pilot)
        assert "Irrelevant run 3/" in stopping()
