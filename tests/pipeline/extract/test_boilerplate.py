"""boilerplate.name_signals, class_words and is_legal_notice give exactly what the plain regex
logic gave before their pre-checks, per-string caches and the factored _NEGATIVE_RE: the
reference implementations below, compared on generated strings around every pattern word
(separators, digits, CJK, upper case, characters with exotic case folds) and, when
../shared/data exists, on every class/id attribute and text block of the real pages."""

from __future__ import annotations

import random
import re
from itertools import product

from pipeline.extract import boilerplate as bp

# -- reference: the regex-only logic the pre-checks must not change ----------------------------

REF_NEGATIVE_RE = re.compile(
    r"(?:^|[\s_-])(?:(?:" + "|".join(bp._NEGATIVE_PREFIXES) + r")[a-z0-9]*"
    r"|(?:" + "|".join(bp._NEGATIVE_TOKENS) + r"))(?=$|[\s_-])"
)
REF_HEADER_RE = re.compile(r"(?:^|[\s_-])header[a-z0-9]*(?=$|[\s_-])")
REF_POSITIVE_RE = re.compile(
    r"(?:^|[\s_-])(?:article|entry|post|story|content|body|text|main|blog|news)[a-z0-9]*(?=$|[\s_-])"
)
REF_MAIN_CONTAINER_RE = re.compile(
    r"articlebody|article[_-]?(?:body|content|text)|post[_-]?(?:body|content|text|entry)"
    r"|entry[_-]?(?:content|body|text)|story[_-]?(?:body|content|text)|main[_-]?content"
    r"|blog[_-]?(?:post|entry|content)|news[_-]?(?:body|content|text)|content[_-]?(?:body|main)"
)
REF_LEGAL_NOTICE_RE = re.compile(
    r"©|copyright\s*(?:\(c\)|\d{4})|\(c\)\s*(?:19|20)\d\d|all rights reserved"
    r"|版权所有|版權所有|保留所有权利|icp\s*[备證证]|公网安备",
    re.IGNORECASE,
)
REF_TAXONOMY_CLASS_RE = re.compile(r"(?:^|\s)(?:tag|category|categories|term|topic|postid|format)-\S*")


def ref_class_words(cls: str | None) -> str:
    cls = (cls or "").lower()
    return REF_TAXONOMY_CLASS_RE.sub(" ", cls) if "-" in cls else cls


def ref_name_words(names: str) -> tuple[bool, bool, bool, bool]:
    if not names:
        return False, False, False, False
    return (REF_NEGATIVE_RE.search(names) is not None, REF_HEADER_RE.search(names) is not None,
            REF_POSITIVE_RE.search(names) is not None, REF_MAIN_CONTAINER_RE.search(names) is not None)


def ref_name_signals(cls: str | None, ident: str | None) -> tuple[bool, bool]:
    c, i = ref_name_words(ref_class_words(cls)), ref_name_words((ident or "").lower())
    boilerplate = c[0] or i[0] or ((c[1] or i[1]) and not (c[2] or i[2]))
    return boilerplate, c[3] or i[3]


def ref_is_legal_notice(text: str) -> bool:
    return len(text) <= 300 and REF_LEGAL_NOTICE_RE.search(text) is not None


def test_references_are_the_module_patterns() -> None:
    """The unchanged patterns are still the references' (else update both, deliberately)."""
    for ref, new in ((REF_HEADER_RE, bp._HEADER_RE), (REF_POSITIVE_RE, bp._POSITIVE_RE),
                     (REF_MAIN_CONTAINER_RE, bp.MAIN_CONTAINER_RE), (REF_LEGAL_NOTICE_RE, bp._LEGAL_NOTICE_RE),
                     (REF_TAXONOMY_CLASS_RE, bp._TAXONOMY_CLASS_RE)):
        assert (ref.pattern, ref.flags) == (new.pattern, new.flags)
    assert bp.MAX_LEGAL_NOTICE_CHARS == 300


# -- generated class/id strings ------------------------------------------------------------------

# Characters whose case folds or lowercase forms are not plain ASCII ones: long s, Kelvin sign,
# dotted/dotless i, ligatures, sharp s, capital sigma, titlecase dz, combining dot above.
EXOTIC = ("ſ", "\u212a", "İ", "ı", "ﬀ", "ﬁ", "ß", "Σ", "ǅ", "\u0307", "Å")
# [\s_-] separators, Unicode whitespace among them, and characters that are not separators.
NAME_SEPARATORS = ("", " ", "-", "_", "\t", "\n", "\r", "\xa0", "\u3000", "\x1c", "\u2028", "\x85",
                   ".", ":", "/", "--", " - ", "__")
NAME_FILLERS = ("x", "wp", "item", "12345", "0", "a1", "导航", "页脚", "Z", "é")


def _pattern_words() -> list[str]:
    """Every word of the class/id patterns (and stray letters of their syntax: harmless)."""
    words = {*bp._NEGATIVE_PREFIXES, *bp._NEGATIVE_TOKENS}
    for pattern in (REF_HEADER_RE, REF_POSITIVE_RE, REF_MAIN_CONTAINER_RE, REF_TAXONOMY_CLASS_RE):
        words.update(re.findall(r"[a-z]+(?:-[a-z]+)*", pattern.pattern))
    return sorted(words)


