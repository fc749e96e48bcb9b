"""Team screening commands: allocate, conflicts, resolve, reassign, agreement,
export-reviewer, merge.

Each command parses its options, opens the review and calls one function of
`screener.workflow.team`; user errors (blinding included) exit with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from screener.cli import STAGES, emit_json, main, open_from, review_options, stage_option
from screener.cli.params import DB_ID, PATH, SEED
from screener.core.audit import iso_utc
from screener.core.wording import counted, plural, spelled


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


@main.command()
@review_options
@click.option("--reviewers", required=True, metavar="A,B,C",
              help="Comma-separated reviewer names.")
@click.option("--overlap", default="0%", show_default=True, metavar="SHARE",
              help="Share of records screened by the protocol's reviewers per record "
              "(two in single screening), e.g. 20% or 0.2 (under 1%: a fraction, 0.002; "
              "write 100%, not 1).")
@click.option("--seed", type=SEED, default=None,
              help="Random seed (default: the protocol's ranking seed).")
@stage_option()
@click.option("--new-reviewer", "new_reviewer", is_flag=True,
              help="Allocate to names the review has not seen yet (without it such a name "
                   "is refused, in case it is a typo).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def allocate(review_dir: Path | None, db_url: str | None, reviewers: str, overlap: str,
             seed: int | None, stage: str, new_reviewer: bool, as_json: bool) -> None:
    """Split the stage's records among reviewers; the overlap share gets the protocol's
    reviewers per record (two in single screening), the rest one."""
    from screener.core.decisions import Stage
    from screener.workflow.team import allocate as run_allocate
    from screener.workflow.team import parse_share, share_text, shared_by

    names = [n.strip() for n in reviewers.split(",")]
    with open_from(review_dir, db_url) as review:
        share = parse_share(overlap, shared_by(review.protocol))
        result = run_allocate(review, names, share, seed=seed, stage=Stage(stage),
                              new_reviewers=new_reviewer)
        screening = review.protocol.screening
    shared = ("double-screened" if result.per_record == 2 else
              f"screened by {spelled(result.per_record)}")
    if result.double and not screening.adjudicator and screening.resolution.value != "consensus":
        click.echo(f"warning: {counted(result.double, 'record')} "
                   f"{plural(result.double, 'is', 'are')} {shared}, but the protocol "
                   "names no adjudicator to resolve their disagreements: add `adjudicator: "
                   "NAME` (or `resolution: consensus`) under `screening:` and run `screener "
                   "protocol amend FILE`", err=True)
    single = result.records - result.double
    if screening.dual and single:
        per = spelled(screening.reviewers_per_record)
        click.echo(f"warning: the protocol asks for {per} reviewers per record, but {single} of "
                   f"the {counted(result.records, 'record')} {plural(single, 'gets', 'get')} one "
                   f"screener (--overlap {share_text(share)}); the "
                   "methods text will say so. For every record to be screened "
                   f"{'twice' if per == 'two' else 'by ' + per}, "
                   "allocate again with --overlap 100%", err=True)
    data: dict[str, Any] = {
        "stage": result.stage.value, "seed": result.seed, "overlap": result.overlap,
        "records": result.records, "double_screened": result.double,
        "screeners_per_shared_record": result.per_record,
        "per_reviewer": result.per_reviewer}
    if result.replaced is not None:
        data |= {"replaced_allocation_of": iso_utc(result.replaced),
                 "kept_with_their_screeners": result.kept}
    if as_json:
        emit_json(data)
        return
    click.echo(f"allocated {counted(result.records, 'record')} at {stage} (seed {result.seed}): "
               f"{result.double} {shared}, {result.records - result.double} single; "
               f"overlap {share_text(share)} of records (n = {round(share * result.records)})")
    for name, count in result.per_reviewer.items():
        click.echo(f"  {name}: {count}")
    if result.replaced is not None:
        made = iso_utc(result.replaced)[:16].replace("T", " ")
        click.echo(f"this replaces the allocation made {made} UTC")
    if result.kept:
        click.echo(f"{counted(result.kept, 'record')} {plural(result.kept, 'keeps', 'keep')} the "
                   f"screeners who had already decided {plural(result.kept, 'it', 'them')} "
                   "(a conflict stays one until the adjudicator resolves it)")


def note_if_blinding_ended(review: Any, stage: str, unscreened: int | None) -> None:
    """Tell whoever just started reconciliation at `stage` (listing the conflicts, or a first
    resolution by `resolve` or the adjudicator's `decide`) that blinding has ended there for
    everyone, and for how many records not yet screened by all their reviewers
    (`blinding_ends_on_listing` before the command, as the UI asks; None: the command could
    end no blinding)."""
    from screener.core.decisions import Stage
    from screener.workflow.team import reconciliation_started

    if unscreened is not None and reconciliation_started(review, Stage(stage)):
        including = (f", including on the {counted(unscreened, 'record')} not yet screened "
                     "by all their reviewers," if unscreened else "")
        click.echo(f"note: reconciliation at {stage} has started, so blinding there has "
                   f"ended: decisions made from now on{including} are made unblinded (the "
                   "methods text will say how many)", err=True)


@main.command()
@review_options
@stage_option()
@click.option("--reviewer", default=None,
              help="Who is asking; the adjudicator listing conflicts starts reconciliation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def conflicts(review_dir: Path | None, db_url: str | None, stage: str, reviewer: str | None,
              as_json: bool) -> None:
    """List records whose reviewers disagree (blind reviews: adjudicator only)."""
    from screener.core.decisions import Stage
    from screener.workflow.team import blinding_ends_on_listing, list_conflicts

    with open_from(review_dir, db_url) as review:
        unscreened = (None if reviewer is None
                      else blinding_ends_on_listing(review, Stage(stage), reviewer))
        found = list_conflicts(review, Stage(stage), reviewer)
        note_if_blinding_ended(review, stage, unscreened)
    if as_json:
        emit_json([c.as_dict() for c in found])
        return
    if not found:
        click.echo(f"no conflicts at {Stage(stage).label}")
    from screener.workflow.screening import shown_text

    for c in found:
        click.echo(f"[{c.record_id}] {shown_text(c.title, '(no title)')}")
        for v in c.votes:
            vote = f"    {v.reviewer}: {v.label.value}" + (f" ({v.reason_id})" if v.reason_id
                                                        else "")
            if v.note:  # a note's later lines under its first, never flush left like a row
                vote += " - "
                vote += ("\n" + " " * len(vote)).join(v.note.splitlines())
            click.echo(vote)


@main.command()
@click.argument("record_id", type=DB_ID)
@review_options
@click.option("--reviewer", required=True,
              help="The adjudicator (consensus mode: one of the two screeners).")
@click.option("--label", type=click.Choice(["include", "exclude", "maybe"]), required=True,
              help="The decision that settles the record (maybe: title/abstract only).")
@click.option("--reason", default=None, help="Exclusion reason id from the protocol.")
@click.option("--criterion", "criteria", multiple=True, help="Criterion id (repeatable).")
@click.option("--note", default="",
              help="A free-text note kept with the resolution (in the decision log).")
@stage_option()
def resolve(record_id: int, review_dir: Path | None, db_url: str | None, reviewer: str,
            label: str, reason: str | None, criteria: tuple[str, ...], note: str,
            stage: str) -> None:
    """Resolve the conflict on RECORD_ID with the adjudicator's decision."""
    from screener.core.decisions import Label, Stage
    from screener.workflow.review import NothingChanged
    from screener.workflow.team import blinding_ends_on_listing
    from screener.workflow.team import resolve as run_resolve

    with open_from(review_dir, db_url) as review:
        unscreened = blinding_ends_on_listing(review, Stage(stage), reviewer)
        try:
            d = run_resolve(review, record_id, reviewer, Label(label), stage=Stage(stage),
                            reason_id=reason, criterion_ids=criteria, note=note,
                            repeat_ok=True)
        except NothingChanged as exc:  # run again: this resolution stands already
            click.echo(str(exc))
            return
        note_if_blinding_ended(review, stage, unscreened)
    click.echo(f"decision {d.seq}: record {record_id} {label} by {d.reviewer} (adjudicator) "
               f"at {stage}")


@main.command()
@review_options
@click.option("--from", "source", required=True,
              help="The name the decisions were made under (a typo, or a teammate's).")
@click.option("--to", "target", required=True, help="The reviewer they belong to.")
@click.option("--record", "records", type=DB_ID, multiple=True,
              help="Move only the decisions on this record (repeatable; default: all).")
@click.option("--stage", type=STAGES, default=None,
              help="Move only the decisions at this stage (default: both).")
@click.option("--new-reviewer", is_flag=True,
              help="--to is a name the review has not seen (refused otherwise, in case it "
                   "is a typo).")
def reassign(review_dir: Path | None, db_url: str | None, source: str, target: str,
             records: tuple[int, ...], stage: str | None, new_reviewer: bool) -> None:
    """Move the decisions made under --from to --to (a mistyped or wrong reviewer name).

    In one transaction, --from's standing decisions are taken back (undo rows, as the UI's
    undo writes) and the same label, reason, criteria and note are written for --to (the
    note says whose decision it was moved from); the decision log keeps both, the event
    log records the move. Refused, nothing changed, when --to has decided any of those
    records already (listed) or could not decide one. Labels are not shown.
    """
    from screener.core.decisions import Stage
    from screener.workflow.reassign import reassign as run_reassign
    from screener.workflow.screening import known_reviewer, screening_reviewer

    with open_from(review_dir, db_url) as review:
        source = known_reviewer(review, source, "--from")
        target = screening_reviewer(review, target, new=new_reviewer, option="--to",
                                    joining="to move the decisions to")
        done = run_reassign(review, source, target, record_ids=records or None,
                            stage=Stage(stage) if stage else None)
    ids = sorted({rid for rid, _ in done.moved})
    shown = ", ".join(map(str, ids[:20])) + (", ..." if len(ids) > 20 else "")
    click.echo(f"moved {counted(len(done.moved), 'decision')} from {done.source} to "
               f"{done.target} (record{'s' if len(ids) != 1 else ''} {shown}); "
               f"{counted(done.rows, 'decision log row')} written")


@main.command()
@review_options
@click.option("--stage", type=STAGES, default=None, help="One stage (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agreement(review_dir: Path | None, db_url: str | None, stage: str | None,
              as_json: bool) -> None:
    """Agreement per reviewer pair: counts, % agreement, kappa (95% CI), PABAK, AC1; and
    Fleiss' kappa where three or more reviewers screened each record."""
    from screener.core.agreement import MIN_N_FOR_CI
    from screener.core.decisions import Stage
    from screener.core.wording import imported_decisions
    from screener.workflow.team import agreement as run_agreement
    from screener.workflow.team import reasons_differ_note

    with open_from(review_dir, db_url) as review:
        report = run_agreement(review, Stage(stage) if stage else None)
    if as_json:
        data: dict[str, Any] = {"pairs": [p.as_dict() for p in report.pairs],
                                "fleiss": [g.as_dict() for g in report.groups],
                                "hidden_stages": [s.value for s in report.hidden_stages],
                                "imported_labels": [
                                    {"reviewer": n, "imported": i, "decisions": t}
                                    for n, i, t in report.imported]}
        emit_json(data)
        return
    marked = {n for n, _, _ in report.imported}

    def name(reviewer: str, at: Stage) -> str:  # (imported decisions: title/abstract only)
        return reviewer + ("†" if reviewer in marked and at == Stage.TITLE_ABSTRACT else "")

    for p in report.pairs:
        s = p.stats
        ci = (f" (95% CI {s.kappa_ci[0]:.3f} to {s.kappa_ci[1]:.3f})" if s.kappa_ci
              else "" if s.kappa is None
              else f" (no 95% CI under {MIN_N_FOR_CI} records)" if s.n < MIN_N_FOR_CI
              else " (no 95% CI: its standard error is 0)")
        click.echo(f"{p.stage.value}: {name(p.reviewer_a, p.stage)} vs "
                   f"{name(p.reviewer_b, p.stage)}, "
                   f"{s.n} {plural(s.n, 'record')} "
                   f"(rows: {p.reviewer_a}, columns: {p.reviewer_b})")
        click.echo("    " + " " * 10 + "".join(f"{c:>9}" for c in s.categories))
        for cat, row in zip(s.categories, s.table, strict=True):
            click.echo(f"    {cat:<10}" + "".join(f"{n:>9}" for n in row))
        click.echo(f"    agreement {_fmt(s.percent_agreement, 1)}%, kappa {_fmt(s.kappa)}{ci}, "
                   f"PABAK {_fmt(s.pabak)}, AC1 {_fmt(s.ac1)}")
        note = reasons_differ_note(p.reasons_differ, p.stage == Stage.FULL_TEXT and
                                   review.protocol.screening.reason_mismatch_is_conflict)
        if note:
            click.echo(f"    note: {note}")
    for g in report.groups:
        click.echo(f"{g.stage.value}: {counted(g.stats.n, 'record')} each screened by "
                   f"{g.stats.raters} reviewers (of "
                   f"{', '.join(name(w, g.stage) for w in g.reviewers)})")
        click.echo(f"    agreement {_fmt(g.stats.percent_agreement, 1)}% (reviewer pairs "
                   f"agreeing, per record), Fleiss' kappa {_fmt(g.stats.kappa)}")
        note = reasons_differ_note(g.reasons_differ, g.stage == Stage.FULL_TEXT and
                                   review.protocol.screening.reason_mismatch_is_conflict,
                                   g.stats.raters)
        if note:
            click.echo(f"    note: {note}")
    for reviewer, imported, made in report.imported:
        click.echo(f"† {imported_decisions(reviewer, imported, made, 'counted here')} (import --labels-as), "
                   "not made in screener: whether they were blinded and independent cannot "
                   "be checked, so the agreement is not that of independent reviewers")
    if not report.pairs and not report.hidden_stages:
        click.echo("no records screened by two reviewers yet")
    for hidden in report.hidden_stages:
        click.echo(f"{hidden.value}: hidden until reconciliation starts (blind screening)")


@main.command("export-reviewer")
@click.argument("target", metavar="FOLDER", type=PATH)
@review_options
@click.option("--reviewer", required=True, help="The reviewer who will screen offline.")
@click.option("--new-reviewer", is_flag=True,
              help="Export for a name the review has not seen yet (neither decided nor "
                   "allocated); without it such a name is refused as a likely typo.")
def export_reviewer(target: Path, review_dir: Path | None, db_url: str | None,
                    reviewer: str, new_reviewer: bool) -> None:
    """Write an offline review FOLDER for one reviewer (their own decisions only)."""
    from screener.workflow.team import export_reviewer as run_export

    with open_from(review_dir, db_url) as review:
        records, decisions = run_export(review, reviewer, target, new_reviewer=new_reviewer)
    click.echo(f"wrote {target}: {counted(records, 'record')}, "
               f"{counted(decisions, 'decision')} by {reviewer}; "
               f"screen with `screener screen --review {target} --reviewer {reviewer}`, "
               f"then `screener merge {target}`")


@main.command()
@click.argument("source", metavar="FOLDER", type=PATH)
@review_options
@click.option("--leave-out-refused", is_flag=True,
              help="Merge the other decisions when some would be refused (records settled "
                   "meanwhile by others, or decided online by the same reviewer since the "
                   "copy); those stay in the copy only, named in a warning.")
def merge(source: Path, review_dir: Path | None, db_url: str | None,
          leave_out_refused: bool) -> None:
    """Bring the decisions of an offline copy back (merging twice changes nothing)."""
    from screener.workflow.team import merge as run_merge

    with open_from(review_dir, db_url) as review:
        result = run_merge(review, source, leave_out_refused=leave_out_refused)
    who = f" by {', '.join(result.reviewers)}" if result.reviewers else ""
    click.echo(f"merged {counted(result.added, 'new decision')}{who}; "
               f"{result.skipped} already present")
    if result.left_out:
        click.echo(f"warning: left in the copy, not merged: {result.left_out}", err=True)
    if result.replaced:
        click.echo("left out, as the copy's own later decisions (already in this review) "
                   f"replace them: earlier decisions ({result.replaced})")
    for line in result.reconciliations:
        click.echo(line)
