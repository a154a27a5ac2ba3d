"""Images for shards: decode safely and hand back JPEG bytes, or a drop reason.

JPEGs are kept byte-for-byte; other formats (PNG, GIF, WebP...) are converted to RGB JPEG so
every shard image is ``N.jpg`` as the layout promises. Decoding is bounded: the pixel count
is checked from the header before any pixel is decoded (decompression bombs).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError


def to_jpeg(data: bytes, max_pixels: int, quality: int = 95) -> tuple[bytes | None, str | None]:
    """(jpeg bytes, None) or (None, reason)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width <= 0 or height <= 0:
                    return None, "image_empty"
                if width * height > max_pixels:
                    return None, "image_too_many_pixels"
                if im.format == "JPEG" and im.mode in ("RGB", "L"):
                    im.load()  # a full decode: truncated JPEGs must not reach training
                    return data, None
                im.seek(0)  # first frame of animations
                rgb = _flatten(im)
                out = io.BytesIO()
                rgb.save(out, format="JPEG", quality=quality, optimize=False, progressive=False)
                return out.getvalue(), None
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, "image_undecodable"
    except (OSError, ValueError, SyntaxError, EOFError):  # truncated or corrupt data
        return None, "image_corrupt"


def _flatten(im: Image.Image) -> Image.Image:
    """RGB on white: transparent pixels must not turn black in JPEG."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")
