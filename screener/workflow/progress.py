"""Screening progress and stopping statistics for one reviewer at one stage (status panel).

Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from screener.core.decisions import Decision, Label, Role, Stage, in_screening_order
from screener.core.records import key_paper_match
from screener.core.wording import counted, share_of
from screener.storage import Session, repo
from screener.workflow.review import Review
from screener.workflow.screening import eligible_count, eligible_ids


@dataclass(frozen=True, slots=True)
class StoppingItem:
    name: str
    value: str
    passed: bool


@dataclass(frozen=True, slots=True)
class Progress:
    reviewer: str
    stage: Stage
    screened: int
    """Records this reviewer has a current decision on at this stage."""
    total: int
    """Records eligible for screening at this stage."""
    includes: int
    maybes: int
    consecutive_irrelevant: int
    """Records screened since the last include or maybe, in the order records were first
    screened (this reviewer's; in single screening the review's, see `progress`)."""
    recall_curve: tuple[int, ...] = ()
    """Cumulative includes after each of the reviewer's decisions, in order."""
    p_value: float | None = None
    """Stopping test p-value for 'the recall target has been missed' (None before ranking)."""
    estimated_recall: float | None = None
    """Relevant records found / (found + the point of `estimated_remaining`); None before
    ranking and while nothing relevant has been found (not estimable, see
    `RECALL_NOT_ESTIMABLE`)."""
    estimated_remaining: tuple[float, float, float] | None = None
    """Point estimate and interval of relevant records still unscreened; None when
    `estimated_recall` is (not estimable: nothing relevant found yet, or nothing screened
    since the latest import)."""
    estimated_recall_interval: tuple[float, float] | None = None
    """The interval of `estimated_recall`: found / (found + the interval's ends of
    `estimated_remaining`)."""
    checklist: tuple[StoppingItem, ...] = field(default_factory=tuple)
    """SAFE procedure items."""
    not_offered: int = 0
    """Eligible records this reviewer has not decided and will not be offered: other
    reviewers settled them, or the allocation gives them to others."""
    stop_by_test: bool = False
    """The stopping test's p-value is below 1 - the protocol's confidence."""
    stop_level: float | None = None
    """The level the stopping test's p-value must be below: 1 - the protocol's confidence
    (None while the stopping statistics are not computed)."""
    added_since_start: int = 0
    """Records imported into the pool at this stage after the screening counted here had
    begun (an update search): the decisions before the latest such import were no sample
    of them, so the stopping statistics use only the decisions since (`screened_since`)."""
    added_on: datetime | None = None
    """When the latest of those imports was made (None: no such import)."""
    sample_start: int = 0
    """Index, in the screening order the stopping statistics read, from which their sample
    may start: after the last decision made before the latest of those imports (0: no such
    import)."""
    screened_since: int = 0
    """Decisions the stopping statistics count since that import (with none, 0)."""
    shared: bool = False
    """Single screening shared with other screeners: the stopping figures (irrelevant run,
    stopping test, estimates, SAFE items) are the review's, from every screener's decisions,
    and the same for each of them; `screened` stays this reviewer's own."""
    sample_screened: int = 0
    """The decisions the stopping figures are computed from: `screened` (the reviewer's
    own), or with `shared` every screener's."""

    @property
    def criteria_met(self) -> bool:
        """The protocol's stopping rule is met: the stopping test says stop and every SAFE
        item passes. False while the stopping statistics are not computed."""
        return (self.stop_by_test and bool(self.checklist)
                and all(item.passed for item in self.checklist))

    @property
    def fraction(self) -> float:
        return self.screened / self.total if self.total else 1.0

    @property
    def own_total(self) -> int:
        """Records screened by this reviewer plus those still to be offered to them."""
        return max(self.total - self.not_offered, self.screened)


NOT_APPLICABLE = "none set"
"""The value of the SAFE item `key papers found` when the protocol lists no key papers: the
item does not apply (it passes, so it never holds back the stopping rule, but nothing was
checked)."""

