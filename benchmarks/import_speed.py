"""Benchmark importing 100,000-record MEDLINE and RIS files.

Run:  .venv/bin/python benchmarks/import_speed.py [--records N] [--data DIR] [--keep]
          [--mode review|parse|both] [--db-url URL]

Two measurements per file:
- `review` (the default, what `screener import` does): a fresh review is created and the
  file is imported through `screener.workflow.importing.import_file` (read + parse +
  one-transaction insert of every record with its raw fields). With --db-url URL (a
  PostgreSQL server) the review lives in a new database created on that server for the
  run and dropped after it, instead of a SQLite file in a temporary folder.
- `parse`: `screener.importers.read_file` alone (no database).

The files are built by varying real records: titles, abstracts, authors, journals, years,
DOIs and PMIDs from the screening CSVs in DIR/screening/*.csv.gz, laid out with the tags
and line wrapping of the real exports in DIR/formats (PubMed MEDLINE, Zotero/EndNote RIS),
with MeSH headings, keywords and publication types taken from those real files. Each
generated record gets a unique PMID and DOI. Files go to a temporary folder (deleted unless
--keep).

Each file is read in its own subprocess, so the peak memory (`resource.getrusage(
RUSAGE_SELF).ru_maxrss`, which includes the interpreter and the file's bytes) is that
import's own. Targets: >= 5,000 records/s and peak <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

from shared_data import data_option

TARGET_RATE = 5_000
TARGET_PEAK_MB = 1.5 * 1024

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from screener.importers import read_file
path = Path(sys.argv[1])
start, cpu = time.perf_counter(), time.process_time()
result = read_file(path)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"format": result.format, "records": len(result.records),
                  "seconds": elapsed, "cpu_seconds": cpu, "peak_mb": peak_kb / 1024,
                  "authors": sum(len(r.authors) for r in result.records),
                  "with_doi": sum(1 for r in result.records if r.doi),
                  "warnings": len(result.warnings)}))
"""

CHILD_REVIEW = r"""
import json, resource, shutil, sys, tempfile, time
from pathlib import Path
from screener.workflow.importing import import_file
from screener.workflow.review import create_review
path, protocol, server = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] or None
folder = Path(tempfile.mkdtemp(prefix="screener-import-review-"))
db_url = None
if server:  # a fresh database on that PostgreSQL server, dropped afterwards
    import uuid
    from sqlalchemy import create_engine, make_url
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = "screener_bench_" + uuid.uuid4().hex[:12]
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    db_url = make_url(server).set(database=name).render_as_string(hide_password=False)
review = create_review(folder / "review", protocol, db_url=db_url)
start, cpu = time.perf_counter(), time.process_time()
summary = import_file(review, path)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
shutil.rmtree(folder)
if server:
    review.db.dispose()
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE {name}")
print(json.dumps({"format": summary.format, "records": summary.records,
                  "seconds": elapsed, "cpu_seconds": cpu, "peak_mb": peak_kb / 1024,
                  "warnings": len(summary.warnings)}))
"""
PROTOCOL = Path(__file__).resolve().parents[1] / "protocols" / "ketamine-depression.yaml"


