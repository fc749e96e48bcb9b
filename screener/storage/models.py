"""SQLAlchemy 2.x typed models: the review database schema.

One database (or one schema of it) holds one review. Decisions are append-only; the current
decision for (record, reviewer, stage) is the row with the highest id. ORM objects never leave
`screener.storage`: functions in `screener.storage.repo` return core dataclasses.
Must not import textual, click, sklearn or any other layer of screener but core.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ReviewRow(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_hash: Mapped[str] = mapped_column(String(64), default="")
    """Hash of the newest decision-log row (the head of the chain)."""
    decision_count: Mapped[int] = mapped_column(Integer, default=0)
    event_head: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """Hash of the newest event-log row ("" while there is none)."""
    event_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ProtocolVersionRow(Base):
    __tablename__ = "protocol_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SourceRow(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(Text, default="")
    query: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(40), default="")
    searched_on: Mapped[str] = mapped_column(String(40), default="")
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    reported_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Hits the database reported (e.g. PubMed's esearch count), when known."""
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    content_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """SHA-256 of the imported file's bytes ("" for searches), to catch a file imported twice."""


class RecordRow(Base):
    __tablename__ = "records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    """Import order across the review (used before any ranking exists)."""
    title: Mapped[str] = mapped_column(Text, default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    journal: Mapped[str] = mapped_column(Text, default="")
    volume: Mapped[str] = mapped_column(String(100), default="")
    issue: Mapped[str] = mapped_column(String(100), default="")
    pages: Mapped[str] = mapped_column(String(100), default="")
    doi: Mapped[str] = mapped_column(String(300), default="", index=True)
    pmid: Mapped[str] = mapped_column(String(20), default="", index=True)
    publication_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    mesh_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(100), default="")
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DuplicateLinkRow(Base):
    __tablename__ = "duplicate_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster: Mapped[int] = mapped_column(Integer, index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    """The record removed as a duplicate."""
    kept_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    method: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """Set when the merge was reversed (`screener dedup --undo`); the row is kept."""


class ReviewerRow(Base):
    __tablename__ = "reviewers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="screener")


class RankingRow(Base):
    __tablename__ = "rankings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(20))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("reviewers.id"), nullable=True)
    """Set in blind mode: a reviewer's ranking is trained on their own decisions."""
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    config_hash: Mapped[str] = mapped_column(String(64))
    training_size: Mapped[int] = mapped_column(Integer)
    n_included: Mapped[int] = mapped_column(Integer, default=0)
    order_ids: Mapped[bytes] = mapped_column(LargeBinary)
    """Record ids best first, as little-endian uint32."""
    scores: Mapped[bytes] = mapped_column(LargeBinary)
    """Scores aligned with order_ids, as little-endian float32."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DecisionRow(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_key", "record_id", "reviewer_id", "stage", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(10))
    reason_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    criterion_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    protocol_hash: Mapped[str] = mapped_column(String(64), default="")
    ranking_id: Mapped[int | None] = mapped_column(ForeignKey("rankings.id"), nullable=True)
    rank_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    undoes_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Set on a row that withdraws an earlier decision (undo): label is 'undone'."""
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    """Globally unique id (uuid4): lets `screener merge` bring offline decisions back once."""
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    """Position in the decision log (1, 2, 3, ...): the hash chain order."""
    row_hash: Mapped[str] = mapped_column(String(64))


class ReportRow(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("record_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    status: Mapped[str] = mapped_column(String(20), default="sought")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeatureCacheRow(Base):
    __tablename__ = "feature_cache"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config_hash: Mapped[str] = mapped_column(String(64))
    n_records: Mapped[int] = mapped_column(Integer)
    max_record_id: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    """Empty since migration 0003 (the blob is in feature_cache_chunks); read when a cache
    written before it has no chunks."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeatureCacheChunkRow(Base):
    """The feature cache's blob in pieces of at most 16 MB, written and read one at a time
    (the blob is ~350 MB at 200,000 records: whole, it was held in memory several times)."""

    __tablename__ = "feature_cache_chunks"
    cache_id: Mapped[int] = mapped_column(ForeignKey("feature_cache.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AllocationRunRow(Base):
    """One `screener allocate` run (or an offline copy's restriction); the latest per stage is in force."""

    __tablename__ = "allocation_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="allocation")
    """'allocation' (sets how many reviewers screen each record) or 'offline' (restricts only)."""
    seed: Mapped[int] = mapped_column(Integer, default=0)
    overlap: Mapped[float] = mapped_column(Float, default=0.0)
    reviewers: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AllocationRow(Base):
    """A record allocated to a reviewer in an allocation run."""

    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("run_id", "record_id", "reviewer_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"))


class ClaimRow(Base):
    """A record shown to a reviewer by `next` and not yet decided: others skip it meanwhile."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("record_id", "stage", "reviewer_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    stage: Mapped[str] = mapped_column(String(20))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"), index=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReconciliationRow(Base):
    """Reconciliation of a stage started (blinding ends): who started it and when."""

    __tablename__ = "reconciliations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), unique=True)
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EventRow(Base):
    """The event log (screener.core.audit.LogEvent): changes to the review other than
    decisions, hash-chained like the decision log. Append-only."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200), default="")
    stage: Mapped[str] = mapped_column(String(20), default="")
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[str] = mapped_column(Text, default="{}")
    """Canonical JSON (screener.core.audit.details_json): the text the hash covers."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    row_hash: Mapped[str] = mapped_column(String(64))
