"""Screening use cases on both databases: next, decide, undo, stages, dual screening."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from screener.core.decisions import Label, ReportStatus, Role, Stage
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.review import NothingChanged, Review, ReviewError
from screener.workflow.screening import ScreeningSession, mark_not_retrieved, record_decision


def add(review: Review, n: int) -> list[int]:
    with review.transaction() as s:
        source = repo.add_source(s, name="Test", kind="database")
        return repo.add_records(s, source, [Record(title=f"Record {i}") for i in range(n)])


def test_next_follows_import_order_and_skips_decided(make_review: Callable[..., Any]) -> None:
    review = make_review()
    ids = add(review, 4)
    session = ScreeningSession(review, "ann")
    first = session.next()
    assert first is not None and first.record.id == ids[0] and first.ranking_id is None
    session.decide(ids[0], Label.INCLUDE)
    second = session.next()
    assert second is not None and second.record.id == ids[1]
    # single mode: a record anyone decided is not offered to anyone else
    record_decision(review, ids[2], "bob", Label.EXCLUDE)
    other = ScreeningSession(review, "carl")
    seen = []
    while (item := other.next()) is not None:
        seen.append(item.record.id)
        other.decide(item.record.id, Label.EXCLUDE)
    # ids[1] is on ann's screen: `next` claimed it for her, so carl is not offered it
    assert seen == [ids[3]]


def test_decision_is_committed_before_next(make_review: Callable[..., Any]) -> None:
    review = make_review()
    ids = add(review, 2)
    session = ScreeningSession(review, "ann")
    item = session.next()
    assert item is not None
    session.decide(item.record.id, Label.MAYBE, note="check dose")
    # a separate connection sees it at once
    from screener.workflow.review import open_review

    other = open_review(review.folder, None if review.db.is_sqlite else review.db.url)
    try:
        with other.transaction() as s:
            current = repo.current_decisions(s)
        assert [(d.record_id, d.label, d.note) for d in current] == [(ids[0], Label.MAYBE, "check dose")]
    finally:
        other.close()


def test_record_decision_refuses_an_undone_label(make_review: Callable[..., Any]) -> None:
    """An 'undone' row stored as a decision withdrew nothing (no undo link): log verify
    then reported the review damaged. An undo goes through ScreeningSession.undo."""
    review = make_review()
    ids = add(review, 1)
    record_decision(review, ids[0], "ann", Label.INCLUDE)
    with pytest.raises(ReviewError, match="undone is not a decision"):
        record_decision(review, ids[0], "ann", Label.UNDONE)
    with review.read() as s:
        assert [d.label for d in repo.decision_log(s)] == [Label.INCLUDE]


def test_undo_steps_back_through_own_decisions(make_review: Callable[..., Any]) -> None:
    review = make_review()
    ids = add(review, 3)
    session = ScreeningSession(review, "ann")
    for rid in ids[:2]:
        session.decide(rid, Label.EXCLUDE)
    assert (r := session.undo()) is not None and r.id == ids[1]
    assert (r := session.undo()) is not None and r.id == ids[0]
    assert session.undo() is None
    item = session.next()
    assert item is not None and item.record.id == ids[0]
    with review.transaction() as s:
        log = repo.decision_log(s)
        assert [d.label for d in log] == [Label.EXCLUDE, Label.EXCLUDE, Label.UNDONE, Label.UNDONE]
        assert repo.current_decisions(s) == []


def test_a_decision_as_it_stands_adds_no_row_and_undo_takes_back_the_last_real_step(
        make_review: Callable[..., Any]) -> None:
    """The UI's decide on a record decided so already (opened from browse) stored a copy,
    which undo then withdrew in place of the reviewer's last real step."""
    review = make_review()
    ids = add(review, 3)
    session = ScreeningSession(review, "ann")
    session.decide(ids[0], Label.INCLUDE, note="dose?")
    session.decide(ids[1], Label.EXCLUDE)
    with pytest.raises(NothingChanged, match="nothing changed"):
        session.decide(ids[0], Label.INCLUDE, note="dose?", repeat_ok=True)
    undone = session.undo()
    assert undone is not None and undone.id == ids[1]
    for rid in ids[1:]:  # at full text: a mark after the last decision is the step undo takes
        record_decision(review, rid, "ann", Label.INCLUDE)
    full = ScreeningSession(review, "ann", stage=Stage.FULL_TEXT)
    full.decide(ids[0], Label.INCLUDE)
    full.mark_not_retrieved(ids[1])
    with pytest.raises(NothingChanged):
        full.decide(ids[0], Label.INCLUDE, repeat_ok=True)
    undone = full.undo()
    assert full.undid_mark and undone is not None and undone.id == ids[1]
    with review.read() as s:
        log = [(d.record_id, d.reviewer, d.stage, d.label) for d in repo.decision_log(s)]
    ta, ft = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
    assert log == [(ids[0], "ann", ta, Label.INCLUDE), (ids[1], "ann", ta, Label.EXCLUDE),
                   (ids[1], "ann", ta, Label.UNDONE),
                   *((rid, "ann", ta, Label.INCLUDE) for rid in ids[1:]),
                   (ids[0], "ann", ft, Label.INCLUDE)]


