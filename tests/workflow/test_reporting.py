"""Reporting on both databases: PRISMA counts equal direct database queries, the log
verifies and catches tampering, outputs are never overwritten by accident, and a RIS
export reads back as the same records."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from screener import __version__
from screener.core.decisions import Label, Stage
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.reporting import (
    export_log,
    export_prisma,
    export_records,
    prisma_counts,
    verify_log,
    write_report,
)
from screener.workflow.review import Review, ReviewError
from screener.workflow.screening import mark_not_retrieved, record_decision


def build(review: Review) -> dict[str, list[int]]:
    """Two databases, a register and citation searching; duplicates; two reviewers at
    title/abstract; full text with a not-retrieved report and reasons."""
    from screener.workflow.importing import import_records

    ids: dict[str, list[int]] = {}
    for name, kind, n in (("PubMed", "database", 6), ("Embase", "database", 4),
                          ("ClinicalTrials.gov", "register", 2),
                          ("Citation searching", "other", 2)):
        summary = import_records(review, [
            Record(title=f"{name} trial {i}", abstract="Ketamine RCT", year=2020,
                   authors=(f"Author{i}, A",), journal="J", volume="1", pages=str(i),
                   doi=f"10.1000/{name.lower().replace(' ', '')}.{i}")
            for i in range(n)], source=name, kind=kind)
        with review.read() as s:
            ids[name] = sorted(i for i, src in repo.record_sources(s).items()
                               if src == summary.source_id)
    with review.transaction() as s:
        # two Embase records duplicate PubMed ones (links set by hand, with the event
        # `screener dedup` writes, so the tables agree with the event log)
        repo.add_duplicate_links(s, [(1, ids["Embase"][0], ids["PubMed"][0], "doi", 1.0),
                                     (2, ids["Embase"][1], ids["PubMed"][1], "fuzzy", 0.97)])
        repo.add_event(s, "duplicates_removed", details={"removed": 2, "clusters": 2})
    pm, em, reg, cit = ids["PubMed"], ids["Embase"], ids["ClinicalTrials.gov"], ids["Citation searching"]
    ta = [(pm[0], Label.INCLUDE), (pm[1], Label.INCLUDE), (pm[2], Label.MAYBE),
          (pm[3], Label.EXCLUDE), (pm[4], Label.EXCLUDE), (em[2], Label.INCLUDE),
          (reg[0], Label.EXCLUDE), (cit[0], Label.INCLUDE), (cit[1], Label.EXCLUDE)]
    for rid, label in ta:
        record_decision(review, rid, "ann", label)
    record_decision(review, pm[5], "bob", Label.EXCLUDE, note="animal study")
    record_decision(review, pm[0], "ann", Label.INCLUDE, stage=Stage.FULL_TEXT)
    record_decision(review, pm[1], "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                    reason_id="design")
    record_decision(review, pm[2], "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                    reason_id="population")
    mark_not_retrieved(review, em[2])
    record_decision(review, cit[0], "ann", Label.INCLUDE, stage=Stage.FULL_TEXT)
    return ids


def sql(review: Review, query: str) -> int:
    with review.transaction() as s:
        return int(s.execute(text(query)).scalar() or 0)


def test_prisma_counts_equal_direct_queries(make_review: Callable[..., Any]) -> None:
    review = make_review()
    build(review)
    result = prisma_counts(review)
    c = result.counts
    assert dict(c.databases) == {"PubMed": 6, "Embase": 4}
    assert dict(c.registers) == {"ClinicalTrials.gov": 2}
    assert dict(c.other_sources) == {"Citation searching": 2}
    assert c.duplicates_removed == sql(review, "SELECT count(*) FROM duplicate_links "
                                               "WHERE undone_at IS NULL") == 2
    main = ("SELECT count(*) FROM records r JOIN sources s ON s.id = r.source_id "
            "WHERE s.kind IN ('database', 'register')")
    # a draft (2 records unscreened, the stopping rule not met): the records screened so far
    assert c.records_screened == sql(review, main) - 2 - 2 == 8
    latest = ("SELECT d.record_id, d.label, d.stage FROM decisions d WHERE d.id IN "
              "(SELECT max(id) FROM decisions GROUP BY record_id, reviewer_id, stage)")
    excluded = sql(review, f"SELECT count(*) FROM ({latest}) x JOIN records r ON r.id = "
                           "x.record_id JOIN sources s ON s.id = r.source_id WHERE "
                           "s.kind <> 'other' AND x.stage = 'title_abstract' AND "
                           "x.label = 'exclude'")
    assert c.records_excluded_human == excluded == 4
    # Embase 3 and the second register record are unscreened, and the stopping rule is not
    # met: they are not excluded, so the diagram does not add up yet and says so
    assert c.records_excluded_automation == 0
    assert c.reports_sought == 4 and c.reports_not_retrieved == 1
    assert c.reports_assessed == 3 and c.reports_excluded == 2
    assert dict(c.reports_excluded_reasons) == {"Wrong study design": 1, "Wrong population": 1}
    assert c.other_reports_sought == 1 and c.other_reports_assessed == 1
    assert c.studies_included == sql(review, f"SELECT count(*) FROM ({latest}) x WHERE "
                                             "x.stage = 'full_text' AND x.label = 'include'") == 2
    assert result.problems == ()  # 8 screened − 4 excluded = 4 sought: the boxes add up
    assert "DRAFT" in result.draft and "2 records not screened yet" in result.draft
    assert any("2 records have not been screened yet" in n and "not final" in n
               for n in result.notes)


def test_a_full_text_conflict_is_named_as_one_in_the_draft_line(
        make_review: Callable[..., Any], full_text_conflict: Callable[..., None]) -> None:
    """While the adjudicator had a full-text conflict to resolve, the draft line said the
    report was 'not assessed yet' (a helper's run): both reviewers had assessed it."""
    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(2)])
    record_decision(review, ids[1], "ann", Label.INCLUDE)
    record_decision(review, ids[1], "bob", Label.INCLUDE)
    full_text_conflict(review, ids[0])
    assert prisma_counts(review).draft == (
        "DRAFT, not final: 1 full-text report in conflict (to resolve); 1 full-text report "
        "not assessed yet")


def test_draft_line_and_notes_are_singular_for_one_record(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """The draft line every diagram carries and the notes the report prints read as
    sentences: "1 record has", not "1 record(s) have"."""
    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}", abstract="RCT")
                                           for i in range(3)])
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    record_decision(review, ids[1], "ann", Label.EXCLUDE)
    result = prisma_counts(review)
    assert result.draft == ("DRAFT, not final: 1 record not screened yet; 1 full-text "
                            "report not assessed yet")
    assert ("1 record has not been screened yet and the protocol's stopping rule is not "
            "met, so it is neither excluded nor sought: the diagram is not final"
            ) in result.notes
    svg = export_prisma(review, "svg", tmp_path / "one.svg")[0].read_text()
    assert "(s)" not in svg and "1 record not screened yet" in svg


def test_unscreened_records_are_excluded_by_automation_only_once_the_rule_is_met(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = make_review()  # stopping rule: 95% recall at 95% confidence, 50 in a row, 10%
    with review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}", abstract="RCT")
                                           for i in range(120)])
    for rid in ids[:10]:
        record_decision(review, rid, "ann", Label.INCLUDE)
    for rid in ids[10:110]:
        record_decision(review, rid, "ann", Label.EXCLUDE)
    # 10 left; 100 irrelevant in a row: stopping-test p = 10/110 = 0.09, not below 0.05
    early = prisma_counts(review)
    assert early.counts.records_excluded_automation == 0 and early.unscreened == 10
    assert any("not final" in n for n in early.notes)
    from screener.workflow.status import status

    assert status(review)["prisma"]["records_not_yet_screened"] == 10
    text = write_report(review, tmp_path / "early.md").read_text(encoding="utf-8")
    assert "Screening is not finished: 10 records have not been screened" in text
    assert 'id="draft"' in (tmp_path / "early-prisma.svg").read_text()  # the report's diagram
    assert "stopped by this rule" not in text and "reported as excluded by automation" not in text
    # every exported diagram says it is not final, not only a note on stderr
    svg, _ = export_prisma(review, "svg", tmp_path / "early.svg")
    assert 'id="draft"' in svg.read_text() and "DRAFT, not final: 10 records not screened" \
        in svg.read_text()
    data = json.loads(export_prisma(review, "json", tmp_path / "early.json")[0].read_text())
    assert data["final"] is False and data["draft"].startswith("DRAFT") and data["notes"]
    for rid in ids[110:115]:
        record_decision(review, rid, "ann", Label.EXCLUDE)
    # 5 left, 105 in a row: p = 5/110 = 0.045 < 0.05 and every SAFE item passes
    late = prisma_counts(review)
    assert late.counts.records_excluded_automation == 5
    assert status(review)["prisma"]["records_not_yet_screened"] == 0
    assert not any(p.startswith("Reports sought") for p in late.problems)  # title/abstract adds up
    assert late.counts.records_excluded_human == 105
    assert any("counted as excluded by automation tools" in n for n in late.notes)
    text = write_report(review, tmp_path / "late.md").read_text(encoding="utf-8")
    # when it stopped (the last title/abstract decision), and the estimated recall with the
    # interval a reader needs to judge it, not a bare point estimate
    assert re.search(r"Title and abstract screening stopped on \d{4}-\d\d-\d\d with this rule "
                     r"met \(", text)
    assert re.search(r"estimated recall: \d+% \(\d+% to \d+%\)", text)  # as status says it
    assert "The estimated recall is the relevant records found" in " ".join(text.split())
    late_svg = export_prisma(review, "svg", tmp_path / "late.svg")[0].read_text()
    # title/abstract is done (the rule met); the 10 full-text reports still keep it a draft
    assert "DRAFT, not final: 10 full-text reports not assessed yet" in late_svg
    assert "(n = 5) are reported as excluded by automation tools" in text


def test_svg_numbers_match_status(make_review: Callable[..., Any], tmp_path: Path) -> None:
    from screener.workflow.status import status

    review = make_review()
    build(review)
    path, _ = export_prisma(review, "svg", tmp_path / "p.svg")
    svg = path.read_text(encoding="utf-8")
    prisma = status(review)["prisma"]
    for key, box in (("records_screened", "Records screened"),
                     ("duplicates_removed", "Duplicate records removed"),
                     ("reports_sought", "Reports sought for retrieval"),
                     ("reports_assessed", "Reports assessed for eligibility"),
                     ("studies_included", "Studies included in review")):
        text_after = svg.split(box, 1)[1]
        number = int(re.search(r"n = (\d+)", text_after).group(1))  # type: ignore[union-attr]
        assert number == prisma[key], key


def test_log_verify_catches_edit_delete_reorder(make_review: Callable[..., Any]) -> None:
    review = make_review()
    build(review)
    assert verify_log(review)[0] is True
    with review.transaction() as s:
        s.execute(text("UPDATE decisions SET label = 'include' WHERE seq = 4"))
    ok, _, problem = verify_log(review)[:3]
    assert not ok and "seq 4" in problem and "edited" in problem
    with review.transaction() as s:
        s.execute(text("UPDATE decisions SET label = 'exclude' WHERE seq = 4"))
    assert verify_log(review)[0] is True
    with review.transaction() as s:
        s.execute(text("DELETE FROM decisions WHERE seq = 6"))
    ok, _, problem = verify_log(review)[:3]
    assert not ok and "6" in problem and "removed" in problem


def test_log_verify_catches_reordering(make_review: Callable[..., Any]) -> None:
    review = make_review()
    build(review)
    with review.transaction() as s:
        s.execute(text("UPDATE decisions SET seq = -1 WHERE seq = 2"))
        s.execute(text("UPDATE decisions SET seq = 2 WHERE seq = 3"))
        s.execute(text("UPDATE decisions SET seq = 3 WHERE seq = -1"))
    ok, _, problem = verify_log(review)[:3]
    assert not ok and problem.startswith("row 2: seq 2 (decision 3)") and "reordered" in problem


def test_exported_log_verifies_and_escapes_formulas(make_review: Callable[..., Any],
                                                    tmp_path: Path) -> None:
    from screener.workflow.reporting import verify_log_file

    review = make_review()
    (rid,) = build(review)["ClinicalTrials.gov"][1:2]
    record_decision(review, rid, "ann", Label.MAYBE, note="=HYPERLINK(\"http://x\")")
    jsonl, n = export_log(review, "jsonl", tmp_path / "log.jsonl")
    assert verify_log_file(jsonl)[:3] == (True, n, "")
    csv_path, _ = export_log(review, "csv", tmp_path / "log.csv")
    assert "'=HYPERLINK" in csv_path.read_text(encoding="utf-8")
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    assert '"label":"maybe"' in lines[2]
    lines[2] = lines[2].replace('"label":"maybe"', '"label":"include"', 1)
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ok, _, problem = verify_log_file(jsonl)[:3]
    assert not ok and problem.startswith("row 3: ")  # the third line, edited


