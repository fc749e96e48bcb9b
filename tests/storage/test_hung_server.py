"""A PostgreSQL server that hangs (stopped with SIGSTOP: its machine still acknowledges the
packets, so TCP keepalives never fire) made decisions and commands wait for good. They now
fail with one message, nothing stored, and work again once the server answers."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from screener.cli import main
from screener.core.decisions import Label
from screener.core.records import Record
from screener.storage import StorageError, repo
from screener.workflow.review import Review, create_review
from screener.workflow.screening import record_decision

from ..conftest import PROTOCOLS, StoppableServer

GUARD_S = 120
"""How long the test waits for a call that should fail within seconds, so that a hang
fails the test instead of stopping the test run."""


def _review(server: StoppableServer, folder: Path) -> tuple[Review, list[int]]:
    review = create_review(folder, PROTOCOLS / "minimal.yaml", server.url)
    with review.transaction() as session:
        source = repo.add_source(session, name="X", kind="database")
        ids = repo.add_records(session, source, [Record(title=f"Trial {i}") for i in range(3)])
    return review, ids


def _logged(review: Review) -> list[tuple[int, str]]:
    with review.read() as session:
        return [(d.record_id, d.label.value) for d in repo.decision_log(session)]


def _returns(call: Any) -> BaseException | None:
    """What `call()` raised (None if nothing), run in a thread given `GUARD_S`."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            raised.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_S)
    assert raised, "the call was still waiting for the stopped server"
    return raised[0]


def test_a_decision_on_a_hung_server_fails_with_one_message_and_stores_nothing(
        stoppable_pg: StoppableServer, tmp_path: Path) -> None:
    review, ids = _review(stoppable_pg, tmp_path / "r")
    try:
        record_decision(review, ids[0], "ann", Label.INCLUDE)  # the connection is open
        stoppable_pg.stop()
        try:
            error = _returns(lambda: record_decision(review, ids[1], "ann", Label.EXCLUDE))
        finally:
            stoppable_pg.resume()
        port = stoppable_pg.url.rsplit(":", 1)[1].split("/")[0]
        assert isinstance(error, StorageError)
        assert str(error).startswith(f"the PostgreSQL server at 127.0.0.1:{port} did not "
                                     "answer within 2 s: nothing was stored. Check that it "
                                     "is running")
        assert _logged(review) == [(ids[0], "include")]
        record_decision(review, ids[1], "ann", Label.EXCLUDE)  # answering again: stored
        assert _logged(review) == [(ids[0], "include"), (ids[1], "exclude")]
    finally:
        review.close()


def test_a_command_on_a_hung_server_exits_75_with_one_message(
        stoppable_pg: StoppableServer, tmp_path: Path) -> None:
    review, ids = _review(stoppable_pg, tmp_path / "r")
    review.close()
    stoppable_pg.stop()
    try:
        results = []
        _returns(lambda: results.append(CliRunner().invoke(
            main, ["decide", str(ids[0]), "--label", "include", "--reviewer", "ann",
                   "--db", stoppable_pg.url])))
    finally:
        stoppable_pg.resume()
    result = results[0]
    assert result.exit_code == 75, result.output
    assert "did not answer within 2 s: nothing was stored" in result.output
    assert "Traceback" not in result.output
    ok = CliRunner().invoke(main, ["decide", str(ids[0]), "--label", "include", "--reviewer", "ann",
                                   "--db", stoppable_pg.url])
    assert ok.exit_code == 0, ok.output


def test_a_psycopg_too_old_to_give_up_on_a_server_is_named(
        monkeypatch: Any, tmp_path: Path) -> None:
    # pyproject allowed psycopg 3.1, whose Connection.wait(gen, timeout) loops on the
    # socket without ever handing the generator an empty wait: the answer timeout above
    # never fired there, so a hung server hung screener for good, as before it existed
    import tomllib

    import psycopg

    from screener.storage.engine import PSYCOPG_GIVES_UP_FROM, make_engine

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml")
                            .read_text(encoding="utf-8"))
    (bound,) = [d.split(">=")[1].split(",")[0] for d in project["project"]["dependencies"]
                if d.startswith("psycopg")]
    assert tuple(int(n) for n in bound.split(".")[:2]) >= PSYCOPG_GIVES_UP_FROM, bound
    monkeypatch.setattr(psycopg, "__version__", "3.1.19")
    try:
        make_engine("postgresql://screener@127.0.0.1:1/review")
    except StorageError as exc:
        message = str(exc)
    else:
        raise AssertionError("psycopg 3.1 was accepted")
    assert "psycopg 3.1.19" in message and "psycopg[binary]>=3.2" in message, message
