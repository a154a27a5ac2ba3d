"""WARC records as plain dataclasses, read with warcio or FastWARC behind one interface.

:func:`read_records` never raises on bad data: what goes wrong with a file is written to a
:class:`WarcFileReport` (a reason code and a message) and reading stops or goes on as far
as the data allows. Only misuse (an unknown reader name) raises.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator

from pipeline.warc.framing import (
    GZIP_MAGIC,
    Framing,
    FramingError,
    PeekStream,
    check_tail,
    sniff,
)
from pipeline.warc.httpmsg import content_type, decode_body, parse_http
from pipeline.warc.readers import BACKENDS, RawRecord, WholeFileGzip, backend
from pipeline.warc.sources import InputError, is_local, local_path, open_input

# FastWARC: 1.7x warcio end to end, 2.4x for parsing alone, on 2 cores (bench/warc_readers.py).
DEFAULT_READER = "fastwarc"
HTTP_RECORD_TYPES = frozenset({"response", "request", "revisit"})
# warcio strips the <...> some writers put around these URIs, FastWARC does not: strip both.
URI_HEADERS = frozenset({"warc-target-uri", "warc-refers-to-target-uri"})


@dataclass
class WarcRecord:
    warc_file: str  # the URI the record was read from
    record_id: str
    offset: int | None  # byte offset of the record (its gzip member) in the file
    record_type: str  # "response", "request", "metadata", "warcinfo", "revisit", ...
    target_uri: str | None
    date: str | None  # WARC-Date, ISO 8601
    http_status: int | None = None
    http_headers: dict[str, str] = field(default_factory=dict)  # lower-case keys
    mime: str | None = None  # payload Content-Type without params, lower case
    charset: str | None = None
    payload: bytes = b""  # decoded HTTP body, or the block of a non-HTTP record
    # Why the payload is not fully decoded ("truncated", "content_encoding:br", ...).
    payload_error: str | None = None
    warc_headers: dict[str, str] = field(default_factory=dict)  # lower-case keys
    is_http: bool = False

    @property
    def warc_truncated(self) -> str | None:
        """The crawler's WARC-Truncated reason (payload cut at capture, e.g. "length")."""
        return self.warc_headers.get("warc-truncated")


@dataclass
class WarcFileReport:
    uri: str
    records: int = 0
    bytes_read: int | None = None
    truncated: bool = False
    error: str | None = None  # short reason code: "truncated", "whole_file_gzip", ...
    detail: str | None = None
    reader: str | None = None  # back-end actually used (ARC always goes through warcio)

    def fail(self, reason: str, detail: str = "") -> None:
        """Record a problem; the first one is the file's error."""
        if reason == "truncated":
            self.truncated = True
        if self.error is None:
            self.error = reason
            self.detail = detail or None


def read_records(
    uri: str,
    reader: str = DEFAULT_READER,
    report: WarcFileReport | None = None,
    storage_options: dict[str, Any] | None = None,
    max_block_bytes: int | None = None,
) -> Iterator[WarcRecord]:
    """Yield every record of a WARC/ARC file in order; problems go to ``report``.

    ``report`` is complete once the iterator is exhausted. Records whose block is longer
    than ``max_block_bytes`` are yielded without payload (``payload_error="too_large"``),
    so memory stays bounded whatever a crawl archived. Raises ``ValueError`` only for an
    unknown ``reader``.
    """
    backend(reader)  # validate now, not at the first next()
    return _read_records(uri, reader, report or WarcFileReport(uri), storage_options, max_block_bytes)


