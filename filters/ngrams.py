"""Repetition measures over token and character n-grams, vectorised with numpy.

The quality filters measure repetition many times per document (OBELICS character and word
repetition per paragraph and per document, Gopher's top and duplicated n-gram fractions for
n = 2..10). Doing that with Python string slices and Counters costs milliseconds per
document; here each sequence becomes an array of 64-bit ids, n-grams become polynomial
hashes (a 64-bit collision merely merges two n-grams' counts: negligible at these sizes), and
counting is one sort. Paragraph-level measures run for all paragraphs of a document at once:
n-grams are keyed by (hash, paragraph) and never span two paragraphs, and the same sort gives
the whole document's measures. Ids are deterministic (code points, or first-occurrence order
of tokens), so results never depend on the process.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

try:
    import cython
except ImportError:  # running uncompiled without Cython installed
    from pipeline.cython_shim import cython

# setup.py compiles this module when it can (Cython pure-Python mode): the keys of
# ``sized_repetition`` (one pass from the ids), the sort (a bucket sort on the top hash bits),
# the counting after it (``_sorted_repetition``) and Gopher's n-gram loop (``_gopher_fractions``)
# are then C loops instead of dozens of small numpy calls per document, with the same results
# (tests/filters/test_compiled.py). ``COMPILED`` says which one runs.
COMPILED: bool = cython.compiled

_MUL = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants: spread small ids over 64 bits
_BASE = np.uint64(0xC2B2AE3D27D4EB4F)
# Repetition keys: the top 40 bits of an n-gram's hash (collisions stay negligible for the
# n-grams of one document), then 24 bits for its group, or _SPANNING for an n-gram that
# spans two groups (it counts for the whole sequence only).
_HASH_PART = np.uint64(0xFFFFFFFFFF000000)
_GROUP_PART = np.uint64(0xFFFFFF)
_SPANNING = (1 << 24) - 1


def _mix(ids: np.ndarray) -> np.ndarray:
    x = ids.astype(np.uint64, copy=False) * _MUL
    return x ^ (x >> np.uint64(29))


def ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """Hash of every n-gram of ``ids`` (length ``len(ids) - n + 1``, or 0): the hashes of
    ``iter_ngram_hashes`` in O(log n) array passes. A hash is the polynomial
    sum(mixed[i + j] * BASE ** (n - 1 - j)) mod 2**64, so the hash of an (a + b)-gram is
    ``h_a[i] * BASE ** b + h_b[i + a]``: double k, and add one gram where n's bits say."""
    if len(ids) < n:
        return np.empty(0, dtype=np.uint64)
    if cython.compiled and n >= 1:
        return _rolling_hashes(np.ascontiguousarray(ids, dtype=np.uint64), n)
    mixed = _mix(ids)
    h, k = mixed, 1  # hashes of the k-grams
    with np.errstate(over="ignore"):
        for bit in bin(n)[3:]:  # n's bits after the leading 1
            h = h[: len(h) - k] * np.uint64(pow(int(_BASE), k, 1 << 64)) + h[k:]
            k *= 2
            if bit == "1":
                h = h[:-1] * _BASE + mixed[k:]
                k += 1
    return h


