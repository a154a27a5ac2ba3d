"""The filter chain: tag once, select in filter order, remove rejected paragraphs in place."""

from __future__ import annotations

import copy
from functools import partial

import pytest

from filters.base import FILTERS, Verdict
from filters.chain import NO_TEXT_LEFT, FilterChain, Selection, check_names
from filters.settings import (
    DEFAULT_FILTERS,
    FiltersConfig,
    SelectConfig,
    TextRules,
    zh_rules,
)
from schemas import ImageNode
from tests.filters import textdocs

EN = [
    "The old lighthouse on the northern cape was restored this summer by a group of volunteers from the village.",
    ("They replaced the broken windows, painted the tower white again and repaired the spiral staircase that leads "
     "to the lamp room."),
    "Visitors can now climb to the top on weekends, and the view of the harbour is said to be worth every step.",
]
ZH = [
    "北方海角上的老灯塔今年夏天由村里的一群志愿者修复完成。",
    "他们更换了破损的窗户，把塔身重新刷成白色，还修好了通往灯室的旋转楼梯。",
    "现在游客在周末可以登上塔顶，据说从那里看到的港口景色值得每一步攀登。",
]
EN_JS = "Please enable JavaScript in your browser to see the comments on this page."
ZH_POLICY = "使用本网站即表示您同意我们的隐私政策和使用条款。"
ZH_GAMBLING = "六合彩开奖结果，博彩公司推荐百家乐，在线投注送彩金，澳门赌场天天开奖。"


@pytest.fixture(scope="module")
def chain() -> FilterChain:
    c = FilterChain(FiltersConfig())
    c.setup()
    return c


def image(i: int) -> ImageNode:
    return ImageNode(f"https://example.com/{i}.jpg", image=b"bytes", status="ok")


# No language: the chain's language@1 detects it.
make_doc = partial(textdocs.make_doc, language=None, score=None, url="https://example.com/article")


# -- construction --------------------------------------------------------------------------------------

def test_default_chain_runs_the_default_filters_in_order():
    assert [f.name for f in FilterChain(FiltersConfig()).filters] == DEFAULT_FILTERS
    assert set(DEFAULT_FILTERS) | {"interleaved@1"} <= set(FILTERS)


def test_unknown_filter_name_raises():
    with pytest.raises(ValueError, match="quality@9"):
        FilterChain(FiltersConfig(), names=["quality@1", "quality@9"])
    with pytest.raises(ValueError, match="nope"):
        FilterChain(FiltersConfig(enabled=["nope"]))
    with pytest.raises(ValueError):
        check_names(["quality"])  # the version is part of the name


def test_names_choose_filters_and_their_order():
    chain = FilterChain(FiltersConfig(), names=["c4@1", "quality@1"])
    assert [f.name for f in chain.filters] == ["c4@1", "quality@1"]


# -- clean documents -----------------------------------------------------------------------------------

@pytest.mark.parametrize("texts, language", [(EN, "en"), (ZH, "zh")])
def test_clean_article_is_kept_whole(chain, texts, language):
    doc = make_doc(texts[0], image(0), *texts[1:])
    chain.tag(doc)
    assert doc.language == language
    selection = chain.select(doc, SelectConfig())
    assert selection == Selection(None, {}) and selection.kept
    assert len(doc.nodes) == 4


def test_tag_writes_every_filters_signals(chain):
    doc = make_doc(*EN)
    chain.tag(doc)
    families = {k.split(".")[0] for k in doc.signals}
    assert families == {"language", "flagged", "quality", "gopher", "c4"}  # no list / classifier configured
    assert all("words" in n.signals and "language_score" in n.signals for n in doc.nodes)


def test_non_html_documents_are_not_tagged(chain):
    doc = make_doc(*EN)
    doc.kind = "pdf"
    chain.tag(doc)
    assert doc.signals == {} and doc.language is None


# -- document verdicts: the first failing filter wins ------------------------------------------------------

