"""Image filters: boundaries of each filter, URL tokenisation, the registry."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from filters.image import (
    IMAGE_FILTERS,
    ImageFacts,
    ImageFilterSettings,
    apply_image_filters,
    max_aspect,
    min_bytes,
    min_side,
    url_keywords,
    url_tokens,
)

S = ImageFilterSettings()


@dataclass
class Size:
    width: int
    height: int


def test_registry_names_are_versioned():
    assert set(IMAGE_FILTERS) == {"min_side@1", "max_aspect@1", "url_keywords@1", "min_bytes@1"}


def test_min_side_boundary():
    assert min_side(ImageFacts("u", 150, 150), S) is None
    assert min_side(ImageFacts("u", 149, 1000), S) == "min_side"
    assert min_side(ImageFacts("u", 1000, 149), S) == "min_side"
    assert min_side(ImageFacts("u"), S) is None  # unknown size passes


def test_max_aspect_boundary():
    assert max_aspect(ImageFacts("u", 300, 100), S) is None  # exactly 3.0
    assert max_aspect(ImageFacts("u", 100, 300), S) is None
    assert max_aspect(ImageFacts("u", 301, 100), S) == "max_aspect"
    assert max_aspect(ImageFacts("u", 100, 301), S) == "max_aspect"
    assert max_aspect(ImageFacts("u", 0, 100), S) is None
    assert max_aspect(ImageFacts("u", 301, 100), ImageFilterSettings(max_aspect=4.0)) is None


def test_min_bytes_boundary():
    assert min_bytes(ImageFacts("u", n_bytes=1024), S) is None
    assert min_bytes(ImageFacts("u", n_bytes=1023), S) == "min_bytes"
    assert min_bytes(ImageFacts("u", n_bytes=0), S) == "min_bytes"
    assert min_bytes(ImageFacts("u"), S) is None


@pytest.mark.parametrize(
    "url,reason",
    [
        ("https://example.com/img/logo.png", "url_keyword:logo"),
        ("https://example.com/img/site-logo_small.png", "url_keyword:logo"),
        ("https://example.com/img/siteLogo2x.png", "url_keyword:logo"),
        ("https://example.com/LOGOS/acme.jpg", "url_keyword:logo"),
        ("https://example.com/static/icons/home.svg", "url_keyword:icon"),
        ("https://example.com/ads/300x250.gif", "url_keyword:ads"),
        ("https://example.com/ad/300x250.gif", "url_keyword:ad"),
        ("https://example.com/t/pixel.gif?id=1", "url_keyword:pixel"),
        ("https://example.com/users/42/avatar.jpg", "url_keyword:avatar"),
        ("https://example.com/a/my%20favicon.ico", "url_keyword:favicon"),
        ("https://example.com/emoji/1f600.png", "url_keyword:emoji"),
        # not whole tokens, or not in the path
        ("https://example.com/chemistry/adsorption.jpg", None),
        ("https://example.com/wp-content/uploads/2024/05/photo.jpg", None),
        ("https://example.com/catalogue/headline.jpg", None),
        ("https://example.com/iconic-bridge.jpg", None),
        ("https://example.com/bad-loading-times.jpg", None),
        ("https://ads.example.com/photos/beach.jpg", None),
        ("https://example.com/photo.jpg?utm_source=banner", None),
        ("https://example.com/trackingshot.jpg", None),
        ("not a url at all", None),
        ("http://[::1/broken", None),
    ],
)
def test_url_keywords(url, reason):
    assert url_keywords(ImageFacts(url), S) == reason


def test_url_tokens():
    assert url_tokens("https://x.org/a/siteLogo2x.PNG") == ["a", "site", "logo", "2", "x", "png"]
    assert url_tokens("https://x.org/HTTPServer-icon.jpg") == ["http", "server", "icon", "jpg"]
    assert url_tokens("https://x.org/") == []


def test_apply_in_registry_order_with_first_reason():
    big = Size(800, 600)
    assert apply_image_filters("https://x.org/photo.jpg", big, 50_000, S) is None
    # Several failures: the first in registry order is reported.
    assert apply_image_filters("https://x.org/logo.png", Size(10, 10), 10, S) == "url_keyword:logo"
    assert apply_image_filters("https://x.org/a.png", Size(10, 10), 10, S) == "min_bytes"
    assert apply_image_filters("https://x.org/a.png", Size(10, 10), 5000, S) == "min_side"
    assert apply_image_filters("https://x.org/a.png", Size(1000, 200), 5000, S) == "max_aspect"
    # Before download: only the URL and HTML hints are known.
    assert apply_image_filters("https://x.org/a.png", None, None, S) is None


def test_enabled_subset_and_order():
    facts = ("https://x.org/logo.png", Size(10, 10), 10, S)
    assert apply_image_filters(*facts, enabled=[]) is None
    assert apply_image_filters(*facts, enabled=["min_side@1"]) == "min_side"
    assert apply_image_filters(*facts, enabled=["min_side@1", "url_keywords@1"]) == "min_side"
    with pytest.raises(ValueError, match="unknown image filters"):
        apply_image_filters(*facts, enabled=["min_side@2"])


def test_decoded_images_are_judged_on_their_original_size():
    from pipeline.images.decode import DecodedImage

    decoded = DecodedImage(
        data=b"", format="jpeg", source_format="png", width=1024, height=100,
        original_width=1024, original_height=100, sha256="", pixel_sha256="", phash=0,
    )
    assert apply_image_filters("https://x.org/a.png", decoded, 5000, S) == "min_side"
    resized = DecodedImage(
        data=b"", format="jpeg", source_format="png", width=512, height=170,
        original_width=3000, original_height=1000, sha256="", pixel_sha256="", phash=0,
    )
    # 170 px after the resize, 1000 px at the source: a real picture.
    assert apply_image_filters("https://x.org/a.png", resized, 5000, S) is None


def test_custom_keywords():
    custom = ImageFilterSettings(url_keywords=("thumb",))
    assert url_keywords(ImageFacts("https://x.org/thumbs/1.jpg"), custom) == "url_keyword:thumb"
    assert url_keywords(ImageFacts("https://x.org/logo.jpg"), custom) is None
