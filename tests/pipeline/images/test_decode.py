"""decode_image on pictures this test draws: every format, every drop reason, bombs, determinism."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from pipeline.images.decode import DecodedImage, DecodeSettings, decode_image

DEFAULT = DecodeSettings()


def picture(size: tuple[int, int] = (120, 80), mode: str = "RGB", seed: int = 0) -> Image.Image:
    """A smooth gradient with a block: compresses like a photo, distinct per seed."""
    w, h = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 127 // max(w + h, 1)], -1)
    base = (base + rng.integers(0, 40, size=3)).clip(0, 255).astype(np.uint8)
    base[h // 4 : h // 2, w // 4 : w // 2] = rng.integers(0, 256, size=3)
    return Image.fromarray(base, "RGB").convert(mode)


def encode(im: Image.Image, fmt: str, **kwargs) -> bytes:
    out = io.BytesIO()
    im.save(out, format=fmt, **kwargs)
    return out.getvalue()


def decoded(data: bytes, s: DecodeSettings = DEFAULT) -> DecodedImage:
    result = decode_image(data, s)
    assert isinstance(result, DecodedImage), result
    return result


def open_output(result: DecodedImage) -> Image.Image:
    im = Image.open(io.BytesIO(result.data))
    im.load()
    return im


def png_header(width: int, height: int, body: bytes = b"") -> bytes:
    """A PNG made by hand: any header size, costing nothing to build."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b"")


# -- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,source", [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("BMP", "bmp"), ("GIF", "gif")])
def test_every_supported_format_decodes_to_rgb_jpeg(fmt, source):
    im = picture()
    result = decoded(encode(im if fmt != "GIF" else im.convert("P"), fmt))
    assert (result.source_format, result.format) == (source, "jpeg")
    assert (result.width, result.height, result.original_width, result.original_height) == (120, 80, 120, 80)
    out = open_output(result)
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (120, 80))
    # The picture survives: close to the source on average.
    assert np.abs(np.asarray(out, float) - np.asarray(im, float)).mean() < 12


def test_small_rgb_jpeg_is_kept_byte_for_byte_unless_disabled():
    data = encode(picture(), "JPEG", quality=80)
    assert decoded(data).data == data
    assert decoded(encode(picture(mode="L"), "JPEG")).format == "jpeg"
    recoded = decoded(data, DecodeSettings(keep_jpeg_if_small=False))
    assert recoded.data != data and open_output(recoded).size == (120, 80)
    # Asking for WebP output means WebP, even for a JPEG that could be kept.
    webp = decoded(data, DecodeSettings(output_format="webp"))
    assert webp.format == "webp" and open_output(webp).format == "WEBP"


def test_png_alpha_is_flattened_on_white():
    im = Image.new("RGBA", (60, 40), (255, 0, 0, 255))
    im.paste((0, 0, 255, 0), (0, 0, 30, 40))  # left half fully transparent (blue underneath)
    out = np.asarray(open_output(decoded(encode(im, "PNG"))), int)
    assert (np.abs(out[20, 5] - [255, 255, 255]) < 8).all()  # white, not blue or black
    assert (np.abs(out[20, 50] - [255, 0, 0]) < 8).all()


def test_palette_png_with_transparency_is_flattened_on_white():
    im = Image.new("P", (40, 40), 1)
    im.putpalette([0, 0, 0, 0, 128, 0] + [0] * 762)
    im.paste(0, (0, 0, 20, 40))
    data = encode(im, "PNG", transparency=0)  # index 0 (black) is transparent
    out = np.asarray(open_output(decoded(data)), int)
    assert (np.abs(out[20, 5] - [255, 255, 255]) < 8).all()
    assert (np.abs(out[20, 35] - [0, 128, 0]) < 8).all()


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (50, 50), color).convert("P") for color in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = decoded(out.getvalue())
    assert result.source_format == "gif"
    r, g, b = open_output(result).getpixel((25, 25))
    assert r > 200 and g < 50 and b < 50


def test_cmyk_jpeg_becomes_rgb():
    im = Image.new("CMYK", (64, 64), (0, 255, 255, 0))  # red in CMYK
    result = decoded(encode(im, "JPEG"))
    out = open_output(result)
    assert out.mode == "RGB" and result.data[:2] == b"\xff\xd8"
    r, g, b = out.getpixel((32, 32))
    assert r > 200 and g < 60 and b < 60


