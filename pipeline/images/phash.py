"""Perceptual hash (DCT pHash) for near-duplicate images, in numpy only.

The classic algorithm as in the ``imagehash`` package's ``phash`` (hash_size=8,
highfreq_factor=4): grayscale, resize to 32x32, 2-D DCT-II, keep the top-left 8x8 low
frequencies (DC included), and set a bit where a coefficient exceeds their median. Bits are
packed row-major, first bit most significant, like ``int(str(imagehash.phash(im)), 16)``.
The DCT here is unnormalised like scipy's, but any positive scale gives the same bits.
"""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image

HASH_SIZE = 8
HIGHFREQ_FACTOR = 4
_SIDE = HASH_SIZE * HIGHFREQ_FACTOR  # 32
HASH_BITS = HASH_SIZE * HASH_SIZE  # 64


def _dct_rows(n: int, keep: int) -> np.ndarray:
    """First ``keep`` rows of the n-point DCT-II matrix: D[k, i] = 2 cos(pi k (2i + 1) / 2n)."""
    k = np.arange(keep, dtype=np.float64)[:, None]
    i = np.arange(n, dtype=np.float64)[None, :]
    return 2.0 * np.cos(np.pi * k * (2.0 * i + 1.0) / (2.0 * n))


# Only the 8 lowest frequencies are ever used: D8 @ X @ D8.T is the 8x8 corner of the DCT.
_D = _dct_rows(_SIDE, HASH_SIZE)
_WEIGHTS = 1 << np.arange(HASH_BITS - 1, -1, -1, dtype=np.uint64)


def phash(image: Image.Image) -> int:
    """64-bit DCT pHash of ``image`` (any mode; alpha is ignored as imagehash does)."""
    small = image.convert("L").resize((_SIDE, _SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    low = _D @ pixels @ _D.T
    bits = (low > np.median(low)).ravel()
    return int(_WEIGHTS[bits].sum(dtype=np.uint64))


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return (a ^ b).bit_count()


def phash_bands(h: int, bands: int = 4) -> list[int]:
    """Split a 64-bit hash into ``bands`` contiguous bit ranges (most significant first).

    For LSH bucketing by (band index, band value): by pigeonhole, two hashes at Hamming
    distance < ``bands`` agree exactly on at least one band. Bands are at most 64 bits wide
    and unsigned; with ``bands >= 2`` each fits a signed 64-bit column.
    """
    if not 1 <= bands <= HASH_BITS:
        raise ValueError(f"bands must be in 1..{HASH_BITS}, got {bands}")
    if not 0 <= h < 1 << HASH_BITS:
        raise ValueError(f"not a 64-bit unsigned hash: {h}")
    edges = [round(i * HASH_BITS / bands) for i in range(bands + 1)]
    out = []
    for start, end in itertools.pairwise(edges):
        width = end - start
        out.append((h >> (HASH_BITS - end)) & ((1 << width) - 1))
    return out
