"""CLI: `screener reassign` moves decisions made under a mistyped or wrong reviewer name to
the reviewer meant, in one transaction, on both databases; what it refuses changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from screener.cli import main
from screener.storage import repo
from screener.workflow.review import open_review

REPO = Path(__file__).resolve().parents[2]
DUAL = str(REPO / "protocols" / "dual-screening.yaml")
RIS = str(REPO / "tests" / "data" / "formats" / "ris" / "asreview_web_of_science.ris")


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _review(tmp_path: Path, db_url: str | None) -> list[str]:
    run("init", str(tmp_path / "rev"), "--protocol", DUAL,
        *(["--db", db_url] if db_url else []))
    loc = ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]
    run("import", RIS, *loc)
    return loc


def _decide(loc: list[str], record: int, reviewer: str, label: str, *extra: str,
            code: int = 0) -> str:
    return run("decide", str(record), "--reviewer", reviewer, "--label", label, *extra, *loc,
               code=code)


def _log_rows(tmp_path: Path, db_url: str | None) -> list[dict[str, str]]:
    """The decision log (blind: no reviewer's export shows the others')."""
    with open_review(tmp_path / "rev", db_url) as review, review.read() as session:
        return [{"record_id": str(d.record_id), "reviewer": d.reviewer,
                 "label": d.label.value, "reason_id": d.reason_id or "", "note": d.note,
                 "row_hash": d.row_hash} for d in repo.decision_log(session)]


def test_decisions_made_under_a_typo_move_to_the_reviewer_meant(tmp_path: Path,
                                                                db_url: str | None) -> None:
    loc = _review(tmp_path, db_url)
    for record in range(1, 7):
        _decide(loc, record, "carl", "include", *(["--new-reviewer"] if record > 1 else []))
    _decide(loc, 7, "ann", "include", "--new-reviewer")
    _decide(loc, 6, "anne", "exclude", "--reason", "population", "--note", "rat study",
            "--new-reviewer")                                     # ann, mistyped
    for record in range(1, 6):
        _decide(loc, record, "anne", "include")
    _decide(loc, 3, "anne", "exclude", "--reason", "design")      # a changed decision
    _decide(loc, 7, "anne", "exclude", "--reason", "design")      # ann decided 7 herself
    refused = _decide(loc, 1, "bob", "include", "--new-reviewer", code=2)
    assert "already settled" in refused, refused
    before = _log_rows(tmp_path, db_url)

    clash = run("reassign", "--from", "anne", "--to", "ann", *loc, code=2)
    said = " ".join(clash.split())
    assert "ann has decided 1 record anne decided too (record 7 at title_abstract)" in said
    assert "nothing was moved" in said and "exclude" not in said, said
    assert len(_log_rows(tmp_path, db_url)) == len(before)

    out = run("reassign", "--from", "anne", "--to", "ann", *[
        a for r in range(1, 7) for a in ("--record", str(r))], *loc)
    assert "moved 6 decisions from anne to ann (records 1, 2, 3, 4, 5, 6)" in out, out
    assert "8 decision log rows" not in out   # record 3's changed decision: 2 undo rows
    assert "13 decision log rows written" in out, out

    rows = _log_rows(tmp_path, db_url)
    assert rows[:len(before)] == before                           # the log is append-only
    added = rows[len(before):]
    assert [r["label"] for r in added if r["reviewer"] == "anne"] == ["undone"] * 7
    moved = {r["record_id"]: r for r in added if r["reviewer"] == "ann"}
    assert sorted(moved, key=int) == ["1", "2", "3", "4", "5", "6"]
    assert (moved["6"]["label"], moved["6"]["reason_id"]) == ("exclude", "population")
    assert moved["6"]["note"].startswith("rat study [moved from anne: decision ")
    assert (moved["3"]["label"], moved["3"]["reason_id"]) == ("exclude", "design")
    verify = CliRunner().invoke(main, ["log", "verify", *loc])
    assert verify.exit_code == 0, verify.output
    assert "6 decisions moved from anne to ann" in run("log", "events", *loc)

    status = run("status", *loc)
    assert "ann: 7 screened" in status and "anne: 1 screened" in status, status  # 7 stays
    run("conflicts", "--reviewer", "Adjudicator", *loc)           # blinding ends
    pairs = json.loads(run("agreement", "--json", *loc))["pairs"]
    named = [sorted(p["reviewers"]) for p in pairs]
    # carl's pair is ann now; anne keeps only record 7, which ann decided too
    assert sorted(named) == [["ann", "anne"], ["ann", "carl"]], pairs
    run("report", "--out", str(tmp_path / "report.md"), *loc)
    report = " ".join((tmp_path / "report.md").read_text(encoding="utf-8").split())
    assert ("6 decisions made under the name anne were moved to ann (`screener reassign`"
            in report), report


def test_reassign_refuses_the_adjudicator_and_names_that_are_not_reviewers(
        tmp_path: Path, db_url: str | None) -> None:
    loc = _review(tmp_path, db_url)
    _decide(loc, 1, "ann", "include")
    typo = run("reassign", "--from", "anna", "--to", "bob", *loc, code=2)
    assert "--from 'anna' is not a reviewer" in typo and "did you mean" in typo, typo
    new = run("reassign", "--from", "ann", "--to", "bob", *loc, code=2)
    assert "--new-reviewer" in new, new
    adjudicator = run("reassign", "--from", "ann", "--to", "Adjudicator", *loc, code=2)
    assert "is the adjudicator" in adjudicator, adjudicator
    run("reassign", "--from", "ann", "--to", "bob", "--new-reviewer", *loc)
    rows = _log_rows(tmp_path, db_url)
    assert [(r["reviewer"], r["label"]) for r in rows] == [
        ("ann", "include"), ("ann", "undone"), ("bob", "include")]
