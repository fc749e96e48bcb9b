"""rank(): determinism, cold start, exclusions and provenance."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from screener.ranking import ModelConfig, fit_features, rank
from screener.ranking.config import canonical_json
from screener.ranking.model import LinearRanker
from screener.ranking.simulate import Dataset


def _labels(ds: Dataset, n: int = 20) -> dict[int, int]:
    rng = np.random.default_rng(3)
    rows = list(rng.permutation(len(ds))[:n])
    labels = {int(r): ds.labels[r] for r in rows}
    assert 0 < sum(labels.values()) < n
    return labels


def test_same_seed_same_order(small_dataset: Dataset) -> None:
    cfg = ModelConfig.from_settings("screener-lr", 7, {})
    fs = fit_features(small_dataset.texts, cfg)
    labels = _labels(small_dataset)
    a = rank(fs, labels, cfg)
    b = rank(fs, labels, cfg)
    assert a.order == b.order and a.scores == b.scores
    assert a.method == "classifier"
    assert set(a.order).isdisjoint(labels)
    assert len(a.order) == len(small_dataset) - len(labels)
    assert list(a.scores) == sorted(a.scores, reverse=True)


def test_exclude_and_random_without_labels(small_dataset: Dataset) -> None:
    cfg = ModelConfig.from_settings("screener-lr", 1, {})
    fs = fit_features(small_dataset.texts, cfg)
    r = rank(fs, {}, cfg, exclude={0, 1, 2})
    assert r.method == "random" and not {0, 1, 2} & set(r.order)
    assert r.order == rank(fs, {}, cfg, exclude={0, 1, 2}).order
    assert r.order != rank(fs, {}, ModelConfig.from_settings("screener-lr", 2, {}),
                           exclude={0, 1, 2}).order


def test_cold_start_puts_protocol_like_records_first() -> None:
    texts = [
        "Stock markets and interest rates in emerging economies",
        "Capsule endoscopy accuracy for detecting oesophageal varices in cirrhosis",
        "Football injuries among adolescent players",
        "Deep learning for image segmentation of satellite photos",
        "Endoscopic screening for varices in patients with liver cirrhosis",
        "Crop yields under drought conditions",
    ]
    cfg = ModelConfig.from_settings("screener-lr", 0, {})
    fs = fit_features(texts, cfg.features.__class__(min_df=1))
    protocol = "Diagnostic accuracy of capsule endoscopy for oesophageal varices in cirrhosis"
    r = rank(fs, {0: 0}, cfg, protocol_text=protocol)
    assert r.method == "cold_start"
    assert set(r.order[:2]) == {1, 4}
    assert r.order[0] == 1
    off = rank(fs, {0: 0}, ModelConfig.from_settings("screener-lr", 0, {"cold_start": False}),
               protocol_text=protocol)
    assert off.method == "random"


def test_protocol_as_include_ranks_records_of_the_question_first() -> None:
    # One include about varices, one exclude; of the unlabelled records, two share words
    # only with the protocol (capsule endoscopy), not with the include.
    texts = [
        "Band ligation of oesophageal varices bleeding trial",
        "Football injuries among adolescent players in leagues",
        "Capsule endoscopy accuracy study in adults",
        "Football league injuries of adult players",
        "Capsule endoscopy diagnostic yield",
        "Band ligation complications registry",
    ]
    protocol = "Capsule endoscopy for the diagnosis of oesophageal varices"
    labels = {0: 1, 1: 0}
    off_cfg = ModelConfig.from_settings("screener-lr", 0, {})
    on_cfg = ModelConfig.from_settings("screener-lr", 0, {"protocol_include": 2})
    fs = fit_features(texts, off_cfg.features.__class__(min_df=1))
    off = rank(fs, labels, off_cfg, protocol_text=protocol)
    on = rank(fs, labels, on_cfg, protocol_text=protocol)
    assert on.method == off.method == "classifier"
    assert set(on.order[:2]) == {2, 4}
    assert set(off.order[:2]) != {2, 4}
    assert on.training_size == off.training_size == 2  # the protocol is not a decision
    # no protocol text: the option changes nothing but the configuration
    assert rank(fs, labels, on_cfg).order == off.order
    # off by default, and the default's hash is what it was before the option existed
    assert "protocol_include" not in off_cfg.to_dict()
    assert on_cfg.to_dict()["protocol_include"] == 2 and on_cfg.hash() != off_cfg.hash()
    with pytest.raises(ValueError, match="protocol_include"):
        ModelConfig.from_settings("screener-lr", 0, {"protocol_include": -1})


def test_provenance_hash_is_stable() -> None:
    cfg = ModelConfig.from_settings("screener-lr", 42, {"C": 0.5})
    expected = hashlib.sha256(canonical_json(cfg.to_dict()).encode()).hexdigest()
    assert cfg.hash() == expected
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert ModelConfig.from_settings("screener-lr", 42, {"C": 0.5}).hash() == cfg.hash()
    assert ModelConfig.from_settings("screener-lr", 43, {"C": 0.5}).hash() != cfg.hash()
    fs = fit_features(["alpha beta gamma", "alpha beta delta", "gamma delta eps"], cfg.features.__class__(min_df=1))
    r = rank(fs, {0: 1, 1: 0}, cfg)
    assert r.config_hash == cfg.hash() and r.config == cfg.to_dict()
    assert r.training_size == 2 and r.n_included_training == 1
    json.dumps(r.config)  # JSON-able


def test_settings_validation() -> None:
    with pytest.raises(ValueError):
        ModelConfig.from_settings("nope", 0, {})
    with pytest.raises(ValueError):
        ModelConfig.from_settings("screener-lr", 0, {"bogus": 1})
    with pytest.raises(ValueError):
        ModelConfig.from_settings("screener-lr", 0, {"classifier": "tree"})
    assert ModelConfig.from_settings("elas-u4", 0, {}).classifier == "svm"


def test_estimator_conventions() -> None:
    est = LinearRanker(C=2.0)
    assert est.get_params()["C"] == 2.0 and not hasattr(est, "coefs_")
    with pytest.raises(ValueError):
        est.fit(np.zeros((2, 2)), np.array([1, 1]))


@pytest.mark.parametrize(("params", "fragment"), [
    ({"C": "abc"}, "model parameter 'C' must be a number, not 'abc'"),
    ({"C": float("nan")}, "model parameter 'C' must be a number"),
    ({"lsa_dims": 2.5}, "'lsa_dims' must be a whole number"),
    ({"cold_start": "yes"}, "'cold_start' must be true or false"),
    ({"classifier": 3}, "'classifier' must be text"),
    ({"features": 3}, "'features' must be a mapping"),
    ({"features": {"min_df": "2"}}, "'features.min_df' must be a whole number"),
    ({"max_iter": -5}, "unknown model parameter 'max_iter'; the parameters are C, "),
])
def test_settings_of_the_wrong_type_are_refused_in_words(params: dict[str, object],
                                                         fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        ModelConfig.from_settings("screener-lr", 0, params)
