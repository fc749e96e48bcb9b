"""Team screening: allocation, claims, blinding, conflicts and their resolution,
agreement between reviewers, and offline copies for one reviewer (export and merge).

Blinding (dual mode, on by default): until reconciliation of a stage starts, a reviewer
sees only their own decisions at that stage. Reconciliation starts when the adjudicator
(or, in consensus mode, one of the screeners) lists the conflicts, or with the first
adjudicator decision. Every face (UI, status, exports, ranking) asks `visible_decisions`
or `blind_stages`.

Concurrency: `ScreeningSession.next` offers a record through an `OfferGate`, which takes
skips records other reviewers hold (a claim, CLAIM_MINUTES long), locks and claims the
one it offers; `ensure_still_needed` locks the record and re-checks when the decision is
written, so a record never gets more screeners than it needs.

Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import itertools
import math
import random
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from screener.core import audit
from screener.core.agreement import AgreementStats, GroupStats, group_agreement, pair_agreement
from screener.core.decisions import Decision, Label, Role, Stage
from screener.core.decisions import current_decisions as current_decisions_of
from screener.core.outcomes import Outcome, passes_title_abstract, record_outcome
from screener.core.protocol import Protocol, Resolution, ScreeningMode
from screener.core.wording import counted, plural, spelled
from screener.storage import INT_MAX, Database, Session, repo, sqlite_url
from screener.workflow.review import (
    DB_FILE,
    PROTOCOL_FILE,
    Review,
    ReviewError,
    follow_amendments,
    open_review,
    remove_written,
    stored_protocols,
)

CLAIM_MINUTES = 20
"""How long a record shown by `next` stays reserved for the reviewer it was shown to."""
CONSENSUS_REVIEWER = "consensus"
"""Reviewer name of decisions reached by consensus (role adjudicator; names in the note)."""


class BlindingError(ReviewError):
    """The request would show a reviewer another reviewer's decisions before reconciliation."""


class RecordTaken(ReviewError):
    """The record got all the screeners it needs while it was on screen; take the next one."""


# --- per-record screening mode (allocation) ---------------------------------------------

def required_reviewers(review: Review, session: Session, stage: Stage,
                       record_ids: Sequence[int] | None = None) -> dict[int, int] | None:
    """Screeners each allocated record needs (1, or the protocol's reviewers per record,
    at least 2) under the allocation in force, or None without an allocation (the
    protocol's `reviewers_per_record` applies)."""
    return _required(session, repo.latest_allocation(session, stage), record_ids)


def _required(session: Session, run: dict[str, Any] | None,
              record_ids: Sequence[int] | None = None) -> dict[int, int] | None:
    if run is None or run["kind"] != "allocation":
        return None
    counts: dict[int, int] = {}
    for rid, _ in repo.allocation_pairs(session, run["id"], record_ids=record_ids):
        counts[rid] = counts.get(rid, 0) + 1
    return counts


def mode_for(mode: ScreeningMode, required: int | None) -> ScreeningMode:
    """The protocol's mode with the number of screeners a record needs."""
    if required is None or required == mode.reviewers_per_record:
        return mode
    return replace(mode, reviewers_per_record=required)


def record_outcomes(review: Review, session: Session, stage: Stage,
                    record_ids: Sequence[int] | None = None,
                    current: Sequence[Decision] | None = None,
                    mode: ScreeningMode | None = None,
                    ) -> dict[int, tuple[Outcome, list[Decision]]]:
    """Each decided record's outcome (allocation-aware) with its current decisions, in the
    order their reviewers first decided the record (a changed decision keeps its place, as
    in the screening order): a report all its screeners excluded for different reasons
    takes the reason of the one who decided first, which the reviewers' later edits do not
    change. `current`: the stage's current decisions (of `record_ids`), when the caller has
    read them already (callers that pass them read labels only). `mode`: the screening
    rules to combine them by (default: those of the protocol in force)."""
    by_record: dict[int, list[Decision]] = {}
    ordered = current is None
    if current is None:
        current = repo.current_decisions(session, stage, record_ids, screening_order=True)
    for decision in current:
        by_record.setdefault(decision.record_id, []).append(decision)
    if ordered:
        _in_assessment_order(session, stage, by_record)
    required = required_reviewers(review, session, stage, record_ids) or {}
    mode = mode or review.protocol.screening
    return {rid: (record_outcome(ds, mode_for(mode, required.get(rid))), ds)
            for rid, ds in by_record.items()}


def _in_assessment_order(session: Session, stage: Stage,
                         by_record: dict[int, list[Decision]]) -> None:
    """Sort each record's decisions (in place) in the order their reviewers first assessed
    it. The log's order (`current_decisions(screening_order=True)`) is that order but where
    rows were stored later than made: a decision `reassign` moved keeps the place of the one
    it was moved from (`screening_places`, as the stopping statistics read it), and where a
    record's decisions include one merged from an offline copy (stored at the merge), the
    times they were made decide, the copy's clock being the only witness of when."""
    from screener.workflow.progress import screening_places

    moved = screening_places(session, stage)
    merged = repo.merged_ranges(session)
    if moved is None and not merged:
        return
    places = moved if moved is not None else repo.first_standing_seqs(session, stage)

    def place(d: Decision) -> int:
        return places.get((d.record_id, d.reviewer), d.seq or 0)

    timed = [ds for ds in by_record.values() if len(ds) > 1 and any(
        first <= place(d) <= last for d in ds for first, last, _ in merged)]
    times = repo.decision_times(session, (place(d) for ds in timed for d in ds))
    for ds in by_record.values():
        ds.sort(key=place)
    for ds in timed:
        ds.sort(key=lambda d: (times.get(place(d), ""), place(d)))


# --- allocation -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Allocation:
    """An allocation run as stored."""

    run_id: int
    stage: Stage
    seed: int
    overlap: float
    """Share of records screened by two reviewers (0-1)."""
    reviewers: tuple[str, ...]
    records: int
    double: int
    """Records allocated to more than one reviewer (`per_record` each, or those who had
    decided them)."""
    per_reviewer: dict[str, int]
    """Records allocated to each reviewer."""
    replaced: datetime | None = None
    """When the allocation this one replaces was made (None: there was none)."""
    kept: int = 0
    """Records that kept screeners who had already decided them, beside or instead of
    those the split planned (a new allocation takes no record from its screeners)."""
    per_record: int = 2
    """Screeners each overlap record gets: the protocol's reviewers per record, at least two."""


