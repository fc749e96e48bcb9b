"""When may screening stop? Statistics computed from the screening so far.

Every function is pure: it takes the labels (1 = relevant, 0 = irrelevant) in the order the
records were screened and N, the total number of records, and returns numbers.

- `stopping_test`: Callaghan & Müller-Hansen (2020). The last k screened records are treated
  as a random sample, drawn without replacement, from the records that were unscreened
  before them. Under H0 "recall is below the target" that urn holds at least
  K = floor(r_seen/target − r_before) + 1 relevant records (r_before = relevant found
  before the sample), so seeing at most k_rel relevant in the sample has probability
  P = P(X <= k_rel), X ~ Hypergeometric(urn size, K relevant, k drawn). The test scans every
  k and returns the smallest P: stop when it is below 1 − confidence (e.g. 0.05).
- `safe_checklist`: the SAFE procedure (Boetje & van de Schoot 2024) items.
- `consecutive_irrelevant`: irrelevant records since the last relevant one.

`sample_start` (every function that uses the sample): the index in `labels_in_order` from
which the sample may start. The last k screened are a random sample of the records
unscreened before them only if those were all the records there were: records added to the
pool after some decisions (an update search imported once screening had begun) were not in
the urn those decisions drew from, so the decisions before the addition say nothing about
them. They still count as screened (n, the relevant found); the sample, the run of
irrelevant records and the estimate from them use only the decisions from `sample_start` on.
- `estimate_remaining`: relevant records still unscreened, with an interval, by inverting
  the stopping test (see its docstring); p-values within 1e-8 of a level are compared with
  it exactly, in integers (`hypergeom_cdf_exact`).

The hypergeometric CDF (`hypergeom_cdf`) and the Clopper-Pearson interval are computed here
with numpy, from a table of log factorials, instead of with scipy.stats: importing
scipy.stats costs about a second in every command that shows the statistics, and its
hypergeometric CDF took 11-23 s for the stopping test on 20,000-60,000 screened records
(this one: 0.06-0.2 s; the tests compare both on random cases).

Imports: numpy only (plus the standard library); scipy.stats only as a fallback for a CDF
whose sum does not converge in `_MAX_STEPS` terms (never met in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

_MAX_STEPS = 4000
"""Terms summed per CDF before falling back to scipy.stats."""
_log_fact = np.zeros(1)


def _log_factorials(n: int) -> np.ndarray:
    """log(i!) for i = 0..n (at least), kept and grown as needed."""
    global _log_fact
    if _log_fact.size <= n:
        size = max(n + 1, 2 * _log_fact.size)
        table = np.zeros(size)
        table[1:] = np.cumsum(np.log(np.arange(1, size, dtype=np.float64)))
        _log_fact = table
    return _log_fact


def hypergeom_cdf(x: Any, urn: Any, successes: Any, draws: Any) -> np.ndarray:
    """P(X <= x) for X ~ Hypergeometric(`urn` items, `successes` of them marked, `draws`
    drawn without replacement); array arguments broadcast, the result is 1-d.

    Sums the probabilities of the tail away from the mode, starting at x (lower tail) or
    x + 1 (upper tail, then 1 − it), each term from the last by the ratio of consecutive
    probabilities. The distribution is log-concave, so the ratios shrink along the tail and
    the sum stops once the rest is below 1e-17 of it. Relative error about 1e-10 on
    p-values down to 1e-250 (tested against scipy.stats.hypergeom).
    """
    x, M, K, N = (np.ravel(a).astype(np.int64)
                  for a in np.broadcast_arrays(x, urn, successes, draws))
    lo = np.maximum(0, N - (M - K))
    hi = np.minimum(K, N)
    out = np.where(x >= hi, 1.0, 0.0)
    idx = np.flatnonzero((x >= lo) & (x < hi))
    if idx.size == 0:
        return out
    x, M, K, N, lo, hi = (a[idx] for a in (x, M, K, N, lo, hi))
    lf = _log_factorials(int(M.max()))
    below = x < ((N + 1) * (K + 1)) // (M + 2)  # x below the mode: sum the lower tail
    i = np.where(below, x, x + 1)
    term = np.exp(lf[K] - lf[i] - lf[K - i] + lf[M - K] - lf[N - i] - lf[M - K - N + i]
                  - lf[M] + lf[N] + lf[M - N])
    total = term.copy()
    active = np.ones(idx.size, bool)
    for _ in range(_MAX_STEPS):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        ia, ka, na, ma, ba = i[a], K[a], N[a], M[a], below[a]
        down = ba & (ia > lo[a])
        up = ~ba & (ia < hi[a])
        ratio = np.zeros(a.size)
        d, u = np.flatnonzero(down), np.flatnonzero(up)
        ratio[d] = (ia[d] * (ma[d] - ka[d] - na[d] + ia[d])) / (
            (ka[d] - ia[d] + 1.0) * (na[d] - ia[d] + 1.0))
        ratio[u] = ((ka[u] - ia[u]) * (na[u] - ia[u])) / (
            (ia[u] + 1.0) * (ma[u] - ka[u] - na[u] + ia[u] + 1.0))
        step = down | up
        new = term[a] * ratio
        term[a] = new
        total[a] += new
        i[a] = ia + np.where(ba, -1, 1) * step
        # the rest of the tail is below new * ratio / (1 - ratio)
        done = ~step | (new * ratio < 1e-17 * total[a] * np.maximum(1.0 - ratio, 1e-300))
        active[a[done]] = False
    if active.any():  # pragma: no cover - a fallback no test case reaches
        from scipy.stats import hypergeom

        a = np.flatnonzero(active)
        cdf = hypergeom.cdf(x[a], M[a], K[a], N[a])
        total[a] = np.where(below[a], cdf, 1.0 - cdf)
    out[idx] = np.where(below, total, 1.0 - total)
    return np.clip(out, 0.0, 1.0)


def _binomial_upper_tail(successes: int, trials: int, p: np.ndarray) -> np.ndarray:
    """P(X >= successes) for X ~ Binomial(trials, p), for each p in (0, 1)."""
    lf = _log_factorials(trials)
    i = np.arange(successes, trials + 1)
    log_c = lf[trials] - lf[i] - lf[trials - i]
    logs = (log_c[None, :] + i[None, :] * np.log(p)[:, None]
            + (trials - i)[None, :] * np.log1p(-p)[:, None])
    top = logs.max(axis=1, keepdims=True)
    tail: np.ndarray = np.exp(top[:, 0]) * np.exp(logs - top).sum(axis=1)
    return tail


def _solve_increasing(f: Any, target: float) -> float:
    """p in (0, 1) with f(p) = target, f increasing: bisection to double precision."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if f(np.array([mid]))[0] < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _as_array(labels_in_order: Sequence[int]) -> np.ndarray:
    arr = np.asarray(labels_in_order, dtype=np.int64)
    if arr.ndim != 1 or (arr.size and not np.isin(arr, (0, 1)).all()):
        raise ValueError("labels must be a sequence of 0/1")
    return arr


