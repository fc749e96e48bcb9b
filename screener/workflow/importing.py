"""Import use cases: files into a review (one transaction per file), PubMed searches,
citation searching by PMID, and deduplication with an audit trail.

Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from screener.core.decisions import Decision, Label, Role, Stage
from screener.core.records import Record
from screener.storage import repo
from screener.workflow.review import Review, ReviewError

KINDS = ("database", "register", "other")


@dataclass(frozen=True, slots=True)
class ImportSummary:
    file: str
    format: str
    source_id: int
    records: int
    warnings: tuple[str, ...]
    labels_imported: int = 0


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ReviewError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")


def _check_date(searched: str | None) -> str:
    if not searched:
        return ""
    try:
        return date.fromisoformat(searched).isoformat()
    except ValueError:
        raise ReviewError(f"--searched {searched!r} is not a date; write it as YYYY-MM-DD") from None


def read_any(path: Path, progress: Callable[[int], None] | None = None) -> tuple[str, list[Record], list[str]]:
    """Read one bibliography file (gzip-compressed or not); (format, records, warnings)."""
    from screener.importers import read_file

    if not path.exists():
        raise ReviewError(f"{path}: no such file")
    if path.is_dir():
        raise ReviewError(f"{path} is a folder; give the export files themselves")
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        with tempfile.TemporaryDirectory() as tmp:
            plain = Path(tmp) / path.name.removesuffix(".gz")
            try:
                plain.write_bytes(gzip.decompress(path.read_bytes()))
            except (OSError, EOFError) as exc:
                raise ReviewError(f"{path}: damaged gzip file ({exc})") from None
            result = read_file(plain, progress=progress)
    else:
        result = read_file(path, progress=progress)
    return result.format, list(result.records), list(result.warnings)


def import_file(review: Review, path: Path, *, source: str | None = None, kind: str = "database",
                searched: str | None = None, query: str = "", labels_as: str | None = None,
                progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Import one file whole or not at all (one transaction)."""
    _check_kind(kind)
    searched_on = _check_date(searched)
    fmt, records, warnings = read_any(path, progress)
    labels: list[tuple[int, int]] = []
    with review.transaction() as session:
        source_id = repo.add_source(session, name=source or _guess_source(path, fmt), kind=kind,
                                    file_name=path.name, query=query, fmt=fmt,
                                    searched_on=searched_on)
        ids = repo.add_records(session, source_id, records)
        if labels_as:
            from screener.importers import labels_from_raw

            for rid, record in zip(ids, records, strict=True):
                value = labels_from_raw(record)
                if value is not None:
                    labels.append((rid, value))
            if not labels:
                raise ReviewError(f"{path}: --labels-as was given but the file has no "
                                  "label_included / included column with values")
            for rid, value in labels:
                repo.add_decision(session, Decision(
                    record_id=rid, reviewer=labels_as, stage=Stage.TITLE_ABSTRACT,
                    label=Label.INCLUDE if value else Label.EXCLUDE,
                    note=f"imported label from {path.name}", protocol_hash=review.protocol_hash,
                    reviewer_role=Role.SCREENER))
            from screener.workflow.screening import apply_outcome_effects

            for rid, _value in labels:
                apply_outcome_effects(review, session, rid, Stage.TITLE_ABSTRACT)
    return ImportSummary(str(path), fmt, source_id, len(records), tuple(warnings), len(labels))


def _guess_source(path: Path, fmt: str) -> str:
    if fmt in ("medline", "pubmed_xml"):
        return "PubMed"
    if fmt == "wos":
        return "Web of Science"
    return path.stem


def import_records(review: Review, records: Sequence[Record], *, source: str, kind: str,
                   query: str = "", searched: str = "", fmt: str = "",
                   reported_count: int | None = None) -> ImportSummary:
    """Store records fetched from a service (PubMed search, PMIDs) as one source."""
    _check_kind(kind)
    with review.transaction() as session:
        source_id = repo.add_source(session, name=source, kind=kind, query=query, fmt=fmt,
                                    searched_on=searched, reported_count=reported_count)
        repo.add_records(session, source_id, records)
    return ImportSummary(source, fmt, source_id, len(records), ())
