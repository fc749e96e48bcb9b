"""Move decisions made under a wrong reviewer name to the right one (`screener reassign`).

A decision made as `anne` (a typo joined with --new-reviewer) or as a teammate counts as
that name's: a second screener on the record, a conflict, a refusal for the reviewer
meant. Undoing each in the UI walks back through everything done since. `reassign` takes
back the name's standing decisions (undo rows, as the UI's undo writes them) and writes
the same label, reason, criteria and note for the right name, in one transaction; the
decision log keeps both, and the event log says who moved what.

Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from screener.core.decisions import Decision, Role, Stage, current_decisions
from screener.core.wording import counted
from screener.storage import Session, repo
from screener.workflow.progress import screening_places
from screener.workflow.review import Review, ReviewError, follow_amendments
from screener.workflow.screening import (
    add_undo,
    apply_outcome_effects,
    ensure_may_decide,
    passes_title_abstract_now,
    role_of,
)

MOVED_NOTE = "[moved from {name}: decision {seq}]"
"""Appended to the note of a decision moved to another name (the row it replaces)."""
_MOVED = re.compile(r"\[moved from .+: decision (\d+)\]$")


def moved_origins(session: Session) -> dict[int, int]:
    """seq of a decision row `reassign` wrote -> seq of the decision first made, which it
    (through every move: ann -> anna -> anne) carries under another name: whether it was
    made blind is that one's. Empty when nothing was ever moved."""
    moves = repo.reassignments(session)
    if not moves:
        return {}
    written = {seq for _, _, seqs in moves for seq in seqs or ()}
    older = any(seqs is None for _, _, seqs in moves)  # (their rows known by their note)
    origin: dict[int, int] = {}
    for d in repo.decision_log(session):  # (in log order: a move's source comes first)
        found = _MOVED.search(d.note)
        if d.seq is not None and found and (d.seq in written or older):
            source = int(found.group(1))
            origin[d.seq] = origin.get(source, source)
    return origin


@dataclass(frozen=True, slots=True)
class Reassigned:
    source: str
    target: str
    moved: tuple[tuple[int, Stage], ...]
    """(record, stage) of each decision moved, in log order."""
    rows: int
    """Decision rows written: the undo rows and the target's decisions."""


def reassign(review: Review, source: str, target: str, *,
             record_ids: Sequence[int] | None = None,
             stage: Stage | None = None) -> Reassigned:
    """Move `source`'s standing decisions (on `record_ids`, at `stage`; all when None) to
    `target`, in one transaction. Refused (ReviewError, nothing written) when either is the
    adjudicator, when `target` has a decision of their own on any of those records at that
    stage, or when `target` could not decide one of them (allocated to others, removed as
    a duplicate): the records are listed. A record the adjudicator resolved takes the moved
    decision (a rename: the resolution and the outcome stand). Blinding is kept: labels are
    never shown, and each decision goes to the reviewer who made it."""
    if source == target:
        raise ReviewError(f"--from and --to are both {source!r}: nothing to move")
    with review.transaction() as session:
        follow_amendments(review, session)
        for name, option in ((source, "--from"), (target, "--to")):
            if role_of(review, session, name, option) != Role.SCREENER:
                raise ReviewError(f"{option} {name!r} is the adjudicator: resolutions are "
                                  "changed by resolving the record again (`screener "
                                  "resolve`), not moved")
        log = repo.decision_log(session)
        standing = current_decisions(log)
        wanted = set(record_ids) if record_ids is not None else None
        moving = [d for (rid, who, st), d in standing.items()
                  if who == source and (wanted is None or rid in wanted)
                  and (stage is None or st == stage)]
        if wanted is not None:
            missing = sorted(wanted - {d.record_id for d in moving})
            if missing:
                raise ReviewError(f"{source} has no standing decision on record"
                                  f"{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(map(str, missing))}"
                                  + (f" at {stage.value}" if stage else "")
                                  + ": nothing was moved")
        if not moving:
            raise ReviewError(f"{source} has no standing decisions"
                              + (f" at {stage.value}" if stage else "") + ": nothing to move")
        clash = sorted((d.record_id, d.stage.value) for d in moving
                       if (d.record_id, target, d.stage) in standing)
        if clash:
            raise ReviewError(
                f"{target} has decided {counted(len(clash), 'record')} {source} decided too "
                f"({_listed(clash)}): a record takes one decision per reviewer, so nothing "
                f"was moved; leave those out (--record for the others), or have {target} "
                "undo theirs first")
        refused: list[str] = []
        rows = 0
        # each moved decision keeps its place in the screening order (the stopping
        # statistics read it): that of the first standing decision under --from's name
        before = {st: screening_places(session, st) or repo.first_standing_seqs(session, st)
                  for st in {d.stage for d in moving}}
        placed: list[list[int]] = []
        for d in moving:
            passed = passes_title_abstract_now(review, session, d.record_id, d.stage)
            rows += _take_back(review, session, log, d, source, target)
            try:
                ensure_may_decide(review, session, d.record_id, target, Role.SCREENER,
                                  d.stage, renaming=True)
            except ReviewError as exc:
                refused.append(f"record {d.record_id} at {d.stage.value}: {exc}")
                continue
            moved_note = MOVED_NOTE.format(name=source, seq=d.seq)
            new = repo.add_decision(session, replace(
                d, reviewer=target, reviewer_role=Role.SCREENER, id=None, seq=None,
                row_hash="", created_at=None,
                note=f"{d.note} {moved_note}" if d.note else moved_note))
            place = before[d.stage].get((d.record_id, source))
            if new.seq is not None and place is not None:
                placed.append([new.seq, place])
            rows += 1
            apply_outcome_effects(review, session, d.record_id, d.stage, passed_before=passed)
        if refused:  # (raised inside the transaction: the rows above are not written)
            raise ReviewError(
                f"{target} could not decide {counted(len(refused), 'record')} of {source}'s, "
                "so nothing was moved: " + "; ".join(refused) + ". Moving the others alone "
                f"(--record) would leave these under {source}'s name, and agreement, Table 1 "
                f"and the methods text would count {source} and {target} as two reviewers; "
                f"{source}'s name can stay as it is (the decisions stand)")
        moved = tuple((d.record_id, d.stage) for d in moving)
        repo.add_event(session, "decisions_reassigned", details={
            "from": source, "to": target, "decisions": len(moved),
            "records": [rid for rid, _ in moved],
            "stages": sorted({st.value for _, st in moved}),
            repo.REASSIGNED_PLACES: placed})
    return Reassigned(source, target, moved, rows)


def _take_back(review: Review, session: Session, log: list[Decision], d: Decision,
               source: str, target: str) -> int:
    """Undo rows withdrawing `source`'s decision on the record until none stands (a changed
    decision has the earlier one under it); how many were written."""
    history = [x for x in log if (x.record_id, x.reviewer, x.stage) ==
               (d.record_id, source, d.stage)]
    written = 0
    while (last := current_decisions(history).get((d.record_id, source, d.stage))):
        undo = add_undo(review, session, last, Role.SCREENER, why=f"moved to {target}")
        history.append(undo)
        written += 1
    return written


def _listed(pairs: Sequence[tuple[int, str]]) -> str:
    stages = {st for _, st in pairs}
    if len(stages) == 1:
        return "record " + ", ".join(str(rid) for rid, _ in pairs) + f" at {stages.pop()}"
    return "; ".join(f"record {rid} at {st}" for rid, st in pairs)
