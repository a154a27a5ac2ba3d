"""Decode fetched image bytes safely: one RGB picture, resized and re-encoded, or a drop reason.

``decode_image`` never raises on data. Reasons (stable codes):

- ``image_empty``: 0 bytes.
- ``svg``: SVG / XML markup (sniffed; vector images are not rasterised).
- ``unsupported_format:<fmt>``: Pillow recognised it but it is not jpeg/png/webp/gif/bmp
  (e.g. ``tiff``, ``ico``).
- ``too_many_pixels``: the header declares more than ``max_pixels`` (or more than Pillow's own
  bomb limit); refused before any pixel is decoded.
- ``zero_size``: a side of 0 in the header.
- ``truncated``: the data ends before the picture does.
- ``corrupt``: anything else Pillow rejects (not an image, broken streams, HTML error pages).

The picture: first frame of animations, EXIF orientation applied, embedded ICC profiles
converted to sRGB, alpha and palette transparency flattened on white, CMYK and 16-bit
converted, so every output is 8-bit RGB. Re-encoding is deterministic (fixed settings, no
metadata: EXIF, ICC, XMP and DPI are never written).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from pipeline.images.phash import phash

# Pillow format name -> our source_format. MPO is a JPEG with extra pictures appended
# (cameras and phones write them); its first picture is a plain JPEG.
SUPPORTED_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}
OUTPUT_FORMATS = ("jpeg", "webp")
RESIZE_FILTERS = {"box": Image.Resampling.BOX, "bicubic": Image.Resampling.BICUBIC,
                  "lanczos": Image.Resampling.LANCZOS}

# EXIF orientation -> transpose, the table ImageOps.exif_transpose uses. Applied by hand to
# the converted RGB image so the EXIF block is never copied or re-parsed.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = {5, 6, 7, 8}
_EXIF_ORIENTATION_TAG = 0x0112
_WHITE = (255, 255, 255)


@dataclass(frozen=True)
class DecodeSettings:
    max_pixels: int = 64_000_000  # decompression-bomb guard, checked from the header before decoding
    max_side: int = 1024  # resize so the longer side is at most this (keep aspect); 0 = no resize
    output_format: str = "jpeg"  # "jpeg" or "webp"
    quality: int = 90
    keep_jpeg_if_small: bool = True  # a JPEG within max_side, RGB/L, upright: keep its bytes
    # Let libjpeg decode large JPEGs at 1/2, 1/4 or 1/8 scale (still >= the target size) before
    # the final resize: several times faster on big photos. pixel_sha256 then hashes that
    # reduced decode (still stable for the same JPEG coefficients, e.g. lossless jpegtran
    # re-encodings); set False to hash full-resolution pixels for every JPEG.
    jpeg_draft: bool = True
    # Downscaling filter. "box" is area averaging (what img2dataset's cv2 INTER_AREA does):
    # alias-free for downscaling and ~30 % faster per image than "lanczos" here, which
    # stays available for sharper output.
    resize_filter: str = "box"

    def __post_init__(self) -> None:
        # Misconfiguration must stop the job with a message, not turn into drop reasons.
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {self.output_format!r}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be in 1..100, got {self.quality}")
        if self.max_side < 0 or self.max_pixels <= 0:
            raise ValueError("max_side must be >= 0 and max_pixels > 0")
        if self.resize_filter not in RESIZE_FILTERS:
            raise ValueError(f"resize_filter must be one of {sorted(RESIZE_FILTERS)}, got {self.resize_filter!r}")


@dataclass
class DecodedImage:
    data: bytes  # re-encoded (or kept) bytes
    format: str  # "jpeg" | "webp" (output)
    source_format: str  # what Pillow detected: "jpeg", "png", "webp", "gif", "bmp"
    width: int  # output size
    height: int
    original_width: int  # source size as displayed (after EXIF orientation)
    original_height: int
    sha256: str  # of the original bytes (exact dedup of fetched files)
    pixel_sha256: str  # of the decoded RGB pixels (and size), after EXIF transpose, before resize
    phash: int  # 64-bit pHash of the output picture


def decode_image(data: bytes, settings: DecodeSettings) -> DecodedImage | str:
    """A DecodedImage, or a drop reason (see the module docstring)."""
    if not data:
        return "image_empty"
    if _is_svg(data):
        return "svg"
    if _webp_truncated(data):
        return "truncated"  # libwebp only says "could not create decoder object"
    try:
        return _decode(data, settings)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "too_many_pixels"
    except UnidentifiedImageError:
        # Pillow refuses 0-sided headers as "not identified"; name them from the header.
        return "zero_size" if _header_has_zero_side(data) else "corrupt"
    except (OSError, EOFError) as exc:
        return "truncated" if _is_truncation(exc) else "corrupt"
    # Pillow's plugins raise a zoo of types on hostile data (SyntaxError, ValueError,
    # struct.error, IndexError, TypeError, ZeroDivisionError, MemoryError, warnings turned
    # into errors...). Settings are validated up front, so what reaches here is the data's fault.
    except Exception:  # noqa: BLE001 - hostile data; see decode_image
        return "corrupt"


def _decode(data: bytes, settings: DecodeSettings) -> DecodedImage | str:
    with Image.open(io.BytesIO(data)) as im:
        source = SUPPORTED_FORMATS.get(im.format or "")
        if source is None:
            return f"unsupported_format:{(im.format or 'unknown').lower()}"
        width, height = im.size
        if width <= 0 or height <= 0:
            return "zero_size"
        if width * height > settings.max_pixels:
            return "too_many_pixels"
        target = _target_size(width, height, settings.max_side)
        if source == "jpeg" and settings.jpeg_draft and target != (width, height):
            im.draft(None, target)  # decode at the smallest DCT scale still >= target
        im.load()  # the full decode: truncated files fail here, before anything is kept
        orientation = _orientation(im)
        keep = (
            settings.keep_jpeg_if_small
            and settings.output_format == "jpeg"
            and im.format == "JPEG"
            and im.mode in ("RGB", "L")
            and target == (width, height)
            and orientation not in _ORIENTATION
        )
        # Everything that touches pixels stays inside the with: a closed image may drop them.
        return _describe(data, source, _to_rgb(im), (width, height), orientation, keep, settings)


def _describe(data: bytes, source: str, rgb: Image.Image, header_size: tuple[int, int], orientation: int,
              keep: bool, settings: DecodeSettings) -> DecodedImage:
    """Orient, hash, resize and encode the decoded RGB picture."""
    original_width, original_height = header_size  # not rgb.size: draft may have reduced it
    if orientation in _ORIENTATION:
        rgb = rgb.transpose(_ORIENTATION[orientation])
        if orientation in _SWAPS_SIDES:
            original_width, original_height = original_height, original_width
    pixel_sha256 = _pixel_sha256(rgb)
    # Sized from the header, so a draft decode gives exactly the size a full decode would.
    out = _resize(rgb, _target_size(original_width, original_height, settings.max_side), settings.resize_filter)
    return DecodedImage(
        data=strip_jpeg_metadata(data) if keep else _encode(out, settings),
        format="jpeg" if keep else settings.output_format,
        source_format=source,
        width=out.width,
        height=out.height,
        original_width=original_width,
        original_height=original_height,
        sha256=hashlib.sha256(data).hexdigest(),
        pixel_sha256=pixel_sha256,
        phash=phash(out),
    )


# APP1 (EXIF incl. GPS, XMP), APP13 (IPTC), COM: personal metadata a training corpus must not
# carry. APP0 (JFIF), APP2 (ICC colour) and APP14 (Adobe colour transform) affect decoding.
_STRIP_MARKERS = frozenset({0xE1, 0xED, 0xFE})


def strip_jpeg_metadata(data: bytes) -> bytes:
    """A kept JPEG without its EXIF/XMP/IPTC/comment segments; pixels untouched.

    Walks the marker segments up to the start of scan; anything unexpected returns the
    input unchanged (the image already decoded, so it is a valid JPEG to Pillow).
    """
    if not data.startswith(b"\xff\xd8"):
        return data
    out = bytearray(b"\xff\xd8")
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            return bytes(out + data[pos:])
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2:
            return data
        if marker not in _STRIP_MARKERS:
            out += data[pos:pos + 2 + length]
        pos += 2 + length
    return data


def _is_svg(data: bytes) -> bool:
    """SVG or other XML: markup, not a raster. Only text starting with '<' is looked at."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n\x00").lower()
    if not head.startswith(b"<"):
        return False
    return head.startswith(b"<?xml") or b"<svg" in head


