"""The `screener` command line: each command parses, opens the review, calls one
workflow function and prints. Imports the terminal UI only inside `screen` and `demo`.
Its entry point is `screener.__main__.run`, which also handles Ctrl-C while this package
loads; a Ctrl-C inside a command is handled here, before click would turn it into 'Aborted!'.

Commands live in this package's modules by theme (`base` here; `importing`, `ranking`,
`team`, `exports`, `screen`), each registering on `main`.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from screener import __version__
from screener.__main__ import interrupted, stdout_closed
from screener.cli.params import DB_ID, DB_URL, PATH, POSITION, ChecksText, Refused
from screener.core.paths import escaped_bytes
from screener.core.wording import counted, plural

F = TypeVar("F", bound=Callable[..., Any])

# psycopg logs "error ignored terminating <psycopg.Pipeline [BAD]>: the connection is lost"
# as a lost connection is closed; Python printed it raw above the command's own message,
# which already says what happened and that nothing was written.
logging.getLogger("psycopg").addHandler(logging.NullHandler())

STAGES = click.Choice(["title_abstract", "full_text"])


def stage_option(help: str = "Screening stage: title_abstract, or full_text (the reports "
                 "of records included or rated maybe at title/abstract).") -> Callable[[F], F]:
    """--stage, as the commands that work at one stage take it (title_abstract by default)."""
    return click.option("--stage", type=STAGES, default="title_abstract", show_default=True,
                        help=help)


def _user_errors() -> tuple[type[BaseException], ...]:
    """The user errors a command may have raised: those of the modules it loaded (a
    `protocol check` refused loads no database layer to say so)."""
    if "screener.workflow.review" in sys.modules or "screener.storage" in sys.modules:
        from screener.workflow import USER_ERRORS

        return USER_ERRORS
    if "screener.protocol" in sys.modules:
        from screener.protocol import ProtocolError

        return (ProtocolError,)
    return ()


def _escaped(exc: click.ClickException) -> click.ClickException:
    """`exc` with a name that is not UTF-8 in its message shown as screener's messages show
    it ('r\\xe9sum\\xe9'): click quotes a bad value with repr ('r\\udce9sum\\udce9')."""
    vars(exc)["message"] = escaped_bytes(exc.message)  # (Final in click's stubs only)
    return exc


EXIT_TRY_LATER = 75
"""EX_TEMPFAIL of sysexits.h: try again later. A failure that is not the user's input
(`TryAgainLater`: PubMed not answering through the retries); and `next`'s exit code when no
record is left for the reviewer now but some are on other reviewers' screens, to come back
(screening finished exits 0; either way stdout is `null` (--json), so loops that stop at
null still do)."""


class ScreenerGroup(ChecksText, click.Group):
    """Turns every known user error into one clear message and exit code 2 (75 for a
    failure that is not the user's input: `TryAgainLater`). Its commands and groups refuse
    text that is not UTF-8 before they run (`ChecksText`)."""

    command_class = ChecksText
    group_class = type  # (its groups are ScreenerGroups: `export`, `log`, `search`...)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as exc:  # an unknown option, say
            raise _escaped(exc) from None
        except KeyboardInterrupt as exc:  # (click would print 'Aborted!' and exit 1)
            interrupted(exc)
        except BrokenPipeError:  # `screener --help | head -1` (click: a silent exit 1)
            stdout_closed()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            done = super().invoke(ctx)
            sys.stdout.flush()  # what is still buffered, while a closed pipe can be told
            return done
        except KeyboardInterrupt as exc:  # first: Ctrl-C while modules load must not import more
            interrupted(exc)
        except BrokenPipeError:  # `screener log events | head -1`
            stdout_closed()
        except click.ClickException as exc:
            # usage errors: before the next clause, whose tuple is built by importing the
            # whole workflow (SQLAlchemy...), a second's wait for `status -h`
            raise _escaped(exc) from None
        except (click.exceptions.Exit, click.Abort, SystemExit):  # help, exits: as above
            raise
        except _user_errors() as exc:
            click.echo(f"error: {escaped_bytes(str(exc))}", err=True)
            sys.exit(EXIT_TRY_LATER if _try_later(exc) else 2)


def _try_later(exc: BaseException) -> bool:
    """A failure that is not the user's input (PubMed or the PostgreSQL server did not
    answer): exit code `EXIT_TRY_LATER`, not 2."""
    later = tuple(getattr(sys.modules.get(module), name, None) for module, name in (
        ("screener.workflow.review", "TryAgainLater"),
        ("screener.storage.engine", "StorageUnavailable")))
    return isinstance(exc, tuple(kind for kind in later if kind is not None))


def review_options(func: F) -> F:
    """--review DIR and --db URL, as every command that opens a review takes them."""
    func = click.option("--db", "db_url", metavar="URL", envvar="SCREENER_DB", type=DB_URL,
                        help="Database URL instead of a review folder: PostgreSQL "
                             "(postgresql://user@host:port/db) or SQLite "
                             "(sqlite:///path/to/review.db); also read from SCREENER_DB.")(func)
    func = click.option("--review", "review_dir", type=PATH,
                        default=None, metavar="DIR",
                        help="Review folder (default: the current folder).")(func)
    return func


def _from_environment(name: str = "db_url") -> bool:
    """Whether the option came from its environment variable (SCREENER_DB), not the command."""
    from click.core import ParameterSource

    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.get_parameter_source(name) == ParameterSource.ENVIRONMENT


@contextmanager
def _naming_screener_db(db_url: str | None) -> Iterator[None]:
    """A database error about a URL that came from SCREENER_DB, not the command line, says
    so (the user typed no --db), unless the server was not there to serve."""
    from screener.storage import StorageError, StorageUnavailable

    try:
        yield
    except StorageError as exc:
        if db_url and _from_environment() and not isinstance(exc, StorageUnavailable):
            # (a server down or busy is no fault of the URL's)
            raise StorageError(f"{exc} (the URL is the SCREENER_DB environment variable's: "
                               "fix it, or unset it to use the review folder)") from exc
        raise


def open_from(review_dir: Path | None, db_url: str | None, *, mend_copy: bool = True) -> Any:
    """The review of --review DIR or --db URL. A folder given on the command line that
    holds its own review.db (an offline copy, a local review) wins over SCREENER_DB, which
    names the team's shared database: following `screen --review COPY` must not screen
    online. (`mend_copy`: as `open_review`'s.)"""
    from screener.storage import sqlite_url
    from screener.workflow.review import DB_FILE, open_review

    if (review_dir is not None and db_url and _from_environment()
            and (review_dir / DB_FILE).is_file()):
        click.echo(f"note: using {review_dir / DB_FILE} (--review), not SCREENER_DB", err=True)
        review = open_review(review_dir, sqlite_url((review_dir / DB_FILE).resolve()),
                             mend_copy=mend_copy)
    else:
        with _naming_screener_db(db_url):
            review = open_review(review_dir, db_url, mend_copy=mend_copy)
    if review.copy_mended:
        click.echo(f"note: {review.copy_mended}", err=True)
    if review.upgraded_from is not None:
        click.echo(f"note: {review.location} was made by an older screener: its database was "
                   f"upgraded from schema {review.upgraded_from} to {review.db.head()} "
                   f"(screener {__version__}); teammates who open it need this version or a "
                   "newer one", err=True)
    from screener.workflow.review import network_drive_note

    if note := network_drive_note(review):
        click.echo(f"warning: {note}", err=True)
    return review


def emit_json(data: Any) -> None:
    """`data` as JSON on stdout: as written when stdout can write every character, else with
    JSON's own \\u escapes (the backslash escapes a narrow stream falls back on are not JSON)."""
    from screener.__main__ import writes_unicode

    click.echo(json.dumps(data, indent=2, ensure_ascii=not writes_unicode(sys.stdout),
                          default=str))


@click.group(cls=ScreenerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="screener")
def main() -> None:
    """screener: terminal-first screening for systematic reviews."""


# --- review set-up ----------------------------------------------------------------------

def _bundled_protocol_names() -> list[str]:
    """The names of the bundled example protocols (screener.protocol.bundled_protocols),
    read from the package folder without importing screener.protocol, whose YAML and
    schema modules --help should not wait for."""
    spec = importlib.util.find_spec("screener.protocol")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations))) / "examples"
    return sorted(p.stem for p in folder.glob("*.yaml"))


