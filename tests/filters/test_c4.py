"""c4@1: lorem ipsum and "{" drop a page, javascript and policy paragraphs are removed, an
optional minimum of sentences; English and Chinese."""

from __future__ import annotations

from functools import partial

import pytest

from filters.base import Verdict
from filters.c4 import C4Filter
from filters.settings import FiltersConfig, SelectConfig, TextRules, zh_rules
from filters.text import TextView
from schemas import Document, ImageNode, TextNode
from tests.filters.textdocs import make_doc, tag_with

NAME = "c4@1"
tag = partial(tag_with, NAME)
EN_GOOD = "The museum reopened its east wing after a long restoration. Visitors can see the old maps again."
ZH_GOOD = "博物馆东翼经过长时间修复后重新开放。游客可以再次看到那些古老的地图。"


def judge(doc: Document, select: SelectConfig | None = None) -> tuple[Verdict | None, dict[int, Verdict]]:
    tag(doc)
    f = C4Filter(FiltersConfig())
    select = select or SelectConfig()
    return f.select(doc, select), f.paragraphs(doc, select)


# -- signals -------------------------------------------------------------------------------------------

def test_signals_by_hand():
    doc = make_doc("Lorem Ipsum is placeholder text. Use {name} here!",
                   "Please enable JavaScript. It helps.",
                   "We use cookies. See our Privacy Policy.",
                   "请阅读隐私政策。谢谢！")
    assert tag(doc) == {
        "c4.lorem_ipsum": 1.0, "c4.curly_bracket": 1.0,
        "c4.javascript_paragraphs": 1.0, "c4.policy_paragraphs": 2.0,
        "c4.sentences": 2 + 2 + 2 + 2, "c4.error_page": 0.0,
    }
    assert [n.signals for n in doc.nodes] == [{}, {"c4.javascript": 1.0}, {"c4.policy": 1.0}, {"c4.policy": 1.0}]


def test_clean_document_signals():
    assert tag(make_doc(EN_GOOD, ImageNode("https://example.com/i.jpg"), ZH_GOOD)) == {
        "c4.lorem_ipsum": 0.0, "c4.curly_bracket": 0.0, "c4.javascript_paragraphs": 0.0,
        "c4.policy_paragraphs": 0.0, "c4.sentences": 4.0, "c4.error_page": 0.0,
    }


def test_document_without_text_gets_no_signals():
    doc = make_doc(ImageNode("https://example.com/i.jpg"))
    assert judge(doc) == (None, {}) and doc.signals == {}


# -- document rules, both sides -------------------------------------------------------------------------

@pytest.mark.parametrize("rule, language, kept_text, dropped_text", [
    ("lorem_ipsum", "en", "Lorem, then ipsum: two words apart.", "Lorem ipsum dolor sit amet, consectetur."),
    ("lorem_ipsum", "zh", "这是排版用的占位文字，不是拉丁文。", "占位文字：LOREM IPSUM dolor sit amet。"),
    ("curly_bracket", "en", "Brackets (round) and [square] are fine.", "var config = { debug: true };"),
    ("curly_bracket", "zh", "书名号《红楼梦》和方括号【注】都可以。", "模板变量{标题}没有被替换。"),
])
def test_document_rule_both_sides(rule, language, kept_text, dropped_text):
    good = EN_GOOD if language == "en" else ZH_GOOD
    assert judge(make_doc(good, kept_text, language=language)) == (None, {})
    verdict, _ = judge(make_doc(good, dropped_text, language=language))
    assert verdict == Verdict(NAME, rule, f"c4.{rule}", 1.0, "present")


def test_full_width_curly_bracket_is_not_code():
    assert judge(make_doc("全角括号｛示例｝常见于中文排版。", language="zh")) == (None, {})


@pytest.mark.parametrize("language, five, four", [
    ("en", "One. Two! Three? Four. Five.", "One. Two! Three? Four. Five"),
    ("zh", "一句。两句！三句？四句。五句。", "一句。两句！三句？四句。五句"),
])
def test_min_sentences_when_enabled(language, five, four):
    rules = TextRules(min_sentences=5) if language == "en" else zh_rules()
    rules.min_sentences = 5
    select = SelectConfig(**{language: rules})
    assert judge(make_doc(five, language=language), select) == (None, {})
    verdict, _ = judge(make_doc(four, language=language), select)
    assert verdict == Verdict(NAME, "min_sentences", "c4.sentences", 4.0, 5)
    # off by default: a one-sentence page is fine
    assert judge(make_doc(four, language=language)) == (None, {})


