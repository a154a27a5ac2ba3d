"""The bad-input catalogue (issue 10, point 5): every kind of bad input we know of, fed
through the WHOLE pipeline (``run_all``: extract → images → dedup → write shards → OCR).

One combined input (a main WARC holding most kinds, plus one small file per kind of broken
WARC framing) is built here with the project's own helpers, a real HTTP server on
127.0.0.1 stands in for the web the image downloader talks to, and the pipeline runs ONCE
per engine (module-scoped fixtures). Then each row of ``KINDS`` is one test: the kind's
expected outcome (a drop reason, a file error, an image status and reason, a kept
document, a one-line config error) must be found in ``run_manifest.json``, the pages /
images / dedup / excluded tables. Whole-run tests check that nothing crashed, that every
stage of ``run_manifest.json`` balances (in = out + dropped) and that every drop has a
named reason. ``docs/architecture.md`` ("Bad input") lists the same table.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipeline.config import ConfigError, load_config
from pipeline.demo import DATE, _record_id, draw_image, text_pdf
from pipeline.run import run_all
from pipeline.stats import RunStats
from pipeline.summary import write_run_manifest

SITE = "http://bad.example"  # the crawled site: every page and archived image
DL = "http://dl.example"  # the web the downloader reaches (both names → the local server)
N_MANY = 200  # images on one page

ARTICLE = (
    "<p>The harbour master keeps a logbook of every vessel that enters the bay, with its name, its "
    "cargo and the hour of the tide, and the book has been kept without a gap since the old pier "
    "was built.</p><p>Visitors may read the older volumes in the reading room on weekday mornings, "
    "and the librarian will explain how the entries changed when steam replaced sail.</p>")


def page(title: str, body: str = ARTICLE, head: str = "") -> bytes:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
            f"<body><article><h1>{title}</h1>{body}</article></body></html>").encode()


# -- the catalogue ------------------------------------------------------------------------------
# (kind, category, how it is built, expected behaviour). Expected behaviour, by its first item:
#   extract_drop REASON URL   the record is dropped by extraction with REASON (not in pages/)
#   kept URL                  the record became a Document (in pages/)
#   file_error FILE REASON    the input file has REASON in run_manifest.json file_errors
#   file_ok FILE URL          the file reads without error and its page is kept
#   truncated FILE URL        counted in files_truncated; the records before the cut are kept
#   image URL STATUS REASON   the images/ table row of URL
#   no_image_node PAGE FRAG   the page is kept, no image node has a URL containing FRAG
#   shard_drop URL REASON     the document is dropped at write time with REASON (excluded/)
#   pdf REASON                counted in the OCR stage's ocr_pdfs drops
#   config OVERRIDES MESSAGE  load_config / run_all raise ConfigError / ValueError matching MESSAGE
KINDS: list[tuple[str, str, str, tuple]] = [
    # WARC framing (one small file each, beside main.warc.gz)
    ("truncated_gzip_member", "warc", "a page, then an image record whose gzip member is cut in half",
     ("file_error", "truncated.warc.gz", "truncated", f"{SITE}/truncated/page.html", "record_truncated")),
    ("garbage_between_records", "warc", "4 KiB of junk bytes between two gzip members",
     ("file_error", "garbage.warc.gz", "corrupt", f"{SITE}/garbage/first.html", None)),
    ("wrong_content_length", "warc", "a record whose Content-Length says 10x its block",
     ("file_error", "wrong-length.warc.gz", "truncated", f"{SITE}/wrong-length/first.html", "record_truncated")),
    ("not_a_warc", "warc", "a text file named .warc.gz given as input",
     ("file_error", "not-a-warc.warc.gz", "not_a_warc", None, None)),
    ("empty_file", "warc", "a zero-byte .warc.gz",
     ("file_error", "empty.warc.gz", "empty_file", None, None)),
    ("only_warcinfo_and_requests", "warc", "warcinfo + request + metadata records, no response",
     ("file_ok", "only-meta.warc.gz", None)),
    ("warcinfo_record", "warc", "the warcinfo record at the start of every WARC",
     ("extract_drop", "record:warcinfo", None)),
    ("request_record", "warc", "request records before responses",
     ("extract_drop", "record:request", None)),
    ("metadata_record", "warc", "a metadata record",
     ("extract_drop", "record:metadata", None)),
    ("revisit_record", "warc", "a revisit (identical-payload-digest, 304, no block)",
     ("extract_drop", "revisit", None)),
    ("malformed_http_headers", "warc", "a response whose HTTP header block is not HTTP",
     ("kept", f"{SITE}/malformed-http.html")),
    ("uncompressed_warc", "warc", "a plain (not gzipped) .warc with one page",
     ("file_ok", "plain.warc", f"{SITE}/plain/page.html")),
    ("unknown_warc_version", "warc", "records with a WARC/9.9 version line",
     ("file_error", "unknown-version.warc", "truncated", None, None)),
    ("arc_ish_file", "warc", "an .arc.gz whose filedesc header is followed by junk",
     ("file_error", "bogus.arc.gz", "corrupt", None, None)),
    # HTTP
    ("http_404", "http", "a 404 Not Found HTML page",
     ("extract_drop", "http_status:4xx", f"{SITE}/missing.html")),
    ("http_500", "http", "a 500 Internal Server Error HTML page",
     ("extract_drop", "http_status:5xx", f"{SITE}/error.html")),
    ("redirect_no_body", "http", "a 301 with a Location header and no body",
     ("extract_drop", "http_status:3xx", f"{SITE}/moved.html")),
    ("json_response", "http", "application/json",
     ("extract_drop", "non_html:application/json", f"{SITE}/api/data.json")),
    ("text_plain_response", "http", "text/plain",
     ("extract_drop", "non_html:text/plain", f"{SITE}/robots.txt")),
    ("corrupt_gzip_encoding", "http", "Content-Encoding: gzip over bytes that are not gzip",
     ("extract_drop", "content_encoding_error", f"{SITE}/gzip-corrupt.html")),
    ("corrupt_br_encoding", "http", "Content-Encoding: br over bytes that are not brotli",
     ("extract_drop", "content_encoding_error", f"{SITE}/br-corrupt.html")),
    ("chunked_transfer", "http", "Transfer-Encoding: chunked body (3 chunks)",
     ("kept", f"{SITE}/chunked.html")),
    ("missing_content_type", "http", "an HTML body with no Content-Type header (sniffed)",
     ("kept", f"{SITE}/no-content-type.html")),
    # HTML
    ("empty_body", "html", "text/html with a zero-length body",
     ("extract_drop", "empty_payload", f"{SITE}/empty.html")),
    ("binary_junk_as_html", "html", "4 KiB of random bytes labelled text/html",
     ("shard_drop", f"{SITE}/junk.html", "language:not_allowed")),
    ("gbk_labelled_utf8", "html", "a Chinese page encoded in GBK, header and meta say utf-8",
     ("kept", f"{SITE}/gbk.html")),
    ("very_long_line", "html", "one 400 KB line of text, no newline",
     ("kept", f"{SITE}/long-line.html")),
    ("deeply_nested_tags", "html", "text inside 5000 nested <div>s",
     ("kept", f"{SITE}/nested.html")),
    ("only_boilerplate", "html", "nav, cookie banner and footer only",
     ("extract_drop", "too_little_text", f"{SITE}/nav-only.html")),
    ("two_hundred_images", "html", f"a page with {N_MANY} downloadable images",
     ("image_count", f"{DL}/many/", N_MANY, "ok")),
    ("data_uri_image", "html", "<img src=data:image/png;base64,...>",
     ("no_image_node", f"{SITE}/odd-image-urls.html", "data:")),
    ("javascript_image", "html", "<img src=javascript:...>",
     ("no_image_node", f"{SITE}/odd-image-urls.html", "javascript:")),
    ("bad_base_href", "html", "<base href='http://[broken'> and a relative <img>",
     ("image", f"{SITE}/relative-under-bad-base.jpg", "failed", "http_404")),
    ("duplicate_pages", "html", "two URLs with the same article text",
     ("shard_drop", f"{SITE}/dup-b.html", "dedup:exact_duplicate")),
    # Images archived in the WARC, referenced from /images.html
    ("corrupt_jpeg", "image", "JPEG magic then junk",
     ("image", f"{SITE}/img/corrupt.jpg", "failed", "truncated")),
    ("truncated_png", "image", "a PNG cut after a third of its bytes",
     ("image", f"{SITE}/img/truncated.png", "failed", "truncated")),
    ("decompression_bomb", "image", "a 100000x100000 PNG header over a tiny file",
     ("image", f"{SITE}/img/bomb.png", "failed", "too_many_pixels")),
    ("tracking_pixel_archived", "image", "a 1x1 GIF (no size attributes in the page)",
     ("image", f"{SITE}/img/one-by-one.gif", "dropped", "min_bytes")),
    ("tracking_pixel_hinted", "image", "<img width=1 height=1>: dropped by extraction",
     ("no_image_node", f"{SITE}/images.html", "/img/hinted-pixel.gif")),
    ("svg_image", "image", "an SVG document served as image/svg+xml",
     ("image", f"{SITE}/img/drawing.svg", "failed", "svg")),
    ("animated_gif", "image", "a 3-frame animated GIF",
     ("image", f"{SITE}/img/animated.gif", "ok", None)),
    ("cmyk_jpeg", "image", "a CMYK JPEG",
     ("image", f"{SITE}/img/cmyk.jpg", "ok", None)),
    ("png_16bit", "image", "a 16-bit greyscale PNG",
     ("image", f"{SITE}/img/deep16.png", "ok", None)),
    ("image_labelled_html", "image", "PNG bytes whose record says Content-Type: text/html",
     ("image", f"{SITE}/img/html-labelled.png", "failed", "http_404")),
    ("zero_byte_image", "image", "an image/jpeg response with an empty body",
     ("image", f"{SITE}/img/zero.jpg", "failed", "http_404")),
    # PDF responses
    ("encrypted_pdf", "pdf", "a PDF with a Standard security handler and a user password",
     ("pdf", "pdf:encrypted")),
    ("truncated_pdf", "pdf", "a PDF cut after 150 bytes",
     ("pdf", "pdf:broken")),
    ("zero_page_pdf", "pdf", "a PDF whose page tree has /Count 0",
     ("pdf", "pdf:no_pages")),
    # Downloads (images.download=true) from the local server
    ("download_404", "download", "GET answers 404",
     ("image", f"{DL}/404.jpg", "failed", "http_404")),
    ("download_timeout", "download", "the server waits 3 s; images.total_timeout=1",
     ("image", f"{DL}/slow.jpg", "failed", "timeout")),
    ("download_redirect_loop", "download", "/loop-a → /loop-b → /loop-a",
     ("image", f"{DL}/loop-a.jpg", "failed", "redirect_loop")),
    ("download_redirect_to_private", "download", "302 to http://10.0.0.1/ (SSRF guard)",
     ("image", f"{DL}/to-private.jpg", "failed", "ssrf_blocked")),
    ("download_metadata_address", "download", "an <img> on 169.254.169.254 (SSRF guard)",
     ("image", "http://169.254.169.254/latest/meta-data/x.jpg", "failed", "ssrf_blocked")),
    ("download_oversized", "download", "Content-Length 5 MB; images.max_bytes=1 MB",
     ("image", f"{DL}/huge.jpg", "failed", "too_large")),
    ("download_wrong_content_type", "download", "an image URL answered with text/html",
     ("image", f"{DL}/page.jpg", "failed", "not_an_image")),
    # Config
    ("config_unknown_key", "config", "--set images.no_such_key=1",
     ("config", ["images.no_such_key=1"], r"unknown config key\(s\) images\.no_such_key")),
    ("config_wrong_type", "config", "--set images.threads=many",
     ("config", ["images.threads=many"], r"images\.threads: expected an integer, got 'many'")),
    ("config_out_of_range", "config", "--set ocr.verify.fraction=1.5",
     ("config", ["ocr.verify.fraction=1.5"], r"ocr\.doc_rate and ocr\.verify\.fraction must be between 0 and 1")),
    ("config_missing_input", "config", "input.paths names a file that does not exist",
     ("config", ["input.paths=[/nonexistent/crawl.warc.gz]"], r"input does not exist: '/nonexistent/crawl\.warc\.gz'")),
]


# -- WARC building --------------------------------------------------------------------------------


def http_block(status: str, headers: list[tuple[str, str]], body: bytes, *, length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers)]
    if length and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def warc_record(rtype: str, uri: str | None, block: bytes, *, content_type: str | None = None,
                extra: list[tuple[str, str]] = (), version: str = "WARC/1.1", length: int | None = None) -> bytes:
    """One WARC record, written by hand so every header (and lie) is under our control."""
    if content_type is None:
        content_type = {"response": "application/http; msgtype=response",
                        "request": "application/http; msgtype=request"}.get(rtype, "application/warc-fields")
    headers = [("WARC-Type", rtype), ("WARC-Record-ID", _record_id(f"catalogue:{rtype}:{uri}:{len(block)}")),
               ("WARC-Date", DATE)]
    if uri:
        headers.append(("WARC-Target-URI", uri))
    headers += [("Content-Type", content_type), *extra,
                ("Content-Length", str(len(block) if length is None else length))]
    head = version + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode() + block + b"\r\n\r\n"


def member(record: bytes) -> bytes:
    return gzip.compress(record, mtime=0)


def request(uri: str) -> bytes:
    path = "/" + uri.split("/", 3)[3] if uri.count("/") >= 3 else "/"
    block = f"GET {path} HTTP/1.1\r\nHost: {uri.split('/')[2]}\r\nUser-Agent: catalogue\r\n\r\n".encode()
    return warc_record("request", uri, block)


def response(uri: str, body: bytes, content_type: str | None = "text/html; charset=utf-8",
             status: str = "200 OK", headers: list[tuple[str, str]] = (), raw_block: bytes | None = None) -> bytes:
    hdrs = ([("Content-Type", content_type)] if content_type else []) + list(headers)
    return warc_record("response", uri, raw_block if raw_block is not None else http_block(status, hdrs, body))


def warcinfo(name: str) -> bytes:
    return warc_record("warcinfo", None, f"software: interleaf bad-input catalogue\r\nformat: {name}\r\n".encode())


# -- images and PDFs ----------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png() -> bytes:
    """A valid PNG signature and IHDR claiming 100000 x 100000 RGB pixels: 10 gigapixels, tiny file."""
    raw = zlib.compress(b"\x00" * 64)
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", raw) + _png_chunk(b"IEND", b"")


def noise_png(seed: int, side: int = 160) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def save(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, format=fmt, **kw)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.open(io.BytesIO(draw_image(10 + i, (240, 200)))).convert("P") for i in range(3)]
    return save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def cmyk_jpeg() -> bytes:
    return save(Image.open(io.BytesIO(draw_image(20, (240, 200)))).convert("CMYK"), "JPEG", quality=90)


def png_16bit() -> bytes:
    ramp = (np.add.outer(np.arange(200), np.arange(240)) * 137 % 65536).astype(np.uint16)
    return save(Image.frombytes("I;16", (240, 200), ramp.astype("<u2").tobytes()), "PNG")


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">'
       b'<rect width="400" height="300" fill="teal"/></svg>')

PDF_PAGES = [["Harbour report 2025", "Eleven ships were registered this year.", "The pier was repaired."]]


def encrypted_pdf() -> bytes:
    """text_pdf with a Standard security handler (RC4 40-bit) whose /U does not match the empty
    user password: pdfium asks for a password."""
    data = text_pdf(PDF_PAGES)
    ids = "00112233445566778899aabbccddeeff"
    encrypt = (f"/Encrypt << /Filter /Standard /V 1 /R 2 /O <{'ab' * 32}> /U <{'cd' * 32}> /P -4 >> "
               f"/ID [<{ids}> <{ids}>] ").encode()
    return data.replace(b"trailer\n<< ", b"trailer\n<< " + encrypt)


# -- the input files --------------------------------------------------------------------------


def _images_page() -> bytes:
    names = ["corrupt.jpg", "truncated.png", "bomb.png", "one-by-one.gif", "drawing.svg", "animated.gif", "cmyk.jpg",
             "deep16.png", "html-labelled.png", "zero.jpg", "good.jpg"]
    body = ARTICLE
    for i, name in enumerate(names):
        body += f'<p>Figure {i}: the picture called {name} shows the harbour from the north pier.</p>'
        body += f'<img src="/img/{name}" alt="harbour picture {i}">'
    body += '<img src="/img/hinted-pixel.gif" width="1" height="1" alt="">'
    return page("Pictures of the harbour", body)


def _downloads_page() -> bytes:
    urls = [f"{DL}/{p}" for p in ("404.jpg", "slow.jpg", "loop-a.jpg", "to-private.jpg", "huge.jpg", "page.jpg",
                                   "ok.png")]
    urls.append("http://169.254.169.254/latest/meta-data/x.jpg")
    body = ARTICLE + "".join(f'<p>Photograph {i} of the lighthouse keeper\'s cottage and garden.</p>'
                             f'<img src="{u}" alt="photo {i}">' for i, u in enumerate(urls))
    return page("Photographs from elsewhere", body)


def _many_images_page() -> bytes:
    body = ARTICLE + "".join(f'<p>Boat number {i} moored in the inner harbour for the winter months.</p>'
                             f'<img src="{DL}/many/{i}.png" alt="boat {i}">' for i in range(N_MANY))
    return page("Every boat in the harbour", body)


def chunked(body: bytes, parts: int = 3) -> bytes:
    size = -(-len(body) // parts)
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


GBK_PAGE = ("<html><head><meta charset=\"utf-8\"><title>港口的船只</title></head><body><article>"
            "<h1>港口的船只</h1><p>港务长记录每一艘进入海湾的船只，包括船名、货物和潮汐的时间。"
            "自从旧码头建成以来，这本日志从未间断。</p><p>游客可以在工作日上午到阅览室查阅旧的卷册，"
            "图书管理员会讲解蒸汽船取代帆船之后记录方式的变化。</p></article></body></html>")

NAV_ONLY = (b'<html><head><title>Menu</title></head><body><nav><a href="/">Home</a> <a href="/a">About</a> '
            b'<a href="/c">Contact</a></nav><div class="cookie-banner">We use cookies. <button>Accept</button>'
            b'</div><footer><a href="/privacy">Privacy</a> Copyright 2026</footer></body></html>')


def main_warc() -> bytes:
    rng = random.Random(10)
    recs: list[bytes] = [warcinfo("main.warc.gz")]

    def resp(uri: str, *args: Any, **kw: Any) -> None:
        recs.append(request(uri))
        recs.append(response(uri, *args, **kw))

    resp(f"{SITE}/good.html", page("The harbour logbook", ARTICLE + '<img src="/img/good.jpg" alt="the logbook">'))
    resp(f"{SITE}/img/good.jpg", draw_image(1), "image/jpeg")
    # HTTP
    resp(f"{SITE}/missing.html", page("Not found"), status="404 Not Found")
    resp(f"{SITE}/error.html", page("Server error"), status="500 Internal Server Error")
    resp(f"{SITE}/moved.html", b"", None, status="301 Moved Permanently",
         headers=[("Location", f"{SITE}/good.html"), ("Content-Length", "0")])
    resp(f"{SITE}/api/data.json", b'{"harbour": "logbook", "ships": 11}', "application/json")
    resp(f"{SITE}/robots.txt", b"User-agent: *\nDisallow:\n", "text/plain")
    resp(f"{SITE}/gzip-corrupt.html", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03this is not deflate data" * 4,
         headers=[("Content-Encoding", "gzip")])
    resp(f"{SITE}/br-corrupt.html", b"\xff\xfe\xfd this is not brotli" * 8, headers=[("Content-Encoding", "br")])
    resp(f"{SITE}/chunked.html", chunked(page("A page sent in chunks")), headers=[("Transfer-Encoding", "chunked")])
    resp(f"{SITE}/no-content-type.html", page("A page with no content type"), None)
    # Malformed HTTP header block: no status line, a header without a colon, NUL bytes.
    recs.append(response(f"{SITE}/malformed-http.html", b"", raw_block=(
        b"HTP/1.1 two hundred\r\nContent-Type text/html\r\n\x00\x01\x02 junk\r\n\r\n" + page("Malformed"))))
    # HTML
    resp(f"{SITE}/empty.html", b"")
    resp(f"{SITE}/junk.html", rng.randbytes(4096))
    resp(f"{SITE}/gbk.html", GBK_PAGE.encode("gbk"), "text/html; charset=utf-8")
    words = "tide boat harbour pier rope sail anchor gull lantern keeper".split()
    resp(f"{SITE}/long-line.html", page("One very long line", "<p>" + " ".join(rng.choice(words) for _ in range(60_000))
                                         + "</p>"))
    resp(f"{SITE}/nested.html", page("Nested", "<div>" * 5000 + ARTICLE + "</div>" * 5000))
    resp(f"{SITE}/nav-only.html", NAV_ONLY)
    resp(f"{SITE}/many-images.html", _many_images_page())
    resp(f"{SITE}/odd-image-urls.html", page("Odd image URLs", ARTICLE
         + '<img src="data:image/png;base64,' + base64.b64encode(draw_image(30, (200, 160), "PNG")).decode()
         + '" alt="inline">' + "<p>Between the two odd pictures there is a paragraph about the pier.</p>"
         + '<img src="javascript:alert(1)" alt="script">'))
    resp(f"{SITE}/bad-base.html", page("Bad base", ARTICLE + '<img src="relative-under-bad-base.jpg" alt="x">',
                                       head='<base href="http://[broken">'))
    resp(f"{SITE}/dup-a.html", page("Duplicated article"))
    resp(f"{SITE}/dup-b.html", page("Duplicated article"))
    # Images, referenced from /images.html
    resp(f"{SITE}/images.html", _images_page())
    png = draw_image(40, (240, 200), "PNG")
    for name, data, ctype in [
        ("corrupt.jpg", b"\xff\xd8\xff\xe0" + rng.randbytes(3000), "image/jpeg"),
        ("truncated.png", png[: len(png) // 3], "image/png"),
        ("bomb.png", bomb_png(), "image/png"),
        ("one-by-one.gif", save(Image.new("RGB", (1, 1), "white"), "GIF"), "image/gif"),
        ("hinted-pixel.gif", save(Image.new("RGB", (1, 1), "white"), "GIF"), "image/gif"),
        ("drawing.svg", SVG, "image/svg+xml"),
        ("animated.gif", animated_gif(), "image/gif"),
        ("cmyk.jpg", cmyk_jpeg(), "image/jpeg"),
        ("deep16.png", png_16bit(), "image/png"),
        ("html-labelled.png", draw_image(41, (240, 200), "PNG"), "text/html"),
        ("zero.jpg", b"", "image/jpeg"),
    ]:
        resp(f"{SITE}/img/{name}", data, ctype)
    resp(f"{SITE}/downloads.html", _downloads_page())
    # PDFs
    resp(f"{SITE}/report.pdf", text_pdf(PDF_PAGES), "application/pdf")
    resp(f"{SITE}/encrypted.pdf", encrypted_pdf(), "application/pdf")
    resp(f"{SITE}/truncated.pdf", text_pdf(PDF_PAGES)[:150], "application/pdf")
    resp(f"{SITE}/no-pages.pdf", text_pdf([]), "application/pdf")
    # Other record types
    recs.append(warc_record("metadata", f"{SITE}/good.html", b"fetchTimeMs: 12\r\n"))
    recs.append(warc_record("revisit", f"{SITE}/good.html",
                            http_block("304 Not Modified", [], b""),
                            extra=[("WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"),
                                   ("WARC-Refers-To-Target-URI", f"{SITE}/good.html")]))
    return b"".join(member(r) for r in recs)


def build_inputs(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {"main.warc.gz": main_warc()}
    good = [warcinfo("x"), request(f"{SITE}/truncated/page.html"),
            response(f"{SITE}/truncated/page.html", page("Before the cut"))]
    cut = member(response(f"{SITE}/truncated/after.jpg", draw_image(50), "image/jpeg"))
    files["truncated.warc.gz"] = b"".join(member(r) for r in good) + cut[: len(cut) // 2]
    files["garbage.warc.gz"] = (member(response(f"{SITE}/garbage/first.html", page("First of two")))
                                + random.Random(11).randbytes(4096)
                                + member(response(f"{SITE}/garbage/second.html", page("Second of two"))))
    files["wrong-length.warc.gz"] = (member(response(f"{SITE}/wrong-length/first.html", page("Before the lie")))
                                     + member(warc_record("response", f"{SITE}/wrong-length/liar.html",
                                                          http_block("200 OK", [("Content-Type", "text/html")],
                                                                     page("The liar")), length=50_000))
                                     + member(response(f"{SITE}/wrong-length/after.html", page("After the lie"))))
    files["not-a-warc.warc.gz"] = b"This is a README, not a WARC file.\n" * 50
    files["empty.warc.gz"] = b""
    files["only-meta.warc.gz"] = b"".join(member(r) for r in [
        warcinfo("only-meta"), request(f"{SITE}/meta/a.html"), request(f"{SITE}/meta/b.html"),
        warc_record("metadata", f"{SITE}/meta/a.html", b"outlinks: 0\r\n")])
    files["plain.warc"] = warcinfo("plain.warc") + request(f"{SITE}/plain/page.html") + \
        response(f"{SITE}/plain/page.html", page("An uncompressed WARC"))
    files["unknown-version.warc"] = response(f"{SITE}/version/page.html", page("From the future")).replace(
        b"WARC/1.1", b"WARC/9.9", 1)
    files["bogus.arc.gz"] = gzip.compress(b"filedesc://bogus.arc 0.0.0.0 20260115100000 text/plain 76\n"
                                          b"1 0 interleaf\nURL IP-address Archive-date Content-type Archive-length\n\n"
                                          + random.Random(12).randbytes(2000), mtime=0)
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


# -- the web the downloader talks to ----------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "image/png",
              headers: dict[str, str] | None = None, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path.startswith("/many/"):
            return self._send(200, noise_png(int(path.rsplit("/", 1)[1].split(".")[0])))
        if path == "/ok.png":
            return self._send(200, noise_png(999, 200))
        if path == "/slow.jpg":
            time.sleep(3)
            return self._send(200, draw_image(60), "image/jpeg")
        if path == "/loop-a.jpg":
            return self._send(302, headers={"Location": "/loop-b.jpg"})
        if path == "/loop-b.jpg":
            return self._send(302, headers={"Location": "/loop-a.jpg"})
        if path == "/to-private.jpg":
            return self._send(302, headers={"Location": "http://10.0.0.1/inside.jpg"})
        if path == "/huge.jpg":
            self.close_connection = True
            return self._send(200, b"\xff\xd8" + b"\0" * 1000, "image/jpeg", length=5_000_000)
        if path == "/page.jpg":
            return self._send(200, page("Not a picture"), "text/html; charset=utf-8")
        return self._send(404, b"not found", "text/plain")


@pytest.fixture(scope="module")
def web_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def overrides(inputs: list[Path], out: Path, port: int, engine: str) -> list[str]:
    host_map = json.dumps({"bad.example": f"127.0.0.1:{port}", "dl.example": f"127.0.0.1:{port}"})
    return [f"input.paths=[{', '.join(str(p) for p in inputs)}]", f"run.output={out}", f"run.engine={engine}",
            "run.progress=false",
            # The SSRF guard blocks loopback by default; the test server is allow-listed, nothing else.
            "images.allow_networks=[127.0.0.1/32]", f"images.host_map={host_map}",
            "images.connect_timeout=1", "images.total_timeout=1", "images.retries=0", "images.backoff=0.01",
            "images.max_bytes=1000000", "clip.enabled=false", "ocr.verify.fraction=0"]


class Outcome:
    """One whole-pipeline run and every table the per-kind checks read."""

    def __init__(self, inputs: list[Path], out: Path, port: int, engine: str) -> None:
        started = time.monotonic()
        self.config = load_config(None, overrides(inputs, out, port, engine))
        self.result = run_all(self.config)
        self.manifest = json.loads(write_run_manifest(self.config).read_text())
        self.seconds = time.monotonic() - started
        self.out = out
        self.stages = self.manifest["stages"]
        self.pages = {r["url"]: r for p in sorted((out / "pages").glob("part-*.parquet"))
                      for r in pq.read_table(p).to_pylist()}
        self.images = {r["url"]: r for p in sorted((out / "images").glob("bucket-*.parquet"))
                       for r in pq.read_table(p, columns=["url", "status", "reason", "source"]).to_pylist()}
        self.shard_excluded = [r for p in sorted((out / "shards" / "interleaved" / "excluded").glob("*.parquet"))
                               for r in pq.read_table(p).to_pylist()]
        self.page_excluded = [r for p in sorted((out / "pages" / "excluded").glob("*.parquet"))
                              for r in pq.read_table(p).to_pylist()]
        self.file_errors = {Path(e["uri"]).name: e for e in self.manifest["file_errors"]}
        self.files = {Path(p["uri"]).name: p for p in self.result["extract"]["parts"]}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    return build_inputs(tmp_path_factory.mktemp("catalogue") / "in")


@pytest.fixture(scope="module")
def local_run(inputs, web_server, tmp_path_factory) -> Outcome:
    return Outcome(inputs, tmp_path_factory.mktemp("local") / "out", web_server, "local")


# -- the checks ---------------------------------------------------------------------------------


def _doc_ids(o: Outcome) -> dict[str, str]:
    return {url: row["doc_id"] for url, row in o.pages.items()}


def check_kind(o: Outcome, expect: tuple) -> None:
    what, *args = expect
    extract = o.stages["extract"]
    if what == "extract_drop":
        reason, url = args
        assert extract["dropped"].get(reason, 0) >= 1, (reason, extract["dropped"])
        if url is not None:
            assert url not in o.pages
    elif what == "kept":
        (url,) = args
        assert url in o.pages, sorted(o.pages)
    elif what == "file_error":
        name, reason, kept_url, record_reason = args
        assert o.file_errors[name]["error"] == reason, o.file_errors.get(name)
        assert extract["counters"].get(f"file_error:{reason}", 0) >= 1
        if reason == "truncated":
            assert o.file_errors[name]["truncated"] and extract["counters"]["files_truncated"] >= 1
        if kept_url is not None:  # what was read before the damage is kept
            assert kept_url in o.pages
        if record_reason is not None:
            assert extract["dropped"].get(record_reason, 0) >= 1, extract["dropped"]
    elif what == "file_ok":
        name, url = args
        assert name in o.files and name not in o.file_errors
        if url is not None:
            assert url in o.pages
        else:
            assert o.files[name]["rows"] == 0
    elif what == "image":
        url, status, reason = args
        row = o.images[url]
        assert (row["status"], row["reason"]) == (status, reason), row
        if status != "ok":
            assert o.stages["fetch_images"]["dropped"].get(reason, 0) >= 1
    elif what == "image_count":
        prefix, n, status = args
        rows = [r for url, r in o.images.items() if url.startswith(prefix)]
        assert len(rows) == n and all(r["status"] == status for r in rows)
    elif what == "no_image_node":
        page_url, fragment = args
        assert page_url in o.pages
        nodes = o.pages[page_url]["nodes"]
        assert not any(fragment in (n.get("url") or "") for n in nodes if n["type"] == "image")
        assert not any(fragment in url for url in o.images)
    elif what == "shard_drop":
        url, reason = args
        rows = [r for r in o.shard_excluded if r["url"] == url]
        assert [r["reason"] for r in rows] == [reason], rows
        assert o.stages["write_interleaved"]["dropped"].get(reason, 0) >= 1
    elif what == "pdf":
        (reason,) = args
        assert o.stages["ocr_pdfs"]["dropped"].get(reason, 0) == 1, o.stages["ocr_pdfs"]
    else:
        raise AssertionError(f"unknown expectation {expect!r}")


RUN_KINDS = [k for k in KINDS if k[1] != "config"]
CONFIG_KINDS = [k for k in KINDS if k[1] == "config"]


def test_catalogue_is_complete():
    names = [k[0] for k in KINDS]
    assert len(names) == len(set(names)) >= 30
    assert {k[1] for k in KINDS} == {"warc", "http", "html", "image", "pdf", "download", "config"}


@pytest.mark.parametrize("kind", RUN_KINDS, ids=[k[0] for k in RUN_KINDS])
def test_kind_local(local_run, kind):
    check_kind(local_run, kind[3])


@pytest.mark.parametrize("kind", CONFIG_KINDS, ids=[k[0] for k in CONFIG_KINDS])
def test_config_kind_is_one_clear_message(tmp_path, kind):
    _, _, _, (_, extra, message) = kind
    base = [f"input.paths=[{tmp_path / 'none.warc.gz'}]", f"run.output={tmp_path / 'out'}", "run.engine=local",
            "run.progress=false", "images.enabled=false", "dedup.enabled=false", "ocr.enabled=false"]
    with pytest.raises(ValueError, match=message) as info:  # ConfigError is a ValueError
        run_all(load_config(None, base + extra))
    if "input.paths" not in extra[0]:
        assert info.type is ConfigError
    assert "\n" not in str(info.value)  # one line, not a traceback from deep inside
    assert not (tmp_path / "out" / "pages" / "_SUCCESS").exists()


def _check_whole_run(o: Outcome) -> None:
    # Every stage balances in the run manifest, as written to OUT/run_manifest.json.
    assert (o.out / "run_manifest.json").exists()
    RunStats.from_dict(o.stages).check()
    for name, stage in o.stages.items():
        assert stage["in"] == stage["out"] + sum(stage["dropped"].values()), name
        # Every drop has a name: no empty, "unknown" or "None" reason, no error:<Exception>.
        for reason in stage["dropped"]:
            assert reason and reason not in ("unknown", "None", "not_fetched"), (name, reason)
            assert not reason.startswith("error:"), (name, reason)  # a parser crash, counted
    expected_stages = {"extract", "langid", "filters", "fetch_images", "image_dedup", "dedup",
                       "write_interleaved", "ocr_pdfs", "ocr_pdf_pages", "ocr_samples"}
    assert expected_stages <= set(o.stages), sorted(o.stages)
    # Every input file was read (one part each) and every file error is named.
    assert len(o.files) == 10
    assert all(e["error"] for e in o.manifest["file_errors"])
    # Every image URL that is not ok says why; every excluded document says why.
    assert o.images and all(r["reason"] for r in o.images.values() if r["status"] != "ok")
    assert all(r["reason"] for r in o.shard_excluded + o.page_excluded)
    # Nothing is lost between stages: each document of pages/ is written or excluded with a reason.
    written = o.stages["write_interleaved"]
    assert written["in"] == len(o.pages) == o.stages["extract"]["out"]
    assert {r["url"] for r in o.shard_excluded} | {u for u, r in o.pages.items() if r["kind"] == "pdf"} \
        >= set(o.pages) - _written_urls(o)
    # The images table has one row per distinct image URL of the kept pages.
    assert o.stages["fetch_images"]["in"] == len(o.images)


def _written_urls(o: Outcome) -> set[str]:
    folder = o.out / "shards" / "interleaved"
    return {r["url"] for p in sorted(folder.glob("shard-*.parquet")) for r in pq.read_table(p, columns=["url"]).to_pylist()}


def test_whole_run_local(local_run):
    _check_whole_run(local_run)
    assert local_run.seconds < 150


@pytest.fixture(scope="module")
def spark_run(inputs, web_server, tmp_path_factory, local_run) -> Outcome:
    return Outcome(inputs, tmp_path_factory.mktemp("spark") / "out", web_server, "spark")


@pytest.mark.spark
def test_whole_run_spark_matches_local(spark_run, local_run):
    _check_whole_run(spark_run)
    for kind in RUN_KINDS:
        check_kind(spark_run, kind[3])
    # The same input gives the same accounting under both engines.
    for name in ("extract", "fetch_images", "dedup", "write_interleaved", "ocr_pdfs"):
        left, right = dict(spark_run.stages[name]), dict(local_run.stages[name])
        if name == "fetch_images":  # chunk/resume counters differ by task layout, the balance does not
            left.pop("counters"), right.pop("counters")
        assert left == right, name
    assert spark_run.file_errors.keys() == local_run.file_errors.keys()