def _read_records(
    uri: str, reader: str, report: WarcFileReport, storage_options: dict[str, Any] | None,
    max_block_bytes: int | None = None,
) -> Iterator[WarcRecord]:
    try:
        raw = open_input(uri, storage_options)
    except InputError as err:
        report.fail(err.reason, err.detail or str(err))
        return
    stream = PeekStream(raw)
    last_offset: int | None = None
    try:
        framing = _sniff(stream, report)
        if framing is None:
            return
        report.reader = "warcio" if framing.kind == "arc" else reader
        records = _records(stream, report.reader, uri, report, arc=framing.kind == "arc",
                           max_block_bytes=max_block_bytes)
        for record in records:
            last_offset = record.offset
            yield record
    finally:
        report.bytes_read = stream.bytes_read
        stream.close()
    if report.error in (None, "corrupt") and framing.kind == "warc" and is_local(uri):
        problem = check_tail(local_path(uri), last_offset, framing)
        if problem == "truncated" and report.error == "corrupt":
            # The parser choked on a gzip member cut by the end of the file: truncation.
            report.error = report.detail = None
        if problem:
            report.fail(problem, "file ends inside a record or gzip member")


def _sniff(stream: PeekStream, report: WarcFileReport) -> Framing | None:
    try:
        return sniff(stream)
    except FramingError as err:
        report.fail(err.reason, err.detail)
    except Exception as err:  # network/filesystem errors while reading the first bytes
        report.fail("read_failed", f"{type(err).__name__}: {err}")
    return None


def _records(
    stream: IO[bytes], reader: str, uri: str, report: WarcFileReport, arc: bool = False,
    max_block_bytes: int | None = None,
) -> Iterator[WarcRecord]:
    raws = BACKENDS[reader](stream, max_block_bytes)
    while True:
        try:
            raw = next(raws)
        except StopIteration:
            return
        except WholeFileGzip as err:
            report.fail("whole_file_gzip", str(err))
            return
        except Exception as err:  # the parsers' many error types, all meaning bad data
            report.fail(_error_reason(err), f"{type(err).__name__}: {err}")
            return
        record = build_record(raw, uri, arc=arc)
        if record is None:
            report.fail("truncated", f"record header cut short at offset {raw.offset}")
            return
        report.records += 1
        if record.payload_error == "truncated":
            report.fail("truncated", f"record at offset {record.offset} shorter than declared")
        yield record


def _error_reason(err: Exception) -> str:
    name = type(err).__name__
    if isinstance(err, EOFError) or "IncompleteRead" in name or "incomplete" in str(err).lower():
        return "truncated"
    if "Protocol" in name or "Timeout" in name or "Connection" in name:
        return "read_failed"
    return "corrupt"


# -- building records -------------------------------------------------------------------------


def build_record(
    raw: RawRecord, uri: str, base: int = 0, arc: bool = False
) -> WarcRecord | None:
    """A :class:`WarcRecord` from a back-end's raw record; None if its header is incomplete.

    ``base`` is added to the raw offset (reads that start mid-file); ``arc`` marks records
    converted from ARC, whose record ids warcio makes up at random: they get stable ones.
    """
    headers = _header_dict(raw.headers)
    record_type = headers.get("warc-type", "").lower()
    declared = raw.length
    if not record_type or declared is None:
        return None  # a header block cut short by the end of the file
    offset = base + raw.offset
    target = headers.get("warc-target-uri") or None
    date = _iso_date(headers.get("warc-date"))
    if arc or "warc-record-id" not in headers:
        headers["warc-record-id"] = _synthetic_id(target, date, offset)
    record = WarcRecord(
        warc_file=uri,
        record_id=headers["warc-record-id"],
        offset=offset,
        record_type=record_type,
        target_uri=target,
        date=date,
        warc_headers=headers,
    )
    if raw.oversize:
        record.payload_error = "too_large"
        return record
    truncated = len(raw.block) < declared
    if _is_http(record_type, headers, raw.block):
        _fill_http(record, raw.block, truncated)
    else:
        record.mime, record.charset = content_type(headers.get("content-type"))
        record.payload = raw.block
    if truncated:
        record.payload_error = "truncated"
    return record


