"""The ISSNs a record was imported with, read from its `raw` fields, whatever the format.

Every import keeps the source's own fields in `Record.raw` under the source's names; the
ISSNs are there under a different key in each format, and only there (`Record` has no
ISSN field). `issns` reads them for the exports (RIS `SN`, BibTeX `issn`/`eissn`):

- RIS (a record's first tag is `TY`): `SN`, then the first line of the first `N1` when
  that line is an ISSN and nothing else (EndNote's PubMed import puts the electronic ISSN
  there: "N1  - 1179-1926" followed by the authors' full names);
- BibTeX (`ENTRYTYPE`): `issn`, and `eissn` (electronic; Web of Science's BibTeX export
  and screener's own write it);
- MEDLINE / .nbib (`PMID` with `IS`): "IS  - 1234-5678 (Electronic)", each labelled;
- PubMed XML (`MedlineCitation`): Journal/ISSN (IssnType Print or Electronic) and
  MedlineJournalInfo/ISSNLinking;
- Web of Science, tagged or tab-delimited (`UT`): `SN` (print) and `EI` (electronic);
- EndNote XML (`ref-type`): `isbn`, which holds the ISSN of a journal article;
- tables (CSV, TSV, XLSX): columns named ISSN, eISSN, e-ISSN, pISSN, Print ISSN,
  Electronic ISSN or Online ISSN, in any case.

An ISSN is written NNNN-NNNC (C a digit or X), from a value that may omit the hyphen
(Scopus's CSV: "01928651") or write the X in lower case; a number inside a longer one (an
ISBN's "978-1-7281-2451-3" holds "7281-2451") is no ISSN, nor is one whose check digit C
fails (`valid_issn`): a mistyped ISSN ("1932-6208" for PLOS ONE's 1932-6203) is not
exported as one, as Zotero's import (`cleanISSN`) drops it and a journal look-up finds
nothing for it; the source's text stays in the record's raw fields. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

PRINT, ELECTRONIC, LINKING, UNSAID = "print", "electronic", "linking", ""
"""What a source says an ISSN is for (UNSAID: the source does not say)."""

_ORDER = {PRINT: 0, UNSAID: 0, LINKING: 1, ELECTRONIC: 2}
"""The print ISSN first, the electronic last: the linking ISSN (ISSN-L), where it differs
from the others, is the print one of a record that names the electronic one (PubMed)."""

_ISSN = re.compile(
    r"(?<![\w-])(\d{4})-?(\d{3}[\dXx])(?![\w-])"
    r"(?:\s*\((print|electronic|linking|online)\))?", re.IGNORECASE)
_LABELS = {"print": PRINT, "electronic": ELECTRONIC, "online": ELECTRONIC,
           "linking": LINKING}
_ONE_ISSN = re.compile(r"\d{4}-\d{3}[\dXx]")

_TABLE_COLUMNS = {"issn": UNSAID, "pissn": PRINT, "printissn": PRINT,
                  "eissn": ELECTRONIC, "electronicissn": ELECTRONIC, "onlineissn": ELECTRONIC}
"""Table column names (lower case, letters only) and what their ISSN is."""


def _strings(value: object) -> Iterator[str]:
    """The text of a raw value: a string, a list of them, PubMed XML's {'#text': ...}."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        yield from _strings(value.get("#text"))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def valid_issn(issn: str) -> bool:
    """Whether `issn` ("NNNN-NNNC") passes its check digit: the seven digits weighted 8 to
    2, plus C (X for 10), a multiple of 11 (ISO 3297).

    >>> valid_issn("1932-6203"), valid_issn("1932-6208"), valid_issn("1558-366X")
    (True, False, True)
    """
    digits = issn.replace("-", "").upper()
    total = sum(int(d) * (8 - i) for i, d in enumerate(digits[:7]))
    return (total + (10 if digits[7] == "X" else int(digits[7]))) % 11 == 0


def _found(value: object, kind: str = UNSAID) -> Iterator[tuple[str, str]]:
    """(ISSN, kind) for each ISSN in `value` that passes its check digit; a label after it
    ("(Electronic)") says its kind, else `kind`."""
    for text in _strings(value):
        for match in _ISSN.finditer(text):
            issn = f"{match.group(1)}-{match.group(2).upper()}"
            if valid_issn(issn):
                yield issn, _LABELS.get((match.group(3) or "").lower(), kind)


