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


def test_repetition_counts_the_same_on_crafted_hashes(plain):
    """Hashes equal in their top 40 bits only (one key for the counts), many repeated
    (group, count) pairs with large counts and spanning n-grams: the compiled codes and
    top-k sums must decode each count exactly as numpy's bincounts."""
    pure = plain["filters.ngrams"]
    rng = np.random.default_rng(5)
    for trial in range(60):
        size = int(rng.integers(1, 5000))
        top = rng.integers(0, 1 << 40, int(rng.integers(1, 30)), dtype=np.uint64) << np.uint64(24)
        h = top[rng.integers(0, len(top), size)] | rng.integers(0, 1 << 24, size, dtype=np.uint64)
        n_groups = int(rng.integers(1, 200))
        n = int(rng.integers(1, 12))
        groups = np.sort(rng.integers(0, n_groups, size + n - 1))
        a = ngrams.grouped_and_whole_repetition(h, groups, n_groups, n)
        b = pure.grouped_and_whole_repetition(h, groups, n_groups, n)
        assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist(), trial
        assert (_bits(a[2]), _bits(a[3])) == (_bits(b[2]), _bits(b[3])), trial


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


# -- the C scans behind the view, c4, gopher and the word lists ----------------------------------

def _view_facts(view) -> tuple:
    """Everything a view gives the filters, as plain values."""
    return (view.vocab, view.token_ids.tolist(), view.tokens, view.token_groups.tolist(), view.token_lengths.tolist(),
            view.vocab_counts.tolist(), view.n_digit_tokens, view.count_in(gopher.GOPHER_STOP_WORDS), view.lines,
            [(p.index, p.normalized, p.n_words, p.n_cjk, p.start, p.tokens) for p in view.paragraphs])


def test_views_give_the_same_tokens_and_counts(plain):
    pure = plain["filters.text"]
    rng = random.Random(5)
    docs = dict(crafted_documents())
    # Thousands of distinct tokens (the C vocabulary grows several times), many alike.
    many = [f"w{i:x}" for i in range(9000)] + ["".join(rng.choice("ab’'1中") for _ in range(rng.randint(1, 6)))
                                               for _ in range(9000)]
    rng.shuffle(many)
    docs["many"] = _doc("many", *(" ".join(many[i : i + 700]) for i in range(0, len(many), 700)), "", "42 ٣٤ ²")
    for key, doc in docs.items():
        assert _view_facts(text.TextView.of(doc)) == _view_facts(pure.TextView.of(doc)), key


def _lower_cased_chars() -> list[str]:
    """The code points str.lower changes (the compiled PhraseSet must leave those to it)."""
    return [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and chr(c).lower() != chr(c)]


def test_phrase_set_finds_what_lower_and_in_find(plain):
    pure = plain["filters.text"]
    phrases = ("javascript", "{", "i", "k", "is", "σ", "ς", "ος", "i\u0307x", "隐私政策", "使用 cookie", "a b")
    fast, slow = text.PhraseSet(phrases), pure.PhraseSet(phrases)
    # Each character lower-casing changes, alone in a text (so nothing else decides which path runs).
    for c in _lower_cased_chars():
        for sample in (f"xA{c}By", f"{c}X", f"ΟΣ{c}", f"JAVASCR{c}PT"):
            assert fast.found(sample) == slow.found(sample) == [p in sample.lower() for p in phrases], hex(ord(c))
    for start in range(0, 0x30000, 512):  # and every other code point, in runs
        sample = "I".join(chr(c) for c in range(start, start + 512) if not 0xD800 <= c < 0xE000)
        assert fast.found(sample) == slow.found(sample), start
    rng = random.Random(6)
    pieces = ["JavaScript", "java", "İ", "K", "Σ", "ΟΣ ", "ς", "\u0307", "x", "{", "隐私", "政策", "使用 Cookie", "A B", " ", "a"]
    for _ in range(20000):
        sample = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert fast.found(sample) == slow.found(sample), sample
    c4_phrases = c4._PHRASES.phrases
    for _ in range(5000):
        sample = "".join(rng.choice([*c4_phrases, *pieces, "PAGE NOT FOUND"]) for _ in range(rng.randint(0, 8)))
        assert c4._PHRASES.found(sample) == [p in sample.lower() for p in c4_phrases], sample


