"""CLI: where the export commands (and `report`, `init`, `export-reviewer`) write. A path
the file system cannot hold, a file name that says another format, a folder that does not
exist: one message and exit code 2, never a traceback, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def rev(tmp_path: Path) -> str:
    """A review folder with two records imported from a CSV file and one decision."""
    folder = str(tmp_path / "rev")
    run("init", folder, "--protocol", MINIMAL)
    (tmp_path / "a.csv").write_text("title,abstract\nOne trial,x\nTwo trial,y\n",
                                    encoding="utf-8")
    run("import", str(tmp_path / "a.csv"), "--review", folder)
    run("decide", "1", "--reviewer", "ann", "--label", "include", "--review", folder)
    return folder


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


LONG = "a" * 300  # longer than the 255 bytes a file name may have on Linux and macOS


@pytest.mark.parametrize("args", [
    ["export", "records", "--out", "{tmp}/" + LONG + ".ris"],
    ["export", "prisma", "--out", "{tmp}/" + LONG + ".svg"],
    ["export", "log", "--out", "{tmp}/" + LONG + ".csv"],
    ["export", "log", "--events", "--out", "{tmp}/" + LONG + ".csv"],
    ["report", "--out", "{tmp}/" + LONG + ".md"],
    ["export-reviewer", "{tmp}/" + LONG, "--reviewer", "ann"],
    ["export", "records", "--out", "{tmp}/" + LONG + "/r.ris"],
])
def test_a_name_too_long_for_the_file_system_is_one_message(tmp_path: Path, rev: str,
                                                            args: list[str]) -> None:
    before = files_in(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    name = next(part for a in args for part in Path(a).parts if part.startswith(LONG))
    out = run(*args, "--review", rev, code=2)
    assert f"is {len(name)} bytes long" in out, out
    assert "at most 255 bytes" in out and "give a shorter name" in out, out
    assert files_in(tmp_path) == before


def test_init_in_a_folder_whose_name_is_too_long_is_one_message(tmp_path: Path) -> None:
    out = run("init", str(tmp_path / LONG), "--protocol", MINIMAL, code=2)
    assert "is 300 bytes long" in out and "give a shorter name" in out, out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "suffix"), [
    (["export", "records", "--label", "all"], ".ris"),
    (["export", "prisma"], ".svg"),
    (["export", "log"], ".csv"),
    (["export", "log", "--events"], ".csv"),
])
def test_any_name_the_file_system_allows_can_be_written(tmp_path: Path, rev: str,
                                                        args: list[str], suffix: str) -> None:
    # the temporary file was named after the target and longer than it: a legal
    # 250-character name was refused with "cannot write in ... (File name too long)"
    target = tmp_path / ("b" * (250 - len(suffix)) + suffix)
    out = run(*args, "--out", str(target), "--review", rev)
    assert f"to {target}" in out or f"wrote {target}" in out, out
    assert target.stat().st_size > 0
    assert files_in(tmp_path) == {"rev", "a.csv", target.name}


def test_a_report_whose_diagram_name_would_be_too_long_says_so(tmp_path: Path,
                                                               rev: str) -> None:
    # the report's own name is legal, the diagram beside it (<name>-prisma.svg) is not
    target = tmp_path / ("r" * 250 + ".md")
    out = run("report", "--out", str(target), "--review", rev, code=2)
    assert "-prisma.svg" in out and "give a shorter name" in out, out
    assert files_in(tmp_path) == {"rev", "a.csv"}
