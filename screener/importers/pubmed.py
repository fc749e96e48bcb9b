"""Search and fetch PubMed through NCBI E-utilities with Bio.Entrez.

Purpose: run a PubMed query (esearch with the history server, then efetch XML in batches of
at most 500 through WebEnv/query_key) or fetch given PMIDs (efetch by id list, batches of
at most 500), and map each article to a `Record` with the PubMed XML importer
(`screener.importers.pubmed_xml`, defusedxml). esearch answers are read with
`Bio.Entrez.read`. NCBI's usage rules are kept: at most 3 requests per second without an
API key and 10 with one (`RateLimiter`, with an injectable clock and sleep for tests), email
and tool sent with every request, HTTP 429 and 5xx, and answers that cannot be read (an HTML
error page, XML cut short or of another kind), retried with exponential backoff (at most
`MAX_TRIES` attempts) before a `PubMedError`.

The network goes through one `Transport` callable (E-utility name and parameters in, body
bytes out). The default, `entrez_transport`, calls `Bio.Entrez.esearch`/`efetch`, passing
email, api_key and tool with each call (rather than through Bio.Entrez's module globals,
which other threads may share) and turning Bio.Entrez's own retry loop off (we retry with
backoff instead). Tests pass a fake transport, or patch `Bio.Entrez.urlopen`.

Imports: standard library, `Bio.Entrez`, `screener.core` and sibling importer modules only.
Never import sqlalchemy, textual, click, sklearn or other screener layers from here.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any, Literal
from urllib.error import HTTPError, URLError

from Bio import Entrez

from screener.core.dates import searched_today
from screener.core.records import Record, normalise_pmid
from screener.importers import pubmed_xml
from screener.importers.errors import ImportFailed

__all__ = [
    "BATCH_SIZE",
    "MAX_TRIES",
    "PubMedError",
    "RateLimiter",
    "SearchResult",
    "Transport",
    "entrez_transport",
    "shared_limiter",
    "fetch_pmids",
    "search_pubmed",
]

Utility = Literal["esearch", "efetch"]
Transport = Callable[[Utility, Mapping[str, Any]], bytes]
"""`transport(utility, params) -> response body`; raises `urllib.error.HTTPError` on HTTP errors."""
Progress = Callable[[int, int], None]
"""Called as `progress(fetched, total)` after each efetch batch."""

BATCH_SIZE = 500
"""Records per efetch request (NCBI accepts more, but 500 keeps each answer small)."""
MAX_TRIES = 5
"""Attempts per request before giving up on HTTP 429 / 5xx / network errors."""
HISTORY_LIMIT = 10_000
"""PubMed serves only the first 10,000 records of a search through the history server."""
TOOL = "screener"
_ERROR_ELEMENT = re.compile(rb"<ERROR>([^<]{1,300})</ERROR>")
"""The error an E-utility sends in place of an answer."""
_PMID_INPUT = re.compile(r"\s*(?:PMID:?\s*)?\d{1,9}\s*", re.IGNORECASE)


class PubMedError(RuntimeError):
    """A PubMed request failed for good, or PubMed answered with something unusable."""


class PubMedUnavailable(PubMedError):
    """PubMed did not answer (network), stayed busy (HTTP 429/5xx) or kept sending part of
    the records, through `MAX_TRIES` tries: not the caller's input; try again later."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a PubMed search returned, with what is needed to report it (PRISMA-S)."""

    query: str
    """The query as submitted."""
    count: int
    """Total number of matching records, as reported by esearch."""
    records: list[Record] = field(default_factory=list)
    """Fetched records in PubMed's order (at most `max_records` of them)."""
    searched_at: str = ""
    """Date of the search: the searcher's local date, ISO format 'YYYY-MM-DD'."""
    query_translation: str = ""
    """PubMed's translation of the query (automatic term mapping), for the search report."""
    warnings: tuple[str, ...] = ()
    """What PubMed said about the query it ran (a phrase or field it did not find and left
    out, its <ERROR> beside a count), one sentence each: to show and keep with the search."""


# --------------------------------------------------------------------------- rate limit