def test_phrase_set_findall_matches_the_alternation_regex(plain):
    pure = plain["filters.text"]
    rng = random.Random(7)
    matcher, _ = flagged.category_matcher(None)
    for phrases in (matcher.cjk.phrases, quality.stopwords(None).zh.phrases):
        fast, slow = text.PhraseSet(phrases), pure.PhraseSet(phrases)
        chars = sorted(set("".join(phrases))) + list("ab 中文")
        for _ in range(5000):
            sample = "".join(rng.choice(phrases) if rng.random() < 0.3 else rng.choice(chars)
                             for _ in range(rng.randint(0, 30)))
            assert fast.findall(sample) == slow.findall(sample), sample
    for _ in range(20000):  # phrases that are prefixes and suffixes of each other
        phrases = tuple({"".join(rng.choice("abc") for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 6))})
        sample = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 20)))
        assert text.PhraseSet(phrases).findall(sample) == pure.PhraseSet(phrases).findall(sample), (phrases, sample)


def test_sentence_ends_counted_as_the_regex_finds_them(plain):
    pure = plain["filters.text"]
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    pool = list(".!?。！？\"'”’）)(a中") + spaces + ["\u200b", "…", "．"]
    rng = random.Random(8)
    for _ in range(50000):
        sample = "".join(rng.choice(pool) for _ in range(rng.randint(0, 16)))
        expected = len(text.SENTENCE_END.findall(sample))
        assert text.count_sentence_ends(sample) == pure.count_sentence_ends(sample) == expected, sample


def test_line_stats_as_lines_and_duplicates(plain):
    pure = plain["filters.text"]
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    pool = list("ab•-*·‣▪●◦–►✓■.…中") + spaces + ["...", ". ..", "\n\n", "\n", "\n"]
    rng = random.Random(9)
    for _ in range(30000):
        texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 15))) for _ in range(rng.randint(0, 4))]
        assert text.line_stats(texts) == pure.line_stats(texts), texts


def _shared_documents(shared_data) -> dict[str, Document]:
    """Every HTML document of ../shared/data (its WARCs and HTML test pages), extracted and
    language-tagged as the extract stage does."""
    from pipeline.config import Config
    from pipeline.documents import build_document
    from pipeline.extract.charset import decode_html
    from pipeline.extract.html import extract_document
    from pipeline.langid import LanguageId
    from pipeline.warc.records import read_records

    config = Config()
    config.extract.archived_images = False
    lid = LanguageId()
    docs: dict[str, Document] = {}
    for path in sorted((shared_data / "warc").rglob("*.warc*")):
        try:
            for record in read_records(str(path), max_block_bytes=config.extract.max_record_bytes):
                doc = build_document(record, config.extract)
                if not isinstance(doc, str) and doc.kind == "html":
                    docs[f"{path.name}:{len(docs)}:{doc.url}"] = lid.apply(doc)
        except Exception:  # the edge-case WARCs are broken on purpose: the records before count
            continue
    for path in sorted((shared_data / "html").rglob("*.html")):
        html, _ = decode_html(path.read_bytes(), None)
        extracted = extract_document(html, f"https://pages.example/{path.name}")
        doc = Document(path.stem, f"https://pages.example/{path.name}", nodes=list(extracted.nodes),
                       title=extracted.title)
        doc.renumber()
        docs[f"html:{path.name}"] = lid.apply(doc)
    return docs


