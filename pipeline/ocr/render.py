"""Corpus text → rendered OCR training images with exact ground truth.

Three layouts: a single line cut from a paragraph, a page of wrapped paragraphs, and a page
of 2-3 columns. The ground truth is exactly what is drawn: lines joined by "\\n" in reading
order (column by column), each line with its box. Every sample is drawn with one font that
covers all of its text (``FontSet``), so no tofu box ever reaches the training data.

Speed: Pillow re-rasterises every glyph on every ``ImageDraw.text`` call (≈35 µs a glyph for
CFF fonts such as Noto CJK), so glyphs are rasterised once per (face, size) and pasted from a
process-wide cache (≈2 µs). Text is drawn into a uint8 coverage array and coloured with
lookup tables (OpenCV); greyscale samples stay single-channel through augmentation and
become RGB at the end.
Lines in scripts that need shaping (only drawable when Pillow has raqm) go through
``ImageDraw.text`` with a raqm face instead.

Everything random comes from the ``random.Random`` the caller passes (numpy generators are
seeded from it): the same seed gives a byte-identical image.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.config import OcrRenderConfig
from pipeline.ocr.augment import augment_array, cv2
from pipeline.ocr.fonts import Font, FontSet, has_raqm, needs_shaping

REASON_NO_TEXT = "render:no_text"  # nothing but whitespace
REASON_NO_FONTS = "render:no_fonts"  # the FontSet is empty (no configured font exists)
REASON_NO_FONT_COVERS = "render:no_font_covers"  # no font covers any paragraph
REASON_PAGE_TOO_SMALL = "render:page_too_small"  # not one line fits the configured page

LAYOUTS = ("line", "paragraph", "columns")

# Chinese / Japanese line-breaking rules (basic kinsoku): no line starts with a closing
# mark, none ends with an opening one. ASCII ones too, for Latin inside CJK text.
NO_LINE_START = frozenset("，。、；：？！）」』》〉】〕］｝〗〙”’．…‥・,.;:!?)]}%")
NO_LINE_END = frozenset("（「『《〈【〔［｛〖〘“‘([{")

# Characters breakable anywhere: CJK ideographs, kana, bopomofo, CJK punctuation, fullwidth
# forms. Everything else breaks at spaces (Latin, Cyrillic, Hangul words ...).
_CJK = ("\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3200-\u4dbf\u4e00-\u9fff"
        "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff")
_UNIT_RE = re.compile(rf" |[{_CJK}]|[^ {_CJK}]+")
# Invisible characters a browser would not show either: dropped rather than counted as text.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"))

# Font sizes go from min to max in 2 px steps: half the (face, size, character) combinations
# of 1 px steps, so the glyph cache holds the common Chinese characters of every size and
# face (a miss costs ≈100 µs); perspective and rotation add continuous scale variation anyway.
FONT_SIZE_STEP = 2
_PARAGRAPH_GAP = (0.3, 1.0)  # extra space between paragraphs, in line heights
_MIN_COLUMN_EMS = 8  # a column is at least this many font sizes wide (≈16 Latin letters)


@dataclass
class RenderedSample:
    image: Image.Image  # RGB
    text: str  # the lines' texts joined by "\n", in reading order
    lines: list[dict[str, Any]]  # {"text", "box": 4 [x, y] corners in final pixels, "column"}
    meta: dict[str, Any] = field(default_factory=dict)


def choose_layout(weights: dict[str, float], rng: random.Random) -> str:
    """A layout drawn in proportion to ``weights`` (keys sorted: independent of dict order)."""
    items = [(name, float(w)) for name, w in sorted(weights.items()) if w > 0]
    if not items:
        raise ValueError("ocr.render.layouts: no layout has a positive weight")
    x = rng.random() * sum(w for _, w in items)
    for name, w in items:
        x -= w
        if x < 0:
            return name
    return items[-1][0]


def render_text_sample(paragraphs: list[str], language: str, layout: str, fonts: FontSet,
                       rng: random.Random, cfg: OcrRenderConfig) -> RenderedSample | str:
    """Draw ``paragraphs`` in ``layout``; a "render:..." reason when nothing can be drawn."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown OCR layout {layout!r} (expected one of {LAYOUTS})")
    paras = [p for p in (normalize_text(p) for p in paragraphs) if p]
    if not paras:
        return REASON_NO_TEXT
    if not len(fonts):
        return REASON_NO_FONTS
    size = _font_size(rng, cfg)
    spacing = rng.uniform(cfg.min_line_spacing, cfg.max_line_spacing)
    pitch = max(1, round(size * spacing))
    if layout == "line":
        page = _layout_line(paras, fonts, size, pitch, rng, cfg)
    else:
        page = _layout_page(paras, fonts, size, pitch, layout == "columns", rng, cfg)
    if isinstance(page, str):
        return page
    style = _choose_style(rng, cfg)
    pixels = _compose(page.mask, style, rng)
    lines = [{"text": p.text, "box": p.box, "column": p.column} for p in page.lines]
    pixels, lines, applied = augment_array(pixels, lines, rng, cfg)
    image = Image.fromarray(pixels if pixels.ndim == 3 else cv2().cvtColor(pixels, cv2().COLOR_GRAY2RGB))
    meta = {
        "layout": layout, "language": language, "width": image.width, "height": image.height,
        "font": {"name": page.font.name, "path": page.font.path, "index": page.font.index,
                 "size": size},
        "colours": {"text": list(style.text), "background": list(style.background)},
        "background": style.kind, "line_spacing": round(pitch / size, 3),
        "columns": page.columns, "augmentations": applied,
    }
    return RenderedSample(image=image, text="\n".join(p.text for p in page.lines),
                          lines=lines, meta=meta)


