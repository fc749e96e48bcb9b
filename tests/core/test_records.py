"""Identifiers: a number too long to be a PubMed id is not cut down to one (two such numbers
cut to the same nine digits made dedup remove an unrelated record)."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.core.records import Record, normalise_doi, normalise_pmid, typed_pmid


@pytest.mark.parametrize(("value", "expected"), [
    ("PMID: 29768149", "29768149"), ("29768149 [Indexed for MEDLINE]", "29768149"),
    ("29768149.0", "29768149"), ("000123", "123"), ("123456789", "123456789"),
    ("1234567890", ""), ("3012345678", ""), (1e12, ""), ("not an id", ""), (None, ""),
])
def test_pmids_are_read_whole_or_not_at_all(value: object, expected: str) -> None:
    assert normalise_pmid(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "expected"), [
    ("29768149", "29768149"), (" 29768149 ", "29768149"), ("PMID:29768149", "29768149"),
    ("PMID: 29768149", "29768149"), ("pmid 29768149", "29768149"), ("PMID-29768149", "29768149"),
    ("PMID- 29768149", "29768149"), ("0000000123", "123"),
    ("https://pubmed.ncbi.nlm.nih.gov/29768149/", "29768149"),
    ("pubmed.ncbi.nlm.nih.gov/29768149", "29768149"),
    ("https://www.ncbi.nlm.nih.gov/pubmed/29768149", "29768149"),
    ("abc", ""), ("PMID:", ""), ("12ab", ""), ("PMC5678", ""), ("1234567890", ""), ("0", ""),
    ("29768149 [Indexed for MEDLINE]", ""), ("29768149/", ""), ("\u0661\u0662\u0663", ""),
    ("https://example.org/29768149", ""), ("", ""),
])
def test_a_typed_pmid_is_one_id_in_a_form_people_write_or_nothing(
        value: str, expected: str) -> None:
    assert typed_pmid(value) == expected


def test_long_numbers_in_a_pmid_column_do_not_make_duplicates(tmp_path: Path) -> None:
    from dataclasses import replace

    from screener.importers.dedup import find_duplicates
    from screener.workflow.importing import read_any

    path = tmp_path / "t.csv"
    path.write_text("Title,Abstract,PubMed ID\n"
                    "Ketamine infusion for depression,An RCT,1234567890\n"
                    "Exercise for knee pain in older adults,A cohort,1234567891\n",
                    encoding="utf-8")
    _, records, _ = read_any(path)
    assert [r.pmid for r in records] == ["", ""]
    assert find_duplicates([replace(r, id=i) for i, r in enumerate(records, 1)]) == []


def test_the_doi_as_written_keeps_the_sources_case() -> None:
    # what the record card and the exports show; `doi` stays in lower case for comparing
    written = "https://doi.org/10.1136/BMJ.m1234"
    record = Record(doi=normalise_doi(written),
                    raw={"TY": ["JOUR"], "UR": ["https://example.org"], "DO": [written]})
    assert (record.doi, record.doi_as_written) == ("10.1136/bmj.m1234", "10.1136/BMJ.m1234")
    assert Record(doi="10.1136/bmj.m1234").doi_as_written == "10.1136/bmj.m1234"
    assert Record(raw={"DO": ["10.1/X"]}).doi_as_written == ""
