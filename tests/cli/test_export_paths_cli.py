"""CLI: where the export commands (and `report`, `init`, `export-reviewer`) write. A path
the file system cannot hold, a file name that says another format, a folder that does not
exist: one message and exit code 2, never a traceback, and nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .test_bad_input_cli import MINIMAL, run
from .test_cli_base import two_trials_imported


@pytest.fixture
def rev(tmp_path: Path) -> str:
    """A review folder with two records imported from a CSV file and one decision."""
    folder = two_trials_imported(tmp_path)
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


@pytest.mark.parametrize(("args", "name", "hint"), [
    # the name says one of the command's other formats: --format names it
    (["export", "records", "--label", "all"], "x.bib", "give --format bibtex, or an --out "
                                                       "ending in .ris"),
    (["export", "records", "--format", "csv"], "x.xlsx", "give --format xlsx, or an --out "
                                                          "ending in .csv"),
    (["export", "records", "--format", "bibtex"], "x.ris", "give --format ris, or an --out "
                                                            "ending in .bib"),
    (["export", "log", "--format", "jsonl"], "x.csv", "give --format csv, or an --out "
                                                       "ending in .jsonl"),
    (["export", "log", "--events"], "x.jsonl", "give --format jsonl, or an --out ending in "
                                               ".csv"),
    (["export", "prisma"], "x.png", "give --format png, or an --out ending in .svg"),
    # a format the command does not write at all
    (["export", "log"], "x.xlsx", "give an --out ending in .csv"),
    (["export", "records"], "x.pdf", "give an --out ending in .ris"),
    (["report"], "r.pdf", "give an --out ending in .md"),
    (["report"], "r.html", "give an --out ending in .md"),
])
def test_a_file_name_that_says_another_format_is_refused(tmp_path: Path, rev: str,
                                                         args: list[str], name: str,
                                                         hint: str) -> None:
    # `export records --out x.bib` wrote RIS into x.bib, `report --out r.pdf` Markdown
    out = run(*args, "--out", str(tmp_path / name), "--review", rev, code=2)
    suffix = name.rsplit(".", 1)[1]
    assert f"--out {name} names a .{suffix} file but" in out and hint in out, out
    assert files_in(tmp_path) == {"rev", "a.csv"}


@pytest.mark.parametrize(("args", "name"), [
    (["export", "records", "--format", "bibtex"], "x.bib"),
    (["export", "records"], "x.txt"),
    (["export", "records", "--format", "xlsx"], "X.XLSX"),
    (["export", "log", "--format", "jsonl"], "x.jsonl"),
    (["export", "log"], "decisions"),
    (["report"], "r.md"),
    (["report"], "r.txt"),
])
def test_a_file_name_of_the_format_or_of_none_is_written(tmp_path: Path, rev: str,
                                                         args: list[str], name: str) -> None:
    run(*args, "--out", str(tmp_path / name), "--review", rev)
    assert (tmp_path / name).stat().st_size > 0


@pytest.mark.parametrize("args", [
    ["export", "records"], ["export", "prisma"], ["export", "log"], ["report"]])
def test_an_out_ending_in_a_slash_names_a_folder_not_a_file(tmp_path: Path, rev: str,
                                                            args: list[str]) -> None:
    # `--out newdir/` wrote a FILE named newdir
    out = run(*args, "--out", f"{tmp_path}/newdir/", "--review", rev, code=2)
    assert "newdir: no such folder" in out and "--out names a file" in out, out
    assert files_in(tmp_path) == {"rev", "a.csv"}
    (tmp_path / "there").mkdir()
    out = run(*args, "--out", f"{tmp_path}/there/", "--review", rev, code=2)
    assert "there is a folder; give a file path" in out, out
    assert list((tmp_path / "there").iterdir()) == []


@pytest.mark.parametrize("under", ["x.bib/foo.ris", "x.bib/deeper/foo.ris"])
def test_an_out_inside_a_file_says_it_is_a_file(tmp_path: Path, rev: str, under: str) -> None:
    (tmp_path / "x.bib").write_text("keep me", encoding="utf-8")
    out = run("export", "records", "--out", str(tmp_path / under), "--review", rev, code=2)
    assert f"{tmp_path / 'x.bib'} is a file, not a folder" in out, out
    assert "no such folder" not in out
    assert (tmp_path / "x.bib").read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize("out", [None, "maybe.csv"])
@pytest.mark.parametrize("who", [[], ["--reviewer", "ann"]])
def test_maybe_at_full_text_is_refused_and_nothing_is_written(tmp_path: Path, rev: str,
                                                              out: str | None,
                                                              who: list[str]) -> None:
    # "wrote 0 records": maybe is not a full-text decision, so no record ever has it there
    where = ["--out", str(tmp_path / out)] if out else []
    before = files_in(tmp_path), files_in(Path(rev))
    text = run("export", "records", "--stage", "full_text", "--label", "maybe", "--format",
               "csv", *where, *who, "--review", rev, code=2)
    assert "maybe is a title/abstract label" in text and "--label include" in text, text
    assert text.count("\n") == 1 and "wrote" not in text, text
    assert (files_in(tmp_path), files_in(Path(rev))) == before
    assert not (Path(rev) / "exports").exists() or not any((Path(rev) / "exports").iterdir())


@pytest.mark.parametrize("args", [["export", "prisma"], ["export", "records"], ["report"]])
def test_an_exports_file_where_the_folder_goes_is_named_as_such(
        tmp_path: Path, rev: str, args: list[str]) -> None:
    """With a plain file named `exports` in the review, the default export said "cannot
    write .../exports/prisma.svg (File exists)"."""
    shutil.rmtree(Path(rev) / "exports", ignore_errors=True)
    (Path(rev) / "exports").write_text("keep me", encoding="utf-8")
    out = run(*args, "--review", rev, code=2)
    assert out.startswith(f"error: {Path(rev) / 'exports'} is a file, not a folder: exports "
                          "go in the folder"), out
    assert "Rename or move that file" in out and "File exists" not in out
    assert (Path(rev) / "exports").read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize("value", ["-", "nodir/"])
def test_out_refusals_read_as_every_other_path_error(tmp_path: Path, rev: str,
                                                     value: str) -> None:
    """`--out -` and `--out nodir/` came in click's "Usage: ... Try --help ... Error:
    Invalid value" form while every other --out refusal reads "error: ..."."""
    out = run("export", "prisma", "--out", f"{tmp_path}/{value}" if value != "-" else value,
              "--review", rev, code=2)
    assert out.startswith("error: ") and out.count("\n") == 1, out
    assert "Usage:" not in out and "Try " not in out
