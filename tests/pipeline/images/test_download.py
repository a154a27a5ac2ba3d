"""The downloader against real HTTP servers on 127.0.0.1 (see conftest.py): every fault ends
as a result with the expected reason and transient flag, never as an exception."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid

import pytest

from pipeline.images.download import Downloader, DownloadSettings, FetchResult
from tests.pipeline.images.conftest import JPEG, PNG, FaultServer

# path → (reason, transient, attempts) with the fast_settings fixture (retries=2, max_redirects=5)
FAULTS: dict[str, tuple[str | None, bool, int]] = {
    "/img.png": (None, False, 1),
    "/img.jpg": (None, False, 1),
    "/octet": (None, False, 1),
    "/untyped": (None, False, 1),
    "/noindex": (None, False, 1),
    "/to-img": (None, False, 1),
    "/to-utf8": (None, False, 1),
    "/chain?n=5": (None, False, 1),
    "/flaky-500": (None, False, 2),
    "/404": ("http_404", False, 1),
    "/410": ("http_410", False, 1),
    "/500": ("http_500", True, 3),
    "/429": ("http_429", True, 3),
    "/reset": ("connection_error", True, 3),
    "/slow": ("timeout", True, 3),
    "/endless": ("timeout", True, 3),
    "/flood": ("too_large", False, 1),
    "/huge": ("too_large", False, 1),
    "/loop-a": ("redirect_loop", False, 1),
    "/chain?n=6": ("too_many_redirects", False, 1),
    "/to-metadata": ("ssrf_blocked", False, 1),
    "/to-private": ("ssrf_blocked", False, 1),
    "/to-ftp": ("bad_url", False, 1),
    "/html": ("not_an_image", False, 1),
    "/noai": ("opted_out:noai", False, 1),
    "/otherbot-noimageai": ("opted_out:noai", False, 1),
    "/redirect-noai": ("opted_out:noai", False, 1),
}


def unique(path: str) -> str:
    """The path with a fresh query parameter, so the server's hit counter starts at zero."""
    return f"{path}{'&' if '?' in path else '?'}t={uuid.uuid4().hex}"


def check(result: FetchResult, reason: str | None, transient: bool) -> None:
    assert (result.reason, result.transient) == (reason, transient), result
    assert result.status == ("ok" if reason is None else "failed")
    assert (result.body is not None) == (reason is None)
    assert result.fetched_at.endswith("Z") and result.elapsed >= 0