def screening_rows(folder: Path) -> list[dict[str, str]]:
    """Rows with a title from every screening dataset."""
    rows: list[dict[str, str]] = []
    for path in sorted(folder.glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            rows.extend(r for r in csv.DictReader(fh) if r["title"].strip())
    return rows


def medline_vocabulary(folder: Path) -> dict[str, list[list[str]]]:
    """MeSH headings, keywords and publication types per real MEDLINE record."""
    from Bio import Medline

    vocab: dict[str, list[list[str]]] = {"MH": [], "OT": [], "PT": []}
    for path in sorted((folder / "medline").glob("*")):
        with path.open(encoding="utf-8") as fh:
            for record in Medline.parse(fh):
                for tag in vocab:
                    if record.get(tag):
                        vocab[tag].append(list(record[tag]))
    return vocab


def wrap(tag: str, value: str) -> str:
    """A MEDLINE field: 'TAG - ' then continuation lines indented by 6 spaces."""
    lines = textwrap.wrap(value, 82) or [""]
    return f"{tag:<4}- {lines[0]}\n" + "".join(f"      {line}\n" for line in lines[1:])


def authors_of(row: dict[str, str], index: int) -> list[str]:
    names = [a.strip() for a in row["authors"].split(";") if a.strip()]
    return names or [f"Author{index % 997}, Alex", f"Writer{index % 991}, Sam"]


def medline_records(rows: list[dict[str, str]], vocab: dict[str, list[list[str]]],
                    count: int) -> Iterator[str]:
    for i in range(count):
        row = rows[i % len(rows)]
        year = row["year"] or str(1990 + i % 35)
        journal = row["journal"] or "Journal of Synthetic Reviews"
        parts = [f"PMID- {40_000_000 + i}\n", "OWN - NLM\n", "STAT- MEDLINE\n",
                 f"VI  - {1 + i % 80}\n", f"IP  - {1 + i % 12}\n", f"DP  - {year} Mar\n",
                 wrap("TI", row["title"]), f"PG  - {100 + i % 900}-{1000 + i % 900}\n",
                 f"LID - 10.5555/bench.{i} [doi]\n"]
        if row["abstract"]:
            parts.append(wrap("AB", row["abstract"]))
        for name in authors_of(row, i):
            parts.append(f"FAU - {name}\n")
        parts.append("LA  - eng\n")
        for pt in vocab["PT"][i % len(vocab["PT"])]:
            parts.append(f"PT  - {pt}\n")
        parts.append(f"JT  - {journal}\n")
        for mh in vocab["MH"][i % len(vocab["MH"])]:
            parts.append(f"MH  - {mh}\n")
        for ot in vocab["OT"][i % len(vocab["OT"])] if vocab["OT"] else []:
            parts.append(f"OT  - {ot}\n")
        parts.append(f"SO  - {journal}. {year} Mar;{1 + i % 80}({1 + i % 12}).\n\n")
        yield "".join(parts)


def ris_records(rows: list[dict[str, str]], vocab: dict[str, list[list[str]]],
                count: int) -> Iterator[str]:
    for i in range(count):
        row = rows[(i * 7) % len(rows)]
        year = row["year"] or str(1990 + i % 35)
        parts = ["TY  - JOUR\n", f"TI  - {row['title']}\n"]
        for name in authors_of(row, i):
            parts.append(f"AU  - {name}\n")
        parts += [f"T2  - {row['journal'] or 'Journal of Synthetic Reviews'}\n",
                  f"PY  - {year}\n", f"DA  - {year}/03/01/\n", f"VL  - {1 + i % 80}\n",
                  f"IS  - {1 + i % 12}\n", f"SP  - {100 + i % 900}\n",
                  f"EP  - {1000 + i % 900}\n", f"DO  - 10.5555/bench.{i}\n",
                  f"AN  - {40_000_000 + i}\n", "DB  - PubMed\n", "LA  - eng\n"]
        if row["abstract"]:
            parts.append(f"AB  - {row['abstract']}\n")
        for kw in vocab["MH"][i % len(vocab["MH"])]:
            parts.append(f"KW  - {kw}\n")
        parts.append("ER  - \n\n")
        yield "".join(parts)


def write(path: Path, chunks: Iterator[str]) -> int:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for chunk in chunks:
            fh.write(chunk)
    return path.stat().st_size


def measure(path: Path, mode: str = "parse", db_url: str = "") -> dict[str, float]:
    """Import `path` in a fresh subprocess: `parse` (read_file) or `review` (import_file
    into a new review); records, seconds, cpu_seconds and peak_mb."""
    argv = ([sys.executable, "-c", CHILD, str(path)] if mode == "parse" else
            [sys.executable, "-c", CHILD_REVIEW, str(path), str(PROTOCOL), db_url])
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=None,
                        help="the shared data folder (default: $SCREENER_SHARED_DATA, else ../shared/data)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--mode", choices=("review", "parse", "both"), default="review",
                        help="review: whole import into a fresh review (default); "
                        "parse: read_file only")
    parser.add_argument("--db-url", default="", help="PostgreSQL URL for the review mode "
                        "(default: a SQLite review in a temporary folder)")
    args = parser.parse_args()
    args.data = data_option(args.data)
    modes = ("review", "parse") if args.mode == "both" else (args.mode,)

    rows = screening_rows(args.data / "screening")
    vocab = medline_vocabulary(args.data / "formats")
    folder = Path(tempfile.mkdtemp(prefix="screener-import-bench-"))
    out = io.StringIO()
    try:
        files = {
            "medline": (folder / "bench.nbib", medline_records(rows, vocab, args.records)),
            "ris": (folder / "bench.ris", ris_records(rows, vocab, args.records)),
        }
        print(f"{len(rows):,} real rows from {args.data / 'screening'}; "
              f"{args.records:,} records per file in {folder}")
        header = (f"{'format':<8} {'mode':<6} {'records':>8} {'MB':>6} {'wall s':>7} {'cpu s':>6} "
                  f"{'rec/s wall':>10} {'rec/s cpu':>10} {'target':>8} {'peak MB':>8} "
                  f"{'target':>7}  ok")
        print(header)
        print("-" * len(header))
        for name, (path, chunks) in files.items():
            size = write(path, chunks)
            for mode in modes:
                result = measure(path, mode, args.db_url)
                rate = result["records"] / result["seconds"]
                cpu_rate = result["records"] / result["cpu_seconds"]
                ok = rate >= TARGET_RATE and result["peak_mb"] <= TARGET_PEAK_MB
                assert result["format"] == name and result["records"] == args.records, result
                print(f"{name:<8} {mode:<6} {int(result['records']):>8,} {size / 1e6:>6.0f} "
                      f"{result['seconds']:>7.1f} {result['cpu_seconds']:>6.1f} {rate:>10,.0f} "
                      f"{cpu_rate:>10,.0f} {'>=5,000':>8} {result['peak_mb']:>8,.0f} "
                      f"{'<=1,536':>7}  {'yes' if ok else 'NO'}", file=out)
                print(out.getvalue().splitlines()[-1], flush=True)
    finally:
        if not args.keep:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


if __name__ == "__main__":
    main()
