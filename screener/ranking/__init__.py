"""Ranking: features, classifiers, query strategies, stopping rules, simulation, metrics.

Public API used by the workflow layer: `ModelConfig`, `fit_features`, `FeatureSet`,
`rank`, `RankingResult`, and the `stopping` module. Imports numpy, scipy, scikit-learn
(and matplotlib lazily for plots) and screener.core only; never sqlalchemy, textual, click
or yaml.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from screener.ranking.config import FeatureConfig, ModelConfig
    from screener.ranking.features import (
        FeatureSet,
        fit_features,
        load_or_fit,
        record_text,
        text_of,
    )
    from screener.ranking.model import RankingResult, rank

# Loaded on first use, so that `screener.ranking.stopping` (the UI's status panel) does not
# pay for scikit-learn.
_WHERE = {"FeatureConfig": "config", "ModelConfig": "config", "FeatureSet": "features",
          "fit_features": "features", "load_or_fit": "features", "record_text": "features",
          "text_of": "features", "RankingResult": "model", "rank": "model"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'screener.ranking' has no attribute {name!r}")
    return getattr(importlib.import_module(f"screener.ranking.{module}"), name)

__all__ = [
    "FeatureConfig",
    "FeatureSet",
    "ModelConfig",
    "RankingResult",
    "fit_features",
    "load_or_fit",
    "rank",
    "record_text",
    "text_of",
]
