"""Which decision stands after changes and undos (screener.core.decisions)."""

from __future__ import annotations

from screener.core.decisions import Decision, Label, Stage, current_decisions, in_screening_order

TA = Stage.TITLE_ABSTRACT


def d(record: int, label: Label, who: str = "ann", seq: int = 0) -> Decision:
    return Decision(record_id=record, reviewer=who, stage=TA, label=label, seq=seq)


def test_an_undo_brings_back_the_decision_it_replaced() -> None:
    log = [d(1, Label.EXCLUDE, seq=1), d(2, Label.INCLUDE, seq=2),
           d(1, Label.INCLUDE, seq=3), d(1, Label.UNDONE, seq=4)]
    standing = current_decisions(log)
    assert [(k[0], v.label) for k, v in standing.items()] == [(1, Label.EXCLUDE),
                                                              (2, Label.INCLUDE)]
    # undoing again withdraws that one too; another reviewer's decision is untouched
    assert list(current_decisions([*log, d(1, Label.UNDONE, seq=5),
                                   d(1, Label.MAYBE, "bob", seq=6)])) == [
        (2, "ann", TA), (1, "bob", TA)]


def test_an_undo_with_nothing_standing_changes_nothing() -> None:
    assert current_decisions([d(1, Label.UNDONE), d(1, Label.EXCLUDE)]) == {
        (1, "ann", TA): d(1, Label.EXCLUDE)}


def test_screening_order_keeps_a_revised_record_in_its_first_place() -> None:
    log = [d(1, Label.MAYBE, seq=1), d(2, Label.INCLUDE, seq=2), d(3, Label.EXCLUDE, seq=3),
           d(1, Label.EXCLUDE, seq=4)]  # record 1 revised last
    assert [(x.record_id, x.label) for x in in_screening_order(log)] == [
        (1, Label.EXCLUDE), (2, Label.INCLUDE), (3, Label.EXCLUDE)]
    # made in that order, the revision is the latest decision
    assert [k[0] for k in current_decisions(log)] == [2, 3, 1]
    # a record whose decision was undone and made again is screened anew
    again = [*log, d(2, Label.UNDONE, seq=5), d(2, Label.EXCLUDE, seq=6)]
    assert [x.record_id for x in in_screening_order(again)] == [1, 3, 2]
