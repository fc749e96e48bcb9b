"""Time `export records` writers on real titles and abstracts: CSV, RIS and XLSX.

Run:  .venv/bin/python benchmarks/export_speed.py [--records 2000 8000 32000] [--data DIR]

Records are the screening datasets' (DIR/screening/*.csv.gz) titles, abstracts, authors,
journals, years, DOIs and PMIDs, taken in file order until N; each writer renders them as
`screener export records` does (exports.records), to a temporary file. It prints seconds
and records/s per writer and size, and the XLSX/CSV time ratio, which should stay about
the same from size to size: a writer whose time grows faster than its records (the XLSX
writer read each row back through openpyxl's `sheet[n]`, which scans every cell written,
and took hours at 40,000 records) shows as a ratio that grows with N.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import tempfile
import time
from pathlib import Path

from shared_data import data_option

from screener.core.records import Record
from screener.exports.records import RecordItem, records_csv, records_ris, records_xlsx


def load(data: Path, n: int) -> list[RecordItem]:
    csv.field_size_limit(sys.maxsize)
    items: list[RecordItem] = []
    for path in sorted((data / "screening").glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                record = Record(
                    id=len(items) + 1, title=row["title"] or "", abstract=row["abstract"] or "",
                    authors=tuple(a.strip() for a in (row.get("authors") or "").split(";")
                                  if a.strip()),
                    year=int(row["year"]) if (row.get("year") or "").isdigit() else None,
                    journal=row.get("journal") or "", doi=row.get("doi") or "",
                    pmid=row.get("pmid") or "")
                items.append((record, "include", "", "a note"))
                if len(items) == n:
                    return items
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[2000, 8000, 32000])
    parser.add_argument("--data", type=Path, default=None,
                        help="the shared data folder (default: $SCREENER_SHARED_DATA, else ../shared/data)")
    args = parser.parse_args()
    args.data = data_option(args.data)
    pool = load(args.data, max(args.records))
    print(f"{'records':>8} {'csv s':>7} {'ris s':>7} {'xlsx s':>7} {'xlsx rec/s':>10} "
          f"{'xlsx/csv':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.records:
            items = pool[:n]
            t0 = time.perf_counter()
            (Path(tmp) / "r.csv").write_text(records_csv(items), encoding="utf-8")
            t1 = time.perf_counter()
            (Path(tmp) / "r.ris").write_text(records_ris(items), encoding="utf-8")
            t2 = time.perf_counter()
            records_xlsx(items, Path(tmp) / "r.xlsx")
            t3 = time.perf_counter()
            print(f"{len(items):>8,} {t1 - t0:>7.2f} {t2 - t1:>7.2f} {t3 - t2:>7.2f} "
                  f"{len(items) / (t3 - t2):>10,.0f} {(t3 - t2) / (t1 - t0):>8.1f}")


if __name__ == "__main__":
    main()