def test_a_record_undo_brings_back_is_not_logged_as_placed_by_the_ranking(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.ranking import refresh_ranking

    review = make_review()
    add(review, 4)
    refresh_ranking(review, "ann")
    session = ScreeningSession(review, "ann")
    item = session.next()
    assert item is not None and item.ranking_id is not None and item.rank_position == 1
    session.decide(item.record.id, Label.EXCLUDE)
    session.undo()
    again = session.next()
    assert again is not None and again.record.id == item.record.id
    assert (again.ranking_id, again.rank_position, again.basis) == (None, None, "undo")
    session.decide(again.record.id, Label.INCLUDE)
    following = session.next()  # the queue's own records keep their ranking
    assert following is not None and following.ranking_id is not None
    with review.transaction() as s:
        last = [d for d in repo.decision_log(s) if d.label == Label.INCLUDE][-1]
    assert (last.ranking_id, last.rank_position) == (None, None)


def test_undoing_a_changed_decision_restores_the_earlier_one(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.progress import progress_counts

    review = make_review()
    ids = add(review, 3)
    session = ScreeningSession(review, "ann")
    session.decide(ids[0], Label.EXCLUDE, reason_id="design")
    session.decide(ids[1], Label.INCLUDE)
    session.decide(ids[0], Label.INCLUDE, note="changed my mind")  # revisited from browse
    assert session.my_decisions()[ids[0]].label == Label.INCLUDE
    assert (r := session.undo()) is not None and r.id == ids[0]
    # the change is withdrawn: ann's exclusion stands again, it is not lost
    mine = session.my_decisions()
    assert (mine[ids[0]].label, mine[ids[0]].reason_id) == (Label.EXCLUDE, "design")
    assert progress_counts(review, "ann").screened == 2
    with review.transaction() as s:
        assert {(d.record_id, d.label) for d in repo.current_decisions(s)} == {
            (ids[0], Label.EXCLUDE), (ids[1], Label.INCLUDE)}
        assert repo.record_screeners(s, Stage.TITLE_ABSTRACT, ids[0]) == [("ann", Role.SCREENER)]
    # further undos step back through what still stands, latest first
    assert (r := session.undo()) is not None and r.id == ids[1]
    assert (r := session.undo()) is not None and r.id == ids[0]
    assert session.undo() is None and session.my_decisions() == {}
    with review.transaction() as s:
        assert repo.record_screeners(s, Stage.TITLE_ABSTRACT, ids[0]) == []


def test_exclusion_reason_rules(make_review: Callable[..., Any]) -> None:
    review = make_review()
    (rid,) = add(review, 1)
    with pytest.raises(ReviewError, match="unknown exclusion reason 'nope'"):
        record_decision(review, rid, "ann", Label.EXCLUDE, reason_id="nope")
    with pytest.raises(ReviewError, match="goes with --label exclude"):
        record_decision(review, rid, "ann", Label.INCLUDE, reason_id="population")
    with pytest.raises(ReviewError, match="no record with id 999"):
        record_decision(review, 999, "ann", Label.INCLUDE)
    with pytest.raises(ReviewError, match="^unknown criterion id X9; the protocol has"):
        record_decision(review, rid, "ann", Label.EXCLUDE, reason_id="population",
                        criterion_ids=["I1", "X9"])
    d = record_decision(review, rid, "ann", Label.EXCLUDE, reason_id="population",
                        criterion_ids=["I1"])
    assert d.reason_id == "population" and d.criterion_ids == ("I1",)


def test_full_text_stage_reports(make_review: Callable[..., Any]) -> None:
    review = make_review()
    a, b, c = add(review, 3)
    record_decision(review, a, "ann", Label.INCLUDE)
    record_decision(review, b, "ann", Label.MAYBE)
    record_decision(review, c, "ann", Label.EXCLUDE)
    ft = ScreeningSession(review, "ann", Stage.FULL_TEXT)
    assert ft.total == 2
    with pytest.raises(ReviewError, match="needs a reason"):
        ft.decide(a, Label.EXCLUDE)
    ft.decide(a, Label.EXCLUDE, reason_id="design")
    mark_not_retrieved(review, b)
    with pytest.raises(ReviewError, match="was not included at title/abstract; it has no "
                                          "full-text stage"):
        record_decision(review, c, "ann", Label.INCLUDE, stage=Stage.FULL_TEXT)
    with pytest.raises(ReviewError, match="full text is marked not retrieved"):   # says which
        record_decision(review, b, "ann", Label.INCLUDE, stage=Stage.FULL_TEXT)
    with review.transaction() as s:
        assert repo.reports(s) == {a: ReportStatus.ASSESSED, b: ReportStatus.NOT_RETRIEVED}
        repo.add_duplicate_links(s, [(1, c, a, "doi", 1.0)])
        from screener.workflow.screening import eligible_count, eligible_ids

        for stage in Stage:
            assert eligible_count(s, stage) == len(eligible_ids(s, stage))
        assert eligible_count(s, Stage.TITLE_ABSTRACT) == 2
    assert ScreeningSession(review, "ann", Stage.FULL_TEXT).next() is None


def test_an_undone_full_text_decision_leaves_the_report_awaiting_again(
        make_review: Callable[..., Any]) -> None:
    """After undoing a full-text exclusion the report stayed 'assessed': status counted it
    as assessed while PRISMA had it awaiting, and the report could not be marked not
    retrieved (the wrong PDF had been read, the right one could not be had)."""
    review = make_review()
    (a,) = add(review, 1)
    record_decision(review, a, "ann", Label.INCLUDE)
    ft = ScreeningSession(review, "ann", Stage.FULL_TEXT)
    ft.decide(a, Label.EXCLUDE, reason_id="design")
    with review.read() as s:
        assert repo.reports(s) == {a: ReportStatus.ASSESSED}
    assert ft.undo() is not None
    with review.read() as s:
        assert repo.reports(s) == {a: ReportStatus.SOUGHT}
    mark_not_retrieved(review, a)
    with review.read() as s:
        assert repo.reports(s) == {a: ReportStatus.NOT_RETRIEVED}


def test_a_title_abstract_change_cannot_take_a_record_out_of_full_text_work(
        make_review: Callable[..., Any]) -> None:
    """A title/abstract exclusion made after the report was assessed or marked not
    retrieved left `status`, the report's full-text table and the exports counting it while
    PRISMA did not (a helper's run): it is refused, nothing written, with what to do."""
    review = make_review()
    a, b, c = add(review, 3)
    for rid in (a, b, c):
        record_decision(review, rid, "ann", Label.INCLUDE)
    record_decision(review, a, "ann", Label.EXCLUDE, stage=Stage.FULL_TEXT, reason_id="design")
    mark_not_retrieved(review, b)
    with review.read() as s:
        before = (len(repo.current_decisions(s)), repo.reports(s))
    with pytest.raises(ReviewError, match=r"record \d+ is already at full text \(ann: exclude "
                       r"\(design\)\).*nothing was saved.*excluded there, with a reason"):
        record_decision(review, a, "ann", Label.EXCLUDE, reason_id="population")
    with pytest.raises(ReviewError, match=r"marked not retrieved.*nothing was saved.*"
                       rf"screener not-retrieved {b} --undo"):
        record_decision(review, b, "ann", Label.EXCLUDE, reason_id="population")
    with review.read() as s:
        assert (len(repo.current_decisions(s)), repo.reports(s)) == before
    record_decision(review, a, "ann", Label.MAYBE)  # still passes title/abstract: allowed
    record_decision(review, c, "ann", Label.EXCLUDE, reason_id="population")  # untouched: fine
    with review.read() as s:
        assert c not in repo.reports(s)


def test_dual_mode_offers_record_to_two_reviewers(make_review: Callable[..., Any]) -> None:
    review = make_review("dual-screening.yaml")
    ids = add(review, 2)
    ann, bob, carl = (ScreeningSession(review, n) for n in ("ann", "bob", "carl"))
    ann.decide(ids[0], Label.INCLUDE)
    assert (item := bob.next()) is not None and item.record.id == ids[0]
    bob.decide(ids[0], Label.EXCLUDE)
    # two screeners have decided: a third is offered the next record only
    assert (item := carl.next()) is not None and item.record.id == ids[1]
    with review.transaction() as s:
        assert repo.reports(s) == {}   # conflict: nothing goes to full text yet
    record_decision(review, ids[0], "Adjudicator", Label.INCLUDE)
    with review.transaction() as s:
        assert repo.reports(s) == {ids[0]: ReportStatus.SOUGHT}


def test_reviewer_name_required(make_review: Callable[..., Any]) -> None:
    review = make_review()
    with pytest.raises(ReviewError, match="reviewer name"):
        ScreeningSession(review, "  ")


@pytest.mark.parametrize("name", ["a\nb", "ann\x1b[2J", "bo\rb", "x\ty", "\u202eann",
                                  "ann\u2028bob", "nul\x00"])
def test_a_reviewer_name_with_control_characters_is_refused(
        make_review: Callable[..., Any], name: str) -> None:
    # escape codes reached every terminal that showed the name; a newline split CSV rows
    review = make_review()
    (rid,) = add(review, 1)
    with pytest.raises(ReviewError, match="cannot hold control characters") as info:
        record_decision(review, rid, name, Label.INCLUDE)
    assert "\x1b" not in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ReviewError, match="cannot hold control characters"):
        ScreeningSession(review, name)
    with review.transaction() as s:
        assert repo.count_decisions(s) == 0 and repo.reviewers(s) == []


def test_a_name_typed_in_either_unicode_form_is_one_reviewer(
        make_review: Callable[..., Any]) -> None:
    review = make_review()
    ids = add(review, 3)
    record_decision(review, ids[0], "Zo\u00eb", Label.INCLUDE)  # NFC: one code point
    record_decision(review, ids[1], "Zoe\u0308", Label.EXCLUDE)  # NFD: e + combining diaeresis
    with pytest.raises(ReviewError, match="names are matched exactly"):
        record_decision(review, ids[2], "ZOE\u0308", Label.INCLUDE)
    with review.transaction() as s:
        assert [r.name for r in repo.reviewers(s)] == ["Zo\u00eb"]
        assert {d.reviewer for d in repo.current_decisions(s)} == {"Zo\u00eb"}


def test_a_note_with_escape_codes_is_refused_and_a_multi_line_note_is_kept(
        make_review: Callable[..., Any]) -> None:
    review = make_review()
    (rid,) = add(review, 1)
    with pytest.raises(ReviewError, match="control character"):
        record_decision(review, rid, "ann", Label.MAYBE, note="\x1b[31mred\x1b[0m")
    d = record_decision(review, rid, "ann", Label.MAYBE, note="first line\n\tsecond")
    assert d.note == "first line\n\tsecond"


def test_undo_is_refused_where_a_new_decision_would_be(make_review: Callable[..., Any]) -> None:
    """Withdrawing a decision the reviewer could not make again would lose it for good:
    refused, nothing written, once the adjudicator resolved the record. (An allocation
    never takes a decided record from its screener.)"""
    from screener.workflow.team import allocate, list_conflicts, resolve

    review = make_review("dual-screening.yaml")
    ids = add(review, 12)
    ann = ScreeningSession(review, "ann")
    ann.decide(ids[0], Label.INCLUDE)
    record_decision(review, ids[0], "bob", Label.EXCLUDE)
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")
    resolve(review, ids[0], "Adjudicator", Label.EXCLUDE)
    with review.read() as s:
        before = len(repo.decision_log(s))
    with pytest.raises(ReviewError, match="resolved by the adjudicator .Adjudicator."):
        ann.undo()
    with review.read() as s:
        assert len(repo.decision_log(s)) == before
    assert ann.my_decisions()[ids[0]].label == Label.INCLUDE

    ann.decide(ids[1], Label.INCLUDE)
    ann.decide(ids[2], Label.INCLUDE)
    allocate(review, ["bob", "carl"], 0.0, seed=1, new_reviewers=True)  # ann gets no new record from now on
    # ... but keeps those she decided (a new allocation takes none from its screener), so
    # she may undo one and decide it again
    assert ann.undo() is not None
    assert ids[2] not in ann.my_decisions()
    record_decision(review, ids[2], "ann", Label.EXCLUDE)
    with pytest.raises(ReviewError, match="allocated to other reviewers"):
        record_decision(review, ids[3], "ann", Label.INCLUDE)


def test_the_adjudicators_undo_takes_back_marks_only(make_review: Callable[..., Any]) -> None:
    from screener.workflow.team import list_conflicts, resolve

    review = make_review("dual-screening.yaml")
    ids = add(review, 3)
    for rid in ids:
        record_decision(review, rid, "ann", Label.INCLUDE)
        record_decision(review, rid, "bob", Label.INCLUDE if rid != ids[2] else Label.EXCLUDE)
    list_conflicts(review, Stage.TITLE_ABSTRACT, "Adjudicator")
    resolve(review, ids[2], "Adjudicator", Label.INCLUDE)
    adj = ScreeningSession(review, "Adjudicator", Stage.FULL_TEXT)
    assert not adj.mark_undoable
    adj.mark_not_retrieved(ids[1])
    assert adj.mark_undoable
    assert (r := adj.undo()) is not None and r.id == ids[1] and adj.undid_mark
    assert adj.undo() is None and not adj.mark_undoable  # not their resolution
    with review.read() as s:
        assert repo.reports(s)[ids[1]] == ReportStatus.SOUGHT


def _ann_at_full_text(make_review: Callable[..., Any]
                      ) -> tuple[Review, list[int], ScreeningSession]:
    """Three records ann included, and her full-text session with the first on screen."""
    review = make_review()
    ids = add(review, 3)
    for rid in ids:
        record_decision(review, rid, "ann", Label.INCLUDE)
    ann = ScreeningSession(review, "ann", Stage.FULL_TEXT)
    assert (item := ann.next()) is not None and item.record.id == ids[0]
    return review, ids, ann


def test_a_report_whose_mark_is_taken_back_elsewhere_is_offered_again(
        make_review: Callable[..., Any]) -> None:
    """The UI said 'Nothing left for you to screen' beside 'Screened 2 of 3' after the
    adjudicator took back a not-retrieved mark, until it was restarted (a helper's run)."""
    from screener.workflow.screening import unmark_not_retrieved
    from screener.workflow.team import RecordTaken

    review, ids, ann = _ann_at_full_text(make_review)
    mark_not_retrieved(review, ids[0], "bob")  # another shell, while it is on screen
    with pytest.raises(RecordTaken):
        ann.decide(ids[0], Label.INCLUDE)  # it leaves ann's queue
    unmark_not_retrieved(review, ids[0], "bob")  # taken back
    for rid in ids[1:]:
        assert (item := ann.next()) is not None and item.record.id == rid
        ann.decide(rid, Label.EXCLUDE, reason_id="design")
    assert (item := ann.next()) is not None and item.record.id == ids[0]
    ann.decide(ids[0], Label.INCLUDE)
    assert ann.next() is None


def test_a_report_marked_elsewhere_is_not_offered_or_decided(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.team import RecordTaken

    review, ids, ann = _ann_at_full_text(make_review)
    mark_not_retrieved(review, ids[0], "bob")  # in another shell, while it is on screen
    mark_not_retrieved(review, ids[1], "bob")
    with pytest.raises(RecordTaken, match="marked not retrieved while it was on screen"):
        ann.decide(ids[0], Label.INCLUDE)
    assert (item := ann.next()) is not None and item.record.id == ids[2]
    mark_not_retrieved(review, ids[2], "bob")
    with pytest.raises(RecordTaken, match="marked not retrieved already"):
        ann.mark_not_retrieved(ids[2])  # `r` on it, after bob
    assert ann.next() is None
    # outside the queue (browse, `screener decide`): a plain refusal that says why
    with pytest.raises(ReviewError, match="is marked not retrieved, so it has no full-text"):
        record_decision(review, ids[0], "ann", Label.INCLUDE, stage=Stage.FULL_TEXT)


def test_statements_per_decision_do_not_grow_with_the_decisions_made(
        make_review: Callable[..., Any]) -> None:
    """Showing a record and committing its decision reads what that record needs: as many
    SQL statements for the 40th decision as for the 4th (nothing per decision made so far,
    so the wait between records does not grow as the review goes on)."""
    from sqlalchemy import event

    review = make_review()
    add(review, 60)
    session = ScreeningSession(review, "ann")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(review.db.engine, "before_cursor_execute", count)
    try:
        per_decision = []
        for _ in range(40):
            statements.clear()
            item = session.next()
            assert item is not None
            session.decide(item.record.id, Label.INCLUDE)
            per_decision.append(len(statements))
    finally:
        event.remove(review.db.engine, "before_cursor_execute", count)
    assert per_decision[3] > 0
    assert per_decision[3:] == [per_decision[3]] * 37
