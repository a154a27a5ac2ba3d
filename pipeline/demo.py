"""The embedded sample: a small WARC built by our own code, used by ``interleaf demo``.

Pages are written here (English, and Chinese in GBK), images are drawn with Pillow, and the
WARC holds what real crawls hold: request records, HTML responses, archived images, a PDF,
a revisit, a 404, a stylesheet. Everything is deterministic: record ids, dates and image
pixels derive from fixed inputs, so the demo WARC is byte-identical on every machine.
"""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path

from PIL import Image, ImageDraw
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SITE = "https://demo.interleaf.example"
DATE = "2026-01-15T10:00:00Z"
_NS = uuid.UUID("6f1b1f3c-2d55-4c7e-9d38-7b1f9f0c2a11")


def draw_image(seed: int, size: tuple[int, int] = (320, 240), fmt: str = "JPEG") -> bytes:
    """A deterministic picture: a gradient sky, a sun and a few shapes that depend on ``seed``."""
    w, h = size
    mode = "RGBA" if fmt == "PNG" else "RGB"
    im = Image.new(mode, size)
    px = im.load()
    for y in range(h):
        for x in range(w):
            r = (x * 255 // w + seed * 37) % 256
            g = (y * 255 // h + seed * 59) % 256
            b = (seed * 97 + (x + y) // 3) % 256
            px[x, y] = (r, g, b, 255) if mode == "RGBA" else (r, g, b)
    draw = ImageDraw.Draw(im)
    draw.ellipse((w // 8, h // 8, w // 8 + h // 3, h // 8 + h // 3), fill=(255, 220, 40))
    for i in range(3 + seed % 4):
        x0 = (seed * 53 + i * 71) % (w - 40)
        y0 = h // 2 + (seed * 31 + i * 23) % (h // 2 - 20)
        draw.rectangle((x0, y0, x0 + 30 + i * 7, y0 + 15), fill=((i * 80) % 256, 60, 160))
    out = io.BytesIO()
    if fmt == "GIF":
        im.convert("P", palette=Image.ADAPTIVE).save(out, format="GIF")
    else:
        im.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def _pdf_bytes() -> bytes:
    """A one-page PDF (an image of a text page, as scanners produce), made by Pillow."""
    im = Image.new("RGB", (612, 792), "white")
    draw = ImageDraw.Draw(im)
    for i, line in enumerate(["interleaf demo report", "Page one of one.", "Lighthouses and tides."]):
        draw.text((72, 72 + i * 24), line, fill="black")
    out = io.BytesIO()
    fixed = time.gmtime(1768471200)  # 2026-01-15; Pillow stamps the current time otherwise
    im.save(out, format="PDF", resolution=72.0, creationDate=fixed, modDate=fixed)
    return out.getvalue()


def _pdf_literal(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def text_pdf(pages: list[list[str]], font_size: int = 14) -> bytes:
    """A PDF with a real text layer: each page's lines in Helvetica (standard font, no
    embedding), top to bottom. Written by hand so the bytes never change; Latin-1 text only."""
    n = len(pages)
    # Objects: 1 catalog, 2 page tree, 3 font, then per page a page object and its content.
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               "<< /Type /Pages /Kids [" + " ".join(f"{4 + 2 * i} 0 R" for i in range(n)) + f"] /Count {n} >>",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    for i, lines in enumerate(pages):
        ops = [f"BT /F1 {font_size} Tf {font_size * 1.4:.1f} TL 72 720 Td"]
        ops += [f"{_pdf_literal(line)} Tj T*" for line in lines]
        stream = "\n".join(ops + ["ET"]).encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {5 + 2 * i} 0 R >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n" + stream.decode("latin-1") + "\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


REPORT_PAGES = [
    ["The lighthouse survey 2025", "Forty-two lights were inspected along the north coast.",
     "Thirty-eight were in good order; four need new lenses.", "Keepers logged 311 nights of fog."],
    ["Tide tables and safety", "Visitors should cross the causeway only at low water.",
     "The warning bell rings one hour before high tide."],
]


ARTICLE_EN = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>The lighthouse keepers of the north coast</title>
<meta property="article:published_time" content="2025-11-03T08:00:00Z"></head>
<body>
<header><nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/about">About us</a></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
<main><article>
<h1>The lighthouse keepers of the north coast</h1>
<p>For more than a century, the lighthouses of the north coast were kept by families who lived
beside the lamp, trimming wicks at dusk and winding the clockwork that turned the lens.</p>
<figure><img src="/img/lighthouse.jpg" alt="A white lighthouse on a cliff at sunset" width="320" height="240">
<figcaption>The North Point light, photographed in the last summer it was manned.</figcaption></figure>
<p>The last keeper left in 1991, when the light was automated. Today a small museum in the
old cottage tells their story with logbooks, lenses and the keepers' own photographs.</p>
<h2>Life beside the lamp</h2>
<p>Keepers worked in shifts through the night. Storm nights were the hardest: salt spray
clouded the glass, and the fog signal had to sound every thirty seconds until dawn.</p>
<img srcset="/img/lens-small.png 320w, /img/lens-large.png 640w" src="/img/lens-small.png" alt="The Fresnel lens of the North Point light">
<p>The great Fresnel lens, nearly two metres tall, could throw its beam more than twenty
nautical miles out to sea on a clear night.</p>
<img src="https://cdn.elsewhere.example/ads/banner.gif" width="1" height="1" alt="">
</article></main>
<aside class="sidebar"><h3>Related stories</h3><ul><li><a href="/a">Ten coastal walks</a></li><li><a href="/b">Storm season</a></li></ul></aside>
<footer><p>Copyright 2026 Demo Coast News. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body></html>
"""

ARTICLE_ZH = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>海边灯塔的守护者</title></head>
<body>
<div class="nav"><a href="/">首页</a> <a href="/news">新闻</a> <a href="/about">关于我们</a></div>
<div id="content" class="article-content">
<h1>海边灯塔的守护者</h1>
<p>一百多年来，北海岸的灯塔由住在灯旁的家庭看守。每到黄昏，他们修剪灯芯，上紧驱动透镜旋转的发条。</p>
<p><img data-src="/img/zh-lighthouse.jpg" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="悬崖上的白色灯塔"></p>
<p>一九九一年，灯塔实现自动化，最后一位守塔人离开了。如今，旧屋里的小博物馆用航海日志、透镜和守塔人的照片讲述他们的故事。</p>
<picture><source srcset="/img/zh-harbour.gif"><img src="/img/zh-harbour-fallback.jpg" alt="渔港的清晨"></picture>
<p>暴风雨的夜晚最为艰难：海水的盐雾模糊了玻璃，雾号必须每三十秒鸣响一次，直到天亮。</p>
</div>
<div class="footer">版权所有 2026 海岸新闻</div>
</body></html>
"""

GALLERY_EN = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Tide pools: a photo essay</title><base href="https://demo.interleaf.example/gallery/"></head>
<body>
<div class="menu"><a href="/">Home</a> <a href="/gallery">Gallery</a></div>
<article>
<h1>Tide pools: a photo essay</h1>
<p>At low tide the rocks below the lighthouse reveal small worlds of anemones, crabs and
snails, each pool a little different from the next.</p>
<img src="pool-1.jpg" alt="A tide pool with green anemones">
<p>The best time to visit is an hour before the lowest tide of the day, when the pools are
still full but the rocks are safe to walk on.</p>
<img src="https://photos.elsewhere.example/pool-2.jpg" alt="A crab hiding under seaweed">
<p>Please leave every creature where you found it, and step only on bare rock.</p>
</article>
<div class="share-buttons"><a href="#">Share on social media</a></div>
</body></html>
"""


def _record_id(key: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(_NS, key)}>"


class _Writer:
    def __init__(self, fh) -> None:
        self.w = WARCWriter(fh, gzip=True, warc_version="1.1")

    def _write(self, uri: str, rtype: str, payload: bytes, http: StatusAndHeaders | None,
               extra: dict[str, str] | None = None) -> None:
        headers = {"WARC-Date": DATE, "WARC-Record-ID": _record_id(f"{rtype}:{uri}"), **(extra or {})}
        record = self.w.create_warc_record(uri, rtype, payload=io.BytesIO(payload), http_headers=http,
                                           warc_headers_dict=headers)
        self.w.write_record(record)

    def request(self, uri: str) -> None:
        path = uri.split("/", 3)[3] if uri.count("/") >= 3 else ""
        http = StatusAndHeaders(f"GET /{path} HTTP/1.1", [("Host", uri.split("/")[2]),
                                                            ("User-Agent", "interleaf-demo/1.0")],
                                is_http_request=True)
        self._write(uri, "request", b"", http)

    def response(self, uri: str, body: bytes, content_type: str, status: str = "200 OK") -> None:
        self.request(uri)
        http = StatusAndHeaders(status, [("Content-Type", content_type),
                                         ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        self._write(uri, "response", body, http)

    def revisit(self, uri: str) -> None:
        http = StatusAndHeaders("304 Not Modified", [("Content-Length", "0")], protocol="HTTP/1.1")
        self._write(uri, "revisit", b"", http, {
            "WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
            "WARC-Refers-To-Target-URI": uri, "WARC-Refers-To-Date": DATE})


def build_demo_warc(path: str | Path) -> Path:
    """Write the demo WARC to ``path`` (overwriting) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        w = _Writer(fh)
        w.w.write_record(w.w.create_warcinfo_record(
            path.name, {"software": "interleaf demo", "description": "embedded sample crawl"}))
        w.response(f"{SITE}/articles/lighthouse.html", ARTICLE_EN.encode("utf-8"), "text/html; charset=utf-8")
        w.response(f"{SITE}/img/lighthouse.jpg", draw_image(1), "image/jpeg")
        w.response(f"{SITE}/img/lens-large.png", draw_image(2, (640, 480), "PNG"), "image/png")
        w.response(f"{SITE}/style.css", b"body { font-family: serif; }", "text/css")
        w.response(f"{SITE}/zh/lighthouse.html", ARTICLE_ZH.encode("gbk"), "text/html")
        w.response(f"{SITE}/img/zh-lighthouse.jpg", draw_image(3), "image/jpeg")
        w.response(f"{SITE}/img/zh-harbour.gif", draw_image(4, fmt="GIF"), "image/gif")
        w.response(f"{SITE}/gallery/tide-pools.html", GALLERY_EN.encode("utf-8"), "text/html; charset=utf-8")
        w.response(f"{SITE}/gallery/pool-1.jpg", draw_image(5), "image/jpeg")
        w.response(f"{SITE}/reports/annual.pdf", _pdf_bytes(), "application/pdf")
        w.response(f"{SITE}/reports/survey.pdf", text_pdf(REPORT_PAGES), "application/pdf")
        w.response(f"{SITE}/missing.html", b"<html><body>Not found</body></html>", "text/html",
                   status="404 Not Found")
        w.revisit(f"{SITE}/articles/lighthouse.html")
    return path