@main.command(epilog="\b\nBundled example protocols (--protocol NAME):\n"
                     + "\n".join(f"  {name}" for name in _bundled_protocol_names())
                     + "\n\nThe review keeps its copy of the protocol as "
                       "DIRECTORY/protocol.yaml.")
@click.argument("directory", type=PATH)
@click.option("--protocol", "protocol_file", required=True, type=PATH,
              help="The review protocol: a YAML file, or the name of a bundled example "
                   "(listed below).")
@click.option("--db", "db_url", metavar="URL", envvar="SCREENER_DB", type=DB_URL,
              help="Create the review in this database (postgresql://user@host:port/db, or "
                   "sqlite:///path/to/review.db); DIRECTORY keeps the protocol copy and "
                   "exports. Also read from SCREENER_DB.")
def init(directory: Path, protocol_file: Path, db_url: str | None) -> None:
    """Create a review in DIRECTORY from a protocol."""
    from screener.protocol import protocol_or_example
    from screener.workflow.review import create_review

    protocol_file = protocol_or_example(protocol_file)
    if db_url and _from_environment():
        click.echo("note: SCREENER_DB is set, so the review goes into that database (unset it "
                   "for a review kept in the folder)", err=True)
    with _naming_screener_db(db_url):
        review = create_review(directory, protocol_file, db_url)
    with review:
        click.echo(f"created review {review.title!r} at {review.location}")
        click.echo(f"protocol v{review.protocol_version} sha256 {review.protocol_hash}")
    _warn_of_settings(protocol_file)


