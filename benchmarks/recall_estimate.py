"""How good is the estimate of the relevant records left? (`stopping.estimate_remaining`)

The stopping test (benchmarks/stopping.py) is validated; the estimate of the relevant
records still unscreened, which the UI, `status` and the report show as "estimated recall"
with an interval, and which the SAFE item "twice the estimated relevant" doubles, was not.
This replays screenings with the default model (`screener-lr`, the `simulate` loop, one
include and one exclude drawn with --seed as priors), and at about 40 points of each run
(geometric in records screened) compares the estimate with the truth (the relevant records
really left). Each run continues past its last relevant record (to twice that position, at
least 200 more), so points where nothing is left are judged too.

Estimators compared (`estimate_remaining`'s methods, and one experiment):
  window   screener's until 28 Nov 2026: rate of relevant records in the last 200 screened
           x the records left, 95 % Clopper-Pearson interval (method="window")
  test     screener's since: the stopping test inverted (the default method): the number
           left at which its p-value crosses 0.5, the high end where it crosses 0.05
           (0.025 before 29 Nov 2026), the low end by the other tail on the sample the
           point rests on (since 30 Nov 2026; before, where the p-value crossed 0.95, and
           0.975 before 29 Nov 2026: the results in RANKING.md predate the change)
  cvplatt  experiment, not a feature: 5-fold cross-validated scores of the screened records
           (each fold's logistic trained on the other four), a Platt logistic fitted to them,
           summed over the current model's scores of the unscreened records; interval from
           2,000 draws of the Platt coefficients (normal, their covariance) and a Poisson
           count for each; falls back to `window` with fewer than 2 relevant screened

Points with nothing relevant found yet are left out (recall is 0 there; screener shows no
estimated recall). Printed per bin of true recall at the point: mean |estimated recall -
true recall|, the share of points whose interval of the records left (90 % two-sided since
29 Nov 2026, 95 % before) holds the true number, the share whose estimated recall is more
than 0.05 above the truth (too optimistic), and the number of points. Runs are cached in benchmarks/out/recall/ (npz).

    python benchmarks/recall_estimate.py --jobs 2                 # 22 tuning datasets, seed 1
    python benchmarks/recall_estimate.py --set held --jobs 2      # the 21 others
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ranking import DATA  # noqa: E402
from ranking_variants import dataset_sets  # noqa: E402

from screener.ranking.config import ModelConfig  # noqa: E402
from screener.ranking.derived import model_matrix  # noqa: E402
from screener.ranking.features import fit_features  # noqa: E402
from screener.ranking.model import fit_scores  # noqa: E402
from screener.ranking.simulate import choose_priors, load_dataset, next_record  # noqa: E402
from screener.ranking.stopping import estimate_remaining  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "recall"
BINS = [(0.0, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.0), (1.0, 1.01)]


def simulate_points(args: tuple[str, int]) -> str:
    """One screening with the default model; at each point saves the unscreened records'
    scores and labels and the screened records' cross-validated scores and labels."""
    name, seed = args
    out = OUT / f"{name}__{seed}.npz"
    if out.exists():
        return name
    ds = load_dataset(DATA / "screening" / f"{name}.csv.gz")
    cfg = ModelConfig.from_settings("screener-lr", seed, {})
    y_all = np.asarray(ds.labels, dtype=np.int64)
    n = len(y_all)
    priors = choose_priors(ds, seed, 1, 1)
    X = model_matrix(fit_features(ds.texts, cfg), cfg, None)
    labelled = np.zeros(n, dtype=bool)
    labelled[priors] = True
    lab_rows = list(priors)
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(n) * 1e-12
    pool = n - len(priors)
    n_rel = int(y_all.sum() - y_all[priors].sum())
    points = set(np.unique(np.round(np.geomspace(10, pool, 40)).astype(int)).tolist())
    order: list[int] = []
    saved: dict[str, np.ndarray] = {}
    found = last = 0
    while len(order) < pool:
        y_lab = y_all[lab_rows]
        scores = (fit_scores(X, np.asarray(lab_rows), y_lab, cfg, rng, None)
                  if 0 < y_lab.sum() < len(y_lab) else np.zeros(n))
        k = len(order)
        if k in points:
            saved[f"uns{k}"] = scores[~labelled].astype(np.float32)
            saved[f"unsy{k}"] = y_all[~labelled].astype(np.int8)
            rows = np.asarray(lab_rows)
            folds = np.arange(len(rows)) % 5
            cv = np.zeros(len(rows))
            for f in range(5):
                train = folds != f
                if 0 < y_all[rows[train]].sum() < train.sum():
                    cv[~train] = fit_scores(X, rows[train], y_all[rows[train]], cfg, rng,
                                            None)[rows[~train]]
            saved[f"cv{k}"] = cv.astype(np.float32)
            saved[f"cvy{k}"] = y_all[rows].astype(np.int8)
        best = next_record(scores, labelled, tiebreak)
        order.append(best)
        labelled[best] = True
        lab_rows.append(best)
        found += int(y_all[best])
        if found >= n_rel:
            last = last or len(order)
            if len(order) >= max(2 * last, last + 200):
                break
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, labels=y_all[order].astype(np.int8), N=pool, R=n_rel, **saved)
    tmp.replace(out)
    return name


