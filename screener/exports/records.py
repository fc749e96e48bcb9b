"""Screened records with their decisions: RIS, BibTeX, CSV and XLSX.

Renders core `Record` objects; never queries the database. Imports the standard
library, screener.core, rispy, bibtexparser (v2) and openpyxl (lazily) only.

Each item is (record, decision label, reason label, note), e.g.
(record, "exclude", "Wrong population", "adult ICU only"). Where the decision goes:

- RIS: one `N1` (notes) line "screener: exclude; reason: Wrong population; note: ..."
  (Zotero imports N1 as a child note, EndNote as Notes), then the notes the record was
  imported with from RIS (`N1`) or BibTeX (`note`, `annote`), one `N1` each, and its
  ISSNs (read from whichever format it came in: `core.issns`), one `SN` each, the print
  one first, each with what the source said it is for, as PubMed and EndNote write them
  ("SN  - 1878-0849 (Electronic)": `written_issns`), so a RIS export imported again
  still knows which one is electronic (BibTeX `eissn`).
  The PubMed id goes in `AN`
  (Accession Number, where EndNote's PubMed filter puts it) with `DP  - NLM` (the
  provider of the database the accession number belongs to, so it reads back as the PMID);
  `DB` (Name of Database) names the sources the record came from, its removed
  duplicates' included, as the CSV's `sources` column does ("Embase; Scopus": one line,
  as rispy keeps only the first of several), never PubMed for a record found in Embase;
  the journal in `T2`, pages
  in `SP`/`EP` (an end page MEDLINE abbreviates, "117-55", written in full: `EP  - 155`),
  the database id in `ID`. The publication types ("Journal Article; Randomized
  Controlled Trial") go in one `M3` line ("type of work", where EndNote's PubMed filter and
  Embase/Scopus exports put a record's type; rispy reads M3 as a single value, so one line
  joined by "; " reaches its users whole), `TY` is the code of the first type RIS has one for
  ("Generic" aside: a record of no known type that names a journal is `JOUR`). Keywords
  stay the record's own (`KW`), so
  reading the file back with rispy gives the same title, authors, year, journal,
  volume, issue, pages, DOI, PMID, abstract, keywords and publication types. Line breaks inside a value
  become spaces, but for an abstract's paragraphs (a blank line between them, which Zotero's
  RIS import reads as line breaks; rispy joins them with a space) and a note's lines (rispy
  reads each as a note).
- BibTeX: the title in the language of publication, when the record has one beside an
  English title (`Record.original_title`), in biblatex's `origtitle` (RIS has no tag for it:
  `TT` is a translated title there, the opposite; CSV/XLSX keep their columns);
  `note` carries the same text (Zotero: Extra, JabRef/EndNote: Note), the record's
  own notes go in `annote` (Zotero: a child note), its print ISSN in `issn` and its
  electronic one in `eissn` (`_bib_issns`); PMID in
  `pmid`; the entry type from the record's type (@inproceedings with `booktitle` for a
  conference paper, @book, ...; else @article with `journal`, or @misc); pages as "117--155" (the
  end page in full, as in RIS); keywords in `keywords`, joined by "; " (JabRef and Zotero split on it too; a
  comma would split "Humans, Adult" into two on the way back); the publication types in
  `pubtype` (the field JabRef's PubMed import fills) and the MeSH terms in `mesh`, each
  joined by "; "; the record's id in `screener_id` (as RIS's `ID`: the id the decision log
  names it by; BibTeX, Biber, JabRef and Zotero keep or ignore a field they do not know).
- CSV / XLSX: `issn` after `journal`, the record's ISSNs as `core.issns.written_issns`
  writes them ("1769-7212 (Print); 1878-0849 (Electronic)"), which a table's import reads
  back with what each is for; the columns `stage` (of the decisions exported:
  `import --labels-as` reads a title/abstract `decision` back as a label), `decision`, `reason`, `note`, then
  `sources` (the names of the
  sources the record came from, its removed duplicates' included) and `duplicates_removed`
  (the ids of the copies deduplication removed in its favour), each joined with "; ";
  in CSV every cell through `_cells.safe_cell` (CSV injection), in XLSX text cells stored
  as text (never a formula) and as they are. `pages` stays as the source wrote it
  ("117-55"), as the record card shows it: a table's cells are the record's own text.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import rispy
from bibtexparser.entrypoint import write_string
from bibtexparser.library import Library
from bibtexparser.model import Entry, Field

from screener.core.issns import (
    ELECTRONIC,
    labelled_issns,
    ris_note_issn,
    written_issns,
)
from screener.core.latin import latin_ascii
from screener.core.records import BIBTEX_TYPE_NAMES, RIS_TYPE_NAMES, Record, written_type
from screener.exports._cells import EXCEL_CELL_LIMIT, Cell, csv_text, over_excel_limit

if TYPE_CHECKING:
    from openpyxl import Workbook

RecordItem = tuple[Record, str, str, str]
"""(record, decision label, reason label, note)."""

RECORD_COLUMNS = ("id", "title", "authors", "year", "journal", "issn", "volume", "issue",
                  "pages", "doi", "pmid", "abstract", "keywords", "mesh_terms", "publication_types",
                  "language", "stage", "decision", "reason", "note", "sources",
                  "duplicates_removed")

Provenance = Mapping[int, tuple[str, str]]
"""record id -> (source names, ids of the duplicates removed in its favour), each joined
with "; " (the last two columns of CSV and XLSX)."""


def decision_text(decision: str, reason: str, note: str) -> str:
    """ "screener: exclude; reason: Wrong population; note: adult ICU only"."""
    return _one_line(_decision(decision, reason, note))


def _decision(decision: str, reason: str, note: str) -> str:
    """`decision_text` with the note's line breaks kept (for RIS's `N1`)."""
    parts = [f"screener: {decision or 'undecided'}"]
    if reason:
        parts.append(f"reason: {_one_line(reason)}")
    if note:
        parts.append(f"note: {note}")
    return "; ".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


_TAG_LIKE = re.compile(r"\W{0,3}[A-Z][A-Z0-9] {1,2}-")
"""The start of a line that RIS readers take for a new tag (rispy, Zotero, screener's
import allow for a few stray characters before it)."""


def _ris_lines(text: str, breaks: str) -> str:
    """`text` over several RIS lines: each part between the `breaks` ("\n\n": an
    abstract's paragraphs, a blank line between them; "\n": a note's lines) on one line,
    as Zotero's RIS import reads them back (an empty line is a line break there; rispy
    joins the lines of an abstract with spaces, and reads each line of a note as a note of
    its own). A part that would read as a tag ("ER  - ...") joins the one before it."""
    lines: list[str] = []
    for part in re.split(r"\n\s*\n" if breaks == "\n\n" else r"\n", text):
        line = _one_line(part)
        if lines and _TAG_LIKE.match(line):
            lines[-1] = _one_line(f"{lines[-1]} {line}")
        elif line:
            lines.append(line)
    return breaks.join(lines)


_NOTE_FIELDS = {"TY": ("N1",), "ENTRYTYPE": ("note", "annote")}
"""Where a record's raw fields keep its notes: the RIS import (tag -> values; a record's
first tag is TY), the BibTeX import (field -> value, with ENTRYTYPE): `note` (JabRef,
EndNote) and `annote` (Zotero's notes, and where screener's own export writes them)."""


def _raw_notes(record: Record) -> list[str]:
    """The values of the record's raw note fields, stripped."""
    for marker, names in _NOTE_FIELDS.items():
        if marker in record.raw:
            values = [record.raw.get(name) or [] for name in names]
            return [v.strip() for value in values
                    for v in ([value] if isinstance(value, str) else value)
                    if isinstance(v, str) and v.strip()]
    return []


