"""Inter-rater agreement for a pair of reviewers: counts table, percent agreement, Cohen's
kappa with a 95% confidence interval, PABAK and Gwet's AC1; and among three or more
reviewers who each screened the same records, Fleiss' kappa.

Pure domain: standard library only (math). The workflow layer pairs reviewers' current
decisions on the records both screened and calls `pair_agreement`.

Formulas, for a k×k table of proportions p_ij (rows: reviewer A, columns: reviewer B),
p_o = Σ p_ii, row margins p_i., column margins p_.j:

- Cohen's kappa (Cohen 1960): κ = (p_o − p_e) / (1 − p_e), p_e = Σ p_i. p_.i
- Standard error: the large-sample (non-null) SE of Fleiss, Cohen & Everitt (1969),
  "Large sample standard errors of kappa and weighted kappa", Psychol Bull 72:323-327
  (also Fleiss, Levin & Paik 2003, eq. 18.13):
  SE² = [Σ_i p_ii (1 − (p_i. + p_.i)(1 − κ))² + (1 − κ)² Σ_{i≠j} p_ij (p_.i + p_j.)²
         − (κ − p_e (1 − κ))²] / (n (1 − p_e)²);
  95% CI = κ ± 1.96·SE (clipped to [−1, 1]); not given below MIN_N_FOR_CI records or when
  the SE is 0 (a large-sample interval of zero width at n = 2 would suggest certainty).
- PABAK (Byrt, Bishop & Carlin 1993): (k·p_o − 1) / (k − 1), i.e. 2·p_o − 1 for 2×2.
- Gwet's AC1 (Gwet 2008, Br J Math Stat Psychol 61:29-48): (p_o − p_e) / (1 − p_e) with
  p_e = Σ_k π_k (1 − π_k) / (k − 1), π_k = (p_k. + p_.k) / 2. Unlike kappa it stays
  high when both reviewers agree that includes are rare (the "kappa paradox").

For N records each labelled by the same number m ≥ 2 of reviewers (not necessarily the
same reviewers), n_ij = how many gave record i category j:

- Fleiss' kappa (Fleiss 1971, "Measuring nominal scale agreement among many raters",
  Psychol Bull 76:378-382): P_i = (Σ_j n_ij² − m) / (m (m − 1)), P̄ = mean P_i,
  p_j = Σ_i n_ij / (N m), P̄_e = Σ_j p_j², κ = (P̄ − P̄_e) / (1 − P̄_e).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054
"""Standard normal quantile for a two-sided 95% interval."""
MIN_N_FOR_CI = 10
"""Fewest records both reviewers screened for which kappa's large-sample interval is given."""


@dataclass(frozen=True, slots=True)
class AgreementStats:
    """Agreement between two reviewers over the records both screened."""

    categories: tuple[str, ...]
    """Labels in table order (e.g. include, exclude; or include, maybe, exclude)."""
    table: tuple[tuple[int, ...], ...]
    """Counts: table[i][j] = records reviewer A labelled categories[i] and B categories[j]."""
    n: int
    """Records both reviewers screened."""
    percent_agreement: float | None
    """100·p_o; None when n is 0."""
    kappa: float | None
    """Cohen's kappa; None when undefined (n = 0, or both used one and the same label only)."""
    kappa_se: float | None
    """Fleiss, Cohen & Everitt (1969) large-sample standard error of kappa."""
    kappa_ci: tuple[float, float] | None
    """95% confidence interval κ ± 1.96·SE, clipped to [−1, 1]."""
    pabak: float | None
    """Prevalence- and bias-adjusted kappa: (k·p_o − 1)/(k − 1)."""
    ac1: float | None
    """Gwet's AC1."""

    def as_dict(self) -> dict[str, object]:
        return {
            "categories": list(self.categories), "table": [list(r) for r in self.table],
            "n": self.n, "percent_agreement": self.percent_agreement, "kappa": self.kappa,
            "kappa_se": self.kappa_se,
            "kappa_ci95": list(self.kappa_ci) if self.kappa_ci else None,
            "pabak": self.pabak, "ac1": self.ac1,
        }


def counts_table(labels_a: Sequence[str], labels_b: Sequence[str],
                 categories: Sequence[str]) -> tuple[tuple[int, ...], ...]:
    """Cross-tabulate two aligned label sequences over `categories` (rows: A, columns: B)."""
    if len(labels_a) != len(labels_b):
        raise ValueError("the two reviewers' label lists must be aligned (same length)")
    index = {c: i for i, c in enumerate(categories)}
    k = len(categories)
    table = [[0] * k for _ in range(k)]
    for a, b in zip(labels_a, labels_b, strict=True):
        if a not in index or b not in index:
            raise ValueError(f"label {a if a not in index else b!r} is not one of {list(categories)}")
        table[index[a]][index[b]] += 1
    return tuple(tuple(row) for row in table)


def _proportions(table: Sequence[Sequence[int]]) -> tuple[int, list[list[float]]]:
    n = sum(sum(row) for row in table)
    if n == 0:
        return 0, []
    return n, [[c / n for c in row] for row in table]


