"""PRISMA 2020 flow counts and their arithmetic checks.

Pure domain: standard library only (no exports, storage or third-party imports). The
workflow layer computes a `PrismaCounts` from the database; `check` lists every
arithmetic inconsistency before anything is rendered (see `screener.exports.prisma`).

The boxes follow the PRISMA 2020 flow diagram for new systematic reviews which
included searches of databases, registers and other sources (Page et al., BMJ
2021;372:n71). Records found by other methods (websites, organisations, citation
searching) skip title/abstract screening in that template: they go straight to the
"Reports sought for retrieval" box of the other-methods column. With `previous` (an
update screened in a review of its own), the boxes follow the template for updated
reviews: a "Previous studies" column, and the included studies split into new and total.

Active learning note: records that the tool left unscreened when the stopping rule
ended screening are best reported as "excluded by automation tools" in the Records
excluded box (`records_excluded_automation`), which is what the template's **
footnote asks for; the workflow decides.
"""

from __future__ import annotations

from dataclasses import dataclass

Counts = tuple[tuple[str, int], ...]
"""Named counts in display order, e.g. (("MEDLINE", 700), ("Embase", 500))."""


def _total(items: Counts) -> int:
    return sum(n for _, n in items)


@dataclass(frozen=True, slots=True)
class PreviousVersion:
    """The studies and reports the previous version of an updated review included (the
    updated-review template's "Previous studies" column)."""

    studies: int
    reports: int


@dataclass(frozen=True, slots=True)
class PrismaCounts:
    """Every number in the PRISMA 2020 flow diagram (new review, all sources)."""

    databases: Counts = ()
    """Records identified per database searched, as (database name, count)."""
    registers: Counts = ()
    """Records identified per register searched, as (register name, count)."""
    other_sources: Counts = ()
    """Records identified by other methods, as (method, count): e.g. ("Websites", 3),
    ("Organisations", 2), ("Citation searching", 12)."""
    duplicates_removed: int = 0
    """Duplicate records removed before screening."""
    automation_ineligible: int = 0
    """Records marked as ineligible by automation tools before screening."""
    removed_other: int = 0
    """Records removed before screening for other reasons."""
    records_screened: int = 0
    """Records screened at title/abstract (databases and registers)."""
    records_excluded_human: int = 0
    """Records excluded at title/abstract by a human reviewer."""
    records_excluded_automation: int = 0
    """Records excluded at title/abstract by automation tools (** footnote)."""
    reports_sought: int = 0
    """Reports sought for retrieval (databases and registers)."""
    reports_not_retrieved: int = 0
    """Reports not retrieved (databases and registers)."""
    reports_assessed: int = 0
    """Reports assessed for eligibility (databases and registers)."""
    reports_excluded: int = 0
    """Reports excluded at full text (databases and registers), in total."""
    reports_excluded_reasons: Counts = ()
    """Reports excluded per reason, as (reason label, count); sums to `reports_excluded`."""
    studies_included: int = 0
    """Studies included in the review (all columns)."""
    reports_included: int = 0
    """Reports of included studies (all columns); a study may have several reports."""
    other_reports_sought: int = 0
    """Reports sought for retrieval (other methods)."""
    other_reports_not_retrieved: int = 0
    """Reports not retrieved (other methods)."""
    other_reports_assessed: int = 0
    """Reports assessed for eligibility (other methods)."""
    other_reports_excluded: int = 0
    """Reports excluded at full text (other methods), in total."""
    other_reports_excluded_reasons: Counts = ()
    """Reports excluded per reason (other methods), as (reason label, count)."""
    full_text: bool = True
    """False when screening (in screener) ended at title/abstract: the diagram ends at
    "Reports sought for retrieval" (the records passed on), and the boxes after it (reports
    not retrieved, assessed, excluded; studies included) are neither drawn nor checked:
    nothing here recorded them."""
    previous: PreviousVersion | None = None
    """The previous version's included studies and reports: drawn as the updated-review
    template (`studies_included` and `reports_included` are then the new ones); None for
    a new review."""

    @property
    def total_studies(self) -> int:
        """Studies included in the review, the previous version's with the new ones."""
        return self.studies_included + (self.previous.studies if self.previous else 0)

    @property
    def total_reports(self) -> int:
        """Reports of the studies included, the previous version's with the new ones."""
        return self.reports_included + (self.previous.reports if self.previous else 0)

    @property
    def database_total(self) -> int:
        return _total(self.databases)

    @property
    def register_total(self) -> int:
        return _total(self.registers)

    @property
    def identified(self) -> int:
        """Records identified from databases and registers."""
        return self.database_total + self.register_total

    @property
    def removed_before_screening(self) -> int:
        return self.duplicates_removed + self.automation_ineligible + self.removed_other

    @property
    def records_excluded(self) -> int:
        """Records excluded at title/abstract (human and automation)."""
        return self.records_excluded_human + self.records_excluded_automation

    @property
    def other_identified(self) -> int:
        """Records identified by other methods."""
        return _total(self.other_sources)

    @property
    def has_other_methods(self) -> bool:
        """Whether the other-methods column is drawn."""
        return bool(self.other_sources) or any((
            self.other_reports_sought, self.other_reports_not_retrieved,
            self.other_reports_assessed, self.other_reports_excluded,
            self.other_reports_excluded_reasons))