def _header_has_zero_side(data: bytes) -> bool:
    """A PNG, GIF or BMP header declaring a width or height of 0."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        sides = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
    elif data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        sides = (int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little"))
    elif data[:2] == b"BM" and len(data) >= 26 and int.from_bytes(data[14:18], "little") >= 40:
        sides = (int.from_bytes(data[18:22], "little", signed=True),
                 int.from_bytes(data[22:26], "little", signed=True))
    else:
        return False
    return 0 in sides


def _is_truncation(exc: BaseException) -> bool:
    # Pillow: "image file is truncated (N bytes not processed)", "Truncated File Read",
    # EOFError from readers that run out of data.
    return isinstance(exc, EOFError) or "truncated" in str(exc).lower()


def _webp_truncated(data: bytes) -> bool:
    """A WebP whose RIFF header declares more bytes than we have."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    declared = int.from_bytes(data[4:8], "little") + 8
    return declared > len(data)


def _target_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Longer side = max_side, aspect kept (never upscales)."""
    longer = max(width, height)
    if max_side <= 0 or longer <= max_side:
        return width, height
    scale = max_side / longer
    return max(1, round(width * scale)), max(1, round(height * scale))


def _orientation(im: Image.Image) -> int:
    """EXIF orientation (1 = upright). Broken EXIF is ignored, not a reason to drop."""
    try:
        value = im.getexif().get(_EXIF_ORIENTATION_TAG, 1)
        return value if isinstance(value, int) else 1
    except Exception:  # noqa: BLE001 - hostile data; see decode_image
        return 1


def _to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB: palette / 16-bit / CMYK converted, ICC to sRGB, alpha flattened on white."""
    icc = im.info.get("icc_profile")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("I", "F") or im.mode.startswith("I;16"):
        im = _sixteen_bit_to_l(im)
    elif im.mode in ("PA", "La", "RGBa"):
        im = im.convert("RGBA")
    if icc:
        im = _icc_to_srgb(im, icc)
    if im.mode in ("RGBA", "LA"):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im if im.mode == "RGB" else im.convert("RGB")