def words_with(notice: str, n: int, language: str) -> Document:
    """A page of n tokens (characters in Chinese) that includes ``notice``."""
    if language == "en":
        filler = " ".join(f"w{i}" for i in range(n - len(notice.split())))
        return make_doc(f"{notice}. {filler}.")
    body = "博物馆东翼经过长时间修复后重新开放游客可以再次看到那些古老的地图"
    filler = (body * (n // len(body) + 1))[: n - len(notice)]
    return make_doc(f"{notice}。{filler}。", language="zh")


@pytest.mark.parametrize("language, notice", [
    ("en", "Sorry, page not found"), ("en", "404 Not Found"), ("zh", "您访问的页面不存在"), ("zh", "找不到網頁"),
])
def test_short_error_page_is_dropped_a_long_page_mentioning_it_is_not(language, notice):
    short = words_with(notice, 300, language)
    assert tag(short)["c4.error_page"] == 1.0 and short.signals.get("c4.sentences", 0) >= 1
    verdict, _ = judge(short)
    assert verdict == Verdict(NAME, "error_page", "c4.error_page", 1.0, "present")
    long = words_with(notice, 301, language)
    assert judge(long) == (None, {}) and long.signals["c4.error_page"] == 0.0


def test_error_page_words_are_counted_by_hand():
    doc = words_with("404 Not Found", 300, "en")
    assert len(TextView.of(doc).tokens) == 300
    doc = words_with("页面不存在", 301, "zh")
    assert len(TextView.of(doc).tokens) == 301


def test_document_rules_can_be_switched_off():
    doc = make_doc("Lorem ipsum {x}. Page not found.")
    tag(doc)
    f = C4Filter(FiltersConfig())
    assert f.select(doc, SelectConfig(en=TextRules(lorem_ipsum=False))).rule == "curly_bracket"
    assert f.select(doc, SelectConfig(en=TextRules(lorem_ipsum=False, curly_bracket=False))).rule == "error_page"
    assert f.select(doc, SelectConfig(en=TextRules(lorem_ipsum=False, curly_bracket=False, error_pages=False))) is None


# -- paragraph rules, both sides -------------------------------------------------------------------------

@pytest.mark.parametrize("rule, language, kept, removed", [
    ("javascript", "en", "Java is an island and a programming language.",
     "Please enable JavaScript to view the comments."),
    ("javascript", "zh", "爪哇岛位于印度尼西亚。", "请在浏览器中启用JavaScript以查看评论。"),
    ("policy", "en", "The city council changed its housing policy.",
     "By using this site you agree to our Privacy Policy."),
    ("policy", "en", "Cookies were baked for the school fair.", "This website uses cookies to improve your experience."),
    ("policy", "en", "Terms of the treaty were agreed in 1648.", "Read the Terms of Use before posting."),
    ("policy", "zh", "政府发布了新的住房政策。", "使用本网站即表示您同意我们的隐私政策。"),
    ("policy", "zh", "服务行业的条款谈判仍在继续。", "请阅读服务条款。"),
    ("policy", "zh", "政府發布了新的住房政策。", "請閱讀我們的隱私權政策。"),  # traditional
    ("policy", "zh", "饼干（cookie）是一种点心。", "本网站使用Cookie来改善体验。"),
])
def test_paragraph_rule_removes_the_paragraph(rule, language, kept, removed):
    good = EN_GOOD if language == "en" else ZH_GOOD
    assert judge(make_doc(good, kept, language=language)) == (None, {})
    verdict, paragraphs = judge(make_doc(good, removed, language=language))
    assert verdict is None
    assert paragraphs == {1: Verdict(NAME, rule, f"c4.{rule}", 1.0, "present")}


def test_javascript_wins_over_policy_in_one_paragraph():
    _, paragraphs = judge(make_doc(EN_GOOD, "Enable JavaScript and accept our cookie policy."))
    assert paragraphs[1].rule == "javascript"


def test_paragraph_rules_can_be_switched_off():
    doc = make_doc(EN_GOOD, "Enable JavaScript.", "Our privacy policy.")
    tag(doc)
    f = C4Filter(FiltersConfig())
    assert set(f.paragraphs(doc, SelectConfig())) == {1, 2}
    assert set(f.paragraphs(doc, SelectConfig(en=TextRules(javascript_lines=False)))) == {2}
    assert f.paragraphs(doc, SelectConfig(en=TextRules(javascript_lines=False, policy_lines=False))) == {}


# -- select alone --------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "zh"])
def test_select_reads_signals_only(language):
    f = C4Filter(FiltersConfig())
    doc = make_doc(language=language)
    doc.signals.update({"c4.lorem_ipsum": 0.0, "c4.curly_bracket": 0.0, "c4.sentences": 5.0})
    assert f.select(doc, SelectConfig()) is None
    rules = TextRules(min_sentences=6)
    assert f.select(doc, SelectConfig(**{language: rules})) == Verdict(NAME, "min_sentences", "c4.sentences", 5.0, 6)
    doc.signals["c4.curly_bracket"] = 1.0
    assert f.select(doc, SelectConfig()).rule == "curly_bracket"
    doc.signals["c4.lorem_ipsum"] = 1.0
    assert f.select(doc, SelectConfig()).rule == "lorem_ipsum"
    para = make_doc(TextNode("x", signals={"c4.javascript": 1.0}), TextNode("y", signals={"c4.policy": 0.0}),
                    language=language)
    assert set(f.paragraphs(para, SelectConfig())) == {0}