def parse_share(text: str, per_record: int = 2) -> float:
    """'20%' or '0.2' -> 0.2 (allocate's --overlap). A ReviewError for what is not a share
    from 0% to 100%, and for forms that read two ways: a percentage under 1% ('0.2%': 0.2
    percent, or a fraction with a % added?; under 1% is written as a fraction, 0.002) and
    a bare 1 (100%, or 1%?). `per_record`: the screeners each shared record gets (the
    protocol's reviewers per record, at least two), which the refusal names."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        number = float(raw[:-1] if percent else raw)
    except ValueError:
        number = math.nan
    if math.isnan(number):
        raise ReviewError(f"cannot read --overlap {text}: use a percentage such as 20% or a "
                          "fraction such as 0.2")
    value = number / 100 if percent else number
    if not 0 <= value <= 1:
        raise ReviewError(f"--overlap {text} is not a fraction from 0 to 1: write "
                          f"{number:g}% or {number / 100:g}" if not percent and 1 < number <= 100
                          else f"--overlap {text} must be between 0% and 100%")
    if percent and 0 < number < 1:
        raise ReviewError(f"--overlap {text} reads as {number:g} percent (1 record in "
                          f"{100 / number:,.0f}), not {number * 100:g}%: write "
                          f"{number * 100:g}% for that; a share under 1% is given as a "
                          f"fraction ({value:g})")
    if not percent and number == 1:
        raise ReviewError(f"--overlap {text} reads two ways, 100% or 1%: write 100% (every "
                          f"record screened by {spelled(per_record)}) or 1%")
    return value


def share_text(share: float) -> str:
    """A share (0-1) as the percentage it is: 0.2 -> '20%', 0.002 -> '0.2%'."""
    return f"{round(share * 100, 10):g}%"


def shared_by(protocol: Protocol) -> int:
    """Screeners each record of an allocation's overlap gets under `protocol`: its reviewers
    per record, at least two (a single-screening review's overlap is double-screened)."""
    return max(2, protocol.screening.reviewers_per_record)


def plan_allocation(record_ids: Sequence[int], reviewers: Sequence[str], overlap: float,
                    seed: int, per_record: int = 2) -> list[tuple[int, tuple[str, ...]]]:
    """Deterministic split: shuffle with `seed`; the first round(overlap·N) records go to
    `per_record` reviewers (groups of that size taken in turn), the rest one each to the
    least-loaded reviewer."""
    names = list(reviewers)
    if not names or len(set(names)) != len(names) or any(not n.strip() for n in names):
        raise ReviewError("--reviewers needs distinct, non-empty names: --reviewers A,B,C")
    if overlap > 0 and len(names) < per_record:
        raise ReviewError(f"an overlap needs at least {spelled(per_record)} reviewers"
                          + ("" if per_record == 2 else
                             f" (the protocol asks for {spelled(per_record)} per record)")
                          + f"; {spelled(len(names))} {plural(len(names), 'was', 'were')} "
                          "given: name more in --reviewers")
    order = sorted(record_ids)
    random.Random(seed).shuffle(order)
    n_double = round(overlap * len(order))
    pairs = list(itertools.combinations(names, per_record))
    load = dict.fromkeys(names, 0)
    plan: list[tuple[int, tuple[str, ...]]] = []
    for i, rid in enumerate(order):
        if i < n_double:
            who: tuple[str, ...] = pairs[i % len(pairs)]
        else:
            who = (min(names, key=lambda n: (load[n], names.index(n))),)
        for name in who:
            load[name] += 1
        plan.append((rid, who))
    return plan


def keep_screeners(planned: Sequence[str], decided: Sequence[str]) -> tuple[str, ...]:
    """A record's screeners under a new allocation: those who have already decided it
    (their decisions stand, so a conflict stays one and a record stays double-screened),
    then those `planned`, as far as the record needs more than have decided."""
    kept = list(decided)
    for name in planned:
        if len(kept) >= len(planned):
            break
        if name not in kept:
            kept.append(name)
    return tuple(kept)


def allocate(review: Review, reviewers: Sequence[str], overlap: float, *,
             seed: int | None = None, stage: Stage = Stage.TITLE_ABSTRACT,
             new_reviewers: bool = False) -> Allocation:
    """Split the stage's eligible records among reviewers (replaces any earlier allocation).

    The overlap share is screened by the protocol's reviewers per record (at least two:
    a single-screening review's overlap is double-screened), the rest by one; `seed` defaults to the
    protocol's ranking seed, so the same call gives the same split. A record some screeners
    have already decided keeps them (`keep_screeners`): allocating again mid-screening
    takes no decided record from its screeners. A name the review has not seen, once it
    has reviewers, is refused (a typo would take records from the screener meant) unless
    `new_reviewers`, as `decide` and `next` refuse it."""
    from screener.workflow.screening import (
        eligible_ids,
        refresh_outcome_effects,
        screening_reviewer,
    )

    if stage not in review.protocol.stages:
        raise ReviewError(f"the protocol has no {stage.value} stage")
    given = seed is not None
    from screener.workflow.screening import clean_name, name_key, role_of

    seed = review.protocol.ranking.seed if seed is None else seed
    if not 0 <= seed <= INT_MAX:
        raise ReviewError(f"seed {seed} cannot be stored with the allocation: give --seed N "
                          f"from 0 to {INT_MAX}" + ("" if given else " (the protocol's "
                                                     "ranking seed is out of that range)"))
    per_record = shared_by(review.protocol)
    names = [clean_name(n, "--reviewers") for n in reviewers]
    keys: dict[str, str] = {}
    for name in names:
        if name and (same := keys.setdefault(name_key(name), name)) != name:
            raise ReviewError(f"--reviewers names {same!r} and {name!r}, one reviewer spelt "
                              "two ways (case, spacing or accents typed differently): give "
                              "each name once")
    with review.read() as session:
        copy_of = {name for run in _offline_runs(review, session) for name in run["reviewers"]}
    if copy_of:
        raise ReviewError(f"this is the offline copy of {', '.join(sorted(copy_of))} "
                          "(screener export-reviewer): allocate in the review itself, "
                          "then make a new copy; nothing was allocated")
    for name in names:
        if name:
            screening_reviewer(review, name, new=new_reviewers, option="--reviewers",
                               joining="to allocate records to")
    with review.transaction() as session:
        adjudicators = [n for n in names if is_adjudicator(review, session, n)]
        if adjudicators:
            raise ReviewError(f"{', '.join(adjudicators)} is the adjudicator; allocate "
                              "records to screeners only")
        for name in names:
            if name:
                role_of(review, session, name, "--reviewers")  # "ann" beside a known "Ann"
        decided: dict[int, list[str]] = {}
        for d in repo.current_decisions(session, stage):
            if d.reviewer_role == Role.SCREENER:
                decided.setdefault(d.record_id, []).append(d.reviewer)
        earlier = repo.latest_allocation(session, stage)
        planned = plan_allocation(eligible_ids(session, stage), names, overlap, seed,
                                  per_record)
        plan = [(rid, keep_screeners(who, decided.get(rid, []))) for rid, who in planned]
        kept = sum(1 for (_, who), (_, now) in zip(planned, plan, strict=True)
                   if set(now) - set(who))
        run_id = repo.add_allocation(
            session, stage=stage, kind="allocation", seed=seed, overlap=overlap,
            reviewer_names=names, pairs=[(rid, n) for rid, who in plan for n in who],
            kept=kept)
        # records screened before now may need a second reviewer, or no longer: their
        # outcomes, and so their full-text reports, follow the new allocation
        refresh_outcome_effects(review, session, stage)
    per = dict.fromkeys(names, 0)
    for _, who in plan:
        for name in who:
            per[name] = per.get(name, 0) + 1
    return Allocation(run_id, stage, seed, overlap, tuple(names), len(plan),
                      sum(1 for _, who in plan if len(who) >= 2), per,
                      earlier["created_at"] if earlier and earlier["kind"] == "allocation"
                      else None, kept, per_record)


@dataclass(frozen=True, slots=True)
class Allocated:
    """The records a reviewer may screen under the allocation in force (`in` tells)."""

    mine: frozenset[int]
    """Records allocated to the reviewer."""
    others: frozenset[int] | None
    """Records allocated to other reviewers only; None for an offline copy's list, which
    holds every record its reviewer may screen. Under an allocation, a record it does not
    cover (imported or restored from dedup after it) is anyone's: it was refused to all."""

    def __contains__(self, record_id: object) -> bool:
        return record_id in self.mine if self.others is None else record_id not in self.others


def allocated_ids(review: Review, session: Session, reviewer: str,
                  stage: Stage = Stage.TITLE_ABSTRACT) -> Allocated | None:
    """Records `reviewer` may screen at `stage` under the allocation in force, or None when
    none is in force (every eligible record may be offered)."""
    return _allocated(session, repo.latest_allocation(session, stage), reviewer)


def _allocated(session: Session, run: dict[str, Any] | None, reviewer: str
               ) -> Allocated | None:
    if run is None:
        return None
    pairs = repo.allocation_pairs(session, run["id"])
    mine = frozenset(rid for rid, name in pairs if name == reviewer)
    if run["kind"] != "allocation":
        return Allocated(mine, None)
    return Allocated(mine, frozenset(rid for rid, _ in pairs) - mine)


# --- offering records: allocation + claims (used by ScreeningSession.next) ---------------

class OfferGate:
    """Decides, inside `ScreeningSession.next`'s transaction, whether a record may be
    offered to a reviewer, and claims the one that is.

    Candidates are screened on what was read without locks; the chosen one is then locked
    (its record row; PostgreSQL skips a row another transaction holds instead of waiting,
    SQLite's BEGIN IMMEDIATE has already serialised the transaction), checked again and
    claimed. So `next` never blocks on another reviewer and never deadlocks."""

    def __init__(self, review: Review, session: Session, reviewer: str, role: Role,
                 stage: Stage) -> None:
        self.review, self.session = review, session
        self.reviewer, self.role, self.stage = reviewer, role, stage
        run = repo.latest_allocation(session, stage)
        self.allowed = _allocated(session, run, reviewer)
        self.required = _required(session, run) or {}
        # holds expire by the clock that stamped them (the database's): a reviewer whose
        # computer runs 20 minutes slow would otherwise read everyone's holds as expired
        self.since = repo.database_now(session) - timedelta(minutes=CLAIM_MINUTES)
        self.claims: dict[int, set[str]] = {}
        for rid, name in repo.active_claims(session, stage, self.since):
            if name != reviewer:
                self.claims.setdefault(rid, set()).add(name)
        self.held: list[int] = []
        """Records skipped only because other reviewers hold them (kept in the queue)."""

    def _offerable(self, record_id: int, screeners: Sequence[tuple[str, Role]],
                   holders: set[str]) -> bool:
        if self.role == Role.ADJUDICATOR:
            return False
        if self.allowed is not None and record_id not in self.allowed:
            return False
        if any(name == self.reviewer or role == Role.ADJUDICATOR for name, role in screeners):
            return False
        need = self.required.get(record_id, self.review.protocol.screening.reviewers_per_record)
        if len(screeners) >= need:
            return False
        if len(screeners) + len(holders - {name for name, _ in screeners}) >= need:
            self.held.append(record_id)
            return False
        return True

    def take(self, record_id: int, current: Sequence[Decision]) -> bool:
        """Claim the record for this reviewer if it may be offered to them."""
        screeners = [(d.reviewer, d.reviewer_role) for d in current]
        if not self._offerable(record_id, screeners, self.claims.get(record_id, set())):
            return False
        if not repo.lock_record(self.session, record_id, skip_locked=True):
            self.held.append(record_id)
            return False
        fresh = repo.record_screeners(self.session, self.stage, record_id)
        holders = {name for _, name in repo.active_claims(self.session, self.stage, self.since,
                                                           record_id) if name != self.reviewer}
        if not self._offerable(record_id, fresh, holders):
            return False
        repo.set_claim(self.session, record_id, self.stage, self.reviewer)
        return True


def not_offered(review: Review, session: Session, reviewer: str, stage: Stage,
                current: Sequence[Decision] | None = None) -> int:
    """How many records `not_offered_ids` gives."""
    return len(not_offered_ids(review, session, reviewer, stage, current))


def not_offered_ids(review: Review, session: Session, reviewer: str, stage: Stage,
                    current: Sequence[Decision] | None = None) -> set[int]:
    """The eligible records `reviewer` has not decided and will not be offered: other
    screeners (as many as the record needs) or an adjudicator settled them, or the
    allocation gives them to others. Claims, which lapse, are not counted. Empty for an
    adjudicator, who is offered no records. `current`: the stage's current decisions when
    the caller has read them already."""
    from screener.workflow.screening import eligible_ids, role_of

    run = repo.latest_allocation(session, stage)
    if run is None and not repo.others_decided(session, stage, reviewer):
        return set()
    if role_of(review, session, reviewer) == Role.ADJUDICATOR:
        return set()
    gate = OfferGate(review, session, reviewer, Role.SCREENER, stage)
    screeners: dict[int, list[tuple[str, Role]]] = {}
    for d in repo.current_decisions(session, stage) if current is None else current:
        screeners.setdefault(d.record_id, []).append((d.reviewer, d.reviewer_role))
    closed = set()
    for rid in eligible_ids(session, stage):
        found = screeners.get(rid, [])
        if not any(name == reviewer for name, _ in found) and not gate._offerable(
                rid, found, set()):
            closed.add(rid)
    return closed


def waiting_note(n: int, *, allocated: bool = False, in_status: bool = False) -> str:
    """What to do about records that have some, not all, of the screeners' decisions they
    need: they wait for a screener who has not decided them, for good if that screener has
    left (a third of three, say). `allocated`: an allocation is in force at title/abstract,
    which sets who screens each record and how many (an amended reviewers_per_record
    counts only once it is run again). `in_status`: said by `screener status` itself, which
    it then does not point to."""
    if allocated:
        way = ("`screener allocate` again, naming another reviewer in their place (add "
               "--new-reviewer for a name the review has not seen; a reviewer the allocation "
               "leaves out is offered none of its records). The allocation in force sets who "
               "screens each record and how many; run again, it follows the protocol's "
               "reviewers_per_record, which `screener protocol amend` changes")
    else:
        way = ("`screener allocate` the records to another reviewer, let one join with "
               "`screener screen --reviewer NAME --new-reviewer`, or amend the protocol's "
               "reviewers_per_record with `screener protocol amend`")
    turn = "" if in_status else "`screener status` shows whose turn it is; "
    return (f"{counted(n, 'record')} {plural(n, 'waits', 'wait')} for a reviewer who has not "
            f"decided {plural(n, 'it', 'them')} ({turn}if a screener has left, {way})")


def left_out_by_allocation(review: Review, session: Session, reviewer: str,
                           stage: Stage) -> int:
    """Records that still wait for screeners (not every decision they need, no conflict)
    when the allocation in force at `stage` leaves `reviewer` out: it gives them all to
    others, so `next` and the screen offer none of them (a reviewer joining in the place of
    one who left is not offered theirs). 0: no allocation in force, or it names `reviewer`."""
    run = repo.latest_allocation(session, stage)
    if run is None or run["kind"] != "allocation" or reviewer in run["reviewers"]:
        return 0
    allocated = {rid for rid, _ in repo.allocation_pairs(session, run["id"])}
    settled = {rid for rid, (o, _) in record_outcomes(review, session, stage,
                                                       sorted(allocated)).items()
               if o.label is not None or o.conflict}
    from screener.workflow.screening import eligible_ids

    return len(allocated & set(eligible_ids(session, stage)) - settled)


def left_out_note(n: int, reviewer: str, stage: Stage, *, you: bool = False) -> str:
    """What `next` and the screen say beside "nothing left" of `left_out_by_allocation`'s
    records (`you`: said to the reviewer on screen)."""
    who = "you" if you else reviewer
    return (f"the allocation in force at {stage.value} gives {who} no records; "
            f"{counted(n, 'record')} it gives others {plural(n, 'waits', 'wait')} for "
            f"screeners (if one has left, `screener allocate` again naming {who} in their "
            "place)")


def allocation_in_force(session: Session, stage: Stage) -> bool:
    """Whether an allocation (not an offline copy's hand-out) is in force at `stage`."""
    run = repo.latest_allocation(session, stage)
    return run is not None and run["kind"] == "allocation"


def allocations_left_behind(session: Session, before: Protocol, after: Protocol) -> list[str]:
    """Warnings for an amendment that changes reviewers_per_record while an allocation is in
    force: its own count per shared record replaces the protocol's until `allocate` is run
    again (which follows the protocol in force)."""
    wanted = shared_by(after)  # what `allocate` run again will give
    if before.screening.reviewers_per_record == after.screening.reviewers_per_record:
        return []
    notes = []
    for stage in after.stages:
        run = repo.latest_allocation(session, stage)
        if run is None or run["kind"] != "allocation":
            continue
        counts = Counter(n for n in (_required(session, run) or {}).values() if n >= 2)
        if not counts:
            continue
        given = counts.most_common(1)[0][0]
        if given != wanted:
            made = audit.iso_utc(run["created_at"])[:16].replace("T", " ")
            which = "" if stage == Stage.TITLE_ABSTRACT else f"{stage.label} "
            notes.append(f"the {which}allocation of {made} UTC gives {spelled(given)} "
                         "screeners per shared record and still applies; run `screener "
                         "allocate` again to follow the new number")
    return notes


def closed_to(review: Review, reviewer: str, stage: Stage, record_id: int) -> str:
    """Why `reviewer` will not be offered a record they have not decided: "settled by
    others" or "allocated to others"; "" when it is theirs to screen (or they decided it).
    Names no one, so it may be shown while the stage is blind."""
    with review.read() as session:
        found = repo.record_screeners(session, stage, record_id)
        if any(name == reviewer for name, _ in found) or is_adjudicator(review, session,
                                                                          reviewer):
            return ""
        gate = OfferGate(review, session, reviewer, Role.SCREENER, stage)
        if gate.allowed is not None and record_id not in gate.allowed:
            return "allocated to others"
        return "" if gate._offerable(record_id, found, set()) else "settled by others"


def awaiting_decision(review: Review, session: Session, reviewer: str, stage: Stage,
                      current: Sequence[Decision] | None = None) -> set[int]:
    """Records another screener has decided and `reviewer` has not, that `reviewer` is
    still to be offered: in dual screening the pairs waiting for this reviewer's decision
    (none in single screening, where one decision settles a record). `current` as in
    `not_offered_ids`."""
    from screener.workflow.screening import eligible_ids, role_of

    if role_of(review, session, reviewer) == Role.ADJUDICATOR:
        return set()
    if current is None:
        current = repo.current_decisions(session, stage)
    mine = {d.record_id for d in current if d.reviewer == reviewer}
    waiting = {d.record_id for d in current
               if d.reviewer_role == Role.SCREENER and d.reviewer != reviewer} - mine
    if not waiting:
        return set()
    return ((waiting & set(eligible_ids(session, stage)))
            - not_offered_ids(review, session, reviewer, stage, current))


def _refuse_outside_allocation(session: Session, source: Path,
                               new: Sequence[Decision]) -> None:
    """Refuse (nothing merged) screeners' decisions on records the allocation in force
    gives to others: `decide` and the UI refuse them too."""
    outside: dict[str, list[int]] = {}
    runs = {stage: repo.latest_allocation(session, stage) for stage in {d.stage for d in new}}
    allowed: dict[tuple[str, Stage], Allocated | None] = {}
    for d in new:
        if d.label == Label.UNDONE or d.reviewer_role != Role.SCREENER:
            continue
        key = (d.reviewer, d.stage)
        if key not in allowed:
            allowed[key] = _allocated(session, runs[d.stage], d.reviewer)
        mine = allowed[key]
        if mine is not None and d.record_id not in mine:
            outside.setdefault(d.reviewer, []).append(d.record_id)
    if outside:
        raise ReviewError(f"{source} holds decisions on records the allocation gives to other "
                          f"reviewers ({_records_by_reviewer(outside)}); nothing was merged. "
                          "Take those decisions back in the copy (in its `screener screen`, u "
                          "takes back the latest ones, one by one), or allocate again to "
                          "include them")


def _by_reviewer(decisions: Iterable[Decision]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for d in decisions:
        found.setdefault(d.reviewer, []).append(d.record_id)
    return found


def _records_by_reviewer(found: dict[str, list[int]]) -> str:
    """'ann: 3, 7; bob: 12' (at most ten records each), for a refused merge."""
    return "; ".join(f"{name}: {', '.join(map(str, sorted(set(ids))[:10]))}"
                     for name, ids in sorted(found.items()))


def ensure_still_needed(review: Review, session: Session, record_id: int, reviewer: str,
                        stage: Stage) -> None:
    """Under the write lock: raise RecordTaken when other screeners (or an adjudicator)
    completed the record while it was on screen, or the same reviewer decided it elsewhere
    (a second window) meanwhile. (The reviewer's claim lapses by itself:
    claims of reviewers who decided the record do not count.)"""
    repo.lock_record(session, record_id)
    screeners = repo.record_screeners(session, stage, record_id)
    if _settled(review, session, record_id, reviewer, stage, screeners):
        raise RecordTaken(f"record {record_id} was screened by another reviewer while it was "
                          "on screen; it is skipped, take the next record")
    if any(name == reviewer for name, _ in screeners):
        raise RecordTaken(f"record {record_id} was decided by you in another window or shell "
                          "after it was offered to you; that decision stands (to change it, "
                          "open it from browse, or `screener decide` without --ranking-id); "
                          "take the next record")


def settled_by(review: Review, session: Session, record_id: int, reviewer: str,
               stage: Stage) -> list[str]:
    """Under the write lock: the other reviewers whose decisions already settle the record
    at `stage` (as many screeners as it needs, or an adjudicator); [] while `reviewer` may
    still decide it."""
    repo.lock_record(session, record_id)
    return _settled(review, session, record_id, reviewer, stage,
                    repo.record_screeners(session, stage, record_id))


def _settled(review: Review, session: Session, record_id: int, reviewer: str, stage: Stage,
             screeners: Sequence[tuple[str, Role]]) -> list[str]:
    """`settled_by` on the record's screeners already read (under the lock)."""
    others = [(name, role) for name, role in screeners if name != reviewer]
    if not others:
        return []
    required = (required_reviewers(review, session, stage, [record_id]) or {}).get(
        record_id, review.protocol.screening.reviewers_per_record)
    if len(others) >= required or any(role == Role.ADJUDICATOR for _, role in others):
        return [name for name, _ in others]
    return []


# --- blinding ---------------------------------------------------------------------------

def is_blind(review: Review) -> bool:
    """Whether the protocol blinds reviewers to each other (dual mode, `blind: true`)."""
    return review.protocol.screening.blind and review.protocol.screening.dual


@dataclass(frozen=True, slots=True)
class Cutoff:
    """Where a stage's reconciliation began in the decision log: the rows with seq <= `seq`
    were made blind, and so were those in the ranges `merged` (merged from an offline copy
    after this review's start, though made before the copy's own start or in a copy that
    had none, so without seeing the others' decisions)."""

    seq: int
    merged: tuple[tuple[int, int], ...] = ()

    def blind(self, seq: int | None) -> bool:
        """Whether the decision-log row `seq` was made blind."""
        at = seq or 0
        return at <= self.seq or any(first <= at <= last for first, last in self.merged)


def reconciliation_cutoffs(review: Review, session: Session) -> dict[Stage, Cutoff]:
    """Where each stage's reconciliation began in the decision log, in a review that was
    blind then: decisions made or changed after it were made seeing the others' and are
    left out of agreement. A place in the log, not a time: a screener whose clock is behind
    stamps times earlier than the adjudicator's. A review amended from blind to not blind
    keeps its cut-offs (its agreement must not change after the fact); one never blind has
    none."""
    if review.protocol.screening.blind or _was_ever_blind(session):
        return _cutoffs(session)
    return {}


def _cutoffs(session: Session) -> dict[Stage, Cutoff]:
    merged = repo.merged_blind(session)
    return {stage: Cutoff(seq, tuple(merged.get(stage, ())))
            for stage, seq in repo.reconciliation_starts(session).items()}


def _was_ever_blind(session: Session) -> bool:
    return any(p.screening.blind for p in stored_protocols(session).values())


def blind_stages(review: Review, session: Session) -> set[Stage]:
    """Stages whose decisions are still blinded: screeners have decided there and
    reconciliation has not started. (A stage nobody has screened yet hides nothing, so it
    does not hold back PRISMA, the report or the log.)"""
    if not is_blind(review):
        return set()
    pairs = repo.current_stage_roles(session)
    started = repo.reconciliation_starts(session)
    screened = {stage for stage, role in pairs if role == Role.SCREENER}
    return {s for s in review.protocol.stages if s not in started and s in screened}


def ensure_full_text_open(review: Review, session: Session) -> None:
    """Raise BlindingError while title/abstract screening is still blind: which records
    reach full text is the combined outcome of both reviewers' decisions, so showing the
    full-text stage would tell each reviewer what the other decided."""
    if Stage.TITLE_ABSTRACT in blind_stages(review, session):
        raise BlindingError(
            "title/abstract screening is still blind: the full-text stage opens once "
            "reconciliation has started (`screener conflicts` run by the adjudicator, or in "
            "consensus mode by a screener, even when there are none)")


def resolution_on(review: Review, record_id: int, stage: Stage) -> Decision | None:
    """The adjudicator's resolution standing on a record at `stage` (None: none). A
    resolution exists only once reconciliation has ended blinding there."""
    with review.read() as session:
        found = [d for d in repo.current_decisions(session, stage, [record_id])
                 if d.reviewer_role == Role.ADJUDICATOR]
    return max(found, key=lambda d: d.id or 0) if found else None


def change_after_reconciliation(review: Review, record_id: int, reviewer: str, stage: Stage,
                                label: Label, reason_id: str | None = None) -> str | None:
    """What changing `reviewer`'s standing decision on a record would do once reconciliation
    has started at `stage`, when it undoes an agreed outcome (the screen asks before storing
    it): a new conflict, or another outcome, and at title/abstract the record leaving or
    joining the full-text stage. None when there is nothing to tell: reconciliation has not
    started, no decision of theirs stands, the record is not agreed (pending, in conflict,
    resolved: `decide` says why it refuses) or the change leaves its outcome as it is."""
    if not reconciliation_started(review, stage):
        return None
    with review.read() as session:
        current = repo.current_decisions(session, stage, [record_id])
        mine = [d for d in current if d.reviewer == reviewer]
        if not mine or mine[0].reviewer_role == Role.ADJUDICATOR:
            return None
        required = (required_reviewers(review, session, stage, [record_id]) or {}).get(record_id)
    mode = mode_for(review.protocol.screening, required)
    before = record_outcome(current, mode)
    if before.label is None or before.adjudicated:
        return None
    after = record_outcome([replace(d, label=label, reason_id=reason_id)
                            if d.reviewer == reviewer else d for d in current], mode)
    if (after.label, after.conflict) == (before.label, before.conflict):
        return None
    others = " and ".join(sorted(d.reviewer for d in current if d.reviewer != reviewer
                                 and d.reviewer_role != Role.ADJUDICATOR)) or "the others"
    what = (f"makes it a conflict with {others}, for the adjudicator to resolve"
            if after.conflict else
            f"changes its outcome from {before.label.value} to "
            f"{after.label.value if after.label else 'undecided'}")
    text = (f"Record {record_id}: you and {others} agreed ({before.label.value}) at "
            f"{stage.label}; changing yours to {label.value} {what}.")
    if stage == Stage.TITLE_ABSTRACT and passes_title_abstract(before) and not \
            passes_title_abstract(after):
        text += " It leaves the full-text stage" + (
            " until the conflict is resolved." if after.conflict else ".")
    if review.protocol.screening.blind:
        text += (f" Reconciliation has begun at {stage.label}: the methods text counts this "
                 "decision as made unblinded.")
    return text


def reconciliation_started(review: Review, stage: Stage | None = None) -> bool:
    """Whether reconciliation has started at `stage` (any stage when None)."""
    with review.read() as session:
        started = repo.reconciliation_starts(session)
    return bool(started) if stage is None else stage in started


def visible_decisions(review: Review, viewer: str | None, *, stage: Stage | None = None,
                      current: bool = False) -> list[Decision]:
    """The decision log (or, with current=True, the current decisions) as `viewer` may see
    it: at blinded stages only the viewer's own rows (none for viewer None). Exports and
    the UI use this, never the raw log."""
    with review.read() as session:
        hidden = blind_stages(review, session)
        rows = repo.current_decisions(session, stage) if current else repo.decision_log(session)
    return [d for d in rows if (stage is None or d.stage == stage)
            and (d.stage not in hidden or (viewer is not None and d.reviewer == viewer))]


# --- conflicts --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Vote:
    """One screener's current decision on a record in conflict."""

    reviewer: str
    label: Label
    reason_id: str | None
    note: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """A record whose screeners disagree under the protocol's conflict rules."""

    record_id: int
    title: str
    stage: Stage
    votes: tuple[Vote, ...]
    """The screeners' current decisions, in the order they were made."""

    def as_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "title": self.title, "stage": self.stage.value,
                "decisions": [{"reviewer": v.reviewer, "label": v.label.value,
                               "reason": v.reason_id, "note": v.note} for v in self.votes]}


def reconcile_command(review: Review, stage: Stage) -> str:
    """The command that starts reconciliation at `stage`: the adjudicator listing the
    conflicts (NAME when the protocol names none, as in consensus mode)."""
    adj = review.protocol.screening.adjudicator
    who = shlex.quote(adj) if adj else "NAME"
    return f"screener conflicts --stage {stage.value} --reviewer {who}"


def is_adjudicator(review: Review, session: Session, name: str) -> bool:
    """The adjudicator the protocol in force names; when it names none, a reviewer stored
    with the adjudicator role. (An adjudicator replaced by an amendment resolves no more:
    their earlier resolutions stand.)"""
    follow_amendments(review, session)
    if review.protocol.screening.adjudicator:
        return name == review.protocol.screening.adjudicator
    return any(r.name == name and r.role == Role.ADJUDICATOR for r in repo.reviewers(session))


def _may_reconcile(review: Review, session: Session, name: str) -> bool:
    if is_adjudicator(review, session, name):
        return True
    if review.protocol.screening.resolution == Resolution.CONSENSUS:
        return any(r.name == name and r.role == Role.SCREENER for r in repo.reviewers(session))
    return False


def _conflicts(review: Review, session: Session, stage: Stage,
               record_ids: Sequence[int] | None = None) -> list[Conflict]:
    found = [(rid, ds) for rid, (o, ds) in record_outcomes(review, session, stage,
                                                            record_ids).items() if o.conflict]
    titles = {r.id: r.title for r in repo.get_records(session, [rid for rid, _ in found])}
    # the votes by reviewer name: in the order of the decisions they changed from record to
    # record, and a list read down a column compared one reviewer with another
    return [Conflict(rid, titles.get(rid, ""), stage,
                     tuple(Vote(d.reviewer, d.label, d.reason_id, d.note)
                           for d in sorted(ds, key=lambda d: d.reviewer)
                           if d.reviewer_role != Role.ADJUDICATOR))
            for rid, ds in sorted(found)]


def list_conflicts(review: Review, stage: Stage = Stage.TITLE_ABSTRACT,
                   viewer: str | None = None) -> list[Conflict]:
    """Records in conflict at `stage`, by record id.

    Blind review: only the adjudicator (in consensus mode: a screener) may list them, and
    doing so starts reconciliation of the stage (recorded with name and time), which ends
    blinding there. Anyone else gets a BlindingError until then."""
    from screener.workflow.screening import reviewer_name

    if stage not in review.protocol.stages:
        raise ReviewError(f"the protocol has no {stage.value} stage")
    viewer = None if viewer is None else reviewer_name(viewer)
    with review.transaction() as session:
        may = viewer is not None and _may_reconcile(review, session, viewer)
        blind = stage in blind_stages(review, session)
        if blind and not may:
            raise BlindingError(
                f"screening is blind: conflicts at {stage.value} are shown once reconciliation "
                f"starts (`{reconcile_command(review, stage)}`"
                + ("" if review.protocol.screening.adjudicator else
                   ", NAME being the adjudicator, whom the protocol should name "
                   "under screening: adjudicator") + ")")
        if may and blind:
            # (a stage nobody has screened yet is not reconciled in advance: that would
            # unblind the screening still to come)
            assert viewer is not None
            repo.start_reconciliation(session, stage, viewer)
        return _conflicts(review, session, stage)


def conflicts_can_arise(review: Review, stage: Stage = Stage.TITLE_ABSTRACT) -> bool:
    """Whether records at `stage` can be in conflict: some record needs two screeners
    (dual screening, or an allocation that gives records to two). In single screening the
    first screener's decision settles a record (a second one is refused), so there is never a
    conflict."""
    if review.protocol.screening.dual:
        return True
    with review.read() as session:
        required = required_reviewers(review, session, stage) or {}
    return any(count > 1 for count in required.values())


def blinding_ends_on_listing(review: Review, stage: Stage, viewer: str) -> int | None:
    """When `viewer` listing the conflicts at `stage` would start its reconciliation (and so
    end blinding there for everyone): how many eligible records still lack some of their
    screeners' decisions. None when listing would end no blinding. (A first resolution
    ends it as listing does: this is also how many records that leaves unblinded.)"""
    from screener.workflow.screening import eligible_ids, reviewer_name

    viewer = reviewer_name(viewer)
    with review.read() as session:
        # (who may reconcile first: `decide` asks for every decision, mostly a screener's)
        if not _may_reconcile(review, session, viewer) or stage not in blind_stages(
                review, session):
            return None
        need = required_reviewers(review, session, stage) or {}
        per = review.protocol.screening.reviewers_per_record
        count: dict[int, int] = {}
        for d in repo.current_decisions(session, stage):
            if d.reviewer_role == Role.SCREENER:
                count[d.record_id] = count.get(d.record_id, 0) + 1
        return sum(1 for rid in eligible_ids(session, stage)
                   if count.get(rid, 0) < need.get(rid, per))


def resolve(review: Review, record_id: int, adjudicator: str, label: Label, *,
            stage: Stage = Stage.TITLE_ABSTRACT, reason_id: str | None = None,
            criterion_ids: Sequence[str] = (), note: str = "",
            repeat_ok: bool = False) -> Decision:
    """Record the adjudicator's decision on a record in conflict (one transaction).

    Consensus mode: `adjudicator` is one of the two screeners; the decision is stored as
    reviewer 'consensus' (adjudicator role) with both screeners' names in the note.
    repeat_ok: `NothingChanged` (no row) when this resolution stands already, as
    `screening.record_decision`'s."""
    from screener.workflow.screening import (
        apply_outcome_effects,
        check_note,
        ensure_changed,
        reviewer_name,
        validate_decision,
    )

    validate_decision(review, stage, label, reason_id, criterion_ids)
    check_note(note)
    name = asking = reviewer_name(adjudicator)
    with review.transaction() as session:
        repo.lock_review(session)
        if follow_amendments(review, session):   # amended meanwhile: check against it
            validate_decision(review, stage, label, reason_id, criterion_ids)
        consensus = review.protocol.screening.resolution == Resolution.CONSENSUS
        # Who may resolve is checked before anything about the record is said: "no
        # conflict" would tell a blind screener how the other reviewer decided.
        if not is_adjudicator(review, session, name):
            if not consensus:
                adj = review.protocol.screening.adjudicator
                raise ReviewError(
                    f"{name!r} is not the adjudicator" + (
                        f" ({adj}); only the adjudicator resolves conflicts" if adj else
                        ": the protocol names none. Add `adjudicator: NAME` under "
                        "`screening:` (or `resolution: consensus`) and run `screener "
                        "protocol amend FILE`"))
            if stage in blind_stages(review, session):
                raise BlindingError(
                    f"{stage.label} screening is still blind: list the conflicts first "
                    f"(`screener conflicts --reviewer {shlex.quote(name)}` ends blinding for "
                    "this stage), then resolve them")
        outcome_and = record_outcomes(review, session, stage, [record_id]).get(record_id)
        if outcome_and is None and not repo.record_exists(session, record_id):
            raise ReviewError(f"no record with id {record_id} in this review")
        if outcome_and is None or not (outcome_and[0].conflict or outcome_and[0].adjudicated):
            raise ReviewError(f"record {record_id} has no conflict at {stage.value}; "
                              "list them with `screener conflicts`")
        screeners = [d.reviewer for d in outcome_and[1] if d.reviewer_role != Role.ADJUDICATOR]
        if consensus and not is_adjudicator(review, session, name):
            if name not in screeners:
                raise ReviewError(f"consensus mode: {name!r} is not one of the screeners of "
                                  f"record {record_id} ({', '.join(screeners)})")
            note = f"consensus of {' and '.join(screeners)}" + (f": {note}" if note else "")
            name = CONSENSUS_REVIEWER
        if repeat_ok:
            ensure_changed(review, session, Decision(
                record_id=record_id, reviewer=name, stage=stage, label=label,
                reason_id=reason_id, criterion_ids=tuple(criterion_ids), note=note))
        repo.start_reconciliation(session, stage, asking)
        # (whether it passed title/abstract before this decision: from the outcome read above)
        passed = stage != Stage.TITLE_ABSTRACT or passes_title_abstract(outcome_and[0])
        decision = repo.add_decision(session, Decision(
            record_id=record_id, reviewer=name, stage=stage, label=label, reason_id=reason_id,
            criterion_ids=tuple(criterion_ids), note=note, protocol_hash=review.protocol_hash,
            reviewer_role=Role.ADJUDICATOR))
        apply_outcome_effects(review, session, record_id, stage, passed_before=passed)
    return decision


# --- agreement --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PairAgreement:
    stage: Stage
    reviewer_a: str
    reviewer_b: str
    stats: AgreementStats
    reasons_differ: int = 0
    """Records both excluded for different reasons: agreement on the label, which the
    statistics (on the labels only) count as agreement; at full text a conflict when the
    protocol counts different reasons as one."""

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage.value, "reviewers": [self.reviewer_a, self.reviewer_b],
                **self.stats.as_dict(), "excluded_for_different_reasons": self.reasons_differ}


