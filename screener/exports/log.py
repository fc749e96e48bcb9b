"""Decision log exports: CSV for people, JSON Lines for re-verification.

Renders `screener.core.audit` rows with their chained hashes (from `chain` or from the
database's `row_hash` column); never queries the database, and imports only the
standard library and screener.core.

- `log_jsonl`: one JSON object per line, the row's fields exactly as hashed plus
  `row_hash`; `read_log_jsonl` reads it back for `screener.core.audit.verify`.
- `log_csv`: the same columns for spreadsheets; criterion ids joined with ";". Cells
  that could start a formula are quoted (`_cells.safe_cell`), so a CSV is for reading,
  and the JSONL file is the one to verify.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields

from screener.core.audit import LogRow, row_dict
from screener.exports._cells import Cell, csv_text

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


def log_csv(rows: Sequence[tuple[LogRow, str]]) -> str:
    """The decision log as CSV, one row per decision in log order, with `row_hash`."""
    return csv_text(LOG_COLUMNS, (_cells(row, h) for row, h in rows))


def log_jsonl(rows: Sequence[tuple[LogRow, str]]) -> str:
    """The decision log as JSON Lines (keys in `LOG_COLUMNS` order)."""
    lines = []
    for row, row_hash in rows:
        data = row_dict(row)
        data["row_hash"] = row_hash
        lines.append(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "".join(line + "\n" for line in lines)


def read_log_jsonl(text: str) -> list[tuple[LogRow, str]]:
    """Rows and hashes back from `log_jsonl` output (raises ValueError on a bad line)."""
    out: list[tuple[LogRow, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            row_hash = str(data.pop("row_hash"))
            data["criterion_ids"] = tuple(data["criterion_ids"])
            out.append((LogRow(**data), row_hash))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"decision log line {number}: {error}") from error
    return out
