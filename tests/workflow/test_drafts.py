"""workflow.drafts: notes kept when the screening UI was closed from outside are given back
to their reviewer at their stage only, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.core.decisions import Stage
from screener.workflow.drafts import CONFLICTS, drafts_path, keep_drafts, take_drafts
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
        # an adjudicator's note for a conflict's resolution goes back to the conflicts screen
        keep_drafts(path, review, "adj", ta, {4: "resolve as include?"}, CONFLICTS)
        assert take_drafts(path, review, "adj", ta) == {}
        assert take_drafts(path, review, "adj", ta, CONFLICTS) == {4: "resolve as include?"}


def test_a_damaged_drafts_file_gives_none(tmp_path: Path) -> None:
    review: Review = create_review(tmp_path / "r", PROTOCOL, None)
    with review:
        path = drafts_path(review, tmp_path)
        path.write_text("{not json", encoding="utf-8")
        assert take_drafts(path, review, "ann", Stage.TITLE_ABSTRACT) == {}


def test_drafts_follow_the_review_not_the_way_its_path_was_typed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notes kept when the terminal closed were given back only when the review's path was
    typed as before: opened by its absolute path, from a backup copy of its folder, or
    after the folder was moved, they were never offered. They follow the review now; a
    review opened by --db alone (its file beside ui.json) still gets only its own."""
    import shutil

    from screener.storage import sqlite_url
    from screener.workflow.review import open_review

    ta = Stage.TITLE_ABSTRACT
    create_review(tmp_path / "r", PROTOCOL, None).close()
    monkeypatch.chdir(tmp_path)
    with open_review(Path("r")) as review:  # `cd ..; screener screen r`
        keep_drafts(drafts_path(review, tmp_path), review, "ann", ta, {3: "check dose"})
    with open_review(tmp_path / "r") as review:  # the same folder, its absolute path
        assert take_drafts(drafts_path(review, tmp_path), review, "ann", ta) == {
            3: "check dose"}
        keep_drafts(drafts_path(review, tmp_path), review, "ann", ta, {4: "ask authors"})
    shutil.copytree(tmp_path / "r", tmp_path / "bk-r")
    monkeypatch.chdir(tmp_path / "bk-r")
    with open_review() as review:  # a backup copy: cd bk-r; screener screen
        assert take_drafts(drafts_path(review, tmp_path), review, "ann", ta) == {
            4: "ask authors"}
        keep_drafts(drafts_path(review, tmp_path), review, "ann", ta, {5: "dose?"})
    (tmp_path / "bk-r").rename(tmp_path / "moved")
    with open_review(tmp_path / "moved") as review:
        assert take_drafts(drafts_path(review, tmp_path), review, "bob", ta) == {}
        assert take_drafts(drafts_path(review, tmp_path), review, "ann", ta) == {5: "dose?"}

    # --db alone: the file is beside ui.json, shared by every review opened that way
    create_review(tmp_path / "other", PROTOCOL, None).close()
    ui = tmp_path / "config"
    ui.mkdir()
    db = tmp_path / "r" / "review.db"
    with open_review(None, sqlite_url(db)) as review:
        assert review.folder is None
        keep_drafts(drafts_path(review, ui), review, "ann", ta, {7: "seven"})
    monkeypatch.chdir(tmp_path / "r")
    with open_review(None, "sqlite:///review.db") as review:  # the same file, spelled anew
        with open_review(None, sqlite_url(tmp_path / "other" / "review.db")) as other:
            assert take_drafts(drafts_path(other, ui), other, "ann", ta) == {}
        assert take_drafts(drafts_path(review, ui), review, "ann", ta) == {7: "seven"}


@pytest.mark.postgres
def test_drafts_of_a_postgresql_review_follow_it_whatever_its_url(
        tmp_path: Path, pg_url: str) -> None:
    """A PostgreSQL review opened by --db alone: its notes come back when its URL is
    spelled another way (the driver named, as SQLAlchemy writes it)."""
    from screener.workflow.review import open_review

    ta = Stage.TITLE_ABSTRACT
    create_review(tmp_path / "r", PROTOCOL, pg_url).close()
    with open_review(None, pg_url) as review:
        keep_drafts(drafts_path(review, tmp_path), review, "ann", ta, {2: "two"})
    spelled = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    with open_review(None, spelled) as review:
        assert take_drafts(drafts_path(review, tmp_path), review, "ann", ta) == {2: "two"}


def test_drafts_the_review_folder_cannot_take_are_kept_elsewhere_and_said(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review folder that could not take unsaved-notes.json (read-only, full disk) lost
    the notes without a word. They go to the user's folder now (given back from there next
    time), else to a new file in the temporary folder, else into the message itself."""
    import tempfile

    from screener.workflow.drafts import drafts_paths, keep_drafts_somewhere

    ta = Stage.TITLE_ABSTRACT
    review: Review = create_review(tmp_path / "r", PROTOCOL, None)
    with review:
        assert review.folder is not None
        (review.folder / "unsaved-notes.json").mkdir()  # cannot be written (as root too)
        mine = tmp_path / "config" / "screener"
        paths = drafts_paths(review, mine)
        said = keep_drafts_somewhere(paths, review, "ann", ta, {3: "check dose"})
        assert str(review.folder / "unsaved-notes.json") in said
        assert f"they are kept in {mine / 'unsaved-notes.json'}" in said
        assert take_drafts(paths[1], review, "ann", ta) == {3: "check dose"}

        blocked = tmp_path / "a file"
        blocked.write_text("", encoding="utf-8")
        paths = drafts_paths(review, blocked / "screener")
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        said = keep_drafts_somewhere(paths, review, "ann", ta, {3: "check dose"})
        kept = [p for p in tmp_path.iterdir() if p.name.startswith("screener-unsaved-notes-")]
        assert len(kept) == 1 and f"they are in {kept[0]}" in said
        assert "check dose" in kept[0].read_text(encoding="utf-8")

        monkeypatch.setattr(tempfile, "tempdir", str(blocked / "tmp"))
        said = keep_drafts_somewhere(paths, review, "ann", ta, {3: "check dose", 4: ""})
        assert said.endswith("nor in the temporary folder: record 3: 'check dose'")
        assert keep_drafts_somewhere(paths, review, "ann", ta, {4: ""}) == ""  # none to keep
