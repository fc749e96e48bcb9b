"""Fixtures for the terminal UI tests: small reviews in temp folders, a fake ranker.

Nothing here needs /work/shared or the ranking library: the ranker is injected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from screener.core.decisions import Stage
from screener.core.records import Record
from screener.storage import repo
from screener.tui.app import ScreenerApp
from screener.workflow.progress import Progress
from screener.workflow.ranking import RankingUpdate
from screener.workflow.review import Review, create_review, open_review
from screener.workflow.screening import Queue

PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"

RECORDS = [
    Record(
        title="Ketamine infusion for treatment-resistant depression: a randomised trial",
        abstract=("BACKGROUND: Treatment-resistant depression is common.\n"
                  "METHODS: Adults were randomised to ketamine or midazolam.\n"
                  "RESULTS: Remission was more frequent with ketamine.\n"
                  "CONCLUSIONS: Ketamine helps."),
        authors=("Murrough, James W", "Iosifescu, Dan V"), year=2013,
        journal="Am J Psychiatry", volume="170", issue="10", pages="1134-42",
        doi="10.1176/appi.ajp.2013.13030392", pmid="23982301",
        publication_types=("Journal Article", "Randomized Controlled Trial"),
        keywords=("ketamine", "depression"), mesh_terms=("Depressive Disorder", "Ketamine")),
    Record(title="Anaesthesia with ketamine in rats", abstract="Rats were anaesthetised.",
           authors=("Smith, A",), year=2001, journal="Lab Anim"),
    Record(title="Esketamine nasal spray versus placebo", abstract="A placebo-controlled study.",
           authors=("Popova, V",), year=2019, journal="Am J Psychiatry"),
    Record(title="Exercise for depression: a review", abstract="We reviewed exercise trials.",
           authors=("Cooney, G",), year=2013, journal="Cochrane Database Syst Rev"),
    Record(title="Lithium augmentation in bipolar depression", abstract="Open-label lithium.",
           authors=("Bauer, M",), year=2010, journal="J Affect Disord"),
]
TITLES = [r.title for r in RECORDS]


def add_records(review: Review, records: list[Record] | None = None) -> list[int]:
    with review.transaction() as session:
        source = repo.add_source(session, name="PubMed", kind="database")
        return repo.add_records(session, source, records or RECORDS)


def write_protocol(folder: Path, base: str = "minimal.yaml", **changes: object) -> Path:
    """A copy of a bundled protocol with top-level sections replaced or merged."""
    data = yaml.safe_load((PROTOCOLS / base).read_text(encoding="utf-8"))
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"protocol-{len(list(folder.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class FakeRanker:
    """Returns the record ids in reverse import order, and counts its calls."""

    def __init__(self, ids: list[int], error: BaseException | None = None,
                 reverse: bool = True) -> None:
        self.ids = ids
        self.reverse = reverse
        self.error = error
        self.calls = 0

    def __call__(self, review: Review, reviewer: str) -> RankingUpdate:
        self.calls += 1
        if self.error is not None:
            raise self.error
        order = tuple(reversed(self.ids)) if self.reverse else tuple(self.ids)
        scores = {rid: 1.0 - i / len(order) for i, rid in enumerate(order)}
        return RankingUpdate(0, Queue(order, None, scores), "fake", 0, 0, 0.0)


def fixed_progress(review: Review, reviewer: str, stage: Stage) -> Progress:
    """Counts only (no stopping statistics), so snapshots do not depend on the ranker."""
    from screener.workflow.browse import my_decisions

    mine = my_decisions(review, reviewer, stage)
    labels = [d.label.value for d in mine.values()]
    return Progress(reviewer, stage, len(mine), len(RECORDS), labels.count("include"),
                    labels.count("maybe"), 0, ())


_TEMPLATES: dict[tuple[str, int], Path] = {}


def _template(protocol: Path, records: list[Record] | None,
              factory: pytest.TempPathFactory) -> Path:
    """A review folder built once per protocol and record set (migrations are slow)."""
    key = (protocol.read_text(encoding="utf-8"), id(records))
    if key not in _TEMPLATES:
        folder = factory.mktemp("template") / "review"
        review = create_review(folder, protocol)
        try:
            add_records(review, records)
        finally:
            review.close()
        _TEMPLATES[key] = folder
    return _TEMPLATES[key]


@pytest.fixture
def review_factory(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[Callable[..., tuple[Review, list[int]]]]:
    """Open a fresh copy of a review made from a protocol, holding `records` (ids 1..n)."""
    import shutil

    opened: list[Review] = []

    def factory(protocol: Path | str = "minimal.yaml", records: list[Record] | None = None,
                folder: str = "review") -> tuple[Review, list[int]]:
        path = protocol if isinstance(protocol, Path) else PROTOCOLS / protocol
        target = tmp_path / folder
        shutil.copytree(_template(path, records, tmp_path_factory), target)
        review = open_review(target)
        opened.append(review)
        with review.transaction() as session:
            ids = repo.record_ids_in_order(session)
        return review, ids

    yield factory
    for review in opened:
        review.close()


@pytest.fixture
def make_app(review_factory: Callable[..., tuple[Review, list[int]]]
             ) -> Callable[..., tuple[ScreenerApp, Review, list[int], FakeRanker]]:
    def factory(protocol: Path | str = "minimal.yaml", reviewer: str = "ann",
                stage: Stage = Stage.TITLE_ABSTRACT, reverse: bool = True, **kwargs: object
                ) -> tuple[ScreenerApp, Review, list[int], FakeRanker]:
        review, ids = review_factory(protocol)
        ranker = FakeRanker(ids, reverse=reverse)
        kwargs.setdefault("background_delay", 0)
        app = ScreenerApp(review, reviewer, stage, ranker=ranker, **kwargs)  # type: ignore[arg-type]
        return app, review, ids, ranker

    return factory


def stored(review: Review, stage: Stage = Stage.TITLE_ABSTRACT) -> list[tuple[int, str, str, str | None, str]]:
    """The decision log as (record, reviewer, label, reason, note), read through a new connection."""
    other = open_review(review.folder)
    try:
        with other.transaction() as session:
            return [(d.record_id, d.reviewer, d.label.value, d.reason_id, d.note)
                    for d in repo.decision_log(session) if d.stage == stage]
    finally:
        other.close()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (no asyncio plugin needed)."""
    import asyncio
    import inspect

    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(pyfuncitem.obj(**kwargs))
    return True
