"""Functions that take a SQLAlchemy session and return core objects.

ORM rows stay inside storage. Each function does one read or write; the workflow
layer decides the transaction. Must not import textual, click, sklearn or other layers.
"""

from __future__ import annotations

import io
import json
import sys
import unicodedata
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy import (
    text as text_sql,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from screener.core import audit
from screener.core.decisions import Decision, Label, ReportStatus, Reviewer, Role, Stage
from screener.core.records import ORIGINAL_TITLE, Record
from screener.storage.engine import FOLD_FUNCTION, INVISIBLE, fold_case
from screener.storage.models import (
    AllocationRunRow,
    ClaimRow,
    DecisionRow,
    DuplicateLinkRow,
    EventRow,
    FeatureCacheChunkRow,
    FeatureCacheRow,
    ProtocolVersionRow,
    RankingRow,
    RecordRow,
    ReportRow,
    ReviewerRow,
    ReviewRow,
    SourceRow,
    utcnow,
)

GENESIS = audit.GENESIS


# --- review and protocol -------------------------------------------------------------

def create_review(session: Session, title: str) -> int:
    row = ReviewRow(title=title, last_hash=GENESIS, decision_count=0)
    session.add(row)
    session.flush()
    return row.id


def review_exists(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(ReviewRow)) == 1


def review_title(session: Session) -> str:
    return session.scalars(select(ReviewRow.title)).one()


def review_created(session: Session) -> str:
    """When the review was created (UTC, ISO 8601): the same in a copy of its database and
    however its path or URL is spelled."""
    created = session.scalars(select(ReviewRow.created_at)).one()
    if created.tzinfo is not None:  # PostgreSQL gives it back with its zone; SQLite without
        created = created.astimezone(UTC).replace(tzinfo=None)
    return created.isoformat()


def add_protocol_version(session: Session, yaml_text: str, sha256: str, reason: str,
                         note: dict[str, Any] | None = None) -> int:
    """Store the next protocol version (and its event; `note` adds to the event's details,
    e.g. the ids it dropped although decisions cite them)."""
    latest = session.scalar(select(func.max(ProtocolVersionRow.version))) or 0
    row = ProtocolVersionRow(version=latest + 1, yaml_text=yaml_text, sha256=sha256,
                             reason=reason, created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    add_event(session, "protocol_version", at=row.created_at,
              details={"version": latest + 1, "sha256": sha256, "reason": reason,
                       **(note or {})})
    return latest + 1


def latest_protocol(session: Session) -> tuple[int, str, str]:
    """(version, yaml_text, sha256) of the protocol in force."""
    row = session.scalars(
        select(ProtocolVersionRow).order_by(ProtocolVersionRow.version.desc()).limit(1)
    ).one()
    return row.version, row.yaml_text, row.sha256


def latest_protocol_hash(session: Session) -> str:
    """sha256 of the protocol in force (a cheap check that it has not been amended)."""
    return session.scalars(_LATEST_PROTOCOL_HASH).one()


_LATEST_PROTOCOL_HASH = (select(ProtocolVersionRow.sha256)
                         .order_by(ProtocolVersionRow.version.desc()).limit(1))
"""Built once: read before every decision (see `_current_decisions_query`)."""


def protocol_versions(session: Session) -> list[tuple[int, str, str, datetime]]:
    rows = session.scalars(select(ProtocolVersionRow).order_by(ProtocolVersionRow.version))
    return [(r.version, r.sha256, r.reason, r.created_at) for r in rows]


def protocol_texts(session: Session) -> dict[int, str]:
    """The YAML text of every protocol version, by version."""
    rows = session.execute(select(ProtocolVersionRow.version, ProtocolVersionRow.yaml_text))
    return {version: text for version, text in rows}


# --- sources and records --------------------------------------------------------------

def add_source(session: Session, *, name: str, kind: str, file_name: str = "", query: str = "",
               fmt: str = "", searched_on: str = "", reported_count: int | None = None,
               content_sha256: str = "") -> int:
    row = SourceRow(name=name, kind=kind, file_name=file_name, query=query, format=fmt,
                    searched_on=searched_on, record_count=0, reported_count=reported_count,
                    content_sha256=content_sha256)
    if session.get_bind().dialect.name == "sqlite":  # (as for records: ids never reused)
        withdrawn = withdrawn_ceilings(session)[1]
        if withdrawn > (session.scalar(select(func.max(SourceRow.id))) or 0):
            row.id = withdrawn + 1
    session.add(row)
    session.flush()
    return row.id


_INSERT_COLUMNS = ("source_id", "position", "title", "abstract", "authors", "year", "journal",
                   "volume", "issue", "pages", "doi", "pmid", "publication_types", "keywords",
                   "mesh_terms", "language", "raw")
_INSERT_CHUNK = 5000


def _json_encoder() -> Callable[[Any], str]:
    """orjson when installed (about six times faster than `json.dumps` on MEDLINE raw
    fields: compact, UTF-8 rather than escapes, the same values once read back); anything
    orjson refuses (integers over 64 bits, non-string keys) goes to `json.dumps`."""
    try:
        import orjson
    except ImportError:  # an environment installed before orjson became a dependency
        return json.dumps

    fast = orjson.dumps

    def dumps(value: Any) -> str:
        try:
            return fast(value).decode()
        except TypeError:
            return json.dumps(value)

    return dumps


_dumps = _json_encoder()


def _insert_records_sql(paramstyle: str, with_id: bool = False) -> str:
    """The positional INSERT for the driver (SQLite '?', psycopg '%s'); constants only."""
    mark = "?" if paramstyle == "qmark" else "%s"
    columns = ("id", *_INSERT_COLUMNS) if with_id else _INSERT_COLUMNS
    return (f"INSERT INTO records ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(columns))})")


def add_records(session: Session, source_id: int, records: Sequence[Record]) -> list[int]:
    """Bulk-insert records for a source; returns their new ids in order.

    The JSON columns are encoded here (`_dumps`; SQLAlchemy's JSON type reads them back
    the same) and the rows go to the driver's `executemany` as tuples, a
    chunk at a time: SQLAlchemy's per-row parameter processing cost about a third of a
    100,000-record import.
    """
    start = (session.scalar(select(func.max(RecordRow.position))) or 0) + 1
    connection = session.connection()
    # after an import is withdrawn, its record ids are not given again (withdrawn_ceilings)
    first_id = None
    if connection.dialect.name == "sqlite":
        withdrawn = withdrawn_ceilings(session)[0]
        if withdrawn > (session.scalar(select(func.max(RecordRow.id))) or 0):
            first_id = withdrawn + 1
    sql = _insert_records_sql(connection.dialect.paramstyle, with_id=first_id is not None)
    dumps = _dumps
    for offset in range(0, len(records), _INSERT_CHUNK):
        rows = [
            (*(() if first_id is None else (first_id + offset + i,)),
             source_id, start + offset + i, r.title, r.abstract, dumps(r.authors), r.year,
             r.journal, r.volume, r.issue, r.pages, r.doi, r.pmid,
             dumps(r.publication_types), dumps(r.keywords), dumps(r.mesh_terms), r.language,
             dumps(r.raw if type(r.raw) is dict else dict(r.raw)))
            for i, r in enumerate(records[offset:offset + _INSERT_CHUNK])
        ]
        connection.exec_driver_sql(sql, rows)
    session.execute(update(SourceRow).where(SourceRow.id == source_id)
                    .values(record_count=SourceRow.record_count + len(records)))
    ids = session.scalars(
        select(RecordRow.id).where(RecordRow.position >= start).order_by(RecordRow.position)
    ).all()
    return list(ids)


def _to_record(row: RecordRow) -> Record:
    return Record(
        title=row.title, abstract=row.abstract, authors=tuple(row.authors or ()), year=row.year,
        journal=row.journal, volume=row.volume, issue=row.issue, pages=row.pages, doi=row.doi,
        pmid=row.pmid, publication_types=tuple(row.publication_types or ()),
        keywords=tuple(row.keywords or ()), mesh_terms=tuple(row.mesh_terms or ()),
        language=row.language, raw=row.raw or {}, id=row.id, source_id=row.source_id,
    )


def get_record(session: Session, record_id: int) -> Record | None:
    row = session.get(RecordRow, record_id)
    return _to_record(row) if row is not None else None


def record_exists(session: Session, record_id: int) -> bool:
    """Whether the review has a record with this id (its row is not read)."""
    return session.scalar(select(RecordRow.id).where(RecordRow.id == record_id)) is not None


def get_records_lean(session: Session) -> list[Record]:
    """Every record without its raw source fields (for deduplication of large reviews)."""
    c = _RECORDS
    query = select(c.id, c.source_id, c.title, c.abstract, c.authors, c.year, c.journal,
                   c.volume, c.issue, c.pages, c.doi, c.pmid, c.publication_types,
                   c.keywords, c.mesh_terms, c.language).order_by(c.position)
    return [
        Record(title=t or "", abstract=a or "", authors=tuple(au or ()), year=y,
               journal=j or "", volume=v or "", issue=i or "", pages=p or "", doi=d or "",
               pmid=pm or "", publication_types=tuple(pt or ()), keywords=tuple(kw or ()),
               mesh_terms=tuple(mh or ()), language=lang or "", id=rid, source_id=sid)
        for rid, sid, t, a, au, y, j, v, i, p, d, pm, pt, kw, mh, lang
        in session.connection().execute(query)
    ]


def get_records(session: Session, ids: Iterable[int] | None = None) -> list[Record]:
    query = select(RecordRow).order_by(RecordRow.position)
    if ids is not None:
        query = query.where(RecordRow.id.in_(list(ids)))
    return [_to_record(r) for r in session.scalars(query)]


_ORIGINAL_TITLES = tuple(RecordRow.raw[key].as_string() for key in (ORIGINAL_TITLE, "origtitle"))
"""Where a record keeps its original-language title in `raw` (`Record.original_title`)."""


def record_texts(session: Session
                 ) -> Iterator[tuple[int, str, str, list[str], list[str], str]]:
    """(id, title, abstract, keywords, mesh, original-language title as
    `Record.original_title` gives it) of every record in id order, streamed (a few thousand
    rows in memory at a time; of `raw`, the original title only)."""
    rows = session.execute(
        select(RecordRow.id, RecordRow.title, RecordRow.abstract, RecordRow.keywords,
               RecordRow.mesh_terms, *_ORIGINAL_TITLES)
        .order_by(RecordRow.id).execution_options(yield_per=2_000)
    )
    for i, t, a, k, m, *originals in rows:
        original = next((o.strip() for o in originals if o and o.strip() and o.strip() != t),
                        "")
        yield (i, t or "", a or "", k or [], m or [], original)


_RECORDS = RecordRow.__table__.c
"""Plain table columns: id lists are read through SQLAlchemy Core, without ORM overhead."""


def count_removed_duplicates(session: Session) -> int:
    return session.scalar(select(func.count(func.distinct(DuplicateLinkRow.record_id)))
                          .where(DuplicateLinkRow.undone_at.is_(None))) or 0


def record_sources(session: Session) -> dict[int, int]:
    """record id -> source id, for every record."""
    rows = session.connection().execute(select(_RECORDS.id, _RECORDS.source_id))
    return {i: s for i, s in rows}


def source_of_record(session: Session, record_id: int) -> int | None:
    """The source (import) a record came in with; None for an id the review does not hold."""
    found = session.execute(select(_RECORDS.source_id)
                            .where(_RECORDS.id == record_id)).scalar_one_or_none()
    return None if found is None else int(found)


def record_id_span(session: Session) -> tuple[int, int]:
    """(number of records, highest record id): changes whenever records are added."""
    count, top = session.execute(select(func.count(RecordRow.id), func.max(RecordRow.id))).one()
    return int(count or 0), int(top or 0)


def record_ids_by_id(session: Session) -> list[int]:
    return list(session.connection().execute(select(_RECORDS.id).order_by(_RECORDS.id))
                .scalars())


def record_ids_in_order(session: Session) -> list[int]:
    return list(session.connection().execute(select(_RECORDS.id).order_by(_RECORDS.position))
                .scalars())


def count_records(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(RecordRow)) or 0


def sources(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(SourceRow).order_by(SourceRow.id))
    return [
        {"id": r.id, "name": r.name, "kind": r.kind, "file_name": r.file_name, "query": r.query,
         "format": r.format, "searched_on": r.searched_on, "records": r.record_count,
         "reported_count": r.reported_count, "imported_at": r.imported_at,
         "content_sha256": r.content_sha256}
        for r in rows
    ]


def update_source(session: Session, source_id: int, **fields: str) -> None:
    """Set a source's name, kind or searched_on (an import corrected; logged by the caller)."""
    row = session.get(SourceRow, source_id)
    if row is None:
        raise KeyError(source_id)
    for field, value in fields.items():
        if field not in ("name", "kind", "searched_on"):
            raise ValueError(f"a source's {field} is not corrected")
        setattr(row, field, value)
    session.flush()


WITHDRAWN_CEILING = "last_record_id"
"""The import_withdrawn event's detail: the highest record id the review had held."""


def withdrawn_ceilings(session: Session) -> tuple[int, int]:
    """The highest record id the review held when an import was withdrawn, and the highest
    source id withdrawn ((0, 0): none withdrawn). SQLite gives a new row the highest id + 1,
    so without these a withdrawn import's ids would name new records and sources (in old
    rankings, feature caches and the event log)."""
    records = sources = 0
    for details in event_details(session, "import_withdrawn"):
        records = max(records, int(details.get(WITHDRAWN_CEILING) or 0))
        sources = max(sources, int(details.get("source_id") or 0))
    return records, sources


def source_entanglements(session: Session, source_id: int
                         ) -> tuple[dict[str, int], int, list[int]]:
    """What ties a source's records to the screening: decision rows on them per reviewer
    (undo rows too), how many of its records they name, and the allocation runs that
    name any of its records."""
    from screener.storage.models import AllocationRow

    ids = select(RecordRow.id).where(RecordRow.source_id == source_id).scalar_subquery()
    per_reviewer = dict(session.execute(
        select(ReviewerRow.name, func.count())
        .join(DecisionRow, DecisionRow.reviewer_id == ReviewerRow.id)
        .where(DecisionRow.record_id.in_(ids)).group_by(ReviewerRow.name)).all())
    decided = session.scalar(select(func.count(func.distinct(DecisionRow.record_id)))
                             .where(DecisionRow.record_id.in_(ids))) or 0
    runs = sorted(session.scalars(select(func.distinct(AllocationRow.run_id))
                                  .where(AllocationRow.record_id.in_(ids))))
    return {str(k): int(v) for k, v in per_reviewer.items()}, int(decided), list(runs)


def withdraw_source(session: Session, source_id: int) -> list[tuple[int, int]]:
    """Delete a source and its records (which no decision or allocation may name: the
    caller checks), with their claims, report rows and duplicate links, and the feature
    caches (their rows are by record). Returns the standing duplicate links dropped
    (removed record, kept record): records of other sources kept as copies of these count
    again."""
    ids = select(RecordRow.id).where(RecordRow.source_id == source_id).scalar_subquery()
    involved = (DuplicateLinkRow.record_id.in_(ids) | DuplicateLinkRow.kept_id.in_(ids))
    dropped = sorted((int(r), int(k)) for r, k in session.execute(
        select(DuplicateLinkRow.record_id, DuplicateLinkRow.kept_id)
        .where(involved, DuplicateLinkRow.undone_at.is_(None))).all())
    session.execute(delete(DuplicateLinkRow).where(involved))
    session.execute(delete(ClaimRow).where(ClaimRow.record_id.in_(ids)))
    session.execute(delete(ReportRow).where(ReportRow.record_id.in_(ids)))
    session.execute(delete(FeatureCacheChunkRow))
    session.execute(delete(FeatureCacheRow))
    session.execute(delete(RecordRow).where(RecordRow.source_id == source_id))
    session.execute(delete(SourceRow).where(SourceRow.id == source_id))
    session.flush()
    return dropped


def pool_imports(session: Session, record_ids: Iterable[int] | None = None
                 ) -> list[tuple[datetime, int, int]]:
    """(import time, decision-log position (`source_positions`), records) per source that
    put records in the screening pool, in import order: its records not removed as
    duplicates (and, with `record_ids`, among those). A labels-only import adds no
    records, so it is not listed."""
    removed = select(DuplicateLinkRow.record_id).where(DuplicateLinkRow.undone_at.is_(None))
    query = (select(SourceRow.id, SourceRow.imported_at, func.count(RecordRow.id))
             .join(RecordRow, RecordRow.source_id == SourceRow.id)
             .where(RecordRow.id.not_in(removed))
             .group_by(SourceRow.id, SourceRow.imported_at).order_by(SourceRow.id))
    if record_ids is not None:
        query = query.where(RecordRow.id.in_(list(record_ids)))
    rows = session.execute(query).all()
    at = source_positions(session) if rows else {}
    return [(when, at.get(int(sid), 0), int(count)) for sid, when, count in rows]


def source_positions(session: Session) -> dict[int, int]:
    """source id -> how many decisions the log held when the source was added (its import's
    event records it; the decisions its own labels made come after it). A decision with
    seq <= that position was made before the import."""
    logged = _logged_positions(session, "records_imported", "source_id")
    missing = session.execute(select(SourceRow.id, SourceRow.imported_at)
                              .where(SourceRow.id.not_in(list(logged)))).all()
    return logged | _positions_by_time(session, {int(i): at for i, at in missing})


SEARCH_WARNINGS = "pubmed_warnings"
"""Detail of a search's `records_imported` event: what the database said about the query it
ran (`search pubmed`: a phrase it did not find and searched without), one sentence each."""


def search_warnings(session: Session) -> dict[int, list[str]]:
    """source id -> what the database said about the search it ran (`SEARCH_WARNINGS` of the
    source's import event); sources without any are left out."""
    out: dict[int, list[str]] = {}
    for details in event_details(session, "records_imported"):
        said = details.get(SEARCH_WARNINGS)
        if said and details.get("source_id") is not None:
            out.setdefault(int(details["source_id"]), []).extend(map(str, said))
    return out


def sources_with_content(session: Session, sha256: str) -> list[dict[str, Any]]:
    """Sources imported from a file with these bytes (SHA-256), oldest first."""
    return [s for s in sources(session) if sha256 and s["content_sha256"] == sha256]


def sources_with_records(session: Session, records_sha256: str) -> list[dict[str, Any]]:
    """Sources whose import event holds these records (`audit.records_digest`), oldest
    first: the same records read from a file with other bytes, or fetched again."""
    if not records_sha256:
        return []
    ids = set()
    for details in event_details(session, "records_imported"):
        if details.get("records_sha256") == records_sha256:
            ids.add(details.get("source_id"))
    return [s for s in sources(session) if s["id"] in ids]


def search_records(session: Session, text: str, limit: int = 200) -> list[Record]:
    """Records whose title, abstract or original-language title contains `text`
    (case-insensitive in every script, bound parameters). On SQLite, whose LIKE folds ASCII
    letters only, text that is not ASCII is compared as `engine.fold_case` folds it
    (composed, case-folded); PostgreSQL's ILIKE folds every script by the database's
    locale, 'ß' and 'ss' made alike."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found: ColumnElement[bool]
    # the title, the abstract and a non-English article's own title (`Record.original_title`,
    # which the record card shows)
    columns = [RecordRow.title, RecordRow.abstract, *_ORIGINAL_TITLES]
    if text.isascii() and "ss" not in text.lower():  # (ASCII 'ss' may be a text's 'ß')
        found = or_(*(column.ilike(pattern, escape="\\") for column in columns))
    elif session.get_bind().dialect.name == "sqlite":
        needle = fold_case(text) or ""
        fold = getattr(func, FOLD_FUNCTION)
        found = or_(*(func.instr(fold(column), needle) > 0 for column in columns))
    else:
        pattern = unicodedata.normalize("NFC", INVISIBLE.sub("", pattern)).replace("ß", "ss")
        utf8 = session.scalar(text_sql("SHOW server_encoding")) == "UTF8"

        def folded(column: Any) -> Any:  # NFC (records an older screener stored as NFD)
            composed = func.normalize(column, literal_column("NFC")) if utf8 else column
            return func.replace(composed, "ß", "ss")

        found = or_(*(folded(column).ilike(pattern, escape="\\") for column in columns))
    query = select(RecordRow).where(found).order_by(RecordRow.position).limit(limit)
    return [_to_record(r) for r in session.scalars(query)]


# --- duplicates -----------------------------------------------------------------------

def removed_duplicate_ids(session: Session) -> set[int]:
    return set(session.scalars(
        select(DuplicateLinkRow.record_id).where(DuplicateLinkRow.undone_at.is_(None))))


def removed_as_duplicate(session: Session, record_id: int) -> tuple[int, int] | None:
    """(cluster, kept record id) when dedup removed the record (link not undone), else None."""
    row = session.execute(
        select(DuplicateLinkRow.cluster, DuplicateLinkRow.kept_id)
        .where(and_(DuplicateLinkRow.record_id == record_id,
                    DuplicateLinkRow.undone_at.is_(None)))
        .limit(1)).first()
    return None if row is None else (int(row[0]), int(row[1]))


def add_duplicate_links(session: Session,
                        links: Iterable[tuple[int, int, int, str, float]]) -> int:
    """Store (cluster, removed record, kept record, method, score) rows."""
    rows = [{"cluster": c, "record_id": r, "kept_id": k, "method": m, "score": s}
            for c, r, k, m, s in links]
    if rows:
        session.execute(insert(DuplicateLinkRow), rows)
    return len(rows)


def next_cluster_number(session: Session) -> int:
    return (session.scalar(select(func.max(DuplicateLinkRow.cluster))) or 0) + 1


def duplicate_links(session: Session, active_only: bool = True) -> list[dict[str, Any]]:
    query = select(DuplicateLinkRow).order_by(DuplicateLinkRow.cluster, DuplicateLinkRow.id)
    if active_only:
        query = query.where(DuplicateLinkRow.undone_at.is_(None))
    return [{"cluster": r.cluster, "record_id": r.record_id, "kept_id": r.kept_id,
             "method": r.method, "score": r.score, "undone": r.undone_at is not None}
            for r in session.scalars(query)]


def undo_cluster(session: Session, cluster: int, record_ids: Iterable[int] | None = None,
                 separated: Iterable[tuple[int, int]] | None = None,
                 details: dict[str, Any] | None = None) -> int:
    """Undo a duplicate cluster's standing links (those removing `record_ids`, default:
    every one); the links are kept, marked undone, and an event says so. The event names
    the pairs of records the undo separates (`separated`, default: every pair of the
    cluster's records), which `separations` reads and dedup never merges again."""
    now = datetime.now(UTC)
    standing = and_(DuplicateLinkRow.cluster == cluster, DuplicateLinkRow.undone_at.is_(None))
    links = session.execute(select(DuplicateLinkRow.record_id, DuplicateLinkRow.kept_id)
                            .where(standing)).all()
    if record_ids is not None:
        chosen = set(record_ids)
        links = [link for link in links if link[0] in chosen]
    restored = sorted(int(r) for r, _ in links)
    if not restored:
        return 0
    session.execute(update(DuplicateLinkRow)
                    .where(and_(standing, DuplicateLinkRow.record_id.in_(restored)))
                    .values(undone_at=now))
    if separated is None:
        ids = sorted({int(i) for link in links for i in link})
        separated = [(a, b) for k, a in enumerate(ids) for b in ids[k + 1:]]
    add_event(session, "duplicates_restored", at=now,
              details={"cluster": cluster, "records": len(restored), "record_ids": restored,
                       "separated": [list(p) for p in sorted({tuple(sorted(p)) for p in separated})],
                       **(details or {})})
    return len(restored)


def separations(session: Session) -> set[frozenset[int]]:
    """The pairs of records a team separated with `dedup --undo` (or took apart with
    `--split`), unordered: dedup never puts the two in one cluster again. An undo logged
    before events named their pairs separated every pair of the cluster's records."""
    found: set[frozenset[int]] = set()
    legacy: set[int] = set()
    for details in event_details(session, "duplicates_restored"):
        if "separated" in details:
            found.update(frozenset((int(a), int(b))) for a, b in details["separated"])
        elif details.get("cluster") is not None:
            legacy.add(int(details["cluster"]))
    if legacy:
        members: dict[int, set[int]] = {}
        for cluster, rid, kept in session.execute(
                select(DuplicateLinkRow.cluster, DuplicateLinkRow.record_id,
                       DuplicateLinkRow.kept_id)
                .where(and_(DuplicateLinkRow.cluster.in_(legacy),
                            DuplicateLinkRow.undone_at.is_not(None)))):
            members.setdefault(int(cluster), set()).update((int(rid), int(kept)))
        for ids in members.values():
            found.update(frozenset((a, b)) for a in ids for b in ids if a < b)
    return found


# --- reviewers ------------------------------------------------------------------------

def get_or_create_reviewer(session: Session, name: str, role: Role = Role.SCREENER) -> Reviewer:
    row = session.scalars(select(ReviewerRow).where(ReviewerRow.name == name)).one_or_none()
    if row is None:
        # Two processes may add the same new reviewer at once (PostgreSQL): insert in a
        # savepoint and, if the other one won, read its row.
        try:
            with session.begin_nested():
                row = ReviewerRow(name=name, role=role.value)
                session.add(row)
                session.flush()
        except IntegrityError:
            row = session.scalars(select(ReviewerRow).where(ReviewerRow.name == name)).one()
    elif role == Role.ADJUDICATOR and row.role != Role.ADJUDICATOR.value:
        row.role = Role.ADJUDICATOR.value
    return Reviewer(row.name, Role(row.role), row.id)


def reviewer_id(session: Session, name: str) -> int | None:
    """The id of the reviewer called `name`, or None (read only: never creates one)."""
    found: int | None = session.scalars(
        select(ReviewerRow.id).where(ReviewerRow.name == name)).one_or_none()
    return found


def reviewers(session: Session) -> list[Reviewer]:
    return [Reviewer(r.name, Role(r.role), r.id)
            for r in session.scalars(select(ReviewerRow).order_by(ReviewerRow.id))]


# --- decisions (append-only, hash-chained) ---------------------------------------------

def add_decision(session: Session, decision: Decision, undoes_id: int | None = None,
                 uid: str | None = None) -> Decision:
    """Append a decision and chain its log hash to the head (the review row is locked).

    The hash covers the row as `screener.core.audit.log_row` describes it, including the
    configuration hash of the ranking that showed the record.
    """
    review = session.scalars(select(ReviewRow).with_for_update()).one()
    reviewer = get_or_create_reviewer(session, decision.reviewer, decision.reviewer_role)
    seq = review.decision_count + 1
    prev_id = session.scalar(select(func.max(DecisionRow.id)))
    created = decision.created_at or datetime.now(UTC)
    row = DecisionRow(
        record_id=decision.record_id, reviewer_id=reviewer.id, stage=decision.stage.value,
        label=decision.label.value, reason_id=decision.reason_id,
        criterion_ids=list(decision.criterion_ids), note=decision.note, created_at=created,
        protocol_hash=decision.protocol_hash, ranking_id=decision.ranking_id,
        rank_position=decision.rank_position, undoes_id=undoes_id, seq=seq, row_hash="",
        uid=uid or str(uuid.uuid4()),
    )
    session.add(row)
    session.flush()
    stored = Decision(**{**_fields(decision), "created_at": created,
                         "reviewer_role": reviewer.role, "id": row.id, "seq": seq})
    config_hash = ""
    if decision.ranking_id is not None:
        config_hash = session.scalar(select(RankingRow.config_hash)
                                     .where(RankingRow.id == decision.ranking_id)) or ""
    row.row_hash = audit.next_hash(review.last_hash, audit.log_row(
        stored, seq=seq, prev_decision_id=prev_id, model_config_hash=config_hash))
    review.decision_count = seq
    review.last_hash = row.row_hash
    session.flush()
    return Decision(**{**_fields(stored), "row_hash": row.row_hash})


def verify_log(session: Session) -> audit.VerifyResult:
    """Re-hash the stored decision log against the chain and the head kept on the review."""
    rows = decision_log(session)
    chained = list(zip(audit.log_rows(rows, ranking_hashes(session)),
                       (d.row_hash for d in rows), strict=True))
    count, head = log_head(session)
    return audit.verify(chained, expected_head=head if count else None, expected_count=count,
                        own=True)


# --- the event log (hash-chained, like decisions) -----------------------------------------

POSITIONED_EVENTS = ("records_imported", "protocol_version", "reconciliation_started")
"""Events that record how many decisions the decision log held when they were written
(detail `DECISION_POSITION`): what was decided before them is told by that position,
not by comparing times stamped by different machines' clocks."""
DECISION_POSITION = "decision_seq"


def add_event(session: Session, kind: str, *, actor: str = "", stage: Stage | None = None,
              record_id: int | None = None, details: dict[str, Any] | None = None,
              at: datetime | None = None) -> audit.LogEvent:
    """Append an event (`screener.core.audit.EVENT_KINDS`) and chain its hash to the head
    kept on the review row (locked, as for decisions)."""
    if kind not in audit.EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    review = session.scalars(select(ReviewRow).with_for_update()).one()
    seq = review.event_count + 1
    created = at or datetime.now(UTC)
    details = dict(details or {})
    if kind in POSITIONED_EVENTS:  # where it falls among the decisions (_logged_positions)
        details.setdefault(DECISION_POSITION, review.decision_count)
    if not actor:  # a command without a reviewer name: the operating-system account
        details.setdefault("account", _account())
        if session.get_bind().dialect.name == "postgresql":
            # and the role the server authenticated, which a laptop's user name is not
            details.setdefault("database_role", str(session.scalar(
                select(func.current_user()))))
    event = audit.LogEvent(seq=seq, kind=kind, actor=actor, time=audit.iso_utc(created),
                           stage=stage.value if stage else "", record_id=record_id,
                           details=details)
    row_hash = audit.next_event_hash(review.event_head if review.event_count else
                                     audit.EVENT_GENESIS, event)
    session.add(EventRow(seq=seq, kind=kind, actor=actor, stage=event.stage,
                         record_id=record_id, details=audit.details_json(event.details),
                         created_at=created, row_hash=row_hash))
    review.event_count = seq
    review.event_head = row_hash
    session.flush()
    return event


def _account() -> str:
    """The operating-system account running screener ("" when it cannot be told)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def event_details(session: Session, kind: str) -> list[dict[str, Any]]:
    """The details of each event of `kind`, in log order."""
    return [json.loads(text) for text in session.scalars(
        select(EventRow.details).where(EventRow.kind == kind).order_by(EventRow.seq))]


def event_log(session: Session) -> list[tuple[audit.LogEvent, str]]:
    """Every event in log order with its stored hash."""
    rows = session.execute(select(EventRow.seq, EventRow.kind, EventRow.actor, EventRow.stage,
                                  EventRow.record_id, EventRow.details, EventRow.created_at,
                                  EventRow.row_hash).order_by(EventRow.seq)).all()
    return [(audit.LogEvent(seq=r.seq, kind=r.kind, actor=r.actor, time=audit.iso_utc(
        r.created_at), stage=r.stage, record_id=r.record_id, details=json.loads(r.details)),
        r.row_hash) for r in rows]


def event_head(session: Session) -> tuple[int, str]:
    """(number of events, hash of the newest) as kept on the review row."""
    count, head = session.execute(select(ReviewRow.event_count, ReviewRow.event_head)).one()
    return int(count), str(head)


def verify_events(session: Session) -> audit.VerifyResult:
    """Re-hash the stored event log against its chain and the head kept on the review."""
    count, head = event_head(session)
    return audit.verify_events(event_log(session), expected_head=head if count else None,
                               expected_count=count, own=True)


def _fields(d: Decision) -> dict[str, Any]:
    return {name: getattr(d, name) for name in d.__dataclass_fields__}


def _decision_select() -> Any:
    """Plain columns (no ORM objects: building 80,000 of them took seconds), the criterion
    ids as stored text (parsed only when there are any)."""
    return select(
        DecisionRow.record_id, DecisionRow.stage, DecisionRow.label, DecisionRow.reason_id,
        type_coerce(DecisionRow.criterion_ids, Text), DecisionRow.note, DecisionRow.created_at,
        DecisionRow.protocol_hash, DecisionRow.ranking_id, DecisionRow.rank_position,
        DecisionRow.id, DecisionRow.seq, DecisionRow.row_hash, ReviewerRow.name,
        ReviewerRow.role,
    ).join(ReviewerRow, ReviewerRow.id == DecisionRow.reviewer_id)


def _criteria(value: Any) -> tuple[str, ...]:
    """Criterion ids from the stored JSON (text on SQLite; a list when the driver parses it)."""
    if not value or value == "[]":
        return ()
    if isinstance(value, str):
        value = json.loads(value)
    return tuple(value or ())


def _to_decision(row: Any) -> Decision:
    (record_id, stage, label, reason_id, criteria, note, created_at, protocol_hash,
     ranking_id, rank_position, row_id, seq, row_hash, name, role) = row
    return Decision(
        record_id=record_id, reviewer=name, stage=Stage(stage), label=Label(label),
        reason_id=reason_id, criterion_ids=_criteria(criteria), note=note,
        created_at=created_at, protocol_hash=protocol_hash, ranking_id=ranking_id,
        rank_position=rank_position, reviewer_role=Role(role), id=row_id, seq=seq,
        row_hash=row_hash,
    )


def decision_log(session: Session) -> list[Decision]:
    """Every decision row in log order (including undo rows)."""
    rows = session.execute(_decision_select().order_by(DecisionRow.seq))
    return [_to_decision(r) for r in rows]


def current_decisions(session: Session, stage: Stage | None = None,
                      record_ids: Sequence[int] | None = None,
                      screening_order: bool = False) -> list[Decision]:
    """The standing decision per (record, reviewer, stage): the latest one not withdrawn by
    an undo (so undoing a changed decision restores the one it replaced; see
    `screener.core.decisions.current_decisions`), in the order they were made, or with
    `screening_order` in the order their records were first screened (a changed decision
    keeps the place of the first standing one, as `core.decisions.in_screening_order`)."""
    params: dict[str, Any] = {}
    if stage is not None:
        params["stage"] = stage.value
    if record_ids is not None:
        params["record_ids"] = list(record_ids)
    query = _current_decisions_query(stage is not None, record_ids is not None, screening_order)
    return [_to_decision(r) for r in session.execute(query, params)]


@cache
def _current_decisions_query(by_stage: bool, by_records: bool, screening_order: bool) -> Any:
    """`current_decisions`'s statement, built once per shape with the stage and record ids
    as parameters: the screening UI reads them two or three times per decision, and
    building the statement (and SQLAlchemy's cache key for it) took longer than running it."""
    sub = _current_ids(bindparam("stage") if by_stage else None,
                       bindparam("record_ids", expanding=True) if by_records else None)
    return _decision_select().join(sub, sub.c.mid == DecisionRow.id).order_by(
        sub.c.first if screening_order else DecisionRow.id)


def _current_ids(stage: Stage | BindParameter[Any] | None = None,
                 record_ids: Sequence[int] | BindParameter[Any] | None = None) -> Any:
    """Subquery: per (record, reviewer, stage), the id of the standing decision (`mid`) and
    of the first one not withdrawn (`first`). `stage` and `record_ids` may be parameters
    (`_current_decisions_query`)."""
    withdrawn = select(DecisionRow.undoes_id).where(DecisionRow.undoes_id.is_not(None))
    keys = (DecisionRow.record_id, DecisionRow.reviewer_id, DecisionRow.stage)
    latest = select(func.max(DecisionRow.id).label("mid"), func.min(DecisionRow.id).label(
        "first"), *keys).where(and_(DecisionRow.label != Label.UNDONE.value,
                                    DecisionRow.id.not_in(withdrawn))).group_by(*keys)
    if stage is not None:
        latest = latest.where(DecisionRow.stage == (stage.value if isinstance(stage, Stage)
                                                    else stage))
    if record_ids is not None:
        latest = latest.where(DecisionRow.record_id.in_(
            record_ids if isinstance(record_ids, BindParameter) else list(record_ids)))
    return latest.subquery()


def current_stage_roles(session: Session) -> set[tuple[Stage, Role]]:
    """The (stage, reviewer role) pairs that have a standing decision: what
    `current_decisions` would give, reduced in SQL to a few rows."""
    sub = _current_ids()
    query = (select(DecisionRow.stage, ReviewerRow.role).distinct()
             .join(sub, sub.c.mid == DecisionRow.id)
             .join(ReviewerRow, ReviewerRow.id == DecisionRow.reviewer_id))
    return {(Stage(stage), Role(role)) for stage, role in session.execute(query)}


def first_screened_seq(session: Session, stage: Stage, reviewer: str | None = None
                      ) -> dict[int, int]:
    """record id -> where its place in the screening order was taken: the decision-log
    position (seq) of the first standing decision on it (`current_decisions(
    screening_order=True)`), the reviewer's or, without `reviewer`, the earliest of any
    screener's."""
    sub = _current_ids(stage)
    query = (select(DecisionRow.record_id, func.min(DecisionRow.seq))
             .join(sub, sub.c.first == DecisionRow.id)
             .join(ReviewerRow, ReviewerRow.id == DecisionRow.reviewer_id)
             .group_by(DecisionRow.record_id))
    query = query.where(ReviewerRow.name == reviewer if reviewer is not None
                        else ReviewerRow.role == Role.SCREENER.value)
    return {int(rid): int(seq) for rid, seq in session.execute(query)}


def first_standing_seqs(session: Session, stage: Stage) -> dict[tuple[int, str], int]:
    """(record id, screener) -> the decision-log position (seq) of the screener's first
    standing decision on the record at `stage`: where it took its place in the screening
    order (`current_decisions(screening_order=True)`)."""
    sub = _current_ids(stage)
    query = (select(DecisionRow.record_id, ReviewerRow.name, DecisionRow.seq)
             .join(sub, sub.c.first == DecisionRow.id)
             .join(ReviewerRow, ReviewerRow.id == DecisionRow.reviewer_id)
             .where(ReviewerRow.role == Role.SCREENER.value))
    return {(int(rid), str(name)): int(seq) for rid, name, seq in session.execute(query)}


REASSIGNED_PLACES = "placed"
"""Detail of a `decisions_reassigned` event: [seq of a decision written for --to, seq whose
place in the screening order it keeps] for each decision moved."""


def reassigned_places(session: Session) -> dict[int, int]:
    """seq of a decision `reassign` wrote -> the seq whose place in the screening order it
    keeps (that of the first standing decision of the name it was moved from)."""
    out: dict[int, int] = {}
    for details in event_details(session, "decisions_reassigned"):
        for new, place in details.get(REASSIGNED_PLACES) or ():
            out[int(new)] = int(place)
    return out


def reassignments(session: Session) -> list[tuple[str, str, list[int] | None]]:
    """Each `reassign`, in order: (--from, --to, the seqs of the decision rows it wrote for
    --to; None for a reassign by a screener older than its `placed` detail)."""
    return [(str(details.get("from", "")), str(details.get("to", "")),
             [int(new) for new, _ in details[REASSIGNED_PLACES]]
             if REASSIGNED_PLACES in details else None)
            for details in event_details(session, "decisions_reassigned")]


def reviewer_history(session: Session, reviewer: str, stage: Stage) -> list[Decision]:
    """A reviewer's decision rows at a stage, oldest first (undo rows included)."""
    query = (_decision_select().where(and_(ReviewerRow.name == reviewer,
                                           DecisionRow.stage == stage.value))
             .order_by(DecisionRow.id))
    return [_to_decision(r) for r in session.execute(query)]


def cited_ids(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """How many standing decisions (see `current_decisions`) cite each exclusion reason id
    and each criterion id: ({reason id: count}, {criterion id: count})."""
    sub = _current_ids()
    reasons: dict[str, int] = {}
    query = (select(DecisionRow.reason_id, func.count()).join(sub, sub.c.mid == DecisionRow.id)
             .where(DecisionRow.reason_id.is_not(None)).group_by(DecisionRow.reason_id))
    for reason_id, count in session.execute(query):
        if reason_id is not None:
            reasons[reason_id] = count
    criteria: dict[str, int] = {}
    cited = select(type_coerce(DecisionRow.criterion_ids, Text)).join(sub, sub.c.mid == DecisionRow.id)
    for (value,) in session.execute(cited):  # filtered here: PostgreSQL's json has no `<>`
        for criterion in set(_criteria(value)):
            criteria[criterion] = criteria.get(criterion, 0) + 1
    return reasons, criteria


def identifiers_present(session: Session, ids: Sequence[str]) -> set[str]:
    """Those of `ids` (normalised DOIs and PMIDs) that some record of the review carries."""
    if not ids:
        return set()
    query = select(RecordRow.doi, RecordRow.pmid).where(
        (RecordRow.doi.in_(list(ids))) | (RecordRow.pmid.in_(list(ids))))
    return {x for row in session.execute(query) for x in row if x in ids}


def standing_per_stage(session: Session) -> dict[str, int]:
    """How many standing decisions (see `current_decisions`) each stage has: {stage: count}."""
    sub = _current_ids()
    query = (select(DecisionRow.stage, func.count()).join(sub, sub.c.mid == DecisionRow.id)
             .group_by(DecisionRow.stage))
    return {stage: count for stage, count in session.execute(query)}


def has_decision_uid(session: Session, uid: str) -> bool:
    return session.scalar(select(DecisionRow.id).where(DecisionRow.uid == uid)) is not None


def decision_uids(session: Session) -> dict[int, str]:
    return {i: u for i, u in session.execute(select(DecisionRow.id, DecisionRow.uid)).all()}


def decision_uid_reviewers(session: Session) -> dict[str, str]:
    """Every decision row's uid -> the name of the reviewer who made it."""
    return dict(session.execute(select(DecisionRow.uid, ReviewerRow.name)
                                .join(ReviewerRow, ReviewerRow.id == DecisionRow.reviewer_id)
                                ).all())


def count_decisions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(DecisionRow)) or 0


def change_counts(session: Session) -> tuple[int, int]:
    """(decisions, events) stored in the review: a change to either, by anyone, changes it."""
    count, events = session.execute(select(ReviewRow.decision_count,
                                           ReviewRow.event_count)).one()
    return int(count), int(events)


def log_head(session: Session) -> tuple[int, str]:
    review = session.scalars(select(ReviewRow)).one()
    return review.decision_count, review.last_hash


# --- rankings -------------------------------------------------------------------------

def _pack(code: str, values: Sequence[Any]) -> bytes:
    packed = array(code, values)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _unpack(code: str, data: bytes) -> array[Any]:
    values = array(code)
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def add_ranking(session: Session, *, stage: Stage, reviewer_id: int | None,
                config: dict[str, Any], config_hash: str, training_size: int, n_included: int,
                order_ids: Sequence[int], scores: Sequence[float]) -> int:
    row = RankingRow(
        stage=stage.value, reviewer_id=reviewer_id, config=config, config_hash=config_hash,
        training_size=training_size, n_included=n_included,
        order_ids=_pack("I", order_ids),
        scores=_pack("f", scores),
    )
    session.add(row)
    session.flush()
    return row.id


def latest_ranking(session: Session, stage: Stage, reviewer_id: int | None
                   ) -> tuple[int, list[int], list[float], dict[str, Any]] | None:
    """(ranking id, record ids best first, scores, provenance) or None."""
    query = select(RankingRow).where(RankingRow.stage == stage.value)
    query = query.where(RankingRow.reviewer_id.is_(None) if reviewer_id is None
                        else RankingRow.reviewer_id == reviewer_id)
    row = session.scalars(query.order_by(RankingRow.id.desc()).limit(1)).one_or_none()
    if row is None:
        return None
    ids = [int(i) for i in _unpack("I", row.order_ids)]
    scores = [float(x) for x in _unpack("f", row.scores)]
    info = {"config": row.config, "config_hash": row.config_hash,
            "training_size": row.training_size, "n_included": row.n_included,
            "created_at": row.created_at}
    return row.id, ids, scores, info


def ranking_extent(session: Session, ranking_id: int) -> tuple[Stage, int, int | None] | None:
    """(stage, how many records the ranking put in order, owner) of a stored ranking, None
    when there is none; 0 records when its order is no longer stored (`prune_rankings`) or
    it ranked none; the owner is the reviewer id of a blind reviewer's own ranking (None:
    shared)."""
    # the order's length from its size (4 bytes an id), not the order itself: it is read on
    # every decision the UI makes, and is 800 kB at 200,000 records
    row = session.execute(select(RankingRow.stage, func.length(RankingRow.order_ids),
                                 RankingRow.reviewer_id)
                          .where(RankingRow.id == ranking_id)).one_or_none()
    if row is None:
        return None
    return Stage(row[0]), int(row[1] or 0) // 4, row[2]


def ranking_info(session: Session, ranking_id: int) -> dict[str, Any] | None:
    row = session.get(RankingRow, ranking_id)
    if row is None:
        return None
    return {"id": row.id, "config": row.config, "config_hash": row.config_hash,
            "training_size": row.training_size, "n_included": row.n_included,
            "created_at": row.created_at, "stage": row.stage, "owner": row.reviewer_id}


def ranking_hashes(session: Session) -> dict[int, str]:
    return {i: h for i, h in session.execute(select(RankingRow.id, RankingRow.config_hash)).all()}


def prune_rankings(session: Session, keep_ids: set[int]) -> None:
    """Drop the stored order of old rankings no decision refers to (provenance rows stay).
    The latest ranking of each stage and owner is kept: in blind dual screening each
    reviewer's queue is their own latest ranking, which another reviewer's re-ranking must
    not empty."""
    used = select(DecisionRow.ranking_id).where(DecisionRow.ranking_id.is_not(None))
    latest = select(func.max(RankingRow.id)).group_by(RankingRow.stage, RankingRow.reviewer_id)
    session.execute(update(RankingRow)
                    .where(and_(RankingRow.id.not_in(used), RankingRow.id.not_in(keep_ids),
                                RankingRow.id.not_in(latest),
                                func.length(RankingRow.order_ids) > 0))
                    .values(order_ids=b"", scores=b""))


# --- full-text reports ----------------------------------------------------------------

def ensure_report(session: Session, record_id: int) -> None:
    exists = session.scalar(select(ReportRow.id).where(ReportRow.record_id == record_id))
    if exists is None:
        session.add(ReportRow(record_id=record_id, status=ReportStatus.SOUGHT.value))
        session.flush()


def drop_report_if_untouched(session: Session, record_id: int) -> None:
    session.execute(delete(ReportRow).where(and_(ReportRow.record_id == record_id,
                                                 ReportRow.status == ReportStatus.SOUGHT.value)))


def drop_report(session: Session, record_id: int) -> None:
    """Remove the record's full-text report, whatever its status (the record left full text)."""
    session.execute(delete(ReportRow).where(ReportRow.record_id == record_id))


def set_report_status(session: Session, record_id: int, status: ReportStatus) -> None:
    ensure_report(session, record_id)
    session.execute(update(ReportRow).where(ReportRow.record_id == record_id)
                    .values(status=status.value, updated_at=datetime.now(UTC)))


def at_full_text(session: Session, record_id: int) -> bool:
    """Whether the record has a full-text decision (standing or undone: one index look-up)
    or its report is marked not retrieved: what taking it out of full text could leave
    counted nowhere."""
    decided = select(DecisionRow.id).where(DecisionRow.record_id == record_id,
                                           DecisionRow.stage == Stage.FULL_TEXT.value)
    marked = select(ReportRow.record_id).where(
        ReportRow.record_id == record_id,
        ReportRow.status == ReportStatus.NOT_RETRIEVED.value)
    return bool(session.scalar(select(exists(decided) | exists(marked))))


def report_status(session: Session, record_id: int) -> ReportStatus | None:
    """The record's full-text report status (None: it has no report)."""
    status = session.scalar(select(ReportRow.status).where(ReportRow.record_id == record_id))
    return ReportStatus(status) if status is not None else None


def reports(session: Session) -> dict[int, ReportStatus]:
    return {rid: ReportStatus(s) for rid, s in
            session.execute(select(ReportRow.record_id, ReportRow.status)).all()}


# --- feature cache --------------------------------------------------------------------

FEATURE_CHUNK_BYTES = 16 << 20
"""Size of one piece of the feature cache's blob (feature_cache_chunks)."""


def save_feature_cache(session: Session, config_hash: str, n_records: int, max_record_id: int,
                       data: bytes | Path) -> None:
    """Replace the review's feature cache with `data` (bytes, or a file read piece by
    piece: at 200,000 records the blob is ~350 MB and is never whole in memory)."""
    session.execute(delete(FeatureCacheChunkRow))
    session.execute(delete(FeatureCacheRow))
    cache_id = session.execute(
        insert(FeatureCacheRow).values(config_hash=config_hash, n_records=n_records,
                                       max_record_id=max_record_id, data=b"",
                                       created_at=utcnow())
        .returning(FeatureCacheRow.id)).scalar_one()
    with data.open("rb") if isinstance(data, Path) else io.BytesIO(data) as stream:
        seq = 0
        while piece := stream.read(FEATURE_CHUNK_BYTES):
            session.execute(insert(FeatureCacheChunkRow).values(cache_id=cache_id, seq=seq,
                                                                 data=piece))
            seq += 1


def feature_cache_info(session: Session, config_hash: str) -> tuple[int, int, int] | None:
    """(cache id, number of records, largest record id) of the cached features fitted with
    these settings, or None."""
    row = session.execute(
        select(FeatureCacheRow.id, FeatureCacheRow.n_records, FeatureCacheRow.max_record_id)
        .where(FeatureCacheRow.config_hash == config_hash).limit(1)).first()
    return (row[0], row[1], row[2]) if row else None


def read_feature_cache(session: Session, cache_id: int, into: Path) -> None:
    """Write the cached blob to the file `into`, a piece at a time."""
    pieces = session.execute(
        select(FeatureCacheChunkRow.data).where(FeatureCacheChunkRow.cache_id == cache_id)
        .order_by(FeatureCacheChunkRow.seq).execution_options(yield_per=1))
    wrote = False
    with into.open("wb") as fh:
        for (piece,) in pieces:
            fh.write(piece)
            wrote = True
        if not wrote:  # written before migration 0003: the blob is in feature_cache.data
            fh.write(session.scalar(select(FeatureCacheRow.data)
                                    .where(FeatureCacheRow.id == cache_id)) or b"")


# --- team screening: log lock, allocations, claims, reconciliation, offline copies -----

def lock_review(session: Session) -> None:
    """Take the review-wide write lock (row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers). Checks made after it see every committed decision."""
    if session.get_bind().dialect.name != "sqlite":
        session.scalars(select(ReviewRow.id).with_for_update()).one()


def add_allocation(session: Session, *, stage: Stage, kind: str, seed: int, overlap: float,
                   reviewer_names: Sequence[str],
                   pairs: Iterable[tuple[int, str]], kept: int = 0) -> int:
    """Store an allocation run and its (record id, reviewer name) pairs; returns the run id.
    `kept`: how many records kept screeners who had decided them (for the event)."""
    from screener.storage.models import AllocationRow, AllocationRunRow

    pairs_list = list(pairs)
    ids = {name: get_or_create_reviewer(session, name).id
           for name in dict.fromkeys([*reviewer_names, *(n for _, n in pairs_list)])}
    run = AllocationRunRow(stage=stage.value, kind=kind, seed=seed, overlap=overlap,
                           reviewers=list(reviewer_names), created_at=datetime.now(UTC))
    session.add(run)
    session.flush()
    rows = [{"run_id": run.id, "record_id": rid, "reviewer_id": ids[name]}
            for rid, name in pairs_list]
    for chunk in range(0, len(rows), 5000):
        session.execute(insert(AllocationRow), rows[chunk:chunk + 5000])
    add_event(session, "allocation", stage=stage, at=run.created_at, details={
        "run_id": run.id, "kind": kind, "seed": seed, "overlap": overlap,
        "reviewers": list(reviewer_names),
        "records": len({rid for rid, _ in pairs_list}), **({"kept": kept} if kept else {})})
    return run.id


def latest_allocation(session: Session, stage: Stage) -> dict[str, Any] | None:
    """The allocation run in force at a stage (the latest), or None."""
    row = session.execute(_LATEST_ALLOCATION, {"stage": stage.value}).first()
    if row is None:
        return None
    return {"id": row.id, "stage": stage.value, "kind": row.kind, "seed": row.seed,
            "overlap": row.overlap, "reviewers": list(row.reviewers or []),
            "created_at": row.created_at}


_LATEST_ALLOCATION = (
    select(AllocationRunRow.id, AllocationRunRow.kind, AllocationRunRow.seed,
           AllocationRunRow.overlap, AllocationRunRow.reviewers, AllocationRunRow.created_at)
    .where(AllocationRunRow.stage == bindparam("stage"))
    .order_by(AllocationRunRow.id.desc()).limit(1))
"""`latest_allocation`'s statement, built once (read three times per decision)."""


def allocation_pairs(session: Session, run_id: int, reviewer: str | None = None,
                     record_ids: Sequence[int] | None = None) -> list[tuple[int, str]]:
    """(record id, reviewer name) pairs of a run, optionally for one reviewer or some records."""
    from screener.storage.models import AllocationRow

    query = (select(AllocationRow.record_id, ReviewerRow.name)
             .join(ReviewerRow, ReviewerRow.id == AllocationRow.reviewer_id)
             .where(AllocationRow.run_id == run_id))
    if reviewer is not None:
        query = query.where(ReviewerRow.name == reviewer)
    if record_ids is not None:
        query = query.where(AllocationRow.record_id.in_(list(record_ids)))
    return [(int(r), str(n)) for r, n in session.execute(query.order_by(AllocationRow.id))]


def database_now(session: Session) -> datetime:
    """Now by the one clock every writer of the database shares: the PostgreSQL server's
    (the screeners' own computers may be minutes apart), or on SQLite, whose writers all
    run on the machine that holds the file, that machine's."""
    if session.get_bind().dialect.name == "sqlite":
        return datetime.now(UTC)
    return cast(datetime, session.execute(select(func.clock_timestamp())).scalar_one())


def set_claim(session: Session, record_id: int, stage: Stage, reviewer: str) -> None:
    """The reviewer now holds this record (and drops any earlier claim at the stage)."""
    from screener.storage.models import ClaimRow

    reviewer_id = session.scalar(select(ReviewerRow.id).where(ReviewerRow.name == reviewer))
    if reviewer_id is None:
        reviewer_id = get_or_create_reviewer(session, reviewer).id
    session.execute(delete(ClaimRow).where(and_(ClaimRow.reviewer_id == reviewer_id,
                                                ClaimRow.stage == stage.value)))
    session.execute(insert(ClaimRow).values(record_id=record_id, stage=stage.value,
                                            reviewer_id=reviewer_id,
                                            claimed_at=database_now(session)))


def active_claims(session: Session, stage: Stage, since: datetime,
                  record_id: int | None = None) -> list[tuple[int, str]]:
    """(record id, reviewer name) of claims at a stage made at or after `since` (a time
    by `database_now`'s clock, the one claims are stamped with)."""
    params: dict[str, Any] = {"stage": stage.value, "since": since}
    if record_id is not None:
        params["record_id"] = record_id
    query = _active_claims_query(record_id is not None)
    return [(int(r), str(n)) for r, n in session.execute(query, params)]


@cache
def _active_claims_query(by_record: bool) -> Any:
    """`active_claims`'s statement, built once per shape (read twice per decision)."""
    query = (select(ClaimRow.record_id, ReviewerRow.name)
             .join(ReviewerRow, ReviewerRow.id == ClaimRow.reviewer_id)
             .where(and_(ClaimRow.stage == bindparam("stage"),
                         ClaimRow.claimed_at >= bindparam("since"))))
    return query.where(ClaimRow.record_id == bindparam("record_id")) if by_record else query


def release_claims(session: Session, reviewer: str, stage: Stage) -> None:
    from screener.storage.models import ClaimRow

    ids = select(ReviewerRow.id).where(ReviewerRow.name == reviewer).scalar_subquery()
    session.execute(delete(ClaimRow).where(and_(ClaimRow.reviewer_id == ids,
                                                ClaimRow.stage == stage.value)))


def start_reconciliation(session: Session, stage: Stage, started_by: str, *,
                         at: datetime | None = None,
                         details: dict[str, Any] | None = None) -> bool:
    """Mark reconciliation of a stage as started (now, or `at` for one started in an offline
    copy, whose event `details` then say where it falls in this log); False when it
    already was."""
    from screener.storage.models import ReconciliationRow

    lock_review(session)
    exists = session.scalar(select(ReconciliationRow.id)
                            .where(ReconciliationRow.stage == stage.value))
    if exists is not None:
        return False
    now = at or datetime.now(UTC)
    session.add(ReconciliationRow(stage=stage.value, started_by=started_by, started_at=now))
    session.flush()
    add_event(session, "reconciliation_started", actor=started_by, stage=stage, at=now,
              details=details)
    return True


def reconciliations(session: Session) -> dict[Stage, tuple[str, datetime]]:
    """Stages whose reconciliation has started: stage -> (started by, when)."""
    from screener.storage.models import ReconciliationRow

    rows = session.scalars(select(ReconciliationRow).order_by(ReconciliationRow.id))
    return {Stage(r.stage): (r.started_by, r.started_at) for r in rows}


def _copied_tables() -> list[Any]:
    from screener.storage.models import ReconciliationRow

    # the reconciliations too: without them a copy made after title/abstract was
    # reconciled thinks that stage still blind, and keeps its full-text stage shut
    return [ProtocolVersionRow, SourceRow, RecordRow, DuplicateLinkRow, ReportRow,
            ReconciliationRow]


def dump_review_tables(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Protocol versions, sources, records, duplicate links, reports and reconciliations
    started, ids kept (what an offline copy of the review needs besides decisions)."""
    data: dict[str, list[dict[str, Any]]] = {}
    for model in _copied_tables():
        columns = [c.key for c in model.__table__.columns]
        rows = session.scalars(select(model).order_by(model.id))
        data[model.__tablename__] = [{c: getattr(r, c) for c in columns} for r in rows]
    return data


def load_review_tables(session: Session, data: dict[str, list[dict[str, Any]]]) -> None:
    """Insert rows from `dump_review_tables` into an empty review, keeping their ids."""
    for model in _copied_tables():
        rows = data.get(model.__tablename__, [])
        for chunk in range(0, len(rows), 2000):
            session.execute(insert(model), rows[chunk:chunk + 2000])


def decisions_for_merge(session: Session) -> list[tuple[Decision, str, str | None]]:
    """Every decision row in log order with its uid and the uid of the row it undoes."""
    uids = decision_uids(session)
    undoes = dict(session.execute(select(DecisionRow.id, DecisionRow.undoes_id)).all())
    out = []
    for d in decision_log(session):
        assert d.id is not None
        target = undoes.get(d.id)
        out.append((d, uids[d.id], uids.get(target) if target is not None else None))
    return out


def undo_links(session: Session) -> dict[int, int]:
    """Undo decision id -> the id of the decision it withdrew, as stored."""
    return {undo: withdrawn for undo, withdrawn in session.execute(
        select(DecisionRow.id, DecisionRow.undoes_id)
        .where(DecisionRow.undoes_id.is_not(None))).all() if withdrawn is not None}


def decision_ids_by_uid(session: Session, uids: Iterable[str]) -> dict[str, int]:
    wanted = list(uids)
    found: dict[str, int] = {}
    for chunk in range(0, len(wanted), 500):
        rows = session.execute(select(DecisionRow.uid, DecisionRow.id)
                               .where(DecisionRow.uid.in_(wanted[chunk:chunk + 500])))
        found.update({u: i for u, i in rows})
    return found


def record_screeners(session: Session, stage: Stage, record_id: int) -> list[tuple[str, Role]]:
    """(reviewer, role) of every current, not withdrawn decision on a record at a stage
    (one light query; `current_decisions` gives the full decisions)."""
    rows = session.execute(_RECORD_SCREENERS, {"record_id": record_id, "stage": stage.value})
    standing: dict[str, tuple[str, int]] = {}  # name -> (role, decisions standing)
    for name, role, label in rows:
        count = standing.get(name, (role, 0))[1]
        standing[name] = (role, max(count - 1, 0) if label == Label.UNDONE.value else count + 1)
    return [(name, Role(role)) for name, (role, count) in standing.items() if count]


_RECORD_SCREENERS = (
    select(ReviewerRow.name, ReviewerRow.role, DecisionRow.label)
    .join(ReviewerRow, ReviewerRow.id == DecisionRow.reviewer_id)
    .where(and_(DecisionRow.record_id == bindparam("record_id"),
                DecisionRow.stage == bindparam("stage")))
    .order_by(DecisionRow.id))
"""`record_screeners`'s statement, built once (read twice per decision)."""


def others_decided(session: Session, stage: Stage, reviewer: str) -> bool:
    """Whether anyone but `reviewer` has a decision row at the stage (one indexed probe)."""
    query = (select(DecisionRow.id).join(ReviewerRow, ReviewerRow.id == DecisionRow.reviewer_id)
             .where(and_(DecisionRow.stage == stage.value, ReviewerRow.name != reviewer))
             .limit(1))
    return session.scalar(query) is not None


def lock_record(session: Session, record_id: int, skip_locked: bool = False) -> bool:
    """Lock one record's row until the transaction ends (PostgreSQL; on SQLite BEGIN
    IMMEDIATE already serialises writers). With skip_locked, return False instead of
    waiting when another transaction holds it."""
    if session.get_bind().dialect.name == "sqlite":
        return True
    found = session.scalar(select(RecordRow.id).where(RecordRow.id == record_id)
                           .with_for_update(skip_locked=skip_locked))
    return found is not None


# --- what `log verify` compares with the event log -------------------------------------------

def audit_tables(session: Session) -> dict[str, Any]:
    """The rows of the tables the event log describes, as plain values, for the cross-check
    of `screener log verify` (screener.workflow.audit_check)."""
    from screener.storage.models import AllocationRow, AllocationRunRow, ReconciliationRow

    record_counts = dict(session.execute(
        select(RecordRow.source_id, func.count()).group_by(RecordRow.source_id)).all())
    sources = [{"id": r.id, "name": r.name, "kind": r.kind, "file": r.file_name,
                "format": r.format, "sha256": r.content_sha256, "records": r.record_count,
                "stored_records": record_counts.get(r.id, 0), "query": r.query,
                "searched_on": r.searched_on}
               for r in session.scalars(select(SourceRow).order_by(SourceRow.id))]
    protocols = [{"version": r.version, "sha256": r.sha256, "reason": r.reason,
                  "time": audit.iso_utc(r.created_at), "text": r.yaml_text}
                 for r in session.scalars(select(ProtocolVersionRow)
                                          .order_by(ProtocolVersionRow.version))]
    links = session.execute(select(
        func.count(), func.count(DuplicateLinkRow.undone_at))).one()
    standing = sorted((r, k) for r, k in session.execute(
        select(DuplicateLinkRow.record_id, DuplicateLinkRow.kept_id)
        .where(DuplicateLinkRow.undone_at.is_(None))).all())
    reconciliations = [{"stage": r.stage, "by": r.started_by,
                        "time": audit.iso_utc(r.started_at)}
                       for r in session.scalars(select(ReconciliationRow))]
    allocated = dict(session.execute(
        select(AllocationRow.run_id, func.count(func.distinct(AllocationRow.record_id)))
        .group_by(AllocationRow.run_id)).all())
    runs = [{"run_id": r.id, "stage": r.stage, "kind": r.kind, "seed": r.seed,
             "overlap": r.overlap, "reviewers": list(r.reviewers),
             "records": allocated.get(r.id, 0)}
            for r in session.scalars(select(AllocationRunRow).order_by(AllocationRunRow.id))]
    not_retrieved = sorted(rid for rid, status in reports(session).items()
                           if status == ReportStatus.NOT_RETRIEVED)
    undo_rows = [tuple(row) for row in session.execute(
        select(DecisionRow.id, DecisionRow.label, DecisionRow.undoes_id, DecisionRow.record_id,
               DecisionRow.reviewer_id, DecisionRow.stage)).all()]
    rankings = [(i, config, config_hash) for i, config, config_hash in session.execute(
        select(RankingRow.id, RankingRow.config, RankingRow.config_hash)).all()]
    adjudicated = [{"stage": stage.value, "first_seq": first, "decisions": n}
                   for stage, (first, n) in first_adjudications(session).items()]
    return {"sources": sources, "protocols": protocols,
            "links": {"all": int(links[0]), "undone": int(links[1]), "standing": standing},
            "reconciliations": reconciliations, "adjudicated": adjudicated,
            "allocations": runs,
            "not_retrieved": not_retrieved, "decisions": undo_rows, "rankings": rankings}


def source_record_ids(session: Session, source_id: int) -> list[int]:
    """The ids of a source's records in import order."""
    return list(session.scalars(select(RecordRow.id).where(RecordRow.source_id == source_id)
                                .order_by(RecordRow.position)))


def source_records_digest(session: Session, source_id: int) -> str:
    """`audit.records_digest` of a source's records as stored (import order)."""
    rows = session.execute(
        select(RecordRow.title, RecordRow.abstract, RecordRow.authors, RecordRow.year,
               RecordRow.journal, RecordRow.doi, RecordRow.pmid)
        .where(RecordRow.source_id == source_id).order_by(RecordRow.position)).all()
    return audit.records_digest(rows)


def import_and_dedup_runs(session: Session) -> list[tuple[str, dict[str, Any], datetime]]:
    """The `records_imported` and `duplicates_removed` events, in log order: (kind,
    details, time)."""
    rows = session.execute(
        select(EventRow.kind, EventRow.details, EventRow.created_at)
        .where(EventRow.kind.in_(("records_imported", "duplicates_removed")))
        .order_by(EventRow.seq)).all()
    return [(r.kind, json.loads(r.details), r.created_at) for r in rows]


def _logged_positions(session: Session, kind: str, key: str) -> dict[Any, int]:
    """The decision-log position each `kind` event recorded (`DECISION_POSITION`), by its
    `key` detail ("stage": the event's stage); events written before positions were
    recorded are left out."""
    out: dict[Any, int] = {}
    for stage, text in session.execute(select(EventRow.stage, EventRow.details)
                                       .where(EventRow.kind == kind).order_by(EventRow.seq)):
        details = json.loads(text)
        found = stage if key == "stage" else details.get(key)
        if DECISION_POSITION in details and found is not None:
            out[found] = int(details[DECISION_POSITION])
    return out


def _positions_by_time(session: Session, times: dict[Any, datetime]) -> dict[Any, int]:
    """For rows stored before positions were recorded (or in an offline copy, which holds
    no events): the position by the clocks, the seq of the latest decision stamped at or
    before each time."""
    if not times:
        return {}
    stamps = [(audit.iso_utc(at), int(seq)) for seq, at in session.execute(
        select(DecisionRow.seq, DecisionRow.created_at))]
    return {k: max((seq for t, seq in stamps if t <= audit.iso_utc(at)), default=0)
            for k, at in times.items()}


def protocol_positions(session: Session) -> dict[int, int]:
    """protocol version -> how many decisions the log held when it was recorded."""
    logged = _logged_positions(session, "protocol_version", "version")
    return logged | _positions_by_time(session, {v: at for v, _, _, at in protocol_versions(
        session) if v not in logged})


def reconciliation_positions(session: Session) -> dict[Stage, int]:
    """stage -> how many decisions the log held when its reconciliation started: the
    decisions with seq <= it were made blind."""
    logged = {Stage(k): v for k, v in _logged_positions(
        session, "reconciliation_started", "stage").items()}
    return logged | _positions_by_time(session, {s: at for s, (_, at) in reconciliations(
        session).items() if s not in logged})


def first_adjudications(session: Session) -> dict[Stage, tuple[int, int]]:
    """stage -> (the seq of the first adjudicator decision row there, how many rows the
    adjudicator stored there), withdrawn ones and undo rows included: the first one
    showed the screeners' decisions, whatever became of it."""
    rows = session.execute(
        select(DecisionRow.stage, func.min(DecisionRow.seq), func.count())
        .join(ReviewerRow, ReviewerRow.id == DecisionRow.reviewer_id)
        .where(ReviewerRow.role == Role.ADJUDICATOR.value).group_by(DecisionRow.stage))
    return {Stage(stage): (int(first), int(n)) for stage, first, n in rows}


MADE_BLIND = "made_blind"
"""Detail of an `offline_copy_merged` event: per stage whose reconciliation this review had
started before the merge, the ranges [first seq, last seq] of the merged rows there that
the copy's reviewers made blind (before the copy's own start, or in a copy that had none),
though stored after this review's start."""


def merged_blind(session: Session) -> dict[Stage, list[tuple[int, int]]]:
    """stage -> the ranges of decision-log rows (`MADE_BLIND`) made blind in an offline
    copy and merged after this review's start of reconciliation there."""
    out: dict[Stage, list[tuple[int, int]]] = {}
    for details in event_details(session, "offline_copy_merged"):
        for stage, ranges in (details.get(MADE_BLIND) or {}).items():
            out.setdefault(Stage(stage), []).extend((int(a), int(b)) for a, b in ranges)
    return out


def merged_ranges(session: Session) -> list[tuple[int, int, str]]:
    """The [first seq, last seq] of the decision-log rows each `merge` of an offline copy
    wrote (stored at the merge, made earlier: their `created_at` is the copy's), with the
    copy's folder as the merge recorded it (the log export's `merged_from`)."""
    return [(int(details["first_seq"]), int(details.get("last_seq") or 0),
             str(details.get("folder", "")))
            for details in event_details(session, "offline_copy_merged") if details.get("first_seq")]


def decision_times(session: Session, seqs: Iterable[int]) -> dict[int, str]:
    """seq -> when the decision-log row at that position was made (`created_at`, ISO 8601
    UTC: `audit.iso_utc`, comparable as text on SQLite and PostgreSQL alike)."""
    wanted = sorted(set(seqs))
    out: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        for seq, at in session.execute(select(DecisionRow.seq, DecisionRow.created_at).where(
                DecisionRow.seq.in_(wanted[start:start + 500]))):
            out[int(seq)] = audit.iso_utc(at)
    return out


def reconciliation_starts(session: Session) -> dict[Stage, int]:
    """The stages whose reconciliation has started (blinding ended there), each with where
    in the decision log: the decisions with seq <= it were made blind. Its recorded start
    (`reconciliation_positions`), or, where an adjudicator decision comes earlier or no
    start was recorded, just before the first adjudicator decision: `resolve` records the
    start first, but merges by older versions of screener brought a copy's resolutions
    without it. What decides, for blinding and for agreement alike, which stages have
    started and where."""
    starts = reconciliation_positions(session)
    for stage, (first, _) in first_adjudications(session).items():
        starts[stage] = min(starts.get(stage, first - 1), first - 1)
    return starts