def _variants(word: str) -> set[str]:
    """A word, its prefixes and suffixes, case and exotic-fold spellings, with letters or digits
    attached."""
    out = {word, word.upper(), word.title(), word + "s", word + "123", word + "x", "x" + word, word + "é"}
    out.update(word[:k] for k in range(1, len(word)))
    out.update(word[k:] for k in range(1, len(word)))
    for plain, exotic in (("s", "ſ"), ("k", "\u212a"), ("i", "İ"), ("i", "ı"), ("ff", "ﬀ"), ("fi", "ﬁ")):
        if plain in word:
            out.add(word.replace(plain, exotic, 1))
    return out


def generated_names(seed: int = 7, random_count: int = 40_000) -> list[str]:
    words = _pattern_words()
    pieces = sorted({v for w in words for v in _variants(w)})
    names = set()
    # Every piece between every kind of left and right neighbour.
    sides = ("", "x", "1", "-", "_", " ", "\t", "\u3000", ".", "ſ", "İ", "X-", "-x")
    for piece in pieces:
        for left in sides:
            names.add(left + piece)
            names.add(piece + left)
    # Every pair of pattern words with every separator: all MAIN_CONTAINER_RE alternatives and
    # the multi-token words ("tag-list", "sr-only").
    for a, b in product(words, repeat=2):
        for sep in ("", "-", "_", " ", "."):
            names.add(a + sep + b)
    # Random class/id-like strings: pieces, fillers, exotic characters, any separators.
    rng = random.Random(seed)
    parts = pieces + list(NAME_FILLERS) + list(EXOTIC) + ["tag-x", "category-y", "categories-z", "term-1",
                                                           "topic-a", "postid-9", "format-standard"]
    while len(names) < len(pieces) * len(sides) + random_count:
        count = rng.randint(1, 6)
        text = "".join(rng.choice(parts) + rng.choice(NAME_SEPARATORS) for _ in range(count))
        if rng.random() < 0.2:
            text = text.upper()
        names.add(text.strip() if rng.random() < 0.5 else text)
    names.add("")
    return sorted(names)


def _check_names(pairs: list[tuple[str | None, str | None]]) -> None:
    wrong = [(c, i, bp.name_signals(c, i), ref_name_signals(c, i))
             for c, i in pairs if bp.name_signals(c, i) != ref_name_signals(c, i)]
    assert not wrong, f"{len(wrong)} of {len(pairs)} class/id pairs differ, e.g. {wrong[:5]}"


def test_negative_re_same_as_plain_form() -> None:
    names = generated_names()
    for text in (*names, *(n.lower() for n in names)):
        assert (bp._NEGATIVE_RE.search(text) is None) == (REF_NEGATIVE_RE.search(text) is None), repr(text)


def test_class_words_same_as_regex_logic() -> None:
    for cls in (None, *generated_names()):
        assert bp.class_words(cls) == ref_class_words(cls), repr(cls)


def test_name_signals_same_as_regex_logic_on_generated_names() -> None:
    names = generated_names()
    rng = random.Random(11)
    header = [n for n in names if REF_HEADER_RE.search(n.lower())]
    article = [n for n in names if REF_POSITIVE_RE.search(n.lower())]
    pairs: list[tuple[str | None, str | None]] = [(n, None) for n in names] + [(None, n) for n in names]
    pairs += [(rng.choice(names), rng.choice(names)) for _ in range(40_000)]
    # "header" words on one side, article and boilerplate words on the other.
    pairs += [(h, rng.choice(article)) for h in header] + [(rng.choice(article), h) for h in header]
    pairs += [(h, rng.choice(names)) for h in header] + [(rng.choice(names), h) for h in header]
    pairs += [(None, None), ("", ""), ("", None)]
    for cache in (bp._class_flags, bp._id_flags):
        cache.cache_clear()
    _check_names(pairs)
    # The data reaches every answer, and "header" words with and without article words.
    assert {ref_name_signals(c, i) for c, i in pairs} == {(False, False), (False, True), (True, False),
                                                          (True, True)}
    cases = [_header_case(c, i) for c, i in pairs]
    assert cases.count("header") > 500 and cases.count("article") > 500


def _header_case(cls: str | None, ident: str | None) -> str | None:
    """A "header" word and no boilerplate word: with an article word or without."""
    c, i = ref_name_words(ref_class_words(cls)), ref_name_words((ident or "").lower())
    if c[0] or i[0] or not (c[1] or i[1]):
        return None
    return "article" if c[2] or i[2] else "header"


# -- generated texts ------------------------------------------------------------------------------