@dataclass(frozen=True, slots=True)
class GroupAgreement:
    """Fleiss' kappa at one stage over the records each screened by `stats.raters` (3 or
    more) screeners; `reviewers`: every screener who screened one of them."""

    stage: Stage
    reviewers: tuple[str, ...]
    stats: GroupStats
    reasons_differ: int = 0
    """Records all their screeners excluded, not all for the same reason: agreement on the
    label, which Fleiss' statistics count as agreement (`PairAgreement.reasons_differ`)."""

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage.value, "reviewers": list(self.reviewers),
                **self.stats.as_dict(), "excluded_for_different_reasons": self.reasons_differ}


MIN_GROUP = 3
"""Fewest screeners per record for which Fleiss' kappa is given (two: Cohen's, per pair)."""


@dataclass(frozen=True, slots=True)
class AgreementReport:
    pairs: tuple[PairAgreement, ...]
    hidden_stages: tuple[Stage, ...]
    """Stages left out because they are still blind."""
    groups: tuple[GroupAgreement, ...] = ()
    """Per stage and number of screeners per record (3 or more): Fleiss' kappa."""
    imported: tuple[tuple[str, int, int], ...] = ()
    """(reviewer, decisions imported with `import --labels-as`, decisions) of each reviewer
    some of whose decisions that enter the agreement were imported, not made in screener:
    whether they were blinded and independent cannot be checked. Both count the decisions
    that enter it at title/abstract, the only stage decisions are imported at (her full-text
    decisions were all made in screener): on records another screener decided too, in a
    blind review as they stood when reconciliation began (so not the methods text's counts
    of all her title/abstract decisions)."""


