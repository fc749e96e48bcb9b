"""FeatureSet: agreement with scikit-learn's TF-IDF, save/load round trip, cache refit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from screener.ranking.config import FeatureConfig, ModelConfig
from screener.ranking.features import FeatureSet, fit_features, load_or_fit, record_text
from screener.ranking.simulate import Dataset

TEXTS = [
    "Capsule endoscopy for oesophageal varices: a diagnostic accuracy study.",
    "Oesophageal varices in cirrhosis; band ligation vs. beta-blockers (RCT).",
    "Cirrhosis and portal hypertension — a review of Varices’ screening",
    "A trial of beta-blockers in heart failure",
    "x y z",
    "",
]


def test_same_similarities_as_sklearn(small_dataset: Dataset) -> None:
    texts = small_dataset.texts + TEXTS
    fs = fit_features(texts, FeatureConfig(min_df=1))
    sk = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_df=0.95).fit_transform(texts)
    assert fs.matrix.shape == sk.shape
    assert fs.matrix.dtype == np.float32
    np.testing.assert_allclose((fs.matrix @ fs.matrix.T).toarray(), (sk @ sk.T).toarray(),
                               atol=1e-5)


def test_min_df_caps_vocabulary(small_dataset: Dataset) -> None:
    full = fit_features(small_dataset.texts, FeatureConfig(min_df=1))
    capped = fit_features(small_dataset.texts, FeatureConfig(min_df=2))
    assert capped.n_features < full.n_features
    assert capped.n_rows == full.n_rows == len(small_dataset)


def test_transform_of_fitted_text_equals_its_row() -> None:
    fs = fit_features(TEXTS, ModelConfig())
    again = fs.transform(TEXTS[:3]).toarray()
    np.testing.assert_allclose(again, fs.matrix[:3].toarray(), atol=1e-6)
    assert fs.transform(["completely unseen words"]).nnz == 0


def test_save_load_round_trip(tmp_path: Path) -> None:
    fs = fit_features(TEXTS, FeatureConfig(min_df=1))
    fs.save(tmp_path / "features")
    assert (tmp_path / "features.npz").exists() and (tmp_path / "features.json").exists()
    back = FeatureSet.load(tmp_path / "features.npz")
    assert (back.matrix != fs.matrix).nnz == 0
    assert back.vocabulary == fs.vocabulary and back.config == fs.config
    assert back.fingerprint == fs.fingerprint
    np.testing.assert_array_equal(back.keys, fs.keys)
    np.testing.assert_allclose(back.transform(["oesophageal varices"]).toarray(),
                               fs.transform(["oesophageal varices"]).toarray())


def test_load_or_fit_refits_only_when_records_change(tmp_path: Path) -> None:
    cfg = FeatureConfig(min_df=1)
    first = load_or_fit(TEXTS, cfg, tmp_path / "f")
    mtime = (tmp_path / "f.npz").stat().st_mtime_ns
    second = load_or_fit(TEXTS, cfg, tmp_path / "f")
    assert (tmp_path / "f.npz").stat().st_mtime_ns == mtime
    assert second.fingerprint == first.fingerprint
    third = load_or_fit([*TEXTS, "a new record about varices"], cfg, tmp_path / "f")
    assert third.n_rows == len(TEXTS) + 1


def test_record_text_joins_fields() -> None:
    assert record_text("T", "A", ["k1", "k2"], ["M"]) == "T A k1 k2 M"
    assert record_text("T", "") == "T"


def test_counting_in_chunks_gives_the_same_matrix(small_dataset: Dataset,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Large reviews are tokenised and counted a few records at a time (bounded memory);
    the features must be exactly those of counting everything at once."""
    import screener.ranking.features as features

    texts = small_dataset.texts + TEXTS
    whole = fit_features(texts, ModelConfig())
    monkeypatch.setattr(features, "_CHUNK", 7)
    monkeypatch.setattr(features, "_TOKEN_CHUNK", 3)
    chunked = fit_features(texts, ModelConfig())
    assert chunked.matrix.shape == whole.matrix.shape
    assert (chunked.matrix != whole.matrix).nnz == 0
    np.testing.assert_array_equal(chunked.keys, whole.keys)
    np.testing.assert_array_equal(chunked.idf, whole.idf)
    assert chunked.vocabulary == whole.vocabulary


def test_accented_and_turkish_words_are_whole_tokens_whatever_their_unicode_form() -> None:
    # records stored as NFD (imported before text was composed at import) split at every
    # accent ('nghie', 'tr', 'ca'); 'İLAÇ' lower-cased to 'i\u0307laç' and gave 'laç'
    import unicodedata

    composed = "Nghiên cứu trầm cảm: İLAÇ tedavisi"
    texts = [unicodedata.normalize("NFD", composed), composed, "depresyon ve kontrol grubu"]
    fs = fit_features(texts, FeatureConfig(min_df=1, ngram_max=1))
    assert {"nghiên", "cứu", "trầm", "cảm", "ilaç"} <= set(fs.vocabulary)
    assert not {"nghie", "laç", "tr", "ca"} & set(fs.vocabulary)
    np.testing.assert_allclose(fs.matrix[0].toarray(), fs.matrix[1].toarray(), atol=1e-6)
    # a protocol's terms, whatever their form, meet the records' tokens
    query = fs.transform([unicodedata.normalize("NFD", "trầm cảm"), "İlaç"])
    assert query[0].nnz == 2 and query[1].nnz == 1


CHINESE = ["氯胺酮治疗难治性抑郁症的随机对照试验", "艾司西酞普兰治疗老年抑郁症的疗效观察",
           "经颅磁刺激治疗难治性抑郁症的临床研究", "ケタミン投与群におけるうつ病の寛解",
           "Ketamine for treatment-resistant depression", "Exercise for depression in adults",
           "氯胺酮对小鼠抑郁样行为的影响"]


def test_chinese_and_japanese_text_gives_character_bigrams() -> None:
    # the token pattern made one token of each unspaced clause: a Chinese record shared no
    # feature with another, and a protocol term never matched a title
    fs = fit_features(CHINESE, FeatureConfig(min_df=1, ngram_max=1))
    assert {"抑郁", "治疗", "氯胺", "胺酮", "ケタ"} <= set(fs.vocabulary)
    assert CHINESE[0] not in fs.vocabulary
    assert {"ketamine", "depression", "treatment", "resistant"} <= set(fs.vocabulary)


def test_a_chinese_protocol_term_ranks_the_unspaced_title_first_on_cold_start() -> None:
    from screener.ranking.model import protocol_similarity

    fs = fit_features(CHINESE, FeatureConfig())
    scores = protocol_similarity(fs, "氯胺酮")
    assert set(np.argsort(-scores)[:2]) == {0, 6} and scores[[0, 6]].min() > 0
    assert sorted(scores)[-3] == 0
