"""read_records / read_record_at on WARCs written by the tests themselves."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

import brotli
import pytest

from pipeline.warc.readers import READERS
from pipeline.warc.records import (
    DEFAULT_READER,
    WarcFileReport,
    WarcRecord,
    read_record_at,
    read_records,
    read_records_at,
)

# Hex digests compress poorly, so a cut of a few hundred bytes lands inside the payload.
HTML = (b"<html><head><title>t</title></head><body>"
        + b"".join(b"<p>%s</p>" % hashlib.sha256(b"%d" % i).hexdigest().encode() for i in range(100))
        + b"</body></html>")


def sample_specs(kit: Any) -> list[Any]:
    return [
        kit.Spec("warcinfo", "sample.warc.gz"),
        kit.Spec("request", "http://example.com/", http_headers=[("Host", "example.com")]),
        kit.html_response("http://example.com/", HTML),
        kit.html_response("http://example.com/chunked", kit.chunked(HTML),
                      [("Transfer-Encoding", "chunked")]),
        kit.html_response("http://example.com/gz", gzip.compress(HTML), [("Content-Encoding", "gzip")]),
        kit.html_response("http://example.com/br", brotli.compress(HTML), [("Content-Encoding", "br")]),
        kit.Spec("response", "http://example.com/a.png", b"\x89PNG\r\n\x1a\nfake",
             [("Content-Type", "image/png")]),
        kit.Spec("revisit", "http://example.com/", http_headers=[("Content-Type", "text/html")]),
        kit.Spec("resource", "http://example.com/doc.pdf", b"%PDF-1.4 fake", content_type="application/pdf"),
        kit.Spec("metadata", "http://example.com/", b"fetchTimeMs: 12\r\n",
             content_type="application/warc-fields"),
    ]


def read_all(path: Path, reader: str = DEFAULT_READER) -> tuple[list[WarcRecord], WarcFileReport]:
    report = WarcFileReport(str(path))
    return list(read_records(str(path), reader, report)), report


@pytest.fixture(params=[True, False], ids=["gzip", "plain"])
def sample(request: pytest.FixtureRequest, tmp_path: Path, kit: Any) -> tuple[Path, list[Any]]:
    specs = sample_specs(kit)
    suffix = ".warc.gz" if request.param else ".warc"
    return kit.write_warc(tmp_path / f"sample{suffix}", specs, compress=request.param), specs


@pytest.mark.parametrize("reader", READERS)
def test_reads_every_record_exactly(sample: tuple[Path, list[Any]], reader: str) -> None:
    path, specs = sample
    records, report = read_all(path, reader)

    assert [r.record_type for r in records] == [s.record_type for s in specs]
    assert [r.record_id for r in records] == [s.record_id for s in specs]
    assert [r.date for r in records] == [s.date for s in specs]
    assert all(r.warc_file == str(path) for r in records)
    offsets = [r.offset for r in records]
    assert offsets[0] == 0 and offsets == sorted(set(offsets))
    assert report == WarcFileReport(uri=str(path), records=len(specs),
                                    bytes_read=path.stat().st_size, reader=reader)

    by_uri = {r.target_uri: r for r in records if r.record_type == "response"}
    for uri in ("http://example.com/", "http://example.com/chunked",
                "http://example.com/gz", "http://example.com/br"):
        rec = by_uri[uri]
        assert (rec.payload, rec.payload_error) == (HTML, None), uri
        assert (rec.http_status, rec.mime, rec.charset, rec.is_http) == (200, "text/html", "utf-8", True)
    assert by_uri["http://example.com/chunked"].http_headers["transfer-encoding"] == "chunked"
    assert by_uri["http://example.com/a.png"].payload == b"\x89PNG\r\n\x1a\nfake"
    assert by_uri["http://example.com/a.png"].mime == "image/png"


@pytest.mark.parametrize("reader", READERS)
def test_non_http_and_revisit_records(sample: tuple[Path, list[Any]], reader: str) -> None:
    records, _ = read_all(sample[0], reader)
    kinds = {r.record_type: r for r in records}
    request = kinds["request"]
    assert (request.http_status, request.http_headers["host"], request.payload) == (None, "example.com", b"")
    revisit = kinds["revisit"]
    assert (revisit.http_status, revisit.mime, revisit.payload) == (200, "text/html", b"")
    assert revisit.warc_headers["warc-refers-to-target-uri"] == "http://example.com/"
    resource = kinds["resource"]
    assert (resource.payload, resource.mime, resource.is_http) == (b"%PDF-1.4 fake", "application/pdf", False)
    assert kinds["metadata"].payload == b"fetchTimeMs: 12\r\n"
    assert kinds["warcinfo"].mime == "application/warc-fields"


def test_readers_agree(sample: tuple[Path, list[Any]]) -> None:
    assert read_all(sample[0], "fastwarc")[0] == read_all(sample[0], "warcio")[0]


@pytest.mark.parametrize("reader", READERS)
def test_undecodable_body_keeps_raw_bytes(tmp_path: Path, reader: str, kit: Any) -> None:
    bad_br = b"definitely not brotli"
    bad_chunks = b"5\r\nhello\r\nzz\r\n"
    path = kit.write_warc(tmp_path / "bad.warc.gz", [
        kit.html_response("http://x/br", bad_br, [("Content-Encoding", "br")]),
        kit.html_response("http://x/gz", gzip.compress(HTML)[:-30], [("Content-Encoding", "gzip")]),
        kit.html_response("http://x/zz", b"abc", [("Content-Encoding", "compress")]),
        kit.html_response("http://x/ch", bad_chunks, [("Transfer-Encoding", "chunked")]),
    ])
    records, report = read_all(path, reader)
    assert [(r.payload_error, r.payload) for r in records] == [
        ("content_encoding:br", bad_br),
        ("content_encoding:gzip", gzip.compress(HTML)[:-30]),
        ("content_encoding:compress", b"abc"),
        ("transfer_encoding:chunked", bad_chunks),
    ]
    assert report.error is None  # a bad body is a record problem, not a file problem


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_oversize_records_are_skipped_unread(tmp_path: Path, reader: str, compress: bool, kit: Any) -> None:
    big = b"<html><body>" + b"x" * 50_000 + b"</body></html>"
    path = kit.write_warc(tmp_path / "big.warc.gz", [
        kit.html_response("http://x/big", big),
        kit.html_response("http://x/small", HTML),
    ], compress=compress)
    records = list(read_records(str(path), reader=reader, max_block_bytes=10_000))
    assert [(r.target_uri, r.payload_error, len(r.payload)) for r in records] == [
        ("http://x/big", "too_large", 0), ("http://x/small", None, len(HTML))]
    assert records[0].record_type == "response" and records[0].record_id


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_truncated_inside_last_payload(tmp_path: Path, reader: str, compress: bool, kit: Any) -> None:
    specs = [kit.Spec("warcinfo", "t.warc.gz"), kit.html_response("http://x/1", HTML),
             kit.html_response("http://x/2", HTML)]
    path = kit.write_warc(tmp_path / "t.warc", specs, compress=compress)
    path.write_bytes(path.read_bytes()[:-120])

    records, report = read_all(path, reader)

    assert [r.target_uri for r in records] == [None, "http://x/1", "http://x/2"]
    assert records[1].payload == HTML and records[1].payload_error is None
    last = records[2]
    assert last.payload_error == "truncated"
    assert 0 < len(last.payload) < len(HTML) and HTML.startswith(last.payload)
    assert (report.truncated, report.error, report.records) == (True, "truncated", 3)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_truncated_at_any_point_is_reported(tmp_path: Path, reader: str, compress: bool, kit: Any) -> None:
    specs = [kit.html_response("http://x/1", HTML), kit.html_response("http://x/2", HTML)]
    path = kit.write_warc(tmp_path / "t.warc", specs, compress=compress)
    whole = path.read_bytes()
    intact = read_all(path, reader)[0]
    # Cut in the gzip trailer, in the payload, in the last record's header, in the first record.
    cuts = [3, 8, 50, len(whole) // 2 + 40, len(whole) - 30, len(whole) - 10]
    for cut in cuts if compress else cuts[2:]:  # plain: the last 4 bytes are only CRLFs
        path.write_bytes(whole[:-cut])
        records, report = read_all(path, reader)
        assert report.truncated and report.error == "truncated", cut
        complete = [r for r in records if r.payload_error is None]
        assert complete == intact[: len(complete)], cut
    path.write_bytes(whole)
    assert read_all(path, reader)[1].error is None


@pytest.mark.parametrize("reader", READERS)
def test_whole_file_gzip_is_a_file_error(tmp_path: Path, reader: str, kit: Any) -> None:
    plain = kit.write_warc(tmp_path / "p.warc", sample_specs(kit), compress=False)
    path = tmp_path / "whole.warc.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    records, report = read_all(path, reader)
    assert records == []
    assert (report.error, report.truncated) == ("whole_file_gzip", False)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("content,reason", [
    (b"<html>not a warc</html>", "not_a_warc"),
    (gzip.compress(b"<html>gzipped, not a warc</html>"), "not_a_warc"),
    (b"", "empty_file"),
    (b"\x1f\x8b\x08\x00garbage-after-gzip-magic", "corrupt"),
])
def test_bad_files_are_reported_not_raised(tmp_path: Path, reader: str, content: bytes,
                                           reason: str) -> None:
    path = tmp_path / "bad.warc.gz"
    path.write_bytes(content)
    records, report = read_all(path, reader)
    assert (records, report.error) == ([], reason)
    assert report.detail is not None or reason == "empty_file"


def test_missing_file_is_reported(tmp_path: Path) -> None:
    records, report = read_all(tmp_path / "nope.warc.gz")
    assert (records, report.error) == ([], "not_found")


def test_unknown_reader_is_misuse(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown WARC reader"):
        read_records(str(tmp_path / "x.warc.gz"), reader="pywarc")
    with pytest.raises(ValueError, match="unknown WARC reader"):
        read_record_at(str(tmp_path / "x.warc.gz"), 0, reader="pywarc")


@pytest.mark.parametrize("reader", READERS)
def test_read_record_at_offsets_from_first_pass(sample: tuple[Path, list[Any]], reader: str) -> None:
    path = sample[0]
    records, _ = read_all(path, reader)
    for record in records:
        assert read_record_at(str(path), record.offset, reader) == record
    offsets = [r.offset for r in reversed(records)]
    assert list(read_records_at(str(path), offsets, reader)) == records[::-1]


@pytest.mark.parametrize("reader", READERS)
def test_read_record_at_bad_offset_is_none(sample: tuple[Path, list[Any]], reader: str) -> None:
    path = sample[0]
    assert read_record_at(str(path), 7, reader) is None
    assert read_record_at(str(path), path.stat().st_size, reader) is None
    assert read_record_at(str(path.parent / "missing.warc.gz"), 0, reader) is None


def test_read_record_at_needs_local_file() -> None:
    with pytest.raises(ValueError, match="local file"):
        read_record_at("https://data.commoncrawl.org/x.warc.gz", 0)
