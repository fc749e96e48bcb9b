"""export prisma and report for an update screened in a review folder of its own:
--previous-studies and --previous-reports draw the PRISMA 2020 template for updated reviews."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from screener.core.decisions import Label, Stage
from screener.workflow.review import open_review

from .test_cli_base import MINIMAL, run, seed

PREVIOUS = ("--previous-studies", "4", "--previous-reports", "5")


def _screened(tmp_path: Path) -> str:
    """A review folder (an update's) of three records, one included at full text."""
    from screener.workflow.screening import record_decision

    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", MINIMAL)
    ids = seed(tmp_path, None)
    with open_review(Path(rev)) as review:
        record_decision(review, ids[0], "ann", Label.INCLUDE)
        for rid in ids[1:]:
            record_decision(review, rid, "ann", Label.EXCLUDE)
        record_decision(review, ids[0], "ann", Label.INCLUDE, stage=Stage.FULL_TEXT)
    return rev


def test_export_prisma_draws_the_updated_review_template(tmp_path: Path) -> None:
    """The updated-review template (previous studies, new and total included) could not be
    had: every format drew the new-review template, the CSV's previous rows kept 0."""
    rev = _screened(tmp_path)
    out = tmp_path / "exports"
    out.mkdir()
    for fmt in ("csv", "json", "svg", "pdf", "png"):
        run("export", "prisma", "--format", fmt, *PREVIOUS, "--review", rev,
            "--out", str(out / f"prisma.{fmt}"))
    with (out / "prisma.csv").open(encoding="utf-8") as fh:
        n = {row["data"]: row["n"] for row in csv.DictReader(fh)}
    assert (n["previous_studies"], n["previous_reports"]) == ("4", "5")
    assert (n["new_studies"], n["new_reports"]) == ("1", "1")
    assert (n["total_studies"], n["total_reports"]) == ("5", "6")
    data = json.loads((out / "prisma.json").read_text(encoding="utf-8"))
    assert data["previous_version"] == {"studies": 4, "reports": 5}
    assert data["included"] == {"studies": 1, "reports": 1}
    assert data["total"] == {"studies": 5, "reports": 6}
    svg = (out / "prisma.svg").read_text(encoding="utf-8")
    for text in ("Previous studies", "Studies included in previous version of review (n = 4)",
                 "New studies included in review (n = 1)",
                 "Total studies included in review (n = 5)",
                 "Reports of total included studies (n = 6)"):
        assert text in svg.replace("\n", " "), text
    assert (out / "prisma.png").stat().st_size and (out / "prisma.pdf").stat().st_size
    # without the options: the new-review template, as before
    run("export", "prisma", "--format", "csv", "--review", rev)
    with (Path(rev) / "exports" / "prisma.csv").open(encoding="utf-8") as fh:
        n = {row["data"]: row["n"] for row in csv.DictReader(fh)}
    assert (n["previous_studies"], n["new_studies"], n["total_studies"]) == ("0", "1", "1")
    run("export", "prisma", "--review", rev)
    assert "Previous studies" not in (Path(rev) / "exports" / "prisma.svg").read_text()


def test_report_counts_and_diagram_of_an_updated_review(tmp_path: Path) -> None:
    rev = _screened(tmp_path)
    run("report", *PREVIOUS, "--review", rev)
    text = (Path(rev) / "exports" / "report.md").read_text(encoding="utf-8")
    assert "| Studies included in previous version of review | 4 |" in text
    assert "| New studies included in review | 1 |" in text
    assert "| Reports of total included studies | 6 |" in text
    assert "Previous studies" in (Path(rev) / "exports" / "report-prisma.svg").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (("--previous-studies", "-1", "--previous-reports", "5"),
     "'-1' is not a count: give a whole number from 0"),
    (("--previous-studies", "4", "--previous-reports", "x"), "'x' is not a count"),
    (("--previous-studies", "4"), "--previous-studies needs --previous-reports too"),
    (("--previous-reports", "5"), "--previous-reports needs --previous-studies too"),
    (("--previous-studies", "5", "--previous-reports", "4"),
     "--previous-reports 4 is fewer than --previous-studies 5: each study included has at "
     "least one report"),
])
@pytest.mark.parametrize("command", [["export", "prisma"], ["report"]])
def test_bad_previous_version_is_refused(tmp_path: Path, command: list[str],
                                         args: tuple[str, ...], message: str) -> None:
    rev = _screened(tmp_path)
    code, out = run(*command, *args, "--review", rev, ok=False)
    assert code == 2 and message in out and "Traceback" not in out
    assert not (Path(rev) / "exports").exists() or not any((Path(rev) / "exports").iterdir())


@pytest.mark.parametrize("command", [["export", "prisma"], ["report"]])
def test_previous_studies_are_refused_without_a_full_text_stage(
        tmp_path: Path, command: list[str]) -> None:
    """A title/abstract-only protocol's diagram ends at "Reports sought for retrieval", yet
    --previous-studies drew the previous-studies box beside it with no arrow: in PRISMA
    2020's template for updated reviews that box flows only into the total of studies
    included, which such a diagram does not have."""
    from .test_cli_base import MINIMAL

    protocol = tmp_path / "ta-only.yaml"
    protocol.write_text(Path(MINIMAL).read_text(encoding="utf-8") + "stages: [title_abstract]\n",
                        encoding="utf-8")
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", str(protocol))
    seed(tmp_path, None)
    code, out = run(*command, *PREVIOUS, "--review", rev, ok=False)
    assert code == 2 and "Traceback" not in out
    assert ("--previous-studies and --previous-reports draw PRISMA 2020's template for "
            "updated reviews") in " ".join(out.split())
    assert "no full-text stage" in out
    assert not (Path(rev) / "exports").exists() or not any((Path(rev) / "exports").iterdir())
    run(*command, "--review", rev)  # without them: the diagram that ends at the reports sought
