"""Shared fixtures: an isolated home folder, review databases on SQLite and PostgreSQL.

PostgreSQL tests use the server named by SCREENER_TEST_PG_URL (scripts/test.sh starts a
throwaway one). Under CI=true they fail, rather than skip, when it is missing.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
PROTOCOLS = REPO / "protocols"
DATA = Path(__file__).resolve().parent / "data"

UNREADABLE_ESEARCH = [
    # a proxy's or NCBI's own error page in place of the XML
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body>"
    b"</html>\n",
    # XML, but not an esearch answer (an eSummary list)
    b'<?xml version="1.0" ?>\n<!DOCTYPE eSummaryResult PUBLIC "-//NLM//DTD esummary v1 '
    b'20041029//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20041029/esummary-v1.dtd">'
    b"\n<eSummaryResult></eSummaryResult>\n",
    # an esearch answer without its count and history keys
    b'<?xml version="1.0" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628'
    b'//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
    b"<eSearchResult><TranslationStack></TranslationStack></eSearchResult>\n",
]
"""esearch answers screener cannot use, none of them the query's fault (the PubMed
importer's and `search pubmed`'s tests)."""


# Hypothesis budgets. The fuzz tests ask for max(their own bounded budget, the profile's),
# so CI stays bounded and `HYPOTHESIS_PROFILE=long` runs many more inputs (issue #8: about
# 10 minutes, niced, for tests/protocol/test_protocol_fuzz.py tests/importers/test_properties.py
# tests/importers/test_fast_paths.py tests/importers/test_dedup.py; add
# --hypothesis-show-statistics to see how many inputs each test tried).
settings.register_profile("long", max_examples=8000, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Python's automatic collections, tuned for a test process: a pytest worker holds the whole
# suite (600,000 objects and more, as Textual apps and SQLAlchemy engines come and go), and
# with the default thresholds (700, 10, 10) its full collections took a quarter of the TUI
# tests' CPU time. Ten times fewer young collections, hence full ones, cost a few MB.
# (tests/tui/test_app.py's idle-collector test puts the defaults back while it runs.)
gc.set_threshold(10_000, 10, 10)


@pytest.fixture(autouse=True)
def _isolate_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the real home folder or a user's SCREENER_DB."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("SCREENER_DB", raising=False)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a pytest-xdist worker, collect the session's garbage now and freeze what is left.

    Once a worker reports it has finished (after this hook), the controller ends it and
    execnet sends it SIGINT if it is still busy 5 s later. pytest's last step is five full
    garbage collections (to report unraisable exceptions); over the heap a worker builds in
    the whole suite they took longer than that, so the SIGINT landed in Hypothesis's gc
    callback and every run ended with two "PytestUnraisableExceptionWarning: Exception
    ignored in: <function gc_cumulative_time.<locals>.gc_callback> ... KeyboardInterrupt".
    The same five collections run here, before the worker reports (their unraisable
    exceptions are reported as before); gc.freeze then leaves pytest's passes nothing old
    to scan."""
    import gc

    if hasattr(session.config, "workerinput"):
        for _ in range(5):
            gc.collect()
        gc.freeze()


