"""Experiment, not a feature (round 7 of benchmarks/RANKING.md): bibliographic metadata
as ranking features, for `ranking_variants.py`'s `meta_W` feature variant.

Records relevant to one review often share research groups, journals and years. Each record
becomes a document such as ``au:smith au:jones jo:stroke yr:2003`` (`metadata_doc`); the
block is binary term presence times smooth idf, tokens in fewer than two records dropped,
rows L2-normalised (`metadata_block`). Records without metadata get an empty row, so a
dataset that has none ranks as it would without the block. It gained WSS@95 on the tuning
datasets but not on the held-out ones, so screener does not offer it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

_LIST_SPLIT = re.compile(r";|', |\", |', \"|\", '")
_NOT_LETTER = re.compile(r"[^a-z]")


def surnames(authors: str | Iterable[str]) -> list[str]:
    """Family names, lower-case ASCII letters only, from an author list as files write it:
    'Family, Given; ...', 'Given Family; ...', "['Family AB', ...]" or a sequence of names
    (a review's records hold 'Family, Given')."""
    text = authors if isinstance(authors, str) else "; ".join(authors)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out: list[str] = []
    for part in _LIST_SPLIT.split(text.strip("[]")):
        part = part.strip(" '\"")
        if not part:
            continue
        if "," in part:
            out.append(part.split(",")[0].strip())
            continue
        words = part.replace(".", " ").split()
        if not words:
            continue
        last = part.split()[-1]
        # 'Family AB' (initials after the family name, as PubMed's short form writes it)
        if (len(words) == 2 and len(words[-1]) <= 3 and last.isalpha() and "." not in part
                and words[-1] not in ("jr", "sr") and len(words[0]) >= 2):
            out.append(words[0])
        else:
            out.append(words[-1])
    kept = (_NOT_LETTER.sub("", w) for w in out)
    return [w for w in kept if w]


def metadata_doc(authors: str | Iterable[str], journal: str, year: int | str | None) -> str:
    """One record's metadata tokens: 'au:FAMILY' per author, 'jo:JOURNAL', 'yr:YEAR'."""
    tokens = [f"au:{s}" for s in surnames(authors)]
    j = "".join(ch for ch in (journal or "").lower() if ch.isalnum())
    if j:
        tokens.append(f"jo:{j}")
    y = str(year or "").strip()[:4]
    if y.isdigit():
        tokens.append(f"yr:{y}")
    return " ".join(tokens)


def metadata_block(docs: Sequence[str]) -> sp.csr_matrix:
    """Binary presence x smooth idf of the tokens of `docs` (`metadata_doc`), tokens in
    fewer than two records dropped, rows L2-normalised; one column of zeros if none is
    left."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    empty = sp.csr_matrix((len(docs), 1), dtype=np.float32)
    if not any(docs):
        return empty
    vectorizer = TfidfVectorizer(token_pattern=r"\S+", min_df=2, binary=True,
                                 lowercase=False, dtype=np.float32)
    try:
        return sp.csr_matrix(vectorizer.fit_transform(docs), dtype=np.float32)
    except ValueError:  # no token is in two records
        return empty


def dataset_metadata(path: Path, record_ids: Sequence[str]) -> list[str]:
    """`metadata_doc` of each record of a shared screening CSV(.gz), in `record_ids` order
    (empty documents when the file has no authors, journal or year columns)."""
    import csv
    import gzip
    import sys

    csv.field_size_limit(sys.maxsize)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        rows = {(r["record_id"] or "").strip(): r for r in csv.DictReader(fh)}
    return [metadata_doc(rows[rid].get("authors") or "", rows[rid].get("journal") or "",
                         rows[rid].get("year") or "") for rid in record_ids]
