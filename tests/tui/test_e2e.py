"""End to end in a real terminal: tmux runs `screener screen`, we type and read the pane.

Skipped only when tmux is missing and CI is not "true" (CI installs tmux).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from screener.tui.app import MIN_VIEW_S
from screener.workflow.review import create_review

from .conftest import PROTOCOLS, add_records, stored

if TYPE_CHECKING:
    from ..conftest import Tmux

pytestmark = pytest.mark.e2e


def test_screen_command_in_tmux(tmp_path: Path, tmux: Tmux) -> None:
    folder = tmp_path / "review"
    review = create_review(folder, PROTOCOLS / "minimal.yaml")
    ids = add_records(review)
    review.close()
    home = tmp_path / "home"
    home.mkdir()
    command = (f"env HOME={home} XDG_CONFIG_HOME={home / '.config'} "
               f"{sys.executable} -m screener screen --review {folder} --reviewer ann")
    tmux.start(command, 100, 32)
    tmux.wait_for(lambda p: "Ketamine infusion for" in p and "Screened 0 of 5" in p,
                  "the first record")
    time.sleep(MIN_VIEW_S + 0.1)  # the record is read (a key sooner is not taken)
    tmux.keys("i", "i")  # a key bounce: the second press must not decide the next record
    tmux.wait_for(lambda p: "Anaesthesia with ketamine in rats" in p
                  and "Screened 1 of 5" in p and "Key not taken" in p,
                  "the second record after include, and the bounce refused")
    time.sleep(MIN_VIEW_S + 0.1)
    tmux.keys("e")
    tmux.wait_for(lambda p: "Press a reason's key" in p, "the reason dialog")
    tmux.keys("2")
    # The counts update at once; the card and dialog repaint a moment later.
    pane = tmux.wait_for(lambda p: "Screened 2 of 5" in p
                         and "Press a reason's key" not in p
                         and "Anaesthesia with ketamine" not in p, "the third record")
    # Re-ranking (the real ranker) may have reordered the rest; any other record will do.
    assert "Ketamine infusion for" not in pane and "Anaesthesia with ketamine" not in pane
    with_reopened = stored(review)
    assert with_reopened == [(ids[0], "ann", "include", None, ""),  # not the bounce
                             (ids[1], "ann", "exclude", "intervention", "")]
    # p hides the side panel; the card's border keeps the counts (once the notice is gone)
    tmux.wait_for(lambda p: "Key not taken" not in p, "the bounce notice gone")
    tmux.keys("p")
    tmux.wait_for(lambda p: "Screened 2 of 5 · includes 1" in p and "Irrelevant run" not in p,
                  "the side panel hidden")
    tmux.keys("q")
    deadline = time.monotonic() + 30
    while tmux.run("has-session", "-t", "main").returncode == 0:
        assert time.monotonic() < deadline, "the app did not quit on q"
        time.sleep(0.1)
