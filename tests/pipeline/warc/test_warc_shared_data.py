"""The WARC layer on the real sample WARCs in ../shared/data/warc (skipped when absent)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.warc.readers import READERS
from pipeline.warc.records import WarcFileReport, WarcRecord, read_records, read_records_at

pytestmark = pytest.mark.shared_data

CC_2020 = "cc-main/resiliparse_CC-MAIN-2020-34_warcfile.warc.gz"
IA_2008 = "with-images/aut_example_IAH-2008-archive.org.warc.gz"
BOOKS = "with-images/nodewarc_books.toscrape.warc"
WHOLE_GZIP = "edge-cases/warcio_example-bad-non-chunked.warc.gz"


def read_all(path: Path, reader: str = "fastwarc") -> tuple[list[WarcRecord], WarcFileReport]:
    report = WarcFileReport(str(path))
    return list(read_records(str(path), reader, report)), report


@pytest.mark.parametrize("reader", READERS)
def test_warcio_example_with_revisit(shared_warc: Path, reader: str) -> None:
    records, report = read_all(shared_warc / "edge-cases/warcio_example.warc.gz", reader)
    assert [r.record_type for r in records] == [
        "warcinfo", "warcinfo", "response", "request", "revisit", "request"]
    response, revisit = records[2], records[4]
    assert (response.target_uri, response.http_status, response.mime) == ("http://example.com/", 200, "text/html")
    assert response.payload.startswith(b"<!doctype html>") and response.payload_error is None
    assert (revisit.target_uri, revisit.payload) == ("http://example.com/", b"")
    assert report.error is None


def test_arc_file_goes_through_warcio(shared_warc: Path) -> None:
    records, report = read_all(shared_warc / "edge-cases/warcio_example.arc.gz", "fastwarc")
    assert report.reader == "warcio" and report.error is None
    assert [r.record_type for r in records] == ["warcinfo", "response"]
    page = records[1]
    assert (page.target_uri, page.http_status, page.mime, page.date) == (
        "http://example.com/", 200, "text/html", "2014-02-16T05:02:21Z")
    assert page.payload.startswith(b"<!doctype html>")
    assert read_all(shared_warc / "edge-cases/warcio_example.arc.gz")[0] == records  # stable ids


@pytest.mark.parametrize("reader", READERS)
def test_chunked_response_is_dechunked(shared_warc: Path, reader: str) -> None:
    records, _ = read_all(shared_warc / "edge-cases/warcio_example-iana.org-chunked.warc", reader)
    page = next(r for r in records if r.record_type == "response")
    assert page.http_headers["transfer-encoding"] == "chunked"
    assert page.payload.startswith(b"<!doctype html>") and page.payload.rstrip().endswith(b"</html>")
    assert (page.payload_error, page.charset) == (None, "utf-8")


@pytest.mark.parametrize("reader", READERS)
def test_whole_file_gzip_fails_alone(shared_warc: Path, reader: str) -> None:
    files = [shared_warc / "edge-cases/warcio_example.warc.gz", shared_warc / WHOLE_GZIP, shared_warc / BOOKS]
    results = [read_all(f, reader) for f in files]  # the job goes on past the bad file
    assert [len(records) for records, _ in results] == [6, 0, 60]
    assert [report.error for _, report in results] == [None, "whole_file_gzip", None]


def test_common_crawl_2020_counts(shared_warc: Path) -> None:
    records, report = read_all(shared_warc / CC_2020)
    assert Counter(r.record_type for r in records) == {
        "warcinfo": 1, "request": 17, "response": 16, "metadata": 16}
    assert len(records) == 50 and report.error is None


def test_heritrix_2008_warc_0_17(shared_warc: Path) -> None:
    records, report = read_all(shared_warc / IA_2008)
    assert len(records) == 822 and report.error is None
    images = [r for r in records if r.record_type == "response" and (r.mime or "").startswith("image/")]
    assert len(images) == 55
    assert all(r.payload for r in images)


def test_books_toscrape_uncompressed(shared_warc: Path) -> None:
    records, report = read_all(shared_warc / BOOKS)
    assert report.error is None and len(records) == 60
    home = next(r for r in records if r.record_type == "response" and r.target_uri == "http://books.toscrape.com/")
    assert (home.http_status, home.mime) == (200, "text/html") and b"<title>" in home.payload
    covers = [r for r in records if r.record_type == "response" and r.mime == "image/jpeg"]
    assert len(covers) == 20 and all(r.payload.startswith(b"\xff\xd8\xff") for r in covers)


ALL_FILES = sorted(
    str(p.relative_to(Path(__file__).parents[3] / ".." / "shared" / "data" / "warc"))
    for p in (Path(__file__).parents[3] / ".." / "shared" / "data" / "warc").glob("*/*")
) or ["(no shared data)"]


@pytest.mark.parametrize("name", ALL_FILES)
def test_fastwarc_matches_warcio(shared_warc: Path, name: str) -> None:
    fast, fast_report = read_all(shared_warc / name, "fastwarc")
    slow, slow_report = read_all(shared_warc / name, "warcio")
    assert fast == slow
    assert (fast_report.error, fast_report.records) == (slow_report.error, slow_report.records)


@pytest.mark.parametrize("name", [IA_2008, BOOKS, "edge-cases/warcio_example.arc.gz"])
@pytest.mark.parametrize("reader", READERS)
def test_read_record_at_matches_first_pass(shared_warc: Path, name: str, reader: str) -> None:
    records, _ = read_all(shared_warc / name, reader)
    wanted = records[::-1]  # any order: random access, not a replay
    assert list(read_records_at(str(shared_warc / name), [r.offset for r in wanted], reader)) == wanted