def test_outputs_are_not_overwritten(make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = make_review()
    build(review)
    target = tmp_path / "p.csv"
    target.write_text("keep me")
    with pytest.raises(ReviewError, match="exists; pass --force"):
        export_prisma(review, "csv", target)
    assert target.read_text() == "keep me"
    export_prisma(review, "csv", target, force=True)
    assert "records_screened" in target.read_text()
    link = tmp_path / "link.svg"
    link.symlink_to(tmp_path / "elsewhere.svg")
    with pytest.raises(ReviewError, match="symbolic link"):
        export_prisma(review, "svg", link, force=True)
    with pytest.raises(ReviewError, match="no such folder"):
        export_prisma(review, "svg", tmp_path / "missing" / "p.svg")
    default, _ = export_prisma(review, "json")
    assert default.parent.name == "exports" and default.exists()


def test_ris_export_reads_back(make_review: Callable[..., Any], tmp_path: Path) -> None:
    from screener.importers import read_file

    review = make_review()
    build(review)
    path, n = export_records(review, "all", Stage.TITLE_ABSTRACT, "ris", tmp_path / "r.ris")
    assert n == 12  # every record, decided (10) or not (2), duplicates left out
    back = read_file(path).records
    with review.transaction() as s:
        originals = {r.doi: r for r in repo.get_records(s)}
    assert len(back) == 12
    for record in back:
        original = originals[record.doi]
        for field in ("title", "abstract", "authors", "year", "journal", "volume", "pages"):
            assert getattr(record, field) == getattr(original, field), field


def test_export_all_is_the_deduplicated_library_with_sources(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    import csv

    from screener.workflow.importing import deduplicate, import_records

    review = make_review()
    for name, dois in (("PubMed", ("10.1/a", "10.1/b")), ("Embase", ("10.1/a", "10.1/c"))):
        import_records(review, [Record(title=f"Trial {d}", year=2020, doi=d) for d in dois],
                       source=name, kind="database")
    summary = deduplicate(review)
    assert summary.removed == 1  # nobody has screened anything yet
    path, n = export_records(review, "all", Stage.TITLE_ABSTRACT, "csv", tmp_path / "all.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    assert n == 3 and [r["doi"] for r in rows] == ["10.1/a", "10.1/b", "10.1/c"]
    assert {r["decision"] for r in rows} == {""}
    with review.read() as s:
        (link,) = repo.duplicate_links(s)
    assert rows[0]["sources"] == "PubMed; Embase"
    assert rows[0]["duplicates_removed"] == str(link["record_id"])
    assert (rows[1]["sources"], rows[2]["sources"]) == ("PubMed", "Embase")
    assert rows[1]["duplicates_removed"] == ""
    path, n = export_records(review, "all", Stage.TITLE_ABSTRACT, "ris", tmp_path / "all.ris")
    assert n == 3 and path.read_text(encoding="utf-8").count("N1  - screener: undecided") == 3
    _, n = export_records(review, "all", Stage.FULL_TEXT, "csv", tmp_path / "ft.csv")
    assert n == 0  # no report sought yet


def test_ris_names_the_databases_each_record_came_from(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """DB names the record's sources (its removed duplicates' included), not PubMed for
    every record with a PMID; the PMID still reads back from AN."""
    import rispy

    from screener.importers import read_file
    from screener.workflow.importing import deduplicate, import_records

    review = make_review()
    for name, records in (
            ("Embase", [Record(title="Trial a", year=2020, doi="10.1000/a", pmid="111"),
                        Record(title="Trial b", year=2020, doi="10.1000/b", pmid="222")]),
            ("Scopus", [Record(title="Trial a", year=2020, doi="10.1000/a", pmid="111"),
                        Record(title="Trial c", year=2020, doi="10.1000/c")])):
        import_records(review, records, source=name, kind="database")
    deduplicate(review)
    path, n = export_records(review, "all", Stage.TITLE_ABSTRACT, "ris", tmp_path / "all.ris")
    entries = {e["doi"]: e for e in rispy.loads(path.read_text(encoding="utf-8"))}
    assert entries["10.1000/a"]["name_of_database"] == "Embase; Scopus"
    assert entries["10.1000/b"]["name_of_database"] == "Embase"
    assert entries["10.1000/c"]["name_of_database"] == "Scopus"
    assert "PubMed" not in path.read_text(encoding="utf-8")
    assert {r.doi: r.pmid for r in read_file(path).records} == {
        "10.1000/a": "111", "10.1000/b": "222", "10.1000/c": ""}


def _both_diagrams(review: Any, tmp_path: Path) -> list[tuple[str, str]]:
    """The report's diagram (report-prisma.svg, written already) and `export prisma`'s:
    each SVG's text, and the words of its text runs joined (a footnote wraps over several)."""
    exported, _ = export_prisma(review, "svg", tmp_path / "prisma.svg")
    out = []
    for svg in (tmp_path / "report-prisma.svg", exported):
        drawn = svg.read_text(encoding="utf-8")
        out.append((drawn, " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", drawn))))
    return out


def test_report_has_methods_and_diagram(make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = make_review()
    build(review)
    path = write_report(review, tmp_path / "report.md")
    text_ = path.read_text(encoding="utf-8")
    assert "## Study selection" in text_ and "report-prisma.svg" in text_
    assert (tmp_path / "report-prisma.svg").exists()
    assert "Wrong study design" in text_
    # what `export prisma` prints about the numbers is in the report too
    notes = text_.split("Notes on the counts:", 1)[1]
    assert "records have not been screened yet" in notes
    assert "identified through other methods was excluded at title/abstract" in notes
    # the diagram says it too, under the column that has no box for it
    for drawn, words in _both_diagrams(review, tmp_path):
        assert "Records identified from\u2020:" in drawn
        assert ("\u2020Of the records identified through other methods, 1 was excluded at "
                "title/abstract screening; this column has no box for it.") in words


def test_report_refuses_a_link_or_folder_where_its_diagram_goes(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """The diagram beside the report gets the same checks as --out: a dangling link there
    was replaced silently, without --force; a failed write leaves no lone diagram."""
    review = make_review()
    build(review)
    (tmp_path / "r-prisma.svg").symlink_to(tmp_path / "elsewhere.svg")
    with pytest.raises(ReviewError, match=r"r-prisma.svg is a symbolic link"):
        write_report(review, tmp_path / "r.md", force=True)
    assert (tmp_path / "r-prisma.svg").is_symlink() and not (tmp_path / "r.md").exists()
    (tmp_path / "s-prisma.svg").mkdir()
    with pytest.raises(ReviewError, match=r"s-prisma.svg is a folder"):
        write_report(review, tmp_path / "s.md")
    (tmp_path / "t.md").mkdir()
    with pytest.raises(ReviewError, match=r"t.md is a folder"):
        write_report(review, tmp_path / "t.md")
    assert not (tmp_path / "t-prisma.svg").exists()


def test_a_report_that_cannot_be_written_leaves_no_diagram(
        make_review: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import screener.workflow.reporting as reporting

    review = make_review()
    build(review)
    real = reporting.write_text_atomic

    def full_disk(target: Path, text: str) -> Path:
        if target.suffix == ".md":
            raise OSError(28, "No space left on device")
        return real(target, text)

    monkeypatch.setattr(reporting, "write_text_atomic", full_disk)
    with pytest.raises(OSError):
        write_report(review, tmp_path / "u.md")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("u")) == []


def test_report_cites_both_log_heads_and_says_when_a_log_does_not_verify(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    from screener.workflow.reporting import verify_event_log

    review = make_review()
    build(review)
    decisions, events = verify_log(review), verify_event_log(review)
    text_ = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    trail = text_.split("## Audit trail", 1)[1]
    assert f"the decision log holds {decisions.rows} rows (newest hash `{decisions.head}`)" \
        in trail
    assert f"the event log holds {events.rows} events (newest hash `{events.head}`)" in trail
    assert "Both chains verified" in trail
    with review.transaction() as s:
        s.execute(text("UPDATE events SET actor = 'someone' WHERE seq = 1"))
    trail = write_report(review, tmp_path / "again.md").read_text(
        encoding="utf-8").split("## Audit trail", 1)[1]
    assert "**The event log does not verify:** row 1: event 1 (protocol_version)" in trail
    assert "Both chains verified" not in trail


def test_report_says_draft_at_its_top_and_names_a_stopping_rule_the_protocol_left_out(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = make_review()                      # minimal.yaml: no `stopping:` section
    build(review)
    text_ = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    first = text_.split("\n\n")[1]
    assert first.startswith("**DRAFT, not final: ")     # records are still unscreened
    assert ("The protocol did not specify the recall target, the confidence, the run of "
            "consecutive irrelevant records and the minimum share of records screened: "
            "screener's default values were applied") in " ".join(text_.split())


def test_removed_duplicates_take_no_decisions_and_status_agrees_with_prisma(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.status import status

    review = make_review()
    ids = build(review)
    removed = ids["Embase"][0]  # removed as a duplicate of PubMed 0 (cluster 1)
    with pytest.raises(ReviewError, match=r"duplicate of record \d+ \(dedup cluster 1\).*"
                                          r"screener dedup --undo 1"):
        record_decision(review, removed, "ann", Label.INCLUDE)
    # a record screened first and removed as a duplicate afterwards stops counting
    late = ids["PubMed"][3]  # excluded by ann
    before = status(review)
    with review.transaction() as s:
        repo.add_duplicate_links(s, [(3, late, ids["PubMed"][4], "fuzzy", 0.99)])
    after = status(review)
    assert after["outcomes"]["title_abstract"]["exclude"] == \
        before["outcomes"]["title_abstract"]["exclude"] - 1
    prisma = after["prisma"]
    # the same excluded records, less citation searching's (other methods, not in that box)
    assert prisma["records_excluded_human"] == after["outcomes"]["title_abstract"]["exclude"] - 1
    # PRISMA's "reports sought" counts every report sought, assessed or not
    assert after["reports"]["sought"] == prisma["reports_sought"] + prisma["other_reports_sought"]
    assert after["reports"] == {"sought": 5, "awaiting": 0, "not_retrieved": 1, "assessed": 4}


def test_exports_are_readable_as_a_plain_new_file_would_be(make_review: Callable[..., Any],
                                                           tmp_path: Path) -> None:
    import os
    import stat

    review = make_review()
    build(review)
    path, _ = export_prisma(review, "csv", tmp_path / "p.csv")
    mode = stat.S_IMODE(path.stat().st_mode)  # e.g. 0644 under umask 022, not mkstemp's 0600
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert mode == stat.S_IMODE(os.stat(plain).st_mode)


def _methods(review: Review) -> str:
    from screener.exports.report import ReportInputs, automation_paragraph, screening_paragraph
    from screener.workflow.reporting import build_report_inputs

    inputs = build_report_inputs(review)
    assert isinstance(inputs, ReportInputs)
    return screening_paragraph(inputs) + " " + automation_paragraph(inputs)


def _exclude_all_offered(review: Any, *names: str) -> None:
    """Each reviewer excludes every record `next` offers them (for a wrong design)."""
    from screener.workflow.screening import ScreeningSession

    for name in names:
        session = ScreeningSession(review, name)
        while (item := session.next()) is not None:
            assert item.record.id is not None
            session.decide(item.record.id, Label.EXCLUDE, reason_id="design")


def test_methods_text_reports_the_allocation_and_only_reviewers_who_decided(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.team import allocate

    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title=f"R{i}") for i in range(10)])
        repo.get_or_create_reviewer(s, "nobody")  # registered (export-reviewer), never decided
    allocate(review, ["ann", "bob"], 0.2, seed=3, new_reviewers=True)
    _exclude_all_offered(review, "ann", "bob")
    text = _methods(review)
    assert "Two reviewers took part in screening (ann and bob)" in text
    assert "nobody" not in text
    assert "allocated at random: 2 records were screened by two reviewers" in text
    assert "and 8 by one reviewer" in text
    assert "every record and every retrieved report was screened by two" not in text
    # full text was not allocated, and every record was excluded before it: said so
    # (PRISMA item 8 asks for every stage), without claiming two reviewers of no report
    assert "No report was screened at full text." in text
    assert "At full text every retrieved report" not in text


def test_a_review_with_nothing_imported_is_a_draft(make_review: Callable[..., Any]) -> None:
    """An empty review exported a diagram marked final: zero records found and screened."""
    from screener.workflow.reporting import prisma_counts

    result = prisma_counts(make_review())
    assert result.draft == "DRAFT, not final: no records imported yet"


def test_a_review_never_ranked_is_not_said_to_have_been_ranked(
        make_review: Callable[..., Any]) -> None:
    """'No automation tools were used' was followed by 'As the ranking puts likely relevant
    records first...' in a review where `rank` never ran (a helper's run)."""
    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"R{i}") for i in range(6)])
    for rid in ids[:3]:
        record_decision(review, rid, "ann", Label.EXCLUDE)
    text = " ".join(_methods(review).split())
    assert "No automation tools were used to prioritise records." in text
    assert "The stopping test is that of Callaghan" in text  # still said: status shows it
    assert "ranking" not in text.lower()


def test_methods_text_says_when_an_amendment_changed_the_screening_mode(
        make_review: Callable[..., Any], amend_to_single: Callable[..., None]) -> None:
    """Screened in pairs, then amended to one reviewer: the text said every record "was
    screened by one reviewer", which the review's own log contradicts."""
    from screener.workflow.team import list_conflicts

    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"R{i}") for i in range(4)])
    for rid in ids[:2]:
        record_decision(review, rid, "ann", Label.EXCLUDE, reason_id="design")
        record_decision(review, rid, "bob", Label.EXCLUDE, reason_id="design")
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")
    text = _methods(review)
    assert "screening mode was amended" not in text  # one mode so far: nothing to say
    amend_to_single(review, "go single")
    for rid in ids[2:]:
        record_decision(review, rid, "ann", Label.EXCLUDE, reason_id="design")
    text = " ".join(_methods(review).split())
    # the version in force, said as its rule: "each record was screened by one reviewer"
    # would be false of the two records screened in pairs
    assert ("Under the protocol version in force, each record and each retrieved report is "
            "screened by one reviewer.") in text
    assert "was screened by one reviewer" not in text
    assert re.search(r"The protocol's screening mode was amended during the review: version "
                     r"1 \(from [0-9-]{10}\) asked for two reviewers per record, blinded; "
                     r"version 2 \(from [0-9-]{10}\) asked for one reviewer per record; the "
                     r"sentences above describe the version in force\. At title and abstract, "
                     r"2 records were screened by two reviewers and 2 by one reviewer\.",
                     text), text