def _sample_size(n: int, sample_start: int) -> int:
    """How many of the n screened may be in the sample: those from `sample_start` on."""
    if not 0 <= sample_start <= n:
        raise ValueError(f"sample_start must be in 0..{n} (the records screened)")
    return n - sample_start


def stopping_test(
    labels_in_order: Sequence[int], n_total: int, recall_target: float = 0.95,
    *, sample_start: int = 0,
) -> float:
    """p-value for H0 "recall < `recall_target`" (Callaghan & Müller-Hansen 2020).

    Small values are evidence that the target has been reached. Returns 1.0 when nothing
    has been screened, or nothing from `sample_start` on (see the module docstring).
    Minimum over all sample sizes k (`hypergeom_cdf`) up to the records screened from
    `sample_start` on.
    """
    y = _as_array(labels_in_order)
    n = len(y)
    if n > n_total:
        raise ValueError("more records screened than in total")
    if not 0 < recall_target <= 1:
        raise ValueError("recall_target must be in (0, 1]")
    terms = _test_terms(y, n_total, recall_target, sample_start)
    if terms is None:
        return 1.0
    return float(min(1.0, max(0.0, terms[-1].min())))


def _test_terms(y: np.ndarray, n_total: int, recall_target: float, sample_start: int = 0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Per sample size k (the last k screened): (relevant among them, the urn, the relevant
    H0 puts in it, k, the p-value); None with no sample."""
    n = len(y)
    size = _sample_size(n, sample_start)
    if size == 0:
        return None
    r_seen = int(y.sum())
    rev = y[::-1][:size]
    k = np.arange(1, size + 1)  # sample size: the last k screened
    k_rel = np.cumsum(rev)  # relevant among them
    urn = n_total - n + k  # records unscreened before the sample
    r_before = r_seen - k_rel
    k_min = np.floor(r_seen / recall_target - r_before + 1e-12).astype(np.int64) + 1
    k_min = np.maximum(k_min, 0)
    p = np.ones(size)
    possible = k_min <= urn
    p[~possible] = 0.0  # H0 cannot hold: the urn is too small for that many relevant
    idx = np.flatnonzero(possible)
    if idx.size:
        p[idx] = hypergeom_cdf(k_rel[idx], urn[idx], k_min[idx], k[idx])
    return k_rel, urn, k_min, k, p


def says_stop(labels_in_order: Sequence[int], n_total: int, recall_target: float = 0.95,
              confidence: float = 0.95, *, sample_start: int = 0) -> bool:
    """Whether `stopping_test`'s p-value is below 1 − `confidence`, decided exactly where
    the float is too close to tell: a p-value equal to the level (1/20 with 20 records,
    whose float 0.05000000000000003 is below the float of 1 − 0.95) is not below it. The
    estimate of the records left decides its ends the same way (`_LeftTest.below`), so a
    rule that says stop never stands beside a recall bound under its target."""
    y = _as_array(labels_in_order)
    if len(y) > n_total:
        raise ValueError("more records screened than in total")
    terms = _test_terms(y, n_total, recall_target, sample_start)
    if terms is None:
        return False
    k_rel, urn, k_min, k, p = terms
    return _any_below(p, k_rel, urn, k_min, k, 1 - Fraction(str(confidence)))


def _any_below(p: np.ndarray, x: np.ndarray, urn: np.ndarray, successes: np.ndarray,
               draws: np.ndarray, q: Fraction) -> bool:
    """Whether any of the p-values `p` (`hypergeom_cdf(x, urn, successes, draws)`) is below
    the level `q`, decided exactly: a p-value that equals `q` (1/2, 1/20) is not below it,
    however the floats round. Only those whose float lies within `_TIE` of `q` are
    recomputed exactly (`hypergeom_cdf_exact`)."""
    level = float(q)
    if (p < level * (1 - _TIE)).any():
        return True
    return any(hypergeom_cdf_exact(int(x[j]), int(urn[j]), int(successes[j]),
                                   int(draws[j])) < q
               for j in np.flatnonzero(np.abs(p - level) <= level * _TIE))


def consecutive_irrelevant(labels_in_order: Sequence[int], *, sample_start: int = 0) -> int:
    """Number of irrelevant records screened since the last relevant one (all of them if
    none was relevant), counting only those from `sample_start` on."""
    y = _as_array(labels_in_order)
    size = _sample_size(len(y), sample_start)
    ones = np.flatnonzero(y == 1)
    return min(size, int(len(y) if ones.size == 0 else len(y) - 1 - ones[-1]))


@dataclass(frozen=True)
class Estimate:
    """A point estimate with an interval."""

    point: float
    low: float
    high: float
    method: str = ""
    """How it was computed."""


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for a proportion: the p at which seeing `successes` or more
    (low) or `successes` or fewer (high) has probability (1 − confidence) / 2."""
    if trials <= 0:
        return 0.0, 1.0
    a = (1 - confidence) / 2
    low = 0.0 if successes == 0 else _solve_increasing(
        lambda p: _binomial_upper_tail(successes, trials, p), a)
    high = 1.0 if successes == trials else _solve_increasing(
        lambda p: _binomial_upper_tail(successes + 1, trials, p), 1 - a)
    return low, high


_ALL_K_UP_TO = 1000
_K_GRID = 300
"""`estimate_remaining` scans every sample size up to `_ALL_K_UP_TO` screened records;
beyond, those plus a geometric grid of `_K_GRID` larger ones (see its docstring)."""


_TIE = 1e-8
"""Relative distance from a level within which `_any_below` recomputes a p-value
exactly: `hypergeom_cdf`'s relative error is about 1e-10, so outside this band the float's
side of the level is the exact value's side."""


def hypergeom_cdf_exact(x: int, urn: int, successes: int, draws: int) -> Fraction:
    """P(X <= x) as `hypergeom_cdf`, exactly: integer counts of the draws, as a fraction."""
    lo, hi = max(0, draws - (urn - successes)), min(successes, draws)
    if x >= hi:
        return Fraction(1)
    if x < lo:
        return Fraction(0)
    # C(K, i) C(M - K, N - i), each from the one before (an exact integer division)
    term = math.comb(successes, lo) * math.comb(urn - successes, draws - lo)
    total = term
    for i in range(lo, x):
        term = term * (successes - i) * (draws - i) // (
            (i + 1) * (urn - successes - draws + i + 1))
        total += term
    return Fraction(total, math.comb(urn, draws))


