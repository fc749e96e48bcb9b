"""Import use cases: files into a review (one transaction per command), PubMed searches,
citation searching by PMID, and deduplication with an audit trail.

Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screener.core import audit
from screener.core.dates import search_date_problem, searched_today
from screener.core.decisions import Decision, Label, Role, Stage
from screener.core.paths import not_utf8
from screener.core.records import PMID_LIST_QUERY, Record, typed_pmid
from screener.core.wording import counted, plural, were
from screener.storage import Session, repo
from screener.workflow.review import Review, ReviewError, TryAgainLater

if TYPE_CHECKING:
    from screener.importers import ImportResult

KINDS = ("database", "register", "other")


@dataclass(frozen=True, slots=True)
class ImportSummary:
    file: str
    format: str
    source_id: int
    records: int
    warnings: tuple[str, ...]
    labels_imported: int = 0
    onto_source: str = ""
    """With `labels_only`: the name of the earlier import whose records got the labels."""
    labels_by: str = ""
    """With `labels_as`: the reviewer whose decisions the labels became, as stored."""


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ReviewError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")


def _check_date(searched: str | None) -> str:
    if not searched:
        return ""
    if problem := search_date_problem(searched):
        raise ReviewError(f"--searched {searched!r} {problem}")
    return searched


def _source_name(session: Session, name: str, option: str = "--source",
                 nothing: str = "Nothing was imported") -> str:
    """A source's name as stored: surrounding spaces dropped, inner runs of spaces made one,
    NFC-normalised. A name that differs from an existing source's only in case or spacing
    is refused (it would be a second row of the PRISMA diagram), as reviewer names are."""
    from screener.workflow.screening import clean_name, name_key

    name = " ".join(clean_name(name, option).split())
    if not name:
        raise ReviewError(f"{option} is empty: give the source's name, e.g. {option} Embase")
    for other in {s["name"] for s in repo.sources(session)}:
        if other != name and name_key(other) == name_key(name):
            raise ReviewError(f"{option} {name!r}: the review has a source named {other!r}; "
                              "source names are matched exactly (each is a row of the PRISMA "
                              f"diagram): use {option} {shlex.quote(other)}, or give a name "
                              f"of its own. {nothing}")
    return name


def _check_source(review: Review, name: str) -> str:
    """`_source_name` before a file is read or a service asked (it is checked again when
    the source is written)."""
    with review.read() as session:
        return _source_name(session, name)


def read_any(path: Path, progress: Callable[[int], None] | None = None) -> tuple[str, list[Record], list[str]]:
    """Read one bibliography file (gzip-compressed or not); (format, records, warnings)."""
    result = _read_result(path, progress)
    return result.format, list(result.records), list(result.warnings)


def _read_result(path: Path, progress: Callable[[int], None] | None) -> ImportResult:
    from screener.importers import read_file
    from screener.importers.errors import ImportFailed

    if not path.exists():
        raise ReviewError(f"{path}: no such file")
    if path.is_dir():
        raise ReviewError(f"{path} is a folder; give the export files themselves")
    try:
        return read_file(path, progress=progress)  # gzip-compressed files too
    except ImportFailed as exc:
        raise ReviewError(f"{exc} Nothing was imported.") from None


@dataclass(frozen=True, slots=True)
class _ReadFile:
    path: Path
    format: str
    records: list[Record]
    warnings: list[str]
    sha256: str
    """Of the content (decompressed): stored with the source."""
    raw_sha256: str = ""
    """Of the file's bytes (differs for a gzip file)."""
    records_sha256: str = ""
    """`audit.records_digest` of the records read (stored with the import event)."""
    encoding: str = "utf-8"
    decoding: tuple[str, ...] = ()
    """How the bytes were read as text, when not plainly (stored with the import event)."""


