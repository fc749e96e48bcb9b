"""Export commands: PRISMA diagram, decision log (and its verification), records, report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from screener.cli import main, open_from, review_options, say_removed, stage_option
from screener.cli.params import COUNT, OUT_PATH, PATH
from screener.core.wording import counted

if TYPE_CHECKING:
    from screener.workflow.review import Review

OUT = click.option("--out", type=OUT_PATH, default=None,
                   help="Output file (default: exports/ in the review folder).")
FORCE = click.option("--force", is_flag=True, help="Replace an existing file.")
EXCEL = click.option("--excel", is_flag=True,
                     help="CSV for Excel: UTF-8 with a byte-order mark, so that Excel shows "
                          "accented names as they are (pandas and R read either).")

PREVIOUS_STUDIES = click.option(
    "--previous-studies", type=COUNT, default=None, metavar="N",
    help="An update screened in a review folder of its own: the studies the previous version "
         "of the review included; draws the updated-review template (with "
         "--previous-reports).")
PREVIOUS_REPORTS = click.option(
    "--previous-reports", type=COUNT, default=None, metavar="M",
    help="The reports of those studies (with --previous-studies).")


def _review_problems(review: Review) -> list[str]:
    """The review's problems (`review_problems`), for `_warn_untrusted` once it is closed."""
    from screener.workflow.reporting import review_problems

    return review_problems(review)


def tidy(target: Path, what: str = "export") -> None:
    """Remove (and name) what killed exports (and `simulate` runs, which write the same
    way) left in the folder just written to."""
    from screener.workflow.backup import EXPORT_LEFTOVER, remove_leftovers

    say_removed(remove_leftovers(target.parent, EXPORT_LEFTOVER), target.parent, what)


def _warn_untrusted(problems: list[str], what: str) -> None:
    """Warn that an export of a review that does not verify may not say what was done:
    the files are the evidence handed to others."""
    for problem in problems:
        click.echo(f"warning: the review's records do not verify ({problem}); {what} may "
                   "not be what was done: see `screener log verify`", err=True)


@main.group()
def export() -> None:
    """Write the PRISMA diagram, decision log or records to exports/ (or --out)."""


@export.command("prisma")
@review_options
@click.option("--format", "fmt", type=click.Choice(["svg", "pdf", "png", "csv", "json"]),
              default="svg", show_default=True,
              help="svg, pdf or png: the diagram; csv: the PRISMA2020 R package's template; "
                   "json: the counts.")
@OUT
@FORCE
@click.option("--strict", is_flag=True, help="Refuse to draw when the numbers do not add up.")
@PREVIOUS_STUDIES
@PREVIOUS_REPORTS
def export_prisma(review_dir: Path | None, db_url: str | None, fmt: str, out: Path | None,
                  force: bool, strict: bool, previous_studies: int | None,
                  previous_reports: int | None) -> None:
    """The PRISMA 2020 flow diagram (or its counts: csv in the PRISMA2020 R template)."""
    from screener.workflow.reporting import export_prisma as run
    from screener.workflow.reporting import previous_version

    previous = previous_version(previous_studies, previous_reports)
    with open_from(review_dir, db_url) as review:
        target, result = run(review, fmt, out, force, strict, previous)
        # the numbers come from the review's tables: say when they cannot be trusted
        untrusted = _review_problems(review)
    _warn_untrusted(untrusted, "the diagram's numbers")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for problem in (*result.problems, *result.warnings):
        click.echo(f"warning: {problem}", err=True)
    if result.draft:  # whatever the format: the file's mark may be missed
        where = {"csv": "the yellow title box's text begins \"DRAFT, not final\"",
                 "json": "\"final\": false"}.get(fmt, "a red line at the top")
        click.echo(f"warning: {result.draft} (the file is marked: {where})", err=True)
    click.echo(f"wrote {target}")
    tidy(target)


@export.command("log")
@review_options
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True, help="csv: one row per decision; jsonl: one JSON object "
                                      "per line.")
@click.option("--reviewer", default=None,
              help="Only this reviewer's rows (in blind screening, your own decisions); the "
                   "default file name ends in the name.")
@click.option("--events", is_flag=True,
              help="The event log instead: imports, duplicates, protocol versions, "
                   "allocations, the end of blinding, not-retrieved marks, offline copies.")
