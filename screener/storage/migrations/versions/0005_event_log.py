"""event log: protocol versions, imports, duplicates, allocations, unblinding and
not-retrieved marks in a hash chain of their own

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

A review made before this migration gets the events its tables still show, in time order,
each marked `recorded_by: migration 0005` (they were written now, from the tables, not when
they happened): protocol versions, imports, allocation runs, the start of reconciliation,
reports marked not retrieved (no name: the table did not keep it) and one summary of the
duplicate links.
"""
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = "migration 0005"


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('seq', name=op.f('uq_events_seq'))
    )
    with op.batch_alter_table('reviews') as batch:
        batch.add_column(sa.Column('event_head', sa.String(length=64), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('event_count', sa.Integer(), nullable=False,
                                   server_default='0'))
    _backfill()


def _when(value: Any) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _records_digest(bind: Any, source_id: int) -> str:
    """The records of a source as they stand now (`audit.records_digest`)."""
    import json

    from screener.core.audit import records_digest

    rows = bind.execute(sa.text(
        "SELECT title, abstract, authors, year, journal, doi, pmid FROM records "
        "WHERE source_id = :s ORDER BY position"), {"s": source_id}).all()
    return records_digest(
        (t, a, json.loads(au) if isinstance(au, str) else (au or []), y, j, d, p)
        for t, a, au, y, j, d, p in rows)


def _backfill() -> None:
    from screener.core.audit import LogEvent, details_json, iso_utc, next_event_hash
    from screener.core.audit import EVENT_GENESIS

    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM reviews")).scalar() != 1:
        return
    found: list[tuple[datetime, int, str, str, str, int | None, dict[str, Any]]] = []

    def add(when: Any, order: int, kind: str, actor: str, stage: str, record_id: int | None,
            details: dict[str, Any]) -> None:
        found.append((_when(when), order, kind, actor, stage, record_id,
                      {**details, "recorded_by": BACKFILL}))

    for version, sha, reason, at in bind.execute(sa.text(
            "SELECT version, sha256, reason, created_at FROM protocol_versions")):
        add(at, 0, "protocol_version", "", "", None,
            {"version": version, "sha256": sha, "reason": reason})
    for sid, name, kind, file_name, query, fmt, searched, count, sha, at in bind.execute(
            sa.text("SELECT id, name, kind, file_name, query, format, searched_on, "
                    "record_count, content_sha256, imported_at FROM sources")):
        add(at, 1, "records_imported", "", "", None,
            {"source_id": sid, "source": name, "kind": kind, "file": file_name,
             "query": query, "format": fmt, "searched_on": searched, "records": count,
             "sha256": sha, "records_sha256": _records_digest(bind, sid)})
    links = bind.execute(sa.text(
        "SELECT count(*), count(DISTINCT cluster), max(created_at) FROM duplicate_links "
        "WHERE undone_at IS NULL")).one()
    if links[0]:
        pairs = [[r, k] for r, k in bind.execute(sa.text(
            "SELECT record_id, kept_id FROM duplicate_links WHERE undone_at IS NULL "
            "ORDER BY record_id"))]
        add(links[2], 2, "duplicates_removed", "", "", None,
            {"removed": links[0], "clusters": links[1], "links": pairs,
             "summary": "duplicate links standing when the event log began; `screener "
             "dedup --list` shows them"})
    for run_id, stage, kind, seed, overlap, at in bind.execute(sa.text(
            "SELECT id, stage, kind, seed, overlap, created_at FROM allocation_runs")):
        names = [r[0] for r in bind.execute(sa.text(
            "SELECT DISTINCT reviewers.name FROM allocations JOIN reviewers ON "
            "reviewers.id = allocations.reviewer_id WHERE run_id = :run ORDER BY 1"),
            {"run": run_id})]
        records = bind.execute(sa.text(
            "SELECT count(DISTINCT record_id) FROM allocations WHERE run_id = :run"),
            {"run": run_id}).scalar() or 0
        add(at, 3, "allocation", "", stage, None,
            {"run_id": run_id, "kind": kind, "seed": seed, "overlap": overlap,
             "reviewers": names, "records": records})
    for stage, started_by, at in bind.execute(sa.text(
            "SELECT stage, started_by, started_at FROM reconciliations")):
        add(at, 4, "reconciliation_started", started_by, stage, None, {})
    for record_id, at in bind.execute(sa.text(
            "SELECT record_id, updated_at FROM reports WHERE status = 'not_retrieved'")):
        add(at, 5, "report_not_retrieved", "", "full_text", record_id, {})
    found.sort(key=lambda item: (item[0], item[1]))
    head, seq = EVENT_GENESIS, 0
    events = sa.table('events', sa.column('seq', sa.Integer), sa.column('kind', sa.String),
                      sa.column('actor', sa.String), sa.column('stage', sa.String),
                      sa.column('record_id', sa.Integer), sa.column('details', sa.Text),
                      sa.column('created_at', sa.DateTime(timezone=True)),
                      sa.column('row_hash', sa.String))
    for when, _order, kind, actor, stage, record_id, details in found:
        seq += 1
        event = LogEvent(seq=seq, kind=kind, actor=actor, time=iso_utc(when), stage=stage,
                         record_id=record_id, details=details)
        head = next_event_hash(head, event)
        bind.execute(events.insert().values(
            seq=seq, kind=kind, actor=actor, stage=stage, record_id=record_id,
            details=details_json(details), created_at=when, row_hash=head))
    if seq:
        bind.execute(sa.text("UPDATE reviews SET event_head = :head, event_count = :count"),
                     {"head": head, "count": seq})


def downgrade() -> None:
    with op.batch_alter_table('reviews') as batch:
        batch.drop_column('event_count')
        batch.drop_column('event_head')
    op.drop_table('events')
