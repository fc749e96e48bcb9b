"""The event log on both databases: what changes a review besides decisions (protocol
versions, imports, duplicates, allocations, the end of blinding, not-retrieved marks,
offline copies) is in a hash chain that `log verify` checks, and a review made before the
event log gets its past events on upgrade."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from screener.core.audit import EVENT_KINDS, describe_event
from screener.core.decisions import Label, Stage
from screener.storage import repo
from screener.workflow.importing import (
    deduplicate,
    import_file,
    redo_duplicate_cluster,
    undo_duplicate_cluster,
)
from screener.workflow.reporting import (
    export_events,
    list_events,
    verify_event_log,
    verify_log_file,
)
from screener.workflow.review import Review, amend_protocol, open_review
from screener.workflow.screening import (
    mark_not_retrieved,
    record_decision,
    unmark_not_retrieved,
)
from screener.workflow.team import allocate, export_reviewer, list_conflicts, merge

DATA = Path(__file__).resolve().parents[1] / "data"
PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"
ADJ = "Adjudicator"
TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT


def _csv(path: Path, titles: list[str]) -> Path:
    rows = ["record_id,title,abstract,doi"] + [
        f"{i},{t},Abstract about {t.lower()},10.1000/{t.replace(' ', '').lower()}"
        for i, t in enumerate(titles, start=1)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _kinds(review: Review) -> list[str]:
    return [event.kind for event, _ in list_events(review)]


def _dual_review_with_history(make_review: Callable[..., Any], tmp_path: Path) -> Review:
    """A blind dual review taken through imports, dedup, allocation, unblinding, full text
    and a not-retrieved mark and its undo."""
    review = make_review("dual-screening.yaml")
    import_file(review, _csv(tmp_path / "a.csv", ["Ketamine trial one", "Ketamine trial two",
                                                  "Esketamine trial three"]))
    import_file(review, _csv(tmp_path / "b.csv", ["Ketamine trial one"]), source="Embase")
    assert deduplicate(review).removed == 1
    allocate(review, ["ann", "bob"], 1.0, seed=3)
    with review.read() as s:
        ids = sorted(r.id for r in repo.get_records(s) if r.id not in
                     repo.removed_duplicate_ids(s))
    for rid in ids:
        record_decision(review, rid, "ann", Label.INCLUDE)
        record_decision(review, rid, "bob", Label.INCLUDE)
    list_conflicts(review, TA, ADJ)                          # blinding ends at title/abstract
    mark_not_retrieved(review, ids[0], ADJ)
    unmark_not_retrieved(review, ids[0], ADJ)
    mark_not_retrieved(review, ids[1], ADJ)
    return review


def test_events_record_the_review_history_in_order(make_review: Callable[..., Any],
                                                   tmp_path: Path) -> None:
    review = _dual_review_with_history(make_review, tmp_path)
    events = [event for event, _ in list_events(review)]
    assert [e.kind for e in events] == [
        "protocol_version", "records_imported", "records_imported", "duplicates_removed",
        "allocation", "reconciliation_started", "report_not_retrieved",
        "report_sought_again", "report_not_retrieved"]
    by_kind = {e.kind: e for e in events}
    imported = [e for e in events if e.kind == "records_imported"]
    assert [(e.details["file"], e.details["records"], e.details["source"])
            for e in imported] == [("a.csv", 3, "a"), ("b.csv", 1, "Embase")]
    assert len(imported[0].details["sha256"]) == 64
    assert by_kind["duplicates_removed"].details["removed"] == 1
    alloc = by_kind["allocation"]
    assert (alloc.stage, alloc.details["reviewers"], alloc.details["seed"],
            alloc.details["records"]) == ("title_abstract", ["ann", "bob"], 3, 3)
    unblind = by_kind["reconciliation_started"]
    assert (unblind.actor, unblind.stage) == (ADJ, "title_abstract")
    marks = [(e.kind, e.record_id, e.actor) for e in events
             if e.kind.startswith("report_")]
    assert [m[0] for m in marks] == ["report_not_retrieved", "report_sought_again",
                                     "report_not_retrieved"]
    assert {m[2] for m in marks} == {ADJ} and marks[0][1] == marks[1][1] != marks[2][1]
    times = [e.time for e in events]
    assert times == sorted(times)
    ok = verify_event_log(review)
    assert ok.ok and ok.rows == len(events) and ok.events


def test_amendment_dedup_undo_and_redo_are_events(make_review: Callable[..., Any],
                                                  tmp_path: Path, db_url: str | None) -> None:
    review = make_review()
    import_file(review, _csv(tmp_path / "a.csv", ["Ketamine trial one", "Ketamine trial one"]))
    deduplicate(review)
    undo_duplicate_cluster(review, 1)
    redo_duplicate_cluster(review, 1)
    amended = tmp_path / "v2.yaml"
    amended.write_text((PROTOCOLS / "minimal.yaml").read_text(encoding="utf-8")
                       + "\n# v2\n", encoding="utf-8")
    amend_protocol(review, amended, "widened the population")
    events = [e for e, _ in list_events(review)]
    assert [e.kind for e in events] == [
        "protocol_version", "records_imported", "duplicates_removed", "duplicates_restored",
        "duplicates_removed", "protocol_version"]
    who = {"account": getpass.getuser()}                         # no reviewer: who ran it
    if db_url:  # and on PostgreSQL, the role the server authenticated
        from sqlalchemy.engine import make_url

        who["database_role"] = str(make_url(db_url).username)
    assert events[3].details == {"cluster": 1, "records": 1,
                                 "record_ids": [2], "separated": [[1, 2]], **who}
    assert describe_event(events[3]).endswith(
        f"(account {getpass.getuser()}"
        + (f", database role {who['database_role']})" if db_url else ")"))
    assert events[4].details["redo_of"] == 1
    assert events[5].details["version"] == 2
    assert events[5].details["reason"] == "widened the population"
    assert "widened the population" in describe_event(events[5])
    assert verify_event_log(review).ok
    from screener.workflow.audit_check import check_tables

    assert check_tables(review) == []     # removed, restored, merged again: replayed alike


def test_event_log_verify_catches_edit_removal_and_a_cut_end(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = _dual_review_with_history(make_review, tmp_path)
    n = len(list_events(review))
    # the newest event removed, the head on the review row left as it was
    with review.transaction() as s:
        last = s.execute(text(f"SELECT * FROM events WHERE seq = {n}")).mappings().one()
        s.execute(text(f"DELETE FROM events WHERE seq = {n}"))
    check = verify_event_log(review)
    assert not check.ok and f"review records {n}" in check.problem
    assert "removed from the end" in check.problem
    with review.transaction() as s:
        s.execute(text("INSERT INTO events (id, seq, kind, actor, stage, record_id, details, "
                       "created_at, row_hash) VALUES (:id, :seq, :kind, :actor, :stage, "
                       ":record_id, :details, :created_at, :row_hash)"), dict(last))
    assert verify_event_log(review).ok
    # who ended blinding, rewritten
    with review.transaction() as s:
        s.execute(text("UPDATE events SET actor = 'ann' WHERE kind = 'reconciliation_started'"))
    check = verify_event_log(review)
    assert not check.ok and "reconciliation_started" in check.problem
    assert "edited" in check.problem
    with review.transaction() as s:
        s.execute(text(f"UPDATE events SET actor = '{ADJ}' "
                       "WHERE kind = 'reconciliation_started'"))
    assert verify_event_log(review).ok
    # a not-retrieved mark deleted from the middle
    with review.transaction() as s:
        s.execute(text("DELETE FROM events WHERE seq = 7"))
    check = verify_event_log(review)
    assert not check.ok and "event 7 was expected: event 7 removed" in check.problem


def test_exported_event_log_verifies_alone_and_against_the_review(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = _dual_review_with_history(make_review, tmp_path)
    path, n = export_events(review, "jsonl", tmp_path / "events.jsonl")
    check = verify_log_file(path)
    assert check.ok and check.events and check.rows == n
    assert verify_log_file(path, review).ok
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")   # cut the last event
    assert verify_log_file(path).ok                                    # alone: cannot tell
    against = verify_log_file(path, review)
    assert not against.ok and "rows cut off the end of the file" in against.problem
    edited = json.loads(lines[4])
    edited["details"]["records"] += 1
    lines[4] = json.dumps(edited)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    check = verify_log_file(path)
    assert not check.ok and check.problem.startswith("row 5: ")
    csv_path, _ = export_events(review, "csv", tmp_path / "events.csv")
    header = csv_path.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("seq,kind,actor,time") and "description" in header


def test_offline_copy_and_merge_are_events_and_a_tampered_copy_is_refused(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    import sqlite3

    from screener.workflow.review import ReviewError

    review = make_review("dual-screening.yaml")
    import_file(review, _csv(tmp_path / "a.csv", ["One trial", "Two trial", "Three trial"]))
    export_reviewer(review, "bob", tmp_path / "bob")
    with review.read() as s:
        first = min(r.id for r in repo.get_records(s))
    with open_review(tmp_path / "bob") as copy:
        record_decision(copy, first, "bob", Label.EXCLUDE)
        assert [e.kind for e, _ in list_events(copy)] == [
            "allocation", "allocation"]                     # the copy's own restriction
    db = sqlite3.connect(tmp_path / "bob" / "review.db")
    db.execute("UPDATE events SET details = replace(details, '\"seed\":0', '\"seed\":1')")
    db.commit()
    db.close()
    with pytest.raises(ReviewError, match="event log of .* does not verify"):
        merge(review, tmp_path / "bob")
    db = sqlite3.connect(tmp_path / "bob" / "review.db")
    db.execute("UPDATE events SET details = replace(details, '\"seed\":1', '\"seed\":0')")
    db.commit()
    db.close()
    assert merge(review, tmp_path / "bob").added == 1
    events = [e for e, _ in list_events(review)]
    assert [e.kind for e in events][-2:] == [
        "offline_copy_made", "offline_copy_merged"]
    made = events[-2]                          # for bob, run by whoever ran the command
    assert (made.actor, made.details["reviewer"], made.details["records"]) == (
        "", "bob", 3)
    assert made.details["account"] == getpass.getuser()
    assert events[-1].details["decisions"] == 1
    with review.read() as s:
        last = repo.decision_log(s)[-1]
    assert (events[-1].details["first_seq"], events[-1].details["last_seq"]) == (
        last.seq, last.seq)                           # where the merged rows sit
    assert verify_event_log(review).ok


def test_every_event_kind_is_described_in_words() -> None:
    from screener.core.audit import LogEvent

    for kind in EVENT_KINDS:
        event = LogEvent(seq=1, kind=kind, actor="ann", time="2026-11-27T10:00:00.000000Z",
                         stage="full_text", record_id=5, details={})
        words = describe_event(event)
        assert not words.startswith(f"{kind}:"), kind         # its own sentence, not a dump


def test_a_review_from_before_the_event_log_gets_its_past_events(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """Downgrade a review to revision 0004 (no event log), reopen it: the upgrade writes
    the events the tables still show, marked as recorded by the migration, and they verify."""
    from alembic import command

    from screener.storage.engine import _alembic_config

    review = _dual_review_with_history(make_review, tmp_path)
    url = review.db.url
    config = _alembic_config()
    with review.db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
    folder = review.folder
    review.close()
    reopened = open_review(folder, None if url.startswith("sqlite") else url)
    try:
        events = [e for e, _ in list_events(reopened)]
        kinds = [e.kind for e in events]
        assert kinds == ["protocol_version", "records_imported", "records_imported",
                         "duplicates_removed", "allocation", "reconciliation_started",
                         "report_not_retrieved"]        # the mark taken back left no trace
        assert all(e.details["recorded_by"] == "migration 0005"
                   for e in events)
        unblind = events[5]
        assert (unblind.actor, unblind.stage) == (ADJ, "title_abstract")
        assert events[4].details["reviewers"] == ["ann", "bob"]
        assert verify_event_log(reopened).ok
        from screener.workflow.audit_check import check_tables

        assert check_tables(reopened) == []      # the backfilled events agree with the tables
        mark_not_retrieved(reopened, _other(reopened), ADJ)
        assert verify_event_log(reopened).ok and len(list_events(reopened)) == 8
    finally:
        reopened.close()


def _other(review: Review) -> int:
    """A record that passed title/abstract and whose report is still sought."""
    with review.read() as s:
        status = repo.reports(s)
    return min(rid for rid, st in status.items() if st.value == "sought")


TAMPERING = [
    ("INSERT INTO duplicate_links (cluster, record_id, kept_id, method, score, created_at) "
     "VALUES (9, 2, 3, 'fuzzy', 0.91, '2026-11-27 16:05:50')",
     "2 records stand removed as duplicates, but the events removed 1"),
    ("UPDATE duplicate_links SET record_id = 3, kept_id = 2",   # same count, other study
     "the standing duplicate links differ from those the events made (record 3 as a copy of "
     "2, record"),
    ("UPDATE records SET title = 'Another trial' WHERE id = 1",   # the included-study list
     "source 1: its records' titles, abstracts, authors, years, journals or ids differ"),
    ("UPDATE sources SET name = 'CINAHL' WHERE id = 2",
     "source 2: name is 'CINAHL' but its import (event 3) recorded 'Embase'"),
    ("UPDATE protocol_versions SET created_at = '2020-01-01 00:00:00'",
     "protocol version 1 is dated 2020-01-01T00:00:00.000000Z"),
    ("UPDATE protocol_versions SET yaml_text = yaml_text || ' '",
     "its text does not hash to the sha256 stored with it"),
    ("UPDATE reconciliations SET started_at = '2020-01-01 00:00:00'",
     "reconciliation of title_abstract is recorded as started by 'Adjudicator' at 2020"),
    ("UPDATE reports SET status = 'not_retrieved'",
     "reports marked not retrieved without an event"),
    ("UPDATE allocation_runs SET overlap = 0.5", "allocation run 1: overlap is 0.5"),
    ("UPDATE decisions SET undoes_id = 3 WHERE id = 1",
     "decision 1 (include) is marked as withdrawing decision 3"),
    ("UPDATE rankings SET config = '{\"C\": 1}'",
     "its model configuration does not hash to the configuration hash"),
]


@pytest.mark.parametrize(("sql", "found"), TAMPERING)
def test_log_verify_finds_tables_changed_behind_the_event_log(
        make_review: Callable[..., Any], tmp_path: Path, sql: str, found: str) -> None:
    """The chains cover their own rows; the figures come from other tables, which must
    agree with the events that changed them (an inserted duplicate link took an included
    study out of a final diagram, with both chains verifying)."""
    from screener.workflow.audit_check import check_tables
    from screener.workflow.ranking import refresh_ranking

    review = _dual_review_with_history(make_review, tmp_path)
    refresh_ranking(review, "ann")
    assert check_tables(review) == []
    with review.transaction() as s:
        s.execute(text(sql))
    problems = check_tables(review)
    assert any(found in p for p in problems), problems
    assert verify_event_log(review).ok          # the chain alone does not see it


def test_event_counts_in_words_have_thousands_separators() -> None:
    """An import of 12,345 records reads "12,345 records", as the report writes counts."""
    from screener.core.audit import LogEvent

    event = LogEvent(seq=1, kind="records_imported", actor="ann",
                     time="2026-11-27T10:00:00.000000Z", stage="", record_id=None,
                     details={"records": 12345, "source_id": 1, "source": "pubmed"})
    assert "12,345 records" in describe_event(event)
    one = LogEvent(seq=2, kind="duplicates_removed", actor="ann",
                   time="2026-11-27T10:00:00.000000Z", stage="", record_id=None,
                   details={"removed": 1})
    assert describe_event(one).startswith("1 record removed as a duplicate")
