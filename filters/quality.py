"""OBELICS text quality, paragraph and document level, for English and Chinese.

Tag: every text node gets ``words``, ``stopword_ratio``, ``special_ratio``,
``char_repetition`` (10-character n-grams) and ``word_repetition`` (5-token n-grams); the
document gets the same over its whole text plus ``punctuation_ratio``. Select: a paragraph
outside its thresholds is removed, a document outside them is dropped. Stop-word rules apply
only to languages with a stop-word list (en, zh). Counts are in tokens (characters for
Chinese, see filters/text.py).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

try:
    import cython
except ImportError:  # running uncompiled without Cython installed
    from pipeline.cython_shim import cython

if cython.compiled:
    from cython.cimports.cpython.unicode import PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ
    from cython.cimports.libc.math import copysign, floor, fma, rint

from filters.base import DocumentFilter, Verdict, judged_paragraphs, register
from filters.ngrams import char_ids, sized_repetition
from filters.settings import SelectConfig
from filters.text import (
    _PUNCTUATION_TABLE,
    _SPECIAL_TABLE,
    _TABLE_END,
    TextView,
    char_classes,
)
from filters.wordlists import StopWords
from schemas import Document

STOPWORD_LANGUAGES = ("en", "zh")
CHAR_NGRAM, WORD_NGRAM = 10, 5

# setup.py compiles this module when it can (Cython pure-Python mode): characters are then
# read and classed in one C pass over the paragraphs' strings (``_char_counts``), and the signals
# of every paragraph are rounded in C (``_round4``, exactly as ``round(x, 4)``) and written by a
# typed loop, with the same values (tests/filters/test_compiled.py).
COMPILED: bool = cython.compiled


@lru_cache(maxsize=8)
def stopwords(folder: str | None) -> StopWords:
    return StopWords(folder)


def stopword_counts(view: TextView, folder: str | None) -> list[int]:
    """Stop words per paragraph, computed once per document and shared (Gopher uses it too)."""
    if "stopwords" not in view.shared:
        view.shared["stopwords"] = stopwords(folder).count_view(view)
    return view.shared["stopwords"]  # type: ignore[return-value]


def ratio(num: float, den: float) -> float:
    """num / den rounded to 4 places (signals stay short and stable), 0 for an empty den."""
    return _ratio(num, den)


@cython.cfunc
@cython.inline
def _ratio(num: cython.double, den: cython.double) -> cython.double:
    # Counts are far below 2**53, so their true quotient is the C double quotient.
    return _round4(num / den) if den else 0.0


@cython.cfunc
@cython.inline
def _round4(x: cython.double) -> cython.double:
    """``round(x, 4)``, in C when compiled: the product x * 10000 is exact as p + e (fma),
    rounded half to even; k / 10000 for an integral k is then the double nearest the decimal
    k * 10**-4, which is what ``round`` returns (it goes through the decimal string)."""
    if not cython.compiled:
        return round(x, 4)
    p: cython.double = x * 10000.0
    if not (-1e15 < p < 1e15):  # large, infinite or nan: left to Python
        return round(x, 4)
    e: cython.double = fma(x, 10000.0, -p)
    r: cython.double = rint(p)  # ties to even (the default rounding mode)
    if p - r == 0.5 or r - p == 0.5:  # p is halfway: the exact product says which way
        if e > 0:
            r = floor(p) + 1.0
        elif e < 0:
            r = floor(p)
    return copysign(r / 10000.0, x)  # round keeps the sign of a zero


def char_counts(texts: list[str]) -> tuple[np.ndarray, list[int], int, int]:
    """(the code points of all ``texts``, one after the other (int64), special characters per
    text, special characters, punctuation): ``char_ids`` of their concatenation and
    ``char_classes`` counted per text. Compiled, one C pass over the strings' own buffers."""
    if not cython.compiled:
        chars = char_ids("".join(texts)).view(np.int64)
        special, punctuation = char_classes(chars.view(np.uint64))
        groups = np.repeat(np.arange(len(texts)), list(map(len, texts)))
        n_special = np.bincount(groups[special], minlength=len(texts)).tolist()
        return chars, n_special, int(np.count_nonzero(special)), int(np.count_nonzero(punctuation))
    return _char_counts(texts)


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _char_counts(texts: list) -> tuple:
    """``char_counts`` (compiled only): code points read with PyUnicode_READ, classes looked
    up in ``char_classes``' tables."""
    special: cython.uchar[::1] = _SPECIAL_TABLE.view(np.uint8)
    punctuation: cython.uchar[::1] = _PUNCTUATION_TABLE.view(np.uint8)
    last: cython.ulonglong = _TABLE_END  # code points past the tables read their last entry
    n_texts: cython.Py_ssize_t = len(texts)
    size: cython.Py_ssize_t = 0
    g: cython.Py_ssize_t
    for g in range(n_texts):
        size += len(cython.cast(str, texts[g]))
    chars_array = np.empty(size, dtype=np.int64)
    chars: cython.longlong[::1] = chars_array
    n_special: list = [0] * n_texts
    all_special: cython.Py_ssize_t = 0
    all_punctuation: cython.Py_ssize_t = 0
    count: cython.Py_ssize_t
    p: cython.Py_ssize_t = 0
    t: cython.Py_ssize_t
    c: cython.ulonglong
    kind: cython.int
    data: cython.p_void
    text: str
    for g in range(n_texts):
        text = texts[g]
        kind, data = PyUnicode_KIND(text), PyUnicode_DATA(text)
        count = 0
        for t in range(len(text)):
            c = PyUnicode_READ(kind, data, t)
            chars[p] = c
            p += 1
            c = min(c, last)
            count += special[c]
            all_punctuation += punctuation[c]
        n_special[g] = count
        all_special += count
    return chars_array, n_special, all_special, all_punctuation


