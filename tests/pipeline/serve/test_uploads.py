"""Upload decoding: content types, undecodable bytes, decompression bombs, transparency."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pipeline.serve.images import ImageRejected, check_content_type, decode_image


def _png(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def test_content_types():
    for ok in ("image/jpeg", "image/png; charset=binary", "application/octet-stream", "", None):
        check_content_type(ok)
    with pytest.raises(ImageRejected, match="got content type 'text/plain'") as e:
        check_content_type("text/plain", "notes.txt")
    assert e.value.status == 415 and e.value.reason == "not_an_image"


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"hello, I am a text file\n", "undecodable"),
    (_png(Image.new("RGB", (50, 40), "red"))[:60], "corrupt"),  # truncated
])
def test_bad_bytes_are_422_with_a_reason(data, reason):
    with pytest.raises(ImageRejected) as e:
        decode_image(data, name="upload.png")
    assert (e.value.status, e.value.reason) == (422, reason)
    assert e.value.message.startswith("upload.png: ")


def test_decompression_bomb_refused_from_the_header():
    # 8000 x 8000 1-bit PNG: a few KB on the wire, 64 Mpixels (192 MB as RGB) once decoded.
    bomb = _png(Image.new("1", (8000, 8000)))
    assert len(bomb) < 100_000
    with pytest.raises(ImageRejected, match="8000x8000 pixels exceeds the limit") as e:
        decode_image(bomb)
    assert e.value.reason == "too_many_pixels"
    with pytest.raises(ImageRejected, match="exceeds"):
        decode_image(_png(Image.new("RGB", (100, 100))), max_pixels=9_999)
    assert decode_image(_png(Image.new("RGB", (100, 100))), max_pixels=10_000).size == (100, 100)


def test_transparency_on_white_and_rgb_out():
    im = decode_image(_png(Image.new("RGBA", (4, 4), (255, 0, 0, 0))))
    assert im.mode == "RGB" and im.getpixel((0, 0)) == (255, 255, 255)
    assert decode_image(_png(Image.new("L", (4, 4), 7))).getpixel((1, 1)) == (7, 7, 7)
