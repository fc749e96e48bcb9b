"""Model configuration for ranking: one frozen, JSON-able, hashable description.

A `ModelConfig` names every choice that changes a ranking (features, classifier, query,
seed). Its canonical JSON and sha256 hash go with every `RankingResult`, so a decision can be
traced back to the exact model that put the record in front of the reviewer.

Imports: standard library only (this module is shared by every other ranking module).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from screener.core.wording import plural

MODELS = ("screener-lr", "elas-u4", "screener-lr-minilm")
"""Named presets accepted by `ModelConfig.from_settings`."""


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the form that is hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sha256_of(obj: Any) -> str:
    """sha256 hex digest of the canonical JSON of `obj`."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FeatureConfig:
    """How record texts become TF-IDF vectors (fitted once per review)."""

    ngram_max: int = 2
    """Word n-grams from 1 to this length."""
    min_df: int = 2
    """Keep a term only if it occurs in at least this many records (caps the vocabulary)."""
    max_df: float = 0.95
    """Drop terms that occur in more than this fraction of records."""
    sublinear_tf: bool = True
    """Use 1 + log(tf) instead of raw counts."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelConfig:
    """Everything that determines a ranking, given the features and the labels."""

    classifier: str = "logistic"
    """'logistic' (L2 logistic regression), 'svm' (linear SVM, squared hinge), 'nb'
    (multinomial naive Bayes), or several joined by '+' (mean of their z-scored decision
    values); 'ensemble' = 'logistic+svm'."""
    C: float = 1.0
    """Inverse regularisation strength of the classifier."""
    include_weight: float = 9.8
    """Total sample weight of the included class relative to the excluded class
    (ASReview's 'balanced' ratio); 1.0 means unweighted."""
    pseudo_negatives: int = 0
    """Add this many randomly drawn unlabelled records to each training set as presumed
    excludes (as in continuous active learning, Cormack & Grossman); 0 = off."""
    query: str = "max"
    """Query strategy: 'max' (most likely relevant first) or 'uncertainty'."""
    cold_start: bool = True
    """Rank by similarity to the protocol text while no include has been labelled."""
    seed: int = 0
    """Seed for every random choice (tie breaking, solver)."""
    features: FeatureConfig = field(default_factory=FeatureConfig)
    """Feature extraction settings."""
    name: str = "screener-lr"
    """Preset the configuration started from (informative only)."""
    char_weight: float = 0.0
    """Weight of a block of character 3..5-gram TF-IDF of the kept words beside the word
    block (see `derived.char_block`); 0 = off."""
    prefix_weight: float = 0.0
    """Weight of a block of word-prefix (first 5 characters) TF-IDF beside the word block
    (see `derived.prefix_block`); 0 = off."""
    lsa_dims: int = 0
    """Dimensions of an LSA (truncated SVD) block beside the word block; 0 = off."""
    lsa_weight: float = 1.0
    """Weight of the LSA block."""
    embedding_weight: float = 0.0
    """Weight of a block of sentence embeddings (all-MiniLM-L6-v2, see `embeddings.py`;
    optional packages) beside the word block; 0 = off."""
    protocol_include: int = 0
    """The protocol text (title, question, inclusion criteria, include terms) as a labelled
    include in every training set, counted this many times; 0 = off. Uses information
    beyond the labels (benchmarks/RANKING.md, round 10)."""

    @classmethod
    def from_settings(cls, model: str, seed: int, params: Mapping[str, Any]) -> ModelConfig:
        """Build from a preset name, a seed and overrides (e.g. from a review's settings).

        `params` may override any field; `features` may be a mapping of `FeatureConfig`
        fields. Unknown keys, values of the wrong type and values no classifier can use
        raise `ValueError`.
        """
        if model == "screener-lr":
            base = cls(name=model, seed=seed)
        elif model == "screener-lr-minilm":
            base = cls(name=model, seed=seed, embedding_weight=0.5)
        elif model == "elas-u4":
            base = cls(
                name=model, classifier="svm", C=0.11, include_weight=9.8, seed=seed,
                features=FeatureConfig(min_df=1),
            )
        else:
            raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
        known = sorted(f.name for f in fields(cls) if f.name not in ("name", "seed"))
        overrides: dict[str, Any] = {}
        for key, value in params.items():
            if key not in known:
                raise ValueError(f"unknown model parameter {key!r}; the parameters are "
                                 f"{', '.join(known)}")
            if key == "features":
                if not isinstance(value, Mapping):
                    raise ValueError("model parameter 'features' must be a mapping of "
                                     "feature settings")
                feat_known = {f.name for f in fields(FeatureConfig)}
                bad = set(value) - feat_known
                if bad:
                    raise ValueError(f"unknown {plural(len(bad), 'feature parameter')} "
                                     f"{', '.join(repr(b) for b in sorted(map(str, bad)))}")
                for name, item in value.items():
                    _check_type(f"features.{name}", getattr(base.features, name), item)
                overrides[key] = replace(base.features, **dict(value))
            else:
                _check_type(key, getattr(base, key), value)
                overrides[key] = value
        cfg = replace(base, **overrides)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise `ValueError` for settings no classifier can use."""
        members = self.classifier.split("+")
        if self.classifier != "ensemble" and not set(members) <= {"logistic", "svm", "nb"}:
            raise ValueError(f"unknown classifier {self.classifier!r}")
        if self.query not in ("max", "uncertainty"):
            raise ValueError(f"unknown query strategy {self.query!r}")
        if self.pseudo_negatives < 0:
            raise ValueError("pseudo_negatives must be >= 0")
        if self.C <= 0 or self.include_weight <= 0:
            raise ValueError("C and include_weight must be positive")
        if self.embedding_weight < 0:
            raise ValueError("embedding_weight must be >= 0")
        if self.protocol_include < 0:
            raise ValueError("protocol_include must be >= 0")
        if self.char_weight < 0 or self.prefix_weight < 0 or self.lsa_dims < 0 or self.lsa_weight <= 0:
            raise ValueError("block weights and lsa_dims must be >= 0, lsa_weight positive")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dictionary of every field (fields added after the first release are
        left out while they hold their default, so earlier configurations keep their hash)."""
        out = asdict(self)
        for key, default in _LATER_FIELDS.items():
            if out[key] == default:
                del out[key]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`."""
        values = dict(data)
        values["features"] = FeatureConfig(**dict(values.get("features", {})))
        return cls(**values)

    def hash(self) -> str:
        """sha256 of the canonical JSON of `to_dict()`."""
        return sha256_of(self.to_dict())


def _check_type(name: str, default: Any, value: Any) -> None:
    """Raise `ValueError` unless `value` has the type of the field's default (an integer
    will do for a number; a number must be finite)."""
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(default, float):
        ok = (isinstance(value, int | float) and not isinstance(value, bool)
              and math.isfinite(value))
        kind = "a number"
    else:
        ok, kind = isinstance(value, str), "text"
    if not ok:
        raise ValueError(f"model parameter {name!r} must be {kind}, not {value!r}")


_LATER_FIELDS: dict[str, Any] = {"char_weight": 0.0, "prefix_weight": 0.0, "lsa_dims": 0, "lsa_weight": 1.0,
                                 "embedding_weight": 0.0, "protocol_include": 0}
"""Fields added after configurations were first stored, with their defaults."""
