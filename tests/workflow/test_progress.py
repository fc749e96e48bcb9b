"""Progress and stopping statistics for the status panel, from the stored decisions."""

from __future__ import annotations

from pathlib import Path

from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.progress import progress
from screener.workflow.review import create_review
from screener.workflow.screening import ScreeningSession

REPO = Path(__file__).resolve().parents[2]


def test_progress_counts_and_stopping(tmp_path: Path) -> None:
    with create_review(tmp_path / "r", REPO / "protocols" / "minimal.yaml") as review:
        with review.transaction() as s:
            source = repo.add_source(s, name="X", kind="database")
            repo.add_records(s, source, [Record(title=f"R{i}") for i in range(100)])
        empty = progress(review, "ann")
        assert (empty.screened, empty.total, empty.p_value) == (0, 100, None)
        assert not any(i.passed for i in empty.checklist if i.name != "key papers found")
        session = ScreeningSession(review, "ann")
        labels = [Label.INCLUDE, Label.EXCLUDE, Label.INCLUDE] + [Label.EXCLUDE] * 12 + [Label.MAYBE]
        for label in labels:
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, label)
        session.undo()  # the maybe is withdrawn
        p = progress(review, "ann")
    assert (p.screened, p.includes, p.maybes) == (15, 2, 0)
    assert p.consecutive_irrelevant == 12
    assert p.recall_curve == (1, 1, 2) + (2,) * 12
    assert p.p_value is not None and 0 <= p.p_value <= 1
    assert p.estimated_remaining is not None and p.estimated_remaining[1] <= p.estimated_remaining[2]
    names = [i.name for i in p.checklist]
    assert names[0] == "screened fraction" and p.checklist[0].passed  # 15% of >= 10%
    assert "consecutive irrelevant" in names
    assert p.fraction == 0.15
