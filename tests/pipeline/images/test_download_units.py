"""Pieces of the downloader without a server: URL parsing, the SSRF address rules, the
opt-out header, per-host slots, and "never raises" on arbitrary input."""

from __future__ import annotations

import socket
import threading
import time
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.images import ssrf
from pipeline.images.download import Downloader, DownloadSettings, _classify_error
from pipeline.images.hostlimit import HostLimiter
from pipeline.images.optout import opts_out_of_ai
from pipeline.images.urls import parse_target


@pytest.mark.parametrize(("url", "expected"), [
    ("http://Example.ORG/a.png", "http://example.org/a.png"),
    ("https://example.org:443/a b.png?x=1 2#frag", "https://example.org/a%20b.png?x=1%202"),
    ("http://example.org:8080", "http://example.org:8080/"),
    ("http://user:pw@example.org/a.png", "http://example.org/a.png"),
    ("http://[2606:4700::1]:81/a.png", "http://[2606:4700::1]:81/a.png"),
    ("http://bücher.example/ö.png", "http://xn--bcher-kva.example/%C3%B6.png"),
    ("  http://example.org/a%20b.png\n", "http://example.org/a%20b.png"),
])
def test_urls_are_canonicalised(url: str, expected: str) -> None:
    target = parse_target(url)
    assert target is not None and target.url == expected


@pytest.mark.parametrize("url", [
    "data:image/png;base64,iVBORw0KGgo=", "ftp://example.org/a.png", "javascript:alert(1)", "/a.png",
    "//example.org/a.png", "", "http://", "http://[::1", "http://example.org:99999/", "http://example.org:0/",
    "http://exa mple.org/", "file:///etc/passwd", None, b"http://example.org/", 42,
])
def test_unfetchable_urls_are_rejected(url: object) -> None:
    assert parse_target(url) is None


def test_host_header_keeps_non_default_ports() -> None:
    assert parse_target("http://example.org:8080/x").host_header == "example.org:8080"  # type: ignore[union-attr]
    assert parse_target("https://[::1]/x").host_header == "[::1]"  # type: ignore[union-attr]


@pytest.mark.parametrize(("ip", "kind"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.1.1", "private"), ("fc00::1", "private"), ("169.254.1.1", "link_local"),
    ("fe80::1", "link_local"), ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
    ("100.100.100.200", "metadata"), ("100.64.0.1", "shared"), ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
    ("::ffff:10.0.0.1", "private"), ("64:ff9b::a00:1", "private"), ("2002:a00:1::1", "private"),
    ("192.0.2.1", "private"),  # documentation range
    ("8.8.8.8", None), ("93.184.216.34", None), ("2606:4700::1", None),
])
def test_forbidden_address_kinds(ip: str, kind: str | None) -> None:
    assert ssrf.forbidden_kind(ip) == kind


def test_allow_list_exempts_only_its_networks() -> None:
    allow = ssrf.parse_networks(["127.0.0.1/32", "10.0.0.0/8"])
    assert ssrf.forbidden_kind("127.0.0.1", allow) is None
    assert ssrf.forbidden_kind("10.9.9.9", allow) is None
    assert ssrf.forbidden_kind("127.0.0.2", allow) == "loopback"
    assert ssrf.first_forbidden([("8.8.8.8", 80), ("192.168.0.1", 80)], allow) == "private"


def test_host_map_parsing() -> None:
    entries = ssrf.parse_host_map({"A.example": "127.0.0.1:8080", "b.example": "[::1]:81", "c.example": "10.0.0.1"})
    assert entries["a.example"] == ssrf.HostMapEntry("127.0.0.1", 8080)
    assert entries["b.example"] == ssrf.HostMapEntry("::1", 81)
    assert ssrf.resolve("c.example", 443, entries) == [("10.0.0.1", 443)]
    with pytest.raises(ValueError):
        ssrf.parse_host_map({"d.example": "not-an-ip:80"})


def test_misconfiguration_raises_at_construction() -> None:
    with pytest.raises(ValueError):
        Downloader(DownloadSettings(allow_networks=("not a cidr",)))
    with pytest.raises(ValueError):
        Downloader(DownloadSettings(per_host=0))


@pytest.mark.parametrize(("values", "opted_out"), [
    (["noai"], True), (["NOIMAGEAI"], True), (["otherbot: noimageai"], True),
    (["noindex, noai"], True), (["googlebot: noindex", "noai"], True), (["noindex, nofollow"], False),
    (["unavailable_after: 25 Jun 2030 15:00:00 PST"], False), (["noairline"], False), ([], False),
])
def test_robots_tag_opt_out(values: list[str], opted_out: bool) -> None:
    assert opts_out_of_ai(values) is opted_out


def test_host_limiter_caps_each_host_and_forgets_idle_ones() -> None:
    limiter = HostLimiter(2)
    peak: dict[str, int] = {"a": 0, "b": 0}
    active: dict[str, int] = {"a": 0, "b": 0}
    lock = threading.Lock()

    def work(host: str) -> None:
        with limiter.slot(host):
            with lock:
                active[host] += 1
                peak[host] = max(peak[host], active[host])
            time.sleep(0.02)
            with lock:
                active[host] -= 1

    threads = [threading.Thread(target=work, args=(h,)) for h in "ab" * 6]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == {"a": 2, "b": 2} and limiter._active == {}


def test_programming_errors_are_not_swallowed() -> None:
    with pytest.raises(KeyError):
        _classify_error(KeyError("bug"))


def _no_dns(*args: object, **kwargs: object) -> object:
    raise socket.gaierror(socket.EAI_NONAME, "no DNS in tests")


def _no_connect(*args: object, **kwargs: object) -> object:
    raise ConnectionRefusedError("no connections in this test")


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(),
    st.builds(lambda s, rest: f"{s}://{rest}", st.sampled_from(["http", "https", "HTTP", "ftp", "data"]), st.text()),
    st.none(), st.integers(), st.binary(),
))
def test_fetch_never_raises_on_arbitrary_input(url: object) -> None:
    """Unroutable: no DNS and no connections, so every input ends before the network."""
    settings = DownloadSettings(retries=0, connect_timeout=0.2, total_timeout=0.2)
    with (
        mock.patch.object(socket, "getaddrinfo", _no_dns),
        mock.patch.object(socket.socket, "connect", _no_connect),  # a generated public IP stays offline
        Downloader(settings) as downloader,
    ):
        result = downloader.fetch(url)  # type: ignore[arg-type]
    assert result.status == "failed"
    assert result.reason in {"bad_url", "dns_error", "ssrf_blocked", "connection_error", "timeout"}
