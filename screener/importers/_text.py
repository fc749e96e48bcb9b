"""Small text helpers shared by the format modules: HTML cleaning, years, pages, names.

Standard library only (plus screener.core). Must not import sqlalchemy, textual, click,
sklearn, or any parser library: the format modules own those. Every helper is linear in
the size of its input (no repeated string concatenation), so a 1 MB abstract or a record
with 100,000 authors stays fast.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from screener.core.records import written_type

_MARKUP = (
    # HTML as databases write it in titles and abstracts
    "a|abbr|b|big|blockquote|br|caption|cite|code|dd|del|dfn|div|dl|dt|em|font|h[1-6]|hr|i|"
    "img|ins|kbd|li|mark|ol|p|pre|q|s|samp|small|span|strike|strong|sub|sup|table|tbody|td|"
    "tfoot|th|thead|tr|tt|u|ul|var|wbr|"
    # JATS and Scopus (<inf> is Scopus's subscript), unprefixed
    "bold|italic|underline|overline|monospace|roman|sans-serif|sc|scp|inf|sec|title|label|"
    "list|list-item|xref|ext-link|named-content|styled-content|inline-formula|"
    "disp-formula|tex-math|alternatives|"
    # MathML, unprefixed
    "math|mi|mn|mo|ms|mtext|mrow|msub|msup|msubsup|mfrac|msqrt|mroot|mover|munder|"
    "munderover|mtable|mtr|mtd|mstyle|mspace|mfenced|semantics|annotation|"
    # any tag of a namespace such as jats: or mml:
    "[A-Za-z][A-Za-z0-9]*:[A-Za-z][A-Za-z0-9_.-]*")
MARKUP_TAG = re.compile(
    r"</?(?:" + _MARKUP + r")"
    r"(?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>=`]+))*\s*/?>",
    re.IGNORECASE)
"""A markup tag: a name HTML, JATS or MathML uses in bibliographic text (or any tag with
a namespace prefix), and attributes written `name=value`. Text such as 'ALT <ULN and
bilirubin >2 mg/dL' or 'x<y>z' is not markup and stays."""
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_PARAGRAPH = re.compile(r"\n\s*\n")
_LINEBREAK = re.compile(r"\s*\n\s*")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_RECORD_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x84\x86-\x9f]")
"""Control characters removed from a record's text: C0, DEL and C1 (U+0080-U+009F, which a
UTF-8 file may hold and a record's text never legitimately does: U+009B is a terminal's
CSI, as ESC [ is). Not the set a decision's note cannot hold
(`screener.workflow.screening.NOTE_CONTROLS`), on purpose: a record's whitespace controls
(tab, line break, form feed, carriage return, and U+0085, next line) are left to the
whitespace collapsing that follows, which makes spaces or paragraph breaks of them, where a
note keeps its tabs and line breaks and refuses the rest."""
_SCRIPT = re.compile(r"<((?:[A-Za-z][A-Za-z0-9]*:)?(?:su[pb]|inf))(?:\s[^<>]*)?>\s*(.{0,200}?)"
                     r"\s*</\1\s*>", re.IGNORECASE | re.DOTALL)
"""A superscript or subscript, JATS's too (<jats:sup>)."""
_SCRIPT_START = re.compile(r"<(?:[A-Za-z][A-Za-z0-9]*:)?(?:su[pb]|inf)\b", re.IGNORECASE)
_BLOCK = frozenset(
    "p br div li ul ol dl dt dd h1 h2 h3 h4 h5 h6 hr blockquote pre table caption tbody thead "
    "tfoot tr td th sec title label list list-item abstract trans-abstract disp-quote "
    "disp-formula def-list def-item term def fig table-wrap boxed-text statement".split())
"""Tags that end or begin a block of text (HTML's and JATS's, with or without a namespace
prefix such as jats:): each is a word boundary, unlike inline tags (<i>, <b>, <sup>...)."""
_TAG_NAME = re.compile(r"</?(?:[A-Za-z][A-Za-z0-9]*:)?([A-Za-z][A-Za-z0-9_.-]*)")


