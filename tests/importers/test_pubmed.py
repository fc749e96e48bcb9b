"""PubMed search/fetch (`screener.importers.pubmed`) against recorded E-utilities answers.

No network: an autouse guard fails any test that tries to open a socket. Most tests pass a
fake transport (utility + parameters in, recorded bytes out) and a fake clock; two go through
the real Bio.Entrez request building with `Bio.Entrez.urlopen` patched.
Recorded answers live in tests/data/entrez (see SOURCES.md there).
"""

from __future__ import annotations

import email.message
import io
import socket
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlparse
from urllib.request import Request

import pytest
from Bio import Entrez

from screener.core.records import Record
from screener.importers import pubmed
from screener.importers.pubmed import (
    PubMedError,
    PubMedUnavailable,
    RateLimiter,
    SearchResult,
    fetch_pmids,
    search_pubmed,
)
from tests.conftest import UNREADABLE_ESEARCH

DATA = Path(__file__).resolve().parents[1] / "data" / "entrez"
EMAIL = "reviewer@example.org"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch,
                history_batch: Callable[[int, int], bytes]) -> None:
    """Fail loudly if anything tries to open a real connection."""
    monkeypatch.setattr(FakeEutils, "history_batch", staticmethod(history_batch),
                        raising=False)

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail(f"a test tried to open a network connection: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_network_guard_is_active() -> None:
    with pytest.raises(pytest.fail.Exception):
        socket.create_connection(("eutils.ncbi.nlm.nih.gov", 443))


# --------------------------------------------------------------------------- fakes


class FakeClock:
    """A clock that only moves when somebody sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeEutils:
    """Answers esearch/efetch from recorded files; records every request and its time."""

    history_batch: Callable[[int, int], bytes]
    """The `history_batch` fixture (set for every test)."""

    def __init__(self, clock: FakeClock, failures: list[int] | None = None) -> None:
        self.clock = clock
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.failures = list(failures or [])
        self.efetch_batches = 0

    def __call__(self, utility: str, params: Mapping[str, Any]) -> bytes:
        self.calls.append((utility, dict(params), self.clock.now))
        if self.failures:
            code = self.failures.pop(0)
            raise HTTPError("https://eutils.ncbi.nlm.nih.gov/", code, f"status {code}",
                            email.message.Message(), io.BytesIO(b""))
        if utility == "esearch":
            return (DATA / "esearch_history.xml").read_bytes()
        if "id" in params:
            return (DATA / "efetch_ids.xml").read_bytes()
        self.efetch_batches += 1
        return FakeEutils.history_batch(int(params["retstart"]), int(params["retmax"]))

    def of(self, utility: str) -> list[dict[str, Any]]:
        return [params for name, params, _ in self.calls if name == utility]


def spoiled(eutils: FakeEutils, utility: str, times: int,
            spoil: Callable[[bytes], bytes]) -> tuple[Callable[[str, Mapping[str, Any]], bytes],
                                                      dict[str, int]]:
    """A transport answering as `eutils` does, except that its next `times` answers to
    `utility` are spoiled (cut short, replaced): the transport, and {"left": answers still
    to spoil} to change that."""
    left = {"left": times}

    def transport(name: str, params: Mapping[str, Any]) -> bytes:
        body = eutils(name, params)
        if name == utility and left["left"]:
            left["left"] -= 1
            return spoil(body)
        return body

    return transport, left


def run_search(clock: FakeClock, eutils: FakeEutils, **kwargs: Any) -> SearchResult:
    api_key = kwargs.pop("api_key", None)
    limiter = kwargs.pop("limiter", None) or RateLimiter.for_ncbi(
        api_key, clock=clock, sleep=clock.sleep)
    return search_pubmed(
        "odontogenic keratocyst", email=EMAIL, api_key=api_key, transport=eutils,
        limiter=limiter, sleep=clock.sleep, **kwargs,
    )


def max_calls_in_window(times: list[float], window: float = 1.0) -> int:
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


# --------------------------------------------------------------------------- search


def test_search_uses_history_server_and_batches_of_500() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock)
    progress: list[tuple[int, int]] = []
    result = run_search(clock, eutils, progress=lambda done, total: progress.append((done, total)))

    (search,) = eutils.of("esearch")
    assert search["db"] == "pubmed"
    assert search["term"] == "odontogenic keratocyst"
    assert search["usehistory"] == "y"
    assert search["retmax"] == 0
    fetches = eutils.of("efetch")
    assert len(fetches) == 3  # count 1,234 -> 500 + 500 + 234
    assert [f["retstart"] for f in fetches] == [0, 500, 1000]
    assert [f["retmax"] for f in fetches] == [500, 500, 234]
    assert all(f["retmax"] <= 500 for f in fetches)
    for f in fetches:
        assert f["WebEnv"] == "MCID_6745f3a2b1c0d9e8f7a6b5c4"
        assert f["query_key"] == "1"
        assert f["retmode"] == "xml"
        assert f["db"] == "pubmed"
        assert "id" not in f and "term" not in f
    for _, params, _ in eutils.calls:  # identity sent with every request
        assert params["email"] == EMAIL
        assert params["tool"] == "screener"
        assert "api_key" not in params

    assert result.query == "odontogenic keratocyst"
    assert result.count == 1234
    assert result.query_translation == '"odontogenic keratocyst"[All Fields]'
    assert len(result.searched_at) == 10 and result.searched_at[4] == "-"
    pmids = [r.pmid for r in result.records]
    assert len(pmids) == len(set(pmids)) == 1234
    assert [pmids[i] for i in (0, 3, 500, 1000)] == ["31690499", "24709432", "17950424",
                                                     "11936454"]  # each batch's real ones
    assert progress == [(500, 1234), (1000, 1234), (1234, 1234)]


def test_max_records_limits_the_batches() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock)
    result = run_search(clock, eutils, max_records=600)
    assert [(f["retstart"], f["retmax"]) for f in eutils.of("efetch")] == [(0, 500), (500, 100)]
    assert result.count == 1234


def test_max_records_zero_only_counts() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock)
    result = run_search(clock, eutils, max_records=0)
    assert result.count == 1234 and result.records == []
    assert eutils.of("efetch") == []


def test_search_beyond_history_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pubmed, "HISTORY_LIMIT", 1000)
    clock = FakeClock()
    eutils = FakeEutils(clock)
    with pytest.raises(PubMedError, match="split the query"):
        run_search(clock, eutils)
    assert eutils.of("efetch") == []


def test_api_key_is_sent_with_every_request() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock)
    run_search(clock, eutils, api_key="k3y")
    assert all(params["api_key"] == "k3y" for _, params, _ in eutils.calls)


def test_email_is_required() -> None:
    with pytest.raises(ValueError, match="email"):
        search_pubmed("x", email="", transport=FakeEutils(FakeClock()))


# --------------------------------------------------------------------------- rate limit


@pytest.mark.parametrize(("api_key", "limit"), [(None, 3), ("k3y", 10)])
def test_rate_limit_in_any_one_second_window(api_key: str | None, limit: int) -> None:
    clock = FakeClock()
    limiter = RateLimiter.for_ncbi(api_key, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(35):
        limiter.wait()
        times.append(clock.now)
    assert max_calls_in_window(times) == limit
    # ...and it does not wait longer than needed: 35 calls take about 35/limit seconds.
    assert times[-1] == pytest.approx((35 - 1) // limit, abs=1e-9)


def test_search_requests_respect_the_rate_limit() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock)
    limiter = RateLimiter.for_ncbi(None, clock=clock, sleep=clock.sleep)
    run_search(clock, eutils, limiter=limiter)
    run_search(clock, eutils, limiter=limiter)  # 8 requests in all
    times = [t for _, _, t in eutils.calls]
    assert len(times) == 8
    assert max_calls_in_window(times) <= 3


def test_rate_limit_with_key_allows_ten_per_second() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock)
    limiter = RateLimiter.for_ncbi("k3y", clock=clock, sleep=clock.sleep)
    for _ in range(3):
        run_search(clock, eutils, api_key="k3y", limiter=limiter)  # 12 requests
    times = [t for _, _, t in eutils.calls]
    assert max_calls_in_window(times) == 10


def test_default_limiter_is_shared_between_calls() -> None:
    """NCBI counts per key or address, so separate searches must share one window."""
    assert pubmed.shared_limiter(None) is pubmed.shared_limiter(None)
    assert pubmed.shared_limiter(None).max_calls == 3
    assert pubmed.shared_limiter("k3y").max_calls == 10


def test_rate_limiter_with_a_slow_server_does_not_sleep() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.wait()
        clock.now += 0.5  # each request takes half a second
    assert clock.sleeps == []


# --------------------------------------------------------------------------- retries


def test_retries_on_429_and_503_then_succeeds() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock, failures=[429, 503])
    result = run_search(clock, eutils)
    assert result.count == 1234
    searches = eutils.of("esearch")
    assert len(searches) == 3  # two failures, then the answer
    assert clock.sleeps[:2] == [1.0, 2.0]  # exponential backoff


def test_retry_after_header_is_honoured() -> None:
    clock = FakeClock()
    headers = email.message.Message()
    headers["Retry-After"] = "7"
    calls: list[str] = []

    def transport(utility: str, params: Mapping[str, Any]) -> bytes:
        calls.append(utility)
        if len(calls) == 1:
            raise HTTPError("u", 429, "Too Many Requests", headers, io.BytesIO(b""))
        return (DATA / "efetch_ids.xml").read_bytes()

    records = fetch_pmids(["29768149"], email=EMAIL, transport=transport,
                          limiter=RateLimiter(3, clock=clock, sleep=clock.sleep),
                          sleep=clock.sleep)
    assert clock.sleeps == [7.0]
    assert [r.pmid for r in records] == ["29768149"]


def test_persistent_500_raises_pubmed_error_after_five_tries() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock, failures=[500] * 10)
    with pytest.raises(PubMedError, match=r"failed 5 times; last error: HTTP 500"):
        run_search(clock, eutils)
    assert len(eutils.calls) == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_a_network_that_stays_down_is_named_as_the_cause() -> None:
    clock = FakeClock()

    def transport(utility: str, params: Mapping[str, Any]) -> bytes:
        raise URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(PubMedError, match=r"failed 5 times; last error: network error.*"
                                          r"can reach eutils\.ncbi\.nlm\.nih\.gov") as caught:
        fetch_pmids(["29768149"], email=EMAIL, transport=transport,
                    limiter=RateLimiter(3, clock=clock, sleep=clock.sleep), sleep=clock.sleep)
    assert "busy" not in str(caught.value)


def test_each_retry_is_announced_before_the_wait() -> None:
    """With no network, search and import-ids sat silent for 16 s of retries; a notice now
    says what failed and when the next try comes."""
    clock = FakeClock()
    notices: list[str] = []

    def transport(utility: str, params: Mapping[str, Any]) -> bytes:
        raise URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(PubMedError, match="failed 5 times"):
        fetch_pmids(["29768149"], email=EMAIL, transport=transport,
                    limiter=RateLimiter(3, clock=clock, sleep=clock.sleep), sleep=clock.sleep,
                    notice=notices.append)
    assert len(notices) == 4 == len(clock.sleeps)
    assert notices[0] == ("PubMed efetch: network error ([Errno -3] Temporary failure in "
                          "name resolution); trying again in 1 s (try 2 of 5)")
    assert notices[-1].endswith("trying again in 8 s (try 5 of 5)")


def test_network_errors_are_retried() -> None:
    clock = FakeClock()
    outcomes: list[Exception | None] = [URLError("connection reset"), TimeoutError(), None]

    def transport(utility: str, params: Mapping[str, Any]) -> bytes:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return (DATA / "efetch_ids.xml").read_bytes()

    records = fetch_pmids(["29768149"], email=EMAIL, transport=transport,
                          limiter=RateLimiter(3, clock=clock, sleep=clock.sleep),
                          sleep=clock.sleep)
    assert [r.pmid for r in records] == ["29768149"]
    assert clock.sleeps == [1.0, 2.0]


def test_an_empty_efetch_answer_is_an_error() -> None:
    clock = FakeClock()

    def transport(utility: str, params: Mapping[str, Any]) -> bytes:
        if utility == "esearch":
            return (DATA / "esearch_history.xml").read_bytes()
        return b'<?xml version="1.0" ?>\n<eFetchResult><ERROR>Empty result</ERROR></eFetchResult>'

    with pytest.raises(PubMedError, match="records 1–500 of the search with no articles "
                       r"\(PubMed said: Empty result\)"):
        search_pubmed("x", email=EMAIL, transport=transport,
                      limiter=RateLimiter(3, clock=clock, sleep=clock.sleep), sleep=clock.sleep)


def test_a_short_efetch_batch_is_retried_then_refused_with_the_records_missing() -> None:
    """efetch answering 300 of the 500 records asked for in batch 2 imported 1,034 of the
    search's 1,234 with exit 0 (a tester's run): the batch is tried again like an empty
    one, and when it stays short the search fails, naming the records not returned."""
    clock = FakeClock()
    eutils = FakeEutils(clock)
    answers = {"short": 0}

    def transport(utility: str, params: Mapping[str, Any]) -> bytes:
        body = eutils(utility, params)
        if utility == "efetch" and params["retstart"] == 500:
            answers["short"] += 1
            if answers["short"] < 3:  # short twice, then whole
                head, *articles = body.split(b"<PubmedArticle>")
                return b"<PubmedArticle>".join([head, *articles[:300]]) + (
                    b"</PubmedArticleSet>\n" if len(articles) > 300 else b"")
        return body

    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    result = search_pubmed("x", email=EMAIL, transport=transport, limiter=limiter,
                           sleep=clock.sleep)
    assert len(result.records) == 1234 and answers["short"] == 3
    answers["short"] = -100   # short every time
    # one dash throughout the message (it read 'records 501-1000 ... records 801–1000')
    with pytest.raises(PubMedError, match="records 501–1000 of the search with only 300 of "
                       "the 500 records, 5 times: records 801–1000 of the search were not "
                       "returned"):
        search_pubmed("x", email=EMAIL, transport=transport, limiter=limiter,
                      sleep=clock.sleep)




@pytest.mark.parametrize("answer", UNREADABLE_ESEARCH,
                         ids=["HTML page", "unexpected shape", "no count"])
def test_an_unreadable_esearch_answer_is_asked_for_again(answer: bytes) -> None:
    """An esearch answer that could not be read (an HTML error page, XML of another kind,
    no Count or WebEnv) failed the search at once, while an unreadable efetch answer is
    tried 5 times: a proxy's passing error page ended a search that a second try would have
    run. esearch is now asked again with the same backoff, each retry announced; a query
    PubMed rejects is still not."""
    clock = FakeClock()
    eutils = FakeEutils(clock)
    flaky, bad = spoiled(eutils, "esearch", 2, lambda body: answer)

    notices: list[str] = []
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    result = search_pubmed("x", email=EMAIL, transport=flaky, limiter=limiter,
                           sleep=clock.sleep, max_records=10, notice=notices.append)
    assert len(result.records) == 10 and len(eutils.of("esearch")) == 3
    assert [n.split("; trying again")[1] for n in notices] == [" in 1 s (try 2 of 5)",
                                                               " in 2 s (try 3 of 5)"]
    assert all(n.startswith("PubMed esearch answer ") for n in notices), notices

    bad["left"] = 99
    with pytest.raises(PubMedUnavailable, match=r"\(5 tries\)\. Run the search again later"):
        search_pubmed("x", email=EMAIL, transport=flaky, limiter=limiter, sleep=clock.sleep)
    assert len(eutils.of("esearch")) == 3 + 5

    rejected: list[str] = []

    def rejecting(utility: str, params: Mapping[str, Any]) -> bytes:
        rejected.append(utility)
        return (b'<?xml version="1.0" ?>\n<eSearchResult><ERROR>Invalid query syntax'
                b'</ERROR></eSearchResult>')

    with pytest.raises(PubMedError, match="PubMed rejected the query"):
        search_pubmed("x AND (", email=EMAIL, transport=rejecting, limiter=limiter,
                      sleep=clock.sleep)
    assert rejected == ["esearch"]


def test_pubmed_answers_are_explained_in_their_own_terms() -> None:
    """A truncated efetch answer said "the file may be truncated or damaged; export it
    again" and was not retried; esearch's <ERROR> said the answer "could not be read";
    HTTP 400 said nothing of why (a tester's runs)."""
    clock = FakeClock()
    eutils = FakeEutils(clock)
    truncating, _ = spoiled(eutils, "efetch", 1, lambda body: body[: len(body) // 2])

    notices: list[str] = []
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    result = search_pubmed("x", email=EMAIL, transport=truncating, limiter=limiter,
                           sleep=clock.sleep, max_records=10, notice=notices.append)
    assert len(result.records) == 10
    (notice,) = notices
    assert "could not be read" in notice and "export it again" not in notice

    def rejecting(utility: str, params: Mapping[str, Any]) -> bytes:
        return (b'<?xml version="1.0" ?>\n<eSearchResult><ERROR>Invalid query syntax'
                b'</ERROR></eSearchResult>')

    with pytest.raises(PubMedError, match="PubMed rejected the query: Invalid query syntax"):
        search_pubmed("x AND (", email=EMAIL, transport=rejecting, limiter=limiter)

    def bad_request(utility: str, params: Mapping[str, Any]) -> bytes:
        raise HTTPError("https://eutils.ncbi.nlm.nih.gov/", 400, "Bad Request",
                        email.message.Message(), io.BytesIO(b'{"error":"API key invalid"}'))

    with pytest.raises(PubMedError, match=r'NCBI said: \{"error":"API key invalid"\}\): '
                       "check --api-key"):
        search_pubmed("x", email=EMAIL, transport=bad_request, limiter=limiter)


def test_client_errors_are_not_retried() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock, failures=[400])
    with pytest.raises(PubMedError, match="HTTP 400"):
        run_search(clock, eutils)
    assert len(eutils.calls) == 1


# --------------------------------------------------------------------------- records


def test_one_article_field_by_field() -> None:
    clock = FakeClock()
    result = run_search(clock, FakeEutils(clock), max_records=4)
    record = result.records[2]
    expected = Record(
        title="Keratocystic odontogenic tumor arising at the mandibular ramus with an "
        "impacted tooth: a case report and mimic lesions.",
        abstract=(
            "OBJECTIVES: To consider the biologic behaviors of keratocystic odontogenic "
            "tumors (KCOTs) and ameloblastomas and dentigerous cysts.\n\n"
            "METHODS: A 63-year-old Japanese man presented with swelling and discomfort in "
            "the left cheek during jaw movement. Examination revealed a multilocular lesion "
            "within the mandible extending from the left second premolar to the left "
            "mandibular ramus and coronoid process; the lesion contained a deviated impacted "
            "tooth. The tumor had expanded beyond the bone and was invading the masseter and "
            "medial pterygoid muscles. Marginal mandibulectomy with a free iliac bone graft "
            "was performed.\n\n"
            "RESULTS: No recurrence was observed during a 7-year follow-up.\n\n"
            "DISCUSSION: The histopathological diagnosis of the lesion showed it was a KCOT. "
            "These tumors usually grow within the bone, causing bone expansion. However, this "
            "tumor had expanded beyond the bone and invaded surrounding muscles. Thus, KCOTs "
            "can, in rare cases, manifest themselves as described here. Evaluating "
            "preoperative images and histopathological findings is important to determine "
            "the optimal treatment strategy."
        ),
        authors=("Kimura, Takashi", "Ohba, Seigo", "Yoshimura, Hitoshi", "Fujita, Shuichi",
                 "Imamura, Yoshiaki", "Kitagawa, Yoshimasa", "Sano, Kazuo"),
        year=2016,
        journal="Cranio : the journal of craniomandibular practice",
        volume="34",
        issue="1",
        pages="58-63",
        doi="10.1179/2151090314y.0000000035",
        pmid="25371100",
        publication_types=("Case Reports", "Journal Article"),
        keywords=("Ameloblastoma", "Dentigerous cyst", "Impacted tooth",
                  "Keratocystic odontogenic tumor", "Mandibular ramus"),
        mesh_terms=(
            "Adipose Tissue", "Ameloblastoma", "Asian Continental Ancestry Group", "Bicuspid",
            "Bone Transplantation", "Cheek", "Dentigerous Cyst", "Follow-Up Studies", "Humans",
            "Magnetic Resonance Imaging", "Male", "Mandible", "Mandibular Neoplasms",
            "Mandibular Osteotomy", "Masseter Muscle", "Middle Aged", "Odontogenic Cysts",
            "Odontogenic Tumors", "Pterygoid Muscles", "Tomography, X-Ray Computed",
            "Tooth, Impacted",
        ),
        language="English",
    )
    for name in Record.__slots__:
        if name != "raw":
            assert getattr(record, name) == getattr(expected, name), name
    assert record.raw["MedlineCitation"]["PMID"]  # the source's fields are kept for audit
    assert record.citation == "Cranio : the journal of craniomandibular practice. 2016;34(1):58-63."


def test_medline_date_gives_the_year() -> None:
    clock = FakeClock()
    result = run_search(clock, FakeEutils(clock), max_records=4)
    article = result.records[3]  # PubDate is <MedlineDate>2014 Jan-Apr</MedlineDate>
    assert (article.pmid, article.year, article.volume, article.issue) == (
        "24709432", 2014, "81", "1")
    assert article.doi == ""


# --------------------------------------------------------------------------- fetch by id


def test_fetch_pmids_by_id_list_in_requested_order() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock)
    records = fetch_pmids(["11748933", "PMID: 29768149", "11748933"], email=EMAIL,
                          transport=eutils,
                          limiter=RateLimiter(3, clock=clock, sleep=clock.sleep))
    (fetch,) = eutils.of("efetch")
    assert fetch["id"] == "11748933,29768149"
    assert fetch["db"] == "pubmed" and fetch["retmode"] == "xml"
    assert eutils.of("esearch") == []
    assert [r.pmid for r in records] == ["11748933", "29768149"]
    assert records[1].doi == "10.1056/nejmoa1715274"
    assert records[1].abstract.startswith("BACKGROUND: In patients with mild asthma")


def test_fetch_pmids_batches_of_at_most_500() -> None:
    clock = FakeClock()
    eutils = FakeEutils(clock)
    ids = [str(10_000_000 + k) for k in range(1234)]
    fetch_pmids(ids, email=EMAIL, transport=eutils,
                limiter=RateLimiter(3, clock=clock, sleep=clock.sleep))
    sizes = [len(f["id"].split(",")) for f in eutils.of("efetch")]
    assert sizes == [500, 500, 234]
    assert max_calls_in_window([t for _, _, t in eutils.calls]) <= 3


def test_fetch_pmids_rejects_non_ids() -> None:
    with pytest.raises(ValueError, match="not a PubMed id"):
        fetch_pmids(["doi:10.1/x"], email=EMAIL, transport=FakeEutils(FakeClock()))


# --------------------------------------------------------------------------- through Bio.Entrez


class FakeResponse(io.BytesIO):
    def __init__(self, body: bytes, url: str) -> None:
        super().__init__(body)
        self.url = url
        self.headers = email.message.Message()
        self.headers["Content-Type"] = "text/xml; charset=UTF-8"


class Urlopen:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.failures: list[int] = []


@pytest.fixture
def entrez_urlopen(monkeypatch: pytest.MonkeyPatch) -> Iterator[Urlopen]:
    """Patch Bio.Entrez at the urlopen level; Bio's own pause between calls is skipped."""
    fake = Urlopen()
    requests, failures = fake.requests, fake.failures

    def urlopen(request: Request) -> FakeResponse:
        requests.append(request)
        if failures:
            code = failures.pop(0)
            raise HTTPError(request.full_url, code, "Service Unavailable",
                            email.message.Message(), io.BytesIO(b""))
        url = request.full_url
        query = parse_qs(request.data.decode() if request.data else urlparse(url).query)
        if "esearch.fcgi" in url:
            body = (DATA / "esearch_history.xml").read_bytes()
        elif "id" in query:
            body = (DATA / "efetch_ids.xml").read_bytes()
        else:
            body = FakeEutils.history_batch(int(query["retstart"][0]),
                                            int(query["retmax"][0]))
        return FakeResponse(body, url)

    monkeypatch.setattr(Entrez, "urlopen", urlopen)
    monkeypatch.setattr(Entrez, "time", types.SimpleNamespace(time=lambda: 0.0,
                                                              sleep=lambda s: None))
    monkeypatch.setattr(Entrez, "email", None)
    monkeypatch.setattr(Entrez, "api_key", None)
    yield fake


def _query(request: Request) -> dict[str, list[str]]:
    if request.data:
        return parse_qs(request.data.decode())
    return parse_qs(urlparse(request.full_url).query)


def test_through_bio_entrez_requests(entrez_urlopen: Urlopen) -> None:
    clock = FakeClock()
    result = search_pubmed("odontogenic keratocyst", email=EMAIL, api_key="k3y",
                           limiter=RateLimiter(10, clock=clock, sleep=clock.sleep))
    assert result.count == len(result.records) == 1234
    sent = entrez_urlopen.requests
    first = _query(sent[0])
    assert "esearch.fcgi" in sent[0].full_url
    assert first["usehistory"] == ["y"] and first["term"] == ["odontogenic keratocyst"]
    assert first["email"] == [EMAIL] and first["tool"] == ["screener"]
    assert first["api_key"] == ["k3y"]
    fetches = [_query(r) for r in sent[1:]]
    assert [f["retstart"] for f in fetches] == [["0"], ["500"], ["1000"]]
    assert all(f["WebEnv"] == ["MCID_6745f3a2b1c0d9e8f7a6b5c4"] for f in fetches)
    assert all(f["query_key"] == ["1"] for f in fetches)
    assert Entrez.email is None and Entrez.api_key is None  # no global state left behind


def test_through_bio_entrez_retries_are_ours(entrez_urlopen: Urlopen) -> None:
    clock = FakeClock()
    entrez_urlopen.failures.extend([503, 503])
    records = fetch_pmids(["29768149", "11748933"], email=EMAIL,
                          limiter=RateLimiter(3, clock=clock, sleep=clock.sleep),
                          sleep=clock.sleep)
    assert [r.pmid for r in records] == ["29768149", "11748933"]
    assert len(entrez_urlopen.requests) == 3  # Bio.Entrez does not retry on its own as well
    assert clock.sleeps[-2:] == [1.0, 2.0]
    assert Entrez.max_tries == 3  # restored


def ran_with(extra: bytes) -> Callable[[str, Mapping[str, Any]], bytes]:
    """A transport answering as `FakeEutils` does, but with `extra` (PubMed's <ERROR>,
    <ErrorList>, <WarningList>) in the esearch answer, which still holds the count and the
    history keys: PubMed ran the query and said something about it."""
    eutils = FakeEutils(FakeClock())

    def transport(name: str, params: Mapping[str, Any]) -> bytes:
        body = eutils(name, params)
        if name == "esearch":
            if extra.startswith(b"<ERROR>"):  # (where the DTD has it: before the lists)
                return body.replace(b"<Count>", extra + b"<Count>")
            return body.replace(b"</eSearchResult>", extra + b"</eSearchResult>")
        return body

    return transport


@pytest.mark.parametrize(("extra", "said"), [
    (b"<ERROR>Phrase not found: kerato cyst</ERROR>", "Phrase not found: kerato cyst"),
    (b"<ErrorList><PhraseNotFound>keratocystt</PhraseNotFound></ErrorList>",
     "phrase not found: keratocystt"),
    (b"<ErrorList><FieldNotFound>tiabb</FieldNotFound></ErrorList>", "field not found: tiabb"),
    (b"<WarningList><QuotedPhraseNotFound>\"jaw cyst x\"</QuotedPhraseNotFound>"
     b"<OutputMessage>Quoted phrase not found.</OutputMessage></WarningList>",
     'quoted phrase not found: "jaw cyst x"; Quoted phrase not found.'),
])
def test_a_query_pubmed_ran_with_a_warning_goes_on_and_says_it(extra: bytes, said: str) -> None:
    # an esearch answer with a count and PubMed's <ERROR> about one phrase was refused as a
    # rejected query (exit 2), and its ErrorList / WarningList (a phrase or field PubMed
    # did not find, and left out of the search) were passed over in silence: PubMed ran
    # the query, so the search goes on, and what PubMed said comes with the result
    clock = FakeClock()
    result = search_pubmed("odontogenic keratocyst", email=EMAIL, transport=ran_with(extra),
                           limiter=RateLimiter(3, clock=clock, sleep=clock.sleep),
                           sleep=clock.sleep, max_records=10)
    assert result.count == 1234 and len(result.records) == 10
    (warning,) = result.warnings
    assert said in warning and "PubMed ran the query" in warning


def test_a_warning_reads_as_one_sentence_and_gives_pubmeds_reading_only_when_it_sent_one(
        ) -> None:
    # PubMed's own message ends with a period ('Quoted phrase not found.'), which gave
    # '... not found.. Check'; an answer without a query translation (no results) ended
    # '(PubMed read it as: ?)'
    from screener.importers.pubmed import _warnings

    listed = {"WarningList": {"QuotedPhraseNotFound": ['"jaw cyst x"'],
                              "OutputMessage": ["Quoted phrase not found."]}}
    (without,) = _warnings({**listed, "Count": "0"})
    assert ('PubMed ran the query but said: quoted phrase not found: "jaw cyst x"; Quoted '
            "phrase not found. Check that the search is the one meant.") == without
    (read,) = _warnings({**listed, "QueryTranslation": '"jaw cyst"[All Fields]'})
    assert read.endswith('not found. Check that the search is the one meant (PubMed read '
                         'it as: "jaw cyst"[All Fields]).')


def test_a_kept_warning_reads_in_the_methods_text_as_what_pubmed_reported() -> None:
    # the report said "PubMed's warning: PubMed ran the query but said: ... Check that the
    # search is the one meant (...)": advice to the user, in a methods text
    from screener.importers.pubmed import _warnings, reported

    listed = {"ErrorList": {"PhraseNotFound": ["depresion"]},
              "WarningList": {"OutputMessage": ["No items found."]},
              "QueryTranslation": '"ketamine"[All Fields] AND ("a" OR "b")'}
    (kept,) = _warnings(listed)
    assert reported(kept) == ('PubMed reported: phrase not found: depresion; No items found; '
                              'it read the query as: "ketamine"[All Fields] AND ("a" OR "b")')
    (unread,) = _warnings({"ErrorList": listed["ErrorList"]})
    assert reported(unread) == "PubMed reported: phrase not found: depresion"
    # as versions before this one kept it (a doubled period, '?' for no reading)
    assert reported("PubMed ran the query but said: Quoted phrase not found.. Check that the "
                    "search is the one meant (PubMed read it as: ?)") == (
        "PubMed reported: Quoted phrase not found")


def test_an_error_without_the_history_keys_is_a_refused_query() -> None:
    # <ERROR> with a count but no WebEnv: nothing to fetch, PubMed did not run it as asked;
    # refused at once with PubMed's words (exit 2), not asked for again as unreadable
    asked: list[str] = []

    def refusing(utility: str, params: Mapping[str, Any]) -> bytes:
        asked.append(utility)
        return (b'<?xml version="1.0" ?>\n<eSearchResult><ERROR>Search Backend failed: '
                b'syntax error</ERROR><Count>0</Count></eSearchResult>')

    clock = FakeClock()
    with pytest.raises(PubMedError, match="PubMed rejected the query: Search Backend") as err:
        search_pubmed("x AND (", email=EMAIL, transport=refusing, sleep=clock.sleep,
                      limiter=RateLimiter(3, clock=clock, sleep=clock.sleep))
    assert not isinstance(err.value, PubMedUnavailable)
    assert asked == ["esearch"]
