"""TF-IDF features for a review's records, fitted once and cached on disk.

Word 1..n-gram TF-IDF (sublinear tf, smooth idf, L2-normalised rows, float32), computed
with vectorised numpy instead of scikit-learn's per-token Python loop: tokens are mapped to
integer ids once, n-grams become integer keys, and document frequencies come from one sort.
This is several times faster than `TfidfVectorizer` on the same texts, which keeps
(re)fitting cheap when records are imported.

A `FeatureSet` is saved as a scipy.sparse ``.npz`` plus a small JSON file (no pickle) and
knows the fingerprint of the texts it was fitted on, so callers refit only when the records
change (`load_or_fit`).

Imports: numpy, scipy and screener.core/ranking only; never sqlalchemy, textual, click, yaml.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from screener.core.records import Record
from screener.ranking.config import FeatureConfig, ModelConfig

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
FORMAT_VERSION = 2


def record_text(
    title: str,
    abstract: str,
    keywords: Iterable[str] = (),
    mesh_terms: Iterable[str] = (),
) -> str:
    """The text that represents a record: title, abstract, keywords and MeSH terms."""
    parts = [title or "", abstract or ""]
    kw = " ".join(k for k in keywords if k)
    mesh = " ".join(m for m in mesh_terms if m)
    if kw:
        parts.append(kw)
    if mesh:
        parts.append(mesh)
    return " ".join(p for p in parts if p)


def text_of(record: Record) -> str:
    """`record_text` of a core `Record`."""
    return record_text(record.title, record.abstract, record.keywords, record.mesh_terms)


def texts_fingerprint(texts: Sequence[str]) -> str:
    """sha256 over the texts in order (length-prefixed), used to decide whether to refit."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


_WORD_BYTES = bytes(
    b if (b >= 128 or b == 1 or chr(b).isalnum() or b == 95) else 32 for b in range(256)
)
_SEP = b" \x01 "