def test_every_shared_document_tags_the_same_through_the_document_stages(plain, shared_data):
    """The extract task's filter stage (pipeline.pages.document_stages) on every real document,
    against the same chain with the text filters as plain Python: every signal identical."""
    from pipeline.config import Config
    from pipeline.filtering import FilterStage
    from pipeline.pages import document_stages

    docs = _shared_documents(shared_data)
    assert len(docs) > 200, f"expected the shared WARCs and HTML pages, found {len(docs)} documents"
    config = Config()
    stage = next(s for s in document_stages(config) if isinstance(s, FilterStage))
    stage.setup()
    _, plain_filters = _chain(plain)
    plain_by_name = {f.name: f for f in plain_filters}
    mixed = [plain_by_name.get(f.name, f) for f in stage.chain.filters]  # other filters as they are
    assert sum(f in plain_filters for f in mixed) == 4
    differing = []
    for key, doc in docs.items():
        fast, slow = copy.deepcopy(doc), copy.deepcopy(doc)
        stage.chain.tag(fast)
        view = plain["filters.text"].TextView.of(slow)
        for f in mixed:
            f.tag(slow, view)
        signals = [json.dumps([d.signals, [n.signals if n.type == "text" else None for n in d.nodes]])
                   for d in (fast, slow)]
        if signals[0] != signals[1]:
            differing.append(key)
    assert not differing, f"{len(differing)} of {len(docs)} documents differ, e.g. {differing[:3]}"


# -- repetition keys from group sizes, character counts and sorts (filters/ngrams.py, quality.py) --

