"""A sync tool replaces review.db (renames another copy over it) while a UI has the review
open: nothing more is written to the replaced file, the user is told, and the new file's
content survives the UI quitting (its -wal is not laid over the new file)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import StorageError, repo
from screener.workflow.reporting import verify_log
from screener.workflow.review import create_review, open_review
from screener.workflow.screening import ScreeningSession, record_decision
from tests.conftest import PROTOCOLS


def _labels(folder: Path) -> dict[tuple[int, str], Label]:
    review = open_review(folder)
    try:
        with review.read() as s:
            return {(d.record_id, d.reviewer): d.label for d in repo.current_decisions(s)}
    finally:
        review.close()


def test_a_review_db_replaced_while_open_is_not_written_and_the_new_file_survives(
        tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    review = create_review(mine, PROTOCOLS / "minimal.yaml")
    with review.transaction() as s:
        ids = repo.add_records(s, repo.add_source(s, name="PubMed", kind="database"),
                               [Record(title=f"Record {i}") for i in range(6)])
    review.close()
    shutil.copytree(mine, theirs)
    teammate = open_review(theirs)
    for record_id in ids[3:]:
        record_decision(teammate, record_id, "bob", Label.INCLUDE)
    teammate.close()

    ui = open_review(mine)  # the screening UI, open all along
    try:
        session = ScreeningSession(ui, "ann")
        session.decide(ids[0], Label.EXCLUDE)
        # what Dropbox does: the teammate's file copied in beside, then renamed over
        shutil.copy(theirs / "review.db", mine / ".sync.tmp")
        os.replace(mine / ".sync.tmp", mine / "review.db")
        with pytest.raises(StorageError, match="replaced by another program") as told:
            session.decide(ids[1], Label.INCLUDE)
        assert "your last action was not saved" in str(told.value)
        assert "screener merge" in str(told.value)
        with pytest.raises(StorageError, match="replaced by another program"):
            session.decide(ids[2], Label.INCLUDE)  # and so on, until the UI quits
    finally:
        ui.close()

    # the teammate's decisions, delivered by the sync tool, are what the folder holds
    assert _labels(mine) == {(i, "bob"): Label.INCLUDE for i in ids[3:]}
    reopened = open_review(mine)
    try:
        assert verify_log(reopened).ok
    finally:
        reopened.close()
    # and ann's decision made before the file was replaced is kept beside it, to merge
    kept = [p for p in mine.glob("*.db") if p.name != "review.db"]
    assert len(kept) == 1 and "replaced while open" in kept[0].name
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(kept[0], copy / "review.db")
    shutil.copy(mine / "protocol.yaml", copy)
    assert _labels(copy) == {(ids[0], "ann"): Label.EXCLUDE}
