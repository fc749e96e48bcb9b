"""`screener screen`: help, and clear errors without a terminal or a review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from screener.cli import main

PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"


def test_screen_has_help_with_options() -> None:
    result = CliRunner().invoke(main, ["screen", "--help"])
    assert result.exit_code == 0
    for option in ("--review", "--db", "--reviewer", "--stage", "--theme"):
        assert option in result.output


def test_screen_needs_a_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["screen", "--review", str(tmp_path), "--reviewer", "ann"])
    assert result.exit_code == 2 and "needs a terminal" in result.output
    assert result.output.count("error:") == 1


def test_screen_needs_a_reviewer() -> None:
    result = CliRunner().invoke(main, ["screen"])
    assert result.exit_code == 2 and "--reviewer" in result.output


# the crashed app leaves Textual's header title coroutine unawaited (Textual's, not ours)
@pytest.mark.filterwarnings("ignore:coroutine 'Header._on_mount:RuntimeWarning")
def test_a_crash_of_the_ui_is_not_reported_as_success(tmp_path: Path, monkeypatch: Any) -> None:
    """Textual prints the traceback and returns; the shell (and a script) must see a failure,
    not exit code 0, and the reviewer is told that the decisions made are kept."""
    from textual.app import App

    from screener.cli import screen as screen_cli
    from screener.tui.app import ScreenerApp

    review = tmp_path / "review"
    assert CliRunner().invoke(main, ["init", str(review), "--protocol",
                                     str(PROTOCOLS / "minimal.yaml")]).exit_code == 0

    def crash(self: ScreenerApp) -> None:
        raise RuntimeError("a bug")

    def mounted(self: ScreenerApp) -> None:  # the bug strikes once the app is up
        self.set_timer(0.05, lambda: crash(self))

    monkeypatch.setattr(screen_cli, "_need_terminal", lambda: None)
    monkeypatch.setattr(ScreenerApp, "on_mount", mounted)
    monkeypatch.setattr(ScreenerApp, "run", lambda self: App.run(self, headless=True))
    result = CliRunner().invoke(main, ["screen", "--review", str(review), "--reviewer", "ann"])
    assert result.exit_code == 1, result.output
    assert "the screening UI stopped on an error" in result.output
    assert "every decision made before it is stored" in result.output
    import gc

    gc.collect()  # the crashed app's coroutine is reported here (filtered), not in a later test


def _in_a_terminal(args: list[str], env: dict[str, str], stdin_null: bool = False
                   ) -> tuple[int | None, str]:
    """Run `python -m screener ARGS` with a pseudo-terminal as its output (and input, unless
    `stdin_null`), as a reviewer's shell does; (exit code, output). A UI that opens is
    killed after 120 s (exit code None), so the test fails instead of hanging (a loaded
    machine takes a while to make the demo review before it says anything)."""
    import os
    import select
    import subprocess
    import sys
    import time

    primary, secondary = os.openpty()
    stdin = subprocess.DEVNULL if stdin_null else secondary
    proc = subprocess.Popen([sys.executable, "-m", "screener", *args], stdin=stdin,
                            stdout=secondary, stderr=secondary, env={**os.environ, **env},
                            close_fds=True)
    os.close(secondary)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    data = os.read(primary, 65536)
                except OSError:  # the process ended and closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        try:
            code: int | None = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # the UI is up, waiting for keys
            proc.kill()
            proc.wait()
            code = None
    finally:
        os.close(primary)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("command", ["screen", "demo"])
def test_a_dumb_terminal_is_refused_the_full_screen_ui(tmp_path: Path, command: str) -> None:
    """TERM=dumb (Emacs's shell, some CI consoles) cannot move the cursor: the UI opened all
    the same and filled it with escape sequences. One message and exit code 2 instead,
    naming the commands that screen without it."""
    review = tmp_path / "review"
    if command == "screen":
        assert CliRunner().invoke(main, ["init", str(review), "--protocol",
                                         str(PROTOCOLS / "minimal.yaml")]).exit_code == 0
        args = ["screen", "--review", str(review), "--reviewer", "ann"]
    else:
        args = ["demo", str(review)]
    code, output = _in_a_terminal(args, {"TERM": "dumb"})
    assert code == 2, output
    assert "\x1b[" not in output and output.count("error:") == 1
    assert "(TERM=dumb) cannot show the full-screen screening UI" in output
    assert "`screener next`" in output and "`screener decide`" in output
    assert (command == "demo") == ("screener demo --no-ui" in output)


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal")
def test_demo_with_its_input_redirected_does_not_open_the_ui(tmp_path: Path) -> None:
    """`screener demo < /dev/null` in a terminal: the UI opened and waited for keys it
    could never read; now, as with its output redirected, the status and a note."""
    code, output = _in_a_terminal(["demo", str(tmp_path / "demo")], {"TERM": "xterm"},
                                  stdin_null=True)
    assert code == 0, output
    assert "\x1b[?1049h" not in output  # the full screen never opened
    assert "not a terminal: run `screener demo` in a terminal to screen" in output
