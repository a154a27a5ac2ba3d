import io

from PIL import Image

from pipeline.demo import draw_image
from pipeline.shards.images import to_jpeg


def test_jpeg_kept_byte_for_byte():
    data = draw_image(1)
    assert to_jpeg(data, 10**8) == (data, None)


def test_png_with_alpha_and_gif_become_rgb_jpeg():
    for fmt in ("PNG", "GIF"):
        out, reason = to_jpeg(draw_image(2, (64, 48), fmt), 10**8)
        assert reason is None
        with Image.open(io.BytesIO(out)) as im:
            assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (64, 48))
    # Conversion is deterministic: same bytes twice.
    assert to_jpeg(draw_image(2, (64, 48), "PNG"), 10**8) == to_jpeg(draw_image(2, (64, 48), "PNG"), 10**8)


def test_bad_images_get_reasons_not_exceptions():
    assert to_jpeg(b"not an image", 10**8) == (None, "image_undecodable")
    assert to_jpeg(draw_image(3)[:200], 10**8)[1] in ("image_corrupt", "image_undecodable")
    # A "bomb": the header claims more pixels than allowed; refused before decoding.
    big = io.BytesIO()
    Image.new("L", (4000, 4000)).save(big, format="PNG")
    assert to_jpeg(big.getvalue(), max_pixels=1_000_000) == (None, "image_too_many_pixels")
