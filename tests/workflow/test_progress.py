"""Progress and stopping statistics for the status panel, from the stored decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.progress import progress
from screener.workflow.review import Review, create_review
from screener.workflow.screening import ScreeningSession

REPO = Path(__file__).resolve().parents[2]


def review_of(folder: Path, n: int) -> Review:
    """A single-screening review (minimal protocol) of n records titled R0, R1, ..."""
    review = create_review(folder / "r", REPO / "protocols" / "minimal.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title=f"R{i}") for i in range(n)])
    return review


def test_progress_counts_and_stopping(tmp_path: Path) -> None:
    with review_of(tmp_path, 100) as review:
        empty = progress(review, "ann")
        assert (empty.screened, empty.total, empty.p_value) == (0, 100, None)
        assert not any(i.passed for i in empty.checklist if i.name != "key papers found")
        session = ScreeningSession(review, "ann")
        labels = [Label.INCLUDE, Label.EXCLUDE, Label.INCLUDE] + [Label.EXCLUDE] * 12 + [Label.MAYBE]
        for label in labels:
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, label)
        session.undo()  # the maybe is withdrawn
        p = progress(review, "ann")
    assert (p.screened, p.includes, p.maybes) == (15, 2, 0)
    assert p.consecutive_irrelevant == 12
    assert p.recall_curve == (1, 1, 2) + (2,) * 12
    assert p.p_value is not None and 0 <= p.p_value <= 1
    assert p.estimated_remaining is not None and p.estimated_remaining[1] <= p.estimated_remaining[2]
    names = [i.name for i in p.checklist]
    assert names[0] == "screened fraction" and p.checklist[0].passed  # 15% of >= 10%
    assert "consecutive irrelevant" in names
    assert p.fraction == 0.15


def test_single_screening_shared_by_two_pools_the_stopping_statistics(tmp_path: Path) -> None:
    # each record is screened once, so the sample behind the stopping statistics is the
    # review's screening sequence, whoever screened; ann's own decisions are only part of it
    with review_of(tmp_path, 40) as review:
        ann, bob = ScreeningSession(review, "ann"), ScreeningSession(review, "bob")
        for session, label in [(ann, Label.INCLUDE)] + [(bob, Label.EXCLUDE)] * 5 + [
                (ann, Label.EXCLUDE)] * 3:
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, label)
        p_ann, p_bob = progress(review, "ann"), progress(review, "bob")
    assert (p_ann.screened, p_ann.includes, p_bob.screened) == (4, 1, 5)  # own counts
    assert p_ann.consecutive_irrelevant == p_bob.consecutive_irrelevant == 8
    fraction = {i.name: i.value for i in p_ann.checklist}["screened fraction"]
    assert fraction.startswith("23%")  # 9 of 40 (22.5 %, half up), not ann's 4
    assert (p_ann.p_value, p_ann.estimated_remaining) == (p_bob.p_value, p_bob.estimated_remaining)


def test_revising_an_old_record_does_not_extend_the_irrelevant_run(tmp_path: Path) -> None:
    with review_of(tmp_path, 30) as review:
        session = ScreeningSession(review, "ann")
        decided = []
        for label in [Label.MAYBE, Label.INCLUDE, Label.EXCLUDE, Label.EXCLUDE]:
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, label)
            decided.append(item.record.id)
        session.decide(decided[0], Label.EXCLUDE)  # the old maybe, revised from browse
        p = progress(review, "ann")
    # still two excludes since the include: the revision is not a newly screened record
    assert (p.screened, p.consecutive_irrelevant, p.maybes) == (4, 2, 0)
    assert p.recall_curve == (0, 1, 1, 1)


def test_status_prints_the_shared_stopping_figures_of_single_screening_once(
        tmp_path: Path) -> None:
    from screener.workflow.status import format_status, status

    with review_of(tmp_path, 40) as review:
        ann, bob = ScreeningSession(review, "ann"), ScreeningSession(review, "bob")
        for session, label in [(ann, Label.INCLUDE)] + [(bob, Label.EXCLUDE)] * 5:
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, label)
        text = format_status(status(review))
    lines = [x for x in text.splitlines() if "irrelevant in a row" in x]
    assert len(lines) == 1 and lines[0].strip().startswith(
        "ann, bob (the review's figures: each record is screened once): 5 irrelevant in a row")


def test_report_and_status_json_give_shared_single_screening_figures_as_the_reviews(
        tmp_path: Path) -> None:
    """Single screening shared by ann and bob: the methods text credited the review's run,
    test and SAFE items to each screener in turn, beside each one's own records screened
    ("consecutive irrelevant (ann): 6" after ann's 2 exclusions); it now gives them once,
    as the review's, with the records both screened. status --json says whose they are."""
    from screener.exports.report import automation_paragraph
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.status import status

    with review_of(tmp_path, 40) as review:
        ann, bob = ScreeningSession(review, "ann"), ScreeningSession(review, "bob")
        plan = [(ann, Label.INCLUDE)] + [(ann, Label.EXCLUDE)] * 2 + [(bob, Label.EXCLUDE)] * 4
        for session, label in plan:
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, label)
        text = automation_paragraph(build_report_inputs(review))
        data = status(review)
    assert "(ann)" not in text and "(bob)" not in text
    assert ("records screened (ann, bob together: each record is screened once, so these "
            "are the review's figures): 7 of 40 (17.5%); consecutive irrelevant: 6;") in text
    assert text.count("SAFE checklist") == 1
    rows = {r["reviewer"]: r for r in data["stopping"]["reviewers"]}
    assert (rows["ann"]["screened"], rows["bob"]["screened"]) == (3, 4)  # their own
    assert {(r["figures_of"], r["figures_screened"], r["consecutive_irrelevant"])
            for r in rows.values()} == {("review", 7, 6)}


