"""Bibliographic records and their identifiers (DOI, PMID).

Pure domain: standard library only. Every importer maps its format to `Record`;
storage returns `Record`; the UI and exports only ever see `Record`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

_DOI_PREFIX = re.compile(
    r"^\s*(?:(?:https?://)?(?:dx\.)?doi\.org/|doi:\s*|https?://(?:www\.)?doi\.org/)",
    re.IGNORECASE,
)
_DOI_SHAPE = re.compile(r"^10\.\d{3,9}/\S+$")
_PMID_SHAPE = re.compile(r"^\d{1,9}$")


def normalise_doi(value: str | None) -> str:
    """Return a DOI in lower case without URL or `doi:` prefix, or "" if it is not a DOI.

    >>> normalise_doi("https://doi.org/10.1000/ABC.1 ")
    '10.1000/abc.1'
    """
    if not value:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = _DOI_PREFIX.sub("", text).strip().rstrip(".").strip()
    # Some exports put several DOIs or trailing text in one field.
    text = text.split()[0] if text.split() else ""
    text = text.lower()
    return text if _DOI_SHAPE.match(text) else ""


def normalise_pmid(value: str | int | None) -> str:
    """Return a PubMed id as a string of digits, or "" when it is not one.

    Accepts forms such as "12345678", "PMID: 12345678", "12345678 [Indexed for MEDLINE]".
    """
    if value is None:
        return ""
    text = str(value).strip()
    match = re.search(r"(?<!\d)\d{1,9}(?!\d)", text)  # a longer number is no PMID: never cut
    if not match:
        return ""
    digits = match.group(0).lstrip("0")
    return digits if digits and _PMID_SHAPE.match(digits) else ""


_TYPED_PMID = re.compile(
    r"\s*(?:pmid\s*[:-]?\s*"
    r"|(?P<link>(?:https?://)?(?:www\.)?(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/))?"
    r"0*(?P<id>[1-9]\d{0,8})(?(link)/?)\s*",
    re.IGNORECASE | re.ASCII,
)


PMID_LIST_QUERY = "PMIDs: "
"""How the query of a source fetched by PMID (`import-ids`) begins: the PMIDs asked for
follow, separated by spaces; its reported count is how many distinct PMIDs were asked for."""


def typed_pmid(value: str) -> str:
    """The PubMed id a person wrote: "123", "PMID:123", "PMID: 123", "pmid 123", "PMID- 123"
    or a PubMed link ("https://pubmed.ncbi.nlm.nih.gov/123/"), as digits without leading
    zeros; "" when the text is not exactly one id ("12ab", "PMC123" or a 10-digit number is
    not cut down to one, unlike `normalise_pmid`).

    >>> typed_pmid("PMID: 0123"), typed_pmid("12ab")
    ('123', '')
    """
    match = _TYPED_PMID.fullmatch(value)
    return match.group("id") if match else ""


def key_paper_id(value: str) -> str:
    """A protocol's key paper as records carry it: a DOI normalised (`normalise_doi`), a
    PubMed id as digits ("PMID: 123" -> "123"); "" when it is neither.

    >>> key_paper_id("https://doi.org/10.1000/ABC"), key_paper_id("PMID: 0123")
    ('10.1000/abc', '123')
    """
    doi = normalise_doi(value)
    if doi:
        return doi
    return typed_pmid(str(value))


def key_paper_match(value: str) -> str:
    """A key paper as it is looked for among records: its `key_paper_id`, or as written
    when it is neither a DOI nor a PMID (then no record matches it, and status names it).

    >>> key_paper_match("PMID: 0123"), key_paper_match("Smith 2020")
    ('123', 'Smith 2020')
    """
    return key_paper_id(value) or value


RIS_TYPE_NAMES: dict[str, str] = {
    "JOUR": "Journal Article", "JFULL": "Journal", "EJOUR": "Electronic Article",
    "ABST": "Abstract", "BOOK": "Book", "EBOOK": "Electronic Book", "EDBOOK": "Edited Book",
    "CHAP": "Book Section", "ECHAP": "Electronic Book Section", "CONF": "Conference Proceedings",
    "CPAPER": "Conference Paper", "THES": "Thesis", "RPRT": "Report", "GEN": "Generic",
    "ELEC": "Web Page", "MGZN": "Magazine Article", "NEWS": "Newspaper Article",
    "PAT": "Patent", "UNPB": "Unpublished Work", "SER": "Serial", "DATA": "Dataset",
    "COMP": "Computer Program", "INPR": "In Press", "GOVDOC": "Government Document",
    "STAND": "Standard", "STAT": "Statute", "CASE": "Case", "HEAR": "Hearing", "BILL": "Bill",
    "ICOMM": "Internet Communication", "PCOMM": "Personal Communication", "GRANT": "Grant",
    "DICT": "Dictionary", "ENCYC": "Encyclopedia", "MANSCPT": "Manuscript", "MAP": "Map",
    "PAMP": "Pamphlet", "SLIDE": "Slide", "VIDEO": "Video", "SOUND": "Sound Recording",
    "ADVS": "Audiovisual Material", "ART": "Artwork", "BLOG": "Blog", "CHART": "Chart",
    "CTLG": "Catalog", "DBASE": "Database", "AGGR": "Aggregated Database", "MULTI": "Multimedia",
    "LEGAL": "Legal Rule", "MUSIC": "Music", "ANCIENT": "Ancient Text",
    "CLSWK": "Classical Work", "FIGURE": "Figure", "EQUA": "Equation",
}
"""RIS reference type codes (`TY`) and the type names records carry for them: read by the RIS
import, and the RIS export writes the code of a record's type from it."""