def test_the_amended_mode_history_gives_the_number_of_reviewers_of_each_record(
        make_review: Callable[..., Any], amend_to_single: Callable[..., None],
        tmp_path: Path) -> None:
    """Three reviewers per record, then amended to one: the methods text said "3 records
    were screened by two or more reviewers and 2 records by one" of two records three
    reviewers screened and one that only two did, which reads as if the protocol had asked
    for two. It now gives each number ("2 records were screened by three reviewers, 1 by
    two and 2 by one reviewer")."""
    from screener.workflow.team import list_conflicts

    protocol = tmp_path / "three.yaml"
    protocol.write_text((Path(__file__).resolve().parents[2] / "protocols"
                         / "dual-screening.yaml").read_text(encoding="utf-8")
                        .replace("reviewers_per_record: 2", "reviewers_per_record: 3")
                        .replace("blind: true", "blind: false"), encoding="utf-8")
    review = make_review(str(protocol))
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"R{i}") for i in range(5)])
    for rid, who in ((ids[0], ("ann", "bob", "cat")), (ids[1], ("ann", "bob", "cat")),
                     (ids[2], ("ann", "bob"))):
        for name in who:
            record_decision(review, rid, name, Label.EXCLUDE, reason_id="design")
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")
    amend_to_single(review, "go single")
    for rid in ids[3:]:
        record_decision(review, rid, "ann", Label.EXCLUDE, reason_id="design")
    text = " ".join(_methods(review).split())
    assert re.search(r"version 1 \(from [0-9-]{10}\) asked for three reviewers per record; "
                     r"version 2 \(from [0-9-]{10}\) asked for one reviewer per record; the "
                     r"sentences above describe the version in force\. At title and abstract, "
                     r"2 records were screened by three reviewers, 1 by two and 2 by one "
                     r"reviewer\.", text), text
    assert "two or more" not in text


def test_draft_methods_text_claims_the_protocol_number_only_for_what_was_screened(
        make_review: Callable[..., Any]) -> None:
    """Half-way through an allocated dual review, the full-text sentence (not allocated)
    speaks of the reports screened so far, not of every retrieved report; before any report
    is screened there, it says none has been."""
    from screener.workflow.team import allocate

    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title=f"R{i}") for i in range(10)])
    allocate(review, ["ann", "bob"], 0.2, seed=3)
    _exclude_all_offered(review, "ann")          # bob has not started
    text = _methods(review)
    assert "At full text" not in text and "every retrieved report" not in text
    assert "No report has been screened at full text yet." in text


@pytest.mark.parametrize(("protocol", "overlap", "said"), [
    # `allocate` without --overlap in a dual review: every record gets one screener
    ("dual-screening.yaml", 0.0, "allocated at random: each of the 10 records was screened "
                                 "by one reviewer only."),
    # a single-screening review with an overlap: some records got two
    ("minimal.yaml", 0.2, "allocated at random: 2 records were screened by two reviewers "
                          "and 8 by one reviewer."),
])
def test_methods_text_says_how_many_screened_each_record_when_an_allocation_changed_it(
        make_review: Callable[..., Any], protocol: str, overlap: float, said: str) -> None:
    from screener.workflow.team import allocate

    review = make_review(protocol)
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title=f"R{i}") for i in range(10)])
    allocate(review, ["ann", "bob"], overlap, seed=3)
    _exclude_all_offered(review, "ann", "bob")
    text = _methods(review)
    assert said in text
    # the protocol's number is not claimed for every record
    assert "every record and every retrieved report was screened by two" not in text
    assert "Each record and each retrieved report was screened by one reviewer" not in text


def test_methods_text_words_an_allocation_of_three_reviewers_per_record_with_three(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """reviewers_per_record: 3 with a 40% overlap: the text said '4 records were screened
    by two reviewers and 6 by one' (any record with two or more screeners counted as
    double), though allocate gave each shared record three and three screened each."""
    from screener.workflow.team import allocate, allocated_ids, required_reviewers

    protocols = Path(__file__).resolve().parents[2] / "protocols"
    text = (protocols / "dual-screening.yaml").read_text(encoding="utf-8")
    three = tmp_path / "three.yaml"
    three.write_text(text.replace("reviewers_per_record: 2", "reviewers_per_record: 3")
                     .replace("blind: true", "blind: false"), encoding="utf-8")
    review = make_review(str(three))
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title=f"R{i}") for i in range(10)])
    names = ["ann", "bob", "dan", "eve"]
    allocate(review, names, 0.4, seed=3, new_reviewers=True)
    with review.read() as s:
        per = required_reviewers(review, s, Stage.TITLE_ABSTRACT)
        assert per is not None
        shared = sorted(rid for rid, n in per.items() if n == 3)
        mine = {n: allocated_ids(review, s, n) for n in names}
    first, second = [n for n, a in mine.items() if a is not None and shared[0] in a.mine][:2]
    record_decision(review, shared[0], first, Label.EXCLUDE)  # two of its three so far
    record_decision(review, shared[0], second, Label.EXCLUDE)
    draft = " ".join(_methods(review).split())
    assert (f"allocated at random, {len(shared)} records to three reviewers and "
            f"{10 - len(shared)} to one; so far 1 record was screened by two reviewers.") \
        in draft, draft
    _exclude_all_offered(review, *names)
    final = " ".join(_methods(review).split())
    assert (f"allocated at random: {len(shared)} records were screened by three reviewers "
            f"and {10 - len(shared)} by one reviewer.") in final, final
    assert "Records with three reviewers were screened but not independently" in final
    assert "by two reviewers" not in final and "Records with two" not in final


def test_methods_text_counts_what_was_screened_not_the_allocation_plan(
        make_review: Callable[..., Any]) -> None:
    """Single screening with a 20% overlap, a few records decided: the text said '43
    records were screened by two reviewers and 172 by one reviewer' (the allocation) while
    the log held 3 and 5; and it said nothing of how the double-screened records were
    screened or their disagreements resolved (PRISMA item 8)."""
    from screener.workflow.screening import ScreeningSession
    from screener.workflow.team import allocate, required_reviewers

    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title=f"R{i}") for i in range(20)])
    allocate(review, ["ann", "bob"], 0.2, seed=3)
    with review.read() as s:
        per = required_reviewers(review, s, Stage.TITLE_ABSTRACT)
    assert per is not None
    both = sorted(rid for rid, n in per.items() if n == 2)
    record_decision(review, both[0], "ann", Label.EXCLUDE)
    record_decision(review, both[0], "bob", Label.EXCLUDE)
    session = ScreeningSession(review, "ann")
    for _ in range(2):  # two more of ann's, one reviewer each so far
        item = session.next()
        assert item is not None and item.record.id is not None
        session.decide(item.record.id, Label.EXCLUDE, reason_id="design")
    text = " ".join(_methods(review).split())
    planned = sum(1 for n in per.values() if n == 2)
    assert (f"allocated at random, {planned} records to two reviewers and "
            f"{len(per) - planned} to one; so far 1 record was screened by two reviewers and "
            "2 by one reviewer.") in text, text
    assert ("Records with two reviewers were screened but not independently: reviewers "
            "could see each other's decisions.") in text
    assert "Disagreements (include versus exclude" in text


def test_methods_text_does_not_deny_rankings_it_cannot_tie_to_decisions(
        make_review: Callable[..., Any]) -> None:
    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"R{i}") for i in range(3)])
        repo.add_ranking(s, stage=Stage.TITLE_ABSTRACT, reviewer_id=None, config={"name": "x"},
                         config_hash="h", training_size=0, n_included=0, order_ids=ids,
                         scores=[0.0] * 3)
    record_decision(review, ids[0], "ann", Label.INCLUDE)  # entered without --ranking-id
    text = _methods(review)
    assert "No automation tools were used" not in text
    assert "no screening decision records the ranking" in text