def test_dual_screening_figures_are_each_reviewers_own_in_status_json(tmp_path: Path) -> None:
    from screener.workflow.status import status

    review = create_review(tmp_path / "d", REPO / "protocols" / "dual-screening.yaml")
    with review.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title=f"R{i}") for i in range(10)])
    with review:
        for name, n in (("ann", 3), ("bob", 2)):
            session = ScreeningSession(review, name)
            for _ in range(n):
                item = session.next()
                assert item is not None and item.record.id is not None
                session.decide(item.record.id, Label.EXCLUDE)
        rows = status(review, viewer="ann")["stopping"]["reviewers"]
    mine = [(r["screened"], r["figures_of"], r["figures_screened"])
            for r in rows if r["reviewer"] == "ann"]
    assert mine == [(3, "reviewer", 3)]


def test_status_gives_the_recall_the_stopping_test_supports(tmp_path: Path) -> None:
    """Beside the estimated recall, its lower end: found / (found + the upper end of the
    relevant records estimated left), in the text and in the JSON."""
    from screener.workflow.status import format_status, status

    with review_of(tmp_path, 60) as review:
        session = ScreeningSession(review, "ann")
        for label in [Label.INCLUDE, Label.INCLUDE] + [Label.EXCLUDE] * 30:
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, label)
        data = status(review)
        text = format_status(data)
    mine = data["stopping"]["reviewers"][0]
    point, low, high = mine["estimated_remaining"]
    floor, top = mine["estimated_recall_interval"]
    assert floor == pytest.approx(2 / (2 + high)) and top == pytest.approx(2 / (2 + low))
    assert floor <= mine["estimated_recall"] <= top
    # in percent, as the targets are (0.01 "at least 0.00" told the reader nothing)
    assert f"estimated recall {mine['estimated_recall']:.0%} (at least {floor:.0%} at 95% " \
           "confidence, by the stopping test)" in text
    assert "no key papers set" in text  # the protocol names none: not "found ok"


def test_key_papers_written_as_pmid_or_doi_url_are_found(tmp_path: Path) -> None:
    """A key paper written as 'PMID: 123' or a DOI URL in capitals is found by the included
    record's PMID or DOI; it was compared as written, never found, so the SAFE item (and
    the stopping rule) could never be met."""
    protocol = tmp_path / "p.yaml"
    protocol.write_text((REPO / "protocols" / "minimal.yaml").read_text(encoding="utf-8")
                        + "stopping:\n  key_papers: ['PMID: 0123', "
                          "'https://doi.org/10.1000/ABC']\n", encoding="utf-8")
    with create_review(tmp_path / "r", protocol) as review:
        with review.transaction() as s:
            source = repo.add_source(s, name="X", kind="database")
            repo.add_records(s, source, [Record(title="A", pmid="123"),
                                         Record(title="B", doi="10.1000/abc"),
                                         Record(title="C")])
        session = ScreeningSession(review, "ann")
        key = {i.name: i for i in progress(review, "ann").checklist}["key papers found"]
        assert not key.passed
        for _ in range(2):
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, Label.INCLUDE)
        key = {i.name: i for i in progress(review, "ann").checklist}["key papers found"]
    assert key.passed, key


