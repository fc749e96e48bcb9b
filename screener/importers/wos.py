"""Web of Science 'plain text' (field-tagged) import: FN/VR, PT ... ER, EF.

Parsing uses rispy's `WokParser` grammar (see `_tagged`); this module maps the WoS tags
(PT, AU/AF, TI, SO, PY, VL, IS, BP/EP/AR, DI, PM, DE/ID, AB, DT, LA, UT) to `Record`.
Imports rispy (through `_tagged`) and screener.core only; must not import sqlalchemy,
textual, click, sklearn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from screener.core.records import Record, normalise_doi, normalise_pmid
from screener.importers import _text
from screener.importers._tagged import Tags, every, first, parse_tagged
from screener.importers.errors import ImportFailed

NAME = "wos"

_START = re.compile(r"^PT [A-Z]\s*$", re.MULTILINE)
_FIELD = re.compile(r"^(?:AU|TI|SO|UT|AF|PY) \S", re.MULTILINE)


def sniff(head: str) -> bool:
    """A 'PT J' style record start plus at least one other WoS tag line."""
    return bool(_START.search(head) and _FIELD.search(head))


def parse(text: str, path: Path | None = None) -> list[Record]:
    """All records of a Web of Science plain-text export."""
    return list(iter_records(text, path))


def iter_records(
    text: str, path: Path | None = None, warn: _text.Warn = _text.no_warnings
) -> Iterator[Record]:
    """Records of a WoS plain-text export, in file order."""
    records, starts = parse_tagged(text, path, wos=True)
    for number, tags in enumerate(records, start=1):
        try:
            record = to_record(tags)
        except Exception as exc:
            raise ImportFailed(
                f"record could not be read ({type(exc).__name__}: {exc})",
                file=path, line=starts[number - 1], record=number,
                hint="check this record in the file or export it again",
            ) from exc
        if not record.title:
            warn(f"Record {number} (line {starts[number - 1]}) has no title.")
        _text.warn_dropped(warn, f"Record {number} (line {starts[number - 1]})",
                           year=("PY", first(tags, "PY"), record.year),
                           doi=("DI", first(tags, "DI"), record.doi))
        yield record


def _lines(tags: Tags, *names: str) -> list[str]:
    return [line for value in every(tags, *names) for line in value.split("\n")]


def _joined(tags: Tags, *names: str) -> str:
    return " ".join(first(tags, *names).split("\n"))


def to_record(tags: Tags) -> Record:
    """Map one WoS record (raw tags) to a `Record`."""
    authors = _lines(tags, "AF") or _lines(tags, "AU")
    pages = _text.join_pages(first(tags, "BP"), first(tags, "EP")) or first(tags, "AR")
    keywords = _text.split_terms([_joined(tags, "DE"), _joined(tags, "ID")], ";")
    return Record(
        title=_text.clean_inline(_joined(tags, "TI")),
        abstract=_text.clean_abstract(first(tags, "AB")),
        authors=_text.names(_text.author_name(a) for a in authors),
        year=_text.parse_year(first(tags, "PY"), first(tags, "EA"), first(tags, "PD")),
        journal=_text.clean_inline(_joined(tags, "SO")),
        volume=first(tags, "VL"),
        issue=first(tags, "IS"),
        pages=pages,
        doi=normalise_doi(first(tags, "DI")),
        pmid=normalise_pmid(first(tags, "PM")),
        publication_types=_text.split_terms(_joined(tags, "DT"), ";"),
        keywords=keywords,
        mesh_terms=(),
        language=_text.language_name(first(tags, "LA")),
        raw=tags,
    )
