"""Fixed inputs for the export tests and a golden-file helper.

Set SCREENER_UPDATE_GOLDEN=1 to rewrite the files in tests/data/golden/; review the
diff before committing. Without it, a difference fails the test.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from screener.core.decisions import Decision, Label, Role, Stage
from screener.core.prisma import PrismaCounts

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


@pytest.fixture
def counts() -> PrismaCounts:
    """A review with every box in use, which adds up (check() is empty)."""
    return PrismaCounts(
        databases=(("MEDLINE (Ovid)", 3120), ("Embase", 2870), ("CENTRAL", 884)),
        registers=(("ClinicalTrials.gov", 212), ("WHO ICTRP", 133)),
        other_sources=(("Websites", 14), ("Organisations", 6), ("Citation searching", 41)),
        duplicates_removed=2539, automation_ineligible=0, removed_other=12,
        records_screened=4668, records_excluded_human=1480, records_excluded_automation=3100,
        reports_sought=88, reports_not_retrieved=6, reports_assessed=82, reports_excluded=58,
        reports_excluded_reasons=(
            ("Wrong population", 21), ("Wrong intervention", 14),
            ("Wrong comparator, placebo only", 9),
            ("Not a randomised controlled trial (quasi-randomised or non-randomised "
             "allocation)", 11),
            ("Conference abstract only", 3)),
        studies_included=27, reports_included=31,
        other_reports_sought=19, other_reports_not_retrieved=2, other_reports_assessed=17,
        other_reports_excluded=10,
        other_reports_excluded_reasons=(("Wrong population", 6), ("Wrong study design", 4)),
    )


@pytest.fixture
def decisions() -> list[Decision]:
    """Six stored decisions in log order, with awkward text (formula starts, quotes)."""
    t0 = datetime(2026, 3, 2, 9, 30, 0, 125000, tzinfo=UTC)
    rows = [
        (1, "alice", Role.SCREENER, Stage.TITLE_ABSTRACT, Label.INCLUDE, None, (), "", 1, 1),
        (1, "bob", Role.SCREENER, Stage.TITLE_ABSTRACT, Label.EXCLUDE, None, ("E1",),
         "=HYPERLINK(\"http://evil\")", 1, 1),
        (2, "alice", Role.SCREENER, Stage.TITLE_ABSTRACT, Label.MAYBE, None, (),
         "-unclear, \"adults?\"", 2, 1),
        (1, "carol", Role.ADJUDICATOR, Stage.TITLE_ABSTRACT, Label.INCLUDE, None, ("I1", "I2"),
         "agreed after discussion; Ünïcödé", None, None),
        (1, "alice", Role.SCREENER, Stage.FULL_TEXT, Label.EXCLUDE, "wrong_population", ("E1",),
         "@mention\nsecond line", None, None),
        (2, "alice", Role.SCREENER, Stage.TITLE_ABSTRACT, Label.UNDONE, None, (), "", None, None),
    ]
    out = []
    for i, (record, who, role, stage, label, reason, crit, note, ranking, rank) in enumerate(rows):
        out.append(Decision(
            record_id=record, reviewer=who, stage=stage, label=label, reason_id=reason,
            criterion_ids=crit, note=note,
            created_at=t0.replace(minute=30 + i), protocol_hash="p" * 64,
            ranking_id=ranking, rank_position=rank, reviewer_role=role,
            id=10 + 2 * i, seq=i + 1))
    return out


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare text with tests/data/golden/<name> (or rewrite it when updating)."""

    def compare(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("SCREENER_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            return
        assert path.exists(), f"missing golden file {path}: run with SCREENER_UPDATE_GOLDEN=1"
        expected = path.read_bytes().decode("utf-8")
        assert text == expected, f"{name} differs from its golden file {path}"

    return compare