def reasons_differ_note(count: int, reason_conflicts: bool, screeners: int = 2) -> str:
    """What `agreement` and the report say beside the statistics of a pair (`screeners` 2:
    "both excluded for different reasons") or of a group of screeners per record ("all
    three excluded, not all for the same reason": two of them may have given the same one)
    with records they all excluded, their reasons differing ("" with none)."""
    if not count:
        return ""
    who = ("both excluded for different reasons" if screeners == 2 else
           f"all {spelled(screeners)} excluded, not all for the same reason,")
    return (f"the agreement is on the labels only: {counted(count, 'record')} that {who} "
            f"{plural(count, 'counts', 'count')} as agreed here"
            + ("; they are conflicts of reasons, counted separately" if reason_conflicts
               else ""))


def as_reassigned(session: Session, log: Sequence[Decision]) -> Callable[[Decision], Decision]:
    """A decision as `reassign` has renamed it since it was made: the name of the reviewer
    its record's decision (at its stage) was moved to, through every move of it (ann ->
    anna -> anne). What agreement reads, the decisions as they stood when reconciliation
    began, is older than a reassign that followed it, so it would name the reviewer as
    before the move while everything else names them as after."""
    from screener.workflow.reassign import MOVED_NOTE

    by_seq = {d.seq: d for d in log if d.seq is not None}
    moves: list[tuple[str, str, dict[tuple[int, Stage], int]]] = []
    for source, target, seqs in repo.reassignments(session):
        if seqs is None:  # (a reassign before its event listed the rows: they say it)
            tag = MOVED_NOTE.split("{seq}")[0].format(name=source)
            rows = [d for d in log if d.reviewer == target and tag in d.note]
        else:
            rows = [by_seq[seq] for seq in seqs if seq in by_seq]
        moves.append((source, target, {(d.record_id, d.stage): d.seq or 0 for d in rows}))

    def rename(d: Decision) -> Decision:
        name = d.reviewer
        for source, target, written in moves:
            at = written.get((d.record_id, d.stage))
            if name == source and at is not None and (d.seq or 0) < at:
                name = target
        return d if name == d.reviewer else replace(d, reviewer=name)

    return rename


