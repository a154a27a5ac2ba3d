"""flagged@1: adult, gambling and spam vocabulary, English and Chinese.

A category drops a document when its matched tokens / all tokens is above
``max_flagged_ratio`` (en 0.01, zh 0.005) and it has at least ``min_flagged_terms`` matches
(en 2, zh 1). Every crafted document sits just inside or just outside one of the two.
"""

from __future__ import annotations

import random
from functools import partial
from pathlib import Path

import pytest

from filters.base import Verdict
from filters.flagged import CATEGORIES, FlaggedFilter, category_matcher
from filters.settings import FiltersConfig, SelectConfig, TextRules, zh_rules
from filters.text import TextView, tokenize
from filters.wordlists import list_path, load_terms
from schemas import Document, ImageNode
from tests.filters.textdocs import make_doc, tag_with

NAME = "flagged@1"
tag = partial(tag_with, NAME)
EN_TERMS = {"adult": "porn", "gambling": "casino", "spam": "viagra"}
ZH_TERMS = {"adult": "色情", "gambling": "六合彩", "spam": "代开发票"}

_FLAGGED_CHARS = {c for cat in CATEGORIES for lang in ("en", "zh")
                  for t in load_terms(str(list_path(f"{cat}_{lang}"))) for c in t}
HANZI = [chr(c) for c in range(0x4E00, 0x9FA6) if chr(c) not in _FLAGGED_CHARS]
random.Random(0).shuffle(HANZI)


