"""PDF pages → rendered images with their exact text layer: OCR training samples.

A pure library (no Spark, no files): ``open_pdf`` loads bytes with pdfium, ``pdf_pages`` yields
one ``PdfPage`` (RGB image at ``cfg.dpi`` + text lines with line and character boxes in image
pixels) or one ``PageSkip`` (with a reason) per page, ``close_pdf`` releases pdfium's objects.

The text is pdfium's text page, read character by character in its order (content-stream
order, reading order for most PDFs); lines break where pdfium puts CR/LF, and where it joined
what the image shows apart (hyphenated line ends, gutters); tategaki columns read right to
left. Speed matters (the goal is ~80 pages/s per core at 150 dpi, render included, which
takes most of it), so characters are read through bare ctypes prototypes into flat arrays and
the geometry is done page-wide with numpy, not one Python object per character until the
output. pdfium is not thread-safe: use one document at a time per process.
"""

from __future__ import annotations

import ctypes
import logging
import math
import unicodedata
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import Any, Self

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

log = logging.getLogger(__name__)

TOO_LARGE = "pdf:too_large"
ENCRYPTED = "pdf:encrypted"
BROKEN = "pdf:broken"
NO_PAGES = "pdf:no_pages"
PAGE_NO_TEXT = "pdf_page:no_text"
PAGE_GARBLED = "pdf_page:garbled"
PAGE_TOO_LARGE = "pdf_page:too_large"
PAGE_RENDER_ERROR = "pdf_page:render_error"
PAGE_OVER_LIMIT = "pdf_page:over_limit"

Box = tuple[float, float, float, float]


@dataclass
class PdfLine:
    text: str  # the line's text, in reading order
    box: Box  # x0, y0, x1, y1 in pixels of the rendered image, y down
    chars: list[Box]  # one box per character of `text`; spaces get the gap between neighbours
    vertical: bool  # a column: vertical writing (tategaki) or text rotated by 90°


@dataclass
class PdfPage:
    index: int  # 0-based page number
    image: Image.Image  # RGB, rendered at `dpi`
    dpi: int
    page_size_pt: tuple[float, float]  # as displayed (page rotation applied)
    lines: list[PdfLine]
    text: str  # "\n".join(line.text for line in lines)
    garbled_ratio: float
    garbled: bool


@dataclass
class PageSkip:
    index: int
    reason: str  # one of the PAGE_* reasons


@dataclass
class PdfInfo:
    pages: int
    encrypted: bool  # has a security handler (opened anyway: no user password)
    title: str | None


class PdfHandle:
    """An open pdfium document plus the bytes it reads from (they must outlive it)."""

    def __init__(self, doc: pdfium.PdfDocument, data: bytes) -> None:
        self.doc = doc
        self._data = data

    def close(self) -> None:
        self.doc.close()  # closes the document's pages first

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Opening


def open_pdf(data: bytes, cfg: Any) -> tuple[PdfHandle, PdfInfo] | str:
    """``(handle, info)``, or the reason the document cannot be used (never raises on bad data)."""
    if len(data) > cfg.max_bytes:
        return TOO_LARGE
    data = bytes(data)
    raw = pdfium_c.FPDF_LoadMemDocument64(data, len(data), None)
    if not raw:
        # FPDF_ERR_SECURITY is an encryption scheme pdfium does not support: still encrypted.
        error = pdfium_c.FPDF_GetLastError()
        if error in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            return ENCRYPTED
        return BROKEN
    pages = pdfium_c.FPDF_GetPageCount(raw)
    if pages < 1:
        pdfium_c.FPDF_CloseDocument(raw)
        return NO_PAGES
    info = PdfInfo(pages=pages,
                   encrypted=pdfium_c.FPDF_GetSecurityHandlerRevision(raw) != -1,
                   title=_meta_text(raw, "Title"))
    return PdfHandle(pdfium.PdfDocument(raw), data), info


def close_pdf(handle: PdfHandle) -> None:
    handle.close()


