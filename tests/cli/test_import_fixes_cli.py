"""CLI: a wrong import put right. `correct-import` sets the source name, kind or search
date an import was given; the report and the PRISMA counts follow, `log verify` accepts
the correction (logged) and the import's own event stays as it was."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")
RIS = REPO / "tests" / "data" / "formats" / "ris"


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def _count(out: str) -> int:
    return int(re.search(r": (\d+) records? \(", out).group(1))  # type: ignore[union-attr]


def _review(tmp_path: Path, db_url: str | None) -> tuple[list[str], int, int]:
    """PubMed searched 2026-10-01, screening begun, then the Embase file imported as a
    second 'PubMed' with a mistyped date (as the tester did)."""
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL,
        *(["--db", db_url] if db_url else []))
    loc = ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]
    first = _count(run("import", str(RIS / "asreview_web_of_science.ris"), "--source",
                       "PubMed", "--searched", "2026-10-01", *loc))
    run("dedup", *loc)
    for record in ("1", "2"):
        run("decide", record, "--reviewer", "ann", "--label", "exclude", *loc)
    wrong = _count(run("import", str(RIS / "asreview_embase.ris"), "--source", "PubMed",
                       "--searched", "2026-11-01", *loc))
    return loc, first, wrong


def _report(loc: list[str], tmp_path: Path, name: str) -> str:
    out = tmp_path / f"{name}.md"
    run("report", "--out", str(out), *loc)
    return " ".join(out.read_text(encoding="utf-8").split())


def test_an_import_given_the_wrong_source_and_date_is_corrected(
        tmp_path: Path, db_url: str | None) -> None:
    loc, first, wrong = _review(tmp_path, db_url)
    before = _report(loc, tmp_path, "before")
    assert "updated on 2026-11-01 (PubMed)" in before
    assert f"| Records identified: PubMed (database) | {first + wrong} |" in before

    out = run("correct-import", "2", "--source", "Embase", "--searched", "2026-10-01",
              "--reason", "the Embase export, imported under PubMed's name", *loc)
    assert ("import 2 corrected: source 'PubMed' -> 'Embase', searched '2026-11-01' -> "
            "'2026-10-01'") in out, out
    after = _report(loc, tmp_path, "after")
    assert "updated on" not in after, after
    assert f"| Records identified: PubMed (database) | {first} |" in after
    assert f"| Records identified: Embase (database) | {wrong} |" in after
    verify = CliRunner().invoke(main, ["log", "verify", *loc])
    assert verify.exit_code == 0 and "tables OK" in verify.output, verify.output
    events = run("log", "events", *loc)
    assert "imported as source 2 (PubMed, asreview_embase.ris)" in events   # as recorded
    assert ("source 2 corrected: source name 'PubMed' -> 'Embase', search date "
            "'2026-11-01' -> '2026-10-01' (the Embase export") in " ".join(events.split())
    run("correct-import", "2", "--kind", "register", "--reason", "a trials register", *loc)
    assert f"| Records identified: Embase (register) | {wrong} |" in _report(loc, tmp_path, "kind")
    assert CliRunner().invoke(main, ["log", "verify", *loc]).exit_code == 0


def test_correct_import_refuses_what_it_cannot_do(tmp_path: Path,
                                                  db_url: str | None) -> None:
    loc, first, wrong = _review(tmp_path, db_url)
    missing = " ".join(run("correct-import", "7", "--source", "Embase", "--reason", "r",
                           *loc, code=2).split())
    assert (f"no import 7 in this review (its imports: 1: PubMed (asreview_web_of_science.ris, "
            f"{first} records); 2: PubMed (asreview_embase.ris, {wrong} records))") in missing, (
        missing)
    case = " ".join(run("correct-import", "2", "--source", "pubmed", "--reason", "r", *loc,
                        code=2).split())
    assert "has a source named 'PubMed'" in case and "Nothing was changed" in case, case
    date = run("correct-import", "2", "--searched", "2026-13-01", "--reason", "r", *loc,
               code=2)
    assert "--searched '2026-13-01'" in date, date
    same = run("correct-import", "2", "--source", "PubMed", "--reason", "r", *loc, code=2)
    assert "has these values already" in same, same
    assert "give what to correct" in run("correct-import", "2", "--reason", "r", *loc, code=2)
    assert "source 2 corrected" not in run("log", "events", *loc)


def _ids(tmp_path: Path, db_url: str | None) -> dict[int, list[int]]:
    """Record ids per source id."""
    from screener.storage import repo
    from screener.workflow.review import open_review

    with open_review(tmp_path / "rev", db_url) as review, review.read() as session:
        return {s["id"]: repo.source_record_ids(session, s["id"])
                for s in repo.sources(session)}


def test_an_import_whose_records_were_decided_is_not_withdrawn(
        tmp_path: Path, db_url: str | None) -> None:
    loc, first, wrong = _review(tmp_path, db_url)
    record = str(_ids(tmp_path, db_url)[2][0])
    run("decide", record, "--reviewer", "bob", "--label", "exclude", "--new-reviewer", *loc)
    run("decide", record, "--reviewer", "bob", "--label", "include", *loc)
    refused = " ".join(run("withdraw-import", "2", "--reason", "wrong file", *loc,
                           code=2).split())
    assert ("1 record of import 2 (PubMed, asreview_embase.ris, "
            f"{wrong} records) has decisions (2 decision rows: bob: 2)") in refused, refused
    assert "nothing was withdrawn" in refused, refused
    assert f"records: {first + wrong} identified" in run("status", *loc)
    assert "withdrawn" not in run("log", "events", *loc)


def test_a_wrong_file_imported_after_screening_began_is_withdrawn(
        tmp_path: Path, db_url: str | None) -> None:
    loc, first, wrong = _review(tmp_path, db_url)
    assert "imported after screening began" in run("status", *loc)
    before = _ids(tmp_path, db_url)
    out = run("withdraw-import", "2", "--reason", "the Embase file of another review", *loc)
    assert f"import 2 (PubMed, {wrong} records) withdrawn" in out, out
    status = run("status", *loc)
    assert f"records: {first} identified" in status and "imported after" not in status, status
    report = _report(loc, tmp_path, "report")
    assert "updated on" not in report
    assert f"| Records identified: PubMed (database) | {first} |" in report
    assert (f"import 2 (PubMed, asreview\\_embase.ris, {wrong} records) was withdrawn on "
            ) in report and "(the Embase file of another review)" in report, report
    verify = CliRunner().invoke(main, ["log", "verify", *loc])
    assert verify.exit_code == 0 and "tables OK" in verify.output, verify.output
    events = run("log", "events", *loc)
    assert "imported as source 2 (PubMed, asreview_embase.ris)" in events   # kept
    assert "import of source 2 withdrawn" in events
    # the right file imported then: new ids, which name no withdrawn record or source
    run("import", str(RIS / "asreview_embase.ris"), "--source", "Embase", "--searched",
        "2026-10-01", *loc)
    after = _ids(tmp_path, db_url)
    assert 2 not in after and min(after) == 1 and max(after) > 2
    assert not set(after[max(after)]) & set(before[2])
    assert CliRunner().invoke(main, ["log", "verify", *loc]).exit_code == 0


def test_records_removed_as_copies_of_a_withdrawn_imports_records_count_again(
        tmp_path: Path, db_url: str | None) -> None:
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL,
        *(["--db", db_url] if db_url else []))
    loc = ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]
    file = str(RIS / "asreview_web_of_science.ris")
    n = _count(run("import", file, "--source", "Scopus", *loc))
    run("import", file, "--source", "Web of Science", "--again", *loc)
    removed = run("dedup", *loc)
    assert f"records: {2 * n} identified, {n} duplicates removed" in run("status", *loc), (
        removed)
    ids = _ids(tmp_path, db_url)
    out = CliRunner().invoke(main, ["withdraw-import", "1", "--reason", "wrong", *loc])
    assert out.exit_code == 0, out.output
    assert f"{n} records removed as copies of its records count again" in out.stderr
    assert f"records: {n} identified, 0 duplicates removed, {n} unique" in run("status", *loc)
    assert _ids(tmp_path, db_url) == {2: ids[2]}
    assert "No record was removed as a duplicate" in _report(loc, tmp_path, "r")
    verify = CliRunner().invoke(main, ["log", "verify", *loc])
    assert verify.exit_code == 0 and "tables OK" in verify.output, verify.output


def test_status_and_import_show_the_number_withdraw_import_and_correct_import_take(
        tmp_path: Path, db_url: str | None) -> None:
    loc, first, wrong = _review(tmp_path, db_url)
    ids = sorted(_ids(tmp_path, db_url))
    out = run("import", str(RIS / "asreview_scopus_first2.ris"), "--source", "Scopus", *loc)
    third = max(_ids(tmp_path, db_url))
    assert f"imported as import {third}" in out, out
    status = run("status", *loc)
    assert f"searched 2026-10-01 (import {ids[0]})" in status, status
    assert f"{wrong} from asreview_embase.ris, searched 2026-11-01 (import {ids[1]})" in status
    sources = json.loads(run("status", "--json", *loc))["sources"]
    assert [(s["import"], s["file"]) for s in sources] == [
        (ids[0], "asreview_web_of_science.ris"), (ids[1], "asreview_embase.ris"),
        (third, "asreview_scopus_first2.ris")]
    # the number status shows is the one withdraw-import takes
    run("withdraw-import", str(ids[1]), "--reason", "wrong file", *loc)
    assert "asreview_embase.ris" not in run("status", *loc)
