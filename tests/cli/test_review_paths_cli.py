"""CLI: a review folder may have any name the file system allows (%XX, ?, #, spaces):
every command reads and writes the review.db inside that folder, and no other."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from screener.workflow.importing import import_file
from screener.workflow.review import ReviewError, open_review

REPO = Path(__file__).resolve().parents[2]
MINIMAL = str(REPO / "protocols" / "minimal.yaml")


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def records(folder: Path) -> int:
    return int(json.loads(run("status", "--json", "--review", str(folder)))["records_total"])


@pytest.mark.parametrize(("name", "lookalike"), [
    ("Ketamine%20review", "Ketamine review"),  # a URL decoder reads %20 as a space
    ("a%2Fb", "a/b"),                          # ... and %2F as a folder
    ("Does it work?", "Does it work"),         # '?' starts a URL's query
    ("Trial #2", "Trial "),                    # '#' starts a URL's fragment
    ("two  words", None),
])
def test_a_review_folder_of_any_name_keeps_its_own_database(
        tmp_path: Path, name: str, lookalike: str | None) -> None:
    if lookalike:  # a review where a decoded URL would land
        (tmp_path / lookalike).parent.mkdir(parents=True, exist_ok=True)
        run("init", str(tmp_path / lookalike), "--protocol", MINIMAL)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    folder = tmp_path / name
    run("init", str(folder), "--protocol", MINIMAL)
    assert (folder / "review.db").is_file()
    (tmp_path / "a.csv").write_text("title,abstract\nOne trial,x\nTwo trial,y\n",
                                    encoding="utf-8")
    run("import", str(tmp_path / "a.csv"), "--review", str(folder))
    assert records(folder) == 2
    if lookalike:
        assert records(tmp_path / lookalike) == 0
    made = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")} - set(before)
    assert all(p.parts[0] in (name, "a.csv") for p in made), made  # nothing beside it


BAD = os.fsdecode(b"r\xe9sum\xe9")  # Latin-1 bytes, as an old archive or a share names files


def test_a_file_or_folder_name_that_is_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    rev = tmp_path / "rev"
    run("init", str(rev), "--protocol", MINIMAL)
    bad_file = tmp_path / f"export_{BAD}.csv"
    bad_file.write_text("title,abstract\nOne trial,x\n", encoding="utf-8")
    before = (rev / "review.db").read_bytes()
    for args in (["import", str(bad_file), "--review", str(rev)],
                 ["init", str(tmp_path / BAD), "--protocol", MINIMAL],
                 ["status", "--review", str(tmp_path / BAD)],
                 ["backup", str(tmp_path / BAD), "--review", str(rev)]):
        out = run(*args, code=2)
        assert out.startswith("error: the name '") and len(out.splitlines()) == 1, out
        assert "r\\xe9sum\\xe9" in out and "rename it" in out, out
    assert (rev / "review.db").read_bytes() == before and records(rev) == 0
    with open_review(rev) as review, pytest.raises(ReviewError, match="is not UTF-8"):
        import_file(review, bad_file)  # the Python API says the same
    with pytest.raises(ReviewError, match="is not UTF-8"):
        open_review(tmp_path / BAD)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([bad_file.name, "rev"])


def test_click_usage_errors_escape_the_bytes_of_a_name_that_is_not_utf8(
        tmp_path: Path) -> None:
    """A path given where a choice was expected (`--format o_résumé.svg`, its name in
    Latin-1) was quoted by click's usage error as 'o_r\\udce9sum\\udce9.svg', Python's
    written-out stand-ins for the bytes, where screener's own messages show 'r\\xe9sum\\xe9';
    a path given as an extra argument showed the stand-in character itself. Each now shows
    the bytes as screener's messages do."""
    rev = tmp_path / "rev"
    run("init", str(rev), "--protocol", MINIMAL)
    path = str(tmp_path / f"o_{BAD}.svg")
    for args in (["export", "prisma", "--format", path], ["status", path],
                 ["next", "--reviewer", "ann", "--stage", path]):
        out = run(*args, "--review", str(rev), code=2)
        assert "o_r\\xe9sum\\xe9.svg" in out and "\\udc" not in out, out
        assert path not in out and out.count("Error:") == 1, out


def test_a_review_path_longer_than_sqlite_opens_says_so(tmp_path: Path) -> None:
    # SQLite opens a database whose path is at most 504 bytes (512 with room for -journal);
    # past that it said "check that the folder exists and is readable", which it was
    deep = tmp_path.joinpath(*["d" * 60] * 9)
    deep.mkdir(parents=True)
    folder = deep / "rev"
    out = run("init", str(folder), "--protocol", MINIMAL, code=2)
    assert "check that the folder exists" not in out, out
    size = len(os.fsencode(folder / "review.db"))
    assert f"{size} bytes long" in out and "504" in out and "shorter" in out, out
    assert not folder.exists()  # nothing was left
    shallow = tmp_path / "rev"
    run("init", str(shallow), "--protocol", MINIMAL)
    shallow.rename(deep / "rev")  # a review moved deep into a folder tree
    out = run("status", "--review", str(folder), code=2)
    assert f"{size} bytes long" in out and "504" in out, out


def test_a_name_that_is_not_utf8_is_printed_with_its_bytes_escaped(tmp_path: Path) -> None:
    # an --out file may have such a name; messages named it 'o_\udce9report.csv', Python's
    # stand-in for the byte, where the refusal of such a name shows 'r\xe9sum\xe9'
    import subprocess
    import sys

    rev = tmp_path / "rev"
    run("init", str(rev), "--protocol", MINIMAL)
    out = run("export", "prisma", "--format", "csv", "--out", str(tmp_path / f"o_{BAD}.md"),
              "--review", str(rev), code=2)
    assert "--out o_r\\xe9sum\\xe9.md names a .md file" in out and "\\udc" not in out, out
    out = run("report", "--out", str(tmp_path / BAD / "r.md"), "--review", str(rev), code=2)
    assert f"{tmp_path}/r\\xe9sum\\xe9: no such folder" in out and "\\udc" not in out, out
    # as the command prints it to a terminal or a pipe (whatever its encoding)
    done = subprocess.run(
        [sys.executable, "-m", "screener", "export", "prisma", "--format", "csv", "--out",
         os.fsencode(tmp_path / f"o_{BAD}.csv"), "--review", str(rev)],
        capture_output=True, timeout=120, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode("ascii").strip().endswith("o_r\\xe9sum\\xe9.csv"), done.stdout
    assert (tmp_path / f"o_{BAD}.csv").is_file()


def test_a_command_run_in_the_reviews_exports_folder_points_to_the_folder_above(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It said '.../exports is not a review (no review.db); create one with `screener
    init`': the folder above it is the review, where the command belongs."""
    run("init", str(tmp_path / "rev"), "--protocol", MINIMAL)
    monkeypatch.chdir(tmp_path / "rev" / "exports")
    said = " ".join(run("status", code=2).split())
    assert "exports is not a review (no review.db), but the folder above it is" in said, said
    assert said.endswith("or pass --review ..") and "screener init" not in said, said
    assert "My systematic review" in run("status", "--review", "..")
    monkeypatch.chdir(tmp_path)
    elsewhere = " ".join(run("status", "--review", str(tmp_path / "rev" / "exports"),
                             code=2).split())
    assert f"--review {tmp_path / 'rev'}" in elsewhere, elsewhere
