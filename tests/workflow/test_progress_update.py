"""An update search imported after the stopping rule was met: the decisions before it were
no sample of the records it added, so the stopping statistics count only those since."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.progress import progress
from screener.workflow.review import Review, create_review
from screener.workflow.screening import ScreeningSession

REPO = Path(__file__).resolve().parents[2]
RELEVANT = 20
"""Round 1: the first 20 records (in import order) are relevant, the next 100 are not."""


def review_with(folder: Path, mode: str = "single") -> Review:
    """200 records; the rule: recall 80 % at 95 % confidence, a run of 20 irrelevant."""
    text = (REPO / "protocols" / "minimal.yaml").read_text(encoding="utf-8")
    text += ("stopping: {recall_target: 0.8, confidence: 0.95, consecutive_irrelevant: 20}\n"
             f"screening: {{mode: {mode}, resolution: consensus}}\n")
    protocol = folder / "protocol.yaml"
    protocol.write_text(text, encoding="utf-8")
    review = create_review(folder / "r", protocol)
    add(review, "Round 1", [f"R{i}" for i in range(200)])
    return review


def add(review: Review, name: str, titles: list[str]) -> None:
    with review.transaction() as s:
        source = repo.add_source(s, name=name, kind="database")
        repo.add_records(s, source, [Record(title=t, doi=f"10.1000/{t.lower()}") for t in titles])


def screen(review: Review, reviewer: str, count: int, relevant: set[str] = frozenset()) -> None:
    """`count` records in the order offered, relevant: round 1's first 20 and `relevant`."""
    session = ScreeningSession(review, reviewer)
    for _ in range(count):
        item = session.next()
        assert item is not None and item.record.id is not None
        title = item.record.title
        hit = title in relevant or (title.startswith("R") and int(title[1:]) < RELEVANT)
        session.decide(item.record.id, Label.INCLUDE if hit else Label.EXCLUDE)


def test_an_update_imported_after_the_rule_was_met_is_not_counted_as_screened(
        tmp_path: Path) -> None:
    """The tester's case: round 1 met the rule; 30 new records imported; status said the
    rule was met, 'about 0 relevant left', with none of them screened."""
    from screener.workflow.reporting import stopping_rule_met
    from screener.workflow.status import format_status, status

    with review_with(tmp_path) as review:
        screen(review, "ann", 120)
        assert progress(review, "ann").criteria_met  # round 1: the rule is met
        add(review, "Update", [f"U{i}" for i in range(30)])
        after = progress(review, "ann")
        met, _ = stopping_rule_met(review)
        data = status(review)
        text = format_status(data)
    assert not after.stop_by_test and not after.criteria_met and not met
    assert (after.screened, after.total, after.includes) == (120, 230, 20)
    assert after.added_since_start == 30 and after.screened_since == 0
    assert after.consecutive_irrelevant == 0  # round 1's run says nothing of the update
    assert after.estimated_recall is None and after.estimated_remaining is None
    # PRISMA: the unscreened are not yet screened, not "excluded by automation"
    prisma = data["prisma"]
    assert (prisma["records_excluded_automation"], prisma["records_not_yet_screened"]) == (0, 110)
    assert "the protocol's stopping rule is not met" in text
    day = f"{after.added_on:%Y-%m-%d}" if after.added_on else "?"
    assert (f"30 records imported after screening began (the latest imported on {day}): the stopping "
            "rule counts only records screened since, and none has been yet") in text
    assert "estimated recall not estimable (nothing screened since the latest import)" in text
    assert "about 0 relevant left" not in text


def test_an_import_and_a_decision_from_machines_whose_clocks_differ_keep_their_order(
        tmp_path: Path, clock: Callable[[float], None]) -> None:
    """The order the review stored them in counts, not the times the machines stamped:
    an update imported on a computer 10 minutes slow is still an update, and a first
    decision made on one 10 minutes slow does not put the imports after screening began."""
    from screener.workflow.importing import dedup_note, import_records
    from screener.workflow.reporting import prisma_counts
    from screener.workflow.status import format_status, status

    text = (REPO / "protocols" / "minimal.yaml").read_text(encoding="utf-8")
    (tmp_path / "protocol.yaml").write_text(text + "stopping: {consecutive_irrelevant: 20}\n",
                                            encoding="utf-8")
    with create_review(tmp_path / "r", tmp_path / "protocol.yaml") as review:
        for name, titles in (("PubMed", ["P1", "P2"]), ("Embase", ["E1"])):
            import_records(review, [Record(title=t) for t in titles], source=name,
                           kind="database")
        clock(-10)  # ann's computer: her first decision is stamped before both imports
        screen(review, "ann", 1)
        clock(0)
        assert dedup_note(review) == ""
        assert "never deduplicated" not in format_status(status(review))
        assert "imported since dedup last ran" not in prisma_counts(review).draft
        screen(review, "bob", 2)
        assert progress(review, "bob").added_since_start == 0
        clock(-10)  # the update, imported on a computer 10 minutes slow after 3 decisions
        import_records(review, [Record(title=f"U{i}") for i in range(30)], source="PubMed",
                       kind="database")
        clock(0)
        after = progress(review, "bob")
        note = dedup_note(review)
    assert after.added_since_start == 30 and after.screened_since == 0
    assert note.startswith("30 records imported since screening began, never deduplicated")


