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
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from screener.core.records import Record
from screener.ranking.config import FeatureConfig, ModelConfig

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
FORMAT_VERSION = 5
"""Of the cached feature files: 3 since tokens are taken from NFC text (`_folded`), 4 since
Chinese, Japanese and Korean text gives character bigrams (`_tokens`); older files are
refitted."""
_CJK = ("\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf"
        "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f")
"""Han, Hiragana, Katakana and Hangul characters."""
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CJK_OR_NOT = re.compile(f"[{_CJK}]+|[^{_CJK}]+")


def _tokens(text: str) -> list[str]:
    """The tokens of a text: ``re.findall(r"(?u)\\b\\w\\w+\\b", ...)`` of it `_folded`, each
    run of Chinese, Japanese or Korean characters in a token replaced by its character
    bigrams (a run of one character kept as it is). These scripts do not put spaces
    between words, so the pattern made one token of a whole clause and a record shared
    almost no feature with another; a bigram is about a word. Tokens without such
    characters (every Latin-script token) are exactly the pattern's."""
    toks = _TOKEN.findall(_folded(text))
    if text.isascii() or not _CJK_CHAR.search(text):
        return toks
    out: list[str] = []
    for tok in toks:
        if not _CJK_CHAR.search(tok):
            out.append(tok)
            continue
        for run in _CJK_OR_NOT.findall(tok):
            if not _CJK_CHAR.match(run):
                out.extend(_TOKEN.findall(run))  # the Latin letters or digits beside it
            elif len(run) == 1:
                out.append(run)
            else:
                out.extend(run[k:k + 2] for k in range(len(run) - 1))
    return out