def en_page(n_tokens: int, terms: list[str]) -> str:
    """``n_tokens`` tokens: the one-word ``terms`` spread between filler words."""
    filler = [f"w{i}" for i in range(n_tokens - len(terms))]
    step = max(1, len(filler) // (len(terms) + 1))
    for j, term in enumerate(terms):
        filler.insert(step * (j + 1) + j, term)
    return " ".join(filler) + "."


def zh_page(n_tokens: int, terms: list[str]) -> str:
    """``n_tokens`` characters: ``terms`` spread between characters that occur in no list."""
    filler = HANZI[: n_tokens - sum(map(len, terms))]
    step = max(1, len(filler) // (len(terms) + 1))
    out = list(filler)
    for j, term in enumerate(terms):
        out.insert(step * (j + 1) + j, term)
    return "".join(out) + "。"


def judge(doc: Document, select: SelectConfig | None = None) -> Verdict | None:
    tag(doc)
    return FlaggedFilter(FiltersConfig()).select(doc, select or SelectConfig())


def wordlists(folder: Path, **lists: str) -> FiltersConfig:
    """Settings reading the flagged lists from ``folder``: every list empty except ``lists``
    (name -> file text)."""
    names = [f"{c}_{lang}" for c in CATEGORIES for lang in ("en", "zh")]
    assert set(lists) <= set(names), lists
    for name in names:
        (folder / f"{name}.txt").write_text(lists.get(name, ""), encoding="utf-8")
    return FiltersConfig(wordlists=str(folder))


# -- signals by hand ---------------------------------------------------------------------------------

def test_signals_by_hand():
    doc = make_doc("Play at the online casino and win. Then viagra appeared.", language="en")
    s = tag(doc)
    # 10 tokens: "online casino" (2 tokens, 1 term), "viagra" (1)
    assert s == {"flagged.adult": 0.0, "flagged.adult_terms": 0.0,
                 "flagged.gambling": 0.2, "flagged.gambling_terms": 1.0,
                 "flagged.spam": 0.1, "flagged.spam_terms": 1.0}


def test_chinese_terms_count_their_characters():
    s = tag(make_doc("六合彩和百家乐。今天下雨。", language="zh"))
    # 11 characters: 六合彩 (3) 百家乐 (3)
    assert (s["flagged.gambling"], s["flagged.gambling_terms"]) == (round(6 / 11, 4), 2.0)


def test_title_alt_text_and_captions_are_counted():
    doc = make_doc("A quiet page about gardening tools", ImageNode("https://example.com/i.jpg", alt="casino chips",
                                                                   caption="Viagra"), title="Best Casino")
    s = tag(doc)
    # tokens: title 2 + alt 2 + caption 1 + text 6 = 11; casino twice, viagra once
    assert (s["flagged.gambling"], s["flagged.gambling_terms"]) == (round(2 / 11, 4), 2.0)
    assert (s["flagged.spam"], s["flagged.spam_terms"]) == (round(1 / 11, 4), 1.0)


def test_full_width_and_upper_case_spellings_are_normalised():
    s = tag(make_doc("ＣＡＳＩＮＯ and Casino night"))
    assert s["flagged.gambling_terms"] == 2.0


def test_term_listed_for_english_and_chinese_counts_once(tmp_path):
    # bet365 is in both gambling_en and gambling_zh; both lists run on every page.
    config = wordlists(tmp_path, gambling_en="bet365\n", gambling_zh="bet365\n六合彩\n")
    s = tag(make_doc(en_page(100, ["bet365"])), config)
    assert (s["flagged.gambling"], s["flagged.gambling_terms"]) == (0.01, 1.0)


def test_term_in_two_categories_counts_for_the_first(tmp_path):
    config = wordlists(tmp_path, gambling_en="jackpot bonus\n", spam_en="jackpot bonus\n")
    s = tag(make_doc("claim your jackpot bonus"), config)
    assert (s["flagged.gambling"], s["flagged.spam"]) == (0.5, 0.0)


def test_english_lists_run_on_chinese_pages_and_chinese_lists_on_english_pages():
    s = tag(make_doc("这个网站有 porn 内容", language="zh"))
    assert s["flagged.adult_terms"] == 1.0
    s = tag(make_doc("Results of 六合彩 today", language="en"))
    assert s["flagged.gambling_terms"] == 1.0


def test_document_without_tokens_gets_no_signals():
    doc = make_doc("... !!!")
    assert tag(doc) == {} and judge(doc) is None


def test_word_lists_from_the_configured_folder(tmp_path):
    s = tag(make_doc("pachinko casino"), wordlists(tmp_path, gambling_en="pachinko\n"))
    assert (s["flagged.gambling"], s["flagged.gambling_terms"]) == (0.5, 1.0)


# -- both sides of the thresholds ---------------------------------------------------------------------

@pytest.mark.parametrize("category", CATEGORIES)
def test_english_ratio_threshold(category):
    term = EN_TERMS[category]
    kept = make_doc(en_page(200, [term, term]))  # 2 / 200 = 0.01
    assert judge(kept) is None and kept.signals[f"flagged.{category}"] == 0.01
    dropped = make_doc(en_page(199, [term, term]))  # 2 / 199 = 0.01005
    verdict = judge(dropped)
    assert verdict == Verdict(NAME, category, f"flagged.{category}", round(2 / 199, 4), 0.01)
    assert verdict.value > 0.01


@pytest.mark.parametrize("category", CATEGORIES)
def test_english_needs_two_matches(category):
    term = EN_TERMS[category]
    one = make_doc(en_page(50, [term]))  # 0.02: above the ratio, but one chance mention
    assert judge(one) is None and one.signals[f"flagged.{category}"] == 0.02
    two = make_doc(en_page(100, [term, term]))  # 0.02 with two matches
    assert judge(two) == Verdict(NAME, category, f"flagged.{category}", 0.02, 0.01)


@pytest.mark.parametrize("category", CATEGORIES)
def test_chinese_ratio_threshold(category):
    term = ZH_TERMS[category]
    kept_size = round(len(term) / 0.005)  # exactly 0.005
    kept = make_doc(zh_page(kept_size, [term]), language="zh")
    assert judge(kept) is None and kept.signals[f"flagged.{category}"] == 0.005
    assert kept.signals[f"flagged.{category}_terms"] == 1.0  # one match is enough in Chinese
    # The signal is rounded to 4 decimals: the first size above the threshold once rounded.
    size = kept_size
    while round(len(term) / size, 4) <= 0.005:
        size -= 1
    dropped = make_doc(zh_page(size, [term]), language="zh")
    verdict = judge(dropped)
    assert verdict == Verdict(NAME, category, f"flagged.{category}", round(len(term) / size, 4), 0.005)
    assert verdict.value > 0.005


def test_chinese_gambling_spam_versus_news():
    spam = make_doc("六合彩开奖结果，博彩公司推荐百家乐，在线投注送彩金。", language="zh",
                    title="香港六合彩资料大全")
    verdict = judge(spam)
    assert verdict is not None and verdict.rule == "gambling" and verdict.value > 0.2
    news = make_doc("市议会周二晚上批准了公共图书馆的新预算，这笔资金将用于购买新书和延长开放时间。"
                    "馆长表示，读者数量在过去一年里增加了百分之十五。", language="zh", title="图书馆获得新预算")
    assert judge(news) is None
    assert all(news.signals[f"flagged.{c}"] == 0.0 for c in CATEGORIES)


def test_first_category_over_its_limits_is_the_rule():
    doc = make_doc(en_page(20, ["porn", "porn", "casino", "casino"]))
    assert judge(doc).rule == "adult"


# -- select alone ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, rules", [("en", TextRules()), ("zh", zh_rules())])
@pytest.mark.parametrize("category", CATEGORIES)
def test_select_from_signals_alone(language, rules, category):
    f = FlaggedFilter(FiltersConfig())
    doc = make_doc(language=language)
    limit, terms = rules.max_flagged_ratio, float(rules.min_flagged_terms)
    doc.signals.update({f"flagged.{category}": limit, f"flagged.{category}_terms": terms})
    assert f.select(doc, SelectConfig()) is None
    doc.signals[f"flagged.{category}"] = limit + 0.0001
    assert f.select(doc, SelectConfig()) == Verdict(NAME, category, f"flagged.{category}", limit + 0.0001, limit)
    doc.signals[f"flagged.{category}_terms"] = terms - 1
    assert f.select(doc, SelectConfig()) is None


def test_changed_thresholds_change_the_verdict_without_retagging():
    doc = make_doc(en_page(200, ["casino", "casino"]))
    tag(doc)
    signals = dict(doc.signals)
    f = FlaggedFilter(FiltersConfig())
    assert f.select(doc, SelectConfig()) is None
    assert f.select(doc, SelectConfig(en=TextRules(max_flagged_ratio=0.005))).rule == "gambling"
    assert f.select(doc, SelectConfig(en=TextRules(max_flagged_ratio=0.005, min_flagged_terms=3))) is None
    assert doc.signals == signals


# -- the title, alt text and captions as one view of loose texts ------------------------------------


def _signals_text_by_text(doc: Document) -> dict[str, float]:
    """flagged's signals the straightforward way: every paragraph, the title, each alt text
    and caption tokenised and matched on its own (``TermMatcher.matches``)."""
    matcher, category = category_matcher(None)
    view = TextView.of(doc)
    texts = [p.text for p in view.paragraphs]
    texts += [doc.title or "", *(t for n in doc.image_nodes for t in (n.alt, n.caption) if t)]
    total = sum(len(tokenize(t)) for t in texts)
    if not total:
        return {}
    tokens_hit, terms_hit = dict.fromkeys(CATEGORIES, 0), dict.fromkeys(CATEGORIES, 0)
    for t in texts:
        for term, n in matcher.matches(t):
            tokens_hit[category[term]] += n
            terms_hit[category[term]] += 1
    out = {}
    for c in CATEGORIES:
        out[f"flagged.{c}"] = round(tokens_hit[c] / total, 4)
        out[f"flagged.{c}_terms"] = float(terms_hit[c])
    return out


def test_title_alt_and_captions_count_as_if_matched_one_by_one():
    rng = random.Random(11)
    matcher, _ = category_matcher(None)
    terms = sorted(" ".join(p) for ps in matcher.phrases.values() for p in ps) + sorted(matcher.words)
    terms += [t for t in matcher.cjk_tokens]
    pieces = terms[::7] + ["the", "a", "photo", "of", "Casino", "ＰＯＲＮ", "猫", "。", "", " ", "İ", "…"]

    def text(n: int) -> str:
        return " ".join(rng.choice(pieces) for _ in range(rng.randint(0, n)))

    for i in range(300):
        images = [ImageNode(f"https://example.com/{k}.jpg", alt=rng.choice([None, "", text(8)]),
                            caption=rng.choice([None, "", text(8)])) for k in range(rng.randint(0, 4))]
        paragraphs = [text(20) for _ in range(rng.randint(0, 3))]
        doc = make_doc(*paragraphs, *images, title=rng.choice([None, "", text(6)]))
        assert tag(doc) == _signals_text_by_text(doc), i
    # a phrase cut between the title and an alt text, or the text and a caption, matches nowhere
    phrase = next(p for ps in matcher.phrases.values() for p in ps if not any(w in matcher.words for w in p))
    head, tail = phrase[0], " ".join(phrase[1:])
    for doc in (make_doc("x", ImageNode("https://example.com/1.jpg", alt=tail), title=head),
                make_doc(head, ImageNode("https://example.com/1.jpg", caption=tail))):
        assert sum(tag(doc)[f"flagged.{c}_terms"] for c in CATEGORIES) == 0 == sum(
            _signals_text_by_text(doc)[f"flagged.{c}_terms"] for c in CATEGORIES)