def agreement(review: Review, stage: Stage | None = None) -> AgreementReport:
    """Agreement per reviewer pair and stage over the records both screened (screeners'
    decisions; adjudications left out). In a blind review, the decisions as they stood when
    the stage's reconciliation began: those made or changed later, when the reviewers could
    see each other's, were not independent. Blind stages are left out; asking for one
    explicitly is a BlindingError. Where records were screened by three or more screeners,
    Fleiss' kappa per stage over the records screened by the same number of them."""
    stages = [stage] if stage is not None else list(review.protocol.stages)
    from screener.workflow.importing import IMPORTED_LABEL_NOTE

    pairs: list[PairAgreement] = []
    groups: list[GroupAgreement] = []
    made: Counter[str] = Counter()
    imported: Counter[str] = Counter()
    with review.read() as session:
        hidden = blind_stages(review, session)
        if stage is not None and stage in hidden:
            raise BlindingError(f"screening is blind: agreement at {stage.value} is shown once "
                                "reconciliation starts")
        started = reconciliation_cutoffs(review, session)
        log = repo.decision_log(session) if started else []
        rename = as_reassigned(session, log)
        for s in stages:
            if s in hidden:
                continue
            if s in started:  # (under the names `reassign` gave them since)
                standing: Iterable[Decision] = map(rename, current_decisions_of(
                    [d for d in log if d.stage == s and started[s].blind(d.seq)]).values())
            else:
                standing = repo.current_decisions(session, s)
            labels: dict[str, dict[int, str]] = {}
            reasons: dict[str, dict[int, str | None]] = {}
            mine: list[Decision] = []
            for d in standing:
                if d.reviewer_role != Role.ADJUDICATOR:
                    labels.setdefault(d.reviewer, {})[d.record_id] = d.label.value
                    reasons.setdefault(d.reviewer, {})[d.record_id] = d.reason_id
                    mine.append(d)
            # the decisions that enter the agreement: on records another screener decided
            # (at title/abstract, the only stage `import --labels-as` writes decisions at:
            # the imported ones' share is of those)
            screeners = Counter(d.record_id for d in mine)
            for d in mine:
                if screeners[d.record_id] > 1 and s == Stage.TITLE_ABSTRACT:
                    made[d.reviewer] += 1
                    imported[d.reviewer] += d.note.startswith(IMPORTED_LABEL_NOTE)
            # one scale for every pair of the stage (PABAK and AC1 depend on how many
            # categories there are: pairs on 2 and on 3 were not comparable in one table)
            cats = (("include", "maybe", "exclude")
                    if any("maybe" in by.values() for by in labels.values())
                    else ("include", "exclude"))
            for a, b in itertools.combinations(sorted(labels), 2):
                common = sorted(set(labels[a]) & set(labels[b]))
                if not common:
                    continue
                la = [labels[a][r] for r in common]
                lb = [labels[b][r] for r in common]
                differ = sum(1 for r in common
                             if labels[a][r] == labels[b][r] == Label.EXCLUDE.value
                             and None not in (reasons[a][r], reasons[b][r])
                             and reasons[a][r] != reasons[b][r])
                pairs.append(PairAgreement(s, a, b, pair_agreement(la, lb, cats), differ))
            groups += _groups(s, labels, cats, reasons)
    rated = {n for p in pairs if p.stage == Stage.TITLE_ABSTRACT
             for n in (p.reviewer_a, p.reviewer_b)} | {
        n for g in groups if g.stage == Stage.TITLE_ABSTRACT for n in g.reviewers}
    return AgreementReport(tuple(pairs), tuple(s for s in stages if s in hidden),
                           tuple(groups), tuple((n, imported[n], made[n])
                                                for n in sorted(rated) if imported[n]))