TYPE_SYNONYMS: dict[str, str] = {
    "Article": "Journal Article", "Chapter": "Book Section", "Book Chapter": "Book Section",
    "Conference Review": "Conference Proceedings", "Conference Abstract": "Abstract",
    "Meeting Abstract": "Abstract", "Proceedings Paper": "Conference Paper",
}
"""Type names databases write in their CSV and tagged exports (Scopus's and Springer's
"Chapter", "Book Chapter", "Conference Review"; Embase's "Conference Abstract"; Web of
Science's "Proceedings Paper", "Meeting Abstract") and the `RIS_TYPE_NAMES` name they stand
for: the RIS and BibTeX exports read a record's type through it (the record keeps the
source's name)."""


def written_type(types: Iterable[str], known: Collection[str], journal: str) -> str:
    """The type name a record of `types` is written as where a format gives it one type (RIS's
    `TY`, BibTeX's entry type): its first type (read through `TYPE_SYNONYMS`) that the
    format knows (`known`), "Generic" aside; else "Journal Article" for a record that names
    a `journal` (a row of no type that names one is almost always a journal article),
    "Generic" without. The RIS and BibTeX exports write it; their imports, finding it beside
    the types it was chosen from (RIS `M3`, BibTeX `pubtype`), add nothing for it, so a
    letter exported as `JOUR` comes back as the letter it was.

    >>> written_type(["Letter"], RIS_TYPE_NAMES.values(), "BMJ")
    'Journal Article'
    """
    for given in types:
        name = TYPE_SYNONYMS.get(given, given)  # Springer's "Chapter" is a book section
        if name in known and name != "Generic":
            return name
    return "Journal Article" if journal else "Generic"


BIBTEX_TYPE_NAMES: dict[str, str] = {
    "article": "Journal Article", "inproceedings": "Conference Paper",
    "conference": "Conference Paper", "proceedings": "Conference Proceedings",
    "book": "Book", "incollection": "Book Section", "inbook": "Book Section",
    "phdthesis": "Thesis", "mastersthesis": "Thesis", "thesis": "Thesis",
    "techreport": "Report", "report": "Report", "misc": "Generic", "online": "Web Page",
    "electronic": "Web Page", "unpublished": "Unpublished Work", "manual": "Manual",
    "booklet": "Booklet", "patent": "Patent", "dataset": "Dataset", "software": "Software",
}
"""BibTeX/BibLaTeX entry types and the type names records carry for them (the first entry
type of a name is the one the BibTeX export writes for it)."""


