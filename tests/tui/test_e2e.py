"""End to end in a real terminal: tmux runs `screener screen`, we type and read the pane.

Skipped only when tmux is missing and CI is not "true" (CI installs tmux).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from screener.workflow.review import create_review

from .conftest import PROTOCOLS, add_records, stored

pytestmark = pytest.mark.e2e


def _tmux(socket: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                          check=False)


def _wait_for(socket: str, check: Callable[[str], bool], what: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    pane = ""
    while time.monotonic() < deadline:
        pane = _tmux(socket, "capture-pane", "-p", "-t", "main").stdout
        if check(pane):
            return pane
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; the pane shows:\n{pane}")


def test_screen_command_in_tmux(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but tmux is not installed")
        pytest.skip("tmux is not installed")
    folder = tmp_path / "review"
    review = create_review(folder, PROTOCOLS / "minimal.yaml")
    ids = add_records(review)
    review.close()
    home = tmp_path / "home"
    home.mkdir()
    command = (f"env HOME={home} XDG_CONFIG_HOME={home / '.config'} "
               f"{sys.executable} -m screener screen --review {folder} --reviewer ann")
    socket = f"screener-e2e-{uuid.uuid4().hex[:8]}"
    try:
        started = _tmux(socket, "new-session", "-d", "-s", "main", "-x", "100", "-y", "32",
                        command)
        assert started.returncode == 0, started.stderr
        _wait_for(socket, lambda p: "Ketamine infusion for" in p and "Screened 0 of 5" in p,
                  "the first record")
        _tmux(socket, "send-keys", "-t", "main", "i")
        _wait_for(socket, lambda p: "Anaesthesia with ketamine in rats" in p
                  and "Screened 1 of 5" in p, "the second record after include")
        _tmux(socket, "send-keys", "-t", "main", "e")
        _wait_for(socket, lambda p: "Press a reason's key" in p, "the reason dialog")
        _tmux(socket, "send-keys", "-t", "main", "2")
        # The counts update at once; the card and dialog repaint a moment later.
        pane = _wait_for(socket, lambda p: "Screened 2 of 5" in p
                         and "Press a reason's key" not in p
                         and "Anaesthesia with ketamine" not in p, "the third record")
        # Re-ranking (the real ranker) may have reordered the rest; any other record will do.
        assert "Ketamine infusion for" not in pane and "Anaesthesia with ketamine" not in pane
        with_reopened = stored(review)
        assert with_reopened == [(ids[0], "ann", "include", None, ""),
                                 (ids[1], "ann", "exclude", "intervention", "")]
        _tmux(socket, "send-keys", "-t", "main", "q")
        deadline = time.monotonic() + 30
        while _tmux(socket, "has-session", "-t", "main").returncode == 0:
            assert time.monotonic() < deadline, "the app did not quit on q"
            time.sleep(0.1)
    finally:
        _tmux(socket, "kill-server")
