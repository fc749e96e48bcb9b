"""Stopping statistics on worked examples (p-values recomputed with math.comb), and the
numpy hypergeometric CDF and Clopper-Pearson interval against scipy.stats."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

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


def test_estimate_remaining_window_method_uses_recent_window_with_clopper_pearson() -> None:
    labels = [1] * 5 + [0] * 15  # window of 10: 0 relevant
    est = estimate_remaining(labels, 120, method="window", window=10)
    assert est.point == 0.0 and est.low == 0.0
    # Clopper-Pearson upper bound for 0/10 at 95 %: 1 - 0.025 ** (1/10).
    assert est.high == pytest.approx((1 - 0.025 ** (1 / 10)) * 100)
    lo, hi = clopper_pearson(2, 10)
    est2 = estimate_remaining([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], 110, method="window", window=10)
    assert est2.point == pytest.approx(0.2 * 100)
    assert (est2.low, est2.high) == pytest.approx((lo * 100, hi * 100))


def test_estimate_remaining_inverts_the_stopping_test_on_a_worked_example() -> None:
    """1,000 screened of 2,500, none relevant. The last k screened are a sample of the
    1,500 + k records left before them; with m relevant among those, seeing none has
    probability C(1500 + k, k)^-1 C(1500 + k - m, k), smallest at k = 1,000: 0.6 for m = 1,
    0.36 for m = 2, 0.078 for m = 5, 0.047 for m = 6. So the median is 1 left (p falls below
    0.5 at m = 2) and at most 5 are left with 95 % confidence (below 0.05 at m = 6)."""
    assert hyper_cdf(0, 2500, 1, 1000) > 0.5 > hyper_cdf(0, 2500, 2, 1000)
    assert hyper_cdf(0, 2500, 5, 1000) > 0.05 > hyper_cdf(0, 2500, 6, 1000)
    est = estimate_remaining([0] * 1000, 2500)
    assert (est.point, est.low, est.high) == (1.0, 0.0, 5.0)
    assert "stopping test" in est.method


@pytest.mark.parametrize("labels", [
    [1, 1, 0, 1, 0, 0, 1] + [0] * 40,
    [1] * 5 + [0] * 15,
    [0, 1, 0, 0, 1, 1, 0, 1] + [0, 0, 0, 1] * 10 + [0] * 80,
])
def test_estimate_remaining_high_end_is_the_stopping_test_bound(labels: list[int]) -> None:
    """'At most `high` left' is the stopping test's own verdict: recall below
    found / (found + high + 1) is rejected at the rule's level (1 - confidence), recall
    below found / (found + high) is not (so the lower end of recall shown and the test
    agree)."""
    n_total, found = 300, sum(labels)
    est = estimate_remaining(labels, n_total, confidence=0.95)
    high = int(est.high)
    # a recall target whose hypothesis 'recall < t' means 'at least m left': m = high + 1
    reject = stopping_test(labels, n_total, found / (found + high + 0.5))
    keep = stopping_test(labels, n_total, found / (found + high - 0.5))
    assert reject < 0.05 <= keep
    assert est.low <= est.point <= est.high


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 1), max_size=40), st.integers(0, 150), st.integers(0, 60),
       st.sampled_from([0.8, 0.9, 0.95]), st.sampled_from([0.9, 0.95, 0.99]))
@example([1] * 11, 51, 2, 0.95, 0.95)  # the case found: p = 2/53 = 0.038, "at least 0.92"
@example([1], 19, 1, 0.8, 0.95)  # p = 1/20 exactly, whose float is below that of 1 - 0.95
def test_when_the_test_says_stop_the_recall_it_supports_reaches_the_target(
        mixed: list[int], run: int, unscreened: int, target: float, confidence: float) -> None:
    """The lower end of the estimated recall is shown as what the stopping test supports;
    when the rule's test says stop (p < 1 - confidence), it must not fall below the recall
    target (it did: "rule met" at 95 %, "at least 0.92" beside it, the end being a 97.5 %
    bound)."""
    from screener.ranking.stopping import summarise

    labels = mixed + [0] * run  # as prioritised screening goes: a run of irrelevant last
    if not labels:
        return
    summary = summarise(labels, len(labels) + unscreened, recall_target=target,
                        confidence=confidence)
    found = summary.n_relevant_found
    if summary.stop_by_test and found:
        assert found / (found + summary.remaining.high) >= target - 1e-12



def test_a_p_value_equal_to_the_level_does_not_say_stop() -> None:
    """One relevant record, then 19 irrelevant, of 21: the test's p-value is 1/20, exactly
    the level of 95 % confidence; its float (0.05000000000000003) is below the float of
    1 − 0.95 (0.050000000000000044), so the rule said stop while the recall bound beside it
    read 50 % for a target of 80 %."""
    from screener.ranking.stopping import says_stop, summarise

    labels = [1] + [0] * 19
    assert stopping_test(labels, 21, 0.8) < 1 - 0.95  # the float comparison is wrong here
    assert not says_stop(labels, 21, 0.8, 0.95)
    summary = summarise(labels, 21, recall_target=0.8, confidence=0.95)
    assert not summary.stop_by_test
    assert says_stop([1] + [0] * 20, 22, 0.8, 0.95)  # one more irrelevant: 1/21 < 1/20

def test_estimate_remaining_is_exact_at_the_ends() -> None:
    assert estimate_remaining([1, 0, 1], 3) == estimate_remaining([1, 0, 1], 3)
    done = estimate_remaining([1, 0, 1], 3)
    assert (done.point, done.low, done.high) == (0.0, 0.0, 0.0)
    start = estimate_remaining([], 40)
    assert (start.point, start.low, start.high) == (0.0, 0.0, 40.0)
    with pytest.raises(ValueError, match="unknown method"):
        estimate_remaining([1, 0], 10, method="magic")


def test_estimate_remaining_narrows_as_irrelevant_records_pile_up() -> None:
    """The same three relevant records, then longer and longer runs of irrelevant ones:
    the records estimated left (and their upper end) never grow."""
    ests = [estimate_remaining([1, 1, 0, 1] + [0] * run, 1000) for run in (10, 50, 200, 600)]
    assert all(a.high >= b.high for a, b in zip(ests, ests[1:], strict=False))
    assert all(a.point >= b.point for a, b in zip(ests, ests[1:], strict=False))
    assert ests[-1].high < ests[0].high


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


def test_safe_twice_relevant_asks_no_more_than_every_record_nor_less_before_a_find() -> None:
    # one exclusion, nothing relevant yet: no estimate to double ("1/0 ✓" was shown)
    early = safe_checklist([0], 22).twice_estimated_relevant
    assert (early.value, early.threshold, early.passed) == (1, 22, False)
    # 2 of 3 relevant early in a 22-record review: twice the estimate (29) exceeds the
    # review, so every record is asked, and screening them all meets it
    busy = safe_checklist([1, 1, 0], 22).twice_estimated_relevant
    assert busy.threshold == 22 and not busy.passed
    done = safe_checklist([1, 1] + [0] * 20, 22).twice_estimated_relevant
    assert done.threshold <= 22 and done.passed
    assert safe_checklist([0] * 22, 22).twice_estimated_relevant.passed  # all screened


def test_summary_gathers_everything() -> None:
    labels = [1] * 10 + [0] * 300
    s = summarise(labels, 400)
    assert s.n_relevant_found == 10 and s.consecutive_irrelevant == 300
    assert s.stop_by_test == (s.p_value < 0.05)
    assert s.remaining.high >= s.remaining.point >= s.remaining.low


# --- the numpy CDF and interval against scipy.stats (what they replace) ------------------


@st.composite
def hypergeom_cases(draw: st.DrawFn) -> tuple[int, int, int, int]:
    urn = draw(st.integers(1, 5000))
    successes = draw(st.integers(0, urn))
    draws = draw(st.integers(0, urn))
    x = draw(st.integers(-1, min(successes, draws) + 1))
    return x, urn, successes, draws


@settings(max_examples=400, deadline=None)
@given(hypergeom_cases())
def test_hypergeom_cdf_matches_scipy(case: tuple[int, int, int, int]) -> None:
    from scipy.stats import hypergeom

    from screener.ranking.stopping import hypergeom_cdf

    x, urn, successes, draws = case
    expected = float(hypergeom.cdf(x, urn, successes, draws))
    got = float(hypergeom_cdf(x, urn, successes, draws)[0])
    assert got == pytest.approx(expected, rel=1e-8, abs=1e-300)


def test_hypergeom_cdf_by_counting_and_in_the_far_tail() -> None:
    from screener.ranking.stopping import hypergeom_cdf

    assert hypergeom_cdf(2, 30, 8, 10)[0] == pytest.approx(hyper_cdf(2, 30, 8, 10), rel=1e-12)
    # a long run with no relevant record where many are expected: p far below 1e-90
    exact = hyper_cdf(0, 3000, 400, 1200)
    assert 0 < exact < 1e-90
    assert hypergeom_cdf(0, 3000, 400, 1200)[0] == pytest.approx(exact, rel=1e-8)


def test_stopping_test_on_a_large_review_matches_scipy() -> None:
    # 8,000 of 20,000 screened, relevant records mostly early (prioritised screening)
    import numpy as np
    from scipy.stats import hypergeom

    rng = np.random.default_rng(3)
    n, n_total = 8_000, 20_000
    weights = np.exp(-np.arange(n) / (n / 4))
    labels = np.zeros(n, np.int64)
    labels[rng.choice(n, 300, replace=False, p=weights / weights.sum())] = 1
    rev = labels[::-1]
    k = np.arange(1, n + 1)
    k_rel = np.cumsum(rev)
    urn = n_total - n + k
    need = np.floor(labels.sum() / 0.95 - (labels.sum() - k_rel) + 1e-12).astype(np.int64) + 1
    ok = need <= urn
    expected = float(hypergeom.cdf(k_rel[ok], urn[ok], need[ok], k[ok]).min())
    assert stopping_test(labels.tolist(), n_total, 0.95) == pytest.approx(expected, rel=1e-8)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.9, 0.95, 0.99]))
def test_clopper_pearson_matches_scipy_beta_quantiles(case: tuple[int, int],
                                                      confidence: float) -> None:
    from scipy.stats import beta

    successes, trials = case
    a = (1 - confidence) / 2
    low, high = clopper_pearson(successes, trials, confidence)
    expected_low = 0.0 if successes == 0 else beta.ppf(a, successes, trials - successes + 1)
    expected_high = (1.0 if successes == trials
                     else beta.ppf(1 - a, successes + 1, trials - successes))
    assert low == pytest.approx(expected_low, rel=1e-7, abs=1e-12)
    assert high == pytest.approx(expected_high, rel=1e-7, abs=1e-12)


def test_statistics_do_not_import_scipy_stats() -> None:
    # importing scipy.stats costs about a second in every command that shows them
    import subprocess
    import sys

    code = ("import sys; from screener.ranking import stopping; "
            "stopping.stopping_test([1, 0, 0, 1] + [0] * 50, 500); "
            "stopping.estimate_remaining([1, 0, 0, 0], 50); "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def left_by_counting(labels: list[int], n_total: int, level: Fraction) -> int:
    """Smallest m whose p-value (min over k, exact fractions) is below `level`, else N − n + 1."""
    n, left = len(labels), n_total - len(labels)
    for m in range(1, left + 1):
        if min(hyper_cdf_exact(sum(labels[n - k:]), left + k, sum(labels[n - k:]) + m, k)
               for k in range(1, n + 1)) < level:
            return m
    return left + 1


def hyper_cdf_exact(k: int, urn: int, successes: int, draws: int) -> Fraction:
    return Fraction(sum(math.comb(successes, i) * math.comb(urn - successes, draws - i)
                        for i in range(0, min(k, successes, draws) + 1)),
                    math.comb(urn, draws))


@pytest.mark.parametrize(("labels", "n_total"), [
    ([0] * 6 + [1] * 2 + [0] * 6, 20),  # p = 6/12 = 1/2 exactly at m = 1 (the point)
    ([1, 0], 9),                         # 1/2 exactly again, at m = 4
    ([0] * 13, 16),                      # p = 14/560 = 1/40 exactly at m = 2
    ([0] * 12, 16),                      # p = 1/20 exactly at m = 2 (the high end)
    ([0] * 3, 6),                        # 1/20 exactly again, at m = 3
    ([0, 0, 1], 16),
    ([1, 1, 0, 1, 0, 0, 1] + [0] * 20, 60),
    ([0, 1, 0, 0, 0, 1, 0, 0, 0, 0], 25),
])
def test_estimate_remaining_crossings_are_exact_on_ties(labels: list[int],
                                                        n_total: int) -> None:
    """The p-value must fall strictly below a level: one equal to it, as 6/12 is to 0.5,
    was computed as 0.49999999999999906 and counted as below, so 0 relevant records were
    estimated left instead of 1 (and the high end one too low on a tie with its level)."""
    est = estimate_remaining(labels, n_total, confidence=0.95)
    point = left_by_counting(labels, n_total, Fraction(1, 2)) - 1
    high = left_by_counting(labels, n_total, Fraction(1, 20)) - 1
    low = low_by_counting(labels, n_total, point + 1, Fraction(1, 20))
    assert (est.point, est.low, est.high) == (point, low, high)


def low_by_counting(labels: list[int], n_total: int, mid: int, level: Fraction) -> int:
    """The low end by its definition, in exact fractions: on the sample of the last k
    screened whose p-value is smallest at `mid` (the point + 1), the fewest m left under
    which seeing at least the relevant records seen there, P(X >= seen), is not below
    `level` (the upper tail: 1 − P(X <= seen − 1))."""
    n, left = len(labels), n_total - len(labels)
    at = min(mid, left)
    k = min(range(1, n + 1), key=lambda k: hyper_cdf_exact(
        sum(labels[n - k:]), left + k, sum(labels[n - k:]) + at, k))
    seen = sum(labels[n - k:])
    return next(m for m in range(0, left + 1)
                if 1 - hyper_cdf_exact(seen - 1, left + k, seen + m, k) >= level)


def test_the_low_end_is_a_lower_bound_by_the_other_tail() -> None:
    """It was where the stopping test's own p-value, P(X <= seen), crosses the confidence:
    after 10 irrelevant records of 1,333 and nothing relevant it read "88 left (13 to
    274)", although with nothing relevant seen no number left is too few (P(X >= 0) = 1).
    The low end is now a lower bound by the other tail, P(X >= seen) >= 1 − confidence,
    on the sample the point estimate rests on."""
    none = estimate_remaining([0] * 10, 1333, confidence=0.9)
    assert none.low == 0 and none.point > 0
    # 3 relevant among the last 4 of 95 screened of 1,333: so many are unlikely with few
    # left, and the end is well above 0
    labels = [0] * 90 + [0, 1, 0, 1, 1]
    est = estimate_remaining(labels, 1333, confidence=0.9)
    low = low_by_counting(labels, 1333, int(est.point) + 1, Fraction(1, 10))
    assert est.low == low > 0
    assert est.low <= est.point <= est.high


def _step_by_step(labels: list[int], n_total: int, says_stop: object) -> int | None:
    """The first number of screened records at which `says_stop(labels[:i])` holds."""
    assert callable(says_stop)
    return next((i for i in range(1, len(labels) + 1) if says_stop(labels[:i])), None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=1, max_size=40), st.integers(0, 30),
       st.sampled_from([0.8, 0.95, 1.0]), st.sampled_from([0.9, 0.95]), st.integers(1, 12),
       st.sampled_from([0.0, 0.1, 0.3]))
@example([1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 20, 0.95, 0.95, 5, 0.1)
@example([1], 20, 0.8, 0.95, 1, 0.0)  # p = 1/20 at 20 screened: a tie, no stop
def test_stop_points_are_where_each_rule_applied_step_by_step_first_says_stop(
        presented: list[int], unrelevant_left: int, target: float, confidence: float,
        run: int, fraction: float) -> None:
    """`stop_points` replays a simulated screening (relevant records found, so the rest is
    irrelevant and the order is completed with zeros): each rule's stop is the first record
    after which the rule itself, asked after every record, says stop; the recall there is
    the true recall (found so far / all relevant)."""
    from screener.ranking.stopping import says_stop, stop_points

    if not any(presented):
        return
    n_total = len(presented) + unrelevant_left
    relevant = sum(presented)
    full = presented + [0] * unrelevant_left
    test, safe, in_a_row = stop_points(presented, n_total, relevant, recall_target=target,
                                       confidence=confidence, consecutive_threshold=run,
                                       min_fraction=fraction)
    expected = {
        # (says_stop: stopping_test's p-value below the level, decided exactly at a tie)
        test: _step_by_step(full, n_total, lambda y: says_stop(y, n_total, target, confidence)),
        safe: _step_by_step(full, n_total, lambda y: safe_checklist(
            y, n_total, consecutive_threshold=run, min_fraction=fraction).all_passed),
        in_a_row: _step_by_step(full, n_total, lambda y: consecutive_irrelevant(y) >= run),
    }
    for point, at in expected.items():
        assert point.screened == at and point.within == n_total
        if at is not None:
            assert point.recall == sum(full[:at]) / relevant
            assert point.work_saved == 1 - at / n_total
        else:
            assert point.recall is None and point.work_saved is None
    assert test.screened is not None  # with every record screened the test always stops


def test_stop_points_of_a_run_cut_short_stay_within_the_records_presented() -> None:
    """A run stopped before the last relevant record (--stop-after) cannot be completed with
    zeros: a rule not met among the records presented is not met (within them), one met
    there is met where it was."""
    from screener.ranking.stopping import stop_points

    presented = [1, 1, 0, 0, 0, 0]
    test, safe, in_a_row = stop_points(presented, 100, 5, consecutive_threshold=3)
    assert (test.screened, test.within) == (None, 6) and safe.screened is None
    assert (in_a_row.screened, in_a_row.recall, in_a_row.work_saved) == (5, 2 / 5, 0.95)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=1, max_size=50), st.integers(0, 80),
       st.sampled_from([0.8, 0.95, 1.0]))
def test_an_irrelevant_record_never_raises_the_stopping_p_value(
        labels: list[int], unscreened: int, target: float) -> None:
    """What `first_stop`'s search by halves rests on."""
    n_total = len(labels) + 1 + unscreened
    before = by_hand(labels, n_total, target)
    assert by_hand(labels + [0], n_total, target) <= before + 1e-12