@OUT
@FORCE
@EXCEL
def export_log(review_dir: Path | None, db_url: str | None, fmt: str, reviewer: str | None,
               events: bool, out: Path | None, force: bool, excel: bool) -> None:
    """Every decision in the order it was stored (a decision merged from an offline copy
    comes after those stored before the merge, though made earlier), each row
    hash-chained to the one before (with --events: every other change to the review, in a
    chain of its own)."""
    from screener.workflow.reporting import export_events
    from screener.workflow.reporting import export_log as run
    from screener.workflow.screening import known_reviewer

    if events and reviewer is not None:
        raise click.UsageError("--events writes the whole event log (it shows no one's "
                               "decisions); leave out --reviewer")
    with open_from(review_dir, db_url) as review:
        warn = lambda text: click.echo(f"warning: {text}", err=True)  # noqa: E731
        if events:
            target, n = export_events(review, fmt, out, force, excel, warn=warn)
        else:
            if reviewer is not None:
                reviewer = known_reviewer(review, reviewer)
            target, n = run(review, fmt, out, force, reviewer, excel, warn=warn)
        untrusted = _review_problems(review)
    _warn_untrusted(untrusted, "the log")
    click.echo(f"wrote {counted(n, 'event' if events else 'decision')} to {target}")
    tidy(target)
    if reviewer is not None:
        click.echo("note: a log limited to one reviewer is a subset of the chain and cannot "
                   "be verified on its own; `screener log verify` checks the full log", err=True)


@export.command("records")
@review_options
@click.option("--label", type=click.Choice(["include", "exclude", "maybe", "all"]),
              default="include", show_default=True,
              help="The outcome at --stage to export (maybe at title_abstract only); all: "
                   "every record at the stage, "
                   "decided or not (at title_abstract, every record left after "
                   "deduplication; at full_text, every report sought).")
@stage_option("The stage whose outcome --label names: title_abstract, or full_text.")
@click.option("--format", "fmt", type=click.Choice(["ris", "bibtex", "csv", "xlsx"]),
              default="ris", show_default=True,
              help="ris or bibtex for a reference manager; csv or xlsx: a table with the "
                   "decisions.")
@click.option("--reviewer", default=None,
              help="That reviewer's own current decisions (their label, reason and note), "
                   "before and after reconciliation alike; without it, the combined "
                   "outcome (refused while the stage is blind).")
@OUT
@FORCE
@EXCEL
def export_records(review_dir: Path | None, db_url: str | None, label: str, stage: str,
                   fmt: str, reviewer: str | None, out: Path | None, force: bool,
                   excel: bool) -> None:
    """Records with their decision, reason and note (for Zotero, EndNote; the full texts to
    retrieve: --stage full_text --label all, every report sought, maybe included).

    CSV and XLSX also name each record's sources and the duplicates removed in its favour.
    """
    from screener.core.decisions import Stage
    from screener.workflow.reporting import export_records as run
    from screener.workflow.screening import known_reviewer

    with open_from(review_dir, db_url) as review:
        if reviewer is not None:
            reviewer = known_reviewer(review, reviewer)
        target, n = run(review, label, Stage(stage), fmt, out, force, reviewer,
                        warn=lambda text: click.echo(f"warning: {text}", err=True), bom=excel,
                        notice=lambda text: click.echo(f"note: {text}", err=True))
        untrusted = _review_problems(review)
    _warn_untrusted(untrusted, "the records' decisions")
    click.echo(f"wrote {counted(n, 'record')} to {target}")
    tidy(target)
    if n == 0 and label == "all":
        click.echo(f"note: no record is at {stage} yet", err=True)
    elif n == 0 and reviewer is not None:
        click.echo(f"note: {reviewer} has no current decision '{label}' at {stage}", err=True)
    elif n == 0:
        click.echo(f"note: no record has the outcome '{label}' at {stage} yet", err=True)


@main.group()
def log() -> None:
    """The tamper-evident logs: decisions, and events (every other change to the review)."""


@log.command("verify")
@review_options
@click.option("--file", "jsonl", type=PATH, default=None,
              help="Verify an exported JSONL log (decisions or events) instead of the "
                   "database; with --review or --db, also compare it with that review's log.")