RECALL_NOT_ESTIMABLE = "not estimable (no relevant record found yet)"
"""What `status` and the report say for the estimated recall before anything relevant has
been found."""

RECALL_NOT_ESTIMABLE_SINCE_IMPORT = "not estimable (nothing screened since the latest import)"
"""What they say for it when records were imported after screening began and none has been
screened since: the decisions before say nothing of the records added."""


def not_estimable(added_since_start: int, screened_since: int) -> str:
    """Why the estimated recall and the relevant records left are not estimable (when
    `Progress.estimated_recall` is None), from its fields of the same names:
    `RECALL_NOT_ESTIMABLE` or `RECALL_NOT_ESTIMABLE_SINCE_IMPORT`."""
    return (RECALL_NOT_ESTIMABLE_SINCE_IMPORT if added_since_start and not screened_since
            else RECALL_NOT_ESTIMABLE)


def import_note(added: int, day: str, since: int) -> str:
    """What `status` (and the panel, shortened) say of records imported after screening
    began: the stopping rule counts only the decisions since the latest such import (`day`,
    as 2021-07-01)."""
    return (f"{counted(added, 'record')} imported after screening began (the latest imported on "
            f"{day}): the stopping rule counts {counts_since(since)}")


def counts_since(since: int) -> str:
    """What the stopping statistics count after an import (`import_note`)."""
    return (f"only the {counted(since, 'record')} screened since" if since else
            "only records screened since, and none has been yet")


POSSIBLY_RELEVANT = frozenset({Label.INCLUDE, Label.MAYBE})
"""Labels the stopping statistics count as relevant (maybe: not excluded yet)."""


def at_least(value: float, threshold: float) -> str:
    """A SAFE item's value beside its threshold, as the panel shows it: "35 of ≥ 50"."""
    return f"{value:.0f} of ≥ {threshold:.0f}"


def irrelevant_run(labels: list[Label]) -> int:
    """Decisions since the last include or maybe (a maybe may be relevant: it ends a run of
    irrelevant records, as an include does), labels in screening order."""
    since = 0
    for label in labels:
        since = 0 if label in POSSIBLY_RELEVANT else since + 1
    return since


Places = dict[tuple[int, str], int]
"""(record id, screener) -> place in the screening order (`screening_places`)."""


def screening_places(session: Session, stage: Stage) -> Places | None:
    """Each screener's standing decisions' places in the screening order: the decision-log
    position of the first standing decision on the record, or, for one `reassign` moved,
    that of the decision it was moved from (written at the end of the log, it was screened
    when first made under the other name). None when no decision was ever moved: the log's
    order is the screening order."""
    moved = repo.reassigned_places(session)
    if not moved:
        return None
    return {key: moved.get(seq, seq)
            for key, seq in repo.first_standing_seqs(session, stage).items()}


def _standing(session: Session, reviewer: str, stage: Stage,
              places: Places | None = None) -> list[tuple[int, Label]]:
    """(record id, label) of the reviewer's standing decisions, in the order their records
    were first screened (revising an old record does not make it the latest screened, nor
    does moving a decision to the reviewer: `places`)."""
    standing = placed(in_screening_order(repo.reviewer_history(session, reviewer, stage)),
                      places)
    return [(d.record_id, d.label) for d in standing]


def placed(decisions: list[Decision], places: Places | None) -> list[Decision]:
    """`decisions` (standing ones, in screening order) with each `reassign` moved put back
    at the place of the decision it was moved from (`places`; None: nothing was moved)."""
    if places is not None:
        decisions.sort(key=lambda d: places.get((d.record_id, d.reviewer), d.seq or 0))
    return decisions


def _counts(review: Review, session: Session, reviewer: str, stage: Stage,
            places: Places | None = None) -> tuple[Progress, list[tuple[int, Label]]]:
    """Progress without the stopping statistics, and the standing decisions it counts."""
    from screener.workflow.team import not_offered

    total = eligible_count(session, stage)
    ordered = _standing(session, reviewer, stage, places)
    closed = not_offered(review, session, reviewer, stage)
    return from_labels(reviewer, stage, [lab for _, lab in ordered], total,
                       not_offered=closed), ordered


