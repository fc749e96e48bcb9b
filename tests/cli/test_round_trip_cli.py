"""Records exported with `export records` and imported into a fresh review come back with
the same fields, in every format: what a team does when it hands the deduplicated library
to a reference manager and back, or starts an update search from an earlier review's export.
Real PubMed and Mendeley records from tests/data/formats (see SOURCES.md there) plus one
hand-written row with every field filled."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.review import open_review

TESTS = Path(__file__).resolve().parents[1]
FORMATS = TESTS / "data" / "formats"
PROTOCOL = str(TESTS.parent / "protocols" / "minimal.yaml")

FULL_ROW = {
    "Title": "Ölçüm of “quoted” things: a trial & more, 50% {braced}",
    "Abstract": "BACKGROUND: Patients stay in bed; some do not.\n\nMETHODS: We randomised 120.",
    "Authors": "Müller, Anna; Ødegård, Bjørn-Åge; van der Berg, Jan; Núñez Peña, José",
    "Year": "2021", "Journal": "Revista Española de Cardiología", "Volume": "74",
    "Issue": "3", "Pages": "201-209", "DOI": "10.1016/j.rec.2020.05.001",
    "PMID": "32561234",
    "Keywords": "Drug-related side effects and adverse reactions, prevention & control; "
                "Humans, Adult; ICU",
    "MeSH Terms": "Humans; Adult; Early Ambulation",
    "Publication Type": "Journal Article; Randomized Controlled Trial; "
                        "Research Support, Non-U.S. Gov't",
    "Language": "Spanish",
}
CONFERENCE_ROW = {
    # text a spreadsheet would take for a formula: the CSV export quotes it ("'+1 for ...")
    "Title": "+1 for screening twice: dual screening in practice",
    "Authors": "Lefebvre, Carol", "Year": "2019",
    "Journal": "Proceedings of the Cochrane Colloquium", "Pages": "12-13",
    "Keywords": "-omics; Humans, Adult", "Publication Type": "Conference Paper",
}
QUOTED_TITLES = (
    # a title's own leading apostrophe: CSV and XLSX lost it before a formula character
    "'-omics' approaches in single-cell biology",
    "'=' in a title is text, not a formula",
    "''+1'' quoted twice",
    "'Tis the season: a plain quoted start",
)
FIELDS = ("title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi",
          "pmid", "keywords", "mesh_terms", "publication_types", "language")


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def fields(folder: Path) -> dict[str, dict[str, object]]:
    """Each record's fields (FIELDS), keyed by title."""
    with open_review(folder) as review, review.transaction() as s:
        records: list[Record] = repo.get_records(s)
    return {r.title: {name: getattr(r, name) for name in FIELDS} for r in records}


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("orig") / "rev"
    run("init", str(folder), "--protocol", PROTOCOL)
    full = folder.parent / "full.csv"
    with full.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(FULL_ROW))
        writer.writeheader()
        writer.writerow(FULL_ROW)
        writer.writerow(CONFERENCE_ROW)
    run("import", str(full), "--review", str(folder), "--source", "Hand search",
        "--kind", "other")
    quoted = folder.parent / "quoted.ris"
    quoted.write_text("".join(f"TY  - JOUR\nTI  - {t}\nPY  - 2020\nER  - \n\n"
                              for t in QUOTED_TITLES), encoding="utf-8")
    run("import", str(quoted), "--review", str(folder), "--source", "Quoted")
    run("import", str(FORMATS / "medline" / "rispy_example_pubmed.nbib"), "--review",
        str(folder), "--source", "PubMed")
    run("import", str(FORMATS / "bibtex" / "bibtexparser_random_winter08.bib"), "--review",
        str(folder), "--source", "Mendeley")
    return folder


