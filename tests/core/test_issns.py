"""The ISSNs read from each format's raw fields (screener.core.issns)."""

from __future__ import annotations

from screener.core.issns import (
    ELECTRONIC,
    PRINT,
    UNSAID,
    issns,
    labelled_issns,
    ris_note_issn,
)


def test_an_isbn_in_an_issn_field_is_no_issn() -> None:
    # RIS's SN holds a book's ISBN too: "978-1-7281-2451-3" holds the shape "7281-2451",
    # which the RIS export wrote as an ISSN
    assert issns({"TY": ["BOOK"], "SN": ["978-1-7281-2451-3"]}) == []
    assert issns({"TY": ["BOOK"], "SN": ["9781728124513"]}) == []


def test_issns_are_written_alike_each_once_print_first() -> None:
    # Scopus's CSV drops the hyphen, some RIS files write the x in lower case; Embase's
    # RIS labels the electronic one; ProQuest repeats one
    raw = {"TY": ["JOUR"], "SN": ["1747938x (electronic)", "0894-9867, 0894-9867"]}
    assert labelled_issns(raw) == [("0894-9867", UNSAID), ("1747-938X", ELECTRONIC)]
    assert labelled_issns({"Title": "x", "ISSN": "01928651"}) == [("0192-8651", UNSAID)]


def test_web_of_sciences_issue_is_no_issn_nor_a_ris_issue() -> None:
    # IS is MEDLINE's ISSN, but the issue in RIS and Web of Science
    assert issns({"UT": ["WOS:1"], "IS": ["1234-5678"], "SN": ["0006-2960"]}) == ["0006-2960"]
    assert issns({"TY": ["JOUR"], "IS": ["1234-5678"]}) == []
    assert labelled_issns({"PMID": "1", "IS": "0006-2960 (Print)"}) == [("0006-2960", PRINT)]


def test_a_number_whose_check_digit_fails_is_no_issn() -> None:
    # an ISSN's last character checks the other seven (weights 8..2, mod 11, X for 10):
    # "1932-6208" (PLOS ONE is 1932-6203) was exported as an ISSN, which Zotero's import
    # drops and a journal look-up finds nothing for
    assert issns({"TY": ["JOUR"], "SN": ["1932-6208", "1932-6203"]}) == ["1932-6203"]
    assert issns({"PMID": "1", "IS": "1878-0848 (Electronic) 1769-7212 (Print)"}) == [
        "1769-7212"]
    assert issns({"Title": "x", "eISSN": "1558-366X", "ISSN": "0192-8650"}) == ["1558-366X"]
    # EndNote's electronic ISSN alone on N1's first line: a number that fails the check
    # is a note, left in it
    assert ris_note_issn({"TY": ["JOUR"], "N1": ["1179-1926\nSmith, Anna"]}) == "1179-1926"
    assert ris_note_issn({"TY": ["JOUR"], "N1": ["1179-1927\nSmith, Anna"]}) == ""