def log_verify(review_dir: Path | None, db_url: str | None, jsonl: Path | None) -> None:
    """Check the hash chains (the first row edited, removed or reordered), and that the
    tables the figures come from agree with the event log."""
    import sys

    from screener.workflow.audit_check import RESTORE, database_damage, table_findings
    from screener.workflow.reporting import verify_event_log, verify_log, verify_log_file

    problems: list[str] = []
    warnings: list[str] = []
    damage: str | None = None
    if jsonl is not None and review_dir is None and db_url is None:
        checks = [verify_log_file(jsonl)]
        against = ""
    elif jsonl is not None:
        with open_from(review_dir, db_url) as review:
            damage = database_damage(review)
            checks = [verify_log_file(jsonl, review)]
            # the head and count alone would pass a review whose rows were edited since
            stored = verify_event_log(review) if checks[0].events else verify_log(review)
            problems, warnings = table_findings(review)
        if not stored.ok:
            click.echo(f"the review's {'event log' if stored.events else 'log'} FAILED: "
                       f"{stored.problem}", err=True)
            problems.append("the review's own chain does not verify (above)")
        against = " and matches the review's log"
    else:
        with open_from(review_dir, db_url) as review:
            damage = database_damage(review)
            checks = [verify_log(review), verify_event_log(review)]
            problems, warnings = table_findings(review)
        against = ""
    failed = damage is not None
    if damage:
        click.echo(f"database FAILED: {damage}: what is read from it (counts, exports, the "
                   f"logs) may be wrong or incomplete. {RESTORE}", err=True)
    for check in checks:
        name = "event log" if check.events else "log"
        if not check.ok:
            click.echo(f"{name} FAILED: {check.problem}", err=True)
            failed = True
    for problem in problems:
        click.echo(f"tables FAILED: {problem}", err=True)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if failed or problems:
        sys.exit(1)
    if jsonl is not None and not against and checks[0].rows == 0:
        click.echo(f"log FAILED: {jsonl} holds no rows, so there is nothing to check on its "
                   "own; add --review DIR (or --db URL) to compare it with the review's log",
                   err=True)
        sys.exit(1)
    for check in checks:
        head = f"; last hash {check.head}" if check.head else ""
        if check.events:
            click.echo(f"event log OK: {counted(check.rows, 'event')}, hash chain intact"
                       f"{against}{head}")
        else:
            click.echo(f"log OK: {counted(check.rows, 'decision')}, hash chain intact"
                       f"{against}{head}")
    if review_dir is not None or db_url is not None or jsonl is None:
        # the warnings (stderr, printed first) are no failure, but the line says there were
        above = f", {counted(len(warnings), 'warning')} above" if warnings else ""
        click.echo(f"tables OK{above}: sources, protocol versions, duplicates, reconciliation, "
                   "reports not retrieved and allocations agree with the event log")
    if jsonl is not None and not against:
        here = " ." if (Path.cwd() / "review.db").is_file() else " DIR"
        click.echo("note: rows cut off the end of a file cannot be seen from the file alone; "
                   f"add --review{here} (or --db URL) to compare it with the review's log, or "
                   "compare the last hash with `screener log verify` on the review",
                   err=True)


@log.command("events")
@review_options
def log_events(review_dir: Path | None, db_url: str | None) -> None:
    """List the event log: what changed the review besides decisions, when and by whom."""
    from screener.core.audit import describe_event
    from screener.workflow.reporting import list_events

    with open_from(review_dir, db_url) as review:
        rows = list_events(review)
    if not rows:
        click.echo("no events")
        return
    for event, _ in rows:
        click.echo(f"{event.seq:>4}  {event.time[:19].replace('T', ' ')} UTC  "
                   f"{describe_event(event)}")


@main.command()
@review_options
@OUT
@FORCE
@PREVIOUS_STUDIES
@PREVIOUS_REPORTS
def report(review_dir: Path | None, db_url: str | None, out: Path | None, force: bool,
           previous_studies: int | None, previous_reports: int | None) -> None:
    """Methods text (PRISMA item 8, automation disclosure), agreement, exclusions, diagram."""
    from screener.workflow.reporting import previous_version, write_report

    previous = previous_version(previous_studies, previous_reports)
    with open_from(review_dir, db_url) as review:
        target = write_report(review, out, force, previous)
        untrusted = _review_problems(review)
    _warn_untrusted(untrusted, "the report's numbers and methods text")
    click.echo(f"wrote {target} (and {target.stem}-prisma.svg beside it)")
    tidy(target)
