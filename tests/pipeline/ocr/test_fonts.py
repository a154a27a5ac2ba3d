"""Font discovery and the glyph-coverage contract (no sample may hold a character its font lacks)."""

from __future__ import annotations

import os
import random
import shutil

import pytest

from pipeline.config import OcrRenderConfig
from pipeline.ocr.fonts import (
    Font,
    FontSet,
    drawable,
    find_fonts,
    has_raqm,
    needs_shaping,
)
from pipeline.ocr.render import (
    REASON_NO_FONT_COVERS,
    RenderedSample,
    render_text_sample,
)

DEJAVU_DIR = "/usr/share/fonts/truetype/dejavu"
DEJAVU_SANS = os.path.join(DEJAVU_DIR, "DejaVuSans.ttf")
NOTO_SANS_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

needs_dejavu = pytest.mark.skipif(not os.path.isfile(DEJAVU_SANS),
                                  reason=f"DejaVu fonts not installed ({DEJAVU_SANS}; Debian: fonts-dejavu-core)")
needs_noto_cjk = pytest.mark.skipif(not os.path.isfile(NOTO_SANS_CJK),
                                    reason=f"Noto CJK fonts not installed ({NOTO_SANS_CJK}; Debian: fonts-noto-cjk)")
needs_fc = pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig's fc-match not installed")


@pytest.fixture(scope="module")
def dejavu() -> Font:
    if not os.path.isfile(DEJAVU_SANS):
        pytest.skip(f"DejaVu Sans not installed ({DEJAVU_SANS})")
    return find_fonts([DEJAVU_SANS])[0]


@pytest.fixture(scope="module")
def noto_sc() -> Font:
    fonts = [f for f in find_fonts([NOTO_SANS_CJK]) if "CJK SC" in f.name]
    if not fonts:
        pytest.skip(f"Noto Sans CJK SC not installed ({NOTO_SANS_CJK}; Debian: fonts-noto-cjk)")
    return fonts[0]


@needs_dejavu
def test_find_by_path_glob_and_folder():
    (one,) = find_fonts([DEJAVU_SANS])
    assert (one.path, one.index) == (os.path.realpath(DEJAVU_SANS), 0)
    assert one.name.startswith("DejaVu Sans") and ord("A") in one.codepoints

    globbed = find_fonts([os.path.join(DEJAVU_DIR, "DejaVuSans*.ttf")])
    assert len(globbed) > 1 and all(os.path.basename(f.path).startswith("DejaVuSans") for f in globbed)
    assert globbed == sorted(globbed, key=lambda f: (f.path, f.index))

    folder = find_fonts([DEJAVU_DIR])
    assert {f.key for f in globbed} < {f.key for f in folder}
    # Overlapping specs give each face once, in the same order every time.
    again = find_fonts([DEJAVU_DIR, DEJAVU_SANS, os.path.join(DEJAVU_DIR, "*.ttf")])
    assert [f.key for f in again] == [f.key for f in folder]


def test_missing_specs_are_skipped():
    assert find_fonts(["/no/such/font.ttf", "/no/such/dir/*.otf", "/no/such/dir"]) == []
    if os.path.isfile(DEJAVU_SANS):
        assert [f.path for f in find_fonts(["/no/such/font.ttf", DEJAVU_SANS])] == [os.path.realpath(DEJAVU_SANS)]


@needs_fc
@needs_dejavu
def test_fontconfig_pattern_only_accepts_the_requested_family():
    (font,) = find_fonts(["fc:DejaVu Sans"])
    assert font.name.startswith("DejaVu Sans") and font.path.endswith(".ttf")
    # fc-match answers every pattern with some fallback font: that must not count as found.
    assert find_fonts(["fc:No Such Family Interleaf"]) == []
    assert find_fonts(["fc:DejaVu Sans:style=Bold"])[0].name == "DejaVu Sans Bold"


@needs_fc
@needs_noto_cjk
def test_fontconfig_picks_the_face_inside_a_collection():
    (font,) = find_fonts(["fc:Noto Sans CJK SC"])
    assert font.path == os.path.realpath(NOTO_SANS_CJK) and "CJK SC" in font.name