def _groups(stage: Stage, labels: dict[str, dict[int, str]], cats: tuple[str, ...],
            reasons: dict[str, dict[int, str | None]]) -> list[GroupAgreement]:
    """Fleiss' kappa per number (3 or more) of screeners per record, fewest first, with
    the records all of them excluded for different reasons."""
    by_record: dict[int, dict[str, str]] = {}
    for who, given in labels.items():
        for record_id, label in given.items():
            by_record.setdefault(record_id, {})[who] = label
    by_size: dict[int, list[tuple[int, dict[str, str]]]] = {}
    for record_id, votes in by_record.items():
        if len(votes) >= MIN_GROUP:
            by_size.setdefault(len(votes), []).append((record_id, votes))

    def differ(record_id: int, votes: dict[str, str]) -> bool:
        given = [reasons[w][record_id] for w in votes]
        return (set(votes.values()) == {Label.EXCLUDE.value} and None not in given
                and len(set(given)) > 1)

    return [GroupAgreement(stage, tuple(sorted({w for _, votes in records for w in votes})),
                           group_agreement([list(v.values()) for _, v in records], cats),
                           sum(1 for rid, votes in records if differ(rid, votes)))
            for _, records in sorted(by_size.items())]


# --- offline copies ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MergeResult:
    added: int
    """Decisions new to this review, appended to the log."""
    skipped: int
    """Decisions the review already had (same uid)."""
    reviewers: tuple[str, ...]
    left_out: str = ""
    """With `leave_out_refused`: the copy's decisions left in the copy, as 'what (reviewer:
    records)' ("" when none)."""
    replaced: str = ""
    """The copy's decisions left out because the copy's own later decisions, already here,
    replace them, as 'reviewer: records' ("" when none): appended after those, they would
    stand over them (the latest row stands)."""
    reconciliations: tuple[str, ...] = ()
    """What became of the copy's starts of reconciliation (one line each; none when it
    started none this review lacks)."""


def _copy_ranking(src: Session, dst: Session, ranking_id: int | None, reviewer_id: int | None,
                  cache: dict[int, int]) -> int | None:
    """Copy a ranking's provenance (not its order) between databases; returns the new id."""
    if ranking_id is None:
        return None
    if ranking_id not in cache:
        info = repo.ranking_info(src, ranking_id)
        if info is None:
            return None
        cache[ranking_id] = repo.add_ranking(
            dst, stage=Stage(info["stage"]), reviewer_id=reviewer_id, config=info["config"],
            config_hash=info["config_hash"], training_size=info["training_size"],
            n_included=info["n_included"], order_ids=[], scores=[])
    return cache[ranking_id]


def _append(src: Session, dst: Session, rows: Iterable[tuple[Decision, str, str | None]],
            known: dict[str, int]) -> list[Decision]:
    """Append decision rows (with uids) to dst's log: new seq and row_hash, same uid (an
    undo's note names the decision it withdraws by its id here)."""
    from screener.workflow.screening import UNDO_NOTE

    added: list[Decision] = []
    rankings: dict[int, int] = {}
    for d, uid, undoes_uid in rows:
        if uid in known:
            continue
        owner = repo.get_or_create_reviewer(dst, d.reviewer, d.reviewer_role).id
        undoes = known.get(undoes_uid) if undoes_uid else None
        note = d.note
        if undoes is not None and note.startswith(UNDO_NOTE):
            note = f"{UNDO_NOTE}{undoes}"   # the copy's id names another decision here
        new = repo.add_decision(dst, replace(
            d, id=None, seq=None, row_hash="", note=note,
            ranking_id=_copy_ranking(src, dst, d.ranking_id, owner, rankings)),
            undoes_id=undoes, uid=uid)
        assert new.id is not None
        known[uid] = new.id
        added.append(new)
    return added


def export_reviewer(review: Review, reviewer: str, target: Path, *,
                    new_reviewer: bool = False) -> tuple[int, int]:
    """Write a standalone review folder for `reviewer` to screen offline: records,
    protocol, and that reviewer's own decisions only. Returns (records, decisions).

    The copy offers the reviewer their allocated records (all eligible records without an
    allocation; in single mode, not those others have already decided). A name the review
    has not seen (neither decided nor allocated) is refused unless `new_reviewer`, as
    `screening_reviewer` refuses it for `screen` and `decide`."""
    from screener.workflow.screening import screening_reviewer

    name = screening_reviewer(review, reviewer, new=new_reviewer)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ReviewError(f"{target} already exists; choose a new folder for the copy")
    made = not target.exists()
    try:
        return _write_copy(review, name, target)
    except BaseException:
        # a copy cut short (Ctrl-C, full disk) is removed: it would make the next
        # export-reviewer refuse the folder, and holds no event in the review's log
        # (an empty folder given: empty again)
        remove_written([target] if made else list(target.iterdir()) if target.is_dir()
                       else [])
        raise


def _write_copy(review: Review, name: str, target: Path) -> tuple[int, int]:
    from screener.workflow.screening import eligible_ids

    with review.transaction() as session:
        if is_adjudicator(review, session, name):
            raise ReviewError(f"{name} is the adjudicator; offline copies are for screeners")
        tables = repo.dump_review_tables(session)
        if Stage.TITLE_ABSTRACT in blind_stages(review, session):
            # which reports are sought tells which records passed title/abstract, i.e. the
            # other screeners' decisions: not in a copy while that stage is blind
            tables["reports"] = []
        # the reviewer's own decisions, and the adjudicator's resolutions (made only where
        # reconciliation has ended blinding): with them the copy refuses, as `decide` and
        # undo do here, a decision on a record the adjudicator has resolved
        rows = [row for row in repo.decisions_for_merge(session)
                if row[0].reviewer == name or row[0].reviewer_role == Role.ADJUDICATOR]
        offer: dict[Stage, list[int]] = {}
        for stage in review.protocol.stages:
            allowed = allocated_ids(review, session, name, stage)
            # not the records others have settled (as many screeners as a record needs,
            # or the adjudicator): `decide` would refuse them, and so would `merge`
            closed = not_offered_ids(review, session, name, stage)
            offer[stage] = [i for i in eligible_ids(session, stage)
                            if (allowed is None or i in allowed) and i not in closed]
        _, text, _ = repo.latest_protocol(session)
        target.mkdir(parents=True, exist_ok=True)
        copy = Database(sqlite_url(target.resolve() / DB_FILE))
        try:
            copy.upgrade()
            with copy.transaction() as dst:
                repo.create_review(dst, review.title)
                repo.load_review_tables(dst, tables)
                repo.get_or_create_reviewer(dst, name, Role.SCREENER)
                added = [d for d in _append(session, dst, rows, {}) if d.reviewer == name]
                for stage, ids in offer.items():
                    repo.add_allocation(dst, stage=stage, kind="offline", seed=0, overlap=0.0,
                                        reviewer_names=[name], pairs=[(i, name) for i in ids])
            repo.add_event(session, "offline_copy_made", details={  # (run by whoever: the account)
                "reviewer": name, "folder": str(target.resolve()),
                "records": len({i for ids in offer.values() for i in ids}),
                "decisions": len(added)})
        finally:
            copy.dispose()
    (target / PROTOCOL_FILE).write_text(text, encoding="utf-8")
    (target / "exports").mkdir(exist_ok=True)
    return len(tables.get("records", [])), len(added)


