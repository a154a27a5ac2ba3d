"""filters/wordlists.py: shipped lists, folder overrides, the term matcher and stop words."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filters.text import CJK_CHAR, TextView, tokenize
from filters.wordlists import (
    SHIPPED,
    StopWords,
    TermMatcher,
    list_path,
    load_terms,
    matcher,
)
from schemas import ImageNode
from tests.filters.textdocs import make_doc

LISTS = ["stopwords_en", "stopwords_zh", "adult_en", "adult_zh", "gambling_en", "gambling_zh", "spam_en", "spam_zh"]


def count(m: TermMatcher, text: str) -> tuple[int, list[str]]:
    return m.count(text, tokenize(text))


# -- lists ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", LISTS)
def test_every_list_the_filters_need_is_shipped_and_clean(name):
    path = list_path(name)
    assert path == SHIPPED / f"{name}.txt"
    terms = load_terms(str(path))
    assert len(terms) >= 20
    assert all(t == t.strip().lower() and not t.startswith("#") for t in terms)
    if name.endswith("_en"):
        assert not any(CJK_CHAR.search(t) for t in terms)
    else:
        assert sum(1 for t in terms if CJK_CHAR.search(t)) >= 0.9 * len(terms)


def test_well_known_terms_are_listed():
    assert {"the", "of", "and", "is"} <= set(load_terms(str(list_path("stopwords_en"))))
    assert {"的", "了", "是", "我们"} <= set(load_terms(str(list_path("stopwords_zh"))))
    assert {"六合彩", "博彩", "百家乐"} <= set(load_terms(str(list_path("gambling_zh"))))
    assert "casino" in load_terms(str(list_path("gambling_en")))
    assert "viagra" in load_terms(str(list_path("spam_en")))


def test_flagged_chinese_lists_hold_no_single_characters():
    # Chinese terms match as substrings: one character would hit ordinary words.
    for name in ("adult_zh", "gambling_zh", "spam_zh"):
        assert not [t for t in load_terms(str(list_path(name))) if len(t) == 1], name


def test_folder_overrides_a_list_by_file_name_and_falls_back_to_the_shipped_one(tmp_path):
    (tmp_path / "gambling_en.txt").write_text("# mine\nPachinko\n\npachinko\nlucky draw\n", encoding="utf-8")
    assert list_path("gambling_en", str(tmp_path)) == tmp_path / "gambling_en.txt"
    assert load_terms(str(list_path("gambling_en", str(tmp_path)))) == ("pachinko", "lucky draw")
    assert list_path("adult_en", str(tmp_path)) == SHIPPED / "adult_en.txt"
    assert list_path("adult_en", None) == SHIPPED / "adult_en.txt"


def test_unknown_list_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="nonsense_xx"):
        list_path("nonsense_xx", str(tmp_path))


def test_matcher_is_built_from_the_override_folder(tmp_path):
    (tmp_path / "spam_en.txt").write_text("miracle pill\n", encoding="utf-8")
    m = matcher("spam_en", str(tmp_path))
    assert count(m, "Buy the Miracle Pill now") == (2, ["miracle pill"])
    assert count(m, "buy viagra now")[0] == 0  # the shipped list is replaced, not extended


# -- TermMatcher ----------------------------------------------------------------------------------

def test_latin_terms_match_whole_tokens_case_insensitively():
    m = TermMatcher(("casino",))
    assert count(m, "Casino night at the CASINO") == (2, ["casino", "casino"])
    assert count(m, "casinos and pre-casino bars")[0] == 1  # "casinos" is another token; "pre-casino" splits
    assert count(m, "minicasino")[0] == 0


def test_phrases_match_consecutive_tokens_and_count_their_tokens():
    m = TermMatcher(("online casino", "casino"))
    assert count(m, "best online casino, then another casino") == (3, ["online casino", "casino"])
    assert count(m, "online, casino") == (2, ["online casino"])  # tokens are consecutive across punctuation
    assert count(m, "online")[0] == 0


def test_matches_do_not_overlap():
    m = TermMatcher(("a b", "b c"))
    assert count(m, "a b c") == (2, ["a b"])


def test_longer_phrase_wins_over_its_prefix_whatever_the_list_order():
    # spam_en lists "buy essay" before "buy essay online"
    for terms in (("no deposit", "no deposit bonus"), ("no deposit bonus", "no deposit")):
        m = TermMatcher(terms)
        assert count(m, "no deposit bonus") == (3, ["no deposit bonus"])
        assert count(m, "no deposit, no bonus") == (2, ["no deposit"])


def test_cjk_terms_match_substrings_longest_first_and_count_characters():
    m = TermMatcher(("博彩", "博彩公司", "六合彩"))
    assert count(m, "这家博彩公司推出六合彩") == (7, ["博彩公司", "六合彩"])
    assert count(m, "博彩博彩") == (4, ["博彩", "博彩"])
    assert count(m, "今天天气很好")[0] == 0


def test_cjk_and_latin_terms_in_one_list_both_count():
    m = TermMatcher(("百家乐", "baccarat"))
    assert count(m, "Baccarat 百家乐") == (4, ["百家乐", "baccarat"])


def test_term_made_of_punctuation_only_is_ignored():
    m = TermMatcher(("---", "casino"))
    assert count(m, "--- casino ---") == (1, ["casino"])


def test_mixed_latin_and_cjk_term_counts_its_tokens():
    # a CJK term counts its tokens: "av电影" is av, 电, 影, not 4 characters
    text = "av电影"
    assert count(TermMatcher(("av电影",)), text)[0] == len(tokenize(text)) == 3


# A view's paragraphs at once must give every paragraph's own matches: phrases never reach
# across paragraphs, CJK terms are found per paragraph, words count once per occurrence.
VIEW_TERMS = ("online casino", "casino", "no deposit bonus", "no deposit", "a b", "b c", "bonus",
              "博彩", "博彩公司", "百家乐", "av电影")
PIECES = ["online", "casino", "no", "deposit", "bonus", "a", "b", "c", "x", "Casino", "ONLINE",
          "博彩", "公司", "百家乐", "av电影", "电影", "⼀", ",", ".", " ", " ", "\n"]


def per_paragraph_matches(m: TermMatcher, view: TextView) -> Counter:
    return Counter(hit for p in view.paragraphs for hit in m.matches(p.text, p.tokens))


def test_view_matches_keep_phrases_inside_their_paragraph():
    m = TermMatcher(VIEW_TERMS)
    view = TextView.of(make_doc("best online", "casino here, no deposit", ImageNode("https://e.com/1.png"),
                                "bonus online casino 博彩公司", ""))
    # "online" | "casino" and "deposit" | "bonus" are split by a paragraph end: no phrase
    assert Counter(m.view_matches(view)) == per_paragraph_matches(m, view) == Counter([
        ("casino", 1), ("no deposit", 2), ("bonus", 1), ("online casino", 2), ("博彩公司", 4)])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join), max_size=5))
def test_view_matches_equal_the_matches_of_every_paragraph(paragraphs):
    m = TermMatcher(VIEW_TERMS)
    view = TextView.of(make_doc(*paragraphs))
    assert Counter(m.view_matches(view)) == per_paragraph_matches(m, view)


# -- StopWords ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stop() -> StopWords:
    return StopWords()


def stop_count(sw: StopWords, text: str) -> int:
    tokens = tokenize(text)
    return sw.count(text, tokens, len(CJK_CHAR.findall(text)))


def test_english_stop_words_are_whole_tokens(stop):
    # the, of, and, is, what, it's, about -> 7 ("theory" and "offers" are not "the" / "of")
    assert stop_count(stop, "The theory of offers and prices is what it's about") == 7


def test_chinese_stop_words_count_their_characters(stop):
    # 我们 (2) 的 (1) 是 (1) 了 (1)
    assert stop_count(stop, "我们的学校是新建了") == 5
    assert stop_count(stop, "学校新建") == 0


def test_mixed_paragraph_counts_both_languages(stop):
    # the, of / 的, 了
    assert stop_count(stop, "the history of 北京的变化了") == 4


def test_english_words_are_not_counted_when_every_token_is_cjk(stop):
    # The English list is skipped for all-CJK paragraphs (len(tokens) == n_cjk).
    assert stop.count("的的", ["the", "of"], 2) == 2


def test_typographic_apostrophe_contractions_are_stop_words(stop):
    assert stop_count(stop, "it's") == 1
    assert stop_count(stop, "it’s") == 1  # U+2019 is folded to ' by tokenize


def test_stop_words_from_an_override_folder(tmp_path):
    (tmp_path / "stopwords_en.txt").write_text("foo\n", encoding="utf-8")
    (tmp_path / "stopwords_zh.txt").write_text("之乎\n者\n", encoding="utf-8")
    sw = StopWords(str(tmp_path))
    assert stop_count(sw, "foo the bar") == 1
    assert stop_count(sw, "之乎者也的") == 3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["the", "of", "The", "it’s", "theory", "我们", "的", "学校", "了", "x", "1",
                                           " ", "\n", "。"]), max_size=12).map("".join), max_size=5))
def test_count_view_equals_count_per_paragraph(paragraphs):
    sw = StopWords()
    view = TextView.of(make_doc(*paragraphs))
    assert sw.count_view(view) == [sw.count(p.text, p.tokens, p.n_cjk) for p in view.paragraphs]