def test_dedup_keeps_the_screened_copy_and_names_copies_screened_twice(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.importing import deduplicate
    from screener.workflow.status import status

    review = make_review()
    same = dict(abstract="x", authors=("Doe, J",), year=2020)
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        a1, a2, b1, b2 = repo.add_records(s, source, [
            Record(title="Ketamine for depression", doi="10.1/a", **same),
            Record(title="Ketamine for depression", doi="10.1/a", **same),
            Record(title="Lithium in mania", doi="10.1/b", **same),
            Record(title="Lithium in mania", doi="10.1/b", **same)])
    record_decision(review, a2, "ann", Label.INCLUDE)  # only the second copy was screened
    record_decision(review, b1, "ann", Label.INCLUDE)  # both copies screened
    record_decision(review, b2, "ann", Label.EXCLUDE, reason_id="design")
    summary = deduplicate(review)
    assert summary.removed == 2 and summary.screened_removed == (b2,)
    assert summary.decided_differently == (b2,)  # excluded there, included in the kept copy
    with review.transaction() as s:
        assert repo.removed_duplicate_ids(s) == {a1, b2}  # a2 kept: its include still counts
    data = status(review)
    assert data["outcomes"]["title_abstract"] == {"include": 2}
    assert data["stages"]["full_text"] == 2 == data["reports"]["sought"]  # no phantom report


def test_clear_refusals_for_a_csv_log_and_a_diagram_name_of_another_format(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    from screener.workflow.reporting import verify_log_file

    review = make_review()
    build(review)
    csv_log, _ = export_log(review, "csv", tmp_path / "log.csv")
    with pytest.raises(ReviewError, match=r"is the CSV log; verify the JSON Lines export"):
        verify_log_file(csv_log)
    with pytest.raises(ReviewError, match=r"--out x\.svg names a \.svg file but --format is png"):
        export_prisma(review, "png", tmp_path / "x.svg")
    assert not (tmp_path / "x.svg").exists()


def test_methods_text_tells_imported_labels_from_reviewers(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    from screener.workflow.importing import import_file

    review = make_review()
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("title,abstract,label_included\nA trial,x,1\nA review,y,0\nA cohort,z,0\n")
    import_file(review, labelled, labels_as="asreview")
    text = _methods(review)
    assert ("Title/abstract decisions on 3 records were imported from an earlier screening "
            "(recorded as 'asreview', from labelled.csv), not made in screener.") in text
    assert "took part in screening" not in text


def _covidence_as_ann(make_review: Callable[..., Any]) -> tuple[Any, list[int]]:
    """A dual review whose records come from a Covidence export with its decisions imported
    as Ann's (`import --labels-as Ann`), and the ids of the records she decided."""
    from screener.workflow.importing import import_file

    covidence = Path(__file__).resolve().parents[1] / "data" / "formats" / "csv" / (
        "covidence_maybe_sample.csv")
    review = make_review("dual-screening.yaml")
    import_file(review, covidence, source="MEDLINE", labels_as="Ann")
    with review.read() as s:
        return review, sorted({d.record_id
                               for d in repo.current_decisions(s, Stage.TITLE_ABSTRACT)})


def test_imported_decisions_are_not_reported_as_an_independent_blinded_reviewer(
        make_review: Callable[..., Any]) -> None:
    """Ann's decisions imported from a Covidence export (often the team's combined verdict)
    and Bob screening here: the methods text said every record was screened "independently
    ... (blinded)" and Table 1 gave Ann-vs-Bob Cohen's kappa unmarked, though neither can be
    checked for decisions made elsewhere. The methods text names the file and says so, and
    Table 1 marks Ann with a note saying where her decisions came from."""
    from screener.exports.report import methods_report
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.team import list_conflicts

    review, ids = _covidence_as_ann(make_review)
    for rid, label in zip(ids, (Label.INCLUDE, Label.EXCLUDE, Label.INCLUDE), strict=True):
        record_decision(review, rid, "Bob", label, reason_id=(
            "design" if label == Label.EXCLUDE else None))
    list_conflicts(review, viewer="Adjudicator")  # reconciliation: agreement is reported
    inputs = build_report_inputs(review)
    text = " ".join(methods_report(inputs).split())
    assert ("Title/abstract decisions on 3 records were imported from an earlier screening "
            "(recorded as 'Ann', from covidence\\_maybe\\_sample.csv), not made in "
            "screener.") in text
    assert ("Ann's title/abstract decisions were imported, not made in it, so whether they "
            "were blinded to "
            "and independent of the other reviewers' cannot be checked") in text
    assert "| Title and abstract | Ann† and Bob | 3 |" in text
    assert ("† Ann's title/abstract decisions in this table were imported from covidence\\_maybe\\_sample.csv (`import "
            "--labels-as`), not made in screener; blinding and independence cannot be "
            "checked") in text


def test_agreement_and_table_1_name_reviewers_as_reassign_renamed_them(
        make_review: Callable[..., Any]) -> None:
    """Renamed with `reassign` after reconciliation began (Ann -> Ann Lee, Bob -> Robert):
    agreement is computed from the decisions as they stood then, under the old names, so
    Table 1 listed 'Ann and Bob' beside a methods text naming Ann Lee and Robert, and lost
    Ann's † and its note while `screener agreement` kept 'Ann' marked."""
    from screener.exports.report import methods_report
    from screener.workflow.reassign import reassign
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.team import agreement, list_conflicts

    review, ids = _covidence_as_ann(make_review)
    for rid, label in zip(ids, (Label.INCLUDE, Label.EXCLUDE, Label.INCLUDE), strict=True):
        record_decision(review, rid, "Bob", label, reason_id=(
            "design" if label == Label.EXCLUDE else None))
    list_conflicts(review, viewer="Adjudicator")
    before = agreement(review)
    reassign(review, "Ann", "Ann Lee")
    reassign(review, "Bob", "Robert")
    after = agreement(review)
    assert [(p.reviewer_a, p.reviewer_b, p.stats) for p in after.pairs] == [
        ("Ann Lee", "Robert", p.stats) for p in before.pairs]
    assert [(n, i, t) for n, i, t in after.imported] == [
        ("Ann Lee", i, t) for _, i, t in before.imported]
    text = " ".join(methods_report(build_report_inputs(review)).split())
    assert "| Title and abstract | Ann Lee† and Robert | 3 |" in text
    assert ("† Ann Lee's title/abstract decisions in this table were imported from "
            "covidence\\_maybe\\_sample.csv (`import --labels-as`)") in text
    assert "| Title and abstract | Ann" + "† and Bob" not in text


def test_a_reassign_after_reconciliation_began_unblinds_nothing(
        make_review: Callable[..., Any]) -> None:
    """reassign writes the moved decisions at the end of the log, after the start of
    reconciliation: the methods text counted them as made or changed after it (unblinded),
    though they were made blind and only their name changed."""
    from screener.workflow.reassign import reassign
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.team import list_conflicts

    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        ids = repo.add_records(s, repo.add_source(s, name="X", kind="database"),
                               [Record(title=f"Record {i}") for i in range(3)])
    for rid in ids:
        for who in ("ann", "bob"):
            record_decision(review, rid, who, Label.INCLUDE)
    list_conflicts(review, viewer="Adjudicator")
    record_decision(review, ids[0], "bob", Label.EXCLUDE, reason_id="design")  # unblinded
    before = build_report_inputs(review).unblinded
    assert before == ((Stage.TITLE_ABSTRACT, 1),)
    reassign(review, "bob", "robert")
    reassign(review, "robert", "rob")
    assert build_report_inputs(review).unblinded == before


def test_decisions_imported_at_title_abstract_are_not_marked_at_full_text(
        make_review: Callable[..., Any]) -> None:
    """Ann's title/abstract decisions imported, full text screened in screener by Ann and
    Bob: Table 1 marked Ann † on the full-text row too, whose decisions were all made in
    screener, its note counted her full-text decisions with the imported ones ("3 of the 6
    of Ann's decisions in this table"), and the methods text said "Ann's decisions were
    imported, not made in it". Only title/abstract decisions can be imported: the marks,
    the note and the methods text now say so."""
    from screener.exports.report import methods_report
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.screening import eligible_ids
    from screener.workflow.team import list_conflicts

    review, ids = _covidence_as_ann(make_review)
    for rid in ids:
        record_decision(review, rid, "Bob", Label.INCLUDE)
    list_conflicts(review, Stage.TITLE_ABSTRACT, viewer="Adjudicator")
    with review.read() as s:
        reports = eligible_ids(s, Stage.FULL_TEXT)
    assert reports
    for rid in reports:
        for who in ("Ann", "Bob"):
            record_decision(review, rid, who, Label.INCLUDE, stage=Stage.FULL_TEXT)
    list_conflicts(review, Stage.FULL_TEXT, viewer="Adjudicator")
    text = " ".join(methods_report(build_report_inputs(review)).split())
    assert f"| Title and abstract | Ann† and Bob | {len(ids)} |" in text
    assert f"| Full text | Ann and Bob | {len(reports)} |" in text
    assert ("† Ann's title/abstract decisions in this table were imported from "
            "covidence\\_maybe\\_sample.csv (`import --labels-as`)") in text
    assert (f"Title/abstract decisions on {len(ids)} records were imported from an earlier "
            "screening (recorded as 'Ann', from covidence\\_maybe\\_sample.csv), not made in "
            "screener.") in text
    assert ("Ann's title/abstract decisions were imported, not made in it, so whether they "
            "were blinded to and independent of the other reviewers' cannot be checked") in text


def _rayyan_three(review: Any) -> list[int]:
    """Ann's, Bob's and Carol's decisions imported from the Rayyan sample (Carol decided one
    record there): the ids of its records."""
    from screener.workflow.importing import import_file

    rayyan = Path(__file__).resolve().parents[1] / "data" / "formats" / "ris" / (
        "rayyan_decisions_sample.ris")
    import_file(review, rayyan, source="MEDLINE", labels_as="Ann")
    import_file(review, rayyan, source="MEDLINE", labels_as="Bob", labels_only=True)
    import_file(review, rayyan, source="MEDLINE", labels_as="Carol", labels_only=True)
    with review.read() as s:
        return sorted({d.record_id for d in repo.current_decisions(s, Stage.TITLE_ABSTRACT)})


def test_methods_text_says_once_whose_decisions_were_imported_when_all_were(
        make_review: Callable[..., Any]) -> None:
    """Three reviewers' Rayyan decisions imported, nothing screened in screener: the methods
    text gave three near-identical sentences, one per reviewer, and said "This describes
    the screening done in screener" though nobody had screened there."""
    from screener.exports.report import methods_report
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.team import list_conflicts

    review = make_review("dual-screening.yaml")
    ids = _rayyan_three(review)
    list_conflicts(review, viewer="Adjudicator")  # reconciliation: agreement is reported
    text = " ".join(methods_report(build_report_inputs(review)).split())
    assert ("Title/abstract decisions were imported from an earlier screening, not made in "
            f"screener: on {len(ids)} records recorded as 'Ann' (from "
            "rayyan\\_decisions\\_sample.ris), on 5 records recorded as 'Bob' (from "
            "rayyan\\_decisions\\_sample.ris) and on 1 record recorded as 'Carol' (from "
            "rayyan\\_decisions\\_sample.ris).") in text
    assert text.count("imported from an earlier screening") == 1
    assert "This describes the screening done in screener" not in text
    assert ("No reviewer screened in screener: Ann's, Bob's and Carol's title/abstract "
            "decisions were imported, so whether they were blinded to and independent of each other's "
            "cannot be checked") in text


def test_methods_text_counts_each_reviewers_imported_and_own_decisions(
        make_review: Callable[..., Any]) -> None:
    """Decisions imported, then some made in screener by the same reviewers: the sentence
    saying where the imported decisions came from vanished for a reviewer once they made one
    decision here, while the text still said "Ann's and Bob's decisions were imported". It
    now gives, per reviewer, the decisions imported and those made here, as Table 1's notes
    do."""
    from screener.exports.report import methods_report
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.team import list_conflicts

    review = make_review("dual-screening.yaml")
    ids = _rayyan_three(review)
    # Ann screens two records here (one she had decided in Rayyan), Bob one
    record_decision(review, ids[0], "Ann", Label.EXCLUDE, reason_id="design")
    record_decision(review, ids[1], "Ann", Label.INCLUDE)
    record_decision(review, ids[2], "Bob", Label.EXCLUDE, reason_id="design")
    list_conflicts(review, viewer="Adjudicator")
    text = " ".join(methods_report(build_report_inputs(review)).split())
    assert ("Title/abstract decisions were imported from an earlier screening, not made in "
            "screener: on 3 records recorded as 'Ann' (from rayyan\\_decisions\\_sample.ris; "
            "Ann's other 2 decisions were made in screener), on 4 records recorded as 'Bob' "
            "(from rayyan\\_decisions\\_sample.ris; Bob's other decision was made in screener) "
            "and on 1 record recorded as 'Carol'") in text
    assert ("This describes the screening done in screener: 3 of Ann's 5 title/abstract "
            "decisions, 4 of Bob's 5 title/abstract decisions and Carol's title/abstract "
            "decisions were imported, not made in it") in text
    assert "No reviewer screened in screener" not in text
    assert "† 3 of the 5 of Ann's title/abstract decisions in this table were imported from rayyan\\_decisions" in text
    assert "† 4 of the 5 of Bob's title/abstract decisions in this table were imported from rayyan\\_decisions" in text


def test_methods_text_says_how_often_the_model_was_retrained_and_every_model_used(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    # what the log shows, not a constant: decisions on one ranking mean no retraining; a
    # model changed mid-review is named with the decisions made on it
    import yaml

    from screener.workflow.ranking import refresh_ranking
    from screener.workflow.review import amend_protocol
    from screener.workflow.screening import ScreeningSession

    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title=f"Ketamine trial {i}", abstract=f"dose {i}")
                                     for i in range(12)])
    refresh_ranking(review, "ann")
    session = ScreeningSession(review, "ann")

    def decide_next(label: Label) -> None:
        item = session.next()
        assert item is not None and item.record.id is not None and item.ranking_id
        session.decide(item.record.id, label)

    for label in (Label.INCLUDE, Label.EXCLUDE, Label.EXCLUDE):
        decide_next(label)
    text = _methods(review)
    # the 3 decisions were all made on the cold start's similarity ranking
    assert "was never trained during screening: every record was shown in order of its " \
        "similarity" in text
    # and the first sentence does not claim the records were prioritised by active learning
    assert "by active learning" not in text
    assert ("prioritised for title and abstract screening by screener version "
            f"{__version__} (an active-learning tool, used here only for its ranking before "
            "training)") in " ".join(text.split())
    assert "features.min_df = 2" in text  # the feature settings are disclosed too
    data = yaml.safe_load((tmp_path / "review" / "protocol.yaml").read_text(encoding="utf-8"))
    data["ranking"] = {"model": "elas-u4"}
    amended = tmp_path / "amended.yaml"
    amended.write_text(yaml.safe_dump(data), encoding="utf-8")
    amend_protocol(review, amended, "ASReview's model, for comparison")
    for _ in range(2):
        session.use_queue(refresh_ranking(review, "ann").queue)
        decide_next(Label.EXCLUDE)
    text = _methods(review)
    assert "The model (elas-u4" in text and "features.min_df = 1" in text
    assert "made on 3 successive rankings" in text
    assert "Before it, 3 decisions were made on rankings by screener-lr" in text


def test_other_methods_records_the_diagram_has_no_box_for_are_named(
        make_review: Callable[..., Any]) -> None:
    # PRISMA 2020's other-methods column goes from identified to sought: a record from
    # citation searching that was a duplicate, or excluded at title/abstract, must still
    # be accounted for (in the notes, for the text)
    review = make_review()
    ids = build(review)
    with review.transaction() as s:
        source = repo.add_source(s, name="Hand search", kind="other")
        (late, dup) = repo.add_records(s, source, [Record(title="Hand found", year=2021),
                                                  Record(title="Again", year=2020)])
        repo.add_duplicate_links(s, [(3, dup, ids["PubMed"][3], "doi", 1.0)])
    result = prisma_counts(review)
    notes = " ".join(result.notes)
    assert "1 record identified through other methods was a duplicate and was removed" in notes
    assert "1 record identified through other methods was excluded at title/abstract" in (
        notes)
    assert "1 record from other methods not screened or settled yet" in result.draft
    assert ("Of the records identified through other methods, duplicates of records already "
            "found (n = 1) and records excluded at title and abstract screening (n = 1) have "
            "no box") in _methods(review)
    record_decision(review, late, "ann", Label.EXCLUDE)
    result = prisma_counts(review)
    assert "2 records identified through other methods were excluded" in " ".join(
        result.notes)
    assert "other methods" not in result.draft


def test_methods_text_says_when_blind_screening_went_on_after_reconciliation_began(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.team import list_conflicts

    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"R{i}") for i in range(4)])
    for rid in ids[:2]:
        record_decision(review, rid, "ann", Label.INCLUDE)
        record_decision(review, rid, "bob", Label.EXCLUDE)
    assert "began before" not in _methods(review)
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")  # reconciliation starts
    record_decision(review, ids[2], "ann", Label.EXCLUDE)       # unblinded from here
    record_decision(review, ids[2], "bob", Label.EXCLUDE)
    record_decision(review, ids[3], "ann", Label.EXCLUDE)
    text = _methods(review)
    assert ("After reconciliation of title and abstract screening had begun, decisions on 2 "
            "records were made or changed while the reviewers could see each other's "
            "decisions") in text


def test_a_decision_made_after_reconciliation_began_on_a_machine_running_slow_is_unblinded(
        make_review: Callable[..., Any], clock: Callable[[float], None]) -> None:
    # bob's computer runs 10 minutes slow: his change, made after the adjudicator's listing,
    # was stamped earlier than it, and was counted as made blind (agreement 100 %, no word)
    from screener.workflow.team import agreement, list_conflicts

    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"R{i}") for i in range(2)])
    for rid, bobs in zip(ids, (Label.INCLUDE, Label.EXCLUDE), strict=True):
        record_decision(review, rid, "ann", Label.INCLUDE)
        record_decision(review, rid, "bob", bobs)
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")  # reconciliation starts
    clock(-10)
    record_decision(review, ids[1], "bob", Label.INCLUDE)       # seeing ann's include
    clock(0)
    (pair,) = agreement(review, Stage.TITLE_ABSTRACT).pairs
    assert (pair.stats.n, pair.stats.percent_agreement) == (2, 50.0)
    assert ("After reconciliation of title and abstract screening had begun, decisions on 1 "
            "record were made or changed while the reviewers could see each other's "
            "decisions") in _methods(review)


