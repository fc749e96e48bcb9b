"""Classifier, query strategy and cold start: re-rank the unscreened records.

`rank` is the one call the workflow layer makes after each decision: it fits a linear
classifier on the labelled rows of a fitted `FeatureSet` (include = 1, exclude = 0) and
orders the unlabelled rows best first. Before the first include it ranks by TF-IDF cosine
similarity to the protocol text (cold start), and with no protocol either, in a seeded
random order. Every result carries its model configuration and hash (`RankingResult`).

`LinearRanker` follows scikit-learn's estimator conventions: `__init__` only stores its
arguments, `fit` validates and sets learned attributes ending in ``_``, and one random
generator is created per call from `random_state`.

Imports: numpy, scipy, scikit-learn and screener.core/ranking only.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.svm import LinearSVC

from screener.ranking.config import ModelConfig
from screener.ranking.derived import model_matrix
from screener.ranking.features import FeatureSet


def balanced_weights(y: np.ndarray, include_weight: float) -> np.ndarray:
    """Sample weights giving the included class `include_weight` times the total weight
    of the excluded class, scaled to sum to len(y) (as ASReview's 'balanced' balancer)."""
    n1 = int((y == 1).sum())
    n0 = int((y == 0).sum())
    w: np.ndarray = np.where(y == 1, 1.0, n1 / (include_weight * n0) if n0 else 1.0)
    out: np.ndarray = w * (len(y) / float(w.sum()))
    return out


class LinearRanker(BaseEstimator):  # type: ignore[misc]
    """Linear classifier on TF-IDF rows whose decision value orders the records.

    Parameters mirror `ModelConfig`: `classifier` ('logistic', 'svm' or 'ensemble'),
    `C`, `include_weight` and `random_state`.
    """

    def __init__(
        self,
        classifier: str = "logistic",
        C: float = 1.0,
        include_weight: float = 9.8,
        random_state: int | None = None,
    ) -> None:
        self.classifier = classifier
        self.C = C
        self.include_weight = include_weight
        self.random_state = random_state

    def _members(self) -> list[Any]:
        seed = int(np.random.default_rng(self.random_state).integers(2**31 - 1))
        names = ["logistic", "svm"] if self.classifier == "ensemble" else self.classifier.split("+")
        out: list[Any] = []
        for name in names:
            if name == "logistic":
                out.append(LogisticRegression(
                    C=self.C, solver="liblinear", dual=True, max_iter=1000, random_state=seed))
            elif name == "svm":
                svm_c = self.C if len(names) == 1 else 0.11
                # dual="auto" is the default from scikit-learn 1.5; scikit-learn 1.4 (the
                # lowest supported) defaulted to True and warned on every fit without it.
                out.append(LinearSVC(
                    C=svm_c, loss="squared_hinge", dual="auto", random_state=seed))
            elif name == "nb":
                out.append(MultinomialNB(alpha=3.822))
            else:
                raise ValueError(f"unknown classifier {name!r}")
        return out

    def fit(self, X: sp.spmatrix, y: np.ndarray) -> LinearRanker:
        y = np.asarray(y, dtype=np.int64)
        if X.shape[0] != len(y):
            raise ValueError("X and y have different numbers of rows")
        if set(np.unique(y)) != {0, 1}:
            raise ValueError("need at least one include (1) and one exclude (0)")
        w = balanced_weights(y, self.include_weight)
        coefs = []
        for member in self._members():
            member.fit(X, y, sample_weight=w)
            if isinstance(member, MultinomialNB):
                lp = member.feature_log_prob_
                coefs.append(((lp[1] - lp[0]).astype(np.float32),
                              float(member.class_log_prior_[1] - member.class_log_prior_[0])))
            else:
                coefs.append((np.ravel(member.coef_).astype(np.float32),
                              float(np.ravel(member.intercept_)[0])))
        self.coefs_ = coefs
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: sp.spmatrix) -> np.ndarray:
        """Score per row; higher = more likely relevant. Ensembles average z-scores."""
        scores = [X @ c + b for c, b in self.coefs_]
        if len(scores) == 1:
            return np.asarray(scores[0], dtype=np.float64)
        total = np.zeros(X.shape[0])
        for s in scores:
            s = np.asarray(s, dtype=np.float64)
            sd = s.std()
            total += (s - s.mean()) / (sd if sd > 0 else 1.0)
        return total / len(scores)


def fit_scores(
    X: sp.csr_matrix,
    lab_rows: np.ndarray,
    lab_y: np.ndarray,
    config: ModelConfig,
    rng: np.random.Generator,
    unlabelled: np.ndarray | None = None,
) -> np.ndarray:
    """Train the classifier of `config` on the labelled rows (plus pseudo-negatives drawn
    from `unlabelled` with `rng`) and return query priorities for every row of X."""
    rows, y = lab_rows, lab_y
    if config.pseudo_negatives and unlabelled is not None and len(unlabelled):
        k = min(config.pseudo_negatives, len(unlabelled))
        extra = rng.choice(unlabelled, k, replace=False)
        rows = np.concatenate([lab_rows, extra])
        y = np.concatenate([lab_y, np.zeros(k, dtype=np.int64)])
    model = LinearRanker(
        classifier=config.classifier, C=config.C,
        include_weight=config.include_weight, random_state=config.seed,
    ).fit(X[rows], y)
    return query_scores(model.decision_function(X), config.query)


