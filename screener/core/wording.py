"""Counts in words, for the report, the PRISMA notes and the CLI: "1 record", "1,234
records", "was"/"were". Standard library only."""

from __future__ import annotations


def number(n: int) -> str:
    """ "1,234": a count with thousands separators."""
    return f"{n:,}"


def plural(n: int, word: str, many: str = "") -> str:
    """`word`, or its plural for a count other than 1 (`many` when not `word` + "s")."""
    return word if n == 1 else many or word + "s"


def counted(n: int, word: str, many: str = "") -> str:
    """ "1 record", "1,234 records": the count with the word in its number."""
    return f"{n:,} {plural(n, word, many)}"


def were(n: int) -> str:
    return "was" if n == 1 else "were"
