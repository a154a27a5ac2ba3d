"""HTTP header parsing and body decoding shared by both WARC readers."""

from __future__ import annotations

import gzip
import zlib

import brotli

from pipeline.warc.httpmsg import content_type, decode_body, dechunk, parse_http


def test_parse_response_headers() -> None:
    msg = parse_http(b"HTTP/1.1 404 Not Found\r\nContent-Type: Text/HTML; Charset=\"ISO-8859-1\"\r\n"
                     b"Set-Cookie: a=1\r\nset-cookie: b=2\r\nX-Long: one\r\n  two\r\n\r\nbody\r\n\r\nmore")
    assert msg.status == 404
    assert msg.headers == {"content-type": 'Text/HTML; Charset="ISO-8859-1"',
                           "set-cookie": "a=1, b=2", "x-long": "one two"}
    assert msg.body == b"body\r\n\r\nmore"
    assert content_type(msg.headers["content-type"]) == ("text/html", "iso-8859-1")


def test_parse_lf_only_request_and_headers_only() -> None:
    req = parse_http(b"GET / HTTP/1.0\nHost: a\n\n")
    assert (req.status, req.headers, req.body) == (None, {"host": "a"}, b"")
    assert parse_http(b"HTTP/1.1 304 Not Modified\r\nETag: x").headers == {"etag": "x"}
    assert content_type(None) == (None, None) and content_type("image/png") == ("image/png", None)


def test_decode_chain() -> None:
    data = b"<p>hello</p>" * 50
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 100]), data[i:i + 100])
                       for i in range(0, len(data), 100)) + b"0\r\n\r\n"
    assert dechunk(chunked) == data
    assert decode_body(chunked, {"transfer-encoding": "chunked"}) == (data, None)
    assert decode_body(gzip.compress(data) * 2, {"content-encoding": "gzip"}) == (data * 2, None)
    assert decode_body(zlib.compress(data), {"content-encoding": "deflate"}) == (data, None)
    raw_deflate = zlib.compressobj(wbits=-15)
    assert decode_body(raw_deflate.compress(data) + raw_deflate.flush(),
                       {"content-encoding": "deflate"}) == (data, None)
    both = brotli.compress(gzip.compress(data))
    assert decode_body(both, {"content-encoding": "gzip, br"}) == (data, None)
    assert decode_body(data, {"content-encoding": "identity"}) == (data, None)


def test_decode_failures_keep_bytes() -> None:
    assert decode_body(b"plain text", {"transfer-encoding": "chunked"}) == (b"plain text", None)
    assert decode_body(b"not gzip", {"content-encoding": "gzip"}) == (b"not gzip", "content_encoding:gzip")
    assert decode_body(b"x", {"content-encoding": "zstd"}) == (b"x", "content_encoding:zstd")
    assert decode_body(b"\x0b\x02\x80garbage", {"content-encoding": "br"})[1] == "content_encoding:br"