@needs_noto_cjk
def test_a_bare_collection_gives_every_face():
    faces = find_fonts([NOTO_SANS_CJK])
    assert [f.index for f in faces] == list(range(len(faces))) and len(faces) > 1
    assert len({f.name for f in faces}) == len(faces)


@needs_dejavu
def test_dejavu_covers_english_not_chinese(dejavu):
    assert dejavu.covers("The quick brown fox, 42% (really)!")
    assert not dejavu.covers("中文")
    assert not dejavu.covers("Hello 中文")


@needs_noto_cjk
def test_noto_cjk_covers_both(noto_sc):
    assert noto_sc.covers("中文，标点符号：「引号」。") and noto_sc.covers("The quick brown fox")


@needs_dejavu
def test_undrawable_characters_are_never_covered(dejavu):
    assert dejavu.covers("tab\tand\nnewline are whitespace")
    for bad in ("nul\x00", "bell\x07", "zero\u200dwidth joiner", "private\ue000use", "bidi\u202emark", "blank\u3164"):
        assert not dejavu.covers(bad), repr(bad)
    assert needs_shaping("مرحبا") and needs_shaping("नमस्ते") and not needs_shaping("abc 中文 한국어")
    # Arabic and Devanagari need raqm's shaping; without it no font may draw them.
    assert drawable("م") == has_raqm() and drawable("a") and drawable("中")


@needs_dejavu
@needs_noto_cjk
def test_fontset_candidates_and_pick(dejavu, noto_sc):
    fonts = FontSet([dejavu, noto_sc])
    assert fonts.candidates("中文") == [noto_sc]
    assert fonts.candidates("Latin") == [dejavu, noto_sc]
    assert fonts.candidates("\x00") == [] and fonts.pick("\U00013000", random.Random(0)) is None
    picks = [fonts.pick("Latin", random.Random(seed)) for seed in range(20)]
    assert picks == [fonts.pick("Latin", random.Random(seed)) for seed in range(20)]
    assert set(picks) == {dejavu, noto_sc}


@needs_dejavu
def test_no_chinese_sample_from_a_latin_only_fontset(dejavu):
    cfg = OcrRenderConfig()
    fonts = FontSet([dejavu])
    chinese = ["这是一个中文段落，用来测试字体覆盖。", "第二段中文。"]
    for layout in ("line", "paragraph", "columns"):
        for seed in range(3):
            assert render_text_sample(chinese, "zh", layout, fonts, random.Random(seed), cfg) == REASON_NO_FONT_COVERS
    # Mixed input: only the paragraphs the font covers are drawn.
    mixed = ["English paragraph one.", "中文段落不会出现。", "English paragraph two."]
    for layout in ("line", "paragraph", "columns"):
        sample = render_text_sample(mixed, "en", layout, fonts, random.Random(1), cfg)
        assert isinstance(sample, RenderedSample)
        assert sample.text and dejavu.covers(sample.text)
        assert not any("\u4e00" <= c <= "\u9fff" for c in sample.text)
    page = render_text_sample(mixed, "en", "paragraph", fonts, random.Random(1), cfg)
    assert isinstance(page, RenderedSample)
    assert page.text == "English paragraph one.\nEnglish paragraph two."


@needs_dejavu
def test_scripts_needing_shaping_are_drawn_only_with_raqm(dejavu):
    arabic = ["مرحبا بالعالم، هذا نص عربي قصير للاختبار."]
    sample = render_text_sample(arabic, "ar", "paragraph", FontSet([dejavu]), random.Random(0),
                                OcrRenderConfig(augment_probability=0.0))
    if not has_raqm():
        assert sample == REASON_NO_FONT_COVERS
        return
    assert isinstance(sample, RenderedSample) and sample.text == arabic[0]  # logical order
    xs = [p[0] for p in sample.lines[0]["box"]]
    assert max(xs) - min(xs) > 100