def window(z: Any, k: int, labels: np.ndarray, n_total: int) -> tuple[float, float, float]:
    e = estimate_remaining(labels[:k].tolist(), n_total, method="window")
    return e.point, e.low, e.high


def test(z: Any, k: int, labels: np.ndarray, n_total: int) -> tuple[float, float, float]:
    e = estimate_remaining(labels[:k].tolist(), n_total)
    return e.point, e.low, e.high


def _platt(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic y ~ a + b s by Newton's method (tiny ridge); coefficients and covariance."""
    X = np.column_stack([np.ones_like(s), s])
    r = min(max(float(y.mean()), 1e-3), 1 - 1e-3)
    beta = np.array([np.log(r / (1 - r)), 0.0])
    pen = np.diag([1e-6, 1e-3])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(X @ beta)))
        H = X.T @ ((p * (1 - p))[:, None] * X) + pen
        step = np.linalg.solve(H, X.T @ (y - p) - pen @ beta)
        if np.abs(step).max() > 5:
            step *= 5 / np.abs(step).max()
        beta = beta + step
        if np.abs(step).max() < 1e-9:
            break
    p = 1 / (1 + np.exp(-(X @ beta)))
    H = X.T @ ((p * (1 - p))[:, None] * X) + pen
    return beta, np.linalg.inv(H)


def cvplatt(z: Any, k: int, labels: np.ndarray, n_total: int) -> tuple[float, float, float]:
    s, y = z[f"cv{k}"].astype(float), z[f"cvy{k}"].astype(float)
    uns = z[f"uns{k}"].astype(float)
    if not len(uns):
        return 0.0, 0.0, 0.0
    if y.sum() < 2 or y.sum() == len(y):
        return window(z, k, labels, n_total)
    beta, cov = _platt(s, y)
    point = float((1 / (1 + np.exp(-(beta[0] + beta[1] * uns)))).sum())
    rng = np.random.default_rng(0)
    draws = rng.multivariate_normal(beta, cov, size=2000)
    grid = np.quantile(uns, (np.arange(400) + 0.5) / 400) if len(uns) > 400 else uns
    weight = len(uns) / len(grid)
    with np.errstate(over="ignore"):
        mu = weight * (1 / (1 + np.exp(-(draws[:, :1] + draws[:, 1:] * grid[None, :])))).sum(1)
    low, high = np.quantile(rng.poisson(mu), [0.025, 0.975])
    return point, float(low), float(high)


ESTIMATORS = {"window": window, "test": test, "cvplatt": cvplatt}


Point = tuple[float, bool, bool, bool]


def evaluate(files: list[Path]) -> dict[str, dict[tuple[float, float], list[Point]]]:
    res: dict[str, dict[tuple[float, float], list[Point]]] = {
        e: {b: [] for b in BINS} for e in ESTIMATORS}
    for f in files:
        z = np.load(f)
        labels = z["labels"].astype(int)
        n_total, n_rel = int(z["N"]), int(z["R"])
        for key in z.files:
            if not key.startswith("uns") or key.startswith("unsy"):
                continue
            k = int(key[3:])
            if k > len(labels):
                continue
            truth = int(z[f"unsy{k}"].sum())
            found = int(labels[:k].sum())
            if not found:
                continue
            true_recall = found / n_rel
            b = next(b for b in BINS if b[0] <= true_recall < b[1])
            for name, fn in ESTIMATORS.items():
                point, low, high = fn(z, k, labels, n_total)
                est = found / (found + point) if found + point > 0 else 1.0
                res[name][b].append((abs(est - true_recall), low <= truth <= high,
                                     est > true_recall + 0.05, truth <= high))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="tune", help="tune, held, or comma-separated names")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    sets = dataset_sets()
    names = sets[args.set] if args.set in sets else args.set.split(",")
    with ProcessPoolExecutor(args.jobs) as ex:
        for done in ex.map(simulate_points, [(n, args.seed) for n in names]):
            print(f"simulated {done}", file=sys.stderr, flush=True)
    res = evaluate([OUT / f"{n}__{args.seed}.npz" for n in names])
    print(f"{len(names)} datasets ({args.set}), seed {args.seed}")
    print("| true recall at the point | " + " | ".join(ESTIMATORS) + " |")
    print("| --- |" + " ---: |" * len(ESTIMATORS))
    for b in BINS:
        label = "1 (all found)" if b[0] == 1.0 else f"{b[0]:.2f}-{b[1]:.2f}"
        cells = []
        for name in ESTIMATORS:
            v = res[name][b]
            cells.append("" if not v else
                         f"{np.mean([x[0] for x in v]):.2f} / {np.mean([x[1] for x in v]):.0%} / "
                         f"{np.mean([x[2] for x in v]):.0%} ({len(v)})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("cells: mean |estimated - true recall| / interval holds the true number left / "
          "estimated recall > true + 0.05 (points)")
    print()
    print("| true recall at the point | " + " | ".join(
        f"{e}: lower end of recall <= true" for e in ESTIMATORS) + " |")
    print("| --- |" + " ---: |" * len(ESTIMATORS))
    for b in BINS:
        label = "1 (all found)" if b[0] == 1.0 else f"{b[0]:.2f}-{b[1]:.2f}"
        print(f"| {label} | " + " | ".join(
            f"{np.mean([x[3] for x in res[e][b]]):.1%}" if res[e][b] else ""
            for e in ESTIMATORS) + " |")


if __name__ == "__main__":
    main()
