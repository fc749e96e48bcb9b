"""Read-only transactions (`Database.read`) on SQLite: they neither wait for a writer nor
hold one up, so the ranking process and the statistics never delay a reviewer's decision."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from screener.core.records import Record
from screener.storage import Database, repo, sqlite_url


@pytest.fixture
def path(tmp_path: Path) -> Iterator[Path]:
    file = tmp_path / "review.db"
    db = Database(sqlite_url(file))
    db.upgrade()
    with db.transaction() as s:
        repo.create_review(s, "Test review")
        source = repo.add_source(s, name="PubMed", kind="database")
        repo.add_records(s, source, [Record(title="First")])
    db.dispose()
    yield file


def _in_thread(action: object, seconds: float = 10.0) -> list[object]:
    """Run `action` in a thread; the list holds its result once it finished in time."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(action()), daemon=True)  # type: ignore[operator]
    thread.start()
    thread.join(seconds)
    return out


def test_a_read_does_not_wait_for_an_open_write(path: Path) -> None:
    writer, reader = Database(sqlite_url(path)), Database(sqlite_url(path))
    try:
        with writer.transaction() as w:
            repo.add_records(w, 1, [Record(title="Second")])  # holds the write lock
            w.flush()

            def count() -> int:
                with reader.read() as r:
                    return repo.count_records(r)

            # The busy timeout is 60 s: a read that took the write lock would still wait.
            assert _in_thread(count) == [1]  # the snapshot before the uncommitted insert
        with reader.read() as r:
            assert repo.count_records(r) == 2
    finally:
        writer.dispose()
        reader.dispose()


def test_a_write_does_not_wait_for_an_open_read(path: Path) -> None:
    writer, reader = Database(sqlite_url(path)), Database(sqlite_url(path))
    try:
        with reader.read() as r:
            assert repo.count_records(r) == 1

            def insert() -> int:
                with writer.transaction() as w:
                    return len(repo.add_records(w, 1, [Record(title="Second")]))

            assert _in_thread(insert) == [1]
            assert repo.count_records(r) == 1  # still its own snapshot
        with reader.read() as r:
            assert repo.count_records(r) == 2
    finally:
        writer.dispose()
        reader.dispose()


def test_a_read_writes_nothing(path: Path) -> None:
    db = Database(sqlite_url(path))
    try:
        with db.read() as r:
            repo.add_records(r, 1, [Record(title="Not kept")])
        with db.read() as r:
            assert repo.count_records(r) == 1
    finally:
        db.dispose()