def from_labels(reviewer: str, stage: Stage, labels: list[Label], total: int,
                not_offered: int = 0) -> Progress:
    """Counts, irrelevant run and recall curve of a reviewer's labels (in screening order);
    no stopping statistics."""
    curve: list[int] = []
    found = 0
    for label in labels:
        found += label == Label.INCLUDE
        curve.append(found)
    return Progress(reviewer, stage, len(labels), total, found, labels.count(Label.MAYBE),
                    irrelevant_run(labels), tuple(curve), not_offered=not_offered)


def without_stopping(progress: Progress) -> Progress:
    """`progress` with its stopping statistics taken out (as before they are computed): the
    figures of a stopping rule no longer in force are not shown as this one's."""
    return replace(progress, p_value=None, estimated_recall=None, estimated_remaining=None,
                   estimated_recall_interval=None, checklist=(), stop_by_test=False,
                   stop_level=None)


def progress_counts(review: Review, reviewer: str, stage: Stage = Stage.TITLE_ABSTRACT
                    ) -> Progress:
    """The reviewer's counts and recall curve alone (the stopping fields stay empty)."""
    with review.read() as session:
        return _counts(review, session, reviewer, stage,
                       screening_places(session, stage))[0]


def _pooled(session: Session, stage: Stage,
            places: Places | None = None) -> list[tuple[int, Label]]:
    """(record id, label) of every screener's standing decisions at the stage, in the order
    the records were first screened: the review's screening sequence when screeners share
    one queue."""
    standing = [d for d in repo.current_decisions(session, stage, screening_order=True)
                if d.reviewer_role == Role.SCREENER]
    return [(d.record_id, d.label) for d in placed(standing, places)]


def progress(review: Review, reviewer: str, stage: Stage = Stage.TITLE_ABSTRACT) -> Progress:
    """The reviewer's progress and stopping statistics, read from one snapshot.

    Dual screening: each screener screens every record, so the stopping statistics are the
    reviewer's own. Single screening: screeners share one queue and each record is screened
    once, so the statistics (and the irrelevant run) are the review's, from every screener's
    decisions in screening order; a reviewer's own decisions are only part of the sample.
    Revising an old record keeps its place in that order."""
    found_ids: list[str] = []
    with review.read() as session:
        places = screening_places(session, stage)
        base, ordered = _counts(review, session, reviewer, stage, places)
        whose: str | None = reviewer
        # (a reviewer screening alone: the review's sequence is theirs, read once)
        if not review.protocol.screening.dual and repo.others_decided(session, stage, reviewer):
            ordered = _pooled(session, stage, places)
            whose = None
            base = replace(base, consecutive_irrelevant=irrelevant_run(
                [lab for _, lab in ordered]), shared=True)
        base = replace(base, sample_screened=len(ordered))
        # records imported after screening began: the run and the sample start after them
        start, added, added_on = _added_since(session, stage, ordered, whose, places)
        since = len(ordered) - start
        base = replace(base, consecutive_irrelevant=min(base.consecutive_irrelevant, since),
                       added_since_start=added, added_on=added_on, sample_start=start,
                       screened_since=since if added else 0)
        included = [rid for rid, lab in ordered if lab == Label.INCLUDE]
        if review.protocol.stopping.key_papers and included:
            for record in repo.get_records(session, included):
                found_ids += [x for x in (record.doi, record.pmid) if x]
    # maybe counts as relevant for the stopping statistics, so they err on the safe side
    # (later stop) for a reviewer who marks likely-relevant records maybe
    return _with_stopping(review, base,
                          [1 if lab in POSSIBLY_RELEVANT else 0 for _, lab in ordered], found_ids)


