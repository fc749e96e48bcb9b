"""`screener screen`: help, and clear errors without a terminal or a review."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from screener.cli import main


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
