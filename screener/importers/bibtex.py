"""BibTeX / BibLaTeX import with bibtexparser 2 (LaTeX accents decoded, names split).

Entries that bibtexparser cannot parse stop the import with their line; entries with a
repeated key are kept (they are separate records) and reported as warnings. Imports
bibtexparser and screener.core only; must not import sqlalchemy, textual, click, sklearn.
bibtexparser's Library/Entry objects never leave this module.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bibtexparser.entrypoint import parse_string
from bibtexparser.middlewares import (
    LatexDecodingMiddleware,
    NormalizeFieldKeys,
    SeparateCoAuthors,
)
from bibtexparser.middlewares.names import parse_single_name_into_parts

from screener.core.records import BIBTEX_TYPE_NAMES, Record, normalise_doi, normalise_pmid
from screener.importers import _text
from screener.importers.errors import ImportFailed

NAME = "bibtex"

# bibtexparser logs parse problems; we report them as ImportFailed/warnings instead. A
# NullHandler keeps them off stderr unless the application configures logging.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())

_ENTRY = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
_LATEX_CHARS = re.compile(r"[\\{}$~]")
_BARE_SPECIAL = re.compile(r"(?<!\\)[%&]")
"""A `%` or `&` not escaped (see `_LatexDecoding`)."""
_TEXT_SYMBOLS = {"textbraceleft": "{", "textbraceright": "}", "textasciicircum": "^"}
"""LaTeX's text commands for characters a BibTeX value cannot hold as they are (screener's
BibTeX export writes unpaired braces and `^` so), read back as those characters."""

TYPE_NAMES = BIBTEX_TYPE_NAMES


class _LatexDecoding(LatexDecodingMiddleware):
    """bibtexparser's LaTeX decoder, skipped for values without LaTeX syntax (30x faster).

    A bare `%` (as most exports write "50%") is a per cent sign, not a LaTeX comment: the
    decoder would drop the rest of the line with it; a bare `&` ("Anxiety & depression") is
    an ampersand, not a table's column separator, which the decoder made spaces. Both are
    escaped first."""

    def _transform_python_value_string(self, python_string: str) -> tuple[str, str]:
        if not _LATEX_CHARS.search(python_string):
            return python_string, ""
        python_string = _BARE_SPECIAL.sub(r"\\\g<0>", python_string)
        # the decoder drops \textbraceleft and \textbraceright and reads \textasciicircum
        # as U+02C6: each is held as a private-use character through it, then put back
        held: dict[str, str] = {}
        for command, char in _TEXT_SYMBOLS.items():
            if command in python_string:
                mark = next(chr(c) for c in range(0xE000, 0xF8FF)
                            if chr(c) not in python_string and chr(c) not in held)
                python_string = re.sub(rf"\\{command}(?![A-Za-z])(\{{\}}| *)", mark,
                                       python_string)
                held[mark] = char
        result: tuple[str, str] = super()._transform_python_value_string(python_string)
        text = result[0]
        for mark, char in held.items():
            text = text.replace(mark, char)
        return text, result[1]


_DECODER = _LatexDecoding()


def sniff(head: str) -> bool:
    """A line starting with '@type{' (BibTeX entry)."""
    return bool(_ENTRY.search(head))


def parse(text: str, path: Path | None = None) -> list[Record]:
    """All entries of a BibTeX text."""
    return list(iter_records(text, path))


def iter_records(
    text: str, path: Path | None = None, warn: _text.Warn = _text.no_warnings
) -> Iterator[Record]:
    """Entries of a BibTeX text, in file order."""
    # Field names lower-cased first: `Author =` (Web of Science, JabRef) must be split
    # into names like `author =`. Names are split before LaTeX is decoded, so a braced group
    # ("{WHO Study Group}") stays one name; `_name` decodes each part.
    library = parse_string(text, append_middleware=_middlewares())
    number = 0
    for block in library.blocks:
        kind = type(block).__name__
        line = _line(block)  # (an entry parsed again on its own counts lines anew)
        if kind in {"DuplicateBlockKeyBlock", "MiddlewareErrorBlock"}:
            entry = getattr(block, "ignore_error_block", None)
            if kind == "DuplicateBlockKeyBlock" and entry is not None:
                entry = _alone(entry, library)
            warn(f"Entry '{getattr(block, 'key', '?')}' at line {line}: "
                 f"{getattr(block, 'error', '')}; "
                 "kept as its own record.")
        elif kind in {"ParsingFailedBlock", "DuplicateFieldKeyBlock"}:
            raise ImportFailed(
                f"the entry could not be parsed ({_reason(getattr(block, 'error', None))})",
                file=path, line=line, record=number + 1,
                hint="check the braces and quotes of this entry (the file may be truncated)",
            )
        elif kind == "Entry":
            entry = block
        else:
            continue  # comments, @string, @preamble
        if entry is None or type(entry).__name__ != "Entry":
            continue
        number += 1
        try:
            fields = _fields(entry)
            record = to_record(entry.entry_type, entry.key, fields)
        except Exception as exc:
            raise ImportFailed(
                f"entry could not be read ({type(exc).__name__}: {exc})",
                file=path, line=line, record=number,
                hint="check this entry in the file",
            ) from exc
        if not record.title:
            warn(f"Entry '{entry.key}' (line {line}) has no title.")
        _text.warn_dropped(warn, f"Entry '{entry.key}' (line {line})",
                           year=("year", _get(fields, "year"), record.year),
                           doi=("doi", _get(fields, "doi"), record.doi))
        yield record


def _middlewares() -> list[Any]:
    return [NormalizeFieldKeys(), SeparateCoAuthors(), _DECODER]


def _alone(entry: Any, library: Any) -> Any:
    """An entry whose key an earlier entry has, as bibtexparser gives it back: raw, before
    its middlewares (braces kept, authors in one string, LaTeX undecoded). Parsed again on
    its own, with the file's @string definitions, it is cleaned like every other entry."""
    if not getattr(entry, "raw", None):
        return entry
    strings = "\n".join(str(s.raw) for s in library.strings if getattr(s, "raw", None))
    again = parse_string(f"{strings}\n{entry.raw}", append_middleware=_middlewares())
    return again.entries[0] if len(again.entries) == 1 else entry


