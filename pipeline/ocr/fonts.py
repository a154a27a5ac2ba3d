"""Fonts for rendered OCR samples: discovery, glyph coverage, and picking one per sample.

Coverage is the contract that keeps tofu boxes out of the training data: a sample is only
drawn with a font whose cmap maps every non-whitespace character of its text. Characters no
font may draw: control / format / private-use / unassigned code points, and, when Pillow was
built without raqm, scripts that need shaping or bidi (Arabic, Hebrew, Indic, Thai, ...),
which its basic layout would draw disjoined or reversed.

A spec (``OcrRenderConfig.fonts``) is a file, a glob, a folder (searched recursively), or
``fc:<fontconfig pattern>``. A ``.ttc``/``.otc`` collection named by path or found in a folder
gives every face it holds (each is a distinct font: regional CJK variants, weights); an
``fc:`` pattern gives the one face fontconfig chose, so use ``fc:Noto Sans CJK SC`` rather
than the collection's path to draw Chinese with Chinese glyph forms.
"""

from __future__ import annotations

import glob
import logging
import os
import random
import re
import subprocess
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import features

log = logging.getLogger(__name__)

FONT_EXTENSIONS = (".ttf", ".otf", ".ttc", ".otc")
_COLLECTION_EXTENSIONS = (".ttc", ".otc")

# Scripts Pillow's basic layout cannot draw correctly (RTL, joining, reordering, stacking
# marks). Hangul conjoining jamo are here; precomposed syllables are not.
_SHAPED_RANGES = (
    (0x0590, 0x08FF),  # Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic
    (0x0900, 0x0DFF),  # Devanagari .. Sinhala
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x109F),  # Tibetan, Myanmar
    (0x1100, 0x11FF),  # Hangul jamo
    (0x1700, 0x18AF),  # Philippine scripts, Khmer, Mongolian
    (0x1900, 0x1C4F),  # Limbu .. Lepcha
    (0xA800, 0xABFF),  # Syloti Nagri .. Meetei Mayek
    (0xD7B0, 0xD7FF),  # Hangul jamo extended-B
    (0xFB1D, 0xFDFF),  # Hebrew and Arabic presentation forms
    (0xFE70, 0xFEFF),  # Arabic presentation forms-B
    (0x10800, 0x10FFF),  # historic RTL scripts
    (0x11000, 0x11FFF),  # Brahmic scripts of the SMP
    (0x1E800, 0x1EFFF),  # Mende Kikakui, Adlam, Arabic math
)


_SHAPED_RE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _SHAPED_RANGES) + "]")


def needs_shaping(text: str) -> bool:
    """True when ``text`` has a character of a script that needs raqm (shaping / bidi)."""
    return _SHAPED_RE.search(text) is not None


@lru_cache(maxsize=1)
def has_raqm() -> bool:
    return bool(features.check("raqm"))


# Letters and symbols that are blank by design: a label would hold a character nobody sees.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


@lru_cache(maxsize=65536)
def drawable(char: str) -> bool:
    """Whether any font may be trusted to draw ``char`` (its own cmap still has to map it)."""
    if unicodedata.category(char)[0] == "C" or char in _BLANK:  # C: controls, ZWJ, bidi marks, PUA...
        return False
    return has_raqm() or not needs_shaping(char)


def text_codepoints(text: str) -> frozenset[int] | None:
    """The code points a font must map to draw ``text``; None if some character is never drawable."""
    chars = {c for c in set(text) if not c.isspace()}
    if not all(drawable(c) for c in chars):
        return None
    return frozenset(ord(c) for c in chars)


@dataclass(frozen=True)
class Font:
    path: str
    index: int  # face index inside a .ttc collection (0 for single-face files)
    name: str  # family + style, e.g. "Noto Sans CJK SC Regular"
    codepoints: frozenset[int] = field(repr=False, compare=False)  # what the cmap maps

    def covers(self, text: str) -> bool:
        """Every non-whitespace character of ``text`` has a glyph in this font and is drawable."""
        needed = text_codepoints(text)
        return needed is not None and needed <= self.codepoints

    @property
    def key(self) -> tuple[str, int]:
        return self.path, self.index


class FontSet:
    """The fonts a job may draw with, in a fixed order so that picks are reproducible."""

    def __init__(self, fonts: list[Font]) -> None:
        self.fonts: tuple[Font, ...] = tuple(fonts)

    @classmethod
    def from_specs(cls, specs: list[str]) -> FontSet:
        return cls(find_fonts(specs))

    def __len__(self) -> int:
        return len(self.fonts)

    def candidates(self, text: str) -> list[Font]:
        """The fonts covering all of ``text`` (none when it has an undrawable character)."""
        needed = text_codepoints(text)
        if needed is None:
            return []
        return [f for f in self.fonts if needed <= f.codepoints]

    def pick(self, text: str, rng: random.Random) -> Font | None:
        """A font covering ``text``, chosen uniformly by ``rng``; None if no font covers it."""
        fonts = self.candidates(text)
        return rng.choice(fonts) if fonts else None


