"""A PostgreSQL role that may only read (an auditor's) opening the screening UI: its first
step claims a record, which the server refuses; the UI stopped with a Rich traceback and
"the screening UI stopped on an error". `screen` now refuses before the UI opens, and the
UI, should the refusal come only then, closes with the message the CLI gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from screener.core.decisions import Stage
from screener.core.records import Record
from screener.storage import StorageError, repo
from screener.tui.app import ScreenerApp
from screener.workflow.review import create_review, open_review
from screener.workflow.screening import ScreeningSession, check_can_screen

from ..conftest import PROTOCOLS
from .conftest import FakeRanker
from .test_app import settle

pytestmark = pytest.mark.postgres


@pytest.fixture
def reader_url(pg_url: str, tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """A review on PostgreSQL with 3 records and reviewer ann, and the URL of a role granted only SELECT."""
    import psycopg

    review = create_review(tmp_path / "r", PROTOCOLS / "minimal.yaml", pg_url)
    try:
        with review.transaction() as session:
            source = repo.add_source(session, name="X", kind="database")
            ids = repo.add_records(session, source, [Record(title=f"Trial {i}") for i in range(3)])
        ScreeningSession(review, "ann", Stage.TITLE_ABSTRACT)  # ann screens here already
    finally:
        review.close()
    role = "aud_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'audpw'")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    try:
        yield f"postgresql://{role}:audpw@{pg_url.split('@', 1)[1]}", ids
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
            conn.execute(f"DROP ROLE {role}")


def test_screen_refuses_a_read_only_role_before_the_ui_opens(
        reader_url: tuple[str, list[int]], tmp_path: Path) -> None:
    url, _ = reader_url
    review = open_review(tmp_path / "r", url)
    try:
        with pytest.raises(StorageError) as refused:
            check_can_screen(review)
    finally:
        review.close()
    said = str(refused.value)
    assert "the database account may not do this" in said and "nothing was written" in said
    assert "it lacks INSERT, UPDATE, DELETE on " in said and "decisions" in said
    assert "Ask the database owner to grant it SELECT, INSERT, UPDATE and DELETE" in said
    assert "audpw" not in said


async def test_the_ui_closes_with_the_refusal_instead_of_a_traceback(
        reader_url: tuple[str, list[int]], tmp_path: Path) -> None:
    url, ids = reader_url
    review = open_review(tmp_path / "r", url)
    try:
        app = ScreenerApp(review, "ann", Stage.TITLE_ABSTRACT,
                          ranker=FakeRanker(ids, reverse=False), background_delay=0)
        async with app.run_test(size=(100, 32)) as pilot:
            await settle(pilot)
        assert app.return_code in (None, 0)                 # no crash
        assert isinstance(app.stopped_by, StorageError)
        assert "the database account may not do this" in str(app.stopped_by)
        assert "permission denied" in str(app.stopped_by)
    finally:
        review.close()