def _font_size(rng: random.Random, cfg: OcrRenderConfig) -> int:
    """A size from min..max in steps of FONT_SIZE_STEP (fewer sizes: a smaller glyph cache)."""
    steps = max(0, cfg.max_font_size - cfg.min_font_size) // FONT_SIZE_STEP
    return cfg.min_font_size + FONT_SIZE_STEP * rng.randint(0, steps)


def normalize_text(text: str) -> str:
    """Runs of whitespace become one space; invisible format characters are dropped."""
    return " ".join(text.translate(_INVISIBLE).split())


# --- faces and glyphs ---------------------------------------------------------------------


@lru_cache(maxsize=256)
def _face(path: str, index: int, size: int, shaped: bool) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if shaped else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, size, index=index, layout_engine=engine)


class _Sprite(NamedTuple):
    """A glyph rasterised once: coverage bitmap (None when blank), its top-left relative to
    the pen on the baseline, and the pen advance."""

    bitmap: np.ndarray | None
    dx: int
    dy: int
    advance: float


# ≈1.9 KB a CJK glyph at 30 px with its bookkeeping: at most ≈120 MB, enough for ≈3000
# Chinese characters in two faces at all 10 default sizes (a miss ≈100 µs, a hit ≈2 µs).
GLYPH_CACHE_SIZE = 65536


@lru_cache(maxsize=GLYPH_CACHE_SIZE)
def _glyph(path: str, index: int, size: int, char: str) -> _Sprite:
    face = _face(path, index, size, False)
    advance = face.getlength(char)
    if char.isspace():  # never drawn: a font without a space glyph would show .notdef
        return _Sprite(None, 0, 0, advance)
    core, (dx, dy) = face.getmask2(char, mode="L", anchor="ls")
    width, height = core.size
    if not (width and height):
        return _Sprite(None, 0, 0, advance)
    return _Sprite(np.frombuffer(bytes(core), np.uint8).reshape(height, width), dx, dy, advance)


