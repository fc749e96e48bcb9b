"""A review.db paired with an older review.db-wal (a sync tool or a copy delivering the two
from different times): SQLite would lay the old journal over the newer file and the newer
decisions would be gone for good once anything wrote. Such a pair is refused, unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import StorageError, repo
from screener.workflow.review import create_review, open_review
from screener.workflow.screening import record_decision
from tests.conftest import PROTOCOLS


def _count(folder: Path) -> int:
    review = open_review(folder)
    try:
        with review.read() as s:
            return len(repo.current_decisions(s))
    finally:
        review.close()


def _pair(tmp_path: Path, stale: bool) -> Path:
    """A review folder holding review.db and a -wal copied while a UI had it open: the
    -wal from after five decisions, review.db from after ten (stale) or from then too."""
    rev = tmp_path / "rev"
    review = create_review(rev, PROTOCOLS / "minimal.yaml")
    with review.transaction() as s:
        ids = repo.add_records(s, repo.add_source(s, name="PubMed", kind="database"),
                               [Record(title=f"Record {i}") for i in range(10)])
    holder = review.db.engine.raw_connection()  # the UI: kept open, so the -wal stays
    try:
        holder.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        for record_id in ids[:5]:
            record_decision(review, record_id, "ann", Label.EXCLUDE)
        wal = (rev / "review.db-wal").read_bytes()
        db = (rev / "review.db").read_bytes()
        if stale:
            for record_id in ids[5:]:
                record_decision(review, record_id, "ann", Label.INCLUDE)
            holder.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            db = (rev / "review.db").read_bytes()
    finally:
        holder.close()
    review.close()
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(rev / "protocol.yaml", other)
    (other / "review.db").write_bytes(db)
    (other / "review.db-wal").write_bytes(wal)
    return other


def test_a_review_db_with_an_older_wal_is_refused_unchanged(tmp_path: Path) -> None:
    other = _pair(tmp_path, stale=True)
    before = (other / "review.db").read_bytes(), (other / "review.db-wal").read_bytes()
    with pytest.raises(StorageError) as told:
        open_review(other)
    said = str(told.value)
    assert "review.db-wal" in said and "older than" in said
    assert "10 decisions" in said and "5" in said  # what would be lost
    assert "move" in said and "log verify" in said  # how to recover
    assert ((other / "review.db").read_bytes(), (other / "review.db-wal").read_bytes()) == before
    # moving the -wal aside, as the message says, opens review.db with all ten decisions
    (other / "review.db-wal").rename(tmp_path / "review.db-wal.old")
    (other / "review.db-shm").unlink(missing_ok=True)
    assert _count(other) == 10


def test_a_review_db_with_its_own_wal_opens_with_the_wals_decisions(tmp_path: Path) -> None:
    """The usual pair (a UI killed, a folder copied while open) applies its journal."""
    assert _count(_pair(tmp_path, stale=False)) == 5
