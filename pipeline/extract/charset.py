"""Decode an HTML payload to text, choosing the encoding the way a browser would.

Order of sources: byte-order mark, a strict utf-8 attempt (only decisive when the payload has
non-ASCII bytes), HTTP header charset, ``<meta>`` charset in the first bytes, then statistical
detection on a bounded prefix. A declared charset that does not decode strictly falls through
to the next source (servers and pages lie often, e.g. "iso-8859-1" on a utf-8 page); one that
fails on only a few stray bytes is still taken over a guess. Never raises.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

# How far into the payload to look for <meta charset> (WHATWG prescan reads 1024 bytes;
# real pages put long <script>/<style> blocks first, so look a little further).
META_SCAN_BYTES = 4096
# Detection works on a prefix: enough bytes for the statistics, bounded cost on huge pages.
DETECT_PREFIX_BYTES = 32 * 1024
# A declared charset still counts when at most this many bytes (or one in STRAY_BYTES_PER) fail.
MAX_STRAY_BYTES = 3
STRAY_BYTES_PER = 2000

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# WHATWG Encoding Standard label mapping, where it differs from Python's codec of that name:
# browsers decode these labels with a superset encoding, and so must we to match what users saw.
_WHATWG_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "chinese": "gb18030",
    "csgb2312": "gb18030",
    "iso-ir-58": "gb18030",
    "gb18030": "gb18030",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "windows-1252": "cp1252",
    "cp819": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "korean": "cp949",
    "x-mac-cyrillic": "mac-cyrillic",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    # A page cannot really be utf-16 if its bytes were ASCII enough to carry the label.
    "utf-16": "utf-8",
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
}

_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:\-]+)""", re.IGNORECASE
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:\-]+)""", re.IGNORECASE)


def normalize_charset(label: str | None) -> str | None:
    """Map a charset label (header, meta, detector) to a Python codec name, or None if unknown."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    name = _WHATWG_ALIASES.get(key, key)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value, as written."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def _sniff_bom(payload: bytes) -> tuple[str, int] | None:
    for bom, name in _BOMS:
        if payload.startswith(bom):
            return name, len(bom)
    return None


def _meta_charset(payload: bytes) -> str | None:
    match = _META_CHARSET.search(payload[:META_SCAN_BYTES])
    return match.group(1).decode("ascii", "ignore") if match else None


def _try_decode(payload: bytes, encoding: str) -> str | None:
    try:
        return payload.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _decode_mostly(payload: bytes, encoding: str) -> str | None:
    """Lenient decode accepted when only a handful of bytes are bad.

    Real pages in a legacy charset often carry a few stray bytes (truncated records, pasted
    snippets); the declared charset is still right for the rest of the page.
    """
    try:
        text = payload.decode(encoding, errors="replace")
    except LookupError:
        return None
    allowed = max(MAX_STRAY_BYTES, len(payload) // STRAY_BYTES_PER)
    return text if text.count("\ufffd") <= allowed else None


@lru_cache(maxsize=64)
def _ascii_compatible(encoding: str) -> bool:
    try:
        return "<a=1>".encode(encoding) == b"<a=1>"
    except (UnicodeError, LookupError):
        return False


def _detect(payload: bytes) -> str | None:
    """Best guess from charset-normalizer on a prefix (imported lazily: it is slowish to load)."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(payload[:DETECT_PREFIX_BYTES]).best()
    except Exception:  # the detector is a heuristic; any failure just means "no guess"
        return None
    return normalize_charset(best.encoding) if best is not None else None


def _declared_encodings(payload: bytes, header_charset: str | None) -> list[str]:
    """Header charset then <meta> charset, as codec names, unknown labels and repeats dropped."""
    declared: list[str] = []
    for label in (header_charset, _meta_charset(payload)):
        encoding = normalize_charset(label)
        if encoding is not None and encoding not in declared:
            declared.append(encoding)
    return declared


def decode_html(payload: bytes, header_charset: str | None) -> tuple[str, str]:
    """Decode ``payload`` to text; return (text, Python codec name used). Never raises.

    Valid non-ASCII utf-8 wins over a declared legacy charset: servers default to declaring
    iso-8859-1, and text really written in a legacy charset is practically never valid utf-8,
    so a strict utf-8 success is stronger evidence than the label.
    """
    text, name, _ = decode_html_source(payload, header_charset)
    return text, name


def decode_html_source(payload: bytes, header_charset: str | None) -> tuple[str, str, bytes | None]:
    """``decode_html``'s (text, codec name) and, when ``payload`` is exactly ``text`` in UTF-8
    (ASCII, or valid UTF-8 without a BOM), ``payload`` itself, else None: the parser reads
    UTF-8 bytes, which then need no encoding again."""
    if not payload:
        return "", "utf-8", None
    bom = _sniff_bom(payload)
    if bom is not None:
        name, skip = bom
        return payload[skip:].decode(name, errors="replace"), name, None

    declared = _declared_encodings(payload, header_charset)
    if payload.isascii():
        name = next((e for e in declared if _ascii_compatible(e)), "utf-8")
        return payload.decode("ascii"), name, payload

    text = _try_decode(payload, "utf-8")
    if text is not None:
        return text, "utf-8", payload
    for encoding in declared:
        text = _try_decode(payload, encoding)
        if text is not None:
            return text, encoding, None
    for encoding in declared:
        text = _decode_mostly(payload, encoding)
        if text is not None:
            return text, encoding, None

    detected = _detect(payload)
    if detected is not None and detected not in declared:
        text = _decode_mostly(payload, detected)
        if text is not None:
            return text, detected, None

    # Last resort: the page's own claim, else the detector's guess, else utf-8; lossy.
    fallback = declared[0] if declared else detected or "utf-8"
    return payload.decode(fallback, errors="replace"), fallback, None
