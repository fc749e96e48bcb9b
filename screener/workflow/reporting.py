"""Reporting use cases: PRISMA 2020 counts from the database, the decision log, records
and the methods report, written to files safely (never over an existing file unless
forced; written whole through a temporary file).

Counting policy (PRISMA 2020, new review, databases + registers + other methods):
- identification: sources of kind database/register in the main column, kind `other`
  (citation searching, websites, organisations) in the other-methods column, per source name;
- duplicates removed: active duplicate links of main-column records;
- records screened: main-column records left after removing duplicates;
- excluded by a human: title/abstract outcome `exclude`; excluded by automation tools:
  records no human screened, once the protocol's stopping rule is met (`stopping_rule_met`;
  PRISMA's ** footnote). Before that they are not yet screened: neither excluded nor sought;
- reports sought: title/abstract outcome include or maybe; not retrieved / assessed: the
  full-text report status; excluded at full text: per exclusion reason label;
- studies included = reports of included studies = full-text outcome include (one report
  per study: screener does not link several reports to one study).
Records in conflict or waiting for another reviewer are neither excluded nor sought:
the arithmetic check then lists them, so a diagram is never silently wrong.
Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from screener.core import audit
from screener.core.audit import LogEvent
from screener.core.dates import latest_search_day
from screener.core.decisions import Decision, Label, ReportStatus, Role, Stage
from screener.core.outcomes import Outcome, passes_title_abstract
from screener.core.paths import sync_file, sync_folder
from screener.core.prisma import PreviousVersion, PrismaCounts, check
from screener.core.wording import counted as _n
from screener.core.wording import number as _count
from screener.core.wording import percent, share_of
from screener.core.wording import plural as _s
from screener.core.wording import were as _were
from screener.storage import Session, repo
from screener.workflow.audit_check import check_tables
from screener.workflow.importing import records_not_deduplicated
from screener.workflow.progress import (
    Progress,
    counts_since,
    not_estimable,
    progress,
)
from screener.workflow.review import (
    SETTLED_BY_AMENDMENT,
    Review,
    ReviewError,
    protocol_copy_note,
    stored_protocols,
)
from screener.workflow.screening import outcomes

if TYPE_CHECKING:
    from screener.core.protocol import Protocol, SearchStrategy
    from screener.exports.prisma import DiagramNotes
    from screener.exports.report import ImportFix, LogState, ProtocolVersionInfo, Split

MAIN_KINDS = ("database", "register")


@dataclass(frozen=True, slots=True)
class PrismaResult:
    counts: PrismaCounts
    problems: tuple[str, ...]
    """Arithmetic inconsistencies (empty when the diagram adds up)."""
    notes: tuple[str, ...]
    """What a reader of the numbers should know (e.g. records left to automation)."""
    unscreened: int = 0
    """Records screened in the PRISMA sense that no reviewer has decided on yet."""
    draft: str = ""
    """Why the diagram is not final ("" when it is): printed on every exported diagram."""
    other_methods: tuple[int, int, int] = (0, 0, 0)
    """Records identified through other methods that the diagram has no box for: removed
    as duplicates, excluded at title/abstract, not screened or settled yet."""
    other_unscreened: int = 0
    """Records identified through other methods that no reviewer has decided on yet."""
    reports_excluded: frozenset[int] = frozenset()
    """The reports the diagram counts as excluded at full text, in either column: those its
    reasons count (a record removed as a duplicate is none of them)."""
    warnings: tuple[str, ...] = ()
    """What the exported file cannot show as it should (e.g. characters no font has)."""


def prisma_counts(review: Review, rule_met: bool | None = None) -> PrismaResult:
    """Every PRISMA 2020 number, computed from the database, then checked. `rule_met`:
    `stopping_rule_met`'s answer when the caller already has it (computed here otherwise,
    only if some records are unscreened)."""
    with review.read() as session:
        sources = repo.sources(session)
        kind_of_source = {s["id"]: s["kind"] for s in sources}
        records = {rid: kind_of_source.get(sid, "database")
                   for rid, sid in repo.record_sources(session).items()}
        removed = repo.removed_duplicate_ids(session)
        ta = outcomes(review, session, Stage.TITLE_ABSTRACT)
        from screener.workflow.team import allocation_in_force, record_outcomes, waiting_note

        allocated = allocation_in_force(session, Stage.TITLE_ABSTRACT)
        ft_with = record_outcomes(review, session, Stage.FULL_TEXT)
        ft = {rid: outcome for rid, (outcome, _) in ft_with.items()}
        reports = repo.reports(session)
        not_deduplicated, _ = records_not_deduplicated(session)
        reason_of = _exclusion_reason_labels(session, review.protocol, ft)
    # excluded by both screeners with different reasons (allowed when the protocol does not
    # count it as a conflict): one reason goes in the diagram, and the notes say so
    two_reasons = sorted(
        rid for rid, (o, ds) in ft_with.items()
        if o.label == Label.EXCLUDE and not o.adjudicated and rid not in removed
        and len({d.reason_id for d in ds if d.reviewer_role != Role.ADJUDICATOR}) > 1)
    main = {rid for rid, kind in records.items() if kind in MAIN_KINDS}
    other = {rid for rid, kind in records.items() if kind not in MAIN_KINDS}

    def per_name(kinds: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
        totals: dict[str, int] = {}
        for s in sources:
            if s["kind"] in kinds:
                totals[s["name"]] = totals.get(s["name"], 0) + s["records"]
        return tuple(totals.items())

    has_full_text = Stage.FULL_TEXT in review.protocol.stages
    screened = main - removed
    excluded_human = {r for r in screened if r in ta and ta[r].label == Label.EXCLUDE}
    untouched = {r for r in screened if r not in ta}
    stopped = bool(untouched) and (stopping_rule_met(review)[0] if rule_met is None
                                   else rule_met)
    pending = {r for r in screened if r in ta and ta[r].label is None}
    reason_label = {r.id: r.label for r in review.protocol.exclusion_reasons}
    counted_excluded: set[int] = set()

    def column(ids: set[int]
               ) -> tuple[int, int, int, int, tuple[tuple[str, int], ...], int, int]:
        """Sought, not retrieved, assessed, excluded, the reasons, included, and the
        reports neither retrieved-and-assessed nor marked that are in conflict."""
        sought = {r for r in ids if r in ta and passes_title_abstract(ta[r])}
        if not has_full_text:  # the diagram ends at the records passed on
            return len(sought), 0, 0, 0, (), 0, 0
        not_retrieved = {r for r in sought if reports.get(r) == ReportStatus.NOT_RETRIEVED}
        assessed = {r for r in sought if r in ft and ft[r].label in (Label.INCLUDE,
                                                                     Label.EXCLUDE)}
        excluded = {r for r in assessed if ft[r].label == Label.EXCLUDE}
        counted_excluded.update(excluded)
        reasons = Counter(reason_of[r] for r in excluded)
        ordered = tuple((label, reasons[label]) for label in
                        [*reason_label.values(), *sorted(set(reasons) - set(reason_label.values()))]
                        if reasons.get(label))
        in_conflict = sum(1 for r in sought - not_retrieved - assessed
                          if r in ft and ft[r].conflict)
        return (len(sought), len(not_retrieved), len(assessed), len(excluded), ordered,
                len(assessed) - len(excluded), in_conflict)

    m_sought, m_nr, m_assessed, m_excl, m_reasons, m_incl, m_conf = column(screened)
    o_sought, o_nr, o_assessed, o_excl, o_reasons, o_incl, o_conf = column(other - removed)
    counts = PrismaCounts(
        databases=per_name(("database",)), registers=per_name(("register",)),
        other_sources=per_name(("other",)),
        duplicates_removed=len(main & removed),
        # in a draft, the records screened so far: the box must not claim the rest
        records_screened=len(screened) if stopped or not untouched else len(
            screened - untouched),
        records_excluded_human=len(excluded_human),
        records_excluded_automation=len(untouched) if stopped else 0,
        reports_sought=m_sought, reports_not_retrieved=m_nr, reports_assessed=m_assessed,
        reports_excluded=m_excl, reports_excluded_reasons=m_reasons,
        studies_included=m_incl + o_incl, reports_included=m_incl + o_incl,
        other_reports_sought=o_sought, other_reports_not_retrieved=o_nr,
        other_reports_assessed=o_assessed, other_reports_excluded=o_excl,
        other_reports_excluded_reasons=o_reasons, full_text=has_full_text,
    )
    notes = [] if has_full_text else [_title_abstract_only(
        sum(1 for r in (screened | other) - removed
            if r in ta and ta[r].label == Label.MAYBE))]
    if untouched and stopped:
        n = len(untouched)
        notes.append(f"{_n(n, 'record')} {_were(n)} not screened by a reviewer; "
                     f"{'it is' if n == 1 else 'they are'} counted as excluded by automation "
                     "tools (the protocol's stopping rule is met)")
    elif untouched:
        n = len(untouched)
        notes.append(f"{_n(n, 'record')} {'has' if n == 1 else 'have'} not been screened "
                     "yet and the protocol's stopping rule is not met, so "
                     f"{'it is' if n == 1 else 'they are'} neither excluded nor sought: the "
                     "diagram is not final")
    # Dual screening counts the reason of the reviewer who decided first (record_outcomes
    # gives the decisions in that order); single screening (after an amendment from dual,
    # say) the latest decision's: each note names its rule.
    by_rule: dict[tuple[str, bool], list[int]] = {}
    for rid in two_reasons:
        outcome, decisions = ft_with[rid]
        screeners = [d for d in decisions if d.reviewer_role != Role.ADJUDICATOR]
        first = screeners[0]
        rule = "who decided first" if outcome.reason_id == first.reason_id else "who decided last"
        by_rule.setdefault((rule, len(screeners) > 2), []).append(rid)
    for (rule, more), rids in by_rule.items():
        n = len(rids)
        # two reviewers are "both"; three or more, all of the report's reviewers
        who = "both reviewers" if not more else f"all {'its' if n == 1 else 'their'} reviewers"
        notes.append(f"{_n(n, 'full-text report')} {_were(n)} excluded by {who} "
                     f"for different reasons; the diagram counts the reason of the reviewer "
                     f"{rule} ({_s(n, 'record')} {', '.join(map(str, rids[:20]))})")
    conflicts = sum(1 for r in pending if ta[r].conflict)
    waiting = len(pending) - conflicts
    if conflicts:
        notes.append(f"{_n(conflicts, 'record')} {'is' if conflicts == 1 else 'are'} in "
                     "conflict at title/abstract (to resolve)")
    if waiting:
        notes.append(f"{_n(waiting, 'record')} {'waits' if waiting == 1 else 'wait'} for "
                     "another reviewer at title/abstract")
    # The other-methods column of PRISMA 2020 goes from "identified" to "reports sought":
    # it has no box for duplicates or for records screened out, so they are named here
    # (report them in the text) and every identified record is accounted for.
    o_kept = other - removed
    o_dup = len(other & removed)
    o_excluded = sum(1 for r in o_kept if r in ta and ta[r].label == Label.EXCLUDE)
    o_open = sum(1 for r in o_kept if r not in ta or ta[r].label is None)
    if o_dup:
        notes.append(f"{_n(o_dup, 'record')} identified through other methods "
                     f"{_were(o_dup)} {'a duplicate' if o_dup == 1 else 'duplicates'} and "
                     f"{_were(o_dup)} removed; the diagram's other-methods column has no box "
                     f"for {'it: report it' if o_dup == 1 else 'them: report them'} in the "
                     "text")
    if o_excluded:
        notes.append(f"{_n(o_excluded, 'record')} identified through other methods "
                     f"{_were(o_excluded)} excluded at title/abstract screening; the "
                     "other-methods column has no box for "
                     f"{'it: report it' if o_excluded == 1 else 'them: report them'} in the "
                     "text")
    why = ([f"{_n(len(untouched), 'record')} not screened yet"] if untouched and not stopped
           else [])
    # a review with nothing imported is not a finished one that found nothing
    why += ["no records imported yet"] if not records else []
    # an update search not deduplicated yet: its copies of records screened before count
    # as identified, screened and (unscreened) excluded, and dedup will change them
    why += [f"{_n(not_deduplicated, 'record')} imported since dedup last ran (run "
            "`screener dedup`)"] if not_deduplicated else []
    why += [f"{_n(o_open, 'record')} from other methods not screened or settled yet"
            ] if o_open else []
    why += [f"{conflicts:,} in conflict"] if conflicts else []
    why += [waiting_note(waiting, allocated=allocated)] if waiting else []
    awaiting = ((m_sought - m_nr - m_assessed) + (o_sought - o_nr - o_assessed)
                if has_full_text else 0)
    # of those, the ones whose reviewers disagree wait for the adjudicator, not a reviewer
    ft_conflicts = m_conf + o_conf
    why += [f"{_n(ft_conflicts, 'full-text report')} in conflict (to resolve)"
            ] if ft_conflicts else []
    unassessed = awaiting - ft_conflicts
    why += [f"{_n(unassessed, 'full-text report')} not assessed yet"] if unassessed > 0 else []
    draft = f"DRAFT, not final: {'; '.join(why)}" if why else ""
    # In a draft, the boxes a draft line already explains do not add up yet: those checks
    # are left out when the gap is exactly what the draft line names.
    explained = []
    if untouched and not stopped:  # screened < identified − removed
        explained.append("Records screened (n =")
    if pending and (counts.records_screened - counts.records_excluded - counts.reports_sought
                    == len(pending)):  # in conflict or waiting: neither excluded nor sought
        explained.append("Reports sought for retrieval (n =")
    if has_full_text and m_sought - m_nr - m_assessed > 0:  # not assessed yet
        explained.append("Reports assessed for eligibility (n =")
    if has_full_text and o_sought - o_nr - o_assessed > 0:
        explained.append("Reports assessed for eligibility (other methods) (n =")
    problems = [p for p in check(counts) if not p.startswith(tuple(explained))]
    o_untouched = sum(1 for r in o_kept if r not in ta)
    return PrismaResult(counts, tuple(problems), tuple(notes), len(untouched), draft,
                        (o_dup, o_excluded, o_open), o_untouched, frozenset(counted_excluded))


def _title_abstract_only(maybe: int) -> str:
    """The note of a diagram that ends at the reports sought (no full-text stage)."""
    rated = f"those rated maybe ({_n(maybe, 'record')})" if maybe else "any rated maybe"
    return ("The protocol has no full-text stage, so screening in screener ended at title "
            "and abstract: the reports sought for retrieval are the records rated include "
            f"there and {rated}, passed on to be read in full; the diagram ends at that box, "
            "as screener recorded no retrieval, full-text assessment or studies included")


def stopping_rule_met(review: Review) -> tuple[bool, list[Progress]]:
    """Is the protocol's stopping rule met at title/abstract? It must be met (stopping test
    and every SAFE item, `Progress.criteria_met`) for every screener who has made
    title/abstract decisions; their progress is returned too. False when nobody has."""
    from screener.core.decisions import Role

    with review.read() as session:
        screeners = {r.name for r in repo.reviewers(session) if r.role == Role.SCREENER}
        active = sorted(screeners & {d.reviewer for d in
                                     repo.current_decisions(session, Stage.TITLE_ABSTRACT)})
    progs = [progress(review, name, Stage.TITLE_ABSTRACT) for name in active]
    return bool(progs) and all(p.criteria_met for p in progs), progs


def _still_blind(review: Review, hidden: set[Stage], why: str, then: str) -> str:
    """A refusal that names the stages still blind and what opens them."""
    from screener.workflow.team import reconcile_command

    names = " and ".join(s.label for s in review.protocol.stages
                         if s in hidden)
    first = min(hidden, key=review.protocol.stages.index)
    return (f"{names} screening is still blind (reconciliation has not started there): "
            f"{why}; {then} once the adjudicator (in consensus mode, a screener) has run "
            f"`{reconcile_command(review, first)}`")


def _refuse_while_blind(review: Review, what: str) -> None:
    from screener.workflow.team import BlindingError, blind_stages

    with review.read() as session:
        blind = blind_stages(review, session)
    if blind:
        raise BlindingError(_still_blind(review, blind, f"{what} combine the reviewers' "
                                         "decisions", "they are available"))


AFTER_SOUGHT = ("reports_not_retrieved", "reports_assessed", "reports_excluded",
                "reports_excluded_reasons", "studies_included", "reports_included",
                "other_reports_not_retrieved", "other_reports_assessed",
                "other_reports_excluded", "other_reports_excluded_reasons")
"""The counts after the reports sought: null in status --json without a full-text stage."""


def prisma_status(review: Review, rule_met: bool | None = None) -> dict[str, object]:
    """The PRISMA numbers as a flat dict, for `screener status --json` (`rule_met` as in
    `prisma_counts`)."""
    from dataclasses import asdict

    result = prisma_counts(review, rule_met=rule_met)
    data = asdict(result.counts)
    for key, value in list(data.items()):
        if isinstance(value, tuple | list):
            data[key] = [{"name": n, "count": c} for n, c in value]
    if not result.counts.full_text:  # the diagram ends at the reports sought
        data.update(dict.fromkeys(AFTER_SOUGHT, None))
    data["records_excluded"] = result.counts.records_excluded
    data["identified"] = result.counts.identified
    data["problems"] = list(result.problems)
    data["notes"] = list(result.notes)
    data["records_not_yet_screened"] = (0 if result.counts.records_excluded_automation
                                        else result.unscreened)
    return data


# --- writing files safely -------------------------------------------------------------

def default_export_dir(review: Review) -> Path:
    return (review.folder or Path.cwd()) / "exports"


def resolve_output(review: Review, out: Path | None, default_name: str, force: bool,
                   option: str = "--out") -> Path:
    """Where to write: `out`, or exports/<default_name>. Never an existing file without
    `force`, never a folder, never through a symbolic link, never a file of the review's
    own. `option` is how the messages name the path's option."""
    target = out if out is not None else default_export_dir(review) / default_name
    if target.resolve() in _review_files(review):
        raise ReviewError(f"{target} is one of the review's own files; screener never writes "
                          "an export over it (not even with --force). Give another path with "
                          f"{option}")
    check_output(target, force, option, made_here=out is None)
    return target


