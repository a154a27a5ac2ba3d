"""filters/text.py, ngrams.py, quality.py and wordlists.py are compiled by setup.py (Cython
pure-Python mode) and run as plain Python without a C compiler: both must give exactly the same
signals. Compiled, tokenisation and the CJK test are C scans instead of regexes, the repetition
counts and word-list look-ups are C loops instead of numpy calls and rounding is done in C, so
this compares them on every code point, on crafted documents and on real pages.

The plain-Python modules are loaded here from the same source files under other names, without
Cython's own shadow module (the fallback an install without Cython gets: pipeline.cython_shim).
The filter modules importing them (gopher, flagged, c4) are loaded again as well, so
the plain filters see only plain modules; their ``@register`` is not run again (the registry
keeps the compiled filters).
"""

from __future__ import annotations

import copy
import json
import math
import random
import struct

import numpy as np
import pytest

import filters.base
from filters import c4, flagged, gopher, ngrams, quality, text, wordlists
from filters.settings import FiltersConfig
from schemas import Document, ImageNode, TextNode
from tests.compiled import has_c_compiler, load_plain
from tests.filters.textdocs import Hanzi, Words

COMPILED_MODULES = (text, ngrams, quality, wordlists)
# Loaded again as plain Python, dependencies first.
PLAIN = ("filters.text", "filters.ngrams", "filters.wordlists", "filters.quality", "filters.gopher", "filters.c4",
         "filters.flagged")


@pytest.fixture(scope="module")
def plain():
    """module name -> the same source as a plain Python module, with ``import cython`` failing
    as it does when Cython is not installed."""
    real_register = filters.base.register
    filters.base.register = lambda cls: cls  # the compiled filters stay registered
    try:
        modules = load_plain(list(PLAIN))
    finally:
        filters.base.register = real_register
    for module in COMPILED_MODULES:
        assert modules[module.__name__].COMPILED is False
    return modules


def _chain(modules: dict):
    """(TextView class, the text filters in chain order) of one set of modules."""
    settings = FiltersConfig()
    chain = [modules["filters.flagged"].FlaggedFilter(settings), modules["filters.quality"].QualityFilter(settings),
             modules["filters.gopher"].GopherFilter(settings), modules["filters.c4"].C4Filter(settings)]
    for f in chain:
        f.setup()
    return modules["filters.text"].TextView, chain


def _signals(view_class, chain, docs: dict[str, Document]) -> dict[str, str]:
    """Every document's signals after the text filters, as JSON (so 1 and 1.0, 0.0 and -0.0
    differ): the same documents tagged twice (tag must not depend on what is there)."""
    out = {}
    for key, doc in docs.items():
        doc = copy.deepcopy(doc)
        for _ in range(2):
            view = view_class.of(doc)
            for f in chain:
                f.tag(doc, view)
        out[key] = json.dumps([doc.signals, [n.signals if n.type == "text" else None for n in doc.nodes]])
    return out


def _same(plain, docs: dict[str, Document]) -> None:
    compiled = _signals(*_chain({m.__name__: m for m in (text, flagged, quality, gopher, c4)}), docs)
    pure = _signals(*_chain(plain), docs)
    differing = [key for key in docs if compiled[key] != pure[key]]
    assert not differing, f"compiled and plain filters differ on {differing[:5]}"


def test_compiled_where_a_c_compiler_is_there():
    if not has_c_compiler():
        pytest.skip("no C compiler: setup.py leaves the filters as plain Python")
    for module in COMPILED_MODULES:
        assert module.COMPILED, (f"{module.__name__} is not compiled although a C compiler is there: "
                                 "reinstall (pip install -e .) and check the build output")


# -- parts ---------------------------------------------------------------------------------------

