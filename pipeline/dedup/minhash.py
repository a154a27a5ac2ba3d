"""Shingling and MinHash signatures for near-duplicate detection.

Per document, minhash_native (built by setup.py) folds, splits and hashes the text in one C
pass and takes the minima in the same call; the numpy code below is its reference (same hashes
in the same order, tests/pipeline/dedup/test_minhash.py) and the path when it is not built.
It folds NFKC + lower() code point by code point through ``_folding()`` where that is exact
(97% of pages), else through unicodedata. numpy vectorises over the normalised text's code points:

* Shingle hash: a polynomial hash of the shingle's code points mod 2^64 (base ``_BASE``),
  then murmur3's fmix64 finaliser. With prefix sums of ``c_k * B^-k`` every shingle's hash is
  ``B^(end-1) * (prefix[end] - prefix[start])``, so no shingle string is ever built; it is the
  same value as hashing the joined shingle string (``hash_shingles``), so
  ``signature(shingles(t)) == text_signature(t)`` and both entry points agree. Duplicated
  shingles are kept: the minimum over a multiset is the minimum over its set.
  Mod 2^64 a crafted Thue-Morse string of 2048+ characters can collide; that costs one false
  shared shingle for such a page, nothing more.
* Permutations: multiply-shift, ``(a * h mod 2^64) >> 32`` with a random odd 64-bit ``a`` per
  permutation (Dietzfelbinger et al.). The shift is monotone, so it is applied once to the
  minima: one multiply-compare per (permutation x shingle) in C (minhash_native.pyx; else two
  numpy passes) instead of datasketch's nine-step
  ``((a * h + b) mod 2^64) mod (2^61 - 1)``, and on real pages the estimates are as close to the
  true Jaccard (error spread equal to the binomial sqrt(J(1-J)/num_perm) for both).
  Values are < 2^32, so they fit a signed int64 (Spark bigint) unchanged.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

try:
    from pipeline.dedup.minhash_native import min_products, text_hashes, text_minima
except ImportError:  # not built (no C compiler): numpy computes the hashes and minima
    min_products = text_hashes = text_minima = None

# datasketch's _max_hash: the signature of an empty document is all MAX_HASH.
MAX_HASH = np.uint64((1 << 32) - 1)
_SHIFT32 = np.uint64(32)
CJK_LANGUAGES = frozenset({"zh", "ja"})
# Columns of the (num_perm x shingles) block per step: one work array of num_perm * 8 KiB,
# 0.9 MiB for 112 permutations, inside L2 (measured: 512-4096 within 5%, 256 10% slower).
_CHUNK = 1024

# Han and kana (first, last) code points: spot Chinese/Japanese text that is mislabelled (a
# zh page tagged "en" would otherwise give a handful of giant "words").
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
               (0xFF66, 0xFF9F), (0x20000, 0x2A6DF), (0x2A700, 0x2EBEF))
_CJK = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in _CJK_RANGES) + "]")

# Code point classes in _classes() (0: anything else).
_SEPARATOR, _CJK_CHAR = 1, 2
# Unicode has no punctuation or whitespace above plane 1 (2-3: ideographs, 14: tags, 15-16:
# private use), so the category scan stops there: ~25 ms instead of ~0.15 s for all 1.1M.
# test_separators_match_unicodedata checks this against the full range.
_SCANNED = 0x20000
_SPACE = 32
# Below this many characters str.translate beats the numpy path's fixed cost (paragraphs).
_SHORT = 256

# Polynomial base (odd, so invertible mod 2^64) and fmix64's multipliers.
_BASE = 0x9E3779B97F4A7C15
_BASE_INV = pow(_BASE, -1, 1 << 64)
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT33 = np.uint64(33)


@lru_cache(maxsize=1)
def _classes() -> np.ndarray:
    """Class of every code point (uint8): separator (punctuation P* or whitespace ``\\s``),
    CJK (Han/kana, not a separator) or other. Built once per process."""
    chars = "".join(map(chr, range(_SCANNED)))
    categories = np.frombuffer("".join(map(unicodedata.category, chars)).encode("ascii"), np.uint8)
    classes = np.zeros(sys.maxunicode + 1, dtype=np.uint8)
    for first, last in _CJK_RANGES:
        classes[first:last + 1] = _CJK_CHAR
    classes[:_SCANNED][categories[::2] == ord("P")] = _SEPARATOR  # "Pd", "Po", ...: every 2nd byte
    classes[[m.start() for m in re.finditer(r"\s", chars)]] = _SEPARATOR
    return classes


# _folding()'s entries: the folded code point, its class << _FOLD_CLASS, and _FOLD_USABLE.
_FOLD_CLASS = 24
_FOLD_USABLE = 1 << 31
_SIGMA = 0x3A3  # lower() gives "ς" or "σ" by its neighbours


@lru_cache(maxsize=1)
def _folding() -> np.ndarray:
    """What each code point below _SCANNED folds to (NFKC, then lower()) on its own, where a
    text made only of usable code points folds as the concatenation of theirs (uint32:
    code point | class << _FOLD_CLASS | _FOLD_USABLE; 0 where not usable, and a text with such a
    code point is folded by unicodedata). minhash_native folds 97% of pages with it. Usable:

    * stable: combining class 0, its own NFKC, not the second of a canonical pair (those are
      NFKC_QC=Maybe). By UAX #15's quick check a text of these is NFKC already.
    * or its NFKD is combining class 0 only and its NFKC is stable only (NBSP, "…", "，",
      "Ａ", "ﬁ"): swapping it for its NFKC keeps the text's NFKD and leaves a stable text,
      which is then its NFKC.

    lower() must give one code point and not depend on the neighbours (Σ). A code point whose
    NFKC is only separators counts as one separator: any run of them is one space.
    Built once per process (~40 ms); test_folding_table_* check it.
    """
    classes = _classes()
    chars = [chr(cp) for cp in range(_SCANNED)]
    decomposed = np.array([bool(d) for d in map(unicodedata.decomposition, chars)])
    combining = np.array(list(map(unicodedata.combining, chars))) != 0
    # Second characters of canonical pairs, and Hangul's vowel and trailing jamo (the
    # algorithmic syllables are not in the decomposition data).
    seconds = np.zeros(_SCANNED, dtype=bool)
    seconds[0x1161:0x1176] = seconds[0x11A8:0x11C3] = True
    for cp in np.flatnonzero(decomposed).tolist():
        mapping = unicodedata.decomposition(chars[cp])
        if not mapping.startswith("<") and len(mapping.split()) == 2:
            seconds[int(mapping.split()[1], 16)] = True
    # Without a decomposition a character is its own NFKC (it composes with what precedes
    # it only as a second).
    stable = ~decomposed & ~combining & ~seconds
    mapped: dict[int, str] = {}  # the usable decomposed characters' NFKC
    for cp in np.flatnonzero(decomposed & ~combining & ~seconds).tolist():
        stable[cp] = unicodedata.normalize("NFKC", chars[cp]) == chars[cp]
    stable[_SIGMA] = False
    for cp in np.flatnonzero(decomposed & ~stable).tolist():
        nfkc = unicodedata.normalize("NFKC", chars[cp])
        if (not any(map(unicodedata.combining, unicodedata.normalize("NFKD", chars[cp])))
                and all(ord(c) < _SCANNED and stable[ord(c)] for c in nfkc)):
            mapped[cp] = nfkc
    lowers = list(map(str.lower, chars))
    table = np.zeros(_SCANNED, dtype=np.uint32)
    single = np.array([len(lower) == 1 for lower in lowers])
    usable = np.flatnonzero(stable & single)
    folded = np.array([ord(lowers[cp]) for cp in usable.tolist()], dtype=np.uint32)
    table[usable] = _FOLD_USABLE | classes[folded].astype(np.uint32) << _FOLD_CLASS | folded
    table[usable[classes[folded] == _SEPARATOR]] = _FOLD_USABLE | _SEPARATOR << _FOLD_CLASS | _SPACE
    for cp, nfkc in mapped.items():
        lower = nfkc.lower()
        if all(classes[ord(c)] == _SEPARATOR for c in nfkc + lower):
            table[cp] = _FOLD_USABLE | _SEPARATOR << _FOLD_CLASS | _SPACE
        elif len(lower) == 1:
            table[cp] = _FOLD_USABLE | int(classes[ord(lower)]) << _FOLD_CLASS | ord(lower)
    return table


@lru_cache(maxsize=1)
def _separator_map() -> dict[int, str]:
    """str.translate table: every separator code point → space (for short texts)."""
    return dict.fromkeys(np.flatnonzero(_classes() == _SEPARATOR).tolist(), " ")


def _codepoints(text: str) -> np.ndarray:
    # surrogatepass: lone surrogates (from lenient decoding) are code points like any other.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _units(folded: str) -> tuple[np.ndarray, int]:
    """Code points (uint32) of ``normalize`` from NFKC-lower-cased text, and its CJK count."""
    cps = _codepoints(folded)
    classes = _classes()[cps]
    separator = classes == _SEPARATOR
    word = ~separator
    keep = word.copy()
    keep[1:] |= word[:-1]  # the first separator after a word stands for the whole run
    units = np.where(separator, np.uint32(_SPACE), cps)[keep]
    if units.size and units[-1] == _SPACE:
        units = units[:-1]
    return units, int(np.count_nonzero(classes == _CJK_CHAR))


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation removed, whitespace collapsed to single spaces."""
    folded = unicodedata.normalize("NFKC", text).lower()
    if len(folded) < _SHORT:
        return " ".join(folded.translate(_separator_map()).split())
    return _units(folded)[0].tobytes().decode("utf-32-le", "surrogatepass")


