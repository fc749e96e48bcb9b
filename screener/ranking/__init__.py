"""Ranking: features, classifiers, query strategies, stopping rules, simulation, metrics.

Public API used by the workflow layer: `ModelConfig`, `fit_features`, `FeatureSet`,
`rank`, `RankingResult`, and the `stopping` module. Imports numpy, scipy, scikit-learn
(and matplotlib lazily for plots) and screener.core only; never sqlalchemy, textual, click
or yaml.
"""

from screener.ranking.config import FeatureConfig, ModelConfig
from screener.ranking.features import FeatureSet, fit_features, load_or_fit, record_text, text_of
from screener.ranking.model import RankingResult, rank

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
