"""A review folder on a network drive or in a sync folder: what `status` and every command
say about it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener.cli import main
from tests.conftest import PROTOCOLS


@pytest.fixture
def review(tmp_path: Path) -> Path:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "rev"), "--protocol",
                                       str(PROTOCOLS / "minimal.yaml")])
    assert result.exit_code == 0, result.output
    return tmp_path / "rev"


def test_status_names_a_conflicted_copy_beside_review_db(review: Path) -> None:
    """A sync tool keeps the losing review.db as "review (Bob's conflicted copy ...).db":
    status said nothing of it, and its decisions were forgotten."""
    copy = "review (Bob's conflicted copy 2026-11-30).db"
    shutil.copy(review / "review.db", review / copy)
    result = CliRunner().invoke(main, ["status", "--review", str(review)])
    assert result.exit_code == 0, result.output
    note = next(line for line in result.output.splitlines() if copy in line)
    assert "screener merge" in note and "protocol.yaml" in note
    data = json.loads(CliRunner().invoke(main, ["status", "--json", "--review",
                                                str(review)]).output)
    assert data["other_copies"] == [copy]
    (review / copy).unlink()
    assert copy not in CliRunner().invoke(main, ["status", "--review", str(review)]).output


def test_a_review_on_a_network_drive_is_warned_of_once(
        review: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from screener.storage import engine

    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/share {tmp_path} nfs4 rw 0 0\n",
                      encoding="utf-8")
    monkeypatch.setattr(engine, "MOUNTS", mounts)
    result = CliRunner().invoke(main, ["status", "--review", str(review)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("network drive (nfs4)") == 1, result.stderr
    assert "PostgreSQL" in result.stderr and "one computer" in result.stderr
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/share {tmp_path}/other nfs4 rw 0 0\n",
                      encoding="utf-8")
    assert "network drive" not in CliRunner().invoke(
        main, ["status", "--review", str(review)]).stderr
