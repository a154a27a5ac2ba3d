"""Shingling and MinHash signatures for near-duplicate detection.

One xxh64 per shingle, then every permutation at once in numpy with datasketch's universal
hashing: ``((a * h + b) mod 2^64) mod p`` over the Mersenne prime p = 2^61 - 1, kept to 32
bits, with a, b drawn from [1, p). The uint64 wrap-around is deliberate (as in datasketch):
it mixes the high bits of the product, so permutations are effectively independent, where an
exact ``a * h + b`` with small a and h would be nearly linear in h (tried: estimates were off
by 0.5). Values are < 2^32, so they fit a signed int64 (Spark bigint) unchanged.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import xxhash

MERSENNE_PRIME = np.uint64((1 << 61) - 1)
# datasketch's _max_hash: the signature of an empty document is all MAX_HASH.
MAX_HASH = np.uint64((1 << 32) - 1)
_SHIFT61 = np.uint64(61)
CJK_LANGUAGES = frozenset({"zh", "ja"})
# Columns of the (num_perm x shingles) block per step: two work arrays of num_perm * 16 KiB.
# 2048 keeps them (3.5 MiB for 112 permutations) near cache size.
_CHUNK = 2048

_WHITESPACE = re.compile(r"\s+")
# Han and kana ranges: spot Chinese/Japanese text that is mislabelled (a zh page tagged "en"
# would otherwise give a handful of giant "words").
_CJK = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002a6df\U0002a700-\U0002ebef]"
)


@lru_cache(maxsize=1)
def _punctuation_table() -> dict[int, str]:
    """Every Unicode punctuation code point → space (a one-off ~0.1 s scan, then cached)."""
    return {cp: " " for cp in range(sys.maxunicode + 1)
            if unicodedata.category(chr(cp)).startswith("P")}


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation removed, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_punctuation_table())
    return _WHITESPACE.sub(" ", text).strip()


def is_cjk(text: str, language: str | None = None) -> bool:
    """Chinese/Japanese by content (most non-space characters CJK), or by label when the
    text has a real share of CJK characters. The label alone is not trusted: language id
    can call odd Latin text "zh", and character n-grams would then miss its word copies."""
    letters = len(text) - text.count(" ")
    if letters == 0:
        return False
    cjk = len(_CJK.findall(text))
    if cjk * 2 > letters:
        return True
    labelled = bool(language) and re.split(r"[-_]", language.lower(), maxsplit=1)[0] in CJK_LANGUAGES
    return labelled and cjk * 5 >= letters


def shingles(text: str, language: str | None, ngram: int = 5) -> set[str]:
    """Word n-grams, or character n-grams for CJK (no spaces between words there).

    A text shorter than ``ngram`` units gives one shingle of the whole (normalised) text;
    an empty text gives no shingles.
    """
    norm = normalize(text or "")
    if not norm:
        return set()
    if is_cjk(norm, language):
        units: list[str] | str = norm.replace(" ", "")
        sep = ""
    else:
        units = norm.split(" ")
        sep = " "
    if len(units) <= ngram:
        return {sep.join(units)}
    return {sep.join(units[i:i + ngram]) for i in range(len(units) - ngram + 1)}


def _mod_mersenne(x: np.ndarray, scratch: np.ndarray) -> None:
    """x %= 2^61 - 1 in place without a division (2^61 = 1 mod p): faster than numpy's %."""
    np.right_shift(x, _SHIFT61, out=scratch)
    np.bitwise_and(x, MERSENNE_PRIME, out=x)
    np.add(x, scratch, out=x)  # now < p + 8: at most one subtraction of p left
    # x - p wraps to a huge value when x < p, so the minimum picks the reduced value.
    np.subtract(x, MERSENNE_PRIME, out=scratch)
    np.minimum(x, scratch, out=x)


class MinHasher:
    """MinHash signatures with ``num_perm`` permutations; deterministic for a given seed.

    One instance per thread (it reuses its work arrays); build it once per worker.
    """

    def __init__(self, num_perm: int = 112, seed: int = 1) -> None:
        if num_perm < 1:
            raise ValueError(f"num_perm must be >= 1, got {num_perm}")
        self.num_perm = num_perm
        self.seed = seed
        rng = np.random.RandomState(seed)
        # Drawn as in datasketch (a >= 1, so no permutation is constant).
        self._a = rng.randint(1, int(MERSENNE_PRIME), size=(num_perm, 1), dtype=np.uint64)
        self._b = rng.randint(0, int(MERSENNE_PRIME), size=(num_perm, 1), dtype=np.uint64)
        self._work: tuple[np.ndarray, np.ndarray] | None = None

    def _buffers(self) -> tuple[np.ndarray, np.ndarray]:
        """Work arrays reused across calls: fresh multi-MB arrays would cost a page fault per
        4 KiB on every signature (measured: 2-3x slower). Not thread-safe, like the class."""
        if self._work is None:
            self._work = (np.empty(self.num_perm * _CHUNK, dtype=np.uint64),
                          np.empty(self.num_perm * _CHUNK, dtype=np.uint64))
        return self._work

    def hash_shingles(self, items: Iterable[str]) -> np.ndarray:
        """One seeded xxh64 of each shingle's UTF-8 bytes (uint64)."""
        digest = xxhash.xxh64_intdigest
        seed = self.seed
        return np.fromiter((digest(s.encode("utf-8"), seed) for s in items), dtype=np.uint64)

    def signature(self, items: Iterable[str]) -> np.ndarray:
        """The num_perm minimum permuted hashes (uint64); all MAX_HASH for no shingles."""
        hashes = self.hash_shingles(items)
        sig = np.full(self.num_perm, MAX_HASH, dtype=np.uint64)
        if hashes.size == 0:
            return sig
        block, scratch = self._buffers()
        for start in range(0, hashes.size, _CHUNK):
            chunk = hashes[None, start:start + _CHUNK]
            cols = chunk.shape[1]
            # Contiguous (num_perm x cols) views of the flat buffers: strided views are slower.
            size = self.num_perm * cols
            out = block[:size].reshape(self.num_perm, cols)
            tmp = scratch[:size].reshape(self.num_perm, cols)
            np.multiply(self._a, chunk, out=out)  # wraps mod 2^64, as in datasketch
            np.add(out, self._b, out=out)
            _mod_mersenne(out, tmp)
            np.bitwise_and(out, MAX_HASH, out=out)
            np.minimum(sig, out.min(axis=1), out=sig)
        return sig

    def text_signature(self, text: str, language: str | None, ngram: int = 5) -> np.ndarray:
        return self.signature(shingles(text, language, ngram))


def jaccard_estimate(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of equal signature values: an unbiased estimate of the Jaccard similarity."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"signatures differ in length: {a.shape} vs {b.shape}")
    return float(np.count_nonzero(a == b)) / a.size


def jaccard(a: set, b: set) -> float:
    """True Jaccard similarity of two shingle sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