def test_methods_text_counts_decision_rows_and_says_why_some_record_no_ranking(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.ranking import refresh_ranking
    from screener.workflow.screening import ScreeningSession

    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Ketamine trial {i}") for i in range(8)])
    first = ScreeningSession(review, "ann").next()     # shown in import order, as the UI does
    assert first is not None and first.ranking_id is None    # while the cold start computes
    record_decision(review, first.record.id, "ann", Label.EXCLUDE)
    refresh_ranking(review, "ann")
    session = ScreeningSession(review, "ann")
    shown = [first.record.id]
    for label in (Label.INCLUDE, Label.EXCLUDE, Label.EXCLUDE):
        item = session.next()
        assert item is not None and item.ranking_id
        session.decide(item.record.id, label)
        shown.append(item.record.id)
        session.use_queue(refresh_ranking(review, "ann").queue)
    record_decision(review, shown[1], "ann", Label.INCLUDE)            # a changed decision
    outside = next(i for i in ids if i not in shown)
    record_decision(review, outside, "ann", Label.EXCLUDE)             # opened from browse
    text = _methods(review)
    # 3 rows record a ranking (not the 2 whose decision still stands), on 3 rankings
    assert "the 3 title/abstract decisions that record the ranking" in text
    assert ("3 further decisions record no ranking: 1 made before the reviewer's first "
            "ranking arrived (records in import order), 1 on records opened outside the "
            "ranked queue and 1 deciding again a record decided before (changed or "
            "undone)") in text


def test_methods_text_names_decisions_without_a_ranking_when_the_model_was_not_retrained(
        make_review: Callable[..., Any]) -> None:
    # ann screens on one model ranking; bob, who never ran `rank` (no ranking of his own),
    # screens with `next`/`decide` in import order: the text must not claim that every
    # record was shown in order of predicted relevance
    from screener.workflow.ranking import refresh_ranking
    from screener.workflow.screening import ScreeningSession
    from screener.workflow.team import list_conflicts

    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Ketamine trial {i}") for i in range(6)])
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    record_decision(review, ids[1], "ann", Label.EXCLUDE)
    refresh_ranking(review, "ann")  # one model ranking, never refreshed
    session = ScreeningSession(review, "ann")
    while (item := session.next()) is not None:
        assert item.ranking_id
        session.decide(item.record.id, Label.EXCLUDE)
    for _ in ids:
        item = ScreeningSession(review, "bob").next()
        assert item is not None and item.ranking_id is None
        record_decision(review, item.record.id, "bob", Label.EXCLUDE)
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")
    text = _methods(review)
    assert "was not retrained during screening" in text
    assert ("8 title/abstract decisions record no ranking: 8 made before the reviewer's "
            "first ranking arrived (records in import order).") in text


def test_methods_text_does_not_say_import_order_of_records_picked_by_hand(
        make_review: Callable[..., Any]) -> None:
    """bob decided records 5, 2 and 4 with `decide` before any ranking of his: the text
    said they were 'records in import order' (what `next` offers before a ranking)."""
    from screener.workflow.ranking import refresh_ranking
    from screener.workflow.screening import ScreeningSession

    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Ketamine trial {i}") for i in range(8)])
    for i in (5, 2, 4):
        record_decision(review, ids[i], "bob", Label.EXCLUDE)
    record_decision(review, ids[0], "bob", Label.INCLUDE)
    for _ in range(2):  # two rankings, so the text speaks of retraining
        refresh_ranking(review, "bob")
        session = ScreeningSession(review, "bob")
        item = session.next()
        assert item is not None and item.ranking_id
        session.decide(item.record.id, Label.EXCLUDE)
    text = " ".join(_methods(review).split())
    assert ("4 further decisions record no ranking: 4 made before the reviewer's first "
            "ranking arrived, on records the reviewer chose (not offered by screener") in text
    assert "import order)" not in text.replace("import order until then)", "")


def test_prisma_csv_and_json_name_the_box_a_source_was_guessed_into(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = make_review()
    build(review)
    with review.transaction() as s:
        for name in ("Zotero", "Hand search"):
            source = repo.add_source(s, name=name, kind="other")
            repo.add_records(s, source, [Record(title=f"{name} find", year=2021)])
    _, result = export_prisma(review, "csv", tmp_path / "p.csv")
    guessed = [n for n in result.notes if n.startswith("source '")]
    assert len(guessed) == 2  # "Citation searching" says plainly where it goes
    assert "'Zotero' (other methods, 1 record) is counted in the PRISMA2020 template's " \
        "'Organisations' box (organisation_results)" in guessed[0]
    assert "'Hand search'" in guessed[1] and "'Citation searching' box" in guessed[1]
    data = json.loads(export_prisma(review, "json", tmp_path / "p.json")[0].read_text())
    assert [n for n in data["notes"] if n.startswith("source '")] == guessed
    # the diagrams name each source themselves: nothing to say there
    _, result = export_prisma(review, "svg", tmp_path / "p.svg")
    assert not [n for n in result.notes if n.startswith("source '")]


def test_report_lists_protocol_versions_and_says_plainly_when_one_came_after_screening(
        tmp_path: Path, db_url: str | None) -> None:
    from screener.core.audit import iso_utc
    from screener.workflow.review import amend_protocol, create_review
    from screener.workflow.status import format_status, status

    base = (Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml").read_text()
    first = tmp_path / "v1.yaml"
    first.write_text(base + "stopping:\n  consecutive_irrelevant: 100\n")
    review = create_review(tmp_path / "rev", first, db_url)
    try:
        with review.transaction() as s:
            source = repo.add_source(s, name="PubMed", kind="database")
            ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(20)])
        record_decision(review, ids[0], "ann", Label.INCLUDE)
        for rid in ids[1:12]:
            record_decision(review, rid, "ann", Label.EXCLUDE)
        # the tester's amendment: the stopping rule, after 12 decisions
        second = tmp_path / "v2.yaml"
        second.write_text(base + "stopping:\n  consecutive_irrelevant: 5\n")
        amend_protocol(review, second, "the irrelevant run was too long for this topic")
        for rid in ids[12:15]:
            record_decision(review, rid, "ann", Label.EXCLUDE)
        third = tmp_path / "v3.yaml"
        third.write_text(second.read_text().replace('"My systematic review"',
                                                    '"Ketamine for depression"'))
        amend_protocol(review, third, "working title replaced")
        text = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
        with review.transaction() as s:
            versions = repo.protocol_versions(s)
        data = status(review)
        shown = format_status(data)
    finally:
        review.close()
    # the title of the protocol in force, and the one the review was created with
    assert text.startswith("# Ketamine for depression: screening methods")
    assert 'The review was created under the title "My systematic review"' in text
    assert data["title"] == "Ketamine for depression"
    assert data["title_at_creation"] == "My systematic review"
    assert shown.splitlines()[0] == ("Ketamine for depression (created as: My systematic "
                                     "review; the title was amended)")
    assert "## Protocol" in text and "amended twice" in text
    # every version with date, sha256 prefix, reason and the decisions made under it
    table = {int(row.split("|")[1]): [c.strip() for c in row.split("|")[2:-1]]
             for row in text.splitlines() if re.match(r"\| \d+ \|", row)}
    assert sorted(table) == [1, 2, 3]
    for version, sha, reason, at in versions:
        date, prefix, why, changes, decided = table[version]
        # with the UTC time: versions stored the same day are told apart
        stamp = iso_utc(at)
        assert date == f"{stamp[:10]} {stamp[11:19]} UTC"
        assert prefix == f"`{sha[:12]}`" and why == reason
    assert table[1][4] == "12 at title and abstract"  # decisions made under version 1
    assert table[2][4] == "3 at title and abstract"
    assert table[3][4] == "none"
    assert table[2][3] == "the stopping rule's consecutive irrelevant records from 100 to 5"
    assert table[3][3] == 'title from "My systematic review" to "Ketamine for depression"'
    # said plainly: amended after screening had started, and what it changed
    assert ("**Protocol version 2 was recorded on " in text and "after screening had "
            "started** (12 decisions had been made under earlier versions). It changed: "
            "the stopping rule's consecutive irrelevant records from 100 to 5.") in text
    assert "**Protocol version 3 was recorded on" in text
    # the stopping rule's criteria are not presented as the original ones
    assert "5 consecutive irrelevant records" in text
    assert ("These are the criteria as amended in protocol version 2" in text
            and "(12 decisions had been made under earlier versions): the stopping rule's "
            "consecutive irrelevant records from 100 to 5 (reason given: \"the irrelevant "
            "run was too long for this topic\")") in text


def test_an_amendment_recorded_on_a_machine_running_slow_still_came_after_screening(
        tmp_path: Path, db_url: str | None, clock: Callable[[float], None]) -> None:
    # the amendment, made after 2 decisions on a computer 10 minutes slow, was stamped
    # before them: the report lost that screening had started, and listed no decision
    # under version 1
    from screener.workflow.review import amend_protocol, create_review

    base = (Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml").read_text()
    first = tmp_path / "v1.yaml"
    first.write_text(base + "stopping:\n  consecutive_irrelevant: 100\n")
    second = tmp_path / "v2.yaml"
    second.write_text(base + "stopping:\n  consecutive_irrelevant: 5\n")
    with create_review(tmp_path / "rev", first, db_url) as review:
        with review.transaction() as s:
            source = repo.add_source(s, name="PubMed", kind="database")
            ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(3)])
        for rid in ids[:2]:
            record_decision(review, rid, "ann", Label.EXCLUDE)
        clock(-10)
        amend_protocol(review, second, "the irrelevant run was too long for this topic")
        clock(0)
        record_decision(review, ids[2], "ann", Label.EXCLUDE)
        text = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    table = {int(row.split("|")[1]): [c.strip() for c in row.split("|")[2:-1]]
             for row in text.splitlines() if re.match(r"\| \d+ \|", row)}
    assert (table[1][4], table[2][4]) == ("2 at title and abstract", "1 at title and abstract")
    assert table[2][0].endswith("UTC (stamped before an earlier version: the clocks of the "
                                "machines that recorded them disagree)")
    assert table[1][0].endswith("UTC")
    assert re.search(r"\*\*Protocol version 2 was recorded on [^*]+, after screening had "
                     r"started\*\* \(2 decisions had been made under earlier versions\)", text)


