"""CLI: repeating a command whose result already holds (a script run again) exits 0, says
nothing changed and writes nothing: decide, resolve, not-retrieved and its --undo."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from screener.cli import main
from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.review import open_review
from screener.workflow.screening import record_decision

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def review_of(tmp_path: Path, db_url: str | None, protocol: str) -> tuple[list[str], list[int]]:
    run("init", str(tmp_path / "rev"), "--protocol", str(REPO / "protocols" / protocol),
        *(["--db", db_url] if db_url else []))
    with open_review(tmp_path / "rev", db_url) as review, review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(3)])
    return (["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]), ids


def written(tmp_path: Path, db_url: str | None) -> tuple[int, int]:
    """(decision log rows, event log rows)."""
    with open_review(tmp_path / "rev", db_url) as review, review.read() as s:
        return len(repo.decision_log(s)), len(repo.event_log(s))


def test_a_decision_or_mark_repeated_changes_nothing_and_exits_0(
        tmp_path: Path, db_url: str | None) -> None:
    loc, ids = review_of(tmp_path, db_url, "minimal.yaml")
    decide = ["decide", str(ids[0]), "--reviewer", "ann", "--label", "exclude",
              "--reason", "population", "--note", "adults", *loc]
    assert "decision 1:" in run(*decide)
    before = written(tmp_path, db_url)
    out = run(*decide)
    assert "already" in out and "(decision 1)" in out and "nothing changed" in out
    assert written(tmp_path, db_url) == before
    # a different note is a change: a new row, as before
    assert "decision 2:" in run(*decide[:-len(loc) - 1], "adults only", *loc)

    for rid in ids[1:]:
        run("decide", str(rid), "--reviewer", "ann", "--label", "include", *loc)
    assert "marked not retrieved" in run("not-retrieved", str(ids[1]), *loc)
    before = written(tmp_path, db_url)
    out = run("not-retrieved", str(ids[1]), *loc)
    assert "already" in out and "nothing changed" in out
    assert written(tmp_path, db_url) == before
    assert "sought again" in run("not-retrieved", str(ids[1]), "--undo", *loc)
    before = written(tmp_path, db_url)
    out = run("not-retrieved", str(ids[1]), "--undo", *loc)
    assert "not marked" in out and "nothing changed" in out
    assert written(tmp_path, db_url) == before
    # what cannot hold is still refused: a report that did not pass title/abstract
    assert "no full-text report" in run("not-retrieved", str(ids[0]), *loc, code=2)
    assert "no full-text" in run("not-retrieved", str(ids[0]), "--undo", *loc, code=2)


def test_a_resolution_repeated_changes_nothing(tmp_path: Path, db_url: str | None) -> None:
    loc, ids = review_of(tmp_path, db_url, "dual-screening.yaml")
    with open_review(tmp_path / "rev", db_url) as review:
        record_decision(review, ids[0], "ann", Label.INCLUDE)
        record_decision(review, ids[0], "bob", Label.EXCLUDE)
    run("conflicts", "--reviewer", "Adjudicator", *loc)
    resolve = ["resolve", str(ids[0]), "--reviewer", "Adjudicator", "--label", "include", *loc]
    assert "decision 3:" in run(*resolve)
    before = written(tmp_path, db_url)
    out = run(*resolve)
    assert "already" in out and "(decision 3)" in out and "nothing changed" in out
    assert written(tmp_path, db_url) == before
    # decide by the adjudicator resolves, and is a repeat as well
    assert "nothing changed" in run("decide", str(ids[0]), "--reviewer", "Adjudicator",
                                    "--label", "include", *loc)
    assert written(tmp_path, db_url) == before