def _own_notes(record: Record) -> list[str]:
    """The notes the record was imported with (RIS `N1`, BibTeX `note` and `annote`), but
    a decision screener's export wrote there ("screener: include; ..."): this review's
    decision replaces that one, never stands beside it. EndNote's electronic ISSN alone on
    the first line of the first `N1` is left out: the export writes it as an ISSN (`SN`,
    `eissn`)."""
    notes = _raw_notes(record)
    if notes and ris_note_issn(record.raw):  # (the first note: _raw_notes keeps it first)
        notes[0] = notes[0].partition("\n")[2].strip()
    return [v for v in notes if v and not v.startswith("screener: ")]


_PAGE = re.compile(r"([A-Za-z]*)(\d+)")


def _split_pages(pages: str) -> tuple[str, str]:
    """(start page, end page), the end page written out in full where the source
    abbreviated it as MEDLINE does ("117-55" -> 117, 155; "R117-55" -> R117, R155). A
    range that is no such abbreviation ("e123-e130", "1012-1020", "198-03", whose
    expansion would end before it starts) keeps its end page as it is."""
    first, sep, last = re.sub(r"\s*[-\u2010-\u2015]+\s*", "-", pages.strip()).partition("-")
    start, end = _PAGE.fullmatch(first), re.fullmatch(r"\d+", last)
    if start and end and len(last) < len(digits := start.group(2)):
        full = digits[:-len(last)] + last
        if int(full) >= int(digits):
            last = start.group(1) + full
    return first, last if sep else ""


