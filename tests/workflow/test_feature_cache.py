"""Features are fitted once per review and kept in the database: a new process (the UI's
ranking process, `screener rank`) reads them back and ranks exactly as the process that
fitted them; adding records refits them. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import repo
from screener.workflow import ranking
from screener.workflow.ranking import forget_features, refresh_ranking
from screener.workflow.review import Review
from screener.workflow.screening import ScreeningSession

TOPICS = ["ketamine infusion depression trial", "esketamine nasal spray depression",
          "rat anaesthesia ketamine dose", "exercise therapy older adults",
          "lithium bipolar disorder", "mindfulness anxiety students"]


def add(review: Review, n: int, offset: int = 0) -> list[int]:
    records = [Record(title=f"{TOPICS[i % len(TOPICS)]} study {i}",
                      abstract=f"We studied {TOPICS[(i * 5) % len(TOPICS)]} in cohort {i}.")
               for i in range(offset, offset + n)]
    with review.transaction() as s:
        source = repo.add_source(s, name="Test", kind="database")
        return repo.add_records(s, source, records)


def decide_some(review: Review) -> None:
    session = ScreeningSession(review, "ann")
    for k in range(6):
        item = session.next()
        assert item is not None and item.record.id is not None
        session.decide(item.record.id, Label.INCLUDE if k % 3 == 0 else Label.EXCLUDE)


def fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count feature fits (the expensive step the cache saves)."""
    import screener.ranking as ranking_package

    calls: list[int] = []
    real = ranking_package.fit_features

    def counted(texts: Any, config: Any) -> Any:
        calls.append(len(texts))
        return real(texts, config)

    monkeypatch.setattr(ranking_package, "fit_features", counted)
    return calls


def test_features_are_read_back_from_the_database(make_review: Callable[..., Any],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    review = make_review()
    add(review, 60)
    decide_some(review)
    calls = fits(monkeypatch)
    forget_features()
    first = refresh_ranking(review, "ann")
    assert calls == [60]
    with review.read() as s:
        cached = repo.feature_cache_info(s, next(iter(_hashes(review))))
    assert cached is not None and cached[1] == 60

    forget_features()  # as a new process: nothing in memory
    again = refresh_ranking(review, "ann")
    assert calls == [60]  # not fitted again
    assert again.queue.ids == first.queue.ids
    assert again.queue.scores == pytest.approx(first.queue.scores)


def test_adding_records_refits_the_features(make_review: Callable[..., Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    review = make_review()
    add(review, 40)
    decide_some(review)
    calls = fits(monkeypatch)
    forget_features()
    refresh_ranking(review, "ann")
    new = add(review, 10, offset=40)
    forget_features()
    update = refresh_ranking(review, "ann")
    assert calls == [40, 50]
    assert set(new) <= set(update.queue.ids)


def _hashes(review: Review) -> set[str]:
    from screener.ranking.config import sha256_of

    return {sha256_of(ranking.model_config(review).features.to_dict())}


def test_ranking_reads_the_original_language_title(make_review: Callable[..., Any]) -> None:
    """The record card shows a non-English article's own title (MEDLINE TT) under
    PubMed's English one, but ranking never read it: a protocol term in the article's
    language matched nothing. An English-only record's text is as it was."""
    from screener.core.records import ORIGINAL_TITLE
    from screener.ranking.features import record_text, text_of

    review = make_review("minimal.yaml")
    translated = Record(title="[Ketamine in depression].", abstract="Abstract.",
                        raw={ORIGINAL_TITLE: "氯胺酮治疗抑郁症"})
    english = Record(title="Exercise for depression", abstract="We studied adults.",
                     keywords=("exercise",), mesh_terms=("Depression",))
    with review.transaction() as s:
        repo.add_records(s, repo.add_source(s, name="Test", kind="database"),
                         [translated, english])
    texts = ranking._texts(review)
    assert "氯胺酮治疗抑郁症" in texts[0] and "氯胺酮治疗抑郁症" in text_of(translated)
    assert texts[1] == record_text(english.title, english.abstract, english.keywords,
                                   english.mesh_terms) == text_of(english)
