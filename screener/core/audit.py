"""The decision log as a hash chain: tamper evidence for screening decisions.

Pure domain: standard library only. Each log row is hashed together with the hash of
the row before it, starting from `GENESIS`:

    row_hash = sha256(prev_hash + canonical_json(row))      (hex digest, UTF-8)

`canonical_json` is JSON with sorted keys, no spaces, non-ASCII kept, tuples as lists.
Each row also carries its position (`seq`, 1, 2, ...) and the id of the decision before
it (`prev_decision_id`), and decision ids increase along the log. So `verify` can say
what happened, and where: a row edited (its hash no longer matches), removed (a gap in
`seq`, a broken `prev_decision_id` link) or moved (ids out of order). Removing the
last rows leaves no gap: pass the head hash and row count kept elsewhere (the review
row in the database) as `expected_head` / `expected_count` to catch that too.

Storage computes `row_hash` at insert time with `next_hash(previous row's hash,
log_row(decision, ...))`; exports write the rows and hashes out (screener.exports.log).
A chain shows tampering by anyone who cannot also rewrite every later hash and the
stored head; it is evidence, not a signature.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from screener.core.decisions import Decision
from screener.core.wording import counted, plural

GENESIS = hashlib.sha256(b"screener decision log v1").hexdigest()
"""The `prev_hash` of the first row."""


@dataclass(frozen=True, slots=True)
class LogRow:
    """One decision as it appears in the log (the fields the hash covers)."""

    seq: int
    """Position in the log: 1 for the first row, then 2, 3, ... with no gaps."""
    decision_id: int
    """Database id of the decision; increases along the log."""
    prev_decision_id: int | None
    """`decision_id` of the row before (None for the first row)."""
    record_id: int
    reviewer: str
    role: str
    """"screener" or "adjudicator"."""
    stage: str
    """"title_abstract" or "full_text"."""
    label: str
    """"include", "exclude", "maybe" or "undone" (an undo)."""
    reason_id: str | None
    criterion_ids: tuple[str, ...]
    note: str
    time: str
    """When the decision was made, ISO 8601 in UTC: "2026-11-26T19:21:57.123456Z"."""
    protocol_hash: str
    """sha256 of the protocol version in force."""
    model_config_hash: str
    """Hash of the ranking model configuration that ordered the queue ("" if none)."""
    ranking_id: int | None
    """The ranking that put the record in front of the reviewer (None: import order)."""
    rank_shown: int | None
    """The record's place, when it was shown, among the records the reviewer still had to
    screen in that ranking (1: the first of them, as `next` and the UI offer them; records
    screened or settled since the ranking was computed do not count)."""


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    first_bad_index: int | None
    """Index (0-based, in the list given to `verify`) of the first bad row, or None.
    Rows missing at the end give the index just past the last row given."""
    problem: str
    """What is wrong, in words ("" when ok)."""


def iso_utc(value: datetime | None) -> str:
    """ISO 8601 UTC with microseconds and a Z; naive datetimes are taken as UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_day(value: datetime | None) -> str:
    """The UTC date (YYYY-MM-DD) of a stored moment, as `iso_utc` dates it ("" for None):
    the date screener shows of an import or a decision, whatever the time zone of the
    database server or session (PostgreSQL gives its values in the session's zone)."""
    return iso_utc(value)[:10]


def log_row(decision: Decision, *, seq: int, prev_decision_id: int | None,
            model_config_hash: str = "") -> LogRow:
    """The log row of a stored decision (it must have an id)."""
    if decision.id is None:
        raise ValueError("a decision needs its database id before it is logged")
    return LogRow(
        seq=seq, decision_id=decision.id, prev_decision_id=prev_decision_id,
        record_id=decision.record_id, reviewer=decision.reviewer,
        role=decision.reviewer_role.value, stage=decision.stage.value,
        label=decision.label.value, reason_id=decision.reason_id,
        criterion_ids=tuple(decision.criterion_ids), note=decision.note,
        time=iso_utc(decision.created_at), protocol_hash=decision.protocol_hash,
        model_config_hash=model_config_hash, ranking_id=decision.ranking_id,
        rank_shown=decision.rank_position)


