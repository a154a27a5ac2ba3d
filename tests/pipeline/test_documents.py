"""Record → Document decisions, each drop with its named reason."""

import pytest

from pipeline.config import ExtractConfig
from pipeline.documents import build_document, sniff_mime
from pipeline.warc.records import WarcRecord

PAGE = ("<html><head><title>Birds</title></head><body><article><p>Swallows migrate thousands of "
        "kilometres every autumn, flying south to warmer winters.</p><img src='/s.jpg' alt='a swallow'>"
        "<p>They return in spring to the same nests.</p></article></body></html>").encode()


def rec(**kw) -> WarcRecord:
    base = dict(warc_file="x.warc.gz", record_id="<urn:uuid:1>", offset=0, record_type="response",
                target_uri="https://birds.example/swallows", date="2024-01-01T00:00:00Z",
                http_status=200, mime="text/html", payload=PAGE)
    return WarcRecord(**{**base, **kw})


@pytest.mark.parametrize("changes,reason", [
    ({"record_type": "request"}, "record:request"),
    ({"record_type": "metadata"}, "record:metadata"),
    ({"record_type": "revisit"}, "revisit"),
    ({"http_status": 301}, "http_status:3xx"),
    ({"http_status": 503}, "http_status:5xx"),
    ({"payload_error": "content_encoding:br"}, "content_encoding_error"),
    ({"payload_error": "too_large", "payload": b""}, "record_too_large"),
    ({"payload": b""}, "empty_payload"),
    ({"mime": "image/png", "payload": b"\x89PNG"}, "non_html:image"),
    ({"mime": "text/css", "payload": b"body{}"}, "non_html:text/css"),
    ({"payload": b"<html><body><nav><a href='/'>Home</a></nav></body></html>"}, "too_little_text"),
])
def test_drop_reasons(changes, reason):
    assert build_document(rec(**changes), ExtractConfig()) == reason


def test_size_limits_and_pdf_switch():
    assert build_document(rec(), ExtractConfig(max_html_bytes=100)) == "html_too_large"
    pdf = rec(mime="application/pdf", payload=b"%PDF-1.4 ...")
    assert build_document(pdf, ExtractConfig(keep_pdfs=False)) == "non_html:pdf"
    assert build_document(pdf, ExtractConfig(max_pdf_bytes=4)) == "pdf_too_large"
    doc = build_document(pdf, ExtractConfig())
    assert doc.kind == "pdf" and doc.source == b"%PDF-1.4 ..." and doc.nodes == []


def test_html_document_fields():
    doc = build_document(rec(), ExtractConfig())
    assert doc.title == "Birds" and doc.charset == "utf-8"
    assert doc.language is None  # set by the LanguageId stage, not here
    assert [n.type for n in doc.nodes] == ["text", "image", "text"]
    assert doc.nodes[1].url == "https://birds.example/s.jpg" and doc.nodes[1].position == 1
    assert (doc.warc_file, doc.warc_record_id, doc.fetch_date) == ("x.warc.gz", "<urn:uuid:1>", "2024-01-01T00:00:00Z")
    assert doc.signals["num_images"] == 1.0


def test_mime_sniffed_when_missing():
    assert sniff_mime(rec(mime=None)) == "text/html"
    assert sniff_mime(rec(mime="application/octet-stream", payload=b"%PDF-1.7")) == "application/pdf"
    assert build_document(rec(mime=None), ExtractConfig()).kind == "html"