def _review_files(review: Review) -> set[Path]:
    """The review's database (with SQLite's side files) and its protocol copy."""
    from screener.workflow.review import DB_FILE, PROTOCOL_FILE

    bases = []
    if review.folder is not None:
        bases.append(review.folder / DB_FILE)
    if review.db.sqlite_path is not None:
        bases.append(review.db.sqlite_path)
    files = {review.folder.resolve() / PROTOCOL_FILE} if review.folder is not None else set()
    for base in bases:
        for suffix in ("", "-wal", "-shm", "-journal"):
            files.add(base.resolve().with_name(base.name + suffix))
    return files


def check_output(target: Path, force: bool, option: str, made_here: bool = False) -> None:
    """Refuse an output path longer than the file system allows, a symbolic link (even a
    dangling one), a folder, an existing file without `force`, or in a folder that does not
    exist (created instead when `made_here`: screener's own exports folder)."""
    from screener.core.paths import too_long

    if problem := too_long(target):
        raise ReviewError(f"{option}: {problem}")
    try:
        _check_output(target, force, option, made_here)
    except OSError as exc:  # (e.g. a folder on the way that cannot be read)
        raise ReviewError(f"cannot write {target} ({exc.strerror}); choose another path "
                          f"with {option}") from None


def _check_output(target: Path, force: bool, option: str, made_here: bool) -> None:
    if target.is_symlink():
        raise ReviewError(f"{target} is a symbolic link; screener does not write through "
                          f"links. Give a plain file path with {option}")
    if target.is_dir():
        raise ReviewError(f"{target} is a folder; give a file path with {option}")
    if target.exists() and not force:
        raise ReviewError(f"{target} exists; pass --force to replace it, or choose another "
                          f"path with {option}")
    if target.parent.is_dir():
        return
    # the nearest existing path on the way: a file there is not a missing folder
    there = next((p for p in target.parents if p.exists()), None)
    if there is not None and not there.is_dir():
        if made_here:  # the review's exports/ (or a folder in it) is a plain file
            raise ReviewError(f"{there} is a file, not a folder: exports go in the folder "
                              f"{target.parent}. Rename or move that file (e.g. `mv {shlex.quote(str(there))} "
                              f"{shlex.quote(f'{there}.old')}`), or give a file path elsewhere "
                              f"with {option}")
        raise ReviewError(f"{there} is a file, not a folder; give {option} a file path "
                          "in a folder")
    if made_here:
        target.parent.mkdir(parents=True, exist_ok=True)
    else:
        raise ReviewError(f"{target.parent}: no such folder for {option}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()
"""The process's umask, read once at import (reading it means setting it)."""


def check_writable(target: Path, option: str) -> None:
    """Refuse `target` when no file can be created in its folder (tried by creating and
    removing a temporary file there), so that long work is not done for nothing."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".screener-", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ReviewError(f"{option} {target}: cannot write in {target.parent} "
                          f"({exc.strerror}); nothing was written. Choose a folder you can "
                          f"write in with {option}") from None
    os.close(fd)
    os.unlink(tmp)


def write_atomic(target: Path, writer: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename: never half a file.
    The temporary file's name is short (not the target's with more added), so any name the
    file system allows can be written. The file gets the permissions a plain new file
    would (0666 less the umask), not the temporary file's 0600, so teammates can read
    exports as they can the review."""
    write_all_atomic([(target, writer, "--out")])
    return target


def write_all_atomic(writes: Sequence[tuple[Path, Callable[[Path], None], str]]) -> None:
    """Write every file of `writes` (target, writer, the option that named it) or none.
    Each is written to a temporary file in its target's folder (as `write_atomic`); only
    when all are written are they renamed into place. Should a rename fail, the targets
    already renamed are put back: removed, or the file they replaced restored."""
    temps: list[tuple[Path, Path]] = []
    placed: list[tuple[Path, Path | None]] = []
    try:
        for target, writer, option in writes:
            try:
                fd, name = tempfile.mkstemp(prefix=".screener-", suffix=".tmp",
                                            dir=target.parent)
            except OSError as exc:
                raise ReviewError(f"cannot write in {target.parent} ({exc.strerror}); "
                                  f"nothing was written. Give {option} PATH in a folder "
                                  "you can write") from None
            os.close(fd)
            tmp = Path(name)
            temps.append((tmp, target))
            try:
                writer(tmp)
                os.chmod(tmp, 0o666 & ~_UMASK)
                sync_file(tmp)  # (before the rename: a power cut leaves old or new, whole)
            except Exception as exc:
                if isinstance(exc, OSError) or _nearly_full(target):
                    # (a writer such as matplotlib's PDF backend fails in its own way on a
                    # full disk)
                    why = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                           else "the disk is full")
                    raise ReviewError(f"writing {target} failed ({why}); nothing was "
                                      f"written. Free some space (or choose another place "
                                      f"with {option}) and try again") from None
                raise
        for tmp, target in temps:
            backup = None
            if target.exists():  # (--force) kept until every file is in place
                backup = tmp.with_name(tmp.name + ".old")
                try:
                    os.link(target, backup)
                except OSError:
                    backup = None
            try:
                os.replace(tmp, target)
            except OSError as exc:
                if backup is not None:
                    backup.unlink(missing_ok=True)
                raise ReviewError(f"writing {target} failed ({exc.strerror}); nothing was "
                                  "written") from None
            placed.append((target, backup))
    except BaseException:
        for target, backup in reversed(placed):
            if backup is not None:
                os.replace(backup, target)
            else:
                target.unlink(missing_ok=True)
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    for folder in {target.parent for target, _ in placed}:
        sync_folder(folder)
    for _, backup in placed:
        if backup is not None:
            backup.unlink(missing_ok=True)


