"""Shingling and MinHash signatures: normalisation, CJK, vectorised shingle hashes,
determinism, Jaccard estimates (generated and real page text)."""

from __future__ import annotations

import json
import random
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from pipeline.dedup import minhash
from pipeline.dedup.minhash import (
    _CJK,
    _CJK_CHAR,
    _FOLD_CLASS,
    _FOLD_USABLE,
    _SCANNED,
    _SEPARATOR,
    _SHORT,
    _SIGMA,
    _SPACE,
    MAX_HASH,
    MinHasher,
    _classes,
    _folding,
    _numpy_shingle_hashes,
    hash_shingles,
    is_cjk,
    jaccard,
    jaccard_estimate,
    normalize,
    shingle_hashes,
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
    # More shingles than one chunk: the running minimum must equal the plain computation
    # (multiply-shift: the top 32 bits of a * h mod 2^64, minimum per permutation).
    hasher = MinHasher(num_perm=16)
    grams = [f"shingle {i}" for i in range(10_000)]
    h = hash_shingles(grams)[None, :]
    expected = ((hasher._a * h) >> np.uint64(32)).min(axis=1)
    assert np.array_equal(hasher.signature(grams), expected)


@pytest.mark.parametrize("size", [1, 3, 4, 5, 1023, 1024, 1025, 4099])
def test_compiled_minima_equal_numpy(size):
    """pipeline/dedup/minhash_native.pyx (built by setup.py) against the numpy path, including
    sizes around its 4-wide unrolling and numpy's chunk, and hashes at the extremes."""
    from pipeline.dedup import minhash

    if minhash.min_products is None:
        pytest.skip("minhash_native is not built here (no C compiler): numpy computes the minima")
    rng = np.random.default_rng(size)
    hashes = rng.integers(0, np.iinfo(np.uint64).max, size=size, dtype=np.uint64, endpoint=True)
    hashes[: min(size, 2)] = [0, np.iinfo(np.uint64).max][: min(size, 2)]
    for num_perm, seed in ((112, 1), (7, 3), (256, 11)):
        hasher = MinHasher(num_perm=num_perm, seed=seed)
        native = hasher.hash_signature(hashes)
        assert np.array_equal(native, hasher._numpy_signature(hashes))
        assert np.array_equal(native, hasher.hash_signature(hashes[::-1].copy()))  # order-free
    assert np.array_equal(MinHasher().hash_signature(hashes.astype(np.int64)),
                          MinHasher().hash_signature(hashes))  # any integer dtype, as before


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


@lru_cache(maxsize=1)
def punctuation() -> dict[int, str]:
    return {cp: " " for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp))[0] == "P"}