def cohen_kappa(table: Sequence[Sequence[int]]) -> tuple[float | None, float | None]:
    """(kappa, Fleiss-Cohen-Everitt large-sample SE) for a square counts table."""
    n, p = _proportions(table)
    if n == 0:
        return None, None
    k = len(p)
    rows = [sum(p[i]) for i in range(k)]
    cols = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum(p[i][i] for i in range(k))
    pe = sum(rows[i] * cols[i] for i in range(k))
    if math.isclose(pe, 1.0):
        return None, None
    kappa = (po - pe) / (1 - pe)
    diag = sum(p[i][i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(k))
    off = (1 - kappa) ** 2 * sum(p[i][j] * (cols[i] + rows[j]) ** 2
                                 for i in range(k) for j in range(k) if i != j)
    var = (diag + off - (kappa - pe * (1 - kappa)) ** 2) / (n * (1 - pe) ** 2)
    return kappa, math.sqrt(max(var, 0.0))


def pabak(table: Sequence[Sequence[int]]) -> float | None:
    """Prevalence- and bias-adjusted kappa: (k·p_o − 1)/(k − 1) (2·p_o − 1 for two labels)."""
    n, p = _proportions(table)
    k = len(table)
    if n == 0 or k < 2:
        return None
    po = sum(p[i][i] for i in range(k))
    return (k * po - 1) / (k - 1)


def gwet_ac1(table: Sequence[Sequence[int]]) -> float | None:
    """Gwet's (2008) first-order agreement coefficient AC1."""
    n, p = _proportions(table)
    k = len(table)
    if n == 0 or k < 2:
        return None
    po = sum(p[i][i] for i in range(k))
    pi = [(sum(p[i]) + sum(p[j][i] for j in range(k))) / 2 for i in range(k)]
    pe = sum(x * (1 - x) for x in pi) / (k - 1)
    return (po - pe) / (1 - pe)


def table_agreement(categories: Sequence[str],
                    table: Sequence[Sequence[int]]) -> AgreementStats:
    """All statistics for a counts table."""
    n = sum(sum(row) for row in table)
    po = sum(table[i][i] for i in range(len(table))) / n if n else None
    kappa, se = cohen_kappa(table)
    ci = None
    if kappa is not None and se is not None and se > 0 and n >= MIN_N_FOR_CI:
        ci = (max(-1.0, kappa - Z_95 * se), min(1.0, kappa + Z_95 * se))
    return AgreementStats(
        categories=tuple(categories), table=tuple(tuple(r) for r in table), n=n,
        percent_agreement=100 * po if po is not None else None, kappa=kappa, kappa_se=se,
        kappa_ci=ci, pabak=pabak(table), ac1=gwet_ac1(table))


def pair_agreement(labels_a: Sequence[str], labels_b: Sequence[str],
                   categories: Sequence[str]) -> AgreementStats:
    """All statistics for two reviewers' aligned labels on the records both screened."""
    return table_agreement(categories, counts_table(labels_a, labels_b, categories))


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Agreement among the reviewers of records each screened by the same number of them."""

    categories: tuple[str, ...]
    n: int
    """Records."""
    raters: int
    """Reviewers per record (m)."""
    percent_agreement: float | None
    """100·P̄: the mean share of agreeing reviewer pairs per record; None when n is 0."""
    kappa: float | None
    """Fleiss' kappa; None when undefined (n = 0, or every label the same)."""

    def as_dict(self) -> dict[str, object]:
        return {"categories": list(self.categories), "n": self.n,
                "reviewers_per_record": self.raters,
                "percent_agreement": self.percent_agreement, "fleiss_kappa": self.kappa}


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> tuple[float | None, float | None]:
    """(P̄, Fleiss' kappa) for counts[i][j] = reviewers who gave record i category j; every
    row must sum to the same m ≥ 2. (None, None) without records; kappa None when P̄_e = 1."""
    if not counts:
        return None, None
    m = sum(counts[0])
    if m < 2 or any(sum(row) != m for row in counts):
        raise ValueError("Fleiss' kappa needs the same number (2 or more) of ratings per "
                         "record")
    n = len(counts)
    k = len(counts[0])
    p_bar = sum((sum(c * c for c in row) - m) / (m * (m - 1)) for row in counts) / n
    shares = [sum(row[j] for row in counts) / (n * m) for j in range(k)]
    p_e = sum(p * p for p in shares)
    if math.isclose(p_e, 1.0):
        return p_bar, None
    return p_bar, (p_bar - p_e) / (1 - p_e)


def group_agreement(labels: Sequence[Sequence[str]], categories: Sequence[str]) -> GroupStats:
    """Fleiss' kappa and mean agreement for records (one label list each, all of one
    length m ≥ 2, in any reviewer order) over `categories`."""
    index = {c: i for i, c in enumerate(categories)}
    counts = []
    for given in labels:
        row = [0] * len(categories)
        for label in given:
            if label not in index:
                raise ValueError(f"label {label!r} is not one of {list(categories)}")
            row[index[label]] += 1
        counts.append(row)
    p_bar, kappa = fleiss_kappa(counts)
    return GroupStats(tuple(categories), len(counts), len(labels[0]) if labels else 0,
                      100 * p_bar if p_bar is not None else None, kappa)