def _added_since(session: Session, stage: Stage, ordered: list[tuple[int, Label]],
                 reviewer: str | None, places: Places | None = None
                 ) -> tuple[int, int, datetime | None]:
    """(sample start, records added, latest import time) for the decisions `ordered` (the
    reviewer's, or with None every screener's, in screening order): the records imported
    into the stage's pool after the first of those decisions, and the index in `ordered`
    after the last decision made before the latest of those imports. A record removed as a
    duplicate of one already there is not in the pool, so it adds nothing."""
    if not ordered:
        return 0, 0, None
    pool = None if stage == Stage.TITLE_ABSTRACT else eligible_ids(session, stage)
    imports = repo.pool_imports(session, pool)
    if len(imports) < 2:  # one import: screening began after it
        return 0, 0, None
    # by places in the decision log, not by the clocks of the machines that stamped them
    placed = repo.first_screened_seq(session, stage, reviewer) if places is None else {}
    for (rid, who), seq in (places or {}).items():
        if reviewer is None or who == reviewer:
            placed[rid] = min(placed.get(rid, seq), seq)
    seqs = [placed.get(rid) for rid, _ in ordered]
    known = [s for s in seqs if s is not None]
    if not known:
        return 0, 0, None
    later = [(position, when, n) for when, position, n in imports if position >= min(known)]
    if not later:
        return 0, 0, None
    latest, latest_on, _ = max(later[::-1], key=lambda imp: imp[0])  # (ties: the last)
    start = max((i + 1 for i, s in enumerate(seqs) if s is not None and s <= latest),
                default=0)
    return start, sum(n for _, _, n in later), latest_on


def _with_stopping(review: Review, base: Progress, labels: list[int],
                   found_ids: list[str]) -> Progress:
    """Add the stopping statistics of screener.ranking.stopping."""
    from screener.ranking import stopping

    rule = review.protocol.stopping
    # the population the sample comes from: in dual screening the reviewer's own records
    # (those screened and still to be offered: with an allocation, not the others'); in
    # single screening the review's
    population = base.own_total if review.protocol.screening.dual else base.total
    summary = stopping.summarise(labels, max(population, len(labels)),
                                 recall_target=rule.recall_target,
                                 confidence=rule.confidence,
                                 # as records carry them: "PMID: 1" is 1, a DOI lower case
                                 key_papers=[key_paper_match(k) for k in rule.key_papers],
                                 found_ids=found_ids,
                                 consecutive_threshold=rule.consecutive_irrelevant,
                                 sample_start=base.sample_start)
    remaining = summary.remaining
    found = summary.n_relevant_found
    # nothing relevant found yet, or nothing screened since records were added: no recall
    # to estimate (0 of an unknown number; nothing known of the records added)
    sampled = len(labels) > base.sample_start
    estimable = found and sampled
    recall = found / (found + remaining.point) if estimable else None
    recall_interval = ((found / (found + remaining.high), found / (found + remaining.low))
                       if estimable else None)
    items = []
    for item in summary.safe.items:
        if item.name == "screened fraction":
            # a share below the minimum never reads as reaching it (9.98 %: 9.9%, not 10%)
            shown = (f"{share_of(item.value, rule.min_screened_fraction)} of ≥ "
                     f"{rule.min_screened_fraction:.0%}")
            passed = item.value >= rule.min_screened_fraction
        elif item.name == "key papers found":
            shown = f"{item.value:.0%}" if rule.key_papers else NOT_APPLICABLE
            passed = item.passed
        else:
            shown = at_least(item.value, item.threshold)
            # with nothing screened there is no estimate of the relevant records yet
            passed = item.passed and bool(labels)
        items.append(StoppingItem(item.name, shown, passed))
    return replace(
        base, p_value=summary.p_value if labels else None, estimated_recall=recall,
        estimated_recall_interval=recall_interval,
        # 0 left fits the data as well as any number while nothing relevant is found
        estimated_remaining=((remaining.point, remaining.low, remaining.high)
                             if estimable else None),
        checklist=tuple(items), stop_by_test=sampled and summary.stop_by_test,
        stop_level=1 - rule.confidence)