def reference_normalize(text: str) -> str:
    """The definition, spelled out: every P* code point and whitespace becomes a space."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().translate(punctuation()).split())


def test_separators_match_unicodedata():
    # Over the full code point range (the table scans planes 0-1 only): separators are
    # exactly punctuation and whitespace, CJK exactly the non-separator _CJK characters.
    classes = _classes()
    chars = [chr(cp) for cp in range(sys.maxunicode + 1)]
    separator = np.array([unicodedata.category(c)[0] == "P" or c.isspace() for c in chars])
    assert np.array_equal(classes == _SEPARATOR, separator)
    cjk = np.zeros(len(chars), dtype=bool)
    cjk[[ord(c) for c in _CJK.findall("".join(chars))]] = True
    assert np.array_equal(classes == _CJK_CHAR, cjk & ~separator)


def test_normalize_short_and_long_paths_agree():
    # Short texts go through str.translate, long ones through numpy: same result, both equal
    # to the definition, with every separator and awkward code points in the text.
    classes = _classes()
    separators = "".join(map(chr, np.flatnonzero(classes == _SEPARATOR).tolist()))
    rng = random.Random(3)
    odd = ["\x00", "\ud800", "\U0001F600", "ﬁ", "İ", "Ａ", "ｶ", "字", "\u200b", "\xad", "é"]
    pieces = [rng.choice(VOCAB + odd) + rng.choice(separators) * rng.randint(0, 3)
              for _ in range(3000)]
    long_text = " " + "".join(pieces) + separators
    assert len(long_text) > 10 * _SHORT
    assert normalize(long_text) == reference_normalize(long_text)
    for start in range(0, len(long_text), 97):
        for size in (1, 40, _SHORT - 1, _SHORT, _SHORT + 1, 900):
            text = long_text[start:start + size]
            assert normalize(text) == reference_normalize(text), repr(text)


SAMPLES = [
    ("", None), ("  ...!  ", "en"), ("word", "en"), ("Just three words.", "en"),
    ("one two three four five", "en"), ("one two three four five six seven", None),
    ("The cat sat. The cat sat. The cat sat. The cat sat.", "en"),  # repeated shingles
    ("我们今天去公园散步。", "zh"), ("你好", "zh"), ("ai 模型 训练 data，AI 模型训练", "zh"),
    ("東京は日本の首都です。東京タワー", None), ("a\x00b \ud800 ﬁne Ｆｕｌｌ 😀 x", "en"),
    (" ".join(random_text(random.Random(1), 3000)), "en"),  # several permutation chunks
]


@pytest.mark.parametrize("text, language", SAMPLES)
def test_shingle_hashes_are_the_shingles_hashed(text, language):
    # The vectorised hashes are the hashes of exactly the shingle strings, one per distinct
    # shingle (no collision), so both signatures agree.
    grams = shingles(text, language)
    hashes = shingle_hashes(text, language)
    assert hashes.dtype == np.uint64
    assert np.unique(hashes).size == len(grams)
    assert set(hashes.tolist()) == set(hash_shingles(grams).tolist())
    hasher = MinHasher(num_perm=32, seed=5)
    signature = hasher.text_signature(text, language)
    assert np.array_equal(signature, hasher.signature(grams))
    assert int(signature.max()) <= int(MAX_HASH)
    if not grams:
        assert np.array_equal(signature, np.full(32, MAX_HASH, dtype=np.uint64))


def page_texts(root: Path) -> list[tuple[str, str | None]]:
    """Visible text of the sample pages (selectolax, scripts and styles dropped): trafilatura's
    pages and goose3's Chinese ones."""
    from selectolax.lexbor import LexborHTMLParser

    def text_of(path: Path) -> str:
        tree = LexborHTMLParser(path.read_bytes().decode("utf-8", "replace"))
        tree.strip_tags(["script", "style", "noscript"])
        return tree.body.text(separator="\n") if tree.body else ""

    texts = [(text_of(p), None) for p in sorted((root / "html" / "trafilatura" / "html").glob("*.html"))]
    for path in sorted((root / "html" / "goose3" / "content").glob("*.html")):
        meta = path.with_suffix(".json")
        expected = json.loads(meta.read_text()).get("expected", {}) if meta.exists() else {}
        if expected.get("meta_lang") == "zh":
            texts.append((text_of(path), "zh"))
    return [(t, lang) for t, lang in texts if len(t) >= 1000]


def edited(text: str, fraction: float, rng: random.Random, cjk: bool) -> str:
    """Units (words, or characters for CJK) replaced, inserted or deleted at random."""
    units = list(text.replace(" ", "")) if cjk else text.split()
    for _ in range(int(len(units) * fraction)):
        i = rng.randrange(len(units))
        kind = rng.random()
        if kind < 0.4:
            units[i] = rng.choice(units)
        elif kind < 0.7:
            units.insert(i, rng.choice(units))
        elif len(units) > 2:
            del units[i]
    return ("" if cjk else " ").join(units)


def test_jaccard_estimates_track_true_jaccard_on_real_pages(shared_data):
    # Real page text and edited copies from near-identical to half rewritten: the estimate's
    # error must look like the binomial error of 112 independent permutations, sd
    # sqrt(J(1-J)/112) (so the hashing adds no bias and no correlation between permutations).
    rng = random.Random(11)
    hasher = MinHasher(num_perm=112, seed=1)
    errors, z = [], []
    for text, language in page_texts(shared_data):
        cjk = is_cjk(normalize(text), language)
        signature = hasher.text_signature(text, language)
        grams = shingles(text, language)
        for fraction in (0.01, 0.03, 0.1, 0.25):
            copy = edited(text, fraction, rng, cjk)
            true = jaccard(grams, shingles(copy, language))
            error = jaccard_estimate(signature, hasher.text_signature(copy, language)) - true
            errors.append(error)
            if 0 < true < 1:
                z.append(error / np.sqrt(true * (1 - true) / 112))
    errors, z = np.array(errors), np.abs(z)
    assert len(errors) >= 200, len(errors)
    assert abs(errors.mean()) <= 0.01, errors.mean()  # bias (its own sd is ~0.002 here)
    assert np.abs(errors).mean() <= 0.04 and np.abs(errors).max() <= 0.2
    assert np.mean(z <= 2) >= 0.93 and np.mean(z <= 3) >= 0.99, np.sort(z)[-20:]


