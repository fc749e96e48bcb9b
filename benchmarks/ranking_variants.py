"""Experiment, not a feature: quick paired screening of ranking ideas that the model does
not offer, in a simulation loop of its own (the same loop as `simulate`: retrain after
every label, present the best-scored record, stop at the last relevant one).

Each variant is FEATURES:SCORER.
  FEATURES  base     the review's word 1-2-gram TF-IDF (`fit_features`, defaults)
            titleK   the title repeated K times before the abstract (title up-weighting)
            mindf1   min_df = 1 (as ASReview)
            charcap_D_W  character 3-5-grams of the words beside the words (weight W), grams
                     in more than a fraction D of the records dropped (to cut the cost)
            bm25     BM25 term weights (k1 1.2, b 0.75) x idf instead of sublinear tf, same
                     word 1-2-grams and min_df 2, rows L2-normalised
            binary   idf of each term present (tf ignored), rows L2-normalised
            dense_W  dense record vectors beside the words (weight W), read from
                     $SCREENER_DENSE/<dataset>.npy (one L2-normalised row per record; made
                     outside screener, e.g. by benchmarks/ranking_static.py)
            meta_W   the records' authors (family names), journal and year as tokens
                     (benchmarks/metadata_tokens.py), beside the words (weight W); datasets
                     without them get an empty block. meta_W_P: only the parts P of 'a'
                     (authors), 'j' (journal), 'y' (year), e.g. meta_0.5_a
  SCORER    lr       the default logistic regression; options after '_', e.g.
            lr_C=0.5_iw=20    C and include_weight
            lr_knn=0.3        z-scored logistic score + 0.3 x z-scored cosine similarity to
                              the nearest included record (k=K: mean of the K nearest)
            lr_mix=W          z(logistic on the FEATURES) + W x z(a second model on min_df-1
                              features; ASReview's ELAS u4 with m2=1, else the logistic)
            lr_switch=K       after K irrelevant records in a row, rank by the second model
                              until the next relevant record is found (two models, one stuck)
            lr_alt=1          alternate the two models, one presented record each
            lr_nb=B           NBSVM-style scaling (Wang & Manning 2012): every step, the
                              log-count ratio r = log((p/|p|_1) / (q/|q|_1)) per column, p = 1 +
                              number of labelled includes containing the term (binarised
                              presence), q = 1 + the same over labelled excludes; the logistic
                              is trained on X @ diag(|r|^B) and scores all rows through the same
                              scaling (B = 1: NBSVM; the sign of r does not change an L2
                              logistic, so |r| is used)
            lr_nbmix=W        z(logistic on X) + W x z(logistic on the NB-scaled X), B from
                              nb= (default 1)
            lr_to=1           records without an abstract are scored by a second logistic
                              trained on the labelled records' titles alone (title-only
                              vectors in the same feature space); the rest by the default
            lr_tomax=1        the same, but a record without an abstract gets the larger of
                              the two scores
            lr_aug=1          one logistic trained on the labelled rows plus a title-only
                              copy of each labelled record that has an abstract (same label)
            lr_pr=K           the review's protocol text (benchmarks/protocol_texts.py) as a
                              labelled include, counted K times, in every training set
                              (FEATURES base only; datasets without a text rank as the default)
            lr_pr=K_prn=T     the same until T relevant records are labelled, then the
                              labelled records alone
            lr_ps=W           z-scored logistic score + W x z-scored cosine similarity to the
                              protocol text
            elas     the `elas-u4` preset's classifier (ASReview's ELAS u4: SVM, C = 0.11);
                     with FEATURES mindf1 it is ASReview's model, so `mindf1:elas` measures
                     ASReview beside screener on any priors, not only the anchors' one seed

Runs the 22 tuning datasets (folds 0/1 of `ranking.fold_of`, <= 2,100 records) by default,
with ASReview's priors ('anchor') and random priors drawn with seeds 1, 2, paired against
the first variant (`--base`). Results are cached in benchmarks/out/variants/.

    python benchmarks/ranking_variants.py --variants base:lr_knn=0.3 title2:lr
    python benchmarks/ranking_variants.py --variants mindf1:lr --set held --pseeds anchor 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from metadata_tokens import dataset_metadata, metadata_block  # noqa: E402
from protocol_texts import protocol_texts  # noqa: E402

from screener.ranking.config import FeatureConfig, ModelConfig  # noqa: E402
from screener.ranking.derived import char_block  # noqa: E402
from screener.ranking.features import fit_features, record_text  # noqa: E402
from screener.ranking.metrics import all_metrics  # noqa: E402
from screener.ranking.model import LinearRanker, fit_scores  # noqa: E402
from screener.ranking.simulate import Dataset, choose_priors, load_dataset, next_record  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_data import shared_data  # noqa: E402

DATA = shared_data()
OUT = ROOT / "benchmarks" / "out" / "variants"


def anchors() -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (DATA / "anchors" / "asreview_elas_u4.jsonl").open()]
    return {r["dataset"]: r for r in rows}


def z(s: np.ndarray) -> np.ndarray:
    sd = float(s.std())
    out: np.ndarray = (s - s.mean()) / (sd if sd > 0 else 1.0)
    return out


def l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel()).astype(np.float32)
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m, dtype=np.float32)


def weighted(texts: list[str], how: str) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import CountVectorizer

    counts = CountVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.95,
                             dtype=np.float64).fit_transform(texts).tocsr()
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((n + 1) / (df + 1)) + 1.0
    tf = counts.copy()
    if how == "binary":
        tf.data[:] = 1.0
    else:
        dl = np.asarray(counts.sum(axis=1)).ravel()
        norm = 1.2 * (0.25 + 0.75 * dl / max(dl.mean(), 1.0))
        rows = np.repeat(np.arange(n), np.diff(tf.indptr))
        tf.data = tf.data * 2.2 / (tf.data + norm[rows])
    return l2_rows(sp.csr_matrix(tf @ sp.diags(idf), dtype=np.float32))


def meta_docs(ds: Dataset, name: str, parts: str = "ajy") -> list[str]:
    """The dataset's `metadata_doc`s, keeping only the token kinds in `parts` ('a' authors,
    'j' journal, 'y' year)."""
    docs = dataset_metadata(DATA / anchors()[name]["path"], ds.record_ids)
    if parts == "ajy":
        return docs
    keep = tuple({"a": "au:", "j": "jo:", "y": "yr:"}[c] for c in parts)
    return [" ".join(t for t in doc.split() if t.startswith(keep)) for doc in docs]


def build(ds: Dataset, fv: str, name: str = "") -> sp.csr_matrix:
    if fv.startswith("title"):
        k = int(fv[5:] or 2)
        texts = [record_text(" ".join([t] * k), a) for t, a in zip(ds.titles, ds.abstracts,
                                                                   strict=True)]
        return fit_features(texts, FeatureConfig()).matrix
    if fv == "mindf1":
        return fit_features(ds.texts, FeatureConfig(min_df=1)).matrix
    if fv in ("bm25", "binary"):
        return weighted(ds.texts, fv)
    fs = fit_features(ds.texts, FeatureConfig())
    if fv == "base":
        return fs.matrix
    if fv.startswith("charcap_"):
        _, cap, weight = fv.split("_")
        cb = char_block(fs)
        df = np.bincount(cb.indices, minlength=cb.shape[1]) / cb.shape[0]
        cb = l2_rows(sp.csr_matrix(cb[:, np.flatnonzero(df <= float(cap))]))
        return sp.csr_matrix(sp.hstack([fs.matrix, cb * np.float32(weight)], format="csr",
                                       dtype=np.float32))
    if fv.startswith("meta_"):
        _, weight, *which = fv.split("_")
        mb = metadata_block(meta_docs(ds, name, *which)) * np.float32(weight)
        return sp.csr_matrix(sp.hstack([fs.matrix, mb], format="csr", dtype=np.float32))
    if fv.startswith("dense_"):
        vecs = np.load(Path(os.environ["SCREENER_DENSE"]) / f"{name}.npy").astype(np.float32)
        if vecs.shape[0] != fs.matrix.shape[0]:
            raise ValueError(f"{name}: {vecs.shape[0]} vectors for {fs.matrix.shape[0]} records")
        dense = sp.csr_matrix(vecs * np.float32(fv.split("_")[1]))
        return sp.csr_matrix(sp.hstack([fs.matrix, dense], format="csr", dtype=np.float32))
    raise ValueError(f"unknown features {fv!r}")


def nb_fit_scores(X: sp.csr_matrix, Xb: sp.csr_matrix, lab: np.ndarray, yl: np.ndarray,
                  cfg: ModelConfig, beta: float) -> np.ndarray:
    """Logistic scores on the columns of X scaled by |r|^beta, r the NB log-count ratio of
    the labelled rows' binarised presence (alpha 1). The scaling is applied to the labelled
    rows only and folded into the coefficients for scoring (X @ (g * w)), so no scaled copy
    of X is made."""
    inc = np.asarray(Xb[lab].T @ np.column_stack([yl == 1, yl == 0]).astype(np.float32))
    p, q = 1.0 + inc[:, 0], 1.0 + inc[:, 1]
    r = np.log(p / p.sum()) - np.log(q / q.sum())
    g = (np.abs(r) ** beta).astype(np.float32)
    model = LinearRanker(classifier=cfg.classifier, C=cfg.C,
                         include_weight=cfg.include_weight, random_state=cfg.seed)
    model.fit(X[lab] @ sp.diags(g), yl)
    ((w, b),) = model.coefs_
    out: np.ndarray = np.asarray(X @ (w * g) + b, dtype=np.float64)
    return out


def fused(s: np.ndarray, other: np.ndarray, weight: float, labelled: np.ndarray
          ) -> np.ndarray:
    """z(s) + weight x z(other) over the unlabelled rows (z-scored among them); -inf on the
    labelled ones."""
    free = ~labelled
    out = np.full(len(s), -np.inf)
    out[free] = z(s[free]) + weight * z(other[free])
    return out


def run(task: tuple[str, str, str, int | None]) -> dict[str, Any]:
    name, fv, sv, pseed = task
    source = f"@{Path(os.environ['SCREENER_DENSE']).name}" if fv.startswith("dense_") else ""
    cache = OUT / f"{name}__{fv}{source}__{sv}__{pseed}.json"
    if cache.exists():
        return dict(json.loads(cache.read_text()))
    a = anchors()[name]
    ds = load_dataset(DATA / a["path"])
    y = np.asarray(ds.labels, np.int64)
    n = len(y)
    if pseed is None:
        index = {r: i for i, r in enumerate(ds.record_ids)}
        priors, seed = [index[str(p)] for p in a["prior_record_ids"]], int(a["seed"])
    else:
        priors, seed = choose_priors(ds, pseed, 1, 1), pseed
    t0 = time.perf_counter()
    X = build(ds, fv, name)
    feat_s = time.perf_counter() - t0
    kind, *opts = sv.split("_")
    if kind not in ("lr", "elas"):
        raise ValueError(f"unknown scorer {sv!r}")
    opt = {k: float(v) for k, v in (o.split("=") for o in opts)}
    over = {"C": opt["C"]} if "C" in opt else {}
    if "iw" in opt:
        over["include_weight"] = opt["iw"]
    cfg = ModelConfig.from_settings("screener-lr" if kind == "lr" else "elas-u4", seed, over)
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(n) * 1e-12
    labelled = np.zeros(n, bool)
    labelled[priors] = True
    lab = list(priors)
    order: list[int] = []
    found = 0
    n_rel = int(y.sum() - y[priors].sum())
    two = any(k in opt for k in ("mix", "switch", "alt"))
    X2 = build(ds, "mindf1") if two else None
    cfg2 = ModelConfig.from_settings("elas-u4" if opt.get("m2") else "screener-lr", seed, {})
    run_irr = 0
    nb = "nb" in opt or "nbmix" in opt
    Xb = X.copy() if nb else None
    if Xb is not None:
        Xb.data[:] = 1.0
    tonly = any(k in opt for k in ("to", "tomax", "aug"))
    noabs = np.array([not a.strip() for a in ds.abstracts]) if tonly else None
    XX = None
    if tonly:
        feats = fit_features(ds.texts, FeatureConfig())
        XX = sp.csr_matrix(sp.vstack([X, feats.transform(list(ds.titles))], format="csr"),
                           dtype=np.float32)
    ptext = protocol_texts(DATA).get(name, "") if ("pr" in opt or "ps" in opt) else ""
    psim = prow = None
    if ptext:
        if fv != "base":
            raise ValueError("pr= and ps= need FEATURES base")
        q = fit_features(ds.texts, FeatureConfig()).transform([ptext])
        psim = np.asarray((X @ q.T).toarray()).ravel()
        if "pr" in opt:
            X = sp.csr_matrix(sp.vstack([X, q], format="csr"), dtype=np.float32)
            prow = np.full(int(opt["pr"]), n)
    t1 = time.perf_counter()
    while len(order) < n - len(priors):
        yl = y[lab]
        second = ("switch" in opt and run_irr >= opt["switch"]) or (
            "alt" in opt and len(order) % 2 == 1)
        if X2 is not None and second:
            s = fit_scores(X2, np.asarray(lab), yl, cfg2, rng, None)
        elif Xb is not None and "nbmix" not in opt:
            s = nb_fit_scores(X, Xb, np.asarray(lab), yl, cfg, opt["nb"])
        elif XX is not None and noabs is not None and "aug" in opt:
            la = np.asarray(lab)
            keep = ~noabs[la]
            rows = np.concatenate([la, la[keep] + n])
            s = fit_scores(XX, rows, np.concatenate([yl, yl[keep]]), cfg, rng, None)[:n]
        elif prow is not None and ("prn" not in opt or yl.sum() < opt["prn"]):
            s = fit_scores(X, np.concatenate([lab, prow]),
                           np.concatenate([yl, np.ones(len(prow), np.int64)]), cfg, rng,
                           None)[:n]
        else:  # [:n]: X has the protocol's row at the end under lr_pr
            s = fit_scores(X, np.asarray(lab), yl, cfg, rng, None)[:n]
        if psim is not None and "ps" in opt:
            s = fused(s, psim, opt["ps"], labelled)
        if XX is not None and noabs is not None and ("to" in opt or "tomax" in opt):
            st = fit_scores(XX, np.asarray(lab) + n, yl, cfg, rng, None)[n:]
            s = np.where(noabs, np.maximum(s, st) if "tomax" in opt else st, s)
        if Xb is not None and "nbmix" in opt:
            s = fused(s, nb_fit_scores(X, Xb, np.asarray(lab), yl, cfg, opt.get("nb", 1.0)),
                      opt["nbmix"], labelled)
        if "mix" in opt and X2 is not None:
            s = fused(s, fit_scores(X2, np.asarray(lab), yl, cfg2, rng, None), opt["mix"],
                      labelled)
        if "knn" in opt:
            sims = (X @ X[np.asarray(lab)[yl == 1]].T).toarray()
            k = min(int(opt.get("k", 1)), sims.shape[1])
            near = sims.max(axis=1) if k == 1 else -np.sort(-sims, axis=1)[:, :k].mean(axis=1)
            s = fused(s, near, opt["knn"], labelled)
        best = next_record(s, labelled, tiebreak)
        order.append(best)
        labelled[best] = True
        lab.append(best)
        found += int(y[best])
        run_irr = 0 if y[best] else run_irr + 1
        if found >= n_rel:
            break
    m = all_metrics([int(y[i]) for i in order], n - len(priors), n_rel)
    row = {"dataset": name, "fv": fv, "sv": sv, "pseed": pseed, **m, "feat_s": feat_s,
           "sim_s": time.perf_counter() - t1, "steps": len(order), "nnz": int(X.nnz)}
    OUT.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(row))
    return row


def dataset_sets() -> dict[str, list[str]]:
    anch = anchors()
    names = sorted(anch)
    tune = [nm for i, nm in enumerate(names) if i % 3 != 2 and anch[nm]["n_records"] <= 2100]
    return {"tune": tune, "held": [nm for nm in names if nm not in tune]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", nargs="+", required=True, help="FEATURES:SCORER ...")
    ap.add_argument("--base", default="base:lr", help="variant the others are paired with")
    ap.add_argument("--set", default="tune", help="tune, held, or comma-separated names")
    ap.add_argument("--pseeds", nargs="*", default=["anchor", "1", "2"],
                    help="'anchor' (ASReview's priors) and/or seeds of random priors")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    sets = dataset_sets()
    names = sets.get(a.set) or a.set.split(",")
    seeds = [None if p == "anchor" else int(p) for p in a.pseeds]
    variants = [a.base] + [v for v in a.variants if v != a.base]
    tasks = [(nm, *v.split(":", 1), p) for v in variants for nm in names for p in seeds]
    size = {nm: anchors()[nm]["n_records"] for nm in names}
    tasks.sort(key=lambda t: -size[t[0]])
    with Pool(a.jobs) as pool:
        rows = pool.map(run, tasks, chunksize=1)
    res = {(r["dataset"], f"{r['fv']}:{r['sv']}", r["pseed"]): r for r in rows}
    keys = [(nm, p) for nm in names for p in seeds]
    print(f"{len(names)} datasets x prior seeds {a.pseeds}; paired with {a.base}")
    for v in variants:
        w = np.array([res[(nm, v, p)]["wss95"] for nm, p in keys])
        t = np.array([res[(nm, v, p)]["atd"] for nm, p in keys])
        wb = np.array([res[(nm, a.base, p)]["wss95"] for nm, p in keys])
        tb = np.array([res[(nm, a.base, p)]["atd"] for nm, p in keys])
        d = w - wb
        se = d.std(ddof=1) / len(d) ** 0.5 if len(d) > 1 else 0.0
        sim = sum(res[(nm, v, p)]["sim_s"] for nm, p in keys)
        print(f"{v:24s} WSS@95 {w.mean():.4f} diff {d.mean():+.4f} ± {se:.4f}  "
              f"ATD {t.mean():.4f} ratio {t.mean() / tb.mean():.3f}  "
              f"worst WSS diff {d.min():+.3f}  simulation CPU {sim:.0f} s")


if __name__ == "__main__":
    main()