def _meta_text(raw_doc: Any, key: str) -> str | None:
    tag = key.encode("ascii") + b"\0"
    size = pdfium_c.FPDF_GetMetaText(raw_doc, tag, None, 0)
    if size <= 2:
        return None
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDF_GetMetaText(raw_doc, tag, buffer, size)
    text = buffer.raw[:size - 2].decode("utf-16-le", errors="replace").replace("\0", "").strip()
    return text or None


# ---------------------------------------------------------------------------------------------
# Pages


def pdf_pages(handle: PdfHandle, info: PdfInfo, cfg: Any) -> Iterator[PdfPage | PageSkip]:
    """One result per page of the document, in order; never raises on bad page data.

    Checks run cheapest first, so skipped pages cost little: over_limit (nothing loaded),
    too_large (page size only), no_text and garbled (text layer only), then the render.
    """
    for index in range(info.pages):
        if index >= cfg.max_pages:
            result: PdfPage | PageSkip = PageSkip(index, PAGE_OVER_LIMIT)
        else:
            try:
                result = _page(handle.doc, index, cfg)
            except Exception as error:  # noqa: BLE001 - hostile data: pdfium errors, bitmap
                # allocation, absurd geometry all mean this page only
                log.debug("pdf page %d failed: %r", index, error)
                result = PageSkip(index, PAGE_RENDER_ERROR)
        yield result


def _page(doc: pdfium.PdfDocument, index: int, cfg: Any) -> PdfPage | PageSkip:
    page = doc[index]
    try:
        width_pt, height_pt = page.get_size()
        scale = cfg.dpi / 72
        size = _pixels(width_pt, scale), _pixels(height_pt, scale)
        if size[0] * size[1] > cfg.max_pixels:
            return PageSkip(index, PAGE_TOO_LARGE)
        if min(size) < 1:
            return PageSkip(index, PAGE_RENDER_ERROR)
        textpage = page.get_textpage()
        try:
            text = _read_text(textpage)
            if _non_space_count(text) < cfg.min_chars:
                return PageSkip(index, PAGE_NO_TEXT)
            ratio = garbled_ratio(text)
            garbled = ratio > cfg.max_garbled_ratio
            if garbled and not cfg.keep_garbled:
                return PageSkip(index, PAGE_GARBLED)
            boxes = _read_boxes(textpage, len(text))
        finally:
            textpage.close()
        image = _render(page, size)
        boxes = _to_pixels(boxes, _page_to_pixel(page, size))
        lines = _lines(text, boxes, size)
    finally:
        page.close()
    return PdfPage(index=index, image=image, dpi=cfg.dpi, page_size_pt=(width_pt, height_pt),
                   lines=lines, text="\n".join(line.text for line in lines),
                   garbled_ratio=ratio, garbled=garbled)


def _pixels(points: float, scale: float) -> int:
    # Rounded first: 792 pt * 150/72 is 1650.0000000000002 in floating point, not 1651 px.
    return math.ceil(round(points * scale, 6))


def _render(page: pdfium.PdfPage, size: tuple[int, int]) -> Image.Image:
    """The page as an RGB image of ``size`` pixels, on white.

    Raw pdfium rather than page.render(): pdfium draws straight into a white bytearray in RGB
    order (FPDF_REVERSE_BYTE_ORDER), which saves the separate bitmap allocation and fill
    (~2 ms a page at 150 dpi). Annotations are not drawn (no FPDF_ANNOT): their appearance
    streams are not in the text layer, so they would put unlabelled text in the image.
    Anti-aliasing stays on; turning it off is no faster.
    """
    width, height = size
    stride = (width * 3 + 3) & ~3
    pixels = bytearray(b"\xff") * (stride * height)
    buffer = (ctypes.c_ubyte * len(pixels)).from_buffer(pixels)
    bitmap = pdfium_c.FPDFBitmap_CreateEx(width, height, pdfium_c.FPDFBitmap_BGR, buffer, stride)
    if not bitmap:
        raise MemoryError("FPDFBitmap_CreateEx failed")
    try:
        pdfium_c.FPDF_RenderPageBitmap(bitmap, page, 0, 0, width, height, 0,
                                       pdfium_c.FPDF_REVERSE_BYTE_ORDER)
    finally:
        pdfium_c.FPDFBitmap_Destroy(bitmap)
    del buffer  # release the export so Pillow may read the bytearray
    return Image.frombuffer("RGB", size, pixels, "raw", "RGB", stride, 1)  # a copy