def _line(block: Any) -> int | None:
    start = getattr(block, "start_line", None)
    return start + 1 if isinstance(start, int) else None  # bibtexparser counts from 0


def _reason(error: object) -> str:
    text = str(getattr(error, "abort_reason", "") or getattr(error, "message", "") or error or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[:2]).rstrip(".") if lines else "syntax error"


def _fields(entry: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in entry.fields:
        value = field.value
        key = str(field.key).lower()
        if isinstance(value, list):
            out[key] = [str(v) for v in value]
        else:
            out[key] = str(value)
    return out


def _decode(latex: str) -> str:
    return _DECODER._transform_python_value_string(latex)[0]


def _name(value: str) -> str:
    """"Family, Given" from one BibTeX name (still LaTeX: braces group, accents coded)."""
    try:
        parts = parse_single_name_into_parts(value, strict=False)
    except Exception:
        return _text.clean_inline(_decode(value))
    family = _decode(" ".join([*parts.von, *parts.last]).strip())
    given = _decode(" ".join(parts.first).strip())
    if parts.jr:
        given = f"{given}, {_decode(' '.join(parts.jr))}".strip(", ")
    name = f"{family}, {given}" if family and given else family or given
    return _text.clean_inline(name)


def _get(fields: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = fields.get(key)
        if isinstance(value, list):
            value = " and ".join(value)
        if value and str(value).strip():
            return str(value)
    return ""


def _pmid(fields: dict[str, Any]) -> str:
    if fields.get("pmid"):
        return normalise_pmid(fields["pmid"])
    if str(fields.get("eprinttype", "")).lower() == "pubmed":
        return normalise_pmid(fields.get("eprint"))
    return ""


def _terms(value: str) -> tuple[str, ...]:
    """A list field split on ";" when it holds one (screener's export, JabRef, Zotero: a
    term may hold a comma, "Humans, Adult"), else on "," (arXiv, Mendeley, most others)."""
    return _text.split_terms(value, ";" if ";" in value else ",")


def _types(kind: str, pubtype: tuple[str, ...], journal: str) -> tuple[str, ...]:
    """The entry type's name, then the `pubtype` names (JabRef's PubMed import, screener's
    export); the `pubtype` names alone, in their order, when they include the entry type's
    or the entry type is the one they are written as (`_text.types_beside`: a letter's
    @article)."""
    return _text.types_beside([TYPE_NAMES.get(kind, kind)], pubtype, TYPE_NAMES.values(),
                              journal)


def to_record(entry_type: str, key: str, fields: dict[str, Any]) -> Record:
    """Map one BibTeX entry (type, key, decoded fields) to a `Record`."""
    authors = fields.get("author") or fields.get("editor") or []
    if isinstance(authors, str):
        authors = [authors]
    kind = entry_type.lower()
    doi = normalise_doi(_get(fields, "doi")) or normalise_doi(_get(fields, "url"))
    journal = _text.clean_inline(_get(fields, "journal", "journaltitle", "booktitle", "series",
                                      "publisher"))
    return Record(
        title=_text.clean_inline(_get(fields, "title")),
        abstract=_text.clean_abstract(_get(fields, "abstract")),
        authors=_text.names(_name(a) for a in authors),
        year=_text.parse_year(_get(fields, "year"), _get(fields, "date")),
        journal=journal,
        volume=_text.clean_inline(_get(fields, "volume")),
        issue=_text.clean_inline(_get(fields, "number", "issue")),
        pages=_text.clean_inline(_get(fields, "pages").replace("--", "-")),
        doi=doi,
        pmid=_pmid(fields),
        publication_types=_types(kind, _terms(_get(fields, "pubtype")), journal),
        keywords=_terms(_get(fields, "keywords", "keyword")),
        mesh_terms=_text.split_terms(_get(fields, "mesh", "mesh_terms"), ";"),
        language=_text.language_name(_get(fields, "language", "langid")),
        raw={"ENTRYTYPE": entry_type, "ID": key, **fields},
    )
