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


def top_ngram_char_fraction(ids: np.ndarray, lengths: np.ndarray, n: int) -> float:
    return gopher_ngram_fractions(ids, lengths, (n,), ())[f"top_{n}"]


def dup_ngram_char_fraction(ids: np.ndarray, lengths: np.ndarray, n: int) -> float:
    return gopher_ngram_fractions(ids, lengths, (), (n,))[f"dup_{n}"]
