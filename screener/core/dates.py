"""Search dates: the day a search was run, one rule wherever a date is given or taken
(`import --searched`, a protocol's `searches: date:`, `search pubmed`, `import-ids`).

A search run now is dated with the searcher's local date, what a person means by
"searched today". A date given is refused when it is after today anywhere on Earth (the UTC
date plus one day: a searcher in Auckland or Kiribati is a day ahead of UTC), before
`EARLIEST_SEARCH`, or not written YYYY-MM-DD.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

EARLIEST_SEARCH = date(1900, 1, 1)
"""No bibliographic search is dated earlier (Index Medicus, the oldest index screener's
sources descend from, dates from 1879; electronic searching from the 1960s): an earlier
date, such as 0001-01-01, is a slip."""

_WRITTEN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def searched_today() -> str:
    """The date of a search run now: the searcher's local date, as YYYY-MM-DD."""
    return date.today().isoformat()


def latest_search_day() -> date:
    """The latest search date accepted: today somewhere on Earth (the UTC date + 1 day)."""
    return datetime.now(UTC).date() + timedelta(days=1)


def search_date_problem(text: str) -> str:
    """What is wrong with `text` as the date a search was run, in words to follow the value
    ("" when it is fine): "is in the future: ...", "is before 1900: ...", "is not a date
    (day is out of range for month); ...", "is not a date; write it as YYYY-MM-DD ..."."""
    if not _WRITTEN.fullmatch(text):
        return "is not a date; write it as YYYY-MM-DD, e.g. 2026-10-01"
    try:
        day = date(*map(int, text.split("-")))
    except ValueError as exc:
        return (f"is not a date ({exc}); write the day the search was run as YYYY-MM-DD, "
                "e.g. 2026-10-01")
    if day < EARLIEST_SEARCH:
        return (f"is before {EARLIEST_SEARCH.year}: no search is dated that early; write the "
                "day the search was run as YYYY-MM-DD")
    if day > latest_search_day():
        return ("is in the future: give the day the search was run (PRISMA reports it), "
                f"at the latest {latest_search_day().isoformat()}")
    return ""
