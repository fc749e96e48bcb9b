"""Review status: counts by source, kind, stage, label and reviewer (the `status` command).

Blind dual screening: before reconciliation, labels are shown only for the reviewer who
asks (`viewer`); other reviewers' work is reported as counts without labels.
Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from screener.core import audit
from screener.core.decisions import Decision, Label, Reviewer, Role, Stage
from screener.core.records import PMID_LIST_QUERY, key_paper_match
from screener.core.wording import counted, number, percent, plural, spelled
from screener.storage import Session, repo
from screener.workflow.importing import (
    contradicting_duplicates,
    not_deduplicated_note,
    records_not_deduplicated,
)
from screener.workflow.progress import (
    NOT_APPLICABLE,
    import_note,
    not_estimable,
)
from screener.workflow.review import (
    Review,
    other_copies,
    other_copies_note,
    protocol_copy_note,
)
from screener.workflow.screening import eligible_ids, known_reviewer, outcomes, reviewer_name
from screener.workflow.team import (
    CLAIM_MINUTES,
    allocation_in_force,
    awaiting_decision,
    blind_stages,
    not_offered,
    waiting_note,
)


def status(review: Review, viewer: str | None = None) -> dict[str, Any]:
    """The review's counts, decisions, stopping figures and PRISMA numbers; in a blind
    review only the `viewer`'s own labels. A `viewer` the review does not know (a typo) is
    refused as other commands refuse it, once the review has reviewers. Read from one
    snapshot (`Review.snapshot`), so the figures agree while others screen."""
    with review.snapshot():
        return _status(review, viewer)


def _status(review: Review, viewer: str | None) -> dict[str, Any]:
    if viewer is not None:
        viewer = reviewer_name(viewer)
        with review.read() as session:
            anyone = bool(repo.reviewers(session))
        if anyone:
            viewer = known_reviewer(review, viewer)
    with review.read() as session:
        # stages still blind (reconciliation not started there): their labels and combined
        # outcomes are hidden from everyone but the viewer's own decisions
        hidden = blind_stages(review, session)
        blind = Stage.TITLE_ABSTRACT in hidden
        total = repo.count_records(session)
        removed_ids = repo.removed_duplicate_ids(session)
        removed = len(removed_ids)
        # links an older version made between records whose DOIs or PMIDs differ
        contradicting = len(contradicting_duplicates(session)) if removed_ids else 0
        sources = repo.sources(session)
        said = repo.search_warnings(session)
        # decisions and reports of records removed as duplicates after they were screened
        # are kept in the log but, as in the PRISMA counts, not counted
        every = repo.current_decisions(session)
        current = [d for d in every if d.record_id not in removed_ids]
        # while title/abstract is blind, how many records reach full text would tell each
        # reviewer the combined outcome: None = hidden
        eligible = {s: set(eligible_ids(session, s)) for s in review.protocol.stages}
        stage_totals = {s.value: None if blind and s == Stage.FULL_TEXT else len(eligible[s])
                        for s in review.protocol.stages}
        reports = Counter(status.value for rid, status in repo.reports(session).items()
                          if rid not in removed_ids)
        outcome_counts: dict[str, dict[str, int]] = {}
        # each stage's decisions (duplicates removed), read once above
        by_stage = {stage: [d for d in current if d.stage == stage]
                    for stage in review.protocol.stages}
        for stage in review.protocol.stages:
            # full text's records are title/abstract's combined outcome: hidden with it
            if stage not in hidden and not (blind and stage == Stage.FULL_TEXT):
                counts: Counter[str] = Counter()
                for o in outcomes(review, session, stage, current=by_stage[stage]).values():
                    counts["conflict" if o.conflict else (o.label.value if o.label else "pending")] += 1
                outcome_counts[stage.value] = dict(sorted(counts.items()))
        # every title/abstract record has the decisions it needs (as many screeners as the
        # protocol or allocation asks; a conflict has them too): the stopping rule is moot.
        # Only this yes/no leaves the blind stage, as the counts screened do.
        ta = Stage.TITLE_ABSTRACT
        ta_outcomes = outcomes(review, session, ta, current=by_stage.get(ta, []))
        all_screened = bool(eligible.get(ta)) and all(
            rid in ta_outcomes and (ta_outcomes[rid].label is not None
                                    or ta_outcomes[rid].conflict)
            for rid in eligible.get(ta, ()))
        # records with some, not all, of the decisions they need: told while blind too, as
        # it says how many screeners decided a record (a pending outcome is only that: a
        # conflict needs every screener's decision), not what they decided
        waiting = sum(1 for o in ta_outcomes.values() if o.label is None and not o.conflict)
        allocated = allocation_in_force(session, ta)
        reviewers = _taking_part(review, session, every)
        not_deduplicated = records_not_deduplicated(session)
        # records each screener is still offered: not decided by them, not settled by
        # others, not allocated to others
        left: dict[tuple[str, str], int] = {}
        # of those, records another screener decided (dual: pairs waiting for this one)
        awaiting: dict[tuple[str, str], int] = {}
        for stage in review.protocol.stages:
            if stage_totals[stage.value] is None:
                continue
            for r in reviewers:
                if r.role != Role.SCREENER:
                    continue
                mine = {d.record_id for d in by_stage[stage] if d.reviewer == r.name}
                left[(r.name, stage.value)] = (
                    len(eligible[stage] - mine)
                    - not_offered(review, session, r.name, stage, by_stage[stage]))
                awaiting[(r.name, stage.value)] = len(awaiting_decision(
                    review, session, r.name, stage, by_stage[stage]))
    per_kind: Counter[str] = Counter()
    for s in sources:
        per_kind[s["kind"]] += s["records"]
    decisions: Counter[tuple[str, str, str]] = Counter()
    screened_by: Counter[tuple[str, str]] = Counter()
    for key in left:
        screened_by[key] += 0  # a screener with nothing decided yet is listed too
    # decisions on records no longer at their stage (a settled title/abstract exclusion
    # after an amendment took a record out of full text): kept in the log, not counted
    elsewhere: Counter[tuple[str, str]] = Counter()
    for d in current:
        if d.stage in eligible and d.record_id not in eligible[d.stage]:
            elsewhere[(d.reviewer, d.stage.value)] += 1
            continue
        screened_by[(d.reviewer, d.stage.value)] += 1
        if d.stage in hidden and d.reviewer != viewer:
            continue
        decisions[(d.reviewer, d.stage.value, d.label.value)] += 1
    roles = {r.name: r.role for r in reviewers}
    return {
        # the title of the protocol in force (an amendment may change it); the review
        # row keeps the one it was created with
        "title": review.protocol.title,
        "title_at_creation": review.title,
        "location": review.location,
        "protocol_version": review.protocol_version,
        "protocol_sha256": review.protocol_hash,
        # the folder's protocol.yaml missing or not the version in force ("" when it is)
        "protocol_copy_note": protocol_copy_note(review),
        "mode": "dual" if review.protocol.screening.dual else "single",
        "reviewers_per_record": review.protocol.screening.reviewers_per_record,
        "blind": blind,
        "blind_stages": [s.value for s in review.protocol.stages if s in hidden],
        "records_total": total,
        "duplicates_removed": removed,
        "records_unique": total - removed,
        "duplicate_links_contradicting": contradicting,
        # imported after the latest dedup run (after screening began, if it never ran)
        "not_deduplicated": not_deduplicated[0],
        "not_deduplicated_note": not_deduplicated_note(*not_deduplicated),
        "other_copies": other_copies(review),
        "sources": [
            {"import": s["id"], "name": s["name"], "kind": s["kind"], "records": s["records"],
             "file": s["file_name"], "query": s["query"], "searched": s["searched_on"],
             "reported_count": s["reported_count"],
             "imported": audit.iso_utc(s["imported_at"]) or None,
             # what the database said about the query it ran (not the one written)
             "warnings": said.get(s["id"], [])}
            for s in sources
        ],
        "identified_by_kind": {k: per_kind.get(k, 0) for k in ("database", "register", "other")},
        "stages": stage_totals,
        "reviewers": [{"name": r.name, "role": r.role.value} for r in reviewers],
        "screened": [
            {"reviewer": r, "stage": s, "count": n, "left": left.get((r, s)),
             "awaiting_second": awaiting.get((r, s)),
             "not_at_stage": elsewhere.get((r, s), 0),
             "role": roles.get(r, Role.SCREENER).value}
            for (r, s), n in sorted({k: screened_by[k] for k in [*screened_by, *elsewhere]}.items())
        ],
        "decisions": [
            {"reviewer": r, "stage": s, "label": lab, "count": n}
            for (r, s, lab), n in sorted(decisions.items())
        ],
        "outcomes": outcome_counts,
        # title/abstract records waiting for a screener who has not decided them
        "waiting_for_reviewer": waiting,
        # an allocation sets who screens each title/abstract record and how many
        "allocation_in_force": allocated,
        # "sought" as in PRISMA: every report sought, whatever became of it since
        # reports and PRISMA combine every stage's outcomes: closed while any stage is blind
        "reports": None if hidden else {
            "sought": sum(reports.values()), "awaiting": reports.get("sought", 0),
            "not_retrieved": reports.get("not_retrieved", 0),
            "assessed": reports.get("assessed", 0)},
        **_stopping_and_prisma(review, hidden, viewer, all_screened),
    }


def _taking_part(review: Review, session: Session, current: list[Decision]) -> list[Reviewer]:
    """The reviewers to list: a screener is one once they have a decision, hold a record
    (one `next` or the UI offered them) or are named in an allocation. A name registered
    only because it asked for a record (`next --reviewer carol --new-reviewer`, a trial)
    and holds none now would be listed for good with nothing screened: it is not (it is
    still a known name, so `--new-reviewer` is not asked for again)."""
    since = repo.database_now(session) - timedelta(minutes=CLAIM_MINUTES)
    stages = review.protocol.stages
    named = ({d.reviewer for d in current}
             | {name for s in stages for _, name in repo.active_claims(session, s, since)}
             | {name for s in stages if (run := repo.latest_allocation(session, s))
                for name in run["reviewers"]})
    return [r for r in repo.reviewers(session) if r.role != Role.SCREENER or r.name in named]


def _stopping_and_prisma(review: Review, hidden: set[Stage], viewer: str | None,
                         all_screened: bool = False) -> dict[str, Any]:
    """The stopping statistics at title/abstract per screener (blind: the viewer's own
    only) and the PRISMA numbers (None while a stage is blind). `all_screened`: every
    title/abstract record has every decision it needs, which makes the stopping rule moot
    (`every_record_screened`)."""
    from screener.workflow.reporting import prisma_status, stopping_rule_met

    met, progs = stopping_rule_met(review)
    if Stage.TITLE_ABSTRACT in hidden:
        progs = [p for p in progs if p.reviewer == viewer]
    rule = review.protocol.stopping
    stopping: dict[str, Any] | None = None if not progs else {
        "rule_met": None if Stage.TITLE_ABSTRACT in hidden else met,
        "every_record_screened": all_screened,
        "recall_target": rule.recall_target, "confidence": rule.confidence,
        "reviewers": [{
            "reviewer": p.reviewer, "screened": p.screened, "total": p.total,
            # whose the figures below are: the reviewer's own, or in single screening
            # shared by several screeners the review's (the same for each), from how many
            "figures_of": "review" if p.shared else "reviewer",
            "figures_screened": p.sample_screened,
            "consecutive_irrelevant": p.consecutive_irrelevant, "p_value": p.p_value,
            "stop_by_test": p.stop_by_test, "estimated_recall": p.estimated_recall,
            "estimated_recall_interval": (None if p.estimated_recall_interval is None
                                          else list(p.estimated_recall_interval)),
            "estimated_remaining": (None if p.estimated_remaining is None
                                    else list(p.estimated_remaining)),
            "safe": [{"name": i.name, "value": i.value, "passed": i.passed}
                     for i in p.checklist],
            # records imported after this screening began: the figures count only since
            "added_since_start": p.added_since_start,
            "added_on": audit.utc_day(p.added_on) or None,
            "screened_since": p.screened_since,
        } for p in progs]}
    if stopping is not None:
        stopping["key_papers_missing"] = _key_papers_missing(review)
    return {"stopping": stopping,
            "prisma": None if hidden else prisma_status(review, rule_met=met)}


def _key_papers_missing(review: Review) -> list[str]:
    """The protocol's key papers that no record of the review carries (as written): the SAFE
    item waits for them to be included, so the stopping rule cannot be met without them."""
    papers = {k: key_paper_match(k) for k in review.protocol.stopping.key_papers}
    with review.read() as session:
        present = repo.identifiers_present(session, sorted(set(papers.values())))
    return [k for k, normal in papers.items() if normal not in present]


def _mode_words(data: dict[str, Any]) -> str:
    """'dual screening', or 'three reviewers per record' where the protocol asks for more
    than two."""
    per = data.get("reviewers_per_record") or 0
    return (f"{spelled(per)} reviewers per record" if per > 2 else
            f"{data['mode']} screening")


def format_status(data: dict[str, Any]) -> str:
    created = data.get("title_at_creation") or data["title"]
    lines = [data["title"] + ("" if created == data["title"] else
                              f" (created as: {created}; the title was amended)"),
             f"  review: {data['location']} (protocol v{data['protocol_version']}, "
             f"{_mode_words(data)}{', blind' if data['blind_stages'] else ''})",
             f"  records: {number(data['records_total'])} identified, "
             f"{number(data['duplicates_removed'])} duplicates removed, "
             f"{number(data['records_unique'])} unique"]
    if data.get("protocol_copy_note"):
        lines.append(f"  note: {data['protocol_copy_note']}")
    if data.get("duplicate_links_contradicting"):
        n = data["duplicate_links_contradicting"]
        lines.append(f"  {counted(n, 'duplicate link')} {plural(n, 'contradicts', 'contradict')} "
                     "the records' identifiers or years: see `screener dedup --list`")
    if data.get("not_deduplicated_note"):
        lines.append(f"  note: {data['not_deduplicated_note']}")
    if data.get("other_copies"):
        lines.append(f"  note: {other_copies_note(data['other_copies'])}")
    if data["sources"]:
        lines.append("  sources:")
        for s in data["sources"]:
            origin = (f" from {s['file']}" if s["file"] else
                      " (PMID list)" if s["query"].startswith(PMID_LIST_QUERY) else
                      " (search)" if s["query"] else "")
            # two imports under one name (an update search) told apart by their dates
            when = (f", searched {s['searched']}" if s["searched"] else
                    f", imported {s['imported'][:10]}" if s.get("imported") else "")
            # the number withdraw-import and correct-import take
            lines.append(f"    {s['name']} ({s['kind']}): {number(s['records'])}{origin}{when}"
                         f" (import {s['import']})")
            lines.extend(f"      warning: {w}" for w in s.get("warnings") or ())
    for stage, total in data["stages"].items():
        lines.append(f"  {stage}: " + ("hidden until reconciliation starts (blind)"
                                        if total is None else f"{counted(total, 'record')} at this stage"))
        for row in data["screened"]:
            if row["stage"] == stage:
                labels = {d["label"]: d["count"] for d in data["decisions"]
                          if d["reviewer"] == row["reviewer"] and d["stage"] == stage}
                detail = ", ".join(f"{k} {number(labels[k])}" for k in (x.value for x in Label)
                                   if k in labels) or ("labels hidden (blind)" if row["count"]
                                                       else "")
                if row.get("role") == Role.ADJUDICATOR.value:  # resolutions, not screening
                    lines.append(f"    {row['reviewer']}: resolved "
                                 f"{counted(row['count'], 'conflict')} (adjudicator"
                                 + (f"; {detail})" if detail else ")"))
                    continue
                gone = row.get("not_at_stage") or 0
                lines.append(f"    {row['reviewer']}: {number(row['count'])} screened"
                             + (f" ({detail})" if detail else "")
                             + (f" (and {number(gone)} on {plural(gone, 'a record', 'records')} "
                                f"no longer at {stage})" if gone else "")
                             + ("" if row["left"] is None else f", {number(row['left'])} left to screen")
                             + (f" ({number(row['awaiting_second'])} of them decided by another "
                                f"screener, waiting for {row['reviewer']}'s decision)"
                                if row.get("awaiting_second") else ""))
        if stage in data["outcomes"] and data["outcomes"][stage]:
            out = ", ".join(f"{k} {number(v)}" for k, v in data["outcomes"][stage].items())
            lines.append(f"    outcomes: {out}")
        if stage == Stage.TITLE_ABSTRACT.value and data.get("waiting_for_reviewer"):
            note = waiting_note(data["waiting_for_reviewer"],
                                allocated=bool(data.get("allocation_in_force")), in_status=True)
            lines.append(f"    {note}")
    stop = data.get("stopping")
    if stop:
        open_conflicts = data["outcomes"].get("title_abstract", {}).get("conflict", 0)
        waiting = (f"; {counted(open_conflicts, 'conflict')} still "
                   f"{plural(open_conflicts, 'awaits', 'await')} resolution"
                   if open_conflicts else "")
        state = (f": every record has been screened (the stopping rule is moot{waiting})"
                 if stop.get("every_record_screened") else
                 "" if stop["rule_met"] is None else
                 ": the protocol's stopping rule is met" if stop["rule_met"] else
                 ": the protocol's stopping rule is not met")
        lines.append(f"  stopping at title_abstract (recall target {stop['recall_target']:.0%}, "
                     f"confidence {stop['confidence']:.0%}){state}")
        groups: list[tuple[list[str], dict[str, Any]]] = []
        for r in stop["reviewers"]:
            same = {k: r[k] for k in ("figures_of", "figures_screened",
                                      "consecutive_irrelevant", "p_value",
                                      "estimated_recall", "estimated_recall_interval",
                                      "estimated_remaining", "safe", "added_since_start",
                                      "added_on", "screened_since")}
            # single screening shared: the review's figures, the same for each, printed
            # once; a screener's own figures (dual screening) stay on their own line even
            # when they happen to equal another's
            for names, figures in groups:
                if figures == same and same["figures_of"] == "review":
                    names.append(r["reviewer"])
                    break
            else:
                groups.append(([r["reviewer"]], same))
        for names, r in groups:
            who = names[0] if len(names) == 1 else (
                f"{', '.join(names)} (the review's figures: each record is screened once)")
            parts = [f"{number(r['consecutive_irrelevant'])} irrelevant in a row"]
            unknown = not_estimable(r["added_since_start"], r["screened_since"])
            if r["p_value"] is not None:
                parts.append(f"stopping-test p = {r['p_value']:.3f}")
            if r["estimated_recall"] is not None:
                floor = r["estimated_recall_interval"]
                parts.append(f"estimated recall {percent(r['estimated_recall'])}"
                             + (f" (at least {percent(floor[0])} at {stop['confidence']:.0%} "
                                f"confidence, by the stopping test)"
                                if floor else ""))
            else:
                parts.append(f"estimated recall {unknown}")
            if r["estimated_remaining"] is not None:
                point, low, high = r["estimated_remaining"]
                parts.append(f"about {point:.0f} relevant left ({low:.0f} to {high:.0f})")
            else:  # with nothing relevant found, 0 left fits as well as any number
                parts.append(f"relevant records left {unknown}")
            if r["safe"]:
                parts.append("SAFE " + ", ".join(
                    "no key papers set" if i["value"] == NOT_APPLICABLE else
                    f"{i['name']} {'ok' if i['passed'] else 'not yet'}" for i in r["safe"]))
            lines.append(f"    {who}: {'; '.join(parts)}")
            if r["added_since_start"]:
                lines.append("      " + import_note(r["added_since_start"], r["added_on"],
                                                    r["screened_since"]))
        if stop.get("key_papers_missing"):
            lines.append("    key papers no record carries (the rule waits for them to be "
                         "included; check the DOI or PMID, or import the record): "
                         + ", ".join(stop["key_papers_missing"]))
    if Stage.FULL_TEXT.value in data["stages"] and data["reports"] is not None:
        r = data["reports"]
        lines.append(f"  reports: {number(r['sought'])} sought ({number(r['awaiting'])} awaiting "
                     f"retrieval or assessment, {number(r['not_retrieved'])} not retrieved, "
                     f"{number(r['assessed'])} assessed)")
    return "\n".join(lines)
