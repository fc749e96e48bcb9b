"""README's "JSON output" section documents the keys scripts read: the keys it lists for
`status --json`, `export prisma --format json` and `allocate --json` are the keys those
commands produce, both ways (a key produced but not listed fails, as one listed but gone)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from screener.cli import main

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def documented(command: str) -> dict[str, set[str]]:
    """Path ("" for the top level, `prisma.databases[]`) -> the keys README's JSON output
    table lists for `command`: the backquoted names of the row's second cell, outside
    parentheses (which hold remarks)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### JSON output", 1)[1].split("\n#", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith(f"`{command}`"):
            continue
        path = cells[0].removeprefix(f"`{command}`").strip().strip("`")
        rows[path] = set(re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cells[1])))
    return rows


def at(data: Any, path: str) -> list[dict[str, Any]]:
    """The objects at `path` (`a.b[]`: every object of list b in object a)."""
    found = [data]
    for part in filter(None, path.split(".")):
        name, many = part.removesuffix("[]"), part.endswith("[]")
        found = [item[name] for item in found]
        if many:
            found = [x for items in found for x in items]
        assert found and all(isinstance(x, dict) for x in found), (path, found)
    return found


def test_the_readme_lists_the_keys_status_and_export_prisma_produce(tmp_path: Path) -> None:
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", str(REPO / "protocols" / "minimal.yaml"))
    (tmp_path / "db.csv").write_text("title,abstract\nOne trial,a\nTwo trial,b\nThree,c\n",
                                     encoding="utf-8")
    (tmp_path / "hand.csv").write_text("title,abstract\nFour,d\n", encoding="utf-8")
    run("import", str(tmp_path / "db.csv"), "--source", "Embase", "--review", rev)
    run("import", str(tmp_path / "hand.csv"), "--source", "Citation searching", "--kind",
        "other", "--review", rev)
    for rid, label in ((1, "include"), (2, "include"), (3, "exclude"), (4, "include")):
        run("decide", str(rid), "--reviewer", "ann", "--label", label,
            *(["--reason", "design"] if label == "exclude" else []), "--review", rev)
    run("decide", "1", "--reviewer", "ann", "--label", "include", "--stage", "full_text",
        "--review", rev)
    run("decide", "2", "--reviewer", "ann", "--label", "exclude", "--reason", "population",
        "--stage", "full_text", "--review", rev)
    status = json.loads(run("status", "--json", "--review", rev))
    run("export", "prisma", "--format", "json", "--previous-studies", "1",
        "--previous-reports", "2", "--out", str(tmp_path / "p.json"), "--review", rev)
    prisma = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    for command, data in (("status --json", status), ("export prisma --format json", prisma)):
        rows = documented(command)
        assert "" in rows and len(rows) > 3, rows
        for path, keys in rows.items():
            for item in at(data, path):
                assert set(item) == keys, (command, path, set(item) ^ keys)


def test_the_readme_lists_the_keys_allocate_produces(tmp_path: Path) -> None:
    """allocate --json's row lacked `screeners_per_shared_record`, and the test above did
    not read it."""
    rev = str(tmp_path / "rev")
    run("init", rev, "--protocol", str(REPO / "protocols" / "dual-screening.yaml"))
    (tmp_path / "db.csv").write_text("title,abstract\nOne trial,a\nTwo trial,b\n",
                                     encoding="utf-8")
    run("import", str(tmp_path / "db.csv"), "--source", "Embase", "--review", rev)
    args = ("allocate", "--reviewers", "ann,bob", "--overlap", "100%", "--new-reviewer",
            "--json", "--review", rev)
    first, again = json.loads(run(*args)), json.loads(run(*args))
    (keys,) = documented("allocate --json").values()
    replacing = {"replaced_allocation_of", "kept_with_their_screeners"}  # "when it replaced one"
    assert set(again) == keys, set(again) ^ keys
    assert set(first) == keys - replacing, set(first) ^ (keys - replacing)
