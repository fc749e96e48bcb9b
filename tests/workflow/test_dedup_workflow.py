"""Deduplication as a team uses it, on both databases: separations made with `dedup --undo`
or `--split` hold whichever copy is kept later, and the copy kept of a cluster is the one
whose decision carries the record furthest.

The records are hand-made after /tmp/explore-dedup/lib/gen.py (an auditor's library of one
rheumatology trial found in PubMed, Embase, Scopus and CINAHL, with its congress abstract).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from screener.core.decisions import Label, Stage
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.importing import deduplicate, undo_duplicate_cluster
from screener.workflow.review import Review
from screener.workflow.screening import record_decision

TITLE = "Efficacy of TNF-alpha inhibitors in early rheumatoid arthritis: a randomized controlled trial"
ABSTRACT = ("Background: TNF inhibitors are used in rheumatoid arthritis. Methods: We randomly "
            "assigned 320 patients with early disease to adalimumab or placebo. Results: "
            "Remission at 52 weeks was 42% versus 18%.")
DOI = "10.1136/annrheumdis-2018-214001"


def pubmed() -> Record:
    return Record(title=TITLE + ".", authors=("Smith JA", "Jones B"), year=2019,
                  journal="Ann Rheum Dis", volume="78", issue="5", pages="600-607", doi=DOI,
                  pmid="30000001", abstract=ABSTRACT)


def embase() -> Record:
    return Record(title=TITLE, authors=("Smith J.A.", "Jones B."), year=2019,
                  journal="Annals of the Rheumatic Diseases", volume="78", issue="5",
                  pages="600-607", doi=DOI.upper(), abstract=ABSTRACT)


def scopus() -> Record:
    return Record(title=TITLE.upper(), authors=("Smith J.",), year=2019,
                  journal="Ann. Rheum. Dis.", volume="78", issue="5", pages="600-607")


def cinahl_rich() -> Record:
    """A later search's copy with more metadata than any other (it is kept when merged)."""
    return Record(title=TITLE, authors=("Smith, John A.", "Jones, Beth"), year=2019,
                  journal="Annals of the Rheumatic Diseases", volume="78", issue="5",
                  pages="600-607", doi=DOI, pmid="30000001", abstract=ABSTRACT,
                  language="English", keywords=("adalimumab", "remission"),
                  mesh_terms=("Arthritis, Rheumatoid",), publication_types=("Journal Article",))


def add(review: Review, name: str, records: list[Record]) -> list[int]:
    with review.transaction() as s:
        source = repo.add_source(s, name=name, kind="database")
        return repo.add_records(s, source, records)


def clusters(review: Review) -> list[set[int]]:
    """The records of each standing cluster."""
    with review.read() as s:
        found: dict[int, set[int]] = {}
        for link in repo.duplicate_links(s):
            found.setdefault(link["cluster"], set()).update((link["record_id"], link["kept_id"]))
    return list(found.values())


def test_an_undone_cluster_stays_apart_when_a_richer_copy_comes_in(
        make_review: Callable[..., Any]) -> None:
    review = make_review()
    copies = add(review, "PubMed", [pubmed(), embase(), scopus()])
    assert deduplicate(review).removed == 2
    undo_duplicate_cluster(review, 1)  # the team holds the three to be separate records
    new = add(review, "CINAHL", [cinahl_rich()])[0]
    summary = deduplicate(review)
    # the new copy joins one of them at most; the three never share a cluster again
    assert all(len(group & set(copies)) <= 1 for group in clusters(review))
    assert summary.removed <= 1
    assert summary.skipped_undone >= 2
    assert {p for pair in summary.kept_apart for p in pair} >= set(copies) - set(
        next((g for g in clusters(review) if new in g), set()))


def test_an_undone_cluster_stays_apart_when_another_copy_was_screened_since(
        make_review: Callable[..., Any]) -> None:
    review = make_review()
    copies = add(review, "PubMed", [pubmed(), embase(), scopus()])
    deduplicate(review)
    undo_duplicate_cluster(review, 1)
    record_decision(review, copies[2], "ann", Label.INCLUDE)  # the copy dedup did not keep
    summary = deduplicate(review)
    assert summary.removed == 0 and clusters(review) == []
    assert summary.skipped_undone >= 1


def test_an_undo_logged_before_separations_were_named_still_holds(
        make_review: Callable[..., Any]) -> None:
    # an undo event without "separated" (older versions): every pair of its cluster's
    # records stays apart
    from datetime import UTC, datetime

    from sqlalchemy import update

    from screener.storage.models import DuplicateLinkRow

    review = make_review()
    copies = add(review, "PubMed", [pubmed(), embase(), scopus()])
    deduplicate(review)
    with review.transaction() as s:
        s.execute(update(DuplicateLinkRow).values(undone_at=datetime.now(UTC)))
        repo.add_event(s, "duplicates_restored", details={
            "cluster": 1, "records": 2, "record_ids": sorted(copies[1:])})
    record_decision(review, copies[1], "ann", Label.INCLUDE)
    assert deduplicate(review).removed == 0
    assert clusters(review) == []