@main.command()
@review_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--reviewer", default=None, help="Show this reviewer's own labels (blind mode).")
def status(review_dir: Path | None, db_url: str | None, as_json: bool,
           reviewer: str | None) -> None:
    """Counts by source, stage, label and reviewer."""
    from screener.workflow.status import format_status
    from screener.workflow.status import status as get_status

    with open_from(review_dir, db_url) as review:
        data = get_status(review, reviewer)
    if as_json:
        emit_json(data)
    else:
        click.echo(format_status(data))


@main.group()
def protocol() -> None:
    """Check, print the schema of, show a stored version of, or amend a protocol."""


@protocol.command("check", epilog="FILE may be the name of a bundled example protocol "
                                   "(see init --help).")
@click.argument("file", type=PATH)
@click.option("--strict", is_flag=True,
              help="Fail (exit 2) on a warning too, e.g. to check a protocol in CI.")
def protocol_check(file: Path, strict: bool) -> None:
    """Validate FILE; report every problem with its line and field."""
    from screener.protocol import protocol_or_example
    from screener.workflow.model_settings import read_protocol

    proto, text = read_protocol(protocol_or_example(file))
    if strict:
        warned = _warn_of_settings(file, text)
        if warned:
            raise Refused(f"--strict: {counted(warned, 'warning')} "
                              f"{'fails' if warned == 1 else 'fail'} the check of {file} "
                              "(above); change the settings it names, or check without "
                              "--strict")
    click.echo(f"{file}: OK ({counted(len(proto.criteria), 'criterion', 'criteria')}, "
               f"{counted(len(proto.exclusion_reasons), 'exclusion reason')}, "
               f"{counted(proto.screening.reviewers_per_record, 'reviewer')} per record)")
    if not strict:
        _warn_of_settings(file, text)


def _warn_of_settings(file: Path, text: str | None = None) -> int:
    """`protocol_warnings` of a protocol checked, or stored by init or amend (its text read
    as they read it), on stderr; how many there were."""
    from screener.protocol import protocol_warnings
    from screener.workflow.model_settings import read_protocol

    warnings = protocol_warnings(read_protocol(file)[1] if text is None else text)
    for warning in warnings:
        click.echo(f"warning: {file}: {warning}", err=True)
    return len(warnings)


@protocol.command("schema")
def protocol_schema() -> None:
    """Print the protocol JSON Schema."""
    from screener.protocol import schema_json

    click.echo(schema_json(), nl=False)


