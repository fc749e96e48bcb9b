"""Import, dedup, PubMed search and citation searching through the CLI, asserting on the
database; real export files from tests/data/formats (see SOURCES.md there)."""

from __future__ import annotations

import csv
import json
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.core.decisions import Label
from screener.storage import repo
from screener.workflow.review import open_review
from tests.conftest import UNREADABLE_ESEARCH

TESTS = Path(__file__).resolve().parents[1]
FORMATS = TESTS / "data" / "formats"
ENTREZ = TESTS / "data" / "entrez"
PROTOCOL = str(TESTS.parent / "protocols" / "minimal.yaml")


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def review_dir(tmp_path: Path, db_url: str | None) -> list[str]:
    run("init", str(tmp_path / "rev"), "--protocol", PROTOCOL, *(["--db", db_url] if db_url else []))
    return ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]


def test_import_many_formats_keeps_provenance(review_dir: list[str]) -> None:
    run("import", str(FORMATS / "medline" / "rispy_example_pubmed.nbib"), *review_dir,
        "--source", "PubMed", "--searched", "2026-10-01", "--query", "ketamine[tiab]")
    run("import", str(FORMATS / "ris" / "asreview_embase.ris"), *review_dir, "--source", "Embase")
    run("import", str(FORMATS / "pubmed_xml" / "biopython_pubmed1.xml"), *review_dir,
        "--source", "Hand search", "--kind", "other")
    data = json.loads(run("status", "--json", *review_dir))
    by_name = {s["name"]: s for s in data["sources"]}
    assert by_name["PubMed"]["query"] == "ketamine[tiab]"
    assert by_name["PubMed"]["searched"] == "2026-10-01"
    assert by_name["Embase"]["kind"] == "database" and by_name["Hand search"]["kind"] == "other"
    assert data["identified_by_kind"]["other"] == by_name["Hand search"]["records"] == 2
    assert data["records_total"] == sum(s["records"] for s in data["sources"])
    # a file of one record says so in the singular (it said "1 records (bibtex)")
    out = run("import", str(FORMATS / "bibtex" / "bibtexparser_article_start_with_bom.bib"),
              *review_dir)
    assert "bibtexparser_article_start_with_bom.bib: 1 record (bibtex)" in out


