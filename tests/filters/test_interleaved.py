"""interleaved@1: images with bytes per document and words per image (judged at write time)."""

from __future__ import annotations

import pytest

from filters.base import FILTERS, Verdict
from filters.interleaved import usable_images, words
from filters.settings import FiltersConfig, SelectConfig, TextRules, zh_rules
from schemas import Document, ImageNode, TextNode
from tests.filters.textdocs import make_doc, tag_with

NAME = "interleaved@1"
PNG = b"\x89PNG\r\n\x1a\n fake"


def image(i: int, status: str | None = "ok", data: bytes | None = PNG) -> ImageNode:
    return ImageNode(f"https://example.com/{i}.jpg", image=data, status=status)


def en_words(n: int) -> str:
    return " ".join(f"word{i}" for i in range(n)) + "."


def zh_chars(n: int) -> str:
    return "".join(chr(0x4E00 + i) for i in range(n)) + "。"


def judge(doc: Document, select: SelectConfig | None = None) -> Verdict | None:
    tag_with(NAME, doc)  # nothing to tag; must not fail
    return FILTERS[NAME](FiltersConfig()).select(doc, select or SelectConfig())


def interleave(texts: list[str], n_images: int) -> list:
    """Text and images alternating, the text split as evenly as given."""
    nodes: list = []
    for i in range(max(len(texts), n_images)):
        if i < len(texts):
            nodes.append(TextNode(texts[i]))
        if i < n_images:
            nodes.append(image(i))
    return nodes


# -- images per document -------------------------------------------------------------------------------

def test_no_image_is_min_images():
    doc = make_doc(TextNode(en_words(200)))
    assert judge(doc) == Verdict(NAME, "min_images", "interleaved.images", 0.0, 1)
    assert doc.signals["interleaved.images"] == 0.0


def test_one_image_is_enough():
    doc = make_doc(TextNode(en_words(5)), image(0))
    assert judge(doc) is None
    assert doc.signals["interleaved.images"] == 1.0 and doc.signals["interleaved.words_per_image"] == 5.0


def test_thirty_images_pass_and_thirty_one_are_max_images():
    doc = make_doc(*interleave([en_words(50)] * 30, 30))  # 50 words per image
    assert judge(doc) is None and doc.signals["interleaved.images"] == 30.0
    doc = make_doc(*interleave([en_words(50)] * 31, 31))
    assert judge(doc) == Verdict(NAME, "max_images", "interleaved.images", 31.0, 30)


@pytest.mark.parametrize("status, data", [("failed", PNG), ("dropped", PNG), ("ok", None), (None, None)])
def test_images_without_bytes_or_not_ok_do_not_count(status, data):
    doc = make_doc(TextNode(en_words(20)), image(0, status, data))
    assert usable_images(doc) == 0
    assert judge(doc) == Verdict(NAME, "min_images", "interleaved.images", 0.0, 1)


def test_only_usable_images_count_towards_the_limits():
    nodes = [TextNode(en_words(200)), image(0), image(1), image(2),
             image(3, "failed"), image(4, "ok", None), image(5, None)]  # status None with bytes counts
    doc = make_doc(*nodes)
    assert usable_images(doc) == 4
    assert judge(doc) is None and doc.signals["interleaved.images"] == 4.0
    assert doc.signals["interleaved.words_per_image"] == 50.0  # 200 words / 4 images, not / 6


# -- words per image -----------------------------------------------------------------------------------

@pytest.mark.parametrize("language, kept_words, dropped_words, limit", [
    ("en", 150, 149, 50),
    ("zh", 300, 299, 100),
])
def test_words_per_image_with_three_images(language, kept_words, dropped_words, limit):
    text = en_words if language == "en" else zh_chars
    assert SelectConfig().rules(language).min_words_per_image == limit
    kept = make_doc(*interleave([text(kept_words)], 3), language=language)
    assert judge(kept) is None
    assert kept.signals["interleaved.words_per_image"] == limit
    dropped = make_doc(*interleave([text(dropped_words)], 3), language=language)
    per_image = round(dropped_words / 3, 2)
    assert judge(dropped) == Verdict(NAME, "min_words_per_image", "interleaved.words_per_image", per_image, limit)
    assert per_image < limit


def test_words_are_counted_over_all_text_nodes():
    doc = make_doc(TextNode(en_words(100)), image(0), TextNode("Heading words", kind="heading"), image(1),
                   TextNode(en_words(48)), image(2))
    assert words(doc) == 150
    assert judge(doc) is None


def test_words_per_image_rule_applies_only_above_two_images():
    doc = make_doc(TextNode(en_words(2)), image(0), image(1))
    assert judge(doc) is None and doc.signals["interleaved.words_per_image"] == 1.0
    doc = make_doc(TextNode(en_words(2)), image(0), image(1), image(2))
    assert judge(doc).rule == "min_words_per_image"
    assert judge(doc, SelectConfig(words_per_image_above=3)) is None


def test_words_come_from_the_quality_signal_when_tagged():
    node = TextNode("short text", signals={"words": 150.0})
    doc = make_doc(node, image(0), image(1), image(2))
    assert words(doc) == 150 and judge(doc) is None
    node.signals.clear()
    assert words(doc) == 2 and judge(doc).rule == "min_words_per_image"


def test_mixed_language_document_uses_its_language_rules():
    text = en_words(60) + zh_chars(90)  # 150 tokens
    doc = make_doc(*interleave([text], 3), language="en")
    assert judge(doc) is None
    doc = make_doc(*interleave([text], 3), language="zh")
    assert judge(doc).rule == "min_words_per_image"


def test_changed_limits_change_the_verdict():
    doc = make_doc(*interleave([en_words(150)], 3))
    assert judge(doc) is None
    assert judge(doc, SelectConfig(min_images=4)) == Verdict(NAME, "min_images", "interleaved.images", 3.0, 4)
    assert judge(doc, SelectConfig(max_images=2)) == Verdict(NAME, "max_images", "interleaved.images", 3.0, 2)
    strict = SelectConfig(en=TextRules(min_words_per_image=51))
    assert judge(doc, strict) == Verdict(NAME, "min_words_per_image", "interleaved.words_per_image", 50.0, 51)
    lenient_zh = zh_rules()
    lenient_zh.min_words_per_image = 10
    zh_doc = make_doc(*interleave([zh_chars(30)], 3), language="zh")
    assert judge(zh_doc).rule == "min_words_per_image"
    assert judge(zh_doc, SelectConfig(zh=lenient_zh)) is None