def test_status_names_key_papers_no_record_carries(tmp_path: Path) -> None:
    """A key paper missing from the review (a mistyped DOI, a record not imported) holds
    the stopping rule back for good: status names it, in the text and the JSON."""
    from screener.workflow.status import format_status, status

    protocol = tmp_path / "p.yaml"
    protocol.write_text((REPO / "protocols" / "minimal.yaml").read_text(encoding="utf-8")
                        + "stopping:\n  key_papers: ['PMID: 123', '10.1000/NOT-HERE']\n",
                        encoding="utf-8")
    with create_review(tmp_path / "r", protocol) as review:
        with review.transaction() as s:
            source = repo.add_source(s, name="X", kind="database")
            repo.add_records(s, source, [Record(title="A", pmid="123"), Record(title="B")])
        session = ScreeningSession(review, "ann")
        item = session.next()
        assert item is not None and item.record.id is not None
        session.decide(item.record.id, Label.EXCLUDE)
        data = status(review)
    assert data["stopping"]["key_papers_missing"] == ["10.1000/NOT-HERE"]
    assert ("key papers no record carries (the rule waits for them to be included; check "
            "the DOI or PMID, or import the record): 10.1000/NOT-HERE") in format_status(data)


@pytest.mark.parametrize("excluded", [6, 17])
def test_recall_is_not_estimable_before_a_relevant_record_is_found(tmp_path: Path,
                                                                   excluded: int) -> None:
    """Nothing relevant found: no recall to estimate. 6 excludes of 20 printed "estimated
    recall 0.00", 17 left it out; both now say it is not estimable (None in the JSON), in
    `status` and in the report."""
    from screener.workflow.reporting import write_report
    from screener.workflow.status import format_status, status

    with review_of(tmp_path, 20) as review:
        session = ScreeningSession(review, "ann")
        for _ in range(excluded):
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, Label.EXCLUDE)
        p = progress(review, "ann")
        data = status(review)
        text = format_status(data)
        report = write_report(review, tmp_path / "report.md").read_text(encoding="utf-8")
    assert (p.estimated_recall, p.estimated_recall_interval) == (None, None)
    mine = data["stopping"]["reviewers"][0]
    assert (mine["estimated_recall"], mine["estimated_recall_interval"]) == (None, None)
    assert "estimated recall not estimable (no relevant record found yet)" in text
    assert "estimated recall 0.00" not in text
    assert "estimated recall: not estimable (no relevant record found yet)" in report


def test_no_records_left_are_estimated_before_a_relevant_record_is_found(
        tmp_path: Path) -> None:
    """Ten excludes and nothing relevant: `status` and the report read "estimated recall
    not estimable" beside "about 88 relevant left (13 to 274)"; with nothing relevant
    found, 0 left fits as well as any number, so the records left are not estimable
    either (JSON null); after the first include they are estimated again."""
    from screener.exports.report import automation_paragraph
    from screener.workflow.reporting import build_report_inputs
    from screener.workflow.status import format_status, status

    with review_of(tmp_path, 200) as review:
        session = ScreeningSession(review, "ann")

        def screen(labels: list[Label]) -> None:
            for label in labels:
                item = session.next()
                assert item is not None and item.record.id is not None
                session.decide(item.record.id, label)

        screen([Label.EXCLUDE] * 10)
        data = status(review)
        text = format_status(data)
        report = automation_paragraph(build_report_inputs(review))
        screen([Label.INCLUDE])
        after = status(review)["stopping"]["reviewers"][0]
    mine = data["stopping"]["reviewers"][0]
    assert mine["estimated_remaining"] is None and mine["estimated_recall"] is None
    assert "relevant records left not estimable (no relevant record found yet)" in text
    assert "relevant left (" not in text
    assert ("relevant records estimated left: not estimable (no relevant record found yet)"
            in report)
    assert after["estimated_remaining"] is not None


def test_a_screened_share_just_short_of_the_minimum_is_not_rounded_up_to_it(
        tmp_path: Path) -> None:
    """100 of 1,001 screened (9.99 %) against a minimum of 10 %: the SAFE item read
    "10% of ≥ 10%" (the panel "✗ screened: 10%/10%") and the report "100 of 1,001
    (10.0%)" beside "not met: screened fraction"."""
    from screener.exports.report import automation_paragraph
    from screener.workflow.reporting import build_report_inputs

    with review_of(tmp_path, 1001) as review:
        assert review.protocol.stopping.min_screened_fraction == 0.10
        with review.read() as s:
            ids = repo.record_ids_by_id(s)[:100]
        session = ScreeningSession(review, "ann")
        for rid in ids:
            assert rid is not None
            session.decide(rid, Label.EXCLUDE)
        item = next(i for i in progress(review, "ann").checklist
                    if i.name == "screened fraction")
        text = automation_paragraph(build_report_inputs(review))
    assert (item.value, item.passed) == ("9.9% of ≥ 10%", False)
    assert "records screened: 100 of 1,001 (9.99%)" in text
    assert "not met: screened fraction" in text