class _Writer:
    """Measures and draws text in one face at one size (raqm-shaped, or from cached glyphs)."""

    def __init__(self, font: Font, size: int, shaped: bool) -> None:
        self.font, self.size, self.shaped = font, size, shaped
        self.face = _face(font.path, font.index, size, shaped)
        self._sprites: dict[str, _Sprite] = {}
        self._widths: dict[str, float] = {}
        self.space = self.width(" ")

    def _glyphs(self, text: str) -> list[_Sprite]:
        glyphs = self._sprites
        out = []
        for char in text:
            glyph = glyphs.get(char)
            if glyph is None:
                glyph = glyphs[char] = _glyph(self.font.path, self.font.index, self.size, char)
            out.append(glyph)
        return out

    def width(self, unit: str) -> float:
        """Advance width of a unit (a word, a character or a space)."""
        width = self._widths.get(unit)
        if width is None:
            if self.shaped:
                width = self.face.getlength(unit)
            else:
                width = sum(g.advance for g in self._glyphs(unit))
            self._widths[unit] = width
        return width

    def draw(self, canvas: np.ndarray, x: int, baseline: int, text: str) -> tuple[int, int, int, int]:
        """Draw ``text`` with its pen starting at (x, baseline); its ink bounds (l, t, r, b)."""
        if self.shaped:
            return self._draw_shaped(canvas, x, baseline, text)
        # The hot loop of the renderer (≈1 µs of Python per glyph besides the paste).
        height, width = canvas.shape
        maximum = np.maximum
        pen = float(x)
        left = top = 1 << 30
        right = bottom = -(1 << 30)
        for bitmap, dx, dy, advance in self._glyphs(text):
            if bitmap is not None:
                x0, y0 = round(pen) + dx, baseline + dy
                x1, y1 = x0 + bitmap.shape[1], y0 + bitmap.shape[0]
                if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
                    region = canvas[y0:y1, x0:x1]
                    maximum(region, bitmap, out=region)
                else:
                    _max_paste(canvas, bitmap, x0, y0)
                left, top = min(left, x0), min(top, y0)
                right, bottom = max(right, x1), max(bottom, y1)
            pen += advance
        if right < left:
            return x, baseline, x, baseline
        return left, top, right, bottom

    def _draw_shaped(self, canvas: np.ndarray, x: int, baseline: int, text: str) -> tuple[int, int, int, int]:
        left, top, right, bottom = (round(v) for v in self.face.getbbox(text, anchor="ls"))
        if right <= left or bottom <= top:
            return x, baseline, x, baseline
        image = Image.new("L", (right - left, bottom - top), 0)
        ImageDraw.Draw(image).text((-left, -top), text, fill=255, font=self.face, anchor="ls")
        _max_paste(canvas, np.asarray(image), x + left, baseline + top)
        return x + left, baseline + top, x + right, baseline + bottom


def _max_paste(canvas: np.ndarray, bitmap: np.ndarray, x: int, y: int) -> None:
    """Union ``bitmap`` into ``canvas`` at (x, y) (coverage max), clipped to the canvas."""
    height, width = bitmap.shape
    x1, y1 = x + width, y + height
    if x < 0 or y < 0 or x1 > canvas.shape[1] or y1 > canvas.shape[0]:
        bitmap = bitmap[max(0, -y):height - max(0, y1 - canvas.shape[0]),
                        max(0, -x):width - max(0, x1 - canvas.shape[1])]
        x, y = max(0, x), max(0, y)
        if not bitmap.size:
            return
        y1, x1 = y + bitmap.shape[0], x + bitmap.shape[1]
    region = canvas[y:y1, x:x1]
    np.maximum(region, bitmap, out=region)


class _Writers:
    """The basic and (for text that needs shaping) raqm writers of one sample's font."""

    def __init__(self, font: Font, size: int) -> None:
        self.font, self.size = font, size
        self.basic = _Writer(font, size, False)
        self._shaped: _Writer | None = None
        self.ascent, self.descent = self.basic.face.getmetrics()

    def for_text(self, text: str) -> _Writer:
        if has_raqm() and needs_shaping(text):
            if self._shaped is None:
                self._shaped = _Writer(self.font, self.size, True)
            return self._shaped
        return self.basic

    def baseline_offset(self, pitch: int) -> int:
        """Baseline below a line slot's top: the font's ascent..descent centred in the slot."""
        return round((pitch + self.ascent - self.descent) / 2)


# --- line breaking ------------------------------------------------------------------------

_Unit = tuple[str, bool]  # (text, preceded by a space)


def _units(text: str) -> list[_Unit]:
    """Break opportunities: Latin words whole, CJK characters one by one."""
    units: list[_Unit] = []
    spaced = False
    for match in _UNIT_RE.finditer(text):
        token = match.group()
        if token == " ":
            spaced = True
            continue
        units.append((token, spaced))
        spaced = False
    return units


