"""Fixtures for the image downloader: a fault-injecting image server, a forward proxy, a TLS
server and a recorder of every outgoing socket connect.

The servers run on 127.0.0.1 in threads and stand in for the internet (image hosts, CDNs,
misbehaving servers and a corporate proxy), so these tests need no network. Made-up host
names reach them through ``DownloadSettings.host_map``.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from PIL import Image

from pipeline.images.download import DownloadSettings

LOCAL = ("127.0.0.1/32",)


def make_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (30, 90, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_png_bomb(side: int = 30000) -> bytes:
    """A PNG whose header claims side × side pixels (900 Mpx) in a few hundred bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\0" * (side + 1) * 8, 9)  # a few rows; the header is what matters
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def make_photo_png(size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.radial_gradient("L").resize(size).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def make_corrupt_jpeg() -> bytes:
    """A real JPEG whose frame header claims zero colour components."""
    buffer = io.BytesIO()
    Image.radial_gradient("L").resize((320, 240)).convert("RGB").save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 9] = 0
    return bytes(data)


PNG = make_png()
JPEG = make_jpeg()
PHOTO_PNG = make_photo_png()
CORRUPT_JPEG = make_corrupt_jpeg()
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:
        pass  # clients hanging up on endless bodies is the point of several routes


class FaultServer(QuietServer):
    """Records hits per path (with query), the headers of every request, and concurrent
    requests per Host header."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.active: Counter[str] = Counter()
        self.max_active: Counter[str] = Counter()
        self.max_total = 0
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def headers_for(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p == path]


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse can be observed
    server: FaultServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits[self.path] += 1
            self.server.requests.append((self.path, dict(self.headers.items())))
            n_hits = self.server.hits[self.path]
        route = ROUTES.get(unquote(urlsplit(self.path).path))
        if route is None:
            self.send_bytes(404, b"not found", "text/plain")
        else:
            route(self, n_hits)

    def send_bytes(self, status: int, body: bytes, content_type: str | None, **headers: str) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send_bytes(status, b"", "text/html", Location=location)

    def stream_forever(self, chunk: bytes, pause: float) -> None:
        """200 without Content-Length, chunks until the client hangs up."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            while not self.server.stopping.is_set():
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass

    def reset(self) -> None:
        """Close with RST and no response at all."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def announce_huge(self) -> None:
        """Announces a gigabyte and sends a little: a client must refuse from the header."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(10**9))
        self.end_headers()
        try:
            self.wfile.write(b"\xff\xd8" + b"\0" * 1024)
        except OSError:
            pass

    def slow(self) -> None:
        """Headers only after 3 s, longer than any test's total timeout."""
        if not self.server.stopping.wait(3):
            self.send_bytes(200, PNG, "image/png")

    def count_concurrency(self) -> None:
        host = self.headers.get("Host", "")
        with self.server.lock:
            self.server.active[host] += 1
            self.server.max_active[host] = max(self.server.max_active[host], self.server.active[host])
            self.server.max_total = max(self.server.max_total, sum(self.server.active.values()))
        try:
            time.sleep(0.15)
            self.send_bytes(200, PNG, "image/png")
        finally:
            with self.server.lock:
                self.server.active[host] -= 1


Route = Callable[[FaultHandler, int], None]