def test_a_huge_text_does_not_pin_its_powers_in_memory(monkeypatch):
    """Texts longer than POWERS_KEPT characters get powers of their own; the kept ones stay
    capped, and the hashes are the same either way."""
    # The numpy path's powers (minhash_native's span powers live only for one call).
    short, long_text = "a short text of a few words here", " ".join(f"word{i} token{i}" for i in range(400))
    expected = shingle_hashes(short, "en"), shingle_hashes(long_text, "en")  # ~7,000 characters
    monkeypatch.setattr(minhash, "_POWERS", (np.ones(1, np.uint64), np.ones(1, np.uint64)))
    monkeypatch.setattr(minhash, "POWERS_KEPT", 256)
    assert np.array_equal(_numpy_shingle_hashes(short, "en", 5), expected[0])
    kept = minhash._POWERS[0].size
    assert 32 <= kept <= 256
    assert np.array_equal(_numpy_shingle_hashes(long_text, "en", 5), expected[1])
    assert minhash._POWERS[0].size == kept  # the long text's powers were not kept
    assert np.array_equal(_numpy_shingle_hashes(short, "en", 5), expected[0])


# -- minhash_native.text_hashes / text_minima against the numpy reference ---------------------

def native_or_skip() -> None:
    if minhash.text_minima is None:
        pytest.skip("minhash_native is not built here (no C compiler): numpy computes the hashes")


def table_folds(text: str) -> bool:
    """Whether minhash_native folds ``text`` through _folding() (else unicodedata does)."""
    table = _folding()
    return all(ord(c) < _SCANNED and table[ord(c)] for c in text)


def assert_native_matches_numpy(text: str, language: str | None, ngrams=(1, 2, 5, 9)) -> None:
    hashers = (MinHasher(num_perm=112, seed=1), MinHasher(num_perm=7, seed=3))
    for ngram in ngrams:
        expected = _numpy_shingle_hashes(text, language, ngram)
        native = shingle_hashes(text, language, ngram)
        assert native.dtype == np.uint64 and np.array_equal(native, expected), (ngram, text[:200])
        for hasher in hashers:
            reference = (hasher._numpy_signature(expected) if expected.size
                         else np.full(hasher.num_perm, MAX_HASH, dtype=np.uint64))
            signature = hasher.text_signature(text, language, ngram)
            assert signature.dtype == np.uint64
            assert np.array_equal(signature, reference), (ngram, hasher.num_perm, text[:200])


# Pieces a generated text is made of: words, separators of every kind, what NFKC changes
# (NBSP, "…", fullwidth, ligatures, halfwidth kana with a voiced mark, Hangul jamo pairs,
# combining marks), lower() special cases (İ, final Σ), CJK, astral and lone surrogates.
PIECES = {
    "ascii": ["word", "Word", "WORDS", "x", "42", "don't", "e-mail"],
    "latin": ["café", "Straße", "naïve", "ĳssel", "Ærø", "ǅemal", "ǲ"],
    "separators": [" ", "  ", "\t", "\n", ",", ".", "!?", "«»", "\u2014", "\u3000", "\xa0",
                   "\u2026", "\uff0c", "\u3002", "\u00b7", "\u2028", "\u205f"],
    "nfkc": ["\ufb01", "\uff21\uff42", "\uff11\uff12", "\u2460", "\u2122", "\u00bd", "\u00b4",
             "\u00b2", "\u2075", "\u33a1", "\u3250", "\u1e9b", "\u2126", "\u212b"],
    "combining": ["e\u0301", "a\u0308", "\u0301", "\u0327c", "o\u0328\u0304", "\u1100\u1161",
                  "\u1100\u1161\u11a8", "\uac00\u11a8", "\uff76\uff9e", "\u304b\u3099",
                  "\u0928\u093c", "\u0627\u0653"],
    "case": ["\u0130", "\u03a3", "\u039f\u0394\u039f\u03a3", "\u1e9e", "\u212a", "\u0149"],
    "cjk": ["我们", "今天", "去公园散步", "東京", "タワー", "ひらがな", "한국어", "\u4e00", "\uf900",
            "\uff66\uff67", "\u30fc"],
    "astral": ["\U0001F600", "\U0001F1EF\U0001F1F5", "\U00020000", "\U0002A700", "\U0002F800",
               "\U0001D400", "\U000E0041", "\U0010FFFF"],
    "odd": ["\x00", "\ud800", "\udfff", "\ud83d\ude00", "\u200b", "\xad", "\ufeff", "\U000F0000"],
}
LANGUAGES = [None, "", "en", "de", "zh", "zh-Hans", "ZH_hant", "ja", "ja-JP", "ko"]