@lru_cache(maxsize=1024)
def _cjk_label(language: str | None) -> bool:
    """The label names Chinese or Japanese ("zh", "zh-Hans", "ja_JP"); cached, since a run
    sees a few hundred labels at most."""
    return bool(language) and re.split(r"[-_]", language.lower(), maxsplit=1)[0] in CJK_LANGUAGES


def _cjk_by_counts(letters: int, cjk: int, language: str | None) -> bool:
    if letters == 0:
        return False
    if cjk * 2 > letters:
        return True
    return _cjk_label(language) and cjk * 5 >= letters


def is_cjk(text: str, language: str | None = None) -> bool:
    """Chinese/Japanese by content (most non-space characters CJK), or by label when the
    text has a real share of CJK characters. The label alone is not trusted: language id
    can call odd Latin text "zh", and character n-grams would then miss its word copies."""
    return _cjk_by_counts(len(text) - text.count(" "), len(_CJK.findall(text)), language)


def shingles(text: str, language: str | None, ngram: int = 5) -> set[str]:
    """Word n-grams, or character n-grams for CJK (no spaces between words there).

    A text shorter than ``ngram`` units gives one shingle of the whole (normalised) text;
    an empty text gives no shingles. ``shingle_hashes`` is the same set, hashed, without strings.
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


_POWERS: tuple[np.ndarray, np.ndarray] = (np.ones(1, np.uint64), np.ones(1, np.uint64))
# Powers kept per process (16 bytes each): a longer text gets arrays of its own, freed after
# it, so one huge page does not pin its size in a worker's memory for the rest of the run.
POWERS_KEPT = 1 << 20


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(B^k, B^-k) mod 2^64 for k < at least ``size``; grown by doubling up to POWERS_KEPT
    and kept per process."""
    global _POWERS
    up, down = _POWERS
    if up.size >= size:
        return up, down
    size = max(size, min(2 * up.size, POWERS_KEPT))
    factors = np.full(size, _BASE, dtype=np.uint64)
    factors[0] = 1
    up = np.cumprod(factors)  # integer products wrap mod 2^64
    factors.fill(_BASE_INV)
    factors[0] = 1
    down = np.cumprod(factors)
    if size <= POWERS_KEPT:
        _POWERS = (up, down)
    return up, down


