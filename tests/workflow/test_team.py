"""Team screening on both databases: conflict rules per protocol setting, blinding on every
face, resolution, allocation, claims, agreement, and the offline export/merge round trip."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from screener.core.audit import describe_event, iso_utc
from screener.core.decisions import Decision, Label, ReportStatus, Role, Stage
from screener.core.outcomes import is_conflict
from screener.core.protocol import ScreeningMode
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.progress import progress
from screener.workflow.ranking import training_labels
from screener.workflow.reporting import prisma_counts
from screener.workflow.review import (
    Amendment,
    Review,
    ReviewError,
    amend_protocol,
    create_review,
    open_review,
)
from screener.workflow.screening import ScreeningSession, record_decision
from screener.workflow.status import format_status, status
from screener.workflow.team import (
    Allocated,
    BlindingError,
    RecordTaken,
    agreement,
    allocate,
    allocated_ids,
    conflicts_can_arise,
    export_reviewer,
    list_conflicts,
    merge,
    parse_share,
    plan_allocation,
    reconciliation_started,
    resolve,
    visible_decisions,
)

PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"
TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
INC, EXC, MAY = Label.INCLUDE, Label.EXCLUDE, Label.MAYBE
ADJ = "Adjudicator"


def add(review: Review, n: int) -> list[int]:
    with review.transaction() as s:
        source = repo.add_source(s, name="Test", kind="database")
        return repo.add_records(s, source, [Record(title=f"Record {i}") for i in range(n)])


def _mine(allocated: Allocated | None) -> set[int]:
    """The records allocated to a reviewer (none without an allocation)."""
    return set(allocated.mine) if allocated is not None else set()


def custom_review(tmp_path: Path, db_url: str | None, name: str = "rev",
                  **screening: Any) -> Review:
    """A review from protocols/dual-screening.yaml with screening settings changed."""
    data = yaml.safe_load((PROTOCOLS / "dual-screening.yaml").read_text())
    conflicts = data["screening"].setdefault("conflicts", {})
    for key in ("maybe_vs_exclude", "reason_mismatch_full_text"):
        if key in screening:
            conflicts[key] = screening.pop(key)
    data["screening"].update(screening)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return create_review(tmp_path / name, path, db_url)


def decide(review: Review, rid: int, who: str, label: Label, stage: Stage = TA,
           reason: str | None = None) -> Decision:
    return record_decision(review, rid, who, label, stage=stage, reason_id=reason)


def amend_to_dual(review: Review, tmp_path: Path, reason: str, *, blind: bool) -> Amendment:
    """Amend a review made from protocols/minimal.yaml to dual screening with `ADJ`."""
    data = yaml.safe_load((PROTOCOLS / "minimal.yaml").read_text(encoding="utf-8"))
    data["screening"] = {"mode": "dual", "reviewers_per_record": 2, "blind": blind,
                         "adjudicator": ADJ}
    dual = tmp_path / "dual.yaml"
    dual.write_text(yaml.safe_dump(data), encoding="utf-8")
    return amend_protocol(review, dual, reason)


def chain_ok(review: Review) -> bool:
    with review.transaction() as s:
        return bool(repo.verify_log(s).ok)


# --- conflict rules -------------------------------------------------------------------

def d(label: Label, stage: Stage = TA, reason: str | None = None, who: str = "a") -> Decision:
    return Decision(record_id=1, reviewer=who, stage=stage, label=label, reason_id=reason)


@pytest.mark.parametrize(("maybe_vs_exclude", "reason_mismatch"),
                         [(True, False), (False, False), (True, True), (False, True)])
def test_conflict_rules_for_each_protocol_setting(maybe_vs_exclude: bool,
                                                  reason_mismatch: bool) -> None:
    mode = ScreeningMode(reviewers_per_record=2, maybe_vs_exclude_is_conflict=maybe_vs_exclude,
                         reason_mismatch_is_conflict=reason_mismatch)
    assert is_conflict(d(INC), d(EXC, who="b"), mode)
    assert is_conflict(d(EXC), d(INC, who="b"), mode)
    assert is_conflict(d(MAY), d(EXC, who="b"), mode) is maybe_vs_exclude
    assert not is_conflict(d(INC), d(MAY, who="b"), mode)
    assert not is_conflict(d(INC), d(INC, who="b"), mode)
    ft_a, ft_b = d(EXC, FT, "population"), d(EXC, FT, "design", who="b")
    assert is_conflict(ft_a, ft_b, mode) is reason_mismatch
    assert not is_conflict(ft_a, d(EXC, FT, "population", who="b"), mode)
    # reasons never make a conflict at title/abstract
    assert not is_conflict(d(EXC, TA, "population"), d(EXC, TA, "design", who="b"), mode)


@pytest.mark.parametrize("maybe_vs_exclude", [True, False])
def test_list_conflicts_follows_maybe_vs_exclude(tmp_path: Path, db_url: str | None,
                                                 maybe_vs_exclude: bool) -> None:
    with custom_review(tmp_path, db_url, maybe_vs_exclude=maybe_vs_exclude) as review:
        r1, r2, r3, r4 = add(review, 4)
        for rid, a, b in [(r1, INC, EXC), (r2, MAY, EXC), (r3, INC, MAY), (r4, EXC, EXC)]:
            decide(review, rid, "ann", a)
            decide(review, rid, "bob", b)
        found = list_conflicts(review, TA, ADJ)
        assert [c.record_id for c in found] == ([r1, r2] if maybe_vs_exclude else [r1])
        first = found[0]
        assert first.title == "Record 0"
        assert [(v.reviewer, v.label) for v in first.votes] == [("ann", INC), ("bob", EXC)]


@pytest.mark.parametrize("reason_mismatch", [True, False])
def test_full_text_reason_mismatch_setting(tmp_path: Path, db_url: str | None,
                                           reason_mismatch: bool) -> None:
    with custom_review(tmp_path, db_url, reason_mismatch_full_text=reason_mismatch) as review:
        (rid,) = add(review, 1)
        decide(review, rid, "ann", INC)
        decide(review, rid, "bob", INC)
        assert list_conflicts(review, TA, ADJ) == []  # starts reconciliation: full text opens
        decide(review, rid, "ann", EXC, FT, "population")
        decide(review, rid, "bob", EXC, FT, "design")
        found = list_conflicts(review, FT, ADJ)
        assert [(c.record_id, c.stage) for c in found] == ([(rid, FT)] if reason_mismatch else [])
        if reason_mismatch:
            assert [(v.label, v.reason_id) for v in found[0].votes] == [
                (EXC, "population"), (EXC, "design")]
        else:  # allowed, but PRISMA shows one reason: the notes say which and where
            from screener.workflow.reporting import prisma_counts

            result = prisma_counts(review)
            assert result.counts.reports_excluded_reasons == (("Wrong population", 1),)
            assert (f"1 full-text report was excluded by both reviewers for different "
                    f"reasons; the diagram counts the reason of the reviewer who decided first (record {rid})"
                    ) in result.notes


def _excluded_for_two_reasons(review: Review) -> int:
    """A record ann and bob included at title/abstract (reconciled) and then excluded at
    full text, ann first (wrong population), bob then (wrong design)."""
    (rid,) = add(review, 1)
    decide(review, rid, "ann", INC)
    decide(review, rid, "bob", INC)
    assert list_conflicts(review, TA, ADJ) == []
    decide(review, rid, "ann", EXC, FT, "population")
    decide(review, rid, "bob", EXC, FT, "design")
    return rid


def test_the_reason_counted_is_that_of_the_reviewer_who_decided_first(
        tmp_path: Path, db_url: str | None) -> None:
    """Two reviewers excluded a report for different reasons: the diagram counts the reason
    of the reviewer who decided first, as its note says. It counted the reason of the
    reviewer whose current decision was the oldest, so when ann, who decided first, added a
    note to her decision, the diagram switched to bob's reason, its note unchanged."""
    from screener.workflow.reporting import prisma_counts

    with custom_review(tmp_path, db_url, reason_mismatch_full_text=False) as review:
        rid = _excluded_for_two_reasons(review)
        before = prisma_counts(review)
        record_decision(review, rid, "ann", EXC, stage=FT, reason_id="population",
                        note="animal study")
        after = prisma_counts(review)
        for result in (before, after):
            assert result.counts.reports_excluded_reasons == (("Wrong population", 1),)
            assert (f"the diagram counts the reason of the reviewer who decided first "
                    f"(record {rid})") in " ".join(result.notes)


def test_the_reviewer_who_decided_first_stays_first_after_a_reassign(
        tmp_path: Path, db_url: str | None) -> None:
    """`reassign --from ann --to anna` writes anna's copy of ann's decision at the end of
    the log: the diagram switched to bob's reason though ann (now anna) assessed the
    report first."""
    from screener.workflow.reassign import reassign

    with custom_review(tmp_path, db_url, reason_mismatch_full_text=False) as review:
        _excluded_for_two_reasons(review)
        assert prisma_counts(review).counts.reports_excluded_reasons == (
            ("Wrong population", 1),)
        reassign(review, "ann", "anna", stage=FT)
        assert prisma_counts(review).counts.reports_excluded_reasons == (
            ("Wrong population", 1),)


def test_a_decision_made_first_in_an_offline_copy_is_first_once_merged(
        tmp_path: Path, db_url: str | None) -> None:
    """bob excluded the report in his offline copy before ann did in the review: merged
    after ann's, his decision stood later in the log and ann's reason was counted."""
    with custom_review(tmp_path, db_url, reason_mismatch_full_text=False) as review:
        (rid,) = add(review, 1)
        decide(review, rid, "ann", INC)
        decide(review, rid, "bob", INC)
        assert list_conflicts(review, TA, ADJ) == []
        export_reviewer(review, "bob", tmp_path / "bob")
        with open_review(tmp_path / "bob") as copy:
            decide(copy, rid, "bob", EXC, FT, "design")
        decide(review, rid, "ann", EXC, FT, "population")
        assert merge(review, tmp_path / "bob").added == 1
        assert prisma_counts(review).counts.reports_excluded_reasons == (
            ("Wrong study design", 1),)


def test_the_note_on_two_reasons_names_the_rule_in_force_after_an_amendment_to_single(
        tmp_path: Path, db_url: str | None, amend_to_single: Callable[..., None]) -> None:
    """Amended from dual to single screening, a record two reviewers excluded for
    different reasons is counted with the latest decision's reason (the rule of the
    protocol in force); the note used to say 'the reviewer who decided first'."""
    from screener.workflow.reporting import prisma_counts

    with custom_review(tmp_path, db_url, reason_mismatch_full_text=False) as review:
        rid = _excluded_for_two_reasons(review)
        assert prisma_counts(review).counts.reports_excluded_reasons == (
            ("Wrong population", 1),)
        amend_to_single(review, "one reviewer from now on")
        result = prisma_counts(review)
        assert result.counts.reports_excluded_reasons == (("Wrong study design", 1),)
        assert (f"1 full-text report was excluded by both reviewers for different reasons; "
                f"the diagram counts the reason of the reviewer who decided last (record {rid})"
                ) in result.notes
        assert not any("decided first" in note for note in result.notes)


# --- blinding -------------------------------------------------------------------------

