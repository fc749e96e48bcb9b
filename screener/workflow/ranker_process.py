"""Re-ranking in a long-lived child process, so the screening UI never waits for it.

Re-ranking (fit the model, score every record) is CPU-bound Python and numpy work; in a
thread of the UI process it holds the interpreter lock (GIL) for long stretches and the
reviewer's next record waits. `RankerProcess` runs `refresh_ranking` in a child started
with the 'spawn' context: the child opens the review itself, keeps the review's features
in its own memory (the UI process never loads them), and per request reads the current
decisions, trains, stores the ranking (with its provenance: model configuration, hash,
training size, time) and sends back the new order as arrays of ids and scores. The same
function on the same database gives the same order as ranking in-process.

The child ends when asked (`close`), and by itself when the pipe to the UI closes (the UI
process ended, however abruptly), so no process is left behind.
Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import multiprocessing
import threading
from array import array
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from screener.workflow.ranking import RankingUpdate
from screener.workflow.review import Review
from screener.workflow.screening import Queue

START_TIMEOUT = 60.0
"""Seconds to wait for the child to open the review (imports take a few seconds)."""


def prepare() -> None:
    """Start multiprocessing's resource tracker now, while stdout and stderr are the real
    ones: a terminal UI replaces them with objects without a file descriptor, and starting
    the tracker from a worker then fails ("bad value(s) in fds_to_keep")."""
    from multiprocessing import resource_tracker

    try:
        resource_tracker.ensure_running()
    except (OSError, ValueError):
        pass  # `start` reports the failure, and the UI ranks in its own process instead


NICENESS = 10
"""The child runs at a lower priority than the UI (os.nice), so on a busy machine a
re-ranking never takes the CPU from the next record."""


class RankerUnavailable(RuntimeError):
    """The ranking process could not be started or has gone away."""


class RankerProcess:
    """A callable `(review, reviewer) -> RankingUpdate` that ranks in a child process.

    Call `start()` first (it raises `RankerUnavailable` when the child cannot start); calls
    are serialised; `close()` ends the child and waits for it.
    """

    def __init__(self, review: Review) -> None:
        self.url = review.db.url
        self.folder = review.folder
        self._conn: Connection | None = None
        self._process: Any = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the child and wait until it has opened the review."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child, self.url, self.folder),
                                  name="screener-ranker", daemon=True)
        try:
            process.start()
        except (OSError, RuntimeError, ValueError) as exc:
            raise RankerUnavailable(f"cannot start the ranking process: {exc}") from exc
        finally:
            child.close()
        self._conn, self._process = parent, process
        try:
            if not parent.poll(START_TIMEOUT):
                raise RankerUnavailable("the ranking process did not start in time")
            kind, payload = parent.recv()
        except (EOFError, OSError) as exc:
            self.close()
            raise RankerUnavailable("the ranking process ended while starting") from exc
        except RankerUnavailable:
            self.close()
            raise
        if kind != "ready":
            self.close()
            raise RankerUnavailable(f"the ranking process could not open the review: {payload}")

    def __call__(self, review: Review, reviewer: str) -> RankingUpdate:
        with self._lock:
            conn = self._conn
            if conn is None:
                raise RankerUnavailable("the ranking process is not running")
            try:
                conn.send(("rank", reviewer))
                kind, payload = conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                self.close()
                raise RankerUnavailable("the ranking process ended") from exc
        if kind == "error":
            raise payload if isinstance(payload, BaseException) else RuntimeError(str(payload))
        return _unpack(payload)

    def close(self, timeout: float = 5.0) -> None:
        """Ask the child to end and wait for it; a child busy with a request is ended at
        once (SIGTERM: its database transaction is rolled back, nothing half-written)."""
        conn, process = self._conn, self._process
        self._conn = self._process = None
        idle = self._lock.acquire(blocking=False)
        try:
            if conn is not None and idle:
                try:
                    conn.send(("quit", None))
                except (OSError, BrokenPipeError):
                    pass
            if process is not None and not idle:
                process.terminate()
            if conn is not None and idle:
                conn.close()
        finally:
            if idle:
                self._lock.release()
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.terminate()
                process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(timeout)


def _pack(update: RankingUpdate) -> dict[str, Any]:
    """The update as arrays: cheap to pickle, and cheap to read back in the UI process."""
    queue = update.queue
    return {"ranking_id": update.ranking_id, "ids": array("q", queue.ids).tobytes(),
            "queue_ranking_id": queue.ranking_id, "basis": queue.basis,
            "scored": array("q", queue.scores.keys()).tobytes(),
            "scores": array("d", queue.scores.values()).tobytes(),
            "config_hash": update.config_hash, "training_size": update.training_size,
            "n_included": update.n_included, "seconds": update.seconds}


def _unpack(data: dict[str, Any]) -> RankingUpdate:
    ids, scored, scores = array("q"), array("q"), array("d")
    ids.frombytes(data["ids"])
    scored.frombytes(data["scored"])
    scores.frombytes(data["scores"])
    queue = Queue(tuple(ids), data["queue_ranking_id"], dict(zip(scored, scores, strict=True)),
                  data["basis"])
    return RankingUpdate(data["ranking_id"], queue, data["config_hash"], data["training_size"],
                         data["n_included"], data["seconds"])


def serve(conn: Connection, url: str, folder: Path | None) -> None:
    """The child's loop: open the review, then answer requests until told to quit or the
    pipe closes."""
    import os

    # Background work: when the CPU is short, the reviewer's process goes first.
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):
        pass
    from screener.workflow.ranking import refresh_ranking
    from screener.workflow.review import open_review

    try:
        review = open_review(folder, db_url=url)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        conn.close()
        return
    try:
        conn.send(("ready", None))
        while True:
            try:
                kind, reviewer = conn.recv()
            except (EOFError, OSError):
                return
            if kind != "rank":
                return
            try:
                reply: tuple[str, Any] = ("ok", _pack(refresh_ranking(review, reviewer)))
            except Exception as exc:  # noqa: BLE001 - sent to the parent, which reports it
                reply = ("error", _picklable(exc))
            try:
                conn.send(reply)
            except (OSError, BrokenPipeError):
                return
    finally:
        review.close()
        conn.close()
        _skip_final_collection()


def _skip_final_collection() -> None:
    """Leave this process's objects (the review's features, the model, the loaded
    modules) to the operating system when it exits: the interpreter's last garbage
    collections walked them all, and the UI waits for this process to end before it gives
    the shell back (0.4 to 1 s at 40,000 records, benchmarks/quit_latency.py). Called once
    the review is closed, so nothing is left to write."""
    import gc

    gc.freeze()


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any failure to round-trip
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
