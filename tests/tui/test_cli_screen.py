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