def test_first_failing_filter_in_order_wins(chain):
    # Gambling spam that is also too short for quality@1: flagged@1 comes first.
    doc = make_doc(ZH_GAMBLING[:18])
    chain.tag(doc)
    selection = chain.select(copy.deepcopy(doc), SelectConfig())
    assert selection.verdict.filter == "flagged@1" and selection.verdict.rule == "gambling"
    assert selection.verdict.reason == "flagged:gambling" and not selection.kept
    reordered = FilterChain(FiltersConfig(), names=["quality@1", "flagged@1"])
    assert reordered.select(copy.deepcopy(doc), SelectConfig()).verdict.rule == "min_words"


def test_dropped_document_keeps_its_nodes(chain):
    doc = make_doc(ZH_GAMBLING, "短。")
    chain.tag(doc)
    selection = chain.select(doc, SelectConfig())
    assert selection.verdict.reason == "flagged:gambling" and selection.removed == {}
    assert len(doc.nodes) == 2  # paragraphs are judged only for kept documents


def test_only_restricts_the_filters_applied(chain):
    doc = make_doc("六合彩开奖，博彩推荐。", "Enable JavaScript.")  # 11 words, gambling, javascript
    doc.language, doc.language_score = "zh", 0.99
    chain.tag(doc)
    assert chain.select(copy.deepcopy(doc), SelectConfig()).verdict.reason == "flagged:gambling"
    assert chain.select(copy.deepcopy(doc), SelectConfig(), only=["quality@1"]).verdict.rule == "min_words"
    selection = chain.select(copy.deepcopy(doc), SelectConfig(), only=["c4@1"])
    assert selection.verdict is None and set(selection.removed) == {1}
    assert chain.select(copy.deepcopy(doc), SelectConfig(), only=[]) == Selection(None, {})


def test_unknown_names_in_only_are_ignored(chain):
    doc = make_doc(*EN)
    chain.tag(doc)
    assert chain.select(doc, SelectConfig(), only=["nothing@1"]) == Selection(None, {})


# -- paragraph removal ---------------------------------------------------------------------------------------

def test_rejected_paragraphs_are_removed_and_images_keep_their_places(chain):
    doc = make_doc(EN[0], image(0), "Too short.", image(1), EN[1], EN_JS, image(2), EN[2])
    chain.tag(doc)
    selection = chain.select(doc, SelectConfig())
    assert selection.verdict is None
    assert selection.removed == {
        2: Verdict("quality@1", "paragraph_min_words", "words", 2.0, 4),
        5: Verdict("c4@1", "javascript", "c4.javascript", 1.0, "present"),
    }
    kinds = [(type(n).__name__, getattr(n, "text", None) or n.url) for n in doc.nodes]
    assert kinds == [("TextNode", EN[0]), ("ImageNode", "https://example.com/0.jpg"),
                     ("ImageNode", "https://example.com/1.jpg"), ("TextNode", EN[1]),
                     ("ImageNode", "https://example.com/2.jpg"), ("TextNode", EN[2])]
    assert [n.position for n in doc.image_nodes] == [1, 2, 4]  # renumbered


def test_chinese_policy_notice_is_removed(chain):
    doc = make_doc(ZH[0], image(0), ZH_POLICY, ZH[1], ZH[2])
    chain.tag(doc)
    selection = chain.select(doc, SelectConfig())
    assert selection.verdict is None
    assert selection.removed == {2: Verdict("c4@1", "policy", "c4.policy", 1.0, "present")}
    assert [n.text for n in doc.text_nodes] == ZH


def test_a_paragraph_rejected_by_two_filters_is_reported_once_by_the_first(chain):
    doc = make_doc(*EN, "JavaScript!")
    chain.tag(doc)
    selection = chain.select(doc, SelectConfig())
    assert selection.removed == {3: Verdict("quality@1", "paragraph_min_words", "words", 1.0, 4)}


