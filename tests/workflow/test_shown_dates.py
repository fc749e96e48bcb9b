"""One import, one date: every date and time screener shows or exports of a stored moment
is in UTC, whatever the time zone of the PostgreSQL server or client session (PGTZ) and on
SQLite, whose values carry no zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from screener.core.decisions import Label
from screener.storage.models import DecisionRow, SourceRow
from screener.workflow.importing import import_file
from screener.workflow.reporting import write_report
from screener.workflow.review import Review, ReviewError
from screener.workflow.screening import record_decision
from screener.workflow.status import format_status, status

LATE_EVENING = datetime(2025, 6, 14, 20, 32, tzinfo=UTC)  # 08:32 on the 15th in Auckland
"""The update's import: 14 June in UTC, already 15 June in Auckland (UTC+12 in winter)."""


def ris(path: Path, titles: list[str]) -> Path:
    path.write_text("".join(f"TY  - JOUR\nTI  - {t}\nDO  - 10.1000/{t.lower()}\nER  - \n\n"
                            for t in titles), encoding="utf-8")
    return path


def test_an_import_is_shown_under_its_utc_date_in_any_zone(
        make_review: Callable[..., Review], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The tester's case: the server in Pacific/Auckland showed an import at 20:32 UTC on
    29 November as 2026-11-30 in status, the re-import refusal and the report, while the
    event log said 29 November; status --json gave '+13:00' (on SQLite no zone at all).
    Replayed on a day in the past (that test's day was 'today' on 30 November, which the
    report names as the day it was written)."""
    monkeypatch.setenv("PGTZ", "Pacific/Auckland")  # the session's zone (PostgreSQL)
    review = make_review()
    import_file(review, ris(tmp_path / "round1.ris", [f"A{i}" for i in range(5)]),
                source="Round 1")
    record_decision(review, 1, "ann", Label.EXCLUDE)
    again = ris(tmp_path / "update.ris", [f"B{i}" for i in range(5)])
    import_file(review, again, source="Update")
    with review.transaction() as s:  # round 1 in the morning, the update in the evening
        s.execute(update(SourceRow).where(SourceRow.name == "Round 1")
                  .values(imported_at=LATE_EVENING.replace(hour=8)))
        s.execute(update(DecisionRow).values(created_at=LATE_EVENING.replace(hour=9)))
        s.execute(update(SourceRow).where(SourceRow.name == "Update")
                  .values(imported_at=LATE_EVENING))
    data = status(review)
    text = format_status(data)
    with pytest.raises(ReviewError) as refused:
        import_file(review, again, source="Update")
    report = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    imported = {s["name"]: s["imported"] for s in data["sources"]}
    assert imported["Update"] == "2025-06-14T20:32:00.000000Z"
    assert [p["added_on"] for p in data["stopping"]["reviewers"]] == ["2025-06-14"]
    assert "Update (database): 5 from update.ris, imported 2025-06-14" in text
    assert "(the latest imported on 2025-06-14)" in text
    assert "already imported on 2025-06-14 as source 'Update'" in str(refused.value)
    assert "the latest imported on 2025-06-14" in report
    assert "2025-06-15" not in text + str(refused.value) + report