def test_blinding_on_every_face_until_reconciliation(make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    r1, r2, r3 = add(review, 3)
    decide(review, r1, "ann", INC)
    decide(review, r1, "bob", EXC)
    decide(review, r2, "ann", MAY)
    decide(review, r2, "bob", INC)       # agreed: outcome include, would reveal bob's label
    decide(review, r3, "bob", EXC)
    # status
    data = status(review, "ann")
    assert data["blind"] is True
    assert {x["reviewer"] for x in data["decisions"]} == {"ann"}
    assert data["outcomes"] == {}
    # ranking training labels: ann's own only (r2 stays out: maybe is not a training label)
    with review.transaction() as s:
        assert training_labels(review, s, "ann") == {r1: 1}
        assert training_labels(review, s, "bob") == {r1: 0, r2: 1, r3: 0}
    # decision log for exports and the UI
    assert {x.reviewer for x in visible_decisions(review, "ann")} == {"ann"}
    assert visible_decisions(review, None) == []
    assert {x.record_id for x in visible_decisions(review, "bob", current=True)} == {r1, r2, r3}
    # conflicts and agreement refuse
    for viewer in (None, "ann", "bob"):
        with pytest.raises(BlindingError):
            list_conflicts(review, TA, viewer)
    with pytest.raises(BlindingError):
        agreement(review, TA)
    assert agreement(review).pairs == () and TA in agreement(review).hidden_stages
    # the UI's own-decisions view
    assert set(ScreeningSession(review, "ann").my_decisions()) == {r1, r2}
    # which records reach full text is the combined outcome: the stage, its size, the
    # reports and the PRISMA / report counts stay closed
    with pytest.raises(BlindingError, match="full-text stage opens once"):
        ScreeningSession(review, "bob", FT)
    with pytest.raises(BlindingError):
        record_decision(review, r2, "bob", INC, stage=FT)
    assert data["stages"]["full_text"] is None and data["reports"] is None
    from screener.workflow.reporting import export_prisma, write_report

    with pytest.raises(BlindingError, match="PRISMA counts"):
        export_prisma(review, "json", review.folder / "p.json")
    with pytest.raises(BlindingError):
        write_report(review, review.folder / "r.md")
    assert not (review.folder / "p.json").exists() and not (review.folder / "r.md").exists()
    assert not reconciliation_started(review)

    # the adjudicator lists the conflicts: reconciliation starts, blinding ends
    assert [c.record_id for c in list_conflicts(review, TA, ADJ)] == [r1]
    assert reconciliation_started(review, TA) and not reconciliation_started(review, FT)
    assert status(review, "ann")["blind"] is False
    assert {x["reviewer"] for x in status(review, "ann")["decisions"]} == {"ann", "bob"}
    assert {x.reviewer for x in visible_decisions(review, "ann")} == {"ann", "bob"}
    assert [c.record_id for c in list_conflicts(review, TA, "ann")] == [r1]
    assert len(agreement(review, TA).pairs) == 1
    with review.transaction() as s:
        assert training_labels(review, s, "ann")[r2] == 1
    assert ScreeningSession(review, "bob", FT).total == 1  # r2, agreed (maybe + include)
    assert status(review, "ann")["stages"]["full_text"] == 1


def test_full_text_stays_blind_after_title_abstract_reconciliation(
        make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    (rid,) = add(review, 1)
    decide(review, rid, "ann", INC)
    decide(review, rid, "bob", INC)
    list_conflicts(review, TA, ADJ)
    decide(review, rid, "ann", EXC, FT, "population")
    decide(review, rid, "bob", INC, FT)
    assert {(x.reviewer, x.stage) for x in visible_decisions(review, "ann")} == {
        ("ann", TA), ("bob", TA), ("ann", FT)}
    with pytest.raises(BlindingError):
        list_conflicts(review, FT, "ann")


def test_single_mode_is_not_blind(make_review: Callable[..., Any]) -> None:
    review = make_review()
    (rid,) = add(review, 1)
    decide(review, rid, "ann", INC)
    assert [x.reviewer for x in visible_decisions(review, "bob")] == ["ann"]
    assert list_conflicts(review, TA) == []


def test_conflicts_can_arise_only_where_a_record_needs_two_screeners(
        make_review: Callable[..., Any]) -> None:
    # single screening with several screeners: each record is settled by the first decision
    review = make_review()
    ids = add(review, 10)
    decide(review, ids[0], "ann", INC)
    with pytest.raises(ReviewError, match="already settled"):
        decide(review, ids[0], "bob", EXC)
    assert list_conflicts(review, TA) == []
    assert not conflicts_can_arise(review, TA)
    # an allocation with overlap makes some records dual: they can be in conflict
    result = allocate(review, ["ann", "bob"], 0.2, seed=3, new_reviewers=True)
    assert result.double == 2
    assert conflicts_can_arise(review, TA)


def test_conflicts_can_arise_in_dual_screening(make_review: Callable[..., Any]) -> None:
    # (a review of its own: on PostgreSQL a database holds one review)
    assert conflicts_can_arise(make_review("dual-screening.yaml"), TA)


# --- resolution -----------------------------------------------------------------------

def test_resolve_logs_an_adjudicator_decision(make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    r1, r2 = add(review, 2)
    decide(review, r1, "ann", INC)
    decide(review, r1, "bob", EXC)
    decide(review, r2, "ann", EXC)
    decide(review, r2, "bob", EXC)
    with pytest.raises(ReviewError, match="not the adjudicator"):
        resolve(review, r1, "ann", INC)
    with pytest.raises(ReviewError, match="no conflict"):
        resolve(review, r2, ADJ, INC)
    with pytest.raises(ReviewError, match="reason"):
        resolve(review, r1, ADJ, EXC, stage=FT)
    decision = resolve(review, r1, ADJ, INC, note="meets I1")
    assert (decision.reviewer, decision.reviewer_role, decision.label) == (ADJ, Role.ADJUDICATOR, INC)
    assert reconciliation_started(review, TA)
    assert list_conflicts(review, TA, ADJ) == []
    with review.transaction() as s:
        assert repo.reports(s).keys() == {r1}       # included: its full text is sought
        assert repo.decision_log(s)[-1].note == "meets I1"
    # the adjudicator may change the resolution
    resolve(review, r1, ADJ, EXC)
    with review.transaction() as s:
        assert repo.reports(s) == {}
    assert chain_ok(review)


def test_resolve_by_a_screener_says_nothing_about_the_record(
        make_review: Callable[..., Any]) -> None:
    # blind: "no conflict" for one record and "not the adjudicator" for another would
    # tell bob how ann decided each
    review = make_review("dual-screening.yaml")
    agreed, split = add(review, 2)
    for rid, ann_label in ((agreed, INC), (split, MAY)):
        decide(review, rid, "ann", ann_label)
        decide(review, rid, "bob", INC if rid == agreed else EXC)
    messages = set()
    for rid in (agreed, split):
        with pytest.raises(ReviewError) as info:
            resolve(review, rid, "bob", INC)
        messages.add(str(info.value))
    assert len(messages) == 1 and "is not the adjudicator" in messages.pop()


def test_a_name_differing_only_in_case_is_not_a_second_reviewer(
        make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    (rid,) = add(review, 1)
    decide(review, rid, "ann", INC)
    with pytest.raises(ReviewError, match="'ann' is: names are matched exactly"):
        decide(review, rid, "Ann", EXC)
    with pytest.raises(ReviewError, match=f"'{ADJ}' is"):
        decide(review, rid, ADJ.lower(), EXC)  # not a screener called "adjudicator"
    with pytest.raises(ReviewError, match="'ann' is"):
        ScreeningSession(review, " ANN ")
    with review.transaction() as s:
        assert [(d.reviewer, d.label) for d in repo.current_decisions(s)] == [("ann", INC)]


def test_consensus_resolution_names_both_reviewers(tmp_path: Path, db_url: str | None) -> None:
    with custom_review(tmp_path, db_url, resolution="consensus", adjudicator="") as review:
        (rid,) = add(review, 1)
        decide(review, rid, "ann", INC)
        decide(review, rid, "bob", EXC)
        with pytest.raises(BlindingError, match="list the conflicts first"):
            resolve(review, rid, "bob", INC)  # still blind: not even "no conflict" is said
        assert [c.record_id for c in list_conflicts(review, TA, "ann")] == [rid]
        with pytest.raises(ReviewError, match="not one of the screeners"):
            resolve(review, rid, "carl", INC)
        decision = resolve(review, rid, "bob", INC, note="dose unclear, keep")
        assert decision.reviewer_role == Role.ADJUDICATOR
        assert decision.note == "consensus of ann and bob: dose unclear, keep"
        assert list_conflicts(review, TA, "ann") == []


# --- allocation and claims --------------------------------------------------------------

def test_plan_allocation_is_deterministic_with_the_overlap_share() -> None:
    ids = list(range(1, 101))
    plan = plan_allocation(ids, ["A", "B", "C"], 0.2, seed=7)
    assert plan == plan_allocation(ids, ["A", "B", "C"], 0.2, seed=7)
    assert plan != plan_allocation(ids, ["A", "B", "C"], 0.2, seed=8)
    assert sorted(rid for rid, _ in plan) == ids
    assert sum(1 for _, who in plan if len(who) == 2) == 20
    load = {n: sum(n in who for _, who in plan) for n in "ABC"}
    assert max(load.values()) - min(load.values()) <= 1 and sum(load.values()) == 120
    assert parse_share("20%") == parse_share("0.2") == 0.2
    assert parse_share("0.002") == 0.002 and parse_share("1%") == 0.01
    for bad in ("120%", "x", "-1", "0.2%", "1", "20", "nan"):
        with pytest.raises(ReviewError):
            parse_share(bad)
    with pytest.raises(ReviewError):
        plan_allocation(ids, ["A"], 0.1, seed=1)
    with pytest.raises(ReviewError):
        plan_allocation(ids, ["A", "A"], 0.1, seed=1)


def test_allocation_limits_what_next_offers(make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 10)
    result = allocate(review, ["ann", "bob"], 0.2, seed=3)
    assert (result.records, result.double) == (10, 2)
    with review.transaction() as s:
        mine = {n: _mine(allocated_ids(review, s, n)) for n in ("ann", "bob", "carl")}
    assert mine["ann"] | mine["bob"] == set(ids) and len(mine["ann"] & mine["bob"]) == 2
    assert mine["carl"] == set()
    for name in ("ann", "bob"):
        session, seen = ScreeningSession(review, name), set()
        while (item := session.next()) is not None:
            assert item.record.id is not None
            seen.add(item.record.id)
            session.decide(item.record.id, EXC)
        assert seen == mine[name]
    assert ScreeningSession(review, "carl").next() is None
    # single-allocated records are settled by one screener, double ones by two
    data = status(review, ADJ)
    list_conflicts(review, TA, ADJ)
    data = status(review, ADJ)
    assert data["outcomes"]["title_abstract"] == {"exclude": 10}


def test_a_record_the_allocation_does_not_cover_is_open_to_every_screener(
        make_review: Callable[..., Any]) -> None:
    """A duplicate restored by `dedup --undo` after `allocate` was allocated to no one:
    `decide` refused it to each reviewer as 'allocated to other reviewers', `next` offered
    it to none, and status said 0 left for everyone (a helper's run)."""
    from screener.workflow.importing import deduplicate, undo_duplicate_cluster

    review = make_review()
    with review.transaction() as s:
        source = repo.add_source(s, name="Test", kind="database")
        ids = repo.add_records(s, source, [
            Record(title="Ketamine for depression", doi="10.1000/k.1", year=2020),
            Record(title="Ketamine for depression.", doi="10.1000/k.1", year=2020),
            *[Record(title=f"Record {i}") for i in range(4)]])
    assert deduplicate(review).removed == 1  # ids[1], in cluster 1
    allocate(review, ["ann", "bob"], 0.0, seed=3)
    undo_duplicate_cluster(review, 1)  # ids[1] is back, after the allocation
    with review.transaction() as s:
        allocated = {n: _mine(allocated_ids(review, s, n)) for n in ("ann", "bob")}
    assert ids[1] not in allocated["ann"] | allocated["bob"]
    offered = set()
    for name in ("ann", "bob"):
        session = ScreeningSession(review, name)
        while (item := session.next()) is not None:
            assert item.record.id is not None
            offered.add(item.record.id)
            session.decide(item.record.id, EXC)
    assert ids[1] in offered  # screened once, by whoever reached it first
    with pytest.raises(ReviewError, match="allocated to other reviewers"):
        record_decision(review, sorted(allocated["bob"])[0], "ann", INC)  # still bob's


def test_a_reviewer_may_change_her_own_decision_after_a_new_allocation(
        make_review: Callable[..., Any]) -> None:
    """Allocated again after decisions, a record ann had decided went to bob: ann was
    refused ('allocated to other reviewers') and bob too ('already settled by ann'), so the
    decision could not be corrected (a helper's run). A new allocation now leaves every
    decided record with the screeners who decided it."""
    review = make_review()
    add(review, 12)
    allocate(review, ["ann", "bob"], 0.0, seed=1)
    with review.transaction() as s:
        first = _mine(allocated_ids(review, s, "ann"))
    for rid in first:
        record_decision(review, rid, "ann", EXC)
    result = allocate(review, ["ann", "bob", "carl"], 0.0, seed=7, new_reviewers=True)
    with review.transaction() as s:
        assert first <= _mine(allocated_ids(review, s, "ann"))
        assert not first & (_mine(allocated_ids(review, s, "bob"))
                            | _mine(allocated_ids(review, s, "carl")))
    assert result.kept > 0  # the plan alone would have given some of them to others
    rid = min(first)
    assert record_decision(review, rid, "ann", INC).label == INC  # her own: she may change it


def test_a_new_allocation_keeps_a_record_with_the_screeners_who_decided_it(
        make_review: Callable[..., Any]) -> None:
    """Allocated again mid-screening with no overlap, a record alice and bob disagreed on
    went to bob alone: the conflict disappeared, alice's include became the outcome, and
    the methods text said each record had one screener while agreement had n=1."""
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.screening import outcomes

    review = make_review("dual-screening.yaml")
    ids = add(review, 20)
    first = allocate(review, ["alice", "bob"], 1.0, seed=3)
    assert first.replaced is None and first.kept == 0
    bobs = [r for r, who in plan_allocation(ids, ["alice", "bob"], 0.0, 1) if who == ("bob",)]
    rid, half = bobs[:2]   # the new allocation below gives both to bob alone
    decide(review, rid, "bob", EXC)
    decide(review, rid, "alice", INC)
    decide(review, half, "alice", INC)   # bob has not screened it yet
    second = allocate(review, ["alice", "bob"], 0.0, seed=1)
    assert second.replaced is not None and second.kept == 2
    with review.transaction() as s:
        assert rid in _mine(allocated_ids(review, s, "alice"))
        assert rid in _mine(allocated_ids(review, s, "bob"))
        assert half in _mine(allocated_ids(review, s, "alice"))  # still hers, decided
        assert outcomes(review, s, TA)[rid].conflict
    assert second.double == 1 and second.records == 20
    assert sum(second.per_reviewer.values()) == 21
    assert [c.record_id for c in list_conflicts(review, TA, ADJ)] == [rid]
    inputs = build_report_inputs(review)
    # screened so far: rid by both, half by alice; the allocation's plan beside it
    assert inputs.split == ((2, 1), (1, 1)) and inputs.split_plan[0] == ((2, 1), (1, 19))


def test_progress_counts_what_each_reviewer_is_still_offered(
        make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 10)
    allocate(review, ["ann", "bob"], 0.2, seed=3)
    with review.transaction() as s:
        mine = {n: _mine(allocated_ids(review, s, n)) for n in ("ann", "bob")}
    before = progress(review, "ann")
    # the records allocated to bob alone are not ann's to screen
    assert before.not_offered == len(set(ids) - mine["ann"])
    assert before.own_total == len(mine["ann"])
    session = ScreeningSession(review, "ann")
    offered = 0
    while (item := session.next()) is not None:
        assert item.record.id is not None
        session.decide(item.record.id, EXC)
        offered += 1
    after = progress(review, "ann")
    assert offered == before.own_total == after.screened == after.own_total
    assert progress(review, ADJ).not_offered == 0  # the adjudicator is offered nothing


def test_status_says_how_many_records_each_screener_has_left(
        make_review: Callable[..., Any]) -> None:
    review = make_review("minimal.yaml")  # single screening, shared by ann and bob
    ids = add(review, 5)
    # bob opens the review (the UI shows him a record) and has screened nothing yet: he is
    # listed while he holds it (a name that only tried `next` and holds nothing is not)
    assert ScreeningSession(review, "bob").next() is not None
    record_decision(review, ids[0], "ann", INC)
    record_decision(review, ids[1], "ann", EXC, reason_id="design")
    data = status(review)
    rows = {(r["reviewer"], r["stage"]): (r["count"], r["left"]) for r in data["screened"]}
    # ann's two records are settled: neither ann nor bob is offered them again
    assert rows[("ann", "title_abstract")] == (2, 3)
    assert rows[("bob", "title_abstract")] == (0, 3)
    text = format_status(data)
    assert "ann: 2 screened (include 1, exclude 1), 3 left to screen" in text
    assert "bob: 0 screened, 3 left to screen" in text


def test_status_keeps_full_text_blind_after_title_abstract_reconciliation(
        make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 3)
    for rid in ids[:2]:
        for who in ("ann", "bob"):
            record_decision(review, rid, who, INC)
    assert list_conflicts(review, TA, ADJ) == []  # title/abstract reconciliation starts
    record_decision(review, ids[0], "ann", EXC, stage=FT, reason_id="design")
    record_decision(review, ids[1], "ann", INC, stage=FT)
    data = status(review, "bob")
    # ann's full-text labels (and every combined full-text number) stay hidden from bob
    assert not [d for d in data["decisions"] if d["stage"] == "full_text"]
    assert "full_text" not in data["outcomes"] and data["prisma"] is None
    assert data["blind_stages"] == ["full_text"]
    assert "ann: 2 screened (labels hidden (blind))" in format_status(data)
    # title/abstract is open: its labels are shown
    assert {(d["reviewer"], d["label"]) for d in data["decisions"]} == {
        ("ann", "include"), ("bob", "include")}
    assert {(d["stage"], d["label"]) for d in status(review, "ann")["decisions"]
            if d["reviewer"] == "ann"} == {("title_abstract", "include"),
                                           ("full_text", "include"), ("full_text", "exclude")}


def test_log_export_names_the_stage_still_blind_and_keeps_to_one_reviewer(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    from screener.workflow.reporting import export_log

    review = make_review("dual-screening.yaml")
    ids = add(review, 2)
    for who in ("ann", "bob"):
        record_decision(review, ids[0], who, INC)
    record_decision(review, ids[1], "ann", INC)
    record_decision(review, ids[1], "bob", EXC, reason_id="design")
    list_conflicts(review, TA, ADJ)  # title/abstract reconciliation starts
    path, n = export_log(review, "csv", tmp_path / "before.csv")  # nobody at full text yet
    assert n == 4
    record_decision(review, ids[0], "ann", EXC, stage=FT, reason_id="design")  # now blind
    with pytest.raises(ReviewError, match=r"^full-text screening is still blind .*"
                                          r"screener conflicts --stage full_text"):
        export_log(review, "csv", tmp_path / "all.csv")
    path, n = export_log(review, "csv", tmp_path / "bob.csv", viewer="bob")
    assert n == 2 and {row.split(",")[4] for row in path.read_text().splitlines()[1:]} == {"bob"}


def test_full_text_is_not_unblinded_in_advance_and_does_not_hold_back_prisma(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    from screener.workflow.reporting import export_prisma

    review = make_review("dual-screening.yaml")
    ids = add(review, 2)
    for who in ("ann", "bob"):
        record_decision(review, ids[0], who, INC)
        record_decision(review, ids[1], who, EXC, reason_id="design")
    list_conflicts(review, TA, ADJ)
    # nobody has screened full text: PRISMA is available (marked as a draft) ...
    path, result = export_prisma(review, "svg", tmp_path / "p.svg")
    assert result.counts.reports_sought == 1 and "DRAFT" in path.read_text()
    # ... and listing full-text conflicts now does not start reconciliation there
    assert list_conflicts(review, FT, ADJ) == []
    record_decision(review, ids[0], "ann", EXC, stage=FT, reason_id="design")
    assert not [d for d in status(review, "bob")["decisions"] if d["stage"] == "full_text"]
    with pytest.raises(ReviewError, match="full-text screening is still blind"):
        export_prisma(review, "svg", tmp_path / "q.svg")


def test_allocating_after_screening_keeps_full_text_in_step(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.reporting import prisma_counts

    review = make_review()  # single screening: one include settles a record
    ids = add(review, 4)
    for rid in ids[:3]:
        decide(review, rid, "ann", Label.INCLUDE)
    assert status(review)["reports"]["sought"] == 3
    assert ScreeningSession(review, "ann", Stage.FULL_TEXT).next() is not None
    # every record now goes to two reviewers: ann's includes wait for a second one
    allocate(review, ["ann", "bob"], 1.0, seed=1, new_reviewers=True)
    data = status(review)
    assert data["outcomes"]["title_abstract"] == {"pending": 3}
    assert data["reports"]["sought"] == 0 == prisma_counts(review).counts.reports_sought
    assert ScreeningSession(review, "ann", Stage.FULL_TEXT).next() is None
    for rid in ids[:3]:
        decide(review, rid, "bob", Label.INCLUDE)
    assert status(review)["reports"]["sought"] == 3


def test_next_claims_the_record_and_decide_rechecks(make_review: Callable[..., Any]) -> None:
    review = make_review()
    r1, r2, _ = add(review, 3)
    ann, bob = ScreeningSession(review, "ann"), ScreeningSession(review, "bob")
    first = ann.next()
    assert first is not None and first.record.id == r1
    second = bob.next()
    assert second is not None and second.record.id == r2        # r1 is on ann's screen
    # bob moves on without deciding; his claim on r2 passes to the record he is shown next
    record_decision(review, r1, "carl", INC)                     # decided outside `next`
    with pytest.raises(RecordTaken):
        ann.decide(r1, EXC)
    item = ann.next()
    assert item is not None and item.record.id not in (r1, r2)
    with review.transaction() as s:
        assert [(x.record_id, x.reviewer) for x in repo.current_decisions(s)] == [(r1, "carl")]


def test_a_hold_expires_by_the_databases_clock_not_the_reviewers(
        make_review: Callable[..., Any], backend: str, clock: Callable[[float], None]) -> None:
    # ann's computer runs 25 minutes slow: bob's read her hold on r1 as older than 20
    # minutes and was offered r1 too. On PostgreSQL both go by the server's clock; a SQLite
    # review is written from one machine, where 25 minutes on its clock is 25 minutes
    review = make_review()
    r1, r2, _ = add(review, 3)
    clock(-25)
    first = ScreeningSession(review, "ann").next()
    clock(0)
    second = ScreeningSession(review, "bob").next()
    assert first is not None and first.record.id == r1 and second is not None
    assert second.record.id == (r1 if backend == "sqlite" else r2)


def test_each_blind_reviewers_ranking_survives_the_others_reranking(
        make_review: Callable[..., Any]) -> None:
    # Blind dual screening: each reviewer's queue is their own ranking. Ann re-ranking
    # (after each of her decisions, in the UI) must not empty Bob's.
    from screener.workflow.ranking import refresh_ranking

    review = make_review("dual-screening.yaml")
    add(review, 6)
    bob = refresh_ranking(review, "bob")
    ann = refresh_ranking(review, "ann")
    assert ann.ranking_id != bob.ranking_id
    item = ScreeningSession(review, "bob").next()
    assert item is not None and item.ranking_id == bob.ranking_id
    assert item.record.id == bob.queue.ids[0]
    refresh_ranking(review, "ann")  # ann's older ranking, used by no decision, is emptied
    with review.transaction() as s:
        assert repo.latest_ranking(s, TA, repo.reviewer_id(s, "bob")) is not None
        assert repo.latest_ranking(s, TA, repo.reviewer_id(s, "ann")) is not None


# --- agreement --------------------------------------------------------------------------

def test_agreement_per_pair_and_stage(make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    *ids, seventh = add(review, 7)
    ann = [INC, INC, EXC, EXC, EXC, MAY]
    bob = [INC, EXC, EXC, EXC, INC, EXC]
    for rid, a, b in zip(ids, ann, bob, strict=True):
        decide(review, rid, "ann", a)
        decide(review, rid, "bob", b)
    decide(review, seventh, "ann", INC)
    decide(review, seventh, "carl", INC)
    list_conflicts(review, TA, ADJ)
    resolve(review, ids[1], ADJ, INC)
    report = agreement(review, TA)
    pairs = {(p.reviewer_a, p.reviewer_b): p.stats for p in report.pairs}
    assert set(pairs) == {("ann", "bob"), ("ann", "carl")}
    stats = pairs[("ann", "bob")]
    assert stats.categories == ("include", "maybe", "exclude")
    assert stats.table == ((1, 0, 1), (0, 0, 1), (1, 0, 2))
    assert stats.n == 6 and stats.percent_agreement == pytest.approx(50.0)
    assert pairs[("ann", "carl")].n == 1
    # a third screener cannot add a decision to a record two have settled
    with pytest.raises(ReviewError, match=r"already settled at title_abstract by ann and bob"):
        decide(review, ids[0], "carl", INC)
    # after the adjudicator's resolution the refusal says so, not "settled by bob and ..."
    with pytest.raises(ReviewError) as refused:
        decide(review, ids[1], "ann", EXC)
    assert str(refused.value) == (
        f"record {ids[1]} was resolved at title_abstract by the adjudicator ({ADJ}): "
        "screeners' decisions on it can no longer be changed; ask the adjudicator if the "
        "resolution should change")
    with pytest.raises(ReviewError, match=r"by the adjudicator .*: it takes no further"):
        decide(review, ids[1], "carl", INC)


def test_adjudicator_decides_conflicts_only(make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 2)
    decide(review, ids[0], "ann", INC)
    decide(review, ids[0], "bob", EXC)
    with pytest.raises(ReviewError, match=f"record {ids[1]} has no conflict"):
        record_decision(review, ids[1], ADJ, INC)
    with pytest.raises(ReviewError, match="no record with id 9999"):
        resolve(review, 9999, ADJ, INC)
    assert status(review)["blind"] is True  # the refused decision started nothing
    record_decision(review, ids[0], ADJ, INC)  # a conflict: taken as `resolve`
    with review.transaction() as s:
        assert [(d.reviewer, d.reviewer_role) for d in repo.current_decisions(s)
                if d.record_id == ids[0]][-1] == (ADJ, Role.ADJUDICATOR)


# --- offline copies ---------------------------------------------------------------------

def test_export_decide_offline_merge_twice(make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 5)
    decide(review, ids[0], "ann", INC)
    decide(review, ids[0], "bob", EXC)
    decide(review, ids[1], "bob", INC)
    copy_dir = tmp_path / "ann-laptop"
    records, decisions = export_reviewer(review, "ann", copy_dir)
    assert (records, decisions) == (5, 1)

    with review.transaction() as s:   # the log says the offer holds what ann had decided
        (made,) = [describe_event(e) for e, _ in repo.event_log(s)
                   if e.kind == "offline_copy_made"]
    assert ("(5 records offered, including those they had decided: 1 decision of theirs "
            "copied)") in made
    with pytest.raises(ReviewError, match="already exists"):
        export_reviewer(review, "ann", copy_dir)

    with open_review(copy_dir) as copy:
        with copy.transaction() as s:
            assert [(x.record_id, x.reviewer) for x in repo.decision_log(s)] == [(ids[0], "ann")]
            assert [r.title for r in repo.get_records(s)] == [f"Record {i}" for i in range(5)]
        offline = ScreeningSession(copy, "ann")
        labels = iter([EXC, INC, EXC])
        while (item := offline.next()) is not None:
            assert item.record.id is not None
            offline.decide(item.record.id, next(labels, EXC))
        assert offline.undo() is not None                       # an undo travels too
        item = offline.next()
        assert item is not None and item.record.id is not None
        offline.decide(item.record.id, MAY)
        assert chain_ok(copy)

    with review.transaction() as s:
        before = repo.count_decisions(s)
    result = merge(review, copy_dir)
    assert (result.added, result.skipped, result.reviewers) == (6, 1, ("ann",))
    with review.transaction() as s:
        after = repo.count_decisions(s)
        log = repo.decision_log(s)
        current = {(x.record_id, x.reviewer): x.label for x in repo.current_decisions(s)}
    assert after == before + 6
    assert [x.seq for x in log] == list(range(1, after + 1))
    assert [current[(i, "ann")] for i in ids] == [INC, EXC, INC, EXC, MAY]
    assert chain_ok(review)
    with review.transaction() as s:                 # the undo names its target's id here
        from sqlalchemy import text

        undos = s.execute(text("SELECT note, undoes_id FROM decisions WHERE label = 'undone'"
                               )).all()
    assert len(undos) == 1 and undos[0][0] == f"undo of decision {undos[0][1]}"
    again = merge(review, copy_dir / "review.db")
    assert (again.added, again.skipped) == (0, 7)
    with review.transaction() as s:
        assert repo.count_decisions(s) == after
    # merged decisions count in conflicts and agreement
    assert {c.record_id for c in list_conflicts(review, TA, ADJ)} == {ids[0], ids[1]}
    stats = agreement(review, TA).pairs[0].stats
    assert stats.n == 2


def test_copy_made_after_reconciliation_screens_full_text_offline(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    # a blind dual review past title/abstract: bob takes the full texts home. The copy
    # used to think title/abstract still blind (its reconciliation was not copied), so
    # `next --stage full_text` in it refused: "the full-text stage opens once ..."
    review = make_review("dual-screening.yaml")
    ids = add(review, 3)
    for rid in ids:
        decide(review, rid, "ann", INC)
        decide(review, rid, "bob", INC if rid != ids[2] else EXC)
    list_conflicts(review, TA, ADJ)                     # reconciliation starts
    resolve(review, ids[2], ADJ, EXC)
    export_reviewer(review, "bob", tmp_path / "bob")
    with open_review(tmp_path / "bob") as copy:
        offline = ScreeningSession(copy, "bob", stage=FT)
        offered = []
        while (item := offline.next()) is not None:
            assert item.record.id is not None
            offered.append(item.record.id)
            offline.decide(item.record.id, INC)
        assert sorted(offered) == ids[:2]
    assert merge(review, tmp_path / "bob").added == 2
    with review.transaction() as s:
        assert {(d.record_id, d.reviewer) for d in repo.current_decisions(s, FT)} == {
            (ids[0], "bob"), (ids[1], "bob")}


def test_merge_refuses_decisions_by_others_in_a_reviewers_copy(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 2)
    export_reviewer(review, "ann", tmp_path / "ann")
    with open_review(tmp_path / "ann") as copy:
        record_decision(copy, ids[0], "ann", INC)
        # the copy is ann's alone (it said "allocated to other reviewers (`screener
        # allocate`)", though no allocation was made: the copy's own list left it out)
        with pytest.raises(ReviewError, match="is not in this offline copy at title_abstract"):
            record_decision(copy, ids[1], "bob", EXC)
        with copy.transaction() as s:  # as a copy made by an older version would allow
            repo.add_decision(s, Decision(ids[1], "bob", TA, EXC, reason_id="design"))
    with review.transaction() as s:
        before = repo.count_decisions(s)
    with pytest.raises(ReviewError, match="offline copy of ann but holds new decisions by bob"):
        merge(review, tmp_path / "ann")
    with review.transaction() as s:
        assert repo.count_decisions(s) == before  # not even ann's came in


def test_allocate_is_refused_in_an_offline_copy(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """allocate in ann's copy replaced the copy's record list, and merge then judged the
    copy's decisions against that list, not the review's."""
    review = make_review("dual-screening.yaml")
    add(review, 4)
    export_reviewer(review, "ann", tmp_path / "ann")
    with open_review(tmp_path / "ann") as copy:
        with copy.read() as s:
            before = repo.latest_allocation(s, TA)
        with pytest.raises(ReviewError, match=r"offline copy of ann .*allocate in the review "
                                              r"itself.*nothing was allocated"):
            allocate(copy, ["ann", "bob"], 1.0, seed=1)
        with copy.read() as s:
            assert repo.latest_allocation(s, TA) == before


def test_merge_refuses_decisions_on_records_allocated_to_others(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 6)
    allocate(review, ["ann", "bob"], 0.0, seed=1)
    with review.transaction() as s:
        bobs = sorted(_mine(allocated_ids(review, s, "bob")))
    with pytest.raises(ReviewError, match="allocated to other reviewers"):
        record_decision(review, bobs[0], "ann", INC)  # decide refuses it ...
    export_reviewer(review, "ann", tmp_path / "ann")
    with open_review(tmp_path / "ann") as copy, copy.transaction() as s:
        repo.add_decision(s, Decision(bobs[0], "ann", TA, INC))  # ... a copy slipped it in
    with pytest.raises(ReviewError, match=rf"allocation gives to other reviewers \(ann: "
                                          rf"{bobs[0]}\); nothing was merged"):
        merge(review, tmp_path / "ann")
    assert set(ids) >= set(bobs)


def with_copy(make_review: Callable[..., Any], tmp_path: Path, who: str,
              n: int) -> tuple[Review, list[int], Path]:
    """A dual review of n records and `who`'s offline copy of it (empty so far)."""
    review = make_review("dual-screening.yaml")
    ids = add(review, n)
    export_reviewer(review, who, tmp_path / who)
    return review, ids, tmp_path / who


def test_merge_reads_the_copy_even_when_screener_db_is_set(
        make_review: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        db_url: str | None) -> None:
    # a PostgreSQL team exports SCREENER_DB; `merge FOLDER` used to open that database
    # instead of the folder, merge the review into itself and report success
    review, ids, copy_dir = with_copy(make_review, tmp_path, "ann", 3)
    with open_review(copy_dir, "sqlite:///" + str(copy_dir / "review.db")) as c:
        record_decision(c, ids[0], "ann", INC)
    monkeypatch.setenv("SCREENER_DB", review.db.url if db_url else
                       "sqlite:///" + str(tmp_path / "review" / "review.db"))
    result = merge(review, tmp_path / "ann")
    assert (result.added, result.reviewers) == (1, ("ann",))
    if db_url is None:  # a SQLite review's own folder given as the copy
        with pytest.raises(ReviewError, match="this review itself"):
            merge(review, tmp_path / "review")
    (tmp_path / "notes.csv").write_text("a,b\n", encoding="utf-8")
    with pytest.raises(ReviewError, match="not a SQLite database"):
        merge(review, tmp_path / "notes.csv")


def test_merge_refuses_a_copy_whose_log_was_edited(make_review: Callable[..., Any],
                                                   tmp_path: Path) -> None:
    import sqlite3

    review, ids, copy_dir = with_copy(make_review, tmp_path, "bob", 3)
    with open_review(copy_dir) as copy:
        record_decision(copy, ids[0], "bob", EXC, note="honest")
    db = sqlite3.connect(tmp_path / "bob" / "review.db")
    db.execute("update decisions set label='include', note='tampered' "
               "where seq=(select max(seq) from decisions)")
    db.commit()
    db.close()
    with pytest.raises(ReviewError, match="does not verify"):
        merge(review, tmp_path / "bob")
    with review.transaction() as s:
        assert repo.count_decisions(s) == 0
    assert chain_ok(review)


def test_merge_refuses_a_copy_whose_uids_were_edited(make_review: Callable[..., Any],
                                                    tmp_path: Path) -> None:
    """The uid that tells merge a decision is already in the review is not in the row
    hash: edited in a copy, it silently dropped a decision (made the uid of another) or
    brought one in twice (a merged row's uid changed), and `log verify` passed (a helper's
    run)."""
    import sqlite3

    review, ids, copy_dir = with_copy(make_review, tmp_path, "bob", 3)
    decide(review, ids[2], "ann", INC)
    with review.transaction() as s:
        ann_uid = next(iter(repo.decision_uids(s).values()))
    with open_review(copy_dir) as copy:
        record_decision(copy, ids[0], "bob", EXC)
    db = sqlite3.connect(copy_dir / "review.db")
    db.execute("update decisions set uid=? where seq=(select max(seq) from decisions)",
               (ann_uid,))
    db.commit()
    db.close()
    with pytest.raises(ReviewError, match=rf"changed outside screener: its decision on record "
                       rf"{ids[0]} by bob \(exclude\) carries the id of another decision"):
        merge(review, copy_dir)
    with review.transaction() as s:
        assert repo.count_decisions(s) == 1  # ann's only: nothing came in


def test_merge_refuses_a_merged_decision_whose_uid_was_edited(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    import sqlite3

    review2, ids2, copy2 = with_copy(make_review, tmp_path, "bob", 3)
    with open_review(copy2) as copy:
        record_decision(copy, ids2[0], "bob", EXC)
    assert merge(review2, copy2).added == 1
    db = sqlite3.connect(copy2 / "review.db")
    db.execute("update decisions set uid='edited' where seq=(select max(seq) from decisions)")
    db.commit()
    db.close()
    with pytest.raises(ReviewError, match="is already in this review under another id"):
        merge(review2, copy2)
    with review2.transaction() as s:
        assert repo.count_decisions(s) == 1  # not brought in twice


def test_merge_refuses_a_decision_on_a_record_removed_as_a_duplicate_since_the_copy(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """Merged without a word, such a decision no longer counted (the kept copy was still
    waiting for the reviewer), although `decide` refuses it (a helper's run)."""
    from screener.workflow.importing import deduplicate

    review = make_review("dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="Test", kind="database")
        ids = repo.add_records(s, source, [
            Record(title="Ketamine for depression", doi="10.1000/k.1", year=2020),
            Record(title="Ketamine for depression.", doi="10.1000/k.1", year=2020),
            Record(title="Something else entirely", year=2021)])
    export_reviewer(review, "ann", tmp_path / "ann", new_reviewer=True)
    with open_review(tmp_path / "ann") as copy:
        record_decision(copy, ids[1], "ann", INC)
        record_decision(copy, ids[2], "ann", EXC)
    deduplicate(review)  # online: ids[1] is removed as a copy of ids[0]
    with review.transaction() as s:
        assert ids[1] in repo.removed_duplicate_ids(s)
    with pytest.raises(ReviewError, match=rf"removed as duplicates since the copy was made "
                       rf"\(decide on the record kept.*ann: {ids[1]}"):
        merge(review, tmp_path / "ann")
    result = merge(review, tmp_path / "ann", leave_out_refused=True)
    assert result.added == 1 and f"ann: {ids[1]}" in result.left_out


def test_merge_names_a_record_whose_title_the_copy_changed(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    import sqlite3

    review, ids, copy_dir = with_copy(make_review, tmp_path, "bob", 3)
    with open_review(copy_dir) as copy:
        record_decision(copy, ids[1], "bob", EXC)
    db = sqlite3.connect(copy_dir / "review.db")
    db.execute("update records set title='Edited' where id=?", (ids[1],))
    db.commit()
    db.close()
    with pytest.raises(ReviewError, match=rf"has with another title \(record {ids[1]}\); "
                       "nothing was merged"):
        merge(review, copy_dir)


def test_merge_refuses_what_decide_would_refuse_now(make_review: Callable[..., Any],
                                                   tmp_path: Path) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 4)
    decide(review, ids[0], "ann", INC)
    decide(review, ids[0], "bob", EXC)        # a conflict on ids[0]
    export_reviewer(review, "bob", tmp_path / "bob")
    decide(review, ids[1], "ann", INC)
    decide(review, ids[1], "carl", INC)       # ids[1] settled by two others after the copy
    resolve(review, ids[0], ADJ, INC)         # the conflict resolved after the copy
    with open_review(tmp_path / "bob") as copy:
        record_decision(copy, ids[1], "bob", EXC)
        record_decision(copy, ids[0], "bob", INC)  # bob changes his mind offline
    with pytest.raises(ReviewError, match=rf"settled meanwhile .*bob: {ids[0]}, {ids[1]}.*"
                       "--leave-out-refused"):
        merge(review, tmp_path / "bob")
    with review.transaction() as s:
        assert len(repo.record_screeners(s, TA, ids[1])) == 2  # nothing came in


def test_merge_can_leave_the_refused_decisions_in_the_copy_and_bring_the_rest(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """One offline decision on a record others settled meanwhile blocked the whole merge,
    and the advice (take back the latest decisions one by one) meant undoing good ones
    made after it (a helper's run)."""
    review = make_review("dual-screening.yaml")
    ids = add(review, 4)
    export_reviewer(review, "bob", tmp_path / "bob", new_reviewer=True)
    decide(review, ids[0], "ann", EXC)
    decide(review, ids[0], "carl", EXC)       # ids[0] settled by two others after the copy
    with open_review(tmp_path / "bob") as copy:
        for rid in ids:
            record_decision(copy, rid, "bob", INC)
    result = merge(review, tmp_path / "bob", leave_out_refused=True)
    assert (result.added, result.reviewers) == (3, ("bob",))
    assert result.left_out == ("decisions on records settled meanwhile by other screeners or "
                               f"the adjudicator (bob: {ids[0]})")
    with review.transaction() as s:
        def names(rid: int) -> set[str]:
            return {name for name, _ in repo.record_screeners(s, TA, rid)}

        assert names(ids[0]) == {"ann", "carl"}
        assert all(names(rid) == {"bob"} for rid in ids[1:])
        assert repo.verify_log(s).ok
    again = merge(review, tmp_path / "bob", leave_out_refused=True)  # changes nothing more
    assert (again.added, again.skipped) == (0, 3)


def _protocol_with(tmp_path: Path, name: str, reasons_from: Path, extra: str | None,
                   drop: str | None = None) -> Path:
    """The review's protocol.yaml with one exclusion reason added and/or one dropped."""
    data = yaml.safe_load((reasons_from / "protocol.yaml").read_text())
    data["exclusion_reasons"] = [r for r in data["exclusion_reasons"] if r["id"] != drop]
    if extra:
        data["exclusion_reasons"].append({"id": extra, "label": extra.title(), "key": "8"})
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_merge_refuses_decisions_made_under_a_protocol_the_copy_amended(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """A copy that added an exclusion reason to its own protocol and used it: the review,
    which has no such reason, would hold decisions its protocol cannot explain (and the
    methods text would say the protocol was never amended)."""
    review, ids, copy_dir = with_copy(make_review, tmp_path, "bob", 3)
    amended = _protocol_with(tmp_path, "lang.yaml", copy_dir, "language")
    with open_review(copy_dir) as copy:
        amend_protocol(copy, amended, "add a language reason")
    with open_review(copy_dir) as copy:
        record_decision(copy, ids[0], "bob", EXC, reason_id="language")
        record_decision(copy, ids[1], "bob", INC)
    with pytest.raises(ReviewError, match=r"protocol this review does not have \(the copy's "
                       rf"amended version 2 \(add a language reason\); bob: {ids[0]}, {ids[1]}"):
        merge(review, copy_dir)
    with review.transaction() as s:
        assert repo.count_decisions(s) == 0
    amend_protocol(review, amended, "add a language reason")  # the team agrees: same text
    assert merge(review, copy_dir).added == 2
    with review.transaction() as s:
        assert {(d.record_id, d.reason_id) for d in repo.current_decisions(s)} == {
            (ids[0], "language"), (ids[1], None)}
    assert chain_ok(review)


def test_merge_refuses_a_reason_the_review_dropped_after_the_copy(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    review, ids, copy_dir = with_copy(make_review, tmp_path, "bob", 3)
    with open_review(copy_dir) as copy:
        record_decision(copy, ids[0], "bob", EXC, reason_id="other")
    amend_protocol(review, _protocol_with(tmp_path, "no-other.yaml", review.folder, None,
                                          drop="other"), "no catch-all reason")
    with pytest.raises(ReviewError, match=rf"decisions `decide` refuses here \(record "
                       rf"{ids[0]} by bob: unknown exclusion reason 'other'"):
        merge(review, copy_dir)
    with review.transaction() as s:
        assert repo.count_decisions(s) == 0


def test_merge_does_not_let_an_older_offline_decision_override_a_newer_one(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    review, ids, copy_dir = with_copy(make_review, tmp_path, "ann", 3)
    with open_review(copy_dir) as copy:
        record_decision(copy, ids[2], "ann", INC)      # offline first ...
    decide(review, ids[2], "ann", EXC)                 # ... then online, later
    with pytest.raises(ReviewError, match=rf"older than .*online .*ann: {ids[2]}"):
        merge(review, tmp_path / "ann")
    with review.transaction() as s:
        assert [d.label for d in repo.current_decisions(s)] == [EXC]


def _standing(review: Review, rid: int, who: str) -> Label:
    with review.transaction() as s:
        (found,) = [x.label for x in repo.current_decisions(s, TA, [rid]) if x.reviewer == who]
    return found


def test_merging_two_copies_both_ways_keeps_the_reviewers_later_decision(
        tmp_path: Path) -> None:
    # a plain copy (cp -r) of a review: ann includes record 1 in A, then changes her mind
    # in B. Merged both ways, B used to end with her older include (A's row, appended after
    # her exclude, stood over it) and A with her exclude, "merged 1 new decision by ann"
    first = create_review(tmp_path / "A", PROTOCOLS / "dual-screening.yaml")
    (rid,) = add(first, 1)
    first.close()
    shutil.copytree(tmp_path / "A", tmp_path / "B")
    with open_review(tmp_path / "A") as a, open_review(tmp_path / "B") as b:
        decide(a, rid, "ann", INC)
        decide(b, rid, "ann", EXC, reason="population")
        assert merge(a, tmp_path / "B").added == 1
        back = merge(b, tmp_path / "A")
        assert (back.added, back.skipped) == (0, 1)
        assert back.replaced == f"ann: {rid}"             # said, not merged silently
        assert _standing(a, rid, "ann") == _standing(b, rid, "ann") == EXC
        again = merge(b, tmp_path / "A")                  # merging twice changes nothing
        assert (again.added, again.replaced) == (0, f"ann: {rid}")
        for review in (a, b):
            assert chain_ok(review)


def test_a_third_copy_does_not_bring_back_a_decision_its_reviewer_changed(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    # ann screens in her offline copy and in a copy of it on a second laptop, where she
    # changes her mind later; the second is merged into the review and into the first,
    # then the first into the review: its include (replaced there) must not stand again
    review, ids, copy_dir = with_copy(make_review, tmp_path, "ann", 2)
    shutil.copytree(copy_dir, tmp_path / "laptop")
    with open_review(copy_dir) as copy, open_review(tmp_path / "laptop") as laptop:
        decide(copy, ids[0], "ann", INC)
        decide(copy, ids[1], "ann", INC)
        decide(laptop, ids[0], "ann", EXC, reason="population")
        assert merge(review, tmp_path / "laptop").added == 1
        assert merge(copy, tmp_path / "laptop").added == 1
        assert _standing(copy, ids[0], "ann") == EXC
    result = merge(review, copy_dir)
    assert (_standing(review, ids[0], "ann"), _standing(review, ids[1], "ann")) == (EXC, INC)
    assert (result.added, result.replaced) == (1, f"ann: {ids[0]}")
    with review.transaction() as s:
        (event,) = [e for e, _ in repo.event_log(s) if e.kind == "offline_copy_merged"
                    and e.details.get("folder") == str(copy_dir.resolve())]
    assert event.details["replaced_left_out"] == f"ann: {ids[0]}"


def _reconciled_copy(tmp_path: Path) -> tuple[list[int], Path, Path]:
    """A dual review A past title/abstract (4 records included by ann and bob, reconciled)
    and B, a plain copy of it, where full text was screened and reconciled: bob excludes 1
    and includes 2, ann excludes 2, the adjudicator lists the conflicts and resolves 2,
    then ann excludes 1, seeing bob's (unblinded)."""
    first = create_review(tmp_path / "A", PROTOCOLS / "dual-screening.yaml")
    ids = add(first, 4)
    for rid in ids:
        decide(first, rid, "ann", INC)
        decide(first, rid, "bob", INC)
    list_conflicts(first, TA, ADJ)
    first.close()
    shutil.copytree(tmp_path / "A", tmp_path / "B")
    with open_review(tmp_path / "B") as b:
        decide(b, ids[0], "bob", EXC, FT, "design")
        decide(b, ids[1], "bob", INC, FT)
        decide(b, ids[1], "ann", EXC, FT, "population")
        list_conflicts(b, FT, ADJ)
        resolve(b, ids[1], ADJ, INC, stage=FT)
        decide(b, ids[0], "ann", EXC, FT, "design")
    return ids, tmp_path / "A", tmp_path / "B"


def test_merge_brings_the_start_of_reconciliation_with_the_resolutions(
        tmp_path: Path) -> None:
    # merged into A, B's decisions used to come without its start of full-text
    # reconciliation: A's agreement counted ann's unblinded decision as independent (2
    # records, 50% against B's 1 record, 0%), its report had no one ending blinding
    from screener.workflow.audit_check import check_tables

    ids, a_dir, b_dir = _reconciled_copy(tmp_path)
    with open_review(b_dir) as b, b.transaction() as s:
        started = repo.reconciliations(s)[FT]
        in_b = agreement(b, FT).pairs[0].stats
    assert in_b.n == 1
    with open_review(a_dir) as a:
        result = merge(a, b_dir)
        assert result.added == 5
        here = agreement(a, FT).pairs[0].stats
        assert (here.n, here.percent_agreement) == (in_b.n, in_b.percent_agreement)
        assert reconciliation_started(a, FT)
        with a.transaction() as s:
            by, at = repo.reconciliations(s)[FT]
            events = [describe_event(e) for e, _ in repo.event_log(s)
                      if e.kind == "reconciliation_started" and e.stage == FT.value]
        assert (by, iso_utc(at)) == (started[0], iso_utc(started[1])) == (ADJ, iso_utc(at))
        assert len(events) == 1 and "merged from the copy" in events[0]
        assert [p for p in check_tables(a) if "reconciliation" in p] == []
        assert merge(a, b_dir).added == 0             # merging twice changes nothing
        with a.transaction() as s:
            assert len(repo.reconciliations(s)) == 2


def _merged_the_old_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                        ) -> tuple[list[int], Path, Path]:
    """`_reconciled_copy`'s B merged into A as merges did before they brought a copy's start
    of reconciliation: A holds B's full-text resolution but no start of full-text
    reconciliation (no row, no event)."""
    from screener.workflow import team

    ids, a_dir, b_dir = _reconciled_copy(tmp_path)
    with monkeypatch.context() as m, open_review(a_dir) as a:
        m.setattr(team, "_bring_reconciliations", lambda *args: ())
        assert merge(a, b_dir).added == 5
        with a.transaction() as s:
            assert FT not in repo.reconciliations(s)
    return ids, a_dir, b_dir


def test_resolutions_merged_without_their_start_end_blinding_at_the_first_of_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a review merged by the old code: its blinding took the resolution as the start of
    # full-text reconciliation, but its agreement read only the reconciliations table and
    # counted ann's decision, made after the resolution and seeing bob's, as independent
    # (2 records, 50%, against the copy's 1 record, 0%), and its report said nothing of it
    from screener.exports.report import ReportInputs, screening_paragraph
    from screener.workflow.reporting import build_report_inputs

    ids, a_dir, b_dir = _merged_the_old_way(tmp_path, monkeypatch)
    with open_review(b_dir) as b:
        in_b = agreement(b, FT).pairs[0].stats
        b_inputs = build_report_inputs(b)
    assert isinstance(b_inputs, ReportInputs) and b_inputs.unblinded
    with open_review(a_dir) as a:
        assert reconciliation_started(a, FT)
        here = agreement(a, FT).pairs[0].stats
        assert (here.n, here.percent_agreement) == (in_b.n, in_b.percent_agreement)
        inputs = build_report_inputs(a)
    assert isinstance(inputs, ReportInputs)
    assert inputs.unblinded == b_inputs.unblinded
    (n,) = [n for stage, n in inputs.unblinded if stage == FT]
    assert (f"After reconciliation of full text screening had begun, decisions on {n} "
            "record") in screening_paragraph(inputs)


def test_log_verify_warns_of_resolutions_merged_without_their_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `log verify` said the tables were fine for a review merged by the old code, so
    # nothing found the reviews whose agreement counted unblinded decisions as independent
    from click.testing import CliRunner

    from screener.cli import main

    ids, a_dir, b_dir = _merged_the_old_way(tmp_path, monkeypatch)
    with open_review(a_dir) as a, a.transaction() as s:
        first = min(d.seq or 0 for d in repo.decision_log(s)
                    if d.stage == FT and d.reviewer_role == Role.ADJUDICATOR)
    result = CliRunner().invoke(main, ["log", "verify", "--review", str(a_dir)])
    # (the test's records were added without an import event: that one fails)
    assert not [line for line in result.stderr.splitlines()
                if line.startswith("tables FAILED") and "reconciliation" in line]
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning.startswith(f"warning: full text: the adjudicator made 1 decision there "
                              f"(the first at seq {first} of the decision log) but no start "
                              "of its reconciliation was recorded")
    assert warning.endswith("agreement at full text uses the decisions as they stood just "
                            "before it, and those made or changed after it count as made "
                            "unblinded")
    from screener.workflow.audit_check import table_findings

    with open_review(b_dir) as b:       # the copy, which recorded its start: no warning
        assert table_findings(b)[1] == []


def test_log_verify_ends_tables_ok_counting_the_warnings_above(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # after the warning of a stage without a recorded start of reconciliation, the last
    # line said only "tables OK: ... agree with the event log", as if nothing were found
    from click.testing import CliRunner

    from screener.cli import main
    from screener.workflow.importing import import_records

    def imported(review: Review, n: int) -> list[int]:  # with its event: tables agree
        done = import_records(review, [Record(title=f"Record {i}") for i in range(n)],
                              source="Test", kind="database")
        with review.read() as s:
            return repo.source_record_ids(s, done.source_id)

    monkeypatch.setitem(globals(), "add", imported)
    ids, a_dir, b_dir = _merged_the_old_way(tmp_path, monkeypatch)
    result = CliRunner().invoke(main, ["log", "verify", "--review", str(a_dir)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    last = result.stdout.splitlines()[-1]
    assert last.startswith("tables OK, 1 warning above: sources, protocol versions"), last
    clean = CliRunner().invoke(main, ["log", "verify", "--review", str(b_dir)])
    assert clean.exit_code == 0 and "warning" not in clean.output, clean.output
    assert clean.stdout.splitlines()[-1].startswith("tables OK: sources,"), clean.stdout


def test_merge_keeps_the_reviews_own_start_of_reconciliation_and_says_so(
        tmp_path: Path) -> None:
    ids, a_dir, b_dir = _reconciled_copy(tmp_path)
    with open_review(a_dir) as a:
        decide(a, ids[2], "ann", INC, FT)
        decide(a, ids[2], "bob", INC, FT)
        list_conflicts(a, FT, ADJ)
        with a.transaction() as s:
            ours = repo.reconciliations(s)[FT]
        result = merge(a, b_dir)
        (told,) = result.reconciliations
        assert told.startswith(f"reconciliation of full text had started here (by {ADJ}, "
                               f"{iso_utc(ours[1])[:19].replace('T', ' ')} UTC) and in the "
                               f"copy (by {ADJ}, ")
        assert told.endswith("this review's start stands; the copy's full-text decisions "
                             "merged count as made blind where the copy made them before "
                             "its own start, and as unblinded after it")
        with a.transaction() as s:
            assert repo.reconciliations(s)[FT] == ours
        # A's pair and the copy's pair decided before the copy's start count as blind
        assert agreement(a, FT).pairs[0].stats.n == 2


def _past_title_abstract(folder: Path, n: int) -> tuple[Review, list[int]]:
    """A dual review at `folder` with `n` records ann and bob included, title/abstract
    reconciled: full text is open."""
    review = create_review(folder, PROTOCOLS / "dual-screening.yaml")
    ids = add(review, n)
    for rid in ids:
        decide(review, rid, "ann", INC)
        decide(review, rid, "bob", INC)
    list_conflicts(review, TA, ADJ)
    return review, ids


def test_merge_keeps_the_blinding_of_a_copys_decisions_where_both_had_started(
        tmp_path: Path) -> None:
    # both A and its plain copy B started full-text reconciliation; B's decisions made
    # before B's own start were blind, but merged into A they came after A's start and
    # counted as unblinded: A's agreement, Table 1 and the methods text left them out
    from screener.exports.report import ReportInputs
    from screener.workflow.reporting import build_report_inputs

    blind_here = [(0, "ann", INC, None), (0, "bob", INC, None), (1, "ann", EXC, "design"),
                  (1, "bob", INC, None)]
    blind_there = [(2, "ann", INC, None), (2, "bob", EXC, "design"), (3, "ann", INC, None),
                   (3, "bob", INC, None), (4, "bob", EXC, "population"),
                   (4, "ann", EXC, "design")]
    seen_here, seen_there = [(1, "ann", INC, None)], [(2, "bob", INC, None)]

    def made(review: Review, ids: list[int],
             rows: list[tuple[int, str, Label, str | None]]) -> None:
        for i, who, label, reason in rows:
            decide(review, ids[i], who, label, FT, reason)

    a, ids = _past_title_abstract(tmp_path / "A", 5)
    a.close()
    shutil.copytree(tmp_path / "A", tmp_path / "B")
    with open_review(tmp_path / "A") as a:
        made(a, ids, blind_here)
        list_conflicts(a, FT, ADJ)
        made(a, ids, seen_here)
    with open_review(tmp_path / "B") as b:
        made(b, ids, blind_there)
        list_conflicts(b, FT, ADJ)
        made(b, ids, seen_there)
    # the same decisions made in one review: the blind ones, the start, the others
    one, same_ids = _past_title_abstract(tmp_path / "one", 5)
    assert same_ids == ids
    with one:
        made(one, ids, blind_here + blind_there)
        list_conflicts(one, FT, ADJ)
        made(one, ids, seen_here + seen_there)
        expected = agreement(one, FT).pairs[0].stats
        expected_inputs = build_report_inputs(one)
    with open_review(tmp_path / "A") as a:
        merge(a, tmp_path / "B")
        here = agreement(a, FT).pairs[0].stats
        inputs = build_report_inputs(a)
    assert expected.n == 5
    assert here == expected
    assert isinstance(inputs, ReportInputs) and isinstance(expected_inputs, ReportInputs)
    assert inputs.agreement == expected_inputs.agreement      # Table 1
    assert inputs.unblinded == expected_inputs.unblinded == ((FT, 2),)


def test_an_offline_copys_decisions_merged_after_the_start_count_as_blind(
        tmp_path: Path) -> None:
    # ann screened full text in her offline copy, which never saw bob's decisions; the
    # adjudicator started reconciliation in the review meanwhile: merged after that start,
    # her decisions counted as unblinded, and the pair left agreement altogether
    a, ids = _past_title_abstract(tmp_path / "A", 3)
    with a:
        export_reviewer(a, "ann", tmp_path / "ann")
        for rid, label in zip(ids, (INC, EXC, INC), strict=True):
            decide(a, rid, "bob", label, FT, "design" if label == EXC else None)
        list_conflicts(a, FT, ADJ)
        with open_review(tmp_path / "ann") as copy:
            for rid in ids:
                decide(copy, rid, "ann", INC, FT)
        merged = merge(a, tmp_path / "ann")
        assert merged.added == 3
        stats = agreement(a, FT).pairs[0].stats
        assert (stats.n, stats.table) == (3, ((2, 1), (0, 0)))
    # and the merge says so (84db3b9 said it did: it told only where both had started)
    assert merged.reconciliations == (
        "reconciliation of full text had started here and never in the copy: the copy's "
        "full-text decisions merged count as made blind (made without seeing the other "
        "reviewers')",)


def test_export_offers_no_records_others_have_settled(make_review: Callable[..., Any],
                                                       tmp_path: Path) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 3)
    decide(review, ids[0], "ann", INC)
    decide(review, ids[0], "carl", INC)
    export_reviewer(review, "bob", tmp_path / "bob", new_reviewer=True)
    with open_review(tmp_path / "bob") as copy:
        session = ScreeningSession(copy, "bob")
        offered = []
        while (item := session.next()) is not None:
            assert item.record.id is not None
            offered.append(item.record.id)
            session.decide(item.record.id, EXC)
    assert sorted(offered) == ids[1:]


def test_a_copy_refuses_decisions_on_records_resolved_before_it_was_made(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """The copy let bob change (or undo) his decision on a record the adjudicator had
    resolved before the copy was made, and merge then refused it as 'settled meanwhile'."""
    review = make_review("dual-screening.yaml")
    ids = add(review, 3)
    decide(review, ids[0], "ann", INC)
    decide(review, ids[0], "bob", EXC)
    resolve(review, ids[0], ADJ, INC)
    assert export_reviewer(review, "bob", tmp_path / "bob") == (3, 1)  # bob's one decision
    refused = rf"record {ids[0]} was resolved (at title_abstract )?by the adjudicator"
    with open_review(tmp_path / "bob") as copy:
        with pytest.raises(ReviewError, match=refused):
            record_decision(copy, ids[0], "bob", INC)
        with pytest.raises(ReviewError, match=refused):
            ScreeningSession(copy, "bob").undo()
        session = ScreeningSession(copy, "bob")
        while (item := session.next()) is not None:
            assert item.record.id is not None and item.record.id != ids[0]
            session.decide(item.record.id, EXC)
    result = merge(review, tmp_path / "bob")
    assert (result.added, result.skipped) == (2, 2)   # bob's and the resolution were there
    with review.transaction() as s:
        assert repo.verify_log(s).ok and sum(
            1 for d in repo.decision_log(s) if d.reviewer_role == Role.ADJUDICATOR) == 1


def test_merge_says_a_record_was_resolved_before_a_copy_an_earlier_screener_made(
        make_review: Callable[..., Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a copy made by an earlier screener held no resolutions, so it took bob's change on a
    # record resolved before it; merge called that record "settled meanwhile"
    review = make_review("dual-screening.yaml")
    ids = add(review, 2)
    decide(review, ids[0], "ann", INC)
    decide(review, ids[0], "bob", EXC)
    resolve(review, ids[0], ADJ, INC)
    every_row = repo.decisions_for_merge
    with monkeypatch.context() as patch:   # the earlier screener copied bob's rows only
        patch.setattr(repo, "decisions_for_merge", lambda s: [
            row for row in every_row(s) if row[0].reviewer_role != Role.ADJUDICATOR])
        export_reviewer(review, "bob", tmp_path / "bob")
    with open_review(tmp_path / "bob") as copy:
        record_decision(copy, ids[0], "bob", INC)
    with pytest.raises(ReviewError, match=rf"the adjudicator had settled before the copy "
                       rf"was made \(bob: {ids[0]}\)") as refused:
        merge(review, tmp_path / "bob")
    assert "meanwhile" not in str(refused.value)


def test_merge_refuses_another_review(make_review: Callable[..., Any], tmp_path: Path,
                                      db_url: str | None) -> None:
    review = make_review("dual-screening.yaml")
    add(review, 2)
    other = create_review(tmp_path / "other", PROTOCOLS / "minimal.yaml")
    other.close()
    with pytest.raises(ReviewError, match="another review"):
        merge(review, tmp_path / "other")
    # a second review from the same protocol file, with the same title and records (a
    # pilot and the main review): still another review
    twin = create_review(tmp_path / "twin", PROTOCOLS / "dual-screening.yaml")
    add(twin, 2)
    record_decision(twin, 1, "bob", INC)
    twin.close()
    with pytest.raises(ReviewError, match="another review") as refused:
        merge(review, tmp_path / "twin")
    # both are 'Dual-screening review template': the message named that title alone; it
    # now says when each was created (made in one second here: to the microsecond)
    with review.read() as s, open_review(tmp_path / "twin") as twin, twin.read() as t:
        ours, theirs = (iso_utc(repo.protocol_versions(x)[0][3]) for x in (s, t))
    cut = 26 if ours[:19] == theirs[:19] else 19

    def at(when: str) -> str:
        return f"{when[:cut].replace('T', ' ')} UTC"

    assert (f"is a copy of another review ('Dual-screening review template', created "
            f"{at(theirs)}), not of this one (created {at(ours)})") in str(refused.value)
    assert at(theirs) != at(ours)
    with pytest.raises(ReviewError, match="no such"):
        merge(review, tmp_path / "missing")


def test_status_shows_the_stopping_statistics_blind_ones_to_their_reviewer_only(
        make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 6)
    for rid, label in zip(ids, (INC, EXC, EXC, EXC), strict=False):
        decide(review, rid, "ann", label)
    decide(review, ids[0], "bob", INC)
    data = status(review, viewer="ann")
    stop = data["stopping"]
    assert [r["reviewer"] for r in stop["reviewers"]] == ["ann"]  # not bob's: blind
    assert stop["rule_met"] is None  # the review-wide answer would tell about bob
    mine = progress(review, "ann", TA)
    assert stop["reviewers"][0]["consecutive_irrelevant"] == 3 == mine.consecutive_irrelevant
    assert stop["reviewers"][0]["p_value"] == mine.p_value
    assert "ann: 3 irrelevant in a row" in format_status(data)
    list_conflicts(review, TA, ADJ)  # reconciliation: no longer blind
    opened = status(review, viewer="ann")["stopping"]
    assert [r["reviewer"] for r in opened["reviewers"]] == ["ann", "bob"]
    assert opened["rule_met"] is False


def test_prisma_notes_tell_conflicts_from_records_waiting_for_a_second_reviewer(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.reporting import prisma_counts

    review = make_review("dual-screening.yaml")
    ids = add(review, 3)
    decide(review, ids[0], "ann", INC)
    decide(review, ids[0], "bob", EXC)      # a conflict
    decide(review, ids[1], "ann", INC)      # waits for bob
    decide(review, ids[2], "ann", EXC)
    decide(review, ids[2], "bob", EXC)
    list_conflicts(review, TA, ADJ)
    result = prisma_counts(review)
    assert "1 record is in conflict at title/abstract (to resolve)" in result.notes
    assert "1 record waits for another reviewer at title/abstract" in result.notes
    assert "1 in conflict; 1 record waits for a reviewer who has not decided it" in result.draft


def test_methods_text_gives_every_screeners_stopping_figures(
        make_review: Callable[..., Any]) -> None:
    from screener.exports.report import automation_paragraph
    from screener.workflow.reporting import build_report_inputs

    review = make_review("dual-screening.yaml")
    ids = add(review, 8)
    for rid in ids[:3]:
        decide(review, rid, "ann", EXC)
    for rid in ids[:2]:
        decide(review, rid, "bob", EXC)
    list_conflicts(review, TA, ADJ)  # reconciliation: the report may be written
    text = automation_paragraph(build_report_inputs(review))
    assert "records screened (ann): 3 of 8" in text and "records screened (bob): 2 of 8" in text
    assert "relevant records estimated left (ann)" in text
    assert "SAFE checklist (bob): not met" in text


def test_draft_methods_text_of_a_dual_review_part_way_says_how_many_have_two_decisions(
        make_review: Callable[..., Any]) -> None:
    """Part-way through a blind dual review (ann 6 records, bob 4 of them; a report one
    reviewer assessed, another none yet), the draft said 'At each stage every record screened
    so far and every retrieved report was screened by two reviewers, independently': false
    of the 2 records and the reports with one decision. It now says what the protocol asks
    and how far that has been done."""
    from screener.exports.report import screening_paragraph
    from screener.workflow.reporting import build_report_inputs

    review = make_review("dual-screening.yaml")
    ids = add(review, 10)
    for rid in ids[:2]:
        decide(review, rid, "ann", INC)
        decide(review, rid, "bob", INC)
    for rid in ids[2:6]:
        decide(review, rid, "ann", EXC)
    for rid in ids[2:4]:
        decide(review, rid, "bob", EXC)
    list_conflicts(review, TA, ADJ)  # reconciliation: the report may be written
    decide(review, ids[0], "ann", INC, stage=FT)
    inputs = build_report_inputs(review)
    assert inputs.draft
    text = " ".join(screening_paragraph(inputs).split())
    assert "every retrieved report was screened by two" not in text
    assert "every record screened so far" not in text
    assert ("Under the protocol each record and each retrieved report is screened by two "
            "reviewers, independently") in text
    assert ("So far, at title and abstract, 4 records have been screened by two reviewers "
            "and 2 by one; at full text, 1 report has been screened by one reviewer.") in text


def _at_full_text(make_review: Callable[..., Any], n: int) -> tuple[Any, list[int]]:
    """A blind dual review of `n` records ann and bob both included, full text open."""
    review = make_review("dual-screening.yaml")
    ids = add(review, n)
    for rid in ids:
        decide(review, rid, "ann", INC)
        decide(review, rid, "bob", INC)
    list_conflicts(review, TA, ADJ)  # reconciliation: full text opens
    return review, ids


def test_not_retrieved_in_blind_dual_screening_is_the_adjudicators_and_never_drops_a_decision(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.screening import mark_not_retrieved

    review, ids = _at_full_text(make_review, 3)
    decide(review, ids[0], "bob", INC, FT)
    # a screener may not mark: a refusal for ids[0] only would tell ann that bob decided it
    for rid in ids[:2]:
        with pytest.raises(ReviewError, match="the adjudicator marks full-text reports"):
            mark_not_retrieved(review, rid, "ann")
    with pytest.raises(ReviewError, match="has been assessed at full text"):
        mark_not_retrieved(review, ids[0], ADJ)  # bob's include would stop counting
    mark_not_retrieved(review, ids[1], ADJ)
    with review.transaction() as s:
        assert repo.reports(s)[ids[1]].value == "not_retrieved"
        assert repo.reports(s)[ids[0]].value == "sought"


def test_a_screener_cannot_take_back_the_adjudicators_not_retrieved_mark_nor_learn_of_it(
        make_review: Callable[..., Any]) -> None:
    """In blind dual screening `not-retrieved N --reviewer bob --undo` took back the
    adjudicator's mark, and a second try said 'not marked ... nothing changed', telling a
    screener the mark's state: the undo is the adjudicator's, as the mark is, and a
    screener's is refused the same way whatever the report's state."""
    from screener.workflow.review import NothingChanged
    from screener.workflow.screening import mark_not_retrieved, unmark_not_retrieved

    review, ids = _at_full_text(make_review, 2)
    mark_not_retrieved(review, ids[0], ADJ)
    for rid in ids:  # marked, and not: the same refusal
        for who in ("bob", None):
            with pytest.raises(ReviewError, match="the adjudicator marks full-text reports") \
                    as refused:
                unmark_not_retrieved(review, rid, who)
            assert not isinstance(refused.value, NothingChanged)
            assert "not marked" not in str(refused.value)
    with review.transaction() as s:
        assert repo.reports(s)[ids[0]].value == "not_retrieved"
    unmark_not_retrieved(review, ids[0], ADJ)
    with review.transaction() as s:
        assert repo.reports(s)[ids[0]].value == "sought"


def test_agreement_uses_the_decisions_made_before_reconciliation_began(
        make_review: Callable[..., Any]) -> None:
    # a decision changed once the reviewers could see each other's is not independent
    review = make_review("dual-screening.yaml")
    ids = add(review, 4)
    for rid, (a, b) in zip(ids, ((INC, INC), (INC, EXC), (EXC, EXC)), strict=False):
        decide(review, rid, "ann", a)
        decide(review, rid, "bob", b)
    list_conflicts(review, TA, ADJ)       # reconciliation begins
    decide(review, ids[1], "ann", EXC)    # ann follows bob, having seen his decision
    decide(review, ids[3], "ann", INC)    # screened by both only after unblinding
    decide(review, ids[3], "bob", EXC)
    (pair,) = agreement(review, TA).pairs
    assert pair.stats.n == 3 and pair.stats.table == ((1, 1), (0, 1))  # ann's include kept


def test_an_amendment_to_single_screening_names_the_conflicts_it_settles(
        make_review: Callable[..., Any], amend_to_single: Callable[..., None]) -> None:
    """Amended from dual to single screening, a disagreement became the latest decision
    without a word (a helper's run): the amendment now says which conflicts it settles."""
    review = make_review("dual-screening.yaml")
    r1, r2, r3 = add(review, 3)
    for rid, (a, b) in ((r1, (INC, EXC)), (r2, (EXC, EXC)), (r3, (INC, INC))):
        decide(review, rid, "ann", a)
        decide(review, rid, "bob", b)
    assert [c.record_id for c in list_conflicts(review, TA, ADJ)] == [r1]
    assert review.folder is not None
    data = yaml.safe_load((review.folder / "protocol.yaml").read_text(encoding="utf-8"))
    data["screening"] = {"mode": "single", "reviewers_per_record": 1, "blind": False}
    single = review.folder.parent / "single.yaml"
    single.write_text(yaml.safe_dump(data), encoding="utf-8")
    amendment = amend_protocol(review, single, "one reviewer from now on")
    assert amendment.changed_outcomes == (
        f"1 record ({r1}) in conflict at title/abstract is now settled by the latest decision, "
        "without the adjudicator",)
    assert list_conflicts(review, TA, ADJ) == []


def test_an_amendment_to_dual_screening_sends_single_screened_records_back_for_a_second(
        tmp_path: Path, db_url: str | None) -> None:
    """Amended from single to dual screening, a record one reviewer had included stayed
    'at full text' for `status` and `next` while PRISMA counted it pending (a helper's
    run): its untouched report leaves full text, and the amendment names what changed."""
    review = create_review(tmp_path / "rev", PROTOCOLS / "minimal.yaml", db_url)
    r1, r2, r3 = add(review, 3)
    decide(review, r1, "ann", INC)
    decide(review, r2, "ann", INC)
    decide(review, r3, "ann", EXC, reason="design")
    decide(review, r2, "ann", INC, FT)
    amendment = amend_to_dual(review, tmp_path, "two reviewers from now on", blind=False)
    assert amendment.changed_outcomes == (
        f"3 records ({r1}, {r2}, {r3}) decided at title/abstract under the earlier version now "
        "wait for another reviewer (they count as not yet screened there until one decides)",
        f"1 record ({r2}) already at full text no longer passes title/abstract under this "
        "version; the PRISMA counts leave their full-text steps out until the title/abstract "
        "decisions they need are made",
        f"1 record ({r2}) decided at full-text under the earlier version now waits for "
        "another reviewer (it counts as not yet screened there until one decides)")
    from screener.workflow.screening import eligible_ids

    with review.read() as session:
        # r1's untouched report left full text (r2's, assessed, stays: the warning names it)
        assert set(repo.reports(session)) == {r2} and eligible_ids(session, FT) == [r2]
    decide(review, r1, "bob", INC)  # the second title/abstract reviewer it now needs
    with review.read() as session:
        assert eligible_ids(session, FT) == [r1, r2]


def test_a_record_the_adjudicator_excludes_after_an_amendment_to_dual_leaves_full_text(
        tmp_path: Path, db_url: str | None) -> None:
    """Single screening: ann included a record and assessed its report; amended to blind
    dual screening, bob excluded it and the adjudicator excluded it at title/abstract. Its
    assessed report kept it at full text: `eligible_ids(FULL_TEXT)` listed it, status
    counted it there and bob was offered it. It leaves full text now; PRISMA counts it
    excluded at title/abstract. Resolved as an include again, it is back with its report as
    ann's full-text decision leaves it."""
    from screener.workflow.screening import eligible_ids

    review = create_review(tmp_path / "rev", PROTOCOLS / "minimal.yaml", db_url)
    r1, r2 = add(review, 2)
    decide(review, r1, "ann", INC)
    decide(review, r1, "ann", INC, FT)
    decide(review, r2, "ann", EXC)
    amend_to_dual(review, tmp_path, "two reviewers from now on", blind=True)
    decide(review, r1, "bob", EXC)
    decide(review, r2, "bob", EXC)
    assert [c.record_id for c in list_conflicts(review, TA, ADJ)] == [r1]
    resolve(review, r1, ADJ, EXC)
    with review.read() as session:
        assert eligible_ids(session, FT) == []
    assert ScreeningSession(review, "bob", FT).next() is None
    counts = prisma_counts(review)
    assert counts.problems == ()
    assert (counts.counts.records_excluded_human, counts.counts.reports_sought,
            counts.counts.reports_assessed) == (2, 0, 0)
    # ann's full-text decision on it is not counted as screened at full text, but told
    assert ("full_text: 0 records at this stage\n    ann: 0 screened (and 1 on a record "
            "no longer at full_text)") in format_status(status(review))
    (ann_ft,) = [r for r in status(review)["screened"]
                 if (r["reviewer"], r["stage"]) == ("ann", FT.value)]
    assert (ann_ft["count"], ann_ft["not_at_stage"]) == (0, 1)

    resolve(review, r1, ADJ, INC)  # the adjudicator changes their resolution
    with review.read() as session:
        assert eligible_ids(session, FT) == [r1]
        # ann's full-text include now waits for a second reviewer: sought, not assessed
        assert repo.reports(session) == {r1: ReportStatus.SOUGHT}
    assert prisma_counts(review).counts.reports_sought == 1


def test_agreement_does_not_change_when_the_review_is_amended_out_of_blinding(
        make_review: Callable[..., Any], amend_to_single: Callable[..., None]) -> None:
    """Amended from blind dual to single screening after reconciliation began, the review
    used all decisions for agreement (κ rose after the fact, 50 -> 60 records in a helper's
    run): the decisions made seeing the others' still stay out."""
    review = make_review("dual-screening.yaml")
    ids = add(review, 4)
    for rid, (a, b) in zip(ids, ((INC, INC), (INC, EXC), (EXC, EXC)), strict=False):
        decide(review, rid, "ann", a)
        decide(review, rid, "bob", b)
    list_conflicts(review, TA, ADJ)
    decide(review, ids[1], "ann", EXC)
    decide(review, ids[3], "ann", INC)
    decide(review, ids[3], "bob", EXC)
    (before,) = agreement(review, TA).pairs
    amend_to_single(review, "one reviewer from now on")
    (after,) = agreement(review, TA).pairs
    assert after.stats == before.stats and after.stats.n == 3


def test_stopping_statistics_under_an_allocation_use_the_reviewers_own_records(
        make_review: Callable[..., Any]) -> None:
    # with half the records allocated to bob, ann's 10 records are her whole population:
    # once she has screened them all, nothing relevant is left for her
    review = make_review("dual-screening.yaml")
    add(review, 20)
    allocate(review, ["ann", "bob"], 0.0, seed=2)
    session = ScreeningSession(review, "ann")
    labels = iter([INC, EXC, EXC, INC] + [EXC] * 20)
    while (item := session.next()) is not None:
        assert item.record.id is not None
        session.decide(item.record.id, next(labels))
    mine = progress(review, "ann", TA)
    assert (mine.screened, mine.own_total, mine.total) == (10, 10, 20)
    assert mine.estimated_remaining is not None and mine.estimated_remaining[0] == 0
    assert mine.p_value == 0.0  # everything of hers screened: the target cannot be missed


def test_a_record_on_someone_elses_screen_is_named_and_comes_back_when_they_quit(
        make_review: Callable[..., Any]) -> None:
    review = make_review()                                  # single screening
    ids = add(review, 3)
    carl, dana = ScreeningSession(review, "carl"), ScreeningSession(review, "dana")
    held = carl.next()                                      # carl walks away from it
    assert held is not None
    while (item := dana.next()) is not None:
        assert item.record.id is not None
        dana.decide(item.record.id, EXC)
    assert dana.held == 1                                    # not "nothing left" unqualified
    carl.release()                                          # carl quits the screen
    dana.reload()
    back = dana.next()
    assert back is not None and back.record.id == held.record.id
    assert dana.held == 0 and len(ids) == 3


def test_an_open_session_follows_an_amendment_and_a_replaced_adjudicator_resolves_no_more(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """A UI left open during `protocol amend` (another process) stamps its next decision
    with the version in force, checked against it; the adjudicator the amendment replaced
    is refused, the new one is not."""
    from screener.workflow.review import amend_protocol

    review = make_review("dual-screening.yaml")
    ids = add(review, 3)
    ann = ScreeningSession(review, "ann")
    first = ann.next()
    assert first is not None and first.record.id is not None
    data = yaml.safe_load((PROTOCOLS / "dual-screening.yaml").read_text())
    data["screening"]["adjudicator"] = "Dan"
    data["exclusion_reasons"] = [r for r in data["exclusion_reasons"] if r["id"] != "other"]
    (tmp_path / "v2.yaml").write_text(yaml.safe_dump(data))
    with open_review(review.folder, None if review.db.is_sqlite else review.db.url) as other:
        amend_protocol(other, tmp_path / "v2.yaml", "Dan adjudicates; no 'other' reason")
        with other.read() as s:
            v2 = repo.latest_protocol(s)[2]
    assert review.protocol_hash != v2                         # the open session's copy
    with pytest.raises(ReviewError, match="other"):
        ann.decide(first.record.id, EXC, reason_id="other")   # gone in version 2
    d = ann.decide(first.record.id, EXC, reason_id="design")
    assert d.protocol_hash == v2
    decide(review, ids[0], "bob", INC)                         # a conflict
    list_conflicts(review, TA, "Dan")
    with pytest.raises(ReviewError, match="not the adjudicator"):
        resolve(review, ids[0], ADJ, INC)
    assert resolve(review, ids[0], "Dan", INC).protocol_hash == v2


def test_an_offline_copy_made_while_blind_holds_no_report_rows(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """Which reports are sought tells which records passed title/abstract: the others'
    decisions, which a blind screener's copy must not carry."""
    review = make_review("dual-screening.yaml")
    ids = add(review, 3)
    decide(review, ids[0], "ann", INC)
    decide(review, ids[0], "bob", INC)                   # passes: its report is sought
    with review.read() as s:
        assert repo.reports(s)
    export_reviewer(review, "carl", tmp_path / "carl", new_reviewer=True)
    with open_review(tmp_path / "carl") as copy, copy.read() as s:
        assert repo.reports(s) == {}


def test_every_pair_of_a_stage_is_measured_on_the_same_scale(
        make_review: Callable[..., Any]) -> None:
    """PABAK and AC1 depend on the number of categories: a pair that never used maybe was
    measured on 2 and a pair that did on 3, so one table's rows were not comparable."""
    review = make_review("dual-screening.yaml")
    ids = add(review, 6)
    for rid, (a, b) in zip(ids[:4], [(INC, INC), (EXC, EXC), (MAY, EXC), (INC, EXC)],
                           strict=True):
        decide(review, rid, "ann", a)
        decide(review, rid, "bob", b)
    for rid, label in ((ids[4], INC), (ids[5], EXC)):   # bob and carl: no maybe between them
        decide(review, rid, "bob", label)
        decide(review, rid, "carl", label)
    list_conflicts(review, TA, ADJ)
    pairs = {(p.reviewer_a, p.reviewer_b): p.stats for p in agreement(review, TA).pairs}
    assert {p.categories for p in pairs.values()} == {("include", "maybe", "exclude")}
    # bob-carl agree on both records: PABAK = (3 x 1 - 1) / (3 - 1) = 1; ann-bob 2 of 4:
    assert pairs[("bob", "carl")].pabak == pytest.approx(1.0)
    assert pairs[("ann", "bob")].pabak == pytest.approx((3 * 0.5 - 1) / 2)


def test_an_offline_copy_for_a_misspelt_name_is_refused(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """export-reviewer for "anne" when the review's screener is "ann" would hand out a copy
    whose decisions come back as a second screener's: refused, nothing written, unless the
    name is meant to be new (as `decide` and `screen` do)."""
    review = make_review("dual-screening.yaml")
    ids = add(review, 3)
    decide(review, ids[0], "ann", INC)
    with pytest.raises(ReviewError, match="'anne' has not screened.*--new-reviewer"):
        export_reviewer(review, "anne", tmp_path / "anne")
    assert not (tmp_path / "anne").exists()
    records, _ = export_reviewer(review, "ann", tmp_path / "ann")     # a known name: fine
    assert records == 3
    export_reviewer(review, "bob", tmp_path / "bob", new_reviewer=True)
    assert (tmp_path / "bob" / "review.db").exists()


def test_each_reviewers_own_log_gets_its_own_default_file(
        make_review: Callable[..., Any]) -> None:
    """While a stage is blind each screener exports their own log into the shared review
    folder: bob's must not be refused (or, with --force, replace ann's) for ann's file, and
    the whole log later must not be refused for a one-reviewer subset."""
    from screener.workflow.reporting import export_log

    review = make_review("dual-screening.yaml")
    ids = add(review, 2)
    record_decision(review, ids[0], "ann", INC)
    record_decision(review, ids[1], "ann", EXC, reason_id="design")
    record_decision(review, ids[0], "bob", INC)
    ann_path, ann_n = export_log(review, "csv", viewer="ann")
    bob_path, bob_n = export_log(review, "jsonl", viewer="bob")
    assert (ann_path.name, ann_n) == ("decision-log-ann.csv", 2)
    assert (bob_path.name, bob_n) == ("decision-log-bob.jsonl", 1)
    export_log(review, "csv", viewer="bob")  # not refused: ann's file is hers
    assert {r.split(",")[4] for r in ann_path.read_text().splitlines()[1:]} == {"ann"}
    record_decision(review, ids[1], "bob", EXC, reason_id="design")
    list_conflicts(review, TA, ADJ)  # reconciliation: the whole log may be exported
    whole, n = export_log(review, "csv")
    assert (whole.name, n) == ("decision-log.csv", 4)
    assert whole.parent == ann_path.parent


def three_per_record_review(make_review: Callable[..., Any], tmp_path: Path) -> Review:
    """A review of protocols/dual-screening.yaml with three reviewers per record, not blind."""
    text = (PROTOCOLS / "dual-screening.yaml").read_text(encoding="utf-8")
    protocol = tmp_path / "three.yaml"
    protocol.write_text(text.replace("reviewers_per_record: 2", "reviewers_per_record: 3")
                        .replace("blind: true", "blind: false"), encoding="utf-8")
    review: Review = make_review(str(protocol))
    return review


def test_three_screeners_per_record_get_fleiss_kappa_beside_cohens(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """With three screeners on each record agreement was only Cohen's kappa per pair; the
    records screened by three now also give Fleiss' kappa, and the report says which
    statistic measures what."""
    from screener.workflow.reporting import write_report

    review = three_per_record_review(make_review, tmp_path)
    ids = add(review, 5)
    votes = [(INC, INC, INC), (EXC, EXC, EXC), (INC, INC, EXC), (EXC, EXC, INC)]
    for rid, labels in zip(ids[:4], votes, strict=True):
        for who, label in zip(("ann", "bob", "carl"), labels, strict=True):
            decide(review, rid, who, label)
    decide(review, ids[4], "ann", INC)
    decide(review, ids[4], "bob", EXC)       # two so far: in the pairs, not in Fleiss'
    report = agreement(review, TA)
    assert len(report.pairs) == 3            # Cohen's kappa per pair is kept
    (group,) = report.groups
    assert group.reviewers == ("ann", "bob", "carl")
    assert (group.stats.n, group.stats.raters) == (4, 3)
    # P_i = 1, 1, 1/3, 1/3: P̄ = 2/3; p_include = 6/12: P̄e = 1/2; κ = (2/3 - 1/2) / (1/2)
    assert group.stats.kappa == pytest.approx(1 / 3)
    assert group.stats.percent_agreement == pytest.approx(200 / 3)
    written = " ".join(write_report(review, tmp_path / "report.md").read_text(
        encoding="utf-8").split())
    assert "as Cohen's κ for each pair" in written
    assert ("agreement among them is Fleiss' κ (Fleiss 1971)" in written
            and "4 records each screened by three reviewers (ann, bob and carl): agreement "
                "66.7%, Fleiss' κ 0.33" in written), written


def _dual_with_bobs_last_three(tmp_path: Path, db_url: str | None, level: float,
                               run: int, count: int) -> tuple[Any, list[int]]:
    """A dual review of `count` records (stopping rule: recall target and confidence
    `level`, an irrelevant run of `run`) whose last three bob has excluded."""
    data = yaml.safe_load((PROTOCOLS / "dual-screening.yaml").read_text(encoding="utf-8"))
    data["stopping"] = {"recall_target": level, "confidence": level,
                        "consecutive_irrelevant": run, "min_screened_fraction": 0.1}
    proto = tmp_path / "dual.yaml"
    proto.write_text(yaml.safe_dump(data), encoding="utf-8")
    review = create_review(tmp_path / "r", proto, db_url)
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        ids = repo.add_records(s, source, [Record(title=f"Trial {i}") for i in range(count)])
    for rid in ids[-3:]:
        record_decision(review, rid, "bob", Label.EXCLUDE)
    return review, ids


def _exclude_next(session: ScreeningSession, count: int) -> list[int]:
    """Exclude the next `count` records `session` offers; their ids, in that order."""
    offered = []
    for _ in range(count):
        item = session.next()
        assert item is not None and item.record.id is not None
        offered.append(item.record.id)
        session.decide(item.record.id, Label.EXCLUDE)
    return offered


def test_once_a_screeners_rule_is_met_the_pairs_waiting_for_them_come_first(
        tmp_path: Path, db_url: str | None) -> None:
    """Dual screening, both screeners' stopping rules met, yet the review could never be
    final: 74 records waited for a second decision, and `next --reviewer ann` offered her
    undecided records in her ranked order, not the ones bob had decided. Once her own rule
    is met, the records bob decided and she has not come first; status counts them."""
    review, ids = _dual_with_bobs_last_three(tmp_path, db_url, 0.8, 10, 60)
    bob_only = ids[-3:]
    ann = ScreeningSession(review, "ann")
    offered = []
    while not progress(review, "ann").criteria_met:
        item = ann.next()
        assert item is not None and item.record.id is not None
        offered.append(item.record.id)
        ann.decide(item.record.id, Label.INCLUDE if len(offered) == 1 else Label.EXCLUDE)
    assert not set(offered) & set(bob_only)  # her ranked order until then
    rows = {r["reviewer"]: r for r in status(review)["screened"]
            if r["stage"] == "title_abstract"}
    assert rows["ann"]["awaiting_second"] == 3
    assert ("3 of them decided by another screener, waiting for ann's decision"
            in format_status(status(review)))
    later = ScreeningSession(review, "ann")  # as `next --reviewer ann` asks
    assert _exclude_next(later, len(bob_only)) == bob_only
    rows = {r["reviewer"]: r for r in status(review)["screened"]
            if r["stage"] == "title_abstract"}
    assert rows["ann"]["awaiting_second"] == 0
    assert rows["bob"]["awaiting_second"] == len(offered)  # hers wait for him likewise
    review.close()


def test_a_screener_who_keeps_screening_gets_the_pairs_waiting_without_a_restart(
        tmp_path: Path, db_url: str | None) -> None:
    """The pairs waiting for a screener came first only when the queue was rebuilt (a new
    session): the same session, told its rule is met (the UI computes progress after each
    decision), offers them next, and those the other screener decides later too."""
    review, ids = _dual_with_bobs_last_three(tmp_path, db_url, 0.5, 5, 30)
    ann = ScreeningSession(review, "ann")
    ann.follow_progress(progress(review, "ann").criteria_met)  # not met: nothing moves
    first = ann.next()
    assert first is not None and first.record.id not in ids[-3:]
    decided = []
    while not progress(review, "ann").criteria_met:
        item = ann.next()
        assert item is not None and item.record.id is not None
        ann.decide(item.record.id, Label.INCLUDE if not decided else Label.EXCLUDE)
        decided.append(item.record.id)
    ann.follow_progress(True)
    offered = _exclude_next(ann, 3)
    assert sorted(offered) == sorted(ids[-3:])
    undecided = [rid for rid in ann.queue.ids if rid not in {*decided, *offered}]
    later = undecided[-1]  # bob decides one more, last in her order
    record_decision(review, later, "bob", Label.EXCLUDE)
    ann.follow_progress(progress(review, "ann").criteria_met)
    item = ann.next()
    assert item is not None and item.record.id == later
    review.close()


def test_a_blind_second_reviewer_may_disagree_on_a_record_already_at_full_text(
        tmp_path: Path, db_url: str | None) -> None:
    """Amended from single to blind dual screening, bob's title/abstract exclusion of a
    record ann had taken to full text was refused with "already at full text (ann: include)"
    (a tester's run): it told a blinded reviewer ann's decision, and bob could never
    disagree. His decision now stands: the record is in conflict, ann's full-text decision
    stays, PRISMA leaves its full-text steps out until the adjudicator resolves it."""
    review = create_review(tmp_path / "rev", PROTOCOLS / "minimal.yaml", db_url)
    r1, r2 = add(review, 2)
    for rid in (r1, r2):
        decide(review, rid, "ann", INC)
        decide(review, rid, "ann", EXC, FT, reason="design")
    amend_to_dual(review, tmp_path, "two blind reviewers from now on", blind=True)
    decide(review, r1, "bob", EXC, reason="population")   # refused before
    decide(review, r2, "bob", INC)
    assert [c.record_id for c in list_conflicts(review, TA, ADJ)] == [r1]
    with review.read() as session:
        assert {d.record_id for d in repo.current_decisions(session, FT)} == {r1, r2}
    counts = prisma_counts(review).counts  # r1 awaits the adjudicator: not yet passed on
    assert (counts.records_excluded_human, counts.reports_sought) == (0, 1)
    # the adjudicator's exclusion settles it: r1 leaves full text, its decision there
    # stays in the log and counts nowhere
    resolve(review, r1, ADJ, EXC, reason_id="population")
    counts = prisma_counts(review).counts
    assert (counts.records_excluded_human, counts.reports_sought) == (1, 1)
    # once two agreed, a change that would take a record out of full text is still
    # refused, without naming what the others decided while full text is blind
    (r3,) = add(review, 1)
    decide(review, r3, "ann", INC)
    decide(review, r3, "bob", INC)
    decide(review, r3, "ann", EXC, FT, reason="design")
    with pytest.raises(ReviewError) as refused:
        decide(review, r3, "bob", EXC, reason="population")
    assert f"record {r3} is already at full text" in str(refused.value)
    assert "ann" not in str(refused.value) and "design" not in str(refused.value)


def test_status_keeps_dual_screeners_with_equal_figures_apart(
        make_review: Callable[..., Any]) -> None:
    """Dual screening: ann and bob each screen every record, and their own figures can
    happen to be equal (the same labels in the same order). status printed them as one
    line, 'ann, bob (the review's figures: each record is screened once)', which is false
    here; only single screening's shared figures are printed once."""
    review = make_review("dual-screening.yaml")
    ids = add(review, 8)
    for who in ("ann", "bob"):
        for rid, label in zip(ids, (INC, EXC, EXC, EXC), strict=False):
            decide(review, rid, who, label)
    list_conflicts(review, TA, ADJ)  # reconciliation: both screeners' figures shown
    data = status(review)
    rows = data["stopping"]["reviewers"]
    assert {r["figures_of"] for r in rows} == {"reviewer"}
    text = format_status(data)
    assert "each record is screened once" not in text
    assert [x.strip().split(":")[0] for x in text.splitlines()
            if "irrelevant in a row" in x] == ["ann", "bob"]


def test_allocating_a_three_reviewer_protocol_gives_each_shared_record_three(
        tmp_path: Path, db_url: str | None) -> None:
    """reviewers_per_record: 3 with --overlap 100%: allocate gave each record a pair, so a
    record two screeners agreed on was settled with two decisions, not the protocol's
    three. Each shared record now gets three screeners (threes taken in turn), and two
    decisions leave it waiting for the third."""
    from screener.workflow.screening import outcomes

    with custom_review(tmp_path, db_url, reviewers_per_record=3, adjudicator=ADJ) as review:
        ids = add(review, 8)
        result = allocate(review, ["ann", "bob", "dan", "eve"], 1.0, seed=3)
        assert (result.records, result.double) == (8, 8)
        assert sum(result.per_reviewer.values()) == 24
        with review.read() as s:
            mine = {n: _mine(allocated_ids(review, s, n)) for n in ("ann", "bob", "dan", "eve")}
        for rid in ids:
            assert sum(rid in m for m in mine.values()) == 3
        rid = next(iter(mine["ann"] & mine["bob"]))
        decide(review, rid, "ann", EXC)
        decide(review, rid, "bob", EXC)
        with review.read() as s:
            assert outcomes(review, s, TA, [rid])[rid].label is None  # waits for the third
        third = next(n for n in ("dan", "eve") if rid in mine[n])
        decide(review, rid, third, EXC)
        with review.read() as s:
            assert outcomes(review, s, TA, [rid])[rid].label == EXC
        with pytest.raises(ReviewError, match="at least three reviewers"):
            allocate(review, ["ann", "bob"], 0.5, seed=3)


def test_a_full_text_decision_on_a_record_in_conflict_says_it_waits_for_the_adjudicator(
        make_review: Callable[..., Any]) -> None:
    """decide --stage full_text on a record in conflict at title/abstract said it 'was not
    included at title/abstract; it has no full-text stage', as if it were excluded."""
    review = make_review("dual-screening.yaml")
    torn, agreed, out = add(review, 3)
    for rid, a, b in ((torn, INC, EXC), (agreed, INC, INC), (out, EXC, EXC)):
        decide(review, rid, "ann", a)
        decide(review, rid, "bob", b)
    list_conflicts(review, TA, ADJ)  # reconciliation: full text opens
    with pytest.raises(ReviewError) as refused:
        decide(review, torn, "ann", INC, FT)
    assert str(refused.value) == (
        f"record {torn} is in conflict at title/abstract and waits for the adjudicator "
        "(`screener conflicts`); it reaches full text if resolved as include or maybe")
    with pytest.raises(ReviewError, match="was not included at title/abstract"):
        decide(review, out, "ann", INC, FT)
    resolve(review, torn, ADJ, INC)
    decide(review, torn, "ann", INC, FT)  # resolved as include: at full text now


def test_the_report_words_three_reviewers_per_record_of_five(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """Three reviewers per record among five: the report said 'excluded by both reviewers
    for different reasons' of a report three excluded, '1 record both excluded ... count
    as agreed', 'each screened by three reviewers (ann, bob, carl, dan and eve)' of five
    names, and '5 reviewers took part' (a sentence opening with a numeral)."""
    from screener.workflow.reporting import write_report

    review = three_per_record_review(make_review, tmp_path)
    r0, r1, r2 = add(review, 3)
    for rid, who, label in ((r0, ("ann", "bob", "carl"), INC), (r1, ("bob", "dan", "eve"), EXC),
                            (r2, ("ann", "dan", "eve"), EXC)):
        for name in who:
            decide(review, rid, name, label)
    for name, reason in (("ann", "population"), ("bob", "design"), ("carl", "design")):
        decide(review, r0, name, EXC, FT, reason)
    written = " ".join(write_report(review, tmp_path / "report.md").read_text(
        encoding="utf-8").split())
    assert "Five reviewers took part in screening (ann, bob, carl, dan and eve)" in written
    assert ("3 records each screened by three of ann, bob, carl, dan and eve: agreement"
            in written), written
    assert "1 full-text report was excluded by all its reviewers for different reasons" in written
    assert "by both reviewers" not in written
    assert "1 record that both excluded for different reasons counts as agreed here" in written


def test_fleiss_agreement_notes_records_all_three_excluded_for_different_reasons(
        make_review: Callable[..., Any], tmp_path: Path, db_url: str | None) -> None:
    """Three screened each report and all excluded it, not for the same reason: beside
    Cohen's kappa each pair's note said 'records that both excluded for different reasons
    count as agreed', but Fleiss' row (the three together, 100% agreement) said nothing of
    it. It now says 'that all three excluded', in agreement --json and in the report; not
    'for different reasons', as two of the three gave the same one (ann and bob population,
    carl design: it read as if all three reasons differed)."""
    from screener.workflow.reporting import write_report

    review = three_per_record_review(make_review, tmp_path)
    r0, r1 = add(review, 2)
    for rid in (r0, r1):
        for name in ("ann", "bob", "carl"):
            decide(review, rid, name, INC)
    for rid, reasons in ((r0, ("population", "population", "design")),
                         (r1, ("design", "design", "design"))):
        for name, reason in zip(("ann", "bob", "carl"), reasons, strict=True):
            decide(review, rid, name, EXC, FT, reason)
    (group,) = agreement(review, FT).groups
    assert group.as_dict()["excluded_for_different_reasons"] == 1
    written = " ".join(write_report(review, tmp_path / "report.md").read_text(
        encoding="utf-8").split())
    assert ("Fleiss' κ n/a (the agreement is on the labels only: 1 record that all three "
            "excluded, not all for the same reason, counts as agreed here)") in written, written
    assert "all three excluded for different reasons" not in written
    assert "1 record that both excluded for different reasons" in written  # ann's pairs
    from click.testing import CliRunner

    from screener.cli import main

    where = ["--db", db_url] if db_url else ["--review", str(review.location)]
    text = " ".join(CliRunner().invoke(main, ["agreement", "--stage", "full_text", *where],
                                       catch_exceptions=False).output.split())
    assert ("note: the agreement is on the labels only: 1 record that all three excluded, "
            "not all for the same reason, counts as agreed here") in text, text


def test_a_draft_says_how_many_reviewers_screened_each_record_of_three(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """Three reviewers per record, no allocation, part-way through: the draft's methods
    text said '3 records have been screened by two or more reviewers' of two records three
    had screened and one two had (waiting for its third). It now gives each number."""
    from screener.workflow.reporting import write_report

    review = three_per_record_review(make_review, tmp_path)
    ids = add(review, 5)
    for rid, who in ((ids[0], ("ann", "bob", "carl")), (ids[1], ("ann", "bob", "carl")),
                     (ids[2], ("ann", "bob")), (ids[3], ("ann",))):
        for name in who:
            decide(review, rid, name, INC)
    for name in ("ann", "bob", "carl"):
        decide(review, ids[0], name, EXC, FT, "design")
    decide(review, ids[1], "ann", EXC, FT, "design")
    written = " ".join(write_report(review, tmp_path / "report.md").read_text(
        encoding="utf-8").split())
    assert ("Under the protocol each record and each retrieved report is screened by three "
            "reviewers") in written
    assert ("So far, at title and abstract, 2 records have been screened by three reviewers, "
            "1 by two and 1 by one; at full text, 1 report has been screened by three "
            "reviewers and 1 by one.") in written, written
    assert "two or more" not in written


def test_records_waiting_for_a_screener_who_left_are_counted_with_a_way_on(
        make_review: Callable[..., Any], tmp_path: Path) -> None:
    """Three reviewers per record, dan left after one record: the others' records stayed
    pending for good, and status and the report's DRAFT line ('2 waiting for another
    reviewer') offered no way on. Both now count them and name allocate, a new reviewer
    or a protocol amendment."""
    from screener.workflow.reporting import prisma_counts

    review = three_per_record_review(make_review, tmp_path)
    ids = add(review, 3)
    for rid in ids:
        for who in ("ann", "bob") if rid != ids[0] else ("ann", "bob", "dan"):
            decide(review, rid, who, EXC)
    data = status(review)
    assert data["waiting_for_reviewer"] == 2
    way = ("if a screener has left, `screener allocate` the records to another reviewer, let "
           "one join with `screener screen --reviewer NAME --new-reviewer`, or amend the "
           "protocol's reviewers_per_record with `screener protocol amend`)")
    waiting = "2 records wait for a reviewer who has not decided them ("
    turn = "`screener status` shows whose turn it is; "
    # status itself does not point to status; the report does
    assert waiting + way in format_status(data)
    assert waiting + turn + way in prisma_counts(review).draft
    # a three-per-record review was shown as '(protocol v1, dual screening)'
    assert "(protocol v1, three reviewers per record)" in format_status(data)
    decide(review, ids[1], "eve", EXC)
    decide(review, ids[2], "eve", EXC)
    assert "wait for a reviewer" not in format_status(status(review))
    assert not prisma_counts(review).draft


def test_blind_status_counts_the_records_waiting_for_a_reviewer(
        tmp_path: Path, db_url: str | None) -> None:
    """While screening was blind, status --json gave waiting_for_reviewer null and the text
    left the waiting note out, so a lead could not tell records stuck for a screener who
    had left. How many screeners decided a record says nothing of what they decided (each
    screener's list already shows what waits for them): it is counted while blind too,
    and the labels stay hidden."""
    with custom_review(tmp_path, db_url, reviewers_per_record=3, adjudicator=ADJ) as review:
        ids = add(review, 4)
        for rid, who, label in ((ids[0], ("ann", "bob", "cat"), INC),
                                (ids[1], ("ann", "bob"), EXC), (ids[2], ("bob",), INC)):
            for name in who:
                decide(review, rid, name, label)
        data = status(review, "ann")
        assert data["blind"] and data["waiting_for_reviewer"] == 2
        text = format_status(data)
        assert "2 records wait for a reviewer who has not decided them" in text
        # the others' labels and the combined outcomes stay hidden
        assert "bob: 3 screened (labels hidden (blind))" in text
        assert "outcomes" not in text and data["outcomes"] == {}


def test_amending_reviewers_per_record_under_an_allocation_says_to_allocate_again(
        tmp_path: Path, db_url: str | None) -> None:
    """An allocation's count replaces the protocol's, so amending reviewers_per_record 3 ->
    2 while one was in force changed nothing, without a word, and the waiting note advised
    just that amendment. The amendment now warns that the allocation still applies, the
    note says to allocate again, and allocating again follows the new number."""
    from screener.workflow.screening import outcomes

    with custom_review(tmp_path, db_url, reviewers_per_record=3, blind=False,
                       adjudicator=ADJ) as review:
        ids = add(review, 3)
        made = allocate(review, ["ann", "bob", "cat"], 1.0, seed=3, new_reviewers=True)
        with review.read() as s:
            run = repo.latest_allocation(s, TA)
        assert run is not None and made.per_record == 3
        for rid in ids:  # cat leaves after two records
            for who in ("ann", "bob", "cat") if rid != ids[2] else ("ann", "bob"):
                decide(review, rid, who, EXC)
        note = format_status(status(review))
        assert "1 record waits for a reviewer" in note
        assert "amend the protocol's reviewers_per_record with" not in note
        assert "`screener allocate` again" in note

        two = tmp_path / "two.yaml"
        two.write_text((tmp_path / "rev.yaml").read_text().replace(
            "reviewers_per_record: 3", "reviewers_per_record: 2"))
        amended = amend_protocol(review, two, "cat left: two per record")
        made_at = iso_utc(run["created_at"])[:16].replace("T", " ")
        assert amended.warnings == (
            f"the allocation of {made_at} UTC gives three screeners per shared record and "
            "still applies; run `screener allocate` again to follow the new number",)
        with review.read() as s:
            assert outcomes(review, s, TA, [ids[2]])[ids[2]].label is None  # as it said
        again = tmp_path / "again.yaml"
        again.write_text(two.read_text().replace("title:", "title: Amended", 1))
        assert amend_protocol(review, again, "retitled").warnings == ()  # the number stays

        assert allocate(review, ["ann", "bob", "cat"], 1.0, seed=3).per_record == 2
        with review.read() as s:
            assert outcomes(review, s, TA, [ids[2]])[ids[2]].label == EXC
        assert "wait for a reviewer" not in format_status(status(review))