@pytest.mark.parametrize("path", sorted(FAULTS))
def test_each_fault_ends_with_its_reason(path: str, fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    reason, transient, attempts = FAULTS[path]
    with Downloader(fast_settings) as downloader:
        result = downloader.fetch(fault_server.url(unique(path)))
    check(result, reason, transient)
    assert result.attempts == attempts


def test_image_bytes_and_metadata(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    with Downloader(fast_settings) as downloader:
        png = downloader.fetch(fault_server.url("/img.png"))
        jpeg = downloader.fetch(fault_server.url("/img.jpg"))
        moved = downloader.fetch(fault_server.url("/to-img"))
        utf8 = downloader.fetch(fault_server.url("/to-utf8"))  # raw UTF-8 in Location
    assert (png.body, png.content_type, png.http_status) == (PNG, "image/png", 200)
    assert (jpeg.body, jpeg.content_type) == (JPEG, "image/jpeg")  # parameters dropped
    assert moved.body == PNG and moved.final_url == fault_server.url("/img.png")
    assert utf8.body == PNG and utf8.final_url == fault_server.url("/caf%C3%A9.png")


def test_failures_keep_what_the_server_said(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    with Downloader(fast_settings) as downloader:
        html = downloader.fetch(fault_server.url("/html"))
        blocked = downloader.fetch(fault_server.url("/to-metadata"))
    assert (html.http_status, html.content_type, html.body) == (200, "text/html", None)
    assert blocked.final_url == "http://169.254.169.254/latest/meta-data/"


@pytest.mark.parametrize(("path", "hits"), [("/flaky-500", 2), ("/404", 1), ("/500", 3), ("/html", 1)])
def test_only_transient_errors_are_retried(path: str, hits: int, fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    path = unique(path)
    with Downloader(fast_settings) as downloader:
        downloader.fetch(fault_server.url(path))
    assert fault_server.hits[path] == hits


def test_no_retries_when_disabled(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    path = unique("/500")
    with Downloader(dataclasses.replace(fast_settings, retries=0)) as downloader:
        result = downloader.fetch(fault_server.url(path))
    assert (result.reason, result.attempts, fault_server.hits[path]) == ("http_500", 1, 1)


@pytest.mark.parametrize("path", ["/endless", "/slow"])
def test_total_timeout_is_enforced_while_streaming(path: str, fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    with Downloader(dataclasses.replace(fast_settings, retries=0, total_timeout=0.4)) as downloader:
        result = downloader.fetch(fault_server.url(unique(path)))
    check(result, "timeout", True)
    assert result.elapsed < 0.4 + 1.0  # the deadline, plus slack for a loaded machine


def test_oversized_body_is_cut_off_while_streaming(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    with Downloader(dataclasses.replace(fast_settings, max_bytes=100_000, total_timeout=5.0)) as downloader:
        result = downloader.fetch(fault_server.url("/flood"))
    check(result, "too_large", False)
    assert result.elapsed < 2.0


def test_body_exactly_at_the_limit_is_fine(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    with Downloader(dataclasses.replace(fast_settings, max_bytes=len(PNG))) as downloader:
        assert downloader.fetch(fault_server.url("/img.png")).ok
    with Downloader(dataclasses.replace(fast_settings, max_bytes=len(PNG) - 1)) as downloader:
        assert downloader.fetch(fault_server.url("/img.png")).reason == "too_large"


def test_redirect_limit_is_configurable(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    with Downloader(dataclasses.replace(fast_settings, max_redirects=2)) as downloader:
        assert downloader.fetch(fault_server.url("/chain?n=2")).ok
        assert downloader.fetch(fault_server.url("/chain?n=3")).reason == "too_many_redirects"


def test_noai_can_be_ignored_by_configuration(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    with Downloader(dataclasses.replace(fast_settings, honour_noai=False)) as downloader:
        assert downloader.fetch(fault_server.url("/noai")).body == PNG


def test_fetch_many_yields_one_result_per_url(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    bad = ["data:image/png;base64,iVBORw0KGgo=", "ftp://example.org/a.png", "", "not a url", "http://", None]
    urls = [fault_server.url(unique(path)) for path in FAULTS] + bad
    started = time.monotonic()
    with Downloader(fast_settings) as downloader:
        results = list(downloader.fetch_many(urls))  # type: ignore[arg-type]
    assert time.monotonic() - started < 10
    assert sorted(r.url for r in results) == sorted(u if isinstance(u, str) else repr(u) for u in urls)
    by_url = {r.url: r for r in results}
    for path, (reason, transient, _attempts) in FAULTS.items():
        url = next(u for u in urls if isinstance(u, str) and u.startswith(fault_server.url(path) + ("&" if "?" in path else "?")))
        check(by_url[url], reason, transient)
    for url in bad:
        check(by_url[url if isinstance(url, str) else repr(url)], "bad_url", False)


def test_fetch_many_is_lazy_and_can_stop_early(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    def endless_urls():
        while True:
            yield fault_server.url("/img.png")

    with Downloader(fast_settings) as downloader:
        results = downloader.fetch_many(endless_urls())
        first = [next(results) for _ in range(20)]
        results.close()
    assert all(r.ok for r in first)


def test_host_map_routes_a_made_up_hostname(fast_settings: DownloadSettings, fault_server: FaultServer, connects: list[str]) -> None:
    path = unique("/img.png")
    with Downloader(fast_settings) as downloader:
        result = downloader.fetch(f"http://images.example.org{path}")
    assert result.ok and result.final_url == f"http://images.example.org{path}"
    assert fault_server.headers_for(path)[0]["Host"] == "images.example.org"
    assert set(connects) == {"127.0.0.1"}


def test_user_agent_and_accept_headers_are_sent(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    path = unique("/img.png")
    with Downloader(dataclasses.replace(fast_settings, user_agent="interleaf-test/9")) as downloader:
        downloader.fetch(fault_server.url(path))
    headers = fault_server.headers_for(path)[0]
    assert headers["User-Agent"] == "interleaf-test/9"
    assert headers["Accept-Encoding"] == "identity" and "image/" in headers["Accept"]


def test_default_user_agent_names_the_project() -> None:
    assert DownloadSettings().user_agent.startswith("interleaf/")


def test_keep_alive_reuses_the_connection(fast_settings: DownloadSettings, fault_server: FaultServer, connects: list[str]) -> None:
    with Downloader(fast_settings) as downloader:
        results = [downloader.fetch(fault_server.url("/img.png")) for _ in range(4)]
        results.append(downloader.fetch("http://images.example.org/img.png"))  # same IP and port
    assert all(r.ok for r in results)
    assert connects == ["127.0.0.1"]


# -- SSRF guard --------------------------------------------------------------------------------


def test_loopback_is_refused_unless_allow_listed(fast_settings: DownloadSettings, fault_server: FaultServer, connects: list[str]) -> None:
    path = unique("/img.png")
    guarded = dataclasses.replace(fast_settings, allow_networks=())
    with Downloader(guarded) as downloader:
        direct = downloader.fetch(fault_server.url(path))
        mapped = downloader.fetch(f"http://images.example.org{path}")  # host_map is guarded too
        localhost = downloader.fetch(f"http://localhost:{fault_server.port}{path}")
    for result in (direct, mapped, localhost):
        check(result, "ssrf_blocked", False)
    assert connects == [] and fault_server.hits[path] == 0


def test_guard_can_be_switched_off(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    open_settings = dataclasses.replace(fast_settings, allow_networks=(), block_private=False)
    with Downloader(open_settings) as downloader:
        assert downloader.fetch(fault_server.url("/img.png")).ok


@pytest.mark.parametrize("path", ["/to-metadata", "/to-private"])
def test_redirects_to_internal_addresses_never_connect(path: str, fast_settings: DownloadSettings, fault_server: FaultServer, connects: list[str]) -> None:
    with Downloader(fast_settings) as downloader:
        result = downloader.fetch(fault_server.url(path))
        results = list(downloader.fetch_many([fault_server.url(path)] * 3))
    for r in [result, *results]:
        check(r, "ssrf_blocked", False)
    assert connects and set(connects) == {"127.0.0.1"}
    assert not {"169.254.169.254", "10.0.0.1"} & set(connects)


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x", "http://[::1]/x",
    "http://[fd00:ec2::254]/", "http://100.100.100.200/", "http://0.0.0.0/", "http://[::ffff:10.0.0.1]/",
    "http://192.168.0.1:8080/a.png", "http://100.64.0.1/",
])
def test_internal_urls_are_refused_without_connecting(url: str, fast_settings: DownloadSettings, connects: list[str]) -> None:
    with Downloader(fast_settings) as downloader:
        check(downloader.fetch(url), "ssrf_blocked", False)
    assert connects == []


def test_name_resolving_to_any_internal_address_is_refused(fast_settings: DownloadSettings, monkeypatch: pytest.MonkeyPatch, connects: list[str]) -> None:
    import socket

    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "mixed.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with Downloader(fast_settings) as downloader:
        check(downloader.fetch("http://mixed.example.com/a.png"), "ssrf_blocked", False)
    assert connects == []


def test_dns_is_resolved_once_and_the_checked_ip_is_used(fast_settings: DownloadSettings, fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch, connects: list[str]) -> None:
    """DNS rebinding: the first answer is safe, later ones internal. Only the first is asked,
    and the connection goes to it."""
    import socket

    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.0.0.1", "169.254.169.254"])
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example.com":
            ip = next(answers)
            lookups.append(ip)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    path = unique("/img.png")
    with Downloader(fast_settings) as downloader:
        result = downloader.fetch(f"http://rebind.example.com:{fault_server.port}{path}")
    assert result.ok and lookups == ["127.0.0.1"]
    assert set(connects) == {"127.0.0.1"}
    assert fault_server.headers_for(path)[0]["Host"] == f"rebind.example.com:{fault_server.port}"


def test_unresolvable_name_is_a_dns_error(fast_settings: DownloadSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def nxdomain(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)
    with Downloader(dataclasses.replace(fast_settings, host_map=None)) as downloader:
        result = downloader.fetch("http://no-such-host.invalid/a.png")
    check(result, "dns_error", False)


def test_refused_connection_is_transient(fast_settings: DownloadSettings) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Downloader(dataclasses.replace(fast_settings, retries=1)) as downloader:
        result = downloader.fetch(f"http://127.0.0.1:{port}/a.png")
    check(result, "connection_error", True)
    assert result.attempts == 2


# -- politeness: per-host concurrency ---------------------------------------------------------


def test_fetch_many_honours_the_per_host_limit(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    hosts = ["images.example.org", "cdn.example.net"]
    urls = [f"http://{host}{unique('/count')}" for _ in range(8) for host in hosts]
    with fault_server.lock:
        for host in hosts:
            fault_server.max_active[host] = 0
    with Downloader(fast_settings) as downloader:
        results = list(downloader.fetch_many(urls))
    assert all(r.ok for r in results) and len(results) == 16
    assert [fault_server.max_active[h] for h in hosts] == [2, 2]  # limit reached, never passed
    assert fault_server.max_total >= 3  # the two hosts were fetched in parallel


def test_fetch_from_many_threads_honours_the_per_host_limit(fast_settings: DownloadSettings, fault_server: FaultServer) -> None:
    host = f"threads-{uuid.uuid4().hex[:8]}.example.org"
    mapped = dataclasses.replace(fast_settings, per_host=3, host_map={host: f"127.0.0.1:{fault_server.port}"})
    with Downloader(mapped) as downloader:
        threads = [threading.Thread(target=downloader.fetch, args=(f"http://{host}{unique('/count')}",)) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert fault_server.max_active[host] == 3


# -- proxy ------------------------------------------------------------------------------------


def test_requests_go_through_the_proxy(fast_settings: DownloadSettings, fault_server: FaultServer, forward_proxy, connects: list[str]) -> None:
    path = unique("/img.png")
    proxied = dataclasses.replace(fast_settings, proxy=forward_proxy.url, user_agent="interleaf-proxy-test")
    with Downloader(proxied) as downloader:
        result = downloader.fetch(f"http://images.example.org{path}")
    assert result.body == PNG
    assert (f"http://images.example.org{path}", "images.example.org") in forward_proxy.seen
    assert fault_server.headers_for(path)[0]["User-Agent"] == "interleaf-proxy-test"


def test_guard_checks_the_target_before_the_proxy(fast_settings: DownloadSettings, forward_proxy, connects: list[str]) -> None:
    proxied = dataclasses.replace(fast_settings, proxy=forward_proxy.url)
    before = len(forward_proxy.seen)
    with Downloader(proxied) as downloader:
        result = downloader.fetch("http://169.254.169.254/latest/meta-data/")
    check(result, "ssrf_blocked", False)
    assert len(forward_proxy.seen) == before and connects == []


def test_proxied_redirects_are_checked_hop_by_hop(fast_settings: DownloadSettings, fault_server: FaultServer, forward_proxy) -> None:
    proxied = dataclasses.replace(fast_settings, proxy=forward_proxy.url)
    with Downloader(proxied) as downloader:
        result = downloader.fetch("http://images.example.org/to-private")
    check(result, "ssrf_blocked", False)
    assert not any("10.0.0.1" in url for url, _host in forward_proxy.seen)


# -- TLS --------------------------------------------------------------------------------------


def tls_settings(settings: DownloadSettings, port: int) -> DownloadSettings:
    return dataclasses.replace(settings, host_map={
        "secure.example.org": f"127.0.0.1:{port}", "wrong.example.org": f"127.0.0.1:{port}"})


def test_https_connects_by_ip_with_the_hostname_as_sni(fast_settings: DownloadSettings, tls_server, monkeypatch: pytest.MonkeyPatch, connects: list[str]) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.ca_file))  # trust the test CA
    with Downloader(tls_settings(fast_settings, tls_server.port)) as downloader:
        result = downloader.fetch("https://secure.example.org/img.png")
    assert result.body == PNG, result
    assert tls_server.sni[-1] == "secure.example.org" and set(connects) == {"127.0.0.1"}


def test_https_certificate_for_another_name_is_a_tls_error(fast_settings: DownloadSettings, tls_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.ca_file))
    with Downloader(tls_settings(fast_settings, tls_server.port)) as downloader:
        check(downloader.fetch("https://wrong.example.org/img.png"), "tls_error", False)


def test_https_untrusted_certificate_is_a_tls_error(fast_settings: DownloadSettings, tls_server, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "no-ca.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with Downloader(tls_settings(fast_settings, tls_server.port)) as downloader:
        check(downloader.fetch("https://secure.example.org/img.png"), "tls_error", False)