def iter_ngram_hashes(ids: np.ndarray, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
    """(n, hashes of all n-grams) for n = first..last, each built from the previous one."""
    mixed = _mix(ids)
    h = mixed.copy()
    with np.errstate(over="ignore"):
        for n in range(1, last + 1):
            m = len(ids) - n + 1
            if m <= 0:
                return
            if n > 1:
                h = h[:m] * _BASE + mixed[n - 1 : n - 1 + m]
            if n >= first:
                yield n, h


def token_ids(tokens: list[str]) -> np.ndarray:
    """Ids of tokens in first-occurrence order. Not Python's ``hash``: it is salted per
    process, so a (rare) n-gram hash collision would differ between runs, and so would output."""
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    return np.fromiter(map(vocab.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def char_ids(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and their counts (np.unique without its overhead)."""
    if not len(sorted_keys):
        return sorted_keys, np.empty(0, dtype=np.int64)
    edge = np.empty(len(sorted_keys) + 1, dtype=bool)  # a run starts (or the array ends) here
    edge[0] = edge[-1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=edge[1:-1])
    edges = np.flatnonzero(edge)
    return sorted_keys[edges[:-1]], edges[1:] - edges[:-1]


def repetition(ids: np.ndarray, groups: np.ndarray, n_groups: int, n: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """(OBELICS character repetition, OBELICS word repetition) of n-grams, per group.

    Character repetition: of a group's distinct n-grams, the k most frequent (k =
    floor(sqrt(distinct)), at most the number repeated) carry this share of all occurrences.
    Word repetition: the share of occurrences whose n-gram occurs more than once.
    """
    return repetition_of(ngram_hashes(ids, n), groups, n_groups, n)


def repetition_of(h: np.ndarray, groups: np.ndarray, n_groups: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``repetition`` from the n-gram hashes (computed once for several groupings)."""
    char_rep, word_rep, _, _ = grouped_and_whole_repetition(h, groups, n_groups, n)
    return char_rep, word_rep


def grouped_and_whole_repetition(h: np.ndarray, groups: np.ndarray, n_groups: int, n: int
                                 ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(char repetition per group, word repetition per group, char repetition of the whole
    sequence, word repetition of the whole sequence) from one sort of the n-gram hashes.
    The whole sequence counts every n-gram, also those spanning two groups."""
    char_rep, word_rep = np.zeros(n_groups), np.zeros(n_groups)
    if not len(h):
        return char_rep, word_rep, 0.0, 0.0
    assert n_groups < _SPANNING
    if cython.compiled and len(groups) >= len(h) + n - 1:  # (C loops: no index checks)
        keys, group_sizes = _repetition_keys(np.ascontiguousarray(h), np.ascontiguousarray(groups, dtype=np.int64),
                                             n, n_groups)
        return _sorted_repetition(sort_hashes(keys), n_groups, char_rep, word_rep, group_sizes)
    first, last = groups[: len(h)], groups[n - 1 : n - 1 + len(h)]  # groups of each n-gram's ends
    group_part = np.where(first == last, first, _SPANNING).astype(np.uint64)
    keys = np.sort((h & _HASH_PART) | group_part)  # by hash, then group
    hashes = keys >> np.uint64(24)
    if not (hashes[1:] == hashes[:-1]).any():  # no n-gram repeats at all (often so for words)
        return char_rep, word_rep, 0.0, 0.0
    whole_char, whole_word = _whole_repetition(_runs(hashes)[1], len(h))
    pairs, counts = _runs(keys[(keys & _GROUP_PART) != _SPANNING])  # (hash, group) pairs
    g = (pairs & _GROUP_PART).astype(np.int64)
    total = np.bincount(g, weights=counts, minlength=n_groups)
    distinct = np.bincount(g, minlength=n_groups)
    rep = counts > 1
    rg, rc = g[rep], counts[rep]  # only repeated n-grams can be among the top k
    if len(rc):
        np.divide(np.bincount(rg, weights=rc, minlength=n_groups), total, out=word_rep, where=total > 0)
        k = np.minimum(np.floor(np.sqrt(distinct)).astype(np.int64), np.bincount(rg, minlength=n_groups))
        order = np.lexsort((-rc, rg))  # by group, most frequent first
        rg, rc = rg[order], rc[order]
        starts = np.concatenate([[0], np.cumsum(np.bincount(rg, minlength=n_groups))[:-1]])
        rank = np.arange(len(rg)) - starts[rg]
        top = np.bincount(rg, weights=np.where(rank < k[rg], rc, 0), minlength=n_groups)
        np.divide(top, total, out=char_rep, where=total > 0)
    return char_rep, word_rep, whole_char, whole_word


def sized_repetition(ids: np.ndarray, sizes: list[int], n: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``grouped_and_whole_repetition`` of the n-grams of ``ids``, whose groups are runs of
    ``sizes`` ids, one after the other (paragraphs). Compiled, the ids go to sort keys in one
    C pass (``_sized_keys``: no group array, hash array or key array in between)."""
    n_groups = len(sizes)
    assert n >= 1 and sum(sizes) == len(ids)
    if not cython.compiled:
        groups = np.repeat(np.arange(n_groups), sizes)
        return grouped_and_whole_repetition(ngram_hashes(ids, n), groups, n_groups, n)
    char_rep, word_rep = np.zeros(n_groups), np.zeros(n_groups)
    if len(ids) < n:
        return char_rep, word_rep, 0.0, 0.0
    assert n_groups < _SPANNING
    values = np.ascontiguousarray(ids)
    if values.dtype != np.int64:  # (uint64 ids are read as their int64 bits: the same hashes)
        values = values.view(np.int64) if values.dtype == np.uint64 else values.astype(np.int64)
    keys, group_sizes = _sized_keys(values, sizes, n)
    return _sorted_repetition(sort_hashes(keys), n_groups, char_rep, word_rep, group_sizes)


def sort_hashes(keys: np.ndarray) -> np.ndarray:
    """``np.sort`` of uint64 keys whose top bits are hash bits: a new sorted array. Compiled,
    a bucket sort on the top bits (``_bucket_sort``), about three times faster than numpy's
    sort for such keys; the same array either way."""
    if not cython.compiled:
        return np.sort(keys)
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    out = np.empty(len(keys), dtype=np.uint64)
    _bucket_sort(keys, keys.view(np.int64), len(keys), out, out.view(np.int64), False, _bucket_space(len(keys)))
    return out


def sort_hash_pairs(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keys sorted, values in the same order) for uint64 hash keys and int64 values; equal
    keys keep their values in any order."""
    if not cython.compiled:
        order = keys.argsort()
        return keys[order], values[order]
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    values = np.ascontiguousarray(values, dtype=np.int64)
    out, out_values = np.empty(len(keys), dtype=np.uint64), np.empty(len(keys), dtype=np.int64)
    _bucket_sort(keys, values, len(keys), out, out_values, True, _bucket_space(len(keys)))
    return out, out_values


# Buckets per key (within a factor of 2); those of more than _SMALL_BUCKET keys (repeated
# keys) are sorted by numpy.
_BUCKETS_PER_KEY = 2
_SMALL_BUCKET = 32


@cython.cfunc
@cython.inline
def _bucket_bits(size: cython.Py_ssize_t) -> cython.int:
    """log2 of ``_bucket_sort``'s bucket count for ``size`` keys."""
    per_key: cython.Py_ssize_t = _BUCKETS_PER_KEY  # a C constant
    bits: cython.int = 1
    while (cython.cast(cython.Py_ssize_t, 1) << (bits + 1)) <= size * per_key and bits < 24:
        bits += 1
    return bits


@cython.cfunc
def _bucket_space(size: cython.Py_ssize_t) -> np.ndarray:
    """Room for the bucket bounds of ``_bucket_sort`` on up to ``size`` keys."""
    return np.empty(cython.cast(cython.Py_ssize_t, 1) << _bucket_bits(size), dtype=np.int64)


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _bucket_sort(keys: cython.ulonglong[::1], values: cython.longlong[::1], size: cython.Py_ssize_t,
                 out: cython.ulonglong[::1], out_values: cython.longlong[::1], carry: cython.bint,
                 ends: cython.longlong[::1]) -> None:
    """Sorts ``keys[:size]`` into ``out`` (and, if ``carry``, ``values`` along into
    ``out_values``), compiled only: keys are spread by their top bits (random for hashes)
    over buckets in order, about _BUCKETS_PER_KEY per key; then each bucket is sorted by
    insertion. Equal keys share a bucket, so a bucket of many repeats goes to numpy.
    ``ends`` (from ``_bucket_space`` for at least ``size``) holds the buckets' bounds."""
    small: cython.Py_ssize_t = _SMALL_BUCKET  # a C constant, not a Python int per bucket
    bits: cython.int = _bucket_bits(size)
    shift: cython.int = 64 - bits
    n_buckets: cython.Py_ssize_t = cython.cast(cython.Py_ssize_t, 1) << bits
    i: cython.Py_ssize_t
    j: cython.Py_ssize_t
    b: cython.Py_ssize_t
    start: cython.Py_ssize_t = 0
    count: cython.Py_ssize_t
    x: cython.ulonglong
    v: cython.longlong
    for b in range(n_buckets):  # sizes, then starts, then ends
        ends[b] = 0
    for i in range(size):
        ends[keys[i] >> shift] += 1
    largest: cython.Py_ssize_t = 0
    for b in range(n_buckets):
        count = ends[b]
        largest = max(largest, count)
        ends[b] = start
        start += count
    if carry:
        for i in range(size):
            b = keys[i] >> shift
            out[ends[b]] = keys[i]
            out_values[ends[b]] = values[i]
            ends[b] += 1
    else:
        for i in range(size):
            b = keys[i] >> shift
            out[ends[b]] = keys[i]
            ends[b] += 1
    if largest <= small:
        # Every key is at most a small bucket away from its place (the keys of the buckets
        # before are all smaller): one insertion pass over the whole array sorts it.
        if carry:
            for i in range(1, size):
                x, v = out[i], out_values[i]
                j = i
                while j > 0 and out[j - 1] > x:
                    out[j], out_values[j] = out[j - 1], out_values[j - 1]
                    j -= 1
                out[j], out_values[j] = x, v
        else:
            for i in range(1, size):
                x = out[i]
                j = i
                while j > 0 and out[j - 1] > x:
                    out[j] = out[j - 1]
                    j -= 1
                out[j] = x
        return
    start = 0
    for b in range(n_buckets):  # some large buckets (repeated keys): numpy sorts those
        if ends[b] - start > small:
            _sort_slice(out, out_values, start, ends[b], carry)
        else:
            for i in range(start + 1, ends[b]):
                x = out[i]
                if carry:
                    v = out_values[i]
                j = i
                while j > start and out[j - 1] > x:
                    out[j] = out[j - 1]
                    if carry:
                        out_values[j] = out_values[j - 1]
                    j -= 1
                out[j] = x
                if carry:
                    out_values[j] = v
        start = ends[b]


@cython.cfunc
def _sort_slice(keys: cython.ulonglong[::1], values: cython.longlong[::1], start: cython.Py_ssize_t,
                end: cython.Py_ssize_t, carry: cython.bint) -> None:
    """A large bucket of ``_bucket_sort``, sorted in place by numpy."""
    part = np.asarray(keys[start:end])
    if carry:
        order = part.argsort()
        part[:] = part[order]
        with_values = np.asarray(values[start:end])
        with_values[:] = with_values[order]
    else:
        part.sort()


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _rolling_hashes(ids: np.ndarray, n: cython.Py_ssize_t) -> np.ndarray:
    """``ngram_hashes`` (compiled only): the same polynomial mod 2**64, rolled along ``ids``
    (uint64) in one pass instead of O(log n) array passes."""
    values: cython.ulonglong[::1] = ids
    size: cython.Py_ssize_t = len(ids)
    mul: cython.ulonglong = int(_MUL)
    base: cython.ulonglong = int(_BASE)
    leading: cython.ulonglong = pow(int(_BASE), n - 1, 1 << 64)  # BASE ** (n - 1)
    mixed_array = np.empty(size, dtype=np.uint64)
    mixed: cython.ulonglong[::1] = mixed_array
    hashes = np.empty(size - n + 1, dtype=np.uint64)
    out: cython.ulonglong[::1] = hashes
    x: cython.ulonglong
    h: cython.ulonglong = 0
    i: cython.Py_ssize_t
    for i in range(size):  # = _mix
        x = values[i] * mul
        mixed[i] = x ^ (x >> 29)
    for i in range(n):
        h = h * base + mixed[i]
    out[0] = h
    for i in range(1, size - n + 1):
        h = (h - mixed[i - 1] * leading) * base + mixed[i + n - 1]
        out[i] = h
    return hashes


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _repetition_keys(hashes: np.ndarray, group_of: np.ndarray, n: cython.Py_ssize_t,
                     n_groups: cython.Py_ssize_t) -> tuple:
    """``grouped_and_whole_repetition``'s keys (compiled only): an n-gram's top 40 hash bits,
    then its group, or _SPANNING when its ends are in two groups; and the n-grams of each
    group."""
    h: cython.ulonglong[::1] = hashes
    groups: cython.longlong[::1] = group_of
    keys_array = np.empty(len(hashes), dtype=np.uint64)
    keys: cython.ulonglong[::1] = keys_array
    sizes_array = np.zeros(n_groups, dtype=np.int64)
    sizes: cython.longlong[::1] = sizes_array
    hash_part: cython.ulonglong = int(_HASH_PART)  # C constants, not Python ints per n-gram
    spanning: cython.longlong = _SPANNING
    i: cython.Py_ssize_t
    for i in range(len(hashes)):
        if groups[i] == groups[i + n - 1]:
            keys[i] = (h[i] & hash_part) | groups[i]
            sizes[groups[i]] += 1
        else:
            keys[i] = (h[i] & hash_part) | spanning
    return keys_array, sizes_array


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _sized_keys(ids: cython.longlong[::1], sizes: list, n: cython.Py_ssize_t) -> tuple:
    """``sized_repetition``'s keys and n-grams per group (compiled only): the hashes of
    ``_rolling_hashes`` and the keys of ``_repetition_keys`` in one pass over the ids; an
    n-gram is in its last id's group if it starts there, else it spans two."""
    size: cython.Py_ssize_t = len(ids)
    n_groups: cython.Py_ssize_t = len(sizes)
    mul: cython.ulonglong = int(_MUL)  # C constants, not Python ints per id
    base: cython.ulonglong = int(_BASE)
    leading: cython.ulonglong = pow(int(_BASE), n - 1, 1 << 64)  # BASE ** (n - 1)
    hash_part: cython.ulonglong = int(_HASH_PART)
    spanning: cython.ulonglong = _SPANNING
    mixed: cython.ulonglong[::1] = np.empty(size, dtype=np.uint64)
    keys_array = np.empty(size - n + 1, dtype=np.uint64)
    keys: cython.ulonglong[::1] = keys_array
    counts_array = np.zeros(n_groups, dtype=np.int64)
    counts: cython.longlong[::1] = counts_array
    x: cython.ulonglong
    h: cython.ulonglong = 0
    g: cython.Py_ssize_t
    p: cython.Py_ssize_t = 0
    start: cython.Py_ssize_t  # the group's first id
    end: cython.Py_ssize_t
    for g in range(n_groups):
        start, end = p, p + cython.cast(cython.Py_ssize_t, sizes[g])
        if end - start >= n:
            counts[g] = end - start - n + 1
        while p < end:
            x = cython.cast(cython.ulonglong, ids[p]) * mul  # = _mix
            mixed[p] = x ^ (x >> 29)
            if p < n:
                h = h * base + mixed[p]
            else:
                h = (h - mixed[p - n] * leading) * base + mixed[p]
            if p >= n - 1:  # the n-gram ending here
                keys[p - n + 1] = (h & hash_part) | (cython.cast(cython.ulonglong, g) if p - n + 1 >= start else spanning)
            p += 1
    return keys_array, counts_array


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def _sorted_repetition(sorted_keys: np.ndarray, n_groups: cython.Py_ssize_t, char_rep: np.ndarray,
                       word_rep: np.ndarray, group_sizes: np.ndarray) -> tuple:
    """The rest of ``grouped_and_whole_repetition`` from its sorted keys and the n-grams of
    each group, in one pass over the keys (compiled only): runs of equal hashes for the whole
    sequence, runs of equal keys for the groups; the top k counts are then summed from one
    sort of the repeated ones. Only repeated hashes need work: a group's distinct n-grams are
    its n-grams less the repeats."""
    keys: cython.ulonglong[::1] = sorted_keys
    size: cython.Py_ssize_t = len(sorted_keys)
    total: cython.longlong[::1] = group_sizes
    repeats: cython.longlong[::1] = np.zeros(n_groups, dtype=np.int64)  # occurrences beyond the first
    rep_sum: cython.double[::1] = np.zeros(n_groups)
    rep_n: cython.longlong[::1] = np.zeros(n_groups, dtype=np.int64)
    top: cython.double[::1] = np.zeros(n_groups)
    whole_runs = np.empty(size, dtype=np.int64)
    runs: cython.longlong[::1] = whole_runs
    group_codes = np.empty(size, dtype=np.int64)
    codes: cython.longlong[::1] = group_codes
    n_hashes: cython.Py_ssize_t = 0
    n_runs: cython.Py_ssize_t = 0
    n_codes: cython.Py_ssize_t = 0
    repeated: cython.longlong = 0
    i: cython.Py_ssize_t = 0
    j: cython.Py_ssize_t
    a: cython.Py_ssize_t
    b: cython.Py_ssize_t
    g: cython.Py_ssize_t
    k: cython.Py_ssize_t
    rank: cython.Py_ssize_t
    code: cython.longlong
    hash_part: cython.ulonglong
    # 2**40 - 1 as a C constant (a literal past 2**31 makes Cython compute with Python ints)
    low40: cython.longlong = (cython.cast(cython.longlong, 1) << 40) - 1
    while i < size:
        n_hashes += 1
        j = i + 1
        if j == size or (keys[j] >> 24) != (keys[i] >> 24):
            i = j  # a hash seen once (most are)
            continue
        hash_part = keys[i] >> 24
        while j < size and (keys[j] >> 24) == hash_part:
            j += 1
        runs[n_runs] = j - i
        n_runs += 1
        repeated += j - i
        a = i  # equal keys within the run: one (hash, group) pair
        while a < j:
            b = a + 1
            while b < j and keys[b] == keys[a]:
                b += 1
            g = keys[a] & 0xFFFFFF
            if g != 0xFFFFFF and b - a > 1:  # (not _SPANNING)
                repeats[g] += b - a - 1
                rep_sum[g] += b - a
                rep_n[g] += 1
                # (group, count) in one code, sorted by group, most frequent first
                codes[n_codes] = (g << 40) | (low40 - (b - a))
                n_codes += 1
            a = b
        i = j
    if not n_runs:  # no n-gram repeats at all
        return char_rep, word_rep, 0.0, 0.0
    k = min(int(math.sqrt(n_hashes)), n_runs)  # floor
    whole_top = int(np.sort(whole_runs[:n_runs])[n_runs - k :].sum())  # the k most frequent
    whole_char = whole_top / cython.cast(cython.double, size)
    whole_word = cython.cast(cython.double, repeated) / size
    if n_codes:
        codes = np.sort(group_codes[:n_codes])
        out_char: cython.double[::1] = char_rep
        out_word: cython.double[::1] = word_rep
        g = -1
        rank = 0
        for a in range(n_codes):
            code = codes[a]
            if code >> 40 != g:
                g = code >> 40
                rank = 0
                k = min(int(math.sqrt(total[g] - repeats[g])), rep_n[g])  # of the distinct ones
            if rank < k:
                top[g] += low40 - (code & low40)  # the count
            rank += 1
        for g in range(n_groups):
            if total[g] > 0:
                out_word[g] = rep_sum[g] / cython.cast(cython.double, total[g])
                out_char[g] = top[g] / cython.cast(cython.double, total[g])
    return char_rep, word_rep, whole_char, whole_word


def _whole_repetition(counts: np.ndarray, total: int) -> tuple[float, float]:
    """(char, word) repetition of one group from the counts of its distinct n-grams."""
    repeated = counts[counts > 1]
    if not len(repeated):
        return 0.0, 0.0
    k = min(math.floor(math.sqrt(len(counts))), len(repeated))
    top = int(np.sort(repeated)[len(repeated) - k :].sum())  # the k most frequent
    return top / total, int(repeated.sum()) / total


def char_repetition(ids: np.ndarray, groups: np.ndarray, n_groups: int, n: int = 10) -> np.ndarray:
    return repetition(ids, groups, n_groups, n)[0]


def word_repetition(ids: np.ndarray, groups: np.ndarray, n_groups: int, n: int = 5) -> np.ndarray:
    return repetition(ids, groups, n_groups, n)[1]


def gopher_ngram_fractions(ids: np.ndarray, lengths: np.ndarray, top: tuple[int, ...], dup: tuple[int, ...]
                           ) -> dict[str, float]:
    """Gopher's n-gram repetition over tokens, as fractions of all characters:
    ``top_<n>``: the most frequent n-gram's occurrences (among equally frequent ones the
    longest, so the choice never depends on hash order); ``dup_<n>``: characters inside any
    n-gram that occurs more than once, each character counted once.

    n grows, and an n-gram can occur twice only where its (n-1)-gram prefix and suffix both
    do, so only those positions are sorted: for real text they thin out fast.
    (Exact but for 64-bit hash collisions, as before.)"""
    out = {f"top_{n}": 0.0 for n in top} | {f"dup_{n}": 0.0 for n in dup}
    total = int(lengths.sum())
    if not total or not (top or dup):
        return out
    if cython.compiled and len(ids) == len(lengths):  # (C loops: no index checks)
        _gopher_fractions(ids, np.ascontiguousarray(lengths, dtype=np.int64), top, dup, total, out)
        return out
    cum = np.concatenate([[0], np.cumsum(lengths)])
    repeated = None  # per (n-1)-gram start: does it occur more than once (unknown for the first n)
    for n, h in iter_ngram_hashes(ids, min(top + dup), max(top + dup)):
        if repeated is None:
            candidates = np.arange(len(h))
        else:  # prefix and suffix repeat
            candidates = (repeated[:-1] & repeated[1:]).nonzero()[0]
        hashes = h[candidates]
        order = hashes.argsort()  # any order of equal hashes: results are order-free
        starts, hs = candidates[order], hashes[order]  # n-gram starts and hashes, by hash
        same = hs[1:] == hs[:-1]
        if not same.any():
            break  # no n-gram repeats, so no longer one does
        in_run = np.zeros(len(hs), dtype=bool)  # sorted occurrences of repeated n-grams
        in_run[1:] = same
        in_run[:-1] |= same
        repeated = np.zeros(len(h), dtype=bool)
        repeated[starts[in_run]] = True
        if n in top:
            counts = _runs(hs)[1]
            best = counts.max()
            at = starts[np.repeat(counts == best, counts)]  # every occurrence of the top n-grams
            out[f"top_{n}"] = float(best * (cum[at + n] - cum[at]).max() / total)
        if n in dup:
            # A token is covered if an n-gram starting at one of the n positions up to it repeats.
            covered = np.convolve(repeated.view(np.int8), np.ones(n, dtype=np.int8)) > 0
            out[f"dup_{n}"] = float(lengths[covered].sum() / total)
    return out


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _gopher_fractions(ids: np.ndarray, token_lengths: np.ndarray, top: tuple, dup: tuple,
                      total: cython.longlong, out: dict) -> None:
    """``gopher_ngram_fractions`` (compiled only): the same hashes and pruned sorts
    (``_bucket_sort`` of (hash, start) pairs), in C loops over the candidates only. The
    candidates for n are found among those for n - 1 (a repeated (n-1)-gram was one), and
    only their hashes are extended: that of a start stays valid while it is a candidate."""
    lengths: cython.longlong[::1] = token_lengths
    values: cython.ulonglong[::1] = np.ascontiguousarray(ids, dtype=np.uint64)
    size: cython.Py_ssize_t = len(token_lengths)
    first: cython.Py_ssize_t = min(top + dup)
    last: cython.Py_ssize_t = max(top + dup)
    base: cython.ulonglong = int(_BASE)
    mul: cython.ulonglong = int(_MUL)
    mixed: cython.ulonglong[::1] = np.empty(size, dtype=np.uint64)
    h: cython.ulonglong[::1] = np.empty(size, dtype=np.uint64)  # hash of the n-gram at each start
    cum: cython.longlong[::1] = np.empty(size + 1, dtype=np.int64)
    hs: cython.ulonglong[::1] = np.empty(size, dtype=np.uint64)  # the candidates' hashes
    at: cython.longlong[::1] = np.empty(size, dtype=np.int64)  # and starts, in order
    before: cython.longlong[::1] = np.empty(size, dtype=np.int64)  # the candidates for n - 1
    sorted_hs: cython.ulonglong[::1] = np.empty(size, dtype=np.uint64)  # both sorted by hash
    sorted_at: cython.longlong[::1] = np.empty(size, dtype=np.int64)
    ends: cython.longlong[::1] = _bucket_space(size)
    repeated: cython.uchar[::1] = np.zeros(size + 1, dtype=np.uint8)  # per start, for this n
    was: cython.uchar[::1] = np.zeros(size + 1, dtype=np.uint8)  # and for n - 1
    n: cython.Py_ssize_t
    m: cython.Py_ssize_t
    t: cython.Py_ssize_t
    u: cython.Py_ssize_t
    w: cython.Py_ssize_t
    n_candidates: cython.Py_ssize_t = 0
    n_before: cython.Py_ssize_t
    best: cython.longlong
    best_chars: cython.longlong
    chars: cython.longlong
    covered_chars: cython.longlong
    covered_to: cython.Py_ssize_t
    any_repeated: cython.bint
    x: cython.ulonglong
    cum[0] = 0
    for t in range(size):
        cum[t + 1] = cum[t] + lengths[t]
        x = values[t] * mul  # = _mix
        mixed[t] = x ^ (x >> 29)
        h[t] = mixed[t]
    for n in range(1, last + 1):
        m = size - n + 1
        if m <= 0:
            return
        if n <= first:  # every start: the hashes of all n-grams
            if n > 1:
                for t in range(m):
                    h[t] = h[t] * base + mixed[t + n - 1]  # mod 2**64, as numpy's uint64
            if n < first:
                continue
            for t in range(m):
                at[t] = t
                hs[t] = h[t]
            n_candidates = m
        else:  # prefix and suffix repeat; flags for n - 1 are cleared once read
            at, before = before, at
            n_before, n_candidates = n_candidates, 0
            for w in range(n_before):
                t = before[w]
                if t < m and was[t] and was[t + 1]:
                    h[t] = h[t] * base + mixed[t + n - 1]
                    at[n_candidates] = t
                    hs[n_candidates] = h[t]
                    n_candidates += 1
            for w in range(n_before):
                was[before[w]] = 0
        # any order of equal hashes: results are order-free
        _bucket_sort(hs, at, n_candidates, sorted_hs, sorted_at, True, ends)
        any_repeated = False
        best = best_chars = 0
        t = 0
        while t < n_candidates:  # runs of equal hashes in sorted order
            u = t + 1
            while u < n_candidates and sorted_hs[u] == sorted_hs[t]:
                u += 1
            if u - t > 1:
                any_repeated = True
                for w in range(t, u):
                    repeated[sorted_at[w]] = 1
            if u - t >= best:
                chars = 0
                for w in range(t, u):
                    chars = max(chars, cum[sorted_at[w] + n] - cum[sorted_at[w]])
                if u - t > best:
                    best, best_chars = u - t, chars
                else:
                    best_chars = max(best_chars, chars)
            t = u
        if not any_repeated:
            return  # no n-gram repeats, so no longer one does
        if n in top:
            out[f"top_{n}"] = cython.cast(cython.double, best * best_chars) / total
        if n in dup:
            # A token is covered if an n-gram starting at one of the n positions up to it
            # repeats: the union of [t, t + n) over the repeated starts t, in order.
            covered_chars = covered_to = 0
            for w in range(n_candidates):
                t = at[w]
                if repeated[t]:
                    covered_chars += cum[t + n] - cum[max(t, covered_to)]
                    covered_to = t + n
            out[f"dup_{n}"] = cython.cast(cython.double, covered_chars) / total
        was, repeated = repeated, was


def top_ngram_char_fraction(ids: np.ndarray, lengths: np.ndarray, n: int) -> float:
    return gopher_ngram_fractions(ids, lengths, (n,), ())[f"top_{n}"]


def dup_ngram_char_fraction(ids: np.ndarray, lengths: np.ndarray, n: int) -> float:
    return gopher_ngram_fractions(ids, lengths, (), (n,))[f"dup_{n}"]