def _nearly_full(target: Path) -> bool:
    try:
        return shutil.disk_usage(target.parent).free < 1 << 20
    except OSError:
        return False


def write_text_atomic(target: Path, text: str, bom: bool = False) -> Path:
    """Write `text` as UTF-8 (with `bom`, after a byte-order mark: how Excel tells UTF-8
    from Windows-1252) by way of a temporary file renamed into place."""
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8-sig" if bom else "utf-8")

    return write_atomic(target, write)


# --- exports ----------------------------------------------------------------------------

SUFFIXES: dict[str, tuple[str, ...]] = {
    "svg": (".svg",), "pdf": (".pdf",), "png": (".png",), "csv": (".csv",),
    "json": (".json",), "jsonl": (".jsonl", ".ndjson"), "ris": (".ris",),
    "bibtex": (".bib", ".bibtex"), "xlsx": (".xlsx",), "markdown": (".md", ".markdown")}
"""The file name endings of each format screener writes (the first is its own)."""

_OTHER_SUFFIXES = frozenset({".tsv", ".xls", ".html", ".htm", ".docx", ".odt", ".rtf"})
"""Endings of formats screener does not write, often given by mistake."""


def check_suffix(out: Path | None, fmt: str, offered: Sequence[str], what: str = "") -> None:
    """Refuse an --out whose ending names another format than `fmt` (one of `offered`,
    the command's formats): the file would hold `fmt` under a name that says otherwise.
    An ending that names no format (.txt, none) is taken as given. `what`: the output in
    words when the command writes one format ("the report is Markdown")."""
    if out is None:
        return
    suffix = out.suffix.lower()
    known = {s for suffixes in SUFFIXES.values() for s in suffixes} | _OTHER_SUFFIXES
    if suffix not in known or suffix in SUFFIXES[fmt]:
        return
    own = SUFFIXES[fmt][0]
    named = next((f for f in offered if suffix in SUFFIXES[f]), None)
    if named is not None:
        raise ReviewError(f"--out {out.name} names a {suffix} file but --format is {fmt}: "
                          f"give --format {named}, or an --out ending in {own}")
    but = what or (f"--format is {fmt} (this command writes "
                   f"{' or '.join(offered)})")
    raise ReviewError(f"--out {out.name} names a {suffix} file but {but}: give an --out "
                      f"ending in {own}")


PRISMA_FORMATS = ("svg", "pdf", "png", "csv", "json")


def previous_version(studies: int | None, reports: int | None) -> PreviousVersion | None:
    """The previous version of an updated review from --previous-studies and
    --previous-reports (None when neither is given); refuses one without the other, and
    fewer reports than studies."""
    if studies is None and reports is None:
        return None
    if studies is None or reports is None:
        given, missing = (("--previous-studies", "--previous-reports") if reports is None
                          else ("--previous-reports", "--previous-studies"))
        raise ReviewError(f"{given} needs {missing} too: give the studies the previous "
                          "version of the review included and their reports, or neither")
    if reports < studies:
        raise ReviewError(f"--previous-reports {reports} is fewer than --previous-studies "
                          f"{studies}: each study included has at least one report (give "
                          "the reports of those studies, or the studies as reports when "
                          "each had one)")
    return PreviousVersion(studies, reports)


def _check_previous(review: Review, previous: PreviousVersion | None) -> None:
    """Refuse the updated-review template for a protocol without a full-text stage: its
    "Previous studies" box flows only into "Total studies included in review", and the
    diagram of such a protocol ends at "Reports sought for retrieval"."""
    if previous is not None and Stage.FULL_TEXT not in review.protocol.stages:
        raise ReviewError(
            "--previous-studies and --previous-reports draw PRISMA 2020's template for "
            "updated reviews, whose previous studies join the new ones in \"Total studies "
            "included in review\"; the protocol has no full-text stage, so the diagram ends "
            "at \"Reports sought for retrieval\" and has no studies included to add them to. "
            "Leave both options out (and give the previous version's studies in the text), "
            "or add the full-text stage with `screener protocol amend`")


def export_prisma(review: Review, fmt: str = "svg", out: Path | None = None,
                  force: bool = False, strict: bool = False,
                  previous: PreviousVersion | None = None) -> tuple[Path, PrismaResult]:
    """Write the PRISMA 2020 diagram (or its counts) after checking the arithmetic;
    `previous`: the updated-review template, with the previous version's studies."""
    from screener.exports import prisma

    if fmt not in PRISMA_FORMATS:
        raise ReviewError(f"--format must be one of {', '.join(PRISMA_FORMATS)}")
    check_suffix(out, fmt, PRISMA_FORMATS)
    _check_previous(review, previous)
    _refuse_while_blind(review, "the PRISMA counts")
    result = prisma_counts(review)
    if previous is not None:  # the review's included studies are the new ones
        result = replace(result, counts=replace(result.counts, previous=previous))
    if strict and result.problems:
        raise ReviewError("the PRISMA numbers do not add up:\n  " + "\n  ".join(result.problems))
    target = resolve_output(review, out, f"prisma.{fmt}", force)
    if fmt in ("csv", "json"):  # the R template's boxes (the diagrams name each source)
        result = replace(result, notes=(*result.notes,
                                        *prisma.other_method_notes(result.counts),
                                        *prisma.list_cell_notes(result.counts)))
    counts, draft = result.counts, result.draft
    notes = (_diagram_notes(result.other_methods,
                            _reworded_reasons(review, result.reports_excluded))
             if fmt in ("svg", "pdf", "png") else None)
    if fmt == "svg":
        write_text_atomic(target, prisma.prisma_svg(counts, draft, notes))
    elif fmt == "csv":  # no row for it in the template: the title box's text says it
        write_text_atomic(target, prisma.prisma_csv(counts, draft))
    elif fmt == "json":
        write_text_atomic(target, prisma.prisma_json(counts, draft, result.notes,
                                                     result.problems))
    elif fmt == "pdf":
        write_atomic(target, lambda p: prisma.prisma_pdf(counts, p, draft, notes))
    else:
        write_atomic(target, lambda p: prisma.prisma_png(counts, p, draft=draft, notes=notes))
    if fmt in ("pdf", "png") and (lacking := prisma.prisma_missing_glyphs(counts, draft, notes)):
        result = replace(result, warnings=(*result.warnings, _missing_glyphs(fmt, lacking)))
    return target, result


def _missing_glyphs(fmt: str, lacking: list[tuple[str, str]]) -> str:
    """The warning for text the PDF or PNG diagram draws as empty boxes."""
    lines = "; ".join(f"{text!r} (no glyph for {chars})" for text, chars in lacking)
    return (f"the {fmt.upper()} diagram shows empty boxes in place of characters no font on "
            f"this machine has: {lines}. Install a font that has them (e.g. Noto Sans CJK "
            "for Chinese, Japanese or Korean) and export again, or use --format svg (its "
            "text stays text, which a browser draws with its own fonts) or --format csv")


def _diagram_notes(other_methods: tuple[int, int, int],
                   reworded: tuple[tuple[str, str, int], ...]) -> DiagramNotes:
    """The diagram's footnotes beyond PRISMA's own (`DiagramNotes`): the records from other
    methods its column has no box for (`PrismaResult.other_methods`: duplicates, excluded
    at title/abstract), as the notes on the counts say, and the reasons reworded after
    exclusions were made under them, as Table 2's note says."""
    from screener.exports.prisma import DiagramNotes

    return DiagramNotes(other_duplicates=other_methods[0], other_excluded=other_methods[1],
                        reworded=reworded)


def _reworded_reasons(review: Review, excluded: Collection[int]
                      ) -> tuple[tuple[str, str, int], ...]:
    """`_reason_amendments`' reworded reasons among the reports `excluded` (the diagram's,
    `PrismaResult.reports_excluded`), for a diagram made without the report."""
    with review.read() as session:
        ft = outcomes(review, session, Stage.FULL_TEXT)
        return _reason_amendments(
            session, review.protocol, stored_protocols(session), ft,
            sorted(r for r in excluded if r in ft), repo.current_decisions(session))[1]


def _visible_log(review: Review, viewer: str | None) -> list[object]:
    """The whole log, or with `viewer` that reviewer's own rows. The whole log is refused
    while a stage is still blind (its rows would show each reviewer the others')."""
    from screener.workflow.team import blind_stages

    with review.read() as session:
        hidden = blind_stages(review, session)
        log = repo.decision_log(session)
    if viewer is not None:
        return [d for d in log if d.reviewer == viewer]
    if hidden:
        raise ReviewError(_still_blind(
            review, hidden, "the whole log would show each reviewer the others' decisions. "
            "Export your own with --reviewer NAME", "the whole log can be exported"))
    return list(log)


def _own_file(viewer: str | None) -> str:
    """ "-ann": the end of a default export file name holding one reviewer's rows, so that
    two reviewers' exports (each their own, while blind) do not collide ("" for all rows)."""
    return "-" + re.sub(r"[^\w.-]+", "_", viewer) if viewer is not None else ""


def export_log(review: Review, fmt: str = "csv", out: Path | None = None, force: bool = False,
               viewer: str | None = None, bom: bool = False,
               warn: Callable[[str], None] | None = None) -> tuple[Path, int]:
    """Write the decision log in time order with each row's chained hash (`bom`: a CSV
    with a byte-order mark, for Excel; `warn` is told of the cells, notes mostly, that
    Excel would cut on opening it)."""
    from screener.core.audit import log_rows
    from screener.core.decisions import Decision
    from screener.exports._cells import csv_text
    from screener.exports.log import log_cells_over_excel_limit, log_jsonl, log_table

    if fmt not in ("csv", "jsonl"):
        raise ReviewError("--format must be csv or jsonl")
    check_suffix(out, fmt, ("csv", "jsonl"))
    _check_bom(bom, fmt)
    decisions = [d for d in _visible_log(review, viewer) if isinstance(d, Decision)]
    with review.read() as session:
        hashes = repo.ranking_hashes(session)
        removed = {link["record_id"]: link["kept_id"] for link in repo.duplicate_links(session)}
        merged = {seq: folder for first, last, folder in repo.merged_ranges(session)
                  for seq in range(first, last + 1)}
        reasons = _reason_labels_by_version(session) if fmt == "csv" else {}
        seq_of = {d.id: d.seq for d in decisions if d.id is not None and d.seq is not None}
        undoes = {seq_of[undo]: seq_of[withdrawn]
                  for undo, withdrawn in repo.undo_links(session).items()
                  if undo in seq_of and withdrawn in seq_of}
    rows = list(zip(log_rows(decisions, hashes), (d.row_hash for d in decisions), strict=True))
    # a subset is not mistaken for the whole (verifiable) log
    target = resolve_output(review, out, f"decision-log{_own_file(viewer)}.{fmt}", force)
    if fmt == "csv":
        header, table = log_table(rows, removed, merged, reasons, undoes)
        write_text_atomic(target, csv_text(header, table), bom)
        if bom and warn is not None:  # --excel: the file is for Excel, which cuts them
            _warn_excel_cuts(warn, log_cells_over_excel_limit(header, table))
    else:
        write_text_atomic(target, log_jsonl(rows))
    return target, len(rows)


