"""pipeline.ocr.pdf: PDF pages → RGB images with their exact text layer.

Self-contained tests write their PDFs by hand (raw PDF syntax: positions, fonts, CMaps,
encryption and page boxes are exactly known). Tests on real files read ../shared/data and
skip when it is absent.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import random
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from pipeline.config import OcrPdfConfig
from pipeline.ocr import pdf as ocr_pdf
from pipeline.ocr.pdf import (
    PageSkip,
    PdfHandle,
    PdfInfo,
    PdfPage,
    close_pdf,
    garbled_ratio,
    open_pdf,
    pdf_pages,
)

CFG = OcrPdfConfig()
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
PDF_DIR = DATA / "pdf"
PDF_WARC = DATA / "warc" / "pdf" / "aut_example.pdf.warc.gz"

# ---------------------------------------------------------------------------------------------
# Hand-written PDFs


def _pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF of ``objects`` (object 1 is the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, trailer, xref)
    return bytes(out)


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
LETTER = b"[0 0 612 792]"


def _text(text: str, x: float = 72, y: float = 700, size: float = 24) -> bytes:
    return b"BT /F1 %g Tf %g %g Td (%s) Tj ET\n" % (size, x, y, text.encode("latin-1"))


def _pages_pdf(contents: list[bytes | None], media: bytes = LETTER, page_extra: bytes = b"",
               font: bytes = HELVETICA, extra: tuple[bytes, ...] = (),
               trailer: bytes = b"") -> bytes:
    """One page per content stream; ``None`` puts a broken page object (a number) there.

    Objects: 1 catalog, 2 page tree, 3 the font /F1, 4... ``extra`` (what the font refers
    to), then each page followed by its content stream.
    """
    first = 4 + len(extra)
    kids, objects = [], []
    for content in contents:
        number = first + len(objects)
        kids.append(b"%d 0 R" % number)
        if content is None:
            objects.append(b"42")
            continue
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox " + media
                       + b" /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R " % (number + 1)
                       + page_extra + b">>")
        objects.append(_stream(content))
    tree = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(kids)
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", tree, font, *extra, *objects], trailer)


def _to_unicode(first: int, last: int, target: int) -> bytes:
    """A ToUnicode CMap sending codes first..last to target, target + 1, ..."""
    return _stream(
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        b"1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"1 beginbfrange <%02X> <%02X> <%04X> endbfrange\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end" % (first, last, target))


# Helvetica whose ToUnicode CMap sends every printable code into the Private Use Area.
PUA_FONT = ((b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding"
             b" /ToUnicode 4 0 R >>"), _to_unicode(0x20, 0x7E, 0xE020))
# A Type3 font whose glyphs (a bar each) have made-up names and no ToUnicode: no mapping.
TYPE3_FONT = (b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 600 700]"
              b" /FontMatrix [0.001 0 0 0.001 0 0] /CharProcs << /g1 4 0 R >>"
              b" /Encoding << /Type /Encoding /Differences [32" + b" /g1" * 95 + b"] >>"
              b" /FirstChar 32 /LastChar 126 /Widths [" + b" 600" * 95 + b"] /Resources << >> >>",
              _stream(b"600 0 0 0 500 700 d1 50 0 400 700 re f"))

PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    box = list(range(256))
    j = 0
    for i in range(256):
        j = (j + box[i] + key[i % len(key)]) % 256
        box[i], box[j] = box[j], box[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + box[i]) % 256
        box[i], box[j] = box[j], box[i]
        out.append(byte ^ box[(box[i] + box[j]) % 256])
    return bytes(out)


def _encrypted_pdf(content: bytes, user: str, owner: str) -> bytes:
    """A one-page PDF under the Standard security handler (RC4 40-bit, V1 R2; PDF 1.7
    algorithms 2, 3 and 4): the content stream really is encrypted."""
    file_id = hashlib.md5(b"interleaf").digest()
    permissions = -4

    def padded(password: str) -> bytes:
        return (password.encode("latin-1") + PAD)[:32]

    o_value = _rc4(hashlib.md5(padded(owner or user)).digest()[:5], padded(user))
    key = hashlib.md5(padded(user) + o_value + permissions.to_bytes(4, "little", signed=True)
                      + file_id).digest()[:5]
    u_value = _rc4(key, PAD)
    stream_key = hashlib.md5(key + (4).to_bytes(3, "little") + b"\0\0").digest()[:10]
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
                b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"),
               _stream(_rc4(stream_key, content)), HELVETICA,
               b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
               % (o_value.hex().encode(), u_value.hex().encode(), permissions)]
    ids = file_id.hex().encode()
    return _pdf(objects, b"/Encrypt 6 0 R /ID [<%s> <%s>] " % (ids, ids))


SENTENCE = "Hello OCR world, pdfium test"  # 24 non-space characters: above min_chars


def _open(data: bytes, cfg: OcrPdfConfig = CFG) -> tuple[PdfHandle, PdfInfo]:
    opened = open_pdf(data, cfg)
    assert not isinstance(opened, str), opened
    return opened


def _results(data: bytes, cfg: OcrPdfConfig = CFG) -> list[PdfPage | PageSkip]:
    handle, info = _open(data, cfg)
    with handle:
        return list(pdf_pages(handle, info, cfg))


def _only_page(data: bytes, cfg: OcrPdfConfig = CFG) -> PdfPage:
    [page] = _results(data, cfg)
    assert isinstance(page, PdfPage), page
    return page


def _ink(page: PdfPage) -> tuple[int, int, int, int]:
    """Bounding box of the dark pixels of the rendered image."""
    ys, xs = np.nonzero(np.asarray(page.image.convert("L")) < 160)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _reasons(results: list[PdfPage | PageSkip]) -> list[str | None]:
    return [r.reason if isinstance(r, PageSkip) else None for r in results]


# ---------------------------------------------------------------------------------------------
# Text, geometry and rendering of generated PDFs


@pytest.mark.parametrize("media, page_extra", [
    (LETTER, b""),
    (LETTER, b"/Rotate 90"),
    (LETTER, b"/Rotate 180"),
    (LETTER, b"/Rotate 270"),
    (LETTER, b"/CropBox [50 600 500 750]"),
    (b"[-100 -50 512 742]", b""),
])
def test_line_box_lands_on_the_drawn_text(media: bytes, page_extra: bytes) -> None:
    page = _only_page(_pages_pdf([_text(SENTENCE)], media=media, page_extra=page_extra))
    [line] = page.lines
    assert line.text == page.text == SENTENCE
    ink = _ink(page)
    assert all(abs(a - b) <= 2 for a, b in zip(line.box, ink)), (line.box, ink)
    rotated = page_extra in (b"/Rotate 90", b"/Rotate 270")
    assert line.vertical == rotated  # a quarter turn makes the line a column of the image
    assert page.image.size == tuple(math.ceil(round(side * 150 / 72, 6))
                                   for side in page.page_size_pt)


def test_known_position_in_pixels_and_page_geometry() -> None:
    """Helvetica 24 pt at (72, 700) on Letter: x from 72 pt = 150 px, baseline at
    (792 - 700) pt = 191.7 px, cap height 0.718 em = 17.2 pt above it."""
    page = _only_page(_pages_pdf([_text(SENTENCE)]))
    assert page.image.mode == "RGB" and page.image.size == (1275, 1650)
    assert page.dpi == 150 and page.page_size_pt == (612.0, 792.0) and page.index == 0
    x0, y0, _, y1 = page.lines[0].box
    assert abs(x0 - 150) <= 5  # 'H' has a small left side bearing
    assert abs(y0 - (792 - 700 - 17.2) * 150 / 72) <= 3
    assert abs(y1 - (792 - 700 + 0.21 * 24) * 150 / 72) <= 3  # the comma's descender


def test_char_boxes_follow_the_text() -> None:
    page = _only_page(_pages_pdf([_text(SENTENCE)]))
    [line] = page.lines
    assert len(line.chars) == len(line.text)
    for left, right in zip(line.chars, line.chars[1:]):
        assert left[0] <= right[0] and left[2] <= right[2] + 0.01  # left to right
    for i, ch in enumerate(line.text):
        x0, y0, x1, y1 = line.chars[i]
        if ch == " ":  # the gap between its neighbours, full line height
            assert (x0, x1) == (line.chars[i - 1][2], line.chars[i + 1][0])
            assert (y0, y1) == (line.box[1], line.box[3])
        else:
            assert x1 > x0 and y1 > y0
    # 'O' of "OCR" where the ink is: the first dark column right of "Hello, ".
    o_box = line.chars[line.text.index("O")]
    dark = np.asarray(page.image.convert("L"))[int(o_box[1]):int(o_box[3]), :] < 160
    columns = np.flatnonzero(dark.any(axis=0))
    assert abs(columns[columns >= o_box[0] - 3][0] - o_box[0]) <= 2


def test_render_is_deterministic() -> None:
    data = _pages_pdf([_text(SENTENCE), _text("The second page, with other words", y=400)])
    first = [p.image.tobytes() for p in _results(data)]
    second = [p.image.tobytes() for p in _results(data)]
    assert first == second and first[0] != first[1]


def test_lines_keep_content_order_and_split_at_line_breaks() -> None:
    content = (_text("A title on top of the page", y=720, size=20)
               + _text("first body line of the text", y=650, size=12)
               + _text("second body line of the text", y=635, size=12))
    page = _only_page(_pages_pdf([content]))
    assert [line.text for line in page.lines] == [
        "A title on top of the page", "first body line of the text", "second body line of the text"]
    assert page.text == "\n".join(line.text for line in page.lines)
    tops = [line.box[1] for line in page.lines]
    assert tops == sorted(tops)


def test_hyphenated_word_across_lines() -> None:
    """pdfium joins a word hyphenated at a line end into one line without CR/LF and marks
    the hyphen (U+0002 per character, U+FFFE in FPDFText_GetText): two lines, a real '-'."""
    content = (b"BT /F1 12 Tf 72 700 Td (A simple line of text that ends in infor-) Tj"
               b" 0 -14 Td (mation and then continues here) Tj ET\n")
    data = _pages_pdf([content])
    with pdfium.PdfDocument(data) as doc:
        assert "infor\ufffemation" in doc[0].get_textpage().get_text_range()
    page = _only_page(data)
    assert [line.text for line in page.lines] == [
        "A simple line of text that ends in infor-", "mation and then continues here"]
    first, second = page.lines
    assert first.box[3] < second.box[1] and second.box[0] < first.box[2]


def test_same_baseline_text_far_apart_is_two_lines() -> None:
    """pdfium joins a running header and its page number; the image shows two lines."""
    content = _text("Chapter one: the beginning", x=72, y=750, size=10) + _text(
        "17", x=520, y=750, size=10) + _text(SENTENCE, y=600)
    page = _only_page(_pages_pdf([content]))
    assert [line.text for line in page.lines][:2] == ["Chapter one: the beginning", "17"]


def test_text_outside_the_crop_box_is_dropped() -> None:
    content = _text("Visible words inside the crop box", x=100, y=700, size=14) + _text(
        "Hidden words outside of it", x=100, y=300, size=14)
    page = _only_page(_pages_pdf([content], page_extra=b"/CropBox [0 600 612 792]"))
    assert page.text == "Visible words inside the crop box"
    assert page.image.size == (1275, 400)


# ---------------------------------------------------------------------------------------------
# Garbled text layers


@pytest.mark.parametrize("text, ratio", [
    ("", 0.0),
    ("   \n\t ", 0.0),
    ("Plain English text.", 0.0),
    ("Größe, ça, 東京, مرحبا, Ελλάδα", 0.0),
    ("\ufffd\ufffd ab", 0.5),  # whitespace does not count
    ("\ue000\uf8ffab", 0.5),  # BMP private use
    ("\U000f0000\U0010fffd", 1.0),  # planes 15/16 private use
    ("\x01\x1f\x85x", 0.75),  # C0 and C1 controls, also those Python calls whitespace
    ("\x0b\x0c\x1cx\t\r\n", 0.75),  # only tab, CR and LF are whitespace here
    ("\u0378\uffff", 1.0),  # unassigned, noncharacter
    ("\ud800a", 0.5),  # lone surrogate
    ("soft\u00adhyphen and zero\u200bwidth", 0.0),  # format characters are fine
])
def test_garbled_ratio(text: str, ratio: float) -> None:
    assert garbled_ratio(text) == pytest.approx(ratio)


def test_private_use_cmap_is_garbled() -> None:
    font, cmap = PUA_FONT
    data = _pages_pdf([_text(SENTENCE)], font=font, extra=(cmap,))
    assert _reasons(_results(data)) == ["pdf_page:garbled"]
    page = _only_page(data, replace(CFG, keep_garbled=True))
    assert page.garbled and page.garbled_ratio == 1.0
    assert page.text[0] == "\ue048"  # 'H' (0x48) sent to U+E048
    assert page.lines and len(page.lines[0].chars) == len(page.lines[0].text)


def test_font_without_unicode_mapping_is_garbled() -> None:
    """No ToUnicode and made-up glyph names: pdfium falls back to the raw codes, which here
    read as the original ASCII. Only its map-error flag tells, and that text becomes U+FFFD."""
    font, glyph = TYPE3_FONT
    data = _pages_pdf([_text(SENTENCE)], font=font, extra=(glyph,))
    with pdfium.PdfDocument(data) as doc:
        assert doc[0].get_textpage().get_text_range() == SENTENCE  # looks perfect, is not
    assert _reasons(_results(data)) == ["pdf_page:garbled"]
    page = _only_page(data, replace(CFG, keep_garbled=True))
    assert page.garbled and set(page.text) == {"\ufffd"} and len(page.text) == len(SENTENCE)
    assert _ink(page)[0] >= 149  # still rendered: the glyphs are bars


def test_garbled_threshold() -> None:
    font, cmap = PUA_FONT
    data = _pages_pdf([_text(SENTENCE)], font=font, extra=(cmap,))
    assert isinstance(_only_page(data, replace(CFG, max_garbled_ratio=1.0)), PdfPage)
    page = _only_page(data, replace(CFG, max_garbled_ratio=1.0))
    assert not page.garbled and page.garbled_ratio == 1.0


# ---------------------------------------------------------------------------------------------
# Bad documents and limits


def _random_bytes(size: int) -> bytes:
    return random.Random(7).randbytes(size)


@pytest.mark.parametrize("data", [
    b"",
    b"%PDF-1.7\n",
    b"<html><body>not a pdf</body></html>",
    _random_bytes(5000),
    b"%PDF-1.4\n" + _random_bytes(5000),
    _pages_pdf([_text(SENTENCE)])[:150],  # truncated inside the page objects
    gzip.compress(_pages_pdf([_text(SENTENCE)])),
], ids=["empty", "header-only", "html", "random", "pdf-header-random", "truncated", "gzipped"])
def test_broken_bytes(data: bytes) -> None:
    assert open_pdf(data, CFG) == "pdf:broken"


def test_encrypted_with_user_password() -> None:
    data = _encrypted_pdf(_text(SENTENCE), user="secret", owner="owner")
    assert open_pdf(data, CFG) == "pdf:encrypted"
    # Really encrypted, not merely broken: the password opens it.
    with pdfium.PdfDocument(data, password="secret") as doc:
        assert doc[0].get_textpage().get_text_range() == SENTENCE


def test_encrypted_with_owner_password_only_opens() -> None:
    """No user password (the common "no copying" PDF): readable, flagged encrypted."""
    handle, info = _open(_encrypted_pdf(_text(SENTENCE), user="", owner="owner"))
    with handle:
        assert info == PdfInfo(pages=1, encrypted=True, title=None)
        [page] = pdf_pages(handle, info, CFG)
    assert isinstance(page, PdfPage) and page.text == SENTENCE


def test_no_pages() -> None:
    data = _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])
    assert open_pdf(data, CFG) == "pdf:no_pages"


def test_max_bytes() -> None:
    data = _pages_pdf([_text(SENTENCE)])
    assert open_pdf(data, replace(CFG, max_bytes=len(data) - 1)) == "pdf:too_large"
    handle, info = _open(data, replace(CFG, max_bytes=len(data)))
    close_pdf(handle)
    assert info.pages == 1


def test_title_from_metadata() -> None:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
               HELVETICA,
               (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
                b" /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>"),
               _stream(_text(SENTENCE)), b"<< /Title (A hand-written title) >>"]
    assert _open(_pdf(objects, b"/Info 6 0 R "))[1].title == "A hand-written title"
    assert _open(_pages_pdf([_text(SENTENCE)]))[1].title is None


def test_max_pages_counts_without_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _pages_pdf([_text(f"{SENTENCE} on page {n}") for n in range(5)])
    loaded = []
    original = ocr_pdf._page

    def counting(doc: pdfium.PdfDocument, index: int, cfg: OcrPdfConfig) -> PdfPage | PageSkip:
        loaded.append(index)
        return original(doc, index, cfg)

    monkeypatch.setattr(ocr_pdf, "_page", counting)
    results = _results(data, replace(CFG, max_pages=2))
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert _reasons(results) == [None, None] + ["pdf_page:over_limit"] * 3
    assert loaded == [0, 1]
    assert results[1].text == f"{SENTENCE} on page 1"


def test_max_pixels_is_checked_before_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _pages_pdf([_text(SENTENCE)])
    pixels = 1275 * 1650  # Letter at 150 dpi
    assert isinstance(_only_page(data, replace(CFG, max_pixels=pixels)), PdfPage)
    monkeypatch.setattr(ocr_pdf, "_render", _must_not_render)
    assert _reasons(_results(data, replace(CFG, max_pixels=pixels - 1))) == ["pdf_page:too_large"]
    huge = _pages_pdf([_text(SENTENCE)], media=b"[0 0 14400 14400]")  # 200 in square
    assert _reasons(_results(huge)) == ["pdf_page:too_large"]


def _must_not_render(*_: object) -> None:
    raise AssertionError("rendered a page that should have been skipped")


def test_no_text_is_checked_before_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    blank = _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                  b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])
    twenty = "abcde fghij klmno pqrst"  # 20 non-space characters
    data = _pages_pdf([_text("Hi"), _text(twenty[:-1]), _text(twenty), _text(" " * 40)])
    assert _reasons(_results(data)) == ["pdf_page:no_text", "pdf_page:no_text", None,
                                        "pdf_page:no_text"]
    monkeypatch.setattr(ocr_pdf, "_render", _must_not_render)
    assert _reasons(_results(blank)) == ["pdf_page:no_text"]
    assert _reasons(_results(_pages_pdf([_text(twenty[:-1])]))) == ["pdf_page:no_text"]


def test_a_broken_page_does_not_stop_the_document() -> None:
    data = _pages_pdf([_text(SENTENCE), None, _text(SENTENCE, y=500)])
    results = _results(data)
    assert _reasons(results) == [None, "pdf_page:render_error", None]
    assert results[2].text == SENTENCE


def test_close_pdf_and_context_manager() -> None:
    handle, _ = _open(_pages_pdf([_text(SENTENCE)]))
    close_pdf(handle)
    assert handle.doc.raw is None
    close_pdf(handle)  # twice is harmless
    with _open(_pages_pdf([_text(SENTENCE)]))[0] as other:
        assert other.doc.raw is not None
    assert other.doc.raw is None


# ---------------------------------------------------------------------------------------------
# Real PDFs (../shared/data)

SHARED_PAGES = {
    "pdfminer_jo.pdf": 1,
    "pdfminer_kampo.pdf": 1,
    "pdfminer_naacl06-shinyama.pdf": 8,
    "pdfminer_pr-00530-ml-lines.pdf": 1,
    "pypdf_GeoTopo-komprimiert.pdf": 117,
    "pypdf_google-doc-document.pdf": 1,
    "pypdf_habibi.pdf": 1,
    "pypdf_multicolumn.pdf": 3,
    "pypdf_pdflatex-4-pages.pdf": 4,
    "pypdf_pdflatex-image.pdf": 1,
}


@dataclass
class _Seen:
    """A page result without its image (138 images would hold ~1 GB)."""

    index: int
    reason: str | None
    size: tuple[int, int] | None = None
    lines: list = field(default_factory=list)
    text: str = ""
    garbled_ratio: float = 0.0


def _shared(name: str) -> Path:
    path = PDF_DIR / name
    if not path.is_file():
        pytest.skip(f"shared test data absent: {path} (clone ../shared next to the repo)")
    return path


@pytest.fixture(scope="module")
def shared() -> dict[str, tuple[PdfInfo, list[_Seen]]]:
    """Every page of every shared PDF, processed once."""
    if not PDF_DIR.is_dir():
        pytest.skip(f"shared test data absent: {PDF_DIR} (clone ../shared next to the repo)")
    cfg = replace(CFG, max_pages=1000)
    out = {}
    for name in SHARED_PAGES:
        handle, info = _open(_shared(name).read_bytes(), cfg)
        with handle:
            out[name] = (info, [_seen(r) for r in pdf_pages(handle, info, cfg)])
    return out


def _seen(result: PdfPage | PageSkip) -> _Seen:
    if isinstance(result, PageSkip):
        return _Seen(result.index, result.reason)
    return _Seen(result.index, None, result.image.size, result.lines, result.text,
                 result.garbled_ratio)


def _texts(shared: dict, name: str, index: int) -> list[str]:
    return [line.text for line in shared[name][1][index].lines]


def test_shared_page_counts(shared: dict) -> None:
    for name, pages in SHARED_PAGES.items():
        info, results = shared[name]
        assert info.pages == pages, name
        assert [r.index for r in results] == list(range(pages))
        assert all(r.reason is None for r in results), name  # every page has a usable layer


def test_shared_metadata(shared: dict) -> None:
    assert shared["pypdf_GeoTopo-komprimiert.pdf"][0].title == "Geometrie und Topologie"
    assert shared["pypdf_google-doc-document.pdf"][0].title == "PDF Example Document"
    assert shared["pdfminer_naacl06-shinyama.pdf"][0].title is None  # empty /Title
    # kampo has an owner password (Acrobat Distiller, no user password): open, but flagged.
    assert shared["pdfminer_kampo.pdf"][0].encrypted
    assert not shared["pypdf_multicolumn.pdf"][0].encrypted


def test_shared_text_in_reading_order(shared: dict) -> None:
    naacl = _texts(shared, "pdfminer_naacl06-shinyama.pdf", 0)
    assert naacl[0] == "Preemptive Information Extraction using Unrestricted Relation Discovery"
    assert naacl.index("Abstract") < naacl.index("We are trying to extend the boundary of")
    assert naacl.index("1 Background") > naacl.index("good results.")
    # Authors side by side on one baseline are two lines on the image.
    assert naacl[1:3] == ["Yusuke Shinyama", "Satoshi Sekine"]

    columns = _texts(shared, "pypdf_multicolumn.pdf", 0)
    assert columns[0] == "Two-Column Document with Lorem Ipsum"
    assert columns.index("Abstract") < columns.index(
        "This is a sample document with two columns filled")

    assert _texts(shared, "pypdf_google-doc-document.pdf", 0)[:2] == [
        "Example document", "Beautiful is better than ugly."]
    assert _texts(shared, "pypdf_pdflatex-image.pdf", 0)[:2] == [
        "1 Your Chapter",
        "Lorem ipsum dolor sit amet, consetetur sadipscing elitr, sed diam nonumy eirmod tempor"]
    assert _texts(shared, "pypdf_pdflatex-4-pages.pdf", 3)[0] == (
        "in of the original language. There is no need for special content, but the length of words")
    assert _texts(shared, "pypdf_GeoTopo-komprimiert.pdf", 0) == [
        "Einführung in die", "Geometrie und Topologie", "0. Auflage, 31. Dezember 2016",
        "Martin Thoma"]
    geo = _texts(shared, "pypdf_GeoTopo-komprimiert.pdf", 14)
    assert geo[:2] == ["12", "1.4. ZUSAMMENHANG"]  # page number and running head: two lines
    assert "Beispiel 14 (Stereographische Projektion)" in geo
    register = _texts(shared, "pdfminer_pr-00530-ml-lines.pdf", 0)
    assert register[0] == "This section of the FEDERAL REGISTER"
    assert {"Proposed Rules", "DEPARTMENT OF TRANSPORTATION", "Federal Aviation Administration"} <= set(
        register)


def test_shared_hyphenated_words_end_their_line(shared: dict) -> None:
    """pdfium joins "Ex-" + "isting" across the line break (no CR/LF) and marks the hyphen
    U+0002: the hyphen is '-' and the next line starts a new PdfLine."""
    naacl = _texts(shared, "pdfminer_naacl06-shinyama.pdf", 0)
    at = naacl.index("Information Extraction (IE) systems. Ex-")
    assert naacl[at + 1] == "isting IE systems require a lot of time and"
    for name in SHARED_PAGES:
        assert not any("\x02" in r.text for r in shared[name][1]), name


def test_shared_geometry(shared: dict) -> None:
    for name in SHARED_PAGES:
        for page in shared[name][1]:
            width, height = page.size
            assert page.text == "\n".join(line.text for line in page.lines)
            for line in page.lines:
                assert line.text and line.text == line.text.strip() and "\n" not in line.text
                assert len(line.chars) == len(line.text), (name, page.index, line.text)
                x0, y0, x1, y1 = line.box
                assert 0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height
                for ch, (cx0, cy0, cx1, cy1) in zip(line.text, line.chars):
                    assert 0 <= cx0 <= cx1 <= width and 0 <= cy0 <= cy1 <= height
                    if not ch.isspace():  # the line box holds every glyph
                        assert x0 - 0.01 <= cx0 and cx1 <= x1 + 0.01
                        assert y0 - 0.01 <= cy0 and cy1 <= y1 + 0.01


def test_shared_pages_are_rendered_at_150_dpi(shared: dict) -> None:
    assert shared["pdfminer_naacl06-shinyama.pdf"][1][0].size == (1240, 1755)  # A4
    assert shared["pdfminer_pr-00530-ml-lines.pdf"][1][0].size == (1275, 1650)  # Letter
    assert shared["pdfminer_jo.pdf"][1][0].size == (1650, 1275)  # landscape Letter


def test_shared_japanese_vertical_text(shared: dict) -> None:
    """jo.pdf (a poem, tategaki): pdfium gives whole columns, drawn left to right; they read
    right to left. kampo.pdf (an official gazette page, tategaki): pdfium breaks after every
    glyph; the columns are rejoined."""
    jo = shared["pdfminer_jo.pdf"][1][0]
    assert len(jo.lines) == 60 and sum(line.vertical for line in jo.lines) == 59
    assert [line.text for line in jo.lines[:3]] == ["序", "わたくしといふ現象は", "假定された有機交流電燈の"]
    block = jo.lines[1:29]  # the first block of columns, right to left
    assert all(line.vertical for line in block)
    assert [line.box[0] for line in block] == sorted((line.box[0] for line in block), reverse=True)
    for line in block:  # a column: taller than wide, glyphs stacked downwards
        assert line.box[3] - line.box[1] > 3 * (line.box[2] - line.box[0])
        tops = [c[1] for ch, c in zip(line.text, line.chars) if not ch.isspace()]
        assert tops == sorted(tops)

    kampo = shared["pdfminer_kampo.pdf"][1][0]
    vertical = [line for line in kampo.lines if line.vertical]
    assert len(vertical) >= 90 and len(vertical) / len(kampo.lines) > 0.7
    assert kampo.lines[0].vertical and kampo.lines[0].text.startswith("第二条第一項の表の青色の灯火の項")
    japanese = sum(unicodedata.name(ch, "").startswith(("CJK", "HIRAGANA", "KATAKANA"))
                   for ch in kampo.text)
    assert japanese > 2000


def test_shared_pdfs_are_not_garbled(shared: dict) -> None:
    """The shared PDFs have sound text layers, with three documented blemishes."""
    for name in SHARED_PAGES:
        for page in shared[name][1]:
            limit = 0.25 if name == "pypdf_habibi.pdf" else 0.1
            assert page.garbled_ratio <= limit, (name, page.index, page.garbled_ratio)
    # habibi.pdf (WeasyPrint, Arabic): 5 of its 24 characters are shaped glyphs without a
    # Unicode mapping (pdfium flags them; they are U+FFFD here). Partly garbled, kept at 0.3.
    habibi = shared["pypdf_habibi.pdf"][1][0]
    assert habibi.garbled_ratio == pytest.approx(5 / 24)
    assert "habibi" in habibi.text and "\ufffd" in habibi.text and "ي" in habibi.text
    # GeoTopo (LaTeX math): symbol glyphs without mapping (the QED box, brace pieces) are
    # U+FFFD; the math fonts' big delimiters map to Private Use (U+F8EB..). Under 10% a page.
    assert any("\ufffd" in page.text for page in shared["pypdf_GeoTopo-komprimiert.pdf"][1])
    # kampo's running head: the digits of "平成20年4月25日" come from a font with a wrong
    # encoding and read as '™—' — valid characters, invisible to garbled_ratio.
    assert _kampo_head(shared).startswith("平成 ™— 年")


def _kampo_head(shared: dict) -> str:
    return next(line.text for line in shared["pdfminer_kampo.pdf"][1][0].lines
                if line.text.startswith("平成"))


def _warc_pdfs() -> list[tuple[str, bytes]]:
    if not PDF_WARC.is_file():
        pytest.skip(f"shared test data absent: {PDF_WARC} (clone ../shared next to the repo)")
    from warcio.archiveiterator import ArchiveIterator

    found = []
    with PDF_WARC.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            if "application/pdf" in (record.http_headers.get_header("Content-Type") or ""):
                found.append((record.rec_headers.get_header("WARC-Target-URI"),
                              record.content_stream().read()))
    return found


def test_pdfs_from_a_warc() -> None:
    [(paper_url, paper), (deck_url, deck)] = _warc_pdfs()
    assert paper_url.endswith("cost-analysis.pdf?sequence=1&isAllowed=y")
    handle, info = _open(paper)
    with handle:
        assert info == PdfInfo(pages=4, encrypted=False,
                               title="The Cost of a WARC: Analyzing Web Archives in the Cloud")
        pages = list(pdf_pages(handle, info, CFG))
    assert all(isinstance(page, PdfPage) for page in pages)
    assert pages[0].lines[0].text == "The Cost of a WARC: Analyzing Web Archives in the Cloud"

    assert "Presentation" in deck_url
    cfg = replace(CFG, max_pages=20)
    handle, info = _open(deck, cfg)
    with handle:
        slides = list(pdf_pages(handle, info, cfg))
    assert info.pages == 27 and len(slides) == 27
    # Slides that are only pictures have no text layer.
    assert [i for i, r in enumerate(_reasons(slides)) if r == "pdf_page:no_text"] == [3, 7, 9]
    assert _reasons(slides)[20:] == ["pdf_page:over_limit"] * 7
    assert [line.text for line in slides[0].lines[:2]] == [
        "Cost of a WARC", "Analyzing Web Archives in the Cloud"]


def test_shared_truncated_pdf_is_broken() -> None:
    data = _shared("pdfminer_naacl06-shinyama.pdf").read_bytes()
    for cut in (100, len(data) // 2, len(data) - 50):
        assert open_pdf(data[:cut], CFG) == "pdf:broken"


def test_shared_max_pages_default() -> None:
    data = _shared("pypdf_GeoTopo-komprimiert.pdf").read_bytes()
    reasons = _reasons(_results(data))
    assert len(reasons) == 117
    assert reasons[:50] == [None] * 50 and reasons[50:] == ["pdf_page:over_limit"] * 67