# --- RIS ------------------------------------------------------------------------------

class _RisWriter(rispy.RisWriter):  # type: ignore[misc]
    """rispy's writer without the "1." counter line before each reference, and with a
    line per ISSN (`SN`: a print and an electronic ISSN, as Embase and Scopus write them)."""

    DEFAULT_LIST_TAGS = [*rispy.RisWriter.DEFAULT_LIST_TAGS, "SN"]

    def set_header(self, count: int) -> str:
        return ""


_RIS_CODES = {name: code for code, name in RIS_TYPE_NAMES.items()}


def _ris_type(record: Record) -> str:
    """The `TY` code of the record's type ("Conference Paper" -> CPAPER), else JOUR for a
    record with a journal, GEN without (`written_type`)."""
    return _RIS_CODES[written_type(record.publication_types, _RIS_CODES, record.journal)]


def records_ris(items: Sequence[RecordItem], provenance: Provenance | None = None) -> str:
    """RIS (written with rispy) with the decision in an N1 note and, with `provenance`,
    the record's source names in `DB`."""
    entries = []
    for record, decision, reason, note in items:
        entry: dict[str, object] = {"type_of_reference": _ris_type(record)}
        if record.id is not None:
            entry["id"] = str(record.id)
        start, end = _split_pages(record.pages)
        for key, value in (("title", record.title), ("secondary_title", record.journal),
                           ("year", str(record.year) if record.year else ""),
                           ("volume", record.volume), ("number", record.issue),
                           ("start_page", start), ("end_page", end), ("doi", record.doi_as_written),
                           ("accession_number", record.pmid), ("abstract", record.abstract),
                           ("language", record.language)):
            if value:
                entry[key] = (_ris_lines(value, "\n\n") if key == "abstract"
                              else _one_line(value))
        if sources := (provenance or {}).get(record.id or 0, ("", ""))[0]:
            entry["name_of_database"] = _one_line(sources)
        if record.pmid:
            entry["database_provider"] = "NLM"  # whose accession number AN is: PubMed's
        if record.authors:
            entry["authors"] = [_one_line(a) for a in record.authors]
        if record.keywords:
            entry["keywords"] = [_one_line(k) for k in record.keywords]
        if record.publication_types:
            entry["type_of_work"] = _one_line("; ".join(record.publication_types))
        if found := written_issns(record.raw):
            entry["issn"] = found
        entry["notes"] = [_ris_lines(text, "\n") for text in
                          (_decision(decision, reason, note), *_own_notes(record))]
        entries.append(entry)
    return str(rispy.dumps(entries, implementation=_RisWriter))


