"""Rendered OCR samples: layouts, exact ground truth, boxes, line breaking, determinism, read-back."""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
import unicodedata
from collections import Counter

import pytest

from pipeline.config import OcrRenderConfig
from pipeline.ocr.fonts import FontSet, find_fonts
from pipeline.ocr.render import (
    LAYOUTS,
    NO_LINE_END,
    NO_LINE_START,
    REASON_NO_FONTS,
    REASON_NO_TEXT,
    RenderedSample,
    choose_layout,
    contrast_ratio,
    normalize_text,
    render_text_sample,
)

EN = [
    ("Common Crawl maintains a free, open repository of web crawl data that can be used by anyone. "
     "The corpus contains petabytes of data, regularly collected since 2008."),
    ("Researchers use the archive to train language models, to study the structure of the web, "
     "and to measure how pages change over time."),
    "Each monthly crawl holds billions of pages; the files are stored as WARC archives.",
] * 4
ZH = [
    "中文网页的文字经过提取、过滤和去重以后，可以渲染成图片，用来训练光学字符识别模型。",
    "每一行的文本都必须和图片上画出来的内容完全一致！否则，模型会学到错误的标注：这很重要。",
    "「引号」、（括号）和《书名号》都是常见的标点符号；它们不能出现在不该出现的位置。",
] * 6
NO_AUGMENT = OcrRenderConfig(augment_probability=0.0)
LONG = {"en": EN * 3, "zh": ZH * 3}  # more than a 3-column page holds


@pytest.fixture(scope="module")
def fonts() -> FontSet:
    fonts = FontSet.from_specs(OcrRenderConfig().fonts)
    if not any(f.covers("中文") for f in fonts.fonts) or not any(f.name.startswith("DejaVu") for f in fonts.fonts):
        pytest.skip("needs DejaVu and Noto CJK (Debian: fonts-dejavu-core, fonts-noto-cjk) found by fontconfig")
    return fonts


def _render(paragraphs, language, layout, fonts, seed, cfg=NO_AUGMENT) -> RenderedSample:
    sample = render_text_sample(paragraphs, language, layout, fonts, random.Random(seed), cfg)
    assert isinstance(sample, RenderedSample), sample
    return sample


def _rect(box):
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    return min(xs), min(ys), max(xs), max(ys)


def _font_of(sample: RenderedSample, fonts: FontSet):
    info = sample.meta["font"]
    return next(f for f in fonts.fonts if (f.path, f.index) == (info["path"], info["index"]))


@pytest.mark.parametrize("language,paragraphs", [("en", EN), ("zh", ZH)])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_gives_exact_ground_truth(fonts, language, paragraphs, layout):
    source = "\n".join(normalize_text(p) for p in paragraphs)
    for seed in range(3):
        for cfg in (NO_AUGMENT, OcrRenderConfig(augment_probability=1.0)):
            sample = _render(paragraphs, language, layout, fonts, seed, cfg)
            image = sample.image
            assert image.mode == "RGB" and image.size == (sample.meta["width"], sample.meta["height"])
            assert sample.text == "\n".join(line["text"] for line in sample.lines)
            assert all(line["text"] == line["text"].strip() and line["text"] for line in sample.lines)
            assert _font_of(sample, fonts).covers(sample.text)  # the glyph-coverage contract
            for line in sample.lines:
                assert line["text"].replace(" ", "") in source.replace(" ", "")
                x0, y0, x1, y1 = _rect(line["box"])
                assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height
            meta = sample.meta
            assert meta["layout"] == layout and meta["language"] == language
            assert cfg.min_font_size <= meta["font"]["size"] <= cfg.max_font_size
            assert contrast_ratio(tuple(meta["colours"]["text"]), tuple(meta["colours"]["background"])) >= cfg.min_contrast
            assert [a["name"] for a in meta["augmentations"]] == (
                [] if cfg is NO_AUGMENT else ["perspective", "rotate", "blur", "noise", "jpeg"])
            if layout == "line":
                assert len(sample.lines) == 1 and len(sample.text) <= cfg.max_line_chars
            else:
                assert len(sample.lines) > 3
                if cfg is NO_AUGMENT:
                    assert image.width == cfg.page_width


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("layout", ["paragraph", "columns"])
def test_page_lines_stay_in_their_column_without_overlapping(fonts, language, layout):
    cfg = NO_AUGMENT
    for seed in range(4):
        sample = _render(LONG[language], language, layout, fonts, seed)
        n = sample.meta["columns"]
        assert (n == 1) if layout == "paragraph" else (n in (2, 3))
        columns = [line["column"] for line in sample.lines]
        assert columns == sorted(columns) and set(columns) == set(range(n))  # reading order
        area = cfg.page_width - 2 * cfg.margin
        for column in range(n):
            rects = [_rect(line["box"]) for line in sample.lines if line["column"] == column]
            lefts = [r[0] for r in rects]
            for above, below in itertools.pairwise(rects):
                assert above[3] <= below[1]  # top to bottom, boxes never overlap
            width = area if n == 1 else (area - (n - 1) * cfg.min_font_size) / n
            # No line wider than its column (2 px for glyph ink overhanging its advance).
            assert all(r[2] - min(lefts) <= width + 2 for r in rects)
        assert sample.image.height <= cfg.page_height


def test_paragraph_page_is_filled_with_whole_lines(fonts):
    long_text = [" ".join(LONG["en"])]
    sample = _render(long_text, "en", "paragraph", fonts, 5)
    assert sample.image.height == NO_AUGMENT.page_height  # the text did not run out: the page is full
    last = _rect(sample.lines[-1]["box"])
    assert last[3] <= NO_AUGMENT.page_height - NO_AUGMENT.margin
    # What is drawn is exactly a prefix of the text, cut at a word boundary.
    drawn = " ".join(line["text"] for line in sample.lines)
    source = normalize_text(long_text[0])
    assert source.startswith(drawn) and source[len(drawn)] == " "


