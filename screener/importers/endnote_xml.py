"""EndNote XML import (File > Export, 'XML': <xml><records><record>...).

Text in EndNote XML sits inside <style> runs; it is flattened. Parsed with defusedxml (see
`_xml`). Imports defusedxml and screener.core only; must not import sqlalchemy, textual,
click, sklearn. Element objects never leave the importer package.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element

from screener.core.records import Record, normalise_doi, normalise_pmid
from screener.importers import _text, _xml
from screener.importers.errors import ImportFailed

NAME = "endnote_xml"

_RECORDS = re.compile(r"<xml>\s*<records>|<records>\s*<record>")
_LINES = re.compile(r"[\r\n]+")  # EndNote separates abstract paragraphs by one line break
_PMID_NOTE = re.compile(r"\bPMID:?\s*(\d{1,9})\b", re.IGNORECASE)


def sniff(head: str) -> bool:
    """XML with EndNote's <xml><records><record> layout."""
    return _xml.looks_like_xml(head) and bool(_RECORDS.search(head))


def parse(text: str, path: Path | None = None) -> list[Record]:
    """All records of an EndNote XML text."""
    return list(iter_records(text, path))


def iter_records(
    text: str, path: Path | None = None, warn: _text.Warn = _text.no_warnings
) -> Iterator[Record]:
    """Records of an EndNote XML text, in file order."""
    for number, element in enumerate(_xml.iter_elements(text, {"record"}, path), start=1):
        try:
            record = to_record(element)
        except Exception as exc:
            raise ImportFailed(
                f"record could not be read ({type(exc).__name__}: {exc})",
                file=path, record=number,
                hint="check this record in EndNote or export the library again",
            ) from exc
        if not record.title:
            warn(f"Record {number} has no title.")
        _text.warn_dropped(warn, f"Record {number}",
                           year=("year", _one(element, "dates/year"), record.year),
                           doi=("electronic-resource-num",
                                _one(element, "electronic-resource-num"), record.doi))
        yield record


def _all(element: Element, path: str) -> list[str]:
    return [_text.clean_inline(_xml.text_of(e)) for e in element.findall(path)]


def _one(element: Element, *paths: str) -> str:
    for path in paths:
        for value in _all(element, path):
            if value:
                return value
    return ""


def _pmid(element: Element) -> str:
    database = (_one(element, "remote-database-provider") + " "
                + _one(element, "remote-database-name")).lower()
    accession = _one(element, "accession-num")
    if accession.isdigit() and any(n in database for n in ("nlm", "pubmed", "medline")):
        return normalise_pmid(accession)
    for value in [accession, _one(element, "notes"), _one(element, "custom2")]:
        match = _PMID_NOTE.search(value)
        if match:
            return normalise_pmid(match.group(1))
    return ""


def to_record(element: Element) -> Record:
    """Map one EndNote <record> element to a `Record`."""
    ref_type = element.find("ref-type")
    kind = ref_type.get("name", "") if ref_type is not None else ""
    keywords: list[str] = []
    for value in _all(element, "keywords/keyword"):
        keywords.extend(value.split(";"))
    doi = ""
    for value in _all(element, "electronic-resource-num") + _all(element, "urls/related-urls/url"):
        doi = normalise_doi(value)
        if doi:
            break
    abstract = element.find("abstract")
    return Record(
        title=_one(element, "titles/title"),
        abstract=_text.clean_paragraphs(_LINES.sub("\n\n", _xml.text_of(abstract))),
        authors=_text.names(_text.author_name(a)
                             for a in _all(element, "contributors/authors/author")),
        year=_text.parse_year(_one(element, "dates/year"), _one(element, "dates/pub-dates/date")),
        journal=_one(element, "periodical/full-title", "titles/secondary-title",
                     "alt-periodical/full-title", "periodical/abbr-1", "titles/alt-title"),
        volume=_one(element, "volume"),
        issue=_one(element, "number", "issue"),
        pages=_one(element, "pages"),
        doi=doi,
        pmid=_pmid(element),
        publication_types=_text.unique([kind, *_all(element, "work-type")]),
        keywords=_text.unique(keywords),
        mesh_terms=(),
        language=_text.language_name(_one(element, "language")),
        raw=_xml.to_json(element, frozenset({"style"})),
    )
