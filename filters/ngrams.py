"""Repetition measures over token and character n-grams, vectorised with numpy.

The quality filters measure repetition many times per document (OBELICS character and word
repetition per paragraph and per document, Gopher's top and duplicated n-gram fractions for
n = 2..10). Doing that with Python string slices and Counters costs milliseconds per
document; here each sequence becomes an array of 64-bit ids, n-grams become polynomial
hashes (a 64-bit collision merely merges two n-grams' counts: negligible at these sizes), and
counting is one sort. Paragraph-level measures run for all paragraphs of a document at once:
n-grams are keyed by (paragraph, hash) and never span two paragraphs. Ids are deterministic
(code points, or first-occurrence order of tokens), so results never depend on the process.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_MUL = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants: spread small ids over 64 bits
_BASE = np.uint64(0xC2B2AE3D27D4EB4F)
_GROUP_SHIFT = np.uint64(40)  # pair key = group in the top 24 bits, 40 bits of hash below


def _mix(ids: np.ndarray) -> np.ndarray:
    x = ids.astype(np.uint64) * _MUL
    return x ^ (x >> np.uint64(29))


def ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """Hash of every n-gram of ``ids`` (length ``len(ids) - n + 1``, or 0)."""
    for k, h in iter_ngram_hashes(ids, n, n):
        return h
    return np.empty(0, dtype=np.uint64)


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


def _keys(h: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """One 64-bit key per n-gram lying inside one group (groups are contiguous runs); 40
    hash bits leave collisions negligible for the n-grams of one document."""
    g = groups[: len(h)]
    inside = g == groups[n - 1 : n - 1 + len(h)]
    return (g[inside].astype(np.uint64) << _GROUP_SHIFT) | (h[inside] >> np.uint64(24))


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and their counts (np.unique without its overhead)."""
    if not len(sorted_keys):
        return sorted_keys, np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    counts = np.diff(np.append(starts, len(sorted_keys)))
    return sorted_keys[starts], counts


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
    char_rep, word_rep = np.zeros(n_groups), np.zeros(n_groups)
    if not len(h):
        return char_rep, word_rep
    keys, counts = _runs(np.sort(_keys(h, groups, n)))
    if not len(keys):
        return char_rep, word_rep
    g = (keys >> _GROUP_SHIFT).astype(np.int64)
    total = np.bincount(g, weights=counts, minlength=n_groups)
    distinct = np.bincount(g, minlength=n_groups)
    rep = counts > 1
    rg, rc = g[rep], counts[rep]  # only repeated n-grams can be among the top k
    np.divide(np.bincount(rg, weights=rc, minlength=n_groups), total, out=word_rep, where=total > 0)
    if len(rc):
        k = np.minimum(np.floor(np.sqrt(distinct)).astype(np.int64), np.bincount(rg, minlength=n_groups))
        order = np.lexsort((-rc, rg))  # by group, most frequent first
        rg, rc = rg[order], rc[order]
        starts = np.concatenate([[0], np.cumsum(np.bincount(rg, minlength=n_groups))[:-1]])
        rank = np.arange(len(rg)) - starts[rg]
        top = np.bincount(rg, weights=np.where(rank < k[rg], rc, 0), minlength=n_groups)
        np.divide(top, total, out=char_rep, where=total > 0)
    return char_rep, word_rep


def char_repetition(ids: np.ndarray, groups: np.ndarray, n_groups: int, n: int = 10) -> np.ndarray:
    return repetition(ids, groups, n_groups, n)[0]


def word_repetition(ids: np.ndarray, groups: np.ndarray, n_groups: int, n: int = 5) -> np.ndarray:
    return repetition(ids, groups, n_groups, n)[1]


def gopher_ngram_fractions(ids: np.ndarray, lengths: np.ndarray, top: tuple[int, ...], dup: tuple[int, ...]
                           ) -> dict[str, float]:
    """Gopher's n-gram repetition over tokens, as fractions of all characters:
    ``top_<n>``: the most frequent n-gram's occurrences (among equally frequent ones the
    longest, so the choice never depends on hash order); ``dup_<n>``: characters inside any
    n-gram that occurs more than once, each character counted once."""
    out = {f"top_{n}": 0.0 for n in top} | {f"dup_{n}": 0.0 for n in dup}
    total = int(lengths.sum())
    if not total:
        return out
    cum = np.concatenate([[0], np.cumsum(lengths)])
    for n, h in iter_ngram_hashes(ids, min(top + dup), max(top + dup)):
        order = np.argsort(h, kind="stable")
        hs = h[order]
        same = hs[1:] == hs[:-1]
        if not same.any():
            continue
        if n in top:
            keys, counts = _runs(hs)
            best = counts.max()
            chars = cum[n:] - cum[: len(h)]
            run_of = np.repeat(counts, counts)  # count of each sorted occurrence's n-gram
            out[f"top_{n}"] = float(best * chars[order[run_of == best]].max() / total)
        if n in dup:
            flag = np.zeros(len(h), dtype=bool)
            flag[order[1:][same]] = True
            flag[order[:-1][same]] = True
            cover = np.zeros(len(ids) + 1, dtype=np.int64)  # +1 at a start, -1 n tokens later
            starts = np.flatnonzero(flag)
            np.add.at(cover, starts, 1)
            np.add.at(cover, starts + n, -1)
            out[f"dup_{n}"] = float(lengths[np.cumsum(cover[:-1]) > 0].sum() / total)
    return out


def top_ngram_char_fraction(ids: np.ndarray, lengths: np.ndarray, n: int) -> float:
    return gopher_ngram_fractions(ids, lengths, (n,), ())[f"top_{n}"]


def dup_ngram_char_fraction(ids: np.ndarray, lengths: np.ndarray, n: int) -> float:
    return gopher_ngram_fractions(ids, lengths, (), (n,))[f"dup_{n}"]