def pg_admin_url() -> str:
    url = os.environ.get("SCREENER_TEST_PG_URL", "")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but SCREENER_TEST_PG_URL is not set: the PostgreSQL "
                        "test server did not start")
        pytest.skip("no PostgreSQL test server (SCREENER_TEST_PG_URL); runs in CI")
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    import psycopg

    admin = pg_admin_url()
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class StoppableServer:
    """A throwaway PostgreSQL server of one test's own, which it may stop (SIGSTOP) as a
    server that hangs while its machine still answers, and let go on (SIGCONT)."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.stopped: list[int] = []

    def stop(self) -> None:
        """Stop the server and every process of it (the backends serving connections)."""
        import signal

        postmaster = int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                                  text=True, check=False).stdout.split()
        self.stopped = [postmaster, *map(int, children)]
        for pid in self.stopped:
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        import signal

        for pid in self.stopped:
            os.kill(pid, signal.SIGCONT)
        self.stopped = []


@pytest.fixture
def stoppable_pg(monkeypatch: pytest.MonkeyPatch) -> Iterator[StoppableServer]:
    """A PostgreSQL server started for this test (scripts/pg.sh; never the shared test
    server, which other tests use meanwhile), with screener's waits for it set to 2 s."""
    pg_admin_url()  # (skipped where there is no PostgreSQL to test with)
    script = str(REPO / "scripts" / "pg.sh")
    started = subprocess.run(["bash", script, "start"], capture_output=True, text=True,
                             check=True).stdout
    values = dict(line.removeprefix("export ").split("=", 1)
                  for line in started.splitlines() if line.startswith("export "))
    monkeypatch.setenv("SCREENER_PG_ANSWER_TIMEOUT", "2")
    monkeypatch.setenv("SCREENER_PG_CONNECT_TIMEOUT", "2")
    server = StoppableServer(values["SCREENER_TEST_PG_URL"], Path(values["SCREENER_PG_DIR"]))
    try:
        yield server
    finally:
        server.resume()
        subprocess.run(["bash", script, "stop", str(server.folder)], check=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str | None:
    """None for SQLite (the review folder holds review.db), or a fresh PostgreSQL URL."""
    if backend == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def make_review(tmp_path: Path, db_url: str | None) -> Iterator[Callable[..., object]]:
    """Create a review (on the parametrised backend) from a protocol in protocols/."""
    from screener.workflow.review import Review, create_review

    opened: list[Review] = []

    def factory(protocol: str = "minimal.yaml", folder: str = "review") -> Review:
        review = create_review(tmp_path / folder, PROTOCOLS / protocol, db_url)
        opened.append(review)
        return review

    yield factory
    for review in opened:
        review.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Set this machine's clock `minutes` off the real time (negative: behind), as
    screener reads it to stamp rows and to expire holds: `clock(-10)` then acts as a
    team member whose computer runs 10 minutes slow; `clock(0)` as one set right."""
    import datetime as dt

    from screener.storage import models, repo
    from screener.workflow import team

    shift = [dt.timedelta()]

    class Skewed(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return dt.datetime.now(tz) + shift[0]

    for module in (models, repo, team):
        monkeypatch.setattr(module, "datetime", Skewed)

    def set_to(minutes: float) -> None:
        shift[0] = dt.timedelta(minutes=minutes)

    return set_to


@pytest.fixture
def amend_to_single(tmp_path: Path) -> Callable[..., None]:
    """Amend a review's protocol (in its folder) to single, unblinded screening."""
    import yaml

    from screener.workflow.review import Review, amend_protocol

    def amend(review: Review, reason: str) -> None:
        assert review.folder is not None
        data = yaml.safe_load((review.folder / "protocol.yaml").read_text(encoding="utf-8"))
        data["screening"] = {"mode": "single", "reviewers_per_record": 1, "blind": False}
        single = tmp_path / "single.yaml"
        single.write_text(yaml.safe_dump(data), encoding="utf-8")
        amend_protocol(review, single, reason)

    return amend


@pytest.fixture
def full_text_conflict() -> Callable[..., None]:
    """Put a record of a dual review in conflict at full text: ann and bob include it at
    title/abstract, the adjudicator's listing opens full text, then ann includes the
    report and bob excludes it."""
    from screener.core.decisions import Label, Stage
    from screener.workflow.review import Review
    from screener.workflow.screening import record_decision
    from screener.workflow.team import list_conflicts

    def conflict(review: Review, record_id: int, adjudicator: str = "Adjudicator") -> None:
        record_decision(review, record_id, "ann", Label.INCLUDE)
        record_decision(review, record_id, "bob", Label.INCLUDE)
        list_conflicts(review, Stage.TITLE_ABSTRACT, adjudicator)
        record_decision(review, record_id, "ann", Label.INCLUDE, stage=Stage.FULL_TEXT)
        record_decision(review, record_id, "bob", Label.EXCLUDE, stage=Stage.FULL_TEXT,
                        reason_id="design")

    return conflict


@pytest.fixture
def history_batch() -> Callable[[int, int], bytes]:
    """efetch's answer from the history server for `(retstart, retmax)` of the recorded
    search (tests/data/entrez, Count 1,234): the recorded batch's real articles, then
    copies of its last one under made-up PMIDs, as many as PubMed would send."""
    import re

    count = 1234

    def batch(retstart: int, retmax: int) -> bytes:
        text = (DATA / "entrez" / f"efetch_history_batch{retstart // 500 % 3 + 1}.xml"
                ).read_text(encoding="utf-8")
        articles = re.findall(r"<PubmedArticle>.*?</PubmedArticle>", text, re.S)
        template = re.sub(r'<ArticleId IdType="doi">[^<]*</ArticleId>', "", articles[-1])
        want = max(min(retmax, count - retstart), 0)
        extra = [re.sub(r'(<PMID Version="1">|<ArticleId IdType="pubmed">)\d+',
                        rf"\g<1>{90_000_000 + retstart + i}", template)
                 for i in range(len(articles), want)]
        end = text.rindex("</PubmedArticleSet>")
        return (text[:end] + "\n".join(extra) + text[end:]).encode("utf-8")

    return batch


class Tmux:
    """A private tmux server (its own socket) holding one session, "main", for a test that
    drives the real terminal UI: start a command, send keys, read the pane."""

    def __init__(self) -> None:
        self.socket = f"screener-test-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=False)

    def start(self, command: str, width: int, height: int) -> None:
        started = self.run("new-session", "-d", "-s", "main", "-x", str(width), "-y",
                           str(height), command)
        assert started.returncode == 0, started.stderr

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "main", *keys)

    def pane(self) -> str:
        return self.run("capture-pane", "-p", "-t", "main").stdout

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 60,
                 interval: float = 0.1) -> str:
        """The pane once `check` accepts it; fails with the pane after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        pane = ""
        while time.monotonic() < deadline:
            pane = self.pane()
            if check(pane):
                return pane
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what}; the pane shows:\n{pane}")

    def kill(self) -> None:
        self.run("kill-server")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    """A `Tmux`, killed after the test. Skipped when tmux is missing, unless CI=true (CI
    installs it), where that fails."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but tmux is not installed")
        pytest.skip("tmux is not installed")
    server = Tmux()
    try:
        yield server
    finally:
        server.kill()