@protocol.command("show")
@click.option("--version", "version", type=click.IntRange(min=1), default=None, metavar="N",
              help="The protocol version to write (default: the one in force).")
@review_options
def protocol_show(version: int | None, review_dir: Path | None, db_url: str | None) -> None:
    """Write a stored protocol version to standard output, byte for byte as it was hashed
    (`screener protocol show --version 1 | sha256sum` gives the sha256 the review printed for
    it), e.g. to publish an earlier version beside the report."""
    from screener.workflow.review import protocol_version_text

    with open_from(review_dir, db_url) as review:
        _, text, _ = protocol_version_text(review, version)
    click.echo(text.encode("utf-8"), nl=False)  # bytes: no newline translation, no re-encoding


@protocol.command("amend")
@click.argument("file", type=PATH)
@click.option("--reason", required=True, help="What changed and why.")
@click.option("--drop-used", is_flag=True,
              help="Amend even if the new version drops an exclusion reason or criterion id "
                   "that decisions cite, or a stage decisions were made at (refused "
                   "otherwise).")
@review_options
def protocol_amend(file: Path, reason: str, drop_used: bool, review_dir: Path | None,
                   db_url: str | None) -> None:
    """Record FILE as a new protocol version (earlier versions are kept)."""
    from screener.protocol import example_named
    from screener.workflow.review import amend_protocol

    if (name := example_named(file)) is not None:  # it would replace the review's protocol
        raise Refused(f"{file} is the name of a bundled example protocol, not a file here: "
                      "amend with the path of your edited protocol file (the review keeps "
                      "its copy as protocol.yaml in its folder); a new review starts from "
                      f"the example with `screener init DIR --protocol {name}`")

    # FILE is read as given: the folder's protocol.yaml holding an earlier version is not
    # put right first (written there to go back to that version, it would be lost)
    with open_from(review_dir, db_url, mend_copy=False) as review:
        amendment = amend_protocol(review, file, reason, drop_used=drop_used)
    click.echo(f"protocol version {amendment.version} recorded")
    click.echo(f"protocol v{amendment.version} sha256 {amendment.sha256}")
    _warn_of_settings(file)
    if amendment.dropped:
        click.echo("warning: decisions still cite what this version dropped: "
                   f"{'; '.join(map(str, amendment.dropped))}", err=True)
    for change in amendment.changed_outcomes:
        click.echo(f"warning: under the new screening rules, {change}", err=True)
    for warning in amendment.warnings:
        click.echo(f"warning: {warning}", err=True)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@review_options
def db_upgrade(review_dir: Path | None, db_url: str | None) -> None:
    """Apply pending migrations."""
    from screener.workflow.review import upgrade_database

    before, after = upgrade_database(review_dir, db_url)
    click.echo(f"database at revision {after}" + (f" (was {before})" if before != after else ""))


@main.command()
@click.argument("target", type=PATH)
@review_options
def backup(target: Path, review_dir: Path | None, db_url: str | None) -> None:
    """Copy the review folder to TARGET, a new folder, safely while others screen.

    review.db is copied with SQLite's online backup (a consistent snapshot, decisions still
    in review.db-wal included), the rest of the folder beside it; the copy is checked
    (it opens, SQLite's integrity check passes) before it takes its name. A review kept in
    PostgreSQL is backed up with pg_dump.
    """
    from screener.workflow.backup import backup_review

    with open_from(review_dir, db_url) as review:
        done = backup_review(review, target)
    click.echo(f"backed up {review.location} to {done.target}: review.db "
               f"({counted(done.decisions, 'decision')}, integrity check OK), "
               f"{', '.join(done.files)}")
    say_removed(done.removed, done.target.parent, "backup")
    if review.folder is not None:
        say_removed(done.amending_removed, review.folder, "protocol amend")


@main.command()
@click.argument("backup_dir", metavar="BACKUP", type=PATH)
@click.option("--review", "review_dir", type=PATH, default=None, metavar="DIR",
              help="Review folder to restore into (default: the current folder).")
@click.option("--discard-newer", is_flag=True,
              help="Restore even though the review holds decisions, imports or events the "
                   "backup lacks: they are lost (the event log records how many).")