def generated_texts(seed: int, count: int) -> list[tuple[str, str | None]]:
    """Random texts over PIECES with varying mixes (mostly words, mostly CJK, anything), from
    nothing to a few thousand characters."""
    rng = random.Random(seed)
    kinds = list(PIECES)
    texts = []
    for _ in range(count):
        weights = [rng.choice((0, 0, 1, 5, 20)) for _ in kinds]
        if not any(weights):
            weights[0] = 1
        size = rng.choice((0, 1, 2, 4, 6, 10, 30, 300, 1500))
        pieces = [rng.choice(PIECES[k]) for k in rng.choices(kinds, weights, k=size)]
        joined = "".join(p if rng.random() < 0.3 else p + " " for p in pieces)
        texts.append((joined, rng.choice(LANGUAGES)))
    return texts


def test_native_text_hashes_equal_numpy_on_edge_cases():
    native_or_skip()
    cases = [("", None), (" ", "en"), ("\xa0\u3000 ...", "zh"), ("a", "en"), ("a b", "en"),
             ("one two three four five", "en"), ("one two three four five six", None),
             ("字", "zh"), ("字字字字字", "zh"), ("字字字字字字", None), ("ab 字", "zh"), ("ab 字", "en"),
             ("字 a b c d", "zh"), ("我们 ai 训练", "ja"), ("\U0001F600 \U0001F600", "en"),
             ("\U00020000\U00020001\U00020002", "zh"), ("\ud800 \udc00 x", "en"),
             ("ΟΔΟΣ ΟΔΟΣ.", "el"), ("İstanbul İZMİR", "tr"), ("ﬁne ﬁnal ﬁx", "en"),
             ("e\u0301cole e\u0301te\u0301", "fr"), ("ｶﾞｷﾞｸﾞ", "ja"), ("\u1100\u1161\u11a8 한", "ko"),
             ("word " * 3000, "en"), ("字" * 5000, "zh"), ("longword" * 2000 + " x", "en")]
    for text, language in cases:
        assert_native_matches_numpy(text, language)


@pytest.mark.parametrize("seed", range(8))
def test_native_text_hashes_equal_numpy_on_generated_texts(seed):
    native_or_skip()
    texts = generated_texts(seed, 60)
    for text, language in texts:
        assert_native_matches_numpy(text, language)
    # Both ways in: folded by the table, and by unicodedata (a code point it cannot fold).
    folds = [table_folds(t) for t, _ in texts if t]
    assert any(folds) and not all(folds)


def test_native_text_hashes_equal_numpy_on_real_pages(shared_data):
    native_or_skip()
    from selectolax.lexbor import LexborHTMLParser

    pages = []
    for path in sorted((shared_data / "html").rglob("*.html")):
        tree = LexborHTMLParser(path.read_bytes().decode("utf-8", "replace"))
        tree.strip_tags(["script", "style", "noscript"])
        text = tree.body.text(separator="\n") if tree.body else ""
        meta = path.with_suffix(".json")
        language = json.loads(meta.read_text()).get("expected", {}).get("meta_lang") if meta.exists() else None
        pages.append((text, language))
    assert len(pages) >= 50, len(pages)
    cjk = 0
    for text, language in pages:
        assert_native_matches_numpy(text, language, ngrams=(5,))
        assert_native_matches_numpy(text[:200], language, ngrams=(5,))
        cjk += is_cjk(normalize(text), language)
        if language:  # the same text under a CJK label and none
            assert_native_matches_numpy(text, "zh" if language != "zh" else None, ngrams=(5,))
    assert cjk >= 1