def _sha256_of(path: Path) -> tuple[str, str]:
    """SHA-256 of the file's content (of what it holds once decompressed, for a gzip file:
    the file and its .gz copy are one import), and of its bytes as they are (what reviews
    stored for a .gz file before)."""
    import gzip
    import hashlib

    def digest_of(open_: Callable[[], Any]) -> str:
        digest = hashlib.sha256()
        with open_() as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    raw = digest_of(lambda: path.open("rb"))
    with path.open("rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    if not gzipped:
        return raw, raw
    try:
        return digest_of(lambda: gzip.open(path, "rb")), raw
    except (OSError, EOFError):  # (read_any read it: a damaged tail it tolerated)
        return raw, raw


def import_file(review: Review, path: Path | str, *, source: str | None = None, kind: str = "database",
                searched: str | None = None, query: str = "", labels_as: str | None = None,
                progress: Callable[[int], None] | None = None,
                again: bool = False, labels_only: bool = False) -> ImportSummary:
    """Import one file whole or not at all (one transaction)."""
    return import_files(review, [Path(path)], source=source, kind=kind, searched=searched,
                        query=query, labels_as=labels_as,
                        progress=(lambda _path, n: progress(n)) if progress else None,
                        again=again, labels_only=labels_only)[0]


def import_files(review: Review, paths: Sequence[Path | str], *, source: str | None = None,
                 kind: str = "database", searched: str | None = None, query: str = "",
                 labels_as: str | None = None,
                 progress: Callable[[Path, int], None] | None = None,
                 again: bool = False, labels_only: bool = False) -> list[ImportSummary]:
    """Import files all together or not at all: every file is read and checked first, then
    all are written in one transaction. A file whose bytes were imported before (or given
    twice) is refused unless `again`. With `labels_only`, each file adds only its labels,
    as `labels_as`'s decisions, to the records of an earlier import that holds the same
    records in the same order (`_write_labels`)."""
    from screener.workflow.screening import reviewer_name

    files = [Path(p) for p in paths]
    if labels_only and labels_as is None:
        raise ReviewError("--labels-only needs --labels-as REVIEWER (whose labels they are); "
                          "nothing was imported")
    _check_kind(kind)
    searched_on = _check_date(searched)
    if labels_as is not None:
        labels_as = reviewer_name(labels_as, "--labels-as")
    if source is not None:
        source = _check_source(review, source)
    if problem := next(filter(None, map(not_utf8, files)), ""):
        raise ReviewError(problem)
    read: list[_ReadFile] = []
    for path in files:
        result = _read_result(path, partial(progress, path) if progress else None)
        records = list(result.records)
        read.append(_ReadFile(path, result.format, records, list(result.warnings),
                              *_sha256_of(path), records_sha256=_digest(records),
                              encoding=result.encoding, decoding=tuple(result.decoding)))
    check_repeats = not again and not labels_only
    if check_repeats:
        with _labels_hint(labels_as):
            _refuse_repeats_in_command(read)
    summaries = []
    with review.transaction() as session:
        if check_repeats:
            # Checked in the write transaction, after the review-wide lock: two imports of
            # one file run at once queue here, and the second sees the first's source.
            repo.lock_review(session)
            with _labels_hint(labels_as):
                _refuse_repeats(session, read)
        if labels_as is not None:
            _check_labels_as(review, session, labels_as)
        for f in read:
            if labels_only and labels_as is not None:
                summaries.append(_write_labels(review, session, f, labels_as))
            else:
                summaries.append(_write_file(review, session, f, source=source, kind=kind,
                                             searched_on=searched_on, query=query,
                                             labels_as=labels_as))
    return summaries


@contextmanager
def _labels_hint(labels_as: str | None) -> Iterator[None]:
    """A refused repeat with --labels-as says how to add the labels instead."""
    try:
        yield
    except ReviewError as exc:
        if labels_as is None:
            raise
        raise ReviewError(f"{exc}. To add {labels_as}'s labels to the records imported "
                          "then, import the file with --labels-only") from None


def _refuse_repeats_in_command(read: Sequence[_ReadFile]) -> None:
    """Refuse two files of one command with the same bytes, or other bytes holding the same
    records (a copy with a line added, re-saved, exported again)."""
    seen: dict[str, Path] = {}
    seen_records: dict[str, Path] = {}
    for f in read:
        if f.sha256 in seen:
            if Path(f.path).resolve() == Path(seen[f.sha256]).resolve():
                raise ReviewError(f"{f.path} is given twice in the same command; nothing was "
                                  "imported. Give each file once")
            raise ReviewError(f"{f.path} has the same content as {seen[f.sha256]}, given "
                              "in the same command; nothing was imported. Give each file "
                              "once (or add --again to import both copies)")
        if f.records and f.records_sha256 in seen_records:
            raise ReviewError(f"{f.path} holds the same records as "
                              f"{seen_records[f.records_sha256]} (its bytes differ), given in "
                              "the same command; nothing was imported. Give each file once "
                              "(or add --again to import both copies)")
        seen[f.sha256] = f.path
        seen_records[f.records_sha256] = f.path


def _refuse_repeats(session: Session, read: Sequence[_ReadFile]) -> None:
    """Refuse a file imported before: the same bytes (content), or other bytes holding the
    same records."""
    for f in read:
        earlier = repo.sources_with_content(session, f.sha256) or (
            repo.sources_with_content(session, f.raw_sha256)
            if f.raw_sha256 != f.sha256 else [])
        what = f"{f.path} was already imported"
        if not earlier and f.records:
            earlier = repo.sources_with_records(session, f.records_sha256)
            what = f"the records of {f.path} were already imported (from a file with " \
                   "other bytes)"
        if earlier:
            raise ReviewError(_repeated(what, earlier[0]))


def _repeated(what: str, earlier: dict[str, Any], again: str = "--again --searched DATE "
              "(the day it was run)") -> str:
    """The refusal of an import that repeats `earlier` (a source's row); `again`: the
    options that import an update search that found nothing new."""
    when = audit.utc_day(earlier["imported_at"]) or "?"
    file = f", file {earlier['file_name']!r}" if earlier["file_name"] else ""
    searched = f", searched {earlier['searched_on']}" if earlier["searched_on"] else ""
    return (f"{what} on {when} as source {earlier['name']!r} "
            f"({counted(earlier['records'], 'record')}{file}{searched}); nothing was "
            "imported. Importing them again would add every record twice. For an update "
            f"search that found nothing new, import it with {again}, then run `screener "
            "dedup`, which removes the copies; otherwise leave it out")


def _check_labels_as(review: Review, session: Session, name: str) -> None:
    """Imported labels are a screener's decisions: not the adjudicator's (stored as a
    screener's they would take the adjudicator's role away), nor a second spelling of a
    known reviewer's name."""
    from screener.workflow.screening import role_of

    if role_of(review, session, name, "--labels-as") == Role.ADJUDICATOR:
        raise ReviewError(f"--labels-as {name!r} names the adjudicator; imported labels are a "
                          "screener's decisions: give a screener's name. Nothing was imported")


def _write_file(review: Review, session: Session, f: _ReadFile, *, source: str | None, kind: str,
                searched_on: str, query: str, labels_as: str | None) -> ImportSummary:
    path, fmt, records = f.path, f.format, f.records
    labels: list[tuple[int, Label]] = []
    source = _source_name(session, source or _guess_source(path, fmt))
    source_id = repo.add_source(session, name=source, kind=kind,
                                file_name=path.name, query=query, fmt=fmt,
                                searched_on=searched_on, content_sha256=f.sha256)
    ids = repo.add_records(session, source_id, records)
    warnings = list(f.warnings)
    # where the import falls in the decision log: before the decisions its labels make
    position = {}
    if labels_as:
        repo.lock_review(session)
        position = {repo.DECISION_POSITION: repo.log_head(session)[0]}
        labels = _add_labels(review, session, f, ids, labels_as, warnings)
    repo.add_event(session, "records_imported", details={**position,
        "source_id": source_id, "source": source, "kind": kind,
        "file": path.name, "format": fmt, "sha256": f.sha256, "records": len(records),
        "searched_on": searched_on, "query": query, "labels_as": labels_as or "",
        "labels": len(labels), "records_sha256": f.records_sha256,
        **({"encoding": f.encoding, "encoding_warnings": list(f.decoding)} if f.decoding else {})})
    return ImportSummary(str(path), fmt, source_id, len(records), tuple(warnings),
                         len(labels), labels_by=labels_as or "")


def _add_labels(review: Review, session: Session, f: _ReadFile, ids: Sequence[int],
                reviewer: str, warnings: list[str]) -> list[tuple[int, Label]]:
    """Store the file's labels (records in `ids`' order) as `reviewer`'s title/abstract
    decisions; a label that is neither include, exclude nor maybe is named in `warnings`."""
    from screener.core.labels import LABELS_READ, MAYBE_WORDS
    from screener.importers import (
        decision_from_raw,
        full_text_decision,
        label_reason_and_note,
        unreadable_label,
    )
    from screener.workflow.screening import apply_outcome_effects, note_as_held

    labels: list[tuple[int, Label]] = []
    odd: list[tuple[int, str]] = []
    full_text = 0
    for number, (rid, record) in enumerate(zip(ids, f.records, strict=True), start=1):
        value = decision_from_raw(record, reviewer)
        if value is not None:
            labels.append((rid, value))
        elif (text := unreadable_label(record, reviewer)) is not None:
            odd.append((number, text))
        elif full_text_decision(record) is not None:
            full_text += 1
    not_imported = (f"{counted(full_text, 'full-text decision')} in the file "
                    f"{plural(full_text, 'is', 'are')} not imported: --labels-as brings "
                    "title/abstract labels (its stage column says full_text; export the "
                    "title/abstract decisions with `export records --stage title_abstract`)"
                    if full_text else "")
    if odd:
        shown = "; ".join(f"record {n}: {t!r}" for n, t in odd[:5]) + (
            "; ..." if len(odd) > 5 else "")
        warnings.append(f"{counted(len(odd), 'record')} {plural(len(odd), 'has', 'have')} "
                        f"a label that is neither include, exclude nor maybe ({shown}); they "
                        f"were imported without a decision. Labels read: {LABELS_READ}; "
                        f"{'/'.join(sorted(MAYBE_WORDS))} as maybe")
    if not labels and full_text:
        raise ReviewError(f"{f.path}: {not_imported}; nothing was imported")
    if not labels:
        raise ReviewError(_no_labels(f, reviewer))
    if full_text:
        warnings.append(not_imported)
    records = dict(zip(ids, f.records, strict=True))
    dropped: list[tuple[int, str]] = []
    number_of = {rid: number for number, rid in enumerate(ids, start=1)}
    for rid, value in labels:
        reason_text, note = label_reason_and_note(records[rid], reviewer)
        reason_id, unknown = (_reason_of(review, reason_text) if value == Label.EXCLUDE
                              else (None, []))
        dropped += [(number_of[rid], text) for text in unknown]
        note = note_as_held(note)
        repo.add_decision(session, Decision(
            record_id=rid, reviewer=reviewer, stage=Stage.TITLE_ABSTRACT,
            label=value, reason_id=reason_id,
            note=f"{IMPORTED_LABEL_NOTE} {f.path.name}" + (f"; note: {note}" if note else ""),
            protocol_hash=review.protocol_hash, reviewer_role=Role.SCREENER))
    if dropped:
        shown = "; ".join(f"record {n}: {t!r}" for n, t in dropped[:5]) + (
            "; ..." if len(dropped) > 5 else "")
        warnings.append(
            f"{counted(len(dropped), 'exclusion reason')} in the file "
            f"{plural(len(dropped), 'was', 'were')} not kept with the labels ({shown}): a "
            "decision keeps one reason, one of the protocol's exclusion_reasons (its id or "
            "label); the first that is one was kept, and every note")
    for rid, _value in labels:
        apply_outcome_effects(review, session, rid, Stage.TITLE_ABSTRACT)
    return labels


TABLE_FORMATS = ("csv", "tsv", "xlsx")


def _no_labels(f: _ReadFile, reviewer: str) -> str:
    """Why `--labels-as reviewer` found no label in the file, worded for its format (a
    table's columns, a RIS file's notes), naming the reviewers of Rayyan's decisions."""
    from screener.importers import rayyan_votes
    from screener.importers.labels import LABEL_COLUMNS

    names = list(dict.fromkeys(name for r in f.records for name in rayyan_votes(r)))
    if names:
        return (f"{f.path}: the file has Rayyan decisions by {', '.join(names)}, none by "
                f"{reviewer}; give --labels-as with one of them (in any case), as the "
                "reviewer whose decisions these become. Nothing was imported")
    rayyan = "RAYYAN-INCLUSION: {\"NAME\"=>\"Included\"}"
    if f.format in TABLE_FORMATS:
        return (f"{f.path}: --labels-as was given but the file has no label column with "
                "values; nothing was imported. Columns read as labels (in this order, any "
                f"case): {', '.join(LABEL_COLUMNS)} (screener's own records export), or "
                f"Rayyan's decisions in a notes column ({rayyan})")
    return (f"{f.path}: --labels-as was given but the file's notes hold no labels; nothing "
            "was imported. Notes read as labels: ASReview's (N1  - ASReview_relevant or "
            f"ASReview_irrelevant) and Rayyan's (N1  - {rayyan}); a file with a label "
            "column is read as a CSV table")


def _reason_of(review: Review, text: str) -> tuple[str | None, list[str]]:
    """(the protocol's reason id for an imported exclusion reason, the parts of `text` not
    kept): `text` names the reason by id or label (any case or spacing), or several joined
    by "; " (as screener's records export lists two screeners' reasons), of which the first
    the protocol has is kept."""
    if not text:
        return None, []

    def key(name: str) -> str:
        return " ".join(name.casefold().split())

    known = {key(name): r.id for r in review.protocol.exclusion_reasons
             for name in (r.id, r.label)}
    parts = [text] if key(text) in known else [p.strip() for p in text.split(";") if p.strip()]
    found = [known[key(p)] for p in parts if key(p) in known]
    kept = found[0] if found else None
    return kept, [p for p in parts if key(p) not in known or known[key(p)] != kept]


def _write_labels(review: Review, session: Session, f: _ReadFile,
                  reviewer: str) -> ImportSummary:
    """`import --labels-only`: the file's labels onto the records of the earlier import
    that holds the same records in the same order (its import event's `records_sha256`),
    record by record; no record or source is added. Refused when no import holds them, or
    when `reviewer` has decided some of them already (the same labels imported twice)."""
    earlier = repo.sources_with_records(session, f.records_sha256) if f.records else []
    if not earlier:
        raise ReviewError(
            f"{f.path}: its {counted(len(f.records), 'record')} are not those of an earlier "
            "import (the same records, field for field, in the same order); --labels-only "
            "adds labels to the records of an import. Nothing was imported. Export the "
            "labels with the records as they were imported, or import the file without "
            "--labels-only")
    target = earlier[0]
    ids = repo.source_record_ids(session, int(target["id"]))
    decided = {d.record_id for d in repo.current_decisions(session, Stage.TITLE_ABSTRACT)
               if d.reviewer == reviewer} & set(ids)
    if decided:
        raise ReviewError(
            f"{f.path}: {reviewer} already has decisions on {len(decided):,} of these "
            f"records (e.g. record "
            f"{min(decided)}): these labels were imported before, or {reviewer} screened "
            "them here. Nothing was imported")
    warnings = list(f.warnings)
    labels = _add_labels(review, session, f, ids, reviewer, warnings)
    repo.add_event(session, "labels_imported", details={
        "source_id": target["id"], "source": target["name"], "file": f.path.name,
        "format": f.format, "sha256": f.sha256, "labels_as": reviewer, "labels": len(labels),
        "records_sha256": f.records_sha256})
    return ImportSummary(str(f.path), f.format, int(target["id"]), 0, tuple(warnings),
                         len(labels), onto_source=str(target["name"]), labels_by=reviewer)


def _digest(records: Sequence[Record]) -> str:
    from screener.core.audit import records_digest

    return records_digest((r.title, r.abstract, r.authors, r.year, r.journal, r.doi, r.pmid)
                          for r in records)


IMPORTED_LABEL_NOTE = "imported label from"
"""Start of the note of a decision made by `import --labels-as` (not by a reviewer here)."""


def _guess_source(path: Path, fmt: str) -> str:
    if fmt in ("medline", "pubmed_xml"):
        return "PubMed"
    if fmt == "wos":
        return "Web of Science"
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    return Path(name).stem  # scopus.ris.gz -> scopus


def import_records(review: Review, records: Sequence[Record], *, source: str, kind: str,
                   query: str = "", searched: str = "", fmt: str = "",
                   reported_count: int | None = None, again: bool = False,
                   details: dict[str, Any] | None = None,
                   warnings: tuple[str, ...] = ()) -> ImportSummary:
    """Store records fetched from a service (PubMed search, PMIDs) as one source. Records
    identical to an earlier import's (the same search or PMIDs fetched again, PubMed's
    records unchanged) are refused unless `again`. `details` go into the import's event;
    `warnings` into the summary."""
    _check_kind(kind)
    digest = _digest(records)
    with review.transaction() as session:
        earlier = [] if again else repo.sources_with_records(session, digest)
        if not records:  # (any search that found nothing has these no records)
            # the same query however it is spaced ('a  AND b' is 'a AND b'); case is kept
            # apart: PubMed's field tags ignore it, but a quoted phrase's terms may not
            asked = " ".join(query.split())
            earlier = [s for s in earlier
                       if " ".join(s["query"].split()) == asked and s["kind"] == kind]
        if earlier and not records:
            first = earlier[0]
            raise ReviewError(
                f"this search found no records, as it did on "
                f"{audit.utc_day(first['imported_at']) or '?'} (source {first['name']!r}); "
                "nothing was stored again. To record that it was run again and still found "
                "nothing (an update search), pass --again")
        if earlier:
            raise ReviewError(_repeated(f"the {counted(len(records), 'record')} fetched "
                                        f"{were(len(records))} already imported", earlier[0],
                                        "--again (it records the day)"))
        source = _source_name(session, source)
        source_id = repo.add_source(session, name=source, kind=kind, query=query, fmt=fmt,
                                    searched_on=searched, reported_count=reported_count)
        repo.add_records(session, source_id, records)
        repo.add_event(session, "records_imported", details={
            "source_id": source_id, "source": source, "kind": kind, "file": "",
            "format": fmt, "sha256": "", "records": len(records), "searched_on": searched,
            "query": query, "reported_count": reported_count, "records_sha256": digest,
            **(details or {})})
    return ImportSummary(source, fmt, source_id, len(records), warnings)


def records_not_deduplicated(session: Session) -> tuple[int, bool]:
    """(How many records came in after the latest dedup run, whether dedup ever ran), when
    that matters: after a dedup run, or, in a review never deduplicated, the records
    imported after its first decision (an update search into a screened review). A review
    that screens its imports without deduplicating them, by choice, is not told again."""
    runs = repo.import_and_dedup_runs(session)
    last = max((i for i, (kind, details, _) in enumerate(runs)
                if kind == "duplicates_removed" and "redo_of" not in details
                and "split_of" not in details), default=None)
    if last is not None:
        since = runs[last + 1:]
    elif repo.log_head(session)[0]:
        # where each source was added in the decision log (before the labels its own
        # import made decisions of), not by the clocks of the machines that did either
        added = repo.source_positions(session)
        since = [run for run in runs if added.get(int(run[1].get("source_id") or 0), 0) > 0]
    else:
        since = []
    present = {s["id"] for s in repo.sources(session)}  # (not those withdrawn since)
    return (sum(int(details.get("records", 0)) for kind, details, _ in since
                if kind == "records_imported" and details.get("source_id") in present),
            last is not None)


def not_deduplicated_note(count: int, dedup_ran: bool) -> str:
    """The note of `status` and `next` on records `records_not_deduplicated` counts ("" for
    none)."""
    if not count:
        return ""
    since = "since dedup last ran" if dedup_ran else "since screening began, never deduplicated"
    return (f"{counted(count, 'record')} imported {since}: run `screener dedup` before "
            "screening them (a record found again would be screened twice)")


def dedup_note(review: Review) -> str:
    """`not_deduplicated_note` of the review as it stands ("" when nothing awaits dedup)."""
    with review.read() as session:
        return not_deduplicated_note(*records_not_deduplicated(session))


@dataclass(frozen=True, slots=True)
class DedupSummary:
    clusters: int
    removed: int
    by_method: dict[str, int]
    skipped_undone: int
    screened_removed: tuple[int, ...] = ()
    """Removed records that had decisions (another screened copy was kept; their decisions
    stay in the log but no longer count)."""
    decided_differently: tuple[int, ...] = ()
    """Those of `screened_removed` whose labels at some stage differ from the kept copy's."""
    kept_of: dict[int, int] = field(default_factory=dict)
    """The kept copy of each of `screened_removed` (removed id -> kept id)."""
    cluster: int = 0
    """For `redo_duplicate_cluster`: the number of the new cluster."""
    contradicting: tuple[dict[str, Any], ...] = ()
    """Standing links whose records' identifiers or years contradict
    (`contradicting_duplicates`)."""
    kept_apart: tuple[tuple[int, int], ...] = ()
    """Pairs of records (lower id first) that dedup found alike but did not merge, as a
    reviewer had separated them, or records merged with them, with `--undo` (their number
    is `skipped_undone`)."""


def _labels_by_record(session: Session) -> dict[int, set[tuple[str, str]]]:
    """Each decided record's current (stage, label) pairs."""
    labels: dict[int, set[tuple[str, str]]] = {}
    for d in repo.current_decisions(session):
        labels.setdefault(d.record_id, set()).add((d.stage.value, d.label.value))
    return labels


def _screened_copies(labels: dict[int, set[tuple[str, str]]], pairs: Sequence[tuple[int, int]]
                     ) -> tuple[tuple[int, ...], tuple[int, ...], dict[int, int]]:
    """Of the (removed, kept) pairs: the removed copies that had been screened, those of them
    decided differently from their kept copy, and each one's kept copy."""
    screened = [(rid, keep) for rid, keep in pairs if rid in labels]
    return (tuple(rid for rid, _ in screened),
            tuple(rid for rid, keep in screened if labels[rid] != labels.get(keep, set())),
            dict(screened))


_STAGE_REACHED = {Stage.TITLE_ABSTRACT.value: 0, Stage.FULL_TEXT.value: 1}
_LABEL_REACH = {Label.EXCLUDE.value: 0, Label.MAYBE.value: 1, Label.INCLUDE.value: 2}


def _how_far(labels: set[tuple[str, str]]) -> tuple[int, int]:
    """How far a record's current decisions carry it: the furthest stage decided (full
    text over title/abstract), then the best label there (include > maybe > exclude)."""
    stage = max(_STAGE_REACHED.get(s, 0) for s, _ in labels)
    return stage, max(_LABEL_REACH.get(label, 0) for s, label in labels
                      if _STAGE_REACHED.get(s, 0) == stage)


def _keep_screened(keep: int, others: Sequence[int],
                   labels: dict[int, set[tuple[str, str]]],
                   records: dict[int, Record]) -> tuple[int, list[int]]:
    """The copy to keep of a cluster (`keep`, the one dedup chose, and `others`) and the
    copies to remove: of the screened copies, the one whose decisions carry the record
    furthest (`_how_far`), ties as dedup breaks them (`keep_first`: a copy titled as
    retracted, then the most metadata), then `keep`, then the lowest id; none screened:
    `keep`. So the cluster's outcome is its furthest-going copy's, and the decisions of the
    copy kept go on counting."""
    from screener.importers.dedup import keep_first

    def order(i: int) -> tuple[tuple[int, int], tuple[bool, int], bool, int]:
        far, best = _how_far(labels[i])
        return ((-far, -best), keep_first(records[i]) if i in records else (True, 0),
                i != keep, i)

    ids = [keep, *others]
    screened = [i for i in ids if labels.get(i)]
    if screened:
        keep = min(screened, key=order)
    return keep, [i for i in ids if i != keep]


def _cluster_links(number: int, keep: int, removed: Sequence[int],
                   records: dict[int, Record]) -> list[tuple[int, int, int, str, float]]:
    """The links (cluster, removed, kept, method, score) of one cluster, each with what
    links its two records (`pair_evidence`), so `--list` never names a DOI the kept copy
    lacks."""
    from screener.importers.dedup import pair_evidence

    return [(number, rid, keep, *pair_evidence(records[rid], records[keep]))
            for rid in removed]


def deduplicate(review: Review, *, threshold: float | None = None,
                progress: Callable[[int, int], None] | None = None) -> DedupSummary:
    """Find duplicates among the records not yet removed and link them (one transaction).

    Records that a reviewer separated with `--undo` are never put in one cluster again,
    whichever copies are kept; the summary names the links refused for that reason.
    """
    from screener.importers.dedup import DEFAULT_THRESHOLD, MIN_THRESHOLD, find_duplicates

    if threshold is not None and not MIN_THRESHOLD <= threshold <= 1:
        raise ReviewError(
            f"--threshold must be from {MIN_THRESHOLD} to 1 (got {threshold}): it is the "
            "title similarity from which two records with the same year and first author "
            f"count as one; below {MIN_THRESHOLD} unrelated titles would be merged. The "
            f"default is {DEFAULT_THRESHOLD}")
    with review.transaction() as session:
        removed = repo.removed_duplicate_ids(session)
        records = [r for r in repo.get_records_lean(session) if r.id not in removed]
        refused: set[tuple[int, int]] = set()
        clusters = find_duplicates(
            records, threshold=threshold or DEFAULT_THRESHOLD, progress=progress,
            apart=repo.separations(session),
            kept_apart=lambda a, b: refused.add((min(a, b), max(a, b))))
        number = repo.next_cluster_number(session)
        labels = _labels_by_record(session)
        by_id = {r.id: r for r in records if r.id is not None}
        links: list[tuple[int, int, int, str, float]] = []
        by_method: dict[str, int] = {}
        made = 0
        for cluster in clusters:
            keep, removed_ids = _keep_screened(
                cluster.kept_id, [m.record_id for m in cluster.members], labels, by_id)
            for link in _cluster_links(number, keep, removed_ids, by_id):
                links.append(link)
                by_method[link[3]] = by_method.get(link[3], 0) + 1
            number += 1
            made += 1
        repo.add_duplicate_links(session, links)
        # a run that finds nothing is logged too: the report then says duplicates were
        # sought (and none found), not that they were never removed with screener
        repo.add_event(session, "duplicates_removed", details={
            "removed": len(links), "clusters": made,
            **({"first_cluster": links[0][0], "last_cluster": links[-1][0]} if links else {}),
            "by_method": by_method, "threshold": threshold or DEFAULT_THRESHOLD,
            "links": [[rid, keep] for _, rid, keep, _, _ in links]})
        contradicting = tuple(contradicting_duplicates(session))
    return DedupSummary(made, len(links), by_method, len(refused),
                        *_screened_copies(labels, [(rid, keep) for _, rid, keep, _, _ in links]),
                        contradicting=contradicting, kept_apart=tuple(sorted(refused)))


def contradicting_duplicates(session: Session,
                             links: Sequence[dict[str, Any]] | None = None,
                             records: dict[int, Record] | None = None) -> list[dict[str, Any]]:
    """The standing duplicate links (`links`, default: every one) that the current rules
    would not make, their records' DOIs, PMIDs or years telling two publications
    (`dedup.contradicting_links`; older versions linked records by PMID though their DOIs
    differed): cluster, record_id, kept_id, identifier ("DOI", "PMID" or "year") and, for
    "removed" and "kept", the record's doi, pmid and year. Never undone here: a reviewer
    may have decided on them, and `screener dedup --undo` says what it restores."""
    from screener.importers.dedup import contradicting_links

    if links is None:
        links = repo.duplicate_links(session)
    if not links:
        return []
    if records is None:
        records = {r.id: r for r in repo.get_records(session, {
            i for link in links for i in (link["record_id"], link["kept_id"])})
                   if r.id is not None}
    found = contradicting_links(records, [(link["cluster"], link["record_id"], link["kept_id"])
                                          for link in links if not link["undone"]])

    def identifiers(rid: int) -> dict[str, Any]:
        r = records[rid]
        return {"doi": r.doi, "pmid": r.pmid, "year": r.year}

    return [{"cluster": c.cluster, "record_id": c.record_id, "kept_id": c.kept_id,
             "identifier": c.identifier, "removed": identifiers(c.record_id),
             "kept": identifiers(c.kept_id)} for c in found]


def contradiction_warning(found: dict[str, Any]) -> str:
    """One `contradicting_duplicates` link in words, with the undo that separates it."""
    def shown(rid: int, ids: dict[str, Any]) -> str:
        parts = [str(ids["year"]) if ids["year"] else "no year",
                 f"DOI {ids['doi']}" if ids["doi"] else "no DOI",
                 f"PMID {ids['pmid']}" if ids["pmid"] else "no PMID"]
        return f"record {rid} ({', '.join(parts)})"

    cluster = found["cluster"]
    differ = (f"they are {abs(found['removed']['year'] - found['kept']['year'])} years apart"
              if found["identifier"] == "year" else f"their {found['identifier']}s differ")
    return (f"cluster {cluster}: {shown(found['record_id'], found['removed'])} was removed as "
            f"a duplicate of {shown(found['kept_id'], found['kept'])}, but {differ}: the "
            "current rules keep such records apart; if they are different articles, undo it "
            f"with `screener dedup --undo {cluster}`")


def list_duplicates(review: Review, undone: bool = False) -> list[dict[str, object]]:
    """Duplicate links (active ones; with `undone`, the undone ones too, marked `undone`)
    with both records' titles, by cluster; a preprint's title match with its journal
    article is named as such (`shown_method`), not plain "fuzzy"; a standing link whose
    records' identifiers contradict carries `contradicts` (`contradicting_duplicates`),
    the others None."""
    from screener.importers.dedup import is_preprint, shown_method

    with review.transaction() as session:
        links = repo.duplicate_links(session, active_only=not undone)
        ids = {link["record_id"] for link in links} | {link["kept_id"] for link in links}
        records = {r.id: r for r in repo.get_records(session, ids) if r.id is not None}
        contradicting = {(c["cluster"], c["record_id"]): c
                         for c in contradicting_duplicates(session, links, records)}
    titles = {rid: (r.title, r.year, r.doi) for rid, r in records.items()}
    listed: list[dict[str, object]] = []
    for link in links:
        removed, kept = titles.get(link["record_id"]), titles.get(link["kept_id"])
        preprints = tuple(rid in records and is_preprint(records[rid])
                          for rid in (link["record_id"], link["kept_id"]))
        method = shown_method(link["method"], removed[2] if removed else "",
                              kept[2] if kept else "", (preprints[0], preprints[1]))
        listed.append({**link, "method": method, "removed": removed, "kept": kept,
                       "contradicts": contradicting.get((link["cluster"], link["record_id"]))})
    return listed


def undo_duplicate_cluster(review: Review, cluster: int) -> int:
    with review.transaction() as session:
        count = repo.undo_cluster(session, cluster)
    if count == 0:
        raise ReviewError(f"no active duplicate cluster {cluster}; see `screener dedup --list`")
    return count


@dataclass(frozen=True, slots=True)
class SplitSummary:
    """What `split_duplicate` did."""

    record_id: int
    clusters: tuple[int, ...]
    """The clusters the record was taken out of."""
    kept_id: int
    """The copy the record had been merged with (the record itself when it was the kept
    copy)."""
    new_cluster: int = 0
    """When the record was the kept copy of two or more others: the cluster that now
    merges them, under `new_kept`."""
    new_kept: int = 0


def split_duplicate(review: Review, record_id: int) -> SplitSummary:
    """Take one record out of its duplicate cluster, the others staying merged (one
    transaction): a removed copy counts again as a record of its own; the kept copy stays,
    and the others are merged again under the copy `deduplicate` would keep of them. Logged
    as an undo of the record's links; dedup never merges the record with those records
    again."""
    from screener.importers.dedup import keep_first

    with review.transaction() as session:
        links = repo.duplicate_links(session)
        removed = next((link for link in links if link["record_id"] == record_id), None)
        kept = removed["kept_id"] if removed else record_id
        group = [link for link in links if link["kept_id"] == kept]
        if not group:
            raise ReviewError(f"record {record_id} is in no duplicate cluster; see `screener "
                              "dedup --list`")
        others = {i for link in group for i in (link["record_id"], link["kept_id"])} - {
            record_id}
        apart = [(record_id, i) for i in sorted(others)]
        details = {"split": record_id}
        if removed is not None:
            repo.undo_cluster(session, removed["cluster"], [record_id], apart, details)
            return SplitSummary(record_id, (removed["cluster"],), kept)
        clusters = sorted({link["cluster"] for link in group})
        for cluster in clusters:
            repo.undo_cluster(session, cluster, separated=[
                (record_id, link["record_id"]) for link in group if link["cluster"] == cluster],
                details=details)
        if len(others) < 2:
            return SplitSummary(record_id, tuple(clusters), kept)
        records = {r.id: r for r in repo.get_records(session, others) if r.id is not None}
        first, *rest = sorted(others, key=lambda i: (*keep_first(records[i]), i))
        keep, removed_ids = _keep_screened(first, rest, _labels_by_record(session), records)
        number = repo.next_cluster_number(session)
        new_links = _cluster_links(number, keep, removed_ids, records)
        repo.add_duplicate_links(session, new_links)
        repo.add_event(session, "duplicates_removed", details={
            "removed": len(new_links), "clusters": 1, "first_cluster": number,
            "last_cluster": number, "split_of": record_id,
            "links": [[rid, keep] for _, rid, _, _, _ in new_links]})
    return SplitSummary(record_id, tuple(clusters), kept, number, keep)


def redo_duplicate_cluster(review: Review, cluster: int) -> DedupSummary:
    """Merge an undone cluster again, as a new cluster (the undone links stay in the log).
    The summary has the new cluster's number and, as `deduplicate`'s, the removed copies
    that had been screened."""
    with review.transaction() as session:
        links = [link for link in repo.duplicate_links(session, active_only=False)
                 if link["cluster"] == cluster]
        if not links:
            raise ReviewError(f"no duplicate cluster {cluster}; see `screener dedup --list`")
        if not any(link["undone"] for link in links):
            raise ReviewError(f"duplicate cluster {cluster} is not undone; nothing to redo")
        undone = [link for link in links if link["undone"]]
        busy = {link["record_id"] for link in repo.duplicate_links(session)} | {
            link["kept_id"] for link in repo.duplicate_links(session)}
        clash = sorted({i for link in undone for i in (link["record_id"], link["kept_id"])}
                       & busy)
        if clash:
            raise ReviewError(f"records {', '.join(map(str, clash))} of cluster {cluster} are "
                              "in another duplicate cluster now; undo that one first")
        number = repo.next_cluster_number(session)
        labels = _labels_by_record(session)
        # the undone links of one cluster share their kept copy; the screened copy that
        # goes furthest is kept, as `deduplicate` would
        ids = {i for link in undone for i in (link["record_id"], link["kept_id"])}
        records = {r.id: r for r in repo.get_records(session, ids) if r.id is not None}
        keep, removed = _keep_screened(undone[0]["kept_id"],
                                       [link["record_id"] for link in undone], labels, records)
        members = [link[1:] for link in _cluster_links(number, keep, removed, records)]
        repo.add_duplicate_links(session, [(number, rid, keep, method, score)
                                           for rid, _, method, score in members])
        repo.add_event(session, "duplicates_removed", details={
            "removed": len(members), "clusters": 1, "first_cluster": number,
            "last_cluster": number, "redo_of": cluster,
            "links": [[rid, keep] for rid, _, _, _ in members]})
        copies = _screened_copies(labels, [(rid, keep) for rid, _, _, _ in members])
    by_method: dict[str, int] = {}
    for _, _, method, _ in members:
        by_method[method] = by_method.get(method, 0) + 1
    return DedupSummary(1, len(members), by_method, 0, *copies, cluster=number)


def search_pubmed_into(review: Review, query: str, *, email: str, api_key: str | None = None,
                       max_records: int | None = None, source: str = "PubMed",
                       progress: Callable[[int, int], None] | None = None,
                       again: bool = False,
                       notice: Callable[[str], None] | None = None) -> ImportSummary:
    """Run a PubMed search (network) and store its records as one source with the query,
    the date and PubMed's own count (PRISMA-S items 13 and 15). What PubMed said about the
    query it ran (a phrase it did not find) is kept in the import's event
    (`pubmed_warnings`) and returned in the summary's warnings."""
    from screener.importers.pubmed import PubMedError, search_pubmed

    if not query.strip():
        raise ReviewError("the PubMed query is empty; give the search as PubMed would run it, "
                          "e.g. screener search pubmed \"ketamine AND depression\" --email ADDR")
    if max_records is not None and max_records < 1:
        raise ReviewError(f"--max {max_records}: give how many records to fetch at most (1 or "
                          "more), or leave --max out to fetch them all")
    _check_email(email)
    source = _check_source(review, source)
    try:
        result = search_pubmed(query, email=email, api_key=api_key, max_records=max_records,
                               progress=progress, notice=notice)
    except PubMedError as exc:
        raise pubmed_failed("search", exc) from None
    details = {**({"query_translation": result.query_translation}
                   if result.query_translation else {}),
               **({repo.SEARCH_WARNINGS: list(result.warnings)} if result.warnings else {})}
    return import_records(review, result.records, source=source, kind="database", query=query,
                          searched=result.searched_at, fmt="pubmed_xml",
                          reported_count=result.count, again=again, details=details or None,
                          warnings=result.warnings)


def pubmed_failed(what: str, exc: Exception) -> ReviewError:
    """A PubMed failure in words: the user's to fix (a rejected query, a refused key), or,
    PubMed not answering through the retries, `TryAgainLater` (exit code 75)."""
    from screener.importers.pubmed import PubMedUnavailable

    error = TryAgainLater if isinstance(exc, PubMedUnavailable) else ReviewError
    return error(f"PubMed {what} failed: {str(exc).rstrip('.')}. Nothing was imported.")


def _check_email(email: str) -> None:
    """NCBI asks every E-utilities request for a contact address."""
    if "@" not in email or not email.strip():
        raise ReviewError(f"--email {email!r} is not an e-mail address: give yours (NCBI asks "
                          "for a contact address with every request)")


_PMID_TOKEN = re.compile(r"pmid\s*[:-]?\s*[^\s,]+|[^\s,]+", re.IGNORECASE)
"""One PMID of a line in a list: a prefix ("PMID: ") is kept with the id after it."""


def read_pmid_list(path: Path) -> list[str]:
    """PMIDs from a text file: one per line, or separated by spaces or commas."""
    if not path.exists():
        raise ReviewError(f"{path}: no such file")
    if path.is_dir():
        raise ReviewError(f"{path} is a folder; give the text file of PMIDs (one per line)")
    pmids: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig", errors="replace")
                                  .splitlines(), 1):
        for token in _PMID_TOKEN.findall(line):
            pmid = typed_pmid(token)
            if not pmid:
                raise ReviewError(f"{path}, line {number}: {token!r} is not a PMID; write one "
                                  "PubMed id (digits) per line")
            pmids.append(pmid)
    return pmids