@dataclass(frozen=True)
class RankingResult:
    """One ranking of the unscreened records, with its provenance."""

    order: tuple[int, ...]
    """Row indices of the unlabelled (and not excluded) records, best first."""
    scores: tuple[float, ...]
    """Score of each record in `order` (same positions); higher = ranked earlier."""
    config: dict[str, Any]
    """JSON-able model configuration (`ModelConfig.to_dict()`)."""
    config_hash: str
    """sha256 of the canonical JSON of `config`."""
    training_size: int
    """Number of labelled records the model was trained on."""
    n_included_training: int
    """How many of them were includes."""
    method: str
    """'classifier', 'cold_start' (protocol similarity) or 'random'."""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    """UTC time the ranking was made (ISO 8601)."""
    seconds: float = 0.0
    """Time spent fitting and ranking."""

    def position_of(self, row: int) -> int:
        """0-based rank position of a row (ValueError if it is not in the ranking)."""
        return self.order.index(row)


def _order(scores: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions of `rows` sorted by descending score, ties broken at random (seeded)."""
    scores = np.asarray(scores, dtype=np.float64)
    scale = max(float(np.abs(scores).max()) if len(scores) else 0.0, 1.0)
    jitter = rng.random(len(rows)) * (1e-12 * scale)
    return np.argsort(-(scores - jitter), kind="stable")


def query_scores(scores: np.ndarray, strategy: str) -> np.ndarray:
    """Turn decision values into priorities: 'max' keeps them, 'uncertainty' prefers
    values near the decision boundary (0)."""
    if strategy == "max":
        return scores
    if strategy == "uncertainty":
        out: np.ndarray = -np.abs(scores)
        return out
    raise ValueError(f"unknown query strategy {strategy!r}")


def rank(
    features: FeatureSet,
    labels: Mapping[int, int],
    config: ModelConfig,
    *,
    protocol_text: str = "",
    exclude: Collection[int] = (),
    embeddings: np.ndarray | None = None,
) -> RankingResult:
    """Order the rows that are neither labelled nor in `exclude`, best first.

    `labels` maps row index -> 1 (include) or 0 (exclude). With at least one include and
    one exclude the classifier of `config` is trained on them; otherwise, with
    `config.cold_start` and a non-empty `protocol_text`, rows are ordered by cosine
    similarity to the protocol; otherwise in a random order fixed by `config.seed`.
    `embeddings` (one row per record) are required when `config.embedding_weight` > 0.
    """
    start = time.perf_counter()
    config.validate()
    n = features.n_rows
    rng = np.random.default_rng(config.seed + len(labels))
    lab_rows = np.fromiter(labels.keys(), dtype=np.int64, count=len(labels))
    lab_y = np.fromiter((int(v) for v in labels.values()), dtype=np.int64, count=len(labels))
    if len(lab_rows) and (lab_rows.min() < 0 or lab_rows.max() >= n):
        raise ValueError("label row index out of range")
    if not set(np.unique(lab_y)) <= {0, 1}:
        raise ValueError("labels must be 0 or 1")
    mask = np.ones(n, dtype=bool)
    mask[lab_rows] = False
    if exclude:
        mask[np.fromiter(exclude, dtype=np.int64)] = False
    rows = np.flatnonzero(mask)
    n_inc = int(lab_y.sum())
    X = model_matrix(features, config, embeddings)
    if 0 < n_inc < len(lab_y) and features.n_features > 0:
        Xp, train_rows, train_y = with_protocol(features, X, protocol_text, config,
                                                lab_rows, lab_y)
        scores = fit_scores(Xp, train_rows, train_y, config, rng, rows)[rows]
        method = "classifier"
    elif config.cold_start and protocol_text.strip():
        scores = protocol_similarity(features, protocol_text, rows)
        method = "cold_start"
    else:
        scores = np.zeros(len(rows))
        method = "random"
    idx = _order(scores, rows, rng)
    cfg = config.to_dict()
    return RankingResult(
        order=tuple(rows[idx].tolist()),
        scores=tuple(scores[idx].astype(np.float64).tolist()),
        config=cfg,
        config_hash=config.hash(),
        training_size=len(lab_y),
        n_included_training=n_inc,
        method=method,
        seconds=time.perf_counter() - start,
    )


def with_protocol(
    features: FeatureSet, X: sp.csr_matrix, protocol_text: str, config: ModelConfig,
    lab_rows: np.ndarray, lab_y: np.ndarray,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """With `config.protocol_include` > 0 and a protocol text: X with the protocol's vector
    as one more row (zeros in any block beside the words), and the labelled rows and labels
    with that row added as an include `protocol_include` times. Otherwise unchanged."""
    k = config.protocol_include
    if k <= 0 or not protocol_text.strip():
        return X, lab_rows, lab_y
    q = features.transform([protocol_text])
    if X.shape[1] > q.shape[1]:
        q = sp.hstack([q, sp.csr_matrix((1, X.shape[1] - q.shape[1]))], format="csr")
    Xp = sp.csr_matrix(sp.vstack([X, q], format="csr"), dtype=np.float32)
    rows = np.concatenate([lab_rows, np.full(k, X.shape[0], dtype=np.int64)])
    ys = np.concatenate([lab_y, np.ones(k, dtype=np.int64)])
    return Xp, rows, ys


def protocol_similarity(
    features: FeatureSet, protocol_text: str, rows: np.ndarray | None = None
) -> np.ndarray:
    """Cosine similarity (TF-IDF) of each row to the protocol text."""
    q = features.transform([protocol_text])
    X = features.matrix if rows is None else features.matrix[rows]
    return np.asarray((X @ q.T).toarray()).ravel().astype(np.float64)
