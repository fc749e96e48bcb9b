"""Feature blocks derived from a fitted `FeatureSet`, without the record texts.

A review's cached `FeatureSet` (word n-gram TF-IDF) is all the workflow keeps, so every extra
feature the classifier may use is computed from it:

- character n-grams of the kept words (``char_wb``-like: each word padded with spaces, its
  3..5-character pieces), counted once per distinct word in a record, sublinear tf, smooth
  idf, L2-normalised rows;
- an LSA projection (truncated SVD of the TF-IDF matrix, seeded), L2-normalised rows;
- sentence embeddings given by the caller (`embeddings.embed_texts`), as a dense block.

`model_matrix` joins the blocks the `ModelConfig` asks for (word block first, each block
scaled by its weight) and keeps the result in memory per `FeatureSet` object, so that a
simulation or a screening session pays for it once.

Imports: numpy, scipy, scikit-learn and screener.ranking only.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import scipy.sparse as sp

from screener.ranking.config import ModelConfig
from screener.ranking.features import FeatureSet

_CACHE: weakref.WeakKeyDictionary[
    FeatureSet, dict[tuple[Any, ...], tuple[sp.csr_matrix, np.ndarray | None]]] = (
    weakref.WeakKeyDictionary())


def _l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    m = sp.csr_matrix(m, dtype=np.float32)
    sq = np.asarray(m.multiply(m).sum(axis=1)).ravel()
    norms = np.sqrt(sq).astype(np.float32)
    norms[norms == 0] = 1.0
    m.data /= np.repeat(norms, np.diff(m.indptr))
    return m


def char_block(features: FeatureSet, n_min: int = 3, n_max: int = 5,
               min_df: int = 2) -> sp.csr_matrix:
    """Character n-gram TF-IDF of the words each record contains (rows as `features`)."""
    n_vocab = len(features.vocabulary)
    uni_cols = np.flatnonzero(features.keys < n_vocab)
    index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, key in enumerate(features.keys[uni_cols].tolist()):
        word = f" {features.vocabulary[key]} "
        grams = sorted({word[a:a + n] for n in range(n_min, n_max + 1)
                        for a in range(len(word) - n + 1)})  # same columns in every process
        rows.extend([i] * len(grams))
        cols.extend(index.setdefault(g, len(index)) for g in grams)
    mapping = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                            shape=(len(uni_cols), len(index)))
    present = sp.csr_matrix(features.matrix[:, uni_cols], dtype=np.float32)
    present.data[:] = 1.0
    return _tfidf(sp.csr_matrix(present @ mapping), min_df)


def prefix_block(features: FeatureSet, length: int = 5, min_df: int = 2) -> sp.csr_matrix:
    """TF-IDF of word prefixes (the first `length` characters of each kept word: a crude,
    language-independent stemmer), counted once per distinct word in a record."""
    n_vocab = len(features.vocabulary)
    uni_cols = np.flatnonzero(features.keys < n_vocab)
    index: dict[str, int] = {}
    cols = np.empty(len(uni_cols), np.int64)
    for i, key in enumerate(features.keys[uni_cols].tolist()):
        stem = features.vocabulary[key][:length]
        cols[i] = index.setdefault(stem, len(index))
    mapping = sp.csr_matrix((np.ones(len(cols), np.float32), (np.arange(len(cols)), cols)),
                            shape=(len(uni_cols), len(index)))
    present = sp.csr_matrix(features.matrix[:, uni_cols], dtype=np.float32)
    present.data[:] = 1.0
    return _tfidf(sp.csr_matrix(present @ mapping), min_df)


def _tfidf(counts: sp.csr_matrix, min_df: int) -> sp.csr_matrix:
    """Sublinear tf x smooth idf of a count matrix, columns with df < min_df dropped."""
    n_docs = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    keep = np.flatnonzero(df >= min_df)
    counts = sp.csr_matrix(counts[:, keep])
    np.log(counts.data, out=counts.data)
    counts.data += 1.0
    idf = (np.log((1.0 + n_docs) / (1.0 + df[keep])) + 1.0).astype(np.float32)
    counts.data *= idf[counts.indices]
    return _l2_rows(counts)


def lsa_block(features: FeatureSet, dims: int, seed: int) -> sp.csr_matrix:
    """Truncated SVD (randomized, seeded) of the TF-IDF matrix, rows L2-normalised."""
    from sklearn.decomposition import TruncatedSVD

    k = max(1, min(dims, features.n_features - 1, features.n_rows - 1))
    svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=4, random_state=seed)
    dense = svd.fit_transform(features.matrix).astype(np.float32)
    return _l2_rows(sp.csr_matrix(dense))


def model_matrix(features: FeatureSet, config: ModelConfig,
                 embeddings: np.ndarray | None = None) -> sp.csr_matrix:
    """The matrix the classifier of `config` trains on: the word TF-IDF of `features`,
    beside the derived blocks `config` asks for (cached per `features` object) and, when
    `config.embedding_weight` > 0, `embeddings` (one row per record)."""
    use_emb = config.embedding_weight > 0
    if (config.char_weight <= 0 and config.lsa_dims <= 0 and config.prefix_weight <= 0
            and not use_emb):
        return features.matrix
    if use_emb and (embeddings is None or len(embeddings) != features.n_rows):
        raise ValueError("this model needs one sentence embedding per record "
                         "(screener.ranking.embeddings.embed_texts)")
    key = (config.char_weight, config.prefix_weight, config.lsa_dims, config.lsa_weight,
           config.seed, config.embedding_weight, id(embeddings) if use_emb else None)
    per_fs = _CACHE.setdefault(features, {})
    cached = per_fs.get(key)
    # The embeddings are kept with the matrix, so their id cannot be reused meanwhile.
    if cached is not None and (not use_emb or cached[1] is embeddings):
        return cached[0]
    blocks = [features.matrix]
    if config.char_weight > 0:
        blocks.append(char_block(features) * np.float32(config.char_weight))
    if config.prefix_weight > 0:
        blocks.append(prefix_block(features) * np.float32(config.prefix_weight))
    if config.lsa_dims > 0:
        blocks.append(lsa_block(features, config.lsa_dims, config.seed)
                      * np.float32(config.lsa_weight))
    if use_emb and embeddings is not None:
        blocks.append(sp.csr_matrix(np.asarray(embeddings, np.float32)
                                    * np.float32(config.embedding_weight)))
    out = sp.csr_matrix(sp.hstack(blocks, format="csr", dtype=np.float32))
    per_fs.clear()
    per_fs[key] = (out, embeddings if use_emb else None)
    return out
