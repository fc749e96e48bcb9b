"""Benchmark `screener.importers.read_file` on 100,000-record MEDLINE and RIS files.

Run:  .venv/bin/python benchmarks/import_speed.py [--records N] [--data DIR] [--keep]

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

DATA = Path("/work/shared/data")
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


def measure(path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True,
                          capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

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
        header = (f"{'format':<8} {'records':>8} {'MB':>6} {'wall s':>7} {'cpu s':>6} "
                  f"{'rec/s wall':>10} {'rec/s cpu':>10} {'target':>8} {'peak MB':>8} "
                  f"{'target':>7}  ok")
        print(header)
        print("-" * len(header))
        for name, (path, chunks) in files.items():
            size = write(path, chunks)
            result = measure(path)
            rate = result["records"] / result["seconds"]
            cpu_rate = result["records"] / result["cpu_seconds"]
            ok = rate >= TARGET_RATE and result["peak_mb"] <= TARGET_PEAK_MB
            assert result["format"] == name and result["records"] == args.records, result
            print(f"{name:<8} {int(result['records']):>8,} {size / 1e6:>6.0f} "
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
