"""The format registry: one entry per format, asked in order by `detect_format`.

Formats are recognised from content only (never from the file suffix). Each entry names a
module with `sniff(head) -> bool` and `iter_records(text, path, warn)`; Excel workbooks are
recognised from their bytes (zip magic + xl/workbook.xml). Must not import sqlalchemy,
textual, click, sklearn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from screener.core.records import Record
from screener.importers import (
    _decode,
    _text,
    bibtex,
    endnote_xml,
    medline,
    pubmed_xml,
    ris,
    tabular,
    wos,
)
from screener.importers.errors import ImportFailed

HEAD_CHARS = 65536
"""How much of the start of a file the sniffers see."""


@dataclass(frozen=True)
class Format:
    """One importable format."""

    name: str
    """Format name as reported in `ImportResult.format`."""
    description: str
    """What users call it, for messages."""
    sniff: Callable[[str], bool]
    """True when the head of a decoded text is in this format."""
    iter_records: Callable[[str, Path | None, _text.Warn], Iterator[Record]]
    """Records of a decoded text, in file order."""


FORMATS: tuple[Format, ...] = (
    Format("pubmed_xml", "PubMed XML", pubmed_xml.sniff, pubmed_xml.iter_records),
    Format("endnote_xml", "EndNote XML", endnote_xml.sniff, endnote_xml.iter_records),
    Format("ris", "RIS", ris.sniff, ris.iter_records),
    Format("medline", "MEDLINE / PubMed .nbib", medline.sniff, medline.iter_records),
    Format("wos", "Web of Science plain text", wos.sniff, wos.iter_records),
    Format("bibtex", "BibTeX", bibtex.sniff, bibtex.iter_records),
    Format("tsv", "tab-separated table", tabular.sniff_tsv, tabular.iter_records),
    Format("csv", "CSV table", tabular.sniff, tabular.iter_records),
)
"""Asked in this order; the first sniffer that says yes wins."""

BY_NAME = {f.name: f for f in FORMATS}

FORMAT_NAMES = (*(f.name for f in FORMATS), "xlsx")

SUPPORTED = ("RIS, MEDLINE/.nbib, PubMed XML, BibTeX, Web of Science plain text, EndNote XML, "
             "CSV/TSV or Excel .xlsx with a title column")


def not_a_bibliography(what: str, path: Path | None = None) -> ImportFailed:
    return ImportFailed(
        f"this is {what}, not a bibliography",
        file=path,
        hint=f"export the records from the database as {SUPPORTED}",
    )


def detect_text(text: str, path: Path | None = None) -> str:
    """The format name of a decoded text; raises ImportFailed when none matches."""
    head = text[:HEAD_CHARS].lstrip("\ufeff")
    if not head.strip():
        raise not_a_bibliography("an empty file", path)
    if _decode.looks_binary(head):
        raise not_a_bibliography("a binary file", path)
    for fmt in FORMATS:
        if fmt.sniff(head):
            return fmt.name
    columns = [c for c in tabular.header_cells(head) if c]
    if len(columns) >= 2:
        shown = ", ".join(repr(c) for c in columns[:8]) + (", ..." if len(columns) > 8 else "")
        raise ImportFailed(
            f"the first line looks like a table header ({shown}) but no column is a title, "
            "abstract, author, DOI or PMID column",
            file=path,
            line=1,
            hint="name the columns, e.g. title, abstract, authors, year, journal, doi, pmid "
                 "(the usual database export names such as TI, AB, Article Title work too)",
        )
    raise ImportFailed(
        "the content is not a recognised bibliography format",
        file=path,
        line=1,
        hint=f"export the records as {SUPPORTED} (the file suffix does not matter)",
    )


def detect_format(data: str | bytes, path: Path | None = None) -> str:
    """Format name for file content (text or raw bytes), from the content alone.

    Names: ris, medline, pubmed_xml, bibtex, csv, tsv, xlsx, wos, endnote_xml.
    Raises ImportFailed for empty, binary or unrecognised content.
    """
    if isinstance(data, bytes | bytearray):
        raw = bytes(data)
        if not raw.strip():
            raise not_a_bibliography("an empty file", path)
        if raw.startswith(_decode.GZIP_MAGIC):
            try:
                raw = _decode.gunzip(raw)
            except Exception as exc:
                raise ImportFailed(f"the gzip file is damaged ({exc})", file=path,
                                   hint="download or compress the file again") from exc
        if tabular.is_xlsx(raw):
            return "xlsx"
        kind = _decode.binary_kind(raw)
        if kind:
            raise not_a_bibliography(kind, path)
        text, _, _ = _decode.decode(raw[: HEAD_CHARS * 4])
        return detect_text(text, path)
    return detect_text(data, path)
