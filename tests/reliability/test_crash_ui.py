"""Crash safety through the real terminal UI: tmux runs `screener screen`, we press decision
keys and SIGKILL the process at random moments, including right after a key (mid-decision).

A decision counts as acknowledged once the pane shows the next record and the screened count
went up. After each kill: every acknowledged decision is in the database, SQLite's integrity
check passes, and `screener screen` reopens on a record nobody has decided, with the count
the database holds. SCREENER_UI_CRASH_KILLS sets the number of kills (default 5, about a
minute); skipped without tmux unless CI=true (CI installs tmux).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from screener.core.records import Record
from screener.storage import repo
from screener.workflow.review import create_review, open_review

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("SCREENER_UI_CRASH_KILLS", "5"))
N_RECORDS = max(60, 5 * KILLS)
CARD = re.compile(r"Crash record (\d{3}) ")
COUNT = re.compile(r"Screened (\d+) of (\d+)")


def _tmux(socket: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                          check=False)


def _screen(socket: str, timeout: float = 60) -> tuple[int, int]:
    """Wait until the pane shows one record card and the counts; (record number, screened)."""
    deadline = time.monotonic() + timeout
    pane = ""
    while time.monotonic() < deadline:
        pane = _tmux(socket, "capture-pane", "-p", "-t", "main").stdout
        cards, count = set(CARD.findall(pane)), COUNT.search(pane)
        if len(cards) == 1 and count and "Press a reason's key" not in pane:
            return int(cards.pop()), int(count.group(1))
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for a record; the pane shows:\n{pane}")


def _decided(folder: Path) -> dict[int, str]:
    with open_review(folder) as review, review.transaction() as s:
        return {d.record_id: d.label.value for d in repo.current_decisions(s)}


def test_sigkill_while_screening_in_the_terminal_ui(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but tmux is not installed")
        pytest.skip("tmux is not installed")
    folder = tmp_path / "review"
    with create_review(folder, REPO / "protocols" / "minimal.yaml") as review, \
            review.transaction() as s:
        source = repo.add_source(s, name="T", kind="database")
        ids = repo.add_records(s, source, [
            Record(title=f"Crash record {i:03d} on ketamine dose {i % 7}",
                   abstract=f"Trial {i} of ketamine for depression; arm {i % 5}. " * 3)
            for i in range(N_RECORDS)])
    id_of = dict(enumerate(ids))
    home = tmp_path / "home"
    home.mkdir()
    command = (f"exec env HOME={home} XDG_CONFIG_HOME={home / '.config'} "
               f"{sys.executable} -m screener screen --review {folder} --reviewer ann")
    rng = random.Random(int(os.environ.get("SCREENER_UI_CRASH_SEED", "8")))
    acknowledged: dict[int, str] = {}
    kills = mid_decision = 0
    for _ in range(KILLS):
        socket = f"screener-crash-{uuid.uuid4().hex[:8]}"
        try:
            started = _tmux(socket, "new-session", "-d", "-s", "main", "-x", "110", "-y", "34",
                            command)
            assert started.returncode == 0, started.stderr
            shown, screened = _screen(socket)
            decided = _decided(folder)
            # Resumed where it stopped: an undecided record, and the count the database holds.
            assert id_of[shown] not in decided, f"reopened on decided record {shown}"
            assert screened == len(decided)
            pid = int(_tmux(socket, "display-message", "-p", "-t", "main",
                            "#{pane_pid}").stdout.strip())
            for _ in range(rng.randint(0, 3)):
                _tmux(socket, "send-keys", "-t", "main", "i")
                before = shown
                shown, screened_now = _screen(socket)
                while shown == before or screened_now != screened + 1:
                    time.sleep(0.02)
                    shown, screened_now = _screen(socket)
                acknowledged[id_of[before]] = "include"
                screened = screened_now
            if rng.random() < 0.6:
                # Mid-decision: a key, then the kill a moment later, acknowledged or not.
                _tmux(socket, "send-keys", "-t", "main", "i")
                mid_decision += 1
                time.sleep(rng.uniform(0.0, 0.15))
            else:
                time.sleep(rng.uniform(0.0, 0.5))
            os.kill(pid, signal.SIGKILL)
            kills += 1
        finally:
            _tmux(socket, "kill-server")
        with sqlite3.connect(folder / "review.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        decided = _decided(folder)
        lost = {rid for rid, label in acknowledged.items() if decided.get(rid) != label}
        assert not lost, f"acknowledged decisions lost after kill {kills}: {sorted(lost)}"
        assert set(decided.values()) <= {"include"}
    assert kills == KILLS
    assert acknowledged, "no decision was acknowledged before a kill"
    print(f"\nUI crash test: {kills} kills survived, {mid_decision} right after a key, "
          f"{len(acknowledged)} acknowledged decisions, 0 lost")