# --- BibTeX ---------------------------------------------------------------------------

def _ascii_word(text: str) -> str:
    """`text` in a-z and 0-9 only: accents taken off, Latin letters such as 'ı', 'ø', 'ß'
    spelled in a-z (`latin_ascii`: 'Yılmaz' is 'yilmaz'), anything else left out."""
    return re.sub(r"[^a-z0-9]", "", latin_ascii(text).lower())


_STOP = {"a", "an", "the", "of", "on", "in", "and", "for", "to", "with", "at", "by"}


def _cite_key(record: Record, taken: set[str]) -> str:
    """'family' 'year' 'first title word': the first author's family name in a-z, or, for a
    first author written in another script (Cyrillic, Chinese, Greek), the first author's
    who has one in Latin script; with none, the record's id ('rec123-2019'); 'anon' for a
    record without authors."""
    family = next(filter(None, (_ascii_word(a.split(",")[0]) for a in record.authors)), "")
    year = str(record.year or "")
    if not family and record.authors and record.id is not None:
        family, year = f"rec{record.id}", f"-{year}" if year else ""
    words = [_ascii_word(w) for w in record.title.split()]
    word = next((w for w in words if w and w not in _STOP), "")
    base = f"{family or 'anon'}{year}{word}"
    key, n = base, 0
    while key in taken:
        key = f"{base}{chr(ord('a') + n % 26)}{n // 26 or ''}"
        n += 1
    taken.add(key)
    return key


def _balanced(text: str) -> bool:
    """Whether every brace of `text` closes one opened before it."""
    depth = 0
    for ch in text:
        depth += 1 if ch == "{" else -1 if ch == "}" else 0
        if depth < 0:
            return False
    return depth == 0


_VERBATIM = {"doi", "pmid", "year", "screener_id"}
"""Fields written as they are (biblatex reads `doi` verbatim; an escaped `_` would stay),
but for braces that do not pair (`_verbatim`)."""
_LATEX_SPECIAL = re.compile(r"[\\%&_#$~^{}]")
_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}
_UNPAIRED_BRACES = {"{": r"\textbraceleft{}", "}": r"\textbraceright{}"}
r"""Braces in a value whose braces do not pair: BibTeX, Biber and JabRef count `\{` as a
brace too, so an unpaired one would end the field (or the entry) early."""


def _latex(text: str) -> str:
    r"""Text as a BibTeX value that LaTeX (and screener's import) reads back as the same
    text: `%` would start a comment, `&`, `_`, `#`, `$`, `~` and `^` mean something in
    LaTeX, and a brace would change the grouping. Braces that pair are written `\{`, `\}`;
    when they do not, every brace of the value is written `\textbraceleft{}` and
    `\textbraceright{}`, which leave the field's own braces balanced."""
    escapes = _LATEX_ESCAPES if _balanced(text) else _LATEX_ESCAPES | _UNPAIRED_BRACES
    return _LATEX_SPECIAL.sub(lambda m: escapes.get(m.group(), "\\" + m.group()), text)


def _verbatim(text: str) -> str:
    r"""A `_VERBATIM` field's value: as it is, but when its braces do not pair, each brace
    written `\textbraceleft{}` or `\textbraceright{}` as `_latex` does (an unpaired brace
    would end the field early; dropping it, as before, lost it from the DOI)."""
    if _balanced(text):
        return text
    return re.sub(r"[{}]", lambda m: _UNPAIRED_BRACES[m.group()], text)


def _bib_name(name: str) -> str:
    """A name for BibTeX's `author` list: "Family, Given" as it is; a name without a comma
    (a group such as "WHO Study Group", or a name stored unsplit) in braces, so BibTeX
    keeps it whole instead of taking its last word as the family name."""
    text = _latex(name)
    return text if "," in name or " " not in name.strip() else "{" + text + "}"


