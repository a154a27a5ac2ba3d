"""HTTP messages stored in WARC records: header parsing and body decoding.

Both WARC readers hand over the raw record block and this module does the HTTP part, so the
two readers produce the same records and bad bodies are handled one way: decoding never
raises, it returns the undecoded bytes with an error code instead.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

# A decoded body larger than this is treated as a decompression bomb, not as content.
MAX_DECODED_BYTES = 256 << 20


@dataclass
class HttpMessage:
    status: int | None  # None for requests and unparsable status lines
    headers: dict[str, str] = field(default_factory=dict)  # lower-case keys
    body: bytes = b""


def parse_http(block: bytes) -> HttpMessage:
    """Split a request/response block into status, headers and (still encoded) body."""
    head, body = _split_head(block)
    text = _decode_header_bytes(head)
    lines = text.replace("\r\n", "\n").split("\n")
    return HttpMessage(status=_status_of(lines[0]), headers=_header_dict(lines[1:]), body=body)


def _split_head(block: bytes) -> tuple[bytes, bytes]:
    # Some crawlers wrote LF-only headers; take whichever blank line comes first.
    crlf = block.find(b"\r\n\r\n")
    lf = block.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return block[:crlf], block[crlf + 4 :]
    if lf >= 0:
        return block[:lf], block[lf + 2 :]
    return block, b""  # headers only (e.g. a revisit record without the blank line)


def _decode_header_bytes(head: bytes) -> str:
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return head.decode("latin-1")


def _status_of(first_line: str) -> int | None:
    parts = first_line.split(None, 2)
    if len(parts) >= 2 and parts[0].upper().startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def _header_dict(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    last: str | None = None
    for line in lines:
        if line[:1] in (" ", "\t") and last is not None:  # obsolete line folding
            headers[last] = f"{headers[last]} {line.strip()}".strip()
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if not sep or not key:
            continue
        value = value.strip()
        # Repeated headers combine as HTTP defines (RFC 9110 §5.3).
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
        last = key
    return headers


def content_type(value: str | None) -> tuple[str | None, str | None]:
    """``(mime, charset)`` of a Content-Type value, both lower case, None when absent."""
    if not value:
        return None, None
    mime, *params = value.split(";")
    charset = None
    for param in params:
        name, _, val = param.partition("=")
        if name.strip().lower() == "charset":
            charset = val.strip().strip("\"'").lower() or None
    return (mime.strip().lower() or None), charset


# -- body decoding ----------------------------------------------------------------------------


def decode_body(body: bytes, headers: dict[str, str]) -> tuple[bytes, str | None]:
    """Undo Transfer-Encoding: chunked, then Content-Encoding (gzip, deflate, br).

    Returns ``(payload, error)``. On failure ``error`` names the step (for example
    ``"content_encoding:br"``) and the payload is the body as far as it could be decoded
    (de-chunked when only content decoding failed).
    """
    if not body:
        return body, None
    if "chunked" in headers.get("transfer-encoding", "").lower():
        dechunked = dechunk(body)
        if dechunked is None:
            return body, "transfer_encoding:chunked"
        body = dechunked
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")]
    for coding in reversed([c for c in codings if c and c != "identity"]):
        decoder = DECODERS.get(coding)
        if decoder is None:
            return body, f"content_encoding:{coding}"
        try:
            body = decoder(body)
        except (zlib.error, ValueError, MemoryError):
            return body, f"content_encoding:{coding}"
    return body, None


def dechunk(body: bytes) -> bytes | None:
    """Join the chunks of a chunked body; None when the framing is broken mid-way.

    A body that does not start with a chunk-size line was stored already de-chunked (some
    crawlers keep the header): it is returned as is. A missing last chunk is tolerated.
    """
    out: list[bytes] = []
    pos = 0
    while pos < len(body):
        eol = body.find(b"\n", pos)
        if eol < 0:
            if pos == 0:
                return body  # no size line at all: not chunked
            break
        size_field = body[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            return body if pos == 0 else None
        if size == 0:
            break
        start = eol + 1
        out.append(body[start : start + size])
        pos = start + size
        if body.startswith(b"\r\n", pos):
            pos += 2
        elif body.startswith(b"\n", pos):
            pos += 1
    return b"".join(out)


def _gunzip(data: bytes) -> bytes:
    """Decode gzip, including multi-member bodies; an unfinished stream is an error."""
    out: list[bytes] = []
    size = 0
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(d.decompress(data, MAX_DECODED_BYTES - size))
        size += len(out[-1])
        if d.unconsumed_tail:
            raise ValueError("decoded body too large")
        if not d.eof:
            raise ValueError("gzip stream incomplete")
        data = d.unused_data if d.unused_data.startswith(b"\x1f\x8b") else b""
    return b"".join(out)


def _inflate(data: bytes) -> bytes:
    # "deflate" is zlib-wrapped by the RFC but raw deflate in many servers: accept both.
    try:
        return _decompress_bounded(data, zlib.MAX_WBITS)
    except zlib.error:
        return _decompress_bounded(data, -zlib.MAX_WBITS)


def _decompress_bounded(data: bytes, wbits: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, MAX_DECODED_BYTES)
    if d.unconsumed_tail:
        raise ValueError("decoded body too large")
    if not d.eof:
        raise ValueError("deflate stream incomplete")
    return out


def _unbrotli(data: bytes) -> bytes:
    import brotli

    decoder = brotli.Decompressor()
    try:
        out = decoder.process(data)
    except brotli.error as err:
        raise ValueError(f"brotli: {err}") from err
    if len(out) > MAX_DECODED_BYTES:
        raise ValueError("decoded body too large")
    if not decoder.is_finished():
        raise ValueError("brotli stream incomplete")
    return out


DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
}
