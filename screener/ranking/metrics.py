"""Screening-simulation metrics: WSS, recall at 10 %, average time to discovery.

Definitions (as in the shared anchors README and Cohen et al. 2006): the pool is the
dataset minus the prior records, N its size and R its relevant records; positions are
1-based in the presented order; n_at(r) is the position of the ceil(r·R)-th relevant record;
WSS@r = (N − n_at(r))/N − (1 − r); recall@10% = relevant among the first floor(0.1·N) / R
(undefined, None, when floor(0.1·N) = 0);
ATD = mean over the relevant records of position/N.

Imports: standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def relevant_positions(labels_in_order: Sequence[int]) -> list[int]:
    """1-based positions of the relevant records in the presented order."""
    return [i + 1 for i, y in enumerate(labels_in_order) if y == 1]


def n_at(labels_in_order: Sequence[int], n_relevant: int, recall: float) -> int | None:
    """Position of the ceil(recall·R)-th relevant record, or None if not reached."""
    if n_relevant <= 0:
        return None
    k = max(1, math.ceil(recall * n_relevant - 1e-12))
    pos = relevant_positions(labels_in_order)
    return pos[k - 1] if len(pos) >= k else None


def wss(labels_in_order: Sequence[int], n_pool: int, n_relevant: int, recall: float) -> float | None:
    """Work saved over sampling at `recall`, or None if that recall was not reached."""
    n = n_at(labels_in_order, n_relevant, recall)
    if n is None or n_pool <= 0:
        return None
    return (n_pool - n) / n_pool - (1.0 - recall)


def recall_at(labels_in_order: Sequence[int], n_pool: int, n_relevant: int,
              fraction: float = 0.1) -> float | None:
    """Share of the relevant records found in the first floor(fraction·N) presented; None
    when fewer were presented (a run stopped early) and some relevant records were left,
    since the rest of those first records is then unknown; None too when floor(fraction·N)
    is 0 (a pool under 10 records at 10 %): there are no first records to count."""
    if n_relevant <= 0:
        return None
    k = math.floor(fraction * n_pool + 1e-9)
    if k == 0:
        return None
    found = sum(1 for y in labels_in_order[:k] if y == 1)
    if len(labels_in_order) < k and found < n_relevant:
        return None
    return found / n_relevant


def atd(labels_in_order: Sequence[int], n_pool: int, n_relevant: int) -> float | None:
    """Average time to discovery: mean of position/N over the relevant records (None if
    not all were found)."""
    pos = relevant_positions(labels_in_order)
    if n_relevant <= 0 or len(pos) < n_relevant or n_pool <= 0:
        return None
    return sum(p / n_pool for p in pos) / n_relevant


def all_metrics(labels_in_order: Sequence[int], n_pool: int, n_relevant: int) -> dict[str, float | int | None]:
    """Every metric above, keyed as in the anchors file."""
    last = n_at(labels_in_order, n_relevant, 1.0)
    return {
        "n_pool": n_pool,
        "n_pool_included": n_relevant,
        "wss95": wss(labels_in_order, n_pool, n_relevant, 0.95),
        "wss100": wss(labels_in_order, n_pool, n_relevant, 1.0),
        "recall_at_10pct": recall_at(labels_in_order, n_pool, n_relevant, 0.1),
        "atd": atd(labels_in_order, n_pool, n_relevant),
        "n_screened_at_95": n_at(labels_in_order, n_relevant, 0.95),
        "n_screened_at_100": last,
        "first_relevant_at": n_at(labels_in_order, n_relevant, 1e-9),
        "n_screened": len(labels_in_order),
    }