_BIB_KINDS: dict[str, str] = {}
for _kind, _name in BIBTEX_TYPE_NAMES.items():
    _BIB_KINDS.setdefault(_name, _kind)
_IN_A_BOOK = {"inproceedings", "incollection", "inbook"}
"""Entry types whose venue goes in `booktitle` (the proceedings or the book), not `journal`."""


def _bib_kind(record: Record) -> str:
    """The entry type of the record's type ("Conference Paper" -> inproceedings), else
    article for a record with a journal, misc without (`written_type`)."""
    return _BIB_KINDS[written_type(record.publication_types, _BIB_KINDS, record.journal)]


def _bib_issns(record: Record) -> tuple[str, str]:
    """(`issn`, `eissn`): the print ISSN in `issn`, which holds one ISSN in biblatex (and
    JabRef's integrity check), and the electronic one in `eissn`, as Web of Science's
    BibTeX export writes them (JabRef keeps the field, biblatex and Zotero pass over it).
    An electronic ISSN alone goes in `issn`. A further ISSN the source gives (a second
    unlabelled one, or a linking ISSN unlike both) follows the first in `issn`, joined by
    ", " (Zotero keeps the text, biblatex prints it as it is), rather than be lost."""
    found = labelled_issns(record.raw)
    electronic = [issn for issn, kind in found if kind == ELECTRONIC]
    others = [issn for issn, kind in found if kind != ELECTRONIC] or electronic[:1]
    return ", ".join(others), ", ".join(e for e in electronic if e not in others)


def records_bibtex(items: Sequence[RecordItem]) -> str:
    """BibTeX (bibtexparser v2) with the decision in `note`."""
    library = Library()
    taken: set[str] = set()
    for record, decision, reason, note in items:
        start, end = _split_pages(record.pages)
        pages = f"{start}--{end}" if end else start
        kind = _bib_kind(record)
        values = (("author", " and ".join(_bib_name(a) for a in record.authors)),
                  ("title", record.title), ("origtitle", record.original_title),
                  ("booktitle" if kind in _IN_A_BOOK else "journal", record.journal),
                  ("year", str(record.year or "")),
                  ("volume", record.volume), ("number", record.issue), ("pages", pages),
                  ("doi", record.doi_as_written), ("pmid", record.pmid), ("abstract", record.abstract),
                  ("keywords", "; ".join(record.keywords)),
                  ("pubtype", "; ".join(record.publication_types)),
                  ("mesh", "; ".join(record.mesh_terms)), ("language", record.language),
                  *zip(("issn", "eissn"), _bib_issns(record), strict=True),
                  ("note", decision_text(decision, reason, note)),
                  ("annote", "\n\n".join(_own_notes(record))),
                  ("screener_id", str(record.id) if record.id is not None else ""))
        fields = [Field(key, value if key == "author" else _verbatim(value)
                        if key in _VERBATIM else _latex(value))
                  for key, value in values if value]
        library.add(Entry(kind, _cite_key(record, taken), fields))
    return str(write_string(library))


# --- CSV and XLSX -----------------------------------------------------------------------

def _row(item: RecordItem, provenance: Provenance | None, stage: str) -> list[Cell]:
    record, decision, reason, note = item
    sources, removed = (provenance or {}).get(record.id or 0, ("", ""))
    return [record.id, record.title, "; ".join(record.authors), record.year, record.journal,
            "; ".join(written_issns(record.raw)), record.volume, record.issue, record.pages,
            record.doi_as_written, record.pmid,
            record.abstract, "; ".join(record.keywords), "; ".join(record.mesh_terms),
            "; ".join(record.publication_types),
            record.language, stage, decision, reason, note, sources, removed]