class _LeftTest:
    """The stopping test's p-value for H0 "at least m relevant records are unscreened", as
    a function of m: the smallest, over sample sizes k (the last k screened, `k_rel` of them
    relevant), of P(X <= k_rel), X ~ Hypergeometric(left + k records, k_rel + m relevant,
    k drawn). It falls as m grows. Values are kept, as the three searches of
    `estimate_remaining` ask for some of the same m."""

    def __init__(self, k_rel: np.ndarray, ks: np.ndarray, left: int) -> None:
        self.k_rel, self.ks, self.left = k_rel, ks, left
        self.seen: dict[int, np.ndarray] = {}

    def below(self, m: int, q: Fraction) -> bool:
        """Whether the p-value at m is below the level `q`, decided exactly (`_any_below`)."""
        if m <= 0:
            return False
        if m > self.left:
            return True
        return _any_below(self.p_values(m), self.k_rel, self.left + self.ks, self.k_rel + m,
                          self.ks, q)

    def p_values(self, m: int) -> np.ndarray:
        """P(X <= k_rel) at m (1 <= m <= left) for each sample size of `ks`, computed once
        per m (`seen`): the three searches ask for some of the same m, and the low end
        takes the sample size of the smallest at the point."""
        if m not in self.seen:
            self.seen[m] = hypergeom_cdf(self.k_rel, self.left + self.ks, self.k_rel + m,
                                         self.ks)
        return self.seen[m]

    def too_few(self, m: int, j: int, q: Fraction) -> bool:
        """Whether the other tail rules out "m relevant records left" as too few, on the
        sample of the last `ks[j]` screened: seeing at least the `k_rel[j]` relevant seen
        there has probability P(X >= k_rel[j]) below the level `q` (decided exactly, as
        `below`). Counted by the irrelevant drawn, Y = k − X ~ Hypergeometric(left + k,
        left + k − k_rel − m, k): P(X >= k_rel) = P(Y <= k − k_rel). It rules out fewer as
        m grows; with nothing relevant in the sample, none (P(X >= 0) = 1)."""
        if m > self.left:
            return False
        k, rel = self.ks[j:j + 1], self.k_rel[j:j + 1]
        args = (k - rel, self.left + k, self.left + k - rel - m, k)
        return _any_below(hypergeom_cdf(*args), *args, q)

    def smallest_below(self, q: Fraction, lo: int, hi: int) -> int:
        """Smallest m in lo..hi with p(m) < q (p(hi) < q), to within 0.5 % of m: the
        answer may be up to that much larger than the exact one, never smaller."""
        return self._smallest(lambda m: self.below(m, q), lo, hi)

    def smallest_kept(self, j: int, q: Fraction, lo: int, hi: int) -> int:
        """Smallest m in lo..hi that `too_few` does not rule out on the sample `j` at the
        level `q` (hi is not ruled out), within 0.5 % of m as `smallest_below`."""
        return self._smallest(lambda m: not self.too_few(m, j, q), lo, hi)

    @staticmethod
    def _smallest(holds: Callable[[int], bool], lo: int, hi: int) -> int:
        """Smallest m in lo..hi at which `holds` (false up to some m, then true; true at
        hi), to within 0.5 % of m: up to that much larger than the exact one."""
        while hi - lo > max(0, int(0.005 * lo)):
            mid = (lo + hi) // 2
            if holds(mid):
                hi = mid
            else:
                lo = mid + 1
        return hi