@pytest.mark.parametrize("form", ["ris", "bibtex", "csv", "xlsx"])
def test_export_then_import_keeps_every_field(original: Path, tmp_path: Path,
                                              form: str) -> None:
    exported = tmp_path / f"records.{form}"
    run("export", "records", "--label", "all", "--format", form, "--out", str(exported),
        "--review", str(original))
    again = tmp_path / "again"
    run("init", str(again), "--protocol", PROTOCOL)
    run("import", str(exported), "--review", str(again), "--source", "Earlier review")
    before, after = fields(original), fields(again)
    assert sorted(after) == sorted(before)
    full = before[FULL_ROW["Title"]]
    # what the hand-written row was read as: every field filled, lists kept whole
    assert full["keywords"] == ("Drug-related side effects and adverse reactions, prevention "
                                "& control", "Humans, Adult", "ICU")
    assert full["publication_types"] == ("Journal Article", "Randomized Controlled Trial",
                                         "Research Support, Non-U.S. Gov't")
    assert all(full.values())
    assert set(QUOTED_TITLES) <= set(before)
    conference = before[CONFERENCE_ROW["Title"]]
    assert conference["keywords"] == ("-omics", "Humans, Adult")
    assert conference["publication_types"] == ("Conference Paper",)
    for title, values in before.items():
        if form == "ris":  # RIS has no tag for MeSH terms (README says so)
            values = {**values, "mesh_terms": ()}
        # (a letter, a type neither RIS nor BibTeX has, is written as a journal article,
        # TY JOUR and @article, beside its own type: it comes back as the letter it was)
        if form in ("ris", "bibtex") and values["pages"] == "117-55":
            # an abbreviated MEDLINE range: the start and end page fields (RIS SP/EP,
            # BibTeX pages) get the end page in full, which is read back
            values = {**values, "pages": "117-155"}
        assert after[title] == values, title


def test_an_xlsx_export_says_which_cells_excel_could_not_hold(tmp_path: Path) -> None:
    folder = tmp_path / "rev"
    run("init", str(folder), "--protocol", PROTOCOL)
    long = tmp_path / "long.csv"
    with long.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["Title", "Abstract"])
        writer.writeheader()
        writer.writerow({"Title": "A trial with a very long abstract", "Abstract": "x" * 40000})
    run("import", str(long), "--review", str(folder), "--source", "Hand search", "--kind",
        "other")
    out = run("export", "records", "--label", "all", "--format", "xlsx", "--out",
              str(tmp_path / "r.xlsx"), "--review", str(folder))
    assert ("warning: 1 cell longer than Excel's 32,767 characters was cut (record 1: "
            "abstract, 40,000 characters); export --format csv keeps them whole") in out, out
    out = run("export", "records", "--label", "all", "--format", "csv", "--out",
              str(tmp_path / "r.csv"), "--review", str(folder))
    assert "warning" not in out
    # a CSV for Excel (--excel) is cut the same way when Excel opens it
    out = run("export", "records", "--label", "all", "--format", "csv", "--excel", "--out",
              str(tmp_path / "excel.csv"), "--review", str(folder))
    assert ("warning: 1 cell is longer than Excel's 32,767 characters (record 1: abstract, "
            "40,000 characters): the CSV keeps them whole, but Excel cuts them when it opens "
            "the file") in out, out
    assert len(next(csv.DictReader((tmp_path / "excel.csv").open(encoding="utf-8-sig")))[
        "abstract"]) == 40000


