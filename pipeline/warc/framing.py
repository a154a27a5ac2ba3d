"""How a WARC file's bytes are framed: format sniffing and end-of-file integrity.

The readers trust the framing they are given, so the awkward cases are settled here, the
same way for both: gzip per record or uncompressed, WARC or legacy ARC, a whole-file gzip
(one gzip member holding many records: warcio refuses it, FastWARC reads it without usable
offsets, so it is a per-file error), and files cut short (a truncated last gzip member or a
partial last record that the readers silently drop).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import IO

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
SNIFF_CHUNK = 64 << 10
SNIFF_LIMIT = 8 << 20  # compressed bytes read at most while looking at the first member
HEAD_MAX = 64 << 10  # a WARC header block larger than this is not worth sniffing
TAIL_LIMIT = 64 << 10  # bytes after the last record that the tail check still inspects


class FramingError(Exception):
    """The file cannot be read as WARC/ARC. ``reason`` is the per-file report code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Framing:
    kind: str  # "warc" | "arc"
    gzip: bool


class PeekStream:
    """A read-only stream whose first bytes can be looked at, then read again.

    Counts the bytes taken from the underlying stream (``bytes_read``).
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._buf = bytearray()
        self.bytes_read = 0

    def fill(self, size: int) -> bytes:
        """Read up to ``size`` more bytes into the replay buffer and return them."""
        chunk = self._raw.read(size)
        self._buf += chunk
        self.bytes_read += len(chunk)
        return chunk

    def peek(self, size: int) -> bytes:
        while len(self._buf) < size and self.fill(size - len(self._buf)):
            pass
        return bytes(self._buf[:size])

    def read(self, size: int = -1) -> bytes:
        if self._buf:
            if size is None or size < 0:
                data = bytes(self._buf) + self._read_raw(-1)
                self._buf.clear()
                return data
            data = bytes(self._buf[:size])
            del self._buf[:size]
            return data
        return self._read_raw(size)

    def _read_raw(self, size: int) -> bytes:
        data = self._raw.read(size)
        self.bytes_read += len(data)
        return data

    def buffered(self) -> bytes:
        return bytes(self._buf)

    def tell(self) -> int:
        """Position in the stream as read through this object (FastWARC asks for it)."""
        return self.bytes_read - len(self._buf)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()


def sniff(stream: PeekStream) -> Framing:
    """Tell WARC from ARC, compressed from not; raise :class:`FramingError` otherwise."""
    head = stream.peek(16)
    if not head:
        raise FramingError("empty_file")
    if head.startswith(GZIP_MAGIC):
        return _sniff_gzip(stream)
    if head.startswith(ZSTD_MAGIC):
        raise FramingError("unsupported_compression", "zstd")
    return Framing(_kind_of(head), gzip=False)


def _kind_of(head: bytes) -> str:
    if head.startswith(b"WARC/"):
        return "warc"
    if head.startswith(b"filedesc://"):
        return "arc"
    raise FramingError("not_a_warc", f"starts with {bytes(head[:16])!r}")


def _sniff_gzip(stream: PeekStream) -> Framing:
    """Decompress the first member: its format, and whether more records follow inside it."""
    scan = _FirstMemberScan()
    pending = stream.buffered()  # the bytes peeked so far start the member
    fed = len(pending)
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    while not d.eof:
        if not pending:
            if fed >= SNIFF_LIMIT:
                break  # inconclusive: the readers' own checks still apply
            pending = stream.fill(SNIFF_CHUNK)
            fed += len(pending)
            if not pending:
                break  # first member cut short: reading will report the truncation
        try:
            piece = d.decompress(pending, SNIFF_CHUNK)
        except zlib.error as err:
            raise FramingError("corrupt", f"bad gzip data: {err}") from err
        pending = d.unconsumed_tail
        if scan.feed(piece):
            raise FramingError(
                "whole_file_gzip", "several records share one gzip member (not gzip per record)"
            )
        if scan.kind == "arc" or scan.gave_up:
            break
    if scan.kind is None:
        if not d.eof:
            raise FramingError("truncated", "file ends inside its first gzip member")
        scan.kind = _kind_of(bytes(scan.head))
    return Framing(scan.kind, gzip=True)


class _FirstMemberScan:
    """Follows the decompressed first member: finds where its first record ends."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.total = 0
        self.kind: str | None = None
        self.record_end: int | None = None
        self.gave_up = False

    def feed(self, piece: bytes) -> bool:
        """Take the next decompressed bytes; True once data is seen after the first record."""
        start = self.total
        self.total += len(piece)
        if len(self.head) < HEAD_MAX:
            self.head += piece[: HEAD_MAX - len(self.head)]
        if self.kind is None and len(self.head) >= 16:
            self.kind = _kind_of(bytes(self.head))
        if self.kind != "warc":
            return False
        if self.record_end is None:
            self.record_end = _first_record_end(bytes(self.head))
            if self.record_end is None:
                self.gave_up = len(self.head) >= HEAD_MAX
                return False
            return bool(self.head[self.record_end :].strip(b"\r\n"))
        beyond = piece[max(0, self.record_end - start) :]
        return bool(beyond.strip(b"\r\n"))


def _first_record_end(head: bytes) -> int | None:
    """Offset just past the first record's block, from its headers; None if not known yet."""
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return None
    length = content_length(head[:end])
    return None if length is None else end + 4 + length


def content_length(header_block: bytes) -> int | None:
    for line in header_block.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


# -- end-of-file integrity --------------------------------------------------------------------


def check_tail(path: str, last_offset: int | None, framing: Framing) -> str | None:
    """Look at a local file from its last record on; the reason code if it was cut short.

    The readers stop quietly when a file ends inside a record header or a gzip trailer,
    so this re-reads the small tail (the last record and what follows) and checks that
    every gzip member ends properly and no partial record follows.
    """
    with open(path, "rb") as f:
        f.seek(last_offset or 0)
        if framing.gzip:
            return _gzip_tail_problem(f)
        return _plain_tail_problem(f, has_record=last_offset is not None)


def _gzip_tail_problem(f: IO[bytes]) -> str | None:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    started = False
    while True:
        chunk = d.unused_data or f.read(SNIFF_CHUNK)
        if d.eof:
            if not chunk:
                return None
            if not chunk.startswith(GZIP_MAGIC[:len(chunk)]):
                rest = chunk + f.read(TAIL_LIMIT)
                return "trailing_garbage" if rest.strip(b"\r\n\x00 ") else None
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            started = False
        if not chunk:
            return "truncated" if started else None
        started = True
        try:
            while chunk:
                d.decompress(chunk, SNIFF_CHUNK)
                chunk = d.unconsumed_tail
        except zlib.error:
            return "corrupt"


def _plain_tail_problem(f: IO[bytes], has_record: bool) -> str | None:
    head = f.read(HEAD_MAX)
    if not has_record:
        return "truncated" if head.strip(b"\r\n") else None
    end = _first_record_end(head)
    if end is None:
        return "truncated"
    f.seek(f.tell() - len(head) + end)
    rest = f.read(TAIL_LIMIT)
    return "truncated" if rest.strip(b"\r\n") else None