def estimate_remaining(
    labels_in_order: Sequence[int],
    n_total: int,
    *,
    confidence: float = 0.95,
    method: str = "test",
    window: int = 200,
    sample_start: int = 0,
) -> Estimate:
    """Relevant records still among the N − n unscreened.

    `method="test"` (the default) inverts the stopping test (`stopping_test`; the idea of
    buscar's recall frontier, Callaghan & Müller-Hansen 2020). Recall < t is the same
    hypothesis as "at least m relevant records left", m = floor(found × (1/t − 1)) + 1, and
    the test's p-value falls as m grows. The point estimate is the m at which it crosses
    0.5, minus one (a median); the high end where it crosses 1 − confidence, a one-sided
    bound at the confidence the stopping rule uses. The low end is a one-sided bound at
    that confidence by the other tail (as Clopper-Pearson's lower end): on the sample the
    point rests on (the last k screened whose p-value is smallest at the point + 1, k_rel
    of them relevant), the fewest m left for which P(X >= k_rel) >= 1 − confidence,
    X ~ Hypergeometric(left + k records, k_rel + m relevant, k drawn); so with nothing
    relevant in that sample it is 0 (until 30 Nov 2026 it was where the test's own
    P(X <= k_rel) crossed `confidence`, which is no lower bound: 13 left after 10
    irrelevant records of 1,333 and nothing relevant). For 95 % the two ends together make
    a 90 % interval. The high end is thus
    the test's own verdict: when the test says stop for a recall target t, recall
    found / (found + high) is at least t; with (1 − confidence) / 2 (before 29 Nov 2026)
    it could read 0.92 beside a rule met at 0.95. "Crosses" means strictly below, decided
    exactly: a p-value equal to the level (which happens: 6/12 = 0.5) does not cross it,
    although its float may round below (`_LeftTest.below`). So "at most `high` left" holds with the
    test's own confidence: recall is at least found / (found + high). Like the test, it
    treats the last k screened as a random sample of what was left, which prioritised
    screening makes richer than the rest, so it leans high (recall too low); measured
    against the truth in benchmarks/recall_estimate.py. The scan covers every sample size
    up to `_ALL_K_UP_TO` (1,000) and beyond that `_K_GRID` (300) larger ones on a geometric
    grid, to keep it well under a second at 100,000 records (a minimum over fewer sizes can
    only make the bound more cautious).

    With `sample_start`, only the records screened from that index on make the sample (see
    the module docstring); with none, nothing is known of the records left: the point and
    the high end are all of them, the low end none ("nothing screened since the sample
    start").

    `method="window"` (the estimate before 28 Nov 2026, kept for comparison): the relevant
    share of the last `window` screened records × (N − n), with a Clopper-Pearson interval
    of that share.
    """
    y = _as_array(labels_in_order)
    n = len(y)
    left = n_total - n
    if left < 0:
        raise ValueError("more records screened than in total")
    size = _sample_size(n, sample_start)
    if n == 0 or left == 0:
        return Estimate(0.0, 0.0, float(left), "nothing screened" if n == 0 else "none left")
    if size == 0:
        return Estimate(float(left), 0.0, float(left), "nothing screened since the sample start")
    if method == "window":
        recent = y[-min(window, size):] if window > 0 else y[sample_start:]
        w, k = len(recent), int(recent.sum())
        low, high = clopper_pearson(k, w, confidence)
        return Estimate(
            point=k / w * left, low=low * left, high=high * left,
            method=f"rate in last {w} screened x {left} unscreened; "
                   f"{confidence:.0%} Clopper-Pearson")
    if method != "test":
        raise ValueError(f"unknown method {method!r} (test or window)")
    ks = np.arange(1, size + 1)
    if size > _ALL_K_UP_TO:
        grid = np.unique(np.round(np.geomspace(_ALL_K_UP_TO, size, _K_GRID)).astype(np.int64))
        ks = np.concatenate([np.arange(1, _ALL_K_UP_TO), grid])
    test = _LeftTest(np.cumsum(y[::-1])[ks - 1], ks, left)
    # the levels as the decimals they were written as (0.95 is 19/20, not 1 - 5e-2 + 4e-17)
    tail = 1 - Fraction(repr(float(confidence)))
    mid = test.smallest_below(Fraction(1, 2), 1, left + 1)
    high = test.smallest_below(tail, mid, left + 1) - 1
    # the low end, by the other tail (as Clopper-Pearson's), on the sample the point rests
    # on (the k whose p-value is smallest where it crosses 1/2): the fewest left under which
    # seeing at least the relevant records seen there is not below 1 − confidence. At the
    # point it is above 1/2 (one relevant more in the urn shifts X by at most one), so the
    # low end is at most the point. Within 0.5 % of m, rounded down: it errs low, as the
    # high end errs high.
    j = int(np.argmin(test.p_values(min(mid, left))))
    low = max(0, test.smallest_kept(j, tail, 0, mid - 1) - int(0.005 * mid))
    point = mid - 1
    return Estimate(
        point=float(point), low=float(low), high=float(high),
        method=f"stopping test inverted (Callaghan & Mueller-Hansen 2020); "
               f"each end a one-sided {confidence:.0%} bound")


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the SAFE checklist."""

    name: str
    value: float
    threshold: float
    passed: bool


@dataclass(frozen=True)
class SafeChecklist:
    """SAFE procedure stopping heuristics (Boetje & van de Schoot 2024)."""

    screened_fraction: ChecklistItem
    """At least 10 % of all records screened."""
    twice_estimated_relevant: ChecklistItem
    """Screened at least twice the estimated number of relevant records."""
    consecutive_irrelevant: ChecklistItem
    """At least N (default 50) irrelevant records in a row."""
    key_papers: ChecklistItem
    """Every key paper found (value = share found; passes when there are none)."""

    @property
    def items(self) -> tuple[ChecklistItem, ...]:
        return (self.screened_fraction, self.twice_estimated_relevant,
                self.consecutive_irrelevant, self.key_papers)

    @property
    def all_passed(self) -> bool:
        return all(i.passed for i in self.items)


def safe_checklist(
    labels_in_order: Sequence[int],
    n_total: int,
    *,
    estimated_relevant: float | None = None,
    consecutive_threshold: int = 50,
    min_fraction: float = 0.10,
    key_papers: Collection[str] = (),
    found_ids: Collection[str] = (),
    sample_start: int = 0,
) -> SafeChecklist:
    """Evaluate the SAFE checklist.

    `estimated_relevant` is the expected number of relevant records in the whole set
    (e.g. from a random sample screened at the start); if None, found + the point of
    `estimate_remaining` is used, and before anything relevant is found there is no
    estimate to double, so the item asks for every record. It never asks for more than
    every record (`n_total`). `key_papers` are ids that must be among `found_ids`
    (the ids of the records included so far). `sample_start` as in `estimate_remaining`
    and `consecutive_irrelevant`: the estimate and the run use only the records screened
    from there on; the screened fraction counts every record screened.
    """
    y = _as_array(labels_in_order)
    n = len(y)
    frac = n / n_total if n_total else 0.0
    twice = None
    if estimated_relevant is None:
        estimated_relevant = float(y.sum()) + estimate_remaining(
            y.tolist(), n_total, sample_start=sample_start).point
        if not y.sum():  # nothing relevant found yet: no estimate to double, so every record
            twice = float(n_total)
    # more than every record is never asked: screening them all meets the item
    twice = min(2.0 * estimated_relevant if twice is None else twice, float(n_total))
    run = consecutive_irrelevant(y.tolist(), sample_start=sample_start)
    found = set(found_ids)
    n_key = len(set(key_papers))
    key_share = 1.0 if n_key == 0 else len(set(key_papers) & found) / n_key
    return SafeChecklist(
        screened_fraction=ChecklistItem("screened fraction", frac, min_fraction, frac >= min_fraction),
        twice_estimated_relevant=ChecklistItem(
            "screened / (2 x estimated relevant)", float(n), twice, n >= twice),
        consecutive_irrelevant=ChecklistItem(
            "consecutive irrelevant", float(run), float(consecutive_threshold),
            run >= consecutive_threshold),
        key_papers=ChecklistItem("key papers found", key_share, 1.0, key_share >= 1.0),
    )


@dataclass(frozen=True)
class StoppingSummary:
    """Everything the UI shows about stopping, for one moment of the screening."""

    n_screened: int
    n_total: int
    n_relevant_found: int
    consecutive_irrelevant: int
    recall_target: float
    p_value: float
    """`stopping_test` p-value for H0 'recall < recall_target'."""
    confidence: float
    stop_by_test: bool
    """p_value < 1 − confidence."""
    remaining: Estimate
    safe: SafeChecklist
    sample_start: int = 0
    """The index from which the screened records made the sample (module docstring)."""


def summarise(
    labels_in_order: Sequence[int],
    n_total: int,
    *,
    recall_target: float = 0.95,
    confidence: float = 0.95,
    key_papers: Collection[str] = (),
    found_ids: Collection[str] = (),
    consecutive_threshold: int = 50,
    sample_start: int = 0,
) -> StoppingSummary:
    """All stopping statistics at once; the sample from `sample_start` on (see the module
    docstring)."""
    y = _as_array(labels_in_order).tolist()
    p = stopping_test(y, n_total, recall_target, sample_start=sample_start)
    return StoppingSummary(
        n_screened=len(y), n_total=n_total, n_relevant_found=int(sum(y)),
        consecutive_irrelevant=consecutive_irrelevant(y, sample_start=sample_start),
        recall_target=recall_target, p_value=p, confidence=confidence,
        stop_by_test=says_stop(y, n_total, recall_target, confidence, sample_start=sample_start),
        remaining=estimate_remaining(y, n_total, confidence=confidence,
                                     sample_start=sample_start),
        safe=safe_checklist(y, n_total, key_papers=key_papers, found_ids=found_ids,
                            consecutive_threshold=consecutive_threshold,
                            sample_start=sample_start),
        sample_start=sample_start,
    )


@dataclass(frozen=True)
class StopPoint:
    """Where a stopping rule first says stop in a screening whose every label is known."""

    rule: str
    """"stopping test", "SAFE checklist" or "consecutive irrelevant"."""
    screened: int | None
    """Records screened when the rule first says stop; None: it never does within
    `within` records."""
    recall: float | None
    """True recall there: relevant records found / all relevant records."""
    work_saved: float | None
    """1 − screened / N."""
    within: int
    """Records the rule was replayed over (N when the order is complete)."""

    def to_dict(self) -> dict[str, Any]:
        return {"met": self.screened is not None, "screened": self.screened,
                "recall": self.recall, "work_saved": self.work_saved, "within": self.within}


def first_stop(labels_in_order: Sequence[int], n_total: int, recall_target: float = 0.95,
               confidence: float = 0.95) -> int | None:
    """Smallest number of screened records at which `stopping_test` says stop
    (p < 1 − confidence, as `summarise`), as if the test were applied after every record;
    None: never.

    An irrelevant record never raises the p-value (the test's sample of the last k records,
    with one more irrelevant draw, is at least as unlikely under H0 as the last k − 1
    before it), so within a stretch of irrelevant records the p-value only falls: the test
    is asked at the end of each stretch and, where it says stop there, the stretch is
    searched by halves for the first record at which it does. That asks it about twice per
    relevant record plus a few times per stop, instead of once per record (a pool of 40,000
    took 8 minutes that way)."""
    y = _as_array(labels_in_order).tolist()

    def stops(i: int) -> bool:
        return says_stop(y[:i], n_total, recall_target, confidence)

    i = 1
    while i <= len(y):
        if y[i - 1]:  # a relevant record: the p-value may rise or fall, ask here
            if stops(i):
                return i
            i += 1
            continue
        end = i  # the stretch of irrelevant records i..end
        while end < len(y) and not y[end]:
            end += 1
        if stops(end):
            lo, hi = i, end  # the first that stops lies in lo..hi
            while lo < hi:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if stops(mid) else (mid + 1, hi)
            return hi
        i = end + 1
    return None


def first_run(labels_in_order: Sequence[int], run: int) -> int | None:
    """Smallest number of screened records ending in `run` irrelevant ones in a row."""
    zeros = 0
    for i, y in enumerate(_as_array(labels_in_order).tolist(), 1):
        zeros = 0 if y else zeros + 1
        if zeros >= run:
            return i
    return None


def first_safe(labels_in_order: Sequence[int], n_total: int, *,
               consecutive_threshold: int = 50, min_fraction: float = 0.10) -> int | None:
    """Smallest number of screened records at which every item of `safe_checklist` passes
    (no key papers); None: never."""
    y = _as_array(labels_in_order).tolist()
    run = 0
    for i in range(1, len(y) + 1):
        run = 0 if y[i - 1] else run + 1
        # the estimate behind "twice the estimated relevant" costs most: ask for the
        # checklist only where its two cheap items pass (as the checklist decides them)
        if (run >= consecutive_threshold and i / n_total >= min_fraction
                and safe_checklist(y[:i], n_total, consecutive_threshold=consecutive_threshold,
                                   min_fraction=min_fraction).all_passed):
            return i
    return None


def stop_points(
    labels_in_order: Sequence[int],
    n_total: int,
    n_relevant: int,
    *,
    recall_target: float = 0.95,
    confidence: float = 0.95,
    consecutive_threshold: int = 50,
    min_fraction: float = 0.10,
) -> tuple[StopPoint, StopPoint, StopPoint]:
    """Where the stopping test, the SAFE checklist (without key papers) and the run of
    `consecutive_threshold` irrelevant records first say stop, for a screening of
    `n_total` records holding `n_relevant` relevant ones, presented in this order.

    When the labels hold every relevant record, the records not presented are all
    irrelevant, so the order is completed with zeros and each rule replayed over all
    `n_total`; otherwise only over the records presented (a rule not met there may yet be
    met later: `within` says how far it was replayed)."""
    y = _as_array(labels_in_order).tolist()
    if len(y) > n_total or sum(y) > n_relevant:
        raise ValueError("more records or relevant records presented than in total")
    if sum(y) == n_relevant:
        y += [0] * (n_total - len(y))
    found = np.cumsum([0, *y])

    def point(rule: str, at: int | None) -> StopPoint:
        if at is None:
            return StopPoint(rule, None, None, None, len(y))
        recall = float(found[at]) / n_relevant if n_relevant else 1.0
        return StopPoint(rule, at, recall, 1 - at / n_total, len(y))

    return (point("stopping test", first_stop(y, n_total, recall_target, confidence)),
            point("SAFE checklist", first_safe(y, n_total,
                                               consecutive_threshold=consecutive_threshold,
                                               min_fraction=min_fraction)),
            point("consecutive irrelevant", first_run(y, consecutive_threshold)))