def _span_hashes(units: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Hash of each span ``units[start:end]`` (uint64): polynomial mod 2^64, then fmix64."""
    up, down = _powers(units.size + 1)
    prefix = np.zeros(units.size + 1, dtype=np.uint64)
    terms = units.astype(np.uint64)
    terms += np.uint64(1)  # no code point counts as zero: "\0a" and "a" differ
    terms *= down[:units.size]
    np.cumsum(terms, out=prefix[1:])
    h = prefix[ends]
    h -= prefix[starts]
    h *= up[ends - 1]  # an empty span (end 0) picks up[-1], times 0
    h ^= h >> _SHIFT33
    h *= _FMIX1
    h ^= h >> _SHIFT33
    h *= _FMIX2
    h ^= h >> _SHIFT33
    return h


def hash_shingles(items: Iterable[str]) -> np.ndarray:
    """The shingle hash (uint64) of each given string, as ``shingle_hashes`` computes it."""
    items = list(items)
    if not items:
        return np.empty(0, dtype=np.uint64)
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    ends = np.cumsum(lengths)
    return _span_hashes(_codepoints("".join(items)), ends - lengths, ends)


def _fold(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def shingle_hashes(text: str, language: str | None, ngram: int = 5) -> np.ndarray:
    """The hash of every shingle of ``shingles(text, language, ngram)``, repeats included
    (uint64): no shingle strings, no set. Empty for a text with no shingles."""
    if text_hashes is None or ngram < 1:
        return _numpy_shingle_hashes(text, language, ngram)
    return text_hashes(text or "", _folding(), _classes(), _cjk_label(language), ngram)


def _numpy_shingle_hashes(text: str, language: str | None, ngram: int) -> np.ndarray:
    """shingle_hashes in numpy: the reference for minhash_native.text_hashes (same values in
    the same order), and the path when it is not built."""
    units, cjk = _units(_fold(text))
    if units.size == 0:
        return np.empty(0, dtype=np.uint64)
    spaces = np.flatnonzero(units == _SPACE)
    if _cjk_by_counts(units.size - spaces.size, cjk, language):
        units = units[units != _SPACE]
        starts = np.arange(max(units.size - ngram, 0) + 1)
        ends = np.minimum(starts + ngram, units.size)
    else:
        word_starts = np.empty(spaces.size + 1, dtype=np.intp)
        word_starts[0] = 0
        word_starts[1:] = spaces + 1
        word_ends = np.append(spaces, units.size)
        words = word_starts.size
        # A text of <= ngram words is one shingle: its first start and its last end.
        starts = word_starts[:max(words - ngram, 0) + 1]
        ends = word_ends[min(ngram, words) - 1:]
    return _span_hashes(units, starts, ends)


class MinHasher:
    """MinHash signatures with ``num_perm`` permutations; deterministic for a given seed.

    One instance per thread (it reuses its work array); build it once per worker.
    """

    def __init__(self, num_perm: int = 112, seed: int = 1) -> None:
        if num_perm < 1:
            raise ValueError(f"num_perm must be >= 1, got {num_perm}")
        self.num_perm = num_perm
        self.seed = seed
        rng = np.random.RandomState(seed)
        # Odd multipliers: multiplication by an odd number is a bijection mod 2^64.
        self._multipliers = rng.randint(0, 1 << 63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._a = self._multipliers[:, None]  # a column, for numpy's (permutations x shingles) products
        self._work: np.ndarray | None = None

    def _buffer(self) -> np.ndarray:
        """Work array reused across calls: a fresh ~1 MB array would cost a page fault per
        4 KiB on every signature (measured: 2-3x slower). Not thread-safe, like the class."""
        if self._work is None:
            self._work = np.empty(self.num_perm * _CHUNK, dtype=np.uint64)
        return self._work

    def hash_signature(self, hashes: np.ndarray) -> np.ndarray:
        """The num_perm minimum permuted shingle hashes (uint64 < 2^32); all MAX_HASH for none."""
        if hashes.size == 0:
            return np.full(self.num_perm, MAX_HASH, dtype=np.uint64)
        if min_products is not None:
            return min_products(self._multipliers, np.ascontiguousarray(hashes, dtype=np.uint64))
        return self._numpy_signature(hashes)

    def _numpy_signature(self, hashes: np.ndarray) -> np.ndarray:
        lowest = np.full(self.num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
        block = self._buffer()
        for start in range(0, hashes.size, _CHUNK):
            chunk = hashes[None, start:start + _CHUNK]
            # A contiguous (num_perm x cols) view of the flat buffer: strided views are slower.
            out = block[:self.num_perm * chunk.shape[1]].reshape(self.num_perm, chunk.shape[1])
            np.multiply(self._a, chunk, out=out)  # wraps mod 2^64
            np.minimum(lowest, out.min(axis=1), out=lowest)
        return lowest >> _SHIFT32  # the top 32 bits of the minimum are the minimum top 32 bits

    def signature(self, items: Iterable[str]) -> np.ndarray:
        """Signature of the given shingle strings (e.g. ``shingles(...)``)."""
        return self.hash_signature(hash_shingles(items))

    def text_signature(self, text: str, language: str | None, ngram: int = 5) -> np.ndarray:
        """``signature(shingles(text, language, ngram))``, without building the shingles."""
        if text_minima is None or ngram < 1:
            return self.hash_signature(_numpy_shingle_hashes(text, language, ngram))
        # Units, hashes and minima in one C call: no numpy temporaries per document.
        return text_minima(text or "", _folding(), _classes(), _cjk_label(language), ngram,
                           self._multipliers)


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