def _warn_excel_cuts(warn: Callable[[str], None], long: Sequence[str]) -> None:
    """Tell `warn` of the cells of a CSV written for Excel (`--excel`) that are longer than
    Excel keeps (nothing when there are none)."""
    from screener.exports._cells import EXCEL_CELL_LIMIT

    if long:
        warn(f"{_n(len(long), 'cell')} {'is' if len(long) == 1 else 'are'} longer than "
             f"Excel's {EXCEL_CELL_LIMIT:,} characters ({_listed(long)}): the CSV "
             "keeps them whole, but Excel cuts them when it opens the file (and saving it "
             "from Excel would lose the rest); pandas and R read them whole")


def _check_bom(bom: bool, fmt: str) -> None:
    """Refuse `--excel` for a format other than CSV (XLSX opens in Excel as it is)."""
    if bom and fmt != "csv":
        raise ReviewError(f"--excel writes a CSV file with a byte-order mark for Excel, but "
                          f"--format is {fmt}: give --format csv, or leave out --excel")


def _exclusion_reason_labels(session: Session, protocol: Protocol, ft: dict[int, Outcome]
                            ) -> dict[int, str]:
    """Each record excluded at full text -> the wording of its reason: the protocol's; for
    a reason id an amendment dropped (`--drop-used`), the wording it had in the version the
    exclusion was made under, as the decision log's reason_label gives it (the bare id when
    that version no longer loads); "no reason" without one."""
    now = {r.id: r.label for r in protocol.exclusion_reasons}
    out: dict[int, str] = {}
    dropped: dict[int, str] = {}
    for rid, outcome in ft.items():
        if outcome.label != Label.EXCLUDE:
            continue
        reason = outcome.reason_id or ""
        if reason in now or not reason:
            out[rid] = now.get(reason, "no reason")
        else:
            dropped[rid] = reason
    if dropped:
        wording = _reason_wording(session, protocol)
        made = sorted((d for d in repo.current_decisions(session, Stage.FULL_TEXT, list(dropped))
                       if d.label == Label.EXCLUDE and d.reason_id == dropped[d.record_id]),
                      key=lambda d: d.id or 0)
        for d in made:  # the latest exclusion with that reason gives its wording
            out[d.record_id] = wording(d)
        for rid, reason in dropped.items():
            out.setdefault(rid, reason)
    return out


def _reason_wording(session: Session, protocol: Protocol
                    ) -> Callable[[Decision | str | None], str]:
    """`wording(decision)`: the protocol's label of the decision's reason; for a reason id
    an amendment dropped (`--drop-used`), the label it had in the version the decision was
    made under, as the decision log's reason_label gives it (the bare id when that version
    no longer loads, or a bare reason id is given instead of a decision); "" without one."""
    now = {r.id: r.label for r in protocol.exclusion_reasons}
    by_version: list[dict[str, dict[str, str]]] = []  # read once, when first needed

    def wording(decision: Decision | str | None) -> str:
        reason = (decision if not isinstance(decision, Decision) else decision.reason_id) or ""
        if reason in now or not reason or not isinstance(decision, Decision):
            return now.get(reason, reason)
        if not by_version:
            by_version.append(_reason_labels_by_version(session))
        return by_version[0].get(decision.protocol_hash, {}).get(reason, reason)

    return wording


def _reason_labels_by_version(session: Session, protocols: dict[int, Protocol] | None = None
                              ) -> dict[str, dict[str, str]]:
    """Protocol sha256 -> exclusion reason id -> label, for every stored version that
    still loads (`protocols`: `stored_protocols`, when the caller has read them)."""
    from screener.workflow.review import stored_protocols

    if protocols is None:
        protocols = stored_protocols(session)
    return {sha: {r.id: r.label for r in protocols[version].exclusion_reasons}
            for version, sha, _, _ in repo.protocol_versions(session) if version in protocols}


def export_events(review: Review, fmt: str = "csv", out: Path | None = None,
                  force: bool = False, bom: bool = False,
                  warn: Callable[[str], None] | None = None) -> tuple[Path, int]:
    """Write the event log (imports, duplicates, protocol versions, allocations, unblinding,
    not-retrieved marks, offline copies) with each event's chained hash. Events show no
    one's decisions, so the whole log is written in a blind review too. `bom`: a CSV with
    a byte-order mark, for Excel (`warn` is told of the cells, a long search strategy's
    mostly, that Excel would cut on opening it)."""
    from screener.exports._cells import csv_text
    from screener.exports.log import event_cells_over_excel_limit, events_jsonl, events_table

    if fmt not in ("csv", "jsonl"):
        raise ReviewError("--format must be csv or jsonl")
    check_suffix(out, fmt, ("csv", "jsonl"))
    _check_bom(bom, fmt)
    with review.read() as session:
        rows = repo.event_log(session)
    target = resolve_output(review, out, f"event-log.{fmt}", force)
    if fmt == "csv":
        header, table = events_table(rows)
        write_text_atomic(target, csv_text(header, table), bom)
        if bom and warn is not None:  # --excel: the file is for Excel, which cuts them
            _warn_excel_cuts(warn, event_cells_over_excel_limit(header, table))
    else:
        write_text_atomic(target, events_jsonl(rows))
    return target, len(rows)


def list_events(review: Review) -> list[tuple[LogEvent, str]]:
    """The event log: (event, row hash) in order."""
    with review.read() as session:
        return list(repo.event_log(session))


class LogCheck(NamedTuple):
    ok: bool
    rows: int
    """Rows checked."""
    problem: str
    """The first problem ("" when ok)."""
    head: str
    """The last row's hash ("" for an empty log): compare an exported file's with the
    review's."""
    events: bool = False
    """The rows are events (the event log), not decisions."""


def verify_log_file(jsonl: Path, review: Review | None = None) -> LogCheck:
    """Check an exported JSONL log: its hash chain on its own or, given the review it came
    from, also against the review's stored count and last hash (which catches rows cut off
    the end, and an empty file)."""
    from screener.core.audit import verify, verify_events
    from screener.exports.log import is_event_log, read_events_jsonl, read_log_jsonl

    try:
        text = jsonl.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ReviewError(f"{jsonl}: cannot read the log ({exc})") from None
    if text.startswith("seq,") or jsonl.suffix.lower() == ".csv":
        raise ReviewError(f"{jsonl} is the CSV log; verify the JSON Lines export instead "
                          "(`screener export log --format jsonl`, with --events for the "
                          "event log)")
    events = is_event_log(text)
    read, check, stored, export = (
        (read_events_jsonl, verify_events, repo.event_head, "log --events") if events
        else (read_log_jsonl, verify, repo.log_head, "log"))
    try:
        rows: list[Any] = read(text)
    except ValueError as exc:
        raise ReviewError(f"{jsonl}: cannot read the {'event ' if events else ''}log as JSON "
                          f"Lines ({exc}); give the file `screener export {export} --format "
                          "jsonl` wrote") from None
    if review is None:
        result = check(rows)
    else:
        with review.read() as session:
            count, head = stored(session)
        result = check(rows, expected_head=head if count else None, expected_count=count)
    return LogCheck(result.ok, len(rows), result.problem, rows[-1][1] if rows else "",
                    events=events)


def verify_log(review: Review) -> LogCheck:
    """Check the hash chain of the stored decision log."""
    with review.read() as session:
        result = repo.verify_log(session)
        count, head = repo.log_head(session)
    return LogCheck(result.ok, count, result.problem, head if count else "")


def verify_event_log(review: Review) -> LogCheck:
    """Check the hash chain of the stored event log."""
    with review.read() as session:
        result = repo.verify_events(session)
        count, head = repo.event_head(session)
    return LogCheck(result.ok, count, result.problem, head if count else "", events=True)


def review_problems(review: Review) -> list[str]:
    """Why what the review holds may not be what was done ([] when it verifies): a hash
    chain (decisions, events) that does not verify, tables that disagree with the event
    log. Every export is made all the same; the CLI warns with these."""
    return ([c.problem for c in (verify_log(review), verify_event_log(review)) if not c.ok]
            + check_tables(review))


RECORD_FORMATS = ("ris", "bibtex", "csv", "xlsx")