def log_rows(decisions: Iterable[Decision],
             config_hashes: Mapping[int, str] | None = None) -> list[LogRow]:
    """Log rows for decisions given in log order.

    `seq` is the decision's own `seq` when set (so a gap in the stored log stays a gap),
    else its position; `config_hashes` maps ranking id to model configuration hash.
    """
    hashes = config_hashes or {}
    rows: list[LogRow] = []
    prev: int | None = None
    for position, decision in enumerate(decisions, start=1):
        config = hashes.get(decision.ranking_id, "") if decision.ranking_id is not None else ""
        row = log_row(decision, seq=decision.seq or position, prev_decision_id=prev,
                      model_config_hash=config)
        rows.append(row)
        prev = row.decision_id
    return rows


def row_dict(row: LogRow) -> dict[str, Any]:
    """The row as plain JSON types (tuples as lists)."""
    data = asdict(row)
    data["criterion_ids"] = list(row.criterion_ids)
    return data


def canonical_json(row: LogRow) -> str:
    """The exact text the hash covers."""
    return json.dumps(row_dict(row), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)


def next_hash(prev_hash: str, row: LogRow) -> str:
    """sha256 hex of `prev_hash` followed by the row's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical_json(row)).encode("utf-8")).hexdigest()


def chain(rows: Iterable[LogRow], prev_hash: str = GENESIS) -> list[tuple[LogRow, str]]:
    """Each row with its chained hash, starting from `prev_hash` (the genesis value)."""
    out: list[tuple[LogRow, str]] = []
    for row in rows:
        prev_hash = next_hash(prev_hash, row)
        out.append((row, prev_hash))
    return out


def _where(row: LogRow) -> str:
    return f"seq {row.seq} (decision {row.decision_id})"


def verify(rows: Sequence[tuple[LogRow, str]], *, expected_head: str | None = None,
           expected_count: int | None = None, own: bool = False) -> VerifyResult:
    """Check a whole log from the genesis row; report the first row that is wrong (rows are
    numbered from 1 in the message: the line of an exported JSONL file).

    `expected_head` (the last row's hash) and `expected_count` (number of rows), kept
    apart from the log, also catch rows removed from the end. `own`: `rows` are the
    review's own table, which the count and head must match; else an exported file, which
    a review restored from an older copy holds fewer rows than.
    """
    prev_hash = GENESIS
    prev: LogRow | None = None
    all_seqs = {row.seq for row, _ in rows}
    for index, (row, stored) in enumerate(rows):
        expected_seq = index + 1
        if row.seq != expected_seq:
            if row.seq > expected_seq and expected_seq not in all_seqs:
                missing = []
                for s in range(expected_seq, row.seq):  # the first few: seq may be huge
                    if s not in all_seqs:
                        missing.append(s)
                        if len(missing) > 5:
                            break
                listed = ", ".join(str(s) for s in missing[:5]) + (
                    ", ..." if len(missing) > 5 else "")
                problem = (f"row {index + 1}: {_where(row)} where seq {expected_seq} was expected: "
                           f"{plural(len(missing), 'row')} with seq {listed} removed")
            else:
                problem = (f"row {index + 1}: {_where(row)} where seq {expected_seq} was expected: "
                           f"rows reordered or duplicated")
            return VerifyResult(False, index, problem)
        if prev is not None and row.decision_id <= prev.decision_id:
            return VerifyResult(False, index, (
                f"row {index + 1}: {_where(row)} comes after decision {prev.decision_id}: "
                f"decision ids must increase, rows reordered"))
        link = prev.decision_id if prev is not None else None
        if row.prev_decision_id != link:
            return VerifyResult(False, index, (
                f"row {index + 1}: {_where(row)} names decision {row.prev_decision_id} as the one "
                f"before it, but the row before is decision {link}: a row was removed or "
                f"moved"))
        computed = next_hash(prev_hash, row)
        following = rows[index + 1][0] if index + 1 < len(rows) else None
        if computed != stored and following is not None and (
                following.decision_id < row.decision_id):
            return VerifyResult(False, index, (
                f"row {index + 1}: {_where(row)} does not match its hash and comes before "
                f"decision {following.decision_id}: rows reordered"))
        if computed != stored:
            return VerifyResult(False, index, (
                f"row {index + 1}: {_where(row)} hash {stored[:12]}... does not match its "
                f"contents and the previous hash ({computed[:12]}... expected): the row was "
                f"edited, or the hash of the row before it was rewritten"))
        prev_hash, prev = stored, row
    return _check_end([h for _, h in rows], expected_head, expected_count, "log", own)


# --- the event log: what changed the review besides decisions ------------------------------

EVENT_GENESIS = hashlib.sha256(b"screener event log v1").hexdigest()
"""The `prev_hash` of the first event."""

EVENT_KINDS: dict[str, str] = {
    "protocol_version": "a protocol version was stored (the first, or an amendment)",
    "records_imported": "records were imported from a file or a search",
    "labels_imported": "a file's labels were added, as a reviewer's decisions, to the "
                       "records of an earlier import (import --labels-only)",
    "duplicates_removed": "duplicates were removed (records linked to the copy kept)",
    "duplicates_restored": "a duplicate cluster was undone (its records count again)",
    "allocation": "records were allocated to reviewers (or restricted in an offline copy)",
    "reconciliation_started": "reconciliation of a stage started: blinding ended there",
    "report_not_retrieved": "a full-text report was marked not retrieved",
    "report_sought_again": "a not-retrieved mark was taken back",
    "offline_copy_made": "an offline copy was written for a reviewer",
    "offline_copy_merged": "an offline copy's decisions were merged into the review",
    "import_withdrawn": "an import none of whose records had been decided was withdrawn: "
                        "its records left the review (screener withdraw-import)",
    "import_corrected": "an import's source name, kind or search date was corrected "
                        "(screener correct-import)",
    "decisions_reassigned": "a reviewer name's decisions were moved to another name "
                            "(screener reassign: undo rows, then the same decisions)",
    "review_restored": "review.db was restored from a backup (screener restore); what the "
                       "review held that the backup lacked, if anything, was discarded",
}
"""Every kind of event, with what it means."""


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One change to the review that is not a screening decision, as the event log hashes it.

    Decisions have their own chain (`LogRow`); events record what else an auditor needs to
    re-trace the review: the protocol versions, the imports and duplicates removed, the
    allocations, when blinding ended and which reports were not retrieved.
    """

    seq: int
    """Position in the event log: 1, 2, 3, ... with no gaps."""
    kind: str
    """One of `EVENT_KINDS`."""
    actor: str
    """Who did it ("" when the command takes no reviewer name, e.g. an import)."""
    time: str
    """ISO 8601 in UTC, as `iso_utc` writes it."""
    stage: str
    """"title_abstract" or "full_text" ("" when the event is not about one stage)."""
    record_id: int | None
    details: dict[str, Any]
    """Plain JSON values; what they are depends on `kind` (see `describe_event`)."""


def event_dict(event: LogEvent) -> dict[str, Any]:
    return asdict(event)


def event_json(event: LogEvent) -> str:
    """The exact text the event's hash covers (canonical JSON, as for decisions)."""
    return json.dumps(event_dict(event), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)


def details_json(details: Mapping[str, Any]) -> str:
    """An event's details as stored: canonical JSON."""
    return json.dumps(dict(details), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)


def next_event_hash(prev_hash: str, event: LogEvent) -> str:
    return hashlib.sha256((prev_hash + event_json(event)).encode("utf-8")).hexdigest()


def chain_events(events: Iterable[LogEvent],
                 prev_hash: str = EVENT_GENESIS) -> list[tuple[LogEvent, str]]:
    out: list[tuple[LogEvent, str]] = []
    for event in events:
        prev_hash = next_event_hash(prev_hash, event)
        out.append((event, prev_hash))
    return out


def _check_end(hashes: Sequence[str], expected_head: str | None,
               expected_count: int | None, what: str, own: bool) -> VerifyResult:
    """Rows cut off (or added at) the end, seen against the count and head kept apart.
    `hashes`: every row's hash, the chain checked. `own`: the rows are the review's own
    (else an exported file compared with the review)."""
    rows = len(hashes)
    last_hash = hashes[-1] if hashes else ""
    if expected_count is not None and rows != expected_count:
        first_wrong = rows if rows < expected_count else expected_count
        if own:
            return VerifyResult(False, first_wrong, (
                f"the {what} has {rows} rows but the review records {expected_count}: "
                + ("rows removed from the end" if rows < expected_count else "rows added")))
        units = "events" if what == "event log" else "decisions"
        if rows < expected_count:
            return VerifyResult(False, first_wrong, (
                f"the exported {what} has {rows} rows but the review records "
                f"{expected_count}: rows cut off the end of the file, or {units} made since "
                "it was exported (export it again)"))
        held = f"{expected_count} of its {rows}"
        if not expected_count or hashes[expected_count - 1] == expected_head:
            same = f", the same as its first {expected_count}" if expected_count else ""
            return VerifyResult(False, first_wrong, (
                f"the review holds fewer {units} than the exported {what} ({held}{same}): "
                f"the review may have been restored from an older copy, or its last {units} "
                "deleted"))
        return VerifyResult(False, first_wrong, (
            f"the review holds fewer {units} than the exported {what} ({held}), and its last "
            f"hash {str(expected_head)[:12]}... is not the file's row {expected_count}: the "
            "file and the review differ (a log of another review, or a review restored from "
            "an older copy and changed since)"))
    if expected_head is not None and last_hash != expected_head:
        return VerifyResult(False, max(rows - 1, 0), (
            f"the last row's hash {last_hash[:12]}... differs from the stored head "
            f"{expected_head[:12]}...: the end of the {what} was changed"))
    return VerifyResult(True, None, "")


def verify_events(rows: Sequence[tuple[LogEvent, str]], *, expected_head: str | None = None,
                  expected_count: int | None = None, own: bool = False) -> VerifyResult:
    """Check the event log from its genesis; the first event edited, removed or moved.
    `expected_head` and `expected_count` (kept on the review row) catch events cut off the
    end."""
    prev_hash = EVENT_GENESIS
    for index, (event, stored) in enumerate(rows):
        where = f"row {index + 1}: event {event.seq} ({event.kind})"
        if event.seq != index + 1:
            gap = event.seq > index + 1 and all(e.seq != index + 1 for e, _ in rows)
            return VerifyResult(False, index, (
                f"{where} where event {index + 1} was expected: "
                + (f"event {index + 1} removed" if gap else "events reordered or duplicated")))
        computed = next_event_hash(prev_hash, event)
        if computed != stored:
            return VerifyResult(False, index, (
                f"{where} hash {stored[:12]}... does not match its contents and the "
                f"previous hash ({computed[:12]}... expected): the event was edited, or the "
                "hash of the event before it was rewritten"))
        prev_hash = stored
    return _check_end([h for _, h in rows], expected_head, expected_count, "event log",
                      own)


def describe_event(event: LogEvent) -> str:
    """One line in words: what happened (the kind's own fields; unknown details listed)."""
    d = event.details
    stage = {"title_abstract": "title/abstract", "full_text": "full text"}.get(
        event.stage, event.stage)
    kind = event.kind
    if kind == "protocol_version":
        text = (f"protocol version {d.get('version')} stored (sha256 "
                f"{str(d.get('sha256', ''))[:12]}...): {d.get('reason', '')}")
        if d.get("dropped_although_cited"):
            text += (f"; dropped although decisions cite them (--drop-used): "
                     f"{'; '.join(d['dropped_although_cited'])}")
        settled = d.get("conflicts_settled_by_latest_decision") or {}
        if settled:
            text += "; conflicts settled by the latest decision, without the adjudicator: " + (
                ", ".join(f"{n} at {stage}" for stage, n in settled.items()))
    elif kind == "records_imported":
        where = d.get("file") or d.get("query") or ""
        text = (f"{counted(int(d.get('records', 0)), 'record')} imported as source "
                f"{d.get('source_id')} ({d.get('source', '')}"
                + (f", {where}" if where else "") + ")")
        if d.get("labels"):
            text += f"; {d['labels']} labels as {d.get('labels_as', '')}"
        for warning in d.get("encoding_warnings") or ():
            text += f"; {str(warning).rstrip('.')}"
        for warning in d.get("pubmed_warnings") or ():  # (repo.SEARCH_WARNINGS)
            text += f"; warning: {str(warning).rstrip('.')}"
    elif kind == "labels_imported":
        text = (f"{counted(int(d.get('labels', 0)), 'label')} imported as "
                f"{d.get('labels_as', '')}'s decisions on the records of source "
                f"{d.get('source_id')} ({d.get('source', '')}), from {d.get('file', '')}")
    elif kind == "duplicates_removed" and not int(d.get("removed", 0)):
        text = "duplicates sought: none found"
    elif kind == "duplicates_removed":
        removed = int(d.get("removed", 0))
        text = (f"{counted(removed, 'record')} removed as "
                f"{plural(removed, 'a duplicate', 'duplicates')}")
        if d.get("clusters"):
            text += f" in {counted(int(d['clusters']), 'cluster')}"
        if d.get("redo_of") is not None:
            text += f" (cluster {d['redo_of']} merged again as cluster {d.get('first_cluster')})"
        if d.get("split_of") is not None:
            text += (f" (the rest of a cluster once record {d['split_of']}, their kept copy, "
                     f"was taken out, as cluster {d.get('first_cluster')})")
    elif kind == "duplicates_restored" and d.get("split") is not None:
        text = (f"record {d['split']} taken out of duplicate cluster {d.get('cluster')}: "
                f"{counted(int(d.get('records', 0)), 'record')} restored")
    elif kind == "duplicates_restored":
        text = (f"duplicate cluster {d.get('cluster')} undone: "
                f"{counted(int(d.get('records', 0)), 'record')} restored")
    elif kind == "allocation":
        what = "offline copy restricted to" if d.get("kind") == "offline" else "allocated"
        text = (f"{stage}: {counted(int(d.get('records', 0)), 'record')} {what} "
                f"{', '.join(d.get('reviewers', []))} (run {d.get('run_id')}, seed "
                f"{d.get('seed')}, overlap {d.get('overlap')})")
        if d.get("kept"):
            kept = int(d["kept"])
            text += (f"; {kept} kept the screeners who had decided "
                     f"{plural(kept, 'it', 'them')}")
    elif kind == "reconciliation_started":
        text = f"reconciliation of {stage} started: blinding ends there"
        if d.get("merged_from"):
            text += f" (merged from the copy {d['merged_from']}, where it started)"
    elif kind == "report_not_retrieved":
        text = f"record {event.record_id}: full-text report marked not retrieved"
    elif kind == "report_sought_again":
        text = f"record {event.record_id}: not-retrieved mark taken back (report sought again)"
    elif kind == "offline_copy_made":
        text = (f"offline copy for {d.get('reviewer')} written to {d.get('folder')} "
                f"({counted(int(d.get('records', 0)), 'record')} offered, including those "
                f"they had decided: {counted(int(d.get('decisions', 0)), 'decision')} of "
                "theirs copied)")
    elif kind == "offline_copy_merged":
        text = (f"{counted(int(d.get('decisions', 0)), 'decision')} merged from the offline "
                f"copy {d.get('folder')} ({', '.join(d.get('reviewers', []))})")
        if d.get("first_seq"):
            text += f": decision log rows {d['first_seq']} to {d.get('last_seq')}"
        if d.get("replaced_left_out"):
            text += ("; left out, replaced by the copy's later decisions already here: "
                     f"{d['replaced_left_out']}")
    elif kind == "import_withdrawn":
        where = d.get("file") or d.get("query") or ""
        text = (f"import of source {d.get('source_id')} withdrawn ({d.get('source', '')}"
                + (f", {where}" if where else "")
                + f", {counted(int(d.get('records', 0)), 'record')}): {d.get('reason', '')}")
        if d.get("duplicates_restored"):
            back = d["duplicates_restored"]
            text += (f"; {counted(len(back), 'record')} removed as copies of its records "
                     f"count again ({', '.join(map(str, back))})")
    elif kind == "import_corrected":
        before, after = d.get("before") or {}, d.get("after") or {}
        names = {"source": "source name", "kind": "kind", "searched_on": "search date"}
        text = (f"source {d.get('source_id')} corrected: "
                + ", ".join(f"{names.get(k, k)} {before.get(k) or '(none)'!r} -> "
                            f"{after[k] or '(none)'!r}" for k in names if k in after)
                + f" ({d.get('reason', '')})")
    elif kind == "decisions_reassigned":
        records = [str(r) for r in d.get("records") or ()]
        shown = ", ".join(records[:10]) + (", ..." if len(records) > 10 else "")
        text = (f"{counted(int(d.get('decisions', 0)), 'decision')} moved from "
                f"{d.get('from')} to {d.get('to')} (record{'s' if len(records) != 1 else ''} "
                f"{shown}; {', '.join(d.get('stages') or ())})")
    elif kind == "review_restored":
        text = (f"restored from the backup {d.get('backup')} "
                f"({counted(int(d.get('decisions', 0)), 'decision')})")
        lost = d.get("discarded_decisions") or {}
        if lost or d.get("discarded_imports") or d.get("discarded_events"):
            text += ("; discarded what the backup lacked (--discard-newer): "
                     + ", ".join([f"{counted(int(n), 'decision row')} of {name}"
                                  for name, n in lost.items()]
                                 + [counted(int(d.get("discarded_imports", 0)), "import"),
                                    counted(int(d.get("discarded_events", 0)),
                                            "other event")]))
    else:
        text = f"{kind}: " + ", ".join(f"{k}={v}" for k, v in sorted(d.items()))
    if event.actor:
        text += f" (by {event.actor})"
    if d.get("account") or d.get("database_role"):
        text += " (" + ", ".join(filter(None, (
            f"account {d['account']}" if d.get("account") else "",
            f"database role {d['database_role']}" if d.get("database_role") else ""))) + ")"
    if d.get("recorded_by"):
        text += f" [recorded later by {d['recorded_by']}, from the tables]"
    return text


def records_digest(rows: Iterable[Sequence[Any]]) -> str:
    """sha256 of the records of one import, in import order: each record as
    [title, abstract, authors, year, journal, doi, pmid] in canonical JSON (what the
    exports, the report and the diagrams show of it). The import event keeps it, so that
    `log verify` sees a title or year edited afterwards."""
    digest = hashlib.sha256()
    encode = _compact_json_encoder()
    for title, abstract, authors, year, journal, doi, pmid in rows:
        digest.update(encode([title, abstract, list(authors), year, journal, doi, pmid]))
        digest.update(b"\n")
    return digest.hexdigest()


@functools.cache
def _compact_json_encoder() -> Callable[[Any], bytes]:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"))` as UTF-8 bytes.

    orjson, when installed, writes the same bytes for every string without lone surrogates
    (a test compares every code point) in a thirtieth of the time: 0.9 s less per 100,000
    imported records. It is imported on first use only, and what it refuses goes to the
    standard library, so core still runs (and loads) on the standard library alone."""
    plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def slow(value: Any) -> bytes:
        return plain(value).encode("utf-8")

    try:
        import orjson
    except ImportError:
        return slow
    fast = orjson.dumps

    def encode(value: Any) -> bytes:
        try:
            return fast(value)
        except TypeError:  # orjson.JSONEncodeError: lone surrogates, integers over 64 bits
            return slow(value)

    return encode