def _pubmed_xml(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    citation = raw.get("MedlineCitation")
    if not isinstance(citation, Mapping):
        return
    article = citation.get("Article")
    journal = article.get("Journal") if isinstance(article, Mapping) else None
    issn = journal.get("ISSN") if isinstance(journal, Mapping) else None
    for element in issn if isinstance(issn, list) else [issn]:
        kind = element.get("@IssnType", "") if isinstance(element, Mapping) else ""
        yield from _found(element, _LABELS.get(str(kind).lower(), UNSAID))
    info = citation.get("MedlineJournalInfo")
    if isinstance(info, Mapping):
        yield from _found(info.get("ISSNLinking"), LINKING)


def ris_note_issn(raw: Mapping[str, Any]) -> str:
    """The first line of a RIS record's first note when it is exactly an ISSN that passes
    its check digit (EndNote's PubMed import: the electronic ISSN), as written; else ''
    (a line that fails the check is a note, and stays one)."""
    if "TY" not in raw:
        return ""
    first = next(_strings(raw.get("N1")), "")
    line = first.strip().split("\n", 1)[0].strip()
    return line if _ONE_ISSN.fullmatch(line) and valid_issn(line) else ""


def _ris_note(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if line := ris_note_issn(raw):
        yield from _found(line, ELECTRONIC)


def _table(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for name, value in raw.items():
        kind = _TABLE_COLUMNS.get(re.sub(r"[^a-z]", "", str(name).lower()))
        if kind is not None:
            yield from _found(value, kind)


def _by_format(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(ISSN, kind) in the order the source gives them, by the raw fields' format."""
    if "TY" in raw:  # RIS
        yield from _found(raw.get("SN"))
        yield from _ris_note(raw)
    elif "ENTRYTYPE" in raw:  # BibTeX
        yield from _found(raw.get("issn"))
        yield from _found(raw.get("eissn"), ELECTRONIC)
    elif "MedlineCitation" in raw:  # PubMed XML
        yield from _pubmed_xml(raw)
    elif "UT" in raw:  # Web of Science (IS is the issue there)
        yield from _found(raw.get("SN"), PRINT)
        yield from _found(raw.get("EI"), ELECTRONIC)
    elif "PMID" in raw and "IS" in raw:  # MEDLINE
        yield from _found(raw.get("IS"))
    elif "ref-type" in raw:  # EndNote XML
        yield from _found(raw.get("isbn"))
    else:
        yield from _table(raw)


def labelled_issns(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(ISSN, kind) for each ISSN of a record's raw fields, once each (the first kind the
    source gives it, a said kind over UNSAID), the print ones first, then the linking,
    then the electronic ones, each in the source's order."""
    kinds: dict[str, str] = {}
    for issn, kind in _by_format(raw):
        if kinds.get(issn, UNSAID) == UNSAID:
            kinds[issn] = kind
    return sorted(kinds.items(), key=lambda item: _ORDER[item[1]])


_WRITTEN_LABELS = {PRINT: "Print", ELECTRONIC: "Electronic", LINKING: "Linking"}


def written_issns(raw: Mapping[str, Any]) -> list[str]:
    """`labelled_issns` as PubMed and EndNote write them, each with what the source said it
    is for: "1769-7212 (Print)", "1878-0849 (Electronic)", "0006-3231 (Linking)"; an ISSN
    the source said nothing about as it is. Read back by `labelled_issns` from any field
    it reads (a table's `issn` column, RIS `SN`).

    >>> written_issns({"PMID": "1", "IS": "1878-0849 (Electronic) 1769-7212 (Print)"})
    ['1769-7212 (Print)', '1878-0849 (Electronic)']
    """
    return [f"{issn} ({_WRITTEN_LABELS[kind]})" if kind in _WRITTEN_LABELS else issn
            for issn, kind in labelled_issns(raw)]


def issns(raw: Mapping[str, Any]) -> list[str]:
    """The ISSNs of a record's raw fields, each once, the print ones before the electronic.

    >>> issns({"PMID": "1", "IS": "1878-0849 (Electronic) 1769-7212 (Print)"})
    ['1769-7212', '1878-0849']
    """
    return [issn for issn, _ in labelled_issns(raw)]
