"""filters/text.py: one tokeniser for English and Chinese, the shared TextView and the
special / punctuation counts the quality rules divide."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filters.text import (
    _PUNCTUATION_RE,
    _SPECIAL_RE,
    CJK_CHAR,
    SENTENCE_END,
    TOKEN,
    TextView,
    char_classes,
    count_special,
    normalize,
    tokenize,
    tokenize_counted,
)
from schemas import ImageNode, TextNode
from tests.filters.textdocs import make_doc

# -- tokenize -------------------------------------------------------------------------------------

def test_latin_words_are_lowercased_tokens_with_inner_apostrophes_and_digits():
    assert tokenize("Don't STOP, covid19 is over!") == ["don't", "stop", "covid19", "is", "over"]


def test_typographic_apostrophe_is_folded_inside_the_token():
    assert tokenize("It’s fine, don’t worry") == ["it's", "fine", "don't", "worry"]


def test_underscores_hyphens_and_dots_separate_tokens():
    assert tokenize("hello_world x-ray 3.5 e-mail") == ["hello", "world", "x", "ray", "3", "5", "e", "mail"]


def test_every_cjk_character_is_a_token_of_its_own():
    assert tokenize("我们的车") == ["我", "们", "的", "车"]
    assert tokenize("東京タワー") == ["東", "京", "タ", "ワ", "ー"]  # Han and katakana
    assert tokenize("한국어") == ["한", "국", "어"]  # hangul syllables
    assert tokenize("𠮷野家") == ["𠮷", "野", "家"]  # Han extension B (outside the BMP)


def test_mixed_chinese_and_latin_text_needs_no_language_switch():
    assert tokenize("2020年iPhone销量") == ["2020", "年", "iphone", "销", "量"]


def test_cjk_and_ascii_punctuation_are_not_tokens():
    assert tokenize("你好，世界。「引号」！?...—") == ["你", "好", "世", "界", "引", "号"]
    assert tokenize("") == [] and tokenize(" \n\t ") == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab c'’-_.,我们的。！ 1") + ["\n"]), max_size=40))
def test_tokens_hold_no_space_or_punctuation_and_cjk_characters_come_one_by_one(text):
    tokens = tokenize(text)
    for token in tokens:
        assert token and not any(ch in token for ch in " \n-_.,。！")
        assert not token.startswith(("'", "’")) and not token.endswith(("'", "’"))
        if CJK_CHAR.search(token):
            assert len(token) == 1
    assert sum(1 for t in tokens if CJK_CHAR.match(t)) == len(CJK_CHAR.findall(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZ9 '’_-.ＡＢ我們的カー한ｶ⼀𠮷，。") + ["\n", "\u00a0"]), max_size=30))
def test_tokenize_fast_path_equals_the_token_regex(text):
    # tokenize splits word runs first and re-splits runs holding CJK: same tokens as TOKEN.
    assert tokenize(text) == TOKEN.findall(normalize(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZ9 '’_-.ＡＢ我們的カー한ｶ⼀㊀ﬁß") + ["\n"]), max_size=30))
def test_ascii_shortcut_equals_the_normalising_path(text):
    # ASCII text skips NFKC and the CJK pass: it must tokenise as if it had taken them.
    tokens, n_cjk = tokenize_counted(text)
    assert tokens == TOKEN.findall(normalize(text))
    assert n_cjk == sum(1 for t in tokens if CJK_CHAR.match(t))


@pytest.mark.parametrize("text", ["東京・大阪", "゠テスト"])
def test_tokenize_equals_the_token_regex_for_punctuation_in_the_kana_block(text):
    # ・ (U+30FB) and ゠ (U+30A0) sit in the katakana block but are punctuation: not tokens.
    assert tokenize(text) == TOKEN.findall(normalize(text))
    assert "・" not in tokenize(text) and "゠" not in tokenize(text)


# -- special characters and punctuation ----------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Hi, 3 cats!", 5),  # "," " " "3" " " "!"
    ("abc", 0),
    ("你好，世界。", 2),  # "，" "。"
    ("（注：2020年）", 7),  # "（" "：" "2" "0" "2" "0" "）"
    ("a\u00a0b\u3000c", 2),  # no-break space, ideographic space
    ("ok 😀👍", 3),  # " " and two emoji
    ("★ “quoted” — §3", 9),  # ★ " " “ ” " " — " " § 3
])
def test_count_special_by_hand(text, expected):
    assert count_special(text) == expected


def test_han_extension_b_characters_are_not_special():
    # The emoji range must stop below CJK extension B-F (U+20000-U+2FA1F), which are Han.
    assert count_special("𠮷野家") == 0
    assert count_special("🀄🧧") == 2


def test_char_classes_agree_with_the_regexes_on_every_code_point():
    everything = "".join(map(chr, range(0x110000)))
    special, punctuation = char_classes(np.arange(0x110000, dtype=np.uint64))
    assert special.nonzero()[0].tolist() == [m.start() for m in _SPECIAL_RE.finditer(everything)]
    assert punctuation.nonzero()[0].tolist() == [m.start() for m in _PUNCTUATION_RE.finditer(everything)]


def test_paragraph_counts_sentence_punctuation_latin_and_cjk():
    doc = make_doc(TextNode("Wait... what?! Yes, sure."), TextNode("你好，世界！真的吗？是的。"))
    view = TextView.of(doc)
    # ... = 3, ? ! = 2, "," and "." = 2
    assert view.paragraphs[0].n_punctuation == 7
    # ， ！ ？ 。
    assert view.paragraphs[1].n_punctuation == 4
    assert view.paragraphs[0].n_special == 10  # 7 punctuation + 3 spaces
    assert view.paragraphs[1].n_special == 4


def test_sentence_end_counts_latin_and_cjk_sentences():
    assert len(SENTENCE_END.findall("One. Two! Three? Four")) == 3
    assert len(SENTENCE_END.findall("3.5 percent. e.g.")) == 2  # a decimal point ends no sentence
    assert len(SENTENCE_END.findall("第一句。第二句！第三句？")) == 3
    assert len(SENTENCE_END.findall("He said \"stop.\" Then left.")) == 2


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list(".!?。！？ \n\"'”’）)a")), max_size=12), min_size=1, max_size=4))
def test_sentence_end_equals_its_plain_form_per_paragraph_and_over_the_joined_text(paragraphs):
    # SENTENCE_END is written to start with one character class (fast); it must find what the
    # plain pattern finds, and c4 counts it once over the paragraphs joined by "\n\n".
    plain = re.compile(r"[.!?。！？]+(?=\s|$|[\"'”’）)])|[。！？]")
    for text in paragraphs:
        assert SENTENCE_END.findall(text) == plain.findall(text)
    assert len(SENTENCE_END.findall("\n\n".join(paragraphs))) == sum(len(plain.findall(t)) for t in paragraphs)


# -- TextView ---------------------------------------------------------------------------------------

def test_text_view_keeps_node_indices_and_skips_images():
    doc = make_doc(
        TextNode("The quick fox."),
        ImageNode("https://example.com/1.jpg"),
        TextNode("我们的车。", kind="list"),
        ImageNode("https://example.com/2.jpg"),
        TextNode("  line one \n\n line two\n"),
    )
    view = TextView.of(doc)
    assert [p.index for p in view.paragraphs] == [0, 2, 4]
    assert view.paragraphs[1].node is doc.nodes[2]
    assert view.text == "The quick fox.\n\n我们的车。\n\n  line one \n\n line two\n"
    assert view.tokens == ["the", "quick", "fox", "我", "们", "的", "车", "line", "one", "line", "two"]
    assert view.n_words == 11
    assert view.n_cjk == 4
    assert view.cjk_fraction == pytest.approx(4 / 11)
    assert view.paragraphs[1].cjk_fraction == 1.0
    assert view.paragraphs[0].cjk_fraction == 0.0
    assert view.lines == ["The quick fox.", "我们的车。", "line one", "line two"]


def test_full_width_latin_is_normalised():
    assert tokenize("ＣＡＳＩＮＯ ｏｎｌｉｎｅ") == ["casino", "online"]


def test_cjk_count_matches_the_cjk_tokens_after_normalisation():
    # Half-width katakana and Kangxi radicals (common in Chinese text extracted from PDFs,
    # e.g. "⽤" for "用") become CJK tokens under NFKC: n_cjk must count them.
    view = TextView.of(make_doc(TextNode("ｶﾀｶﾅ ⼀二三")))
    assert view.tokens == ["カ", "タ", "カ", "ナ", "一", "二", "三"]
    assert view.n_cjk == 7 and view.cjk_fraction == 1.0


def test_text_view_of_a_document_without_text():
    view = TextView.of(make_doc(ImageNode("https://example.com/1.jpg")))
    assert view.paragraphs == [] and view.tokens == [] and view.text == ""
    assert view.n_words == 0 and view.cjk_fraction == 0.0 and view.lines == []


def test_empty_paragraph_has_no_tokens_and_zero_cjk_fraction():
    view = TextView.of(make_doc(TextNode("")))
    assert view.paragraphs[0].n_words == 0 and view.paragraphs[0].cjk_fraction == 0.0


def test_vocabulary_arrays_of_a_view():
    view = TextView.of(make_doc(TextNode("the cat and the 42 hats"), TextNode("The cat, 的的")))
    assert view.vocab == ["the", "cat", "and", "42", "hats", "的"]
    assert view.token_ids.tolist() == [0, 1, 2, 0, 3, 4, 0, 1, 5, 5]
    assert view.token_groups.tolist() == [0] * 6 + [1] * 4
    assert view.token_lengths.tolist() == [3, 3, 3, 3, 2, 4, 3, 3, 1, 1]
    assert view.token_values(str.isdigit).tolist() == [False] * 4 + [True] + [False] * 5
    assert view.vocab_values(len, np.int64).tolist() == [3, 3, 3, 2, 4, 1]


def test_vocabulary_arrays_of_a_view_without_tokens():
    view = TextView.of(make_doc(TextNode(""), ImageNode("https://example.com/1.jpg")))
    assert view.vocab == [] and len(view.token_ids) == 0 and len(view.token_groups) == 0
    assert len(view.token_lengths) == 0 and len(view.token_values(str.isdigit)) == 0


def test_view_arrays_agree_with_its_tokens():
    """The arrays a view is made with (by the C scan, compiled) are those of its tokens."""
    doc = make_doc(TextNode("The 42 cats, ４２ ＣＡＴＳ… it’s İstanbul ΟΔΟΣ ㍿"), ImageNode("https://example.com/1.jpg"),
                   TextNode(""), TextNode("中文 the ２０２４ 年 x²"))
    view = TextView.of(doc)
    tokens = view.tokens
    assert tokens == [t for p in view.paragraphs for t in tokenize(p.text)]
    assert view.token_groups.tolist() == [g for g, p in enumerate(view.paragraphs) for _ in range(p.n_words)]
    assert view.token_lengths.tolist() == list(map(len, tokens))
    assert view.vocab_counts.tolist() == [tokens.count(t) for t in view.vocab]
    assert view.n_digit_tokens == sum(map(str.isdigit, tokens)) and view.n_words == len(tokens)
    assert [p.normalized for p in view.paragraphs] == [normalize(p.text) for p in view.paragraphs]


def test_view_of_loose_texts():
    view = TextView.of_texts(["A Title", "", "猫の写真"])
    assert view.doc is None and [p.index for p in view.paragraphs] == [0, 1, 2]
    assert view.tokens == ["a", "title", "猫", "の", "写", "真"] and view.n_cjk == 4
    assert view.text == "A Title\n\n\n\n猫の写真"
