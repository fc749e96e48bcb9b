"""A 200,000-record review end to end: import, dedup, rank, screen 100 decisions, export.

Run:  .venv/bin/python benchmarks/scale.py [--records 200000] [--data ../shared/data] [--keep]

Builds two files by varying the real records of ../shared/data/screening (new PMIDs and
DOIs for every record): a PubMed MEDLINE file with half the records and an Embase-style
RIS file with the other half, 5% of whose records repeat a MEDLINE record with the kind of
differences real exports have (DOI dropped, title case, trailing period) so dedup has
work to do. Then times each step through the workflow layer and the terminal UI (Textual Pilot), each
in a fresh process as the reviewer's `screener` commands would run it, and reports each
step's peak resident memory: the step's process plus, in the UI step, the ranking process
it starts (the largest of their sampled VmHWM and RUSAGE_CHILDREN ru_maxrss, added as if
they peaked at the same moment: an upper bound). This harness's own memory (the generated
files' source rows) is printed beside it and not counted: no reviewer runs it. The whole run's peak is the largest step total. Targets (issues 3, 5 and 8): import >= 5,000 records/s,
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
from shared_data import data_option  # noqa: E402

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
STEP_PEAKS: list[float] = []
"""Each step's peak (MB): its process plus that process's children."""


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


def timed(label: str, results: list[tuple[str, float, str]], step: str, folder: Path,
          *args: object) -> object:
    """Run one step in a fresh process, as the reviewer's `screener` command would (each
    command is its own process): its peak memory is not inflated by the heap earlier
    steps left behind. Times the step inside that process (imports excluded)."""
    import multiprocessing

    gc.collect()
    METER.start()
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    # Not a Pool: its workers are daemons, which may not start the UI's ranking process.
    process = context.Process(target=_step_process, args=(send, step, folder, *args))
    process.start()
    send.close()
    try:
        value, seconds = receive.recv()
    except EOFError:
        raise SystemExit(f"step {label!r} failed (see above)") from None
    process.join()
    own, kids = METER.stop()
    STEP_PEAKS.append(kids)
    peak = f"{kids:,.0f} MB (harness {own:,.0f} MB, not counted)"
    results.append((label, seconds, peak))
    print(f"{label:40} {seconds:8.2f} s   peak {peak}", flush=True)
    return value


def _step_process(send: object, step: str, folder: Path, *args: object) -> None:
    send.send(run_step(step, folder, *args))  # type: ignore[attr-defined]
    send.close()  # type: ignore[attr-defined]


def run_step(step: str, folder: Path, *args: object) -> tuple[object, float]:
    """One step on the review in `folder`; returns (a picklable result, seconds)."""
    from screener.workflow.review import open_review

    review = open_review(folder)
    try:
        start = time.perf_counter()
        value: object
        if step == "import":
            from screener.workflow.importing import import_file

            path, source = args
            value = import_file(review, path, source=source).records  # type: ignore[arg-type]
        elif step == "dedup":
            from screener.workflow.importing import deduplicate

            d = deduplicate(review)
            value = (d.removed, d.clusters, dict(d.by_method))
        elif step == "rank":
            from screener.workflow.ranking import refresh_ranking

            value = refresh_ranking(review, "ann").training_size
        elif step == "ui":
            value = asyncio.run(screen_with_pilot(review, int(args[0])))  # type: ignore[call-overload]
        elif step == "export":
            from screener.workflow.reporting import export_prisma

            value = str(export_prisma(review, "svg", args[0]))  # type: ignore[arg-type]
        else:
            raise ValueError(step)
        return value, time.perf_counter() - start
    finally:
        review.close()


async def screen_with_pilot(review: object, n: int) -> tuple[list[float], list[float]]:
    """n decisions in the real UI (re-ranking in its child process), timed as in
    benchmarks/tui_latency.py: (key -> first frame with the next record, Pilot round trip),
    in seconds."""
    from tui_latency import decide, watch_frames

    from screener.tui.app import ScreenerApp
    from screener.tui.idle_gc import GC_IDLE_S

    app = ScreenerApp(review, "ann", "title_abstract",  # type: ignore[arg-type]
                      gc_idle_seconds=GC_IDLE_S)
    frames = watch_frames(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        times, _, painted = await decide(app, pilot, n, frames)
        await app.workers.wait_for_complete()
    return painted, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--data", type=Path, default=None,
                        help="the shared data folder (default: $SCREENER_SHARED_DATA, else ../shared/data)")
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.data = data_option(args.data)
    global METER
    METER = PeakMeter()

    from screener.core.decisions import Label
    from screener.workflow.review import create_review, open_review
    from screener.workflow.screening import ScreeningSession

    rng = random.Random(8)
    tmp = Path(tempfile.mkdtemp(prefix="screener-scale-"))
    half = args.records // 2
    rows = screening_rows(args.data / "screening")
    vocab = medline_vocabulary(args.data / "formats")
    write(tmp / "pubmed.nbib", medline_records(rows, vocab, half))
    write(tmp / "embase.ris", ris_with_duplicates(rows, args.records - half, half, 0.05, rng))
    del rows, vocab
    print(f"built {args.records:,} records in {tmp} (peak {peak_mb():,.0f} MB)")
    results: list[tuple[str, float, str]] = []
    folder = tmp / "review"
    create_review(folder, REPO / "protocols" / "ketamine-depression.yaml").close()
    try:
        timed(f"import MEDLINE ({half:,})", results, "import", folder, tmp / "pubmed.nbib",
              "PubMed")
        rate1 = half / results[-1][1]
        timed(f"import RIS ({args.records - half:,})", results, "import", folder,
              tmp / "embase.ris", "Embase")
        rate2 = (args.records - half) / results[-1][1]
        removed, clusters, by_method = timed(f"dedup ({args.records:,})", results, "dedup",
                                             folder)  # type: ignore[misc]
        print(f"  {removed:,} duplicates removed in {clusters:,} clusters {by_method}")
        review = open_review(folder)
        try:
            session = ScreeningSession(review, "ann")
            for k in range(10):
                item = session.next()
                assert item is not None and item.record.id is not None
                session.decide(item.record.id, Label.INCLUDE if k % 5 == 0 else Label.EXCLUDE)
        finally:
            review.close()
        timed("first ranking (features fitted + cached)", results, "rank", folder)
        timed("re-ranking (features from the cache)", results, "rank", folder)
        latencies: list[float] = []
        round_trips: list[float] = []
        try:
            import screener.tui.app  # noqa: F401
        except ImportError:
            print("terminal UI not available: Pilot step skipped")
        else:
            latencies, round_trips = timed(  # type: ignore[misc]
                f"{args.decisions} decisions in the UI (Pilot)", results, "ui", folder,
                args.decisions)
        timed("export PRISMA (svg)", results, "export", folder, tmp / "prisma.svg")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    print()
    print("| step | measured | peak memory (step process + its children) | target |")
    print("|---|---:|---:|---:|")
    print(f"| import MEDLINE | {rate1:,.0f} records/s | | >= 5,000 records/s |")
    print(f"| import RIS | {rate2:,.0f} records/s | | >= 5,000 records/s |")
    for label, seconds, peak in results:
        print(f"| {label} | {seconds:.2f} s | {peak} | |")
    if latencies:
        for name, values in (("key to frame with next record", latencies),
                             ("Pilot round trip (for reference)", round_trips)):
            ms = sorted(x * 1000 for x in values)
            p99 = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
            print(f"| {name}, median | {statistics.median(ms):.1f} ms | | <= 50 ms |")
            print(f"| {name}, p99 | {p99:.1f} ms | | <= 150 ms |")
    whole = max(STEP_PEAKS)
    print(f"| peak memory (whole run: largest step) | | {whole:,.0f} MB | <= 2,048 MB |")


if __name__ == "__main__":
    main()
