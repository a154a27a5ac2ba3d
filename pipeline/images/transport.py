"""HTTP exchanges on connections we choose: the checked IP, or the configured proxy.

urllib3 pools are keyed by (ip, port, scheme) plus the TLS server name, so keep-alive works
per address while the Host header and SNI carry the original host name. urllib3 never
follows redirects or retries here: the downloader does both, checking every hop.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import urllib3
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.response import BaseHTTPResponse

from pipeline.images.urls import Target

MAX_POOLS = 128  # LRU of per-address pools; evicted pools close their idle connections
READ_CHUNK = 64 * 1024
# A redirect or error body this small is read to the end so its connection can be reused;
# anything larger (or unannounced) costs less to drop with the connection.
DRAIN_LIMIT = 64 * 1024


class BodyTooLarge(Exception):
    """The body went over max_bytes while streaming."""


class DeadlineExceeded(Exception):
    """The request's total time ran out while streaming the body."""


class Transport:
    """Opens responses (headers read, body not yet) on direct or proxied connections."""

    def __init__(self, pool_size: int, proxy: str | None) -> None:
        common = {"num_pools": MAX_POOLS, "maxsize": pool_size, "block": False, "retries": False}
        self._direct = urllib3.PoolManager(**common)
        self._proxy = urllib3.ProxyManager(proxy, **common) if proxy else None

    def open(
        self,
        target: Target,
        addresses: Sequence[tuple[str, int]],
        headers: Mapping[str, str],
        timeout: urllib3.Timeout,
    ) -> BaseHTTPResponse:
        """GET ``target``; ``addresses`` are the checked IPs, tried in order until one
        connects. Behind a proxy they go unused: the proxy connects by name."""
        if self._proxy is not None:
            return self._proxy.urlopen(
                "GET", target.url, headers=dict(headers), redirect=False, retries=False,
                preload_content=False, timeout=timeout,
            )
        for i, (ip, port) in enumerate(addresses):
            try:
                return self._open_direct(target, ip, port, headers, timeout)
            except (NewConnectionError, ConnectTimeoutError):
                if i == len(addresses) - 1:
                    raise
        raise ValueError(f"no address to connect to for {target.url}")

    def _open_direct(
        self, target: Target, ip: str, port: int, headers: Mapping[str, str], timeout: urllib3.Timeout
    ) -> BaseHTTPResponse:
        # SNI and certificate checks use the URL's host name, not the IP we connect to.
        tls = {"server_hostname": target.host, "assert_hostname": target.host} if target.scheme == "https" else {}
        pool = self._direct.connection_from_host(ip, port, target.scheme, pool_kwargs=tls)
        return pool.urlopen(
            "GET", target.path, headers={**headers, "Host": target.host_header}, redirect=False,
            retries=False, preload_content=False, timeout=timeout, assert_same_host=False,
        )

    def close(self) -> None:
        self._direct.clear()
        if self._proxy is not None:
            self._proxy.clear()


def read_body(response: BaseHTTPResponse, deadline: float, max_bytes: int) -> bytes:
    """The whole body, with the deadline and the size limit checked on every chunk (a server
    trickling bytes forever or streaming without end is cut off)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        _limit_next_read(response, deadline)
        chunk = response.read1(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(size)
        chunks.append(chunk)


def finish(response: BaseHTTPResponse, deadline: float) -> None:
    """Give the connection back: drained for reuse when the rest is small, else closed."""
    try:
        remaining = response.length_remaining
        if remaining is not None and remaining <= DRAIN_LIMIT and not response.closed:
            read_body(response, deadline, DRAIN_LIMIT)
        else:
            response.close()
    except Exception:  # noqa: BLE001 - a failed drain only costs the connection
        response.close()
    finally:
        response.release_conn()


def _limit_next_read(response: BaseHTTPResponse, deadline: float) -> None:
    """Shrink the socket timeout to the time left, so one slow recv cannot outlast the
    deadline; urllib3 turns the socket timeout into ReadTimeoutError."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded()
    sock = getattr(response.connection, "sock", None)
    if sock is not None:
        sock.settimeout(remaining)
