"""Validate the Callaghan & Müller-Hansen stopping test on simulated screenings.

For every cached simulation of benchmarks/ranking.py (benchmarks/out/ranking/<hash>/*.json,
which hold the labels in screened order up to the last relevant record; everything after it
is irrelevant by construction) — or, with --seeds, only fresh simulations with those seeds
(random priors; the cache gives the model and, without --datasets, the datasets) — the
run stops at the first record after which the stopping test says p < 1 − confidence, as if
it were asked after every record (`stop_points` of screener.ranking.stopping, which
`screener simulate` reports too). Reported: recall reached at the stop, work saved (1 − screened/N),
and the share of runs whose recall met the target (must be ≥ the confidence level).
The SAFE checklist and the "50 consecutive irrelevant" rule are reported beside it.

    python benchmarks/stopping.py --hash 1a2b3c4d5e6f7a8b
    python benchmarks/stopping.py --seeds 1 2 3 --datasets Sep_2021 Smid_2020 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from screener.core.wording import counted, plural  # noqa: E402
from screener.ranking.config import ModelConfig  # noqa: E402
from screener.ranking.simulate import load_dataset, simulate  # noqa: E402
from screener.ranking.stopping import stop_points  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_data import shared_data  # noqa: E402

DATA = shared_data()


def evaluate(args: tuple[str, list[int], int, int, float, float]) -> dict[str, Any]:
    """Where each rule first says stop (`stop_points`, as `screener simulate` reports it);
    a rule never met stops at N, all records screened."""
    name, seen, n_pool, n_rel, target, confidence = args
    labels = list(seen) + [0] * (n_pool - len(seen))
    out: dict[str, Any] = {"dataset": name, "N": n_pool, "R": n_rel}
    points = stop_points(seen, n_pool, n_rel, recall_target=target, confidence=confidence,
                         consecutive_threshold=50, min_fraction=0.10)
    for rule, point in zip(("test", "safe", "run50"), points, strict=True):
        at = point.screened if point.screened is not None else n_pool
        out[rule] = {"stop": at, "recall": sum(labels[:at]) / n_rel,
                     "work_saved": 1 - at / n_pool}
    return out


def sim_labels(args: tuple[str, int, dict[str, Any]]) -> tuple[str, list[int], int, int]:
    name, seed, cfg_dict = args
    ds = load_dataset(DATA / "screening" / f"{name}.csv.gz")
    cfg = ModelConfig.from_dict({**cfg_dict, "seed": seed})
    r = simulate(ds, seed=seed, n_prior_included=1, n_prior_excluded=1, model_config=cfg)
    return (f"{name}/s{seed}", list(r.labels_in_order), int(r.metrics["n_pool"]),
            int(r.metrics["n_pool_included"]))


def _no_runs(where: str, alternative: str) -> int:
    """Say that there is nothing to summarise (no cached run, or none of --datasets); the
    exit code, 2."""
    print(f"no cached runs of benchmarks/ranking.py found in {where}: nothing to summarise; "
          f"run benchmarks/ranking.py first, it caches each run there{alternative}",
          file=sys.stderr)
    return 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hash", help="cache folder under benchmarks/out/ranking (default: newest)")
    ap.add_argument("--seeds", type=int, nargs="*", default=[])
    ap.add_argument("--datasets", nargs="*")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    runs: list[tuple[str, list[int], int, int]] = []
    folders = sorted((OUT / "ranking").glob("*/"), key=lambda p: p.stat().st_mtime)
    folder = folders[-1] if folders else None
    if args.hash:  # a whole folder name, or a prefix of exactly one
        named = [p for p in folders if p.name.startswith(args.hash)]
        exact = [p for p in named if p.name == args.hash]
        if not exact and len(named) != 1:
            sys.exit(f"--hash {args.hash}: matches {len(named)} folders under "
                     f"{OUT / 'ranking'} (need exactly one)")
        folder = (exact or named)[0]
    cfg_dict: dict[str, Any] = ModelConfig.from_settings("screener-lr", 0, {}).to_dict()
    if folder is not None and folder.exists():
        for f in sorted(folder.glob("*.json")):
            row = json.loads(f.read_text())
            if "labels_in_order" not in row:
                continue
            if args.datasets and row["dataset"] not in args.datasets:
                continue
            cfg_dict = row["config"]
            runs.append((row["dataset"], row["labels_in_order"], row["n_pool"],
                         row["n_pool_included"]))
    where = f"{folder.relative_to(ROOT)}" if folder is not None else "benchmarks/out/ranking"
    if args.datasets:
        where += f" for {', '.join(args.datasets)}"
    if args.seeds:  # the requested seeds only: the cached runs are another seed's
        names = args.datasets or sorted({r[0] for r in runs})
        if not names:
            sys.exit(_no_runs(where, " (or name the datasets to simulate with --datasets)"))
        missing = [n for n in names if not (DATA / "screening" / f"{n}.csv.gz").is_file()]
        if missing:
            print(f"--datasets: no {', '.join(missing)} in {DATA / 'screening'} (the names "
                  "are the file names without .csv.gz)", file=sys.stderr)
            sys.exit(2)
        tasks = [(n, s, cfg_dict) for n in names for s in args.seeds]
        print(f"summarising {counted(len(tasks), 'new run')}: "
              f"{plural(len(args.seeds), 'seed')} {', '.join(map(str, args.seeds))} on "
              f"{counted(len(names), 'dataset')}, random priors, the model of "
              f"{where if runs else 'screener-lr (no cached run)'}")
        with ProcessPoolExecutor(args.jobs) as ex:
            runs = list(ex.map(sim_labels, tasks))
    elif not runs:
        sys.exit(_no_runs(where, ""))
    else:
        print(f"summarising the {counted(len(runs), 'cached run')} of {where}")
    tasks2 = [(n, lab, npool, nrel, args.target, args.confidence)
              for n, lab, npool, nrel in runs]
    with ProcessPoolExecutor(max(args.jobs, 1)) as ex:
        results = list(ex.map(evaluate, tasks2))
    print(f"{'run':40s} {'N':>5s} {'R':>4s} | {'test stop':>9s} {'recall':>6s} {'saved':>6s} | "
          f"{'50-run':>6s} {'recall':>6s} {'saved':>6s} | {'SAFE':>5s} {'recall':>6s} {'saved':>6s}")
    for r in results:
        t, h, s = r["test"], r["run50"], r["safe"]
        print(f"{r['dataset'][:40]:40s} {r['N']:5d} {r['R']:4d} | {t['stop']:9d} {t['recall']:6.3f} "
              f"{t['work_saved']:6.3f} | {h['stop']:6d} {h['recall']:6.3f} {h['work_saved']:6.3f} | "
              f"{s['stop']:5d} {s['recall']:6.3f} {s['work_saved']:6.3f}")
    for rule in ("test", "run50", "safe"):
        ok = sum(1 for r in results if r[rule]["recall"] >= args.target)
        saved = statistics.fmean(r[rule]["work_saved"] for r in results) if results else 0.0
        rec = statistics.fmean(r[rule]["recall"] for r in results) if results else 0.0
        print(f"{rule:6s}: recall >= {args.target:.2f} in {ok}/{len(results)} runs "
              f"({ok / max(len(results), 1):.1%}); mean recall {rec:.3f}; "
              f"mean work saved {saved:.3f}")


if __name__ == "__main__":
    main()
