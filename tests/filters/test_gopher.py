"""gopher@1: Gopher quality and repetition rules, English and Chinese.

Signals are checked on small texts counted by hand; every rule gets a crafted document just
inside and just outside its default threshold (tagged with the real filter, judged with
``SelectConfig()``); the select side is also checked on signals set directly.

Crafted texts are made of distinct made-up words (or, for Chinese, distinct Han characters
that are in no word list), so the only repetition in a text is the one a test puts there.
"""

from __future__ import annotations

from functools import partial

import pytest

from filters.base import Verdict
from filters.gopher import DUP_NGRAMS, TOP_NGRAMS, GopherFilter, duplicates
from filters.settings import FiltersConfig, SelectConfig, TextRules
from schemas import Document, TextNode
from tests.filters.textdocs import Hanzi, Words, make_doc, tag_with

NAME = "gopher@1"
tag = partial(tag_with, NAME)


# -- builders ----------------------------------------------------------------------------------------

def en_sentence(w: Words, n: int = 10) -> str:
    """n tokens, every other one "the" / "of" / "and" (Gopher stop words), ending in "."."""
    stops = ("the", "of", "and")
    return " ".join(stops[(i // 2) % 3] if i % 2 else w() for i in range(n)) + "."


def zh_sentence(h: Hanzi, n: int = 15) -> str:
    """n characters, every fifth a stop word (的 了 是), ending in "。"."""
    stops = "的了是"
    return "".join(stops[(i // 5) % 3] if i % 5 == 4 else h() for i in range(n)) + "。"


def sentence(language: str, gen, n: int | None = None) -> str:
    if language == "en":
        return en_sentence(gen, n or 10)
    return zh_sentence(gen, n or 15)


def generator(language: str, seed: int):
    return Words(seed, length=6) if language == "en" else Hanzi(seed)


def exact_line(language: str, gen, length: int) -> str:
    """A line of exactly ``length`` characters with no leading or trailing space."""
    text = ""
    while len(text) < length:
        text += sentence(language, gen) + (" " if language == "en" else "")
    text = text[:length]
    return text if not text[-1].isspace() else text[:-1] + "q"


def judge(doc: Document, select: SelectConfig | None = None) -> Verdict | None:
    tag(doc)
    return GopherFilter(FiltersConfig()).select(doc, select or SelectConfig())


# -- signals by hand ---------------------------------------------------------------------------------

def test_quality_signals_by_hand():
    doc = make_doc("Hello #world... and more…", TextNode("• one\n- two\nthree...\n\n  * four 2020", kind="list"))
    s = tag(doc)
    # tokens: hello world and more one two three four 2020 -> 9
    assert s["gopher.symbol_ratio"] == round(4 / 9, 4)  # "#", "...", "…", "..."
    # lines: "Hello #world... and more…", "• one", "- two", "three...", "* four 2020"
    assert s["gopher.bullet_lines"] == round(3 / 5, 4)
    assert s["gopher.ellipsis_lines"] == round(2 / 5, 4)
    assert s["gopher.alpha_words"] == round(8 / 9, 4)  # 2020 has no letter
    assert s["gopher.mean_word_length"] == round((5 + 5 + 3 + 4 + 3 + 3 + 5 + 4 + 4) / 9, 4)
    assert s["gopher.stop_words"] == 1.0  # "and"


def test_mean_word_length_only_for_mostly_latin_text():
    s = tag(make_doc("hello world 你好"))  # 2 Latin tokens of 4: measured on the Latin ones
    assert s["gopher.mean_word_length"] == 5.0
    s = tag(make_doc("hello 你好", language="zh"))  # 1 of 3: not measured
    assert "gopher.mean_word_length" not in s
    s = tag(make_doc("ｶﾀｶﾅ ⼀二三", language="zh"))  # CJK once normalised (half-width kana, Kangxi radical)
    assert "gopher.mean_word_length" not in s


def test_stop_words_english_gopher_list_and_chinese_stop_word_list():
    s = tag(make_doc("The cat of the house and a dog have to be with that"))
    assert s["gopher.stop_words"] == 9.0  # the of the and have to be with that ("a" is not in Gopher's list)
    s = tag(make_doc("我们的学校是新建了 the", language="zh"))  # CJK majority: the Chinese list, in characters
    assert s["gopher.stop_words"] == 6.0  # 我们 的 是 了 (5 characters), plus "the" from the English list


def test_duplicate_lines_and_paragraphs_by_hand():
    doc = make_doc("alpha\nbeta gamma\nalpha", "delta\nalpha", "delta\nalpha")
    s = tag(doc)
    # lines: alpha, beta gamma, alpha, delta, alpha, delta, alpha -> 4 seen before, 4 * 5 characters
    assert s["gopher.dup_line_fraction"] == round(4 / 7, 4)
    assert s["gopher.dup_line_chars"] == round(20 / (5 + 10 + 5 + 5 + 5 + 5 + 5), 4)
    # paragraphs: the third repeats the second (11 characters)
    assert s["gopher.dup_paragraph_fraction"] == round(1 / 3, 4)
    assert s["gopher.dup_paragraph_chars"] == round(11 / (22 + 11 + 11), 4)
    assert duplicates(["a", "bb", "a", "a", "bb"]) == (3, 4) == duplicates(["a", "bb", "a", "a", "bb"], 7)
    assert duplicates([]) == duplicates([], 0) == (0, 0)


def test_ngram_signals_by_hand():
    s = tag(make_doc("the cat the cat sat"))
    # 2-gram (the, cat) twice: 2 * 6 of 15 characters; no 3- or 4-gram repeats
    assert (s["gopher.top_2gram_chars"], s["gopher.top_3gram_chars"], s["gopher.top_4gram_chars"]) == (0.8, 0.0, 0.0)
    s = tag(make_doc("a b c d e a b c d e"))
    assert s["gopher.dup_5gram_chars"] == 1.0 and s["gopher.dup_6gram_chars"] == 0.0
    s = tag(make_doc("甲乙丙丁戊己甲乙丙丁戊己庚", language="zh"))  # characters are tokens
    assert s["gopher.dup_6gram_chars"] == round(12 / 13, 4) and s["gopher.dup_7gram_chars"] == 0.0
    assert s["gopher.top_2gram_chars"] == round(2 * 2 / 13, 4)


def test_ngrams_run_over_the_whole_document_across_paragraphs():
    s = tag(make_doc("a b c d", "e a b c", "d e"))  # tokens a b c d e a b c d e
    assert s["gopher.dup_5gram_chars"] == 1.0


def test_document_without_tokens_gets_no_signals():
    doc = make_doc("... !!!")
    assert tag(doc) == {}
    assert GopherFilter(FiltersConfig()).select(doc, SelectConfig()) is None


# -- crafted documents on both sides of each threshold --------------------------------------------------

def mean_length_doc(length_sum_delta: int, long: bool) -> Document:
    """100 tokens: 50 stop words ("of" or "the") between 50 made-up words, mean exactly 3.0
    (short) or 10.0 (long); ``length_sum_delta`` adds characters to one word."""
    w = Words(1, length=6)
    stop, content = ("the", 17) if long else ("of", 4)
    tokens = []
    for i in range(50):
        tokens += [stop, w(content + (length_sum_delta if i == 0 else 0))]
    return make_doc(" ".join(tokens))


def symbol_doc(language: str, n_symbols: int) -> Document:
    """100 tokens with ``n_symbols`` "#" (English, as hashtags) or "…" (Chinese) inside lines."""
    if language == "en":
        w = Words(2, length=6)
        tokens = [("the" if i % 4 == 1 else w()) for i in range(100)]
        return make_doc(" ".join(("#" + t if i < 4 * n_symbols and i % 4 == 0 else t) for i, t in enumerate(tokens)))
    h = Hanzi(2)
    chars = ["的" if i % 5 == 1 else h() for i in range(100)]
    return make_doc("".join(c + ("…" if i < 5 * n_symbols and i % 5 == 0 else "") for i, c in enumerate(chars)),
                    language="zh")


def lines_doc(language: str, n_lines: int, n_marked: int, bullet: bool) -> Document:
    """A list of ``n_lines`` distinct lines, ``n_marked`` starting with a bullet or ending in
    an ellipsis."""
    gen = generator(language, 3)
    lines = []
    for i in range(n_lines):
        line = sentence(language, gen)
        if i < n_marked:
            line = ("• " + line) if bullet else (line[:-1] + ("..." if language == "en" else "……"))
        lines.append(line)
    return make_doc(TextNode("\n".join(lines), kind="list"), language=language)


def alpha_doc(language: str, n_numbers: int) -> Document:
    """100 tokens, ``n_numbers`` of them distinct numbers."""
    gen = generator(language, 4)
    out = []
    for i in range(100):
        if i % 5 == 2 and i // 5 < n_numbers:
            out.append(str(1000 + i))
        elif i % 5 == 0 and (i // 5) + 20 < n_numbers:
            out.append(str(5000 + i))
        elif i % 10 == 1:
            out.append("的" if language == "zh" else "the")
        else:
            out.append(gen())
    return make_doc((" " if language == "en" else "").join(out), language=language)


def stop_words_doc(language: str, n_stop: int) -> Document:
    if language == "en":
        w = Words(5, length=6)
        tokens = [w() for _ in range(30)]
        for i, stop in enumerate(["the", "of"][:n_stop]):
            tokens[5 + 10 * i] = stop
        return make_doc(" ".join(tokens) + ".")
    h = Hanzi(5)
    chars = [h() for _ in range(30)]
    for i, stop in enumerate("的了"[:n_stop]):
        chars[5 + 10 * i] = stop
    return make_doc("".join(chars) + "。", language="zh")


def dup_line_fraction_doc(language: str, n_unique: int, n_menu: int) -> Document:
    """Distinct sentences with a one-word navigation line repeated between them."""
    gen = generator(language, 6)
    menu = "Menu" if language == "en" else "首页"
    lines = []
    for i in range(max(n_unique, n_menu)):
        if i < n_unique:
            lines.append(sentence(language, gen))
        if i < n_menu:
            lines.append(menu)
    return make_doc("\n".join(lines), language=language)


def dup_line_chars_doc(language: str, separator: int, unique_chars: int) -> Document:
    """A separator line of ``separator`` "=" twice, plus three distinct lines of
    ``unique_chars`` characters in all."""
    gen = generator(language, 7)
    sizes = [unique_chars // 3, unique_chars // 3, unique_chars - 2 * (unique_chars // 3)]
    lines = [exact_line(language, gen, sizes[0]), "=" * separator, exact_line(language, gen, sizes[1]),
             "=" * separator, exact_line(language, gen, sizes[2])]
    assert sum(len(x) for x in lines) == 2 * separator + unique_chars
    return make_doc("\n".join(lines), language=language)


def dup_paragraph_fraction_doc(language: str, n_unique: int, n_menu: int) -> Document:
    """Distinct 3-line paragraphs with a one-word paragraph repeated between them (so lines
    repeat less than paragraphs)."""
    gen = generator(language, 8)
    menu = "Menu" if language == "en" else "首页"
    paragraphs = []
    for i in range(max(n_unique, n_menu)):
        if i < n_unique:
            paragraphs.append("\n".join(sentence(language, gen) for _ in range(3)))
        if i < n_menu:
            paragraphs.append(menu)
    return make_doc(*paragraphs, language=language)


def dup_paragraph_chars_doc(language: str, unique_chars: int) -> Document:
    """An indented separator paragraph (30 spaces + 10 "=", 40 characters, of which a line keeps
    10) twice, plus three distinct paragraphs of ``unique_chars`` characters in all."""
    gen = generator(language, 9)
    indent = " " if language == "en" else "\u3000"  # ideographic space indents Chinese paragraphs
    separator = indent * 30 + "=" * 10
    sizes = [unique_chars // 3, unique_chars // 3, unique_chars - 2 * (unique_chars // 3)]
    return make_doc(exact_line(language, gen, sizes[0]), separator, exact_line(language, gen, sizes[1]), separator,
                    exact_line(language, gen, sizes[2]), language=language)


def ngram_doc(language: str, k: int, copies: int, phrases: int, total: int, token_length: int = 5) -> Document:
    """``phrases`` distinct phrases of k tokens, each ``copies`` times, between distinct filler
    tokens; ``total`` token characters in all (Chinese tokens are one character)."""
    gen = generator(language, 10 + k)
    if language == "en":
        units = [[gen(token_length) for _ in range(k)] for _ in range(phrases)]
    else:
        units = [list(gen(k)) for _ in range(phrases)]
    placed = [units[i % phrases] for i in range(phrases * copies)]
    filler_chars = total - sum(len(t) for u in placed for t in u)
    if language == "en":
        filler = ["the", "of"]  # Gopher stop words, once each
        left = filler_chars - 5
        while left > 0:
            size = 5 if left >= 8 or left == 5 else (left if left <= 4 else left - 3)
            filler.append(gen(size))
            left -= size
    else:
        filler = ["的", "了"] + list(gen(filler_chars - 2))
    assert sum(map(len, filler)) == filler_chars and len(filler) > len(placed)
    # filler chunk, unit, filler chunk, unit, ..., filler chunk
    chunks = [filler[i :: len(placed) + 1] for i in range(len(placed) + 1)]
    tokens = list(chunks[0])
    for unit, chunk in zip(placed, chunks[1:]):
        tokens += unit + chunk
    doc = make_doc((" " if language == "en" else "").join(tokens), language=language)
    return doc


def ngram_threshold_pair(language: str, k: int, copies: int, phrases: int, threshold: float,
                         token_length: int = 5) -> tuple[int, int]:
    """The smallest total length that keeps the repeated characters within ``threshold`` (as
    the signal rounds it), and that length minus one."""
    repeated = copies * phrases * k * (token_length if language == "en" else 1)
    total = repeated
    while round(repeated / total, 4) > threshold:
        total += 1
    assert round(repeated / (total - 1), 4) > threshold
    return total, total - 1


def rules(language: str) -> TextRules:
    return SelectConfig().rules(language)


TOP_SETUP = {2: (4, 1), 3: (6, 1), 4: (4, 1)}  # n -> (copies, phrases)


def top_ngram_case(language: str, n: int):
    copies, phrases = TOP_SETUP[n] if language == "en" else {2: (10, 1), 3: (6, 1), 4: (4, 1)}[n]
    threshold = rules(language).max_top_ngram_chars[TOP_NGRAMS.index(n)]
    good, bad = ngram_threshold_pair(language, n, copies, phrases, threshold)
    return lambda total: ngram_doc(language, n, copies, phrases, total), good, bad


def dup_ngram_case(language: str, n: int):
    threshold = rules(language).max_dup_ngram_chars[DUP_NGRAMS.index(n)]
    good, bad = ngram_threshold_pair(language, n, 2, 3, threshold, token_length=3)
    return lambda total: ngram_doc(language, n, 2, 3, total, token_length=3), good, bad


def cases():
    out = [
        ("en", "min_mean_word_length", "gopher.mean_word_length", lambda d: mean_length_doc(d, False), 0, -1),
        ("en", "max_mean_word_length", "gopher.mean_word_length", lambda d: mean_length_doc(d, True), 0, 1),
    ]
    for language in ("en", "zh"):
        out += [
            (language, "max_symbol_ratio", "gopher.symbol_ratio", lambda k, lg=language: symbol_doc(lg, k), 10, 11),
            (language, "max_bullet_lines", "gopher.bullet_lines",
             lambda k, lg=language: lines_doc(lg, 20, k, bullet=True), 18, 19),
            (language, "max_ellipsis_lines", "gopher.ellipsis_lines",
             lambda k, lg=language: lines_doc(lg, 20, k, bullet=False), 6, 7),
            (language, "min_alpha_words", "gopher.alpha_words", lambda k, lg=language: alpha_doc(lg, k), 20, 21),
            (language, "min_stop_words", "gopher.stop_words", lambda k, lg=language: stop_words_doc(lg, k), 2, 1),
            (language, "max_dup_line_fraction", "gopher.dup_line_fraction",
             lambda p, lg=language: dup_line_fraction_doc(lg, *p), (6, 4), (8, 5)),
            (language, "max_dup_line_chars", "gopher.dup_line_chars",
             lambda p, lg=language: dup_line_chars_doc(lg, *p), *(((43, 129), (44, 129)) if language == "en"
                                                                 else ((15, 45), (16, 45)))),
            (language, "max_dup_paragraph_fraction", "gopher.dup_paragraph_fraction",
             lambda p, lg=language: dup_paragraph_fraction_doc(lg, *p), (6, 4), (8, 5)),
            (language, "max_dup_paragraph_chars", "gopher.dup_paragraph_chars",
             lambda u, lg=language: dup_paragraph_chars_doc(lg, u), 120, 119),
        ]
        for n in TOP_NGRAMS:
            out.append((language, f"max_top_{n}gram_chars", f"gopher.top_{n}gram_chars", *top_ngram_case(language, n)))
        for n in DUP_NGRAMS:
            out.append((language, f"max_dup_{n}gram_chars", f"gopher.dup_{n}gram_chars", *dup_ngram_case(language, n)))
    return out


CASES = cases()


def threshold_of(language: str, rule: str) -> float:
    r = rules(language)
    for prefix, values, ns in (("max_top_", r.max_top_ngram_chars, TOP_NGRAMS),
                               ("max_dup_", r.max_dup_ngram_chars, DUP_NGRAMS)):
        if rule.startswith(prefix) and rule.endswith("gram_chars"):
            return values[ns.index(int(rule[len(prefix):].split("gram")[0]))]
    return getattr(r, rule)


@pytest.mark.parametrize("language, rule, signal, build, good, bad", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_rule_on_both_sides_of_its_threshold(language, rule, signal, build, good, bad):
    threshold = threshold_of(language, rule)
    kept = build(good)
    verdict = judge(kept)
    value = kept.signals[signal]
    assert verdict is None, (value, verdict)
    assert value >= threshold if rule.startswith("min_") else value <= threshold

    dropped = build(bad)
    verdict = judge(dropped)
    value = dropped.signals[signal]
    assert verdict == Verdict(NAME, rule, signal, value, threshold)
    assert value < threshold if rule.startswith("min_") else value > threshold


def test_every_gopher_rule_has_a_crafted_case():
    r = TextRules()
    rules_in_select = {"min_mean_word_length", "max_mean_word_length", "max_symbol_ratio", "max_bullet_lines",
                       "max_ellipsis_lines", "min_alpha_words", "min_stop_words", "max_dup_line_fraction",
                       "max_dup_line_chars", "max_dup_paragraph_fraction", "max_dup_paragraph_chars"}
    rules_in_select |= {f"max_top_{n}gram_chars" for n in TOP_NGRAMS[: len(r.max_top_ngram_chars)]}
    rules_in_select |= {f"max_dup_{n}gram_chars" for n in DUP_NGRAMS[: len(r.max_dup_ngram_chars)]}
    assert {c[1] for c in CASES if c[0] == "en"} == rules_in_select
    assert {c[1] for c in CASES if c[0] == "zh"} == rules_in_select - {"min_mean_word_length", "max_mean_word_length"}


def test_crafted_documents_have_their_counted_values():
    assert tag(mean_length_doc(0, False))["gopher.mean_word_length"] == 3.0
    assert tag(mean_length_doc(-1, False))["gopher.mean_word_length"] == 2.99
    assert tag(mean_length_doc(1, True))["gopher.mean_word_length"] == 10.01
    assert tag(symbol_doc("zh", 11))["gopher.symbol_ratio"] == 0.11
    assert tag(lines_doc("en", 20, 18, bullet=True))["gopher.bullet_lines"] == 0.9
    assert tag(lines_doc("zh", 20, 7, bullet=False))["gopher.ellipsis_lines"] == 0.35
    assert tag(alpha_doc("en", 21))["gopher.alpha_words"] == 0.79
    assert tag(dup_line_fraction_doc("en", 8, 5))["gopher.dup_line_fraction"] == round(4 / 13, 4)
    assert tag(dup_line_chars_doc("en", 43, 129))["gopher.dup_line_chars"] == round(43 / (86 + 129), 4)
    s = tag(dup_paragraph_chars_doc("zh", 119))
    assert s["gopher.dup_paragraph_chars"] == round(40 / (80 + 119), 4)
    assert s["gopher.dup_line_chars"] == round(10 / (20 + 119), 4)  # lines are stripped
    # Chinese top 2-gram: one 2-character phrase 10 times in 100 characters
    assert tag(ngram_doc("zh", 2, 10, 1, 100))["gopher.top_2gram_chars"] == 0.2
    # English duplicated 5-grams: 3 phrases of 5 three-letter words, twice each, 600 characters
    assert tag(ngram_doc("en", 5, 2, 3, 600, token_length=3))["gopher.dup_5gram_chars"] == 0.15


def test_mean_word_length_rules_do_not_apply_to_chinese_text():
    doc = make_doc(zh_sentence(Hanzi(20), 40), language="zh")
    assert judge(doc) is None and "gopher.mean_word_length" not in doc.signals


def test_stop_word_rule_applies_only_to_languages_with_a_list():
    for language, expected in (("en", "min_stop_words"), ("zh", "min_stop_words"), ("de", None)):
        doc = stop_words_doc("en", 0)
        doc.language = language
        verdict = judge(doc)
        assert (verdict.rule if verdict else None) == expected


# -- select alone, on signals set directly --------------------------------------------------------------

def all_rules():
    out = [("min_mean_word_length", "gopher.mean_word_length"), ("max_mean_word_length", "gopher.mean_word_length"),
           ("max_symbol_ratio", "gopher.symbol_ratio"), ("max_bullet_lines", "gopher.bullet_lines"),
           ("max_ellipsis_lines", "gopher.ellipsis_lines"), ("min_alpha_words", "gopher.alpha_words"),
           ("min_stop_words", "gopher.stop_words"), ("max_dup_line_fraction", "gopher.dup_line_fraction"),
           ("max_dup_line_chars", "gopher.dup_line_chars"),
           ("max_dup_paragraph_fraction", "gopher.dup_paragraph_fraction"),
           ("max_dup_paragraph_chars", "gopher.dup_paragraph_chars")]
    out += [(f"max_top_{n}gram_chars", f"gopher.top_{n}gram_chars") for n in TOP_NGRAMS]
    out += [(f"max_dup_{n}gram_chars", f"gopher.dup_{n}gram_chars") for n in DUP_NGRAMS]
    return out


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("rule, signal", all_rules())
def test_rule_from_signals_alone(language, rule, signal):
    threshold = threshold_of(language, rule)
    step = 1 if isinstance(threshold, int) else 0.0001
    beyond = threshold - step if rule.startswith("min_") else threshold + step
    f = GopherFilter(FiltersConfig())
    doc = make_doc(language=language)
    doc.signals[signal] = float(threshold)
    assert f.select(doc, SelectConfig()) is None
    doc.signals[signal] = beyond
    assert f.select(doc, SelectConfig()) == Verdict(NAME, rule, signal, beyond, threshold)


def test_changed_thresholds_change_the_verdict_without_retagging():
    doc = ngram_doc("en", 2, 4, 1, 250)  # top 2-gram: 40 of 250 characters = 0.16
    tag(doc)
    signals = dict(doc.signals)
    f = GopherFilter(FiltersConfig())
    assert signals["gopher.top_2gram_chars"] == 0.16
    assert f.select(doc, SelectConfig()) is None
    strict = SelectConfig(en=TextRules(max_top_ngram_chars=[0.15, 0.18, 0.16]))
    assert f.select(doc, strict) == Verdict(NAME, "max_top_2gram_chars", "gopher.top_2gram_chars", 0.16, 0.15)
    assert doc.signals == signals