@click.option("--db", "db_url", metavar="URL", envvar="SCREENER_DB", type=DB_URL,
              default=None, help="The review's database, when not the folder's review.db: "
                                 "a review kept in PostgreSQL is refused (pg_restore "
                                 "restores it). Also read from SCREENER_DB. Without it, a "
                                 "folder with its protocol.yaml and no review.db gets the "
                                 "backup's back.")
def restore(backup_dir: Path, review_dir: Path | None, discard_newer: bool,
            db_url: str | None) -> None:
    """Put the review.db of BACKUP (a folder `screener backup` wrote) back in the review folder.

    Refused when the review holds decisions, imports or events the backup lacks (counted per
    reviewer), unless --discard-newer; refused while a window or command has the review
    open. The backup's database is copied beside review.db, checked, then renamed onto it,
    so nothing half-written is left; protocol.yaml follows the restored protocol in force.
    A review kept in PostgreSQL is restored with pg_restore instead.
    """
    from screener.workflow.backup import restore_review

    done = restore_review(review_dir or Path.cwd(), backup_dir, discard_newer=discard_newer,
                          db_url=db_url)
    click.echo(f"restored {done.folder} from {done.backup}: review.db "
               f"({counted(done.decisions, 'decision')}, integrity check OK)")
    if done.discarded:
        click.echo(f"warning: discarded what the backup lacked (--discard-newer): "
                   f"{done.discarded.text()}", err=True)
    if done.unread:
        click.echo(f"warning: the review.db replaced could not be read ({done.unread}); "
                   "what it held newer than the backup is lost", err=True)
    if done.had_none:
        click.echo(f"note: {done.folder} had no review.db: the backup's is now its "
                   "review (a review kept in PostgreSQL is restored with pg_restore instead: "
                   "remove this review.db and give --db)", err=True)


def say_removed(names: tuple[str, ...], folder: Path, what: str) -> None:
    """One note on stderr naming the leftovers of interrupted runs a command removed."""
    if names:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        click.echo(f"note: removed {counted(len(names), 'leftover')} of an interrupted {what} "
                   f"from {folder} ({shown}): unchanged for over an hour, so no running "
                   f"{what} was writing {'them' if len(names) > 1 else 'it'}", err=True)


# --- screening from scripts --------------------------------------------------------------



@main.command("next")
@review_options
@click.option("--reviewer", required=True,
              help="Your name, as stored with your decisions: the record is offered to you.")
@stage_option()
@click.option("--json", "as_json", is_flag=True,
              help="Print the record as JSON, with the ranking_id and rank_position to give "
                   "`decide` (null when none is left to screen now: exit code 0 when "
                   "screening is finished, 75 when records are held on other reviewers' "
                   "screens).")
@click.option("--new-reviewer", is_flag=True,
              help="Join a review that has reviewers already under a name it has not seen "
                   "(without it such a name is refused, in case it is a typo).")
