"""Metric definitions on hand-made orders (expected values worked out by hand)."""

from __future__ import annotations

import pytest

from screener.ranking.metrics import all_metrics, atd, n_at, recall_at, wss


def test_metrics_on_a_hand_made_order() -> None:
    # Pool N = 20, R = 4 relevant presented at positions 1, 3, 4 and 10.
    order = [1, 0, 1, 1, 0, 0, 0, 0, 0, 1]
    n, r = 20, 4
    # ceil(0.95 * 4) = 4 -> 4th relevant at position 10.
    assert n_at(order, r, 0.95) == 10
    assert wss(order, n, r, 0.95) == pytest.approx((20 - 10) / 20 - 0.05)  # 0.45
    assert wss(order, n, r, 1.0) == pytest.approx((20 - 10) / 20)  # 0.5
    # floor(0.1 * 20) = 2 first records hold 1 relevant -> 1/4.
    assert recall_at(order, n, r) == pytest.approx(0.25)
    # ATD = mean(1, 3, 4, 10) / 20 = 18 / 80.
    assert atd(order, n, r) == pytest.approx(18 / 80)


def test_ceil_not_floor_for_small_r() -> None:
    # R = 10: ceil(9.5) = 10 -> the last relevant decides WSS@95 (floor would take the 9th).
    order = [1] * 9 + [0] * 10 + [1]
    assert n_at(order, 10, 0.95) == 20
    assert wss(order, 100, 10, 0.95) == pytest.approx(0.8 - 0.05)


def test_recall_at_uses_floor_of_ten_percent() -> None:
    order = [0] * 9 + [1] + [0] * 5 + [1]
    # N = 99 -> floor(9.9) = 9 records: no relevant yet.
    assert recall_at(order, 99, 2) == 0.0
    # N = 100 -> 10 records: one of two.
    assert recall_at(order, 100, 2) == 0.5


def test_unreached_targets_are_none() -> None:
    m = all_metrics([0, 1, 0], 10, 3)
    assert m["wss95"] is None and m["atd"] is None and m["wss100"] is None
    assert m["first_relevant_at"] == 2


def test_recall_at_ten_percent_of_a_run_stopped_before_it() -> None:
    # N = 100: the first 10 records count, but only 5 were presented (--stop-after 5)
    assert recall_at([1, 0, 0, 0, 0], 100, 2) is None  # the other 5 are unknown
    assert recall_at([1, 0, 1, 0, 0], 100, 2) == 1.0  # every relevant record already found


def test_recall_at_10pct_is_undefined_on_a_pool_under_ten_records() -> None:
    # N = 8: floor(0.1 * 8) = 0 records, so there is no "first 10 %" (it read 0.0, as if
    # the model had found nothing there); WSS and ATD stay defined
    order = [1, 0, 1]
    assert recall_at(order, 8, 2) is None
    m = all_metrics(order, 8, 2)
    assert m["recall_at_10pct"] is None
    assert m["wss100"] == pytest.approx((8 - 3) / 8) and m["atd"] == pytest.approx(4 / 16)
    assert recall_at(order, 10, 2) == pytest.approx(0.5)  # one record: defined again