def test_exif_orientation_is_applied():
    im = picture((120, 80))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = encode(im, "JPEG", exif=exif.tobytes())
    result = decoded(data)
    assert (result.width, result.height) == (80, 120)
    assert (result.original_width, result.original_height) == (80, 120)
    assert result.data != data  # must be re-encoded upright, not kept
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"), float)
    assert np.abs(np.asarray(open_output(result), float) - expected).mean() < 6
    assert b"Exif" not in result.data[:200]  # orientation must not be applied twice by viewers


def test_sixteen_bit_grayscale_png_keeps_its_range():
    values = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    out = np.asarray(open_output(decoded(encode(Image.fromarray(values), "PNG"))), int)
    assert out[0, 0, 0] < 10 and 110 < out[32, 0, 0] < 145 and out[63, 63, 0] > 245


# -- drop reasons ----------------------------------------------------------------------------


def test_empty_svg_and_unsupported_formats():
    assert decode_image(b"", DEFAULT) == "image_empty"
    assert decode_image(b'<svg xmlns="http://www.w3.org/2000/svg" width="10"/>', DEFAULT) == "svg"
    assert decode_image(b'\xef\xbb\xbf  <?xml version="1.0"?>\n<!-- x --><svg/>', DEFAULT) == "svg"
    assert decode_image(encode(picture(), "TIFF"), DEFAULT) == "unsupported_format:tiff"
    assert decode_image(encode(picture((32, 32)), "ICO"), DEFAULT) == "unsupported_format:ico"


def test_corrupt_bytes():
    assert decode_image(b"not an image at all", DEFAULT) == "corrupt"
    assert decode_image(b"<html><body>404 Not Found</body></html>", DEFAULT) == "corrupt"
    assert decode_image(bytes(range(256)) * 8, DEFAULT) == "corrupt"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_files(fmt):
    noisy = Image.effect_noise((200, 200), 60).convert("RGB")  # incompressible: the cut hits pixel data
    data = encode(noisy, fmt)
    assert decode_image(data[: len(data) // 2], DEFAULT) == "truncated"


def test_zero_sized_headers():
    assert decode_image(png_header(0, 10), DEFAULT) == "zero_size"
    assert decode_image(png_header(10, 0), DEFAULT) == "zero_size"


def test_png_bomb_is_refused_from_its_header_fast():
    bomb = png_header(30_000, 30_000)  # 900 Mpx declared, a few dozen bytes
    start = time.perf_counter()
    assert decode_image(bomb, DEFAULT) == "too_many_pixels"
    # Below Pillow's own limit but above ours: our check refuses it.
    assert decode_image(png_header(9_000, 8_000), DEFAULT) == "too_many_pixels"
    assert time.perf_counter() - start < 1.0
    # A real, fully decodable image over a small limit.
    data = encode(Image.new("L", (2000, 1000)), "PNG")
    assert decode_image(data, DecodeSettings(max_pixels=1_999_999)) == "too_many_pixels"
    assert isinstance(decode_image(data, DecodeSettings(max_pixels=2_000_000)), DecodedImage)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(["PNG", "JPEG", "GIF", "WEBP", "BMP"]),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 10**6),
)
def test_mangled_images_never_raise(fmt, edits, cut):
    data = bytearray(encode(picture((40, 30), "RGB" if fmt != "GIF" else "P"), fmt))
    for pos, value in edits:
        data[pos % len(data)] = value
    result = decode_image(bytes(data[: max(1, cut % (len(data) + 1))]), DEFAULT)
    assert isinstance(result, DecodedImage) or result in {"corrupt", "truncated", "zero_size", "too_many_pixels"} or result.startswith("unsupported_format:")


def test_misconfiguration_raises():
    with pytest.raises(ValueError):
        DecodeSettings(output_format="png")
    with pytest.raises(ValueError):
        DecodeSettings(quality=0)


