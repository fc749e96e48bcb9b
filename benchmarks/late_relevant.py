"""Experiment: which relevant records does the default model find last?

Replays `screener-lr` on the 22 tuning datasets (folds 0/1 of `ranking.fold_of`, <= 2,100
records) with ASReview's seed and priors, and compares the relevant records found last (the
last 20 % of each dataset's relevant records, in the order found) with those found first
(the first half): how many have no abstract, and their abstract and title lengths. Also
prints how much of the summed position (what ATD averages) the relevant records without an
abstract account for. Orders are cached in benchmarks/out/late/.

    .venv/bin/python benchmarks/late_relevant.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ranking import DATA, ROOT, anchors, fold_of  # noqa: E402

from screener.ranking.simulate import load_dataset, simulate  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "late"


def found_relevant(name: str) -> dict[str, object]:
    """(position / N, abstract length, title length) of each relevant record, in the order
    the default model found them (cached)."""
    cache = OUT / f"{name}.json"
    if cache.exists():
        return dict(json.loads(cache.read_text()))
    a = anchors()[name]
    ds = load_dataset(DATA / a["path"])
    res = simulate(ds, seed=int(a["seed"]), prior_ids=a["prior_record_ids"])
    index = {rid: i for i, rid in enumerate(ds.record_ids)}
    rel = [(pos / len(ds), len(ds.abstracts[i].strip()), len(ds.titles[i]))
           for pos, i in enumerate(index[r] for r in res.order) if ds.labels[i] == 1]
    row = {"n": len(ds), "relevant": rel,
           "no_abstract_share": float(np.mean([not x.strip() for x in ds.abstracts]))}
    OUT.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(row))
    return row


def main() -> None:
    anch = anchors()
    names = sorted(anch)
    tune = [n for n in names if fold_of(n, names) in (0, 1) and anch[n]["n_records"] <= 2100]
    rows = []
    for name in tune:
        rel = found_relevant(name)["relevant"]
        assert isinstance(rel, list)
        rows += [(k / len(rel), *r) for k, r in enumerate(rel)]
    groups = {"found last (last 20 %)": [r for r in rows if r[0] >= 0.8],
              "found first (first 50 %)": [r for r in rows if r[0] < 0.5],
              "all relevant": rows}
    print(f"{len(tune)} tuning datasets, ASReview's priors, screener-lr")
    print(f"{'relevant records':26s} {'n':>5s} {'no abstract':>12s} {'median abstract':>16s} "
          f"{'median title':>13s}")
    for label, rs in groups.items():
        print(f"{label:26s} {len(rs):5d} {np.mean([r[2] == 0 for r in rs]):12.1%} "
              f"{np.median([r[2] for r in rs]):16.0f} {np.median([r[3] for r in rs]):13.0f}")
    total = sum(r[1] for r in rows)
    print(f"share of the summed positions (ATD) from relevant records without an abstract: "
          f"{sum(r[1] for r in rows if r[2] == 0) / total:.1%}")


if __name__ == "__main__":
    main()