# ---------------------------------------------------------------------------------------------
# Text layer: characters and their boxes


def _prototype(function: Any, result: Any, *args: Any) -> Any:
    """``function`` called with plain ints for pointers: no ctypes wrapper object per call."""
    address = ctypes.cast(function, ctypes.c_void_p).value
    return ctypes.CFUNCTYPE(result, *args)(address)


_VOIDP, _INT = ctypes.c_void_p, ctypes.c_int
_get_unicode = _prototype(pdfium_c.FPDFText_GetUnicode, ctypes.c_uint, _VOIDP, _INT)
_has_map_error = _prototype(pdfium_c.FPDFText_HasUnicodeMapError, _INT, _VOIDP, _INT)
_is_hyphen = _prototype(pdfium_c.FPDFText_IsHyphen, _INT, _VOIDP, _INT)
_get_char_box = _prototype(pdfium_c.FPDFText_GetCharBox, _INT,
                           _VOIDP, _INT, _VOIDP, _VOIDP, _VOIDP, _VOIDP)

_REPLACEMENT = 0xFFFD


def _raw_address(obj: Any) -> int:
    return ctypes.cast(obj.raw, ctypes.c_void_p).value or 0


def _read_text(textpage: pdfium.PdfTextPage) -> str:
    """The text page as one string, exactly one character per pdfium character index.

    Characters pdfium could not map to Unicode come back as their raw font codes, which look
    like real letters or controls; they become U+FFFD so the text never claims to know them.
    pdfium's U+0002 marks a line-end hyphen: it is "-".
    """
    count = pdfium_c.FPDFText_CountChars(textpage)
    if count <= 0:
        return ""
    raw = _raw_address(textpage)
    codes = _read_codes(textpage, raw, count)
    # map() over the ctypes function keeps the per-character loop in C.
    unmapped = np.fromiter(map(_has_map_error, repeat(raw, count), range(count)), np.int32, count)
    codes[unmapped == 1] = _REPLACEMENT
    for i in np.flatnonzero(codes == 2):
        codes[i] = ord("-") if _is_hyphen(raw, int(i)) == 1 else 2
    codes[(codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))] = _REPLACEMENT
    return codes.astype("<u4").tobytes().decode("utf-32-le")


def _read_codes(textpage: pdfium.PdfTextPage, raw: int, count: int) -> np.ndarray:
    """One code point per character index.

    FPDFText_GetText returns the whole page in one call, but its text indices drift from
    character indices (it drops U+0000, writes line-end hyphens as U+FFFE, and would use two
    UTF-16 units above the BMP). Its result is used when it has exactly one unit per
    character and agrees with FPDFText_GetUnicode on a spread of probes; otherwise every
    character is asked for (twice as slow).
    """
    buffer = (ctypes.c_ushort * (count + 1))()
    if pdfium_c.FPDFText_GetText(textpage, 0, count, buffer) == count + 1:
        codes = np.frombuffer(buffer, np.uint16, count).astype(np.uint32)
        codes[codes == 0xFFFE] = 2
        probes = np.unique(np.linspace(0, count - 1, 17).astype(np.int64)).tolist()
        if all(_get_unicode(raw, i) == codes[i] for i in probes):
            return codes
    return np.fromiter(map(_get_unicode, repeat(raw, count), range(count)), np.uint32, count)


def _read_boxes(textpage: pdfium.PdfTextPage, count: int) -> np.ndarray:
    """(count, 4) tight glyph boxes in PDF user space: left, bottom, right, top."""
    boxes = np.zeros((count, 4), np.float64)
    base = boxes.ctypes.data  # row i at base + 32 i; FPDFText_GetCharBox writes l, r, b, t
    end = base + 32 * count
    deque(map(_get_char_box, repeat(_raw_address(textpage), count), range(count),
              range(base, end, 32), range(base + 16, end, 32),
              range(base + 8, end, 32), range(base + 24, end, 32)), maxlen=0)
    return boxes