def next_(review_dir: Path | None, db_url: str | None, reviewer: str, stage: str,
          as_json: bool, new_reviewer: bool) -> None:
    """Print the record the --reviewer should screen next.

    When none is left: "nothing left to screen" (null with --json) and exit code 0; when the
    records left are on other reviewers' screens, "nothing to screen for now" (null) and
    exit code 75: try again later."""
    from screener.core.decisions import Stage
    from screener.workflow.screening import ScreeningSession, reviewer_name, screening_reviewer

    reviewer_name(reviewer)  # a name that cannot be one is refused before anything else
    with open_from(review_dir, db_url) as review:
        # a typo would be registered as a screener, offered every record (as decide and
        # screen refuse it)
        reviewer = screening_reviewer(review, reviewer, new=new_reviewer)
        session = ScreeningSession(review, reviewer, Stage(stage))
        item = session.next()
        from screener.workflow.importing import dedup_note

        waiting = dedup_note(review)
    if waiting:  # an update search imported, not deduplicated: its copies would come up
        click.echo(f"note: {waiting}", err=True)
    if item is None:
        if not session.held:
            click.echo("null" if as_json else "nothing left to screen")
            if session.left_out:
                from screener.workflow.team import left_out_note

                click.echo("note: " + left_out_note(session.left_out, reviewer, session.stage),
                           err=True)
            return
        from screener.workflow.team import CLAIM_MINUTES

        click.echo("null" if as_json else "nothing to screen for now")
        click.echo(f"note: {counted(session.held, 'record')} "
                   f"{plural(session.held, 'is', 'are')} on other reviewers' screens "
                   "(offered to them, not yet decided); they come back if those reviewers "
                   f"quit or leave them for {CLAIM_MINUTES} minutes: try again later "
                   f"(exit code {EXIT_TRY_LATER})", err=True)
        sys.exit(EXIT_TRY_LATER)
    added = session.queue.added_since_ranking
    if added:  # `next` ranks nothing itself (before any ranking: import order), so it says
        click.echo(f"note: the ranking predates {counted(added, 'record')} imported since, "
                   "which come after the records it ranked; run `screener rank` to rank "
                   "them", err=True)
    r = item.record
    data = {"record_id": r.id, "title": r.title, "abstract": r.abstract,
            "authors": list(r.authors), "year": r.year, "journal": r.journal, "doi": r.doi,
            "pmid": r.pmid, "ranking_id": item.ranking_id, "rank_position": item.rank_position,
            "score": item.score}
    if as_json:
        emit_json(data)
    else:
        from screener.workflow.screening import shown_text

        click.echo(f"[{r.id}] {shown_text(r.title, '(no title)')}\n"
                   f"{shown_text(r.citation)}\n\n{shown_text(r.abstract, '(no abstract)')}")


@main.command()
@click.argument("record_id", type=DB_ID)
@review_options
@click.option("--reviewer", required=True, help="Your name, as stored with your decisions.")
@click.option("--label", type=click.Choice(["include", "exclude", "maybe"]), required=True,
              help="Your decision (maybe: title/abstract only).")
@click.option("--reason", default=None, help="Exclusion reason id from the protocol.")
@click.option("--criterion", "criteria", multiple=True, help="Criterion id (repeatable).")
@click.option("--note", default="",
              help="A free-text note kept with the decision (in the decision log and the "
                   "records export).")
@stage_option()
@click.option("--ranking-id", type=DB_ID, default=None,
              help="The ranking that showed the record (`next --json` prints it): the log and the "
                   "methods text then record that screening followed the ranking.")
@click.option("--rank-position", type=POSITION, default=None,
              help="The record's place among the records the reviewer still had to screen "
                   "in that ranking, 1 for the first (`next --json` prints it); needs "
                   "--ranking-id.")
@click.option("--new-reviewer", is_flag=True,
              help="Decide under a name the review has not seen while it has reviewers "
                   "already (without it such a name is refused, in case it is a typo).")
def decide(record_id: int, review_dir: Path | None, db_url: str | None, reviewer: str,
           label: str, reason: str | None, criteria: tuple[str, ...], note: str,
           stage: str, ranking_id: int | None, rank_position: int | None,
           new_reviewer: bool) -> None:
    """Record a decision on RECORD_ID."""
    from screener.cli.team import note_if_blinding_ended
    from screener.core.decisions import Label, Role, Stage
    from screener.workflow.review import NothingChanged
    from screener.workflow.screening import record_decision, screening_reviewer
    from screener.workflow.team import blinding_ends_on_listing, change_after_reconciliation

    with open_from(review_dir, db_url) as review:
        # a typo would become another screener, counted as a record's second reviewer
        reviewer = screening_reviewer(review, reviewer, new=new_reviewer)
        # the adjudicator's decision resolves, as `resolve` does: a first one ends blinding
        unscreened = blinding_ends_on_listing(review, Stage(stage), reviewer)
        # an agreed record made a conflict again, or given another outcome (the screen asks)
        undone_agreement = change_after_reconciliation(
            review, record_id, reviewer, Stage(stage), Label(label), reason)
        try:
            d = record_decision(review, record_id, reviewer, Label(label), stage=Stage(stage),
                                reason_id=reason, criterion_ids=criteria, note=note,
                                ranking_id=ranking_id, rank_position=rank_position,
                                # a record `next` offered: refused if decided meanwhile (by
                                # others who settled it, or by the same reviewer in another
                                # shell), unless it is this decision (the command run again)
                                if_needed=ranking_id is not None, repeat_ok=True)
        except NothingChanged as exc:
            click.echo(str(exc))
            return
        note_if_blinding_ended(review, stage, unscreened)
    if undone_agreement:
        click.echo(f"warning: {undone_agreement} (`screener decide` stores it without "
                   "asking, as the screen does; deciding again as before restores the "
                   "agreement)", err=True)
    role = " (adjudicator)" if d.reviewer_role == Role.ADJUDICATOR else ""
    click.echo(f"decision {d.seq}: record {record_id} {label} by {reviewer}{role} at {stage}")