# -- resize, identity, determinism -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])  # JPEG goes through draft() decoding
def test_resize_keeps_aspect_and_records_original_size(fmt):
    data = encode(picture((3000, 1000)), fmt)
    result = decoded(data)
    assert (result.width, result.height) == (1024, 341)
    assert (result.original_width, result.original_height) == (3000, 1000)
    assert open_output(result).size == (1024, 341)
    tall = decoded(encode(picture((500, 2000)), fmt), DecodeSettings(max_side=512))
    assert (tall.width, tall.height) == (128, 512)
    unresized = decoded(data, DecodeSettings(max_side=0))
    assert (unresized.width, unresized.height) == (3000, 1000)


def test_never_upscales():
    result = decoded(encode(picture((100, 50)), "PNG"), DecodeSettings(max_side=512))
    assert (result.width, result.height) == (100, 50)


@pytest.mark.parametrize("output_format", ["jpeg", "webp"])
def test_same_input_gives_same_bytes(output_format):
    s = DecodeSettings(max_side=256, output_format=output_format)
    for data in (encode(picture((600, 400), "RGBA"), "PNG"), encode(picture((600, 400)), "JPEG")):
        first, second = decoded(data, s), decoded(data, s)
        assert first == second


def test_output_carries_no_metadata():
    im = picture((80, 60))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera make
    result = decoded(encode(im, "PNG", exif=exif.tobytes(), dpi=(300, 300)), DecodeSettings())
    assert b"SecretCam" not in result.data and b"Exif" not in result.data
    assert "dpi" not in open_output(result).info or open_output(result).info["dpi"] in ((1, 1), (72, 72))


def test_pixel_sha256_is_the_identity_of_the_pixels():
    im = picture((200, 150), seed=3)
    fast, small = encode(im, "PNG", compress_level=1), encode(im, "PNG", compress_level=9)
    assert fast != small
    a, b = decoded(fast), decoded(small)
    assert a.sha256 != b.sha256
    assert a.pixel_sha256 == b.pixel_sha256
    assert a.phash == b.phash
    # The same pixels as BMP too; one pixel changed is another picture.
    assert decoded(encode(im, "BMP")).pixel_sha256 == a.pixel_sha256
    changed = im.copy()
    changed.putpixel((0, 0), (1, 2, 3))
    assert decoded(encode(changed, "PNG")).pixel_sha256 != a.pixel_sha256


@pytest.mark.parametrize("size", [(3001, 1001), (2049, 1537), (1030, 1029)])
def test_draft_decoding_gives_the_full_decode_size(size):
    data = encode(picture(size), "JPEG")
    fast = decoded(data, DecodeSettings(max_side=512))
    full = decoded(data, DecodeSettings(max_side=512, jpeg_draft=False))
    assert (fast.width, fast.height) == (full.width, full.height)
    assert (fast.original_width, fast.original_height) == size
    assert (fast.phash ^ full.phash).bit_count() <= 4  # same picture, decoded two ways


def test_icc_profiles_are_used_then_dropped_and_broken_ones_ignored():
    from PIL import ImageCms

    im = picture((64, 48))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    plain = decoded(encode(im, "PNG"))
    tagged = decoded(encode(im, "PNG", icc_profile=srgb))
    assert tagged.pixel_sha256 == plain.pixel_sha256  # sRGB already: no conversion
    broken = decoded(encode(im, "PNG", icc_profile=b"not a profile" * 10))
    assert broken.pixel_sha256 == plain.pixel_sha256
    assert "icc_profile" not in open_output(tagged).info


def test_kept_jpeg_loses_exif_and_comments_but_not_pixels():
    import io

    from PIL import Image

    from pipeline.images.decode import DecodeSettings, decode_image, strip_jpeg_metadata

    im = Image.new("RGB", (200, 160), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}  # GPS IFD: must not reach the corpus
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90, exif=exif.tobytes(), comment=b"taken at home")
    data = buf.getvalue()
    decoded = decode_image(data, DecodeSettings(max_side=1024))
    assert decoded.format == "jpeg" and decoded.data != data
    assert b"Exif" not in decoded.data and b"taken at home" not in decoded.data
    with Image.open(io.BytesIO(decoded.data)) as a, Image.open(io.BytesIO(data)) as b:
        assert a.tobytes() == b.tobytes() and not a.getexif()
    assert strip_jpeg_metadata(b"not a jpeg") == b"not a jpeg"
