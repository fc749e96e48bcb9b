"""Time the stopping test's hypergeometric CDF: screener's numpy sum beside scipy.stats.

The Callaghan & Müller-Hansen test needs P(X <= k_rel) for every sample size k (one CDF
per screened record). `screener.ranking.stopping.hypergeom_cdf` replaced
`scipy.stats.hypergeom.cdf` there; this prints both times in one run, their ratio and the
largest relative difference, on screenings made up with the relevant records mostly early
(as in prioritised screening), plus the cost of importing scipy.stats, which the
statistics no longer pay.

    python benchmarks/stopping_speed.py [--sizes 5000:1500:100 100000:20000:1500 ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from screener.ranking.stopping import hypergeom_cdf  # noqa: E402


def cdf_arguments(labels: np.ndarray, n_total: int, target: float = 0.95
                  ) -> tuple[np.ndarray, ...]:
    """The (x, urn, K, k) of every sample size k, as `stopping_test` builds them."""
    n, r_seen = len(labels), int(labels.sum())
    k = np.arange(1, n + 1)
    k_rel = np.cumsum(labels[::-1])
    urn = n_total - n + k
    need = np.maximum(np.floor(r_seen / target - (r_seen - k_rel) + 1e-12).astype(np.int64) + 1, 0)
    ok = need <= urn
    return k_rel[ok], urn[ok], need[ok], k[ok]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["5000:1500:100", "30000:4000:130",
                                                   "100000:20000:1500", "100000:60000:2000"],
                    help="N_TOTAL:SCREENED:RELEVANT_FOUND ...")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    code = "import time; t = time.perf_counter(); import scipy.stats; print(time.perf_counter() - t)"
    imp = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True).stdout)
    print(f"import scipy.stats in a fresh process: {imp:.2f} s (no longer paid)")
    from scipy.stats import hypergeom

    rng = np.random.default_rng(a.seed)
    print(f"{'N':>7s} {'screened':>8s} {'found':>6s} | {'screener s':>10s} {'scipy s':>8s} "
          f"{'ratio':>6s} | {'min p':>9s} {'max rel diff':>12s}")
    for spec in a.sizes:
        n_total, n, r = (int(v) for v in spec.split(":"))
        weights = np.exp(-np.arange(n) / (n / 4))
        labels = np.zeros(n, np.int64)
        labels[rng.choice(n, r, replace=False, p=weights / weights.sum())] = 1
        args = cdf_arguments(labels, n_total)
        t0 = time.perf_counter()
        ours = hypergeom_cdf(*args)
        t1 = time.perf_counter()
        theirs = hypergeom.cdf(*args)
        t2 = time.perf_counter()
        diff = float(np.max(np.abs(ours - theirs) / np.maximum(theirs, 1e-300)))
        print(f"{n_total:7d} {n:8d} {r:6d} | {t1 - t0:10.3f} {t2 - t1:8.3f} "
              f"{(t1 - t0) / (t2 - t1):6.3f} | {ours.min():9.3g} {diff:12.2g}")


if __name__ == "__main__":
    main()
