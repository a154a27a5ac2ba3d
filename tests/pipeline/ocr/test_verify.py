"""CER measurement: normalisation, matching detections to drawn lines, sampling of checks."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.ocr.engine import OcrLine, read_text
from pipeline.ocr.verify import assign, chosen, normalise, score_lines, verify

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _det(x0, y0, x1, y1, text, score=0.99):
    return OcrLine(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), text, score)


@pytest.mark.parametrize("raw, expected", [
    ("  Hello   world \n again ", "Hello world again"),
    ("ﬁne ＡＢＣ１２３", "fine ABC123"),  # ligature and full-width forms (NFKC)
    ("中文 测试 abc  def", "中文测试abc def"),  # no spaces next to CJK
    ("你好，世界！", "你好,世界!"),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_detections_go_to_the_line_they_overlap_in_reading_order():
    truth = [(10, 10, 400, 40), (10, 60, 400, 90), (500, 10, 900, 40)]  # two columns
    # Listed out of order; the first line split in two by the detector; one stray detection.
    dets = [_det(500, 12, 880, 38, "right column"), _det(210, 11, 390, 39, "second half"),
            _det(12, 11, 200, 39, "first half"), _det(12, 61, 380, 89, "line two"),
            _det(10, 300, 200, 330, "stray")]
    read, unmatched = assign(truth, dets)
    assert read == ["first half second half", "line two", "right column"]
    assert unmatched == ["stray"]


def test_vertical_lines_read_top_to_bottom():
    read, _ = assign([(10, 10, 40, 400)], [_det(12, 200, 38, 390, "下"), _det(12, 12, 38, 190, "上")], [True])
    assert read == ["上 下"]


def test_cer_counts_edits_over_truth_chars_and_optionally_strays():
    v = score_lines(["abcdefghij", "klmno"], ["abcdXfghij", "klmn"], ["zz"], count_unmatched=False)
    assert (v.errors, v.chars) == (2, 15) and v.cer == pytest.approx(2 / 15)
    assert score_lines(["abcdefghij"], ["abcdefghij"], ["zz"], count_unmatched=True).errors == 2
    assert score_lines(["abc"], [""], [], count_unmatched=True).cer == 1.0


def test_chosen_is_a_stable_fraction():
    keys = [f"doc{i}" for i in range(4000)]
    picked = [k for k in keys if chosen(k, 0.25, seed=3)]
    assert 0.22 < len(picked) / len(keys) < 0.28
    assert picked == [k for k in keys if chosen(k, 0.25, seed=3)]
    assert picked != [k for k in keys if chosen(k, 0.25, seed=4)]
    assert all(chosen(k, 1.0, 0) for k in keys[:10]) and not any(chosen(k, 0.0, 0) for k in keys[:100])


def test_rapidocr_reads_a_drawn_line_and_verify_scores_it():
    """The real PP-OCR models rapidocr ships (no download): a clean line reads back exactly."""
    image = Image.new("RGB", (900, 130), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(DEJAVU, 30)
    draw.text((10, 10), "Lighthouses guide ships home.", font=font, fill="black")
    draw.text((10, 70), "Tide tables 2025: 311 nights", font=font, fill="black")
    lines = read_text(image)
    assert [line.text for line in lines] == ["Lighthouses guide ships home.", "Tide tables 2025: 311 nights"]
    assert all(line.score > 0.9 for line in lines)
    truth = [{"text": "Lighthouses guide ships home.", "box": [10, 10, 460, 45]},
             {"text": "Tide tables 2024: 311 nights", "box": [10, 70, 460, 105]}]
    result = verify(image, truth)
    assert result.errors == 1 and result.read[1] == "Tide tables 2025: 311 nights"
