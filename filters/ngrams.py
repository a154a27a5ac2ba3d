"""Repetition measures over token and character n-grams, vectorised with numpy.

The quality filters measure repetition many times per document (OBELICS character and word
repetition per paragraph and per document, Gopher's top and duplicated n-gram fractions for
n = 2..10). Doing that with Python string slices and Counters costs milliseconds per
document; here each sequence becomes an array of 64-bit ids, n-grams become polynomial
hashes (a 64-bit collision merely merges two n-grams' counts: negligible at these sizes), and
counting is one ``np.unique``. Paragraph-level measures run for all paragraphs of a document
at once: n-grams are keyed by (paragraph, hash) and never span two paragraphs.
"""

from __future__ import annotations

import numpy as np

_MUL = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants: spread small ids over 64 bits
_BASE = np.uint64(0xC2B2AE3D27D4EB4F)


def _mix(ids: np.ndarray) -> np.ndarray:
    x = ids.astype(np.uint64) * _MUL
    return x ^ (x >> np.uint64(29))


def ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """Hash of every n-gram of ``ids`` (length ``len(ids) - n + 1``, or 0)."""
    m = len(ids) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    mixed = _mix(ids)
    h = mixed[:m].copy()
    with np.errstate(over="ignore"):
        for k in range(1, n):
            h = h * _BASE + mixed[k : k + m]
    return h


def token_ids(tokens: list[str]) -> np.ndarray:
    """Ids of tokens in first-occurrence order. Not Python's ``hash``: it is salted per
    process, so a (rare) n-gram hash collision would differ between runs, and so would output."""
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    return np.fromiter(map(vocab.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def char_ids(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _grouped(ids: np.ndarray, groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(group, hash) of every n-gram that lies inside one group; groups are contiguous runs."""
    h = ngram_hashes(ids, n)
    if not len(h):
        return np.empty(0, dtype=np.int64), h
    g = groups[: len(h)]
    inside = g == groups[n - 1 :]  # first and last element in the same group
    return g[inside], h[inside]


_GROUP_SHIFT = np.uint64(40)  # key = group in the top 24 bits, 40 bits of hash below


def _pair_counts(g: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (group, hash) pairs sorted by group: their groups and counts.

    One 64-bit key per pair keeps this a 1-D ``np.unique`` (a row-wise unique is ~20x
    slower); 40 hash bits leave collisions negligible for the n-grams of one document.
    """
    if not len(h):
        return g, np.empty(0, dtype=np.int64)
    keys = (g.astype(np.uint64) << _GROUP_SHIFT) | (h >> np.uint64(24))
    uniq, counts = np.unique(keys, return_counts=True)
    return (uniq >> _GROUP_SHIFT).astype(np.int64), counts


def char_repetition(ids: np.ndarray, groups: np.ndarray, n_groups: int, n: int = 10) -> np.ndarray:
    """BigScience / OBELICS character repetition ratio per group.

    Of each group's distinct n-grams, the k most frequent (k = floor(sqrt(distinct)), at most
    the number repeated) carry this share of all n-gram occurrences.
    """
    out = np.zeros(n_groups)
    pg, counts = _pair_counts(*_grouped(ids, groups, n))
    if not len(counts):
        return out
    order = np.lexsort((-counts, pg))  # by group, most frequent first
    pg, counts = pg[order], counts[order]
    distinct = np.bincount(pg, minlength=n_groups)
    repeated = np.bincount(pg, weights=counts > 1, minlength=n_groups).astype(np.int64)
    k = np.minimum(np.floor(np.sqrt(distinct)).astype(np.int64), repeated)
    starts = np.concatenate([[0], np.cumsum(distinct)[:-1]])
    rank = np.arange(len(pg)) - starts[pg]
    top = np.bincount(pg, weights=np.where(rank < k[pg], counts, 0), minlength=n_groups)
    total = np.bincount(pg, weights=counts, minlength=n_groups)
    np.divide(top, total, out=out, where=total > 0)
    return out


def word_repetition(ids: np.ndarray, groups: np.ndarray, n_groups: int, n: int = 5) -> np.ndarray:
    """OBELICS word repetition ratio per group: the share of n-gram occurrences whose
    n-gram occurs more than once in the group."""
    out = np.zeros(n_groups)
    pg, counts = _pair_counts(*_grouped(ids, groups, n))
    if not len(counts):
        return out
    rep = np.bincount(pg, weights=np.where(counts > 1, counts, 0), minlength=n_groups)
    total = np.bincount(pg, weights=counts, minlength=n_groups)
    np.divide(rep, total, out=out, where=total > 0)
    return out


def top_ngram_char_fraction(ids: np.ndarray, lengths: np.ndarray, n: int) -> float:
    """Gopher: characters covered by the most frequent n-gram's occurrences / all characters."""
    h = ngram_hashes(ids, n)
    total = int(lengths.sum())
    if not len(h) or not total:
        return 0.0
    _, inverse, counts = np.unique(h, return_inverse=True, return_counts=True)
    top = counts.max()
    if top < 2:
        return 0.0
    # Characters of each n-gram occurrence; among equally frequent n-grams the longest counts
    # (the choice must not depend on hash order, or output would depend on it).
    cum = np.concatenate([[0], np.cumsum(lengths)])
    chars = cum[n:] - cum[: len(h)]
    return float(top * chars[counts[inverse] == top].max() / total)


def dup_ngram_char_fraction(ids: np.ndarray, lengths: np.ndarray, n: int) -> float:
    """Gopher: characters inside any n-gram that occurs more than once / all characters
    (each character counted once however many duplicated n-grams cover it)."""
    h = ngram_hashes(ids, n)
    total = int(lengths.sum())
    if not len(h) or not total:
        return 0.0
    _, inverse, counts = np.unique(h, return_inverse=True, return_counts=True)
    starts = counts[inverse] > 1
    if not starts.any():
        return 0.0
    cover = np.zeros(len(ids) + 1, dtype=np.int64)  # +1 at a start, -1 n tokens later
    idx = np.flatnonzero(starts)
    np.add.at(cover, idx, 1)
    np.add.at(cover, idx + n, -1)
    covered = np.cumsum(cover[:-1]) > 0
    return float(lengths[covered].sum() / total)