NOTICE_PIECES = (
    "©", "copyright", "Copyright", "COPYRIGHT", "CopyRight", "copyrİght", "copyrıght", "COPYRIGHT",
    "(c)", "(C)", "( c )", "(c", "c)", "all rights reserved", "All Rights Reserved", "ALL RIGHTS RESERVED",
    "all rightſ reſerved", "all rİghts reserved", "all rıghts reserved", "All  rights reserved",
    "all rights", "版权所有", "版權所有", "保留所有权利", "所有", "版权", "icp", "ICP", "İcp", "ıcp", "备", "證", "证",
    "公网安备", "京ICP备12345678号", "粤ICP证", "2020", "1999", "19", "20", "٢٠٢٠", "１９９９", "२०२१",
    "\u212aelvin", "ﬀ", "ß", "copy right", "copyr", "all r", "rights", "reserved", "Σ", "ǅ",
)
TEXT_SPACES = ("", " ", "  ", "\t", "\n", "\xa0", "\u3000", "\u2028", "\x1c", ": ", ".")
TEXT_FILLERS = ("The", "site", "text", "lorem ipsum dolor sit amet", "文章", "é", "Ω", "Ltd.", "Inc", "all",
                "c", "C", "copy", "ſ", "İ", "ı")


def generated_texts(seed: int = 5, random_count: int = 30_000) -> list[str]:
    texts = set()
    for a, b in product(NOTICE_PIECES, repeat=2):
        for space in (" ", "", "\t\n", "\u3000"):
            texts.add(a + space + b)
    rng = random.Random(seed)
    parts = NOTICE_PIECES + TEXT_FILLERS
    while len(texts) < len(NOTICE_PIECES) ** 2 * 4 + random_count:
        count = rng.randint(1, 8)
        text = "".join(rng.choice(parts) + rng.choice(TEXT_SPACES) for _ in range(count))
        if rng.random() < 0.3:  # one character dropped or changed: near misses
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(("", "x", "S", "ſ", " ")) + text[at + 1:]
        texts.add(text.upper() if rng.random() < 0.1 else text)
    # Around the length limit.
    for notice in ("© 2020 Example", "Copyright 2021", "版权所有", "all rights reserved"):
        for length in (299, 300, 301, 400):
            texts.add("x" * (length - len(notice)) + notice)
            texts.add(notice + "é" * (length - len(notice)))
    texts.add("")
    return sorted(texts)


def test_is_legal_notice_same_as_regex_logic_on_generated_texts() -> None:
    texts = generated_texts()
    wrong = [t for t in texts if bp.is_legal_notice(t) != ref_is_legal_notice(t)]
    assert not wrong, f"{len(wrong)} of {len(texts)} texts differ, e.g. {wrong[:5]}"
    assert 1000 < sum(map(ref_is_legal_notice, texts)) < len(texts) - 1000


def test_legal_notice_anchor_characters_fold_only_to_themselves() -> None:
    """The proof behind is_legal_notice's pre-check: every character that IGNORECASE lets match a
    character of its anchors ("copyr", "(c)", "all r", "©", "所有", "备", "证", "證") lowercases
    to that character, over all code points, so a match leaves the anchor in text.lower().
    ('i' and 's' would not qualify: 'İ' lowercases to 'i̇', 'ı' and 'ſ' to themselves.)"""
    every = "".join(map(chr, range(0x110000)))
    for char in set("copyr" + "(c)" + "all r" + "©所有备证證"):
        matched = {m.group() for m in re.finditer(re.escape(char), every, re.IGNORECASE)}
        assert matched and all(m.lower() == char for m in matched), (char, matched)
    for char in "is":
        assert any(m.group().lower() != char for m in re.finditer(char, every, re.IGNORECASE))


# -- real pages -----------------------------------------------------------------------------------


def test_same_as_regex_logic_on_real_pages(shared_data) -> None:
    """Every class/id attribute pair and every text block of the sample pages."""
    from selectolax.lexbor import LexborHTMLParser

    from bench.extract import html_files, warc_html_responses
    from pipeline.extract.charset import charset_from_content_type, decode_html
    from pipeline.extract.html import extract_document
    from schemas.document import TextNode

    pairs: list[tuple[str | None, str | None]] = []
    texts: list[str] = []
    pages = 0
    for url, payload, content_type in [*html_files(shared_data), *warc_html_responses(shared_data)]:
        html = decode_html(payload, charset_from_content_type(content_type))[0]
        tree = LexborHTMLParser(html)
        pairs += [(node.attributes.get("class"), node.attributes.get("id")) for node in tree.css("[class], [id]")]
        texts += [node.text for node in extract_document(html, url).nodes if isinstance(node, TextNode)]
        texts += [node.text() for node in tree.css("p, div, li, footer")]
        pages += 1
    assert pages > 300 and len(pairs) > 30_000 and len(texts) > 30_000
    for cache in (bp._class_flags, bp._id_flags):
        cache.cache_clear()
    _check_names(pairs)
    assert {ref_name_signals(c, i) for c, i in pairs} == {(False, False), (False, True), (True, False),
                                                          (True, True)}
    wrong = [t for t in texts if bp.is_legal_notice(t) != ref_is_legal_notice(t)]
    assert not wrong, f"{len(wrong)} of {len(texts)} texts differ, e.g. {wrong[:5]}"
    assert sum(map(ref_is_legal_notice, texts)) > 100
