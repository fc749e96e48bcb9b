"""workflow.drafts: notes kept when the screening UI was closed from outside are given back
to their reviewer at their stage only, once."""

from __future__ import annotations

from pathlib import Path

from screener.core.decisions import Stage
from screener.workflow.drafts import drafts_path, keep_drafts, take_drafts
from screener.workflow.review import Review, create_review

PROTOCOL = Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml"


def test_drafts_go_back_to_their_reviewer_and_stage_once(tmp_path: Path) -> None:
    review: Review = create_review(tmp_path / "r", PROTOCOL, None)
    with review:
        path = drafts_path(review, tmp_path / "elsewhere")
        assert path.parent == review.folder
        ta = Stage.TITLE_ABSTRACT
        keep_drafts(path, review, "ann", ta, {3: "check dose", 5: "ask authors", 6: ""})
        keep_drafts(path, review, "bob", ta, {3: "bob's"})
        keep_drafts(path, review, "ann", Stage.FULL_TEXT, {9: "full text"})
        keep_drafts(path, review, "ann", ta, {3: "check dose twice", 5: "ask authors"})
        assert take_drafts(path, review, "ann", ta) == {3: "check dose twice", 5: "ask authors"}
        assert take_drafts(path, review, "ann", ta) == {}  # once
        assert take_drafts(path, review, "ann", Stage.FULL_TEXT) == {9: "full text"}
        assert path.exists()
        assert take_drafts(path, review, "bob", ta) == {3: "bob's"}
        assert not path.exists()  # nothing left in it


def test_a_damaged_drafts_file_gives_none(tmp_path: Path) -> None:
    review: Review = create_review(tmp_path / "r", PROTOCOL, None)
    with review:
        path = drafts_path(review, tmp_path)
        path.write_text("{not json", encoding="utf-8")
        assert take_drafts(path, review, "ann", Stage.TITLE_ABSTRACT) == {}
