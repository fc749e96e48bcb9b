"""The bundled demo review: 882 real records, opened on a protocol-ranked first record."""

from __future__ import annotations

from pathlib import Path

from screener.workflow.demo import ensure_demo
from screener.workflow.screening import ScreeningSession
from screener.workflow.status import status


def test_demo_is_created_once_and_starts_ranked(tmp_path: Path) -> None:
    review, created = ensure_demo(tmp_path / "demo")
    with review:
        assert created
        data = status(review)
        assert data["records_total"] == 882 and data["sources"][0]["kind"] == "database"
        item = ScreeningSession(review, "ann").next()
        assert item is not None and item.ranking_id is not None and item.rank_position == 1
        text = f"{item.record.title} {item.record.abstract}".lower()
        assert "biosimilar" in text
    again, created = ensure_demo(tmp_path / "demo")
    with again:
        assert not created and status(again)["records_total"] == 882


def test_demo_refuses_a_folder_holding_another_review(tmp_path: Path) -> None:
    import pytest

    from screener.workflow.review import ReviewError, create_review

    protocol = Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml"
    create_review(tmp_path / "mine", protocol).close()
    with pytest.raises(ReviewError, match="holds another review .*not the demo"):
        ensure_demo(tmp_path / "mine")