def _open_copy(review: Review, source: Path) -> Review:
    """The offline copy at `source` (its folder or its review.db), opened as SQLite: never
    the database of SCREENER_DB, which would merge the review into itself."""
    db_file = source / DB_FILE if source.is_dir() else source
    if not source.exists():
        raise ReviewError(f"no such offline copy: {source}")
    if not db_file.is_file():
        raise ReviewError(f"{source} is not an offline copy (no {DB_FILE} in it): give the "
                          "folder that `screener export-reviewer` made")
    with db_file.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise ReviewError(f"{source} is not an offline copy (not a SQLite database): give "
                              "the folder that `screener export-reviewer` made")
    url = sqlite_url(db_file.resolve())
    if url == review.db.url:
        raise ReviewError(f"{source} is this review itself, not an offline copy of it")
    return open_review(db_file.parent, url)


def _same_start(src: Session, dst: Session) -> bool:
    """Both databases began with the same protocol version 1, stored at the same moment:
    a copy of this review, not of another review made from the same template."""
    first_src, first_dst = repo.protocol_versions(src)[:1], repo.protocol_versions(dst)[:1]
    if not first_src or not first_dst:
        return False
    (_, sha_src, _, at_src), (_, sha_dst, _, at_dst) = first_src[0], first_dst[0]
    return bool(sha_src == sha_dst and audit.iso_utc(at_src) == audit.iso_utc(at_dst))


def _another_review(source: Path, copy: Review, src: Session, review: Review,
                    dst: Session) -> str:
    """Why `source` is refused as another review, naming what tells the two apart: each
    one's title and when it was created (to the second; finer when that is the same)."""
    made = [audit.iso_utc(versions[0][3]) if (versions := repo.protocol_versions(s)) else ""
            for s in (src, dst)]
    cut = 26 if made[0][:19] == made[1][:19] else 19
    theirs, ours = (f"created {m[:cut].replace('T', ' ')} UTC" if m else "no protocol"
                    for m in made)
    title = "" if copy.title == review.title else f"{review.title!r}, "
    return (f"{source} is a copy of another review ({copy.title!r}, {theirs}), not of this "
            f"one ({title}{ours}); nothing was merged")


def _offline_runs(review: Review, session: Session) -> list[dict[str, Any]]:
    """The allocation runs in force that make this review an offline copy (`export-reviewer`
    restricts the copy's records to its reviewer's): none in a review itself."""
    return [run for stage in review.protocol.stages
            if (run := repo.latest_allocation(session, stage)) is not None
            and run["kind"] == "offline"]


def _signature(d: Decision) -> tuple[object, ...]:
    """What a decision row says, as a copy and the review both hold it (ids, sequence,
    hashes, the note of an undo and the ranking's id differ between the two)."""
    return (d.reviewer, d.record_id, d.stage, d.label, d.reason_id, tuple(d.criterion_ids),
            d.protocol_hash, audit.iso_utc(d.created_at) if d.created_at else "")


def _refuse_edited_uids(dst: Session, source: Path,
                        rows: Sequence[tuple[Decision, str, str | None]],
                        known: dict[str, int]) -> None:
    """The uid that tells merge a row is already here is not part of the row hash: refuse
    a copy whose uids were edited (nothing merged), which would otherwise drop a decision
    (its uid made that of another decision) or bring one in twice (a merged row's uid
    changed)."""
    ours = {d.id: d for d in repo.decision_log(dst)}
    signatures = {_signature(d) for d in ours.values()}
    for d, uid, _ in rows:
        here = ours.get(known[uid]) if uid in known else None
        if (here is not None and _signature(here) != _signature(d)) or (
                here is None and _signature(d) in signatures):
            raise ReviewError(
                f"{source} was changed outside screener: its decision on record "
                f"{d.record_id} by {d.reviewer} ({d.label.value}) "
                + ("carries the id of another decision in this review" if here is not None
                   else "is already in this review under another id")
                + "; nothing was merged. Make a new copy (`screener export-reviewer`) and "
                  "redo the decisions made in this one")


def _refuse_what_decide_refuses(review: Review, src: Session, dst: Session, source: Path,
                                known: dict[str, int], leave_out: bool = False
                                ) -> tuple[set[tuple[int, str, Stage]], str]:
    """Refuse (nothing merged) the copy's new standing decisions that `decide` would refuse
    now: on records other screeners or the adjudicator have settled since the copy was
    made, or older than a decision the same reviewer made online since then (which would
    otherwise be overridden by an earlier one). With `leave_out`, return them instead, as
    (record, reviewer, stage) keys whose rows stay in the copy, and what they are; what the
    protocol refuses is refused all the same."""
    uid_of = repo.decision_uids(src)
    copy_uids = set(uid_of.values())
    settled = "on records settled meanwhile by other screeners or the adjudicator"
    # (a copy made by an earlier screener took decisions on records settled before it)
    before = ("on records other screeners or the adjudicator had settled before the copy "
              "was made")
    made = min((audit.iso_utc(run["created_at"]) for run in _offline_runs(review, src)),
               default="")
    older = "older than the same reviewer's decisions made online since the copy"
    removed = ("on records removed as duplicates since the copy was made (decide on the "
               "record kept; `screener dedup --list` names it)")
    found: dict[str, dict[str, list[int]]] = {before: {}, settled: {}, older: {},
                                              removed: {}}
    keys: set[tuple[int, str, Stage]] = set()
    duplicates = repo.removed_duplicate_ids(dst)
    online = {(d.record_id, d.reviewer, d.stage): d for d in repo.current_decisions(dst)}
    online_uids = repo.decision_uids(dst)
    for d in repo.current_decisions(src):
        if d.id is None or uid_of[d.id] in known or d.reviewer_role != Role.SCREENER:
            continue
        there = online.get((d.record_id, d.reviewer, d.stage))
        if d.record_id in duplicates:  # (`decide` refuses them; the kept copy counts)
            why = removed
        elif (there is not None and there.id is not None and there.created_at is not None
                and d.created_at is not None
                and audit.iso_utc(there.created_at) > audit.iso_utc(d.created_at)
                and online_uids.get(there.id) not in copy_uids):
            why = older
        elif by := _settled(review, dst, d.record_id, d.reviewer, d.stage,
                            repo.record_screeners(dst, d.stage, d.record_id)):
            times = [audit.iso_utc(o.created_at) for o in repo.current_decisions(
                dst, d.stage, [d.record_id]) if o.reviewer in by]
            why = before if made and times and max(times) < made else settled
        else:
            continue
        found[why].setdefault(d.reviewer, []).append(d.record_id)
        keys.add((d.record_id, d.reviewer, d.stage))
    problems = _outside_the_protocol(review, src, dst, source, uid_of, known)
    refused = [f"decisions {what} ({_records_by_reviewer(by_reviewer)})"
               for what, by_reviewer in found.items() if by_reviewer]
    if problems or (refused and not leave_out):
        raise ReviewError(f"{source} holds {' and '.join(problems + refused)}; nothing was "
                          "merged. Take those decisions back in the copy (in its `screener "
                          "screen`, u takes back the latest ones, one by one) and merge again"
                          + ("" if problems else ", or merge the others with "
                             "--leave-out-refused (those stay in the copy only)"))
    return keys, " and ".join(refused)


def _replaced_in_the_copy(src: Session, dst: Session,
                          rows: Sequence[tuple[Decision, str, str | None]]) -> set[str]:
    """The uids of `rows` (the copy's rows new here) that would stand here, appended, though
    they do not stand in the copy: the copy's own later decision (or undo) replaced them, but
    that one is here already (merged before, or this review's own, copied to the copy), so
    appended after it, an older decision would stand over a later one by the same reviewer
    (the latest row stands). Those are left out, with the undo rows that withdraw them."""
    keys = {(d.record_id, d.reviewer, d.stage) for d, _, _ in rows}
    if not keys:
        return set()
    uid_of = repo.decision_uids(src)
    in_copy = {key: uid_of[d.id] for d in repo.current_decisions(src) if d.id is not None
               and (key := (d.record_id, d.reviewer, d.stage)) in keys}
    here = [row for row in repo.decisions_for_merge(dst)
            if (row[0].record_id, row[0].reviewer, row[0].stage) in keys]
    new = {uid for _, uid, _ in rows}
    left_out: set[str] = set()
    while True:
        log = [row for row in [*here, *rows] if row[1] not in left_out]
        withdrawn = {undoes for _, _, undoes in log if undoes}
        standing = {(d.record_id, d.reviewer, d.stage): uid for d, uid, _ in log
                    if d.label != Label.UNDONE and uid not in withdrawn}
        wrong = {uid for key, uid in standing.items() if uid in new and uid != in_copy.get(key)}
        if not wrong:
            return left_out
        left_out |= wrong | {uid for _, uid, undoes in rows if undoes in wrong}


