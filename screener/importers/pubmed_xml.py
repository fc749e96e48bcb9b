"""PubMed XML import (efetch / "Send to: File, XML": <PubmedArticleSet><PubmedArticle>...).

Parsed with defusedxml's ElementTree (see `_xml`): entity declarations are refused, PubMed's
own DOCTYPE line is accepted. Structured abstracts keep their labelled sections as
'LABEL: text' paragraphs; MeSH descriptors and publication types are kept. `to_record` is
public so other importer modules (e.g. a PubMed fetcher) can map elements the same way.
Imports defusedxml and screener.core only; must not import sqlalchemy, textual, click,
sklearn. Element objects never leave the importer package.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from screener.core.records import ORIGINAL_TITLE, Record, normalise_doi, normalise_pmid
from screener.importers import _text, _xml
from screener.importers.errors import ImportFailed

NAME = "pubmed_xml"

_ROOT = re.compile(r"<(?:PubmedArticleSet|PubmedArticle|PubmedBookArticle)[\s>]")
ARTICLE_TAGS = {"PubmedArticle", "PubmedBookArticle"}


def sniff(head: str) -> bool:
    """XML whose head names a PubmedArticleSet / PubmedArticle element."""
    return _xml.looks_like_xml(head) and bool(_ROOT.search(head))


def parse(text: str, path: Path | None = None) -> list[Record]:
    """All articles of a PubMed XML text."""
    return list(iter_records(text, path))


def iter_records(
    text: str, path: Path | None = None, warn: _text.Warn = _text.no_warnings
) -> Iterator[Record]:
    """Articles of a PubMed XML text, in file order."""
    for number, element in enumerate(_xml.iter_elements(text, ARTICLE_TAGS, path), start=1):
        try:
            record = to_record(element)
        except Exception as exc:
            raise ImportFailed(
                f"article could not be read ({type(exc).__name__}: {exc})",
                file=path, record=number,
                hint="check this article in the file or download it again",
            ) from exc
        if not record.title:
            warn(f"Article {number} (PMID {record.pmid or 'unknown'}) has no title.")
        yield record


def _texts(element: Element | None, path: str) -> list[str]:
    if element is None:
        return []
    return [_text.clean_inline(_xml.text_of(e)) for e in element.findall(path)]


def _first(element: Element | None, *paths: str) -> str:
    if element is None:
        return ""
    for path in paths:
        for found in element.findall(path):
            value = _text.clean_inline(_xml.text_of(found))
            if value:
                return value
    return ""


def abstract_text(abstract: Element | None) -> str:
    """Sections of <Abstract>, labelled ones as 'LABEL: text', joined as paragraphs."""
    if abstract is None:
        return ""
    paragraphs: list[str] = []
    for part in abstract.findall("AbstractText"):
        body = _text.clean_inline(_xml.text_of(part))
        label = (part.get("Label") or "").strip()
        if label and body:
            paragraphs.append(f"{label}: {body}")
        elif body:
            paragraphs.append(body)
    return "\n\n".join(paragraphs)


def _author(author: Element) -> str:
    collective = _first(author, "CollectiveName")
    if collective:
        return collective
    family = _first(author, "LastName")
    given = _first(author, "ForeName") or _first(author, "Initials")
    if family and given:
        return f"{family}, {given}"
    return family or given


def _year(article: Element | None, citation: Element | None) -> int | None:
    return _text.parse_year(
        _first(article, "Journal/JournalIssue/PubDate/Year"),
        _first(article, "Journal/JournalIssue/PubDate/MedlineDate"),
        _first(article, "ArticleDate/Year"),
        _first(citation, "DateCompleted/Year", "DateRevised/Year"),
    )


def _pages(article: Element | None) -> str:
    pages = _first(article, "Pagination/MedlinePgn")
    if pages:
        return pages
    return _text.join_pages(_first(article, "Pagination/StartPage"),
                            _first(article, "Pagination/EndPage"))


def _doi(element: Element, article: Element | None) -> str:
    candidates: list[str] = []
    if article is not None:
        candidates += [_xml.text_of(e) for e in article.findall("ELocationID")
                       if e.get("EIdType") == "doi"]
    candidates += [_xml.text_of(e) for e in element.findall("PubmedData/ArticleIdList/ArticleId")
                   if e.get("IdType") == "doi"]
    candidates += [_xml.text_of(e) for e in element.findall("BookDocument/ArticleIdList/ArticleId")
                   if e.get("IdType") == "doi"]
    for candidate in candidates:
        doi = normalise_doi(candidate)
        if doi:
            return doi
    return ""


_LEFT_OUT = frozenset({"ReferenceList", "InvestigatorList", "CommentsCorrectionsList"})
"""Long lists about other articles or people, left out of `raw` to keep it small."""


def raw_fields(element: Element) -> dict[str, Any]:
    """The article as JSON data (without the lists in `_LEFT_OUT`)."""
    raw: dict[str, Any] = {"_element": element.tag}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        for sub in [sub for sub in child if sub.tag in _LEFT_OUT]:
            child.remove(sub)
        raw[child.tag] = _xml.to_json(child)
    return raw


def to_record(element: Element) -> Record:
    """Map one <PubmedArticle> or <PubmedBookArticle> element to a `Record`."""
    citation = element.find("MedlineCitation")
    article = citation.find("Article") if citation is not None else None
    book = element.find("BookDocument")
    container = article if article is not None else book
    authors = (
        [_author(a) for a in container.findall("AuthorList/Author")] if container is not None else []
    )
    journal = _first(article, "Journal/Title", "Journal/ISOAbbreviation") or _first(
        citation, "MedlineJournalInfo/MedlineTA") or _first(book, "Book/BookTitle")
    abstract = container.find("Abstract") if container is not None else None
    raw = raw_fields(element)
    if _first(container, "ArticleTitle") and (original := _first(container, "VernacularTitle")):
        raw[ORIGINAL_TITLE] = original  # beside the English title (the card shows it)
    return Record(
        title=_first(container, "ArticleTitle", "VernacularTitle", "Book/BookTitle"),
        abstract=abstract_text(abstract),
        authors=_text.names(authors),
        year=_year(article, citation) or _text.parse_year(_first(book, "Book/PubDate/Year")),
        journal=journal,
        volume=_first(article, "Journal/JournalIssue/Volume"),
        issue=_first(article, "Journal/JournalIssue/Issue"),
        pages=_pages(article),
        doi=_doi(element, article),
        pmid=normalise_pmid(_first(citation, "PMID") or _first(book, "PMID")),
        publication_types=_text.unique(_texts(container, "PublicationTypeList/PublicationType")),
        keywords=_text.unique(_texts(citation, "KeywordList/Keyword")
                              + _texts(book, "KeywordList/Keyword")),
        mesh_terms=_text.unique(_texts(citation, "MeshHeadingList/MeshHeading/DescriptorName")),
        language=_text.language_name(_first(container, "Language")),
        raw=raw,
    )