class RateLimiter:
    """At most `max_calls` calls in any window of `period` seconds (sliding window).

    `clock` and `sleep` are injectable so tests can use a fake clock. Thread-safe.
    """

    def __init__(
        self,
        max_calls: int,
        period: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_calls < 1 or period <= 0:
            raise ValueError("max_calls must be >= 1 and period > 0")
        self.max_calls = max_calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    @classmethod
    def for_ncbi(
        cls,
        api_key: str | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RateLimiter:
        """NCBI's limits: 3 requests/s without an API key, 10 with one."""
        return cls(10 if api_key else 3, 1.0, clock=clock, sleep=sleep)

    def wait(self) -> None:
        """Block until one more call is allowed, then count it."""
        with self._lock:
            while True:
                now = self._clock()
                while self._calls and now - self._calls[0] >= self.period:
                    self._calls.popleft()
                if len(self._calls) < self.max_calls:
                    self._calls.append(now)
                    return
                self._sleep(self.period - (now - self._calls[0]))


# --------------------------------------------------------------------------- transport

_ENTREZ_LOCK = threading.Lock()


def entrez_transport(utility: Utility, params: Mapping[str, Any]) -> bytes:
    """Call `Bio.Entrez.<utility>(**params)` and return the body as bytes.

    Bio.Entrez's own retry loop is turned off for the call (`max_tries = 1`): retries and
    backoff are done by this module, so that 429/5xx are not retried without a pause.
    """
    function: Callable[..., Any] = Entrez.esearch if utility == "esearch" else Entrez.efetch
    with _ENTREZ_LOCK:
        saved = Entrez.max_tries
        Entrez.max_tries = 1
        try:
            handle = function(**params)
        finally:
            Entrez.max_tries = saved
    try:
        body = handle.read()
    finally:
        handle.close()
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


class _Client:
    """One caller's E-utilities session: identity, rate limit, retries."""

    def __init__(
        self,
        *,
        email: str,
        api_key: str | None,
        transport: Transport,
        limiter: RateLimiter,
        sleep: Callable[[float], None],
        backoff: float,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        if not email or "@" not in email:
            raise ValueError("NCBI asks for a contact email address with every request")
        self.identity: dict[str, str] = {"email": email, "tool": TOOL}
        if api_key:
            self.identity["api_key"] = api_key
        self.transport = transport
        self.limiter = limiter
        self.sleep = sleep
        self.backoff = backoff
        self.notice = notice

    def call(self, utility: Utility, **params: Any) -> bytes:
        """One E-utility request with NCBI's rate limit and retries on 429/5xx."""
        merged = {**params, **self.identity}
        last = ""
        network = False
        for attempt in range(MAX_TRIES):
            self.limiter.wait()
            try:
                return self.transport(utility, merged)
            except HTTPError as exc:
                if exc.code != 429 and exc.code < 500:
                    raise PubMedError(_refused(utility, exc)) from exc
                last, network = f"HTTP {exc.code} {exc.reason}", False
                delay = self._retry_after(exc) or self.backoff * 2**attempt
            except (URLError, OSError, HTTPException) as exc:  # DNS, reset, timeout, cut short
                reason = getattr(exc, "reason", None)
                last = f"network error ({reason if reason else repr(exc)})"
                network = True
                delay = self.backoff * 2**attempt
            if attempt < MAX_TRIES - 1:
                if self.notice is not None:
                    self.notice(f"PubMed {utility}: {last}; trying again in {delay:g} s (try "
                                f"{attempt + 2} of {MAX_TRIES})")
                self.sleep(delay)
        hint = ("Check that this machine can reach eutils.ncbi.nlm.nih.gov (network, proxy, "
                "DNS)" if network else
                "NCBI may be busy: try again later (an API key raises the rate limit)")
        raise PubMedUnavailable(f"PubMed {utility} failed {MAX_TRIES} times; last error: {last}. "
                          f"{hint}")

    @staticmethod
    def _retry_after(exc: HTTPError) -> float:
        value = exc.headers.get("Retry-After") if exc.headers is not None else None
        try:
            return min(float(value), 60.0) if value else 0.0
        except ValueError:
            return 0.0


def _refused(utility: Utility, exc: HTTPError) -> str:
    """A client error in words, with NCBI's own text when it sent one."""
    try:
        said = exc.read()[:300].decode("utf-8", "replace").strip() if exc.fp else ""
    except (OSError, ValueError):
        said = ""
    hint = (": check --api-key (NCBI refuses a key it does not know) and the query"
            if exc.code == 400 else "")
    return (f"PubMed {utility} was refused: HTTP {exc.code} {exc.reason}"
            + (f" (NCBI said: {said})" if said else "") + hint)


_SHARED_LIMITERS: dict[str | None, RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(api_key: str | None) -> RateLimiter:
    """The process-wide limiter for an API key (or for no key): NCBI counts requests per
    key or per address, not per call, so consecutive searches share one window."""
    with _SHARED_LOCK:
        if api_key not in _SHARED_LIMITERS:
            _SHARED_LIMITERS[api_key] = RateLimiter.for_ncbi(api_key)
        return _SHARED_LIMITERS[api_key]


def _client(
    email: str,
    api_key: str | None,
    transport: Transport | None,
    limiter: RateLimiter | None,
    sleep: Callable[[float], None] | None,
    backoff: float,
    notice: Callable[[str], None] | None = None,
) -> _Client:
    pause = sleep or time.sleep
    return _Client(
        email=email,
        api_key=api_key,
        transport=transport or entrez_transport,
        limiter=limiter or shared_limiter(api_key),
        sleep=pause,
        backoff=backoff,
        notice=notice,
    )


# --------------------------------------------------------------------------- parsing


def _read_esearch(body: bytes) -> dict[str, Any]:
    """An esearch answer's fields. <ERROR> without a count, or without a search kept on
    the history server to fetch from, is a query PubMed refused (`PubMedError`); beside
    both (PubMed ran the query, and says something of one phrase) it is kept under
    "ERROR" for `_warnings` (Bio.Entrez raises on any <ERROR>, so it is read without it)."""
    said = _ERROR_ELEMENT.search(body)
    error = said.group(1).decode("utf-8", "replace").strip() if said else ""
    if said and (b"<Count>" not in body or b"<WebEnv>" not in body):
        raise PubMedError(
            f"PubMed rejected the query: {error}. Check its syntax (quotes, brackets, field "
            "tags such as [tiab]); PubMed's Advanced Search shows how it reads a query")
    try:
        parsed = Entrez.read(  # type: ignore[no-untyped-call]
            io.BytesIO(_ERROR_ELEMENT.sub(b"", body) if said else body))
    except Exception as exc:  # Bio raises several parser-specific errors
        # (Bio's first sentence: the rest asks "the input" to be XML, which is PubMed's)
        raise _unreadable(f"could not be read ({str(exc).split('. ')[0]})", body) from exc
    if not isinstance(parsed, Mapping):
        raise _unreadable("had an unexpected shape", body)
    return {**parsed, "ERROR": error} if error else dict(parsed)


_SAID = {"PhraseNotFound": "phrase not found", "FieldNotFound": "field not found",
         "QuotedPhraseNotFound": "quoted phrase not found", "PhraseIgnored": "phrase ignored",
         "OutputMessage": ""}
"""The items of esearch's ErrorList and WarningList (eSearch DTD), in words."""


def _warnings(found: Mapping[str, Any]) -> tuple[str, ...]:
    """What an esearch answer that has a count and a search to fetch says about the query:
    its <ERROR> (PubMed sends one beside a count, about one phrase) and the items of its
    ErrorList and WarningList, as one sentence ("" parts left out), with how PubMed read
    the query when it says (an answer with no results may not)."""
    parts = [str(found["ERROR"]).strip()] if str(found.get("ERROR", "")).strip() else []
    for name in ("ErrorList", "WarningList"):
        listed = found.get(name)
        for key, words in _SAID.items():
            for item in (listed.get(key) or []) if isinstance(listed, Mapping) else []:
                if str(item).strip():
                    parts.append(f"{words}: {str(item).strip()}" if words
                                 else str(item).strip())
    if not parts:
        return ()
    read = str(found.get("QueryTranslation") or "").strip()
    return (f"{_RAN}{'; '.join(parts).rstrip('.')}{_CHECK}"
            f"{f'{_READ}{read})' if read else ''}.",)


_RAN = "PubMed ran the query but said: "
_CHECK = ". Check that the search is the one meant"
_READ = " (PubMed read it as: "


def reported(warning: str) -> str:
    """A warning `_warnings` wrote (kept in the import's event), in the words of a methods
    text: what PubMed reported and how it read the query, without the advice to the user
    ("PubMed reported: phrase not found: X; it read the query as: Y"). A reading of "?"
    (older versions, when PubMed gave none) is left out; text of another form is kept."""
    if not warning.startswith(_RAN) or _CHECK not in warning:
        return warning.strip().rstrip(".")
    said, _, rest = warning[len(_RAN):].partition(_CHECK)
    read = rest.rstrip(".").removeprefix(_READ).removesuffix(")").strip() \
        if rest.startswith(_READ) else ""
    return (f"PubMed reported: {said.rstrip('.')}"
            f"{f'; it read the query as: {read}' if read not in ('', '?') else ''}")


class _Unreadable(PubMedUnavailable):
    """An esearch answer screener cannot use (an HTML error page from NCBI or a proxy, XML
    of another kind): PubMed's, not the query's, so worth asking for again (`_esearch`)."""


def _unreadable(problem: str, body: bytes) -> _Unreadable:
    start = " ".join(body[:80].decode("utf-8", "replace").split())
    began = f"; it began {start!r}" if start else "; it was empty"
    return _Unreadable(f"PubMed esearch answer {problem}{began}")


def _read_articles(body: bytes) -> tuple[list[Record], str]:
    """The articles of an efetch answer, and "" or why it could not be read (an answer cut
    short in transit, say: worth asking for again, unlike an exported file)."""
    try:
        return pubmed_xml.parse(body.decode("utf-8", errors="replace")), ""
    except ImportFailed as exc:
        place = f"line {exc.line}: " if exc.line is not None else ""
        return [], f"{place}{exc.message.rstrip('.')}"


def _efetch(client: _Client, what: str, check: Callable[[list[Record]], str],
            **params: Any) -> tuple[list[Record], str]:
    """efetch `params`: (articles, ""); an answer that cannot be read, or that `check`
    finds wanting (it says how, or ""), is asked for again with the backoff of a failed
    request (each retry announced); still so after `MAX_TRIES`, (the last answer's
    articles, the `PubMedError` message naming `what` and the problem)."""
    articles: list[Record] = []
    problem = ""
    for attempt in range(MAX_TRIES):
        body = client.call("efetch", **params)
        articles, unreadable = _read_articles(body)
        problem = (f"XML that could not be read ({unreadable}; cut short in transit?)"
                   if unreadable else check(articles))
        if not problem:
            return articles, ""
        said = _ERROR_ELEMENT.search(body)
        if said:
            problem += f" (PubMed said: {said.group(1).decode('utf-8', 'replace').strip()})"
        if attempt < MAX_TRIES - 1:
            _again(client, attempt, f"PubMed efetch answered {what} with {problem}")
    return articles, f"PubMed efetch answered {what} with {problem}, {MAX_TRIES} times"


def _esearch(client: _Client, **params: Any) -> tuple[int, str, str, str, tuple[str, ...]]:
    """esearch `params` with the history server: (count, WebEnv, query_key, the query as
    PubMed read it, what PubMed said about the query it ran: `_warnings`). An answer that cannot be read (an HTML error page from NCBI or a
    proxy, XML of another kind, one lacking the count or history keys) is asked for again
    with the backoff of a failed request, as an efetch answer is (each retry announced);
    still so after `MAX_TRIES`, `PubMedUnavailable`. A query PubMed rejects (<ERROR>
    without a count or a search kept to fetch from) is not: `PubMedError`."""
    attempt = 0
    while True:
        body = client.call("esearch", **params)
        try:
            found = _read_esearch(body)
            try:
                return (int(found["Count"]), str(found["WebEnv"]), str(found["QueryKey"]),
                        str(found.get("QueryTranslation", "")), _warnings(found))
            except (KeyError, ValueError) as exc:
                raise _unreadable(f"lacks {exc}", body) from exc
        except _Unreadable as exc:
            if attempt == MAX_TRIES - 1:
                raise PubMedUnavailable(f"{exc} ({MAX_TRIES} tries). Run the search again "
                                        "later") from exc
            _again(client, attempt, str(exc))
            attempt += 1


def _again(client: _Client, attempt: int, problem: str) -> None:
    """Before try `attempt` + 2 of an answer that could not be used: say so (`problem`),
    then wait the backoff of a failed request."""
    delay = client.backoff * 2**attempt
    if client.notice is not None:
        client.notice(f"{problem}; trying again in {delay:g} s (try {attempt + 2} of "
                      f"{MAX_TRIES})")
    client.sleep(delay)


# --------------------------------------------------------------------------- public API


def search_pubmed(
    query: str,
    *,
    email: str,
    api_key: str | None = None,
    max_records: int | None = None,
    progress: Progress | None = None,
    transport: Transport | None = None,
    limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] | None = None,
    backoff: float = 1.0,
    notice: Callable[[str], None] | None = None,
) -> SearchResult:
    """Run `query` on PubMed and fetch up to `max_records` of its records (all by default).

    esearch runs with `usehistory="y"`; records are then fetched as XML with efetch from
    the history server (WebEnv + query_key) in batches of at most `BATCH_SIZE`. PubMed only
    serves the first 10,000 records of a search this way: a larger search raises
    `PubMedError` unless `max_records` is given (split the query, e.g. by publication date).
    `notice` is told of each retry before its wait (what failed, when the next try comes).
    `transport`, `limiter`, `sleep` and `backoff` exist for tests and special set-ups.
    """
    if not query.strip():
        raise ValueError("the query is empty")
    if max_records is not None and max_records < 0:
        raise ValueError("max_records must be >= 0")
    searched_at = searched_today()  # the searcher's own date, as import-ids dates its
    client = _client(email, api_key, transport, limiter, sleep, backoff, notice)
    count, webenv, query_key, translation, warnings = _esearch(
        client, db="pubmed", term=query, usehistory="y", retmax=0)
    total = count if max_records is None else min(count, max_records)
    if total > HISTORY_LIMIT:
        raise PubMedError(
            f"the search found {count:,} records; PubMed serves at most {HISTORY_LIMIT:,} "
            "per search: split the query (e.g. by publication date) or set max_records"
        )
    records: list[Record] = []
    for start in range(0, total, BATCH_SIZE):
        records.extend(_history_batch(client, webenv, query_key, start,
                                      min(BATCH_SIZE, total - start)))
        if progress is not None:
            progress(len(records), total)
    return SearchResult(query=query, count=count, records=records, searched_at=searched_at,
                        query_translation=translation, warnings=warnings)


def _history_batch(client: _Client, webenv: str, query_key: str, start: int,
                   size: int) -> list[Record]:
    """Records start+1..start+size of the search from the history server. An answer with
    fewer (none, or cut short) is asked for again like a failed request; still short, the
    search fails naming the records not returned (a search stored with records missing
    would be reported as complete)."""
    def whole(articles: list[Record]) -> str:
        return ("" if len(articles) >= size else "no articles" if not articles else
                f"only {len(articles)} of the {size} records")

    articles, problem = _efetch(client, f"records {start + 1}–{start + size} of the search",
                                whole, db="pubmed", WebEnv=webenv, query_key=query_key,
                                retstart=start, retmax=size, retmode="xml")
    if not problem:
        return articles[:size]
    if 0 < len(articles) < size:
        problem += (f": records {start + len(articles) + 1}–{start + size} of the search "
                    "were not returned")  # (PubMed sends them in order)
    raise PubMedUnavailable(f"{problem}; run the search again later")


def fetch_pmids(
    pmids: Sequence[str],
    *,
    email: str,
    api_key: str | None = None,
    progress: Progress | None = None,
    transport: Transport | None = None,
    limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] | None = None,
    backoff: float = 1.0,
    notice: Callable[[str], None] | None = None,
) -> list[Record]:
    """Fetch the given PubMed ids (efetch by id list, batches of at most `BATCH_SIZE`).

    Ids are normalised ("PMID: 123" -> "123") and de-duplicated; the records come back in
    the order of the ids asked for. Ids PubMed does not know are left out (compare the
    result's `pmid`s with the ids asked for to report them).
    """
    wanted: list[str] = []
    for value in pmids:
        pmid = normalise_pmid(value) if _PMID_INPUT.fullmatch(str(value)) else ""
        if not pmid:
            raise ValueError(f"not a PubMed id: {value!r}")
        if pmid not in wanted:
            wanted.append(pmid)
    client = _client(email, api_key, transport, limiter, sleep, backoff, notice)
    by_pmid: dict[str, Record] = {}
    for start in range(0, len(wanted), BATCH_SIZE):
        batch = wanted[start:start + BATCH_SIZE]
        articles, problem = _efetch(client, f"PMIDs {batch[0]} to {batch[-1]}"
                                    if len(batch) > 1 else f"PMID {batch[0]}",
                                    lambda _: "", db="pubmed", id=",".join(batch),
                                    retmode="xml")
        if problem:
            raise PubMedUnavailable(f"{problem}; run import-ids again later")
        for record in articles:
            by_pmid.setdefault(record.pmid, record)
        if progress is not None:
            progress(min(start + len(batch), len(wanted)), len(wanted))
    return [by_pmid[p] for p in wanted if p in by_pmid]
