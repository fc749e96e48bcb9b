"""Agreement statistics against scikit-learn, published worked examples and hand computation."""

from __future__ import annotations

import math
import random

import pytest

from screener.core.agreement import (
    cohen_kappa,
    counts_table,
    fleiss_kappa,
    group_agreement,
    gwet_ac1,
    pabak,
    pair_agreement,
    table_agreement,
)

YES_NO = ("yes", "no")


def test_kappa_matches_scikit_learn_on_random_label_pairs() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(20261126)
    for trial in range(200):
        cats = ("include", "maybe", "exclude") if trial % 2 else ("include", "exclude")
        n = rng.randint(5, 300)
        weights = [rng.random() for _ in cats]
        a = rng.choices(cats, weights, k=n)
        # b agrees with a with some probability, otherwise draws at random
        agree = rng.random()
        b = [x if rng.random() < agree else rng.choice(cats) for x in a]
        stats = pair_agreement(a, b, cats)
        expected = sklearn_metrics.cohen_kappa_score(a, b, labels=list(cats))
        if math.isnan(expected):
            assert stats.kappa is None
        else:
            assert stats.kappa == pytest.approx(expected, abs=1e-12)


def test_wikipedia_worked_example() -> None:
    """Wikipedia, "Cohen's kappa", section "Simple example" (50 grant proposals, two
    readers: 20 yes/yes, 5 A-yes/B-no, 10 A-no/B-yes, 15 no/no): p_o = 0.7, p_e = 0.5,
    kappa = 0.4. https://en.wikipedia.org/wiki/Cohen%27s_kappa#Simple_example"""
    table = ((20, 5), (10, 15))
    stats = table_agreement(YES_NO, table)
    assert stats.n == 50
    assert stats.percent_agreement == pytest.approx(70.0)
    assert stats.kappa == pytest.approx(0.4)
    assert stats.pabak == pytest.approx(2 * 0.7 - 1)
    # AC1 by hand: pi_yes = (25/50 + 30/50)/2 = 0.55, pi_no = 0.45,
    # p_e = 0.55*0.45 + 0.45*0.55 = 0.495, AC1 = (0.7 - 0.495)/(1 - 0.495) = 0.405940...
    assert stats.ac1 == pytest.approx(0.205 / 0.505)


def test_three_category_example_fleiss() -> None:
    """Three categories (the shape of the diagnosis example in Fleiss, Levin & Paik 2003,
    ch. 18; values worked by hand): margins A (80, 10, 10), B (80, 5, 15);
    p_o = 0.89, p_e = 0.64 + 0.005 + 0.015 = 0.66, kappa = 0.23/0.34 = 0.676."""
    table = ((75, 1, 4), (5, 4, 1), (0, 0, 10))
    kappa, se = cohen_kappa(table)
    assert kappa == pytest.approx(0.23 / 0.34)
    assert se is not None and 0 < se < 0.2
    assert pabak(table) == pytest.approx((3 * 0.89 - 1) / 2)


def _delta_method_se(table: tuple[tuple[int, ...], ...]) -> float:
    """Asymptotic SE of kappa by the multinomial delta method with a numerical gradient:
    Var = (sum p_ij g_ij^2 - (sum p_ij g_ij)^2) / n. Fleiss, Cohen & Everitt (1969) is the
    closed form of the same quantity, so the two must agree."""
    k = len(table)
    n = sum(map(sum, table))
    p = [[c / n for c in row] for row in table]

    h = 1e-7
    grad = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(k):
            up = [row[:] for row in p]
            down = [row[:] for row in p]
            up[i][j] += h
            down[i][j] -= h
            grad[i][j] = (kappa_of_unnormalised(up, k) - kappa_of_unnormalised(down, k)) / (2 * h)
    mean = sum(p[i][j] * grad[i][j] for i in range(k) for j in range(k))
    second = sum(p[i][j] * grad[i][j] ** 2 for i in range(k) for j in range(k))
    return math.sqrt((second - mean ** 2) / n)


def kappa_of_unnormalised(q: list[list[float]], k: int) -> float:
    """Kappa as a function of the cell probabilities themselves (no renormalising), the
    parametrisation the delta method differentiates."""
    po = sum(q[i][i] for i in range(k))
    pe = sum(sum(q[i]) * sum(q[j][i] for j in range(k)) for i in range(k))
    return (po - pe) / (1 - pe)


@pytest.mark.parametrize("table", [
    ((20, 5), (10, 15)),
    ((75, 1, 4), (5, 4, 1), (0, 0, 10)),
    ((3, 2), (4, 91)),
    ((40, 9, 3), (6, 20, 8), (2, 5, 60)),
])
def test_kappa_se_is_the_large_sample_delta_method_se(table: tuple[tuple[int, ...], ...]) -> None:
    _, se = cohen_kappa(table)
    assert se == pytest.approx(_delta_method_se(table), rel=1e-5)


def test_confidence_interval_is_kappa_plus_minus_1_96_se() -> None:
    stats = table_agreement(YES_NO, ((20, 5), (10, 15)))
    assert stats.kappa is not None and stats.kappa_se is not None and stats.kappa_ci is not None
    low, high = stats.kappa_ci
    assert low == pytest.approx(stats.kappa - 1.959964 * stats.kappa_se, abs=1e-6)
    assert high == pytest.approx(stats.kappa + 1.959964 * stats.kappa_se, abs=1e-6)
    assert low < 0.4 < high


