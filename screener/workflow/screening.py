"""The screening use case: which record comes next, record a decision, undo, browse.

`ScreeningSession` keeps the queue in memory so the next record is found at once;
every decision is committed before `decide` returns. Re-ranking is in
`screener.workflow.ranking` and runs in a worker thread in the UI.
Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import difflib
import re
import shlex
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeVar

from screener.core.controls import BIDI_CONTROLS, BIDI_PATTERN
from screener.core.decisions import (
    Decision,
    Label,
    ReportStatus,
    Role,
    Stage,
    current_decisions,
)
from screener.core.outcomes import Outcome, passes_title_abstract
from screener.core.protocol import Protocol, ScreeningMode
from screener.core.records import Record
from screener.core.wording import counted, plural
from screener.storage import Session, StorageError, repo
from screener.workflow.review import (
    NothingChanged,
    ProtocolAmended,
    Review,
    ReviewError,
    follow_amendments,
)


@dataclass(frozen=True, slots=True)
class NextItem:
    """The record to show, and the ranking that put it there (for the audit trail)."""

    record: Record
    ranking_id: int | None
    rank_position: int | None
    """1-based position among the records still to screen when it was chosen."""
    score: float | None
    basis: str = ""
    """What `score` is (see `Queue.basis`)."""


@dataclass(frozen=True, slots=True)
class Queue:
    """Candidate record ids in the order to show them, with the ranking behind the order."""

    ids: tuple[int, ...]
    ranking_id: int | None = None
    scores: dict[int, float] = field(default_factory=dict)
    basis: str = ""
    """What the scores are: 'model' (the classifier's score), 'protocol' (cold start:
    similarity to the protocol's criteria), 'random' (no score), '' (no ranking yet)."""
    added_since_ranking: int = 0
    """Eligible records imported after the ranking was made: it holds no place for them, so
    they come after the records it ranked, in import order, until the next ranking."""


OPEN_REPORTS = (ReportStatus.SOUGHT, ReportStatus.ASSESSED)
"""Report statuses of a record at the full-text stage (see `eligible_ids`)."""


def eligible_ids(session: Session, stage: Stage) -> list[int]:
    """Records that can be screened at a stage, in import order."""
    removed = repo.removed_duplicate_ids(session)
    if stage == Stage.TITLE_ABSTRACT:
        return [i for i in repo.record_ids_in_order(session) if i not in removed]
    reports = repo.reports(session)  # (a report kept from before dedup is left out too)
    return [i for i in repo.record_ids_in_order(session)
            if reports.get(i) in OPEN_REPORTS and i not in removed]


def eligible_count(session: Session, stage: Stage) -> int:
    """How many records can be screened at a stage (for the status panel): counted in SQL
    at title/abstract; full-text reports are few and are listed."""
    if stage == Stage.TITLE_ABSTRACT:
        return repo.count_records(session) - repo.count_removed_duplicates(session)
    return len(eligible_ids(session, stage))  # reports are few; removed duplicates left out


def outcomes(review: Review, session: Session, stage: Stage,
             record_ids: Sequence[int] | None = None,
             current: Sequence[Decision] | None = None,
             mode: ScreeningMode | None = None) -> dict[int, Outcome]:
    """Each decided record's outcome; `current` and `mode` as in `team.record_outcomes`."""
    from screener.workflow.team import record_outcomes

    return {rid: outcome for rid, (outcome, _) in
            record_outcomes(review, session, stage, record_ids, current, mode).items()}


def apply_outcome_effects(review: Review, session: Session, record_id: int, stage: Stage,
                          *, passed_before: bool = True) -> None:
    """Keep full-text reports in step with title/abstract outcomes and full-text decisions.
    A title/abstract change that would take back out of full text a record whose report was
    assessed, decided on or marked not retrieved is refused (ReviewError; the caller's
    transaction then writes nothing): those full-text steps would count nowhere, and the
    PRISMA counts would contradict the full-text exclusions and `status`.
    passed_before: whether the record passed title/abstract before the change (see
    `passes_title_abstract_now`). One that did not (an amendment to dual screening left it
    waiting for a second reviewer) is not taken out by it: a second reviewer's decision
    stands, a disagreement goes to the adjudicator, and the full-text steps stay out of
    PRISMA until the record passes title/abstract again, as the amendment said."""
    outcome = outcomes(review, session, stage, [record_id]).get(record_id, Outcome(None))
    if stage == Stage.TITLE_ABSTRACT and passed_before and not passes_title_abstract(outcome):
        _refuse_leaving_full_text(review, session, record_id)
    had_report = repo.report_status(session, record_id) is not None
    _outcome_effects(session, record_id, stage, outcome)
    if (stage == Stage.TITLE_ABSTRACT and not had_report and passes_title_abstract(outcome)
            and repo.current_decisions(session, Stage.FULL_TEXT, [record_id])):
        # back at full text (an exclusion that had taken it out was changed): its report
        # follows the full-text decisions it kept
        _outcome_effects(session, record_id, Stage.FULL_TEXT, outcomes(
            review, session, Stage.FULL_TEXT, [record_id]).get(record_id, Outcome(None)))


def passes_title_abstract_now(review: Review, session: Session, record_id: int,
                              stage: Stage) -> bool:
    """Whether the record passes title/abstract before a decision at `stage` is added
    (for `apply_outcome_effects`' passed_before; True at other stages). Its outcome is read
    only for a record with full-text decisions or marked not retrieved, the only ones
    `apply_outcome_effects` may refuse to take out of full text: for the others (nearly
    every decision) one indexed look-up replaces the outcome query."""
    if stage != Stage.TITLE_ABSTRACT or not repo.at_full_text(session, record_id):
        return True  # (True: with no full-text step there is nothing to refuse)
    return passes_title_abstract(outcomes(review, session, stage, [record_id]).get(
        record_id, Outcome(None)))


def follow_new_screening_rules(review: Review, session: Session, before: Protocol,
                               after: Protocol) -> tuple[list[str], dict[str, int]]:
    """After an amendment that changes how decisions combine (mode, reviewers per record,
    conflict rules): bring the full-text reports in step with the outcomes under `after`,
    and say what changed for whom, one sentence per kind: conflicts now settled without the
    adjudicator, records decided before that now wait for another reviewer or are in
    conflict, and records at full text that no longer pass title/abstract. Also gives how
    many conflicts it settled so, per stage (value), for the amendment's event."""
    if before.screening == after.screening:
        return [], {}
    notes: list[str] = []
    settled_at: dict[str, int] = {}
    for stage in after.stages:
        if stage not in before.stages:
            continue
        old = outcomes(review, session, stage, mode=before.screening)
        new = outcomes(review, session, stage, mode=after.screening)
        settled = sorted(r for r, o in old.items() if o.conflict and r in new
                         and new[r].label is not None and not new[r].adjudicated)
        waiting = sorted(r for r, o in old.items() if o.label is not None and r in new
                         and new[r].label is None and not new[r].conflict)
        conflict = sorted(r for r, o in old.items() if not o.conflict and r in new
                          and new[r].conflict)
        where = stage.label
        if settled:
            settled_at[stage.value] = len(settled)
            notes.append(f"{_ids(settled)} in conflict at {where} {_are(settled)} now settled "
                         "by the latest decision, without the adjudicator")
        if waiting:
            one = len(waiting) == 1
            notes.append(f"{_ids(waiting)} decided at {where} under the earlier version "
                         f"now wait{'s' if one else ''} for another reviewer ({'it counts' if one else 'they count'} as "
                         "not yet screened there until one decides)")
        if conflict:
            notes.append(f"{_ids(conflict)} at {where} {_are(conflict)} now in conflict, "
                         "for the adjudicator")
        if stage == Stage.TITLE_ABSTRACT:
            for rid, outcome in new.items():
                _outcome_effects(session, rid, stage, outcome)
            touched = ({r for r, s in repo.reports(session).items() if s != ReportStatus.SOUGHT}
                       | {d.record_id for d in repo.current_decisions(session, Stage.FULL_TEXT)})
            stuck = sorted(r for r, o in new.items()
                           if not passes_title_abstract(o) and r in touched)
            if stuck:
                notes.append(f"{_ids(stuck)} already at full text no longer "
                             f"pass{'es' if len(stuck) == 1 else ''} title/abstract under "
                             "this version; the PRISMA counts leave their full-text steps "
                             "out until the title/abstract decisions they need are made")
    return notes, settled_at


def _ids(ids: Sequence[int]) -> str:
    shown = ", ".join(map(str, ids[:20])) + (", ..." if len(ids) > 20 else "")
    return f"{len(ids)} record{'s' if len(ids) != 1 else ''} ({shown})"


def _are(ids: Sequence[int]) -> str:
    return "is" if len(ids) == 1 else "are"


def _refuse_leaving_full_text(review: Review, session: Session, record_id: int) -> None:
    from screener.workflow.team import blind_stages

    full_text = repo.current_decisions(session, Stage.FULL_TEXT, [record_id])
    if full_text:
        # while blind, the reviewers' decisions are not named (nor their number)
        done = ("it has full-text decisions" if blind_stages(review, session) else
                ", ".join(f"{d.reviewer}: {d.label.value}" + (
                    f" ({d.reason_id})" if d.reason_id else "") for d in full_text))
        raise ReviewError(
            f"record {record_id} is already at full text ({done}); this would take it back "
            "out, and its full-text decisions would then count nowhere, so nothing was "
            "saved. A record found ineligible once at full text is excluded there, with a "
            "reason: leave its title/abstract decision as it is")
    if repo.report_status(session, record_id) == ReportStatus.NOT_RETRIEVED:
        raise ReviewError(
            f"record {record_id}'s full text is marked not retrieved (PRISMA counts it as "
            "sought and not retrieved); this would take it back out of full text, so nothing "
            "was saved. To change its title/abstract decision, take the mark back first: "
            f"`screener not-retrieved {record_id} --undo`")


def refresh_outcome_effects(review: Review, session: Session, stage: Stage) -> None:
    """`apply_outcome_effects` for every record decided at `stage`, e.g. after a new
    allocation changed how many reviewers each record needs."""
    for record_id, outcome in outcomes(review, session, stage).items():
        _outcome_effects(session, record_id, stage, outcome)


def _outcome_effects(session: Session, record_id: int, stage: Stage, outcome: Outcome) -> None:
    if stage == Stage.TITLE_ABSTRACT:
        if passes_title_abstract(outcome):
            repo.ensure_report(session, record_id)
        elif outcome.label == Label.EXCLUDE:
            # excluded at title/abstract: not at full text, whatever was done with its
            # report (`apply_outcome_effects` refuses such a change, unless an amendment to
            # dual screening had left the record at full text waiting for a second reviewer;
            # its full-text decisions stay in the log, out of PRISMA)
            repo.drop_report(session, record_id)
        else:
            repo.drop_report_if_untouched(session, record_id)
    elif outcome.label in (Label.INCLUDE, Label.EXCLUDE):
        repo.set_report_status(session, record_id, ReportStatus.ASSESSED)
    elif repo.report_status(session, record_id) == ReportStatus.ASSESSED:
        # the decision that settled it was undone or changed (it awaits a decision, or the
        # reviewers' disagreement, again): the report is sought, not assessed
        repo.set_report_status(session, record_id, ReportStatus.SOUGHT)


_E = TypeVar("_E", bound=StrEnum)


def as_member(kind: type[_E], value: _E | str, what: str,
              unlisted: Sequence[_E] = ()) -> _E:
    """`value` as a member of the enumeration `kind` (the Python API takes "include" for
    Label.INCLUDE); any other value is a ReviewError listing the members, less `unlisted`
    (members the caller converts only to refuse with a message of its own)."""
    try:
        return kind(value)
    except ValueError:
        listed = ", ".join(m.value for m in kind if m not in unlisted)
        raise ReviewError(f"{value!r} is not {what}: give one of {listed}") from None


def validate_decision(review: Review, stage: Stage, label: Label, reason_id: str | None,
                      criterion_ids: Sequence[str]) -> None:
    protocol = review.protocol
    if stage not in protocol.stages:
        raise ReviewError(f"the protocol has no {stage.value} stage (stages: "
                          f"{', '.join(s.value for s in protocol.stages)})")
    if reason_id is not None and protocol.reason(reason_id) is None:
        known = ", ".join(r.id for r in protocol.exclusion_reasons)
        raise ReviewError(f"unknown exclusion reason {reason_id!r}; the protocol has: {known}")
    if reason_id is not None and label != Label.EXCLUDE:
        raise ReviewError("an exclusion reason goes with --label exclude only")
    if label == Label.MAYBE and stage == Stage.FULL_TEXT:
        # a full-text report is included or excluded: a maybe there would pass as neither
        # (or, beside another reviewer's include, as an include nobody adjudicated)
        raise ReviewError("maybe is a title/abstract label: at full text, include or exclude "
                          "the report (a note can say what is uncertain)")
    if label == Label.EXCLUDE and reason_id is None and (
            stage == Stage.FULL_TEXT or protocol.screening.reason_required_at_title_abstract):
        known = ", ".join(r.id for r in protocol.exclusion_reasons)
        raise ReviewError(f"excluding at {stage.value} needs a reason (--reason ID); "
                          f"the protocol has: {known}")
    known_criteria = {c.id for c in protocol.criteria}
    unknown = [c for c in criterion_ids if c not in known_criteria]
    if unknown:
        raise ReviewError(f"unknown {plural(len(unknown), 'criterion id')} {', '.join(unknown)}; the protocol has: "
                          f"{', '.join(sorted(known_criteria))}")


def check_note(note: str) -> None:
    """A note may run over several lines, but holds no other control characters: escape
    codes in it would reach every terminal that shows it (conflicts, the UI, the log)."""
    found = _NOTE_REFUSED.search(note)
    if found is not None:
        raise ReviewError(f"the note holds a control character ({found.group()!r}); write it "
                          "as plain text")


def note_as_held(text: str) -> str:
    """`text` as a note can hold it (`check_note`), for a note read from a file: its control
    characters (`NOTE_CONTROLS`) made spaces, its bidirectional controls left out (as the UI
    leaves them out)."""
    return NOTE_CONTROLS.sub(" ", BIDI_PATTERN.sub("", text))


def record_decision(review: Review, record_id: int, reviewer: str, label: Label | str, *,
                    stage: Stage | str = Stage.TITLE_ABSTRACT, reason_id: str | None = None,
                    criterion_ids: Sequence[str] = (), note: str = "",
                    ranking_id: int | None = None, rank_position: int | None = None,
                    role: Role | None = None, if_needed: bool = False,
                    seen_protocol: str | None = None, repeat_ok: bool = False) -> Decision:
    """Validate and commit one decision (one transaction); returns it as stored.

    if_needed: refuse (`team.RecordTaken`) when other screeners completed the record
    meanwhile (set by `ScreeningSession.decide` for a record that `next` offered).
    seen_protocol: the hash of the protocol version the reviewer was shown (the UI's);
    refuse (`ProtocolAmended`) when the version in force is another. `label` and `stage`
    may be given as their values ("include", "full_text").
    repeat_ok: when the reviewer's standing decision on the record is this one (same label,
    reason, criteria and note, under the protocol in force), raise `NothingChanged` and add
    no row (`decide` run again); the ranking given is not compared: the decision stands with
    the one that showed it first."""
    label = as_member(Label, label, "a label", unlisted=[Label.UNDONE])
    stage = as_member(Stage, stage, "a stage")
    if label == Label.UNDONE:  # it would withdraw nothing: no undo link
        raise ReviewError("undone is not a decision; undo with ScreeningSession.undo (the "
                          "UI's undo key)")
    validate_decision(review, stage, label, reason_id, criterion_ids)
    check_note(note)
    reviewer = reviewer_name(reviewer)
    if role is None:
        with review.read() as session:
            role = role_of(review, session, reviewer)
        if role == Role.ADJUDICATOR:
            # the adjudicator decides conflicts only, as `resolve` (which checks for one)
            from screener.workflow.team import resolve

            return resolve(review, record_id, reviewer, label, stage=stage,
                           reason_id=reason_id, criterion_ids=criterion_ids, note=note,
                           repeat_ok=repeat_ok)
    with review.transaction() as session:
        if follow_amendments(review, session):   # amended meanwhile: check against it
            validate_decision(review, stage, label, reason_id, criterion_ids)
        if seen_protocol is not None and seen_protocol != review.protocol_hash:
            raise ProtocolAmended(
                f"the protocol was amended (now version {review.protocol_version}) while "
                "this record was on screen, so the decision was made against criteria, "
                "reasons or terms no longer in force; nothing was saved: the screen now "
                f"follows version {review.protocol_version}, decide again")
        if not repo.record_exists(session, record_id):
            raise ReviewError(f"no record with id {record_id} in this review")
        if repeat_ok:
            ensure_changed(review, session, Decision(
                record_id=record_id, reviewer=reviewer, stage=stage, label=label,
                reason_id=reason_id, criterion_ids=tuple(criterion_ids), note=note))
        check_rank(review, session, reviewer, stage, ranking_id, rank_position)
        ensure_may_decide(review, session, record_id, reviewer, role, stage, if_needed=if_needed)
        passed = passes_title_abstract_now(review, session, record_id, stage)
        decision = repo.add_decision(session, Decision(
            record_id=record_id, reviewer=reviewer, stage=stage, label=label,
            reason_id=reason_id, criterion_ids=tuple(criterion_ids), note=note,
            protocol_hash=review.protocol_hash, ranking_id=ranking_id,
            rank_position=rank_position, reviewer_role=role))
        apply_outcome_effects(review, session, record_id, stage, passed_before=passed)
    return decision


def ensure_changed(review: Review, session: Session, wanted: Decision) -> None:
    """`NothingChanged` when `wanted` (record, reviewer, stage, label, reason, criteria,
    note) is the reviewer's standing decision already, under the protocol in force."""
    def same(d: Decision) -> tuple[object, ...]:
        return (d.reviewer, d.label, d.reason_id or None, sorted(d.criterion_ids), d.note)

    for d in repo.current_decisions(session, wanted.stage, [wanted.record_id]):
        if same(d) == same(wanted) and d.protocol_hash == review.protocol_hash:
            role = " (adjudicator)" if d.reviewer_role == Role.ADJUDICATOR else ""
            raise NothingChanged(
                f"record {d.record_id} is {d.label.value} by {d.reviewer}{role} at "
                f"{d.stage.value} already (decision {d.seq}); nothing changed")


def check_rank(review: Review, session: Session, reviewer: str, stage: Stage,
               ranking_id: int | None, rank_position: int | None) -> None:
    """Refuse a ranking and place that the ranking cannot have shown the record at: the log
    (`rank_shown`) and the methods text would credit the ranking with the decision. In
    blind screening the ranking must be the reviewer's own (checked first: the refusals
    below would tell how many records another reviewer has left). The place must be within
    the records the ranking put in order (`next` gives 1); when that order is no longer
    stored, or was empty, within the records of the review."""
    from screener.workflow.team import is_blind

    if rank_position is not None and ranking_id is None:
        raise ReviewError("--rank-position needs --ranking-id (the ranking it is a place in); "
                          "give both as `screener next --json` printed them, or neither")
    if ranking_id is None:
        return
    extent = repo.ranking_extent(session, ranking_id)
    if extent is None:
        raise ReviewError(f"no ranking with id {ranking_id} in this review: give the "
                          "ranking_id that `screener next` printed with the record")
    ranked_stage, ranked, owner = extent
    if (owner is not None and is_blind(review)
            and owner != repo.reviewer_id(session, reviewer)):
        raise ReviewError(f"ranking {ranking_id} is not {reviewer}'s: in blind screening each "
                          "reviewer screens in the order of their own ranking; give the "
                          "ranking_id that `screener next --reviewer "
                          f"{shlex.quote(reviewer)} --json` printed with the record, or none")
    if ranked_stage != stage:
        raise ReviewError(f"ranking {ranking_id} ordered the records for "
                          f"{ranked_stage.value}, not {stage.value}: give the ranking_id "
                          f"that `screener next --stage {stage.value}` printed, or none")
    if rank_position is None:
        return
    limit = ranked or repo.count_records(session)
    what = (f"it put {counted(limit, 'record')} in order" if ranked
            else f"the review holds {counted(limit, 'record')}")
    if not 1 <= rank_position <= limit:
        raise ReviewError(f"--rank-position {rank_position} is not a place in ranking "
                          f"{ranking_id} ({what}): give the rank_position that `screener "
                          "next --json` printed with the record (1 when following it)")


def ensure_may_decide(review: Review, session: Session, record_id: int, reviewer: str,
                      role: Role, stage: Stage, *, if_needed: bool = False,
                      withdrawing: bool = False, renaming: bool = False) -> None:
    """Under the write lock: raise ReviewError when `record_decision` would refuse a new
    decision by `reviewer` on the record now (removed as a duplicate, no full-text stage,
    allocated to others, settled by other screeners or the adjudicator). `undo` asks it too:
    withdrawing a decision the reviewer could not make again would lose it for good.

    if_needed (a record `next` offered): `team.RecordTaken` when others settled the record,
    or its report was marked not retrieved, while it was on screen. A reviewer may change
    her own standing decision on a record a later allocation gave to others, but not
    withdraw it (`withdrawing`, for undo): she could not decide it again.

    renaming (`reassign`, a screener's standing decision moving to another name): a record
    the adjudicator resolved takes it: the decision was made before the resolution and
    stands as it did, only under the name meant (refusing it left it under the old name,
    counted as another reviewer's). The other refusals hold: one allocated to others (the
    allocation, which `reassign` does not change, would go on offering it to the old
    name, for a second decision by the same person)."""
    from screener.workflow.team import (
        RecordTaken,
        allocated_ids,
        blind_stages,
        ensure_full_text_open,
        ensure_still_needed,
        required_reviewers,
        settled_by,
    )

    removed = repo.removed_as_duplicate(session, record_id)
    if removed is not None:
        raise ReviewError(
            f"record {record_id} was removed as a duplicate of record {removed[1]} "
            f"(dedup cluster {removed[0]}): decide on record {removed[1]}, or restore "
            f"it first with `screener dedup --undo {removed[0]}`")
    if stage == Stage.FULL_TEXT:
        ensure_full_text_open(review, session)
    if stage == Stage.FULL_TEXT and record_id not in set(eligible_ids(session, stage)):
        if repo.reports(session).get(record_id) != ReportStatus.NOT_RETRIEVED:
            raise ReviewError(_not_at_full_text(review, session, record_id))
        if if_needed:  # marked by someone else (another shell, the adjudicator) meanwhile
            raise RecordTaken(f"record {record_id}'s full text was marked not retrieved while "
                              "it was on screen; it has left the full-text stage, take the "
                              "next record")
        raise ReviewError(f"record {record_id}'s full text is marked not retrieved, so it has "
                          "no full-text stage (`screener not-retrieved "
                          f"{record_id} --undo` takes the mark back)")
    if role == Role.SCREENER:
        mine = allocated_ids(review, session, reviewer, stage)
        if mine is not None and record_id not in mine and (withdrawing or reviewer not in {
                name for name, _ in repo.record_screeners(session, stage, record_id)}):
            if mine.others is None:  # an offline copy's list
                raise ReviewError(
                    f"record {record_id} is not in this offline copy at {stage.value}: it was "
                    "allocated to other reviewers or settled by others when the copy was made; "
                    f"{reviewer} decides it in the review itself, if at all")
            raise ReviewError(
                f"record {record_id} is allocated to other reviewers at {stage.value} "
                f"(`screener allocate`): {reviewer} does not screen it")
    if if_needed:
        ensure_still_needed(review, session, record_id, reviewer, stage)
    elif role != Role.ADJUDICATOR and (others := settled_by(review, session, record_id,
                                                            reviewer, stage)):
        screeners = repo.record_screeners(session, stage, record_id)
        adjudicators = [name for name, r in screeners if r == Role.ADJUDICATOR]
        if adjudicators and renaming:
            return
        if adjudicators:
            decided = any(name == reviewer for name, _ in screeners)
            raise ReviewError(
                f"record {record_id} was resolved at {stage.value} by the adjudicator "
                f"({' and '.join(dict.fromkeys(adjudicators))}): "
                + ("screeners' decisions on it can no longer be changed" if decided else
                   "it takes no further screener's decision")
                + "; ask the adjudicator if the resolution should change")
        need = (required_reviewers(review, session, stage, [record_id]) or {}).get(
            record_id, review.protocol.screening.reviewers_per_record)
        # while the stage is blind, who screened a record is not told to another screener
        by = ("other reviewers" if stage in blind_stages(review, session)
              else " and ".join(others))
        raise ReviewError(
            f"record {record_id} is already settled at {stage.value} by "
            f"{by} (it needs {counted(need, 'reviewer')}): a further decision "
            "is refused; a disagreement goes to `screener resolve`")


def _not_at_full_text(review: Review, session: Session, record_id: int) -> str:
    """Why a record has no full-text stage: in conflict or still waiting for decisions at
    title/abstract (for now), or not included there. (Full text opens once title/abstract
    reconciliation has started, so its outcome is no longer blind.)"""
    ta = outcomes(review, session, Stage.TITLE_ABSTRACT, [record_id]).get(record_id)
    if ta is not None and ta.conflict:
        who = ("the adjudicator" if review.protocol.screening.adjudicator
               else "its resolution")
        return (f"record {record_id} is in conflict at title/abstract and waits for {who} "
                "(`screener conflicts`); it reaches full text if resolved as include or "
                "maybe")
    if ta is None or ta.label is None:
        return (f"record {record_id} is not settled at title/abstract yet (it waits for "
                "its screeners' decisions there); it reaches full text if included")
    return f"record {record_id} was not included at title/abstract; it has no full-text stage"


NOTE_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""The control characters (Unicode category Cc) a note cannot hold: all but a tab and a line
break (a note may run over several lines)."""

_NOTE_REFUSED = re.compile(f"{NOTE_CONTROLS.pattern}|{BIDI_PATTERN.pattern}")
"""What `check_note` refuses: a `NOTE_CONTROLS` or a `BIDI_CONTROLS` character."""


def shown_text(text: str, empty: str = "") -> str:
    """Record text as the CLI prints it for people: the bidirectional controls left out
    (as the UI leaves them out), `empty` when there is no text."""
    return BIDI_PATTERN.sub("", text) if text.strip() else empty


def _control_char(text: str, categories: tuple[str, ...], allowed: str = ""
                  ) -> tuple[int, str] | None:
    """(1-based position, character) of the first character of `text` in one of the
    Unicode `categories` or a bidirectional control, `allowed` ones aside; None if none."""
    for position, char in enumerate(text, 1):
        if char not in allowed and (unicodedata.category(char) in categories
                                    or char in BIDI_CONTROLS):
            return position, char
    return None


ZERO_WIDTH = re.compile("[\ufeff\u200b\u2060]")
"""Invisible characters with no meaning in a name: the byte-order mark (U+FEFF, carried in
by `$(head -1 file)` from a file saved with one), the zero-width space and word joiner."""


def clean_name(name: str, option: str = "--reviewer") -> str:
    """A name as stored: NFC-normalised (the "ë" typed as one character or as "e" plus a
    combining mark is one reviewer) with surrounding spaces and `ZERO_WIDTH` characters
    dropped (unseen, never meant, they would make a second source or reviewer that looks
    the same, and a byte-order mark cannot be drawn in the PDF diagram). Refuses a name
    holding control characters (escape codes would reach every terminal that shows the
    name, a newline would split a row of the CSV log) or bidirectional controls. May be
    empty."""
    name = unicodedata.normalize("NFC", ZERO_WIDTH.sub("", name)).strip()
    found = _control_char(name, ("Cc", "Zl", "Zp"))
    if found is not None:
        position, char = found
        raise ReviewError(f"{option} {name!r}: a name cannot hold control characters "
                          f"(U+{ord(char):04X} at character {position}); type the name "
                          "as plain text")
    return name


def reviewer_name(name: str, option: str = "--reviewer") -> str:
    """The reviewer's name as stored (`clean_name`); refuses an empty one."""
    name = clean_name(name, option)
    if not name:
        raise ReviewError(f"a reviewer name is needed: {option} NAME")
    return name


def name_key(name: str) -> str:
    """The form in which two names are the same reviewer: case, spacing and Unicode normal
    form set aside."""
    return " ".join(unicodedata.normalize("NFC", ZERO_WIDTH.sub("", name).casefold()).split())


def role_of(review: Review, session: Session, reviewer: str,
            option: str = "--reviewer") -> Role:
    """The reviewer's role. A new name that differs from a known one (or the protocol's
    adjudicator) only in case, spacing or Unicode normal form is refused: it would be a
    second reviewer ("Ann" and "ann" as a pair in the agreement table)."""
    known = repo.reviewers(session)
    for r in known:
        if r.name == reviewer:
            return r.role
    adjudicator = review.protocol.screening.adjudicator
    if adjudicator and reviewer == adjudicator:
        return Role.ADJUDICATOR
    key = name_key(reviewer)
    for other in [r.name for r in known] + ([adjudicator] if adjudicator else []):
        if name_key(other) == key:
            raise ReviewError(f"no reviewer is named {reviewer!r}, but {other!r} is: names "
                              f"are matched exactly; use {option} {shlex.quote(other)}")
    return Role.SCREENER


def known_reviewer(review: Review, name: str, option: str = "--reviewer") -> str:
    """`name` as stored, when it names a reviewer of the review (one who has decided or
    been allocated records, or the protocol's adjudicator); any other name is refused with
    the known ones (`status` lists them too, blind or not: blinding hides decisions, not
    who screens)."""
    name = reviewer_name(name, option)
    with review.read() as session:
        known = [r.name for r in repo.reviewers(session)]
    adjudicator = review.protocol.screening.adjudicator
    if adjudicator and adjudicator not in known:
        known.append(adjudicator)
    if name in known:
        return name
    near = [k for k in known if name_key(k) == name_key(name)]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = (f"; names are matched exactly: {option} {shlex.quote(near[0])}" if near
            else f"; did you mean {option} {shlex.quote(close[0])}?" if close
            else "; check the spelling")
    listed = ", ".join(repr(k) for k in known) if known else "none yet (no decisions)"
    raise ReviewError(f"{option} {name!r} is not a reviewer of this review (known: {listed})"
                      f"{hint}")


def screening_reviewer(review: Review, name: str, *, new: bool = False,
                       option: str = "--reviewer", joining: str = "to join the review as"
                       ) -> str:
    """`name` as stored, for opening the screening UI, deciding with `decide` or allocating
    (`option` names the option it came from). A name the review has never seen, while it
    has reviewers already, is refused unless `new` (a typo would become a second screener,
    shown every record and counted as a record's second reviewer), with the closest known
    name; a brand-new review (no reviewer yet) takes any name. A second spelling of a known
    name is refused either way."""
    name = reviewer_name(name, option)
    try:
        return known_reviewer(review, name, option)
    except ReviewError:
        with review.read() as session:
            known = [r.name for r in repo.reviewers(session)]
            role_of(review, session, name, option)  # "Bob" beside "bob": refused, named
    if new or not known:
        return name
    adjudicator = review.protocol.screening.adjudicator
    every = known + ([adjudicator] if adjudicator and adjudicator not in known else [])
    listed = ", ".join(repr(k) for k in every)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {shlex.quote(close[0])}? " if close else ""
    raise ReviewError(f"{option} {name!r} has not screened in this review (its reviewers: "
                      f"{listed}); {hint}check the spelling, or add --new-reviewer {joining} "
                      f"{name!r}. Nothing was changed")


def check_can_screen(review: Review) -> None:
    """Refuse to open the screening UI on a review no decision can be written to (its disk
    full, its folder read-only; on PostgreSQL, an account that may only read): the UI would
    fail on its first step."""
    why = review.db.cannot_write()
    if why:
        raise StorageError(why)
    review.db.check_can_write()  # (PostgreSQL: a role that may only read)


def mark_not_retrieved(review: Review, record_id: int, reviewer: str | None = None) -> None:
    """Mark a record's full-text report as not retrieved (it leaves the full-text stage).
    Refused while title/abstract is still blind, and for a report anyone has decided on at
    full text (their decision would stop counting). In blind dual screening only the
    adjudicator marks reports: a refusal would tell a screener that the other one has
    assessed the report."""
    from screener.workflow.team import ensure_full_text_open

    with review.transaction() as session:
        ensure_full_text_open(review, session)
        _only_the_adjudicator_marks(review, session, reviewer,
                                    "tell the adjudicator which report could not be obtained")
        if not repo.record_exists(session, record_id):
            raise ReviewError(f"no record with id {record_id} in this review")
        status = repo.reports(session).get(record_id)
        decided = repo.record_screeners(session, Stage.FULL_TEXT, record_id)
        if status == ReportStatus.ASSESSED or decided:
            raise ReviewError(f"record {record_id}'s report has been assessed at full text "
                              f"(by {', '.join(name for name, _ in decided) or 'a reviewer'}); "
                              "it cannot be marked not retrieved")
        if status == ReportStatus.NOT_RETRIEVED:
            raise NothingChanged(f"record {record_id}'s full-text report is marked not "
                                 "retrieved already; nothing changed")
        if record_id not in set(eligible_ids(session, Stage.FULL_TEXT)):
            raise ReviewError(f"record {record_id} has no full-text report to mark (it did not "
                              "pass title/abstract screening)")
        repo.set_report_status(session, record_id, ReportStatus.NOT_RETRIEVED)
        repo.add_event(session, "report_not_retrieved", actor=reviewer_name(reviewer)
                       if reviewer else "", stage=Stage.FULL_TEXT, record_id=record_id)


def _only_the_adjudicator_marks(review: Review, session: Session, reviewer: str | None,
                                what_to_do: str) -> None:
    """In blind dual screening only the adjudicator marks reports not retrieved and takes
    marks back: a screener's refusal about one report (assessed, marked) would tell them
    whether the other screener has assessed it. Raises ReviewError for anyone else."""
    from screener.workflow.team import is_adjudicator

    screening = review.protocol.screening
    if screening.dual and screening.blind and not (
            reviewer and is_adjudicator(review, session, reviewer_name(reviewer))):
        who = f" ({screening.adjudicator})" if screening.adjudicator else ""
        raise ReviewError(
            "in blind dual screening the adjudicator marks full-text reports not retrieved "
            f"and takes such marks back{who}, so that no screener learns whether the other "
            f"has assessed the report; {what_to_do}")


def unmark_not_retrieved(review: Review, record_id: int, reviewer: str | None = None) -> None:
    """Take back `mark_not_retrieved`: the report is sought again. In blind dual screening
    only the adjudicator does, refused before anything about the report is said."""
    with review.transaction() as session:
        _only_the_adjudicator_marks(review, session, reviewer,
                                    "ask the adjudicator if a report should be sought again")
        if not repo.record_exists(session, record_id):
            raise ReviewError(f"no record with id {record_id} in this review")
        status = repo.reports(session).get(record_id)
        if status != ReportStatus.NOT_RETRIEVED:
            if status != ReportStatus.ASSESSED and record_id in set(
                    eligible_ids(session, Stage.FULL_TEXT)):
                raise NothingChanged(f"record {record_id}'s full-text report is not marked "
                                     "not retrieved (it is sought); nothing changed")
            raise ReviewError(f"record {record_id}'s report is not marked not retrieved"
                              + ("" if status == ReportStatus.ASSESSED else " (it has no "
                                 "full-text report: it did not pass title/abstract "
                                 "screening)"))
        repo.set_report_status(session, record_id, ReportStatus.SOUGHT)
        repo.add_event(session, "report_sought_again", actor=reviewer_name(reviewer)
                       if reviewer else "", stage=Stage.FULL_TEXT, record_id=record_id)


def _without(ids: tuple[int, ...], record_id: int) -> tuple[int, ...]:
    """`ids` less `record_id` (usually the head: a slice, not a scan in Python)."""
    if ids and ids[0] == record_id:
        return ids[1:]
    try:
        at = ids.index(record_id)
    except ValueError:
        return ids
    return ids[:at] + ids[at + 1:]


UNDO_NOTE = "undo of decision "
"""How an undo row's note begins (then the id of the decision it withdraws)."""


def add_undo(review: Review, session: Session, last: Decision, role: Role, *,
             why: str = "") -> Decision:
    """Append the row by which `last`'s reviewer, in `role`, withdraws it (a standing
    decision): label undone, its note `UNDO_NOTE` and `last`'s id (then `why`, when given),
    linked to it; the row as stored is returned. Outcome effects are the caller's."""
    return repo.add_decision(session, Decision(
        record_id=last.record_id, reviewer=last.reviewer, stage=last.stage,
        label=Label.UNDONE, note=f"{UNDO_NOTE}{last.id}{f' ({why})' if why else ''}",
        protocol_hash=review.protocol_hash, reviewer_role=role),
        undoes_id=last.id)


class ScreeningSession:
    """One reviewer screening one stage: next record, decide, undo, progress."""

    def __init__(self, review: Review, reviewer: str, stage: Stage = Stage.TITLE_ABSTRACT) -> None:
        self.reviewer = reviewer_name(reviewer)
        if stage not in review.protocol.stages:
            raise ReviewError(f"the protocol has no {stage.value} stage")
        self.review = review
        self.stage = stage
        with review.transaction() as session:
            if stage == Stage.FULL_TEXT:
                from screener.workflow.team import ensure_full_text_open

                ensure_full_text_open(review, session)
            self.role = role_of(review, session, self.reviewer)
            repo.get_or_create_reviewer(session, self.reviewer, self.role)
        self.total = 0
        self.queue = Queue(())
        self._shown: NextItem | None = None
        self._marked: list[tuple[int, int]] = []
        """(record id, decisions made before it) of the reports this session marked not
        retrieved, so that undo can take back a mark made after the last decision."""
        self._decided = 0
        self._put_back: set[int] = set()
        """Records `undo` put back at the head of the queue: shown again with no ranking
        (the log must not say a ranking placed them there)."""
        self._pairs_first = False
        """Whether `_pairs_ahead` puts first the records others decided (`_own_rule_met`
        when the queue was last built)."""
        self._waiting: tuple[tuple[int, int], set[int]] | None = None
        """The records `_pairs_ahead` last read as waiting for this reviewer, with the
        review's change counts (`repo.change_counts`) they were read at."""
        self.undid_mark = False
        """Whether the last `undo` took back a not-retrieved mark (not a decision)."""
        self.undone: Decision | None = None
        self.restored: Decision | None = None
        """After `undo`: the decision it withdrew, and the earlier decision of the reviewer's
        on that record that stands again (None: the record is undecided again)."""
        self.held = 0
        """When `next` found nothing: records it skipped only because others hold them (on
        their screens, claimed; they come back when not decided)."""
        self.left_out = 0
        """When `next` found nothing: records waiting for screeners that the allocation in
        force gives to others, when it leaves this reviewer out (`left_out_by_allocation`)."""
        self.shown_protocol: str | None = None
        """The hash of the protocol version a UI shows the reviewer (its criteria, reasons,
        terms and keys): `decide` refuses (`ProtocolAmended`) once another is in force.
        None: decisions are checked against the version in force only."""
        self.reload()

    def release(self) -> None:
        """Give up this reviewer's claims at this stage (the UI quits): others may be
        offered the record on screen at once, not after the claim lapses."""
        with self.review.transaction() as session:
            repo.release_claims(session, self.reviewer, self.stage)

    # -- queue ------------------------------------------------------------------------
    def reload(self) -> None:
        """Rebuild the queue from the database (latest stored ranking or import order)."""
        from screener.workflow.ranking import current_queue

        with self.review.read() as session:
            eligible = eligible_ids(session, self.stage)
            queue = current_queue(self.review, session, self.reviewer, self.stage, eligible)
            self.total = len(eligible)
        self._pairs_first = self._own_rule_met()
        self.queue = self._pairs_ahead(queue)

    def use_queue(self, queue: Queue) -> None:
        """Switch to a new ranking (called when a worker's re-ranking arrives): records
        undo put back now have their place in it."""
        self.queue = self._pairs_ahead(queue)
        self._put_back.clear()

    def _completes_pairs(self) -> bool:
        """Dual screening at title/abstract, this reviewer a screener: the records others
        decided come first once this one's own rule is met."""
        return (self.review.protocol.screening.dual and self.stage == Stage.TITLE_ABSTRACT
                and self.role == Role.SCREENER)

    def _own_rule_met(self) -> bool:
        """Dual screening at title/abstract: whether this reviewer's own stopping rule is
        met (then `_pairs_ahead` puts the records others decided first)."""
        if not self._completes_pairs():
            return False
        from screener.workflow.progress import progress

        return progress(self.review, self.reviewer, self.stage).criteria_met

    def follow_progress(self, rule_met: bool) -> None:
        """This reviewer's progress, computed meanwhile (the UI does after decisions): once
        it says their own stopping rule is met, the records another screener decided and
        this one has not come next (`_pairs_ahead`), those decided since included. Until
        then a reviewer who kept screening met them only when the queue was rebuilt (a
        restart, or the queue run out)."""
        if self._completes_pairs() and (rule_met or self._pairs_first):
            self._pairs_first = True
            self.queue = self._pairs_ahead(self.queue)

    def _pairs_ahead(self, queue: Queue) -> Queue:
        """Once this reviewer's own stopping rule is met (dual screening): the records
        another screener decided and this one has not first, in the queue's order, so that
        the pairs complete (both rules met, the review could not become final while each
        waited for the other's decision). It tells that the record was screened, never how."""
        if not self._pairs_first:
            return queue
        from screener.workflow.team import awaiting_decision

        with self.review.read() as session:
            # read again only when a decision or an event (import, dedup, allocation,
            # amendment...) was stored since: the UI asks after every progress computation
            counts = repo.change_counts(session)
            if self._waiting is None or self._waiting[0] != counts:
                self._waiting = counts, awaiting_decision(self.review, session, self.reviewer,
                                                          self.stage)
        waiting = self._waiting[1]
        if not waiting:
            return queue
        first = [i for i in queue.ids if i in waiting]
        return replace(queue, ids=(*first, *(i for i in queue.ids if i not in waiting)))

    def next(self) -> NextItem | None:
        """The record this reviewer should screen next, or None when nothing is left.

        Before saying nothing is left, the queue is built again from the database: records
        may have come back since it was built (a not-retrieved mark taken back, a record
        another reviewer's decision sent to full text, a duplicate restored)."""
        item = self._next_in_queue()
        if item is None:
            self.reload()
            item = self._next_in_queue()
        return item

    def _next_in_queue(self) -> NextItem | None:
        from screener.workflow.team import OfferGate, left_out_by_allocation

        self.held = self.left_out = 0
        with self.review.transaction() as session:
            gate = OfferGate(self.review, session, self.reviewer, self.role, self.stage)
            # full text: a report marked not retrieved meanwhile (another shell, the
            # adjudicator) has left the stage; reports are few, so all are read
            reports = repo.reports(session) if self.stage == Stage.FULL_TEXT else None
            ids = self.queue.ids
            position = 0
            start = 0
            while start < len(ids):
                # Usually the head of the queue is offerable: read a few decisions first.
                chunk = ids[start:start + (16 if start == 0 else 400)]
                current: dict[int, list[Decision]] = {i: [] for i in chunk}
                for d in repo.current_decisions(session, self.stage, chunk):
                    current[d.record_id].append(d)
                for rid in chunk:
                    if reports is not None and reports.get(rid) not in OPEN_REPORTS:
                        continue  # (left out of the queue with the records skipped)
                    if gate.take(rid, current[rid]):
                        position += 1
                        record = repo.get_record(session, rid)
                        assert record is not None
                        if rid in self._put_back:  # shown again by undo, not by a ranking
                            self._shown = NextItem(record, None, None, None, "undo")
                        else:
                            self._shown = NextItem(
                                record, self.queue.ranking_id,
                                position if self.queue.ranking_id is not None else None,
                                self.queue.scores.get(rid), self.queue.basis)
                        rest = ids[start + chunk.index(rid):]
                        self.queue = replace(self.queue,
                                             ids=(*gate.held, *rest) if gate.held else rest)
                        return self._shown
                start += len(chunk)
            self.held = len(set(gate.held))
            if self.role == Role.SCREENER:
                self.left_out = left_out_by_allocation(self.review, session, self.reviewer,
                                                       self.stage)
        self._shown = None
        return None

    def decide(self, record_id: int, label: Label, *, reason_id: str | None = None,
               criterion_ids: Sequence[str] = (), note: str = "",
               repeat_ok: bool = False) -> Decision:
        """Commit the decision; the record leaves this reviewer's queue.

        repeat_ok: `NothingChanged` (no row) when the reviewer's standing decision on the
        record is this one, as `record_decision`; the record leaves the queue all the same,
        and the step does not count for undo (which takes back the last real one)."""
        from screener.workflow.team import RecordTaken

        shown = self._shown if self._shown and self._shown.record.id == record_id else None
        try:
            decision = record_decision(
                self.review, record_id, self.reviewer, label, stage=self.stage,
                reason_id=reason_id, criterion_ids=criterion_ids, note=note,
                ranking_id=shown.ranking_id if shown else None,
                rank_position=shown.rank_position if shown else None, role=self.role,
                if_needed=shown is not None, seen_protocol=self.shown_protocol,
                repeat_ok=repeat_ok)
        except (RecordTaken, NothingChanged):
            # not to be offered again (a report marked meanwhile would be); decided already
            self.queue = replace(self.queue, ids=_without(self.queue.ids, record_id))
            raise
        self.queue = replace(self.queue, ids=_without(self.queue.ids, record_id))
        self._put_back.discard(record_id)
        self._decided += 1
        return decision

    def mark_not_retrieved(self, record_id: int) -> None:
        """Mark the report not retrieved; the record leaves the queue (undo takes it back).
        `team.RecordTaken` when someone else marked it meanwhile (it leaves the queue too)."""
        from screener.workflow.team import RecordTaken

        try:
            mark_not_retrieved(self.review, record_id, self.reviewer)
        except ReviewError as exc:
            with self.review.read() as session:
                status = repo.reports(session).get(record_id)
            if status != ReportStatus.NOT_RETRIEVED:
                raise
            self.queue = replace(self.queue, ids=_without(self.queue.ids, record_id))
            raise RecordTaken(f"record {record_id}'s full text was marked not retrieved "
                              "already, by someone else; it has left the full-text stage, "
                              "take the next record") from exc
        self._marked.append((record_id, self._decided))
        self.queue = replace(self.queue, ids=_without(self.queue.ids, record_id))

    @property
    def mark_undoable(self) -> bool:
        """Whether `undo` would take back a not-retrieved mark (made after the last decision)."""
        return bool(self._marked) and self._marked[-1][1] == self._decided

    def put_off(self, record_id: int) -> None:
        """Leave a record undecided for now (Esc on a record undo brought back): it goes to
        the end of the queue, until the next ranking gives it its place again."""
        self.queue = replace(self.queue,
                             ids=(*_without(self.queue.ids, record_id), record_id))

    def undo(self) -> Record | None:
        """Take back this session's last step: a not-retrieved mark made after the last
        decision, else withdraw the reviewer's most recent standing decision. Returns the
        record (None: nothing to undo).

        Refused (ReviewError, nothing changed) when the reviewer could not decide that record
        again, e.g. the adjudicator resolved it: the withdrawn decision would be lost for good.
        The adjudicator's undo takes back marks only (a resolution is changed by resolving
        the record again)."""
        self.undid_mark = False
        self.undone = self.restored = None
        if self.mark_undoable:
            record_id, _ = self._marked.pop()
            unmark_not_retrieved(self.review, record_id, self.reviewer)
            with self.review.read() as session:
                record = repo.get_record(session, record_id)
            self.undid_mark = True
            self._put_back.add(record_id)
            self.queue = replace(self.queue,
                                 ids=(record_id, *_without(self.queue.ids, record_id)))
            return record
        if self.role == Role.ADJUDICATOR:
            return None
        with self.review.transaction() as session:
            follow_amendments(self.review, session)
            history = repo.reviewer_history(session, self.reviewer, self.stage)
            standing = current_decisions(history)
            if not standing:
                return None
            last = max(standing.values(), key=lambda d: d.id or 0)
            self._ensure_undoable(session, last.record_id)
            undo = add_undo(self.review, session, last, self.role)
            self.undone = last
            self.restored = current_decisions([*history, undo]).get(
                (last.record_id, self.reviewer, self.stage))
            apply_outcome_effects(self.review, session, last.record_id, self.stage)
            record = repo.get_record(session, last.record_id)
        self._decided = max(self._decided - 1, 0)
        if record is not None and record.id is not None:
            self._put_back.add(record.id)
            self.queue = replace(self.queue,
                                 ids=(record.id, *_without(self.queue.ids, record.id)))
        return record

    def _ensure_undoable(self, session: Session, record_id: int) -> None:
        """Refuse to withdraw a decision on a record where `decide` would refuse a new one."""
        resolved = [d.reviewer for d in repo.current_decisions(session, self.stage, [record_id])
                    if d.reviewer_role == Role.ADJUDICATOR]
        if resolved:
            raise ReviewError(
                f"record {record_id} was resolved by the adjudicator ({', '.join(resolved)}) "
                "after your decision: your decision there can no longer be undone (you could "
                "not decide the record again); it stands")
        try:
            ensure_may_decide(self.review, session, record_id, self.reviewer, self.role,
                              self.stage, withdrawing=True)
        except ReviewError as exc:
            raise ReviewError(f"your decision on record {record_id} can no longer be undone, "
                              f"as a new one would be refused ({exc}); it stands") from exc

    def my_decisions(self) -> dict[int, Decision]:
        with self.review.read() as session:
            return {d.record_id: d for d in repo.current_decisions(session, self.stage)
                    if d.reviewer == self.reviewer}
