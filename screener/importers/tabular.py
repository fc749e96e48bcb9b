"""Tabular import: CSV, TSV (csv module) and Excel .xlsx (openpyxl, read-only).

Knows the column names of Scopus, Web of Science, Embase, Ovid, IEEE Xplore, SpringerLink,
ASReview, Zotero, Lens.org and Covidence exports (see `COLUMNS`); a table with neither a
title nor an abstract column is refused (its records would have nothing to screen). Every
column is kept in `raw`, including a label column (`label_included`, `included`, `label`),
which only `labels_from_raw` reads.
Imports openpyxl and screener.core only; must not import sqlalchemy, textual, click,
sklearn, pandas.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from screener.core.records import Record, normalise_doi, typed_pmid
from screener.core.wording import counted, plural, were
from screener.importers import _text
from screener.importers.errors import ImportFailed

NAME = "csv"

COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "article title", "ti", "primary title", "document title", "item title"),
    "abstract": ("abstract", "ab", "notes abstract", "abstract note"),
    "authors": ("af", "author full names", "authors", "author", "au", "author names",
                "author/s"),
    "year": ("year", "py", "publication year", "pubyear", "year published",
             "year of publication", "yr", "publication_year", "published year"),
    "journal": ("source title", "journal", "so", "publication title", "secondary title",
                "journal title", "publication name", "journal/book", "t2"),
    "volume": ("volume", "vl", "journal volume"),
    "issue": ("issue", "is", "number", "journal issue"),
    "pages": ("pages", "page range", "pagination"),
    "page_start": ("page start", "start page", "bp", "first page"),
    "page_end": ("page end", "end page", "ep", "last page"),
    "article_number": ("art. no.", "ar", "article number"),
    "doi": ("doi", "di", "item doi"),
    "pmid": ("pubmed id", "pmid", "pm", "pubmed"),
    "keywords": ("author keywords", "keywords", "de", "index keywords", "keywords plus",
                 "ieee terms", "manual tags", "automatic tags"),
    "mesh": ("mesh", "mesh terms", "mesh headings", "mh"),
    "types": ("document type", "dt", "publication type", "publication types", "content type",
              "type"),
    "language": ("language of original document", "language", "la"),
    "source": ("source",),
    "link": ("open url link", "link", "url", "links"),
}
_KEY_FIELDS = ("title", "abstract", "authors", "doi", "pmid")
_ALIASES = {alias: field for field, aliases in COLUMNS.items() for alias in aliases}
_DOI_IN_LINK = re.compile(r"doi(?:[:=]|%3A)\s*(10\.\d{3,9}(?:/|%2F)[^&\s]+)", re.IGNORECASE)
_SCOPUS_ID = re.compile(r"\s*\(\d+\)")
_EMBASE_SOURCE = re.compile(
    r"^(?P<journal>.+?)\s+\((?P<year>\d{4})\)\s+(?P<volume>[^\s:(]+)?(?::(?P<issue>[^\s(]+))?"
    r"(?:\s+\((?P<pages>[^)]*)\))?"
)


def normalise_header(name: str) -> str:
    """'Article_Title ' -> 'article title' (case, underscores and spaces folded)."""
    return " ".join(name.replace("\ufeff", "").replace("_", " ").lower().split())


def _delimiter(head: str) -> str:
    first = next((line for line in head.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in ("\t", ",", ";")}
    if counts["\t"] and counts["\t"] >= counts[","]:
        return "\t"
    if counts[";"] > counts[","]:
        return ";"
    return ","


def _header(head: str) -> list[str]:
    first = next((line for line in head.splitlines() if line.strip()), "")
    try:
        return next(csv.reader([first], delimiter=_delimiter(head)))
    except (csv.Error, StopIteration):
        return []


def header_cells(head: str) -> list[str]:
    """The cells of the first non-empty line, split on its delimiter (tab, comma or ';')."""
    return [c.strip() for c in _header(head)]


def sniff(head: str) -> bool:
    """The first line is a delimited header naming a title/abstract/author/DOI/PMID column."""
    names = {_ALIASES.get(normalise_header(h)) for h in _header(head)}
    return len(_header(head)) >= 2 and any(field in names for field in _KEY_FIELDS)


def sniff_tsv(head: str) -> bool:
    """Like `sniff`, for a tab-separated header."""
    return _delimiter(head) == "\t" and sniff(head)


def parse(text: str, path: Path | None = None) -> list[Record]:
    """All rows of a CSV/TSV text (delimiter taken from the header line)."""
    return list(iter_records(text, path))


def iter_records(
    text: str, path: Path | None = None, warn: _text.Warn = _text.no_warnings
) -> Iterator[Record]:
    """Rows of a CSV/TSV text as records."""
    if csv.field_size_limit() < 2**31 - 1:
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # 1 MB abstracts are legitimate
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text[:65536]),
                        strict=True)  # an unclosed quote must fail, not swallow the file

    def rows() -> Iterator[tuple[int, list[Any]]]:
        start = 1  # line where the row being read begins (a quoted cell may span lines)
        try:
            for row in reader:
                yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ImportFailed(
                f"the table cannot be read ({exc}) in the row that begins on this line",
                file=path, line=start,
                hint="save the table again as UTF-8 CSV; check the quotes in this row",
            ) from exc

    yield from _records(rows(), path, warn, quoted=True)


def _records(
    rows: Iterable[tuple[int, Sequence[Any]]], path: Path | None, warn: _text.Warn,
    quoted: bool = False,
) -> Iterator[Record]:
    """Records from rows of cells. `quoted`: the cells are CSV text, whose quote before a
    formula start is taken off (`_cell`)."""
    header: list[str] | None = None
    number = 0
    above: list[int] = []  # lines before the header (a spreadsheet's banner rows)
    longer = 0  # rows with more cells than the header
    untitled: list[int] = []  # lines of rows with an empty title cell
    titled = False  # the header names a title column (else one warning says so)
    header_key: list[str] = []  # the header's names as compared (`_as_header`)
    for line, row in rows:
        cells = ["" if c is None else _cell(c, quoted) for c in row]
        if not any(c.strip() for c in cells):
            continue
        if header is not None and _as_header(cells) == header_key:
            bom = " (after a byte-order mark, where a file begins)" if _BOM in cells[0] else ""
            raise ImportFailed(
                f"this line repeats the header{bom}: were two files joined? import them "
                "separately", file=path, line=line,
                hint="one import command takes several files (screener import a.csv b.csv)")
        if header is None:
            if not any(_ALIASES.get(normalise_header(c)) in _KEY_FIELDS for c in cells):
                above.append(line)
                if len(above) >= _MAX_BANNER_ROWS:
                    raise ImportFailed(
                        f"no header row naming a title, abstract, author, DOI or PMID column "
                        f"in the first {len(above)} rows", file=path, line=above[0],
                        hint="the first row of the table must name its columns, e.g. "
                             "Title, Abstract, Authors, Year")
                continue
            if above:
                one = len(above) == 1
                warn(f"{plural(len(above), 'Line')} {', '.join(map(str, above))} above the "
                     f"header (line {line}) {'names' if one else 'name'} no columns and "
                     f"{were(len(above))} skipped.")
            header = _unique_names(cells)
            header_key = _as_header(cells)
            repeated = sorted({h for h in cells if h.strip() and cells.count(h) > 1})
            if repeated:
                warn(f"The header names {', '.join(repr(h.strip()) for h in repeated)} more "
                     "than once; for each record the first such column that is not empty "
                     "is read.")
            fields = {_ALIASES.get(normalise_header(_REPEAT.sub("", h))) for h in header}
            titled = "title" in fields
            if not titled and "abstract" not in fields:
                raise ImportFailed(
                    f"the table has neither a title nor an abstract column, so its records "
                    f"would have nothing to screen (columns: {_listed(header)})",
                    file=path, line=line,
                    hint="name the title column one of "
                         f"{', '.join(map(repr, COLUMNS['title']))} or the abstract column "
                         f"one of {', '.join(map(repr, COLUMNS['abstract']))} (case, spaces "
                         "and underscores do not matter); a list of PubMed ids imports with "
                         "'screener import-ids FILE'")
            if not titled:
                warn(f"The table has no title column (columns: {_listed(header)}); the "
                     "records are imported "
                     "without titles. Name the title column 'title' to keep them.")
            continue
        number += 1
        while len(cells) > len(header) and not cells[-1].strip():
            cells.pop()  # trailing empty cells (a spreadsheet's trailing commas)
        names = header
        if len(cells) > len(header) and (names := _scopus_funding(header, cells)) is not header:
            pass  # Scopus: more funding texts than the header names, realigned
        elif len(cells) > len(header):
            longer += 1
            if longer <= 3:
                warn(f"Row {number} (line {line}) has {len(cells)} cells but the header has "
                     f"{len(header)}; the extra cells are kept in raw as '_extra'.")
        elif len(cells) < len(header):
            warn(f"Row {number} (line {line}) has {len(cells)} cells but the header has "
                 f"{len(header)}: a line break inside a cell that is not quoted splits a row "
                 "in two. Check this row and the one before it.")
        raw: dict[str, Any] = dict(zip(names, cells, strict=False))
        if len(cells) > len(names):
            raw["_extra"] = cells[len(names):]
        try:
            record = to_record(raw, warn, f"Row {number} (line {line})")
        except Exception as exc:
            raise ImportFailed(
                f"row could not be read ({type(exc).__name__}: {exc})",
                file=path, line=line, record=number, hint="check this row in the table",
            ) from exc
        if not record.title and titled:
            untitled.append(line)
        yield record
    if untitled:
        warn(f"{counted(len(untitled), 'row')} {plural(len(untitled), 'has', 'have')} "
             f"an empty title ({plural(len(untitled), 'line')} "
             f"{', '.join(map(str, untitled[:5]))}{', ...' if len(untitled) > 5 else ''}); "
             "they are imported without one (a spreadsheet formula whose value was never "
             "saved reads as empty: open and save the file in a spreadsheet program).")
    if longer > 3 and 2 * longer > number:
        raise ImportFailed(
            f"{longer} of {number} rows have more cells than the header "
            f"({len(header or [])}): the header lacks a column name, so the values after it "
            "would sit under the wrong column names (a PubMed ID or DOI lost, a year read as "
            "a language)", file=path, line=1,
            hint="add the missing column name to the header line (compare a row's cells with "
                 "the names), or export the table again")
    if longer > 3:
        warn(f"{longer} of {number} rows have more cells than the header "
             f"({len(header or [])}): in those rows the values after the missing column name "
             "may sit under the wrong column names (a PubMed ID or DOI lost); check them.")
    if header is None and above:
        raise ImportFailed(
            "no header row naming a title, abstract, author, DOI or PMID column",
            file=path, line=above[0],
            hint="the first row of the table must name its columns, e.g. Title, Abstract, "
                 "Authors, Year")


_BOM = "\ufeff"


def _as_header(cells: Sequence[str]) -> list[str]:
    """A row's cells compared as column names (`normalise_header`: a byte-order mark, case,
    spaces and underscores aside; trailing empty cells dropped)."""
    names = [normalise_header(c) for c in cells]
    while names and not names[-1]:
        names.pop()
    return names


def _listed(header: list[str]) -> str:
    """The first column names of a header, for a message."""
    return ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")


def _scopus_funding(header: list[str], cells: list[str]) -> list[str]:
    """Scopus writes a record's second, third... funding texts into cells its header does
    not name, right after "Funding Text 1". For such a row (its last cell an EID under the
    header's last name, "EID"), the header with "Funding Text 2", ... put in; else `header`
    itself."""
    names = [h.strip() for h in header]
    if "Funding Text 1" not in names or names[-1] != "EID" or not cells[-1].startswith("2-s2.0-"):
        return header
    at = names.index("Funding Text 1") + 1
    extra = [f"Funding Text {k}" for k in range(2, 2 + len(cells) - len(header))]
    return header[:at] + extra + header[at:]


_QUOTED_FORMULA = re.compile("^'(?='*[=+\\-@\t\r\uff1d\uff0b\uff0d\uff20])")
"""The quote a CSV export (screener's among them, see exports._cells) puts before text a
spreadsheet would take for a formula ("'=1+1", "'-negative"), and screener's before text
whose own apostrophes come before one ("''-omics' approaches" for "'-omics' approaches"):
not part of the text. One quote is taken off, so text of every kind reads back as written."""


def _cell(value: Any, quoted: bool = True) -> str:
    """A cell's text. `quoted` (CSV, TSV): without the quote an export put before a
    formula start. An XLSX cell's value is its text as it is: Excel keeps its own quote
    prefix out of the value (a style), and screener's XLSX export writes text cells as
    they are."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _QUOTED_FORMULA.sub("", str(value)) if quoted else str(value)


_MAX_BANNER_ROWS = 20
"""Rows read, looking for the header, before the table is refused."""
_REPEAT = re.compile(r" \(\d+\)$")


def _unique_names(cells: list[str]) -> list[str]:
    """Column names made unique: a repeated name gets " (2)", " (3)"... (`_columns` reads
    such a column as another column of the same field)."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for index, cell in enumerate(cells):
        name = cell.replace("\ufeff", "").strip() or f"column_{index + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _columns(raw: dict[str, Any]) -> dict[str, list[str]]:
    """Field -> values of the matching columns, in the order of `COLUMNS` aliases and,
    for one alias (a repeated column name), in column order."""
    found: dict[str, list[tuple[int, str]]] = {}
    for name, value in raw.items():
        base = normalise_header(_REPEAT.sub("", name))
        field = _ALIASES.get(base)
        if field and isinstance(value, str) and value.strip():
            rank = COLUMNS[field].index(base)
            found.setdefault(field, []).append((rank, value))
    return {field: [v for _, v in sorted(values, key=lambda pair: pair[0])]
            for field, values in found.items()}


def _keyword_cells(raw: dict[str, Any], cols: dict[str, list[str]]) -> list[str]:
    """Keyword columns; Web of Science's 'ID' (Keywords Plus) only in a WoS table (with 'UT'),
    since 'id' elsewhere is a record identifier."""
    cells = list(cols.get("keywords", []))
    if "UT" in raw and isinstance(raw.get("ID"), str):
        cells.append(raw["ID"])
    return cells


def _doi_from_links(links: list[str]) -> str:
    """Embase's 'Open URL Link' and Scopus's 'Link' carry the DOI as a query parameter."""
    for link in links:
        match = _DOI_IN_LINK.search(link)
        if match:
            doi = normalise_doi(unquote(match.group(1)))
            if doi:
                return doi
    return ""


def _keyword_list(value: str) -> str:
    """Embase lists keywords with commas ('a, b (c, d), e'); turn top-level commas into ';'."""
    if ";" in value or "," not in value:
        return value
    out: list[str] = []
    depth = 0
    for char in value:
        depth += (char == "(") - (char == ")")
        out.append(";" if char == "," and depth <= 0 else char)
    return "".join(out)


def to_record(raw: dict[str, Any], warn: _text.Warn = _text.no_warnings,
              where: str = "A row") -> Record:
    """Map one row (column -> text) to a `Record`; `warn` hears of a value that had to be
    dropped (`where` names the row in it)."""
    cols = _columns(raw)

    def one(field: str) -> str:
        values = cols.get(field)
        return values[0].strip() if values else ""

    source = _EMBASE_SOURCE.match(one("source")) if one("source") else None
    embase = source.groupdict() if source else {}
    authors = _text.split_authors(_SCOPUS_ID.sub("", one("authors")))
    pages = _text.numbering(one("pages")) or _text.join_pages(one("page_start"), one("page_end"))
    year = _text.parse_year(one("year"), embase.get("year"))
    doi = normalise_doi(one("doi")) or _doi_from_links(cols.get("link", []))
    pmid = typed_pmid(one("pmid"))
    _text.warn_dropped(warn, where, year=("year", one("year"), year),
                       doi=("DOI", one("doi"), doi), pmid=("PMID", one("pmid"), pmid))
    return Record(
        title=_text.clean_inline(one("title")),
        abstract=_text.clean_abstract(one("abstract")),
        authors=authors,
        year=year,
        journal=_text.clean_inline(one("journal") or embase.get("journal") or ""),
        volume=_text.numbering(one("volume")) or (embase.get("volume") or ""),
        issue=_text.numbering(one("issue")) or (embase.get("issue") or ""),
        pages=pages or one("article_number") or (embase.get("pages") or ""),
        doi=doi,
        pmid=pmid,
        publication_types=_text.split_terms(cols.get("types", []), ";"),
        keywords=_text.split_terms([_keyword_list(v) for v in _keyword_cells(raw, cols)], ";"),
        mesh_terms=_text.split_terms(cols.get("mesh", []), ";"),
        language=_text.language_name(one("language")),
        raw=raw,
    )


def is_xlsx(data: bytes) -> bool:
    """A zip archive holding xl/workbook.xml (an Excel 2007+ workbook)."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def iter_xlsx(
    data: bytes, path: Path | None = None, warn: _text.Warn = _text.no_warnings
) -> Iterator[Record]:
    """Rows of the first worksheet of an .xlsx workbook as records."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise ImportFailed(
            f"the Excel workbook cannot be opened ({type(exc).__name__}: {exc})", file=path,
            hint="open it in Excel or LibreOffice and save it again as .xlsx or CSV",
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        if len(workbook.worksheets) > 1:
            warn(f"The workbook has {len(workbook.worksheets)} sheets; only the first, "
                 f"'{sheet.title}', was read.")
        rows = ((n, tuple(_text.composed(v) if isinstance(v, str) else v for v in row))
                for n, row in enumerate(sheet.iter_rows(values_only=True), start=1))
        found = 0
        try:
            for record in _records(rows, path, warn):
                found += 1
                yield record
        except ImportFailed as exc:
            if found or len(workbook.worksheets) == 1:
                raise
            others = ", ".join(f"'{ws.title}'" for ws in workbook.worksheets[1:])
            raise ImportFailed(
                f"{exc.message} in the first sheet, '{sheet.title}', the only one read (not "
                f"read: {others})", file=exc.file, line=exc.line, record=exc.record,
                field=exc.field, hint=f"{exc.hint.rstrip('.')}; if the records are on another "
                "sheet, move that sheet to the front or save it alone as CSV") from exc
        if not found and len(workbook.worksheets) > 1:
            names = ", ".join(f"'{ws.title}'" for ws in workbook.worksheets)
            raise ImportFailed(
                f"the first sheet, '{sheet.title}', holds no records (sheets: {names})",
                file=path, hint="screener reads the first sheet only: move the sheet with "
                "the records to the front, or save it alone as CSV")
    finally:
        workbook.close()


def parse_xlsx(data: bytes, path: Path | None = None) -> list[Record]:
    """All rows of the first worksheet of an .xlsx workbook."""
    return list(iter_xlsx(data, path))
