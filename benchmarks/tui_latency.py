"""How long a reviewer waits in the terminal UI: decision key -> next record on screen.

Builds reviews of 5,000 and 100,000 varied records (titles and abstracts pooled from
../shared/data/screening/*.csv.gz ($SCREENER_SHARED_DATA/screening when set), recycled
with new pairings past the ~75k real rows), then drives `ScreenerApp` with Textual's Pilot:

- start-up: from constructing the app (which opens the screening session) to the first
  record on screen;
- latency: from a decision key (i, m, or the reason key after e) to the next record on
  screen, over many decisions, while re-ranking and progress run in the background.

What is compared with the targets ("frame" columns): from the moment the key is handed to
the app (`pilot.press` posts it at once) to the moment the first frame showing the next
record has been written to the terminal driver (`App._display` returns; with a real
terminal that is the write to the tty). This is what the reviewer waits for. Also printed:
the Pilot round trip (`await pilot.press` returns only after the app, every widget and all
animations have gone idle: Pilot's own waiting, ~60 ms here even for a one-Static app,
whose figure is printed as the floor; it also holds the full garbage collection the app
runs after the frame every 50 decisions made without a pause, see screener/tui/idle_gc.py)
and the UI thread's CPU time in that span. The slowest frame and its decision number are
printed per size.

    .venv/bin/python benchmarks/tui_latency.py [--sizes 5000 100000] [--decisions 300]
        [--ranker fake|real|thread|none] [--cache DIR]

`--ranker fake` (default) sleeps 1 s and returns undecided records in reversed order (the
UI work of applying a new ranking is measured; the model's cost is the ranking benchmark's
business); `real` is the app's default (re-ranking in a child process,
screener.workflow.ranker_process); `thread` is the old way, `refresh_ranking` in a thread
of the UI process (for comparison). Reviews are cached in --cache.
Prints a table with the targets beside the measured figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared_data import shared_data

from screener.core.decisions import Stage
from screener.core.records import Record
from screener.storage import repo
from screener.tui.app import ScreenerApp
from screener.tui.idle_gc import GC_IDLE_S
from screener.tui.screening import ScreeningScreen
from screener.workflow.ranking import RankingUpdate
from screener.workflow.review import DB_FILE, Review, create_review, open_review
from screener.workflow.screening import Queue, eligible_ids

PROTOCOL = Path(__file__).resolve().parents[1] / "protocols" / "demo-biosimilar-retransitioning.yaml"
TARGETS = {"median": 0.050, "p99": 0.150, "startup": 1.5}


def pooled_rows() -> list[dict[str, str]]:
    csv.field_size_limit(10**8)
    rows: list[dict[str, str]] = []
    for path in sorted(shared_data("screening").glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def make_records(n: int, rows: list[dict[str, str]]) -> list[Record]:
    records = []
    for i in range(n):
        cycle, j = divmod(i, len(rows))
        row = rows[j]
        other = rows[(j * 7919 + cycle) % len(rows)] if cycle else row
        year = row.get("year") or ""
        records.append(Record(
            title=row.get("title") or f"Untitled {i}", abstract=other.get("abstract") or "",
            authors=tuple(a.strip() for a in (row.get("authors") or "").split(";") if a.strip())[:20],
            year=int(float(year)) if year.replace(".", "", 1).isdigit() else None,
            journal=row.get("journal") or "",
            doi="" if cycle else (row.get("doi") or "").lower().removeprefix("https://doi.org/"),
            pmid="" if cycle else (row.get("pmid") or "")))
    return records


def build(n: int, cache: Path, rows: list[dict[str, str]] | None) -> Path:
    folder = cache / f"review-{n}"
    if (folder / DB_FILE).exists():
        return folder
    started = time.perf_counter()
    rows = rows if rows is not None else pooled_rows()
    review = create_review(folder, PROTOCOL)
    try:
        records = make_records(n, rows)
        with review.transaction() as session:
            source = repo.add_source(session, name="Pooled SYNERGY/CLEF", kind="database")
            for start in range(0, n, 20_000):
                repo.add_records(session, source, records[start:start + 20_000])
    finally:
        review.close()
    print(f"built a review of {n:,} records in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    return folder


class SlowFakeRanker:
    def __init__(self, delay: float) -> None:
        self.delay = delay

    def __call__(self, review: Review, reviewer: str) -> RankingUpdate:
        time.sleep(self.delay)
        # Like a real ranking: undecided records in a new order (reversed), decided ones
        # (by anyone: earlier runs' reviewers too) after them, as `current_queue` does.
        with review.transaction() as session:
            ids = eligible_ids(session, Stage.TITLE_ABSTRACT)
            decided = {d.record_id for d in repo.current_decisions(session, Stage.TITLE_ABSTRACT)}
        order = [i for i in reversed(ids) if i not in decided] + [i for i in ids if i in decided]
        return RankingUpdate(0, Queue(tuple(order)), "fake", 0, 0, self.delay)


async def measure(folder: Path, decisions: int, ranker_kind: str, reviewer: str
                  ) -> tuple[float, list[float], list[float], list[float], int]:
    review = open_review(folder)
    try:
        ranker: Callable[[Review, str], RankingUpdate] | None = None
        if ranker_kind == "none":
            def switched_off(r: Review, name: str) -> RankingUpdate:
                raise ImportError("ranking switched off for this run")
            ranker = switched_off
        elif ranker_kind == "fake":
            ranker = SlowFakeRanker(1.0)
        elif ranker_kind == "thread":
            from screener.tui.app import default_ranker
            ranker = default_ranker
        started = time.perf_counter()
        app = ScreenerApp(review, reviewer, ranker=ranker, gc_idle_seconds=GC_IDLE_S)
        frames = watch_frames(app)
        async with app.run_test(size=(100, 32)) as pilot:
            assert app.current_record_id is not None
            startup = time.perf_counter() - started
            times, cpu, painted = await decide(app, pilot, decisions, frames)
            await app.workers.wait_for_complete()
            applied = app.rankings_applied
        return startup, times, cpu, painted, applied
    finally:
        review.close()


def watch_frames(app: ScreenerApp) -> list[tuple[float, int | None]]:
    """(time, record id on the screening screen) of every frame the app writes."""
    frames: list[tuple[float, int | None]] = []
    display = app._display

    def timed_display(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        shown = screen.record if isinstance(screen, ScreeningScreen) else None
        frames.append((time.perf_counter(), shown.id if shown else None))

    app._display = timed_display  # type: ignore[method-assign]
    return frames


async def decide(app: ScreenerApp, pilot: Any, decisions: int,
                 frames: list[tuple[float, int | None]]
                 ) -> tuple[list[float], list[float], list[float]]:
    """Make `decisions` decisions (include, maybe, exclude with the first reason) and time
    each: Pilot round trip, UI-thread CPU, and key -> first frame with the next record."""
    times: list[float] = []
    cpu: list[float] = []
    painted: list[float] = []
    pattern = ["i", "m", "e", "m", "m", "e", "i", "m", "e", "m"]
    for k in range(decisions):
        key = pattern[k % len(pattern)]
        before = app.current_record_id
        if key == "e":
            await pilot.press("e")
            key = "1"
        t0, c0 = time.perf_counter(), time.thread_time()
        await pilot.press(key)
        deadline = time.perf_counter() + 30
        while app.current_record_id == before:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"record {before} still shown 30 s after {key!r}")
            await asyncio.sleep(0)
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        after = app.current_record_id
        painted.append(next((t for t, rid in frames if t >= t0 and rid == after),
                            time.perf_counter()) - t0)
    return times, cpu, painted


async def trivial_app_latency(decisions: int) -> tuple[float, float]:
    """The same Pilot loop on a minimal app: the floor set by Textual and this machine."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.widgets import Footer, Header, Static

    text = "lorem ipsum dolor sit amet " * 60

    class Trivial(App[None]):
        BINDINGS = [Binding("m", "next", "Next")]
        count = 0

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static(id="text")
            yield Footer()

        def action_next(self) -> None:
            self.count += 1
            self.query_one("#text", Static).update(f"{self.count} {text}")

    app = Trivial()
    times = []
    async with app.run_test(size=(100, 32)) as pilot:
        for _ in range(decisions):
            t0 = time.perf_counter()
            await pilot.press("m")
            times.append(time.perf_counter() - t0)
    return statistics.median(times), percentile(times, 0.99)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 100_000])
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--ranker", choices=["fake", "real", "thread", "none"], default="fake")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/screener-bench"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = None if all((args.cache / f"review-{n}" / DB_FILE).exists() for n in args.sizes) \
        else pooled_rows()
    results = []
    for n in args.sizes:
        folder = build(n, args.cache, rows)
        reviewer = f"bench{time.time_ns() % 10**9}"
        startup, times, cpu, painted, applied = asyncio.run(
            measure(folder, args.decisions, args.ranker, reviewer))
        slowest = max(range(len(painted)), key=painted.__getitem__)
        print(f"{n:,} records: slowest frame {painted[slowest] * 1000:.0f} ms at decision "
              f"{slowest + 1} of {len(painted)}", flush=True)
        results.append((n, startup, statistics.median(times), percentile(times, 0.99),
                        max(times), applied, statistics.median(cpu), percentile(cpu, 0.99),
                        statistics.median(painted), percentile(painted, 0.99), max(painted)))
    baseline = asyncio.run(trivial_app_latency(args.decisions))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nTUI latency ({args.decisions} decisions per size, ranker={args.ranker}, "
          f"{os.cpu_count()} CPUs, load average {load:.1f})\n")
    header = (f"{'records':>8} | {'start-up s':>10} {'target':>6} | {'frame median ms':>15}"
              f" {'target':>6} | {'frame p99 ms':>12} {'target':>6} | {'frame max':>9}"
              f" | {'Pilot med/p99 ms':>16} | {'UI CPU med/p99 ms':>17} | {'rankings':>8}")
    print(header)
    print("-" * len(header))
    for (n, startup, median, p99, _worst, applied, cpu_median, cpu_p99, frame_median,
         frame_p99, frame_max) in results:
        print(f"{n:>8,} | {startup:>10.2f} {'≤1.5':>6} | {frame_median * 1000:>15.1f} {'≤50':>6} | "
              f"{frame_p99 * 1000:>12.1f} {'≤150':>6} | {frame_max * 1000:>9.1f} | "
              f"{median * 1000:>7.1f}/{p99 * 1000:<8.1f} | "
              f"{cpu_median * 1000:>8.1f}/{cpu_p99 * 1000:<8.1f} | {applied:>8}")
    print(f"\nFloor on this machine now: a one-Static Textual app, same Pilot loop: round trip "
          f"median {baseline[0] * 1000:.1f} ms, p99 {baseline[1] * 1000:.1f} ms.")
    print("\n'frame' (compared with the targets): key handed to the app -> first frame with the"
          "\nnext record written to the terminal driver. 'Pilot': the same key until"
          "\n`await pilot.press` returns (the app and every widget idle; includes Pilot's own"
          "\nwaiting, see the floor). 'UI CPU': CPU time of the UI thread in the Pilot span.")
    ok = all(r[1] <= TARGETS["startup"] or r[0] < 100_000 for r in results) and all(
        r[8] <= TARGETS["median"] and r[9] <= TARGETS["p99"] for r in results)
    print("\nall targets met" if ok else "\nsome targets missed (see above)")


if __name__ == "__main__":
    main()