@register
class QualityFilter(DocumentFilter):
    name = "quality@1"

    def setup(self) -> None:
        stopwords(self.settings.wordlists)

    def tag(self, doc: Document, view: TextView) -> None:
        paras = view.paragraphs
        if not paras:
            return
        stop = stopword_counts(view, self.settings.wordlists)
        texts = [p.text for p in paras]
        sizes = [p.n_words for p in paras]
        char_sizes = list(map(len, texts))
        # Characters and tokens of all paragraphs in one array each, hashed once; one sort per
        # array gives the repetition of every paragraph and of the whole document. Special
        # characters and punctuation are counted as the characters are read.
        chars, n_special, all_special, all_punctuation = char_counts(texts)
        char_rep, _, doc_char_rep, _ = sized_repetition(chars, char_sizes, CHAR_NGRAM)
        _, word_rep, _, doc_word_rep = sized_repetition(view.token_ids, sizes, WORD_NGRAM)
        char_rep, word_rep = char_rep.tolist(), word_rep.tolist()
        i: cython.Py_ssize_t
        size: cython.double
        signals: dict
        for i in range(len(paras)):
            size = sizes[i]
            signals = paras[i].node.signals  # in this order, as one update() would
            signals["words"] = float(size)
            signals["stopword_ratio"] = _ratio(stop[i], size)
            signals["special_ratio"] = _ratio(n_special[i], char_sizes[i])
            signals["char_repetition"] = _round4(char_rep[i])
            signals["word_repetition"] = _round4(word_rep[i])
        words = sum(sizes)
        doc.signals.update({
            "quality.words": float(words),
            "quality.stopword_ratio": ratio(sum(stop), words),
            "quality.special_ratio": ratio(all_special, len(chars)),
            "quality.punctuation_ratio": ratio(all_punctuation, words),
            "quality.char_repetition": _round4(doc_char_rep),
            "quality.word_repetition": _round4(doc_word_rep),
        })

    def select(self, doc: Document, select: SelectConfig) -> Verdict | None:
        r = select.rules(doc.language)
        checks = [
            self.below(doc, "quality.words", r.min_words, "min_words"),
            self.above(doc, "quality.words", r.max_words, "max_words"),
            self.below(doc, "quality.stopword_ratio", r.min_stopword_ratio, "min_stopword_ratio")
            if doc.language in STOPWORD_LANGUAGES else None,
            self.above(doc, "quality.special_ratio", r.max_special_ratio, "max_special_ratio"),
            self.below(doc, "quality.punctuation_ratio", r.min_punctuation_ratio, "min_punctuation_ratio"),
            self.above(doc, "quality.char_repetition", r.max_char_repetition, "max_char_repetition"),
            self.above(doc, "quality.word_repetition", r.max_word_repetition, "max_word_repetition"),
        ]
        return next((c for c in checks if c is not None), None)

    def paragraphs(self, doc: Document, select: SelectConfig) -> dict[int, Verdict]:
        r = select.rules(doc.language)
        rules = [
            ("words", "paragraph_min_words", lambda v: v < r.paragraph_min_words, r.paragraph_min_words),
            ("words", "paragraph_max_words", lambda v: v > r.paragraph_max_words, r.paragraph_max_words),
            ("special_ratio", "paragraph_max_special_ratio", lambda v: v > r.paragraph_max_special_ratio,
             r.paragraph_max_special_ratio),
            ("char_repetition", "paragraph_max_char_repetition", lambda v: v > r.paragraph_max_char_repetition,
             r.paragraph_max_char_repetition),
            ("word_repetition", "paragraph_max_word_repetition", lambda v: v > r.paragraph_max_word_repetition,
             r.paragraph_max_word_repetition),
        ]
        if doc.language in STOPWORD_LANGUAGES:
            rules.insert(2, ("stopword_ratio", "paragraph_min_stopword_ratio",
                             lambda v: v < r.paragraph_min_stopword_ratio, r.paragraph_min_stopword_ratio))
        out: dict[int, Verdict] = {}
        for index, node in judged_paragraphs(doc, select):
            for signal, rule, fails, threshold in rules:
                value = node.signals.get(signal)
                if value is not None and fails(value):
                    out[index] = Verdict(self.name, rule, signal, value, threshold)
                    break
        return out
