"""quality@1 (OBELICS paragraph and document rules), English and Chinese.

Three kinds of tests: signals computed by ``tag`` on small texts whose values are counted by
hand; every rule with a crafted document (or paragraph) just inside and just outside its
default threshold, tagged with the real filter and judged with ``SelectConfig()``; and the
select side alone on signals set directly, at the threshold and one step beyond.

Crafted texts use made-up words (random letters, never a stop word or flagged term) and, for
Chinese, distinct random Han characters that occur in no word list, so the only stop words,
punctuation and repetition in a text are the ones a test puts there.
"""

from __future__ import annotations

import copy
import random
from functools import partial

import numpy as np
import pytest

from filters.base import Verdict
from filters.ngrams import char_ids
from filters.quality import QualityFilter, char_counts
from filters.settings import FiltersConfig, SelectConfig, TextRules, zh_rules
from filters.text import char_classes
from schemas import Document, ImageNode, TextNode
from tests.filters.textdocs import Hanzi, Words, make_doc, tag_with

NAME = "quality@1"
tag = partial(tag_with, NAME)


# -- text builders ---------------------------------------------------------------------------------

STOP_EN = ("the", "of", "and", "to", "is")  # all English stop words
STOP_ZH = ("的", "了", "是")  # all Chinese stop words


