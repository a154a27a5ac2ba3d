"""Polite, SSRF-guarded image downloads: one URL → one :class:`FetchResult`, never an exception.

Every hop of a redirect chain is resolved once, checked by the SSRF guard and then connected
to by IP (``ssrf.py``); urllib3 does the HTTP on pools per address (``transport.py``). The
total timeout and the size limit are enforced while the body streams. Failures become a
result with a stable reason code (counted in job manifests) and a ``transient`` flag that
says whether a rerun should try again:

=====================  =========  ==========================================================
reason                 transient  meaning
=====================  =========  ==========================================================
``http_<code>``        5xx, 429   final HTTP status outside 2xx (after retries)
``timeout``            yes        connect, headers or body took longer than allowed
``connection_error``   yes        refused, reset, closed early, proxy unreachable
``dns_error``          EAI_AGAIN  the host name did not resolve
``tls_error``          no         handshake or certificate verification failed
``bad_response``       no         malformed HTTP (conflicting lengths, broken encoding)
``too_large``          no         Content-Length or the streamed body over ``max_bytes``
``too_many_redirects`` no         more than ``max_redirects`` hops
``redirect_loop``      no         a redirect led back to a URL already seen
``ssrf_blocked``       no         some address of the host is loopback/private/metadata...
``opted_out:noai``     no         ``X-Robots-Tag`` carries noai / noimageai
``not_an_image``       no         Content-Type present and not image/* or generic binary
``bad_url``            no         not an absolute http(s) URL (data:, relative, garbage)
=====================  =========  ==========================================================

The per-request time limit (``total_timeout``) covers one HTTP exchange, body included;
each redirect hop gets its own, and time spent waiting for a per-host slot is not counted.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self
from urllib.parse import urljoin

import urllib3
from urllib3 import exceptions as u3
from urllib3.response import BaseHTTPResponse

from pipeline.images import ssrf
from pipeline.images.hostlimit import HostLimiter
from pipeline.images.optout import opts_out_of_ai
from pipeline.images.transport import (
    BodyTooLarge,
    DeadlineExceeded,
    Transport,
    finish,
    read_body,
)
from pipeline.images.urls import Target, parse_target

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Types servers use for "some bytes" when they don't know better: the decoder judges these.
GENERIC_BINARY_TYPES = frozenset({
    "application/octet-stream", "binary/octet-stream", "application/x-octet-stream",
    "application/binary", "application/unknown", "application/force-download",
    "application/download", "content/unknown", "unknown/unknown",
})
ACCEPT = "image/avif,image/webp,image/apng,image/png,image/jpeg,image/*;q=0.9,*/*;q=0.5"
MAX_RETRY_AFTER = 10.0  # seconds: honour a server's Retry-After, but never park a thread long
LOOKAHEAD_PER_THREAD = 8  # fetch_many buffers this many URLs per thread to find idle hosts


@dataclass(frozen=True)
class DownloadSettings:
    user_agent: str = "interleaf/0.1 (+https://github.com/interleaf; image research crawler)"
    threads: int = 16  # thread pool size per partition (per process)
    per_host: int = 2  # max concurrent requests to one host
    connect_timeout: float = 5.0
    total_timeout: float = 20.0  # one whole request incl. body; enforced while streaming
    retries: int = 2  # extra attempts, transient errors only
    backoff: float = 0.5  # base seconds, exponential with jitter
    max_redirects: int = 5
    max_bytes: int = 20 * 1024 * 1024  # body limit enforced while streaming
    proxy: str | None = None  # http://host:port proxy for http and https
    honour_noai: bool = True  # X-Robots-Tag: noai / noimageai → opted out
    block_private: bool = True  # SSRF guard on by default
    allow_networks: tuple[str, ...] = ()  # CIDRs exempt from the guard (tests: "127.0.0.1/32")
    host_map: dict[str, str] | None = None  # hostname → "ip:port" (tests route real names locally)


@dataclass
class FetchResult:
    url: str
    final_url: str | None  # last URL requested (or refused) in the redirect chain
    status: str  # "ok" or "failed"
    reason: str | None  # None when ok; else a reason code (module docstring)
    transient: bool  # a rerun should retry it
    http_status: int | None
    content_type: str | None  # media type, lower case, without parameters
    body: bytes | None  # only when ok
    fetched_at: str  # ISO 8601 UTC, when the result was settled
    attempts: int  # 0 when the URL was not fetchable at all
    elapsed: float  # seconds, retries and backoff included

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class _Outcome:
    """What one attempt (a whole redirect chain) ended with."""

    final_url: str | None
    reason: str | None = None
    transient: bool = False
    http_status: int | None = None
    content_type: str | None = None
    body: bytes | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class _Redirect:
    location: str


class Downloader:
    """Fetches image URLs. Thread-safe; one per process (Spark partition) is the intent."""

    def __init__(self, settings: DownloadSettings) -> None:
        self.settings = settings
        self._allow = ssrf.parse_networks(settings.allow_networks)
        self._host_map = ssrf.parse_host_map(settings.host_map)
        self._limiter = HostLimiter(settings.per_host)
        self._transport = Transport(pool_size=max(settings.threads, settings.per_host), proxy=settings.proxy)
        self._headers = {
            "User-Agent": settings.user_agent,
            "Accept": ACCEPT,
            # Images are compressed already; identity also rules out decompression bombs.
            "Accept-Encoding": "identity",
        }
        self._random = random.Random()
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    # -- public API ---------------------------------------------------------------------------

    def fetch(self, url: str) -> FetchResult:
        started = time.monotonic()
        target = parse_target(url)
        if target is None:
            return self._result(url, _Outcome(final_url=None, reason="bad_url"), 0, started)
        attempts = 0
        while True:
            attempts += 1
            outcome = self._follow_redirects(target)
            if outcome.reason is None or not outcome.transient or attempts > self.settings.retries:
                return self._result(url, outcome, attempts, started)
            time.sleep(self._backoff_delay(attempts, outcome.retry_after))

    def fetch_many(self, urls: Iterable[str]) -> Iterator[FetchResult]:
        """Fetch on the thread pool, yielding in completion order, one result per URL.

        URLs are buffered a little ahead and handed to threads only when their host has a
        free slot, so a page full of images from one host doesn't park every thread on that
        host's limit while other hosts wait.
        """
        executor = self._thread_pool()
        threads = self.settings.threads
        waiting: dict[str, deque[str]] = {}  # host → URLs not yet submitted
        n_waiting = 0
        busy: Counter[str] = Counter()
        running: dict[Future[FetchResult], str] = {}
        source = iter(urls)
        exhausted = False
        try:
            while True:
                while not exhausted and n_waiting < threads * LOOKAHEAD_PER_THREAD:
                    try:
                        url = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    waiting.setdefault(_host_key(url), deque()).append(url)
                    n_waiting += 1
                n_waiting -= self._submit_ready(executor, waiting, busy, running)
                if not running:
                    return  # nothing left: a waiting URL would have been submitted
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    host = running.pop(future)
                    busy[host] -= 1
                    if not busy[host]:
                        del busy[host]  # bounded by hosts in flight, not hosts ever seen
                    yield future.result()
        finally:
            for future in running:
                future.cancel()

    def close(self) -> None:
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scheduling ---------------------------------------------------------------------------

    def _thread_pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.settings.threads, thread_name_prefix="interleaf-dl")
            return self._executor

    def _submit_ready(
        self,
        executor: ThreadPoolExecutor,
        waiting: dict[str, deque[str]],
        busy: Counter[str],
        running: dict[Future[FetchResult], str],
    ) -> int:
        """Submit URLs whose host has a free slot, one per host per round (fair between
        hosts), while threads are free. Returns how many were submitted."""
        submitted = 0
        progress = True
        while progress and len(running) < self.settings.threads:
            progress = False
            for host in list(waiting):
                if len(running) >= self.settings.threads:
                    break
                # Unparsable URLs (host "") fail at once and need no slot.
                if host and busy[host] >= self.settings.per_host:
                    continue
                queue = waiting[host]
                running[executor.submit(self.fetch, queue.popleft())] = host
                busy[host] += 1
                submitted += 1
                progress = True
                if not queue:
                    del waiting[host]
        return submitted

    def _backoff_delay(self, attempt: int, retry_after: float | None) -> float:
        # Jitter spreads the retries of many threads hitting the same sick host.
        delay = self.settings.backoff * 2 ** (attempt - 1) * self._random.uniform(0.5, 1.5)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay

    # -- one attempt: a redirect chain --------------------------------------------------------

    def _follow_redirects(self, target: Target) -> _Outcome:
        seen = {target.url}
        for _hop in range(self.settings.max_redirects + 1):
            step = self._request(target)
            if isinstance(step, _Outcome):
                return step
            next_target = parse_target(urljoin(target.url, _utf8_location(step.location)))
            if next_target is None:
                return _Outcome(final_url=target.url, reason="bad_url")
            if next_target.url in seen:
                return _Outcome(final_url=next_target.url, reason="redirect_loop")
            seen.add(next_target.url)
            target = next_target
        return _Outcome(final_url=target.url, reason="too_many_redirects")

    def _request(self, target: Target) -> _Outcome | _Redirect:
        """One HTTP exchange, after the destination passed the SSRF guard."""
        addresses = self._checked_addresses(target)
        if isinstance(addresses, _Outcome):
            return addresses
        with self._limiter.slot(target.host):
            deadline = time.monotonic() + self.settings.total_timeout
            try:
                response = self._transport.open(target, addresses, self._headers, self._timeout(deadline))
            except Exception as error:  # noqa: BLE001 - classified below, unknown ones re-raised
                return _failure_from_error(target, error)
            try:
                return self._read_response(target, response, deadline)
            except Exception as error:  # noqa: BLE001
                outcome = _failure_from_error(target, error)
                outcome.http_status = response.status
                outcome.content_type = _media_type(response.headers.get("Content-Type"))
                return outcome
            finally:
                finish(response, deadline)

    def _checked_addresses(self, target: Target) -> list[tuple[str, int]] | _Outcome:
        """Resolve once and check every address: the connection goes to one of these IPs."""
        try:
            addresses = ssrf.resolve(target.host, target.port, self._host_map)
        except ssrf.ResolveError as error:
            return _Outcome(final_url=target.url, reason="dns_error", transient=error.transient)
        if self.settings.block_private and ssrf.first_forbidden(addresses, self._allow):
            return _Outcome(final_url=target.url, reason="ssrf_blocked")
        return addresses

    def _timeout(self, deadline: float) -> urllib3.Timeout:
        remaining = max(deadline - time.monotonic(), 0.001)
        return urllib3.Timeout(connect=min(self.settings.connect_timeout, remaining), read=remaining)

    def _read_response(self, target: Target, response: BaseHTTPResponse, deadline: float) -> _Outcome | _Redirect:
        status = response.status
        headers = response.headers
        content_type = _media_type(headers.get("Content-Type"))

        def failed(reason: str, transient: bool = False) -> _Outcome:
            return _Outcome(target.url, reason, transient, status, content_type,
                            retry_after=_retry_after(headers.get("Retry-After")))

        # Checked on redirects too: the publisher's page said no, wherever it points next.
        opted_out = self.settings.honour_noai and opts_out_of_ai(headers.getlist("X-Robots-Tag"))
        if status in REDIRECT_STATUSES and headers.get("Location"):
            return failed("opted_out:noai") if opted_out else _Redirect(headers["Location"])
        if not 200 <= status < 300:
            return failed(f"http_{status}", transient=status >= 500 or status == 429)
        if opted_out:
            return failed("opted_out:noai")
        if response.length_remaining is not None and response.length_remaining > self.settings.max_bytes:
            return failed("too_large")  # announced: not worth a byte of bandwidth
        if content_type is not None and not _may_be_image(content_type):
            return failed("not_an_image")
        body = read_body(response, deadline, self.settings.max_bytes)
        return _Outcome(target.url, None, False, status, content_type, body)

    def _result(self, url: object, outcome: _Outcome, attempts: int, started: float) -> FetchResult:
        return FetchResult(
            url=url if isinstance(url, str) else repr(url),
            final_url=outcome.final_url,
            status="ok" if outcome.reason is None else "failed",
            reason=outcome.reason,
            transient=outcome.transient,
            http_status=outcome.http_status,
            content_type=outcome.content_type,
            body=outcome.body if outcome.reason is None else None,
            fetched_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            attempts=attempts,
            elapsed=time.monotonic() - started,
        )


# -- classification ---------------------------------------------------------------------------


def _failure_from_error(target: Target, error: Exception) -> _Outcome:
    reason, transient = _classify_error(error)
    return _Outcome(final_url=target.url, reason=reason, transient=transient)


def _classify_error(error: Exception) -> tuple[str, bool]:
    """(reason, transient) for an exception raised while talking HTTP. Order matters:
    urllib3's NewConnectionError subclasses ConnectTimeoutError."""
    if isinstance(error, BodyTooLarge):
        return "too_large", False
    if isinstance(error, (DeadlineExceeded, TimeoutError, u3.ReadTimeoutError)):
        return "timeout", True
    if isinstance(error, (u3.NewConnectionError, u3.ProxyError, u3.ProtocolError)):
        return "connection_error", True
    if isinstance(error, u3.ConnectTimeoutError):
        return "timeout", True
    if isinstance(error, u3.SSLError):
        return "tls_error", False
    if isinstance(error, u3.LocationValueError):
        return "bad_url", False
    if isinstance(error, (u3.HTTPError, http.client.HTTPException)):
        return "bad_response", False
    if isinstance(error, OSError):
        return "connection_error", True
    raise error  # a programming error, not bad input


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


def _may_be_image(media_type: str) -> bool:
    return media_type.startswith("image/") or media_type in GENERIC_BINARY_TYPES


def _retry_after(value: str | None) -> float | None:
    """Seconds from a numeric Retry-After; HTTP dates are rare for images and ignored."""
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _utf8_location(location: str) -> str:
    """http.client decodes headers as latin-1, but servers send raw UTF-8 in Location (as
    browsers assume): undo the mojibake so the URL is escaped from the right characters."""
    try:
        return location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return location


def _host_key(url: object) -> str:
    target = parse_target(url)
    return target.host if target is not None else ""