@main.command("not-retrieved")
@click.argument("record_id", type=DB_ID)
@review_options
@click.option("--undo", is_flag=True, help="Take the mark back: the report is sought again.")
@click.option("--reviewer", default=None,
              help="Who marks it (blind dual screening: the adjudicator only).")
def not_retrieved(record_id: int, review_dir: Path | None, db_url: str | None,
                  undo: bool, reviewer: str | None) -> None:
    """Mark RECORD_ID's full-text report as not retrieved (PRISMA: reports not retrieved);
    the UI's r key does the same."""
    from screener.workflow.review import NothingChanged
    from screener.workflow.screening import mark_not_retrieved, unmark_not_retrieved

    with open_from(review_dir, db_url) as review:
        try:
            (unmark_not_retrieved if undo else mark_not_retrieved)(review, record_id, reviewer)
        except NothingChanged as exc:  # run again: the mark is as asked already
            click.echo(str(exc))
            return
    click.echo(f"record {record_id}: full-text report "
               + ("sought again" if undo else "marked not retrieved"))


@main.command()
@click.argument("directory", required=False, type=PATH)
@click.option("--reviewer", default="demo", show_default=True,
              help="The name you screen the demo under.")
@click.option("--no-ui", is_flag=True, help="Only create the demo review; do not open the UI.")
def demo(directory: Path | None, reviewer: str, no_ui: bool) -> None:
    """Create the bundled demo review (882 real records) and open the screening UI.

    DIRECTORY defaults to demo-review in the current folder; run again, it reopens the
    review there."""
    from screener.workflow.demo import ensure_demo

    # the UI needs keys from a terminal and a terminal to draw in; without it, the status
    ui = not no_ui and interactive()
    if ui:  # before the review is made: nothing done, nothing to undo
        refuse_dumb_terminal(" (`screener demo --no-ui` makes the demo review without it)")
    review, created = ensure_demo(directory)
    with review:
        if created:
            click.echo(f"demo review created at {review.location}")
        else:
            click.echo(f"the demo review is at {review.location} (made before)"
                       + ("; opening it" if ui else ""))
        if not ui:
            from screener.workflow.status import format_status
            from screener.workflow.status import status as get_status

            click.echo(format_status(get_status(review)))
            if not no_ui:
                click.echo("(not a terminal: run `screener demo` in a terminal to screen)")
            return
        _run_ui(review, reviewer, "title_abstract")


def interactive() -> bool:
    """Whether the command reads keys from a terminal and writes to one (the UI needs both)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def refuse_dumb_terminal(hint: str = "") -> None:
    """Refuse to open the full-screen UI where TERM=dumb (Emacs's shell, some consoles): such
    a terminal cannot move the cursor, so the UI would fill it with escape sequences."""
    import os

    if os.environ.get("TERM") == "dumb":
        from screener.workflow.review import ReviewError

        raise ReviewError("this terminal (TERM=dumb) cannot show the full-screen screening "
                          "UI; run it in a terminal such as xterm or tmux, or screen from "
                          "the command line with `screener next` and `screener decide`"
                          + hint)


def _run_ui(review: Any, reviewer: str, stage: str) -> None:
    try:
        from screener.tui.app import run_app
    except ImportError:  # pragma: no cover - the UI lands in its own change
        raise click.ClickException("the terminal UI is not available in this build") from None
    run_app(review, reviewer, stage)


def _register() -> None:
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