def _fill_http(record: WarcRecord, block: bytes, truncated: bool) -> None:
    msg = parse_http(block)
    record.is_http = True
    record.http_status = msg.status
    record.http_headers = msg.headers
    record.mime, record.charset = content_type(msg.headers.get("content-type"))
    if truncated:
        record.payload = msg.body  # a cut body cannot be decoded; keep it as stored
    else:
        record.payload, record.payload_error = decode_body(msg.body, msg.headers)


def _is_http(record_type: str, headers: dict[str, str], block: bytes) -> bool:
    if record_type not in HTTP_RECORD_TYPES:
        return False
    ctype = headers.get("content-type", "").lower()
    if ctype.startswith("application/http"):
        return True
    # Old writers left Content-Type out; dns: and other non-HTTP responses have their own.
    return not ctype and block.startswith(b"HTTP/")


def _header_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    for key in URI_HEADERS.intersection(headers):
        headers[key] = _target_uri(headers[key]) or ""
    return headers


def _target_uri(value: str | None) -> str | None:
    if not value:
        return None
    # WARC 1.0's grammar showed <...> around the URI and some writers copied it.
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) == 14 and value.isdigit():  # ARC-style 14-digit timestamp
        v = value
        return f"{v[:4]}-{v[4:6]}-{v[6:8]}T{v[8:10]}:{v[10:12]}:{v[12:]}Z"
    return value


def _synthetic_id(target: str | None, date: str | None, offset: int) -> str:
    """A stable id for records that carry none (so document ids stay deterministic)."""
    digest = hashlib.sha1(f"{target}\0{date}\0{offset}".encode("utf-8")).hexdigest()
    return f"<urn:sha1:{digest}>"


# -- random access ----------------------------------------------------------------------------


def read_record_at(uri: str, offset: int, reader: str = DEFAULT_READER) -> WarcRecord | None:
    """The record starting at ``offset`` of a local WARC/ARC file, or None if there is none."""
    return next(read_records_at(uri, [offset], reader))


def read_records_at(
    uri: str, offsets: Iterable[int], reader: str = DEFAULT_READER
) -> Iterator[WarcRecord | None]:
    """The records at ``offsets`` of one local file, opened once; None where none starts.

    Offsets are those of :attr:`WarcRecord.offset` from a first pass over the same file.
    Raises ``ValueError`` for a remote URI (copy it first with ``local_copy``).
    """
    backend(reader)
    if not is_local(uri):
        raise ValueError(f"read_record_at needs a local file, got {uri!r}; use local_copy()")
    return _records_at(uri, offsets, reader)


def _records_at(uri: str, offsets: Iterable[int], reader: str) -> Iterator[WarcRecord | None]:
    try:
        f = open(local_path(uri), "rb")
    except OSError:
        yield from (None for _ in offsets)
        return
    with f:
        framing = _sniff(PeekStream(f), WarcFileReport(uri))
        for offset in offsets:
            if framing is None:
                yield None
                continue
            name = "warcio" if framing.kind == "arc" else reader
            yield _one_record_at(f, uri, offset, name, arc=framing.kind == "arc")


def _record_starts_at(f: IO[bytes], offset: int, arc: bool) -> bool:
    """Whether a WARC record (or its gzip member) starts at ``offset``.

    Checked before parsing because warcio falls back to lenient ARC parsing and would
    turn bytes from the middle of a record into a made-up record.
    """
    f.seek(offset)
    head = f.read(512)
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
        except zlib.error:
            return False
    return arc or head.startswith(b"WARC/")


def _one_record_at(
    f: IO[bytes], uri: str, offset: int, reader: str, arc: bool
) -> WarcRecord | None:
    if not _record_starts_at(f, offset, arc):
        return None
    f.seek(offset)
    raws = BACKENDS[reader](PeekStream(f), None)
    try:
        raw = next(raws, None)
    except Exception:  # not a record boundary, or damaged data: no record here
        return None
    finally:
        raws.close()
    if raw is None or raw.offset != 0:
        return None
    return build_record(raw, uri, base=offset, arc=arc)