def import_pmids(review: Review, pmids: Sequence[str], *, email: str, api_key: str | None,
                 source: str, kind: str, again: bool = False,
                 notice: Callable[[str], None] | None = None) -> ImportSummary:
    """Fetch records by PMID (e.g. citation searching) and store them as one source;
    `notice` is told of each retry of a failed request."""
    from screener.importers.pubmed import PubMedError, fetch_pmids

    _check_kind(kind)
    _check_email(email)
    source = _check_source(review, source)
    bad = [p for p in pmids if not typed_pmid(p)]
    if bad or not pmids:
        raise ReviewError(f"not PMIDs: {', '.join(map(repr, bad)) or '(none given)'}; a "
                          "PubMed id is 1 to 9 digits (PMID:123 is fine)")
    asked = list(dict.fromkeys(typed_pmid(p) for p in pmids))  # distinct, in order given
    try:
        records = fetch_pmids(asked, email=email, api_key=api_key, notice=notice)
    except PubMedError as exc:
        raise pubmed_failed("fetch", exc) from None
    found = {r.pmid for r in records}
    missing = [p for p in asked if p not in found]
    shown = ", ".join(missing[:20]) + (", ..." if len(missing) > 20 else "")
    if not records:
        raise ReviewError(f"none of the {counted(len(asked), 'PMID')} asked for was found "
                          f"in PubMed ({shown}); "
                          "nothing was imported. Check the ids (a PMID is PubMed's own "
                          "number, not a PMC or DOI)")
    warnings = (f"{len(missing)} of the {counted(len(asked), 'PMID')} asked for "
                f"{were(len(missing))} not found in PubMed: {shown}; "
                f"{plural(len(missing), 'it was', 'they were')} not imported",) if missing else ()
    return import_records(review, records, source=source, kind=kind,
                          query=PMID_LIST_QUERY + " ".join(asked), searched=searched_today(),
                          fmt="pubmed_xml", reported_count=len(asked), again=again,
                          details={"pmids_not_found": missing}, warnings=warnings)