def records_csv(items: Sequence[RecordItem], provenance: Provenance | None = None,
                stage: str = "") -> str:
    """One row per record (`RECORD_COLUMNS`), lists joined with "; ", cells made safe;
    `stage`: the stage whose decisions these are (its column, for `import --labels-as`)."""
    return csv_text(RECORD_COLUMNS, (_row(item, provenance, stage) for item in items))


def records_table(items: Sequence[RecordItem], provenance: Provenance | None = None,
                  stage: str = "") -> list[list[Cell]]:
    """`records_csv`'s rows, for a caller that also checks them (`cells_over_excel_limit`):
    `csv_text(RECORD_COLUMNS, table)` is the same file."""
    return [_row(item, provenance, stage) for item in items]


_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


XLSX_CELL_LIMIT = EXCEL_CELL_LIMIT
"""The most characters Excel keeps in one cell."""


def _too_long(record_id: Cell, row: Sequence[Cell]) -> list[str]:
    """The cells of a row longer than Excel holds ("record 12: authors, 41,020 characters")."""
    return over_excel_limit(RECORD_COLUMNS, row, f"record {record_id}")


def cells_over_excel_limit(table: Sequence[Sequence[Cell]]) -> list[str]:
    """The cells of `records_table`'s rows that Excel would cut on opening the CSV, as
    `records_xlsx` names those it cuts (each row begins with its record's id)."""
    return [cell for row in table for cell in _too_long(row[0], row)]


def records_xlsx(items: Sequence[RecordItem], path: str | Path,
                 provenance: Provenance | None = None, stage: str = "") -> list[str]:
    """The same table as `records_csv` in an .xlsx workbook (sheet "records"). Returns
    what had to be cut to Excel's cell limit ("record 12: authors, 41,020 characters"),
    for a warning: the CSV keeps it whole."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "records"
    sheet.append(list(RECORD_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    cut: list[str] = []
    for number, item in enumerate(items, start=2):
        row = [_ILLEGAL_XLSX.sub("", v) if isinstance(v, str) else v
               for v in _row(item, provenance, stage)]
        cut += _too_long(item[0].id, row)
        sheet.append([v[:XLSX_CELL_LIMIT] if isinstance(v, str) else v for v in row])
        for column, value in enumerate(row, start=1):
            if isinstance(value, str):
                # stored as text, never as a formula: "=SUM(1,2)" in a title stays that text
                # (no quote mark added, as the CSV needs). sheet.cell, not sheet[number]:
                # a whole row reads the sheet's width, which scans every cell written, and
                # made the export quadratic (hours at 40,000 records)
                sheet.cell(number, column).data_type = "s"
    sheet.freeze_panes = "A2"
    for name, width in (("title", 60), ("authors", 30), ("journal", 30), ("abstract", 80),
                        ("reason", 30), ("note", 40)):
        sheet.column_dimensions[get_column_letter(RECORD_COLUMNS.index(name) + 1)].width = width
    # Fixed document dates, so the same items give the same workbook contents.
    workbook.properties.creator = "screener"
    workbook.properties.created = datetime(2000, 1, 1)
    workbook.properties.modified = datetime(2000, 1, 1)
    _save_workbook(workbook, Path(path))
    return cut


def _save_workbook(workbook: Workbook, path: Path) -> None:
    """`workbook.save(path)`, but the zip file is closed when writing fails (a full disk):
    left open, it was closed when garbage-collected, whose write failed again and printed
    "Exception ignored in: <function ZipFile.__del__>" with a traceback after the message.
    (openpyxl's save also stamps the time of saving over the fixed document dates.)"""
    from zipfile import ZIP_DEFLATED, ZipFile

    from openpyxl.writer.excel import ExcelWriter

    archive = ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True)
    try:
        ExcelWriter(workbook, archive).save()  # (closes the archive)
    except BaseException:
        with contextlib.suppress(OSError):
            archive.close()  # (the same failure again; the first one is raised)
        raise
