"""Re-ranking use case: train on the decisions so far, store the ranking, serve the queue.

Features are fitted once per review and cached in the database; they are refitted only
when records are added. Heavy: call `refresh_ranking` from a worker thread in the UI.
Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screener.core.decisions import Decision, Label, Stage
from screener.core.protocol import CriterionKind, Protocol
from screener.storage import Session, repo
from screener.workflow.model_settings import EmbeddingsRefused, config_from_settings
from screener.workflow.review import Review, ReviewError

if TYPE_CHECKING:
    from screener.ranking import FeatureSet, ModelConfig
from screener.workflow.screening import Queue, eligible_ids, outcomes, reviewer_name


@dataclass(frozen=True, slots=True)
class RankingUpdate:
    ranking_id: int
    queue: Queue
    config_hash: str
    training_size: int
    n_included: int
    seconds: float
    n_ranked: int = 0
    """Records the ranking put in order (the undecided ones); the queue may hold more."""


def _blind_rankings(review: Review) -> bool:
    """In blind mode each reviewer has their own ranking; otherwise one is shared."""
    return review.protocol.screening.blind and review.protocol.screening.dual


def _ranking_owner(review: Review, session: Session, reviewer: str) -> int | None:
    """The reviewer id a stored ranking belongs to (None: shared); creates the reviewer."""
    if _blind_rankings(review):
        return repo.get_or_create_reviewer(session, reviewer).id
    return None


def _ranking_owner_read(review: Review, session: Session, reviewer: str) -> int | None:
    """As `_ranking_owner`, in a read-only transaction: -1 (no ranking can be theirs yet)
    for a blind reviewer the database does not know."""
    if not _blind_rankings(review):
        return None
    found = repo.reviewer_id(session, reviewer)
    return -1 if found is None else found


def current_queue(review: Review, session: Session, reviewer: str, stage: Stage,
                  eligible: list[int] | None = None) -> Queue:
    """Eligible records in the order of the latest ranking (import order before one exists)."""
    if eligible is None:
        eligible = eligible_ids(session, stage)
    if stage != Stage.TITLE_ABSTRACT:
        return Queue(tuple(eligible))
    latest = repo.latest_ranking(session, stage, _ranking_owner_read(review, session, reviewer))
    if latest is None or not latest[1]:
        return Queue(tuple(eligible))
    ranking_id, order, scores, info = latest
    allowed = set(eligible)
    ranked = [i for i in order if i in allowed]
    seen = set(ranked)
    rest = [i for i in eligible if i not in seen]
    return Queue(tuple(ranked + rest), ranking_id, dict(zip(order, scores, strict=False)),
                 score_basis(info), _imported_after(review, session, reviewer, rest, order))


def _imported_after(review: Review, session: Session, reviewer: str, ids: list[int],
                    ranked: list[int]) -> int:
    """How many of `ids` came in with an import made after the ranking that put `ranked` in
    order and are still to be screened by `reviewer`: not decided by them (nor, in single
    screening, by anyone), as a record imported with its labels (`--labels-as`) is.

    An import after the ranking is one the database numbered after the import of the
    newest record it ranked (imports are numbered as they are stored), not one stamped
    later: the clocks of the computers that ranked and imported may disagree, and an import
    stored while the ranker was training is after its snapshot though stamped before it."""
    if not ids or not ranked:
        return 0
    newest = repo.source_of_record(session, max(ranked))
    later = {s["id"] for s in repo.sources(session)
             if newest is not None and s["id"] > newest}
    if not later:  # (the usual case: no record-by-record look-up)
        return 0
    source_of = repo.record_sources(session)
    dual = review.protocol.screening.dual
    decided = {d.record_id for d in repo.current_decisions(session, Stage.TITLE_ABSTRACT)
               if d.reviewer == reviewer or not dual}
    return sum(source_of.get(i) in later and i not in decided for i in ids)


def score_basis(info: dict[str, Any]) -> str:
    """What a stored ranking's scores are, from its provenance: the classifier's ('model')
    once it had an include and an exclude to learn from, else the cold start's similarity to
    the protocol ('protocol'), else none ('random'); as `screener.ranking.rank` chooses."""
    if 0 < info["n_included"] < info["training_size"]:
        return "model"
    return "protocol" if info["config"].get("cold_start") else "random"


def training_labels(review: Review, session: Session, reviewer: str,
                    current: Sequence[Decision] | None = None) -> dict[int, int]:
    """record id -> 1 (include) / 0 (exclude) used to train; `maybe` is left out.

    Blind dual screening: the reviewer's own decisions and reconciled outcomes only.
    Otherwise: the record's outcome, or the latest decision while it is pending.
    `current`: the title/abstract stage's current decisions, if the caller has them.
    """
    stage = Stage.TITLE_ABSTRACT
    labels: dict[int, int] = {}
    from screener.workflow.team import blind_stages

    blind = stage in blind_stages(review, session)
    if current is None:
        current = repo.current_decisions(session, stage)
    for d in current:
        if blind and d.reviewer != reviewer:
            continue
        if d.label in (Label.INCLUDE, Label.EXCLUDE):
            labels[d.record_id] = 1 if d.label == Label.INCLUDE else 0
    for rid, outcome in outcomes(review, session, stage, current=current).items():
        # Blind: an agreed outcome can reveal the other label (maybe + include -> include).
        if outcome.label in (Label.INCLUDE, Label.EXCLUDE) and (
                not blind or outcome.adjudicated):
            labels[rid] = 1 if outcome.label == Label.INCLUDE else 0
    return labels


def protocol_text(review: Review) -> str:
    """The text the cold start ranks by: `protocol_text_of` the review's protocol."""
    return protocol_text_of(review.protocol)


