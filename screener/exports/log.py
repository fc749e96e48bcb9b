"""Decision log exports: CSV for people, JSON Lines for re-verification.

Renders `screener.core.audit` rows with their chained hashes (from `chain` or from the
database's `row_hash` column); never queries the database, and imports only the
standard library and screener.core.

- `log_jsonl`: one JSON object per line, the row's fields exactly as hashed plus
  `row_hash`; `read_log_jsonl` reads it back for `screener.core.audit.verify`.
- `log_csv`: the same columns for spreadsheets, then which removed duplicate a decision's
  record became, which offline copy a row was merged from, the exclusion reason in words
  and which row an undo withdrew; criterion ids joined with ";". Cells that could start a
  formula are quoted (`_cells.safe_cell`), so a CSV is for reading,
  and the JSONL file is the one to verify.
- `events_jsonl`, `events_csv`, `read_events_jsonl`: the same for the event log
  (`screener.core.audit.LogEvent`); the CSV adds a `description` column in words.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from screener.core.audit import LogEvent, LogRow, describe_event, details_json, event_dict, row_dict
from screener.core.decisions import undo_targets
from screener.core.wording import plural
from screener.exports._cells import Cell, csv_text, over_excel_limit

T = TypeVar("T")

LOG_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LogRow)) + ("row_hash",)
"""Column order of the CSV export (and key order of each JSONL object)."""


def _cells(row: LogRow, row_hash: str) -> list[Cell]:
    out: list[Cell] = []
    for name, value in row_dict(row).items():
        if name == "criterion_ids":
            out.append(";".join(value))
        else:
            out.append(value)
    out.append(row_hash)
    return out


def log_csv(rows: Sequence[tuple[LogRow, str]],
            duplicate_of: Mapping[int, int] | None = None,
            merged_from: Mapping[int, str] | None = None,
            reason_labels: Mapping[str, Mapping[str, str]] | None = None,
            undoes: Mapping[int, int] | None = None) -> str:
    """`log_table` as CSV."""
    return csv_text(*log_table(rows, duplicate_of, merged_from, reason_labels, undoes))


def log_cells_over_excel_limit(header: Sequence[str], table: Sequence[Sequence[Cell]]
                               ) -> list[str]:
    """The cells of `log_table`'s table that Excel would cut on opening the CSV, each
    named by its row ("seq 12 (record 5): note, 40,120 characters")."""
    return [cell for row in table
            for cell in over_excel_limit(header, row, f"seq {row[0]} (record {row[3]})")]


def log_table(rows: Sequence[tuple[LogRow, str]],
              duplicate_of: Mapping[int, int] | None = None,
              merged_from: Mapping[int, str] | None = None,
              reason_labels: Mapping[str, Mapping[str, str]] | None = None,
              undoes: Mapping[int, int] | None = None
              ) -> tuple[tuple[str, ...], list[list[Cell]]]:
    """The decision log's CSV table (header, rows): one row per decision in log order,
    with `row_hash`, and columns that are not hashed (the event log and the protocol versions hold what they
    say): `removed_as_duplicate_of`, the record kept in place of a decision's record that
    dedup removed later (its decisions no longer count); `merged_from`, the offline copy a
    row was merged from (made there earlier than the rows stored before it);
    `reason_label`, the exclusion reason in words as `reason_labels` (protocol sha256 ->
    reason id -> label) gives it for the protocol version in force at the decision; and
    `undoes_seq`, the `seq` of the decision an `undone` row withdrew: `undoes` (the undo's
    seq -> the withdrawn row's seq, as stored), or by default worked out from the rows (an
    undo withdraws the latest standing decision of its reviewer, record and stage)."""
    kept = duplicate_of or {}
    merged = merged_from or {}
    labels = reason_labels or {}
    if undoes is None:
        undoes = {rows[undo][0].seq: rows[withdrawn][0].seq
                  for undo, withdrawn in undo_targets(row for row, _ in rows).items()}

    def reason_label(row: LogRow) -> str:
        return labels.get(row.protocol_hash, {}).get(row.reason_id or "", "")

    return (LOG_COLUMNS + ("removed_as_duplicate_of", "merged_from", "reason_label",
                           "undoes_seq"),
            [[*_cells(row, h), kept.get(row.record_id), merged.get(row.seq, ""),
              reason_label(row), undoes.get(row.seq)] for row, h in rows])


def _jsonl(rows: Sequence[tuple[T, str]], as_dict: Callable[[T], dict[str, Any]]) -> str:
    lines = []
    for row, row_hash in rows:
        data = as_dict(row)
        data["row_hash"] = row_hash
        lines.append(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "".join(line + "\n" for line in lines)


def _read_jsonl(text: str, make: Callable[[dict[str, Any]], T],
                what: str) -> list[tuple[T, str]]:
    out: list[tuple[T, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not isinstance(data.get("row_hash"), str):
                raise ValueError("not a log row (a JSON object with a row_hash)")
            row_hash = data.pop("row_hash")
            out.append((make(data), row_hash))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{what} line {number}: {error}") from error
    return out


def log_jsonl(rows: Sequence[tuple[LogRow, str]]) -> str:
    """The decision log as JSON Lines (keys in `LOG_COLUMNS` order)."""
    return _jsonl(rows, row_dict)


_SHAPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "int | None": (int, type(None)), "str": (str,),
    "str | None": (str, type(None)), "tuple[str, ...]": (list,), "dict[str, Any]": (dict,)}


def _check_shape(cls: type, data: dict[str, Any]) -> None:
    """Each field present once, of its JSON type (an edited row with a text `seq` or a
    missing field is named, not a traceback)."""
    wanted = {f.name: str(f.type) for f in fields(cls)}
    unknown = sorted(set(data) - set(wanted))
    if unknown:
        raise ValueError(f"unknown {plural(len(unknown), 'field')} {', '.join(unknown)}")
    for name, shape in wanted.items():
        if name not in data:
            raise ValueError(f"field {name!r} is missing")
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, _SHAPES[shape]):
            raise ValueError(f"field {name!r} is {json.dumps(value)[:40]}, not "
                             f"{shape.replace('tuple[str, ...]', 'a list of text')}")
    if "criterion_ids" in data and not all(isinstance(c, str) for c in data["criterion_ids"]):
        raise ValueError("field 'criterion_ids' must be a list of text")


def _log_row(data: dict[str, Any]) -> LogRow:
    _check_shape(LogRow, data)
    data["criterion_ids"] = tuple(data["criterion_ids"])
    return LogRow(**data)


def read_log_jsonl(text: str) -> list[tuple[LogRow, str]]:
    """Rows and hashes back from `log_jsonl` output (raises ValueError on a bad line)."""
    return _read_jsonl(text, _log_row, "decision log")


EVENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LogEvent)) + ("row_hash",)


def events_jsonl(rows: Sequence[tuple[LogEvent, str]]) -> str:
    """The event log as JSON Lines: each event's fields as hashed, plus `row_hash`."""
    return _jsonl(rows, event_dict)