def _non_space_count(text: str) -> int:
    return len("".join(text.split()))


# ---------------------------------------------------------------------------------------------
# Geometry


def _page_to_pixel(page: pdfium.PdfPage, size: tuple[int, int]) -> np.ndarray:
    """2x3 affine from PDF user space to pixels of ``page.render()``'s bitmap.

    Asked from pdfium (three device corners mapped back to the page) rather than rebuilt
    from the boxes, so crop box offsets, inherited media boxes and /Rotate are all as pdfium
    renders them.
    """
    width, height = size
    x, y = ctypes.c_double(), ctypes.c_double()
    corners = []
    for dx, dy in ((0, 0), (width, 0), (0, height)):
        if not pdfium_c.FPDF_DeviceToPage(page, 0, 0, width, height, 0, dx, dy, x, y):
            raise RuntimeError("FPDF_DeviceToPage failed")
        corners.append((x.value, y.value))
    origin, right, down = (np.array(c) for c in corners)
    # pixel → page: page = origin + A @ (px, py); invert A for page → pixel.
    a = np.column_stack(((right - origin) / width, (down - origin) / height))
    inverse = np.linalg.inv(a)
    return np.column_stack((inverse, -inverse @ origin))


def _to_pixels(boxes: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Page-space (l, b, r, t) boxes → pixel (x0, y0, x1, y1); rotation may swap the axes."""
    corners = (boxes[:, [0, 1]], boxes[:, [2, 3]])
    xs, ys = [], []
    for corner in corners:
        pixels = corner @ affine[:, :2].T + affine[:, 2]
        xs.append(pixels[:, 0])
        ys.append(pixels[:, 1])
    return np.column_stack((np.minimum(*xs), np.minimum(*ys), np.maximum(*xs), np.maximum(*ys)))


# ---------------------------------------------------------------------------------------------
# Lines
#
# Page-wide numpy first: pdfium's lines (runs between its CR/LF), cut where pdfium missed a line
# break, become pieces with their union boxes in a few reductions, and only pieces that may
# straddle a gutter go through per-piece code. Most lines then cost a slice, not a dozen
# small numpy calls.

# Justified text stretches spaces to ~1.5 em (line heights are 0.7-1.2 em); the gaps pdfium
# bridges between table cells, running headers and page numbers are wider.
_GUTTER = 2.5


@dataclass
class _Piece:
    idx: np.ndarray  # character indices in text order; the first and the last are inked
    box: Box  # union of its inked glyph boxes
    glyphs: int  # inked characters
    column: bool


def _lines(text: str, boxes: np.ndarray, size: tuple[int, int]) -> list[PdfLine]:
    """pdfium's lines, cut at wraps and gutters, CJK columns rejoined, in reading order."""
    width, height = size
    inked, breaks = _ink_and_breaks(text, boxes, width, height)
    pieces = _pieces(boxes, inked, breaks)
    pieces = _join_columns(pieces, text, boxes, inked)
    pieces = _columns_right_to_left(pieces)
    return _build(pieces, text, boxes, inked, width, height)


def _ink_and_breaks(text: str, boxes: np.ndarray, width: int,
                    height: int) -> tuple[np.ndarray, np.ndarray]:
    """Characters with a visible glyph box, and line breaks: CR/LF and characters whose
    centre is outside the image (clipped by the crop box)."""
    codes = np.frombuffer(text.encode("utf-32-le"), "<u4")
    space = np.fromiter(map(str.isspace, text), bool, len(text))
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    offpage = (cx < 0) | (cx > width) | (cy < 0) | (cy > height)
    breaks = (codes == 10) | (codes == 13) | offpage
    extent = (boxes[:, 2] > boxes[:, 0]) | (boxes[:, 3] > boxes[:, 1])
    return ~space & ~breaks & extent, breaks


def _reduce(ufunc: np.ufunc, values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``ufunc`` over each [start, end) range; ``bounds`` is start0, end0, start1, end1, ..."""
    padded = np.concatenate((values, values[:1]))  # reduceat wants every index < len
    return ufunc.reduceat(padded, bounds, axis=0)[::2]


@dataclass
class _Runs:
    """Per-piece statistics of the glyph runs ``run`` (a run id per inked character)."""

    starts: np.ndarray  # first character of each piece (a glyph)
    ends: np.ndarray  # one past its last glyph
    union: np.ndarray  # (pieces, 4) union boxes
    glyphs: np.ndarray
    column: np.ndarray
    owner: np.ndarray  # piece of each pair of consecutive glyphs (pair k: glyphs k, k + 1)
    wrap: np.ndarray  # glyph k + 1 starts a new line
    gutter: np.ndarray  # pair k may straddle a gutter (_split_gutters decides)


def _pieces(boxes: np.ndarray, inked: np.ndarray, breaks: np.ndarray) -> list[_Piece]:
    ink = np.flatnonzero(inked)
    if not len(ink):
        return []
    run = np.cumsum(breaks)[ink]  # which CR/LF-delimited run each glyph is in
    for _ in range(3):  # cutting wraps changes the statistics, which may reveal another
        runs = _runs(boxes, inked, ink, run)
        if not runs.wrap.any():
            break
        run = run + np.concatenate(([0], np.cumsum(runs.wrap)))
    slow = np.zeros(len(runs.starts), bool)
    slow[runs.owner[runs.gutter]] = True
    pieces: list[_Piece] = []
    for start, end, box, count, upright, flagged in zip(
            runs.starts.tolist(), runs.ends.tolist(), runs.union.tolist(), runs.glyphs.tolist(),
            runs.column.tolist(), slow.tolist()):
        piece = _Piece(np.arange(start, end), tuple(box), count, upright)
        if flagged:
            pieces.extend(_split(piece, boxes, inked))
        else:
            pieces.append(piece)
    return pieces


def _runs(boxes: np.ndarray, inked: np.ndarray, ink: np.ndarray, run: np.ndarray) -> _Runs:
    opens = np.concatenate(([True], run[1:] != run[:-1]))
    first = np.flatnonzero(opens)
    last = np.concatenate((first[1:] - 1, [len(ink) - 1]))
    starts, ends = ink[first], ink[last] + 1  # stripped: first and last are glyphs
    bounds = np.column_stack((starts, ends)).ravel()

    keep = inked[:, None]
    union = np.column_stack((_reduce(np.minimum, np.where(keep, boxes, np.inf), bounds)[:, :2],
                             _reduce(np.maximum, np.where(keep, boxes, -np.inf), bounds)[:, 2:]))
    sizes = boxes[:, 2:] - boxes[:, :2]
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    spread = (_reduce(np.maximum, np.where(keep, centres, -np.inf), bounds)
              - _reduce(np.minimum, np.where(keep, centres, np.inf), bounds))
    glyphs = _reduce(np.add, inked.astype(np.int64), bounds)
    size_sum = _reduce(np.add, np.where(keep, sizes, 0.0), bounds)
    glyph_sizes = sizes.max(axis=1)
    column = _column_test(spread[:, 0], spread[:, 1], glyphs,
                          _reduce(np.maximum, np.where(inked, glyph_sizes, 0.0), bounds),
                          _reduce(np.add, np.where(inked, glyph_sizes, 0.0), bounds) / glyphs,
                          union[:, 3] - union[:, 1] > union[:, 2] - union[:, 0])

    # Consecutive glyphs, along x in rows and along y in columns: one axis's band separation
    # is the other's gap. A wrap (pdfium joins a hyphenated word across a line or column
    # break without CR/LF) steps to a band that does not overlap the previous glyph's and
    # jumps back along the line, or across it, by more than two glyph heights. Accents and
    # combining marks, even ones drawn before their base, and super/subscripts make small
    # steps and stay in their line.
    owner = (np.cumsum(opens) - 1)[1:]
    same = ~opens[1:]
    vertical = column[owner]
    a, b = boxes[ink[:-1]], boxes[ink[1:]]
    gap_y = np.maximum(b[:, 1] - a[:, 3], a[:, 1] - b[:, 3])
    gap_x = np.maximum(b[:, 0] - a[:, 2], a[:, 0] - b[:, 2])
    apart = np.where(vertical, gap_x, gap_y)
    separation = np.where(vertical, gap_y, gap_x)
    back = np.where(vertical, a[:, 1] - b[:, 1], a[:, 0] - b[:, 0])
    across_mean = np.where(column, size_sum[:, 0], size_sum[:, 1]) / glyphs
    across_union = np.where(column, union[:, 2] - union[:, 0], union[:, 3] - union[:, 1])
    far = 2 * np.maximum(across_mean, 1.0)[owner]
    wrap = same & (apart > 0) & ((back > far) | (apart > far))
    gutter = same & (separation > _GUTTER * np.maximum(across_union, 1.0)[owner])
    return _Runs(starts, ends, union, glyphs, column, owner, wrap, gutter)


def _split(piece: _Piece, boxes: np.ndarray, inked: np.ndarray) -> list[_Piece]:
    """A piece the page-wide check flagged, cut at its gutters."""
    parts = _split_gutters(piece.idx, boxes, inked, piece.column)
    if len(parts) == 1 and parts[0] is piece.idx:
        return [piece]
    return [_piece(part, boxes, inked) for part in parts]


def _piece(idx: np.ndarray, boxes: np.ndarray, inked: np.ndarray) -> _Piece:
    own = boxes[idx[inked[idx]]]
    low, high = own[:, :2].min(axis=0).tolist(), own[:, 2:].max(axis=0).tolist()
    return _Piece(idx, (low[0], low[1], high[0], high[1]), len(own), _is_column(own))


def _strip(idx: np.ndarray, inked: np.ndarray) -> np.ndarray:
    keep = np.flatnonzero(inked[idx])
    return idx[keep[0]:keep[-1] + 1] if len(keep) else idx[:0]


def _column_test(x_spread: Any, y_spread: Any, glyphs: Any, largest: Any, mean: Any,
                 taller: Any) -> Any:
    """Several glyphs stacked top to bottom (or bottom to top) on a common x centre, in a box
    taller than wide (``taller``).

    Sizes are max(width, height) per glyph. Punctuation sits off-centre in a tategaki column
    (、 top right), hence the tolerance against the largest glyph. The y centres must spread
    like a column's: ActualText spans give all their characters one shared box, and a pair
    like "1." is taller than wide without being stacked (so pairs are held to the larger
    glyph, longer runs to the mean, which short punctuation pulls down). Scalars or arrays.
    """
    step = np.where(glyphs == 2, largest, mean)
    return (taller & (glyphs >= 2) & (x_spread <= 0.6 * largest)
            & (y_spread >= 0.5 * (glyphs - 1) * np.maximum(step, 1e-6)))


def _is_column(own: np.ndarray) -> bool:
    if len(own) < 2:
        return False
    centres = (own[:, :2] + own[:, 2:]) / 2
    spread = centres.max(axis=0) - centres.min(axis=0)
    sizes = (own[:, 2:] - own[:, :2]).max(axis=1)
    taller = own[:, 3].max() - own[:, 1].min() > own[:, 2].max() - own[:, 0].min()
    return bool(_column_test(spread[0], spread[1], len(own), sizes.max(), sizes.mean(), taller))


def _split_gutters(idx: np.ndarray, boxes: np.ndarray, inked: np.ndarray,
                   column: bool) -> list[np.ndarray]:
    """Cut a line where an empty stretch wider than 2.5 line heights runs across it.

    pdfium joins text that shares a baseline: a running header and its page number, table
    cells, side-by-side author names. Those are separate lines on the image. Only gaps no
    glyph of the line covers count, so right-to-left runs inside left-to-right text (logical
    order jumping back and forth) are not cut.
    """
    ink = idx[inked[idx]]
    if len(ink) < 2:
        return [idx]
    own = boxes[ink]
    axis = 1 if column else 0
    start, stop = own[:, axis], own[:, axis + 2]
    thickness = own[:, 3 - axis].max() - own[:, 1 - axis].min()
    order = np.argsort(start, kind="stable")
    reach = np.maximum.accumulate(stop[order])
    cuts = np.flatnonzero(start[order][1:] - reach[:-1] > _GUTTER * max(thickness, 1.0))
    if not len(cuts):
        return [idx]
    edges = start[order][cuts + 1]
    # Each character goes to the piece of the glyph it follows (spaces to the one before).
    piece_of_glyph = np.searchsorted(edges, start, side="right")
    piece = piece_of_glyph[np.cumsum(inked[idx]) - 1]
    parts = (_strip(idx[piece == number], inked) for number in range(len(edges) + 1))
    return [part for part in parts if len(part)]


@lru_cache(maxsize=4096)
def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _join_columns(pieces: list[_Piece], text: str, boxes: np.ndarray,
                  inked: np.ndarray) -> list[_Piece]:
    """Rejoin vertical CJK columns that pdfium splits into one line per character.

    pdfium breaks a line after each glyph of some tategaki PDFs (pdfminer's kampo.pdf):
    consecutive pieces that end and start with East Asian wide characters, are single glyphs
    or columns themselves, overlap in x and follow directly below each other are one column.
    Latin pieces are never joined, so a list of one-character lines stays as it is.
    """
    groups: list[list[_Piece]] = []
    column: _Piece | None = None  # the growing union of groups[-1]
    for piece in pieces:
        if (column is not None and _wide(text[piece.idx[0]]) and _wide(text[column.idx[-1]])
                and _upright(piece) and _upright(column) and _below(column.box, piece.box)):
            groups[-1].append(piece)
            column = _Piece(piece.idx, _box_union(column.box, piece.box),
                            column.glyphs + piece.glyphs, True)
        else:
            groups.append([piece])
            column = piece
    return [group[0] if len(group) == 1
            else _piece(np.concatenate([piece.idx for piece in group]), boxes, inked)
            for group in groups]


def _box_union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _upright(piece: _Piece) -> bool:
    x0, y0, x1, y1 = piece.box
    return piece.glyphs == 1 or y1 - y0 > x1 - x0


def _below(upper: Box, lower: Box) -> bool:
    """``lower`` continues the column ``upper``: shared x range, at most a glyph's gap."""
    upper_w, lower_w = upper[2] - upper[0], lower[2] - lower[0]
    overlap = min(upper[2], lower[2]) - max(upper[0], lower[0])
    gap = lower[1] - upper[3]
    size = max(upper_w, lower_w)
    return overlap >= 0.5 * min(upper_w, lower_w) and -0.25 * size <= gap <= size


def _columns_right_to_left(pieces: list[_Piece]) -> list[_Piece]:
    """Vertical columns read right to left: reverse runs that pdfium lists left to right.

    Some tategaki PDFs draw their columns left to right (pdfminer's jo.pdf); consecutive
    columns that overlap vertically and step rightwards are such a run.
    """
    out: list[_Piece] = []
    run: list[_Piece] = []
    for piece in pieces:
        if run and piece.column and _steps_right(run[-1].box, piece.box):
            run.append(piece)
            continue
        out.extend(reversed(run))
        run = [piece] if piece.column else []
        if not piece.column:
            out.append(piece)
    out.extend(reversed(run))
    return out


def _steps_right(left: Box, right: Box) -> bool:
    overlap = min(left[3], right[3]) - max(left[1], right[1])
    shorter = min(left[3] - left[1], right[3] - right[1])
    return right[0] >= left[2] - 1 and overlap > 0.5 * shorter


def _build(pieces: list[_Piece], text: str, boxes: np.ndarray, inked: np.ndarray,
           width: int, height: int) -> list[PdfLine]:
    if not pieces:
        return []
    counts = [len(piece.idx) for piece in pieces]
    order = np.concatenate([piece.idx for piece in pieces])
    own = boxes[order]
    line_boxes = np.array([piece.box for piece in pieces])
    if not inked[order].all():
        _fill_spaces(own, inked[order], np.repeat(np.arange(len(pieces)), counts), line_boxes,
                     np.array([piece.column for piece in pieces]))
    limits = [width, height, width, height]
    rows = list(zip(*np.round(np.clip(own, 0, limits), 2).T.tolist()))
    line_rows = np.round(np.clip(line_boxes, 0, limits), 2).tolist()
    lines, at = [], 0
    ends = np.cumsum(counts)
    firsts, lasts = order[ends - counts].tolist(), order[ends - 1].tolist()
    for piece, count, box, first, last in zip(pieces, counts, line_rows, firsts, lasts):
        if last - first + 1 == count:  # contiguous in the text page
            line_text = text[first:last + 1]
        else:
            line_text = "".join([text[i] for i in piece.idx.tolist()])
        lines.append(PdfLine(text=line_text, box=tuple(box),
                             chars=rows[at:at + count], vertical=piece.column))
        at += count
    return lines


def _fill_spaces(own: np.ndarray, ink: np.ndarray, line_of: np.ndarray, line_boxes: np.ndarray,
                 vertical: np.ndarray) -> None:
    """Spaces (and empty glyphs) get the gap between their neighbouring glyphs, across the
    whole line; either neighbour may be the left one (right-to-left text). Lines are
    stripped, so both neighbours are in the same line."""
    positions = np.arange(len(ink))
    before = np.maximum.accumulate(np.where(ink, positions, -1))
    after = np.minimum.accumulate(np.where(ink, positions, len(ink))[::-1])[::-1]
    gaps = np.flatnonzero(~ink)
    p, q = own[before[gaps]], own[after[gaps]]
    line = line_boxes[line_of[gaps]]
    low = np.minimum(p[:, 2:], q[:, 2:])  # the nearer ends, x and y
    high = np.maximum(np.maximum(p[:, :2], q[:, :2]), low)
    across_x = np.column_stack((low[:, 0], line[:, 1], high[:, 0], line[:, 3]))
    across_y = np.column_stack((line[:, 0], low[:, 1], line[:, 2], high[:, 1]))
    own[gaps] = np.where(vertical[line_of[gaps]][:, None], across_y, across_x)


# ---------------------------------------------------------------------------------------------
# Garbled text


def garbled_ratio(text: str) -> float:
    """Share of non-whitespace characters that are signs of a broken text layer.

    What a wrong or missing ToUnicode CMap produces in practice, and how it is caught here:
    - no usable mapping at all (Identity-H CID fonts without ToUnicode, Type3 fonts with
      made-up glyph names): pdfium falls back to the raw glyph code and flags it; the code
      often looks like an ordinary letter ("Hello" in a full TrueType font reads "+HOOR",
      16-bit glyph ids land in Greek or CJK). ``_read_text`` turns every flagged character
      into U+FFFD, which counts here;
    - producers that write U+FFFD, U+0000 or other controls for glyphs they could not name;
    - maps into the Private Use Area (symbol and icon fonts, in-house CMaps) — a few PUA
      bullets on a page are normal, a page of them is not;
    - unassigned code points, lone surrogates and noncharacters from 16-bit codes mapped 1:1.
    A map to wrong but valid letters (shifted digits, another script) is not visible at this
    level; that needs a language check or the OCR read-back.
    """
    total = bad = 0
    for ch, count in Counter(text).items():
        kind = _kind(ch)
        if kind is not None:
            total += count
            bad += count if kind else 0
    return bad / total if total else 0.0


@lru_cache(maxsize=8192)
def _kind(ch: str) -> bool | None:
    """None for whitespace, else whether ``ch`` is garbage.

    Garbage: U+FFFD, Cc (controls, including the ones Python counts as whitespace: VT, FF,
    U+001C-U+001F, NEL; only tab, CR and LF are spacing), Co (private use, BMP and planes
    15/16), Cn (unassigned, noncharacters), Cs (surrogates).
    """
    if ch in "\t\r\n":
        return None
    category = unicodedata.category(ch)
    if ch.isspace() and category != "Cc":
        return None
    return ch == "\ufffd" or category in ("Cc", "Co", "Cn", "Cs")