def test_report_counts_as_unscreened_only_records_nobody_has_decided(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    # Dual screening: a record one reviewer has decided waits for the other; the report
    # must not call it "not screened by a reviewer yet" (it added those from other methods)
    from screener.workflow.importing import import_records
    from screener.workflow.team import list_conflicts

    review = make_review("dual-screening.yaml")
    for name, kind in (("PubMed", "database"), ("Citation searching", "other")):
        import_records(review, [Record(title=f"{name} study {i}", year=2020)
                                for i in range(3)], source=name, kind=kind)
    with review.read() as s:
        ids = sorted(repo.record_sources(s))
    for rid in ids[:2] + ids[3:5]:  # two of each source: one reviewer so far
        record_decision(review, rid, "ann", Label.EXCLUDE)
    result = prisma_counts(review)
    assert (result.unscreened, result.other_unscreened) == (1, 1)
    # records waiting for the second reviewer are neither excluded nor sought: the draft
    # line says so, and the diagram's check does not call it an error
    assert "2 records wait for a reviewer who has not decided them" in result.draft
    assert result.problems == ()
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")  # ends blinding
    report = " ".join(write_report(review, tmp_path / "r.md").read_text(
        encoding="utf-8").split())
    assert report.count("DRAFT, not final") == 1
    assert "Screening is not finished: 2 records have not been screened by a reviewer yet" \
        in report


def test_prisma_json_lists_the_problems_the_cli_and_report_list(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    import json

    from screener.core.prisma import check

    review = make_review()
    build(review)
    result = prisma_counts(review)
    assert result.draft and any(p.startswith("Records screened") for p in check(result.counts))
    out, _ = export_prisma(review, "json", tmp_path / "prisma.json")
    assert json.loads(out.read_text(encoding="utf-8"))["problems"] == list(result.problems)


def test_report_says_duplicates_were_sought_when_dedup_found_none(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    # `screener dedup` on records with no duplicates: the methods text said "Duplicates were
    # not removed with screener", as if deduplication had been skipped
    from screener.core.audit import describe_event
    from screener.workflow.audit_check import check_tables
    from screener.workflow.importing import deduplicate, import_records
    from screener.workflow.reporting import list_events

    review = make_review()
    import_records(review, [Record(title="Ketamine trial", year=2020),
                            Record(title="Esketamine cohort", year=2021)],
                   source="PubMed", kind="database")

    def identification() -> str:
        report = write_report(review, tmp_path / "r.md", force=True).read_text("utf-8")
        return " ".join(report.split("## Identification", 1)[1].split("## Study", 1)[0].split())

    assert "Duplicates were not removed with screener." in identification()
    assert deduplicate(review).removed == 0
    text = identification()
    assert "not removed with screener" not in text
    assert "Duplicates were sought with screener's deduplication" in text
    assert "No record was removed as a duplicate." in text
    assert "duplicates sought: none found" in describe_event(list_events(review)[-1][0])
    assert check_tables(review) == []  # `log verify` agrees


def test_report_gives_the_thresholds_of_the_runs_whose_matches_stand(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """A second run at 0.99 that removes nothing does not make the report say the title
    matches removed at 0.85 needed 0.99; two runs that both removed title matches are
    both named."""
    from screener.workflow.importing import deduplicate, import_records

    review = make_review()
    records = [Record(title=t, year=2020, authors=("Smith, J",)) for t in (
        "Ketamine infusion for resistant depression: a randomised trial",
        "Ketamine infusion for resistant depression - a randomized trial",
        "Esketamine nasal spray in older adults with major depression: a randomised trial",
        "Esketamine nasal spray in older adults with major depression (TRANSFORM-3): a "
        "randomised trial")]
    import_records(review, records, source="PubMed", kind="database")

    def dedup_text() -> str:
        report = write_report(review, tmp_path / "r.md", force=True).read_text("utf-8")
        text = " ".join(report.split("## Identification", 1)[1].split("## Study", 1)[0].split())
        return text[text.index("Duplicates were"):][:400]

    assert deduplicate(review, threshold=0.95).removed == 1  # the spelling variant only
    assert deduplicate(review, threshold=0.99).removed == 0
    assert "(similarity at least 0.95)" in dedup_text()
    assert deduplicate(review, threshold=0.7).removed == 1   # the reworded one too
    assert "(similarity at least 0.70 or 0.95, by run)" in dedup_text()


def test_report_names_each_search_and_how_duplicates_were_removed(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    # PRISMA-S: the information specialist must not have to rebuild from the event log
    # which databases were searched, when, with which query, and how duplicates went
    from screener.workflow.importing import (
        deduplicate,
        import_records,
        list_duplicates,
        undo_duplicate_cluster,
    )

    review = make_review()
    trials = [Record(title=f"Ketamine for depression: randomised trial number {w}",
                     year=2020, authors=("Smith, J",), doi=f"10.1000/k.{i}")
              for i, w in enumerate(("one", "two", "three"))]
    import_records(review, trials, source="PubMed", kind="database", searched="2024-05-01",
                   query="ketamine AND depression", reported_count=3)
    import_records(review, [*trials[:2], Record(title="Esketamine nasal spray cohort",
                                                year=2021, authors=("Lee, K",))],
                   source="Embase", kind="database")
    import_records(review, [Record(title="Ketamine and suicidality: a cohort", year=2022)],
                   source="Embase", kind="database")  # a second Embase file, undated too
    deduplicate(review)
    cluster = int(str(list_duplicates(review)[0]["cluster"]))
    undo_duplicate_cluster(review, cluster)
    report = write_report(review, tmp_path / "r.md").read_text(encoding="utf-8")
    section = report.split("## Identification", 1)[1].split("## Study selection", 1)[0]
    assert "| PubMed | database | 2024-05-01 | 3 | query: `ketamine AND depression` |" \
        in section
    assert "| Embase | database | not recorded | 3 |" in section
    text = " ".join(section.split())
    # named once, though two files came from it; the advice works for the next import
    assert ("The date of the search was not recorded for Embase (give it with `screener "
            "import --searched` when importing, or report it beside the search).") in text
    # PRISMA 2020 item 7 (PRISMA-S item 8): a database imported from a file without its query
    assert ("The search strategy was not recorded for Embase (give it with `screener import "
            "--query` when importing, or report it elsewhere in full).") in text
    assert "similarity at least 0.85" in text
    assert "1 record was removed as a duplicate (1 by DOI)." in text
    assert "1 record that the matching had removed was restored after inspection." in text


def test_a_search_the_protocol_gives_fills_what_the_import_did_not_record(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """The protocol names each source's search (date, query), yet a source imported without
    --searched or --query was reported as "not recorded", as the README's own walkthrough
    did (`import embase.ris --source Embase`)."""
    from screener.workflow.importing import import_records

    review = make_review("ketamine-depression.yaml")
    embase = next(s for s in review.protocol.searches if s.source == "Embase")
    import_records(review, [Record(title="Esketamine nasal spray cohort", year=2021)],
                   source="embase", kind="database")  # the protocol's source, in any case
    import_records(review, [Record(title="Ketamine and suicidality", year=2022)],
                   source="Hand search", kind="other")  # not in the protocol
    report = write_report(review, tmp_path / "r.md").read_text(encoding="utf-8")
    section = report.split("## Identification", 1)[1].split("## Study selection", 1)[0]
    row = next(line for line in section.splitlines() if line.startswith("| embase |"))
    assert f"{embase.date} (protocol)" in row and "query (protocol):" in row
    assert "| Hand search | other method | not recorded |" in section
    text = " ".join(section.split())
    assert "The date of the search was not recorded for Hand search" in text
    assert "not recorded for embase" not in text
    assert ("Marked (protocol): not recorded at import; the date or query the protocol "
            "gives for that source.") in text


def _review_searching(tmp_path: Path, db_url: str | None,
                      *searches: tuple[str, str]) -> Review:
    """A review of protocols/minimal.yaml with the `searches` (source, date) added, its
    protocol written to tmp_path/protocol.yaml."""
    from screener.workflow.review import create_review

    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(
        (Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml").read_text()
        + "searches:\n" + "".join(f"  - {{source: {name}, date: '{date}'}}\n"
                                  for name, date in searches), encoding="utf-8")
    return create_review(tmp_path / "rev", protocol, db_url)


def _protocol_rows(tmp_path: Path, db_url: str | None, screen_between: bool) -> list[str]:
    """The Identification table's PubMed rows of a review whose protocol lists PubMed's
    original search (2020-01-15) and its update (2021-07-01), both imported without
    --searched; with a decision between the two imports when `screen_between`."""
    from screener.workflow.importing import import_records

    review = _review_searching(tmp_path, db_url, ("PubMed", "2020-01-15"),
                               ("PubMed", "2021-07-01"))
    try:
        import_records(review, [Record(title="Ketamine trial one", year=2019)],
                       source="PubMed", kind="database")
        if screen_between:
            record_decision(review, 1, "ann", Label.EXCLUDE)
        import_records(review, [Record(title="Esketamine trial two", year=2021)],
                       source="PubMed", kind="database")
        report = write_report(review, tmp_path / "r.md").read_text(encoding="utf-8")
    finally:
        review.close()
    return [line for line in report.splitlines() if line.startswith("| PubMed |")]


def test_a_protocol_listing_a_search_and_its_update_dates_each_import_in_order(
        tmp_path: Path, db_url: str | None) -> None:
    # the protocol's update (2021-07-01) was attributed to the original import, made
    # before screening began, as well as to the update's
    original, update = _protocol_rows(tmp_path, db_url, screen_between=True)
    assert "| 2020-01-15 (protocol) |" in original
    assert "| 2021-07-01 (protocol) |" in update


def test_a_protocol_date_is_not_attributed_when_it_is_ambiguous_for_the_import(
        tmp_path: Path, db_url: str | None) -> None:
    # two imports before screening began: either may be either search; no date is known
    rows = _protocol_rows(tmp_path, db_url, screen_between=False)
    assert len(rows) == 2
    assert all("| not recorded |" in row and "(protocol)" not in row for row in rows), rows


SMALL_PROTOCOL = ("title: T\ncriteria:\n  - {id: I1, type: include, text: Adults}\n"
                  "exclusion_reasons:\n  - {id: population, label: Wrong population, "
                  "key: \"1\"}\n")
"""A protocol of one criterion and one reason, for the protocol-change wording tests."""


def _changes_between(old_tail: str, new_tail: str) -> list[str]:
    """What the report's protocol table says changed from `SMALL_PROTOCOL` + `old_tail` to
    `SMALL_PROTOCOL` + `new_tail`."""
    from screener.protocol import load_protocol_text
    from screener.workflow.reporting import _protocol_changes

    return _protocol_changes(load_protocol_text(SMALL_PROTOCOL + old_tail),
                             load_protocol_text(SMALL_PROTOCOL + new_tail))


def test_an_amendment_of_the_ranking_or_screening_mode_says_what_changed() -> None:
    """The report's protocol table named such an amendment only 'ranking settings' or
    'screening mode' (a helper's run): a reader could not tell seed 42 -> 7 from a new model."""
    changes = _changes_between("ranking:\n  seed: 42\n",
                               "ranking:\n  seed: 7\n  params: {C: 0.5}\n"
                               "screening:\n  mode: dual\n  adjudicator: Ada\n")
    assert ("screening mode (reviewers per record 1 to 2; blind no to yes; adjudicator "
            "(none) to Ada)") in changes
    assert "ranking settings (seed 42 to 7; C (default) to 0.5)" in changes


def test_decision_log_csv_words_reasons_as_their_protocol_version_did(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """The CSV log gave reason ids only ("design"); a reader now sees each reason's label,
    as the protocol version in force when the decision was made worded it, and which row
    an undo withdrew."""
    import csv

    import yaml

    from screener.workflow.review import amend_protocol
    from screener.workflow.screening import ScreeningSession

    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title="A cohort", abstract="Adults")])
    record_decision(review, ids[0], "ann", Label.EXCLUDE, reason_id="design")
    assert ScreeningSession(review, "ann").undo() is not None  # as the UI's undo key does
    data = yaml.safe_load((tmp_path / "review" / "protocol.yaml").read_text(encoding="utf-8"))
    for reason in data["exclusion_reasons"]:
        if reason["id"] == "design":
            reason["label"] = "Not a randomised trial"
    amended = tmp_path / "amended.yaml"
    amended.write_text(yaml.safe_dump(data), encoding="utf-8")
    amend_protocol(review, amended, "reason reworded")
    record_decision(review, ids[0], "ann", Label.EXCLUDE, reason_id="design")
    path, _ = export_log(review, "csv", tmp_path / "log.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    mine = [r for r in rows if r["record_id"] == str(ids[0]) and r["reviewer"] == "ann"
            and r["stage"] == "title_abstract"]
    assert [(r["label"], r["reason_label"]) for r in mine] == [
        ("exclude", "Wrong study design"), ("undone", ""), ("exclude", "Not a randomised trial")]
    assert mine[1]["undoes_seq"] == mine[0]["seq"] and mine[2]["undoes_seq"] == ""


def _trials_at_full_text(review: Review, n: int) -> list[int]:
    """n records from PubMed, each included at title/abstract by ann."""
    with review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}", year=2020)
                                           for i in range(n)])
    for rid in ids:
        record_decision(review, rid, "ann", Label.INCLUDE)
    return ids


def test_report_says_which_exclusion_reasons_an_amendment_added_or_reworded(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """A reason added by `protocol amend` mid-review was called one of the "predefined"
    reasons, and Table 2 listed exclusions made under "Wrong population" as "Ineligible
    population (adults only)", a wording the reviewer never applied (a tester's review)."""
    import yaml

    from screener.workflow.review import amend_protocol

    review = make_review()
    ids = _trials_at_full_text(review, 4)
    for rid in ids[:2]:
        record_decision(review, rid, "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                        reason_id="population")
    data = yaml.safe_load((tmp_path / "review" / "protocol.yaml").read_text(encoding="utf-8"))
    data["exclusion_reasons"][0]["label"] = "Ineligible population (adults only)"
    data["exclusion_reasons"].append({"id": "noreport", "label": "No full report",
                                      "key": "5"})
    amended = tmp_path / "amended.yaml"
    amended.write_text(yaml.safe_dump(data), encoding="utf-8")
    amend_protocol(review, amended, "reasons refined")
    record_decision(review, ids[2], "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                    reason_id="noreport")
    record_decision(review, ids[3], "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                    reason_id="population")
    text = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    assert "predefined" not in text.split("## Automation")[0]
    assert ("Reports excluded at full text were given one of 6 exclusion reasons (5 set in "
            "the protocol before screening; 1 added and 1 reworded by amendment).") in text
    # Table 2 keeps the current wording, and a note names the earlier one and its uses
    assert text.count("| Ineligible population (adults only) |") == 3
    assert ('Exclusion reason "Ineligible population (adults only)" was worded "Wrong '
            'population" when 2 of these exclusions were made') in text
    # the PRISMA counts are those of the reasons in force, as before
    assert "| Reports excluded: Ineligible population (adults only) | 3 |" in text
    # and the diagrams (the report's, export prisma's) mark the reason and give the note
    for drawn, words in _both_diagrams(review, tmp_path):
        assert "Ineligible population (adults only)\u2021 (n = 3)" in drawn
        assert ('Exclusion reason "Ineligible population (adults only)" was worded '
                '"Wrong population" when 2 reports counted under it were excluded.') in words


def _one_report_twice(review: Review) -> None:
    """The same report from two databases (records 1 and 2), not deduplicated yet, and
    another one (record 3)."""
    from screener.workflow.importing import import_records

    trial = Record(title="Ketamine infusion for depression: a randomised trial", year=2020,
                   doi="10.1000/k.1")
    import_records(review, [trial], source="PubMed", kind="database")
    import_records(review, [trial, Record(title="Another trial", year=2021)],
                   source="Embase", kind="database")


def test_the_reworded_reason_footnote_counts_the_reports_the_diagram_counts(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """A report excluded at full text under the earlier wording, then removed as a
    duplicate of a copy excluded under the new one, is not in the diagram's count of the
    reason, yet its footnote counted it among the reports excluded under the earlier
    wording."""
    import yaml

    from screener.workflow.importing import deduplicate
    from screener.workflow.review import amend_protocol

    review = make_review()
    _one_report_twice(review)  # records 1 and 2, and another one (3)
    for rid in (1, 2, 3):
        record_decision(review, rid, "ann", Label.INCLUDE)
    for rid in (2, 3):
        record_decision(review, rid, "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                        reason_id="population")
    data = yaml.safe_load((tmp_path / "review" / "protocol.yaml").read_text(encoding="utf-8"))
    data["exclusion_reasons"][0]["label"] = "Ineligible population"
    amended = tmp_path / "amended.yaml"
    amended.write_text(yaml.safe_dump(data), encoding="utf-8")
    amend_protocol(review, amended, "reason reworded")
    record_decision(review, 1, "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                    reason_id="population")
    deduplicate(review)  # both copies screened: 1 kept, 2 removed
    with review.read() as s:
        assert repo.removed_duplicate_ids(s) == {2}
    write_report(review, tmp_path / "report.md")
    for drawn, words in _both_diagrams(review, tmp_path):
        assert "Ineligible population\u2021 (n = 2)" in drawn
        assert ('Exclusion reason "Ineligible population" was worded "Wrong population" '
                'when 1 report counted under it was excluded.') in words, words


def test_an_amendment_of_key_papers_or_highlight_terms_names_them() -> None:
    """The protocol table said "the stopping rule's key papers from 3 to 2" without naming
    the one dropped, and "highlight terms" without naming a term (a tester's review)."""
    changes = _changes_between(
        "stopping:\n  key_papers: ['10.1000/a', '10.1000/b', '12345678']\n"
        "highlight:\n  include: [ketamine, depression]\n  exclude: [rat]\n",
        "stopping:\n  key_papers: ['10.1000/a', '10.1000/c']\n"
        "highlight:\n  include: [ketamine, esketamine]\n  exclude: [rat]\n")
    assert ("the stopping rule's key papers from 3 to 2 (added 10.1000/c; removed "
            "10.1000/b, 12345678)") in changes
    assert "highlight terms (include terms added esketamine; removed depression)" in changes


def test_similarity_rankings_only_do_not_claim_every_record_was_ranked(
        make_review: Callable[..., Any]) -> None:
    """The first record was decided in import order before any ranking existed (the UI
    said "Import order (not ranked)"), yet the text said "every record was shown in order
    of its similarity to the review question" (a tester's review)."""
    from screener.workflow.ranking import refresh_ranking
    from screener.workflow.screening import ScreeningSession

    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Ketamine trial {i}") for i in range(6)])
    record_decision(review, ids[0], "ann", Label.EXCLUDE)  # no ranking yet
    refresh_ranking(review, "ann")  # the cold start: one class only, similarity
    session = ScreeningSession(review, "ann")
    item = session.next()
    assert item is not None and item.ranking_id and item.record.id is not None
    session.decide(item.record.id, Label.INCLUDE)
    text = " ".join(_methods(review).split())
    assert "was never trained during screening" in text
    assert "every record was shown" not in text
    assert ("1 title/abstract decision records no ranking: 1 made before the reviewer's "
            "first ranking arrived (records in import order).") in text


def test_estimated_recall_is_rounded_as_status_rounds_it(
        make_review: Callable[..., Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Estimated recall 0.975 was "98%" in `status` but "0.97 (0.91 to 1.00)" in the
    report (binary float rounding): both now say 98%, rounded half up on the decimal
    value, the interval too."""
    import dataclasses

    from screener.workflow import reporting
    from screener.workflow.status import format_status, status

    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(6)])
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    record_decision(review, ids[1], "ann", Label.EXCLUDE)
    real = reporting.stopping_rule_met

    def fixed(review: Review) -> tuple[bool, list[Any]]:
        met, progs = real(review)
        return met, [dataclasses.replace(p, estimated_recall=0.975,
                                         estimated_recall_interval=(0.965, 1.0))
                     for p in progs]

    monkeypatch.setattr(reporting, "stopping_rule_met", fixed)  # status's source too
    text = " ".join(write_report(review, tmp_path / "report.md").read_text(
        encoding="utf-8").split())
    assert "estimated recall: 98% (97% to 100%)" in text
    shown = format_status(status(review))
    assert "estimated recall 98% (at least 97% at 95%" in shown


def _update_review(tmp_path: Path, db_url: str | None) -> tuple[Review, list[int]]:
    """The tester's update: PubMed and Embase searched on 2020-01-15, deduplicated and
    screened; both searched again on 2021-07-01 into the same review, deduplicated again.
    Returns the review and the ids of the update's records left to screen."""
    from screener.workflow.importing import deduplicate, import_records

    review = _review_searching(tmp_path, db_url, ("PubMed", "2020-01-15"),
                               ("Embase", "2020-01-15"))
    old = [Record(title=f"Ketamine for depression: randomised trial number {w}", year=2019,
                  authors=("Smith, J",), doi=f"10.1000/k.{i}")
           for i, w in enumerate(("one", "two", "three", "four"))]
    new = [Record(title=f"Esketamine spray: randomised trial number {w}", year=2021,
                  authors=("Lee, K",), doi=f"10.1000/e.{i}")
           for i, w in enumerate(("one", "two", "three"))]
    import_records(review, old, source="PubMed", kind="database", searched="2020-01-15")
    import_records(review, old[:2], source="Embase", kind="database", searched="2020-01-15")
    deduplicate(review)
    with review.read() as s:
        first = sorted(set(repo.record_sources(s)) - repo.removed_duplicate_ids(s))
    for rid in first:
        record_decision(review, rid, "ann", Label.EXCLUDE)
    # the update: PubMed finds two of round 1's records again and three new ones, Embase
    # one of round 1's and one of PubMed's new ones (a duplicate within the update)
    import_records(review, [*old[:2], *new], source="PubMed", kind="database",
                   searched="2021-07-01")
    import_records(review, [old[3], new[0]], source="Embase", kind="database",
                   searched="2021-07-01")
    deduplicate(review)
    with review.read() as s:
        left = sorted(set(repo.record_sources(s)) - repo.removed_duplicate_ids(s)
                      - set(first))
    return review, left


def test_report_says_the_searches_were_updated_and_what_dedup_removed_of_the_update(
        tmp_path: Path, db_url: str | None) -> None:
    # the tester's update search: the Identification table listed every import with its
    # date, but nothing in the text said the review had been updated
    review, left = _update_review(tmp_path, db_url)
    try:
        for rid in left:
            record_decision(review, rid, "ann", Label.EXCLUDE)
        text = " ".join(write_report(review, tmp_path / "r.md").read_text(
            encoding="utf-8").split())
    finally:
        review.close()
    assert len(left) == 3
    assert ("The searches were run on 2020-01-15 and updated on 2021-07-01 (PubMed and "
            "Embase); 3 records found again by the update were removed as duplicates of "
            "records found by the earlier searches.") in text


def test_report_does_not_call_a_second_file_of_the_same_search_an_update(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    from screener.workflow.importing import import_records

    review = make_review()
    import_records(review, [Record(title="Trial one")], source="Embase", kind="database",
                   searched="2020-01-15")
    record_decision(review, 1, "ann", Label.EXCLUDE)
    # Embase's export limit: the same search's second file, imported the next day
    import_records(review, [Record(title="Trial two")], source="Embase", kind="database",
                   searched="2020-01-15")
    text = write_report(review, tmp_path / "r.md").read_text(encoding="utf-8")
    assert "updated on" not in text


def test_an_amendment_adding_only_the_update_searches_is_not_called_a_deviation(
        tmp_path: Path, db_url: str | None) -> None:
    # the tester recorded the update searches in the protocol after screening began; the
    # report printed it in bold like a change of the criteria
    from screener.workflow.review import amend_protocol

    review, left = _update_review(tmp_path, db_url)
    try:
        assert review.folder is not None
        protocol = tmp_path / "protocol.yaml"
        updated = tmp_path / "v2.yaml"
        updated.write_text(protocol.read_text(encoding="utf-8")
                           + "  - {source: PubMed, date: '2021-07-01'}\n"
                           "  - {source: Embase, date: '2021-07-01'}\n", encoding="utf-8")
        amend_protocol(review, updated, "update searches")
        stopping = tmp_path / "v3.yaml"
        stopping.write_text(updated.read_text(encoding="utf-8")
                            + "stopping: {consecutive_irrelevant: 5}\n", encoding="utf-8")
        amend_protocol(review, stopping, "shorter run")
        text = " ".join(write_report(review, tmp_path / "r.md").read_text(
            encoding="utf-8").split())
    finally:
        review.close()
    section = text.split("## Protocol", 1)[1].split("## Identification", 1)[0]
    assert "**Protocol version 2" not in section
    assert re.search(r"Protocol version 2 was recorded on \S+ \S+ UTC \(it adds the update "
                     r"searches of PubMed and Embase; recorded after screening had started, "
                     r"when 4 decisions had been made\)\.", section), section
    # a change of how records are screened stays in bold
    assert "**Protocol version 3 was recorded on" in section
    # the table says which searches
    assert ("search strategies (added PubMed 2021-07-01, Embase 2021-07-01)" in section)


def _title_abstract_only(make_review: Callable[..., Any], tmp_path: Path,
                         mode: str = "") -> Review:
    """A review whose protocol has no full-text stage (`mode`: a screening block, else
    single screening)."""
    protocol = tmp_path / "ta-only.yaml"
    minimal = Path(__file__).parents[2] / "protocols" / "minimal.yaml"
    protocol.write_text(minimal.read_text(encoding="utf-8") + "stages: [title_abstract]\n"
                        + mode, encoding="utf-8")
    return make_review(str(protocol))


def test_a_title_abstract_only_diagram_ends_at_the_reports_sought(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """A protocol with stages [title_abstract] drew a full-text branch nobody carried out:
    'Reports assessed for eligibility' = the reports sought, the maybes 'Reports excluded'
    with no reason (so export prisma --strict refused: 'do not add up'), and the report
    said 'No report was excluded at full text'."""
    review = _title_abstract_only(make_review, tmp_path)
    with review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(5)])
    for rid, label in zip(ids, (Label.INCLUDE, Label.INCLUDE, Label.MAYBE, Label.EXCLUDE,
                                Label.EXCLUDE), strict=True):
        record_decision(review, rid, "ann", label)
    _, result = export_prisma(review, "svg", tmp_path / "p.svg", strict=True)
    assert result.problems == () and result.counts.reports_sought == 3
    assert any("no full-text stage" in n and "those rated maybe (1 record)" in n
               for n in result.notes), result.notes
    drawn = (tmp_path / "p.svg").read_text(encoding="utf-8")
    assert "Reports sought for retrieval (n = 3)" in drawn
    for box in ("Reports assessed", "Reports excluded", "Reports not retrieved",
                "Studies included", "Included"):
        assert box not in drawn, box
    export_prisma(review, "json", tmp_path / "p.json")
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert data["databases_and_registers"]["reports_sought"] == 3
    assert data["databases_and_registers"]["reports_assessed"] is None
    assert data["included"] is None and data["problems"] == []
    assert data["prisma2020_template"]["dbr_assessed"] == "NA"
    report = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Reports excluded at full text" not in report
    assert "Reports assessed for eligibility" not in report
    assert "do not add up" not in report


@pytest.mark.parametrize(("mode", "said"), [
    ("", "Each record screened so far was screened by one reviewer."),
    ("screening:\n  mode: dual\n  reviewers_per_record: 3\n  blind: true\n"
     "  resolution: consensus\n  conflicts: {reason_mismatch_full_text: true}\n",
     # (a draft: only ann has screened, so not "Every record screened so far was screened
     # by three reviewers")
     "Under the protocol each record is screened by three reviewers, independently: "
     "screener did not show reviewers each other's decisions until reconciliation of the stage "
     "began (blinded). So far, at title and abstract, 1 record has been screened by one "
     "reviewer."),
])
def test_title_abstract_only_methods_text_speaks_of_records_only(
        make_review: Callable[..., Any], tmp_path: Path, mode: str, said: str) -> None:
    """Without a full-text stage the text said 'At each stage every record ... and every
    retrieved report was screened by three reviewers' (or 'Each record and each retrieved
    report screened so far ... by one reviewer'): there was one stage and no report."""
    review = _title_abstract_only(make_review, tmp_path, mode)
    with review.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(3)])
    record_decision(review, ids[0], "ann", Label.EXCLUDE)
    text = " ".join(_methods(review).split())
    assert said in text, text
    assert "report" not in text.split("Screening was of titles")[0], text
    assert "at full text" not in text


def test_a_draft_says_how_conflicts_are_resolved_and_how_many_remain(
        make_review: Callable[..., Any]) -> None:
    """A draft with a conflict still open said 'Disagreements ... were resolved by an
    adjudicator', as if every one had been."""
    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"R{i}") for i in range(4)])
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    record_decision(review, ids[0], "bob", Label.EXCLUDE, reason_id="design")
    text = " ".join(_methods(review).split())
    assert "Disagreements (include versus exclude and maybe versus exclude) are resolved by " \
           "an adjudicator" in text, text
    assert "; 1 is not resolved yet." in text
    assert "were resolved" not in text


def test_table_2_lists_the_reports_the_diagram_counts_as_excluded(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """A report excluded at full text and then removed as a duplicate stayed in Table 2,
    whose n (3) then exceeded the diagram's "Reports excluded" box (2): the diagram counts
    it among the duplicates removed, and the table now says so instead of listing it."""
    from screener.workflow.importing import deduplicate

    review = make_review()
    _one_report_twice(review)  # records 1 and 2, and another one (3)
    for rid in (1, 2, 3):
        record_decision(review, rid, "ann", Label.INCLUDE)
        record_decision(review, rid, "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                        reason_id="population")
    deduplicate(review)  # both copies assessed: 1 kept, 2 removed
    with review.read() as s:
        assert repo.removed_duplicate_ids(s) == {2}
    text_ = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    boxes = dict(re.findall(r"^\| (Reports excluded|Duplicate records removed) \| (\d+) \|$",
                            text_, re.M))
    table = re.search(r"Table 2\. .*\(n = (\d+)\)\.\n\n((?:\|.*\n)+)", text_)
    assert table is not None
    assert table.group(1) == boxes["Reports excluded"] == "2"
    assert len(table.group(2).splitlines()) - 2 == 2  # (header and rule)
    words = " ".join(text_.split())
    assert ("1 report excluded at full text was removed afterwards as a duplicate of "
            "another record; it is not listed here: the flow diagram counts it among the "
            "duplicate records removed") in words
    assert boxes["Duplicate records removed"] == "1"


def test_a_dated_update_of_an_undated_search_is_reported_as_an_update(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """The original PubMed search imported without --searched, screened, then its update
    imported with --searched 2021-07-01: the report said nothing of an update (it did when
    both searches were dated)."""
    from screener.workflow.importing import import_records

    review = make_review()
    import_records(review, [Record(title="Trial one", year=2019)], source="PubMed",
                   kind="database")
    record_decision(review, 1, "ann", Label.EXCLUDE)
    import_records(review, [Record(title="Trial two", year=2021)], source="PubMed",
                   kind="database", searched="2021-07-01")
    text = " ".join(write_report(review, tmp_path / "r.md").read_text(
        encoding="utf-8").split())
    assert ("The original search, whose date was not recorded, was updated on 2021-07-01 "
            "(PubMed)") in text


def test_a_stored_search_date_in_the_future_is_flagged_not_given_as_the_search_date(
        tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A protocol stored by an older screener with a planned search date (2999-01-01, now
    refused by `protocol check`) gave that date in the report as the day PubMed was
    searched; so did an import dated in the future by an older `import --searched`."""
    import datetime as dt

    from screener.core import dates
    from screener.workflow.importing import import_records

    # what older versions allowed: no search date was too late
    monkeypatch.setattr(dates, "latest_search_day", lambda: dt.date(3000, 1, 1))
    review = _review_searching(tmp_path, db_url, ("PubMed", "2999-01-01"))
    try:
        import_records(review, [Record(title="Ketamine trial one", year=2019)],
                       source="PubMed", kind="database")
        import_records(review, [Record(title="Ketamine trial two", year=2020)],
                       source="Embase", kind="database", searched="2999-02-01")
        monkeypatch.undo()
        text = write_report(review, tmp_path / "r.md").read_text(encoding="utf-8")
    finally:
        review.close()
    table = text.split("## Identification", 1)[1].split("\n\n")[1]
    assert "2999" not in table
    assert "| PubMed | database | not given (a future date) |" in table
    assert "| Embase | database | not given (a future date) |" in table
    assert "Marked (protocol)" not in text  # (no date or query of the protocol's is shown)
    words = " ".join(text.split())
    assert ("The search dates stored for PubMed (2999-01-01, from the protocol) and Embase "
            "(2999-02-01) are after the day this report was written, so they are not given "
            "as the days of the searches") in words


def test_an_include_export_names_the_records_it_leaves_out_that_go_to_full_text(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """`export records` (include, "for full-text retrieval") left out the records rated
    maybe, whose full texts are sought too, and those in conflict, without a word."""
    review = make_review()
    build(review)  # one record rated maybe
    notes: list[str] = []
    _, n = export_records(review, "include", Stage.TITLE_ABSTRACT, "ris", tmp_path / "i.ris",
                          notice=notes.append)
    assert notes == [
        "1 record rated maybe also goes to full text (PRISMA counts them as reports sought) "
        "and is not in this file: `screener export records --label maybe` exports them, and "
        "`screener export records --stage full_text --label all` every report sought, for "
        "retrieval"]
    _, sought = export_records(review, "all", Stage.FULL_TEXT, "csv", tmp_path / "ft.csv")
    counts = prisma_counts(review).counts  # both columns: databases and other methods
    assert sought == counts.reports_sought + counts.other_reports_sought == n + 1
    notes.clear()
    export_records(review, "exclude", Stage.TITLE_ABSTRACT, "ris", tmp_path / "e.ris",
                   notice=notes.append)
    assert notes == []  # only an include export is taken for the retrieval list


def test_an_include_export_counts_the_records_still_in_conflict(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    from screener.workflow.team import list_conflicts

    notes: list[str] = []
    dual = make_review("dual-screening.yaml")
    with dual.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(3)])
    for rid in ids:
        record_decision(dual, rid, "ann", Label.INCLUDE)
        record_decision(dual, rid, "bob", Label.EXCLUDE if rid == ids[0] else Label.INCLUDE)
    list_conflicts(dual, viewer="Adjudicator")  # ends blinding
    export_records(dual, "include", Stage.TITLE_ABSTRACT, "ris", tmp_path / "d.ris",
                   notice=notes.append)
    assert notes == ["1 record in conflict at title/abstract is not in this file: it goes to "
                     "full text if resolved as include or maybe (`screener conflicts`)"]


def _screening_meanwhile(review: Any, monkeypatch: pytest.MonkeyPatch, module: Any,
                         name: str) -> Callable[[], None]:
    """A review of 20 records, 5 screened by ann, where someone screens a sixth (a
    decision committed in its own transaction) just before `module.name` is called; the
    function returned takes the hook away."""
    from screener.workflow.importing import import_records

    import_records(review, [Record(title=f"Trial {i}", year=2020) for i in range(20)],
                   source="PubMed", kind="database")
    for rid in range(1, 6):
        record_decision(review, rid, "ann", Label.INCLUDE if rid == 1 else Label.EXCLUDE)
    original = getattr(module, name)

    def someone_screens(*args: Any, **kwargs: Any) -> Any:
        record_decision(review, 6, "ann", Label.EXCLUDE)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, someone_screens)
    return lambda: monkeypatch.setattr(module, name, original)


def test_the_report_reads_its_figures_from_one_snapshot(
        make_review: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone screened while the report was written: the methods text read "records
    screened: 434" and the diagram "Records screened 436", as the stopping values and the
    PRISMA counts were read in separate transactions. A decision made between the two
    reads (a hook in front of the PRISMA counts) now changes neither."""
    from screener.exports.report import ReportInputs
    from screener.workflow import reporting

    review = make_review()
    unhook = _screening_meanwhile(review, monkeypatch, reporting, "prisma_counts")
    inputs = reporting.build_report_inputs(review)
    assert isinstance(inputs, ReportInputs) and inputs.stopping is not None
    values = dict(inputs.stopping.values)
    assert values["records screened"].startswith("5 of 20")
    assert inputs.counts.records_screened == 5
    unhook()
    after = reporting.build_report_inputs(review)  # the decision is there for the next
    assert isinstance(after, ReportInputs) and after.counts.records_screened == 6


def test_status_reads_its_figures_from_one_snapshot(
        make_review: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """As the report: `status` read its counts, the stopping values and the PRISMA numbers
    in separate transactions, so a decision stored meanwhile (a hook in front of the
    stopping values) made them disagree; they now come from one snapshot."""
    from screener.workflow import reporting
    from screener.workflow.status import status

    review = make_review()
    unhook = _screening_meanwhile(review, monkeypatch, reporting, "stopping_rule_met")
    data = status(review)
    screened = {(s["reviewer"], s["stage"]): s["count"] for s in data["screened"]}
    assert screened[("ann", "title_abstract")] == 5
    assert [p["screened"] for p in data["stopping"]["reviewers"]] == [5]
    assert data["prisma"]["records_screened"] == 5
    unhook()
    assert status(review)["prisma"]["records_screened"] == 6  # there for the next look


def _design_excluded_then_renamed(review: Review, rid: int, tmp_path: Path) -> str:
    """ann excludes `rid` at full text for the reason 'design', whose id `protocol amend
    --drop-used` then renames (to 'study_design', reworded); the wording 'design' had."""
    import yaml

    from screener.workflow.review import amend_protocol

    record_decision(review, rid, "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                    reason_id="design")
    data = yaml.safe_load((tmp_path / "review" / "protocol.yaml").read_text(encoding="utf-8"))
    (design,) = [r for r in data["exclusion_reasons"] if r["id"] == "design"]
    worded = str(design["label"])
    design["id"], design["label"] = "study_design", "Not a randomised trial"
    amended = tmp_path / "amended.yaml"
    amended.write_text(yaml.safe_dump(data), encoding="utf-8")
    amend_protocol(review, amended, "reason ids tidied", drop_used=True)
    return worded


def test_an_exclusion_reason_dropped_by_amendment_keeps_its_wording_in_the_report(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """After `protocol amend --drop-used` renamed the reason id 'design' cited by a
    full-text exclusion, Table 2 said "no reason" and PRISMA the bare id "design" (a
    tester's run): both now give the wording stored with the decision, as the log does."""
    review = make_review()
    ids = _trials_at_full_text(review, 2)
    worded = _design_excluded_then_renamed(review, ids[0], tmp_path)
    text = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"| {worded} |" in text and "no reason" not in text
    assert f"| Reports excluded: {worded} | 1 |" in text
    assert "| Reports excluded: design |" not in text


@pytest.mark.parametrize("viewer", [None, "ann"])
def test_an_exclusion_reason_dropped_by_amendment_keeps_its_wording_in_the_records_export(
        make_review: Callable[..., Any], tmp_path: Path, viewer: str | None) -> None:
    """After `protocol amend --drop-used` renamed the reason id 'design', `export records`
    gave the excluded report's reason as the bare id 'design' in every format, where the
    decision log, the report and PRISMA give the wording stored with the decision."""
    import csv

    from openpyxl import load_workbook

    review = make_review()
    ids = _trials_at_full_text(review, 3)
    worded = _design_excluded_then_renamed(review, ids[0], tmp_path)
    record_decision(review, ids[1], "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                    reason_id="study_design")  # (a reason of the protocol in force)
    files = {fmt: export_records(review, "exclude", Stage.FULL_TEXT, fmt,
                                 tmp_path / f"ex.{'bib' if fmt == 'bibtex' else fmt}",
                                 viewer=viewer)[0] for fmt in ("csv", "ris", "bibtex", "xlsx")}
    with files["csv"].open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["reason"] for row in rows] == [worded, "Not a randomised trial"]
    sheet = load_workbook(files["xlsx"], read_only=True).worksheets[0]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    at = table[0].index("reason")
    assert [row[at] for row in table[1:]] == [worded, "Not a randomised trial"]
    for fmt in ("ris", "bibtex"):
        text = files[fmt].read_text(encoding="utf-8")
        assert f"reason: {worded}" in text and "reason: design" not in text, text


def test_a_dropped_full_text_stage_leaves_its_exclusions_out_of_the_report(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """After `protocol amend --drop-used` dropped the full_text stage, the report said
    screening was of titles and abstracts only but still printed "Reports excluded at full
    text" and Table 2 with the old full-text exclusion (a tester's run): decisions at a
    dropped stage are left out, as status and the exports leave them out."""
    import yaml

    from screener.workflow.review import amend_protocol

    review = make_review()
    ids = _trials_at_full_text(review, 2)
    record_decision(review, ids[0], "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                    reason_id="design")
    data = yaml.safe_load((tmp_path / "review" / "protocol.yaml").read_text(encoding="utf-8"))
    data["stages"] = ["title_abstract"]
    amended = tmp_path / "amended.yaml"
    amended.write_text(yaml.safe_dump(data), encoding="utf-8")
    amend_protocol(review, amended, "title/abstract only", drop_used=True)
    text = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    assert "titles and abstracts only" in text
    assert "excluded at full text" not in text and "Table 2" not in text
    assert "Trial 0" not in text


def test_the_methods_text_says_how_many_conflicts_an_amendment_to_single_settled(
        make_review: Callable[..., Any], amend_to_single: Callable[..., None],
        tmp_path: Path) -> None:
    """Amended from dual to single screening, the command said that conflicts "are now
    settled by the latest decision, without the adjudicator", but the methods text never
    said so (a tester's run): it now gives how many, where and how."""
    review = make_review("dual-screening.yaml")
    ids = _trials_at_full_text(review, 3)
    for rid, label in zip(ids, (Label.EXCLUDE, Label.EXCLUDE, Label.INCLUDE), strict=True):
        record_decision(review, rid, "bob", label, reason_id=None)
    amend_to_single(review, "one reviewer from now on")
    text = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    assert ("2 disagreements at title and abstract not yet resolved when the protocol was "
            "amended to version 2") in text
    assert "settled by the latest decision on each record, without the adjudicator" in text


def test_table_1_note_says_which_of_a_reviewers_decisions_it_counts(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """In a blind review Table 1's † note counts the decisions that enter the agreement, as
    they stood when reconciliation began, and the methods text counts all of a reviewer's
    imported and own decisions: the report said "3 of Ann's 6 decisions were imported"
    beside "on 2 records recorded as 'Ann' (...; Ann's other 4 decisions were made in
    screener)", two counts for "Ann's decisions". The note now says which it counts, and
    counts only those the table holds (a record no one else screened is not in it)."""
    from screener.exports.report import methods_report
    from screener.workflow.importing import import_file
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.team import list_conflicts

    review = make_review("dual-screening.yaml")
    ids = _rayyan_three(review)
    extra = tmp_path / "extra.csv"
    extra.write_text("title,abstract\nA sixth trial,x\n", encoding="utf-8")
    import_file(review, extra, source="Embase")
    with review.read() as s:
        [alone] = set(repo.record_sources(s)) - set(ids)
    record_decision(review, ids[0], "Ann", Label.EXCLUDE, reason_id="design")
    record_decision(review, ids[1], "Ann", Label.INCLUDE)
    record_decision(review, alone, "Ann", Label.INCLUDE)  # no one else screened it
    list_conflicts(review, viewer="Adjudicator")  # reconciliation begins
    record_decision(review, ids[2], "Ann", Label.INCLUDE)  # after it: not in the agreement
    text = " ".join(methods_report(build_report_inputs(review)).split())
    assert ("on 2 records recorded as 'Ann' (from rayyan\\_decisions\\_sample.ris; Ann's other "
            "4 decisions were made in screener)") in text
    assert "| Title and abstract | Ann† and Bob† | 5 |" in text
    assert ("† 3 of the 5 of Ann's title/abstract decisions in this table were imported from "
            "rayyan\\_decisions\\_sample.ris") in text
    assert "† Carol's title/abstract decisions in this table were imported from rayyan" in text