def _folded(text: str) -> str:
    """`text` lower-cased for tokenising. Non-ASCII text is put in Unicode normal form C
    first, so that a word written with combining accents (NFD: 'Nghie\u0302n') is one
    token, as its composed form is, not 'nghie' and 'n'; and the dot that lower-casing
    leaves on Turkish 'İ' (i + U+0307) is dropped, so 'İLAÇ' is 'ilaç', not 'laç'. ASCII
    text is lower-cased only (its tokens are what they always were)."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFC", text).lower()
    return text.replace("i\u0307", "i") if "\u0307" in text else text


def record_text(
    title: str,
    abstract: str,
    keywords: Iterable[str] = (),
    mesh_terms: Iterable[str] = (),
    original_title: str = "",
) -> str:
    """The text that represents a record: title, its title in the language it was published
    in (`Record.original_title`, "" for most records), abstract, keywords and MeSH terms."""
    parts = [title or "", original_title or "", abstract or ""]
    kw = " ".join(k for k in keywords if k)
    mesh = " ".join(m for m in mesh_terms if m)
    if kw:
        parts.append(kw)
    if mesh:
        parts.append(mesh)
    return " ".join(p for p in parts if p)


def text_of(record: Record) -> str:
    """`record_text` of a core `Record`."""
    return record_text(record.title, record.abstract, record.keywords, record.mesh_terms,
                       record.original_title)


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

    Same tokens as `_tokens` (for ASCII text ``re.findall(r"(?u)\\b\\w\\w+\\b",
    text.lower())``) but fast: the
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
        toks = _tokens(piece.decode("utf-8", "surrogatepass"))
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


_CHUNK = 10_000
"""Records per chunk when counting n-grams (bounds memory on large reviews)."""
_TOKEN_CHUNK = 5_000
"""Records per chunk when tokenising (each raw word is a Python bytes object meanwhile)."""


class _Tokens:
    """Token ids of all texts, kept as the per-chunk arrays `_tokenise_in_chunks` made
    (never concatenated: that would briefly hold them twice)."""

    def __init__(self, parts: list[np.ndarray]) -> None:
        self.parts = parts
        self.starts = np.zeros(len(parts) + 1, np.int64)
        np.cumsum([len(p) for p in parts], out=self.starts[1:])

    def slice(self, a: int, b: int) -> np.ndarray:
        """Token ids a..b-1 (positions in all texts' tokens concatenated)."""
        first = max(int(np.searchsorted(self.starts, a, side="right")) - 1, 0)
        out = []
        for i in range(first, len(self.parts)):
            lo = int(self.starts[i])
            if lo >= b:
                break
            out.append(self.parts[i][max(a - lo, 0):b - lo])
        return np.concatenate(out) if out else np.zeros(0, np.int32)


def _tokenise_in_chunks(texts: Sequence[str]) -> tuple[list[str], _Tokens, np.ndarray]:
    """`_tokenise` a chunk of texts at a time, with token ids mapped to one vocabulary
    (same vocabulary order and ids as `_tokenise` on all texts at once)."""
    vocab: list[str] = []
    index: dict[str, int] = {}
    id_parts: list[np.ndarray] = []
    len_parts: list[np.ndarray] = []
    for lo in range(0, max(len(texts), 1), _TOKEN_CHUNK):
        chunk_vocab, chunk_ids, chunk_lengths = _tokenise(texts[lo:lo + _TOKEN_CHUNK])
        mapping = np.empty(len(chunk_vocab), np.int32)
        for i, tok in enumerate(chunk_vocab):
            tid = index.get(tok)
            if tid is None:
                tid = index[tok] = len(vocab)
                vocab.append(tok)
            mapping[i] = tid
        id_parts.append(mapping[chunk_ids] if len(chunk_ids) else np.zeros(0, np.int32))
        len_parts.append(chunk_lengths)
    lengths = np.concatenate(len_parts) if len_parts else np.zeros(0, np.int64)
    return vocab, _Tokens(id_parts), lengths[:len(texts)]


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
            toks = _tokens(text)
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


def _chunk_pairs(
    ids: np.ndarray, lengths: np.ndarray, n_vocab: int, ngram_max: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (n-gram key, document) pairs of a chunk of documents, sorted by key then
    document (documents numbered from 0 within the chunk), with the n-gram's count in the
    document."""
    n = len(lengths)
    doc = np.repeat(np.arange(n, dtype=np.int64), lengths)
    keys, docs = _ngram_keys(ids.astype(np.int64), doc, n_vocab, ngram_max)
    del doc
    codes = keys * np.int64(max(n, 1)) + docs
    del keys, docs
    codes.sort()
    if not len(codes):
        empty = np.zeros(0, np.int64)
        return empty, empty.astype(np.int32), empty.astype(np.int32)
    first = np.empty(len(codes), bool)
    first[0] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    del first
    tf = np.diff(np.append(starts, len(codes))).astype(np.int32)
    pairs = codes[starts]
    del codes, starts
    pair_key = pairs // np.int64(max(n, 1))
    pair_doc = (pairs - pair_key * np.int64(max(n, 1))).astype(np.int32)
    return pair_key, pair_doc, tf


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how many times each occurs."""
    if not len(sorted_keys):
        return sorted_keys, np.zeros(0, np.int32)
    new = np.empty(len(sorted_keys), bool)
    new[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    del new
    return sorted_keys[starts], np.diff(np.append(starts, len(sorted_keys))).astype(np.int32)


def _add_counts(keys: np.ndarray, counts: np.ndarray, new_keys: np.ndarray,
                new_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge sorted distinct (key, count) arrays; counts of a key in both are added."""
    if not len(keys):
        return new_keys, new_counts
    pos = np.searchsorted(keys, new_keys)
    hit = pos < len(keys)
    hit[hit] = keys[pos[hit]] == new_keys[hit]
    counts[pos[hit]] += new_counts[hit]
    miss = ~hit
    del hit
    at = pos[miss]
    del pos
    return np.insert(keys, at, new_keys[miss]), np.insert(counts, at, new_counts[miss])


def fit_features(texts: Sequence[str], config: ModelConfig | FeatureConfig) -> FeatureSet:
    """Fit TF-IDF on `texts` (one per record, see `record_text`) and return the matrix.

    Equivalent to scikit-learn's ``TfidfVectorizer(ngram_range=(1, n), min_df, max_df,
    sublinear_tf, token_pattern=r"(?u)\\b\\w\\w+\\b", lowercase=True)`` with float32 output,
    up to column order, for texts without Chinese, Japanese or Korean characters (those
    give character bigrams, `_tokens`).

    Memory: the (n-gram, record) pairs never exist for the whole review at once. A first
    pass over chunks of records counts each n-gram's document frequency; a second pass
    recounts each chunk, drops the n-grams outside min_df/max_df and writes the chunk's
    weighted rows straight into the preallocated CSR arrays.
    """
    fc = config.features if isinstance(config, ModelConfig) else config
    n_docs = len(texts)
    vocab, tokens, lengths = _tokenise_in_chunks(texts)
    n_vocab = max(len(vocab), 1)
    if n_docs and _max_key(n_vocab, fc.ngram_max) * min(n_docs, _CHUNK) >= 2**62:
        raise ValueError("vocabulary too large for int64 n-gram keys; lower ngram_max")
    tok_start = np.zeros(n_docs + 1, np.int64)
    np.cumsum(lengths, out=tok_start[1:])
    spans = [(lo, min(n_docs, lo + _CHUNK)) for lo in range(0, n_docs, _CHUNK)]

    def pairs_of(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _chunk_pairs(tokens.slice(int(tok_start[lo]), int(tok_start[hi])),
                            lengths[lo:hi], n_vocab, fc.ngram_max)

    # Pass 1: document frequency of every n-gram (sorted distinct keys).
    all_keys = np.zeros(0, np.int64)
    df = np.zeros(0, np.int32)
    for lo, hi in spans:
        pair_key, _, _ = pairs_of(lo, hi)
        chunk_keys, chunk_df = _runs(pair_key)
        del pair_key
        all_keys, df = _add_counts(all_keys, df, chunk_keys, chunk_df)
        del chunk_keys, chunk_df
    keep = (df >= fc.min_df) & (df <= fc.max_df * n_docs)
    kept_keys = all_keys[keep]
    kept_df = df[keep].astype(np.int64)
    del all_keys, df, keep
    # Most frequent n-grams first: the weights they multiply stay in cache when a model
    # scores every record (several times faster matrix-vector products on large reviews).
    perm = np.argsort(-kept_df, kind="stable")
    n_cols = len(perm)
    col_of = np.empty(n_cols, np.int32)
    col_of[perm] = np.arange(n_cols, dtype=np.int32)
    idf = (np.log((1.0 + n_docs) / (1.0 + kept_df[perm].astype(np.float64))) + 1.0).astype(
        np.float32)
    nnz = int(kept_df.sum())
    del kept_df
    index_dtype = np.int32 if max(nnz, n_cols) < 2**31 - 1 else np.int64
    data = np.empty(nnz, np.float32)
    indices = np.empty(nnz, index_dtype)
    indptr = np.zeros(n_docs + 1, index_dtype)
    # Pass 2: each chunk's kept counts, weighted row by row, into the CSR arrays.
    at = 0
    for lo, hi in spans:
        pair_key, pair_doc, tf = pairs_of(lo, hi)
        pos = np.searchsorted(kept_keys, pair_key)
        hit = pos < n_cols
        hit[hit] = kept_keys[pos[hit]] == pair_key[hit]
        del pair_key
        chunk = sp.coo_matrix((tf[hit], (pair_doc[hit], col_of[pos[hit]])),
                              shape=(hi - lo, n_cols)).tocsr()
        del pos, hit, pair_doc, tf
        chunk.sort_indices()
        weighted = _weight(chunk, idf, fc.sublinear_tf)
        del chunk
        m = weighted.nnz
        data[at:at + m] = weighted.data
        indices[at:at + m] = weighted.indices
        indptr[lo + 1:hi + 1] = at + weighted.indptr[1:]
        at += m
        del weighted
    tokens.parts.clear()
    matrix = sp.csr_matrix((data, indices, indptr), shape=(n_docs, n_cols), copy=False)
    return FeatureSet(
        matrix=matrix, vocabulary=tuple(vocab), keys=kept_keys[perm], idf=idf, config=fc,
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
