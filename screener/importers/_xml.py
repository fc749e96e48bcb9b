"""Safe, streaming XML reading for the XML formats (PubMed XML, EndNote XML).

Entity declarations (billion laughs) and external entities are refused with
`ImportFailed`: any `<!ENTITY` is refused outright, and the prolog (XML declaration and
DOCTYPE, the only place where entities can be declared) is parsed by defusedxml. A DOCTYPE
that only names an external DTD, as PubMed's does, is accepted and never fetched. The body
is then streamed with the standard library's C-accelerated ElementTree (or entirely with
defusedxml when the prolog cannot be isolated), and each record element is cleared after
use, so memory stays flat. Imports defusedxml and screener.core only; must not import
sqlalchemy, textual, click, sklearn. ElementTree objects are handed to the format
module's mapper and never leave the importer package.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as StdET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from screener.importers.errors import ImportFailed

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)
_ROOT_START = re.compile(r"<[A-Za-z_:]")


def looks_like_xml(head: str) -> bool:
    return head.lstrip().startswith("<")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _forbidden(path: Path | None, exc: Exception) -> ImportFailed:
    return ImportFailed(
        f"the XML uses a forbidden construct ({type(exc).__name__})",
        file=path,
        hint="export the file again from the database; entity declarations and "
        "external references are refused for safety",
    )


def _prolog_is_safe(body: str, path: Path | None) -> bool:
    """Check everything before the root element (XML declaration, DOCTYPE) with defusedxml.

    Entity declarations and external entities can only be declared there. When the
    prolog passes, the body is parsed with the standard library's C-accelerated
    ElementTree, which never fetches an external DTD and rejects undeclared entities
    (about five times faster than defusedxml's pure-Python parser). False means the prolog
    could not be isolated (e.g. comments before the root): then defusedxml parses it all.
    Raises ImportFailed when defusedxml refuses the prolog.
    """
    match = _ROOT_START.search(body)
    if match is None:
        return False
    prolog = body[: match.start()]
    if "<!--" in prolog or "[" in prolog:
        return False  # comments or an internal DTD subset: let defusedxml read everything
    try:
        SafeET.fromstring(prolog + "<root/>")
    except defusedxml.DefusedXmlException as exc:
        raise _forbidden(path, exc) from exc
    except ParseError:
        return False
    return True


def iter_elements(text: str, tags: set[str], path: Path | None) -> Iterator[Element]:
    """Yield each complete element whose tag is in `tags`; it is cleared after the caller
    resumes. Raises ImportFailed for entity declarations and malformed XML."""
    entity = _ENTITY.search(text)
    if entity:
        raise ImportFailed(
            "the XML declares entities (<!ENTITY ...>), which are refused because they can "
            "expand without limit or read other files",
            file=path, line=_line_of(text, entity.start()),
            hint="export the file again from the database; bibliographic exports do not "
            "need entity declarations",
        )
    # The text is already decoded; re-encode as UTF-8 and say so in the declaration.
    body = _DECLARATION.sub('<?xml version="1.0" encoding="UTF-8"?>', text, count=1)
    fast = _prolog_is_safe(body, path)
    source = io.BytesIO(body.encode("utf-8", errors="replace"))
    iterparse = StdET.iterparse if fast else SafeET.iterparse
    count = 0
    try:
        for _, element in iterparse(source, events=("end",)):
            if element.tag in tags:
                count += 1
                yield element
                element.clear()  # an empty shell stays in the parent: memory stays flat
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise ImportFailed(
            f"the XML is not well-formed ({exc.msg if hasattr(exc, 'msg') else exc})",
            file=path, line=line, record=count + 1,
            hint="the file may be truncated or damaged; export it again",
        ) from exc
    except defusedxml.DefusedXmlException as exc:
        raise _forbidden(path, exc) from exc


_SCRIPTS = {"sup": "^", "sub": "_"}
_WRAPPED = re.compile(r"(?<=\S)[ \t]*\n[ \t]*\Z")
"""A line break (with its indentation) ending a text that has a character before it: the
file's, not the author's, when a superscript or subscript comes next (PubMed XML writes
'&#946;\\n<sub>2</sub>' for beta-2)."""


def text_of(element: Element | None) -> str:
    """All text inside the element (inline markup such as <i> flattened; a superscript or
    subscript written '^x' or '_x', so '10<sup>18</sup>' stays 10^18, not 1018). A line break
    between a character and a superscript or subscript goes ('β\\n<sub>2</sub>' is 'β_2');
    a space ('CO <sub>2</sub>', 'CO _2') or a blank line stays, as the author's."""
    if element is None:
        return ""
    if element.find(".//sup") is None and element.find(".//sub") is None:
        return "".join(element.itertext())
    parts: list[str] = []
    _gather(element, parts)
    return "".join(parts)


def _gather(element: Element, parts: list[str]) -> None:
    if element.text:
        parts.append(element.text)
    for child in element:
        if isinstance(child.tag, str):  # (not a comment or processing instruction)
            mark = _SCRIPTS.get(child.tag)
            if mark is not None:
                if parts:
                    parts[-1] = _WRAPPED.sub("", parts[-1])
                parts.append(mark)
            _gather(child, parts)
        if child.tail:
            parts.append(child.tail)


def to_json(element: Element, text_runs: frozenset[str] = frozenset()) -> Any:
    """An element as JSON-serialisable data: attributes as '@name', text as '#text',
    repeated children as lists, inline markup (and children named in `text_runs`, such as
    EndNote's <style>) flattened into text."""
    children = list(element)
    if not children:  # a leaf: most elements, so no itertext() here
        leaf = element.text or ""
        leaf = leaf.strip() if "  " not in leaf and "\n" not in leaf else " ".join(leaf.split())
        if not element.attrib:
            return leaf
        return {**{f"@{k}": v for k, v in element.attrib.items()}, "#text": leaf}
    has_text = bool(element.text and element.text.strip())
    runs_only = bool(children) and all(child.tag in text_runs for child in children)
    if not children or has_text or runs_only:
        text = " ".join(text_of(element).split())
        if not element.attrib:
            return text
        return {**{f"@{k}": v for k, v in element.attrib.items()}, "#text": text}
    out: dict[str, Any] = {f"@{k}": v for k, v in element.attrib.items()}
    for child in children:
        if not isinstance(child.tag, str):
            continue
        value = to_json(child, text_runs)
        if child.tag in out:
            existing = out[child.tag]
            if isinstance(existing, list):  # to_json never returns a list itself
                existing.append(value)
            else:
                out[child.tag] = [existing, value]
        else:
            out[child.tag] = value
    return out