def test_folding_table_matches_its_definition():
    """_folding() against its docstring's rule spelled out per code point (planes 0-1)."""
    classes = _classes()
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    for cp in range(sys.maxunicode + 1):
        mapping = unicodedata.decomposition(chr(cp))
        if mapping and not mapping.startswith("<") and len(mapping.split()) == 2:
            seconds.add(int(mapping.split()[1], 16))

    def stable(c: str) -> bool:
        return (ord(c) < _SCANNED and ord(c) not in seconds and ord(c) != _SIGMA
                and not unicodedata.combining(c) and unicodedata.normalize("NFKC", c) == c)

    expected = np.zeros(_SCANNED, dtype=np.uint32)
    for cp in range(_SCANNED):
        char = chr(cp)
        mapped = char if stable(char) else unicodedata.normalize("NFKC", char)
        if mapped != char and (any(map(unicodedata.combining, unicodedata.normalize("NFKD", char)))
                               or not all(map(stable, mapped))):
            continue
        if mapped == char and not stable(char):
            continue
        lower = mapped.lower()
        if all(classes[ord(c)] == _SEPARATOR for c in mapped + lower):
            expected[cp] = _FOLD_USABLE | _SEPARATOR << _FOLD_CLASS | _SPACE
        elif len(lower) == 1:
            expected[cp] = _FOLD_USABLE | int(classes[ord(lower)]) << _FOLD_CLASS | ord(lower)
    assert np.array_equal(_folding(), expected)
    assert not _folding()[[_SIGMA, 0x130, 0x301, 0x1161, 0xFF9E, 0xB4]].any()


def test_folding_table_folds_texts_piece_by_piece():
    """The table's premise: a text of usable code points, NFKC-lower-cased whole, is the
    concatenation of each code point's own NFKC-lower-casing. Every usable code point, in
    random order three times (so among many different neighbours)."""
    table = _folding()
    usable = [chr(cp) for cp in np.flatnonzero(table).tolist()]
    rng = random.Random(5)
    for _ in range(3):
        rng.shuffle(usable)
        text = "".join(usable)
        assert unicodedata.normalize("NFKC", text).lower() == "".join(
            unicodedata.normalize("NFKC", c).lower() for c in usable)
    # and each entry is what that code point folds to, with its class
    for c in usable:
        entry = int(table[ord(c)])
        folded = unicodedata.normalize("NFKC", c).lower()
        if entry >> _FOLD_CLASS & 3 == _SEPARATOR:
            assert entry & 0xFFFFFF == _SPACE and all(_classes()[ord(f)] == _SEPARATOR for f in folded)
        else:
            assert chr(entry & 0xFFFFFF) == folded and entry >> _FOLD_CLASS & 3 == _classes()[ord(folded)]


def test_without_the_extension_numpy_gives_the_same(monkeypatch):
    text = "Ｔｈｅ ﬁrst café — 東京タワー … " * 40
    native = MinHasher().text_signature(text, "en"), shingle_hashes(text, "en")
    for name in ("min_products", "text_hashes", "text_minima"):
        monkeypatch.setattr(minhash, name, None)
    assert np.array_equal(MinHasher().text_signature(text, "en"), native[0])
    assert np.array_equal(shingle_hashes(text, "en"), native[1])


@pytest.mark.parametrize("size", [*range(0, 40), 255, 256, 257, 1023, 4099])
def test_simd_minima_equal_the_scalar_loop(size):
    """minima's AVX-512 loop (where this CPU has it) gives the scalar loop's minima: sizes
    around its 16- and 8-wide steps and its scalar tail, hashes and multipliers at the extremes."""
    from pipeline.dedup import minhash

    if minhash.min_products is None:
        pytest.skip("minhash_native is not built here (no C compiler): numpy computes the minima")
    from pipeline.dedup import minhash_native

    if not minhash_native.simd():
        pytest.skip("this CPU has no AVX-512F/DQ: only the scalar loop runs")
    rng = np.random.default_rng(1000 + size)
    top = np.iinfo(np.uint64).max
    hashes = rng.integers(0, top, size=size, dtype=np.uint64, endpoint=True)
    hashes[: min(size, 2)] = [top, 1][: min(size, 2)]
    multipliers = rng.integers(0, top, size=37, dtype=np.uint64, endpoint=True)
    multipliers[:3] = [1, top, 0]
    zero_last = hashes.copy()  # a 0 hash (every product 0) in the last place: the tail counts
    zero_last[-1:] = 0
    for values in (hashes, zero_last):
        simd = minhash_native.min_products(multipliers, values)
        try:
            minhash_native.simd(False)
            assert not minhash_native.simd()
            scalar = minhash_native.min_products(multipliers, values)
        finally:
            minhash_native.simd(True)
        expected = ((multipliers[:, None] * values[None, :]).min(axis=1) >> np.uint64(32)
                    if size else np.full(37, 2**32 - 1, dtype=np.uint64))
        assert np.array_equal(simd, scalar) and np.array_equal(simd, expected)
