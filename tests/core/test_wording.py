"""Counts and shares in words (screener.core.wording)."""

from __future__ import annotations

from screener.core.wording import percent


def test_percent_rounds_half_up_on_the_decimal_value() -> None:
    """0.965 is 0.96499999... as a binary float: it was "96%" beside 0.975's "98%"."""
    assert [percent(v) for v in (0.975, 0.965, 0.955, 0.945, 0.5, 1.0, 0.0)] == [
        "98%", "97%", "96%", "95%", "50%", "100%", "0%"]
    # one decimal under 10% (a share rounded to 0% would read as none)
    assert [percent(v) for v in (0.004, 0.0125, 0.0995, 0.099)] == [
        "0.4%", "1.3%", "10%", "9.9%"]


def test_a_share_below_its_minimum_never_reads_as_reaching_it() -> None:
    """133 of 1,333 (9.98 %) read "10%" beside a failed minimum of 10 %."""
    from screener.core.wording import share_of

    assert share_of(133 / 1333, 0.10) == "9.9%"
    assert share_of(133 / 1333, 0.10, 1) == "9.97%"
    assert share_of(134 / 1333, 0.10) == "10%"  # 10.05 %: met, rounded as usual
    assert share_of(0.125, 0.10) == "13%" and share_of(0.094, 0.10) == "9%"
