"""Crash safety: SIGKILL a screening process at random moments; nothing acknowledged is lost.

The child screens through the workflow API and prints `ACK <record id>` only after
`decide` has returned (the decision is committed). Each screening child is forked from one
process that has loaded the modules, and opens the review itself. After each kill the parent checks
that every acknowledged decision is in the database, that SQLite's integrity check
passes, and that the review reopens and resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from screener.core.records import Record
from screener.storage import repo
from screener.workflow.review import create_review, open_review

REPO = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("SCREENER_CRASH_KILLS", "50"))

CHILD = """
import os, sys
from pathlib import Path
from screener.core.decisions import Label
from screener.workflow.review import open_review
from screener.workflow.screening import ScreeningSession

# The modules load once; each line on stdin forks a fresh process that opens the review
# itself and screens until it is killed. (Starting Python 50 times took most of the test.)
labels = [Label.EXCLUDE, Label.EXCLUDE, Label.INCLUDE, Label.MAYBE]
for _ in sys.stdin:
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        review = open_review(Path(sys.argv[1]))
        session = ScreeningSession(review, sys.argv[2])
        sys.stdout.write("READY %d\\n" % os.getpid())
        sys.stdout.flush()
        n = 0
        while (item := session.next()) is not None:
            session.decide(item.record.id, labels[n % 4], note="n%d" % n)
            sys.stdout.write("ACK %d\\n" % item.record.id)   # one write: never half a line
            sys.stdout.flush()
            n += 1
        sys.stdout.write("DONE\\n")
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    sys.stdout.write("REAPED\\n")
    sys.stdout.flush()
"""


def _acked(line: str) -> list[int]:
    # whole lines only: a line the kill cut short was not an acknowledgement yet
    return [int(line.split()[1])] if line.startswith("ACK") and line.endswith("\n") else []


def _screen_until_killed(proc: subprocess.Popen[str], seconds: float,
                         after_first_ack: bool) -> list[int]:
    """Fork one screening process, SIGKILL it after `seconds` (counted from its first
    acknowledgement when `after_first_ack`, so the kill lands mid-screening however slowly a
    loaded machine opens the review; else from READY, so it may land while the review
    opens); the record ids it acknowledged (printed after `decide` returned), those printed
    before it died included."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("GO\n")
    proc.stdin.flush()
    ready = proc.stdout.readline().split()
    assert ready[0] == "READY", ready
    pid, acked = int(ready[1]), []
    if after_first_ack:
        first = proc.stdout.readline()
        acked += _acked(first)
        assert acked, first
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            break
        line = proc.stdout.readline()
        if not line or line == "DONE\n":
            break
        acked += _acked(line)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while (line := proc.stdout.readline()) not in ("REAPED\n", ""):
        acked += _acked(line)
    return acked


@pytest.mark.slow
def test_sigkill_during_screening_loses_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "rev"
    with create_review(folder, REPO / "protocols" / "minimal.yaml") as review, \
            review.transaction() as s:
        source = repo.add_source(s, name="T", kind="database")
        repo.add_records(s, source, [Record(title=f"Record {i}", abstract="x " * 50)
                                     for i in range(5000)])
    rng = random.Random(20261126)
    acked_all: list[int] = []
    survived = 0
    zygote = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), "ann"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    for i in range(KILLS):
        # four kills in five land mid-screening; the fifth may land while the review opens
        acked_all += _screen_until_killed(zygote, rng.uniform(0.0, 0.4),
                                          after_first_ack=i % 5 != 0)
        with sqlite3.connect(folder / "review.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        with open_review(folder) as review, review.transaction() as s:
            stored = {d.record_id for d in repo.current_decisions(s)}
            log = repo.decision_log(s)
        missing = set(acked_all) - stored
        assert not missing, f"acknowledged decisions lost: {sorted(missing)[:10]}"
        assert [d.seq for d in log] == list(range(1, len(log) + 1))
        survived += 1
    assert zygote.stdin is not None
    zygote.stdin.close()
    assert zygote.wait(timeout=60) == 0
    assert survived == KILLS
    # resume: the next record is the first one nobody has decided
    from screener.workflow.screening import ScreeningSession

    with open_review(folder) as review:
        item = ScreeningSession(review, "ann").next()
        with review.transaction() as s:
            decided = {d.record_id for d in repo.current_decisions(s)}
            order = repo.record_ids_in_order(s)
    assert item is not None and item.record.id == next(i for i in order if i not in decided)


IMPORT_CHILD = """
import sys
from pathlib import Path
from screener.workflow.review import open_review
from screener.workflow.importing import import_records
from screener.core.records import Record
review = open_review(Path(sys.argv[1]))
records = [Record(title="Imported %d" % i, abstract="y " * 200) for i in range(20000)]
print("READY", flush=True)
import_records(review, records, source="Big", kind="database")
print("DONE", flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_import_leaves_nothing_half_imported(tmp_path: Path) -> None:
    folder = tmp_path / "rev"
    create_review(folder, REPO / "protocols" / "minimal.yaml").close()
    rng = random.Random(7)
    outcomes = set()
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", IMPORT_CHILD, str(folder)],
                                stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(rng.uniform(0.0, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(folder / "review.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            counts = conn.execute("SELECT count(*) FROM records").fetchone()[0]
            sources = conn.execute("SELECT count(*), coalesce(sum(record_count), 0) "
                                   "FROM sources").fetchone()
        assert counts % 20000 == 0, f"half an import: {counts} records"
        assert sources == (counts // 20000, counts)
        outcomes.add(counts > 0)
    assert False in outcomes or True in outcomes


MIGRATE_CHILD = """
import sys
from screener.storage import Database
db = Database(sys.argv[1])
print("READY", flush=True)
db.upgrade()
print("DONE", flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_migration_leaves_empty_or_complete_schema(tmp_path: Path) -> None:
    from screener.storage import Database, sqlite_url

    rng = random.Random(3)
    for i in range(6):
        url = sqlite_url(tmp_path / f"m{i}.db")
        proc = subprocess.Popen([sys.executable, "-c", MIGRATE_CHILD, url],
                                stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        db = Database(url)
        try:
            revision = db.revision()
            with sqlite3.connect(tmp_path / f"m{i}.db") as conn:
                tables = {r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'")} - {"alembic_version"}
            assert (revision is None and tables == set()) or revision == Database.head()
            db.upgrade()  # an interrupted migration can always be completed
            assert db.revision() == Database.head()
        finally:
            db.dispose()
