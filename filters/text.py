"""Tokenise a document once; every text filter reads the same ``TextView``.

One tokeniser serves English and Chinese: a run of letters or digits outside the CJK
blocks is one token ("don't", "covid19"), and every CJK character (Han, kana, hangul) is a
token of its own. So for Chinese text "words" are characters, as the Chinese rules are
written, and a mixed paragraph needs no language switch. Stop words and flagged terms are
counted in the same unit: English terms match whole tokens, Chinese terms match substrings
and count their characters. No spaCy, no per-language model: regexes and one pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, count

import numpy as np

try:
    import cython
except ImportError:  # running uncompiled without Cython installed
    from pipeline.cython_shim import cython

from schemas import Document, TextNode

# setup.py compiles this module when it can (Cython pure-Python mode): tokenisation then runs
# as a C scan over the characters (``_scan``) instead of the regexes, with the same tokens
# (tests/filters/test_compiled.py). ``COMPILED`` says which one runs.
COMPILED: bool = cython.compiled

CJK_RANGES = (
    "\u3041-\u309f\u30a1-\u30fa\u30fc-\u30ff"  # hiragana, katakana (not their punctuation ゠ ・)
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han (ext. A, unified, compatibility)
    "\uac00-\ud7af"  # hangul syllables
    "\U00020000-\U0002fa1f"  # Han ext. B-F, compatibility supplement
)
TOKEN = re.compile(rf"[{CJK_RANGES}]|[^\W_{CJK_RANGES}]+(?:['’][^\W_{CJK_RANGES}]+)*")
CJK_CHAR = re.compile(rf"[{CJK_RANGES}]")
# Fast path of TOKEN: word runs first (2x faster than TOKEN's classes), runs with CJK re-split.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

# BigScience / OBELICS special characters: punctuation, digits, whitespace and the usual
# typographic and CJK symbols (emoji are counted by category in ``is_special``).
SPECIAL = frozenset(
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~0123456789 \t\n\r\x0b\x0c\u00a0\u3000"
    "’“”–—―…•·°«»‘„‚¡¿§¶©®™€£¥¢×÷±≤≥→←↑↓■□●○◆◇★☆▲▼►◄♥♦♣♠✓✔✗✘|"
    "，。！？；：、（）【】《》「」『』〈〉〔〕～·￥＃＠％＆＊＋－／＝＜＞｜＼"
)
# Sentence and clause punctuation (the OBELICS punctuation ratio), Latin and CJK.
PUNCTUATION = frozenset(".,;:!?…。，；：！？、")
# A run of sentence punctuation followed by a space, the end or a closing quote, or a single
# CJK full stop / ! / ? (= ``[.!?。！？]+(?=…)|[。！？]``). Written to begin with one character
# class so the regex engine skips ahead to candidates in C (5x faster on long texts).
SENTENCE_END = re.compile(r"[.!?。！？](?:[.!?。！？]*(?=\s|$|[\"'”’）)])|(?<=[。！？]))")
BULLETS = ("•", "-", "*", "·", "‣", "▪", "●", "◦", "–", "►", "✓", "■")


def normalize(text: str) -> str:
    """NFKC + lower case, typographic apostrophe folded: full-width ＡＢＣ and compatibility
    forms match their plain terms, "it’s" the stop word "it's"."""
    return unicodedata.normalize("NFKC", text).lower().replace("’", "'")


def tokenize(text: str) -> list[str]:
    """Lower-case tokens: Latin/Cyrillic/... words and single CJK characters (= TOKEN)."""
    return tokenize_counted(text)[0]


def tokenize_counted(text: str) -> tuple[list[str], int]:
    """(tokens, how many are CJK characters), both from the normalised text."""
    if text.isascii():  # NFKC leaves ASCII as it is, and ASCII has no CJK: skip both passes
        if cython.compiled:
            return _scan(text.lower())
        return _WORD.findall(text.lower()), 0
    norm = normalize(text)
    if cython.compiled:
        return _scan(norm)
    words = _WORD.findall(norm)
    if not CJK_CHAR.search(norm):
        return words, 0
    tokens: list[str] = []
    n_cjk = 0
    for word in words:
        if CJK_CHAR.search(word):
            tokens.extend(TOKEN.findall(word))
            n_cjk += len(CJK_CHAR.findall(word))  # in a word, each CJK character is a token
        else:
            tokens.append(word)
    return tokens, n_cjk


# -- compiled tokenisation -------------------------------------------------------------------
# _WORD.findall, then TOKEN.findall in each word holding CJK, as one pass over the characters:
# a word is a run of alphanumerics (re's [^\W_] is str.isalnum) joined by single apostrophes;
# in a word with CJK, each CJK character is a token and the runs between them are split as
# TOKEN does. Only used compiled (as Python, the regexes are faster).


@cython.cfunc
@cython.inline
def _alnum(c: cython.Py_UCS4) -> cython.bint:
    if c < 128:
        return (97 <= c <= 122) or (48 <= c <= 57) or (65 <= c <= 90)
    return c.isalnum()


@cython.cfunc
@cython.inline
def _cjk(c: cython.Py_UCS4) -> cython.bint:  # = CJK_CHAR
    if c < 0x3041:
        return False
    if c <= 0xFAFF:
        return ((c <= 0x309F) or (0x30A1 <= c <= 0x30FA) or (0x30FC <= c <= 0x30FF) or (0x3400 <= c <= 0x4DBF)
                or (0x4E00 <= c <= 0x9FFF) or (0xAC00 <= c <= 0xD7AF) or (0xF900 <= c))
    return 0x20000 <= c <= 0x2FA1F


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a CJK character (= ``CJK_CHAR.search``; a C scan compiled)."""
    if not cython.compiled:
        return CJK_CHAR.search(text) is not None
    c: cython.Py_UCS4
    for c in text:
        if _cjk(c):
            return True
    return False


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _scan(text: str) -> tuple:
    """(tokens, CJK tokens) of a normalised text: ``tokenize_counted`` after normalising."""
    tokens: list = []
    n: cython.Py_ssize_t = len(text)
    i: cython.Py_ssize_t = 0
    j: cython.Py_ssize_t
    k: cython.Py_ssize_t
    m: cython.Py_ssize_t
    n_cjk: cython.Py_ssize_t = 0
    has_cjk: cython.bint
    c: cython.Py_UCS4
    while i < n:
        c = text[i]
        if not _alnum(c):
            i += 1
            continue
        # a word: i..j
        has_cjk = _cjk(c)
        j = i + 1
        while True:
            while j < n:
                c = text[j]
                if not _alnum(c):
                    break
                if _cjk(c):
                    has_cjk = True
                j += 1
            if j + 1 < n and text[j] == "'" and _alnum(text[j + 1]):
                j += 1
                continue
            break
        if not has_cjk:
            tokens.append(text[i:j])
            i = j
            continue
        # TOKEN.findall(word): a CJK character, or a run of other alphanumerics joined by
        # apostrophes; anything else is skipped.
        k = i
        while k < j:
            c = text[k]
            if _cjk(c):
                tokens.append(text[k : k + 1])
                n_cjk += 1
                k += 1
            elif _alnum(c):
                m = k + 1
                while True:
                    while m < j and _alnum(text[m]) and not _cjk(text[m]):
                        m += 1
                    if (m + 1 < j and (text[m] == "'" or text[m] == "\u2019") and _alnum(text[m + 1])
                            and not _cjk(text[m + 1])):
                        m += 1
                        continue
                    break
                tokens.append(text[k:m])
                k = m
            else:
                k += 1
        i = j
    return tokens, n_cjk


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _token_ids(tokens: list, vocab: list) -> np.ndarray:
    """``TextView.token_ids``: one typed loop instead of a map over the index's __getitem__."""
    index: dict = dict(zip(vocab, count()))
    n: cython.Py_ssize_t = len(tokens)
    ids = np.empty(n, dtype=np.int64)
    out: cython.longlong[:] = ids
    k: cython.Py_ssize_t
    for k in range(n):
        out[k] = index[tokens[k]]
    return ids