def check(counts: PrismaCounts) -> list[str]:
    """Every arithmetic inconsistency between the boxes, each naming boxes and numbers.

    An empty list means the diagram adds up.
    """
    c = counts
    problems: list[str] = []

    for name, value in _all_numbers(c):
        if value < 0:
            problems.append(f"{name} is negative (n = {value})")

    expected = c.identified - c.removed_before_screening
    if c.records_screened != expected:
        problems.append(
            f"Records screened (n = {c.records_screened}) should equal records identified "
            f"from databases and registers (n = {c.identified}) minus records removed before "
            f"screening (n = {c.removed_before_screening}: duplicates {c.duplicates_removed}, "
            f"automation tools {c.automation_ineligible}, other reasons {c.removed_other}) "
            f"= {expected}")
    expected = c.records_screened - c.records_excluded
    if c.reports_sought != expected:
        problems.append(
            f"Reports sought for retrieval (n = {c.reports_sought}) should equal records "
            f"screened (n = {c.records_screened}) minus records excluded "
            f"(n = {c.records_excluded}) = {expected}")
    if c.other_reports_sought > c.other_identified:
        problems.append(
            f"Reports sought for retrieval (other methods) (n = {c.other_reports_sought}) "
            f"exceeds records identified by other methods (n = {c.other_identified})")
    if c.full_text:  # else the diagram ends at the reports sought: nothing after it
        problems += _retrieval(c.reports_sought, c.reports_not_retrieved, c.reports_assessed,
                               c.reports_excluded, c.reports_excluded_reasons, "")
        problems += _retrieval(c.other_reports_sought, c.other_reports_not_retrieved,
                               c.other_reports_assessed, c.other_reports_excluded,
                               c.other_reports_excluded_reasons, " (other methods)")

        dbr_kept = c.reports_assessed - c.reports_excluded
        other_kept = c.other_reports_assessed - c.other_reports_excluded
        expected = dbr_kept + other_kept
        if c.reports_included != expected:
            detail = (f"reports assessed for eligibility (n = {c.reports_assessed}) minus reports "
                      f"excluded (n = {c.reports_excluded})")
            if c.has_other_methods:
                detail += (f", plus reports assessed via other methods "
                           f"(n = {c.other_reports_assessed}) minus reports excluded via other "
                           f"methods (n = {c.other_reports_excluded})")
            problems.append(
                f"Reports of included studies (n = {c.reports_included}) should equal {detail} "
                f"= {expected}")
        if c.studies_included > c.reports_included:
            problems.append(
                f"Studies included in review (n = {c.studies_included}) exceeds reports of "
                f"included studies (n = {c.reports_included}): each study has at least one report")
    if c.previous and c.previous.studies > c.previous.reports:
        problems.append(
            f"Studies included in previous version of review (n = {c.previous.studies}) "
            f"exceeds reports of studies included in previous version of review "
            f"(n = {c.previous.reports}): each study has at least one report")
    return problems


def _retrieval(sought: int, not_retrieved: int, assessed: int, excluded: int,
               reasons: Counts, column: str) -> list[str]:
    problems: list[str] = []
    expected = sought - not_retrieved
    if assessed != expected:
        problems.append(
            f"Reports assessed for eligibility{column} (n = {assessed}) should equal reports "
            f"sought for retrieval (n = {sought}) minus reports not retrieved "
            f"(n = {not_retrieved}) = {expected}")
    if reasons and _total(reasons) != excluded:
        listed = ", ".join(f"{label} {n}" for label, n in reasons)
        problems.append(
            f"Reports excluded{column} (n = {excluded}) should equal the sum of its reasons "
            f"({listed}) = {_total(reasons)}")
    if not reasons and excluded:
        problems.append(f"Reports excluded{column} (n = {excluded}) gives no reasons")
    if excluded > assessed:
        problems.append(
            f"Reports excluded{column} (n = {excluded}) exceeds reports assessed for "
            f"eligibility (n = {assessed})")
    return problems


def _all_numbers(c: PrismaCounts) -> list[tuple[str, int]]:
    numbers: list[tuple[str, int]] = []
    numbers += [(f"Databases: {name}", n) for name, n in c.databases]
    numbers += [(f"Registers: {name}", n) for name, n in c.registers]
    numbers += [(f"Other methods: {name}", n) for name, n in c.other_sources]
    numbers += [(f"Reports excluded: {name}", n) for name, n in c.reports_excluded_reasons]
    numbers += [(f"Reports excluded (other methods): {name}", n)
                for name, n in c.other_reports_excluded_reasons]
    numbers += [
        ("Duplicate records removed", c.duplicates_removed),
        ("Records marked as ineligible by automation tools", c.automation_ineligible),
        ("Records removed for other reasons", c.removed_other),
        ("Records screened", c.records_screened),
        ("Records excluded by a human", c.records_excluded_human),
        ("Records excluded by automation tools", c.records_excluded_automation),
        ("Reports sought for retrieval", c.reports_sought),
        ("Reports not retrieved", c.reports_not_retrieved),
        ("Reports assessed for eligibility", c.reports_assessed),
        ("Reports excluded", c.reports_excluded),
        ("Studies included in review", c.studies_included),
        ("Reports of included studies", c.reports_included),
        ("Reports sought for retrieval (other methods)", c.other_reports_sought),
        ("Reports not retrieved (other methods)", c.other_reports_not_retrieved),
        ("Reports assessed for eligibility (other methods)", c.other_reports_assessed),
        ("Reports excluded (other methods)", c.other_reports_excluded),
    ]
    if c.previous:
        numbers += [
            ("Studies included in previous version of review", c.previous.studies),
            ("Reports of studies included in previous version of review", c.previous.reports),
        ]
    return numbers
