"""The two WARC parsing back-ends behind one small interface.

Each back-end turns a byte stream into :class:`RawRecord` (offset, WARC headers, block
bytes) and does nothing else: HTTP parsing and decoding are shared (httpmsg.py), so both
back-ends yield the same records. warcio also reads legacy ARC files (converted to WARC
headers); FastWARC does not, so ARC input always goes through warcio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Callable, Iterator

READERS = ("fastwarc", "warcio")


class WholeFileGzip(Exception):
    """Several records were found in one gzip member while reading."""


@dataclass(slots=True)
class RawRecord:
    offset: int  # position of the record (its gzip member) in the stream read
    headers: list[tuple[str, str]]  # WARC headers in file order, names as written
    block: bytes
    length: int | None  # declared block length; None when the header block is incomplete
    oversize: bool = False  # block longer than the caller's limit: skipped, never in memory


def _too_large(length: int | None, max_block: int | None) -> bool:
    return max_block is not None and length is not None and length > max_block


def iter_warcio(stream: IO[bytes], max_block: int | None = None) -> Iterator[RawRecord]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    it = ArchiveIterator(stream, no_record_parse=True, arc2warc=True)
    try:
        for rec in it:
            # rec.length, not Content-Length: for ARC headers warcio declares a length it
            # does not serve as block (the filedesc body).
            oversize = _too_large(rec.length, max_block)
            block = b"" if oversize else rec.raw_stream.read()
            # get_record_offset() reads the record to its end: call it after the block.
            offset = it.get_record_offset()
            yield RawRecord(offset, list(rec.rec_headers.headers), block, rec.length, oversize)
    except ArchiveLoadFailed as err:
        if "non-chunked gzip" in str(err):
            raise WholeFileGzip(str(err).strip()) from err
        raise


def iter_fastwarc(stream: IO[bytes], max_block: int | None = None) -> Iterator[RawRecord]:
    from fastwarc.warc import ArchiveIterator

    last = -1
    for rec in ArchiveIterator(stream, parse_http=False):
        pos = rec.stream_pos
        # In a whole-file gzip FastWARC reports one position for many records.
        if pos <= last:
            raise WholeFileGzip(f"record offsets stop increasing at {pos}")
        last = pos
        headers = list(rec.headers.to_tuples())
        length = _declared_length(rec.headers)
        oversize = _too_large(length, max_block)
        # An unread block is skipped by the iterator, so a huge record never sits in memory.
        yield RawRecord(pos, headers, b"" if oversize else rec.reader.read(), length, oversize)


def _declared_length(headers: object) -> int | None:
    value = headers.get("Content-Length")  # type: ignore[attr-defined]
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


BACKENDS: dict[str, Callable[[IO[bytes], int | None], Iterator[RawRecord]]] = {
    "fastwarc": iter_fastwarc,
    "warcio": iter_warcio,
}


def backend(name: str) -> Callable[[IO[bytes], int | None], Iterator[RawRecord]]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown WARC reader {name!r}; choose one of {READERS}") from None