def _scripts(match: re.Match[str]) -> str:
    return ("^" if match.group(1).lower().endswith("sup") else "_") + match.group(2)


def _tag_gap(match: re.Match[str]) -> str:
    name = _TAG_NAME.match(match.group())
    return " " if name is not None and name.group(1).lower() in _BLOCK else ""


def _strip_tags(text: str) -> str:
    """Markup tags (`MARKUP_TAG`) removed, a block's tags (<p>, <br>, <jats:title>,
    <jats:sec>...) as a space, so 'Background' and the paragraph after it stay two words,
    inline tags (<i>, <b>, <sup>) as nothing; superscripts and subscripts (Scopus: <inf>,
    JATS: <jats:sup>) first written '^x' and '_x', so '10<sup>18</sup>' stays the number
    10^18 (not 1018) and 'T<sub>MTTF</sub>' T_MTTF."""
    if _SCRIPT_START.search(text):
        text = _SCRIPT.sub(_scripts, text)
    return MARKUP_TAG.sub(_tag_gap, text)


_TWICE_ESCAPED = re.compile(r"&amp;(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
"""An entity escaped twice ('&amp;lt;', '&amp;#946;'), as some exports write them."""


def _unescape(text: str) -> str:
    """HTML entities unescaped; one escaped twice ('p &amp;lt; 0.05') once more, but only
    where the first unescaping leaves an entity ('AT&amp;T' is 'AT&T', and '&amp;amp;' is
    '&', the '&' escaped twice)."""
    if "&amp;" in text:
        text = _TWICE_ESCAPED.sub(_once_more, text)
    return html.unescape(text)


def _once_more(match: re.Match[str]) -> str:
    entity = "&" + match.group(1)
    return entity if html.unescape(entity) != entity else match.group()


def composed(text: str) -> str:
    """`text` in Unicode normal form C: an accented letter as one character ('é', not 'e'
    and a combining accent), as most databases write it. Exports from macOS tools write NFD,
    whose records then did not compare, search or rank alike with the same text in NFC.
    Zero-width spaces, word joiners and zero-width no-break spaces (a byte-order mark
    inside the text; not one that begins a line, which marks where a joined file starts)
    are removed: invisible, they split a word for search and ranking ('Keta\u200bmine').
    (Zero-width joiners and non-joiners stay: they are part of Persian and Indic spelling
    and of emoji.) The text itself when there is nothing to do (the common case; no copy)."""
    if text.isascii():
        return text
    if "\u200b" in text or "\u2060" in text or "\ufeff" in text:
        text = _INVISIBLE.sub("", text)
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


_INVISIBLE = re.compile("[\u200b\u2060]|(?<!\n)\ufeff")


def iter_lines(text: str, chunk: int = 1 << 20) -> Iterator[str]:
    """Exactly `text.split("\n")`, produced a megabyte at a time (no list of all lines)."""
    start = 0
    while True:
        end = text.find("\n", start + chunk)
        if end < 0:
            yield from text[start:].split("\n")
            return
        yield from text[start:end].split("\n")
        start = end + 1


def _is_clean(text: str) -> bool:
    """Already one clean line: nothing to strip, unescape or collapse (the common case)."""
    return (
        text.isprintable() and "<" not in text and "&" not in text and "  " not in text
        and text[:1] != " " and text[-1:] != " "
    )


def clean_inline(value: object) -> str:
    """Text on one line: HTML tags removed, entities unescaped, whitespace collapsed."""
    if type(value) is str:
        text = value
    elif value is None:
        return ""
    else:
        text = str(value)
    if _is_clean(text):
        return text  # the same object: no second copy of the text in memory
    if "<" in text:
        text = _strip_tags(text)
    if "&" in text:
        text = _unescape(text)
    text = _RECORD_CONTROLS.sub("", text)
    return " ".join(text.split())


def clean_paragraphs(value: object) -> str:
    """Like `clean_inline` but keeps blank-line paragraph breaks ('\\n\\n'); a JATS section
    title (<jats:title>Background</jats:title>, <title>) begins a paragraph
    'Background: ...', as PubMed's labelled sections read (`_section_titles`)."""
    if value is None:
        return ""
    text = str(value)
    if _is_clean(text):
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    titled = "<" in text and _HEADING not in text and _TITLE.search(text) is not None
    if titled:
        text = _TITLE.sub(_title_paragraph, text)
    if "<" in text:
        text = _strip_tags(text)
    if "&" in text:
        text = _unescape(text)
    text = _RECORD_CONTROLS.sub("", text)
    parts: Iterable[str] = (" ".join(p.split()) for p in _PARAGRAPH.split(text))
    if titled:
        parts = _section_titles(parts)
    return "\n\n".join(p for p in parts if p)


_TITLE = re.compile(r"<((?:[A-Za-z][A-Za-z0-9]*:)?title)(?:\s[^<>]*)?>(.{0,500}?)</\1\s*>",
                    re.IGNORECASE | re.DOTALL)
"""A JATS section title (<jats:title>, <title>), as Crossref, Scopus and publishers write a
structured abstract's headings."""
_HEADING = "\ue000"
"""Marks where a section title ends while its text is cleaned (a private-use character: text
that holds one is left as before)."""


def _title_paragraph(match: re.Match[str]) -> str:
    return f"\n\n{match.group(2).strip().rstrip(':').strip()}{_HEADING} "


def _section_titles(parts: Iterable[str]) -> Iterator[str]:
    """Paragraphs that begin with a section title read 'Title: text', as PubMed's labelled
    sections do ('BACKGROUND: text'); a title with no text of its own (the heading of the
    sections that follow) is a line of its own, and one that says only 'Abstract' (the
    field is the abstract; PubMed has no such label) is dropped."""
    for part in parts:
        title, mark, body = part.partition(_HEADING)
        if not mark:
            yield part
        elif body.strip():
            yield f"{title}: {body.strip()}" if title else body.strip()
        elif title.casefold() != "abstract":
            yield title


_SECTION = re.compile(r"([.?!])\s+(?=[A-Z][A-Z ,/&()-]{2,40}:\s)")


def clean_abstract(value: object) -> str:
    """`clean_paragraphs`, and a one-paragraph structured abstract ('BACKGROUND: ... METHODS:
    ...') split into one 'LABEL: text' paragraph per section."""
    text = clean_paragraphs(value)
    if "\n\n" in text or ":" not in text:
        return text
    return _SECTION.sub("\\1\n\n", text)


def parse_year(*values: object) -> int | None:
    """The first plausible 4-digit year (1500-2099) found in the values, else None."""
    for value in values:
        if value is None:
            continue
        match = _YEAR.search(str(value))
        if match:
            return int(match.group(1))
    return None


_CITED_REFERENCE = re.compile(r"\((?:1[89]|20)\d\d[a-z]?\)\.")


def numbering(value: object) -> str:
    """A volume, issue or page value cleaned like `clean_inline`; a literal 'nan' (how
    pandas writes an empty cell, seen in ASReview's RIS exports: 'IS  - nan') is missing,
    and so is a cited reference ('Achenbach, T. (1991). Child Behavior Checklist...', the
    issue of a Zotero export of Ovid PsycINFO records, whose M1 lines hold the references)."""
    text = clean_inline(value)
    if text.lower() == "nan" or (len(text) > 40 and _CITED_REFERENCE.search(text)):
        return ""
    return text


def join_pages(start: object, end: object = "") -> str:
    """'45' + '67' -> '45-67'; keeps a range already in `start`; drops 'n/a'-like values
    (and pandas' 'nan')."""
    first = numbering(start)
    last = numbering(end)
    if first.lower() in {"no", "n/a", "na", "-"}:
        first = ""
    if last.lower() in {"specified", "n/a", "na", "-"}:
        last = ""
    if first and last and last != first and "-" not in first:
        return f"{first}-{last}"
    return first or last


def names(values: Iterable[str]) -> tuple[str, ...]:
    """Non-empty values, stripped, in order and all kept: an author list as exported (two
    people of one name, 'Wang, J.' twice, are two authors)."""
    return tuple(filter(None, map(str.strip, values)))


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """Non-empty values, stripped, first occurrence kept, order preserved."""
    kept = dict.fromkeys(map(str.strip, values))  # C loops only: no generator per item
    kept.pop("", None)
    return tuple(kept)


@functools.lru_cache(maxsize=16)
def _splitter(separators: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(separators) + "\n]")


def split_terms(values: Iterable[str] | str, separators: str = ";") -> tuple[str, ...]:
    """Split keyword-like fields on any of `separators` (and newlines); clean and de-duplicate."""
    if isinstance(values, str):
        values = [values]
    pattern = _splitter(separators)
    pieces: list[str] = []
    for value in values:
        if "\n" in value or any(sep in value for sep in separators):
            pieces.extend(map(clean_inline, pattern.split(value)))
        else:
            pieces.append(clean_inline(value))
    return unique(pieces)


_INITIALS_LAST = re.compile(r"^(?P<family>[^,]+?)\s+(?P<initials>(?:[A-Z]\.?-?\s?){1,4})$")
_INITIALS_FIRST = re.compile(
    r"^(?P<initials>(?:[A-Z]\.\s?-?\s?){1,4})\s*(?P<family>[^,.-][^,.]+)$")
_HYPHEN = re.compile(r"\s*-\s*")


def letter_case(text: str) -> str:
    """`text` with each capital letter of any script as "A" and each other letter as "a",
    character for character: the initials patterns, written for [A-Z], then match the
    capitals of "Ünal Ö." and "Østergaard L." too (Python's re has no \\p{Lu})."""
    if text.isascii():
        return text
    return "".join("A" if ch.isupper() else "a" if ch.isalpha() else ch for ch in text)


def _groups(pattern: re.Pattern[str], text: str) -> dict[str, str] | None:
    """`pattern`'s named groups in `text`, matched on `letter_case(text)`."""
    match = pattern.match(letter_case(text))
    if match is None:
        return None
    return {name: text[match.start(name):match.end(name)] for name in pattern.groupindex}


def author_name(value: str) -> str:
    """One author as 'Family, Given' where the text allows ('Liu R.' -> 'Liu, R.',
    'Ünal Ö.' -> 'Ünal, Ö.')."""
    name = clean_inline(value).strip(" ;,")
    if not name or "," in name:
        return name
    match = _groups(_INITIALS_LAST, name)
    if match:
        return f"{match['family']}, {match['initials'].strip()}"
    match = _groups(_INITIALS_FIRST, name)
    if match:  # IEEE writes 'J. -P. Nominé': 'Nominé, J.-P.'
        return f"{match['family']}, {_HYPHEN.sub('-', match['initials'].strip())}"
    return name


_INITIALS_TAIL = re.compile(r"\s(?:[A-Z]\.?-?){1,4}$")
"""Initials ending an author ("Smith J.", "Ünal Ö." once `letter_case`d)."""


def split_authors(value: str) -> tuple[str, ...]:
    """Split an author list cell: ';' first, else ', ' when every part is 'Family I.'."""
    text = clean_inline(value)
    if not text:
        return ()
    if ";" in text:
        parts = text.split(";")
    elif " and " in text and "," not in text:
        parts = text.split(" and ")
    else:
        candidates = text.split(",")
        if len(candidates) > 1 and all(_INITIALS_TAIL.search(letter_case(p.strip()))
                                       for p in candidates):
            parts = candidates
        else:
            parts = [text]
    return tuple(a for a in (author_name(p) for p in parts) if a)


LANGUAGES = {
    "eng": "English", "en": "English", "ger": "German", "deu": "German", "de": "German",
    "fre": "French", "fra": "French", "fr": "French", "spa": "Spanish", "es": "Spanish",
    "ita": "Italian", "it": "Italian", "por": "Portuguese", "pt": "Portuguese",
    "dut": "Dutch", "nld": "Dutch", "nl": "Dutch", "chi": "Chinese", "zho": "Chinese",
    "zh": "Chinese", "jpn": "Japanese", "ja": "Japanese", "rus": "Russian", "ru": "Russian",
    "pol": "Polish", "pl": "Polish", "kor": "Korean", "ko": "Korean", "tur": "Turkish",
    "swe": "Swedish", "dan": "Danish", "nor": "Norwegian", "fin": "Finnish", "cze": "Czech",
    "ces": "Czech", "hun": "Hungarian", "gre": "Greek", "ell": "Greek", "heb": "Hebrew",
    "ara": "Arabic", "per": "Persian", "fas": "Persian", "ukr": "Ukrainian", "hrv": "Croatian",
    "slv": "Slovenian", "slo": "Slovak", "slk": "Slovak", "rum": "Romanian", "ron": "Romanian",
    "bul": "Bulgarian", "srp": "Serbian", "lit": "Lithuanian", "lav": "Latvian",
    "est": "Estonian", "ice": "Icelandic", "isl": "Icelandic", "tha": "Thai",
    "vie": "Vietnamese", "ind": "Indonesian", "may": "Malay", "msa": "Malay", "afr": "Afrikaans",
    "cat": "Catalan", "und": "", "mul": "Multiple",
}


def language_name(value: object) -> str:
    """'eng' -> 'English'; names are kept as written (first of several)."""
    text = clean_inline(value)
    if not text:
        return ""
    first = re.split(r"[;,]", text)[0].strip()
    name = LANGUAGES.get(first.lower(), first)
    return name[:1].upper() + name[1:] if name.islower() else name


class WarningLog:
    """Collects import warnings, keeping at most `limit` and counting the rest."""

    def __init__(self, limit: int = 50) -> None:
        self.limit = limit
        self.messages: list[str] = []
        self.dropped = 0

    def __call__(self, message: str) -> None:
        if len(self.messages) < self.limit:
            self.messages.append(message)
        else:
            self.dropped += 1

    def result(self) -> list[str]:
        if self.dropped:
            return [*self.messages, f"... and {self.dropped} more warnings of the same kinds."]
        return list(self.messages)


Warn = Callable[[str], None]
"""A callback that receives one warning sentence."""


def warn_dropped(warn: Warn, where: str, *, year: tuple[str, str, int | None] | None = None,
                 doi: tuple[str, str, str] | None = None,
                 pmid: tuple[str, str, str] | None = None) -> None:
    """Warn of a year, DOI or PMID field the file filled that gave the record none (the
    value is dropped, the record kept): `year` is (field name, text given, year read), `doi`
    and `pmid` (field name, text given, id read); `where` names the record ("Row 3 (line
    4)")."""
    if year is not None and year[1].strip() and year[2] is None:
        warn(f"{where}: {year[0]} {year[1].strip()[:40]!r} is not a year (four digits, "
             "1500-2099); the record is kept without a year.")
    if doi is not None and doi[1].strip() and not doi[2]:
        warn(f"{where}: {doi[0]} {doi[1].strip()[:80]!r} is not a DOI (10.NNNN/...); the "
             "record is kept without one.")
    if pmid is not None and pmid[1].strip() and not pmid[2]:
        warn(f"{where}: {pmid[0]} {pmid[1].strip()[:40]!r} is not a PubMed id (1 to 9 digits, "
             "e.g. 'PMID: 123'); the record is kept without one.")


def no_warnings(message: str) -> None:
    """A `Warn` that discards."""


def types_beside(named: Sequence[str], given: Sequence[str], known: Collection[str],
                 journal: str) -> tuple[str, ...]:
    """A record's types from a format's one type (`named`: RIS's `TY`, BibTeX's entry type,
    as type names) and the types written beside it (`given`: RIS `M3`, BibTeX `pubtype`):
    `given` alone, in its order, when it includes `named` or `named` is the type `given` is
    written as (`written_type`: a letter is `JOUR`, `@article`; `known`, the type names the
    format has), else `named` then `given`. Without the second, a letter screener exported
    came back as "Journal Article; Letter"."""
    if given and (set(named) <= set(given)
                  or list(named) == [written_type(given, known, journal)]):
        return tuple(given)
    return unique([*named, *given])