def test_every_code_point_tokenises_the_same(plain):
    pure = plain["filters.text"]
    code_points = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    # Alone, in runs, around apostrophes (joined or not) and between CJK.
    for start in range(0, len(code_points), 1024):
        chunk = code_points[start : start + 1024]
        for glue in (" ", "", "'", "中'"):
            sample = glue.join(chunk)
            assert text.tokenize_counted(sample) == pure.tokenize_counted(sample), (start, glue)
        assert [text.has_cjk(c) for c in chunk] == [pure.has_cjk(c) for c in chunk], start
    rng = random.Random(0)
    pool = "aZ09'’ _-.,中文かカ한ーゝ゛゜ゟ・々〇ⅫΣİßﬁ①²\u0301e\u00a0\t\n⼀ＡＢＣ𠮷😀" + "".join(rng.sample(code_points, 200))
    for _ in range(20000):
        sample = "".join(rng.choice(pool) for _ in range(rng.randint(0, 24)))
        assert text.tokenize_counted(sample) == pure.tokenize_counted(sample), sample
        assert text.has_cjk(sample) == pure.has_cjk(sample), sample


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_ratios_round_as_python_does(plain):
    rng = random.Random(1)
    values = [0.0, -0.0, 5e-5, -5e-5, 1.5e-4, 2.5e-4, -2.5e-4, 1e11 + 0.00005, 1e300, -1e300, math.inf, -math.inf]
    for _ in range(20000):
        k = rng.randint(0, 10**7)
        half = (k + 0.5) / 10000  # halfway in decimal, not in binary: the exact product decides
        values += [half, -half, math.nextafter(half, 0), math.nextafter(half, math.inf), rng.random(),
                   rng.uniform(-1e6, 1e6), struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]]
    for x in values:
        if not math.isnan(x):
            assert _bits(quality.ratio(x, 1)) == _bits(round(x, 4)) == _bits(plain["filters.quality"].ratio(x, 1)), x
    for _ in range(20000):
        num, den = rng.randint(0, 10**5), rng.randint(0, 10**5)
        assert _bits(quality.ratio(num, den)) == _bits(plain["filters.quality"].ratio(num, den)), (num, den)