def test_document_left_without_text_is_dropped(chain):
    doc = make_doc(image(0), EN_JS, image(1))
    chain.tag(doc)
    doc.signals.update({"quality.words": 20.0})  # (a one-paragraph page would fail min_words first)
    selection = chain.select(doc, SelectConfig(), only=["c4@1"])
    assert selection.verdict == NO_TEXT_LEFT and selection.verdict.reason == "paragraphs:no_text_left"
    assert set(selection.removed) == {1}
    assert all(isinstance(n, ImageNode) for n in doc.nodes) and [n.position for n in doc.nodes] == [0, 1]


def test_no_text_left_with_the_whole_chain(chain):
    text = "This site uses cookies to give you the best experience, see our privacy policy for the details."
    doc = make_doc(text, image(0))
    chain.tag(doc)
    selection = chain.select(doc, SelectConfig())
    assert selection.verdict == NO_TEXT_LEFT and selection.removed[0].rule == "policy"


# -- language ---------------------------------------------------------------------------------------------

def test_english_paragraph_in_chinese_document_is_removed_only_when_asked(chain):
    english = "Readers can now borrow books until ten o'clock at night, the library said."
    doc = make_doc(ZH[0], english, ZH[1], ZH[2])
    chain.tag(doc)
    assert doc.language == "zh" and doc.signals["language.foreign_paragraphs"] == 1.0
    kept = copy.deepcopy(doc)
    assert chain.select(kept, SelectConfig()) == Selection(None, {}) and len(kept.nodes) == 4
    selection = chain.select(doc, SelectConfig(foreign_paragraphs="drop"))
    assert selection.verdict is None and set(selection.removed) == {1}
    assert selection.removed[1].reason == "language:foreign_paragraph"
    assert [n.text for n in doc.text_nodes] == ZH


def test_document_in_another_language_is_not_allowed(chain):
    doc = make_doc("Der Stadtrat hat am Dienstagabend den neuen Haushalt für öffentliche Bibliotheken beschlossen "
                   "und die Öffnungszeiten verlängert.")
    chain.tag(doc)
    assert chain.select(copy.deepcopy(doc), SelectConfig()).verdict.reason == "language:not_allowed"
    assert chain.select(copy.deepcopy(doc), SelectConfig(languages=[])).verdict is None


# -- select is pure on signals -------------------------------------------------------------------------------

def test_changed_thresholds_change_the_verdict_without_retagging(chain):
    doc = make_doc(*EN)
    chain.tag(doc)
    signals = copy.deepcopy(doc.signals)
    untagged = FilterChain(FiltersConfig())  # never set up: selection needs no model or list
    assert untagged.select(copy.deepcopy(doc), SelectConfig()).kept
    strict = SelectConfig(en=TextRules(min_words=100))
    assert untagged.select(copy.deepcopy(doc), strict).verdict == Verdict(
        "quality@1", "min_words", "quality.words", doc.signals["quality.words"], 100)
    removed = untagged.select(copy.deepcopy(doc), SelectConfig(en=TextRules(paragraph_min_words=20))).removed
    assert set(removed) == {0}  # 19 words: the only paragraph under 20
    assert doc.signals == signals


def test_chinese_thresholds_are_applied_to_chinese_documents(chain):
    doc = make_doc(ZH[0])  # 26 characters: above zh min_words 20
    chain.tag(doc)
    assert chain.select(copy.deepcopy(doc), SelectConfig()).kept
    strict = zh_rules()
    strict.min_words = 27
    assert chain.select(copy.deepcopy(doc), SelectConfig(zh=strict)).verdict.rule == "min_words"


def test_interleaved_filter_in_a_chain_judges_images(chain):
    c = FilterChain(FiltersConfig(), names=["quality@1", "interleaved@1"])
    doc = make_doc(*EN)
    c.tag(doc)
    assert c.select(copy.deepcopy(doc), SelectConfig()).verdict.reason == "interleaved:min_images"
    doc.nodes.insert(1, image(0))
    doc.renumber()
    assert c.select(doc, SelectConfig()).kept