def test_the_copy_kept_is_the_one_whose_decision_goes_furthest(
        make_review: Callable[..., Any]) -> None:
    # an update search brought copies screened before: the copy kept was the screened one
    # with the lowest id whatever its decision, so an included article could be removed in
    # favour of an excluded copy and the cluster's outcome became exclude
    from screener.workflow.importing import list_duplicates
    from screener.workflow.status import status

    review = make_review()
    first, second, third = add(review, "PubMed", [pubmed(), embase(), scopus()])
    record_decision(review, first, "ann", Label.EXCLUDE, reason_id="design")
    record_decision(review, third, "ann", Label.INCLUDE)
    summary = deduplicate(review)
    assert summary.removed == 2
    with review.read() as s:
        assert repo.removed_duplicate_ids(s) == {first, second}  # the included copy stays
    assert status(review)["outcomes"]["title_abstract"] == {"include": 1}
    assert summary.decided_differently == (first,)
    # the kept copy (Scopus) has no DOI: the list says how each pair itself is linked
    listed = {link["record_id"]: link for link in list_duplicates(review)}
    assert {listed[first]["kept_id"], listed[second]["kept_id"]} == {third}
    assert listed[first]["method"] == listed[second]["method"] == "fuzzy"
    assert summary.by_method == {"fuzzy": 2}


def test_a_full_text_decision_outweighs_a_title_abstract_one_and_metadata_breaks_ties(
        make_review: Callable[..., Any]) -> None:
    review = make_review()
    first, second, third = add(review, "PubMed", [pubmed(), embase(), scopus()])
    for rid in (first, second, third):
        record_decision(review, rid, "ann", Label.INCLUDE)
    record_decision(review, third, "ann", Label.INCLUDE, stage=Stage.FULL_TEXT)
    deduplicate(review)
    with review.read() as s:  # the copy assessed in full text is kept
        assert repo.removed_duplicate_ids(s) == {first, second}


def test_of_copies_decided_alike_the_richest_is_kept(make_review: Callable[..., Any]) -> None:
    review = make_review()
    poorer, richer = add(review, "PubMed", [scopus(), pubmed()])
    for rid in (poorer, richer):
        record_decision(review, rid, "ann", Label.INCLUDE)
    deduplicate(review)
    with review.read() as s:
        assert repo.removed_duplicate_ids(s) == {poorer}


def preprint() -> Record:
    """The trial's medRxiv preprint: merged with its article, which a team counting
    preprints as reports of their own takes out of the cluster."""
    return Record(title=TITLE, authors=("Smith, J. A.", "Jones, B."), year=2018,
                  journal="medRxiv", doi="10.1101/2018.11.02.18012345", abstract=ABSTRACT)


def test_split_takes_one_copy_out_and_leaves_the_others_merged(
        make_review: Callable[..., Any]) -> None:
    from screener.workflow.audit_check import check_tables
    from screener.workflow.importing import split_duplicate
    from screener.workflow.reporting import verify_event_log
    from screener.workflow.status import status

    review = make_review()
    ids = add(review, "PubMed", [pubmed(), embase(), scopus(), preprint()])
    deduplicate(review)
    before = clusters(review)
    assert len(before) == 1 and ids[3] in before[0]  # the preprint went in with the article
    done = split_duplicate(review, ids[3])
    assert done.kept_id == ids[0] and done.clusters == (1,)
    assert clusters(review) == [set(ids[:3])]
    assert status(review)["duplicates_removed"] == 2
    record_decision(review, ids[3], "ann", Label.EXCLUDE, reason_id="design")
    assert deduplicate(review).removed == 0  # never merged with them again
    assert clusters(review) == [set(ids[:3])]
    # the kept copy taken out: the other two stay merged, under one of them
    done = split_duplicate(review, ids[0])
    assert done.new_cluster and done.new_kept in ids[1:3]
    assert clusters(review) == [set(ids[1:3])]
    assert deduplicate(review).removed == 0
    assert verify_event_log(review).ok  # the links replay from the events alike:
    assert [p for p in check_tables(review) if "duplicate" in p] == []


def test_split_refuses_a_record_in_no_cluster(make_review: Callable[..., Any]) -> None:
    import pytest

    from screener.workflow.importing import split_duplicate
    from screener.workflow.review import ReviewError

    review = make_review()
    ids = add(review, "PubMed", [pubmed()])
    with pytest.raises(ReviewError, match=f"record {ids[0]} is in no duplicate cluster"):
        split_duplicate(review, ids[0])


def test_a_medrxiv_preprint_without_doi_is_listed_as_preprint_and_article(
        make_review: Callable[..., Any]) -> None:
    from screener.importers.dedup import PREPRINT_AND_ARTICLE
    from screener.workflow.importing import list_duplicates

    title = ("Ivermectin for the treatment of mild COVID-19: a randomised, double-blind, "
             "placebo-controlled trial")
    review = make_review()
    add(review, "Embase", [
        Record(title=title, authors=("Rossi, F.",), year=2020, journal="medRxiv",
               abstract="We conducted a randomised trial of ivermectin in 400 outpatients "
                        "with mild COVID-19. Time to symptom resolution did not differ."),
        Record(title=title + ".", authors=("Rossi, F",), year=2021, journal="Lancet Infect Dis",
               volume="21", pages="1100-1110", doi="10.1016/S1473-3099(21)00123-4")])
    assert deduplicate(review).removed == 1
    assert [link["method"] for link in list_duplicates(review)] == [PREPRINT_AND_ARTICLE]


def test_of_copies_decided_alike_the_one_marked_retracted_is_kept(
        make_review: Callable[..., Any]) -> None:
    # dedup keeps the copy titled as retracted so that screeners see the article was
    # retracted; of screened copies the richest was kept instead, and the mark went with
    # the copy removed
    from dataclasses import replace

    review = make_review()
    richer, retracted = add(review, "PubMed", [
        pubmed(), replace(scopus(), title="RETRACTED: " + TITLE)])
    for rid in (richer, retracted):
        record_decision(review, rid, "ann", Label.INCLUDE)
    deduplicate(review)
    with review.read() as s:
        assert repo.removed_duplicate_ids(s) == {richer}