def test_a_decision_log_for_excel_says_which_notes_excel_would_cut(tmp_path: Path) -> None:
    """`export log --excel` gave no warning for a note over Excel's cell limit, which Excel
    cuts on opening the file, as `export records --format csv --excel` does."""
    folder = tmp_path / "rev"
    run("init", str(folder), "--protocol", PROTOCOL)
    records = tmp_path / "two.csv"
    records.write_text("Title,Abstract\nFirst trial,About a drug\nSecond trial,About another\n",
                       encoding="utf-8")
    run("import", str(records), "--review", str(folder), "--source", "Hand search")
    run("decide", "2", "--reviewer", "ann", "--new-reviewer", "--label", "maybe", "--note",
        "n" * 40000, "--review", str(folder))
    out = run("export", "log", "--excel", "--out", str(tmp_path / "log.csv"),
              "--review", str(folder))
    assert ("warning: 1 cell is longer than Excel's 32,767 characters (seq 1 (record 2): "
            "note, 40,000 characters): the CSV keeps them whole, but Excel cuts them when "
            "it opens the file") in out, out
    assert len(next(csv.DictReader((tmp_path / "log.csv").open(encoding="utf-8-sig")))[
        "note"]) == 40000
    out = run("export", "log", "--out", str(tmp_path / "plain.csv"), "--review", str(folder))
    assert "warning" not in out  # not for Excel: pandas and R read it whole


def test_an_event_log_for_excel_says_which_cells_excel_would_cut(tmp_path: Path) -> None:
    """`export log --events --excel` gave no warning for an event over Excel's cell limit
    (a search strategy of 40,000 characters stored with its import), as `export log
    --excel` does for a decision's note."""
    folder = tmp_path / "rev"
    run("init", str(folder), "--protocol", PROTOCOL)
    records = tmp_path / "two.csv"
    records.write_text("Title,Abstract\nFirst trial,About a drug\n", encoding="utf-8")
    run("import", str(records), "--review", str(folder), "--source", "Embase",
        "--query", "q" * 40000)
    out = run("export", "log", "--events", "--excel", "--out", str(tmp_path / "events.csv"),
              "--review", str(folder))
    assert ("warning: 1 cell is longer than Excel's 32,767 characters (event 2 "
            "(records_imported): details, 40,") in out, out
    assert "the CSV keeps them whole, but Excel cuts them when it opens the file" in out
    rows = list(csv.DictReader((tmp_path / "events.csv").open(encoding="utf-8-sig")))
    assert "q" * 40000 in rows[1]["details"]
    out = run("export", "log", "--events", "--out", str(tmp_path / "plain.csv"),
              "--review", str(folder))
    assert "warning" not in out  # not for Excel: pandas and R read it whole


def test_csv_for_excel_has_a_byte_order_mark_and_imports_the_same(original: Path,
                                                                   tmp_path: Path) -> None:
    """Excel on Windows read the UTF-8 CSV as Windows-1252 ("Ã–lÃ§Ã¼m" for "Ölçüm"): with
    --excel the file begins with a byte-order mark; without it, as before (pandas, R)."""
    plain, excel = tmp_path / "plain.csv", tmp_path / "excel.csv"
    run("export", "records", "--label", "all", "--format", "csv", "--out", str(plain),
        "--review", str(original))
    run("export", "records", "--label", "all", "--format", "csv", "--excel", "--out",
        str(excel), "--review", str(original))
    assert not plain.read_bytes().startswith(b"\xef\xbb\xbf")
    assert excel.read_bytes() == b"\xef\xbb\xbf" + plain.read_bytes()
    again = tmp_path / "again"
    run("init", str(again), "--protocol", PROTOCOL)
    run("import", str(excel), "--review", str(again), "--source", "Earlier review")
    assert sorted(fields(again)) == sorted(fields(original))
    log = tmp_path / "log.csv"
    run("export", "log", "--excel", "--out", str(log), "--review", str(original))
    assert log.read_bytes().startswith(b"\xef\xbb\xbf")
    events = tmp_path / "events.csv"
    run("export", "log", "--events", "--excel", "--out", str(events), "--review",
        str(original))
    assert events.read_bytes().startswith(b"\xef\xbb\xbf")
    # a format Excel does not open as CSV: one clear message, exit 2, nothing written
    for args in (["records", "--format", "ris"], ["records", "--format", "xlsx"],
                 ["log", "--format", "jsonl"]):
        out = tmp_path / "never"
        output = run("export", *args, "--excel", "--out", str(out), "--review", str(original),
                     code=2)
        assert "--excel" in output and "--format csv" in output
        assert not out.exists()