def test_pabak_is_two_po_minus_one() -> None:
    rng = random.Random(3)
    for _ in range(50):
        table = ((rng.randint(0, 50), rng.randint(0, 50)), (rng.randint(0, 50), rng.randint(1, 50)))
        n = sum(map(sum, table))
        assert pabak(table) == pytest.approx(2 * (table[0][0] + table[1][1]) / n - 1)


def test_ac1_stays_high_when_includes_are_rare() -> None:
    """The kappa paradox: 100 records, 3 agreed includes, 91 agreed excludes, 6 disagreements.
    By hand: p_o = 0.94; kappa: p_e = 0.05*0.07 + 0.95*0.93 = 0.887, kappa = 0.053/0.113
    = 0.469; AC1: pi_inc = (0.05 + 0.07)/2 = 0.06, p_e = 2*0.06*0.94 = 0.1128,
    AC1 = (0.94 - 0.1128)/(1 - 0.1128) = 0.93237."""
    table = ((3, 2), (4, 91))
    kappa, _ = cohen_kappa(table)
    assert kappa == pytest.approx(0.053 / 0.113)
    assert gwet_ac1(table) == pytest.approx((0.94 - 0.1128) / (1 - 0.1128))
    assert gwet_ac1(table) > 0.9 > 0.5 > (kappa or 0)


def test_three_category_ac1_by_hand() -> None:
    # pi = ((80+80)/2, (10+5)/2, (10+15)/2)/100 = (0.8, 0.075, 0.125)
    # p_e = (0.8*0.2 + 0.075*0.925 + 0.125*0.875) / 2 = 0.1894375
    table = ((75, 1, 4), (5, 4, 1), (0, 0, 10))
    pe = (0.8 * 0.2 + 0.075 * 0.925 + 0.125 * 0.875) / 2
    assert gwet_ac1(table) == pytest.approx((0.89 - pe) / (1 - pe))


def test_degenerate_tables() -> None:
    empty = table_agreement(YES_NO, ((0, 0), (0, 0)))
    assert (empty.n, empty.kappa, empty.percent_agreement, empty.ac1) == (0, None, None, None)
    one_label = table_agreement(YES_NO, ((0, 0), (0, 12)))
    assert one_label.kappa is None and one_label.kappa_ci is None
    assert one_label.percent_agreement == 100.0 and one_label.pabak == 1.0
    assert one_label.ac1 == 1.0


def test_counts_table_rows_are_first_reviewer() -> None:
    table = counts_table(["yes", "yes", "no"], ["no", "yes", "no"], YES_NO)
    assert table == ((1, 1), (0, 1))
    with pytest.raises(ValueError):
        counts_table(["yes"], ["yes", "no"], YES_NO)
    with pytest.raises(ValueError):
        counts_table(["perhaps"], ["yes"], YES_NO)


def test_no_interval_for_kappa_on_a_handful_of_records() -> None:
    # two records, one agreement and one disagreement: a zero-width large-sample interval
    # would suggest certainty where there is none
    tiny = table_agreement(["include", "exclude"], [[1, 1], [0, 0]])
    assert tiny.n == 2 and tiny.kappa is not None and tiny.kappa_ci is None
    larger = table_agreement(["include", "exclude"], [[4, 1], [2, 5]])
    assert larger.kappa_ci is not None and larger.kappa_ci[0] < larger.kappa < larger.kappa_ci[1]


# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters each, 5 categories
# (P̄ = 0.378, P̄_e = 0.213, κ = 0.210)
WIKIPEDIA_FLEISS = ((0, 0, 0, 0, 14), (0, 2, 6, 4, 2), (0, 0, 3, 5, 6), (0, 3, 9, 2, 0),
                    (2, 2, 8, 1, 1), (7, 7, 0, 0, 0), (3, 2, 6, 3, 0), (2, 5, 3, 2, 2),
                    (6, 5, 2, 1, 0), (0, 2, 2, 3, 7))


def test_fleiss_kappa_on_the_worked_example() -> None:
    p_bar, kappa = fleiss_kappa(WIKIPEDIA_FLEISS)
    assert p_bar == pytest.approx(0.378, abs=5e-4)
    assert kappa == pytest.approx(0.210, abs=5e-4)
    # the same from each record's labels, in any order
    cats = tuple("abcde")
    labels = [[c for c, n in zip(cats, row, strict=True) for _ in range(n)][::-1]
              for row in WIKIPEDIA_FLEISS]
    stats = group_agreement(labels, cats)
    assert (stats.n, stats.raters) == (10, 14)
    assert stats.kappa == pytest.approx(kappa) and stats.percent_agreement == pytest.approx(
        100 * p_bar)


def test_fleiss_kappa_of_two_raters_is_scotts_pi() -> None:
    # with m = 2 Fleiss' kappa is Scott's pi: p_e from the pooled margins
    a = ["include"] * 6 + ["exclude"] * 14
    b = ["include"] * 4 + ["exclude"] * 2 + ["include"] * 3 + ["exclude"] * 11
    cats = ("include", "exclude")
    pooled = [(a.count(c) + b.count(c)) / 40 for c in cats]
    po = sum(x == y for x, y in zip(a, b, strict=True)) / 20
    pe = sum(p * p for p in pooled)
    stats = group_agreement(list(zip(a, b, strict=True)), cats)
    assert stats.kappa == pytest.approx((po - pe) / (1 - pe))


def test_fleiss_kappa_undefined_and_refused() -> None:
    assert fleiss_kappa(()) == (None, None)
    assert fleiss_kappa(((3, 0), (3, 0)))[1] is None  # every label the same
    assert fleiss_kappa(((3, 0), (0, 3))) == (1.0, 1.0)
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa(((3, 0), (1, 1)))
