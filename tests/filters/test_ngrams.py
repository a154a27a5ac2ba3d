"""filters/ngrams.py against straightforward pure-Python reference implementations.

The references follow the published definitions (BigScience / OBELICS character and word
repetition; Gopher / MassiveText top-n-gram and duplicated-n-gram character fractions) with
Counters and slices; the vectorised functions must agree on hand-made and random sequences,
per group and over the whole sequence, and n-grams must never span two groups.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filters import ngrams
from filters.ngrams import (
    char_ids,
    char_repetition,
    dup_ngram_char_fraction,
    gopher_ngram_fractions,
    grouped_and_whole_repetition,
    iter_ngram_hashes,
    ngram_hashes,
    repetition,
    token_ids,
    top_ngram_char_fraction,
    word_repetition,
)

# -- references -------------------------------------------------------------------------------


def grams(seq, n) -> Counter:
    return Counter(tuple(seq[i : i + n]) for i in range(len(seq) - n + 1))


def ref_char_repetition(seq, n) -> float:
    """OBELICS: of the distinct n-grams, the k = min(floor(sqrt(distinct)), repeated) most
    frequent carry this share of all n-gram occurrences."""
    counts = sorted(grams(seq, n).values(), reverse=True)
    if not counts:
        return 0.0
    k = min(math.isqrt(len(counts)), sum(1 for c in counts if c > 1))
    return sum(counts[:k]) / sum(counts)


def ref_word_repetition(seq, n) -> float:
    """OBELICS: occurrences of n-grams that occur more than once / all n-gram occurrences."""
    counts = grams(seq, n).values()
    total = sum(counts)
    return sum(c for c in counts if c > 1) / total if total else 0.0


def ref_top_fraction(tokens, n) -> float:
    """Gopher top n-gram: count x characters of the most frequent n-gram / all characters;
    among n-grams tied for the top count, the longest (a choice that depends on nothing else)."""
    total = sum(map(len, tokens))
    counts = grams(tokens, n)
    if not counts or not total or max(counts.values()) < 2:
        return 0.0
    best = max(counts.values())
    return best * max(sum(map(len, g)) for g, c in counts.items() if c == best) / total


def ref_dup_fraction(tokens, n) -> float:
    """Gopher: characters of tokens inside any occurrence of an n-gram that occurs more than
    once / all characters, each character counted once."""
    total = sum(map(len, tokens))
    counts = grams(tokens, n)
    covered = set()
    for i in range(len(tokens) - n + 1):
        if counts[tuple(tokens[i : i + n])] > 1:
            covered.update(range(i, i + n))
    return sum(len(tokens[i]) for i in covered) / total if total else 0.0


def split(seq, sizes):
    out, start = [], 0
    for size in sizes:
        out.append(seq[start : start + size])
        start += size
    return out


def group_array(sizes) -> np.ndarray:
    return np.repeat(np.arange(len(sizes)), sizes)


def ids_of(seq) -> np.ndarray:
    return np.asarray(seq, dtype=np.uint64)


def lengths_of(tokens) -> np.ndarray:
    return np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))


# -- hand examples ----------------------------------------------------------------------------


def test_char_repetition_by_hand():
    # "abababababab": 10-grams ababababab (x2), bababababa (x1); distinct 2 -> k = 1: 2 / 3
    text = "abababababab"
    got = char_repetition(char_ids(text), np.zeros(len(text), dtype=np.int64), 1, 10)
    assert got[0] == pytest.approx(2 / 3)
    # no 10-gram repeats: 0
    text = "the quick brown fox jumps"
    assert char_repetition(char_ids(text), np.zeros(len(text), dtype=np.int64), 1, 10)[0] == 0.0
    # shorter than n: 0
    assert char_repetition(char_ids("short"), np.zeros(5, dtype=np.int64), 1, 10)[0] == 0.0


def test_char_repetition_takes_only_the_sqrt_of_distinct_most_frequent():
    # 2-grams of "aaaaabbbbbcd": aa x4, bb x4, ab, bc, cd -> distinct 5, floor(sqrt 5) = 2, repeated 2
    text = "aaaaabbbbbcd"
    got = char_repetition(char_ids(text), np.zeros(len(text), dtype=np.int64), 1, 2)[0]
    assert got == pytest.approx((4 + 4) / 11)
    # 9 distinct 2-grams with 4 repeated: k = min(3, 4) = 3 (counts 3, 3, 2 ... of 16 in all)
    seq = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7, 8]
    assert ref_char_repetition(seq, 2) == pytest.approx((3 + 3 + 2) / 16)
    got = char_repetition(ids_of(seq), np.zeros(len(seq), dtype=np.int64), 1, 2)[0]
    assert got == pytest.approx(ref_char_repetition(seq, 2))


def test_word_repetition_by_hand():
    tokens = ["a", "b", "c", "d", "e", "a", "b", "c", "d", "e"]
    # 5-grams: (a b c d e) x2 and four others once: 2 / 6
    got = word_repetition(token_ids(tokens), np.zeros(10, dtype=np.int64), 1, 5)[0]
    assert got == pytest.approx(2 / 6)
    tokens = ["a", "b", "c", "a", "b", "c"]  # 2-grams: ab x2, bc x2, ca x1 -> 4 / 5
    assert word_repetition(token_ids(tokens), np.zeros(6, dtype=np.int64), 1, 2)[0] == pytest.approx(4 / 5)


def test_top_ngram_char_fraction_by_hand():
    tokens = ["the", "cat", "the", "cat", "sat"]  # (the, cat) x2: 2 * 6 / 15
    assert top_ngram_char_fraction(token_ids(tokens), lengths_of(tokens), 2) == pytest.approx(12 / 15)
    tokens = ["one", "two", "three", "four"]  # nothing repeats
    assert top_ngram_char_fraction(token_ids(tokens), lengths_of(tokens), 2) == 0.0
    tokens = ["solo"]
    assert top_ngram_char_fraction(token_ids(tokens), lengths_of(tokens), 2) == 0.0


def test_top_ngram_counts_overlapping_occurrences_like_gopher_implementations():
    # (a, a) occurs 4 times in "a a a a a": 4 * 2 / 5, more than all characters
    tokens = ["a"] * 5
    assert top_ngram_char_fraction(token_ids(tokens), lengths_of(tokens), 2) == pytest.approx(1.6)


def test_dup_ngram_char_fraction_counts_each_character_once():
    # 2-grams of a b a b a: (a b) x2, (b a) x2 -> every token covered once: 5 / 5, not 8 / 5
    tokens = ["a", "b", "a", "b", "a"]
    assert dup_ngram_char_fraction(token_ids(tokens), lengths_of(tokens), 2) == pytest.approx(1.0)
    # "xx yyy xx yyy zzzz": (xx, yyy) x2 covers tokens 0-3: 10 / 14
    tokens = ["xx", "yyy", "xx", "yyy", "zzzz"]
    assert dup_ngram_char_fraction(token_ids(tokens), lengths_of(tokens), 2) == pytest.approx(10 / 14)
    tokens = ["no", "repeats", "here", "at", "all"]
    assert dup_ngram_char_fraction(token_ids(tokens), lengths_of(tokens), 3) == 0.0


def test_ngram_hashes_length_and_equality():
    ids = ids_of([5, 6, 5, 6, 7])
    h = ngram_hashes(ids, 2)
    assert len(h) == 4 and h[0] == h[2] and len(set(h.tolist())) == 3
    assert len(ngram_hashes(ids, 6)) == 0 and len(ngram_hashes(ids, 5)) == 1


def test_char_ids_are_one_per_code_point_including_non_bmp():
    ids = char_ids("a𠮷a")
    assert len(ids) == 3 and ids[0] == ids[2] != ids[1]


def test_token_ids_preserve_equality():
    ids = token_ids(["x", "y", "x"])
    assert ids.dtype == np.uint64 and ids[0] == ids[2] != ids[1]


# -- groups ------------------------------------------------------------------------------------


def test_ngrams_never_span_two_groups():
    # Each group alone is "a b": no 2-gram repeats inside a group. Across the boundary the whole
    # sequence a b a b repeats (a b); grouped, nothing repeats.
    seq = ids_of([1, 2, 1, 2])
    groups = group_array([2, 2])
    assert word_repetition(seq, groups, 2, 2).tolist() == [0.0, 0.0]
    assert char_repetition(seq, groups, 2, 2).tolist() == [0.0, 0.0]
    whole = np.zeros(4, dtype=np.int64)
    assert word_repetition(seq, whole, 1, 2)[0] == pytest.approx(2 / 3)
    # A group shorter than n contributes nothing, and neither does a window that would start
    # in it and end in the next group.
    seq = ids_of([9, 1, 2, 3, 1, 2, 3])
    assert word_repetition(seq, group_array([1, 3, 3]), 3, 3).tolist() == [0.0, 0.0, 0.0]
    assert word_repetition(seq, group_array([1, 6]), 2, 3).tolist() == [0.0, pytest.approx(2 / 4)]


def test_groups_without_ngrams_and_empty_input_give_zeros():
    assert char_repetition(ids_of([]), np.empty(0, dtype=np.int64), 3, 10).tolist() == [0.0, 0.0, 0.0]
    assert word_repetition(ids_of([1, 2]), group_array([1, 1]), 2, 5).tolist() == [0.0, 0.0]
    assert top_ngram_char_fraction(ids_of([]), np.empty(0, dtype=np.int64), 2) == 0.0
    assert dup_ngram_char_fraction(ids_of([]), np.empty(0, dtype=np.int64), 5) == 0.0


# -- random sequences against the references ------------------------------------------------------

grouped_sequences = st.lists(
    st.lists(st.integers(0, 3), min_size=0, max_size=40),  # a small alphabet: repetition happens
    min_size=1, max_size=6,
)


@pytest.mark.parametrize("measure, reference", [(char_repetition, ref_char_repetition),
                                                (word_repetition, ref_word_repetition)], ids=["char", "word"])
@settings(max_examples=300, deadline=None)
@given(grouped_sequences, st.integers(1, 6))
def test_repetition_matches_reference_per_group_and_whole(measure, reference, parts, n):
    seq = [x for p in parts for x in p]
    sizes = [len(p) for p in parts]
    got = measure(ids_of(seq), group_array(sizes), len(parts), n)
    assert got == pytest.approx([reference(p, n) for p in parts])
    whole = measure(ids_of(seq), np.zeros(len(seq), dtype=np.int64), 1, n)[0]
    assert whole == pytest.approx(reference(seq, n))


tokens_strategy = st.lists(st.sampled_from(["a", "bb", "ccc", "的", "dddd", "e"]), max_size=60)


@settings(max_examples=300, deadline=None)
@given(tokens_strategy, st.integers(2, 10))
def test_top_ngram_char_fraction_matches_reference(tokens, n):
    got = top_ngram_char_fraction(token_ids(tokens), lengths_of(tokens), n)
    assert got == pytest.approx(ref_top_fraction(tokens, n))


@settings(max_examples=300, deadline=None)
@given(tokens_strategy, st.integers(2, 10))
def test_dup_ngram_char_fraction_matches_reference(tokens, n):
    got = dup_ngram_char_fraction(token_ids(tokens), lengths_of(tokens), n)
    assert got == pytest.approx(ref_dup_fraction(tokens, n))
    assert 0.0 <= got <= 1.0


@settings(max_examples=200, deadline=None)
@given(grouped_sequences, st.integers(1, 6))
def test_repetition_returns_both_measures_in_one_pass(parts, n):
    seq = [x for p in parts for x in p]
    char_rep, word_rep = repetition(ids_of(seq), group_array([len(p) for p in parts]), len(parts), n)
    assert char_rep == pytest.approx([ref_char_repetition(p, n) for p in parts])
    assert word_rep == pytest.approx([ref_word_repetition(p, n) for p in parts])


@settings(max_examples=200, deadline=None)
@given(tokens_strategy)
def test_gopher_fractions_for_all_n_at_once_match_references(tokens):
    top, dup = (2, 3, 4), (5, 6, 7, 8, 9, 10)
    got = gopher_ngram_fractions(token_ids(tokens), lengths_of(tokens), top, dup)
    assert set(got) == {f"top_{n}" for n in top} | {f"dup_{n}" for n in dup}
    for n in top:
        assert got[f"top_{n}"] == pytest.approx(ref_top_fraction(tokens, n)), n
    for n in dup:
        assert got[f"dup_{n}"] == pytest.approx(ref_dup_fraction(tokens, n)), n


def test_iter_ngram_hashes_agrees_with_ngram_hashes():
    ids = ids_of([3, 1, 4, 1, 5, 9, 2, 6])
    seen = dict(iter_ngram_hashes(ids, 2, 10))
    assert sorted(seen) == list(range(2, 9))  # no n-gram longer than the sequence
    for n, h in seen.items():
        assert h.tolist() == ngram_hashes(ids, n).tolist()


def test_char_repetition_on_real_text_sizes_matches_reference():
    rng = random.Random(7)
    paragraphs = ["".join(rng.choice("ab ") for _ in range(rng.randint(0, 300))) for _ in range(20)]
    seq = [ord(c) for p in paragraphs for c in p]
    got = char_repetition(char_ids("".join(paragraphs)), group_array([len(p) for p in paragraphs]), 20, 10)
    assert got == pytest.approx([ref_char_repetition([ord(c) for c in p], 10) for p in paragraphs])
    assert len(seq) == sum(map(len, paragraphs))


# -- determinism --------------------------------------------------------------------------------


def test_top_ngram_fraction_does_not_depend_on_token_ids_when_counts_tie():
    # (aa, b) and (ccc, d) both occur twice: the longer one counts, 2 * 4 of 14 characters,
    # whatever ids the tokens get (ids used to be Python's salted str hash, and the winner
    # among ties changed with PYTHONHASHSEED: 0.4286 or 0.5714 for the same text).
    tokens = ["aa", "b", "aa", "b", "ccc", "d", "ccc", "d"]
    lengths = lengths_of(tokens)
    values = set()
    for seed in range(20):  # 20 relabellings of the same four distinct tokens
        labels = random.Random(seed).sample(range(1, 1000), 4)
        mapping = dict(zip(["aa", "b", "ccc", "d"], labels))
        values.add(top_ngram_char_fraction(ids_of([mapping[t] for t in tokens]), lengths, 2))
    assert values == {8 / 14}
    assert top_ngram_char_fraction(token_ids(tokens), lengths, 2) == 8 / 14


def test_token_ids_are_given_in_first_occurrence_order_not_by_salted_hash():
    assert token_ids(["b", "a", "b", "c"]).tolist() == [0, 1, 0, 2]


@settings(max_examples=200, deadline=None)
@given(grouped_sequences, st.integers(1, 10))
def test_one_sort_gives_the_group_and_the_whole_sequence_measures(parts, n):
    seq = [x for p in parts for x in p]
    groups = group_array([len(p) for p in parts])
    char_rep, word_rep, whole_char, whole_word = grouped_and_whole_repetition(
        ngram_hashes(ids_of(seq), n), groups, len(parts), n)
    assert char_rep == pytest.approx([ref_char_repetition(p, n) for p in parts])
    assert word_rep == pytest.approx([ref_word_repetition(p, n) for p in parts])
    # the whole sequence also counts the n-grams that span two groups
    assert whole_char == pytest.approx(ref_char_repetition(seq, n))
    assert whole_word == pytest.approx(ref_word_repetition(seq, n))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=30))
def test_ngram_hashes_equal_the_step_by_step_hashes_for_every_n(seq):
    ids = ids_of(seq)
    step_by_step = {n: h.copy() for n, h in iter_ngram_hashes(ids, 1, 32)}
    for n in range(1, 33):
        assert ngram_hashes(ids, n).tolist() == step_by_step.get(n, np.empty(0, dtype=np.uint64)).tolist()


# -- sorting hashes ---------------------------------------------------------------------------


def _sort_cases() -> list[np.ndarray]:
    """Hash-like keys, and keys that defeat a bucket sort on the top bits: many repeats (large
    buckets), small integers (all in one bucket), one top-bit pattern, and tiny arrays."""
    rng = np.random.default_rng(7)
    hashes = [rng.integers(0, 2**64, size, dtype=np.uint64) for size in (0, 1, 2, 3, 17, 100, 1000, 5000, 70000)]
    repeated = [rng.choice(rng.integers(0, 2**64, distinct, dtype=np.uint64), size)
                for distinct, size in ((1, 500), (3, 1000), (40, 3000), (2000, 4000))]
    small = [rng.integers(0, 50, 3000).astype(np.uint64), np.arange(2000, 0, -1, dtype=np.uint64)]
    one_top = [(rng.integers(0, 2**40, 3000, dtype=np.uint64) | np.uint64(0xABC << 52))]
    extremes = [np.array([2**64 - 1, 0, 2**63, 2**63 - 1, 1] * 50, dtype=np.uint64)]
    return hashes + repeated + small + one_top + extremes


def test_sort_hashes_is_numpys_sort():
    for keys in _sort_cases():
        before = keys.copy()
        out = ngrams.sort_hashes(keys)
        assert out.dtype == np.uint64 and np.array_equal(out, np.sort(keys)), len(keys)
        assert np.array_equal(keys, before)  # a new array


def test_sort_hash_pairs_keeps_each_value_with_its_key():
    rng = np.random.default_rng(8)
    for keys in _sort_cases():
        values = rng.permutation(len(keys)).astype(np.int64)
        out, out_values = ngrams.sort_hash_pairs(keys, values)
        assert np.array_equal(out, np.sort(keys)), len(keys)
        assert sorted(zip(out.tolist(), out_values.tolist())) == sorted(zip(keys.tolist(), values.tolist()))


# -- repetition of groups given by their sizes -------------------------------------------------


def _sized_cases() -> list[tuple[np.ndarray, list[int]]]:
    """(ids, group sizes): random and periodic ids, empty groups and groups shorter than n,
    a single group, no ids, code points past the BMP and 64-bit ids."""
    rng = np.random.default_rng(9)
    cases = []
    for trial in range(300):
        n_groups = int(rng.integers(1, 12))
        sizes = rng.integers(0, 40, n_groups) * (rng.random(n_groups) < 0.8)
        ids = rng.integers(0, int(rng.integers(1, 30)), int(sizes.sum()))
        if trial % 4 == 0:
            ids = np.resize(ids[: max(1, len(ids) // 9)], len(ids))
        cases.append((ids.astype(np.int64), sizes.tolist()))
    text = "Hello, world! 𠮷😀 " * 30
    cases += [(np.zeros(0, dtype=np.int64), [0, 0]), (np.arange(7, dtype=np.int64), [7]),
              (char_ids(text), [len(text) - 100, 0, 100]),
              (rng.integers(0, 2**64, 500, dtype=np.uint64)[np.arange(500) % 37], [250, 250])]
    return cases


@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_sized_repetition_is_the_grouped_repetition_of_its_groups(n):
    for ids, sizes in _sized_cases():
        groups = np.repeat(np.arange(len(sizes)), sizes)
        a = ngrams.sized_repetition(ids, sizes, n)
        b = grouped_and_whole_repetition(ngram_hashes(ids, n), groups, len(sizes), n)
        assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist(), (sizes, n)
        assert a[2:] == b[2:], (sizes, n)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_sized_repetition_matches_the_references(n):
    rng = random.Random(10)
    for _ in range(200):
        parts = [[rng.choice("abc") for _ in range(rng.randint(0, 30))] for _ in range(rng.randint(1, 6))]
        ids = token_ids([t for p in parts for t in p])
        char_rep, word_rep, whole_char, whole_word = ngrams.sized_repetition(ids, list(map(len, parts)), n)
        for i, p in enumerate(parts):
            assert math.isclose(char_rep[i], ref_char_repetition(p, n)) and math.isclose(word_rep[i], ref_word_repetition(p, n))
        whole = [t for p in parts for t in p]
        assert math.isclose(whole_char, ref_char_repetition(whole, n)) and math.isclose(whole_word, ref_word_repetition(whole, n))