def protocol_text_of(p: Protocol) -> str:
    """Title, question, inclusion criteria and include highlight terms (the exclusion
    criteria are left out: records that match them are the ones not to put first).
    `simulate --protocol` uses the same text."""
    parts = [p.title, *(text for _, text in p.question),
             p.criteria_text(CriterionKind.INCLUDE), *p.highlight.include]
    return "\n".join(x for x in parts if x)


def refresh_ranking(review: Review, reviewer: str) -> RankingUpdate:
    """Retrain on the current decisions and store a new title/abstract ranking."""
    import time

    from screener.ranking import FeatureSet, fit_features, rank  # noqa: F811
    from screener.ranking.config import sha256_of

    started = time.perf_counter()
    reviewer = reviewer_name(reviewer)
    settings = review.protocol.ranking
    config = model_config(review)
    feature_hash = sha256_of(config.features.to_dict())
    # Reads in read-only transactions: a decision being saved never waits for them.
    with review.read() as session:
        span = repo.record_id_span(session)
        ids = repo.record_ids_by_id(session)
        current = repo.current_decisions(session, Stage.TITLE_ABSTRACT)  # read once
        labels = training_labels(review, session, reviewer, current)
        eligible_list = eligible_ids(session, Stage.TITLE_ABSTRACT)
        eligible = set(eligible_list)
        decided_any = {d.record_id for d in current}
    key = (review.db.url, feature_hash, span)
    features = _MEMORY.get(key)
    if features is None:
        with review.read() as session, tempfile.TemporaryDirectory() as tmp:
            cached = repo.feature_cache_info(session, feature_hash)
            if cached is not None and (cached[1], cached[2]) == span:
                repo.read_feature_cache(session, cached[0], Path(tmp) / "features.zip")
                features = _unpack_features(Path(tmp) / "features.zip", FeatureSet)
    if features is None:
        features = fit_features(_texts(review), config)
        with tempfile.TemporaryDirectory() as tmp:
            packed = _pack_features(features, Path(tmp))
            with review.transaction() as session:
                repo.save_feature_cache(session, feature_hash, span[0], span[1], packed)
    _MEMORY.clear()
    _MEMORY[key] = features
    row_of = {rid: i for i, rid in enumerate(ids)}
    row_labels = {row_of[rid]: y for rid, y in labels.items() if rid in row_of}
    exclude = [row_of[rid] for rid in ids if rid not in eligible or rid in labels
               or (not review.protocol.screening.dual and rid in decided_any)]
    use_text = settings.cold_start or config.protocol_include > 0
    result = rank(features, row_labels, config,
                  protocol_text=protocol_text(review) if use_text else "", exclude=exclude)
    order_ids = [ids[i] for i in result.order]
    with review.transaction() as session:
        owner = _ranking_owner(review, session, reviewer)
        ranking_id = repo.add_ranking(
            session, stage=Stage.TITLE_ABSTRACT, reviewer_id=owner, config=result.config,
            config_hash=result.config_hash, training_size=result.training_size,
            n_included=result.n_included_training, order_ids=order_ids,
            scores=list(result.scores))
        repo.prune_rankings(session, {ranking_id})
    with review.read() as session:
        queue = current_queue(review, session, reviewer, Stage.TITLE_ABSTRACT, eligible_list)
    return RankingUpdate(ranking_id, queue, result.config_hash, result.training_size,
                         result.n_included_training, time.perf_counter() - started,
                         len(order_ids))


def _pack_features(features: FeatureSet, folder: Path) -> Path:
    """The files FeatureSet.save writes, zipped into one file in `folder` (the blob of the
    database cache; written to disk, not memory: it is ~350 MB at 200,000 records)."""
    parts = folder / "parts"
    parts.mkdir()
    features.save(parts / "features")
    packed = folder / "features.zip"
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(parts.iterdir()):
            zf.write(path, path.name)
    return packed


def _unpack_features(packed: Path, cls: type[FeatureSet]) -> FeatureSet | None:
    """Inverse of _pack_features; None when the cache is unreadable (it is then rebuilt)."""
    try:
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(packed) as zf:
            for name in zf.namelist():
                if "/" in name or name.startswith("."):
                    return None
            zf.extractall(tmp)
            return cls.load(Path(tmp) / "features")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


_MEMORY: dict[tuple[str, str, tuple[int, int]], FeatureSet] = {}
"""Features of the review open in this process (one entry), so re-ranking after each
decision does not read them back from the database."""


def forget_features() -> None:
    """Drop the features kept in memory (another process ranks this review now)."""
    _MEMORY.clear()


def model_config(review: Review) -> ModelConfig:
    """The ranking model configuration the protocol asks for (a protocol file's checks
    refuse the same settings: `model_settings.ranking_problems`; a version stored before
    those checks existed may still hold them)."""
    settings = review.protocol.ranking
    try:
        return config_from_settings(settings.model, settings.seed, settings.cold_start,
                                    dict(settings.params))
    except EmbeddingsRefused as exc:
        raise ReviewError(f"the protocol's {exc}") from None
    except (ValueError, TypeError) as exc:
        raise ReviewError(f"the protocol's ranking settings cannot be used: {exc}. Fix "
                          "`ranking:` in the protocol (model: default | screener-lr | elas-u4)"
                          " and record it with `screener protocol amend`") from None


def _texts(review: Review) -> list[str]:
    """Each record's text for the features, in record id order (the rows are streamed
    from the database: at 200,000 records a list of them would hold ~0.5 GB more)."""
    with review.read() as session:
        return [_text(row) for row in repo.record_texts(session)]


def _text(row: tuple[int, str, str, list[str], list[str], str]) -> str:
    _, title, abstract, keywords, mesh, original = row
    return " ".join(x for x in (title, original, abstract, " ".join(keywords), " ".join(mesh))
                    if x)