def export_records(review: Review, label: str = "include", stage: Stage = Stage.TITLE_ABSTRACT,
                   fmt: str = "ris", out: Path | None = None, force: bool = False,
                   viewer: str | None = None, warn: Callable[[str], None] | None = None,
                   bom: bool = False, notice: Callable[[str], None] | None = None
                   ) -> tuple[Path, int]:
    """Write records with their outcome at a stage (label include/exclude/maybe), or every
    record at the stage, decided or not (label all: at title/abstract every record left
    after deduplication, at full text every record whose report was sought). CSV, XLSX
    and RIS (`DB`) name each record's sources and the duplicates removed in its favour.

    With `viewer`, that reviewer's own current decisions (their label, reason and note),
    before and after reconciliation alike, as `export_log(viewer=...)` keeps their rows:
    never the combined outcome. Without it, the combined outcome; an exclusion that the
    reviewers agreed on for different reasons (not adjudicated) lists every distinct
    reason, joined with "; " in the order they were given. `warn` is told what an XLSX
    export had to cut to Excel's cell limit. `bom`: a CSV with a byte-order mark, for Excel.
    `notice` is told, for `include` at title/abstract, of the records that also go to full text
    but are not in the file (rated maybe) or not yet (in conflict)."""
    from screener.exports import records as rec
    from screener.exports._cells import csv_text

    if fmt not in RECORD_FORMATS:
        raise ReviewError(f"--format must be one of {', '.join(RECORD_FORMATS)}")
    if label not in ("include", "exclude", "maybe", "all"):
        raise ReviewError("--label must be include, exclude, maybe or all")
    if label == Label.MAYBE and stage == Stage.FULL_TEXT:
        # no report is ever decided maybe (`decide` refuses it): the file would be empty
        raise ReviewError("maybe is a title/abstract label, not a full-text decision: give "
                          "--stage title_abstract, or --label include, exclude or all with "
                          "--stage full_text")
    check_suffix(out, fmt, RECORD_FORMATS)
    _check_bom(bom, fmt)
    from screener.workflow.team import blind_stages, record_outcomes

    with review.read() as session:
        blind = stage in blind_stages(review, session)
    if blind and viewer is None:
        raise ReviewError(_still_blind(
            review, {stage}, "the outcomes would show each reviewer the others' decisions. "
            "Export your own with --reviewer NAME", "every reviewer's can be exported"))
    with review.read() as session:
        reason_text = _reason_wording(session, review.protocol)
        removed = repo.removed_duplicate_ids(session)
        result: dict[int, tuple[Label, str, str]] = {}
        if viewer is not None:  # the reviewer's own, whatever the others decided
            for d in repo.current_decisions(session, stage):
                if d.reviewer == viewer:
                    result[d.record_id] = (d.label, reason_text(d), d.note)
        else:
            for rid, (o, ds) in record_outcomes(review, session, stage).items():
                if o.label is None:
                    continue
                ordered = sorted(ds, key=lambda d: d.id or 0)
                # (the latest decision giving the outcome's reason: the version it was made
                # under words a reason the protocol has dropped since)
                why = [reason_text(next((d for d in reversed(ordered)
                                         if d.reason_id == o.reason_id), o.reason_id))
                       ] if o.reason_id else []
                if o.label == Label.EXCLUDE and not o.adjudicated:
                    # every screener who excluded it, each reason once
                    why = list(dict.fromkeys(
                        reason_text(d) for d in ordered
                        if d.reviewer_role != Role.ADJUDICATOR and d.label == Label.EXCLUDE
                        and d.reason_id))
                notes = " | ".join(f"{d.reviewer}: {d.note}" for d in ordered if d.note)
                result[rid] = (o.label, "; ".join(why), notes)
        not_retrieved: set[int] = set()
        if label == "all":  # decided or not: the deduplicated library, or the full texts
            statuses = repo.reports(session) if stage == Stage.FULL_TEXT else {}
            not_retrieved = {rid for rid, status in statuses.items()
                             if status == ReportStatus.NOT_RETRIEVED}
            pool = (repo.record_ids_in_order(session) if stage == Stage.TITLE_ABSTRACT
                    else [*statuses, *result])
            ids = [rid for rid in dict.fromkeys(pool) if rid not in removed]
        else:
            ids = [rid for rid, (lab, _, _) in result.items()
                   if rid not in removed and lab.value == label]
        if (notice is not None and viewer is None and label == Label.INCLUDE
                and stage == Stage.TITLE_ABSTRACT):  # (a reviewer's own maybe may not be)
            settled = [o for rid, (o, _) in record_outcomes(review, session, stage).items()
                       if rid not in removed]
            _left_out_of_include(notice, sum(o.label == Label.MAYBE for o in settled),
                                 sum(o.conflict and o.label is None for o in settled))
        records = repo.get_records(session, ids)
        provenance = _provenance(session, ids) if fmt != "bibtex" else {}
    items = []
    for record in records:
        assert record.id is not None
        lab_, reason, note = result.get(record.id, (None, "", ""))
        if lab_ is None and record.id in not_retrieved:  # PRISMA: reports not retrieved
            reason = "report not retrieved"
        items.append((record, lab_.value if lab_ else "", reason, note))
    name = (f"records-{label}-{stage.value}{_own_file(viewer)}."
            f"{'bib' if fmt == 'bibtex' else fmt}")
    target = resolve_output(review, out, name, force)
    if fmt == "xlsx":
        cut: list[str] = []
        write_atomic(target, lambda p: cut.extend(rec.records_xlsx(items, p, provenance,
                                                                   stage.value)))
        if cut and warn is not None:
            warn(f"{_n(len(cut), 'cell')} longer than Excel's {rec.XLSX_CELL_LIMIT:,} "
                 f"characters {_were(len(cut))} cut ({_listed(cut)}); export --format csv "
                 "keeps them whole")
    elif fmt == "csv":
        if bom and warn is not None:  # --excel: the file is for Excel, which cuts them
            table = rec.records_table(items, provenance, stage.value)
            write_text_atomic(target, csv_text(rec.RECORD_COLUMNS, table), bom)
            _warn_excel_cuts(warn, rec.cells_over_excel_limit(table))
        else:
            write_text_atomic(target, rec.records_csv(items, provenance, stage.value), bom)
    elif fmt == "ris":
        write_text_atomic(target, rec.records_ris(items, provenance))
    else:
        write_text_atomic(target, rec.records_bibtex(items))
    return target, len(items)


def _listed(items: Sequence[str]) -> str:
    """The first five of `items`, joined by "; " ("; ..." when there are more)."""
    return "; ".join(items[:5]) + ("; ..." if len(items) > 5 else "")


def _left_out_of_include(note: Callable[[str], None], maybe: int, in_conflict: int) -> None:
    """Say which records an include export leaves out though they go to full text (maybe:
    PRISMA counts them as reports sought) or may (in conflict)."""
    if maybe:
        note(f"{_n(maybe, 'record')} rated maybe also {'goes' if maybe == 1 else 'go'} to "
             "full text (PRISMA counts them as reports sought) and "
             f"{'is' if maybe == 1 else 'are'} not in this file: `screener export records "
             "--label maybe` exports them, and `screener export records --stage full_text "
             "--label all` every report sought, for retrieval")
    if in_conflict:
        note(f"{_n(in_conflict, 'record')} in conflict at title/abstract "
             f"{'is' if in_conflict == 1 else 'are'} not in this file: "
             f"{'it goes' if in_conflict == 1 else 'they go'} to full text if resolved as "
             "include or maybe (`screener conflicts`)")


