"""Stopping statistics on worked examples (p-values recomputed with math.comb)."""

from __future__ import annotations

import math

import pytest

from screener.ranking.stopping import (
    clopper_pearson,
    consecutive_irrelevant,
    estimate_remaining,
    safe_checklist,
    stopping_test,
    summarise,
)


def hyper_cdf(k: int, urn: int, successes: int, draws: int) -> float:
    """P(X <= k) for X ~ Hypergeometric(urn, successes, draws), by counting."""
    total = math.comb(urn, draws)
    return sum(
        math.comb(successes, i) * math.comb(urn - successes, draws - i)
        for i in range(0, min(k, successes, draws) + 1)
    ) / total


def by_hand(labels: list[int], n_total: int, target: float) -> float:
    n = len(labels)
    r_seen = sum(labels)
    best = 1.0
    for k in range(1, n + 1):
        sample = labels[n - k:]
        k_rel = sum(sample)
        urn = n_total - n + k
        need = math.floor(r_seen / target - (r_seen - k_rel)) + 1
        p = 0.0 if need > urn else hyper_cdf(k_rel, urn, need, k)
        best = min(best, p)
    return best


def test_stopping_test_small_worked_example() -> None:
    # 3 relevant in the first 4, then 6 irrelevant; N = 20, target 90 %.
    labels = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    # k = 6 (the six zeros): urn = 10 + 6 = 16, need floor(3/0.9 - 3) + 1 = 1 relevant,
    # P(0 of 6 drawn | 1 of 16 relevant) = C(15, 6) / C(16, 6) = 10/16 = 0.625, the minimum.
    assert math.comb(15, 6) / math.comb(16, 6) == pytest.approx(0.625)
    assert stopping_test(labels, 20, 0.9) == pytest.approx(0.625)
    assert stopping_test(labels, 20, 0.9) == pytest.approx(by_hand(labels, 20, 0.9))


def test_stopping_test_long_run_of_irrelevant_is_significant() -> None:
    labels = [1] * 100 + [0] * 500
    expected = by_hand(labels, 1000, 0.95)
    assert stopping_test(labels, 1000, 0.95) == pytest.approx(expected)
    # k = 500 (all the zeros): urn = 1000 - 600 + 500 = 900, need
    # floor(100/0.95 - 100) + 1 = 6 relevant; p = C(894, 500) / C(900, 500) ~ 0.0076.
    p500 = math.comb(894, 500) / math.comb(900, 500)
    assert expected <= p500 < 0.01
    # With only 10 relevant found, one missed record breaks the target: weak evidence.
    assert stopping_test([1] * 10 + [0] * 300, 400, 0.95) > 0.05


def test_stopping_test_everything_screened_and_edge_cases() -> None:
    assert stopping_test([], 10) == 1.0
    # All 5 screened: H0 impossible -> p = 0.
    assert stopping_test([1, 0, 1, 0, 0], 5) == 0.0
    with pytest.raises(ValueError):
        stopping_test([1, 2], 5)


def test_consecutive_irrelevant() -> None:
    assert consecutive_irrelevant([1, 0, 0, 1, 0, 0, 0]) == 3
    assert consecutive_irrelevant([0, 0]) == 2
    assert consecutive_irrelevant([0, 1]) == 0
    assert consecutive_irrelevant([]) == 0


def test_estimate_remaining_uses_recent_window_with_clopper_pearson() -> None:
    labels = [1] * 5 + [0] * 15  # window of 10: 0 relevant
    est = estimate_remaining(labels, 120, window=10)
    assert est.point == 0.0 and est.low == 0.0
    # Clopper-Pearson upper bound for 0/10 at 95 %: 1 - 0.025 ** (1/10).
    assert est.high == pytest.approx((1 - 0.025 ** (1 / 10)) * 100)
    lo, hi = clopper_pearson(2, 10)
    est2 = estimate_remaining([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], 110, window=10)
    assert est2.point == pytest.approx(0.2 * 100)
    assert (est2.low, est2.high) == pytest.approx((lo * 100, hi * 100))


def test_safe_checklist_items() -> None:
    labels = [1, 1, 0, 1] + [0] * 60  # 64 screened of 500, 3 relevant
    c = safe_checklist(labels, 500, estimated_relevant=10, key_papers=["a", "b"],
                       found_ids=["a", "x"])
    assert c.screened_fraction.value == pytest.approx(64 / 500)
    assert c.screened_fraction.passed
    assert c.twice_estimated_relevant.threshold == 20 and c.twice_estimated_relevant.passed
    assert c.consecutive_irrelevant.value == 60 and c.consecutive_irrelevant.passed
    assert c.key_papers.value == 0.5 and not c.key_papers.passed
    assert not c.all_passed
    c2 = safe_checklist(labels, 1000, estimated_relevant=40)
    assert not c2.screened_fraction.passed and not c2.twice_estimated_relevant.passed
    assert c2.key_papers.passed  # no key papers given


def test_summary_gathers_everything() -> None:
    labels = [1] * 10 + [0] * 300
    s = summarise(labels, 400)
    assert s.n_relevant_found == 10 and s.consecutive_irrelevant == 300
    assert s.stop_by_test == (s.p_value < 0.05)
    assert s.remaining.high >= s.remaining.point >= s.remaining.low
