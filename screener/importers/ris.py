"""RIS import (Ovid, Embase, Scopus, Web of Science, Zotero, EndNote, ProQuest, IEEE, ...).

Parsing uses rispy's line grammar (see `_tagged`); this module maps the tags of the common
dialects to `Record`. Unknown tags are kept in `raw` under their own names. Imports rispy
(through `_tagged`) and screener.core only; must not import sqlalchemy, textual, click,
sklearn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from screener.core.records import RIS_TYPE_NAMES, Record, normalise_doi, normalise_pmid
from screener.importers import _text
from screener.importers._tagged import Tags, every, first, parse_tagged
from screener.importers.errors import ImportFailed

NAME = "ris"

_START = re.compile(r"^\s*TY  -", re.MULTILINE)
_PMID_NOTE = re.compile(r"\bPMID:?\s*(\d{1,9})\b", re.IGNORECASE)

TYPE_NAMES = RIS_TYPE_NAMES

_PUBMED_DATABASES = ("nlm", "pubmed", "medline")


def sniff(head: str) -> bool:
    """A line starting with 'TY  -' (the RIS record start) within the head of the file."""
    return bool(_START.search(head))


def parse(text: str, path: Path | None = None) -> list[Record]:
    """All records of a RIS text."""
    return list(iter_records(text, path))


def iter_records(
    text: str, path: Path | None = None, warn: _text.Warn = _text.no_warnings
) -> Iterator[Record]:
    """Records of a RIS text, in file order."""
    records, starts = parse_tagged(text, path, wos=False)
    for number, tags in enumerate(records, start=1):
        try:
            record = to_record(tags)
        except ImportFailed:
            raise
        except Exception as exc:  # a mapping bug must still name the record
            raise ImportFailed(
                f"record could not be read ({type(exc).__name__}: {exc})",
                file=path, line=starts[number - 1], record=number,
                hint="check this record in the file or export it again",
            ) from exc
        if not record.title and not record.abstract:
            warn(f"Record {number} (line {starts[number - 1]}) has no title or abstract.")
        _text.warn_dropped(warn, f"Record {number} (line {starts[number - 1]})",
                           year=("PY", first(tags, "PY"), record.year),
                           doi=("DO", first(tags, "DO"), record.doi))
        yield record


def _pmid(tags: Tags) -> str:
    database = (first(tags, "DB") + " " + first(tags, "DP")).lower()
    if any(name in database for name in _PUBMED_DATABASES):
        for value in every(tags, "AN"):
            if value.strip().isdigit():
                return normalise_pmid(value)
    for value in every(tags, "C2"):  # Scopus puts the PubMed id in C2 (EndNote: PMCID)
        if value.strip().isdigit():
            return normalise_pmid(value)
    if any(db.strip().lower() in ("embase", "medline") for db in every(tags, "DB")):
        for value in every(tags, "C5"):  # Embase: the MEDLINE PMID of a record in both
            if value.strip().isdigit():
                return normalise_pmid(value)
    for value in every(tags, "AN", "N1", "M1", "M2", "C7", "C8", "U1", "U2"):
        match = _PMID_NOTE.search(value)
        if match:
            return normalise_pmid(match.group(1))
    return ""


def _doi(tags: Tags) -> str:
    for value in every(tags, "DO", "DI", "L3", "M3", "UR", "L2", "L1", "L4", "N1", "C7"):
        for line in value.split("\n"):
            doi = normalise_doi(line)
            if doi:
                return doi
    return ""


def _types(tags: Tags, journal: str) -> tuple[str, ...]:
    """The type TY names, then the 'type of work' (M3) names: Embase, Scopus and Ovid write
    one there, screener's export all of a record's types joined by "; " (a type such as
    "Research Support, Non-U.S. Gov't" holds a comma, never a semicolon), and when these
    include TY's name, or TY is the type they are written as (`_text.types_beside`: a
    letter's `JOUR`), M3's alone, in their order. An M3 that names no type (Ovid's
    classification "Disorders [3290]", a DOI) is left out."""
    named = _text.unique(TYPE_NAMES.get(code.strip().upper(), code.strip())
                         for code in every(tags, "TY"))
    work = _text.unique(
        name for value in every(tags, "M3") for name in map(_text.clean_inline, value.split(";"))
        if "[" not in name and not any(ch.isdigit() for ch in name) and len(name) < 60)
    return _text.types_beside(named, work, TYPE_NAMES.values(), journal)


def _article_number(tags: Tags) -> str:
    """Scopus puts the article number (no page range) in C7."""
    value = first(tags, "C7").strip()
    return value if value and " " not in value and len(value) <= 20 else ""


def _abstract(tags: Tags) -> str:
    """Every AB line (some exports give a structured abstract a line per section), one
    paragraph each; without AB, every N2 line. A line repeated word for word counts once."""
    lines = [v for v in every(tags, "AB") if v.strip()] or [v for v in every(tags, "N2")
                                                             if v.strip()]
    return "\n\n".join(dict.fromkeys(lines))


def to_record(tags: Tags) -> Record:
    """Map one RIS record (raw tags) to a `Record`."""
    # one tag's list: a file that carries the authors under both AU and A1 must not
    # double them, and two authors of one name are two authors
    authors = _text.names(
        _text.author_name(line)
        for value in (every(tags, "AU") or every(tags, "A1"))
        for line in value.split("\n")
    )
    journal = _text.clean_inline(first(tags, "JF", "T2", "JO", "JA", "J2", "J1"))
    return Record(
        title=_text.clean_inline(first(tags, "TI", "T1", "CT", "BT", "ST")),
        abstract=_text.clean_abstract(_abstract(tags)),
        authors=authors,
        year=_text.parse_year(first(tags, "PY"), first(tags, "Y1"), first(tags, "DA"),
                              first(tags, "Y2")),
        journal=journal,
        volume=_text.numbering(first(tags, "VL", "VO")),
        issue=_text.numbering(first(tags, "IS", "CP")),
        pages=_text.join_pages(first(tags, "SP"), first(tags, "EP")) or _article_number(tags),
        doi=_doi(tags),
        pmid=_pmid(tags),
        publication_types=_types(tags, journal),
        keywords=_text.split_terms(every(tags, "KW"), ";"),
        mesh_terms=(),
        language=_text.language_name(first(tags, "LA")),
        raw=tags,
    )