def _sixteen_bit_to_l(im: Image.Image) -> Image.Image:
    """16-bit grayscale (PNG) to 8-bit by its high byte; Pillow's convert would clip at 255."""
    values = np.asarray(im, dtype=np.float64)
    return Image.fromarray(np.clip(values / 257.0, 0, 255).round().astype(np.uint8), mode="L")


def _icc_to_srgb(im: Image.Image, icc: bytes) -> Image.Image:
    """Colours as the source meant them; the profile itself is never written out."""
    if im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
    transform = _srgb_transform(icc, im.mode, out_mode)
    if transform is None:
        return im
    try:
        return ImageCms.applyTransform(im, transform)
    except Exception:  # noqa: BLE001 - an unusable profile: keep the raw values, as browsers do
        return im


@lru_cache(maxsize=64)
def _srgb_transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    """Transform from an embedded profile to sRGB; None when it is sRGB already or broken."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = (ImageCms.getProfileDescription(profile) or "").lower()
        if in_mode != "CMYK" and "srgb" in description:
            return None
        return ImageCms.buildTransform(
            profile, ImageCms.createProfile("sRGB"), in_mode, out_mode,
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
        )
    except Exception:  # noqa: BLE001 - hostile data; see decode_image
        return None


def _pixel_sha256(rgb: Image.Image) -> str:
    # The size is part of the identity: 2x8 and 4x4 pictures can share their pixel bytes.
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()


def _resize(rgb: Image.Image, size: tuple[int, int], name: str = "box") -> Image.Image:
    if size == rgb.size:
        return rgb
    if name == "box":
        return rgb.resize(size, Image.Resampling.BOX)
    # reducing_gap: box-reduce by an integer factor first, then the filter for the rest;
    # close to the full filter and much faster on big pictures.
    return rgb.resize(size, RESIZE_FILTERS[name], reducing_gap=3.0)


def _encode(rgb: Image.Image, settings: DecodeSettings) -> bytes:
    rgb.info = {}  # some plugins read defaults (dpi, icc, exif) from info: write none
    out = io.BytesIO()
    if settings.output_format == "jpeg":
        rgb.save(out, format="JPEG", quality=settings.quality, optimize=False,
                 progressive=False, subsampling="4:2:0")
    else:
        rgb.save(out, format="WEBP", quality=settings.quality, method=4, lossless=False, exact=False)
    return out.getvalue()
