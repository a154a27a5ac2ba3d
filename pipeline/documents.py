"""WARC record → Document: the decision for every record, each drop with a named reason.

Used by the extract job for each record of a WARC; kept free of I/O so tests can feed it
records directly. Per-document steps after this one (language id, later filters and
scorers) are Stages, run by the extract task on the documents built here.
"""

from __future__ import annotations

from pipeline.config import ExtractConfig
from pipeline.extract.charset import decode_html_source
from pipeline.extract.html import extract_document
from pipeline.warc.records import WarcRecord
from schemas import Document, DocumentKind, document_id

HTML_MIMES = frozenset({"text/html", "application/xhtml+xml", "application/xml+xhtml"})
PDF_MIMES = frozenset({"application/pdf", "application/x-pdf"})


def sniff_mime(record: WarcRecord) -> str | None:
    """The declared mime, or a guess from the first bytes when the server sent none."""
    if record.mime and record.mime not in ("application/octet-stream", "unk", "no-type"):
        return record.mime
    head = record.payload[:512].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "application/pdf"
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "text/html"
    return record.mime


def record_drop_reason(record: WarcRecord, config: ExtractConfig) -> str | None:
    """Why a record yields no page (None when it should become a Document)."""
    if record.record_type == "revisit":
        return "revisit"
    if record.record_type not in ("response", "resource"):
        return f"record:{record.record_type or 'unknown'}"
    status = record.http_status
    if record.record_type == "response" and config.ok_status_only and status is not None:
        if not 200 <= status < 300:
            return f"http_status:{status // 100}xx"
    if record.payload_error == "too_large":
        return "record_too_large"
    if record.payload_error == "truncated":  # the WARC ends (or its Content-Length lies) inside this record
        return "record_truncated"
    if record.payload_error:
        return "content_encoding_error"
    if not record.payload:
        return "empty_payload"
    mime = sniff_mime(record)
    if mime in HTML_MIMES:
        if len(record.payload) > config.max_html_bytes:
            return "html_too_large"
        return None
    if mime in PDF_MIMES:
        if not config.keep_pdfs:
            return "non_html:pdf"
        if len(record.payload) > config.max_pdf_bytes:
            return "pdf_too_large"
        return None
    if mime and mime.startswith("image/"):
        return "non_html:image"  # attached to pages, never a page itself
    return f"non_html:{mime or 'unknown'}"


def _base_document(record: WarcRecord, kind: DocumentKind) -> Document:
    url = record.target_uri or ""
    return Document(
        doc_id=document_id(url, record.record_id or f"{record.warc_file}@{record.offset}"),
        url=url,
        kind=kind.value,
        warc_file=record.warc_file,
        warc_record_id=record.record_id,
        warc_offset=record.offset,
        fetch_date=record.date,
        http_status=record.http_status,
        content_type=sniff_mime(record),
    )


def build_document(record: WarcRecord, config: ExtractConfig) -> Document | str:
    """A Document for an HTML or PDF record, or the reason it has none."""
    reason = record_drop_reason(record, config)
    if reason is not None:
        return reason
    if sniff_mime(record) in PDF_MIMES:
        doc = _base_document(record, DocumentKind.PDF)
        doc.source = record.payload
        return doc
    doc = _base_document(record, DocumentKind.HTML)
    html, doc.charset, source = decode_html_source(record.payload, record.charset)
    extracted = extract_document(html, doc.url, source)
    doc.nodes = list(extracted.nodes)
    doc.title, doc.date = extracted.title, extracted.date
    doc.renumber()
    text = doc.text
    if len(text.strip()) < config.min_text_chars:
        return "too_little_text"
    doc.signals = {
        "text_chars": float(len(text)),
        "num_text_nodes": float(len(doc.text_nodes)),
        "num_images": float(len(doc.image_nodes)),
    }
    return doc