def test_repetition_counts_the_same(plain):
    pure = plain["filters.ngrams"]
    rng = np.random.default_rng(2)
    for trial in range(400):
        size = int(rng.integers(0, 300))
        vocab = int(rng.integers(1, 40))
        ids = rng.integers(0, vocab, size).astype(np.int64)
        if trial % 5 == 0:  # periodic: long repeated n-grams
            ids = np.resize(ids[: max(1, size // 7)], size).astype(np.int64)
        n_groups = int(rng.integers(1, 8))
        groups = np.sort(rng.integers(0, n_groups, size))
        lengths = rng.integers(1, 12, size).astype(np.int64)
        for n in (1, 2, 5, 10):
            h = ngrams.ngram_hashes(ids, n)
            a = ngrams.grouped_and_whole_repetition(h, groups, n_groups, n)
            b = pure.grouped_and_whole_repetition(h, groups, n_groups, n)
            assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist(), (trial, n)
            assert (_bits(a[2]), _bits(a[3])) == (_bits(b[2]), _bits(b[3])), (trial, n)
        for top, dup in (((2, 3, 4), (5, 6, 7, 8, 9, 10)), ((1,), ()), ((), (3,)), ((4,), (2,))):
            assert ngrams.gopher_ngram_fractions(ids, lengths, top, dup) == \
                pure.gopher_ngram_fractions(ids, lengths, top, dup), (trial, top, dup)


# -- documents -----------------------------------------------------------------------------------

def _doc(key: str, *nodes, title: str | None = None, language: str | None = "en") -> Document:
    doc = Document(key, f"https://example.com/{key}", nodes=[TextNode(n) if isinstance(n, str) else n for n in nodes],
                   title=title, language=language)
    doc.renumber()
    return doc


def crafted_documents() -> dict[str, Document]:
    words, hanzi, rng = Words(seed=3), Hanzi(seed=3), random.Random(3)
    english = " ".join(words() for _ in range(12)) + ". The cat is on the mat, and it's here: don’t go!"
    chinese = "这是一个很长的中文段落，用来测试中文文本的过滤信号。" + hanzi(20) + "。我们的学校在北京！"
    repeated = " ".join(words() for _ in range(6))
    docs = [
        _doc("english", english, "Privacy Policy: this site uses cookies and JavaScript.", english.upper(),
             ImageNode("https://example.com/a.jpg", alt="A cat on a mat", caption="The cat"), title="A title"),
        _doc("chinese", chinese, "隐私政策：本网站使用 cookie。页面不存在", hanzi(40), "博彩公司 六合彩 百家乐 av电影",
             language="zh"),
        _doc("mixed", english + " " + chinese, "ＡＢＣ ｶﾀｶﾅ ⼀ ﬁne İstanbul Straße e\u0301 😀 𠮷 한국어 it’s rock 'n' roll"),
        _doc("repetitive", *([repeated] * 6), (repeated + " ") * 8, "x " * 50, "ab" * 200, "# ... … #"),
        _doc("short", "Hi."),
        _doc("one_word", "word"),
        _doc("list_heavy", TextNode("\n".join(f"• item {words()} number {i}" for i in range(30)), kind="list"),
             TextNode("\n".join(f"- {words()} {words()}..." for _ in range(10)), kind="list"),
             TextNode("Heading", kind="heading")),
        _doc("punctuation_heavy", "!!! ??? ... ;;; ,,, ::: " * 5, "。。。！！！？？？，，，" * 3, "{lorem ipsum} " + "()[]<>" * 10,
             "1234 5678 3.5 €100 42% @#&*"),
        _doc("empty"),
        _doc("empty_text", "", "   ", "\n\n"),
        _doc("images_only", ImageNode("https://example.com/b.jpg", alt="casino poker online", caption="博彩")),
        _doc("error_page", "404 Not Found", "The page you requested could not be found.", title="Page not found"),
    ]
    matcher, _ = flagged.category_matcher(None)
    terms = sorted(" ".join(p) for ps in matcher.phrases.values() for p in ps)[::3] + sorted(matcher.words)[::3]
    prefixes = sorted({p[0] for p in matcher.phrases})[:20]  # phrase starts that end no phrase
    docs.append(_doc("flagged_terms", " ".join(rng.choice(terms + prefixes) for _ in range(80)),
                     " ".join(terms[:5]), terms[5].split()[0],  # a phrase cut by a paragraph end
                     " ".join(terms[5].split()[1:]) + " " + " ".join(rng.choice(terms) for _ in range(30))))
    pieces = ["the", "of", "and", "is", "it's", "cat", "123", "x", "的", "了", "是", "我们", "。", "！", ".", "...", "…",
              "!", "?", ",", "#", "•", "-", "\n", "\n\n", " ", " ", "  ", "’", "'", "😀", "ＡＢＣ", "ﬁ", "İ", "ー", "カタカナ",
              "e\u0301", "javascript", "uses cookies", "page not found", "博彩", *terms[::4], *prefixes[:5]]
    for i in range(40):  # random mixtures, with duplicated paragraphs
        base = ["".join(rng.choice(pieces) + rng.choice(["", " ", " ", "\n"]) for _ in range(rng.randint(0, 60)))
                for _ in range(3)]
        docs.append(_doc(f"random{i}", *(rng.choice(base) if rng.random() < 0.3 else
                                         "".join(rng.choice(pieces) + " " for _ in range(rng.randint(0, 80)))
                                         for _ in range(rng.randint(0, 12))),
                         title=rng.choice([None, "", base[0]])))
    return {doc.doc_id: doc for doc in docs}


def test_crafted_documents_tag_the_same(plain):
    docs = crafted_documents()
    _same(plain, docs)
    tagged = copy.deepcopy(docs["repetitive"])  # the documents do exercise the filters
    view = text.TextView.of(tagged)
    quality.QualityFilter(FiltersConfig()).tag(tagged, view)
    gopher.GopherFilter(FiltersConfig()).tag(tagged, view)
    assert tagged.signals["quality.word_repetition"] > 0.5 and tagged.signals["gopher.dup_5gram_chars"] > 0.5
    tagged = copy.deepcopy(docs["flagged_terms"])
    flagged.FlaggedFilter(FiltersConfig()).tag(tagged, text.TextView.of(tagged))
    assert sum(tagged.signals[f"flagged.{c}_terms"] for c in flagged.CATEGORIES) > 50


def test_real_pages_tag_the_same(plain, shared_data):
    from pipeline.config import Config
    from pipeline.documents import build_document
    from pipeline.warc.records import read_records

    config = Config()
    config.extract.archived_images = False
    docs = {}
    for name in ("cc-main/resiliparse_CC-MAIN-2020-34_warcfile.warc.gz", "crawls/dolma_sample-0000.warc.gz",
                 "crawls/dolma_sample-0001.warc.gz"):
        for record in read_records(str(shared_data / "warc" / name), max_block_bytes=config.extract.max_record_bytes):
            doc = build_document(record, config.extract)
            if not isinstance(doc, str) and doc.kind == "html":
                docs[f"{len(docs)}:{doc.url}"] = doc
    assert len(docs) > 50
    _same(plain, docs)