def _join(units: list[_Unit]) -> str:
    return "".join(f" {t}" if spaced and k else t for k, (t, spaced) in enumerate(units))


def _wrap(text: str, writer: _Writer, max_width: float) -> Iterator[str]:
    """Greedy line breaking of one paragraph, lazily (a page stops asking when it is full)."""
    units = _units(text)
    space = writer.space
    i = 0
    while i < len(units):
        j = _fill(units, i, writer, space, max_width)
        j = _kinsoku(units, i, j)
        line = _join(units[i:j])
        while writer.shaped and j - i > 1 and writer.width(line) > max_width:
            j -= 1  # shaping across words can make a line a little wider than its parts
            line = _join(units[i:j])
        yield line
        i = j


def _fill(units: list[_Unit], i: int, writer: _Writer, space: float, max_width: float) -> int:
    """The end of the line starting at unit ``i``: units are taken while they fit, and a unit
    wider than a whole line is split into its characters."""
    j, width = i, 0.0
    while j < len(units):
        text, spaced = units[j]
        add = writer.width(text) + (space if spaced and j > i else 0.0)
        if width + add <= max_width:
            width += add
            j += 1
        elif j > i:
            break
        elif len(text) > 1:
            units[j:j + 1] = [(c, spaced and k == 0) for k, c in enumerate(text)]
        else:  # one character wider than the line: drawn alone rather than lost
            return j + 1
    return j


def _kinsoku(units: list[_Unit], i: int, j: int) -> int:
    """Move the break at ``j`` back so the next line does not start with a closing mark and
    this one does not end with an opening mark (the line stays within the width)."""
    if j >= len(units):
        return j
    while j - 1 > i and units[j][0] in NO_LINE_START:
        j -= 1
    while j - 1 > i and units[j - 1][0] in NO_LINE_END:
        j -= 1
    return j


# --- layouts ------------------------------------------------------------------------------


@dataclass
class _Line:
    text: str
    box: list[list[float]]
    column: int


@dataclass
class _Page:
    mask: np.ndarray  # coverage of the text, H×W uint8
    lines: list[_Line]
    font: Font
    columns: int


@dataclass
class _Slot:
    text: str
    x: int
    top: int
    column: int
    writer: _Writer