def by_hand_from(labels: list[int], n_total: int, target: float, start: int) -> float:
    """`by_hand` with the sample limited to the records screened from index `start` on."""
    n = len(labels)
    r_seen = sum(labels)
    best = 1.0
    for k in range(1, n - start + 1):
        k_rel = sum(labels[n - k:])
        urn = n_total - n + k
        need = math.floor(r_seen / target - (r_seen - k_rel)) + 1
        best = min(best, 0.0 if need > urn else hyper_cdf(k_rel, urn, need, k))
    return best


def test_records_added_after_screening_began_are_sampled_only_by_later_decisions() -> None:
    """Round 1: 100 relevant, then 500 irrelevant, of 1,000: the test says stop. An update
    search adds 64 records (N = 1,064) after those 600 decisions; 12 more, all irrelevant,
    are screened. Over all 612 the sample of the last k (k up to 612) still says stop; from
    index 600 on only the last 12 may be the sample: k = 12, urn = 1,064 - 612 + 12 = 464,
    need floor(100 / 0.95 - 100) + 1 = 6 relevant, P(0 of 12) = C(458, 12) / C(464, 12)
    ~ 0.85, the minimum."""
    labels = [1] * 100 + [0] * 500 + [0] * 12
    assert stopping_test(labels, 1064, 0.95) < 0.05
    p = stopping_test(labels, 1064, 0.95, sample_start=600)
    assert p == pytest.approx(by_hand_from(labels, 1064, 0.95, 600))
    assert p == pytest.approx(math.comb(458, 12) / math.comb(464, 12))
    assert p > 0.8
    # nothing screened since: no sample at all
    assert stopping_test(labels[:600], 1064, 0.95, sample_start=600) == 1.0
    with pytest.raises(ValueError):
        stopping_test(labels, 1064, 0.95, sample_start=613)


