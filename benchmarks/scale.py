"""A 200,000-record review end to end: import, dedup, rank, screen 100 decisions, export.

Run:  .venv/bin/python benchmarks/scale.py [--records 200000] [--data ../shared/data] [--keep]

Builds two files by varying the real records of ../shared/data/screening (new PMIDs and
DOIs for every record): a PubMed MEDLINE file with half the records and an Embase-style
RIS file with the other half, 5% of whose records repeat a MEDLINE record with the kind of
differences real exports have (DOI dropped, title case, trailing period) so dedup has
work to do. Then, in one process, times each step through the workflow layer and the
terminal UI (Textual Pilot), and reports each step's peak resident memory: this process's
(VmHWM, reset before each step through /proc/self/clear_refs; ru_maxrss where that is not
available, then a running peak) plus its child processes' (the largest of their sampled
VmHWM and RUSAGE_CHILDREN ru_maxrss), added as if they peaked at the same moment (an upper
bound). The whole run's peak is the largest step total. Targets (issues 3, 5 and 8): import >= 5,000 records/s,
dedup of 100,000 records <= 60 s (scaled: 200,000 here), decision-to-next-record latency
median <= 50 ms and p99 <= 150 ms, peak <= 2 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_speed import (  # noqa: E402
    medline_records,
    medline_vocabulary,
    screening_rows,
    write,
)

REPO = Path(__file__).resolve().parents[1]


def _status_kb(pid: int | str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children", encoding="ascii") as fh:
                    kids = [int(x) for x in fh.read().split()]
            except OSError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


class PeakMeter:
    """Peak resident memory per step: this process plus its child processes (MB)."""

    def __init__(self) -> None:
        self.can_reset = True
        self.whole = 0.0
        self._children_kb = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            kb = sum(max(_status_kb(c, "VmHWM"), _status_kb(c, "VmRSS"))
                     for c in _descendants(os.getpid()))
            with self._lock:
                self._children_kb = max(self._children_kb, kb)

    def start(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
                fh.write("5")
        except OSError:
            self.can_reset = False
        with self._lock:
            self._children_kb = 0
        self._ru_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    def stop(self) -> tuple[float, float]:
        """(this process's peak, children's peak) since `start`, in MB."""
        own = _status_kb("self", "VmHWM") if self.can_reset else 0
        own = own or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ru = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        with self._lock:
            kids = max(self._children_kb, ru if ru > self._ru_children else 0)
        own_mb, kids_mb = own / 1024, kids / 1024
        self.whole = max(self.whole, own_mb + kids_mb)
        return own_mb, kids_mb


METER: PeakMeter


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ris_with_duplicates(rows: list[dict[str, str]], count: int, offset: int,
                        dup_share: float, rng: random.Random) -> Iterator[str]:
    """RIS records; `dup_share` of them repeat MEDLINE record j (same title/year/author,
    DOI dropped or kept, case and punctuation changed)."""
    for i in range(count):
        dup = rng.random() < dup_share
        j = rng.randrange(offset) if dup else None
        row = rows[j % len(rows)] if j is not None else rows[(i * 7 + 3) % len(rows)]
        title = row["title"]
        if dup and rng.random() < 0.5:
            title = title.upper() if rng.random() < 0.3 else title.rstrip(".") + "."
        year = row["year"] or str(1990 + (j if j is not None else i) % 35)
        authors = [a.strip() for a in row["authors"].split(";") if a.strip()] or [
            f"Author{(j if j is not None else i) % 997}, Alex"]
        doi = (f"10.5555/bench.{j}" if j is not None and rng.random() < 0.5
               else "" if j is not None else f"10.5556/embase.{i}")
        parts = ["TY  - JOUR\n", f"TI  - {title}\n", *(f"AU  - {a}\n" for a in authors),
                 f"T2  - {row['journal'] or 'Journal of Synthetic Reviews'}\n",
                 f"PY  - {year}\n", f"VL  - {1 + i % 80}\n", f"SP  - {100 + i % 900}\n"]
        if doi:
            parts.append(f"DO  - {doi}\n")
        if row["abstract"]:
            parts.append(f"AB  - {row['abstract']}\n")
        parts.append("DB  - Embase\nER  - \n\n")
        yield "".join(parts)


def timed(label: str, results: list[tuple[str, float, str]], fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    gc.collect()
    METER.start()
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    own, kids = METER.stop()
    peak = f"{own + kids:,.0f} MB ({own:,.0f} + children {kids:,.0f})"
    results.append((label, seconds, peak))
    print(f"{label:40} {seconds:8.2f} s   peak {peak}", flush=True)
    return value


async def screen_with_pilot(review: object, n: int) -> list[float]:
    """Decision-key-to-next-record latencies (seconds) for n decisions in the real UI."""
    from screener.tui.app import ScreenerApp

    app = ScreenerApp(review, "ann", "title_abstract")  # type: ignore[arg-type]
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for i in range(n):
            before = app.current_record_id
            start = time.perf_counter()
            await pilot.press("e" if i % 10 else "i")
            if i % 10:
                await pilot.press("escape")
            while app.current_record_id == before:
                await pilot.pause(0.001)
            latencies.append(time.perf_counter() - start)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    global METER
    METER = PeakMeter()

    from screener.core.decisions import Label
    from screener.workflow.importing import deduplicate, import_file
    from screener.workflow.ranking import refresh_ranking
    from screener.workflow.reporting import export_prisma
    from screener.workflow.review import create_review
    from screener.workflow.screening import ScreeningSession

    rng = random.Random(8)
    tmp = Path(tempfile.mkdtemp(prefix="screener-scale-"))
    half = args.records // 2
    rows = screening_rows(args.data / "screening")
    vocab = medline_vocabulary(args.data / "formats")
    write(tmp / "pubmed.nbib", medline_records(rows, vocab, half))
    write(tmp / "embase.ris", ris_with_duplicates(rows, args.records - half, half, 0.05, rng))
    print(f"built {args.records:,} records in {tmp} (peak {peak_mb():,.0f} MB)")
    results: list[tuple[str, float, str]] = []
    review = create_review(tmp / "review", REPO / "protocols" / "ketamine-depression.yaml")
    try:
        s = timed(f"import MEDLINE ({half:,})", results, import_file, review,
                  tmp / "pubmed.nbib", source="PubMed")
        rate1 = s.records / results[-1][1]
        s2 = timed(f"import RIS ({args.records - half:,})", results, import_file, review,
                   tmp / "embase.ris", source="Embase")
        rate2 = s2.records / results[-1][1]
        d = timed(f"dedup ({args.records:,})", results, deduplicate, review)
        print(f"  {d.removed:,} duplicates removed in {d.clusters:,} clusters {d.by_method}")
        session = ScreeningSession(review, "ann")
        for k in range(10):
            item = session.next()
            assert item is not None and item.record.id is not None
            session.decide(item.record.id, Label.INCLUDE if k % 5 == 0 else Label.EXCLUDE)
        timed("first ranking (features fitted + cached)", results, refresh_ranking, review, "ann")
        timed("re-ranking (cached features)", results, refresh_ranking, review, "ann")
        latencies: list[float] = []
        try:
            import screener.tui.app  # noqa: F401
        except ImportError:
            print("terminal UI not available: Pilot step skipped")
        else:
            latencies = timed(f"{args.decisions} decisions in the UI (Pilot)", results,
                              lambda: asyncio.run(screen_with_pilot(review, args.decisions)))
        timed("export PRISMA (svg)", results, export_prisma, review, "svg",
              tmp / "prisma.svg")
    finally:
        review.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("| step | measured | peak memory (this process + children) | target |")
    print("|---|---:|---:|---:|")
    print(f"| import MEDLINE | {rate1:,.0f} records/s | | >= 5,000 records/s |")
    print(f"| import RIS | {rate2:,.0f} records/s | | >= 5,000 records/s |")
    for label, seconds, peak in results:
        print(f"| {label} | {seconds:.2f} s | {peak} | |")
    if latencies:
        ms = sorted(x * 1000 for x in latencies)
        p99 = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
        print(f"| decision to next record, median | {statistics.median(ms):.1f} ms | | <= 50 ms |")
        print(f"| decision to next record, p99 | {p99:.1f} ms | | <= 150 ms |")
    whole = max(METER.whole, peak_mb())
    print(f"| peak memory (whole run: largest step) | | {whole:,.0f} MB | <= 2,048 MB |")


if __name__ == "__main__":
    main()