def _layout_line(paras: list[str], fonts: FontSet, size: int, pitch: int, rng: random.Random,
                 cfg: OcrRenderConfig) -> _Page | str:
    """One line cut from a random paragraph; the canvas is the line plus a padding."""
    order = list(range(len(paras)))
    rng.shuffle(order)
    target = rng.randint(max(1, cfg.max_line_chars // 4), max(1, cfg.max_line_chars))
    for k in order:
        snippet = _snippet(_units(paras[k]), target, rng)
        font = fonts.pick(snippet, rng)
        if font is None:
            continue
        writers = _Writers(font, size)
        writer = writers.for_text(snippet)
        text = next(_wrap(snippet, writer, max(1, cfg.page_width - 2 * cfg.margin)))
        # rapidocr's detector splits or garbles lines cropped tighter than about a margin.
        pad_x = rng.randint(cfg.margin, 2 * cfg.margin)
        pad_y = rng.randint(cfg.margin, 2 * cfg.margin)
        width = math.ceil(writer.width(text)) + 2 * pad_x
        mask = np.zeros((pitch + 2 * pad_y, width), np.uint8)
        slot = _Slot(text, pad_x, pad_y, 0, writer)
        return _Page(mask, [_draw_slot(mask, slot, writers, pitch)], font, 1)
    return REASON_NO_FONT_COVERS


def _snippet(units: list[_Unit], max_chars: int, rng: random.Random) -> str:
    """At most ``max_chars`` characters from a random break opportunity, cut at a unit edge."""
    starts = [k for k, (t, _) in enumerate(units) if t not in NO_LINE_START] or [0]
    start = rng.choice(starts)
    taken: list[_Unit] = []
    count = 0
    for text, spaced in units[start:]:
        add = len(text) + (1 if spaced and taken else 0)
        if count + add > max_chars:
            if not taken:  # one word longer than the budget (a URL ...): cut by characters
                taken.append((text[:max_chars], False))
            break
        taken.append((text, spaced))
        count += add
    while len(taken) > 1 and taken[-1][0] in NO_LINE_END:
        taken.pop()
    return _join(taken)


def _layout_page(paras: list[str], fonts: FontSet, size: int, pitch: int, columns: bool,
                 rng: random.Random, cfg: OcrRenderConfig) -> _Page | str:
    """Consecutive paragraphs wrapped into one text block or 2-3 columns, until the page is full."""
    area_width = cfg.page_width - 2 * cfg.margin
    if area_width < size or cfg.page_height - 2 * cfg.margin < pitch:
        return REASON_PAGE_TOO_SMALL
    n_columns, gutter = 1, 0
    if columns:
        gutter = rng.randint(size, 2 * size)
        fitting = [n for n in (2, 3) if (area_width - (n - 1) * gutter) / n >= _MIN_COLUMN_EMS * size]
        n_columns = rng.choice(fitting or [2])
    column_width = (area_width - (n_columns - 1) * gutter) // n_columns
    if column_width < size:
        return REASON_PAGE_TOO_SMALL
    first = next(((k, f) for k, p in enumerate(paras) if (f := fonts.pick(p, rng)) is not None), None)
    if first is None:
        return REASON_NO_FONT_COVERS
    start, font = first
    writers = _Writers(font, size)
    gap = round(pitch * rng.uniform(*_PARAGRAPH_GAP))
    xs = [cfg.margin + c * (column_width + gutter) for c in range(n_columns)]
    covered = (p for p in paras[start:] if font.covers(p))  # lazily: a page holds a few paragraphs
    slots, full = _flow(covered, writers, column_width, xs, pitch, gap, cfg.margin,
                        cfg.page_height - cfg.margin)
    # A full page keeps its size; one whose text ran out is cut below the last line.
    height = cfg.page_height if full else min(cfg.page_height, max(s.top for s in slots) + pitch + cfg.margin)
    mask = np.zeros((height, cfg.page_width), np.uint8)
    lines = [_draw_slot(mask, s, writers, pitch) for s in slots]
    return _Page(mask, lines, font, n_columns)


def _flow(paras: Iterable[str], writers: _Writers, width: int, xs: list[int], pitch: int, gap: int,
          top: int, bottom: int) -> tuple[list[_Slot], bool]:
    """Place wrapped lines column after column; stop at the first line that does not fit.
    Also says whether the page is full (else the text ran out)."""
    slots: list[_Slot] = []
    column, y = 0, top
    for para in paras:
        writer = writers.for_text(para)
        if y > top:
            y += gap
        for text in _wrap(para, writer, width):
            if y + pitch > bottom:
                column, y = column + 1, top
                if column == len(xs):
                    return slots, True
            slots.append(_Slot(text, xs[column], y, column, writer))
            y += pitch
    return slots, False


def _draw_slot(mask: np.ndarray, slot: _Slot, writers: _Writers, pitch: int) -> _Line:
    """Draw a line in its slot; its box is the ink clipped to the slot (so boxes never overlap)."""
    baseline = slot.top + writers.baseline_offset(pitch)
    left, top, right, bottom = slot.writer.draw(mask, slot.x, baseline, slot.text)
    height, width = mask.shape
    left, right = max(0, left), min(width, right)
    top, bottom = max(slot.top, top, 0), min(slot.top + pitch, bottom, height)
    box = [[float(left), float(top)], [float(right), float(top)],
           [float(right), float(bottom)], [float(left), float(bottom)]]
    return _Line(slot.text, box, slot.column)


# --- colours and backgrounds --------------------------------------------------------------

Colour = tuple[int, int, int]


@dataclass
class _Style:
    text: Colour
    background: Colour
    kind: str  # "plain", "noise" or "gradient"
    grey: bool  # both colours grey: the image is built (and augmented) single-channel
    min_contrast: float  # what a texture must keep between the text and every shade


def relative_luminance(rgb: Colour) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    def linear(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(a: Colour, b: Colour) -> float:
    la, lb = relative_luminance(a), relative_luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _choose_style(rng: random.Random, cfg: OcrRenderConfig) -> _Style:
    if rng.random() < cfg.colour_probability:
        text, background = _colour_pair(rng, cfg.min_contrast)
    else:
        t, b = rng.randint(0, 50), rng.randint(220, 255)  # near-black on near-white
        text, background = (t, t, t), (b, b, b)
        if contrast_ratio(text, background) < cfg.min_contrast:
            text, background = (0, 0, 0), (255, 255, 255)
    kind = "plain"
    if rng.random() < cfg.texture_probability:
        kind = rng.choice(["noise", "gradient"])
    grey = len(set(text)) == 1 and len(set(background)) == 1
    return _Style(text, background, kind, grey, cfg.min_contrast)


def _colour_pair(rng: random.Random, min_contrast: float) -> tuple[Colour, Colour]:
    """Random text and background colours at least ``min_contrast`` apart: the text colour is
    pulled towards black or white (whichever contrasts more) until the ratio is met."""
    for _ in range(20):
        background = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        text = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        # 0.179: the luminance at which black and white contrast equally with the background
        target = 0 if relative_luminance(background) > 0.179 else 255
        for step in range(11):
            r, g, b = (round(c + (target - c) * step / 10) for c in text)
            if contrast_ratio((r, g, b), background) >= min_contrast:
                return (r, g, b), background
    return (0, 0, 0), (255, 255, 255)


def _compose(mask: np.ndarray, style: _Style, rng: random.Random) -> np.ndarray:
    """Colour the coverage: H×W for grey styles, H×W×3 (RGB) otherwise."""
    cv = cv2()
    channels = 1 if style.grey else 3
    if style.kind == "plain":
        bands = [cv.LUT(mask, _blend_lut(style.background[c], style.text[c])) for c in range(channels)]
        return bands[0] if channels == 1 else cv.merge(bands)
    background = _texture(mask.shape, style, rng)
    text = np.full_like(background, style.text[0] if style.grey else style.text)
    alpha = mask.astype(np.float32) * np.float32(1 / 255)
    return cv.blendLinear(text, background, alpha, np.float32(1) - alpha)


def _blend_lut(background: int, text: int) -> np.ndarray:
    alpha = np.arange(256) / 255
    return np.round(background + (text - background) * alpha).astype(np.uint8)


def _texture(shape: tuple[int, ...], style: _Style, rng: random.Random) -> np.ndarray:
    """A light paper-noise or linear-gradient background that keeps the text contrast.

    Built on a coarse grid and resized (bilinear) to the canvas: cheap, and the smooth
    variation is what paper and screenshots look like.
    """
    height, width = shape[:2]
    np_rng = np.random.default_rng(rng.getrandbits(64))
    cell = 8 if style.kind == "noise" else 32
    gh, gw = height // cell + 2, width // cell + 2
    if style.kind == "noise":
        amplitude = rng.uniform(4.0, 12.0)
        offsets = np_rng.normal(0.0, amplitude, (gh, gw)).astype(np.float32)
    else:
        angle = rng.uniform(0.0, 2 * math.pi)
        amplitude = rng.uniform(15.0, 45.0) * rng.choice([-1, 1])
        yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
        proj = xx * math.cos(angle) + yy * math.sin(angle)
        offsets = (proj - proj.min()) / max(float(np.ptp(proj)), 1e-6) * amplitude
    offsets *= _texture_scale(style, float(offsets.min()), float(offsets.max()))
    base = np.array(style.background[:1] if style.grey else style.background, dtype=np.float32)
    grid = np.clip(base + offsets[:, :, None] + 0.5, 0, 255).astype(np.uint8)
    if style.grey:
        grid = np.ascontiguousarray(grid[:, :, 0])
    return cv2().resize(grid, (width, height), interpolation=cv2().INTER_LINEAR)


def _texture_scale(style: _Style, low: float, high: float) -> float:
    """Shrink the texture until its darkest and lightest shades keep ``min contrast`` with the text
    (the same offset on every channel moves luminance monotonically, so the extremes suffice)."""
    def shade(offset: float) -> Colour:
        r, g, b = (int(min(255, max(0, c + offset))) for c in style.background)
        return r, g, b
    scale = 1.0
    for _ in range(6):
        if min(contrast_ratio(style.text, shade(low * scale)),
               contrast_ratio(style.text, shade(high * scale))) >= style.min_contrast:
            return scale
        scale /= 2
    return 0.0

