"""Re-ranking in a child process: the same order as in-process, provenance kept, no
process left behind (after `close`, and when the parent dies without closing)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from screener.core.decisions import Label, Stage
from screener.storage import repo
from screener.workflow.demo import ensure_demo
from screener.workflow.ranker_process import RankerProcess
from screener.workflow.ranking import refresh_ranking
from screener.workflow.review import Review
from screener.workflow.screening import ScreeningSession


def gone(pid: int) -> bool:
    """True when the process has ended (a zombie not yet reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in "ZX"


def wait_gone(pid: int, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.1)
    return gone(pid)


@pytest.fixture
def demo(tmp_path: Path) -> Review:
    review, _ = ensure_demo(tmp_path / "demo")
    session = ScreeningSession(review, "ann")
    for k in range(12):
        item = session.next()
        assert item is not None and item.record.id is not None
        session.decide(item.record.id, Label.INCLUDE if k % 3 == 0 else Label.EXCLUDE)
    return review


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc to see processes")
def test_child_ranks_like_the_parent_and_ends_on_close(demo: Review) -> None:
    with demo:
        here = refresh_ranking(demo, "ann")
        ranker = RankerProcess(demo)
        ranker.start()
        pid = ranker.pid
        assert pid is not None and not gone(pid)
        try:
            there = ranker(demo, "ann")
            again = ranker(demo, "ann")
        finally:
            ranker.close()
        assert wait_gone(pid)
        assert there.queue.ids == here.queue.ids == again.queue.ids
        assert there.queue.scores == pytest.approx(here.queue.scores)
        # the scores are the classifier's (4 includes, 8 excludes), and say so
        assert there.queue.basis == here.queue.basis == "model"
        assert (there.config_hash, there.training_size, there.n_included) == (
            here.config_hash, here.training_size, here.n_included) == (here.config_hash, 12, 4)
        # Each ranking is stored with its provenance, the child's too.
        assert there.ranking_id not in (here.ranking_id, None)
        with demo.transaction() as session:
            latest = repo.latest_ranking(session, Stage.TITLE_ABSTRACT, None)
        assert latest is not None and latest[0] == again.ranking_id
        info = latest[3]
        assert info["config_hash"] == here.config_hash and info["training_size"] == 12
        assert info["config"]


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc to see processes")
def test_child_ends_when_the_parent_dies_without_closing(tmp_path: Path) -> None:
    review, _ = ensure_demo(tmp_path / "demo")
    review.close()
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from screener.workflow.ranker_process import RankerProcess\n"
        "from screener.workflow.review import open_review\n"
        "if __name__ == '__main__':\n"
        f"    review = open_review(Path({str(tmp_path / 'demo')!r}))\n"
        "    ranker = RankerProcess(review)\n"
        "    ranker.start()\n"
        "    print(ranker.pid, flush=True)\n"
        "    os._exit(0)  # no close, no atexit handlers: as if killed\n")
    path = tmp_path / "parent.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=120, check=True)
    pid = int(done.stdout.split()[0])
    assert wait_gone(pid), f"ranking process {pid} outlived its parent"


def test_cold_start_scores_are_marked_as_protocol_similarity(tmp_path: Path) -> None:
    from screener.workflow.ranking import current_queue

    review, _ = ensure_demo(tmp_path / "demo")
    with review:
        first = refresh_ranking(review, "ann")
        assert first.queue.basis == "protocol" and first.n_included == 0
        with review.read() as session:  # as the UI reads it back when a review is opened
            assert current_queue(review, session, "ann", Stage.TITLE_ABSTRACT).basis == "protocol"
