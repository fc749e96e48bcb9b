"""CLI: a wrong import put right. `correct-import` sets the source name, kind or search
date an import was given; the report and the PRISMA counts follow, `log verify` accepts
the correction (logged) and the import's own event stays as it was."""

from __future__ import annotations

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
