# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""MinHash's per-document work in C (setup.py builds it; minhash.py keeps numpy otherwise).

min_products: numpy computes the (permutations x shingles) products into a buffer and then takes
each row's minimum: two passes over memory and a call per chunk. Here each permutation's minimum
is kept in registers while its multiplier runs over the shingle hashes once. The arithmetic is
the same (uint64 products wrapping mod 2^64, then the top 32 bits of the minimum); 2.5x faster
on real pages (0.094 -> 0.038 ms for 112 permutations of a page's ~800 shingles). Where the
CPU has AVX-512F/DQ, minima_simd.h's loop (chosen at run time) takes 8 products at a time:
25.4 -> 7.3 us for those 800 shingles.

text_hashes / text_minima: minhash.shingle_hashes from the raw text. One pass folds each code
point through minhash._folding() (no NFKC or lower() copies of the text; unicodedata folds the
rare page the table cannot) into units, a second runs the polynomial prefix, then each shingle
is two prefix values and a power: no numpy temporaries. text_minima adds min_products's loop.
Hashes and signatures are identical to the numpy path (tests/pipeline/dedup/test_minhash.py).
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

from unicodedata import normalize

import numpy as np

cdef uint64_t ALL_ONES = 0xFFFFFFFFFFFFFFFF

cdef extern from "minima_simd.h":
    int il_simd_ready() noexcept nogil
    void il_minima_simd(const uint64_t *multipliers, Py_ssize_t m, const uint64_t *hashes, Py_ssize_t n,
                        uint64_t *lowest) noexcept nogil

# Whether minima may take the AVX-512 loop (tests turn it off to compare the two).
cdef bint use_simd = True


def simd(enabled=None):
    """Whether ``minima`` runs its AVX-512 loop (this CPU has AVX-512F/DQ and it is enabled);
    ``enabled`` turns it on or off first."""
    global use_simd
    if enabled is not None:
        use_simd = enabled
    return bool(use_simd and il_simd_ready())


cdef void minima(const uint64_t *multipliers, Py_ssize_t m, const uint64_t *hashes, Py_ssize_t n,
                 uint64_t *lowest) noexcept nogil:
    """For each multiplier ``a``: ``min(a * h mod 2^64 for h in hashes) >> 32`` (2^32 - 1 for
    no hashes). The AVX-512 loop (minima_simd.h) where the CPU has it: 4x fewer cycles."""
    cdef Py_ssize_t p, j
    cdef uint64_t a, v0, v1, v2, v3, b0, b1, b2, b3
    if n >= 8 and use_simd and il_simd_ready():
        il_minima_simd(multipliers, m, hashes, n, lowest)
        return
    for p in range(m):
        a = multipliers[p]
        b0 = b1 = b2 = b3 = ALL_ONES
        j = 0
        while j + 4 <= n:  # four running minima: no single dependency chain through the loop
            v0 = a * hashes[j]
            v1 = a * hashes[j + 1]
            v2 = a * hashes[j + 2]
            v3 = a * hashes[j + 3]
            if v0 < b0:
                b0 = v0
            if v1 < b1:
                b1 = v1
            if v2 < b2:
                b2 = v2
            if v3 < b3:
                b3 = v3
            j += 4
        while j < n:
            v0 = a * hashes[j]
            if v0 < b0:
                b0 = v0
            j += 1
        if b1 < b0:
            b0 = b1
        if b3 < b2:
            b2 = b3
        if b2 < b0:
            b0 = b2
        lowest[p] = b0 >> 32


def min_products(const uint64_t[::1] multipliers, const uint64_t[::1] hashes):
    """For each multiplier ``a``: ``min(a * h mod 2^64 for h in hashes) >> 32`` (uint64 array)."""
    out = np.empty(multipliers.shape[0], dtype=np.uint64)
    cdef uint64_t[::1] lowest = out
    if lowest.shape[0]:
        minima(&multipliers[0], multipliers.shape[0], &hashes[0] if hashes.shape[0] else NULL,
               hashes.shape[0], &lowest[0])
    return out


# -- a text's shingle hashes (minhash.shingle_hashes) -----------------------------------------

cdef uint8_t SEPARATOR = 1, CJK_CHAR = 2  # minhash._SEPARATOR, _CJK_CHAR
cdef uint32_t FOLD_USABLE = 0x80000000, FOLD_CODE = 0x1FFFFF  # minhash._folding()'s entries
cdef uint64_t BASE = 0x9E3779B97F4A7C15  # minhash._BASE
cdef uint64_t FMIX1 = 0xFF51AFD7ED558CCD, FMIX2 = 0xC4CEB9FE1A85EC53


cdef inline uint64_t fmix64(uint64_t h) noexcept nogil:
    h ^= h >> 33
    h *= FMIX1
    h ^= h >> 33
    h *= FMIX2
    return h ^ (h >> 33)


cdef Py_ssize_t fold_units(str text, const uint32_t *folding, Py_ssize_t folding_size,
                           const uint8_t *classes, uint32_t *units, Py_ssize_t *counts):
    """minhash._units into ``units`` (room for len(text)): its length, with the letters and CJK
    characters in ``counts``. With ``folding`` (minhash._folding()) the text is raw and folded
    here code point by code point; -1 when it holds one the table cannot fold alone. Without,
    the text is already NFKC-lower-cased and ``classes`` is minhash._classes()."""
    cdef unsigned int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t size = len(text), m = 0, letters = 0, cjk = 0, i
    cdef Py_UCS4 cp
    cdef uint32_t entry
    cdef uint8_t cls
    cdef bint after_word = False
    for i in range(size):
        cp = PyUnicode_READ(kind, data, i)
        if folding != NULL:
            if cp >= folding_size:
                return -1
            entry = folding[cp]
            if not entry & FOLD_USABLE:
                return -1
            cp = entry & FOLD_CODE
            cls = (entry >> 24) & 3
        else:
            cls = classes[cp]
        # Separators become one space after a word, none at either end.
        if cls == SEPARATOR:
            if after_word:
                units[m] = 32
                m += 1
            after_word = False
        else:
            units[m] = cp
            m += 1
            letters += 1
            cjk += cls == CJK_CHAR
            after_word = True
    if m and units[m - 1] == 32:
        m -= 1
    counts[0] = letters
    counts[1] = cjk
    return m


cdef Py_ssize_t hash_units(const uint32_t *units, Py_ssize_t m, Py_ssize_t letters, bint cjk,
                           Py_ssize_t ngram, uint64_t *scratch, uint64_t *out) noexcept nogil:
    """Write the shingle hashes of the units to ``out`` (room for max(m, 1)) and return how
    many: minhash._numpy_shingle_hashes's values in its order. ``scratch`` has room for
    3 * (m + 1) values.

    A polynomial hash mod 2^64 of the span's terms (code point + 1), first term highest:
    with the running prefix Q[i] = Q[i-1] * B + term, a span's hash is Q[end] - Q[start] *
    B^(end-start), the same ring element as numpy's B^(end-1) * (sum of term_k * B^-k).
    """
    cdef uint64_t *prefix = scratch
    cdef uint64_t *powers = scratch + m + 1  # B^k, filled up to the longest span met
    cdef Py_ssize_t *bounds = <Py_ssize_t *> (powers + m + 1)
    cdef Py_ssize_t i, k, n = 0, words = 1, known = 1, first, length
    cdef uint64_t q = 0, bn
    if letters == 0:
        return 0
    prefix[0] = 0
    powers[0] = 1
    if cjk:
        # Character n-grams over the text without its spaces.
        for i in range(m):
            if units[i] != 32:
                q = q * BASE + units[i] + 1
                n += 1
                prefix[n] = q
        if n <= ngram:
            out[0] = fmix64(q)
            return 1
        bn = 1
        for i in range(ngram):
            bn *= BASE
        for k in range(n - ngram + 1):
            out[k] = fmix64(prefix[k + ngram] - prefix[k] * bn)
        return n - ngram + 1
    # Word n-grams: bounds holds each word's start, then m + 1, so word j is
    # units[bounds[j]:bounds[j + 1] - 1].
    bounds[0] = 0
    for i in range(m):
        if units[i] == 32:
            bounds[words] = i + 1
            words += 1
        q = q * BASE + units[i] + 1
        prefix[i + 1] = q
    bounds[words] = m + 1
    if words <= ngram:
        out[0] = fmix64(q)
        return 1
    for k in range(words - ngram + 1):
        first = bounds[k]
        length = bounds[k + ngram] - 1 - first
        while known <= length:
            powers[known] = powers[known - 1] * BASE
            known += 1
        out[k] = fmix64(prefix[first + length] - prefix[first] * powers[length])
    return words - ngram + 1


cdef Py_ssize_t text_hashes_into(str text, const uint32_t[::1] folding, const uint8_t[::1] classes,
                                 bint labelled, Py_ssize_t ngram, uint64_t **hashes) except -1:
    """The shingle hashes of the raw ``text``, in a PyMem block at ``*hashes`` that the caller
    frees, and how many. Folded through ``folding`` when it can be, else by unicodedata."""
    cdef Py_ssize_t counts[2]
    cdef Py_ssize_t m
    cdef uint32_t *units = <uint32_t *> PyMem_Malloc(max(len(text), 1) * 4)
    cdef uint64_t *block
    if units == NULL:
        raise MemoryError()
    try:
        m = fold_units(text, &folding[0], folding.shape[0], NULL, units, counts)
        if m < 0:
            text = normalize("NFKC", text).lower()
            PyMem_Free(units)
            units = <uint32_t *> PyMem_Malloc(max(len(text), 1) * 4)
            if units == NULL:
                raise MemoryError()
            m = fold_units(text, NULL, 0, &classes[0], units, counts)
        # The hashes first (the block the caller frees), then hash_units's scratch.
        block = <uint64_t *> PyMem_Malloc((4 * (m + 1)) * 8)
        if block == NULL:
            raise MemoryError()
        hashes[0] = block
        # minhash._cjk_by_counts, with the label's part of the test done by the caller.
        return hash_units(units, m, counts[0],
                          counts[1] * 2 > counts[0] or (labelled and counts[1] * 5 >= counts[0]),
                          ngram, block + m + 1, block)
    finally:
        PyMem_Free(units)


def text_hashes(str text, const uint32_t[::1] folding, const uint8_t[::1] classes, bint labelled,
                Py_ssize_t ngram):
    """minhash.shingle_hashes of ``text`` (not None): ``folding`` is minhash._folding(),
    ``classes`` minhash._classes(), ``labelled`` whether the language label is Chinese or
    Japanese; ngram >= 1."""
    cdef uint64_t *hashes = NULL
    cdef Py_ssize_t n = text_hashes_into(text, folding, classes, labelled, ngram, &hashes)
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] view = out
    if n:
        memcpy(&view[0], hashes, n * 8)
    PyMem_Free(hashes)
    return out


def text_minima(str text, const uint32_t[::1] folding, const uint8_t[::1] classes, bint labelled,
                Py_ssize_t ngram, const uint64_t[::1] multipliers):
    """min_products(multipliers, text_hashes(...)): all 2^32 - 1 for a text without shingles."""
    cdef uint64_t *hashes = NULL
    cdef Py_ssize_t n = text_hashes_into(text, folding, classes, labelled, ngram, &hashes)
    out = np.empty(multipliers.shape[0], dtype=np.uint64)
    cdef uint64_t[::1] lowest = out
    minima(&multipliers[0], multipliers.shape[0], hashes, n, &lowest[0])
    PyMem_Free(hashes)
    return out