# + emoji and pictographs (U+1F000-U+1FFFF; not the CJK extensions above them)
_SPECIAL_RE = re.compile("[" + re.escape("".join(sorted(SPECIAL))) + "\U0001f000-\U0001ffff]")
_PUNCTUATION_RE = re.compile("[" + re.escape("".join(sorted(PUNCTUATION))) + "]")


def count_special(text: str) -> int:
    return len(_SPECIAL_RE.findall(text))


# Character classes of code point arrays by table look-up: one entry per code point up to the
# emoji plane's end; every code point above it maps to the last entry, which is False.
_TABLE_END = 0x20000


def _class_table(chars: frozenset[str], *ranges: tuple[int, int]) -> np.ndarray:
    table = np.zeros(_TABLE_END + 1, dtype=bool)
    table[[ord(c) for c in chars]] = True
    for first, last in ranges:
        table[first : last + 1] = True
    return table


_SPECIAL_TABLE = _class_table(SPECIAL, (0x1F000, 0x1FFFF))  # = _SPECIAL_RE
_PUNCTUATION_TABLE = _class_table(PUNCTUATION)


def char_classes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(special, punctuation) masks of an array of code points: ``count_special`` and
    ``PUNCTUATION`` for every character at once."""
    # mode="clip": code points past the table read its last entry (False); 2.5x faster than
    # clipping and indexing.
    return np.take(_SPECIAL_TABLE, codes, mode="clip"), np.take(_PUNCTUATION_TABLE, codes, mode="clip")


@dataclass
class ParagraphView:
    """One text node: its tokens and the counts the filters share."""

    index: int  # the node's index in ``doc.nodes``
    node: TextNode
    tokens: list[str]
    n_cjk: int  # CJK tokens among ``tokens``

    @property
    def text(self) -> str:
        return self.node.text

    @property
    def n_words(self) -> int:
        return len(self.tokens)

    @cached_property
    def n_special(self) -> int:
        return count_special(self.node.text)

    @cached_property
    def n_punctuation(self) -> int:
        return len(_PUNCTUATION_RE.findall(self.node.text))

    @property
    def cjk_fraction(self) -> float:
        return self.n_cjk / len(self.tokens) if self.tokens else 0.0


@dataclass
class TextView:
    """A document's text, tokenised once. Filters read it and cache derived values in
    ``shared`` (e.g. stop-word counts) so two filters never compute the same thing twice."""

    doc: Document
    paragraphs: list[ParagraphView]
    shared: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, doc: Document) -> "TextView":
        paragraphs = []
        for i, node in enumerate(doc.nodes):
            if isinstance(node, TextNode):
                paragraphs.append(ParagraphView(i, node, *tokenize_counted(node.text)))
        return cls(doc, paragraphs)

    @cached_property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)

    @cached_property
    def tokens(self) -> list[str]:
        return list(chain.from_iterable(p.tokens for p in self.paragraphs))

    # Per-token measures are taken once per distinct token (``vocab``) and spread to the
    # tokens with numpy, instead of a Python call per token in every filter.
    @cached_property
    def vocab(self) -> list[str]:
        """The distinct tokens in first-occurrence order."""
        return list(dict.fromkeys(self.tokens))

    @cached_property
    def token_ids(self) -> np.ndarray:
        """Each token's index in ``vocab`` (int64; deterministic, unlike ``hash``)."""
        if cython.compiled:
            return _token_ids(self.tokens, self.vocab)
        index = dict(zip(self.vocab, count()))
        return np.fromiter(map(index.__getitem__, self.tokens), dtype=np.int64, count=len(self.tokens))

    @cached_property
    def token_groups(self) -> np.ndarray:
        """Each token's paragraph (position in ``paragraphs``)."""
        return np.repeat(np.arange(len(self.paragraphs)), [len(p.tokens) for p in self.paragraphs])

    @cached_property
    def token_lengths(self) -> np.ndarray:
        """Each token's length in characters (int64)."""
        return self.token_values(len, np.int64)

    def vocab_values(self, fn: Callable[[str], object], dtype: type = bool) -> np.ndarray:
        """``fn`` of every distinct token, as an array indexed like ``vocab``."""
        return np.fromiter(map(fn, self.vocab), dtype=dtype, count=len(self.vocab))

    def token_values(self, fn: Callable[[str], object], dtype: type = bool) -> np.ndarray:
        """``fn`` of every token (e.g. a word set's ``__contains__``: which tokens are in
        it), called once per distinct token."""
        return self.vocab_values(fn, dtype)[self.token_ids]

    @cached_property
    def n_words(self) -> int:
        return sum(len(p.tokens) for p in self.paragraphs)

    @cached_property
    def n_cjk(self) -> int:
        return sum(p.n_cjk for p in self.paragraphs)

    @property
    def cjk_fraction(self) -> float:
        n = self.n_words
        return self.n_cjk / n if n else 0.0

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines (a list node holds one item per line)."""
        return [line for p in self.paragraphs for line in map(str.strip, p.text.split("\n")) if line]
