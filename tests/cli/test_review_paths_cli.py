"""CLI: a review folder may have any name the file system allows (%XX, ?, #, spaces):
every command reads and writes the review.db inside that folder, and no other."""

from __future__ import annotations

import json
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
