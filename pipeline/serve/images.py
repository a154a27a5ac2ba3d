"""Untrusted image bytes → an RGB PIL image, with clear reasons for what is refused.

Uploads are untrusted: the pixel count is read from the header and checked before any
decode (a 100-KB PNG can expand to gigabytes: a decompression bomb), the declared content
type must be an image (or unspecified), and bytes Pillow cannot decode are refused. EXIF
orientation is applied as the images stage does (pipeline/images/decode.py), so an upload
and the same photo in a shard look alike to the model.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 40_000_000  # ~6300 x 6300; far above any CLIP input, far below a bomb
# Content types a client may send for an image: its own type, or "I don't know".
_GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream", "")


class ImageRejected(ValueError):
    """An image we refuse; ``status`` is the HTTP status the server answers with."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason  # short name, counted by the index builder
        self.message = message


def check_content_type(content_type: str | None, name: str = "file") -> None:
    """415 for a declared type that is not an image (a text file sent as the image)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind.startswith("image/") or kind in _GENERIC_TYPES:
        return
    raise ImageRejected(415, "not_an_image",
                        f"{name}: expected an image (image/jpeg, image/png, ...), got content type {kind!r}")


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "file") -> Image.Image:
    """Bytes → RGB image, or ``ImageRejected`` (422: empty, undecodable or too many pixels)."""
    if not data:
        raise ImageRejected(422, "empty", f"{name}: empty file")
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past 2x its own limit raises) on huge images; ours is stricter.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            width, height = im.size
            if width * height > max_pixels:
                raise ImageRejected(422, "too_many_pixels", f"{name}: image of {width}x{height} pixels exceeds "
                                                            f"the limit of {max_pixels} pixels")
            im = ImageOps.exif_transpose(im)  # loads the pixels
            return _to_rgb(im)
    except ImageRejected:
        raise
    except Image.DecompressionBombError as e:
        raise ImageRejected(422, "too_many_pixels", f"{name}: {e}") from e
    except UnidentifiedImageError as e:
        raise ImageRejected(422, "undecodable", f"{name}: not a decodable image ({len(data)} bytes)") from e
    except (OSError, ValueError, SyntaxError, EOFError) as e:  # truncated or corrupt data
        raise ImageRejected(422, "corrupt", f"{name}: corrupt image: {e}") from e


def _to_rgb(im: Image.Image) -> Image.Image:
    """Transparency flattened on white, as the shard writer does (pipeline/shards/images.py)."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")