def events_table(rows: Sequence[tuple[LogEvent, str]]
                 ) -> tuple[tuple[str, ...], list[list[Cell]]]:
    """The event log's CSV table (header, rows): details as JSON text, a description in
    words, and each row's chained hash."""
    header = EVENT_COLUMNS[:-1] + ("description", "row_hash")
    return header, [[e.seq, e.kind, e.actor, e.time, e.stage, e.record_id,
                     details_json(e.details), describe_event(e), h] for e, h in rows]


def events_csv(rows: Sequence[tuple[LogEvent, str]]) -> str:
    """The event log as CSV (`events_table`)."""
    return csv_text(*events_table(rows))


def event_cells_over_excel_limit(header: Sequence[str], table: Sequence[Sequence[Cell]]
                                 ) -> list[str]:
    """The cells of `events_table`'s table that Excel would cut on opening the CSV, each
    named by its row ("event 3 (records_imported): details, 40,120 characters")."""
    return [cell for row in table
            for cell in over_excel_limit(header, row, f"event {row[0]} ({row[1]})")]


def is_event_log(text: str) -> bool:
    """Whether JSON Lines text is an event log (its first row has a `kind`), not a
    decision log."""
    for line in text.splitlines():
        if line.strip():
            try:
                first = json.loads(line)
            except ValueError:
                return False
            return isinstance(first, dict) and "kind" in first and "decision_id" not in first
    return False


def _log_event(data: dict[str, Any]) -> LogEvent:
    _check_shape(LogEvent, data)
    return LogEvent(**data)


def read_events_jsonl(text: str) -> list[tuple[LogEvent, str]]:
    """Events and hashes back from `events_jsonl` output (raises ValueError on a bad line)."""
    return _read_jsonl(text, _log_event, "event log")
