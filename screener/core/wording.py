"""Counts in words, for the report, the PRISMA notes and the CLI: "1 record", "1,234
records", "was"/"were", "98%". Standard library only."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal


def number(n: int) -> str:
    """ "1,234": a count with thousands separators."""
    return f"{n:,}"


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def spelled(n: int) -> str:
    """ "three": a small count in words (to ten), as prose writes it; larger ones in figures."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else number(n)


def plural(n: int, word: str, many: str = "") -> str:
    """`word`, or its plural for a count other than 1 (`many` when not `word` + "s")."""
    return word if n == 1 else many or word + "s"


def counted(n: int, word: str, many: str = "") -> str:
    """ "1 record", "1,234 records": the count with the word in its number."""
    return f"{n:,} {plural(n, word, many)}"


def were(n: int) -> str:
    return "was" if n == 1 else "were"


def percent(value: float) -> str:
    """A share in percent, as the protocol's targets are written: whole percent, one
    decimal under 10 % ("0.4%", not "0%" or "0.00"). Rounded half up on the decimal value
    the float stands for (0.965 is "97%", though as a binary float it is 0.96499...), so
    `status`, the report and the UI round a value alike."""
    hundred = Decimal(repr(value)) * 100
    tenths = hundred.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if 0 < value and tenths < 10:
        return f"{tenths}%"
    return f"{hundred.quantize(Decimal('1'), rounding=ROUND_HALF_UP)}%"


def share_of(value: float, minimum: float, decimals: int = 0) -> str:
    """A share in percent beside the minimum it must reach ("9.9%" beside "10%"): rounded
    half up to `decimals`, except that a value below the minimum is never shown reaching
    it: then it is floored, with one decimal more (133 of 1,333, 9.98 %, is "9.9%", not
    "10%" beside a failed minimum of 10 %; with one decimal "9.97%", not "10.0%")."""
    hundred = Decimal(repr(value)) * 100
    shown = hundred.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if value < minimum and shown >= Decimal(repr(minimum)) * 100:
        shown = hundred.quantize(Decimal(1).scaleb(-decimals - 1), rounding=ROUND_FLOOR)
    return f"{shown}%"


IMPORTED_STAGE = "title/abstract"
"""The stage decisions imported with `import --labels-as` are at (the only one): what the
agreement notes and the methods text say of them names it, as the reviewer's full-text
decisions were all made in screener."""


def imported_decisions(name: str, imported: int, total: int, where: str) -> str:
    """"Ann's title/abstract decisions in this table were imported", or "3 of the 5 of
    Ann's title/abstract decisions in this table were imported" when she made the others in
    screener: what `agreement` and the report say of a reviewer some of whose decisions
    entering the agreement (`where`: "in this table", "counted here") came from `import
    --labels-as`. They are the decisions as they stood when reconciliation began, so the
    count can differ from the methods text's count of her imported and own decisions:
    `where` says which ones it counts."""
    verb = "was" if imported == 1 < total else "were"
    if imported >= total:
        return f"{name}'s {IMPORTED_STAGE} decisions {where} {verb} imported"
    return (f"{number(imported)} of the {number(total)} of {name}'s {IMPORTED_STAGE} "
            f"decisions {where} {verb} imported")


def whose_decisions(name: str, some: int, total: int) -> str:
    """"Ann's title/abstract decisions" when `some` are all of her `total` there, else "3 of
    Ann's 5 title/abstract decisions": which of a reviewer's decisions the methods text says
    were imported (`IMPORTED_STAGE`)."""
    if some >= total:
        return f"{name}'s {IMPORTED_STAGE} decisions"
    return f"{number(some)} of {name}'s {number(total)} {IMPORTED_STAGE} decisions"
