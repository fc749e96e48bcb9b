"""Benchmark screener's ranking against ASReview LAB 3.0.8 (ELAS u4) on the shared datasets.

Runs `screener.ranking.simulate.simulate` on each dataset with the seeds and prior records
of ``anchors/asreview_elas_u4.jsonl`` and prints WSS@95, recall@10% and ATD beside
ASReview's figures, per dataset and as means (held-out cross-validation folds marked).
Per-dataset results are cached as JSON under benchmarks/out/ranking/<config hash>/.

    python benchmarks/ranking.py                          # default model, all datasets
    python benchmarks/ranking.py --datasets Sep_2021 Smid_2020 --jobs 2
    python benchmarks/ranking.py --params '{"C": 0.3}'    # a variant (for tuning)
    python benchmarks/ranking.py --cv CONFIGS.json        # choose among variants by CV
    python benchmarks/ranking.py --params '{"char_weight": 1}' --versus '{}' \
        --prior-seeds 1 2 3 --datasets ...               # paired, random priors per seed
    python benchmarks/ranking.py --protocol --params '{"protocol_include": 2}' \
        --beside-default --jobs 2     # with each review's question, beside the default
    python benchmarks/ranking.py --time-asreview Smid_2020 Menon_2022 \
        --asreview /tmp/asr-venv/bin/asreview        # whole-simulation wall time

Folds: datasets sorted by name, fold = position mod 3 (see `fold_of`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from screener.ranking.config import ModelConfig  # noqa: E402
from screener.ranking.simulate import load_dataset, simulate  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from protocol_texts import protocol_texts  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_data import shared_data  # noqa: E402

DATA = shared_data()
OUT = ROOT / "benchmarks" / "out" / "ranking"
N_FOLDS = 3


def anchors() -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (DATA / "anchors" / "asreview_elas_u4.jsonl").open()]
    return {r["dataset"]: r for r in rows}


def fold_of(name: str, names: list[str]) -> int:
    return sorted(names).index(name) % N_FOLDS


def run_one(args: tuple[str, str, dict[str, Any], bool, int | None, bool]) -> dict[str, Any]:
    """One simulation: ASReview's seed and priors, or (`prior_seed`) one include and one
    exclude drawn at random with that seed; with `protocol`, the dataset's protocol text
    (benchmarks/protocol_texts.py) is passed as a screener review would pass its protocol."""
    name, model, params, force, prior_seed, protocol = args
    anchor = anchors()[name]
    seed = int(anchor["seed"]) if prior_seed is None else prior_seed
    cfg = ModelConfig.from_settings(model, seed, params)
    suffix = ("" if prior_seed is None else "@random-priors") + ("@protocol" if protocol else "")
    cache = OUT / cfg.hash()[:16] / f"{name}{suffix}.json"
    if cache.exists() and not force:
        return dict(json.loads(cache.read_text()))
    t0 = time.perf_counter()
    ds = load_dataset(DATA / anchor["path"])
    priors = anchor["prior_record_ids"] if prior_seed is None else None
    text = protocol_texts(DATA)[name] if protocol else ""
    res = simulate(ds, seed=seed, prior_ids=priors, model_config=cfg, protocol_text=text)
    row = {"dataset": name, "prior_seed": prior_seed, "protocol_text": text, **res.metrics,
           **res.timings, "labels_in_order": list(res.labels_in_order),
           "wall_s_total": time.perf_counter() - t0, "config": cfg.to_dict(),
           "config_hash": cfg.hash()}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(row))
    return row


def run_many(names: list[str], model: str, params: dict[str, Any], jobs: int,
             force: bool = False, prior_seed: int | None = None,
             protocol: bool = False) -> dict[str, dict[str, Any]]:
    tasks = [(n, model, params, force, prior_seed, protocol) for n in names]
    # Largest first so the pool finishes evenly.
    sizes = {n: anchors()[n]["n_records"] for n in names}
    tasks.sort(key=lambda t: -sizes[t[0]])
    if jobs <= 1:
        rows = [run_one(t) for t in tasks]
    else:
        with ProcessPoolExecutor(jobs) as pool:
            rows = list(pool.map(run_one, tasks))
    return {r["dataset"]: r for r in rows}


def mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else float("nan")


def print_table(rows: dict[str, dict[str, Any]], heldout: dict[str, bool] | None = None) -> None:
    anc = anchors()
    names = sorted(rows, key=lambda n: anc[n]["n_records"])
    print(f"{'dataset':36s} {'N':>5s} {'R':>4s}  {'WSS95':>6s} {'asr':>6s} {'diff':>6s}  "
          f"{'R@10%':>5s} {'asr':>5s}  {'ATD':>6s} {'asr':>6s}  {'wall s':>6s}")
    for n in names:
        r, a = rows[n], anc[n]
        mark = "*" if heldout and heldout.get(n) else " "
        print(f"{n[:35]:35s}{mark} {a['n_pool']:5d} {a['n_pool_included']:4d}  "
              f"{r['wss95']:6.3f} {a['wss95']:6.3f} {r['wss95'] - a['wss95']:+6.3f}  "
              f"{r['recall_at_10pct']:5.3f} {a['recall_at_10pct']:5.3f}  "
              f"{r['atd']:6.3f} {a['atd']:6.3f}  {r['wall_s_total']:6.1f}")
    groups = [("all", names)]
    if heldout:
        groups.append(("held-out (*)", [n for n in names if heldout.get(n)]))
    for label, group in groups:
        w = mean([rows[n]["wss95"] for n in group])
        wa = mean([anc[n]["wss95"] for n in group])
        at = mean([rows[n]["atd"] for n in group])
        aa = mean([anc[n]["atd"] for n in group])
        rc = mean([rows[n]["recall_at_10pct"] for n in group])
        ra = mean([anc[n]["recall_at_10pct"] for n in group])
        worst = min(rows[n]["wss95"] - anc[n]["wss95"] for n in group)
        print(f"mean {label} ({len(group)}): WSS95 {w:.4f} vs {wa:.4f} ({w - wa:+.4f}); "
              f"R@10% {rc:.3f} vs {ra:.3f}; ATD {at:.4f} vs {aa:.4f} "
              f"(ratio {at / aa:.3f}); worst WSS95 diff {worst:+.3f}")


def print_beside(rows: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]]) -> None:
    """A variant (`rows`) beside the default configuration (`base`) and ASReview, with the
    means over all datasets, the tuning ones and the held-out ones (marked *)."""
    from ranking_variants import dataset_sets  # the held-out split every round has used

    anc = anchors()
    names = sorted(rows, key=lambda n: anc[n]["n_records"])
    held = set(dataset_sets()["held"])
    print(f"{'dataset':36s} {'N':>5s} {'R':>4s}  {'WSS95':>6s} {'default':>7s} {'asr':>6s}  "
          f"{'ATD':>6s} {'default':>7s} {'asr':>6s}")
    for n in names:
        r, b, a = rows[n], base[n], anc[n]
        print(f"{n[:35]:35s}{'*' if n in held else ' '} {a['n_pool']:5d} "
              f"{a['n_pool_included']:4d}  {r['wss95']:6.3f} {b['wss95']:7.3f} {a['wss95']:6.3f}  "
              f"{r['atd']:6.3f} {b['atd']:7.3f} {a['atd']:6.3f}")
    for label, group in (("all", names), ("tuning", [n for n in names if n not in held]),
                         ("held-out (*)", [n for n in names if n in held])):
        for what, src in (("this", rows), ("default", base)):
            w = mean([src[n]["wss95"] for n in group])
            wa = mean([anc[n]["wss95"] for n in group])
            at = mean([src[n]["atd"] for n in group])
            aa = mean([anc[n]["atd"] for n in group])
            worst = min(src[n]["wss95"] - anc[n]["wss95"] for n in group)
            below = sum(src[n]["wss95"] - anc[n]["wss95"] < -0.03 for n in group)
            print(f"mean {label} ({len(group)}), {what}: WSS95 {w:.4f} vs ASReview {wa:.4f} "
                  f"({w - wa:+.4f}); ATD {at:.4f} vs {aa:.4f} (ratio {at / aa:.3f}); "
                  f"worst WSS95 diff {worst:+.3f}; {below} more than 0.03 below")


def cross_validate(configs: list[dict[str, Any]], names: list[str], jobs: int) -> None:
    """Nested choice: for each fold, the config with the best mean WSS@95 on the other
    folds is reported on that fold."""
    results = []
    for c in configs:
        rows = run_many(names, c.get("model", "screener-lr"), c.get("params", {}), jobs)
        results.append(rows)
        w = mean([r["wss95"] for r in rows.values()])
        print(f"config {c}: mean WSS95 {w:.4f}", flush=True)
    chosen: dict[str, dict[str, Any]] = {}
    heldout: dict[str, bool] = {}
    for k in range(N_FOLDS):
        train = [n for n in names if fold_of(n, names) != k]
        test = [n for n in names if fold_of(n, names) == k]
        scores = [mean([rows[n]["wss95"] for n in train]) - 0.5 * mean([rows[n]["atd"] for n in train])
                  for rows in results]
        best = max(range(len(configs)), key=lambda i: scores[i])
        print(f"fold {k}: chosen on other folds -> config {configs[best]}")
        for n in test:
            chosen[n] = results[best][n]
            heldout[n] = True
    print("\nHeld-out results (every dataset reported with the config chosen without it):")
    print_table(chosen, heldout)


def paired_table(a: dict[tuple[str, int], dict[str, Any]], b: dict[tuple[str, int], dict[str, Any]],
                 label_a: str, label_b: str) -> None:
    """Per dataset, means over prior seeds of WSS@95 and ATD for two variants run with the
    same random priors; then the mean paired difference and its standard error."""
    keys = sorted(set(a) & set(b))
    names = sorted({k[0] for k in keys}, key=lambda n: anchors()[n]["n_records"])
    print(f"{'dataset':36s} {'runs':>4s}  {'WSS95 ' + label_a[:9]:>16s} {label_b[:9]:>9s}  "
          f"{'ATD ' + label_a[:9]:>14s} {label_b[:9]:>9s}")
    for n in names:
        ks = [k for k in keys if k[0] == n]
        print(f"{n[:36]:36s} {len(ks):4d}  {mean([a[k]['wss95'] for k in ks]):16.3f} "
              f"{mean([b[k]['wss95'] for k in ks]):9.3f}  {mean([a[k]['atd'] for k in ks]):14.4f} "
              f"{mean([b[k]['atd'] for k in ks]):9.4f}")
    for metric in ("wss95", "atd"):
        d = [a[k][metric] - b[k][metric] for k in keys]
        se = statistics.stdev(d) / len(d) ** 0.5 if len(d) > 1 else float("nan")
        ratio = mean([a[k][metric] for k in keys]) / mean([b[k][metric] for k in keys])
        print(f"{metric}: {label_a} - {label_b} = {mean(d):+.4f} ± {se:.4f} (SE, {len(d)} runs); "
              f"ratio of means {ratio:.3f}")


def multi_seed(names: list[str], model: str, params: dict[str, Any],
               versus: dict[str, Any], seeds: list[int], jobs: int) -> None:
    """Paired comparison with random priors (one include, one exclude per seed)."""
    runs: list[dict[tuple[str, int], dict[str, Any]]] = [{}, {}]
    for i, p in enumerate((params, versus)):
        for s in seeds:
            for n, row in run_many(names, model, p, jobs, prior_seed=s).items():
                runs[i][(n, s)] = row
    paired_table(runs[0], runs[1], json.dumps(params), json.dumps(versus))


def block_cost(size: int, variants: list[dict[str, Any]]) -> None:
    """Cost of the optional feature blocks on `size` pooled records (seeded sample of all
    datasets, 1,000 labelled): non-zeros, extra extraction time, retrain + rank (min of 3)."""
    import numpy as np

    from screener.ranking import fit_features, rank
    from screener.ranking.derived import model_matrix

    texts: list[str] = []
    labels: list[int] = []
    for name in sorted(anchors()):
        ds = load_dataset(DATA / anchors()[name]["path"])
        texts += ds.texts
        labels += list(ds.labels)
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(texts))[:size]
    texts, labels = [texts[i] for i in pick], [labels[i] for i in pick]
    t0 = time.perf_counter()
    fs = fit_features(texts, ModelConfig.from_settings("screener-lr", 42, {}))
    print(f"{len(texts)} records, word features {time.perf_counter() - t0:.2f} s")
    lab = {int(i): labels[i] for i in rng.permutation(len(texts))[:1000]}
    for params in variants:
        cfg = ModelConfig.from_settings("screener-lr", 42, params)
        t0 = time.perf_counter()
        X = model_matrix(fs, cfg)
        extra = time.perf_counter() - t0
        rank(fs, lab, cfg)
        steps = []
        for _ in range(3):
            t0 = time.perf_counter()
            rank(fs, lab, cfg)
            steps.append(time.perf_counter() - t0)
        print(f"{json.dumps(params):28s} nnz {X.nnz:>11,d}  extra features {extra:6.2f} s  "
              f"step {min(steps) * 1000:7.1f} ms", flush=True)


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def time_asreview(names: list[str], asreview: str, model: str, params: dict[str, Any]) -> None:
    """Whole simulation (process start and data loading included) with ASReview's CLI
    (`asreview simulate`, ELAS u4, same priors and seed) and then with screener, one
    dataset at a time; wall and CPU seconds. Both read the same uncompressed CSV."""
    anc = anchors()
    print(f"{'dataset':30s} {'asr wall':>8s} {'scr wall':>8s} {'ratio':>6s}   "
          f"{'asr cpu':>8s} {'scr cpu':>8s} {'ratio':>6s}")
    tot = [0.0, 0.0, 0.0, 0.0]
    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            a = anc[n]
            csv_path = Path(tmp) / f"{n}.csv"
            csv_path.write_bytes(gzip.decompress((DATA / a["path"]).read_bytes()))
            ds = load_dataset(csv_path)
            idx = [str(ds.record_ids.index(str(p))) for p in a["prior_record_ids"]]
            cmd_a = [asreview, "simulate", str(csv_path), "--prior-idx", *idx,
                     "--seed", str(a["seed"]), "-o", str(Path(tmp) / f"{n}.asreview")]
            cmd_s = [sys.executable, __file__, "--simulate-csv", str(csv_path),
                     "--priors", json.dumps(a["prior_record_ids"]), "--seed", str(a["seed"]),
                     "--model", model, "--params", json.dumps(params)]
            res = []
            for cmd in (cmd_a, cmd_s):
                c0, t0 = _child_cpu(), time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                res += [time.perf_counter() - t0, _child_cpu() - c0]
            wa, ca, ws, cs = res
            for i, v in enumerate((wa, ws, ca, cs)):
                tot[i] += v
            print(f"{n[:30]:30s} {wa:8.1f} {ws:8.1f} {ws / wa:6.2f}   {ca:8.1f} {cs:8.1f} "
                  f"{cs / ca:6.2f}", flush=True)
    print(f"{'total':30s} {tot[0]:8.1f} {tot[1]:8.1f} {tot[1] / tot[0]:6.2f}   "
          f"{tot[2]:8.1f} {tot[3]:8.1f} {tot[3] / tot[2]:6.2f}")


def cold_start_one(args: tuple[str, str, int, bool, str, dict[str, Any]]) -> dict[str, Any]:
    name, protocol, seed, on, model, params = args
    import math

    from screener.ranking import fit_features, rank

    ds = load_dataset(DATA / "screening" / f"{name}.csv.gz")
    cfg = ModelConfig.from_settings(model, seed, {**params, "cold_start": on})
    fs = fit_features(ds.texts, cfg)
    res = simulate(ds, seed=seed, n_prior_included=0, n_prior_excluded=1, model_config=cfg,
                   protocol_text=protocol, features=fs,
                   stop_after=math.floor(0.1 * (len(ds) - 1)))
    prior_row = ds.record_ids.index(res.prior_ids[0])
    first = rank(fs, {prior_row: 0}, cfg, protocol_text=protocol)
    pos = next(i for i, r in enumerate(first.order, 1) if ds.labels[r] == 1)
    return {"dataset": name, "seed": seed, "on": on, "first_relevant": pos,
            "recall_at_10pct": res.metrics["recall_at_10pct"], "n_pool": len(ds) - 1}


def cold_start(model: str, params: dict[str, Any], seeds: list[int], jobs: int) -> None:
    """Gain of the protocol-similarity cold start on the SYNERGY datasets that carry
    eligibility criteria: no include prior (one random exclude), with vs without."""
    catalogue = json.loads((DATA / "screening" / "datasets.json").read_text())
    protocols = {d["name"]: f"{d.get('review', '')}\n{d['eligibility_criteria']}"
                 for d in catalogue if d.get("eligibility_criteria")}
    tasks = [(n, text, s, on, model, params) for n, text in sorted(protocols.items())
             for s in seeds for on in (False, True)]
    with ProcessPoolExecutor(max(jobs, 1)) as pool:
        rows = list(pool.map(cold_start_one, tasks))
    print(f"{'dataset':22s} {'N':>5s} | {'1st rel off':>11s} {'1st rel on':>10s} | "
          f"{'R@10% off':>9s} {'R@10% on':>8s}   (means over seeds {seeds})")
    offs, ons, roffs, rons = [], [], [], []
    for n in sorted(protocols):
        off = [r for r in rows if r["dataset"] == n and not r["on"]]
        on_ = [r for r in rows if r["dataset"] == n and r["on"]]
        fo = mean([r["first_relevant"] for r in off])
        fn = mean([r["first_relevant"] for r in on_])
        ro = mean([r["recall_at_10pct"] for r in off])
        rn = mean([r["recall_at_10pct"] for r in on_])
        offs.append(fo)
        ons.append(fn)
        roffs.append(ro)
        rons.append(rn)
        print(f"{n:22s} {off[0]['n_pool']:5d} | {fo:11.1f} {fn:10.1f} | {ro:9.3f} {rn:8.3f}")
    print(f"{'mean':22s} {'':5s} | {mean(offs):11.1f} {mean(ons):10.1f} | {mean(roffs):9.3f} "
          f"{mean(rons):8.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="*", help="dataset names (default: all in anchors)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--model", default="screener-lr")
    ap.add_argument("--params", default="{}", help="JSON overrides of ModelConfig fields")
    ap.add_argument("--force", action="store_true", help="ignore cached results")
    ap.add_argument("--cv", help="JSON file: list of {model, params} to choose among by CV")
    ap.add_argument("--time-asreview", nargs="*", help="datasets to time side by side")
    ap.add_argument("--asreview", default="/tmp/asr-venv/bin/asreview",
                    help="the asreview 3.0.8 executable (a separate virtualenv)")
    ap.add_argument("--cold-start", action="store_true",
                    help="measure the cold start on SYNERGY datasets with criteria")
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5])
    ap.add_argument("--prior-seeds", type=int, nargs="*",
                    help="random priors (1 include, 1 exclude) drawn with each seed, paired "
                         "with --versus instead of ASReview's priors")
    ap.add_argument("--versus", default="{}", help="JSON params of the reference variant")
    ap.add_argument("--block-cost", type=int, metavar="N",
                    help="time the optional feature blocks on N pooled records")
    ap.add_argument("--protocol", action="store_true",
                    help="pass each dataset's protocol text (benchmarks/protocol_texts.py; "
                         "use with --params '{\"protocol_include\": 2}'): information "
                         "beyond the labels that ASReview does not get")
    ap.add_argument("--beside-default", action="store_true",
                    help="print the results beside the default configuration's (run without "
                         "--params and --protocol), with tuning and held-out means")
    ap.add_argument("--simulate-csv", help=argparse.SUPPRESS)
    ap.add_argument("--priors", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=42, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.simulate_csv:  # one bare simulation, for the side-by-side timing
        cfg = ModelConfig.from_settings(args.model, args.seed, json.loads(args.params))
        simulate(load_dataset(args.simulate_csv), seed=args.seed,
                 prior_ids=json.loads(args.priors), model_config=cfg)
        return
    anc = anchors()
    names = args.datasets or sorted(anc)
    params = json.loads(args.params)
    if args.cold_start:
        cold_start(args.model, params, args.seeds, args.jobs)
        return
    if args.time_asreview:
        time_asreview(args.time_asreview, args.asreview, args.model, params)
        return
    if args.block_cost:
        block_cost(args.block_cost, [{}, {"char_weight": 1.0}, {"prefix_weight": 1.0},
                                     {"lsa_dims": 100}])
        return
    if args.prior_seeds:
        multi_seed(names, args.model, params, json.loads(args.versus), args.prior_seeds,
                   args.jobs)
        return
    if args.cv:
        cross_validate(json.loads(Path(args.cv).read_text()), names, args.jobs)
        return
    rows = run_many(names, args.model, params, args.jobs, args.force, protocol=args.protocol)
    if args.beside_default:
        print_beside(rows, run_many(names, args.model, {}, args.jobs, args.force))
        return
    print_table(rows)


if __name__ == "__main__":
    main()
