"""Start-up: help and usage errors answer without loading what only the work needs (the
database layer, the protocol's schema checker, the model, the UI), so they come at once.
Each case runs `python -m screener` in a fresh interpreter and lists what it loaded
(benchmarks/cli_startup.py measures the time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "jsonschema", "yaml", "numpy", "scipy", "sklearn", "textual",
         "psycopg", "openpyxl", "rapidfuzz")

LOADED = r"""
import atexit, sys

def report():
    heavy = HEAVY
    sys.stderr.write("LOADED " + " ".join(m for m in heavy if m in sys.modules) + "\n")

atexit.register(report)
sys.argv = ["screener", *sys.argv[1:]]
from screener.__main__ import run
run()
"""


def loaded(*args: str) -> tuple[int, str, list[str]]:
    code = LOADED.replace("HEAVY", repr(HEAVY))
    result = subprocess.run([sys.executable, "-c", code, *args],
                            capture_output=True, text=True, timeout=120)
    line = next(x for x in result.stderr.splitlines() if x.startswith("LOADED"))
    return result.returncode, result.stdout + result.stderr, line.split()[1:]


@pytest.mark.parametrize("args", [
    ("--help",), ("--version",), ("status", "--help"), ("import", "--help"),
    ("screen", "--help"), ("protocol", "--help"), ("protocol", "amend", "--help"),
    ("export", "prisma", "-h"), ("init", "--help"),
])
def test_help_loads_no_heavy_module(args: tuple[str, ...]) -> None:
    code, output, heavy = loaded(*args)
    assert code == 0, output
    assert "Usage:" in output or "version" in output
    assert heavy == [], f"`screener {' '.join(args)}` loaded {heavy}"


def test_a_usage_error_loads_no_heavy_module() -> None:
    code, output, heavy = loaded("status", "--no-such-option")
    assert code == 2 and "No such option '--no-such-option'" in output, output
    assert heavy == []


@pytest.mark.parametrize("fixture", ["minimal.yaml", "bad"])
def test_protocol_check_does_not_load_the_database_layer(fixture: str, tmp_path: Path) -> None:
    """`protocol check` only reads a file, yet loaded SQLAlchemy (through the workflow
    package's own imports): most of its start-up time. A protocol refused says so without
    loading it either."""
    path = Path(__file__).resolve().parents[2] / "protocols" / "minimal.yaml"
    if fixture == "bad":
        path = tmp_path / "bad.yaml"
        path.write_text("title: T\ncriteria: []\n", encoding="utf-8")
    code, output, heavy = loaded("protocol", "check", str(path))
    assert code == (0 if fixture != "bad" else 2), output
    assert ("OK (" in output) == (fixture != "bad"), output
    assert "sqlalchemy" not in heavy and "psycopg" not in heavy, heavy