def test_decisions_since_the_update_make_the_sample(tmp_path: Path) -> None:
    with review_with(tmp_path) as review:
        screen(review, "ann", 120)
        add(review, "Update", [f"U{i}" for i in range(30)])
        screen(review, "ann", 5)  # five of the update, all irrelevant
        p = progress(review, "ann")
        from screener.workflow.status import format_status, status

        text = format_status(status(review))
    assert (p.screened, p.screened_since, p.sample_start) == (125, 5, 120)
    assert p.consecutive_irrelevant == 5 and not p.criteria_met
    assert p.p_value is not None and p.p_value > 0.5  # 5 of the 110 left: little evidence
    safe = {i.name: i for i in p.checklist}
    assert not safe["consecutive irrelevant"].passed and safe["screened fraction"].passed
    assert "counts only the 5 records screened since" in text
    assert "5 irrelevant in a row" in text


def test_records_removed_as_duplicates_add_nothing_and_labels_of_no_import(
        tmp_path: Path) -> None:
    """An update whose records are all duplicates of records already there leaves the pool
    as it was: the rule stays met."""
    from screener.workflow.importing import deduplicate

    with review_with(tmp_path) as review:
        screen(review, "ann", 120)
        add(review, "Update", [f"R{i}" for i in range(5)])
        deduplicate(review)
        p = progress(review, "ann")
    assert p.total == 200 and p.added_since_start == 0
    assert p.criteria_met and p.consecutive_irrelevant == 100


def test_dual_screening_windows_each_reviewers_own_order(tmp_path: Path) -> None:
    """Ann met the rule before the update; bob began after it: his sample is all his."""
    with review_with(tmp_path, "dual") as review:
        screen(review, "ann", 120)
        add(review, "Update", [f"U{i}" for i in range(30)])
        screen(review, "bob", 120)
        ann, bob = progress(review, "ann"), progress(review, "bob")
    assert (ann.added_since_start, ann.screened_since, ann.criteria_met) == (30, 0, False)
    assert (bob.added_since_start, bob.sample_start) == (0, 0)
    assert bob.consecutive_irrelevant == 100


def test_the_report_gives_the_figures_counted_since_the_update(tmp_path: Path) -> None:
    """The methods text's values are the windowed ones, and say why."""
    from screener.workflow.reporting import write_report

    with review_with(tmp_path) as review:
        screen(review, "ann", 120)
        add(review, "Update", [f"U{i}" for i in range(30)])
        empty = write_report(review, tmp_path / "before.md").read_text(encoding="utf-8")
        screen(review, "ann", 5)
        p = progress(review, "ann")
        report = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    day = f"{p.added_on:%Y-%m-%d}" if p.added_on else "?"
    assert "consecutive irrelevant: 5;" in report
    assert p.p_value is not None and f"stopping-test p-value: {p.p_value:.3f}" in report
    assert (f"records imported after screening began: 30 (the latest imported on {day}: the stopping "
            "statistics count only the 5 records screened since)") in report
    assert "stopping rule's criteria are not met" in report
    assert "estimated recall: not estimable (nothing screened since the latest import)" in empty
    assert "consecutive irrelevant: 0;" in empty
    assert "count only records screened since, and none has been yet)" in empty


def test_the_methods_text_says_in_words_which_decisions_the_stopping_rule_counted(
        tmp_path: Path) -> None:
    """Round 2 met the rule: the text described the stopping test over 'the records
    screened' and said only in the list of values, in brackets, that it counted the
    decisions since the update."""
    from screener.workflow.reporting import write_report

    with review_with(tmp_path) as review:
        screen(review, "ann", 120)
        first = write_report(review, tmp_path / "first.md").read_text(encoding="utf-8")
        add(review, "Update", [f"U{i}" for i in range(30)])
        screen(review, "ann", 45)
        p = progress(review, "ann")
        report = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    text, before = " ".join(report.split()), " ".join(first.split())
    assert p.criteria_met and p.added_since_start == 30
    assert ("Records were imported after screening began (an update search), and the "
            "decisions made before the latest such import are no random sample of the "
            "records it added: the run of consecutive irrelevant records, the stopping test "
            "and the estimate of the relevant records left count only the decisions made "
            "since it; the records screened and the relevant records found count every "
            "decision.") in text
    assert "Title and abstract screening stopped on" in text
    assert "imported after screening began" not in before