def test_sized_repetition_and_sorts_the_same(plain):
    """The one-pass keys (``sized_repetition``), the bucket sorts and the character counts read
    from the strings' buffers against the same functions as plain Python (numpy)."""
    pure, pure_quality = plain["filters.ngrams"], plain["filters.quality"]
    rng = np.random.default_rng(12)
    for trial in range(300):
        sizes = (rng.integers(0, 60, int(rng.integers(1, 10))) * (rng.random() < 0.9)).tolist()
        ids = rng.integers(0, int(rng.integers(1, 50)), sum(sizes)).astype(np.int64)
        if trial % 3 == 0:  # periodic: long repeated n-grams
            ids = np.resize(ids[: max(1, len(ids) // 11)], len(ids))
        for n in (1, 2, 5, 10):
            a, b = ngrams.sized_repetition(ids, sizes, n), pure.sized_repetition(ids, sizes, n)
            assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist(), (trial, n)
            assert (_bits(a[2]), _bits(a[3])) == (_bits(b[2]), _bits(b[3])), (trial, n)
        keys = rng.integers(0, 2**64, 64, dtype=np.uint64)[ids]  # repeats: large buckets
        assert ngrams.sort_hashes(keys).tolist() == pure.sort_hashes(keys).tolist(), trial
        out, values = ngrams.sort_hash_pairs(keys, np.arange(len(keys)))
        assert out.tolist() == pure.sort_hashes(keys).tolist() and sorted(values.tolist()) == list(range(len(keys)))
    pool = "aZ .!#…。中éß\u00a0😀𠮷\U0010ffff＄"
    for _ in range(300):
        texts = ["".join(rng.choice(list(pool), int(rng.integers(0, 30)))) for _ in range(int(rng.integers(0, 6)))]
        a, b = quality.char_counts(texts), pure_quality.char_counts(texts)
        assert a[0].tolist() == b[0].tolist() and a[1:] == b[1:], texts


# -- the view's own scan: folding as it reads, NFKC's fast path, LEXICON bits (helper `flag`) --------


def test_every_code_point_gives_the_same_view(plain):
    """TextView.of lower-cases as it reads (``_fold``, a fast path for caseless blocks) and
    NFKC-normalises after ``_prefold``: on every code point, alone, in runs, capitalised
    around and next to combining marks, its tokens and counts are the plain view's."""
    pure = plain["filters.text"]
    code_points = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for start in range(0, len(code_points), 2048):
        chunk = code_points[start : start + 2048]
        paragraphs = [" ".join(chunk), "".join(chunk), "A".join(chunk), "\u0301 ".join(chunk), "’".join(chunk)]
        doc = _doc(f"cp{start}", *paragraphs)
        assert _view_facts(text.TextView.of(doc)) == _view_facts(pure.TextView.of(doc)), start


@pytest.mark.parametrize("paragraph", [
    "㍿" * 3000,  # one character, four CJK tokens after NFKC: more tokens than characters scanned
    "…a" * 2000 + "ﬁ" * 500, "ＡＢＣ（ｄｅｆ）！" * 300, "Ａ\u0301 ｅ\u0308 …\u0301 （\u0308", "İstanbul İİ ΣΟΦΟΣ σοφος ΟΣ.",
    "ǅ ǈ ẞ ß Ω K Å Ⅻ ⓐⒶ ＩＳＴ", "日本語のテキスト、カタカナ・ひらがな。", "I\u0307 Σ\u0301 ΑΣ\u0301Α",
])
def test_views_of_texts_nfkc_and_lower_casing_change_the_same(plain, paragraph):
    pure = plain["filters.text"]
    doc = _doc("nfkc", paragraph, paragraph.upper(), paragraph.lower(), "ascii Title")
    assert _view_facts(text.TextView.of(doc)) == _view_facts(pure.TextView.of(doc))
    assert [p.normalized for p in text.TextView.of(doc).paragraphs] == list(map(pure.normalize, doc_texts(doc)))


def doc_texts(doc: Document) -> list[str]:
    return [n.text for n in doc.nodes if isinstance(n, TextNode)]


def test_normalize_with_prefolded_forms_equals_nfkc():
    """``_prefold`` replaces U+FF01-FF5E and U+2026 by their NFKD forms before NFKC: the same
    NFKC whatever follows them (combining marks compose with the replacement as with the
    decomposition)."""
    import unicodedata

    marks = ["", "\u0301", "\u0308\u0301", "\u0323\u0301", "\u3099", " "]
    forms = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["…", "\uff5f", "\uff00"]
    for form in forms:
        assert unicodedata.normalize("NFKD", form) == ("..." if form == "…" else unicodedata.normalize("NFKD", form))
        for mark in marks:
            for before in ("", "a", "\u0301", "中"):
                sample = before + form + mark + form.upper()
                assert text.normalize(sample) == unicodedata.normalize("NFKC", sample).lower().replace("’", "'"), sample


def test_lexicon_bits_count_what_the_sets_hold():
    """A view's ``vocab_bits`` hold the sets registered before it was made; a set registered
    later is looked up in the set (``word_bit`` -1), with the same counts either way."""
    if not text.COMPILED:
        pytest.skip("plain Python registers no set")
    doc = _doc("lexicon", "The cat and the hat, it's 42 cats. 的了是 the end", "The THE the’s")
    early = frozenset({"the", "cat", "it's", "的", "the's", "not a token"})
    bit = text.LEXICON.bit(early)
    assert bit >= 0 and text.LEXICON.bit(frozenset(early)) == bit  # equal sets share a bit
    view = text.TextView.of(doc)
    late = frozenset({"the", "hat", "42", "是", "cats"})
    assert view.word_bit(early) == bit and view.word_bit(late) == -1 and view.word_bit({"the"}) == -1
    assert text.TextView.of(doc).word_bit(late) >= 0
    for words in (early, late):
        expected = sum(token in words for token in view.tokens)
        assert view.count_in(words) == text.TextView.of(doc).count_in(words) == expected
    held = [bool((int(b) >> bit) & 1) for b in view.vocab_bits]
    assert held == [token in early for token in view.vocab]


def test_lexicon_gives_no_bit_past_64_sets():
    lexicon = text.Lexicon()
    if not text.COMPILED:
        assert lexicon.bit(frozenset({"a"})) == -1
        return
    bits = [lexicon.bit(frozenset({f"w{i}", "shared"})) for i in range(70)]
    assert bits == list(range(64)) + [-1] * 6 and lexicon.generation == 64
    assert lexicon.bit(frozenset({"w3", "shared"})) == 3 and lexicon.bit({"w3"}) == -1