def _provenance(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """record id -> (its source names and those of the duplicates removed in its favour,
    those duplicates' ids), each joined with "; "."""
    names = {s["id"]: s["name"] for s in repo.sources(session)}
    source_of = repo.record_sources(session)
    removed_for: dict[int, list[int]] = {}
    for link in repo.duplicate_links(session):
        removed_for.setdefault(link["kept_id"], []).append(link["record_id"])
    result = {}
    for rid in ids:
        copies = sorted(removed_for.get(rid, []))
        sources = dict.fromkeys(names.get(source_of.get(i, 0), "") for i in [rid, *copies])
        result[rid] = ("; ".join(n for n in sources if n), "; ".join(map(str, copies)))
    return result


def build_report_inputs(review: Review) -> object:
    """Gather what the methods report renders, from the database, in one read transaction
    (`Review.snapshot`): the stopping values, the PRISMA counts, the agreement and the rest
    are read by separate functions, and a decision made between two of them (others
    screening while the report is written) made it disagree with itself ("records
    screened: 434" in the methods text, "Records screened 436" in the diagram)."""
    with review.snapshot():
        return _report_inputs(review)


def _report_inputs(review: Review) -> object:
    """`build_report_inputs`, within its snapshot."""
    from screener import __version__
    from screener.exports.report import (
        AgreementRow,
        AutomationInfo,
        ExcludedReport,
        GroupAgreementRow,
        ReportInputs,
        StoppingInfo,
    )
    from screener.workflow.reassign import moved_origins
    from screener.workflow.team import agreement, reasons_differ_note, reconciliation_cutoffs

    met, progs = stopping_rule_met(review)
    result = prisma_counts(review, rule_met=met)
    report = agreement(review)
    reason_conflicts = review.protocol.screening.reason_mismatch_is_conflict
    rows = tuple(
        AgreementRow(p.stage, p.reviewer_a, p.reviewer_b, p.stats.n,
                     p.stats.percent_agreement or 0.0, p.stats.kappa, p.stats.kappa_ci,
                     p.stats.pabak, p.stats.ac1,
                     reasons_differ_note(p.reasons_differ,
                                         reason_conflicts and p.stage == Stage.FULL_TEXT))
        for p in report.pairs)
    group_rows = tuple(
        GroupAgreementRow(g.stage, g.reviewers, g.stats.n, g.stats.raters,
                          g.stats.percent_agreement or 0.0, g.stats.kappa,
                          reasons_differ_note(g.reasons_differ,
                                              reason_conflicts and g.stage == Stage.FULL_TEXT,
                                              g.stats.raters))
        for g in report.groups)
    with review.read() as session:
        # the reviewers who decided something (a name only registered, e.g. by
        # export-reviewer, did not take part)
        from screener.workflow.importing import IMPORTED_LABEL_NOTE

        current = repo.current_decisions(session)
        # names whose every decision is a label imported with `import --labels-as`: they
        # did not screen here, and the methods text says where the labels came from
        screened_here = {d.reviewer for d in current
                         if not d.note.startswith(IMPORTED_LABEL_NOTE)}
        # per reviewer some of whose title/abstract decisions were imported: how many, and
        # how many others they made here (the methods text gives both)
        imported: dict[str, list[int]] = {}
        for d in current:
            if d.stage == Stage.TITLE_ABSTRACT and d.reviewer_role == Role.SCREENER:
                imported.setdefault(d.reviewer, [0, 0])[
                    0 if d.note.startswith(IMPORTED_LABEL_NOTE) else 1] += 1
        reviewers = tuple(r for r in repo.reviewers(session) if r.name in screened_here)
        split, plan = _allocation_split(review, session, current)
        split_ft, plan_ft = (_allocation_split(review, session, current, Stage.FULL_TEXT)
                             if Stage.FULL_TEXT in review.protocol.stages else (None, None))
        started = reconciliation_cutoffs(review, session)
        # (a decision `reassign` moved was made when the one it carries was)
        carried = moved_origins(session) if started else {}
        unblinded = tuple(
            (stage, n) for stage, at in sorted(started.items(), key=lambda x: x[1].seq)
            if (n := len({d.record_id for d in current if d.stage == stage
                          and d.reviewer_role == Role.SCREENER
                          and not at.blind(carried.get(d.seq or 0, d.seq))})))
        n_rankings = len(repo.ranking_hashes(session))
        ft = outcomes(review, session, Stage.FULL_TEXT)
        removed = repo.removed_duplicate_ids(session)
        # conflicts not resolved yet (a draft's "are resolved", with how many remain)
        open_conflicts = sum(1 for stage_outcomes in (
            outcomes(review, session, Stage.TITLE_ABSTRACT),
            ft if Stage.FULL_TEXT in review.protocol.stages else {})
            for rid, o in stage_outcomes.items()
            if o.conflict and o.label is None and rid not in removed)
        # Table 2 lists the reports the diagram counts as excluded: one excluded at full
        # text and removed as a duplicate afterwards is among its duplicates removed
        has_full_text = result.counts.full_text
        # (none without a full-text stage: the decisions at a stage an amendment dropped
        # are left out, as by status and the exports)
        excluded_ids = [rid for rid, o in ft.items() if o.label == Label.EXCLUDE
                        and rid not in removed and rid in result.reports_excluded
                        and has_full_text]
        then_removed = sum(1 for rid, o in ft.items()
                           if o.label == Label.EXCLUDE and rid in removed and has_full_text)
        reason_of = _exclusion_reason_labels(session, review.protocol, ft)
        excluded = tuple(ExcludedReport(r, reason_of[r.id])
                         for r in repo.get_records(session, excluded_ids) if r.id is not None)
        protocols = stored_protocols(session)
        reasons_amended, reworded = _reason_amendments(
            session, review.protocol, protocols, ft, excluded_ids, current)
        drawn = reworded if has_full_text else ()  # (the diagram's reports are Table 2's)
        # the title/abstract decisions screeners made here, and the rankings they record
        # (every decision row, changed and undone ones too: each was made on a record
        # something showed; `changed` marks those on a record the reviewer had decided)
        log = repo.decision_log(session)
        made, changed = _ta_decision_rows(log, screened_here)
        amended = [e for e, _ in repo.event_log(session)
                   if e.kind == "protocol_version" and e.details.get("version")]
        kept_citing = {int(e.details["version"]): list(e.details["dropped_although_cited"])
                       for e in amended if e.details.get("dropped_although_cited")}
        settled = tuple((int(e.details["version"]), e.time[:10], Stage(stage),
                         int(n))
                        for e in amended
                        for stage, n in (e.details.get(SETTLED_BY_AMENDMENT) or {}).items())
        stored = repo.protocol_versions(session)
        versions = _protocol_versions(stored, protocols, log, repo.protocol_positions(session),
                                      kept_citing)
        modes = _screening_modes(stored, protocols)
        multi, single = _screened_by(current, Stage.TITLE_ABSTRACT)
        used = sorted({d.ranking_id for d in made if d.ranking_id})
        infos = {i: repo.ranking_info(session, i) for i in used}
        info = infos[used[-1]] if used else None
    rule = review.protocol.stopping
    stop = None
    if progs:
        values = []
        # dual screening: each screener has their own figures; single screening shared by
        # several: one set, the review's (as `status` groups them), under every name
        together = len(progs) > 1 and all(p.shared for p in progs)
        for prog in progs[:1] if together else progs:
            who = f" ({prog.reviewer})" if len(progs) > 1 and not together else ""
            whose = (f" ({', '.join(p.reviewer for p in progs)} together: each record "
                     "is screened once, so these are the review's figures)" if together else who)
            share = share_of(prog.sample_screened / (prog.total or 1),
                             rule.min_screened_fraction, 1)  # 9.97%, not 10.0%, when short
            values += [(f"records screened{whose}", f"{prog.sample_screened:,} of "
                        f"{prog.total:,} ({share})"),
                       (f"consecutive irrelevant{who}", str(prog.consecutive_irrelevant))]
            if prog.added_since_start and prog.added_on is not None:
                # an update search: the run, the test and the estimate count only since
                values.append((f"records imported after screening began{who}",
                               f"{prog.added_since_start:,} (the latest imported on "
                               f"{audit.utc_day(prog.added_on)}: the stopping statistics count "
                               f"{counts_since(prog.screened_since)})"))
            if prog.p_value is not None:
                values.append((f"stopping-test p-value{who}", f"{prog.p_value:.3f}"))
            recall = not_estimable(prog.added_since_start, prog.screened_since)
            if prog.estimated_recall is not None:
                recall = percent(prog.estimated_recall)  # as status words it
                if prog.estimated_recall_interval is not None:
                    low, high = prog.estimated_recall_interval
                    recall += f" ({percent(low)} to {percent(high)})"
            values.append((f"estimated recall{who}", recall))
            left = not_estimable(prog.added_since_start, prog.screened_since)  # with nothing relevant found, 0 fits as well as any
            if prog.estimated_remaining is not None:
                point, low, high = prog.estimated_remaining
                left = f"{point:.0f} ({low:.0f} to {high:.0f})"
            values.append((f"relevant records estimated left{who}", left))
            failed = [item.name for item in prog.checklist if not item.passed]
            if prog.checklist:
                values.append((f"SAFE checklist{who}", "every item met" if not failed
                               else "not met: " + ", ".join(failed)))
        stopped = met and result.unscreened > 0
        # screening stopped with the last title/abstract decision a screener made
        last = max((d.created_at for d in made if d.created_at is not None), default=None)
        stop = StoppingInfo(
            stopped=stopped, recall_target=rule.recall_target,
            stopped_at=audit.iso_utc(last)[:10] if stopped and last is not None else "",
            confidence=rule.confidence, consecutive_irrelevant=rule.consecutive_irrelevant,
            min_screened_fraction=rule.min_screened_fraction,
            key_papers=len(rule.key_papers), values=tuple(values),
            unscreened=result.unscreened + result.other_unscreened,
            amended=tuple(v for v in versions if v.decided_before and any(
                c.startswith("the stopping rule") for c in v.changes)),
            defaulted=rule.defaulted,
            since_import=any(prog.added_since_start for prog in progs))
    automation = None
    # a ranking trained on one class only (no include, or no exclude yet) is the cold
    # start's similarity to the protocol, not the model's
    similarity = {i for i, r in infos.items() if r is not None
                  and (r["n_included"] == 0 or r["n_included"] >= r["training_size"])}
    if info is not None:
        config = info["config"]
        flat = tuple(sorted((str(k), str(v)) for k, v in _flat_config(config)
                            if k not in ("name", "seed")))
        automation = AutomationInfo(
            tool="screener", version=__version__, model=str(config.get("name", "")),
            config_hash=str(info["config_hash"]), config=flat,
            seed=int(config["seed"]) if "seed" in config else None,
            cold_start=bool(similarity), similarity_only=bool(used) and similarity == set(used),
            stopping=stop, retraining=_retraining(made, used, changed, similarity,
                                                   {i["owner"] for i in infos.values() if i}),
            unranked=_unranked(made, changed),
            earlier_models=_earlier_models(made, infos, str(info["config_hash"])))
    events = [e for e, _ in list_events(review)]
    sources, dedup = _identification(review, events)
    return ReportInputs(protocol=review.protocol, counts=result.counts, reviewers=reviewers,
                        agreement=rows, group_agreement=group_rows,
                        excluded_reports=excluded, automation=automation,
                        prisma_svg="report-prisma.svg", title=review.protocol.title,
                        title_at_creation=("" if review.title == review.protocol.title
                                           else review.title),
                        protocol_versions=versions,
                        stopping=None if automation is not None else stop, split=split,
                        split_full_text=split_ft, split_plan=(plan, plan_ft),
                        open_conflicts=open_conflicts,
                        screening_modes=modes, settled_by_amendment=settled,
                        multi_screened=multi, single_screened=single,
                        full_text_screened=_screened_by(current, Stage.FULL_TEXT),
                        several_by=(_several_by(current, Stage.TITLE_ABSTRACT),
                                    _several_by(current, Stage.FULL_TEXT)),
                        draft=result.draft, protocol_copy_note=protocol_copy_note(review),
                        imported_labels=tuple((name, n, here) for name, (n, here)
                                              in sorted(imported.items()) if n),
                        imported_in_agreement=report.imported,
                        imported_label_files=_imported_label_files(
                            events, {d.reviewer for d in current
                                     if d.note.startswith(IMPORTED_LABEL_NOTE)}),
                        unlinked_rankings=n_rankings if info is None else 0,
                        unblinded=unblinded, other_methods=result.other_methods,
                        diagram_notes=result.notes, diagram_problems=result.problems,
                        decision_log=_log_state(verify_log(review)),
                        event_log=_log_state(verify_event_log(review)),
                        table_problems=tuple(check_tables(review)),
                        backfilled_events=sum(1 for e in events
                                              if e.details.get("recorded_by")),
                        sources=sources, dedup=dedup, reasons_amended=reasons_amended,
                        import_fixes=_import_fixes(events),
                        reassignments=tuple(
                            (e.time[:10], str(e.details.get("from", "")),
                             str(e.details.get("to", "")), int(e.details.get("decisions", 0)))
                            for e in events if e.kind == "decisions_reassigned"),
                        restores=tuple(
                            (e.time[:10], tuple((str(k), int(v)) for k, v in (
                                e.details.get("discarded_decisions") or {}).items()),
                             int(e.details.get("discarded_imports") or 0),
                             int(e.details.get("discarded_events") or 0))
                            for e in events if e.kind == "review_restored"),
                        reworded_reasons=reworded, diagram_reworded_reasons=drawn,
                        excluded_then_removed=then_removed)


def _imported_label_files(events: Sequence[LogEvent],
                          names: set[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(name, the files its labels were imported from) of each reviewer in `names`, whose
    current decisions include labels imported with `import --labels-as`, from the events of
    those imports."""
    files: dict[str, list[str]] = {}
    for e in events:
        name = str(e.details.get("labels_as") or "")
        if e.kind in ("records_imported", "labels_imported") and name and e.details.get(
                "labels"):
            files.setdefault(name, []).append(str(e.details.get("file", "")))
        elif e.kind == "decisions_reassigned" and (moved := e.details.get("from")) in files:
            # (the labels of a reviewer `reassign` renamed since: under the new name)
            files.setdefault(str(e.details.get("to")), []).extend(files[str(moved)])
    return tuple((name, tuple(dict.fromkeys(f for f in files.get(name, ()) if f)))
                 for name in sorted(names))


def _screened_by(current: Sequence[Decision], stage: Stage) -> tuple[int, int]:
    """(records two or more screeners decided, records one did) at the stage."""
    by = _several_by(current, stage, with_one=True)
    multi = sum(n for k, n in by if k > 1)
    return multi, sum(n for _, n in by) - multi


def _several_by(current: Sequence[Decision], stage: Stage,
                with_one: bool = False) -> tuple[tuple[int, int], ...]:
    """(screeners, records) at the stage for the records two or more screeners decided
    (`with_one`: and one), most screeners first."""
    screeners_of: dict[int, set[str]] = {}
    for d in current:
        if d.stage == stage and d.reviewer_role == Role.SCREENER:
            screeners_of.setdefault(d.record_id, set()).add(d.reviewer)
    per = Counter(len(names) for names in screeners_of.values())
    return tuple(sorted(((k, n) for k, n in per.items() if with_one or k > 1), reverse=True))


def _reason_amendments(session: Session, protocol: Protocol, stored: dict[int, Protocol],
                       ft: dict[int, Outcome], excluded_ids: Sequence[int],
                       current: Sequence[Decision]
                       ) -> tuple[tuple[int, int], tuple[tuple[str, str, int], ...]]:
    """(reasons added, reasons reworded) since the first protocol version, among those of
    `protocol`; and, for the reports excluded at full text, (label in force, label when
    the exclusion was made, reports) wherever the two differ (by the protocol hash of the
    decision that gave the report its reason). `stored`: `stored_protocols`."""
    first = {r.id: r.label for r in stored[min(stored)].exclusion_reasons} if stored else {}
    now = {r.id: r.label for r in protocol.exclusion_reasons}
    added = sum(1 for k in now if k not in first)
    reworded = sum(1 for k in now if k in first and first[k] != now[k])
    labels = _reason_labels_by_version(session, stored)
    # the latest full-text exclusion per (record, reason): one pass over the decisions
    latest: dict[tuple[int, str], Decision] = {}
    for d in current:
        if d.stage == Stage.FULL_TEXT and d.label == Label.EXCLUDE:
            key = (d.record_id, d.reason_id or "")
            if key not in latest or (d.id or 0) > (latest[key].id or 0):
                latest[key] = d
    earlier: Counter[tuple[str, str]] = Counter()
    for rid in excluded_ids:
        reason = ft[rid].reason_id or ""
        made = latest.get((rid, reason))
        if made is None or reason not in now:
            continue
        then = labels.get(made.protocol_hash, {}).get(reason)
        if then is not None and then != now[reason]:
            earlier[(now[reason], then)] += 1
    return (added, reworded), tuple((a, b, n) for (a, b), n in sorted(earlier.items()))


def _identification(review: Review, events: Sequence[LogEvent]
                    ) -> tuple[tuple[Any, ...], Any]:
    """The report's sources (`SourceInfo`) and deduplication (`DedupInfo`, from the event
    log's `events`)."""
    from screener.exports.report import DedupInfo, SourceInfo

    with review.read() as session:
        rows = repo.sources(session)
        links = repo.duplicate_links(session, active_only=False)
        positions = repo.source_positions(session)
        updates = _update_searches(rows, positions)
        source_of = repo.record_sources(session)
        pending, _ = records_not_deduplicated(session)
        said = repo.search_warnings(session)
    if said:  # (Bio.Entrez is loaded only for a review that has such a warning)
        from screener.importers.pubmed import reported
        said = {i: list(map(reported, kept)) for i, kept in said.items()}
    # a date or query not recorded at import: the protocol's search for that import, marked
    planned = _planned_searches(rows, review.protocol.searches, positions)
    # a date after today anywhere on Earth (a planned date older versions stored) is no
    # search's: flagged, not given as one
    latest = latest_search_day().isoformat()
    sources = []
    for r in rows:
        plan_date, plan_query = planned.get(r["id"], ("", ""))
        date, query = r["searched_on"] or "", r["query"] or ""
        given = date or plan_date
        future = given if given > latest else ""
        update = updates.get(r["id"], "")
        if future and update == future:  # the update named by its import day instead
            update = f"imported {audit.iso_utc(r['imported_at'])[:10]}" if r[
                "imported_at"] else ""
        sources.append(SourceInfo(
            name=r["name"], kind=r["kind"], records=r["records"] or 0,
            searched_on="" if future else given,
            query=query or plan_query, file_name=r["file_name"] or "",
            format=r["format"] or "", reported_count=r["reported_count"],
            date_from_protocol=not date and bool(plan_date),
            query_from_protocol=not query and bool(plan_query),
            update=update, future_date=future, warnings=tuple(said.get(r["id"], ()))))
    # records of an update found again: removed as duplicates of records an earlier search
    # (not the same update) found; counted once the update has been deduplicated
    order = {r["id"]: i for i, r in enumerate(rows)}
    found_again = None if not updates or pending else sum(
        1 for link in links if not link["undone"]
        and (removed := source_of.get(link["record_id"])) in updates
        and (kept := source_of.get(link["kept_id"])) is not None
        and order.get(kept, len(rows)) < order[removed]
        and updates.get(kept) != updates[removed])
    runs = [e for e in events if e.kind == "duplicates_removed"
            and "threshold" in e.details]
    standing = Counter(link["method"] for link in links if not link["undone"])
    run_of = {}  # a removed record -> the threshold of the (latest) run that removed it
    for run in runs:
        for rid, _keep in run.details.get("links", []):
            run_of[rid] = float(run.details["threshold"])
    used = {run_of[link["record_id"]] for link in links if not link["undone"]
            and link["method"] == "fuzzy" and link["record_id"] in run_of}
    if not used and runs:
        used = {float(runs[-1].details["threshold"])}
    undone = {link["record_id"] for link in links if link["undone"]}
    restored = undone - {link["record_id"] for link in links if not link["undone"]}
    dedup = DedupInfo(removed_by_method=tuple(sorted(standing.items(), key=lambda kv: (
        ["doi", "pmid", "fuzzy"].index(kv[0]) if kv[0] in ("doi", "pmid", "fuzzy") else 3,
        kv[0]))), thresholds=tuple(sorted(used)),
        ran=bool(runs or links), restored=len(restored), found_again=found_again)
    return tuple(sources), dedup


def _planned_searches(rows: Sequence[dict[str, Any]], searches: Sequence[SearchStrategy],
                      positions: dict[int, int]) -> dict[int, tuple[str, str]]:
    """Source id -> (date, query) the protocol's `searches` give for that import, each ""
    unless unambiguous. The protocol may list one source twice (a search and its update):
    an undated import gets the one date of that source's searches left once the imports of
    the same name made on the other side of the first decision are
    accounted for (an import made after it is of a later search than one made before it,
    as an update is to `_update_searches`; both go by `repo.source_positions`); a query, when the searches of that date (of
    every date, when the date is not known or none has it) give only one."""
    def after_start(row: dict[str, Any]) -> bool:
        return positions.get(row["id"], 0) > 0

    out: dict[int, tuple[str, str]] = {}
    for i, r in enumerate(rows):
        name = str(r["name"]).casefold()
        plans = [s for s in searches if s.source.casefold() == name]
        dates = sorted({s.date for s in plans if s.date})
        recorded = r["searched_on"] or ""
        date = recorded
        if not recorded and dates:
            left = dates
            for j, other in enumerate(rows):
                if (j == i or str(other["name"]).casefold() != name
                        or after_start(other) == after_start(r)):
                    continue  # the same side of the first decision: either may be first
                then = other["searched_on"] or ""
                if j < i:  # `r` is the later search
                    left = [d for d in left if d > (then or dates[0])]
                else:
                    left = [d for d in left if d < (then or dates[-1])]
            date = left[0] if len(left) == 1 else ""
        chosen = [s for s in plans if s.date == date] if date else plans
        queries = {s.query for s in chosen or plans if s.query}
        out[r["id"]] = ("" if recorded else date, queries.pop() if len(queries) == 1 else "")
    return out


def _update_searches(rows: Sequence[dict[str, Any]], positions: dict[int, int]
                     ) -> dict[int, str]:
    """The imports that update an earlier search of the same source (by name): source id ->
    the update's round ("2021-07-01", its search date; "imported 2021-07-03" when the date
    was not recorded). An import is an update when an earlier import of that name was
    searched on an earlier date, or when it came after screening began and an import of
    that name came before (by their places in the decision log, `repo.source_positions`)
    whose date it cannot be compared with (one of the two is undated). A second file of
    the same search (same date) is not."""
    rounds: dict[int, str] = {}
    for i, r in enumerate(rows):
        name = str(r["name"]).casefold()
        earlier = [e for e in rows[:i] if str(e["name"]).casefold() == name]
        date = r["searched_on"] or ""
        at = audit.iso_utc(r["imported_at"]) if r["imported_at"] else ""
        if date and any(e["searched_on"] and e["searched_on"] < date for e in earlier):
            rounds[r["id"]] = date
        elif positions.get(r["id"], 0) > 0 and any(
                positions.get(e["id"], 0) == 0 and not (date and e["searched_on"])
                for e in earlier):
            rounds[r["id"]] = date or f"imported {at[:10]}"
    return rounds


def _protocol_versions(versions: Sequence[tuple[int, str, str, Any]],
                       protocols: dict[int, Protocol], log: Sequence[Decision],
                       positions: dict[int, int],
                       kept_citing: dict[int, list[str]] | None = None
                       ) -> tuple[ProtocolVersionInfo, ...]:
    """Each stored protocol version with the decision rows made while it was in force (by
    the protocol hash each decision records; the version stored last before the decision
    when several versions share a hash), what it changed and how many decisions came
    before it. Before and after go by places in the decision log (`positions`: version ->
    the decisions the log held when it was recorded, `repo.protocol_positions`), not by
    the clocks of the machines that stamped them. `kept_citing`: per version, what it
    dropped although decisions cited it (`protocol amend --drop-used`, from its event),
    named among its changes. A version missing from `protocols` (it no longer loads) is
    listed without changes."""
    from screener.exports.report import ProtocolVersionInfo

    at_seq = positions
    stamps = [(v, sha, at_seq.get(v, 0)) for v, sha, _, _ in versions]
    rows = [d for d in log if d.label != Label.UNDONE]
    per: dict[int, Counter[Stage]] = {v: Counter() for v, _, _ in stamps}
    for d in rows:
        same = [(v, at) for v, sha, at in stamps if sha == d.protocol_hash]
        earlier = [v for v, at in same if at < (d.seq or 0)]
        version = (earlier or [v for v, _ in same] or [0])[-1]
        if version in per:
            per[version][d.stage] += 1
    out = []
    latest = ""  # the latest stamp of the versions before
    for v, sha, reason, at in versions:
        stamp = audit.iso_utc(at)
        # stamped before an earlier version: the machines' clocks disagreed (the versions
        # are in the order they were recorded)
        date = f"{stamp[:10]} {stamp[11:19]} UTC" + (
            " (stamped before an earlier version: the clocks of the machines that recorded "
            "them disagree)" if stamp < latest else "")
        latest = max(latest, stamp)
        old, new = protocols.get(v - 1), protocols.get(v)
        changes = (() if v == 1 else ("not compared (a version could not be read)",)
                   if old is None or new is None else tuple(_protocol_changes(old, new)))
        if (kept_citing or {}).get(v):
            changes += ("decisions kept that cite what it removed (--drop-used): "
                        f"{'; '.join((kept_citing or {})[v])}",)
        out.append(ProtocolVersionInfo(
            version=v, date=date, sha256=sha, reason=reason,
            decisions=tuple((stage, per[v][stage]) for stage in Stage if per[v][stage]),
            changes=changes,
            decided_before=0 if v == 1 else sum(
                1 for d in rows if (d.seq or 0) <= at_seq.get(v, 0)),
            searches_only=(_searches_only(old, new, changes)
                           if old is not None and new is not None else ("", ()))))
    return tuple(out)


def _screening_modes(versions: Sequence[tuple[int, str, str, Any]],
                     protocols: dict[int, Protocol]) -> tuple[tuple[int, str, int, bool], ...]:
    """(version, date, reviewers per record, blind) of every protocol version that loads,
    when they differ in how many reviewers screen a record or in blinding (else empty)."""
    modes = []
    for v, _sha, _reason, at in versions:
        if v not in protocols:
            continue
        screening = protocols[v].screening
        per = screening.reviewers_per_record
        modes.append((v, audit.iso_utc(at)[:10], per, screening.blind and per > 1))
    return tuple(modes) if len({(per, blind) for _, _, per, blind in modes}) > 1 else ()


_STOPPING_FIELDS = (("recall_target", "recall target", "{:.0%}"),
                    ("confidence", "confidence", "{:.0%}"),
                    ("consecutive_irrelevant", "consecutive irrelevant records", "{}"),
                    ("min_screened_fraction", "minimum share of records screened", "{:.0%}"))


def _protocol_changes(old: Protocol, new: Protocol) -> list[str]:
    """What changed from one protocol version to the next, in words."""
    out = []
    if old.title != new.title:
        out.append(f"title from \"{old.title}\" to \"{new.title}\"")
    if old.question != new.question:
        out.append("review question")
    if old.stages != new.stages:
        out.append(f"stages from {', '.join(s.value for s in old.stages)} to "
                   f"{', '.join(s.value for s in new.stages)}")
    for what, before, after in (
            ("criteria", {c.id: (c.kind, c.text) for c in old.criteria},
             {c.id: (c.kind, c.text) for c in new.criteria}),
            ("exclusion reasons", {r.id: r.label for r in old.exclusion_reasons},
             {r.id: r.label for r in new.exclusion_reasons})):
        parts = _added_removed(before, after)
        edited = [k for k in after if k in before and after[k] != before[k]]
        parts += [f"reworded {', '.join(edited)}"] if edited else []
        if parts:
            out.append(f"{what} ({'; '.join(parts)})")
    for field, name, fmt in _STOPPING_FIELDS:
        a, b = getattr(old.stopping, field), getattr(new.stopping, field)
        if a != b:
            out.append(f"the stopping rule's {name} from {fmt.format(a)} to {fmt.format(b)}")
    if old.stopping.key_papers != new.stopping.key_papers:
        papers = _added_removed(old.stopping.key_papers, new.stopping.key_papers)
        out.append(f"the stopping rule's key papers from {len(old.stopping.key_papers)} to "
                   f"{len(new.stopping.key_papers)}"
                   + (f" ({'; '.join(papers)})" if papers else " (reordered)"))
    for field, name in (("screening", "screening mode"), ("ranking", "ranking settings")):
        if getattr(old, field) != getattr(new, field):
            details = _setting_changes(getattr(old, field), getattr(new, field))
            out.append(f"{name} ({details})" if details else name)
    if old.highlight != new.highlight:
        terms = [f"{kind} terms {'; '.join(parts)}" for kind in ("include", "exclude")
                 if (parts := _added_removed(getattr(old.highlight, kind),
                                             getattr(new.highlight, kind)))]
        out.append(f"highlight terms ({'; '.join(terms) or 'reordered'})")
    if old.searches != new.searches:
        searches = _added_removed([_search_name(s) for s in old.searches],
                                  [_search_name(s) for s in new.searches])
        out.append(f"search strategies ({'; '.join(searches)})" if searches
                   else "search strategies")
    if old.keys != new.keys:
        out.append("UI keys")
    return out


def _search_name(search: SearchStrategy) -> str:
    """A protocol search as the report names it: "PubMed 2021-07-01" (the date when given)."""
    return f"{search.source} {search.date}".strip()


def _searches_only(old: Protocol, new: Protocol, changes: Sequence[str]
                   ) -> tuple[str, tuple[str, ...]]:
    """When an amendment changed nothing but the protocol's searches: ("update", sources)
    when it only added searches of sources searched before, ("added", sources) when it
    added others too, ("changed", ()) when it edited or removed one; ("", ()) when it
    changed anything else."""
    if old.searches == new.searches or len(changes) != 1:
        return "", ()
    added = [s for s in new.searches if s not in old.searches]
    if not added or any(s not in new.searches for s in old.searches):
        return "changed", ()
    names = tuple(dict.fromkeys(s.source for s in added))
    before = {s.source.casefold() for s in old.searches}
    return ("update" if all(n.casefold() in before for n in names) else "added"), names


def _added_removed(before: Collection[str], after: Collection[str]) -> list[str]:
    """["added c", "removed a, b"]: the items of `after` not in `before` and the other way
    round, each in its own order (empty parts left out)."""
    added = [k for k in after if k not in before]
    removed = [k for k in before if k not in after]
    return ([f"added {', '.join(added)}"] if added else []) + (
        [f"removed {', '.join(removed)}"] if removed else [])


def _setting_value(value: Any) -> str:
    """A setting as the report words it: "yes"/"no" for a boolean, an enum by its value,
    "(none)" for an empty text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = getattr(value, "value", value)
    return "(none)" if value == "" else str(value)


def _setting_changes(old: Any, new: Any) -> str:
    """'seed 42 to 7; C 0.11 to 0.5' for two settings dataclasses (a `params` field of
    (name, value) pairs is compared by name)."""
    import dataclasses

    parts = []
    for f in dataclasses.fields(old):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        if f.name == "params":
            pa, pb = dict(a), dict(b)
            parts += [f"{k} {_setting_value(pa[k]) if k in pa else '(default)'} to "
                      f"{_setting_value(pb[k]) if k in pb else '(default)'}"
                      for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)]
        else:  # (an enum by its value: "resolution adjudicator to consensus")
            parts.append(f"{f.name.replace('_', ' ')} {_setting_value(a)} to "
                         f"{_setting_value(b)}")
    return "; ".join(parts)


def _log_state(check: LogCheck) -> LogState:
    from screener.exports.report import LogState

    return LogState(check.rows, check.head, check.problem)


def _flat_config(config: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Model settings as (name, value), nested ones named "features.min_df"."""
    out: list[tuple[str, Any]] = []
    for key, value in config.items():
        if isinstance(value, dict):
            out += _flat_config(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _ta_decision_rows(log: Sequence[Decision], names: set[str]
                     ) -> tuple[list[Decision], set[int]]:
    """Screeners' title/abstract decision rows (undo rows left out) of `names`, and the ids
    of those on a record the reviewer had decided before (a change, or after an undo)."""
    decided: set[tuple[int, str]] = set()  # (record, reviewer) decided so far in the log
    made: list[Decision] = []
    changed: set[int] = set()
    for d in log:
        if (d.stage != Stage.TITLE_ABSTRACT or d.reviewer_role != Role.SCREENER
                or d.label == Label.UNDONE):
            continue
        key = (d.record_id, d.reviewer)
        if d.reviewer in names:
            made.append(d)
            if key in decided and d.id is not None:  # decided before (changed, or undone)
                changed.add(d.id)
        decided.add(key)
    return made, changed


def _retraining(made: Sequence[Decision], used: Sequence[int], changed: set[int],
                similarity: Collection[int] = (),
                owners: Collection[int | None] = ()) -> str:
    """How often the model was retrained, from the rankings the decision rows record (""
    for one model ranking: not retrained). `similarity`: the cold start's rankings among
    them (not the model's); `owners`: whose rankings they were (several: each screener's
    own, as in blind dual screening)."""
    linked = [d for d in made if d.ranking_id]
    if len([i for i in used if i not in similarity]) <= 1:
        return ""
    cold = len([i for i in used if i in similarity])
    text = (f"as screening went on: the {_count(len(linked))} title/abstract "
            f"{_s(len(linked), 'decision')} that record the ranking which showed their "
            f"record {'was' if len(linked) == 1 else 'were'} made on {_count(len(used))} "
            "successive rankings")
    notes = []
    if cold:
        notes.append(f"{_count(cold)} of them by similarity to the protocol, before the model "
                     "could be trained")
    if len(owners) > 1:
        notes.append(f"each of the {_count(len(owners))} screeners had rankings of their own, "
                     "trained on their own decisions only")
    if notes:
        text += f" ({'; '.join(notes)})"
    unranked = _unranked(made, changed)
    return text + (f" ({unranked.replace(' decision', ' further decision', 1)})"
                   if unranked else "")


def _unranked(made: Sequence[Decision], changed: set[int]) -> str:
    """The title/abstract decision rows that record no ranking, and why, in words ("" when
    every row records one): "3 decisions record no ranking: 1 made before ..."."""
    linked = [d for d in made if d.ranking_id]
    unlinked = [d for d in made if not d.ranking_id]
    if not unlinked:
        return ""
    # a reviewer's decisions before their first ranked one (or of a reviewer who never had
    # a ranking): the UI shows the first record(s) in import order while the cold-start
    # ranking is computed, and `next` does so until the reviewer has a ranking
    first_ranked: dict[str, int] = {}
    for d in linked:
        first_ranked.setdefault(d.reviewer, d.id or 0)
    early = [d for d in unlinked if d.id not in changed
             and (d.reviewer not in first_ranked or (d.id or 0) < first_ranked[d.reviewer])]
    redone = sum(1 for d in unlinked if d.id in changed)
    opened = len(unlinked) - redone - len(early)
    # import order only where it could have been: a reviewer whose records, in the order
    # decided, do not go up by import (record id) picked them (`decide`, browse), as
    # screener would have offered the first record left
    by_reviewer: dict[str, list[int]] = {}
    for d in sorted(early, key=lambda d: d.id or 0):
        by_reviewer.setdefault(d.reviewer, []).append(d.record_id)
    picked = sum(len(ids) for ids in by_reviewer.values()
                 if any(b <= a for a, b in zip(ids, ids[1:], strict=False)))
    in_order = len(early) - picked
    parts = ([f"{_count(in_order)} made before the reviewer's first ranking arrived "
              "(records in import order)"] if in_order else [])
    parts += ([f"{_count(picked)} made before the reviewer's first ranking arrived, on "
               "records the reviewer chose (not offered by screener, which offers records in "
               "import order until then)"] if picked else [])
    parts += ([f"{_count(opened)} on records opened outside the ranked queue"]
              if opened else [])
    parts += [f"{_count(redone)} deciding again a record decided before (changed or "
              "undone)"] if redone else []
    return (f"{_count(len(unlinked))} {_s(len(unlinked), 'decision')} "
            f"record{'s' if len(unlinked) == 1 else ''} no ranking: "
            f"{', '.join(parts[:-1]) + ' and ' + parts[-1] if len(parts) > 1 else parts[0]}")


def _earlier_models(made: Sequence[Decision], infos: dict[int, dict[str, Any] | None],
                    last_hash: str) -> tuple[tuple[str, str, int], ...]:
    """Configurations other than the last one that decisions were made on, in order."""
    counts: dict[tuple[str, str], int] = {}
    for d in sorted(made, key=lambda d: d.id or 0):
        info = infos.get(d.ranking_id or 0)
        if info is not None and info["config_hash"] != last_hash:
            key = (str(info["config"].get("name", "")), str(info["config_hash"]))
            counts[key] = counts.get(key, 0) + 1
    return tuple((name, h, n) for (name, h), n in counts.items())


def _split_of(records_by_reviewers: Counter[int]) -> Split:
    """((reviewers, records), ...), most reviewers first."""
    return tuple(sorted(records_by_reviewers.items(), reverse=True))


def _allocation_split(review: Review, session: Session, current: Sequence[Decision],
                      stage: Stage = Stage.TITLE_ABSTRACT) -> tuple[Split | None, Split | None]:
    """(how many records so many screeners decided; how many records the allocation gave so
    many screeners), as `Split`s, under the stage's allocation in force. The first is None
    without an allocation, or when it gives every record the protocol's number of screeners
    (an allocation with no overlap in a dual review gives each record one: not None); the
    second (the plan) is None when what was screened matches it."""
    from screener.workflow.team import required_reviewers

    per = required_reviewers(review, session, stage)
    need = review.protocol.screening.reviewers_per_record
    if not per or all(n == need for n in per.values()):
        return None, None
    plan = _split_of(Counter(per.values()))
    screeners: dict[int, set[str]] = {}
    for d in current:
        if d.stage == stage and d.reviewer_role == Role.SCREENER and d.record_id in per:
            screeners.setdefault(d.record_id, set()).add(d.reviewer)
    done = _split_of(Counter(len(names) for names in screeners.values()))
    return done, None if done == plan else plan


def write_report(review: Review, out: Path | None = None, force: bool = False,
                 previous: PreviousVersion | None = None) -> Path:
    """The methods report (Markdown) with the PRISMA diagram written beside it; `previous`:
    its counts and diagram as the updated-review template's."""
    from screener.exports.prisma import prisma_svg
    from screener.exports.report import ReportInputs, methods_report

    check_suffix(out, "markdown", ("markdown",), "the report is Markdown")
    _check_previous(review, previous)
    _refuse_while_blind(review, "the report's counts and agreement")
    inputs = build_report_inputs(review)
    assert isinstance(inputs, ReportInputs)
    target = resolve_output(review, out, "report.md", force)
    inputs = replace(inputs, prisma_svg=f"{target.stem}-prisma.svg")
    if previous is not None:
        inputs = replace(inputs, counts=replace(inputs.counts, previous=previous))
    svg = resolve_output(review, target.parent / f"{target.stem}-prisma.svg", "", force,
                         "--out (the diagram goes beside the report, named <name>-prisma.svg)")
    text = methods_report(inputs)  # (made before anything is written)
    existed = svg.exists()
    write_text_atomic(svg, prisma_svg(inputs.counts, inputs.draft, _diagram_notes(
        inputs.other_methods, inputs.diagram_reworded_reasons)))
    try:
        write_text_atomic(target, text)
    except BaseException:
        if not existed:  # no diagram left without the report that names it
            svg.unlink(missing_ok=True)
        raise
    return target


def _import_fixes(events: Sequence[LogEvent]) -> tuple[ImportFix, ...]:
    """The imports withdrawn or corrected, from their events (`screener.workflow.import_fixes`)."""
    from screener.exports.report import ImportFix

    fixes = []
    for e in events:
        d = e.details
        if e.kind == "import_withdrawn":
            fixes.append(ImportFix(int(d.get("source_id") or 0), str(d.get("source", "")),
                                   e.time[:10], str(d.get("reason", "")),
                                   records=int(d.get("records") or 0),
                                   file=str(d.get("file") or d.get("query") or "")))
        elif e.kind == "import_corrected":
            before = {str(k): str(v) for k, v in (d.get("before") or {}).items()}
            after = d.get("after") or {}
            fixes.append(ImportFix(
                int(d.get("source_id") or 0), before.get("source", "") or _name_then(
                    events, e), e.time[:10], str(d.get("reason", "")),
                before=tuple(before.items()),
                after=tuple((k, str(after[k])) for k in ("source", "kind", "searched_on")
                            if k in after)))
    return tuple(fixes)


def _name_then(events: Sequence[LogEvent], corrected: LogEvent) -> str:
    """The source's name when `corrected` was made: its import's, as corrected before."""
    source_id = corrected.details.get("source_id")
    name = ""
    for e in events:
        if e.seq >= corrected.seq:
            break
        if e.kind == "records_imported" and e.details.get("source_id") == source_id:
            name = str(e.details.get("source", ""))
        elif e.kind == "import_corrected" and e.details.get("source_id") == source_id:
            name = str((e.details.get("after") or {}).get("source", name))
    return name
