"""Spreadsheet safety and CSV writing shared by every CSV and XLSX export.

A cell whose text begins with "=", "+", "-", "@", a tab or a carriage return (or their
full-width forms) is read as a formula by Excel, LibreOffice and Google Sheets (CSV
injection). `safe_cell` prefixes such text with a single quote, which spreadsheets show
as plain text, and so text whose own leading apostrophes come before such a character
("'-omics' approaches" is written "''-omics' approaches"): an importer that takes one quote
off text that starts with quotes and then a formula character (screener's tabular
importer does) reads back every text exactly as it was. Every CSV writer in
screener.exports goes through `safe_cell`; XLSX writes text cells as they are.

Imports the standard library only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

Cell = str | int | float | None


def safe_cell(value: Cell) -> Cell:
    """The value to write in a spreadsheet cell: text that could start a formula is quoted.

    Numbers and None pass through unchanged (they cannot hold a formula).

    >>> safe_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> safe_cell("-1"), safe_cell(-1)
    ("'-1", -1)
    >>> safe_cell("'-omics' approaches"), safe_cell("'Tis")
    ("''-omics' approaches", "'Tis")
    """
    if isinstance(value, str) and value.lstrip("'").startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """RFC 4180 CSV (LF line ends, minimal quoting) with every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return out.getvalue()


EXCEL_CELL_LIMIT = 32767
"""The most characters Excel keeps in one cell (it cuts the rest on opening a CSV)."""


def over_excel_limit(header: Sequence[str], row: Sequence[Cell], where: str) -> list[str]:
    """The cells of `row` (under `header`) longer than Excel keeps, each named for a
    warning: "`where`: column, 41,020 characters"."""
    return [f"{where}: {name}, {len(v):,} characters"
            for name, v in zip(header, row, strict=True)
            if isinstance(v, str) and len(v) > EXCEL_CELL_LIMIT]
