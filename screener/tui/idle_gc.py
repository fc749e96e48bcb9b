"""Full garbage collections while the reviewer reads, not between a key and the next record.

CPython's automatic full (generation 2) collection walks every container object of the
process; with Textual, SQLAlchemy, numpy and scipy loaded that took 130-230 ms here, about
once every four decisions, and each one landed between a decision key and the frame with
the next record (measured: benchmarks/tui_latency.py, every frame over 150 ms at 100,000
records held one). `IdleCollector` keeps the cheap young-generation collections automatic,
moves what exists once the first record is on screen to the permanent generation
(`gc.freeze`: modules, widgets, caches; it is never garbage), and runs the full
collection when the reviewer pauses (`idle_seconds` after the last decision), or, after
`max_decisions` decisions without a pause, once the next record is on screen (after 200
decisions without a pause one took a second here, hence 50). `stop` puts everything back
as it was.

Must not import screener.storage or sqlalchemy.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Protocol

GC_IDLE_S = 2.0
"""Seconds without a decision after which the screening UI runs its full collection."""

NEVER = 1_000_000_000
"""A generation-2 threshold no session reaches: no automatic full collection."""


class _Timer(Protocol):
    def stop(self) -> None: ...


class IdleCollector:
    """`start` once the first record shows, `activity` after each decision, `stop` on exit.

    `set_timer(seconds, callback)` schedules the idle collection (the app's `set_timer`).
    """

    def __init__(self, set_timer: Callable[[float, Callable[[], None]], _Timer],
                 idle_seconds: float = GC_IDLE_S, max_decisions: int = 50,
                 after_frame: Callable[[Callable[[], None]], object] | None = None) -> None:
        self.set_timer = set_timer
        self.after_frame = after_frame
        """Runs a callback once the next frame is on screen (the app's call_after_refresh):
        an overdue collection never delays the record the reviewer is waiting for."""
        self.idle_seconds = idle_seconds
        self.max_decisions = max_decisions
        self.collections = 0
        """Full collections run so far (idle or forced)."""
        self._saved: tuple[int, int, int] | None = None
        self._since = 0
        self._timer: _Timer | None = None

    @property
    def active(self) -> bool:
        return self._saved is not None

    def start(self) -> None:
        if self._saved is not None:
            return
        gc.collect()
        gc.freeze()
        self._saved = gc.get_threshold()
        young, middle, _ = self._saved
        gc.set_threshold(young, middle, NEVER)

    def activity(self) -> None:
        """A decision was made: collect once the reviewer pauses (or now, if overdue)."""
        if self._saved is None:
            return
        self._since += 1
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._since >= self.max_decisions:
            self._since = 0
            if self.after_frame is not None:
                self.after_frame(self.collect)
            else:
                self.collect()
        else:
            self._timer = self.set_timer(self.idle_seconds, self.collect)

    def collect(self) -> None:
        self._timer = None
        self._since = 0
        if self._saved is not None:
            gc.collect()
            self.collections += 1

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._saved is not None:
            gc.unfreeze()
            gc.set_threshold(*self._saved)
            self._saved = None
