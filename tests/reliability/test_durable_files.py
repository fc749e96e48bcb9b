"""Files screener puts in place by renaming a finished temporary file (exports, backups,
the protocol copy, UI settings) survive a power cut or system crash: the file's bytes are
synced to the disk before the rename, and its folder (the new name) after it. Without the
first sync, ext4 and others may show the new name over an empty file after the crash."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from screener.workflow.backup import backup_review
from screener.workflow.reporting import write_all_atomic
from screener.workflow.review import Review, create_review

PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """("sync", path) for each fsync and ("rename", target) for each rename, in order."""
    seen: list[tuple[str, str]] = []
    fsync, replace, rename = os.fsync, os.replace, os.rename

    def recording_fsync(fd: int) -> None:
        seen.append(("sync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recorder(real: Callable[..., None]) -> Callable[..., None]:
        def recording(src: str | Path, dst: str | Path) -> None:
            real(src, dst)
            seen.append(("rename", os.path.realpath(dst)))
        return recording

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recorder(replace))
    monkeypatch.setattr(os, "rename", recorder(rename))
    yield seen


def _synced_in_order(calls: list[tuple[str, str]], target: Path, content: Path) -> None:
    """`content` (what the rename moves) was synced before the rename onto `target`, and
    target's folder after it."""
    target = Path(os.path.realpath(target))
    renamed = calls.index(("rename", str(target)))
    before = {path for kind, path in calls[:renamed] if kind == "sync"}
    assert str(content) in before, calls
    after = {path for kind, path in calls[renamed:] if kind == "sync"}
    assert str(target.parent) in after, calls


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_an_export_is_synced_before_and_after_its_rename(
        tmp_path: Path, calls: list[tuple[str, str]]) -> None:
    target = tmp_path / "out" / "log.csv"
    target.parent.mkdir()
    written: list[Path] = []

    def writer(tmp: Path) -> None:
        tmp.write_text("seq,record\n1,2\n", encoding="utf-8")
        written.append(Path(os.path.realpath(tmp)))

    write_all_atomic([(target, writer, "--out")])
    assert target.read_text(encoding="utf-8") == "seq,record\n1,2\n"
    _synced_in_order(calls, target, written[0])


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_a_backup_is_synced_before_and_after_its_rename(
        tmp_path: Path, calls: list[tuple[str, str]]) -> None:
    review: Review = create_review(tmp_path / "review", PROTOCOLS / "minimal.yaml")
    with review:
        target = tmp_path / "backup"
        backup_review(review, target)
    renamed = calls.index(("rename", str(target)))
    staged = {Path(p).name for kind, p in calls[:renamed] if kind == "sync"}
    assert {"review.db", "protocol.yaml"} <= staged, calls
    assert ("sync", str(tmp_path)) in calls[renamed:], calls