def test_bad_file_imports_nothing(review_dir: list[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.ris"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    out = run("import", str(broken), *review_dir, code=2)
    assert "broken.ris" in out and "Nothing was imported" in out and "Traceback" not in out
    data = json.loads(run("status", "--json", *review_dir))
    assert data["records_total"] == 0 and data["sources"] == []


def test_labels_as_turns_a_label_column_into_decisions(review_dir: list[str]) -> None:
    sample = FORMATS / "csv" / "synergy_chou_2004_sample.csv"
    run("import", str(sample), *review_dir)
    data = json.loads(run("status", "--json", *review_dir))
    assert data["decisions"] == []  # kept among the raw fields only
    run("import", str(sample), *review_dir, "--labels-as", "original-team", "--again")
    data = json.loads(run("status", "--json", *review_dir))
    labels = {d["label"]: d["count"] for d in data["decisions"]}
    assert sum(labels.values()) == 8 and labels.get("exclude", 0) >= 1


def test_labels_only_adds_a_second_reviewers_labels_to_the_records_imported_before(
        tmp_path: Path, db_url: str | None) -> None:
    """A team bringing a dual screening from another tool has each reviewer's labels on the
    same records. A second `--labels-as` import was refused ("already imported"), and with
    --again it imported the records twice, so PRISMA counted the search twice (a tester's
    find). --labels-only attaches the labels to the records of the earlier import."""
    rev = ["--db", db_url] if db_url else ["--review", str(tmp_path / "rev")]
    run("init", str(tmp_path / "rev"), "--protocol",
        str(TESTS.parent / "protocols" / "dual-screening.yaml"), *rev[:2] if db_url else ())
    head = "title,abstract,doi,label_included\n"
    rows = ["Paper one about ketamine,abstract one,10.1000/one,{}",
            "Paper two about esketamine,abstract two,10.1000/two,{}",
            "Paper three,abstract three,10.1000/three,{}"]
    ann, bob = tmp_path / "ann.csv", tmp_path / "bob.csv"
    ann.write_text(head + "\n".join(r.format(v) for r, v in zip(rows, "10", strict=False))
                   + "\n" + rows[2].format("") + "\n")
    bob.write_text(head + "\n".join(r.format(v) for r, v in zip(rows, "001", strict=True)) + "\n")
    run("import", str(ann), *rev, "--source", "PubMed", "--labels-as", "ann")
    hint = run("import", str(bob), *rev, "--labels-as", "bob", code=2)
    assert "were already imported" in hint and "import the file with --labels-only" in hint
    out = run("import", str(bob), *rev, "--labels-as", "bob", "--labels-only")
    assert "3 labels as decisions by bob on the records of source 'PubMed'" in out
    data = json.loads(run("status", "--json", *rev))
    assert data["records_total"] == 3 and [s["records"] for s in data["sources"]] == [3]
    labels = {}
    for name in ("ann", "bob"):  # blind screening: each reviewer sees their own
        own = json.loads(run("status", "--json", "--reviewer", name, *rev))["decisions"]
        labels.update({(d["reviewer"], d["label"]): d["count"] for d in own})
    assert labels == {("ann", "include"): 1, ("ann", "exclude"): 1,
                      ("bob", "exclude"): 2, ("bob", "include"): 1}
    assert "labels imported" in run("log", "events", *rev)
    verified = run("log", "verify", *rev)
    assert "event log OK" in verified and "tables OK" in verified
    # the same labels again, a file of other records, no reviewer: refused, nothing stored
    again = run("import", str(bob), *rev, "--labels-as", "bob", "--labels-only", code=2)
    assert "bob already has decisions on 3 of these records" in again
    other = tmp_path / "other.csv"
    other.write_text(head + "Another paper,abstract,10.1000/four,1\n")
    refused = run("import", str(other), *rev, "--labels-as", "bob", "--labels-only", code=2)
    assert "are not those of an earlier import" in refused and "Nothing was imported" in refused
    assert "--labels-only needs --labels-as" in run("import", str(bob), *rev, "--labels-only",
                                                    code=2)
    after = json.loads(run("status", "--json", "--reviewer", "bob", *rev))
    assert after["records_total"] == 3
    assert {(d["label"], d["count"]) for d in after["decisions"]} == {("exclude", 2),
                                                                        ("include", 1)}


def test_labels_as_names_label_cells_it_could_not_read(review_dir: list[str],
                                                       tmp_path: Path) -> None:
    labelled = tmp_path / "l.csv"
    labelled.write_text("title,abstract,label_included\nA trial,x,1\nB trial,y,maybe\n"
                        "C trial,z,yes\nD trial,w,\nE trial,v,0\nF trial,u,2\n",
                        encoding="utf-8")
    out = run("import", str(labelled), *review_dir, "--labels-as", "original-team")
    assert "6 records (csv), 4 labels as decisions by original-team" in out
    assert ("1 record has a label that is neither include, exclude nor maybe (record 6: "
            "'2'); they were imported without a decision") in out


def test_labels_as_reads_a_covidence_maybe_as_maybe(review_dir: list[str]) -> None:
    """Covidence's "Maybe" was dropped ("1 record has a label that is neither include nor
    exclude ... imported without a decision") though title/abstract screening has a maybe:
    it is imported as one, and counts as the maybe it is."""
    sample = FORMATS / "csv" / "covidence_maybe_sample.csv"
    out = run("import", str(sample), *review_dir, "--source", "MEDLINE", "--labels-as", "ann")
    assert "3 records (csv), 3 labels as decisions" in out and "neither" not in out
    data = json.loads(run("status", "--json", "--reviewer", "ann", *review_dir))
    assert {(d["label"], d["count"]) for d in data["decisions"]} == {("include", 2),
                                                                       ("maybe", 1)}
    data = json.loads(run("status", "--json", *review_dir))
    assert sum(d["count"] for d in data["decisions"]) == 3        # an empty cell: unlabelled


def test_labels_as_reads_each_reviewers_rayyan_decisions(review_dir: list[str],
                                                         tmp_path: Path) -> None:
    """A team moving in from Rayyan could not bring its decisions: Rayyan writes them in
    the RIS notes (N1  - RAYYAN-INCLUSION: {"Ann"=>"Included", "Bob"=>"Maybe"} |
    RAYYAN-EXCLUSION-REASONS: ...), and `--labels-as Ann` said the file had "no label
    column". Each reviewer's decisions are read by name (any case), Rayyan's exclusion
    reasons kept in the note; a name Rayyan does not have is refused naming those it has,
    and a RIS file without labels is told of its notes, not of columns."""
    sample = FORMATS / "ris" / "rayyan_decisions_sample.ris"
    out = run("import", str(sample), *review_dir, "--source", "MEDLINE", "--labels-as", "ann")
    assert "5 records (ris), 5 labels as decisions by ann" in out
    out = run("import", str(sample), *review_dir, "--labels-as", "Bob ", "--labels-only")
    assert "5 labels as decisions by Bob on the records of source 'MEDLINE'" in out  # as stored
    data = json.loads(run("status", "--json", *review_dir))
    assert {(d["reviewer"], d["label"], d["count"]) for d in data["decisions"]} == {
        ("ann", "include", 2), ("ann", "exclude", 3),
        ("Bob", "include", 2), ("Bob", "exclude", 1), ("Bob", "maybe", 2)}
    exported = tmp_path / "ann.csv"
    run("export", "records", "--label", "exclude", "--reviewer", "ann", "--format", "csv",
        "--out", str(exported), *review_dir)
    notes = sorted(r["note"] for r in csv.DictReader(exported.open(encoding="utf-8")))
    # the record's Rayyan labels and Ann's own notes are kept with it (not Bob's)
    assert notes == [
        "imported label from rayyan_decisions_sample.ris; note: Rayyan exclusion "
        f"reasons: {reasons}" for reasons in ("wrong population", "wrong population")] + [
        "imported label from rayyan_decisions_sample.ris; note: Rayyan labels: RCT; Rayyan "
        "exclusion reasons: wrong population, wrong outcome; Rayyan notes: check the dose"]
    refused = run("import", str(sample), *review_dir, "--labels-as", "Dave", "--labels-only",
                  code=2)
    assert ("the file has Rayyan decisions by Ann, Bob, Carol, none by Dave; give "
            "--labels-as with one of them") in refused
    plain = run("import", str(FORMATS / "ris" / "asreview_embase.ris"), *review_dir,
                "--labels-as", "ann", code=2)
    assert "the file's notes hold no labels" in plain and "column" not in plain.split(";")[0]
    assert "Rayyan's (N1  - RAYYAN-INCLUSION:" in plain and "Traceback" not in plain


def test_labels_as_keeps_a_rayyan_csv_notes_cell_with_the_decision(
        review_dir: list[str], tmp_path: Path) -> None:
    """In a Rayyan CSV the notes cell holds the record's own notes beside Rayyan's
    decisions, labels and each reviewer's notes; the imported decision's note was only
    'Rayyan exclusion reasons: ...', the rest of the cell lost. It keeps them now."""
    rayyan = tmp_path / "rayyan.csv"
    with rayyan.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["key", "title", "abstract", "year", "notes"])
        writer.writerow(["1", "A trial of one thing", "x", "2001",
                         'From the hand search | RAYYAN-INCLUSION: {"Ann"=>"Excluded", '
                         '"Bob"=>"Included"} | RAYYAN-LABELS: RCT,Hospital | '
                         'RAYYAN-EXCLUSION-REASONS: wrong population | USER-NOTES: '
                         '{"Ann"=>["check the dose", "ask Bob"], "Bob"=>["looks fine"]}'])
        writer.writerow(["2", "A trial of another", "y", "2002",
                         'RAYYAN-INCLUSION: {"Ann"=>"Included", "Bob"=>"Included"}'])
    run("import", str(rayyan), *review_dir, "--source", "MEDLINE", "--labels-as", "Ann")
    run("import", str(rayyan), *review_dir, "--labels-as", "Bob", "--labels-only")
    exported = tmp_path / "out.csv"
    run("export", "records", "--format", "csv", "--out", str(exported), *review_dir)
    notes = {(r["title"], r["note"]) for r in csv.DictReader(exported.open(encoding="utf-8"))}
    assert ("A trial of one thing", "Ann: imported label from rayyan.csv; note: Rayyan labels: "
            "RCT, Hospital; Rayyan exclusion reasons: wrong population; Rayyan notes: check "
            "the dose; ask Bob; From the hand search | Bob: imported label from rayyan.csv; "
            "note: Rayyan labels: RCT, Hospital; Rayyan notes: looks fine; From the hand "
            "search") in notes, notes


@pytest.mark.parametrize(("name", "fragment"), [
    ("  ", "a reviewer name is needed: --labels-as NAME"),
    ("", "a reviewer name is needed: --labels-as NAME"),
    ("team\nB", "cannot hold control characters"),
    ("ANN", "names are matched exactly; use --labels-as ann"),
    ("Adjudicator", "names the adjudicator"),
])
def test_labels_as_takes_a_reviewer_name_like_any_other(review_dir: list[str], name: str,
                                                        fragment: str, tmp_path: Path) -> None:
    # --labels-as "  " made a reviewer named two spaces
    protocol = tmp_path / "p.yaml"
    protocol.write_text(Path(PROTOCOL).read_text(encoding="utf-8")
                        + "screening:\n  adjudicator: Adjudicator\n", encoding="utf-8")
    run("protocol", "amend", str(protocol), "--reason", "adjudicator", *review_dir)
    sample = FORMATS / "csv" / "synergy_chou_2004_sample.csv"
    run("import", str(FORMATS / "ris" / "asreview_embase.ris"), *review_dir)
    first = json.loads(run("next", "--reviewer", "ann", "--json", *review_dir))
    run("decide", str(first["record_id"]), "--reviewer", "ann", "--label", "include",
        *review_dir)
    out = run("import", str(sample), *review_dir, "--labels-as", name, code=2)
    assert fragment in out and "Traceback" not in out
    data = json.loads(run("status", "--json", *review_dir))
    assert [r["name"] for r in data["reviewers"]] == ["ann"]
    assert len(data["sources"]) == 1  # nothing imported


def test_dedup_list_and_undo(review_dir: list[str]) -> None:
    ris = str(FORMATS / "ris" / "asreview_embase.ris")
    run("import", ris, *review_dir, "--source", "Embase")
    run("import", ris, *review_dir, "--source", "Embase again", "--again")
    summary = json.loads(run("dedup", "--json", *review_dir))
    assert summary["removed"] == 6
    status = json.loads(run("status", "--json", *review_dir))
    assert status["duplicates_removed"] == 6 and status["records_unique"] == 6
    links = json.loads(run("dedup", "--list", "--json", *review_dir))
    cluster = links[0]["cluster"]
    run("dedup", "--undo", str(cluster), *review_dir)
    assert json.loads(run("status", "--json", *review_dir))["duplicates_removed"] == 5
    again = json.loads(run("dedup", "--json", *review_dir))
    assert again["removed"] == 0 and again["kept_apart"] == 1
    result = CliRunner().invoke(main, ["dedup", *review_dir])
    assert result.exit_code == 0, result.output
    assert "note: 1 pair of records found alike was not merged, as `dedup --undo` or " \
        "`--split` separated them" in result.stderr
    listed = run("dedup", "--list", *review_dir)
    assert "5 duplicate records removed" in listed
    assert f"undone cluster, kept apart: {cluster} " in listed
    marked = json.loads(run("dedup", "--list", "--json", *review_dir))
    assert [link["cluster"] for link in marked if link["undone"]] == [cluster]
    assert "no active duplicate cluster" in run("dedup", "--undo", "999", *review_dir, code=2)
    # an undo is not one-way: --redo merges the cluster again, the undo stays in the log
    redone = json.loads(run("dedup", "--redo", str(cluster), "--json", *review_dir))
    assert redone["redone"] == cluster and redone["cluster"] > cluster
    assert json.loads(run("status", "--json", *review_dir))["duplicates_removed"] == 6
    assert "is not undone" in run("dedup", "--redo", str(redone["cluster"]), *review_dir,
                                  code=2)
    listed = run("dedup", "--list", *review_dir)
    assert "kept apart" not in listed  # it is not apart any more
    assert f"undone, then merged again: {cluster} as cluster {redone['cluster']}" in listed


def test_dedup_split_takes_one_record_out_of_its_cluster(review_dir: list[str]) -> None:
    ris = str(FORMATS / "ris" / "asreview_embase.ris")
    run("import", ris, *review_dir, "--source", "Embase")
    run("import", ris, *review_dir, "--source", "Embase again", "--again")
    run("dedup", *review_dir)
    link = json.loads(run("dedup", "--list", "--json", *review_dir))[0]
    out = run("dedup", "--split", str(link["record_id"]), *review_dir)
    assert out.startswith(f"record {link['record_id']} taken out of cluster "
                          f"{link['cluster']} (it was a copy of {link['kept_id']})")
    assert json.loads(run("status", "--json", *review_dir))["duplicates_removed"] == 5
    assert json.loads(run("dedup", "--json", *review_dir))["removed"] == 0
    assert "is in no duplicate cluster" in run("dedup", "--split", str(link["record_id"]),
                                               *review_dir, code=2)
    assert "give one of --undo, --redo, --split and --list" in run(
        "dedup", "--split", "1", "--undo", "1", *review_dir, code=2)
    assert f"record {link['record_id']} taken out of duplicate cluster" in run(
        "log", "events", *review_dir)


def test_dedup_list_names_a_preprint_merged_with_its_journal_article(
        review_dir: list[str], tmp_path: Path) -> None:
    # a bioRxiv preprint and the journal article, under their own DOIs, were listed as
    # plain "fuzzy", like two exports of one record; a team could not tell them apart
    table = tmp_path / "pair.csv"
    title = "Gut microbiota composition predicts response to ketamine in depression"
    abstract = ("We followed 212 adults with treatment-resistant depression given ketamine "
                "infusions and sequenced their stool before the first infusion.")
    table.write_text(
        "Title,Abstract,Authors,Year,Journal,DOI\n"
        f'{title},{abstract},"Smith, Jane; Lee, Ann",2021,Nature Medicine,10.1038/s41591-021-1\n'
        f'{title},{abstract},"Smith, Jane; Lee, Ann",2020,bioRxiv,10.1101/2020.05.01.072801\n'
        "Exercise for knee pain in older adults,A cohort,\"Brown, Bo\",2019,BMJ,"
        "10.1136/bmj.l1\n", encoding="utf-8")
    run("import", str(table), *review_dir)
    assert json.loads(run("dedup", "--json", *review_dir))["removed"] == 1
    (link,) = json.loads(run("dedup", "--list", "--json", *review_dir))
    assert (link["record_id"], link["kept_id"]) == (2, 1)
    assert link["method"] == "fuzzy, preprint and article"
    assert "record 2 duplicate of 1 (fuzzy, preprint and article, 1.00)" in run(
        "dedup", "--list", *review_dir)


def test_dedup_names_an_older_versions_link_between_records_whose_dois_differ(
        review_dir: list[str], tmp_path: Path, db_url: str | None) -> None:
    """Older versions linked records by PMID though their DOIs differed (a 2019 article
    removed as a duplicate of a 2015 one): the current dedup said '0 duplicates removed'
    and the link stood, hiding a real record from screening."""
    table = tmp_path / "records.csv"
    title = "Gut microbiota composition predicts response to ketamine in depression"
    table.write_text(
        "Title,Authors,Year,Journal,DOI,PMID\n"
        '"Long-term efficacy of CT-P13 in inflammatory bowel disease","Kim, Ho",2019,'
        "J Gastroenterol Hepatol,10.1111/jgh.14645,30828891\n"
        '"Efficacy of CT-P13 in inflammatory bowel disease","Kim, Ho",2015,'
        "J Gastroenterol Hepatol,10.1111/jgh.12997,30828891\n"
        f'{title},"Smith, Jane",2021,Nature Medicine,10.1038/s41591-021-1,\n'
        f'{title},"Smith, Jane",2020,bioRxiv,10.1101/2020.05.01.072801,\n',
        encoding="utf-8")
    run("import", str(table), *review_dir)
    # as an older version stored them: 1 removed as a duplicate of 2 by their PMID, and
    # the preprint (4) merged with its journal article (3) by title
    with open_review(tmp_path / "rev", db_url) as review, review.transaction() as s:
        repo.add_duplicate_links(s, [(1, 1, 2, "pmid", 1.0), (2, 4, 3, "fuzzy", 1.0)])
    out = run("dedup", *review_dir)
    assert "0 duplicates removed" in out
    undo = ("the current rules keep such records apart; if they are different articles, "
            "undo it with `screener dedup --undo 1`")
    named = ("cluster 1: record 1 (2019, DOI 10.1111/jgh.14645, PMID 30828891) was removed "
             "as a duplicate of record 2 (2015, DOI 10.1111/jgh.12997, PMID 30828891), but "
             "their DOIs differ")
    assert f"warning: {named}: {undo}" in out
    listed = run("dedup", "--list", *review_dir)
    assert f"{named}: {undo}" in listed and "2 duplicate records removed" in listed
    # the preprint merged with its journal article is such a link made on purpose
    assert "cluster 2:" in listed and "record 4 (" not in listed + out
    links = {link["cluster"]: link for link in
             json.loads(run("dedup", "--list", "--json", *review_dir))}
    assert links[1]["contradicts"]["identifier"] == "DOI" and links[2]["contradicts"] is None
    assert json.loads(run("dedup", "--json", *review_dir))["contradicting"][0]["cluster"] == 1
    assert ("1 duplicate link contradicts the records' identifiers or years: see "
            "`screener dedup --list`") in run("status", *review_dir)
    # never undone by dedup itself; once undone, nothing is named
    assert json.loads(run("status", "--json", *review_dir))["duplicates_removed"] == 2
    run("dedup", "--undo", "1", *review_dir)
    assert "warning" not in run("dedup", "--list", *review_dir)
    assert "contradict" not in run("status", *review_dir)


def test_dedup_names_an_older_link_between_records_years_apart(
        review_dir: list[str], tmp_path: Path, db_url: str | None) -> None:
    """A link between records of one PMID (and no DOI) four years apart, which the current
    rules do not make, was not named."""
    table = tmp_path / "records.csv"
    table.write_text(
        "Title,Authors,Year,Journal,PMID\n"
        '"Efficacy of CT-P13 in inflammatory bowel disease","Kim, Ho",2019,'
        "J Gastroenterol Hepatol,30828891\n"
        '"Efficacy of CT-P13 in inflammatory bowel disease","Kim, Ho",2015,'
        "J Gastroenterol Hepatol,30828891\n", encoding="utf-8")
    run("import", str(table), *review_dir)
    assert "0 duplicates removed" in run("dedup", *review_dir)  # apart under the rules
    with open_review(tmp_path / "rev", db_url) as review, review.transaction() as s:
        repo.add_duplicate_links(s, [(1, 1, 2, "pmid", 1.0)])
    named = ("cluster 1: record 1 (2019, no DOI, PMID 30828891) was removed as a duplicate "
             "of record 2 (2015, no DOI, PMID 30828891), but they are 4 years apart: the "
             "current rules keep such records apart")
    assert named in run("dedup", *review_dir) and named in run("dedup", "--list", *review_dir)
    assert "1 duplicate link contradicts" in run("status", *review_dir)


def test_dedup_and_redo_name_screened_removed_copies_with_the_copy_kept(
        review_dir: list[str], tmp_path: Path) -> None:
    ris = str(FORMATS / "ris" / "asreview_embase.ris")
    run("import", ris, *review_dir, "--source", "Embase")
    run("import", ris, *review_dir, "--source", "Embase again", "--again")  # records 7-12
    for rid, label in (("1", "include"), ("7", "include"), ("2", "include"), ("8", "exclude")):
        run("decide", rid, "--reviewer", "ann", "--label", label, *review_dir)
    out = run("dedup", *review_dir)
    links = {link["record_id"]: link for link in
             json.loads(run("dedup", "--list", "--json", *review_dir))}
    assert links[7]["kept_id"] == 1 and links[8]["kept_id"] == 2
    assert "6 duplicates removed in 6 clusters" in out  # said "duplicate(s) ... cluster(s)"
    assert "2 removed records had been screened" in out and "7 (kept: 1)" in out
    assert "1 of them was decided differently from the copy kept: 8 (kept: 2)" in out
    cluster = links[8]["cluster"]
    run("dedup", "--undo", str(cluster), *review_dir)
    out = run("dedup", "--redo", str(cluster), *review_dir)
    assert "merged again" in out and "1 removed record had been screened" in out
    assert "decided differently from the copy kept: 8 (kept: 2)" in out
    new = int(out.split("merged again as cluster ")[1].split()[0])
    assert json.loads(run("dedup", "--undo", str(new), "--json", *review_dir))["restored"] == 1
    data = json.loads(run("dedup", "--redo", str(new), "--json", *review_dir))
    assert data["screened_removed"] == [8] == data["decided_differently"]
    # the decision log says which decisions no longer count, and which copy replaced them
    out_csv = tmp_path / "log.csv"
    run("export", "log", "--out", str(out_csv), *review_dir)
    with out_csv.open(encoding="utf-8", newline="") as handle:
        marks = {(row["record_id"], row["removed_as_duplicate_of"])
                 for row in csv.DictReader(handle)}
    assert marks == {("1", ""), ("7", "1"), ("2", ""), ("8", "2")}


def test_redo_keeps_the_copy_screened_while_the_cluster_was_undone(
        review_dir: list[str]) -> None:
    """After an undo, a reviewer may screen the restored copy only; merging again must keep
    that copy (as dedup does), or its decision stops counting and the record looks
    unscreened."""
    ris = str(FORMATS / "ris" / "asreview_embase.ris")
    run("import", ris, *review_dir, "--source", "Embase")
    run("import", ris, *review_dir, "--source", "Embase again", "--again")  # records 7-12
    run("dedup", *review_dir)
    links = {link["record_id"]: link for link in
             json.loads(run("dedup", "--list", "--json", *review_dir))}
    assert links[9]["kept_id"] == 3
    run("dedup", "--undo", str(links[9]["cluster"]), *review_dir)
    run("decide", "9", "--reviewer", "ann", "--label", "include", *review_dir)
    out = run("dedup", "--redo", str(links[9]["cluster"]), *review_dir)
    assert "had been screened" not in out
    relinked = [link for link in json.loads(run("dedup", "--list", "--json", *review_dir))
                if 3 in (link["record_id"], link["kept_id"]) and not link["undone"]]
    assert [(link["record_id"], link["kept_id"]) for link in relinked] == [(3, 9)]
    data = json.loads(run("status", "--json", *review_dir))
    assert data["outcomes"]["title_abstract"].get("include") == 1
    assert (f"undone, then merged again: {links[9]['cluster']} as cluster"
            in run("dedup", "--list", *review_dir))


class Recorded:
    """E-utilities answered from recorded files (tests/data/entrez); counts the calls."""

    def __init__(self, history_batch: Callable[[int, int], bytes]) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.history_batch = history_batch

    def __call__(self, utility: str, params: Mapping[str, Any]) -> bytes:
        self.calls.append((utility, dict(params)))
        if utility == "esearch":
            return (ENTREZ / "esearch_history.xml").read_bytes()
        if "id" in params:
            return (ENTREZ / "efetch_ids.xml").read_bytes()
        return self.history_batch(int(params["retstart"]), int(params["retmax"]))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch,
             history_batch: Callable[[int, int], bytes]) -> Recorded:
    from screener.importers import pubmed

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("a test tried to use the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    fake = Recorded(history_batch)
    monkeypatch.setattr(pubmed, "entrez_transport", fake)
    monkeypatch.setattr(pubmed, "shared_limiter",
                        lambda api_key: pubmed.RateLimiter(1000.0, clock=lambda: 0.0,
                                                           sleep=lambda s: None))
    return fake


def test_search_pubmed_stores_query_date_and_count(review_dir: list[str],
                                                   recorded: Recorded, tmp_path: Path) -> None:
    out = run("search", "pubmed", "odontogenic keratocyst", "--email", "me@example.org",
              "--max", "600", *review_dir)
    assert "records imported" in out
    # like import, it says to deduplicate (a tester missed it), and keeps PubMed's reading
    assert "run `screener dedup`" in out
    assert "run `screener dedup`" in run("import-ids", "--pmid", "29768149", "--email",
                                         "me@example.org", *review_dir)
    run("export", "log", "--events", "--format", "jsonl", "--out", str(tmp_path / "e.jsonl"),
        *review_dir)
    (searched, _) = [e["details"] for e in map(json.loads, (tmp_path / "e.jsonl").read_text(
        encoding="utf-8").splitlines()) if e["kind"] == "records_imported"]
    assert searched["query_translation"] == '"odontogenic keratocyst"[All Fields]'
    efetches = [p for u, p in recorded.calls if u == "efetch" and "id" not in p]
    assert len(efetches) == 2 and all(int(p["retmax"]) <= 500 for p in efetches)
    data = json.loads(run("status", "--json", *review_dir))
    (source, _) = data["sources"]
    assert source["name"] == "PubMed" and source["query"] == "odontogenic keratocyst"
    assert source["reported_count"] == 1234 and source["searched"]
    assert source["records"] == 600


@pytest.fixture
def local_day_not_utc() -> Iterator[str]:
    """A local time zone (TZ) whose date now is not the UTC date (UTC+14 in the UTC
    afternoon, UTC-12 in the morning); gives that local date."""
    import os
    import time
    from datetime import UTC, date, datetime

    before = os.environ.get("TZ")
    os.environ["TZ"] = "Etc/GMT-14" if datetime.now(UTC).hour >= 12 else "Etc/GMT+12"
    time.tzset()
    try:
        yield date.today().isoformat()
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_search_run_now_is_dated_with_the_searchers_own_day(
        review_dir: list[str], recorded: Recorded, local_day_not_utc: str) -> None:
    """search pubmed stored the UTC date and import-ids the local one: a search run in
    Auckland on the morning of 30 November was dated 29 November by one, 30 by the other."""
    run("search", "pubmed", "odontogenic keratocyst", "--email", "me@example.org",
        "--max", "600", *review_dir)
    run("import-ids", "--pmid", "29768149", "--email", "me@example.org", *review_dir)
    data = json.loads(run("status", "--json", *review_dir))
    assert [s["searched"] for s in data["sources"]] == [local_day_not_utc] * 2


def test_import_ids_is_citation_searching(review_dir: list[str], recorded: Recorded,
                                          tmp_path: Path) -> None:
    ids = tmp_path / "pmids.txt"
    ids.write_text("29768149\n", encoding="utf-8")
    run("import-ids", str(ids), "--email", "me@example.org", *review_dir)
    data = json.loads(run("status", "--json", *review_dir))
    (source,) = data["sources"]
    assert (source["name"], source["kind"]) == ("Citation searching", "other")
    assert data["identified_by_kind"]["other"] == source["records"] >= 1
    bad = tmp_path / "bad.txt"
    bad.write_text("29768149\nnot-a-pmid\n", encoding="utf-8")
    assert "line 2" in run("import-ids", str(bad), "--email", "me@example.org", *review_dir,
                           code=2)


def test_a_pmid_list_file_takes_the_forms_pmid_takes(tmp_path: Path) -> None:
    # 'PMID: 29768149' on a line was refused with "'PMID:' is not a PMID", though
    # --pmid 'PMID: 29768149' is accepted
    from screener.workflow.importing import read_pmid_list
    from screener.workflow.review import ReviewError

    ids = tmp_path / "pmids.txt"
    ids.write_text("29768149\nPMID: 30922926, PMID:123 pmid 456\n"
                   "https://pubmed.ncbi.nlm.nih.gov/789/\n", encoding="utf-8")
    assert read_pmid_list(ids) == ["29768149", "30922926", "123", "456", "789"]
    ids.write_text("29768149\nPMID:\n", encoding="utf-8")
    with pytest.raises(ReviewError, match="line 2: 'PMID:' is not a PMID"):
        read_pmid_list(ids)


def test_a_retry_is_announced_while_the_command_waits(review_dir: list[str],
                                                     recorded: Recorded,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # with no network, search and import-ids sat silent for 16 s of retries
    from urllib.error import URLError

    from screener.importers import pubmed

    monkeypatch.setattr(pubmed.time, "sleep", lambda seconds: None)
    fails = [URLError("[Errno -3] Temporary failure in name resolution")]

    def flaky(utility: str, params: Mapping[str, Any]) -> bytes:
        if fails:
            raise fails.pop()
        return recorded(utility, params)

    monkeypatch.setattr(pubmed, "entrez_transport", flaky)
    out = run("import-ids", "--pmid", "29768149", "--email", "me@example.org", *review_dir)
    assert ("PubMed efetch: network error ([Errno -3] Temporary failure in name resolution); "
            "trying again in 1 s (try 2 of 5)") in out
    assert "fetched by PMID" in out


@pytest.mark.parametrize("failure", ["network", "HTTP 503", "short answer"])
def test_pubmed_not_answering_exits_75_not_2(review_dir: list[str], recorded: Recorded,
                                             monkeypatch: pytest.MonkeyPatch,
                                             failure: str) -> None:
    """PubMed unreachable, busy after the retries, or sending part of the records exited 2,
    as a typo in the query does, so a script could not tell "fix your input" from "try
    again later": such failures exit 75 (EX_TEMPFAIL, as `next` does when records are on
    other screens), and nothing is imported."""
    from io import BytesIO
    from urllib.error import HTTPError, URLError

    from screener.importers import pubmed

    monkeypatch.setattr(pubmed.time, "sleep", lambda seconds: None)

    def failing(utility: str, params: Mapping[str, Any]) -> bytes:
        if failure == "network":
            raise URLError("[Errno 101] Network is unreachable")
        if failure == "HTTP 503":
            raise HTTPError("https://eutils", 503, "Service Unavailable", None,  # type: ignore[arg-type]
                            BytesIO(b""))
        if utility == "esearch":
            return recorded(utility, params)
        return b'<?xml version="1.0" ?>\n<PubmedArticleSet></PubmedArticleSet>\n'

    monkeypatch.setattr(pubmed, "entrez_transport", failing)
    search = run("search", "pubmed", "odontogenic keratocyst", "--email", "me@example.org",
                 *review_dir, code=75)
    assert "PubMed search failed" in search and "Nothing was imported" in search
    if failure != "short answer":  # (an id list's empty answer: PMIDs PubMed does not know)
        fetch = run("import-ids", "--pmid", "29768149", "--email", "me@example.org",
                    *review_dir, code=75)
        assert "PubMed fetch failed" in fetch and "Nothing was imported" in fetch
    assert json.loads(run("status", "--json", *review_dir))["sources"] == []


@pytest.mark.parametrize("answer", UNREADABLE_ESEARCH,
                         ids=["HTML page", "unexpected shape", "no count"])
def test_a_pubmed_answer_that_cannot_be_read_exits_75_not_2(
        review_dir: list[str], monkeypatch: pytest.MonkeyPatch, answer: bytes) -> None:
    """An esearch answer that could not be read (an HTML error page, XML of another shape)
    exited 2, as a typo in the query does, though nothing in the user's input made it so:
    it exits 75, as PubMed not answering does, and nothing is imported. It is asked for
    again first, as an unreadable efetch answer is (it was not: one passing error page
    ended the search), each retry announced."""
    from screener.importers import pubmed

    asked: list[str] = []

    def unreadable(utility: str, params: Mapping[str, Any]) -> bytes:
        asked.append(utility)
        return answer

    monkeypatch.setattr(pubmed.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(pubmed, "entrez_transport", unreadable)
    out = run("search", "pubmed", "odontogenic keratocyst", "--email", "me@example.org",
              *review_dir, code=75)
    assert "PubMed search failed" in out and "Nothing was imported" in out, out
    assert "again later" in out, out
    assert asked == ["esearch"] * pubmed.MAX_TRIES
    assert "trying again in 1 s (try 2 of 5)" in out, out
    assert json.loads(run("status", "--json", *review_dir))["sources"] == []


def test_pubmed_refusing_the_input_still_exits_2(review_dir: list[str], recorded: Recorded,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A query PubMed rejects, or a request it refuses (HTTP 400: a bad API key), is the
    user's to fix: exit code 2, as other bad input."""
    from io import BytesIO
    from urllib.error import HTTPError

    from screener.importers import pubmed

    rejected = (b'<?xml version="1.0" ?>\n<eSearchResult><ERROR>Invalid query</ERROR>'
                b"</eSearchResult>\n")
    monkeypatch.setattr(pubmed, "entrez_transport", lambda utility, params: rejected)
    assert "PubMed rejected the query" in run("search", "pubmed", "((", "--email",
                                              "me@example.org", *review_dir, code=2)

    def refused(utility: str, params: Mapping[str, Any]) -> bytes:
        raise HTTPError("https://eutils", 400, "Bad Request", None,  # type: ignore[arg-type]
                        BytesIO(b"API key invalid"))

    monkeypatch.setattr(pubmed, "entrez_transport", refused)
    assert "HTTP 400" in run("import-ids", "--pmid", "29768149", "--email", "me@example.org",
                             "--api-key", "nokey", *review_dir, code=2)


def test_fetching_the_same_records_again_is_refused(review_dir: list[str],
                                                    recorded: Recorded) -> None:
    """A PubMed search or PMID list fetched a second time, with PubMed's records unchanged,
    would count every record twice in the PRISMA identification box."""
    run("import-ids", "--pmid", "29768149", "--email", "me@example.org", *review_dir)
    before = json.loads(run("status", "--json", *review_dir))
    out = run("import-ids", "--pmid", "29768149", "--source", "Hand searching", "--email",
              "me@example.org", *review_dir, code=2)
    assert "already imported" in out and "'Citation searching'" in out and "--again" in out
    assert json.loads(run("status", "--json", *review_dir))["sources"] == before["sources"]
    run("import-ids", "--pmid", "29768149", "--source", "Hand searching", "--again",
        "--email", "me@example.org", *review_dir)
    after = json.loads(run("status", "--json", *review_dir))
    assert [s["name"] for s in after["sources"]] == ["Citation searching", "Hand searching"]
    assert after["records_total"] == 2 * before["records_total"]
    # status listed a PMID list as '(search)'
    assert "Hand searching (other): 1 (PMID list)" in run("status", *review_dir)
    run("search", "pubmed", "odontogenic keratocyst", "--email", "me@example.org",
        "--max", "600", *review_dir)
    recorded.calls.clear()  # the recorded PubMed answers the same search the same way again
    assert "already imported" in run("search", "pubmed", "odontogenic keratocyst", "--email",
                                     "me@example.org", "--max", "600", *review_dir, code=2)


def test_one_record_fetched_is_counted_in_the_singular(review_dir: list[str],
                                                       recorded: Recorded,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # the search, the PMID fetch and its refusal said "1 records"
    out = run("search", "pubmed", "odontogenic keratocyst", "--email", "me@example.org",
              "--max", "1", *review_dir)
    assert "PubMed: 1 record imported as source 'PubMed'" in out
    from screener.importers import pubmed

    answer = (ENTREZ / "efetch_ids.xml").read_text(encoding="utf-8")
    one = answer[:answer.index("</PubmedArticle>")] + "</PubmedArticle></PubmedArticleSet>"
    monkeypatch.setattr(pubmed, "entrez_transport", lambda utility, params: one.encode())
    out = run("import-ids", "--pmid", "29768149", "--email", "me@example.org", *review_dir)
    assert "1 record fetched by PMID as source 'Citation searching' (other)" in out
    out = run("import-ids", "--pmid", "29768149", "--source", "Hand searching", "--email",
              "me@example.org", *review_dir, code=2)
    assert "the 1 record fetched was already imported" in out


def test_decisions_on_imported_records(review_dir: list[str], tmp_path: Path,
                                       db_url: str | None) -> None:
    run("import", str(FORMATS / "ris" / "asreview_embase.ris"), *review_dir)
    first = json.loads(run("next", "--reviewer", "ann", "--json", *review_dir))
    run("decide", str(first["record_id"]), "--reviewer", "ann", "--label", "include", *review_dir)
    with open_review(tmp_path / "rev", db_url) as review, review.transaction() as s:
        (d,) = repo.current_decisions(s)
        record = repo.get_record(s, d.record_id)
    assert d.label == Label.INCLUDE and record is not None and record.title == first["title"]


def test_a_file_imported_twice_is_refused_and_several_files_import_together(
        review_dir: list[str], tmp_path: Path) -> None:
    ris = str(FORMATS / "ris" / "asreview_embase.ris")
    csv_sample = str(FORMATS / "csv" / "synergy_chou_2004_sample.csv")
    run("import", ris, *review_dir, "--source", "Embase")
    out = run("import", csv_sample, ris, *review_dir, code=2)
    assert "asreview_embase.ris was already imported on" in out and "'Embase'" in out
    assert "--again" in out and "Traceback" not in out
    out = run("import", csv_sample, csv_sample, *review_dir, code=2)
    assert "is given twice in the same command" in out and "same content" not in out
    broken = tmp_path / "broken.ris"
    broken.write_text("TY  - JOUR\nTI  - A title\nthis is not RIS\n", encoding="utf-8")
    run("import", csv_sample, str(broken), *review_dir, code=2)
    data = json.loads(run("status", "--json", *review_dir))
    # the good CSV given beside a file that fails is not imported either
    assert [s["name"] for s in data["sources"]] == ["Embase"] and data["records_total"] == 6
    run("import", csv_sample, *review_dir)
    assert json.loads(run("status", "--json", *review_dir))["records_total"] > 6


def test_a_gzipped_copy_of_an_imported_file_is_a_second_import(review_dir: list[str],
                                                               tmp_path: Path) -> None:
    import gzip

    ris = FORMATS / "ris" / "asreview_embase.ris"
    packed = tmp_path / "embase.ris.gz"
    packed.write_bytes(gzip.compress(ris.read_bytes()))
    run("import", str(ris), *review_dir, "--source", "Embase")
    out = run("import", str(packed), *review_dir, code=2)        # its content was imported
    assert "embase.ris.gz was already imported on" in out and "'Embase'" in out
    again = tmp_path / "again.ris.gz"
    again.write_bytes(gzip.compress(ris.read_bytes() + b"\n"))   # other bytes, same records
    assert "were already imported" in run("import", str(again), *review_dir, code=2)
    run("import", str(again), *review_dir, "--again")


def test_the_same_records_in_a_file_with_other_bytes_are_refused(review_dir: list[str],
                                                                  tmp_path: Path) -> None:
    ris = FORMATS / "ris" / "asreview_embase.ris"
    copy = tmp_path / "copy.ris"
    copy.write_bytes(ris.read_bytes() + b"\n")
    run("import", str(ris), *review_dir, "--source", "Embase")
    out = run("import", str(copy), *review_dir, "--source", "Embase", code=2)
    assert "the records of" in out and "copy.ris were already imported" in out
    assert "'Embase'" in out and "file 'asreview_embase.ris'" in out and "--again" in out
    assert "Traceback" not in out
    data = json.loads(run("status", "--json", *review_dir))
    assert data["records_total"] == 6 and [s["name"] for s in data["sources"]] == ["Embase"]
    other = tmp_path / "other.ris"
    other.write_bytes(copy.read_bytes() + b"\n")
    out = run("import", str(copy), str(other), *review_dir, "--again")  # on purpose: both
    assert json.loads(run("status", "--json", *review_dir))["records_total"] == 18


def test_two_files_with_the_same_records_in_one_command_are_refused(review_dir: list[str],
                                                                    tmp_path: Path) -> None:
    ris = FORMATS / "ris" / "asreview_embase.ris"
    copy = tmp_path / "copy.ris"
    copy.write_bytes(ris.read_bytes() + b"\n")
    out = run("import", str(ris), str(copy), *review_dir, code=2)
    assert "holds the same records as" in out and "same command" in out
    assert json.loads(run("status", "--json", *review_dir))["records_total"] == 0
    out = run("import", str(ris), str(ris), *review_dir, code=2)  # the same name twice
    assert f"{ris} is given twice in the same command; nothing was imported" in out, out
    assert "same content as" not in out
    assert json.loads(run("status", "--json", *review_dir))["records_total"] == 0


def test_source_names_are_tidied_and_a_second_spelling_is_refused(review_dir: list[str]
                                                                    ) -> None:
    ris = FORMATS / "ris"
    run("import", str(ris / "asreview_embase.ris"), *review_dir, "--source", "  Embase  ")
    run("import", str(ris / "asreview_scopus_first2.ris"), *review_dir, "--source",
        "Web   of Science")
    for name in ("embase", " EMBASE", "Web of  science"):
        out = run("import", str(ris / "asreview_proquest.ris"), *review_dir, "--source", name,
                  code=2)
        assert "the review has a source named" in out and "Traceback" not in out
        assert ("--source Embase," in out if "mbase" in name.casefold()
                else "--source 'Web of Science'" in out)
    assert "--source is empty" in run("import", str(ris / "asreview_proquest.ris"),
                                      *review_dir, "--source", "  ", code=2)
    run("import", str(ris / "asreview_proquest.ris"), *review_dir, "--source", "Embase ")
    data = json.loads(run("status", "--json", *review_dir))
    assert [s["name"] for s in data["sources"]] == ["Embase", "Web of Science", "Embase"]
    rows = data["prisma"]["databases"]
    assert [row["name"] for row in rows] == ["Embase", "Web of Science"]  # one row each


def test_source_name_of_a_gzipped_export_drops_both_suffixes(review_dir: list[str],
                                                             tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "scopus.ris.gz"
    packed.write_bytes(gzip.compress((FORMATS / "ris" / "asreview_embase.ris").read_bytes()))
    run("import", str(packed), *review_dir)
    assert [s["name"] for s in json.loads(run("status", "--json", *review_dir))["sources"]] == [
        "scopus"]


def _utc_today_plus(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


# Parameters are computed when the tests are collected: a run that crosses midnight UTC
# moves 'today' on by one, so the nearest future date tried is three days ahead, not two.
@pytest.mark.parametrize(("searched", "fragment"), [
    (_utc_today_plus(3), "is in the future"),
    ("0001-01-01", "is before 1900"),
    ("1899-12-31", "is before 1900"),
    ("2026-02-30", "is not a date (day is out of range for month)"),
    ("2026-W48-1", "is not a date; write it as YYYY-MM-DD"),
    ("20261101", "is not a date; write it as YYYY-MM-DD"),
    ("2026-11-01T10:00", "is not a date; write it as YYYY-MM-DD"),
])
def test_an_implausible_search_date_is_refused(review_dir: list[str], searched: str,
                                               fragment: str) -> None:
    """A search date in the future, before 1900 (0001-01-01), a day the month lacks, or
    not written YYYY-MM-DD (an ISO week, no dashes) is refused, as the protocol's are."""
    out = run("import", str(FORMATS / "ris" / "asreview_embase.ris"), *review_dir,
              "--searched", searched, code=2)
    assert f"--searched {searched!r} {fragment}" in out
    assert json.loads(run("status", "--json", *review_dir))["records_total"] == 0


def test_a_search_date_already_today_somewhere_is_accepted(review_dir: list[str]) -> None:
    """A searcher ahead of UTC (Auckland, Kiribati) may write their local date, the UTC
    date's next day."""
    run("import", str(FORMATS / "ris" / "asreview_embase.ris"), *review_dir,
        "--searched", _utc_today_plus(1))
    data = json.loads(run("status", "--json", *review_dir))
    assert [s["searched"] for s in data["sources"]] == [_utc_today_plus(1)]


@pytest.mark.parametrize(("args", "fragment"), [
    (["search", "pubmed", "x", "--email", "me@example.org", "--max", "-1"], "'--max'"),
    (["search", "pubmed", "x", "--email", "me@example.org", "--max", "0"], "'--max'"),
    (["search", "pubmed", "", "--email", "me@example.org"], "the PubMed query is empty"),
    (["search", "pubmed", "   ", "--email", "me@example.org"], "the PubMed query is empty"),
    (["search", "pubmed", "x", "--email", ""], "is not an e-mail address"),
    (["import-ids", "{ids}", "--email", ""], "is not an e-mail address"),
    (["import-ids", "--pmid", "29768149", "--email", "nobody"], "is not an e-mail address"),
    (["import-ids", "{tmp}", "--email", "me@example.org"], "is a folder"),
    (["import-ids", "{tmp}/missing.txt", "--email", "me@example.org"], "no such file"),
    (["import-ids", "--pmid", "xyz", "--email", "me@example.org"], "not PMIDs: 'xyz'"),
])
def test_pubmed_commands_refuse_bad_input_before_any_request(
        review_dir: list[str], recorded: Recorded, tmp_path: Path, args: list[str],
        fragment: str) -> None:
    (tmp_path / "ids.txt").write_text("29768149\n", encoding="utf-8")
    args = [a.replace("{ids}", str(tmp_path / "ids.txt")).replace("{tmp}", str(tmp_path))
            for a in args]
    out = run(*args, *review_dir, code=2)
    assert fragment in out and "Traceback" not in out
    assert recorded.calls == []
    assert json.loads(run("status", "--json", *review_dir))["sources"] == []


@pytest.mark.parametrize("typed", ["12ab", "1234567890", "PMID:", "0", "١٢٣"])
def test_a_pmid_is_read_exactly_or_refused(review_dir: list[str], recorded: Recorded,
                                           tmp_path: Path, typed: str) -> None:
    # "12ab" was fetched as PMID 12 and "1234567890" as 123456789: another article
    out = run("import-ids", "--pmid", typed, "--email", "me@example.org", *review_dir, code=2)
    assert "not PMIDs" in out
    listed = tmp_path / "ids.txt"
    listed.write_text(f"29768149\n{typed}\n", encoding="utf-8")
    assert "line 2" in run("import-ids", str(listed), "--email", "me@example.org",
                           *review_dir, code=2)
    assert recorded.calls == []


def _table(path: Path, rows: list[list[str]]) -> Path:
    """`rows` written as CSV, or as the first sheet of a workbook for an .xlsx path."""
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        for row in rows:
            sheet.append(row)
        workbook.save(path)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_table_with_neither_title_nor_abstract_is_refused_whole(
        review_dir: list[str], tmp_path: Path, suffix: str) -> None:
    # authors and DOIs alone give a screener nothing to decide on: before, the rows were
    # imported as untitled records with one warning
    table = _table(tmp_path / f"dois{suffix}", [
        ["Authors", "DOI", "Year"], ["Smith, J", "10.1000/a", "2020"],
        ["Lee, K", "10.1000/b", "2021"]])
    out = run("import", str(table), *review_dir, code=2)
    assert f"dois{suffix}" in out and "neither a title nor an abstract column" in out
    assert "(columns: Authors, DOI, Year)" in out
    assert "'article title'" in out and "'abstract note'" in out  # the names it would take
    assert "Nothing was imported" in out and "Traceback" not in out
    data = json.loads(run("status", "--json", *review_dir))
    assert data["records_total"] == 0 and data["sources"] == []


def test_a_table_with_abstracts_but_no_titles_or_some_empty_titles_imports(
        review_dir: list[str], tmp_path: Path, db_url: str | None) -> None:
    abstracts = _table(tmp_path / "abstracts.csv", [
        ["Abstract", "Authors"], ["We randomised 120 adults.", "Smith, J"]])
    out = run("import", str(abstracts), *review_dir)
    assert "no title column (columns: Abstract, Authors)" in out
    some = _table(tmp_path / "some.csv", [
        ["Article Title", "Abstract"], ["A trial of X", "x"], ["", "Only an abstract here."]])
    out = run("import", str(some), *review_dir)
    assert "1 row has an empty title (line 3)" in out
    with open_review(tmp_path / "rev", db_url) as review, review.transaction() as s:
        records = repo.get_records(s)
    assert sorted((r.title, r.abstract) for r in records) == [
        ("", "Only an abstract here."), ("", "We randomised 120 adults."), ("A trial of X", "x")]


def test_an_update_search_that_found_nothing_new_is_told_how_to_import_it(
        review_dir: list[str]) -> None:
    """An update search run months later that finds the same records was refused with
    "add --again if that is what you want" and only the import date: the refusal gives the
    earlier search's date and the update procedure (--again --searched DATE, then dedup)."""
    nbib = str(FORMATS / "medline" / "rispy_example_pubmed.nbib")
    run("import", nbib, *review_dir, "--source", "PubMed", "--searched", "2021-01-05")
    out = run("import", nbib, *review_dir, "--source", "PubMed", "--searched", "2021-07-01",
              code=2)
    assert "searched 2021-01-05" in out and "imported on" in out
    assert "--again --searched DATE" in out and "screener dedup" in out


def test_status_tells_two_imports_under_one_source_name_apart(review_dir: list[str],
                                                              tmp_path: Path) -> None:
    """An update search imported under the same name showed as a second "PubMed (database)"
    line with nothing to tell the two apart: each line gives its search date (or, without
    one, its import date)."""
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()  # import times are shown in UTC
    nbib = FORMATS / "medline" / "rispy_example_pubmed.nbib"
    update = tmp_path / "update.nbib"
    update.write_bytes(nbib.read_bytes() + b"\n")
    run("import", str(nbib), *review_dir, "--source", "PubMed", "--searched", "2021-01-05")
    run("import", str(update), *review_dir, "--source", "PubMed", "--again")
    lines = [line for line in run("status", *review_dir).splitlines()
             if line.strip().startswith("PubMed (database)")]
    assert len(lines) == 2
    assert lines[0].endswith("searched 2021-01-05 (import 1)")
    assert lines[1].endswith(f"imported {today} (import 2)")
    data = json.loads(run("status", "--json", *review_dir))
    assert [s["imported"][:10] for s in data["sources"]] == [today] * 2


def _updated_review(review_dir: list[str], tmp_path: Path) -> tuple[Path, str]:
    """A review screened after dedup, then an update search of the same records imported."""
    nbib = FORMATS / "medline" / "rispy_example_pubmed.nbib"
    update = tmp_path / "update.nbib"
    update.write_bytes(nbib.read_bytes() + b"\n")
    run("import", str(nbib), *review_dir, "--source", "PubMed", "--searched", "2021-01-05")
    run("dedup", *review_dir)
    first = json.loads(run("next", "--reviewer", "ann", "--json", *review_dir))
    run("decide", str(first["record_id"]), "--reviewer", "ann", "--label", "include",
        *review_dir)
    out = run("import", str(update), *review_dir, "--source", "PubMed", "--searched",
              "2021-07-01", "--again")
    return update, out


def test_records_imported_after_dedup_are_noted_until_dedup_runs(review_dir: list[str],
                                                                   tmp_path: Path) -> None:
    """After an update search was imported into a screened review, `next` offered the new
    copy of a record screened already, and neither import, status nor next said that the
    new records were not deduplicated: import advises dedup, and status and next say how
    many records came in since dedup last ran, until it runs again."""
    _, out = _updated_review(review_dir, tmp_path)
    assert "screener dedup" in out
    waiting = "records imported since dedup last ran: run `screener dedup` before screening"
    data = json.loads(run("status", "--json", *review_dir))
    assert data["not_deduplicated"] == data["sources"][1]["records"] > 0
    assert f"{data['not_deduplicated']} {waiting}" in run("status", *review_dir)
    assert waiting in run("next", "--reviewer", "ann", *review_dir)
    # the diagram would count the copies as identified and screened: a draft until dedup
    draft = f"{data['not_deduplicated']} records imported since dedup last ran"
    prisma = tmp_path / "prisma.json"
    run("export", "prisma", "--format", "json", "--out", str(prisma), *review_dir)
    assert draft in json.loads(prisma.read_text())["draft"]
    run("dedup", *review_dir)
    run("export", "prisma", "--format", "json", "--out", str(prisma), "--force", *review_dir)
    assert draft not in json.loads(prisma.read_text()).get("draft", "")
    assert json.loads(run("status", "--json", *review_dir))["not_deduplicated"] == 0
    assert waiting not in run("status", *review_dir)
    assert waiting not in run("next", "--reviewer", "ann", *review_dir)


def test_a_single_import_screened_without_dedup_is_not_nagged(review_dir: list[str]) -> None:
    """A review that screens one import without deduplicating (its choice) hears of dedup
    once, from import, not on every status and next."""
    out = run("import", str(FORMATS / "medline" / "rispy_example_pubmed.nbib"), *review_dir)
    assert "screener dedup" in out
    first = json.loads(run("next", "--reviewer", "ann", "--json", *review_dir))
    run("decide", str(first["record_id"]), "--reviewer", "ann", "--label", "include",
        *review_dir)
    assert json.loads(run("status", "--json", *review_dir))["not_deduplicated"] == 0
    assert "dedup" not in run("status", *review_dir)
    assert "dedup" not in run("next", "--reviewer", "ann", *review_dir)
    # records imported after screening began are, dedup or not
    run("import", str(FORMATS / "ris" / "asreview_embase.ris"), *review_dir)
    assert ("6 records imported since screening began, never deduplicated: run `screener "
            "dedup`") in run("status", *review_dir)


def test_labels_as_reads_screeners_own_records_export(tmp_path: Path) -> None:
    """A team moving decisions into a new review exported them with `export records --label
    all --format csv`; `import --labels-as` said the file had no label_included / included
    column. It reads the export's decision column (title/abstract), says that full-text
    decisions are not imported, and its refusal names the columns it reads."""
    old, new = tmp_path / "old", tmp_path / "new"  # (SQLite review folders: a file round trip)
    run("init", str(old), "--protocol", PROTOCOL)
    run("init", str(new), "--protocol", PROTOCOL)
    run("import", str(FORMATS / "ris" / "asreview_embase.ris"), "--review", str(old))
    for rid, label in ((1, "include"), (2, "exclude"), (3, "maybe")):
        run("decide", str(rid), "--reviewer", "ann", "--label", label, "--review", str(old))
    exported = tmp_path / "decisions.csv"
    run("export", "records", "--label", "all", "--format", "csv", "--out", str(exported),
        "--review", str(old))
    out = run("import", str(exported), "--source", "Previous version", "--labels-as", "ann",
              "--review", str(new))
    assert "3 labels as decisions" in out and "'maybe'" not in out
    data = json.loads(run("status", "--json", "--review", str(new)))
    assert {(d["stage"], d["label"], d["count"]) for d in data["decisions"]} == {
        ("title_abstract", "include", 1), ("title_abstract", "exclude", 1),
        ("title_abstract", "maybe", 1)}
    # a full-text export's decisions are not title/abstract labels
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert {r["stage"] for r in rows} == {"title_abstract"}
    fields = list(rows[0])
    full = tmp_path / "full.csv"
    with full.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows({**r, "stage": "full_text", "title": r["title"] + " (copy)"}
                         for r in rows)
    out = run("import", str(full), "--source", "Full text", "--labels-as", "bob",
              "--review", str(new), code=2)
    assert "3 full-text decisions in the file are not imported" in out
    assert "--labels-as brings title/abstract labels" in out
    plain = tmp_path / "plain.csv"
    plain.write_text("title,abstract\nA title,An abstract\n", encoding="utf-8")
    out = run("import", str(plain), "--labels-as", "bob", "--review", str(new), code=2)
    assert "label_included" in out and "decision" in out and "inclusion" in out


def test_labels_imported_with_their_records_are_not_screening_before_the_import(
        review_dir: list[str]) -> None:
    """Labels imported with their records (--labels-as) are decisions made by the import
    itself: a review never deduplicated is not told its one import came in after screening
    began."""
    run("import", str(FORMATS / "csv" / "synergy_chou_2004_sample.csv"), *review_dir,
        "--labels-as", "original-team")
    assert json.loads(run("status", "--json", *review_dir))["not_deduplicated"] == 0


def test_a_byte_order_mark_in_a_source_name_is_dropped(review_dir: list[str]) -> None:
    """`--source "$(head -1 sources.txt)"` from a file saved with a byte-order mark stored
    the invisible U+FEFF in the name: a second "PubMed" that looked like the first, and
    `export prisma --format pdf` crashed drawing it."""
    nbib = str(FORMATS / "medline" / "rispy_example_pubmed.nbib")
    run("import", nbib, *review_dir, "--source", "\ufeffPubMed")
    run("import", str(FORMATS / "ris" / "asreview_embase.ris"), *review_dir,
        "--source", "Em\u200bbase")
    names = [s["name"] for s in json.loads(run("status", "--json", *review_dir))["sources"]]
    assert sorted(names) == ["Embase", "PubMed"]


def test_labels_as_keeps_the_exclusion_reasons_and_notes_and_names_those_it_cannot(
        review_dir: list[str], tmp_path: Path) -> None:
    """`--labels-as` kept only include/exclude: the reason and note columns of the file
    (screener's own records export has both) were dropped without a word."""
    labelled = tmp_path / "l.csv"
    labelled.write_text(
        "title,decision,reason,note\n"
        "A trial,exclude,Wrong population,adults only\n"
        "B trial,exclude,design,\n"
        'C trial,exclude,"Wrong outcome; Wrong study design",two screeners\n'
        "D trial,exclude,Not in this protocol,\n"
        "E trial,include,,check the dose\n", encoding="utf-8")
    out = run("import", str(labelled), *review_dir, "--labels-as", "carol")
    assert ("2 exclusion reasons in the file were not kept with the labels (record 3: "
            "'Wrong study design'; record 4: 'Not in this protocol')") in out
    exported = tmp_path / "back.csv"
    run("export", "records", "--label", "all", "--format", "csv", "--out", str(exported),
        *review_dir)
    rows = {r["title"]: r for r in csv.DictReader(exported.open(encoding="utf-8"))}
    assert [(rows[f"{t} trial"]["reason"], rows[f"{t} trial"]["note"]) for t in "ABCDE"] == [
        ("Wrong population", "carol: imported label from l.csv; note: adults only"),
        ("Wrong study design", "carol: imported label from l.csv"),
        ("Wrong outcome", "carol: imported label from l.csv; note: two screeners"),
        ("", "carol: imported label from l.csv"),
        ("", "carol: imported label from l.csv; note: check the dose")]


def test_import_ids_names_the_pmids_pubmed_does_not_know(review_dir: list[str],
                                                         recorded: Recorded,
                                                         tmp_path: Path) -> None:
    """import-ids dropped PMIDs PubMed did not know without a word and stored as the
    reported count every PMID given, duplicates included: the report then said "(the
    database reported 6)" of 2 records (a tester's run). The ids not found are named, the
    count is of distinct PMIDs asked for, and the report words it so."""
    out = run("import-ids", "--pmid", "29768149", "--pmid", "PMID: 11748933", "--pmid", "123",
              "--pmid", "29768149", "--pmid", "456", "--email", "me@example.org", *review_dir)
    assert "2 records fetched by PMID" in out
    assert "2 of the 4 PMIDs asked for were not found in PubMed: 123, 456" in out
    (source,) = json.loads(run("status", "--json", *review_dir))["sources"]
    assert (source["records"], source["reported_count"]) == (2, 4)
    run("export", "log", "--events", "--format", "jsonl", "--out", str(tmp_path / "ev.jsonl"),
        *review_dir)
    (imported,) = [json.loads(line) for line in (tmp_path / "ev.jsonl").read_text().splitlines()
                   if '"records_imported"' in line]
    assert "123" in json.dumps(imported) and "456" in json.dumps(imported)
    report = tmp_path / "report.md"
    run("report", "--out", str(report), *review_dir)
    text = report.read_text(encoding="utf-8")
    assert "2 of 4 PMIDs asked for found" in text and "the database reported" not in text


def test_import_ids_with_no_pmid_found_stores_nothing(review_dir: list[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from screener.importers import pubmed

    empty = b'<?xml version="1.0" ?>\n<PubmedArticleSet></PubmedArticleSet>\n'
    monkeypatch.setattr(pubmed, "entrez_transport", lambda utility, params: empty)
    out = run("import-ids", "--pmid", "123", "--pmid", "456", "--email", "me@example.org",
              *review_dir, code=2)
    assert "none of the 2 PMIDs asked for was found in PubMed (123, 456)" in out
    assert json.loads(run("status", "--json", *review_dir))["sources"] == []


def test_a_search_that_finds_nothing_is_stored_once(review_dir: list[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A search PubMed found nothing for was stored as a source with 0 records, and again
    each time it was run (the repeat check skipped empty results; a tester's run): run
    again, it is refused like any repeat unless --again; another query still stores."""
    from screener.importers import pubmed

    esearch = (ENTREZ / "esearch_history.xml").read_bytes().replace(b"<Count>1234</Count>",
                                                                    b"<Count>0</Count>")
    monkeypatch.setattr(pubmed, "entrez_transport", lambda utility, params: esearch)
    search = ("search", "pubmed", "zzqx", "--email", "me@example.org", "--source", "Zero")
    assert "0 records imported" in run(*search, *review_dir)
    out = run(*search, *review_dir, code=2)
    assert "found no records" in out and "--again" in out
    run("search", "pubmed", "qqzz", "--email", "me@example.org", "--source", "Zero",
        *review_dir)
    run(*search, "--again", *review_dir)
    sources = json.loads(run("status", "--json", *review_dir))["sources"]
    assert [s["query"] for s in sources] == ["zzqx", "qqzz", "zzqx"]


def test_a_search_that_finds_nothing_is_a_repeat_however_its_query_is_spaced(
        review_dir: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The same query that found nothing, typed with other spaces, was stored again as a
    new source; the same words in another case are another query (a quoted phrase's terms
    may differ in PubMed), and stored."""
    from screener.importers import pubmed

    esearch = (ENTREZ / "esearch_history.xml").read_bytes().replace(b"<Count>1234</Count>",
                                                                    b"<Count>0</Count>")
    monkeypatch.setattr(pubmed, "entrez_transport", lambda utility, params: esearch)

    def search(query: str, code: int = 0) -> str:
        return run("search", "pubmed", query, "--email", "me@example.org", "--source", "Zero",
                   *review_dir, code=code)

    search('"zzqx trial"[tiab] AND 2020[dp]')
    for spaced in ('"zzqx  trial"[tiab]   AND 2020[dp]', '"zzqx trial"[tiab]\tAND\n2020[dp] '):
        out = search(spaced, code=2)
        assert "found no records" in out and "--again" in out
    search('"ZZQX trial"[tiab] AND 2020[dp]')
    sources = json.loads(run("status", "--json", *review_dir))["sources"]
    assert [s["query"] for s in sources] == ['"zzqx trial"[tiab] AND 2020[dp]',
                                             '"ZZQX trial"[tiab] AND 2020[dp]']


def test_labels_as_keeps_a_note_a_screener_could_have_typed(
        review_dir: list[str], tmp_path: Path) -> None:
    """An imported note kept the bidirectional controls a typed note is refused for: the
    'note: ...' of the decision log could show its words reversed (a right-to-left override)
    where a screener's own note could not."""
    from screener.workflow.screening import check_note

    labelled = tmp_path / "l.csv"
    labelled.write_text("title,decision,note\n"
                        "A trial,include,\u202echeck the dose\u202c and\x1b[2J the arms\n",
                        encoding="utf-8")
    run("import", str(labelled), *review_dir, "--labels-as", "carol")
    exported = tmp_path / "back.csv"
    run("export", "records", "--label", "all", "--format", "csv", "--out", str(exported),
        *review_dir)
    note = next(csv.DictReader(exported.open(encoding="utf-8")))["note"]
    assert note.endswith("note: check the dose and [2J the arms")
    check_note(note.split(": ", 1)[1])  # what a screener could have typed


def test_a_table_read_as_windows_1252_says_so_in_its_import_event(
        tmp_path: Path, review_dir: list[str], db_url: str | None) -> None:
    # the warning was printed on stderr only: the review kept no trace of the guess
    table = tmp_path / "export.csv"
    table.write_bytes("Title,Abstract\nEfficacité chez les âgés,Größe\n".encode("cp1252"))
    out = run("import", str(table), *review_dir)
    assert "read as Windows-1252" in out
    with open_review(tmp_path / "rev", db_url) as review, review.read() as session:
        event = next(e for e, _ in repo.event_log(session) if e.kind == "records_imported")
    assert event.details["encoding"] == "cp1252"
    assert any("read as Windows-1252" in w for w in event.details["encoding_warnings"])
    assert "Windows-1252" in run("log", "events", *review_dir)
    assert "event log OK" in run("log", "verify", *review_dir)


def _searched_with_a_warning(review_dir: list[str], recorded: Recorded,
                             monkeypatch: pytest.MonkeyPatch) -> str:
    """`search pubmed` answered with a count and PubMed's <ERROR> about one phrase."""
    from screener.importers import pubmed

    def answering(utility: str, params: Mapping[str, Any]) -> bytes:
        body = recorded(utility, params)
        return (body.replace(b"<Count>", b"<ERROR>Phrase not found: kerato cyst</ERROR>"
                             b"<Count>") if utility == "esearch" else body)

    monkeypatch.setattr(pubmed, "entrez_transport", answering)
    return run("search", "pubmed", "odontogenic keratocyst", "--email", "me@example.org",
               "--max", "10", *review_dir)


def test_a_search_pubmed_ran_with_a_warning_is_imported_with_the_warning_kept(
        review_dir: list[str], recorded: Recorded, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """An esearch answer with a count and an <ERROR> about one phrase exited 2 as a
    rejected query, though PubMed had run it. The search is imported, PubMed's words are
    printed as a warning and kept with the search (its import event)."""
    out = _searched_with_a_warning(review_dir, recorded, monkeypatch)
    assert "10 records imported" in out
    assert "warning: PubMed ran the query but said: Phrase not found: kerato cyst" in out
    run("export", "log", "--events", "--format", "jsonl", "--out", str(tmp_path / "e.jsonl"),
        *review_dir)
    (searched,) = [e["details"] for e in map(json.loads, (tmp_path / "e.jsonl").read_text(
        encoding="utf-8").splitlines()) if e["kind"] == "records_imported"]
    (kept,) = searched["pubmed_warnings"]
    assert "Phrase not found: kerato cyst" in kept


def test_a_pubmed_warning_is_shown_by_status_the_event_log_and_the_report(
        review_dir: list[str], recorded: Recorded, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """PubMed's warning was printed once and kept in the import's event, but `status`,
    `log events` and the report's sources never showed it: the methods text gave the
    query as if PubMed had run it as written."""
    _searched_with_a_warning(review_dir, recorded, monkeypatch)
    said = "PubMed ran the query but said: Phrase not found: kerato cyst"
    status = run("status", *review_dir)
    assert said in status.split("sources:", 1)[1]
    assert said in run("log", "events", *review_dir)
    run("report", "--out", str(tmp_path / "report.md"), *review_dir)
    report = " ".join((tmp_path / "report.md").read_text(encoding="utf-8").split())
    (sentence,) = re.findall(r"The search of PubMed \(\d{4}-\d\d-\d\d\) was not run "
                             r"exactly as written: [^\n]*?\.(?= [A-Z]|$)", report)
    # the methods text says what PubMed reported and how it read the query, not the
    # advice to the user nor 'PubMed ran the query but said' again
    assert "PubMed reported: Phrase not found: kerato cyst; it read the query as: " in sentence
    assert "keratocyst" in sentence.split("it read the query as: ", 1)[1]
    assert "Check that" not in report and "ran the query" not in report
    assert "warning" not in sentence
