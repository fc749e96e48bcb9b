"""What dedup compares of each record: normalised titles, first-author surnames, and the
traits that keep records apart (notice, conference, preprint, volume and part numbers,
numbers in the title). Split from `screener.importers.dedup`, which judges pairs of these.

Imports: standard library, `screener.core` and `_text` (its markup tags) only.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass

from screener.core.latin import latin_letter
from screener.core.records import Record
from screener.importers._text import MARKUP_TAG, letter_case

# --------------------------------------------------------------------------- normalising

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NOT_A_Z = re.compile(r"[^0-9a-z]")
_SPACES = re.compile(r"\s+")
_GREEK_NAMES = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
    "sigma sigma tau upsilon phi chi psi omega"
).split()
_GREEK = str.maketrans(
    {chr(0x03B1 + k): name for k, name in enumerate(_GREEK_NAMES)}  # α..ω, final ς included
    | {chr(0x0391 + k): name for k, name in enumerate(_GREEK_NAMES) if k != 17}  # Α..Ω
)
"""Greek letters (after NFKD, which makes the micro sign µ a mu and takes off accents) as
their names, so 'TNF-α' reads as 'TNF-alpha' does, the way Web of Science spells them."""


def normalise_title(text: str) -> str:
    """Return a title in a form that compares equal across databases and exports.

    Unescapes HTML entities (twice, for double-escaped exports), removes HTML tags, folds
    Unicode compatibility forms and accents (NFKD without combining marks), spells out
    Greek letters ("β" -> "beta") unless the title has Greek words, lower-cases (case
    folding),
    turns "&" into "and", replaces punctuation by spaces and collapses white space (so
    trailing periods and brackets disappear). Latin letters are kept as a-z (the Turkish
    dotless 'ı' as 'i', 'ø' as 'o', 'ł' as 'l', 'æ' as 'ae': `latin_letter`; others, such as
    the phonetic 'ɛ', separate words); letters and digits of other scripts are kept (a Greek, Russian,
    Arabic, Chinese... word stays that word, Japanese kana keep their voiced marks), and
    the spaces between characters of scripts written without spaces (Chinese, Japanese,
    Thai...) are dropped, so a title segmented into words matches the unsegmented one.

    >>> normalise_title("  Caf&eacute; &amp; <i>Na&iuml;ve</i> T-cells.  ")
    'cafe and naive t cells'
    >>> normalise_title("氯胺酮 治疗 抑郁症")
    '氯胺酮治疗抑郁症'
    """
    if not text:
        return ""
    value = html.unescape(html.unescape(text)) if "&" in text else text
    if "<" in value:
        value = MARKUP_TAG.sub(" ", value)
    if value.isascii():
        value = value.casefold().replace("&", " and ")
        value = _NON_ALNUM.sub(" ", value)
        return _SPACES.sub(" ", value).strip()
    value = unicodedata.normalize("NFKD", value)
    value = "".join(ch for ch in value if not unicodedata.combining(ch) or ch in _KANA_MARKS)
    value = value.replace("ß", "ss")
    if not any(len(run) >= 3 for run in _GREEK_RUN.findall(value)):
        value = value.translate(_GREEK)
    value = value.casefold().replace("&", " and ")
    value = _NOT_A_Z.sub(_letter_or_space, value)
    value = _SPACES.sub(" ", value).strip()
    if not value.isascii():
        value = _SPACE_BETWEEN.sub("", unicodedata.normalize("NFC", value))
    return value


_KANA_MARKS = "\u3099\u309a"
"""Japanese voiced sound marks, which NFKD splits off kana: 'が' is not 'か'."""
_GREEK_RUN = re.compile("[\u0391-\u03a9\u03b1-\u03c9]+")
"""Greek letters in a row: a title with a Greek word of three letters or more is written
in Greek and keeps its letters (a Latin title's 'TNF-α', 'γδ T cells' spell them out)."""


_SPACELESS = ("\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff"
              "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f")
"""Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, Japanese kana,
Chinese (Han) characters."""
_SPACE_BETWEEN = re.compile(f"(?<=[{_SPACELESS}]) (?=[{_SPACELESS}])")
_SPACELESS_CHAR = re.compile(f"[{_SPACELESS}]")
_SPACELESS_RUN = re.compile(f"[{_SPACELESS}]+")
_SPACELESS_OR_NOT = re.compile(f"[{_SPACELESS}]|[^{_SPACELESS}]+")


@functools.lru_cache(maxsize=4096)
def _letter_or_space_of(ch: str) -> str:
    if ch.isascii():
        return " "
    if ch in _KANA_MARKS:
        return ch
    kind = unicodedata.category(ch)
    if kind == "Nd":
        return str(unicodedata.digit(ch))
    if (spelled := latin_letter(ch)) is not None:  # 'ı' 'i', 'ø' 'o', 'æ' 'ae'
        return spelled
    if kind[0] not in "LMN" or unicodedata.name(ch, "").startswith(_NOT_KEPT):
        return " "
    return ch


_NOT_KEPT = ("LATIN", "COMBINING", "MODIFIER")
"""Latin letters other than a-z that have no a-z spelling (phonetic signs such as 'ɛ'; 'ø'
is 'o', `latin_letter`), marks that belong to no script and modifier letters ('ʼ' as an
apostrophe) separate words, as punctuation does."""


def _letter_or_space(found: re.Match[str]) -> str:
    return _letter_or_space_of(found.group())


def title_words(title: str) -> list[str]:
    """The words of a normalised title, each character of a run written without spaces
    (Chinese, Japanese) counted as a word: what `_words_differ` compares."""
    if title.isascii():
        return title.split()
    return [piece for word in title.split() for piece in _SPACELESS_OR_NOT.findall(word)]


def title_script(title: str) -> str:
    """The script most letters of a normalised title are written in: 'LATIN', 'CJK'
    (Chinese and Japanese), 'HANGUL', 'CYRILLIC', 'GREEK', 'ARABIC', 'HEBREW'..."""
    if title.isascii():
        return "LATIN"
    counts: dict[str, int] = {}
    for ch in title:
        if ch.isalpha():
            script = "LATIN" if ch.isascii() else unicodedata.name(ch, "?").split()[0]
            script = "CJK" if script in ("HIRAGANA", "KATAKANA") else script
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else ""


def spaceless_length(title: str) -> int:
    """How many characters of a normalised title are of scripts written without spaces."""
    return 0 if title.isascii() else len(_SPACELESS_CHAR.findall(title))


_GENERIC_TITLES = frozenset(
    normalise_title(t)
    for t in (
        "Editorial", "Guest editorial", "Editorial comment", "Editor's note", "Editorial note",
        "Reply", "In reply", "Author's reply", "Authors' reply", "The authors reply",
        "Reply to the editor", "Reply to letter", "Response", "Authors' response",
        "Response to letter", "Letter", "Letter to the editor", "Letters", "Comment",
        "Commentary", "Invited commentary", "Erratum", "Errata", "Correction", "Corrections",
        "Corrigendum", "Retraction", "Retraction notice", "Notice of retraction",
        "Expression of concern", "Introduction", "Preface", "Foreword", "Abstracts",
        "Conference abstracts", "Meeting abstracts", "Poster abstracts", "News",
        "Book review", "Book reviews", "In brief", "In this issue", "Untitled", "Index",
        "Acknowledgements", "Acknowledgments", "Reviewers", "Contents", "Table of contents",
        "Obituary", "Announcement", "Announcements", "Discussion", "Summary", "Abstract",
        "Case report", "Letter to editor", "Re", "Comments", "Proceedings",
    )
)
_GENERIC_PREFIXES = ("erratum", "correction to", "corrigendum", "retraction", "reply to",
                     "response to letter", "response to the letter", "response to comment",
                     "response to the comment", "response to the editor", "comment on",
                     "in reply", "errata")
_REPLY = re.compile(r"^\W*(?:re|response(?:\s+to)?|reply(?:\s+to)?)\s*:", re.IGNORECASE)
"""A reply's title: 'Re: <title>', 'Response to: ...' (not 'Re-operation ...', 'Response to
immune checkpoint inhibitors ...', which are papers' titles)."""
_RETRACTED = re.compile(r"^\W*retracted(?:\s+article)?\s*[:.\]]\s*", re.IGNORECASE)
"""'RETRACTED: ', 'RETRACTED ARTICLE: ', '[Retracted] ': the retracted article itself, as
its publisher now titles it (a retraction notice is another record, `_NOTICE_TITLE`)."""
_STOPWORDS = frozenset(
    "a an the of in on for and or to with by at from as is are be was were its their this "
    "that these those into than vs versus via after before during between among under over "
    "not no non".split()
)
_PREPRINT_SOURCES = ("medrxiv", "biorxiv", "arxiv", "research square", "ssrn", "preprints",
                     "chemrxiv", "psyarxiv", "osf preprints", "authorea", "scielo preprints",
                     "zenodo", "qeios")
_PREPRINT_DOI_PREFIXES = ("10.1101/", "10.21203/", "10.2139/", "10.20944/", "10.48550/",
                          "10.31234/", "10.26434/", "10.31219/", "10.22541/", "10.1590/scielopreprints")
_PREPRINT_DOI = re.compile(
    r"^10\.(?:1101/\d|21203/rs\.|2139/ssrn\.|20944/preprints|48550/arxiv\.|31234/|26434/"
    r"|31219/|22541/au\.|1590/scielopreprints)"
)
"""DOIs that only preprint servers issue: bioRxiv/medRxiv (10.1101/ then a digit; other
10.1101 DOIs are Cold Spring Harbor journals), Research Square, SSRN, Preprints.org, arXiv,
PsyArXiv, ChemRxiv, OSF, Authorea, SciELO Preprints."""
_INITIALS = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")


def _surname(author: str) -> str:
    """Family name of an author written as 'Smith, John', 'Smith J', 'J. Smith' or 'John Smith'.

    Returned as ASCII letters only, lower case, last word of the family name (so particles
    like 'van der' do not matter).
    """
    text = author.strip()
    if not text:
        return ""
    if "," in text:
        family = text.split(",", 1)[0]
    else:
        words = text.replace(".", ". ").split()
        initials = [bool(_INITIALS.match(letter_case(w))) for w in (words[0], words[-1])]
        if len(words) > 1 and initials[1] and not initials[0]:
            last = len(words) - 1
            while last > 1 and _INITIALS.match(letter_case(words[last - 1])):
                last -= 1  # "Smith J. A.", as "Smith J.A." is split
            family = " ".join(words[:last])  # "Smith J", "Smith JA"
        else:
            family = words[-1]  # "John Smith", "J. Smith", "J.A. Smith"
    parts = normalise_title(family.replace("-", "")).split()
    return parts[-1] if parts else ""


def is_preprint(record: Record) -> bool:
    """A preprint: a preprint server's name as the journal (medRxiv, bioRxiv, SSRN, Research
    Square, arXiv, ...), a preprint server's DOI, or 'preprint' as a publication type."""
    return _is_preprint(record)


def _is_preprint(record: Record) -> bool:
    journal = normalise_title(record.journal)
    if any(src in journal for src in _PREPRINT_SOURCES):
        return True
    if record.doi.startswith(_PREPRINT_DOI_PREFIXES):
        return True
    return any("preprint" in t.lower() for t in record.publication_types)


# --------------------------------------------------------------------------- features


@dataclass(slots=True)
class _Feat:
    title: str
    ntok: int
    generic: bool
    year: int | None
    surname: str
    journal: str
    abstract: str
    doi: str
    pmid: str
    preprint: bool
    volume: str
    pages: str
    numbers: frozenset[str]
    """Numbers in the title (digits, and roman numerals i-xii as in 'part II')."""
    core: str
    """The title without its parts in brackets ('(JCS 2008)', '[Article in German]'), which
    databases drop or add, normalised: what `_words_differ` compares."""
    notice: str
    """What notice the record is, "" for none: "retraction" (or withdrawal), "correction"
    (erratum, corrigendum, addendum), "concern" (expression of concern), by title or
    publication type. A notice often carries its article's DOI, title and authors, and
    notices of different kinds on one article do too."""
    conference: bool
    """A conference abstract or paper (publication type, or a meeting/congress venue)."""
    meeting_abstract: bool
    """A meeting abstract printed in a journal: a conference or meeting abstract by type,
    or a supplement's volume or issue ('Suppl 2'), or an abstract's page ('A123', 'S45')."""
    regular: bool
    """Pages or an issue that are a regular issue's (what a meeting abstract lacks)."""
    volume_no: str
    """The volume's first number ('6016 LNCS' -> '6016'), or ''."""
    part: str
    """The part number of a volume ('PART 1' in the issue, 'Part II' in the title), or ''."""


_PAGE_RANGE = re.compile(r"^([a-z]*)(\d+)\s*[-\u2013]+\s*\1?(\d+)$")


def full_pages(pages: str) -> str:
    """Pages with the end page written in full, lower case: MEDLINE's '840-51' and the
    journal's '840-851' compare equal ('e123-e130', 'S45-7' too)."""
    text = pages.strip().lower()
    found = _PAGE_RANGE.match(text)
    if not found:
        return text
    prefix, start, end = found.groups()
    if len(end) < len(start):
        end = start[: len(start) - len(end)] + end
    return f"{prefix}{start}-{prefix}{end}"


def _features(record: Record) -> _Feat:
    raw_title = _RETRACTED.sub("", record.title)
    title = normalise_title(raw_title)
    spaceless = spaceless_length(title)
    generic = (
        title in _GENERIC_TITLES
        or title.startswith(_GENERIC_PREFIXES)
        or bool(_REPLY.match(raw_title))
        or len(title) + 2 * spaceless < 12  # a Chinese character tells as much as 3 letters
    )
    return _Feat(
        title=title,
        # a word of Chinese or Japanese is one to three characters: two counted as a word
        ntok=len(title.split()) if not spaceless
        else len(title_words(title)) - spaceless + (spaceless + 1) // 2,
        generic=generic,
        year=record.year,
        surname=_surname(record.first_author),
        journal=normalise_title(record.journal),
        abstract=normalise_title(record.abstract[:400])[:300],
        doi=record.doi.strip().lower(),
        pmid=record.pmid.strip(),
        preprint=_is_preprint(record),
        volume=record.volume.strip().lower(),
        pages=full_pages(record.pages),
        numbers=_title_numbers(title),
        core=normalise_title(_BRACKETED.sub(" ", raw_title)) if "(" in raw_title
        or "[" in raw_title else title,
        notice=_is_notice(record),
        conference=_is_conference(record),
        meeting_abstract=_is_meeting_abstract(record),
        regular=bool(record.pages.strip() or record.issue.strip())
        and not _is_meeting_abstract(record),
        volume_no=_first_number(record.volume),
        part=_part(record),
    )


_NOTICE_TITLE = re.compile(
    r"^\W*(?:(?:retraction|withdrawal|erratum|errata|corrigendum|corrigenda|correction"
    r"|corrections|addendum)(?:\s+(?:note|notice|statement))?(?:\s+to\b|(?:\s+(?:of|for|on|in))?"
    r"\s*(?:[:.\-\u2013\[\]()\"'\u201c]|$))|(?:notice|note|statement)\s+of\s+"
    r"(?:retraction|concern|withdrawal)|(?:editorial\s+)?expression\s+of\s+concern"
    r"|(?:author|publisher)(?:'s|s')?\s+correction)",
    re.IGNORECASE,
)
"""Titles of notices: 'Retraction note: <title>', 'Erratum to "<title>"', 'Correction:
...', 'Erratum in: <title>', 'Corrections to the article <title>', 'Notice of retraction',
'(Editorial) Expression of concern: ...', 'Author correction: ...'. Not
'RETRACTED: <title>' (the retracted article itself) nor 'Correction of hallux valgus'."""
_NOTICE_TYPES = ("retraction of publication", "published erratum", "erratum", "correction",
                 "retraction notice", "expression of concern", "corrected and republished")
_CONFERENCE_TYPES = ("conference", "congress", "meeting abstract", "meeting report")
_CONFERENCE_VENUE = re.compile(r"\b(?:meeting|congress|conference|symposium|abstracts)\b")


_NOTICE_KINDS = (("concern", "concern"), ("retract", "retraction"), ("withdraw", "retraction"),
                 ("errat", "correction"), ("corrig", "correction"), ("correct", "correction"),
                 ("addend", "correction"))


def _is_notice(record: Record) -> str:
    """The kind of notice the record is (`_Feat.notice`), "" for none."""
    found = _NOTICE_TITLE.match(record.title)
    if found:
        text = found.group().lower()
    else:
        text = " ".join(t.strip().lower() for t in record.publication_types
                        if t.strip().lower() in _NOTICE_TYPES)
        if not text:
            return ""
    return next((kind for stem, kind in _NOTICE_KINDS if stem in text), "notice")


_MEETING_ABSTRACT_TYPES = ("conference abstract", "meeting abstract", "congress abstract")
_SUPPLEMENT = re.compile(r"\bsuppl", re.IGNORECASE)
_ABSTRACT_PAGE = re.compile(r"^[as]\d+\b", re.IGNORECASE)


def _is_meeting_abstract(record: Record) -> bool:
    """A meeting abstract in a journal (Embase's 'Conference Abstract', Web of Science's
    'Meeting Abstract'; 'Suppl' in the volume or issue; pages such as 'A123' or 'S45')."""
    if any(t.strip().lower() in _MEETING_ABSTRACT_TYPES for t in record.publication_types):
        return True
    if _SUPPLEMENT.search(record.volume) or _SUPPLEMENT.search(record.issue):
        return True
    return bool(_ABSTRACT_PAGE.match(record.pages.strip()))


def _is_conference(record: Record) -> bool:
    if any(any(w in t.lower() for w in _CONFERENCE_TYPES) for t in record.publication_types):
        return True
    return bool(_CONFERENCE_VENUE.search(record.journal.lower()))


_NUMBER = re.compile(r"\d+")
_PART = re.compile(r"\b(?:part|pt)\.?\s*(\d+|[ivx]{1,4}|[a-h])\b", re.IGNORECASE)
_ROMAN_VALUES = {r: str(k) for k, r in enumerate(
    "i ii iii iv v vi vii viii ix x xi xii".split(), start=1)}


def _first_number(value: str) -> str:
    found = _NUMBER.search(value) if value else None
    return found.group().lstrip("0") or "0" if found else ""


def _part(record: Record) -> str:
    """'PART 1' (Scopus puts a proceedings volume's part in the issue), 'Part II' or 'Pt. 2'
    in the title: '1', '2'... (roman numerals as digits), a letter as itself."""
    for text in (record.issue, record.title):
        found = _PART.search(text) if text else None
        if found:
            value = found.group(1).lower()
            return _ROMAN_VALUES.get(value, value)
    return ""


_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_ROMAN = frozenset(_ROMAN_VALUES)


def _title_numbers(title: str) -> frozenset[str]:
    return frozenset(t for t in title.split() if t.isdigit() or t in _ROMAN)


def keep_first(record: Record) -> tuple[bool, int]:
    """The order in which dedup prefers a copy to keep (smallest first; ties: lowest id): a
    copy titled as retracted ('RETRACTED: ...') first, so that screeners see the article was
    retracted, then the copy with the most metadata (`Record.metadata_score`)."""
    return (not _RETRACTED.match(record.title or ""), -record.metadata_score())
