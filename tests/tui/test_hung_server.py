"""The screening UI on a PostgreSQL server that hangs (SIGSTOP): a decision key froze the
screen for good. It now says the decision was not saved, keeps the note typed for it and
the record on screen, and the same key stores both once the server answers again."""

from __future__ import annotations

from pathlib import Path

from screener.core.decisions import Stage
from screener.core.records import Record
from screener.storage import repo
from screener.tui.app import ScreenerApp
from screener.workflow.review import create_review

from ..conftest import PROTOCOLS, StoppableServer
from .conftest import FakeRanker
from .test_app import settle, shown


async def test_a_decision_on_a_hung_server_is_not_saved_and_its_note_kept(
        stoppable_pg: StoppableServer, tmp_path: Path) -> None:
    review = create_review(tmp_path / "r", PROTOCOLS / "minimal.yaml", stoppable_pg.url)
    try:
        with review.transaction() as session:
            source = repo.add_source(session, name="X", kind="database")
            ids = repo.add_records(session, source,
                                   [Record(title=f"Trial {i}") for i in range(3)])
        app = ScreenerApp(review, "ann", Stage.TITLE_ABSTRACT,
                          ranker=FakeRanker(ids, reverse=False), background_delay=0)
        async with app.run_test(size=(100, 32)) as pilot:
            await settle(pilot)
            await pilot.press("n", *"dose?", "enter")
            await settle(pilot)
            stoppable_pg.stop()
            try:
                await pilot.press("i")
                await pilot.pause()
            finally:
                stoppable_pg.resume()
            said = [n for n in app._notifications if n.title == "Not saved"]
            assert said and "did not answer within 2 s: nothing was stored" in said[-1].message
            # what to do, as the CLI says it (the toast said only what failed)
            assert ("The record stays on screen, with any note you typed for it: check the "
                    "server (or your network), then press the key again") in said[-1].message
            assert app.current_record_id == ids[0]  # still on screen
            assert "note (with your next decision): dose?" in shown(app, "context")
            await settle(pilot)
            await pilot.press("i")
            await settle(pilot)
            assert app.current_record_id == ids[1]
        with review.read() as session:
            assert [(d.record_id, d.label.value, d.note) for d in repo.decision_log(session)
                    ] == [(ids[0], "include", "dose?")]
    finally:
        review.close()


def test_a_refusal_a_second_try_cannot_get_past_is_not_told_to_try_again() -> None:
    """A read-only review.db: pressing the key again would fail again."""
    from screener.storage import StorageError, StorageUnavailable
    from screener.tui.screening import not_saved

    assert not_saved(StorageError("the review folder is read-only")) == (
        "the review folder is read-only")
    assert "press the key again" in not_saved(StorageUnavailable("the server closed it"))