def _bring_reconciliations(review: Review, src: Session, dst: Session, source: Path,
                           rows: Sequence[tuple[Decision, str, str | None]],
                           known: dict[str, int], added: Sequence[Decision],
                           before: int) -> tuple[str, ...]:
    """Bring, with the decisions merged, a plain copy's starts of reconciliation this review
    lacks: without them the adjudicator's resolutions came, but the decisions made after
    the start counted as blind in agreement and the report named no one ending blinding.
    It falls here after the last merged decision the copy had before it (after this
    review's own, made blind of it). Where both started, this review's start stands: it
    is earlier in its log than the merged decisions, which count as made after it. Not
    from a reviewer's offline copy, which saw only that reviewer's decisions. Returns what
    to tell."""
    if not added or _offline_runs(review, src):
        return ()
    ours = repo.reconciliations(dst)
    positions = repo.reconciliation_positions(src)
    seq_here = {d.id: d.seq or 0 for d in added}
    told: list[str] = []
    for stage, (by, at) in repo.reconciliations(src).items():
        when, name = audit.iso_utc(at)[:19].replace("T", " ") + " UTC", stage.label.replace(
            "-", " ")
        if stage in ours:
            by_here, at_here = ours[stage]
            if (by_here, audit.iso_utc(at_here)) != (by, audit.iso_utc(at)) and any(
                    d.stage == stage for d in added):
                told.append(
                    f"reconciliation of {name} had started here (by {by_here}, "
                    f"{audit.iso_utc(at_here)[:19].replace('T', ' ')} UTC) and in the copy "
                    f"(by {by}, {when}): this review's start stands; the copy's "
                    f"{stage.label} decisions merged count as made blind where the copy "
                    "made them before its own start, and as unblinded after it")
            continue
        cut = positions.get(stage, 0)
        position = max([before, *(seq_here[i] for d, uid, _ in rows if (d.seq or 0) <= cut
                                  and (i := known.get(uid)) in seq_here)])
        repo.start_reconciliation(dst, stage, by, at=at, details={
            repo.DECISION_POSITION: position, "merged_from": str(source.resolve())})
        told.append(f"reconciliation of {name} started in the copy (by {by}, {when}): "
                    "merged too, blinding ends there here as well; the copy's decisions "
                    "made after it count as made unblinded")
    return tuple(told)


def _made_blind_in_copy(src: Session, rows: Sequence[tuple[Decision, str, str | None]],
                        known: dict[str, int], added: Sequence[Decision],
                        started_here: Iterable[Stage]) -> dict[str, list[list[int]]]:
    """At each stage this review had started reconciling before the merge, the ranges of the
    merged rows (their seqs here) that the copy's reviewers made blind: before the copy's
    own start there, or in a copy that never started it (`repo.MADE_BLIND`). Stored after
    this review's start, they would otherwise count as made unblinded."""
    theirs = _cutoffs(src)
    seq_here = {d.id: d.seq or 0 for d in added}
    out: dict[str, list[list[int]]] = {}
    for stage in started_here:
        ranges: list[list[int]] = []
        open_run = False
        for d, uid, _ in rows:
            if d.stage != stage or (i := known.get(uid)) not in seq_here:
                continue
            if stage in theirs and not theirs[stage].blind(d.seq):
                open_run = False
            elif open_run:
                ranges[-1][1] = seq_here[i]
            else:
                ranges.append([seq_here[i], seq_here[i]])
                open_run = True
        if ranges:
            out[stage.value] = ranges
    return out


def _outside_the_protocol(review: Review, src: Session, dst: Session, source: Path,
                          uid_of: dict[int, str], known: dict[str, int]) -> list[str]:
    """Refuse the copy's new decisions made under a protocol version this review never had
    (the copy amended its own); return its new standing decisions that `decide` would
    refuse under this review's protocol (an exclusion reason or criterion it lacks), with
    what is wrong, by record and reviewer."""
    from screener.workflow.screening import validate_decision

    ours = {sha for _, sha, _, _ in repo.protocol_versions(dst)}
    foreign = {sha: (version, reason) for version, sha, reason, _ in repo.protocol_versions(src)
               if sha not in ours}
    under: dict[str, list[int]] = {}
    for d in repo.decision_log(src):
        if d.id is not None and uid_of[d.id] not in known and d.protocol_hash in foreign:
            under.setdefault(d.reviewer, []).append(d.record_id)
    if under:
        versions = ", ".join(f"version {v} ({why})" for v, why in sorted(foreign.values()))
        raise ReviewError(
            f"{source} holds decisions made under a protocol this review does not have (the "
            f"copy's amended {versions}; {_records_by_reviewer(under)}); nothing was merged. "
            "If the team agrees to the amendment, amend this review's protocol the same way "
            "first (`screener protocol amend` with the copy's protocol.yaml), then merge again")
    refused: dict[str, list[str]] = {}
    for d in repo.current_decisions(src):
        if d.id is None or uid_of[d.id] in known or d.reviewer_role != Role.SCREENER:
            continue
        try:
            validate_decision(review, d.stage, d.label, d.reason_id, d.criterion_ids)
        except ReviewError as exc:
            refused.setdefault(str(exc), []).append(f"record {d.record_id} by {d.reviewer}")
    return [f"decisions `decide` refuses here ({', '.join(where)}: {why})"
            for why, where in refused.items()]


def merge(review: Review, source: Path, *, leave_out_refused: bool = False) -> MergeResult:
    """Bring an offline copy's decisions back (one transaction). Decisions already in the
    review (same uid) are skipped, so merging twice changes nothing; new ones get the next
    seq and row_hash in this review's log. `leave_out_refused`: merge the others when some
    would be refused as `decide` refuses them (settled meanwhile by others, or older than
    the reviewer's own online decision): those records' decisions stay in the copy."""
    from screener.workflow.screening import apply_outcome_effects

    copy = _open_copy(review, source)
    with copy:
        with copy.transaction() as src, review.transaction() as dst:
            if copy.title != review.title or not _same_start(src, dst):
                raise ReviewError(_another_review(source, copy, src, review, dst))
            for what, check in (("decision log", repo.verify_log(src)),
                                ("event log", repo.verify_events(src))):
                if not check.ok:
                    raise ReviewError(f"the {what} of {source} does not verify "
                                      f"({check.problem}): it was changed outside screener; "
                                      "nothing was merged")
            rows = repo.decisions_for_merge(src)
            record_ids = sorted({d.record_id for d, _, _ in rows})
            mine = {r.id: r.title for r in repo.get_records(dst, record_ids)}
            theirs = {r.id: r.title for r in repo.get_records(src, record_ids)}
            differ = [i for i in record_ids if mine.get(i) != theirs.get(i)]
            if differ:
                from screener.workflow.merge_hints import records_not_in_review

                raise ReviewError(records_not_in_review(source, src, dst, differ, mine))
            repo.lock_review(dst)
            known = repo.decision_ids_by_uid(dst, [uid for _, uid, _ in rows])
            _refuse_edited_uids(dst, source, rows, known)
            owners = {name for run in _offline_runs(review, src) for name in run["reviewers"]}
            strangers = sorted({d.reviewer for d, uid, _ in rows
                                if uid not in known and d.reviewer not in owners})
            if owners and strangers:
                raise ReviewError(
                    f"{source} is the offline copy of {', '.join(sorted(owners))} but holds "
                    f"new decisions by {', '.join(strangers)}; nothing was merged. Each "
                    "reviewer screens in a copy of their own (`screener export-reviewer "
                    "--reviewer NAME`)")
            _refuse_outside_allocation(dst, source, [d for d, uid, _ in rows
                                                     if uid not in known])
            kept_out, left_out = _refuse_what_decide_refuses(review, src, dst, source, known,
                                                             leave_out_refused)
            skipped, before = len(known), repo.log_head(dst)[0]
            started_here = repo.reconciliation_starts(dst)
            new = [row for row in rows if row[1] not in known and (
                row[0].record_id, row[0].reviewer, row[0].stage) not in kept_out]
            replaced = _replaced_in_the_copy(src, dst, new)
            added = _append(src, dst, [row for row in new if row[1] not in replaced], known)
            replaced_text = _records_by_reviewer(_by_reviewer(
                d for d, uid, _ in new if uid in replaced and d.label != Label.UNDONE))
            for rid, stage in sorted({(d.record_id, d.stage) for d in added}):
                apply_outcome_effects(review, dst, rid, stage)
            blind: dict[str, list[list[int]]] = {}
            if added:
                blind = _made_blind_in_copy(src, rows, known, added, started_here)
                repo.add_event(dst, "offline_copy_merged", details={
                    "folder": str(source.resolve()), "decisions": len(added),
                    "skipped": skipped, "reviewers": sorted({d.reviewer for d in added}),
                    # where they sit in the decision log (made offline earlier than the
                    # rows before them: the log is in the order rows were stored)
                    "first_seq": min(d.seq or 0 for d in added),
                    "last_seq": max(d.seq or 0 for d in added),
                    **({"left_in_the_copy": left_out} if left_out else {}),
                    **({"replaced_left_out": replaced_text} if replaced_text else {}),
                    **({repo.MADE_BLIND: blind} if blind else {})})
            started = _bring_reconciliations(review, src, dst, source, rows, known, added,
                                             before)
            if blind:  # (where the copy started too, `started` tells)
                in_copy = set(repo.reconciliations(src))
                started += tuple(
                    f"reconciliation of {stage.label.replace('-', ' ')} had started here and "
                    f"never in the copy: the copy's {stage.label} decisions merged count as "
                    "made blind (made without seeing the other reviewers')"
                    for stage in map(Stage, sorted(blind)) if stage not in in_copy)
    return MergeResult(len(added), skipped, tuple(sorted({d.reviewer for d in added})),
                       left_out, replaced_text, started)
