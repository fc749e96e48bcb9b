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
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from screener.core.records import Record
from screener.storage import repo
from screener.tui.app import MIN_VIEW_S
from screener.workflow.review import create_review, open_review

if TYPE_CHECKING:
    from ..conftest import Tmux

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("SCREENER_UI_CRASH_KILLS", "5"))
N_RECORDS = max(60, 5 * KILLS)
CARD = re.compile(r"Crash record (\d{3}) ")
COUNT = re.compile(r"Screened (\d+) of (\d+)")


def _screen(tmux: Tmux, timeout: float = 60) -> tuple[int, int]:
    """Wait until the pane shows one record card and the counts; (record number, screened)."""
    def ready(pane: str) -> bool:
        return (len(set(CARD.findall(pane))) == 1 and COUNT.search(pane) is not None
                and "Press a reason's key" not in pane)

    pane = tmux.wait_for(ready, "a record", timeout, interval=0.05)
    count = COUNT.search(pane)
    assert count is not None
    return int(CARD.findall(pane)[0]), int(count.group(1))


def _decided(folder: Path) -> dict[int, str]:
    with open_review(folder) as review, review.transaction() as s:
        return {d.record_id: d.label.value for d in repo.current_decisions(s)}


def test_sigkill_while_screening_in_the_terminal_ui(tmp_path: Path, tmux: Tmux) -> None:
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
        try:
            tmux.start(command, 110, 34)
            shown, screened = _screen(tmux)
            decided = _decided(folder)
            # Resumed where it stopped: an undecided record, and the count the database holds.
            assert id_of[shown] not in decided, f"reopened on decided record {shown}"
            assert screened == len(decided)
            pid = int(tmux.run("display-message", "-p", "-t", "main",
                               "#{pane_pid}").stdout.strip())
            for _ in range(rng.randint(0, 3)):
                time.sleep(MIN_VIEW_S + 0.1)  # read it (a key sooner is not taken)
                tmux.keys("i")
                before = shown
                shown, screened_now = _screen(tmux)
                deadline = time.monotonic() + 60
                while shown == before or screened_now != screened + 1:
                    assert time.monotonic() < deadline, "the include never showed"
                    time.sleep(0.02)
                    shown, screened_now = _screen(tmux)
                acknowledged[id_of[before]] = "include"
                screened = screened_now
            if rng.random() < 0.6:
                # Mid-decision: a key, then the kill a moment later, acknowledged or not.
                time.sleep(MIN_VIEW_S + 0.1)
                tmux.keys("i")
                mid_decision += 1
                time.sleep(rng.uniform(0.0, 0.15))
            else:
                time.sleep(rng.uniform(0.0, 0.5))
            os.kill(pid, signal.SIGKILL)
            kills += 1
        finally:
            tmux.kill()
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