def find_fonts(specs: list[str]) -> list[Font]:
    """The fonts the specs name, sorted by (path, face), de-duplicated; missing ones skipped."""
    return list(_find_fonts(tuple(specs)))


@lru_cache(maxsize=16)
def _find_fonts(specs: tuple[str, ...]) -> tuple[Font, ...]:
    faces: set[tuple[str, int | None]] = set()
    for spec in specs:
        found = _resolve(spec)
        if not found:
            log.debug("font spec %r: nothing found, skipped", spec)
        faces.update(found)
    fonts: dict[tuple[str, int], Font] = {}
    for path, index in sorted(faces, key=lambda f: (f[0], -1 if f[1] is None else f[1])):
        for font in _load_faces(path, index):
            fonts.setdefault(font.key, font)
    return tuple(sorted(fonts.values(), key=lambda f: f.key))


def _resolve(spec: str) -> list[tuple[str, int | None]]:
    """(real path, face index or None for every face) pairs for one spec."""
    if spec.startswith("fc:"):
        match = _fc_match(spec[3:].strip())
        return [match] if match else []
    path = os.path.expanduser(spec)
    if any(c in path for c in "*?["):
        files = [p for p in glob.glob(path, recursive=True) if os.path.isfile(p)]
    elif os.path.isdir(path):
        files = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
    elif os.path.isfile(path):
        return [(os.path.realpath(path), None)]
    else:
        return []
    return [(os.path.realpath(p), None) for p in sorted(files) if p.lower().endswith(FONT_EXTENSIONS)]


def _fc_match(pattern: str) -> tuple[str, int] | None:
    """fontconfig's best match for ``pattern``, kept only if its family is the one requested.

    fc-match always answers with some font (its fallback), so a missing "Liberation Sans"
    would silently become DejaVu Sans without the family check.
    """
    try:
        out = subprocess.run(["fc-match", "--format=%{file}\n%{index}\n%{family}\n", pattern],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("fc-match %r failed: %s", pattern, exc)
        return None
    parts = out.split("\n")
    if len(parts) < 3 or not parts[0]:
        return None
    path, index, families = parts[0], parts[1], parts[2]
    wanted = {_norm_family(f) for f in _pattern_families(pattern)}
    if not wanted & {_norm_family(f) for f in families.split(",")}:
        log.debug("fc:%s matched %s (%s): another family, skipped", pattern, path, families)
        return None
    return os.path.realpath(path), int(index or 0)


def _pattern_families(pattern: str) -> list[str]:
    """The family names of a fontconfig pattern ("Family[,Family2][-size][:prop=value...]")."""
    head = pattern.split(":", 1)[0]
    name, sep, size = head.rpartition("-")
    if sep and size.replace(".", "", 1).isdigit():
        head = name
    return [f.replace("\\", "") for f in head.split(",") if f.strip()]


def _norm_family(family: str) -> str:
    return "".join(family.split()).lower()


def _load_faces(path: str, index: int | None) -> list[Font]:
    if index is not None:
        indices = [index]
    elif path.lower().endswith(_COLLECTION_EXTENSIONS):
        indices = list(range(_collection_size(path)))
    else:
        indices = [0]
    fonts = [_load_face(path, i) for i in indices]
    return [f for f in fonts if f is not None]


def _collection_size(path: str) -> int:
    from fontTools.ttLib import TTCollection

    try:
        collection = TTCollection(path, lazy=True)
        try:
            return len(collection)
        finally:
            collection.close()
    except Exception as exc:  # noqa: BLE001 - fontTools raises many types on broken files
        log.debug("font collection %s unreadable: %s", path, exc)
        return 0


_CMAPS: dict[frozenset[int], frozenset[int]] = {}  # faces sharing a cmap share one set


@lru_cache(maxsize=1024)
def _load_face(path: str, index: int) -> Font | None:
    """One face: its names and cmap (fontTools), checked to open in FreeType."""
    from fontTools.ttLib import TTFont
    from PIL import ImageFont

    try:
        tt = TTFont(path, fontNumber=index, lazy=True)
        try:
            cmap = tt.getBestCmap() or {}
            names = tt["name"]
            family = names.getBestFamilyName() or os.path.basename(path)
            style = names.getBestSubFamilyName() or ""
        finally:
            tt.close()
        ImageFont.truetype(path, 16, index=index)  # fontTools reads fonts FreeType cannot
    except Exception as exc:  # noqa: BLE001 - broken or unsupported font files are skipped
        log.debug("font %s#%d unreadable: %s", path, index, exc)
        return None
    if not cmap:
        log.debug("font %s#%d has no Unicode cmap, skipped", path, index)
        return None
    codepoints = frozenset(cmap)
    codepoints = _CMAPS.setdefault(codepoints, codepoints)
    name = f"{family} {style}".strip()
    return Font(path=path, index=index, name=name, codepoints=codepoints)
