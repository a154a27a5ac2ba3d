"""pHash: the DCT math, robustness on real photos, band pigeonhole property."""

from __future__ import annotations

import io
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageEnhance

from pipeline.images.phash import hamming, phash, phash_bands

PHOTOS = (Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "image_text" / "conceptual_captions").resolve()
NEAR = 8  # near-duplicate threshold used by dedup


def reference_phash(image: Image.Image) -> int:
    """imagehash.phash written out the slow way: full 32x32 scipy-style DCT-II by definition."""
    pixels = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    n = 32
    basis = np.array([[2 * math.cos(math.pi * k * (2 * i + 1) / (2 * n)) for i in range(n)] for k in range(n)])
    dct = (basis @ pixels.T).T  # along axis 0 then 1, as imagehash does with scipy
    dct = basis @ dct
    low = dct[:8, :8]
    bits = "".join("1" if v else "0" for v in (low > np.median(low)).ravel())
    return int(bits, 2)


def photos() -> list[Path]:
    if not PHOTOS.is_dir():
        pytest.skip(f"real photos not found at {PHOTOS} (a fresh clone has no ../shared/data)")
    paths = sorted(PHOTOS.glob("*.jpg"))
    assert len(paths) >= 10
    return paths


def roundtrip(im: Image.Image, fmt: str, **kwargs) -> Image.Image:
    out = io.BytesIO()
    im.save(out, format=fmt, **kwargs)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def variants(im: Image.Image) -> dict[str, Image.Image]:
    return {
        "half size": im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR),
        "jpeg q40": roundtrip(im, "JPEG", quality=40),
        "png": roundtrip(im, "PNG"),
        "brighter": ImageEnhance.Brightness(im).enhance(1.1),
    }


def test_matches_the_reference_definition():
    rng = np.random.default_rng(7)
    for size in ((32, 32), (100, 60), (7, 300)):
        im = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
        assert phash(im) == reference_phash(im)


def test_hash_is_64_bits_and_deterministic():
    rng = np.random.default_rng(1)
    im = Image.fromarray(rng.integers(0, 256, (50, 80), dtype=np.uint8), "L")
    h = phash(im)
    assert 0 <= h < 1 << 64 and h == phash(im.copy()) and phash(im.convert("RGBA")) == h


def test_real_photos_near_copies_close_distinct_photos_far():
    hashes: dict[str, int] = {}
    dup_distances: list[tuple[int, str, str]] = []
    for path in photos():
        with Image.open(path) as src:
            im = src.convert("RGB")
        hashes[path.name] = phash(im)
        for name, copy in variants(im).items():
            dup_distances.append((hamming(hashes[path.name], phash(copy)), path.name, name))
    worst = max(dup_distances)
    closest = min((hamming(hashes[a], hashes[b]), a, b) for a, b in itertools.combinations(hashes, 2))
    report = f"max duplicate distance {worst}, min distinct distance {closest}"
    assert worst[0] <= NEAR, report
    assert closest[0] > NEAR, report


def test_hamming():
    assert hamming(0, 0) == 0
    assert hamming(0, (1 << 64) - 1) == 64
    assert hamming(0b1011, 0b0001) == 2


hashes = st.integers(0, (1 << 64) - 1)


@given(h=hashes, flips=st.sets(st.integers(0, 63), max_size=15), bands=st.integers(1, 16))
def test_bands_pigeonhole(h, flips, bands):
    other = h
    for bit in flips:
        other ^= 1 << bit
    a, b = phash_bands(h, bands), phash_bands(other, bands)
    assert len(a) == bands
    if hamming(h, other) < bands:
        assert any(x == y for x, y in zip(a, b))


@given(h=hashes, bands=st.sampled_from([1, 2, 4, 8, 16, 64]))
def test_bands_reassemble_the_hash(h, bands):
    width = 64 // bands
    joined = 0
    for band in phash_bands(h, bands):
        assert 0 <= band < 1 << width
        joined = joined << width | band
    assert joined == h


def test_bands_refuse_bad_arguments():
    with pytest.raises(ValueError):
        phash_bands(1, 0)
    with pytest.raises(ValueError):
        phash_bands(1 << 64)