ROUTES: dict[str, Route] = {
    "/img.png": lambda h, n: h.send_bytes(200, PNG, "image/png"),
    "/img.jpg": lambda h, n: h.send_bytes(200, JPEG, "image/jpeg; charset=binary"),
    "/octet": lambda h, n: h.send_bytes(200, PNG, "application/octet-stream"),
    "/untyped": lambda h, n: h.send_bytes(200, PNG, None),
    "/404": lambda h, n: h.send_bytes(404, b"gone", "text/html"),
    "/410": lambda h, n: h.send_bytes(410, b"gone", "text/html"),
    "/500": lambda h, n: h.send_bytes(500, b"boom", "text/plain"),
    "/flaky-500": lambda h, n: h.send_bytes(500, b"boom", "text/plain") if n == 1 else h.send_bytes(200, PNG, "image/png"),
    "/429": lambda h, n: h.send_bytes(429, b"slow down", "text/plain", Retry_After="0"),
    "/reset": lambda h, n: h.reset(),
    "/slow": lambda h, n: h.slow(),
    "/endless": lambda h, n: h.stream_forever(b"\x89", 0.05),  # trickles: ends in timeout
    "/flood": lambda h, n: h.stream_forever(b"\0" * 65536, 0),  # fast: ends in too_large
    "/loop-a": lambda h, n: h.redirect("/loop-b"),
    "/loop-b": lambda h, n: h.redirect("/loop-a", 301),
    "/chain": lambda h, n: chain(h),
    "/to-img": lambda h, n: h.redirect("img.png", 307),
    "/to-metadata": lambda h, n: h.redirect("http://169.254.169.254/latest/meta-data/"),
    "/to-private": lambda h, n: h.redirect("http://10.0.0.1/x"),
    "/to-ftp": lambda h, n: h.redirect("ftp://example.org/a.png"),
    "/to-utf8": lambda h, n: h.send_bytes(302, b"", None, Location="/caf\u00e9.png".encode().decode("latin-1")),
    "/café.png": lambda h, n: h.send_bytes(200, PNG, "image/png"),
    "/html": lambda h, n: h.send_bytes(200, b"<html>hi</html>", "text/html; charset=utf-8"),
    "/huge": lambda h, n: h.announce_huge(),
    "/noai": lambda h, n: h.send_bytes(200, PNG, "image/png", X_Robots_Tag="noai"),
    "/otherbot-noimageai": lambda h, n: h.send_bytes(200, PNG, "image/png", X_Robots_Tag="otherbot: noimageai"),
    "/noindex": lambda h, n: h.send_bytes(200, PNG, "image/png", X_Robots_Tag="noindex, nofollow"),
    "/redirect-noai": lambda h, n: h.send_bytes(302, b"", None, Location="/img.png", X_Robots_Tag="NoAI"),
    "/count": lambda h, n: h.count_concurrency(),
    # Bytes that download fine but must not decode (used by the fetch stage's tests).
    "/photo.png": lambda h, n: h.send_bytes(200, PHOTO_PNG, "image/png"),
    "/corrupt.jpg": lambda h, n: h.send_bytes(200, CORRUPT_JPEG, "image/jpeg"),
    "/truncated.png": lambda h, n: h.send_bytes(200, PHOTO_PNG[: len(PHOTO_PNG) // 2], "image/png"),
    "/bomb.png": lambda h, n: h.send_bytes(200, make_png_bomb(), "image/png"),
    "/image.svg": lambda h, n: h.send_bytes(200, SVG, "image/svg+xml"),
}


def chain(handler: FaultHandler) -> None:
    """/chain?n=K redirects K times, then serves the image."""
    query = parse_qs(urlsplit(handler.path).query)
    n = int(query.get("n", ["0"])[0])
    if n > 0:
        handler.redirect(f"/chain?n={n - 1}&t={query.get('t', [''])[0]}")
    else:
        handler.send_bytes(200, PNG, "image/png")


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast_settings(fault_server: FaultServer) -> DownloadSettings:
    """Fast settings for tests: loopback allowed, short timeouts, quick retries."""
    return DownloadSettings(
        threads=8, per_host=2, connect_timeout=1.0, total_timeout=1.0, retries=2, backoff=0.01,
        max_bytes=1 << 20, allow_networks=LOCAL,
        host_map={"images.example.org": f"127.0.0.1:{fault_server.port}",
                  "cdn.example.net": f"127.0.0.1:{fault_server.port}"},
    )


# -- forward proxy ----------------------------------------------------------------------------


class ForwardProxy(QuietServer):
    """A plain-HTTP forward proxy: records each request line and Host header, then forwards
    to the fault server whatever host the URL names (it plays the whole internet)."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.upstream_port = upstream_port
        self.seen: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ForwardProxy

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.seen.append((self.path, self.headers.get("Host")))
        parts = urlsplit(self.path)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=5)
        try:
            upstream.request("GET", path, headers=dict(self.headers.items()))
            response = upstream.getresponse()
            body = response.read()
        finally:
            upstream.close()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def forward_proxy(fault_server: FaultServer) -> Iterator[ForwardProxy]:
    proxy = ForwardProxy(fault_server.port)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


# -- TLS --------------------------------------------------------------------------------------


@dataclass
class TlsServer:
    port: int
    ca_file: Path
    sni: list[str | None] = field(default_factory=list)


def _write_ca_and_leaf(folder: Path, hostname: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for ``hostname`` signed by it (PEM files)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def build(subject: str, issuer_name: x509.Name | None, issuer_key, public_key, ca: bool, san: str | None):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256()), name

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert, ca_name = build("interleaf test CA", None, ca_key, ca_key.public_key(), True, None)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert, _ = build(hostname, ca_name, ca_key, leaf_key.public_key(), False, hostname)
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file.write_bytes(leaf_cert.public_bytes(pem))
    key_file.write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_file, cert_file, key_file


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    """HTTPS on 127.0.0.1 with a certificate for secure.example.org; records SNI names."""
    ca_file, cert_file, key_file = _write_ca_and_leaf(tmp_path_factory.mktemp("tls"), "secure.example.org")
    server = FaultServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    info = TlsServer(port=server.port, ca_file=ca_file)
    context.sni_callback = lambda sock, name, ctx: info.sni.append(name)  # type: ignore[assignment]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield info
    server.shutdown()
    server.server_close()


# -- connect recorder -------------------------------------------------------------------------


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every IP any socket in this process tries to connect to during the test."""
    seen: list[str] = []
    real_connect = socket.socket.connect
    real_create = socket.create_connection

    def recording_connect(self: socket.socket, address):
        seen.append(str(address[0]) if isinstance(address, tuple) else str(address))
        return real_connect(self, address)

    def recording_create(address, *args, **kwargs):
        seen.append(str(address[0]))
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket, "create_connection", recording_create)
    return seen