def _tokenise(texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Vocabulary, token ids of all texts concatenated, and tokens per text.

    Same tokens as ``re.findall(r"(?u)\\b\\w\\w+\\b", text.lower())`` but fast: the
    corpus is split once as bytes on ASCII non-word characters (C speed), and the few
    distinct raw pieces that still hold non-ASCII punctuation, capitals or single
    characters are re-tokenised exactly with the regular expression, per distinct piece.
    """
    clean = [t.replace("\x01", " ") for t in texts]
    blob = _SEP.join(t.encode("utf-8", "surrogatepass") for t in clean).translate(_WORD_BYTES)
    pieces = blob.split()
    distinct = list(dict.fromkeys(pieces))
    piece_index = {p: i for i, p in enumerate(distinct)}
    piece_ids = np.fromiter(map(piece_index.__getitem__, pieces), np.int64, len(pieces))
    del pieces
    # Map each distinct piece to its list of real tokens.
    vocab: list[str] = []
    token_index: dict[str, int] = {}
    n_sub = np.zeros(len(distinct), np.int64)
    flat_sub: list[int] = []
    sep_id = -1
    for i, piece in enumerate(distinct):
        if piece == b"\x01":
            sep_id = i
            continue
        toks = _TOKEN.findall(piece.decode("utf-8", "surrogatepass").lower())
        n_sub[i] = len(toks)
        for tok in toks:
            tid = token_index.get(tok)
            if tid is None:
                tid = token_index[tok] = len(vocab)
                vocab.append(tok)
            flat_sub.append(tid)
    sub_start = np.zeros(len(distinct) + 1, np.int64)
    np.cumsum(n_sub, out=sub_start[1:])
    sub = np.asarray(flat_sub, np.int64)
    # Document of each piece: count separators before it.
    is_sep = piece_ids == sep_id
    doc_of_piece = np.cumsum(is_sep)
    lens = n_sub[piece_ids]
    total = int(lens.sum())
    starts = sub_start[piece_ids]
    # Expand each piece into its tokens (vectorised ragged gather).
    out_start = np.cumsum(lens) - lens
    offsets = np.arange(total, dtype=np.int64) - np.repeat(out_start, lens)
    ids = sub[np.repeat(starts, lens) + offsets] if total else np.zeros(0, np.int64)
    docs = np.repeat(doc_of_piece, lens)
    lengths = np.bincount(docs, minlength=len(texts)).astype(np.int64)
    return vocab, ids, lengths


_CHUNK = 20_000
"""Records per chunk when counting n-grams (bounds memory on large reviews)."""


def _tokenise_in_chunks(texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """`_tokenise` a chunk of texts at a time, with token ids mapped to one vocabulary
    (same vocabulary order and ids as `_tokenise` on all texts at once)."""
    vocab: list[str] = []
    index: dict[str, int] = {}
    id_parts: list[np.ndarray] = []
    len_parts: list[np.ndarray] = []
    for lo in range(0, max(len(texts), 1), _CHUNK):
        chunk_vocab, chunk_ids, chunk_lengths = _tokenise(texts[lo:lo + _CHUNK])
        mapping = np.empty(len(chunk_vocab), np.int32)
        for i, tok in enumerate(chunk_vocab):
            tid = index.get(tok)
            if tid is None:
                tid = index[tok] = len(vocab)
                vocab.append(tok)
            mapping[i] = tid
        id_parts.append(mapping[chunk_ids] if len(chunk_ids) else np.zeros(0, np.int32))
        len_parts.append(chunk_lengths)
    ids = np.concatenate(id_parts) if id_parts else np.zeros(0, np.int32)
    lengths = np.concatenate(len_parts) if len_parts else np.zeros(0, np.int64)
    return vocab, ids, lengths[:len(texts)]


def _ngram_keys(
    ids: np.ndarray, doc: np.ndarray, n_vocab: int, ngram_max: int
) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys of all 1..ngram_max-grams (within one document) and their document.

    A unigram's key is its token id; an n-gram's key encodes its token ids in base
    ``n_vocab`` and is offset so that keys of different orders never collide.
    Unknown tokens (id < 0) break n-grams and yield no key.
    """
    keys_all = [ids]
    docs_all = [doc]
    offset = n_vocab
    base = np.int64(n_vocab)
    for n in range(2, ngram_max + 1):
        if len(ids) < n:
            break
        m = len(ids) - n + 1
        key = ids[:m].copy()
        valid = (doc[:m] == doc[n - 1 :]) & (ids[:m] >= 0)
        for j in range(1, n):
            key = key * base + ids[j : j + m]
            valid &= ids[j : j + m] >= 0
        keys_all.append(key[valid] + offset)
        docs_all.append(doc[:m][valid])
        offset += n_vocab**n
    keys = np.concatenate(keys_all)
    docs = np.concatenate(docs_all)
    ok = keys >= 0
    return keys[ok], docs[ok]


def _max_key(n_vocab: int, ngram_max: int) -> int:
    return sum(n_vocab**n for n in range(1, ngram_max + 1))


@dataclass(frozen=True, eq=False)
class FeatureSet:
    """The fitted TF-IDF matrix of a review (row i = i-th text given to `fit_features`)."""

    matrix: sp.csr_matrix
    """Rows = records, columns = kept n-grams; float32, L2-normalised rows."""
    vocabulary: tuple[str, ...]
    """Every token seen (index = token id used in `keys`)."""
    keys: np.ndarray
    """int64 n-gram key of each column (see `_ngram_keys`); columns are ordered by
    decreasing document frequency."""
    idf: np.ndarray
    """float32 inverse document frequency per column."""
    config: FeatureConfig
    """Settings the features were fitted with."""
    fingerprint: str
    """`texts_fingerprint` of the fitted texts."""

    @property
    def n_rows(self) -> int:
        """Number of records (rows)."""
        return int(self.matrix.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.matrix.shape[1])

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF vectors of new texts (e.g. a protocol) in this feature space."""
        index = {tok: i for i, tok in enumerate(self.vocabulary)}
        rows: list[np.ndarray] = []
        lengths = []
        for text in texts:
            toks = _TOKEN.findall(text.lower())
            rows.append(np.fromiter((index.get(t, -1) for t in toks), np.int64, len(toks)))
            lengths.append(len(toks))
        ids = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        keys, docs = _ngram_keys(ids, doc, len(self.vocabulary), self.config.ngram_max)
        key_order = np.argsort(self.keys, kind="stable")
        sorted_keys = self.keys[key_order]
        pos = np.searchsorted(sorted_keys, keys)
        pos_c = np.minimum(pos, max(len(sorted_keys) - 1, 0))
        hit = (pos < len(sorted_keys)) & (sorted_keys[pos_c] == keys) if len(sorted_keys) else pos < 0
        counts = sp.coo_matrix(
            (np.ones(int(hit.sum()), np.float32), (docs[hit], key_order[pos_c[hit]])),
            shape=(len(texts), self.n_features),
        ).tocsr()
        counts.sum_duplicates()
        return _weight(counts, self.idf, self.config.sublinear_tf)

    def save(self, path: str | Path) -> None:
        """Write ``<path>.npz`` (arrays) and ``<path>.json`` (vocabulary and settings)."""
        base = _base(path)
        base.parent.mkdir(parents=True, exist_ok=True)
        m = self.matrix
        with open(base.with_suffix(".npz"), "wb") as fh:
            np.savez_compressed(
                fh, data=m.data, indices=m.indices, indptr=m.indptr,
                shape=np.asarray(m.shape, np.int64), keys=self.keys, idf=self.idf,
            )
        meta = {
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "fingerprint": self.fingerprint,
            "vocabulary": list(self.vocabulary),
        }
        base.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path: str | Path) -> FeatureSet:
        """Read what `save` wrote."""
        base = _base(path)
        meta: dict[str, Any] = json.loads(base.with_suffix(".json").read_text("utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported feature file version {meta.get('format_version')}")
        with np.load(base.with_suffix(".npz"), allow_pickle=False) as arrays:
            shape = tuple(int(x) for x in arrays["shape"])
            matrix = sp.csr_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape
            )
            keys = arrays["keys"]
            idf = arrays["idf"]
        return cls(
            matrix=matrix, vocabulary=tuple(meta["vocabulary"]), keys=keys, idf=idf,
            config=FeatureConfig(**meta["config"]), fingerprint=str(meta["fingerprint"]),
        )


def _base(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".npz", ".json") else p


def _weight(counts: sp.csr_matrix, idf: np.ndarray, sublinear: bool) -> sp.csr_matrix:
    """tf (optionally 1 + log tf) × idf, then L2-normalise each row; float32 CSR."""
    out = counts.astype(np.float32)
    if sublinear:
        np.log(out.data, out=out.data)
        out.data += 1.0
    out.data *= idf[out.indices]
    sq = np.asarray(out.multiply(out).sum(axis=1)).ravel()
    norms = np.sqrt(sq, dtype=np.float64).astype(np.float32)
    norms[norms == 0] = 1.0
    out.data /= np.repeat(norms, np.diff(out.indptr))
    return sp.csr_matrix(out)


def fit_features(texts: Sequence[str], config: ModelConfig | FeatureConfig) -> FeatureSet:
    """Fit TF-IDF on `texts` (one per record, see `record_text`) and return the matrix.

    Equivalent to scikit-learn's ``TfidfVectorizer(ngram_range=(1, n), min_df, max_df,
    sublinear_tf, token_pattern=r"(?u)\\b\\w\\w+\\b", lowercase=True)`` with float32 output,
    up to column order.
    """
    fc = config.features if isinstance(config, ModelConfig) else config
    n_docs = len(texts)
    vocab, ids, lengths = _tokenise_in_chunks(texts)
    n_vocab = max(len(vocab), 1)
    if n_docs and _max_key(n_vocab, fc.ngram_max) * n_docs >= 2**62:
        raise ValueError("vocabulary too large for int64 n-gram keys; lower ngram_max")
    # (n-gram, record) pairs with their counts, a chunk of records at a time, so that the
    # arrays of every n-gram occurrence never exist for the whole review at once.
    tok_start = np.zeros(n_docs + 1, np.int64)
    np.cumsum(lengths, out=tok_start[1:])
    pair_parts: list[np.ndarray] = []
    tf_parts: list[np.ndarray] = []
    for lo in range(0, n_docs, _CHUNK):
        hi = min(n_docs, lo + _CHUNK)
        a, b = int(tok_start[lo]), int(tok_start[hi])
        doc = np.repeat(np.arange(lo, hi, dtype=np.int64), lengths[lo:hi])
        keys, docs = _ngram_keys(ids[a:b].astype(np.int64), doc, n_vocab, fc.ngram_max)
        codes = keys * np.int64(max(n_docs, 1)) + docs
        del keys, docs, doc
        codes.sort()
        if len(codes):
            first = np.empty(len(codes), bool)
            first[0] = True
            np.not_equal(codes[1:], codes[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            del first
            tf_parts.append(np.diff(np.append(starts, len(codes))))
            pair_parts.append(codes[starts])
        del codes
    del ids
    if pair_parts:
        pairs = np.concatenate(pair_parts)
        tf = np.concatenate(tf_parts)
        del pair_parts, tf_parts
        order = np.argsort(pairs, kind="stable")
        pairs, tf = pairs[order], tf[order]
        del order
    else:
        tf = np.zeros(0, np.int64)
        pairs = np.zeros(0, np.int64)
    pair_key = pairs // np.int64(max(n_docs, 1))
    pair_doc = (pairs - pair_key * np.int64(max(n_docs, 1))).astype(np.int32)
    del pairs
    if len(pair_key):
        new_key = np.empty(len(pair_key), bool)
        new_key[0] = True
        np.not_equal(pair_key[1:], pair_key[:-1], out=new_key[1:])
        key_starts = np.flatnonzero(new_key)
        del new_key
    else:
        key_starts = np.zeros(0, np.int64)
    ukeys = pair_key[key_starts]
    df = np.diff(np.append(key_starts, len(pair_key)))
    keep = (df >= fc.min_df) & (df <= fc.max_df * n_docs)
    pair_keep = np.repeat(keep, df)
    col_counts = df[keep]
    indptr_c = np.zeros(len(col_counts) + 1, np.int64)
    np.cumsum(col_counts, out=indptr_c[1:])
    n_cols = int(keep.sum())
    by_key = sp.csc_matrix(
        (tf[pair_keep].astype(np.float32), pair_doc[pair_keep], indptr_c),
        shape=(n_docs, n_cols),
    )
    # Most frequent n-grams first: the weights they multiply stay in cache when a model
    # scores every record (several times faster matrix-vector products on large reviews).
    perm = np.argsort(-col_counts, kind="stable")
    counts = by_key[:, perm].tocsr()
    counts.sort_indices()
    kept_df = col_counts[perm].astype(np.float64)
    idf = (np.log((1.0 + n_docs) / (1.0 + kept_df)) + 1.0).astype(np.float32)
    matrix = _weight(counts, idf, fc.sublinear_tf)
    return FeatureSet(
        matrix=matrix, vocabulary=tuple(vocab), keys=ukeys[keep][perm], idf=idf, config=fc,
        fingerprint=texts_fingerprint(texts),
    )


def load_or_fit(
    texts: Sequence[str], config: ModelConfig | FeatureConfig, path: str | Path
) -> FeatureSet:
    """Load the cached features at `path` if they match `texts` and the settings; else
    fit, save and return them (records added or settings changed)."""
    fc = config.features if isinstance(config, ModelConfig) else config
    base = _base(path)
    if base.with_suffix(".json").exists() and base.with_suffix(".npz").exists():
        try:
            cached = FeatureSet.load(base)
        except (ValueError, KeyError, OSError):
            cached = None
        if cached is not None and cached.config == fc and cached.n_rows == len(texts):
            if cached.fingerprint == texts_fingerprint(texts):
                return cached
    fitted = fit_features(texts, fc)
    fitted.save(base)
    return fitted