def test_the_run_and_the_estimate_start_at_the_sample_start() -> None:
    labels = [1] + [0] * 100 + [0] * 5
    assert consecutive_irrelevant(labels) == 105
    assert consecutive_irrelevant(labels, sample_start=101) == 5
    assert consecutive_irrelevant([1, 0, 0, 1, 0], sample_start=1) == 1
    # the estimate inverts the windowed test: with the whole run it says few are left ...
    whole = estimate_remaining(labels, 300)
    since = estimate_remaining(labels, 300, sample_start=101)
    assert whole.high < since.high
    # ... and its high end is that test's verdict, as without a window
    found, high = 1, int(since.high)
    assert stopping_test(labels, 300, found / (found + high + 0.5), sample_start=101) < 0.05
    assert stopping_test(labels, 300, found / (found + high - 0.5), sample_start=101) >= 0.05
    # nothing screened since: nothing known of the records left
    none = estimate_remaining(labels[:101], 300, sample_start=101)
    assert (none.point, none.low, none.high) == (199.0, 0.0, 199.0)


def test_summary_and_safe_checklist_use_the_window_but_count_every_record_screened() -> None:
    labels = [1] * 100 + [0] * 500
    before = summarise(labels, 1000, consecutive_threshold=50)
    assert before.stop_by_test and before.safe.all_passed
    after = summarise(labels + [0] * 3, 1064, consecutive_threshold=50, sample_start=600)
    assert not after.stop_by_test
    assert after.consecutive_irrelevant == 3
    assert after.n_screened == 603 and after.n_relevant_found == 100
    assert after.safe.screened_fraction.passed  # 603 of 1,064
    assert not after.safe.consecutive_irrelevant.passed
    # twice the relevant estimated from the 3 since: found + that estimate's point
    windowed = estimate_remaining(labels + [0] * 3, 1064, sample_start=600)
    assert after.remaining == windowed
    assert after.safe.twice_estimated_relevant.threshold == 2 * (100 + windowed.point)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=1, max_size=40), st.integers(1, 200),
       st.sampled_from([0.8, 0.9, 0.95]))
def test_the_low_end_never_exceeds_the_point(labels: list[int], unscreened: int,
                                             confidence: float) -> None:
    """The low end (the other tail, on the sample the point rests on) is at most the
    point: at the point, seeing as many relevant as were seen there has a probability
    above 1/2; and with nothing relevant found it is 0."""
    est = estimate_remaining(labels, len(labels) + unscreened, confidence=confidence)
    assert 0 <= est.low <= est.point <= est.high
    if not any(labels):
        assert est.low == 0
