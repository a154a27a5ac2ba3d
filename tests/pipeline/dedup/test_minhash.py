"""Shingling and MinHash signatures: normalisation, CJK, determinism, Jaccard estimates."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.dedup.minhash import (
    MAX_HASH,
    MinHasher,
    is_cjk,
    jaccard,
    jaccard_estimate,
    normalize,
    shingles,
)

VOCAB = [f"word{i}" for i in range(400)]


def random_text(rng: random.Random, words: int) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(words)]


def test_normalize_case_punctuation_whitespace_nfkc():
    assert normalize("  Hello,\tWORLD!!\n\n  It's  ＡＢＣ… ") == "hello world it s abc"
    assert normalize("你好，世界。") == "你好 世界"


def test_word_shingles_are_five_grams():
    grams = shingles("one two three four five six seven", "en")
    assert grams == {"one two three four five", "two three four five six",
                     "three four five six seven"}


def test_short_and_empty_texts():
    assert shingles("Just three words.", "en") == {"just three words"}
    assert shingles("", "en") == set()
    assert shingles("  ...!  ", None) == set()


def test_cjk_shingles_are_characters():
    grams = shingles("我们今天去公园散步。", "zh", ngram=3)
    assert all(len(g) == 3 for g in grams)
    assert "我们今" in grams and "园散步" in grams
    assert len(grams) == len("我们今天去公园散步") - 2


@pytest.mark.parametrize("language", [None, "en", "zh-Hans", "ja"])
def test_cjk_detected_by_label_or_content(language):
    text = "这是一个关于机器学习的长篇文章，我们讨论了很多问题。"
    grams = shingles(text, language)
    assert grams and all(len(g) == 5 for g in grams)


def test_cjk_label_needs_some_cjk_text():
    # A label counts when a real share (>= 20 %) of the characters is CJK: mixed zh/en text.
    assert is_cjk("ai 模型 训练 data", "zh")
    assert not is_cjk("ai 模型 训练 data", "en")
    # Latin text mislabelled zh/ja keeps word shingles, so its word-level copies still match.
    assert not is_cjk("plain latin words only", "ja")
    assert not is_cjk("a sentence with one 字 in it", "zh")
    assert is_cjk("東京は日本の首都です", None)


def test_signature_shape_and_determinism():
    grams = shingles(" ".join(random_text(random.Random(0), 300)), "en")
    first = MinHasher().signature(grams)
    assert first.dtype == np.uint64 and first.shape == (112,)
    assert np.array_equal(first, MinHasher(num_perm=112, seed=1).signature(sorted(grams)))
    assert np.array_equal(first, MinHasher().signature(sorted(grams, reverse=True)))
    assert not np.array_equal(first, MinHasher(seed=2).signature(grams))
    assert int(first.max()) <= int(MAX_HASH)


def test_chunked_minimum_matches_one_block():
    # More shingles than one chunk: the running minimum must equal the plain computation.
    hasher = MinHasher(num_perm=16)
    grams = [f"shingle {i}" for i in range(10_000)]
    h = hasher.hash_shingles(grams)[None, :]
    expected = (((hasher._a * h + hasher._b) % np.uint64((1 << 61) - 1)) & MAX_HASH).min(axis=1)
    assert np.array_equal(hasher.signature(grams), expected)


def test_empty_input_gives_max_values():
    sig = MinHasher(num_perm=8).signature([])
    assert np.array_equal(sig, np.full(8, MAX_HASH, dtype=np.uint64))


def test_jaccard_estimate_close_to_true_jaccard():
    rng = random.Random(7)
    hasher = MinHasher()
    errors = []
    for _ in range(40):
        words = random_text(rng, 400)
        copy = list(words)
        for _ in range(rng.randint(0, 100)):  # 0-25 % of the words replaced
            copy[rng.randrange(len(copy))] = rng.choice(VOCAB)
        a, b = shingles(" ".join(words), "en"), shingles(" ".join(copy), "en")
        errors.append(jaccard_estimate(hasher.signature(a), hasher.signature(b)) - jaccard(a, b))
    # The estimate's standard error with 112 permutations is <= 0.047, so a single pair can
    # be off by 0.1 (about 2 sigma) by chance: bound the share and the worst case instead.
    errors = np.abs(errors)
    assert np.mean(errors <= 0.1) >= 0.95, errors
    assert errors.max() <= 0.16 and errors.mean() <= 0.05, errors


def test_jaccard_estimate_edge_cases():
    sig = MinHasher().signature({"a b c d e"})
    assert jaccard_estimate(sig, sig) == 1.0
    with pytest.raises(ValueError):
        jaccard_estimate(sig, sig[:10])
    assert jaccard({"a"}, {"b"}) == 0.0 and jaccard(set(), set()) == 1.0