def spread(n: int, k: int) -> list[bool]:
    """k of n positions, evenly spread."""
    return [(i + 1) * k // n > i * k // n for i in range(n)]


def en_tokens(words: Words, n: int, n_stop: int) -> list[str]:
    stops = iter(STOP_EN * n)
    return [next(stops) if s else words() for s in spread(n, n_stop)]


def zh_tokens(hanzi: Hanzi, n: int, n_stop: int) -> list[str]:
    stops = iter(STOP_ZH * n)
    return [next(stops) if s else hanzi() for s in spread(n, n_stop)]


def en_text(tokens: list[str], per: int = 10) -> str:
    """Sentences of ``per`` tokens, each ending in "."."""
    return " ".join(" ".join(tokens[i : i + per]) + "." for i in range(0, len(tokens), per))


def zh_text(tokens: list[str], per: int = 10) -> str:
    """Sentences of ``per`` characters, each ending in "。"."""
    return "".join("".join(tokens[i : i + per]) + "。" for i in range(0, len(tokens), per))


def en_good(words: Words, n: int = 20) -> str:
    return en_text(en_tokens(words, n, n // 2))


def zh_good(hanzi: Hanzi, n: int = 30) -> str:
    return zh_text(zh_tokens(hanzi, n, n // 5))


def judge(doc: Document, select: SelectConfig | None = None) -> tuple[Verdict | None, dict[int, Verdict]]:
    tag(doc)
    f = QualityFilter(FiltersConfig())
    select = select or SelectConfig()
    return f.select(doc, select), f.paragraphs(doc, select)


# -- signals by hand ---------------------------------------------------------------------------------

def test_paragraph_signals_of_an_english_sentence_by_hand():
    doc = make_doc("The cat sat on the mat.")
    tag(doc)
    # tokens the cat sat on the mat: 6; stop words the, on, the: 3; special: 5 spaces + "." of 23
    assert doc.nodes[0].signals == {"words": 6.0, "stopword_ratio": 0.5, "special_ratio": round(6 / 23, 4),
                                    "char_repetition": 0.0, "word_repetition": 0.0}


def test_paragraph_signals_of_a_chinese_sentence_by_hand():
    doc = make_doc("我们的学校很大。", language="zh")
    tag(doc)
    # 7 tokens (characters); stop words 我们 (2) 的 很: 4 characters; special "。" of 8 characters
    assert doc.nodes[0].signals == {"words": 7.0, "stopword_ratio": round(4 / 7, 4), "special_ratio": 0.125,
                                    "char_repetition": 0.0, "word_repetition": 0.0}


def test_repetition_signals_by_hand():
    doc = make_doc("a b c d e a b c d e", "abababababab", "甲乙丙丁戊甲乙丙丁戊甲")
    tag(doc)
    a, b, c = (n.signals for n in doc.nodes)
    # 5-grams of a b c d e a b c d e: (a b c d e) twice, 4 others once -> 2 / 6; no 10-character
    # window repeats (19 characters, the pattern's period is 10)
    assert (a["word_repetition"], a["char_repetition"]) == (round(2 / 6, 4), 0.0)
    # one token: no 5-gram; 10-grams ababababab x2, bababababa x1: distinct 2, k = 1 -> 2 / 3
    assert (b["word_repetition"], b["char_repetition"]) == (0.0, round(2 / 3, 4))
    # 11 characters: 5-grams 甲乙丙丁戊 x2, 乙丙丁戊甲 x2, 丙丁戊甲乙, 丁戊甲乙丙, 戊甲乙丙丁 -> 4 / 7;
    # 10-grams 甲乙丙丁戊甲乙丙丁戊, 乙丙丁戊甲乙丙丁戊甲 once each -> 0
    assert (c["word_repetition"], c["char_repetition"]) == (round(4 / 7, 4), 0.0)


def test_repetition_is_measured_inside_each_paragraph():
    # The same paragraph twice: nothing repeats inside either one, so both paragraphs are clean,
    # while the document as a whole repeats.
    text = "the quick brown fox jumps over the lazy dog today"
    doc = make_doc(text, text)
    tag(doc)
    assert [n.signals["word_repetition"] for n in doc.nodes] == [0.0, 0.0]
    assert [n.signals["char_repetition"] for n in doc.nodes] == [0.0, 0.0]
    assert doc.signals["quality.word_repetition"] > 0.5
    assert doc.signals["quality.char_repetition"] > 0.1


def test_document_signals_by_hand():
    doc = make_doc("The cat sat on the mat.", ImageNode("https://example.com/i.jpg"), "我们的学校很大。",
                   language="zh")
    tag(doc)
    s = doc.signals
    assert s["quality.words"] == 13.0
    assert s["quality.stopword_ratio"] == round((3 + 4) / 13, 4)
    assert s["quality.special_ratio"] == round((6 + 1) / (23 + 8), 4)
    assert s["quality.punctuation_ratio"] == round(2 / 13, 4)  # "." and "。"
    assert s["quality.char_repetition"] == 0.0 and s["quality.word_repetition"] == 0.0


def test_mixed_paragraph_counts_english_and_chinese_stop_words():
    doc = make_doc("the history of 北京的变化")
    tag(doc)
    # tokens: the history of 北 京 的 变 化 -> 8; stop words the, of, 的 -> 3
    assert doc.nodes[0].signals["stopword_ratio"] == round(3 / 8, 4)


def test_paragraph_without_tokens_has_zero_words_and_ratios():
    doc = make_doc("... !!! ———")
    tag(doc)
    assert doc.nodes[0].signals["words"] == 0.0
    assert doc.nodes[0].signals["stopword_ratio"] == 0.0
    assert doc.nodes[0].signals["special_ratio"] == 1.0
    assert doc.signals["quality.punctuation_ratio"] == 0.0  # no words: ratio 0, not a division error


def test_document_without_text_gets_no_signals():
    doc = make_doc(ImageNode("https://example.com/i.jpg"))
    tag(doc)
    assert doc.signals == {}
    assert QualityFilter(FiltersConfig()).select(doc, SelectConfig()) is None


def test_stop_words_come_from_the_configured_folder(tmp_path):
    (tmp_path / "stopwords_en.txt").write_text("cat\nmat\n", encoding="utf-8")
    doc = make_doc("The cat sat on the mat.")
    tag(doc, FiltersConfig(wordlists=str(tmp_path)))
    assert doc.nodes[0].signals["stopword_ratio"] == round(2 / 6, 4)


# -- document rules: crafted documents on both sides of each default threshold --------------------------

def en_doc_words(n: int) -> Document:
    w = Words(1)
    return make_doc(en_text(en_tokens(w, n, (n + 1) // 2)))


def zh_doc_words(n: int) -> Document:
    h = Hanzi(1)
    return make_doc(zh_text(zh_tokens(h, n, n // 5)), language="zh")


def long_doc(language: str, n: int) -> Document:
    """n tokens in paragraphs of 100 (no paragraph rule applies)."""
    sizes = [100] * (n // 100)
    sizes[-1] += n % 100
    if language == "en":
        w = Words(2)
        return make_doc(*(en_text(en_tokens(w, k, k // 2)) for k in sizes))
    h = Hanzi(2)
    return make_doc(*(zh_text(zh_tokens(h, k, k // 5)) for k in sizes), language="zh")


def stop_doc(language: str, n_stop: int) -> Document:
    """100 tokens of which ``n_stop`` are stop words."""
    if language == "en":
        return make_doc(en_text(en_tokens(Words(3), 100, n_stop)))
    return make_doc(zh_text(zh_tokens(Hanzi(3), 100, n_stop)), language="zh")


SPECIALS = "%&*+=~^|<>$@"  # special characters that are neither tokens nor sentence punctuation


def specials(n: int) -> str:
    return "".join(SPECIALS[i % len(SPECIALS)] for i in range(n))


def special_doc(language: str, extra: int) -> tuple[Document, float]:
    """A good paragraph plus ``extra`` special characters; returns the document and its
    special ratio counted by construction."""
    if language == "en":
        tokens = en_tokens(Words(4), 20, 10)
        text = en_text(tokens)
        special = 19 + 2  # spaces between 20 tokens, 2 periods
    else:
        tokens = zh_tokens(Hanzi(4), 20, 4)
        text = zh_text(tokens)
        special = 2  # 2 "。"
    assert len(text) == sum(map(len, tokens)) + special
    return make_doc(text + specials(extra), language=language), (special + extra) / (len(text) + extra)


def punctuation_doc(language: str, n: int) -> Document:
    """n tokens (100 or 101 in English, 150 or 151 in Chinese) in three sentences."""
    if language == "en":
        return make_doc(en_text(en_tokens(Words(5), n, n // 2), per=34))
    return make_doc(zh_text(zh_tokens(Hanzi(5), n, n // 5), per=51), language="zh")


EN_BOILERPLATE = "Click here to subscribe to our newsletter today."
ZH_BOILERPLATE = "本文来源于网络，版权归原作者所有，如有侵权请联系删除。"


def char_repetition_doc(language: str, m: int) -> Document:
    """Ten good paragraphs, the first m ending in the same boilerplate sentence."""
    if language == "en":
        w = Words(3)
        return make_doc(*((en_good(w) + (" " + EN_BOILERPLATE if i < m else "")) for i in range(10)))
    h = Hanzi(5)
    return make_doc(*((zh_text(zh_tokens(h, 60, 6)) + (ZH_BOILERPLATE if i < m else "")) for i in range(10)),
                    language="zh")


EN_PHRASE = ["x", "a", "y", "i", "z"]  # short tokens: many repeated 5-grams, few repeated 10-character windows


def word_repetition_doc(language: str, m: int) -> Document:
    """Good paragraphs, m of them with one copy of the same phrase between made-up words."""
    paragraphs = []
    if language == "en":
        w = Words(4)
        for i in range(10):
            tokens = en_tokens(w, 20, 10)
            if i < m:
                tokens[10:10] = EN_PHRASE
            if i + 10 < m:
                tokens[4:4] = EN_PHRASE
            paragraphs.append(en_text(tokens))
        return make_doc(*paragraphs)
    h = Hanzi(6)
    phrase = [h() for _ in range(10)]  # 6 repeated 5-grams per copy, one repeated 10-gram
    for i in range(20):
        tokens = zh_tokens(h, 15, 3)
        if i < m:
            tokens[2:2] = phrase  # between two made-up characters
        paragraphs.append(zh_text(tokens, per=15))
    return make_doc(*paragraphs, language="zh")


# (language, rule, signal, build(parameter) -> Document, passing parameter, failing parameter)
DOCUMENT_CASES = [
    ("en", "min_words", "quality.words", en_doc_words, 10, 9),
    ("zh", "min_words", "quality.words", zh_doc_words, 20, 19),
    ("en", "max_words", "quality.words", lambda n: long_doc("en", n), 2000, 2001),
    ("zh", "max_words", "quality.words", lambda n: long_doc("zh", n), 5000, 5001),
    ("en", "min_stopword_ratio", "quality.stopword_ratio", lambda k: stop_doc("en", k), 35, 34),
    ("zh", "min_stopword_ratio", "quality.stopword_ratio", lambda k: stop_doc("zh", k), 8, 7),
    ("en", "max_special_ratio", "quality.special_ratio", lambda j: special_doc("en", j)[0], 14, 15),
    ("zh", "max_special_ratio", "quality.special_ratio", lambda j: special_doc("zh", j)[0], 5, 6),
    ("en", "min_punctuation_ratio", "quality.punctuation_ratio", lambda n: punctuation_doc("en", n), 100, 101),
    ("zh", "min_punctuation_ratio", "quality.punctuation_ratio", lambda n: punctuation_doc("zh", n), 150, 151),
    ("en", "max_char_repetition", "quality.char_repetition", lambda m: char_repetition_doc("en", m), 3, 4),
    ("zh", "max_char_repetition", "quality.char_repetition", lambda m: char_repetition_doc("zh", m), 3, 4),
    ("en", "max_word_repetition", "quality.word_repetition", lambda m: word_repetition_doc("en", m), 13, 14),
    ("zh", "max_word_repetition", "quality.word_repetition", lambda m: word_repetition_doc("zh", m), 14, 15),
]


def rules_for(language: str) -> TextRules:
    return SelectConfig().rules(language)


def threshold_of(language: str, rule: str) -> float:
    return getattr(rules_for(language), rule)


@pytest.mark.parametrize("language, rule, signal, build, good, bad", DOCUMENT_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in DOCUMENT_CASES])
def test_document_rule_on_both_sides_of_its_threshold(language, rule, signal, build, good, bad):
    threshold = threshold_of(language, rule)
    kept = build(good)
    verdict, removed = judge(kept)
    value = kept.signals[signal]
    assert verdict is None and removed == {}, (value, verdict, removed)
    assert value >= threshold if rule.startswith("min_") else value <= threshold

    dropped = build(bad)
    verdict, _ = judge(dropped)
    value = dropped.signals[signal]
    assert verdict == Verdict(NAME, rule, signal, value, threshold)
    assert value < threshold if rule.startswith("min_") else value > threshold


def test_crafted_documents_hit_their_thresholds_exactly_where_counted():
    # The counts behind the crafted pairs above, by construction.
    doc = en_doc_words(9)
    tag(doc)
    assert doc.signals["quality.words"] == 9.0
    for language, good, bad in (("en", 35, 34), ("zh", 8, 7)):
        doc = stop_doc(language, good)
        tag(doc)
        assert doc.signals["quality.stopword_ratio"] == good / 100
        doc = stop_doc(language, bad)
        tag(doc)
        assert doc.signals["quality.stopword_ratio"] == bad / 100
    # English: 115 characters of which 21 special (19 spaces, 2 periods); Chinese: 22 of which 2
    for language, j, expected in (("en", 14, 35 / 129), ("en", 15, 36 / 130), ("zh", 5, 7 / 27), ("zh", 6, 8 / 28)):
        doc, ratio = special_doc(language, j)
        tag(doc)
        assert ratio == pytest.approx(expected) and doc.signals["quality.special_ratio"] == round(expected, 4)
    for language, n in (("en", 100), ("en", 101), ("zh", 150), ("zh", 151)):
        doc = punctuation_doc(language, n)
        tag(doc)
        assert doc.signals["quality.punctuation_ratio"] == round(3 / n, 4)
    for m in (14, 15):
        # Chinese phrase of 10 characters in m paragraphs: 6 repeated 5-grams per copy, 300 other
        # characters; the phrase sits between made-up characters, so nothing else repeats.
        doc = word_repetition_doc("zh", m)
        tag(doc)
        tokens = 300 + 10 * m
        assert doc.signals["quality.word_repetition"] == round(6 * m / (tokens - 4), 4)
    for m in (9, 10):
        # English phrase x a y i z between made-up words: one repeated 5-gram per copy; 40 + 6m tokens.
        doc = make_doc(word_repetition_paragraph("en", m))
        tag(doc)
        assert doc.nodes[0].signals["word_repetition"] == round(m / (40 + 6 * m - 4), 4)


# -- paragraph rules -----------------------------------------------------------------------------------

def short_paragraph(language: str, n: int) -> str:
    if language == "en":
        return en_text(en_tokens(Words(10), n, 2))
    return zh_text(zh_tokens(Hanzi(10), n, 1))


def long_paragraph(language: str, n: int) -> str:
    if language == "en":
        return en_text(en_tokens(Words(11), n, n // 2))
    return zh_text(zh_tokens(Hanzi(11), n, n // 5))


def stop_paragraph(language: str, n_stop: int) -> str:
    if language == "en":
        return en_text(en_tokens(Words(12), 100, n_stop))
    return zh_text(zh_tokens(Hanzi(12), 100, n_stop))


def special_paragraph(language: str, k: int) -> tuple[str, float]:
    """A paragraph and its special ratio counted by construction."""
    if language == "en":
        tokens = en_tokens(Words(13), 20, 10)
        text = en_text(tokens) + specials(k)  # 19 spaces, 2 periods
        special = 19 + 2 + k
    else:
        tokens = zh_tokens(Hanzi(13), 100 - k, 10)  # a "，" after each of the first k odd positions
        text = "".join(c + ("，" if i < 2 * k and i % 2 else "") for i, c in enumerate(tokens))
        special = k
    return text, special / len(text)


def char_repetition_paragraph(language: str, n: int) -> str:
    """English: 100 tokens with n copies of a URL (39 characters, 5 tokens). Chinese: n
    characters with two copies of a boilerplate sentence."""
    if language == "en":
        url = "www.example-newsletter-subscription.com"
        tokens = en_tokens(Words(14), 100, 50)
        for j in range(n):
            tokens.insert(5 + 10 * j, url)
        return " ".join(tokens)
    parts = zh_text(zh_tokens(Hanzi(14), n, n // 10), per=15).split("。")
    return "。".join(p + (ZH_BOILERPLATE if i < 2 else "") for i, p in enumerate(parts))


def word_repetition_paragraph(language: str, m: int) -> str:
    """m copies of one phrase, each between two made-up words (or characters), so only the
    phrase's own 5-grams repeat."""
    if language == "en":
        w = Words(15)
        tokens = en_tokens(w, 40, 20)  # made-up words at even positions
        for j in reversed(range(m)):
            tokens[4 * j + 1 : 4 * j + 1] = EN_PHRASE + [w()]
        return en_text(tokens)
    h = Hanzi(15)
    phrase = [h() for _ in range(10)]
    tokens = zh_tokens(h, 100, 10)
    for j in range(m):
        tokens[3 + 17 * j : 3 + 17 * j] = phrase
    return zh_text(tokens, per=20)


# (language, rule, signal, build(parameter) -> paragraph text, passing, failing)
PARAGRAPH_CASES = [
    ("en", "paragraph_min_words", "words", lambda n: short_paragraph("en", n), 4, 3),
    ("zh", "paragraph_min_words", "words", lambda n: short_paragraph("zh", n), 6, 5),
    ("en", "paragraph_max_words", "words", lambda n: long_paragraph("en", n), 1000, 1001),
    ("zh", "paragraph_max_words", "words", lambda n: long_paragraph("zh", n), 2500, 2501),
    ("en", "paragraph_min_stopword_ratio", "stopword_ratio", lambda k: stop_paragraph("en", k), 30, 29),
    ("zh", "paragraph_min_stopword_ratio", "stopword_ratio", lambda k: stop_paragraph("zh", k), 5, 4),
    ("en", "paragraph_max_special_ratio", "special_ratio", lambda k: special_paragraph("en", k)[0], 19, 20),
    ("zh", "paragraph_max_special_ratio", "special_ratio", lambda k: special_paragraph("zh", k)[0], 30, 31),
    ("en", "paragraph_max_char_repetition", "char_repetition", lambda m: char_repetition_paragraph("en", m), 2, 3),
    ("zh", "paragraph_max_char_repetition", "char_repetition", lambda n: char_repetition_paragraph("zh", n), 300, 285),
    ("en", "paragraph_max_word_repetition", "word_repetition", lambda m: word_repetition_paragraph("en", m), 9, 10),
    ("zh", "paragraph_max_word_repetition", "word_repetition", lambda m: word_repetition_paragraph("zh", m), 4, 5),
]


@pytest.mark.parametrize("language, rule, signal, build, good, bad", PARAGRAPH_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in PARAGRAPH_CASES])
def test_paragraph_rule_on_both_sides_of_its_threshold(language, rule, signal, build, good, bad):
    threshold = threshold_of(language, rule)
    filler = en_good(Words(99), 60) if language == "en" else zh_good(Hanzi(99), 40)

    doc = make_doc(filler, build(good), language=language)
    verdict, removed = judge(doc)
    value = doc.nodes[1].signals[signal]
    assert verdict is None and removed == {}, (value, verdict, removed)
    assert value >= threshold if "_min_" in rule else value <= threshold

    doc = make_doc(filler, build(bad), language=language)
    verdict, removed = judge(doc)
    value = doc.nodes[1].signals[signal]
    assert removed == {1: Verdict(NAME, rule, signal, value, threshold)}
    assert verdict is None, verdict  # the paragraph goes, the document stays
    assert value < threshold if "_min_" in rule else value > threshold


def test_crafted_paragraphs_have_their_counted_values():
    for language, k, ratio in (("en", 19, 40 / 134), ("en", 20, 41 / 135), ("zh", 30, 0.3), ("zh", 31, 0.31)):
        text, counted = special_paragraph(language, k)
        doc = make_doc(text, language=language)
        tag(doc)
        assert counted == pytest.approx(ratio) and doc.nodes[0].signals["special_ratio"] == round(ratio, 4)
    for language, k in (("en", 30), ("en", 29), ("zh", 5), ("zh", 4)):
        doc = make_doc(stop_paragraph(language, k), language=language)
        tag(doc)
        assert doc.nodes[0].signals["stopword_ratio"] == k / 100


def test_only_paragraph_kinds_in_select_are_judged():
    heading = TextNode("Contact", kind="heading")
    short_list = TextNode("a b", kind="list")
    doc = make_doc(en_good(Words(20), 30), heading, short_list)
    verdict, removed = judge(doc)
    assert verdict is None and set(removed) == {2}  # the 1-word heading stays, the 2-word list goes
    _, removed = judge(copy.deepcopy(doc), SelectConfig(paragraph_kinds=["paragraph"]))
    assert removed == {}


def test_stop_word_rules_apply_only_to_languages_with_a_stop_word_list():
    w = Words(21)
    text = en_text(en_tokens(w, 40, 0))  # no stop words at all
    for language, rule in (("en", "min_stopword_ratio"), ("zh", "min_stopword_ratio"), ("de", None)):
        doc = make_doc(text, language=language)
        verdict, removed = judge(doc)
        assert (verdict.rule if verdict else None) == rule
        assert bool(removed) == (rule is not None)


def test_languages_without_own_rules_use_the_english_thresholds():
    doc = make_doc(en_text(en_tokens(Words(22), 15, 7)), language="fr")
    verdict, _ = judge(doc)
    assert verdict is None  # 15 words: above en min_words 10, below zh min_words 20
    doc.language = "zh"
    assert QualityFilter(FiltersConfig()).select(doc, SelectConfig()).rule == "min_words"


# -- select alone, on signals set directly ----------------------------------------------------------------

DOC_RULES = [  # (rule, signal)
    ("min_words", "quality.words"), ("max_words", "quality.words"),
    ("min_stopword_ratio", "quality.stopword_ratio"), ("max_special_ratio", "quality.special_ratio"),
    ("min_punctuation_ratio", "quality.punctuation_ratio"), ("max_char_repetition", "quality.char_repetition"),
    ("max_word_repetition", "quality.word_repetition"),
]
PARAGRAPH_RULES = [
    ("paragraph_min_words", "words"), ("paragraph_max_words", "words"),
    ("paragraph_min_stopword_ratio", "stopword_ratio"), ("paragraph_max_special_ratio", "special_ratio"),
    ("paragraph_max_char_repetition", "char_repetition"), ("paragraph_max_word_repetition", "word_repetition"),
]


def beyond(rule: str, threshold: float) -> float:
    step = 1 if isinstance(threshold, int) else 0.0001
    return threshold - step if "min_" in rule else threshold + step


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("rule, signal", DOC_RULES)
def test_document_rule_from_signals_alone(language, rule, signal):
    threshold = threshold_of(language, rule)
    f = QualityFilter(FiltersConfig())
    at = make_doc(language=language)
    at.signals[signal] = float(threshold)
    assert f.select(at, SelectConfig()) is None
    out = make_doc(language=language)
    out.signals[signal] = beyond(rule, threshold)
    assert f.select(out, SelectConfig()) == Verdict(NAME, rule, signal, beyond(rule, threshold), threshold)


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("rule, signal", PARAGRAPH_RULES)
def test_paragraph_rule_from_signals_alone(language, rule, signal):
    threshold = threshold_of(language, rule)
    f = QualityFilter(FiltersConfig())
    doc = make_doc(TextNode("x", signals={signal: float(threshold)}),
                   TextNode("y", signals={signal: beyond(rule, threshold)}), language=language)
    assert f.paragraphs(doc, SelectConfig()) == {1: Verdict(NAME, rule, signal, beyond(rule, threshold), threshold)}


def test_chinese_thresholds_are_the_zh_rules():
    r = zh_rules()
    assert (r.paragraph_min_words, r.min_words, r.min_stopword_ratio, r.max_word_repetition) == (6, 20, 0.08, 0.2)
    assert SelectConfig().rules("zh") == r and SelectConfig().rules("en") == TextRules()


def test_first_failing_document_rule_is_reported():
    doc = make_doc()
    doc.signals.update({"quality.words": 5.0, "quality.stopword_ratio": 0.0, "quality.char_repetition": 0.9})
    assert QualityFilter(FiltersConfig()).select(doc, SelectConfig()).rule == "min_words"
    del doc.signals["quality.words"]
    assert QualityFilter(FiltersConfig()).select(doc, SelectConfig()).rule == "min_stopword_ratio"


def test_changed_thresholds_change_the_verdict_without_retagging():
    doc = make_doc(en_text(en_tokens(Words(30), 12, 6)))
    tag(doc)
    f = QualityFilter(FiltersConfig())
    signals = dict(doc.signals)
    assert f.select(doc, SelectConfig()) is None
    assert f.select(doc, SelectConfig(en=TextRules(min_words=13))) == Verdict(NAME, "min_words", "quality.words",
                                                                              12.0, 13)
    assert f.paragraphs(doc, SelectConfig(en=TextRules(paragraph_min_words=13)))[0].rule == "paragraph_min_words"
    assert f.select(doc, SelectConfig(en=TextRules(max_special_ratio=0.1))).rule == "max_special_ratio"
    assert doc.signals == signals  # select reads signals only


def test_missing_signals_never_fail():
    doc = make_doc(TextNode("untagged paragraph"))
    f = QualityFilter(FiltersConfig())
    assert f.select(doc, SelectConfig()) is None and f.paragraphs(doc, SelectConfig()) == {}


# -- character counts ------------------------------------------------------------------------------

def test_char_counts_are_the_classes_of_the_joined_code_points():
    rng = random.Random(11)
    pool = ["a", "Z", " ", "\n", ".", "!", "1", "#", "…", "。", "中", "é", "ß", "\u00a0", "😀", "𠮷", "\U0010ffff",
            "\U000e0001", "ー", "＄", "\x00", "\ufffd"]
    cases = [[], [""], ["", "", ""], ["plain ascii.", "", "latin-1: café", "ucs-2: 中文。", "ucs-4: 😀𠮷!"]]
    cases += [["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(rng.randint(1, 8))]
              for _ in range(300)]
    for texts in cases:
        chars, n_special, all_special, all_punctuation = char_counts(texts)
        expected = char_ids("".join(texts))
        special, punctuation = char_classes(expected)
        assert chars.dtype == np.int64 and chars.tolist() == expected.tolist(), texts
        bounds = np.cumsum([0] + list(map(len, texts)))
        assert n_special == [int(special[a:b].sum()) for a, b in zip(bounds[:-1], bounds[1:])], texts
        assert (all_special, all_punctuation) == (int(special.sum()), int(punctuation.sum())), texts
