"""Fixtures for the WARC layer: WARCs written on the fly, a local HTTP server, a local S3.

The HTTP and S3 servers run on 127.0.0.1 in threads: they stand in for the internet
(Common Crawl's https endpoint and its S3 bucket), so these tests need no network.
"""

from __future__ import annotations

import functools
import gzip
import io
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SHARED_WARC = Path(__file__).parents[3] / ".." / "shared" / "data" / "warc"


@dataclass
class Spec:
    """One record to write: what the tests later expect to read back."""

    record_type: str
    uri: str | None
    body: bytes = b""  # HTTP body as stored (possibly chunked / compressed)
    http_headers: list[tuple[str, str]] = field(default_factory=list)
    status: str = "200 OK"
    content_type: str | None = None  # WARC Content-Type of non-HTTP records
    record_id: str | None = None  # filled in when written
    date: str | None = None


def write_warc(path: Path, specs: list[Spec], compress: bool = True) -> Path:
    """Write ``specs`` with warcio's WARCWriter (gzip per record or uncompressed)."""
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=compress)
        for spec in specs:
            record = _make_record(writer, spec)
            spec.record_id = record.rec_headers.get_header("WARC-Record-ID")
            spec.date = record.rec_headers.get_header("WARC-Date")
            writer.write_record(record)
    return path


def _make_record(writer: WARCWriter, spec: Spec):  # type: ignore[no-untyped-def]
    if spec.record_type == "warcinfo":
        return writer.create_warcinfo_record(path_name(spec.uri), {"software": "interleaf-test"})
    if spec.record_type == "revisit":
        headers = StatusAndHeaders(spec.status, spec.http_headers, protocol="HTTP/1.1")
        return writer.create_revisit_record(
            spec.uri, "sha1:AAAA", spec.uri, "2024-01-01T00:00:00Z", http_headers=headers
        )
    if spec.record_type == "request":
        headers = StatusAndHeaders(f"GET {spec.uri} HTTP/1.1", spec.http_headers,
                                   is_http_request=True)
        return writer.create_warc_record(spec.uri, "request", http_headers=headers)
    if spec.record_type == "response":
        headers = StatusAndHeaders(spec.status, spec.http_headers, protocol="HTTP/1.1")
        return writer.create_warc_record(spec.uri, "response", payload=io.BytesIO(spec.body),
                                         http_headers=headers)
    return writer.create_warc_record(spec.uri, spec.record_type, payload=io.BytesIO(spec.body),
                                     warc_content_type=spec.content_type)


def path_name(uri: str | None) -> str:
    return uri or "test.warc.gz"


def html_response(uri: str, html: bytes, extra: list[tuple[str, str]] | None = None) -> Spec:
    headers = [("Content-Type", "text/html; charset=UTF-8")] + (extra or [])
    return Spec("response", uri, html, headers)


def chunked(data: bytes, size: int = 7) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size])
             for i in range(0, len(data), size)]
    return b"".join(parts) + b"0\r\n\r\n"


class WarcKit:
    """The helpers above, handed to tests as the ``kit`` fixture.

    A fixture rather than ``from conftest import``: that import breaks as soon as two
    conftest.py files share the module name, and under pytest's importlib mode.
    """

    Spec = Spec
    write_warc = staticmethod(write_warc)
    html_response = staticmethod(html_response)
    chunked = staticmethod(chunked)
    gz_lines = staticmethod(lambda lines: gz_lines(lines))


@pytest.fixture
def kit() -> type[WarcKit]:
    return WarcKit


@pytest.fixture
def shared_warc() -> Path:
    if not SHARED_WARC.is_dir():
        pytest.skip(f"shared WARC data not found at {SHARED_WARC.resolve()}")
    return SHARED_WARC


# -- local HTTP server ------------------------------------------------------------------------


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def end_headers(self) -> None:
        # Like some static servers, label .gz files as gzip-encoded: a client that decodes
        # transparently would then hand over uncompressed bytes.
        if self.path.endswith(".gz"):
            self.send_header("Content-Encoding", "gzip")
        super().end_headers()


@dataclass
class HttpServer:
    root: Path
    url: str  # base URL ending in "/"


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[HttpServer]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_Handler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpServer(root, f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# The local S3 fixtures (s3_endpoint, s3_bucket) live in tests/conftest.py: jobs use them too.


def gz_lines(lines: list[str]) -> bytes:
    return gzip.compress("".join(f"{line}\n" for line in lines).encode())