def _texts(value: object) -> Iterator[str]:
    """Every string in a record's `raw` fields (dicts and lists of them, nested)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)



ORIGINAL_TITLE = "_original_title"
"""The key of `Record.raw` under which an importer keeps the title in the language of
publication (MEDLINE `TT`, PubMed XML `VernacularTitle`) beside an English title."""

@dataclass(frozen=True, slots=True)
class Record:
    """One bibliographic record, as imported and as screened."""

    title: str = ""
    """Title text as published (HTML tags removed by the importer)."""
    abstract: str = ""
    """Abstract; structured abstracts keep their labelled sections as 'LABEL: text' paragraphs."""
    authors: tuple[str, ...] = ()
    """Authors in the source's order, each as 'Family, Given' where the source allows."""
    year: int | None = None
    """Publication year."""
    journal: str = ""
    """Journal or source title."""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    """Normalised DOI (see `normalise_doi`: lower case); `doi_as_written` has its case."""
    pmid: str = ""
    """PubMed id, digits only."""
    publication_types: tuple[str, ...] = ()
    """E.g. 'Journal Article', 'Randomized Controlled Trial', 'Review'."""
    keywords: tuple[str, ...] = ()
    mesh_terms: tuple[str, ...] = ()
    language: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The source's own fields, JSON-serialisable, kept for audit."""
    id: int | None = None
    """Database id, once stored."""
    source_id: int | None = None
    """Database id of the source (import or search) the record came from."""

    @property
    def doi_as_written(self) -> str:
        """The DOI with the case the source wrote it in ("10.1136/BMJ.m1234"), for display
        and export: `doi` is kept in lower case, as DOIs compare (deduplication, look-ups),
        and the source's own text stays in `raw`, where it is found (the first text that
        holds `doi` in any case); `doi` when it is not there (or "" without a DOI)."""
        if self.doi:
            for text in _texts(self.raw):
                lowered = text.lower()
                at = lowered.find(self.doi) if len(lowered) == len(text) else -1
                if at >= 0:
                    return text[at:at + len(self.doi)]
        return self.doi

    @property
    def original_title(self) -> str:
        """The title in the language the article was published in, when the record's
        title is another (PubMed gives non-English articles an English title and keeps the
        original in MEDLINE `TT`, PubMed XML `VernacularTitle`; biblatex writes it in
        `origtitle`): kept in `raw` under `ORIGINAL_TITLE` by the importers (a BibTeX
        record's own `origtitle` too), "" when there is none or it is the title."""
        for key in (ORIGINAL_TITLE, "origtitle"):
            value = self.raw.get(key)
            if isinstance(value, str) and value.strip() and value.strip() != self.title:
                return value.strip()
        return ""

    @property
    def first_author(self) -> str:
        return self.authors[0] if self.authors else ""

    @property
    def citation(self) -> str:
        """Journal citation as PubMed shows it: 'Journal. 2020;12(3):45-67.'"""
        parts = []
        if self.journal:
            parts.append(self.journal.rstrip("."))
        tail = ""
        if self.year:
            tail += str(self.year)
        if self.volume:
            tail += f";{self.volume}"
            if self.issue:
                tail += f"({self.issue})"
        elif self.issue:
            tail += f";({self.issue})"
        if self.pages:
            tail += f":{self.pages}"
        if tail:
            parts.append(tail)
        return ". ".join(parts) + ("." if parts else "")

    def metadata_score(self) -> int:
        """How much metadata the record carries (used to choose the kept record of duplicates)."""
        score = 0
        for value in (self.title, self.abstract, self.journal, self.volume, self.issue,
                      self.pages, self.doi, self.pmid, self.language):
            score += 1 if value else 0
        score += 1 if self.year else 0
        score += 1 if self.authors else 0
        score += 1 if self.keywords else 0
        score += 1 if self.mesh_terms else 0
        score += 1 if self.publication_types else 0
        score += min(len(self.abstract) // 500, 3)
        return score
