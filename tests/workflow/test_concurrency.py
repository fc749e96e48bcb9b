"""Concurrent reviewers: real processes screening one review at once, on SQLite (one
machine, WAL) and on PostgreSQL.

Four processes, each a different reviewer with its own ScreeningSession, loop `next` /
`decide`, all started together. Two variants:
- single mode, 4 x 300 decisions: all four race for the same records (the same queue, in
  import order), which exposes the race between `next` and `decide` best; every record
  must be decided exactly once;
- dual mode, 4 x 100 (kept short for the shared CI machine): every record wants two
  screeners; none may get a third.
Afterwards: exactly 4 x N decisions, no duplicates, the log's seq 1..4N without gaps, each
reviewer's decisions in increasing seq and id, the hash chain intact, and no process saw
an error ("database is locked" or any other).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from screener.core.records import Record
from screener.storage import repo
from screener.workflow.review import Review, ReviewError, create_review, open_review

PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"
REVIEWERS = ("ann", "bob", "carl", "dana")
PER_REVIEWER = 300
RECORDS = 1500

WORKER = r"""
import json, sys, time
from pathlib import Path
from screener.core.decisions import Label
from screener.workflow.review import open_review
from screener.workflow.screening import ScreeningSession
from screener.workflow.team import RecordTaken

where, reviewer, wanted, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
review = open_review(None, where) if "://" in where else open_review(Path(where))
session = ScreeningSession(review, reviewer)
(go.parent / f"ready-{reviewer}").touch()
while not go.exists():
    time.sleep(0.005)
labels = [Label.INCLUDE, Label.EXCLUDE, Label.EXCLUDE, Label.MAYBE]
made = taken = 0
started = time.perf_counter()
while made < wanted:
    item = session.next()
    if item is None:
        break
    try:
        session.decide(item.record.id, labels[made % len(labels)])
        made += 1
    except RecordTaken:
        taken += 1
review.close()
print(json.dumps({"reviewer": reviewer, "made": made, "taken": taken,
                  "seconds": time.perf_counter() - started}))
"""


def _review(tmp_path: Path, db_url: str | None, protocol: str) -> Review:
    review = create_review(tmp_path / "rev", PROTOCOLS / protocol, db_url)
    with review.transaction() as s:
        source = repo.add_source(s, name="Tiny", kind="database")
        repo.add_records(s, source, [Record(title=f"T{i}") for i in range(RECORDS)])
    return review


def _chain_intact(review: Review) -> bool:
    with review.transaction() as s:
        if hasattr(repo, "verify_log"):
            return bool(repo.verify_log(s).ok)
        prev = repo.GENESIS  # pragma: no cover - older storage API
        for d in repo.decision_log(s):
            assert d.seq is not None
            if d.row_hash != repo.chain_hash(prev, repo.decision_payload(d, d.seq)):  # type: ignore[attr-defined]
                return False
            prev = d.row_hash
        return True


def _run_workers(where: str, tmp_path: Path, per_reviewer: int
                 ) -> tuple[list[dict[str, object]], float]:
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, where, name, str(per_reviewer),
                               str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
             for name in REVIEWERS]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in REVIEWERS):
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    started = time.perf_counter()
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert "locked" not in err.lower(), err
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results, time.perf_counter() - started


@pytest.mark.slow
@pytest.mark.parametrize(("protocol", "per_reviewer"),
                         [("minimal.yaml", PER_REVIEWER), ("dual-screening.yaml", 100)],
                         ids=["single-same-records", "dual"])
def test_four_reviewers_screen_at_once(tmp_path: Path, db_url: str | None, backend: str,
                                       protocol: str, per_reviewer: int) -> None:
    review = _review(tmp_path, db_url, protocol)
    try:
        where = db_url or str(tmp_path / "rev")
        results, seconds = _run_workers(where, tmp_path, per_reviewer)
        assert {r["reviewer"]: r["made"] for r in results} == dict.fromkeys(REVIEWERS,
                                                                             per_reviewer)
        with review.transaction() as s:
            log = repo.decision_log(s)
            current = repo.current_decisions(s)
            uids = repo.decision_uids(s)
        total = len(REVIEWERS) * per_reviewer
        assert len(log) == total == len(current)
        assert [d.seq for d in log] == list(range(1, total + 1))
        assert len(set(uids.values())) == total
        assert len({(d.record_id, d.reviewer) for d in log}) == total
        for name in REVIEWERS:
            mine = [d for d in log if d.reviewer == name]
            assert len(mine) == per_reviewer
            assert all(a.seq < b.seq and (a.id or 0) < (b.id or 0) for a, b in zip(mine, mine[1:], strict=False))
        per_record = Counter(d.record_id for d in log)
        most = 1 if protocol == "minimal.yaml" else 2
        assert max(per_record.values()) == most, per_record.most_common(3)
        assert _chain_intact(review)
        taken = sum(int(str(r["taken"])) for r in results)
        print(f"\n{backend} {protocol}: {total} decisions by {len(REVIEWERS)} processes in "
              f"{seconds:.1f}s; duplicates 0; skipped as taken {taken}")
    finally:
        review.close()


def test_one_file_imported_at_once_by_three_commands_is_accepted_once(
        tmp_path: Path, make_review: Callable[..., Review], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three `screener import` of the same file run at the same time: one imports it, the
    others get the refusal an import after it gets (the check is made in the write
    transaction), so the records and the source are there once."""
    import threading

    from screener.workflow import importing

    review = make_review()
    file = tmp_path / "search.csv"
    file.write_text("title,abstract\n" + "".join(f"Trial {i},About {i}\n" for i in range(200)))
    together = threading.Barrier(3, timeout=60)
    digest = importing._digest

    def digest_then_wait(records: Any) -> str:
        found = digest(records)
        together.wait()  # all three have read the file before any checks the review
        return found

    monkeypatch.setattr(importing, "_digest", digest_then_wait)
    results: list[str] = []

    def run() -> None:
        with open_review(review.folder, None if review.db.is_sqlite else review.db.url) as own:
            try:
                importing.import_file(own, file, source="PubMed", searched="2026-10-01")
                results.append("imported")
            except ReviewError as exc:
                results.append(str(exc))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("imported") == 1, results
    assert all("was already imported" in r and "nothing was imported" in r
               for r in results if r != "imported"), results
    with review.read() as s:
        assert repo.count_records(s) == 200
        assert [src["name"] for src in repo.sources(s)] == ["PubMed"]
