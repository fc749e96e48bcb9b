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
