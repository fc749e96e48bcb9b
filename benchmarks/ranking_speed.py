"""Speed of feature extraction and of one retrain + re-rank step, screener vs ASReview.

The 43 shared datasets are pooled (74,531 records); subsets of 5,000 / 20,000 / 75,000
(= all) records are taken in a fixed shuffled order, and 100,000 by adding 25,469 varied
duplicates (a seeded 10 % of each duplicate's abstract words dropped). For each size both
tools run in their own process on the same texts and labels:

- features: ASReview 3.0.8's ELAS u4 `Tfidf` (word 1-2-grams, sublinear tf, max_df 0.95)
  `fit_transform` vs screener's `fit_features` (data loading excluded in both);
- `--repeats R` runs both R times, alternating, and keeps each minimum (the machine is shared);
- step: with `--labelled` labelled records (seeded; includes as in the data), one
  retrain + rank of all records: ASReview = Balanced(9.8) weights + SVM(C=0.11) fit +
  decision_function + Max query (argsort), as its learner does; screener = `rank(...)`
  (the public API, unlabelled rows only). Mean of `--steps` steps, one label added per step.

    python benchmarks/ranking_speed.py --asreview-python /tmp/asr-venv/bin/python
    python benchmarks/ranking_speed.py --sizes 5000 20000
"""

from __future__ import annotations

import argparse
import csv
import glob
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_data import shared_data  # noqa: E402

DATA = shared_data()

ASREVIEW_CODE = r"""
import json, sys, time
import numpy as np, pandas as pd
from asreview.models.feature_extractors import Tfidf
from asreview.models.classifiers import SVM
from asreview.models.balancers import Balanced
from asreview.models.queriers import Max
path, labelled_path, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
df = pd.read_csv(path, dtype=str, keep_default_na=False)
y = df["label_included"].astype(int).to_numpy()
lab = np.array(json.load(open(labelled_path)))
t = time.perf_counter()
fe = Tfidf(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_df=0.95)
X = fe.fit_transform(df)
feat_s = time.perf_counter() - t
times = []
for s in range(steps):
    rows = lab[: len(lab) - steps + s + 1]
    t = time.perf_counter()
    w = Balanced(ratio=9.8).compute_sample_weight(y[rows])
    clf = SVM(loss="squared_hinge", C=0.11, random_state=42)
    clf.fit(X[rows], y[rows], sample_weight=w)
    order = Max().query(clf.decision_function(X))
    order = order[~np.isin(order, rows)]
    times.append(time.perf_counter() - t)
print(json.dumps({"features_s": feat_s, "step_s": float(np.mean(times)), "n_features": X.shape[1]}))
"""


def screener_run(path: str, labelled_path: str, steps: int) -> dict[str, float]:
    import time

    from screener.ranking import ModelConfig, fit_features, rank
    from screener.ranking.simulate import load_dataset

    ds = load_dataset(path)
    y = np.asarray(ds.labels)
    lab = json.loads(Path(labelled_path).read_text())
    cfg = ModelConfig.from_settings("screener-lr", 42, {})
    t = time.perf_counter()
    fs = fit_features(ds.texts, cfg)
    feat_s = time.perf_counter() - t
    times = []
    for s in range(steps):
        rows = lab[: len(lab) - steps + s + 1]
        labels = {int(r): int(y[r]) for r in rows}
        t = time.perf_counter()
        rank(fs, labels, cfg)
        times.append(time.perf_counter() - t)
    return {"features_s": feat_s, "step_s": float(np.mean(times)), "n_features": fs.n_features}


def pooled(seed: int = 0) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    rows: list[dict[str, str]] = []
    for p in sorted(glob.glob(str(DATA / "screening" / "*.csv.gz"))):
        with gzip.open(p, "rt", encoding="utf-8", newline="") as fh:
            rows.extend(csv.DictReader(fh))
    rng = np.random.default_rng(seed)
    return [rows[i] for i in rng.permutation(len(rows))]


def with_duplicates(rows: list[dict[str, str]], size: int, seed: int = 1) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    out = list(rows)
    while len(out) < size:
        src = rows[int(rng.integers(len(rows)))]
        words = src["abstract"].split()
        keep = rng.random(len(words)) >= 0.10
        dup = dict(src)
        dup["record_id"] = f"dup{len(out)}"
        dup["abstract"] = " ".join(w for w, k in zip(words, keep, strict=True) if k)
        out.append(dup)
    return out[:size]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[5000, 20000, 75000, 100000])
    ap.add_argument("--labelled", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--asreview-python", default="/tmp/asr-venv/bin/python")
    ap.add_argument("--screener-only", action="store_true")
    ap.add_argument("--repeats", type=int, default=1,
                    help="run both tools this many times, alternating; report the minimum")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(screener_run(args.one[0], args.one[1], int(args.one[2]))))
        return
    rows = pooled()
    header = ["record_id", "title", "abstract", "authors", "year", "journal", "doi", "pmid",
              "label_included"]
    print(f"{'records':>8s} {'features':>9s} | {'feat s asr':>10s} {'feat s scr':>10s} {'ratio':>6s} | "
          f"{'step ms asr':>11s} {'step ms scr':>11s} {'ratio':>6s}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            subset = rows[:size] if size <= len(rows) else with_duplicates(rows, size)
            path = Path(tmp) / f"pool{size}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                w = csv.DictWriter(fh, header)
                w.writeheader()
                w.writerows(subset)
            y = np.array([int(r["label_included"]) for r in subset])
            rng = np.random.default_rng(42)
            lab = rng.permutation(len(subset))[: args.labelled + args.steps]
            lab_path = Path(tmp) / f"lab{size}.json"
            lab_path.write_text(json.dumps([int(i) for i in lab]))
            assert 0 < y[lab[:args.labelled]].sum() < args.labelled
            mine_runs, their_runs = [], []
            for _ in range(args.repeats):
                mine_runs.append(json.loads(subprocess.run(
                    [sys.executable, __file__, "--one", str(path), str(lab_path), str(args.steps)],
                    check=True, capture_output=True, text=True).stdout))
                if not args.screener_only:
                    their_runs.append(json.loads(subprocess.run(
                        [args.asreview_python, "-c", ASREVIEW_CODE, str(path), str(lab_path),
                         str(args.steps)], check=True, capture_output=True, text=True).stdout))
            mine = {k: min(r[k] for r in mine_runs) for k in mine_runs[0]}
            if their_runs:
                theirs = {k: min(r[k] for r in their_runs) for k in their_runs[0]}
            else:
                theirs = {"features_s": float("nan"), "step_s": float("nan"), "n_features": 0}
            print(f"{size:8d} {mine['n_features']:9d} | {theirs['features_s']:10.2f} "
                  f"{mine['features_s']:10.2f} {mine['features_s'] / theirs['features_s']:6.2f} | "
                  f"{theirs['step_s'] * 1000:11.1f} {mine['step_s'] * 1000:11.1f} "
                  f"{mine['step_s'] / theirs['step_s']:6.2f}", flush=True)


if __name__ == "__main__":
    main()