def test_latin_wraps_at_word_boundaries(fonts):
    text = normalize_text(" ".join(EN))
    words = set(text.split())
    for seed in range(6):
        for layout in ("paragraph", "columns", "line"):
            sample = _render([text], "en", layout, fonts, seed)
            for line in sample.lines:
                if layout == "line":
                    assert line["text"] in text
                else:
                    assert set(line["text"].split()) <= words, line["text"]


def test_a_word_longer_than_the_line_is_broken_by_characters(fonts):
    word = "x" * 400
    sample = _render([f"short {word} tail"], "en", "paragraph", fonts, 0)
    assert "".join(sample.text.split()) == f"short{word}tail"
    area = NO_AUGMENT.page_width - 2 * NO_AUGMENT.margin
    assert all(_rect(line["box"])[2] <= NO_AUGMENT.margin + area + 2 for line in sample.lines)


def test_chinese_punctuation_never_starts_a_line(fonts):
    # Punctuation every second character: breaks often fall right before one.
    text = "字，字。字、字；字：字？字！字）" * 60 + "（字「字『字"
    lines = []
    for seed in range(12):
        for layout in ("paragraph", "columns"):
            sample = _render([text], "zh", layout, fonts, seed)
            assert text.startswith(sample.text.replace("\n", ""))
            lines += [line["text"] for line in sample.lines]
    assert len(lines) > 100
    assert not [line for line in lines if line[0] in NO_LINE_START]
    assert not [line for line in lines if line[-1] in NO_LINE_END]


def test_whitespace_is_collapsed_and_empty_input_is_a_reason(fonts):
    assert normalize_text(" a \t b\n\n c\u3000d\u200b ") == "a b c d"
    sample = _render(["Several   spaces\tand\ttabs\nand newlines"], "en", "line", fonts, 3)
    assert sample.text in "Several spaces and tabs and newlines"
    assert render_text_sample(["", " \n\t "], "en", "paragraph", fonts, random.Random(0), NO_AUGMENT) == REASON_NO_TEXT
    assert render_text_sample(EN, "en", "paragraph", FontSet([]), random.Random(0), NO_AUGMENT) == REASON_NO_FONTS
    with pytest.raises(ValueError, match="unknown OCR layout"):
        render_text_sample(EN, "en", "poster", fonts, random.Random(0), NO_AUGMENT)


def test_same_seed_same_bytes_other_seed_other_image(fonts):
    cfg = OcrRenderConfig(augment_probability=1.0, texture_probability=0.5, colour_probability=0.5)
    for language, paragraphs in (("en", EN), ("zh", ZH)):
        for layout in LAYOUTS:
            a = _render(paragraphs, language, layout, fonts, 11, cfg)
            b = _render(paragraphs, language, layout, fonts, 11, cfg)
            c = _render(paragraphs, language, layout, fonts, 12, cfg)
            assert a.image.tobytes() == b.image.tobytes()
            assert (a.text, a.lines, a.meta) == (b.text, b.lines, b.meta)
            assert a.image.tobytes() != c.image.tobytes()


def test_styles_respect_contrast_and_textures(fonts):
    cfg = OcrRenderConfig(colour_probability=1.0, texture_probability=1.0, min_contrast=7.0, augment_probability=0.0)
    kinds = Counter()
    for seed in range(12):
        sample = _render(EN, "en", "line", fonts, seed, cfg)
        colours = sample.meta["colours"]
        assert contrast_ratio(tuple(colours["text"]), tuple(colours["background"])) >= 7.0
        kinds[sample.meta["background"]] += 1
    assert set(kinds) == {"noise", "gradient"}


def test_choose_layout_follows_weights():
    rng = random.Random(0)
    counts = Counter(choose_layout({"line": 3, "paragraph": 1, "columns": 0}, rng) for _ in range(4000))
    assert set(counts) == {"line", "paragraph"} and 2.6 < counts["line"] / counts["paragraph"] < 3.4
    with pytest.raises(ValueError):
        choose_layout({"line": 0}, rng)


@pytest.mark.skipif(not os.path.isdir("/usr/share/fonts/truetype/dejavu"), reason="DejaVu fonts not installed")
def test_line_sample_is_sized_to_its_text():
    fonts = FontSet(find_fonts(["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]))
    cfg = dataclasses.replace(NO_AUGMENT, max_line_chars=20)
    sample = _render(["A short line of text that is longer than twenty characters."], "en", "line", fonts, 2, cfg)
    assert len(sample.text) <= 20
    x0, _, x1, _ = _rect(sample.lines[0]["box"])
    assert sample.image.width - (x1 - x0) <= 4 * cfg.margin + 4
    assert sample.image.height <= round(cfg.max_line_spacing * cfg.max_font_size) + 4 * cfg.margin


def _normalised(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def test_rapidocr_reads_rendered_lines(fonts):
    """A loose read-back at default settings (the CER thresholds are tested by the job)."""
    from rapidfuzz.distance import Levenshtein

    from pipeline.ocr.engine import read_text

    cfg = OcrRenderConfig()
    for language, paragraphs in (("en", EN), ("zh", ZH)):
        for seed in (1, 2):
            sample = _render(paragraphs, language, "line", fonts, seed, cfg)
            read = " ".join(line.text for line in read_text(sample.image))
            truth = _normalised(sample.text)
            assert Levenshtein.distance(truth, _normalised(read)) <= 0.1 * len(truth), (sample.text, read)
