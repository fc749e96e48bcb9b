"""The cross-check of `screener log verify`: the tables the figures come from, against the
event log that recorded their changes.

The two hash chains show whether their own rows were edited. The PRISMA counts, the
agreement table and the methods text, though, are computed from other tables (sources,
protocol versions, duplicate links, reconciliations, reports, allocations), which a user
with the database file could edit without touching a chain. Each change to those tables is
also an event, so each table must agree with the events: a source with another name or kind
than its import event, a protocol text whose sha256 is not the one stored, more duplicate
links standing than the events removed, a reconciliation at another time than its event,
a report marked not retrieved without an event, an allocation that differs from its event.
Decision rows are checked for what their hash does not cover (`undoes_id`), and stored
rankings for a configuration that no longer matches its hash. A stage where the adjudicator
decided with no start of reconciliation recorded (merges by older versions of screener
brought a copy's resolutions without it) is a warning: agreement there is cut off at the
first adjudicator decision.

A user who rewrites a table, its events and the whole chain after them, and the stored
heads, is not caught here: only a head published elsewhere (the report prints both) shows
that.

Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from screener.core.audit import LogEvent
from screener.core.decisions import Stage
from screener.core.wording import counted, plural
from screener.storage import RESTORE_STEPS, repo
from screener.workflow.review import Review

_SOURCE_FIELDS = ("name", "kind", "file", "format", "sha256", "records", "query",
                  "searched_on")
"""Source columns and the `records_imported` detail each must equal (name: `source`)."""


def _by(events: Iterable[LogEvent], kind: str) -> list[LogEvent]:
    return [e for e in events if e.kind == kind]


def _paired(rows: Iterable[dict[str, Any]], events: list[LogEvent], key: str,
            event_key: Callable[[LogEvent], Any], no_event: Callable[[dict[str, Any]], str],
            missing: Callable[[Any, LogEvent], str]
            ) -> tuple[list[tuple[dict[str, Any], LogEvent]], list[str]]:
    """Each table row with the event of the same key (`row[key]`, `event_key(event)`), and
    the problems: rows without an event, events whose row is gone."""
    by_key = {event_key(e): e for e in events}
    pairs, problems = [], []
    for row in rows:
        event = by_key.pop(row[key], None)
        if event is None:
            problems.append(no_event(row))
        else:
            pairs.append((row, event))
    problems += [missing(k, event) for k, event in by_key.items()]
    return pairs, problems


def _sources(tables: dict[str, Any], events: list[LogEvent]) -> list[str]:
    digests = tables.get("records_sha256", {})
    withdrawn = {e.details.get("source_id") for e in _by(events, "import_withdrawn")}
    pairs, problems = _paired(
        tables["sources"], [e for e in _by(events, "records_imported")
                            if e.details.get("source_id") not in withdrawn], "id",
        lambda e: e.details.get("source_id"),
        lambda s: (f"source {s['id']} ({s['name']!r}, {counted(s['records'], 'record')}) has no "
                   "import event: it was added outside screener"),
        lambda k, e: (f"source {k} of the import in event {e.seq} is missing from the "
                      "sources table"))
    corrected: dict[Any, dict[str, Any]] = {}
    for e in _by(events, "import_corrected"):  # (in log order: the latest value wins)
        corrected.setdefault(e.details.get("source_id"), {}).update(e.details.get("after", {}))
    for source, event in pairs:
        d = dict(event.details, **corrected.get(source["id"], {}))
        d["name"] = d.get("source")
        for field in _SOURCE_FIELDS:
            if field in d and d[field] not in (None, "") and d[field] != source[field]:
                problems.append(f"source {source['id']}: {field} is {source[field]!r} but its "
                                f"import (event {event.seq}) recorded {d[field]!r}")
        if source["stored_records"] != source["records"]:
            problems.append(f"source {source['id']} holds "
                            f"{counted(source['stored_records'], 'record')} "
                            f"but {source['records']} were imported (event {event.seq})")
        elif d.get("records_sha256") and d["records_sha256"] != digests.get(source["id"]):
            problems.append(f"source {source['id']}: its records' titles, abstracts, authors, "
                            f"years, journals or ids differ from those imported (event "
                            f"{event.seq}): a record was edited")
    return problems


def _protocols(tables: dict[str, Any], events: list[LogEvent]) -> list[str]:
    problems = [f"protocol version {p['version']}: its text does not hash to the sha256 "
                f"stored with it ({p['sha256'][:12]}...): the text was edited"
                for p in tables["protocols"]
                if hashlib.sha256(p["text"].encode("utf-8")).hexdigest() != p["sha256"]]
    pairs, unpaired = _paired(
        tables["protocols"], _by(events, "protocol_version"), "version",
        lambda e: e.details.get("version"),
        lambda p: f"protocol version {p['version']} has no event",
        lambda k, e: f"protocol version {k} of event {e.seq} is missing")
    problems += unpaired
    for p, event in pairs:
        for field, value in (("sha256", p["sha256"]), ("reason", p["reason"])):
            if event.details.get(field) != value:
                problems.append(f"protocol version {p['version']}: {field} is {value!r} but "
                                f"event {event.seq} recorded {event.details.get(field)!r}")
        if event.time != p["time"]:
            problems.append(f"protocol version {p['version']} is dated {p['time']} but event "
                            f"{event.seq} recorded it at {event.time}")
    return problems


def _duplicates(tables: dict[str, Any], events: list[LogEvent]) -> list[str]:
    removed = sum(int(e.details.get("removed", 0)) for e in _by(events, "duplicates_removed"))
    restored = sum(int(e.details.get("records", 0))
                   for e in _by(events, "duplicates_restored"))
    restored += sum(len(e.details.get("duplicate_links_dropped") or ())
                    for e in _by(events, "import_withdrawn"))
    links = tables["links"]
    standing = links["all"] - links["undone"]
    problems = []
    if standing != removed - restored:
        problems.append(f"{counted(standing, 'record')} {plural(standing, 'stands', 'stand')} "
                        "removed as duplicates, but the events "
                        f"removed {removed} and restored {restored} ({removed - restored} "
                        "net): duplicate links were added or deleted outside screener")
        return problems
    # link by link, where every event names its links (events from before they did: the
    # count above only)
    moves = [e for e in events if e.kind in ("duplicates_removed", "duplicates_restored",
                                             "import_withdrawn")]
    if all("links" in e.details or "record_ids" in e.details or e.kind == "import_withdrawn"
           for e in moves):
        replay: dict[int, int] = {}
        for e in moves:
            for rid, keep in e.details.get("links", []):
                replay[int(rid)] = int(keep)
            for rid in e.details.get("record_ids", []):
                replay.pop(int(rid), None)
            for rid, _ in e.details.get("duplicate_links_dropped", []):
                replay.pop(int(rid), None)
        table = {int(r): int(k) for r, k in links["standing"]}
        wrong = sorted(set(replay.items()) ^ set(table.items()))
        if wrong:
            shown = ", ".join(f"record {r} as a copy of {k}" for r, k in wrong[:5])
            problems.append(f"the standing duplicate links differ from those the events "
                            f"made ({shown}{', ...' if len(wrong) > 5 else ''}): a link was "
                            "changed outside screener")
    return problems


def _reconciliations(tables: dict[str, Any], events: list[LogEvent]) -> list[str]:
    pairs, problems = _paired(
        tables["reconciliations"], _by(events, "reconciliation_started"), "stage",
        lambda e: e.stage,
        lambda row: f"reconciliation of {row['stage']} has no event",
        lambda k, e: f"reconciliation of {k} (event {e.seq}) is missing")
    for row, event in pairs:
        if (event.actor, event.time) != (row["by"], row["time"]):
            problems.append(f"reconciliation of {row['stage']} is recorded as started by "
                            f"{row['by']!r} at {row['time']}, but event {event.seq} says "
                            f"{event.actor!r} at {event.time}")
    return problems


def _reconciliation_warnings(tables: dict[str, Any]) -> list[str]:
    """Stages where the adjudicator decided but no start of reconciliation was recorded
    (merges by older versions of screener brought a copy's resolutions without it): not a
    table edited, but agreement there is cut off at the first adjudicator decision."""
    started = {row["stage"] for row in tables["reconciliations"]}
    out = []
    for row in tables["adjudicated"]:
        if row["stage"] in started:
            continue
        name = Stage(row["stage"]).label.replace("-", " ")
        out.append(
            f"{name}: the adjudicator made {counted(row['decisions'], 'decision')} there "
            f"(the first at seq {row['first_seq']} of the decision log) but no start of its "
            "reconciliation was recorded (a merge by an older screener brought resolutions "
            "from a copy without it): blinding ended at that first decision, so agreement "
            f"at {name} uses the decisions as they stood just before it, and those made or "
            "changed after it count as made unblinded")
    return out


def _not_retrieved(tables: dict[str, Any], events: list[LogEvent]) -> list[str]:
    marked: set[int] = set()
    for e in events:
        if e.record_id is None:
            continue
        if e.kind == "report_not_retrieved":
            marked.add(e.record_id)
        elif e.kind == "report_sought_again":
            marked.discard(e.record_id)
    table = set(tables["not_retrieved"])
    problems = []
    if table - marked:
        problems.append(f"reports marked not retrieved without an event: records "
                        f"{', '.join(map(str, sorted(table - marked)))}")
    if marked - table:
        problems.append(f"reports the events mark not retrieved are not marked: records "
                        f"{', '.join(map(str, sorted(marked - table)))}")
    return problems


def _allocations(tables: dict[str, Any], events: list[LogEvent]) -> list[str]:
    pairs, problems = _paired(
        tables["allocations"], _by(events, "allocation"), "run_id",
        lambda e: e.details.get("run_id"),
        lambda run: f"allocation run {run['run_id']} has no event",
        lambda k, e: f"allocation run {k} of event {e.seq} is missing")
    for run, event in pairs:
        for field in ("kind", "seed", "overlap", "reviewers", "records"):
            if event.details.get(field) != run[field]:
                problems.append(f"allocation run {run['run_id']}: {field} is {run[field]!r} "
                                f"but event {event.seq} recorded "
                                f"{event.details.get(field)!r}")
    return problems


def _undo_links(tables: dict[str, Any]) -> list[str]:
    """`undoes_id` decides which decisions stand but is not in a row's hash: an undo row
    ('undone') must withdraw an earlier decision of the same reviewer on the same record
    and stage, and no other row may withdraw anything."""
    rows = {r[0]: r for r in tables["decisions"]}
    problems = []
    for decision_id, label, undoes, record_id, reviewer_id, stage in rows.values():
        if undoes is None:
            if label == "undone":
                problems.append(f"decision {decision_id} is an undo that withdraws nothing")
            continue
        target = rows.get(undoes)
        if label != "undone":
            problems.append(f"decision {decision_id} ({label}) is marked as withdrawing "
                            f"decision {undoes}: only an undo row withdraws a decision")
        elif target is None or target[1] == "undone" or target[0] >= decision_id or (
                target[3], target[4], target[5]) != (record_id, reviewer_id, stage):
            problems.append(f"undo {decision_id} withdraws decision {undoes}, which is not an "
                            "earlier decision of the same reviewer on the same record")
    return problems


def _rankings(tables: dict[str, Any]) -> list[str]:
    from screener.ranking.config import sha256_of

    return [f"ranking {ranking_id}: its model configuration does not hash to the "
            f"configuration hash stored with it ({config_hash[:12]}...), which the "
            "decision log records: the configuration was edited"
            for ranking_id, config, config_hash in tables["rankings"]
            if sha256_of(config) != config_hash]


RESTORE = f"Restore review.db from a backup: {RESTORE_STEPS}"


def database_damage(review: Review) -> str | None:
    """What SQLite's integrity check finds wrong in a SQLite review's file (a copy torn
    while it was written: an index missing rows), in words; None when it is sound, and on
    PostgreSQL. The hash chains cannot see this: the rows they hash may all be there while
    an index that queries use has lost some."""
    problems = review.db.integrity_problems()
    if not problems:
        return None
    shown = "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "")
    return f"the database file {review.db.sqlite_path} is damaged ({shown})"


def check_tables(review: Review) -> list[str]:
    """Every disagreement between the review's tables and its event log (or what decision
    rows and rankings say of themselves), in words; [] when they agree."""
    return table_findings(review)[0]


def table_findings(review: Review) -> tuple[list[str], list[str]]:
    """`check_tables`'s problems, and the warnings: what is no disagreement but changes
    what the figures mean (`_reconciliation_warnings`)."""
    with review.read() as session:
        tables = repo.audit_tables(session)
        events = [e for e, _ in repo.event_log(session)]
        tables["records_sha256"] = {s["id"]: repo.source_records_digest(session, s["id"])
                                    for s in tables["sources"]}
    if events and not _by(events, "protocol_version") and all(
            e.kind == "allocation" and e.details.get("kind") == "offline"
            for e in events[:1]):
        # an offline copy (`export-reviewer`): its records, protocol and reports were copied
        # from the review without the review's events; check those in the review
        return (_allocations(tables, events) + _undo_links(tables) + _rankings(tables)), []
    return (_sources(tables, events) + _protocols(tables, events)
            + _duplicates(tables, events) + _reconciliations(tables, events)
            + _not_retrieved(tables, events) + _allocations(tables, events)
            + _undo_links(tables) + _rankings(tables)), _reconciliation_warnings(tables)
