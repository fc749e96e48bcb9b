"""PrismaCounts arithmetic: check() names every inconsistent box and its numbers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from screener.core.prisma import PrismaCounts, check

GOOD = PrismaCounts(
    databases=(("MEDLINE", 600), ("Embase", 400)), registers=(("CT.gov", 50),),
    other_sources=(("Citation searching", 20),),
    duplicates_removed=200, automation_ineligible=30, removed_other=20,
    records_screened=800, records_excluded_human=500, records_excluded_automation=250,
    reports_sought=50, reports_not_retrieved=4, reports_assessed=46, reports_excluded=16,
    reports_excluded_reasons=(("Wrong population", 10), ("Wrong design", 6)),
    studies_included=33, reports_included=38,
    other_reports_sought=12, other_reports_not_retrieved=1, other_reports_assessed=11,
    other_reports_excluded=3, other_reports_excluded_reasons=(("Wrong population", 3),),
)


def test_consistent_counts_pass() -> None:
    assert check(GOOD) == []
    assert GOOD.identified == 1050 and GOOD.records_excluded == 750
    assert GOOD.has_other_methods and not PrismaCounts().has_other_methods
    assert check(PrismaCounts()) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"records_screened": 799},
     ["Records screened (n = 799)", "(n = 1050)", "(n = 250", "= 800",
      "Reports sought for retrieval (n = 50)"]),
    ({"duplicates_removed": 201}, ["Records screened (n = 800)", "duplicates 201", "= 799"]),
    ({"records_excluded_human": 501},
     ["Reports sought for retrieval (n = 50)", "records excluded (n = 751)", "= 49"]),
    ({"reports_not_retrieved": 5},
     ["Reports assessed for eligibility (n = 46)", "reports not retrieved (n = 5)", "= 45"]),
    ({"reports_excluded": 17},
     ["Reports excluded (n = 17)", "Wrong population 10, Wrong design 6", "= 16",
      "Reports of included studies (n = 38)"]),
    ({"reports_excluded_reasons": (("Wrong population", 11), ("Wrong design", 6))},
     ["Reports excluded (n = 16)", "= 17"]),
    ({"reports_included": 37}, ["Reports of included studies (n = 37)", "= 38"]),
    ({"other_reports_assessed": 10},
     ["Reports assessed for eligibility (other methods) (n = 10)", "= 11",
      "Reports of included studies (n = 38)"]),
    ({"other_reports_excluded_reasons": (("Wrong population", 2),)},
     ["Reports excluded (other methods) (n = 3)", "= 2"]),
    ({"other_reports_sought": 21, "other_reports_assessed": 20, "reports_included": 47},
     ["(other methods) (n = 21) exceeds records identified by other methods (n = 20)"]),
    ({"studies_included": 39}, ["Studies included in review (n = 39) exceeds"]),
    ({"removed_other": -1, "records_screened": 821, "reports_sought": 71,
      "reports_assessed": 67, "reports_included": 59},
     ["Records removed for other reasons is negative (n = -1)"]),
])
def test_check_names_boxes_and_numbers(change: dict[str, object], expected: list[str]) -> None:
    problems = check(replace(GOOD, **change))  # type: ignore[arg-type]
    assert problems
    joined = "\n".join(problems)
    for text in expected:
        assert text in joined, (text, problems)


def test_missing_reasons_are_reported() -> None:
    problems = check(replace(GOOD, reports_excluded_reasons=()))
    assert problems == ["Reports excluded (n = 16) gives no reasons"]


def test_without_a_full_text_stage_only_the_boxes_up_to_the_reports_sought_are_checked() -> None:
    """A title/abstract-only review has no reports assessed, excluded or studies included:
    zeros there are no inconsistency, but the boxes it has are still checked."""
    ends = PrismaCounts(databases=(("PubMed", 10),), records_screened=10,
                        records_excluded_human=7, reports_sought=3, full_text=False)
    assert check(ends) == []
    assert check(replace(ends, full_text=True))  # a full-text review: 3 sought, 0 assessed
    assert any(p.startswith("Reports sought for retrieval (n = 4)")
               for p in check(replace(ends, reports_sought=4)))
