# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""MinHasher.hash_signature's loop in C (setup.py builds it; minhash.py keeps numpy otherwise).

numpy computes the (permutations x shingles) products into a buffer and then takes each row's
minimum: two passes over memory and a call per chunk. Here each permutation's minimum is kept
in registers while its multiplier runs over the shingle hashes once. The arithmetic is the same
(uint64 products wrapping mod 2^64, then the top 32 bits of the minimum), so signatures are
identical (tests/pipeline/dedup/test_minhash.py compares them); 2.5x faster on real pages
(0.094 -> 0.038 ms for 112 permutations of a page's ~800 shingles).
"""

from libc.stdint cimport uint64_t

import numpy as np

cdef uint64_t ALL_ONES = 0xFFFFFFFFFFFFFFFF


def min_products(const uint64_t[::1] multipliers, const uint64_t[::1] hashes):
    """For each multiplier ``a``: ``min(a * h mod 2^64 for h in hashes) >> 32`` (uint64 array)."""
    cdef Py_ssize_t p, j, n = hashes.shape[0], m = multipliers.shape[0]
    cdef uint64_t a, v0, v1, v2, v3, b0, b1, b2, b3
    out = np.empty(m, dtype=np.uint64)
    cdef uint64_t[::1] lowest = out
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
    return out
