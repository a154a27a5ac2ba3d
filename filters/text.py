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
from collections.abc import Callable, Collection
from itertools import chain, count

import numpy as np

try:
    import cython
except ImportError:  # running uncompiled without Cython installed
    from pipeline.cython_shim import cython

from schemas import Document, TextNode

if cython.compiled:
    from cython.cimports.cpython.mem import PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
    from cython.cimports.cpython.unicode import (
        Py_UNICODE_ISDIGIT,
        Py_UNICODE_ISSPACE,
        Py_UNICODE_TOLOWER,
        PyUnicode_4BYTE_KIND,
        PyUnicode_DATA,
        PyUnicode_FromKindAndData,
        PyUnicode_KIND,
        PyUnicode_New,
        PyUnicode_READ,
        PyUnicode_WRITE,
    )

# setup.py compiles this module when it can (Cython pure-Python mode): tokenisation then runs
# as a C scan over the characters (``_scan``) instead of the regexes, a view's tokens go
# straight to ids (``_Vocab``), and phrase look-ups, sentence ends and line counts are C passes
# (``PhraseSet``, ``count_sentence_ends``, ``line_stats``), with the same results
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
    return _nfkc(text).lower().replace("’", "'")


def _nfkc(text: str) -> str:
    """NFKC of ``text``; compiled, of ``_prefold(text)`` (the same string, found faster)."""
    return unicodedata.normalize("NFKC", _prefold(text) if cython.compiled else text)


def tokenize(text: str) -> list[str]:
    """Lower-case tokens: Latin/Cyrillic/... words and single CJK characters (= TOKEN)."""
    return tokenize_counted(text)[0]


def tokenize_counted(text: str) -> tuple[list[str], int]:
    """(tokens, how many are CJK characters), both from the normalised text."""
    return _tokenize_normalized(normalize_for_tokens(text))


def normalize_for_tokens(text: str) -> str:
    """``normalize(text)``; NFKC leaves ASCII as it is, and it has no ’: lower-cased only."""
    return text.lower() if text.isascii() else normalize(text)


def _tokenize_normalized(norm: str) -> tuple[list[str], int]:
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
    if _ALL_ALNUM and (0x4E00 <= c <= 0x9FFF or 0xAC00 <= c <= 0xD7A3):  # (no table look-ups for Chinese)
        return True
    return c.isalnum()


# Whether this Python's Unicode data makes every Han character of the unified block and every
# hangul syllable alphanumeric (Unicode 14 does): then ``_alnum`` says so without looking.
_ALL_ALNUM = cython.declare(cython.bint, cython.compiled and all(
    chr(c).isalnum() for c in chain(range(0x4E00, 0xA000), range(0xAC00, 0xD7A4))))


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
@cython.inline
def _lower(c: cython.Py_UCS4) -> cython.Py_UCS4:
    """The simple lower case of ``c``: str.lower's, except for U+0130 (two characters) and
    U+03A3 (final sigma by context). No call for ASCII and the blocks without case from CJK
    punctuation to the full-width forms (kana, Han, hangul: tests/filters/test_compiled.py)."""
    code: cython.uint = c
    if code < 128:
        return code + 32 if 65 <= code <= 90 else code
    if 0x3000 <= code < 0xA640 or 0xAC00 <= code < 0xFF21:
        return c
    return Py_UNICODE_TOLOWER(c)


@cython.cfunc
@cython.inline
def _fold(c: cython.Py_UCS4) -> cython.Py_UCS4:
    """``normalize``'s lower-casing and apostrophe of one character, for a text without U+0130
    or U+03A3 (where str.lower maps each character to its simple lower case: ``_lower``)."""
    return 39 if c == 0x2019 else _lower(c)


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _code_points(text: str, out: cython.p_Py_UCS4, fold: cython.bint) -> cython.int:
    """``text``'s code points written to ``out``, with ``fold`` as ``normalize`` lower-cases
    them (``_fold``): the scan then reads a plain array, each character folded once."""
    kind: cython.int = PyUnicode_KIND(text)
    data: cython.p_void = PyUnicode_DATA(text)
    i: cython.Py_ssize_t
    latin: cython.p_uchar
    if kind == 1:  # (most texts: one byte a character, read without the kind switch)
        latin = cython.cast(cython.p_uchar, data)
        if fold:
            for i in range(len(text)):
                out[i] = _fold(latin[i])
        else:
            for i in range(len(text)):
                out[i] = latin[i]
    elif fold:
        for i in range(len(text)):
            out[i] = _fold(PyUnicode_READ(kind, data, i))
    else:
        for i in range(len(text)):
            out[i] = PyUnicode_READ(kind, data, i)
    return 0


@cython.cfunc
def _scan(text: str) -> tuple:
    """(tokens, CJK tokens) of a normalised text: ``tokenize_counted`` after normalising
    (compiled only)."""
    chars: cython.p_Py_UCS4 = cython.cast(cython.p_Py_UCS4, PyMem_Malloc(max(len(text), 1) * cython.sizeof(cython.Py_UCS4)))
    if not chars:
        raise MemoryError()
    try:
        _code_points(text, chars, False)
        tokens: list = []
        n_cjk: cython.Py_ssize_t = _scan_chars(chars, len(text), text, tokens)
        return tokens, n_cjk
    finally:
        PyMem_Free(chars)


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _scan_chars(chars: cython.p_Py_UCS4, n: cython.Py_ssize_t, text: str, tokens: list = None,
                vocab: _Vocab = None) -> cython.Py_ssize_t:
    """The tokens of the ``n`` code points ``chars`` (those of ``text``, maybe folded), to
    ``tokens`` as slices of ``text``, or with ``vocab`` to it as ids (no str per token); the
    number of CJK tokens."""
    i: cython.Py_ssize_t = 0
    j: cython.Py_ssize_t
    k: cython.Py_ssize_t
    m: cython.Py_ssize_t
    n_cjk: cython.Py_ssize_t = 0
    has_cjk: cython.bint
    c: cython.Py_UCS4
    while i < n:
        c = chars[i]
        if not _alnum(c):
            i += 1
            continue
        # a word: i..j
        has_cjk = _cjk(c)
        j = i + 1
        while True:
            while j < n:
                c = chars[j]
                if not _alnum(c):
                    break
                if _cjk(c):
                    has_cjk = True
                j += 1
            if j + 1 < n and chars[j] == 39 and _alnum(chars[j + 1]):
                j += 1
                continue
            break
        if not has_cjk:
            if vocab is None:
                tokens.append(text[i:j])
            else:
                vocab.add(chars, i, j)
            i = j
            continue
        # TOKEN.findall(word): a CJK character, or a run of other alphanumerics joined by
        # apostrophes; anything else is skipped.
        k = i
        while k < j:
            c = chars[k]
            if _cjk(c):
                if vocab is None:
                    tokens.append(text[k : k + 1])
                else:
                    vocab.add(chars, k, k + 1)
                n_cjk += 1
                k += 1
            elif _alnum(c):
                m = k + 1
                while True:
                    while m < j:
                        c = chars[m]
                        if not _alnum(c) or _cjk(c):
                            break
                        m += 1
                    if m + 1 < j and (c == 39 or c == 0x2019):  # an apostrophe (c is chars[m])
                        c = chars[m + 1]
                        if _alnum(c) and not _cjk(c):
                            m += 1
                            continue
                    break
                if vocab is None:
                    tokens.append(text[k:m])
                else:
                    vocab.add(chars, k, m)
                k = m
            else:
                k += 1
        i = j
    return n_cjk


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _prefold(text: str) -> str:
    """``text`` with each full-width ASCII form (U+FF01-FF5E) and horizontal ellipsis (U+2026)
    replaced by its NFKD decomposition ("（" by "(", "…" by "..."). NFKC of it is NFKC of
    ``text``: NFKC composes the full decomposition, which replaces every character by its own
    anyway. But unicodedata returns a text as it is only when no character may change, and
    otherwise decomposes and recomposes all of it (slowly): Chinese punctuation sent every
    paragraph holding one down that path."""
    kind: cython.int = PyUnicode_KIND(text)
    if kind == 1:  # (all below U+0100)
        return text
    data: cython.p_void = PyUnicode_DATA(text)
    n: cython.Py_ssize_t = len(text)
    i: cython.Py_ssize_t
    at: cython.Py_ssize_t = 0
    c: cython.Py_UCS4
    replaced: cython.Py_ssize_t = 0
    ellipses: cython.Py_ssize_t = 0
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if 0xFF01 <= c <= 0xFF5E:
            replaced += 1
        elif c == 0x2026:
            ellipses += 1
    if not replaced and not ellipses:
        return text
    out: cython.p_Py_UCS4 = cython.cast(cython.p_Py_UCS4, PyMem_Malloc((n + 2 * ellipses) * cython.sizeof(cython.Py_UCS4)))
    if not out:
        raise MemoryError()
    try:
        for i in range(n):
            c = PyUnicode_READ(kind, data, i)
            if 0xFF01 <= c <= 0xFF5E:
                out[at] = cython.cast(cython.uint, c) - 0xFEE0
            elif c == 0x2026:
                out[at] = out[at + 1] = 46
                at += 2
                out[at] = 46
            else:
                out[at] = c
            at += 1
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, at)
    finally:
        PyMem_Free(out)


@cython.cclass
class Lexicon:
    """Word sets a view's tokens are looked up in while they are interned (compiled only).
    ``bit`` gives a set its bit at its first call; ``_Vocab`` looks each new token up once in
    this C table by the hash it computed anyway, and ``TextView.vocab_bits`` says which sets
    hold each distinct token. A filter then tests a bit instead of hashing the token's str and
    looking it up in its own set. Plain Python registers nothing (``bit`` is -1): the filters
    look tokens up in their sets."""

    sets = cython.declare(dict, visibility="readonly")  # frozenset -> its bit
    words: list  # the words of every set, by entry
    hashes: cython.p_ulonglong  # each entry's hash (as ``_Vocab`` hashes a token)
    bits: cython.p_ulonglong  # the sets holding each entry
    slots: cython.p_int  # entry + 1, 0 for an empty slot
    mask: cython.Py_ssize_t
    capacity: cython.Py_ssize_t

    def __init__(self) -> None:
        self.sets = {}
        self.words = []
        if not cython.compiled:
            return
        self.capacity = 0
        self.mask = 0
        self._resize(1024)

    def __dealloc__(self) -> None:
        if cython.compiled:
            PyMem_Free(self.hashes)
            PyMem_Free(self.bits)
            PyMem_Free(self.slots)

    @property
    def generation(self) -> int:
        """Sets registered so far: a view scanned now has the bits below this."""
        return len(self.sets)

    def bit(self, words: object) -> int:
        """The bit of the frozenset ``words`` (registered at its first call), or -1: not
        compiled, not a frozenset, or 64 sets registered already."""
        if not cython.compiled or type(words) is not frozenset:
            return -1
        bit = self.sets.get(words)
        if bit is None:
            if len(self.sets) == 64:
                return -1
            bit = len(self.sets)
            for word in words:
                if isinstance(word, str):
                    self._add(word, bit)
            self.sets[words] = bit
        return bit

    @cython.cfunc
    def _resize(self, capacity: cython.Py_ssize_t) -> cython.int:
        """Room for ``capacity`` entries, the slots (twice as many) laid out again."""
        hashes = cython.cast(cython.p_ulonglong, PyMem_Realloc(self.hashes, capacity * cython.sizeof(cython.ulonglong)))
        if not hashes:
            raise MemoryError()
        self.hashes = hashes
        bits = cython.cast(cython.p_ulonglong, PyMem_Realloc(self.bits, capacity * cython.sizeof(cython.ulonglong)))
        if not bits:
            raise MemoryError()
        self.bits = bits
        mask: cython.Py_ssize_t = 2 * capacity - 1
        slots: cython.p_int = cython.cast(cython.p_int, PyMem_Calloc(mask + 1, cython.sizeof(cython.int)))
        if not slots:
            raise MemoryError()
        PyMem_Free(self.slots)
        self.slots, self.mask, self.capacity = slots, mask, capacity
        k: cython.Py_ssize_t
        slot: cython.Py_ssize_t
        for k in range(len(self.words)):
            slot = (self.hashes[k] ^ (self.hashes[k] >> 32)) & mask
            while slots[slot]:
                slot = (slot + 1) & mask
            slots[slot] = k + 1
        return 0

    @cython.cfunc
    def _add(self, word: str, bit: cython.Py_ssize_t) -> cython.int:
        kind: cython.int = PyUnicode_KIND(word)
        data: cython.p_void = PyUnicode_DATA(word)
        h: cython.ulonglong = 0x84222325  # as ``_Vocab.add`` hashes a token
        prime: cython.ulonglong = 0x100000001B3
        k: cython.Py_ssize_t
        for k in range(len(word)):
            h = (h ^ cython.cast(cython.ulonglong, PyUnicode_READ(kind, data, k))) * prime
        slot: cython.Py_ssize_t = (h ^ (h >> 32)) & self.mask
        while self.slots[slot]:
            k = self.slots[slot] - 1
            if self.hashes[k] == h and self.words[k] == word:
                self.bits[k] |= cython.cast(cython.ulonglong, 1) << bit
                return 0
            slot = (slot + 1) & self.mask
        k = len(self.words)
        self.words.append(word)
        self.hashes[k] = h
        self.bits[k] = cython.cast(cython.ulonglong, 1) << bit
        self.slots[slot] = k + 1
        if k + 1 == self.capacity:
            self._resize(2 * self.capacity)
        return 0

    @cython.cfunc
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def lookup(self, h: cython.ulonglong, chars: cython.p_Py_UCS4, size: cython.Py_ssize_t) -> cython.ulonglong:
        """The bits of the word of these code points (hashed as ``_add`` does), 0 if none."""
        slot: cython.Py_ssize_t = (h ^ (h >> 32)) & self.mask
        k: cython.Py_ssize_t
        m: cython.Py_ssize_t
        kind: cython.int
        data: cython.p_void
        while self.slots[slot]:
            k = self.slots[slot] - 1
            if self.hashes[k] == h:
                word: str = self.words[k]
                if len(word) == size:
                    kind, data = PyUnicode_KIND(word), PyUnicode_DATA(word)
                    m = 0
                    while m < size and PyUnicode_READ(kind, data, m) == chars[m]:
                        m += 1
                    if m == size:
                        return self.bits[k]
            slot = (slot + 1) & self.mask
        return 0


# The word sets of every filter (``Lexicon.bit``), looked up as views are built.
LEXICON = Lexicon()


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _str(chars: cython.p_Py_UCS4, size: cython.Py_ssize_t, top: cython.Py_UCS4) -> str:
    """The str of ``size`` code points, the largest ``top`` (written in its own kind: no
    second pass to find it, as PyUnicode_FromKindAndData makes)."""
    out: str = PyUnicode_New(size, top)
    kind: cython.int = PyUnicode_KIND(out)
    data: cython.p_void = PyUnicode_DATA(out)
    k: cython.Py_ssize_t
    for k in range(size):
        PyUnicode_WRITE(kind, data, k, chars[k])
    return out


@cython.cclass
class _Vocab:
    """A document's distinct tokens, interned by their code points while ``_scan`` runs
    (compiled only): a token is hashed (FNV-1a over its code points) and looked up in an
    open-addressing table of C arrays, so only a new token becomes a str, and every token is
    written as its id (first-occurrence order, as ``dict.fromkeys`` gives). A new token is
    also looked up in ``LEXICON`` (its bits) and classed as digits or not; each token's
    length and each distinct token's count are kept as they go."""

    words: list  # distinct tokens, by id
    chars: cython.p_Py_UCS4  # their code points, one after the other
    offsets: cython.p_Py_ssize_t  # where each distinct token's code points start in ``chars``
    hashes: cython.p_ulonglong  # each distinct token's hash
    counts: cython.p_longlong  # how often each distinct token occurs
    bits: cython.p_ulonglong  # each distinct token's sets in ``lexicon``
    digits: cython.p_uchar  # each distinct token is made of digits only (str.isdigit)
    n_chars: cython.Py_ssize_t
    room: cython.Py_ssize_t  # distinct tokens the arrays above hold
    slots: cython.p_int  # id + 1, 0 for an empty slot
    mask: cython.Py_ssize_t
    lexicon: Lexicon
    ids_array: object
    ids: cython.longlong[:]  # every token's id, in order
    lengths_array: object
    lengths: cython.longlong[:]  # every token's length
    n: cython.Py_ssize_t  # tokens so far

    def __cinit__(self, capacity: cython.Py_ssize_t, lexicon: Lexicon) -> None:
        """``capacity``: at least the number of tokens and of their characters (the
        characters scanned will do)."""
        capacity = max(capacity, 1)
        self.words = []
        self.lexicon = lexicon
        self.chars = cython.cast(cython.p_Py_UCS4, PyMem_Malloc(capacity * cython.sizeof(cython.Py_UCS4)))
        self.mask = 255
        self.slots = cython.cast(cython.p_int, PyMem_Calloc(self.mask + 1, cython.sizeof(cython.int)))
        if not (self.chars and self.slots):
            raise MemoryError()
        self.room = 0
        self._make_room(128)
        self.n_chars = 0
        self.offsets[0] = 0
        self.ids_array = np.empty(capacity, dtype=np.int64)
        self.ids = self.ids_array
        self.lengths_array = np.empty(capacity, dtype=np.int64)
        self.lengths = self.lengths_array
        self.n = 0

    def __dealloc__(self) -> None:
        PyMem_Free(self.chars)
        PyMem_Free(self.offsets)
        PyMem_Free(self.hashes)
        PyMem_Free(self.counts)
        PyMem_Free(self.bits)
        PyMem_Free(self.digits)
        PyMem_Free(self.slots)

    @cython.cfunc
    def _make_room(self, room: cython.Py_ssize_t) -> cython.int:
        """The per-distinct-token arrays grown to ``room`` tokens (kept as they are)."""
        offsets = PyMem_Realloc(self.offsets, (room + 1) * cython.sizeof(cython.Py_ssize_t))
        hashes = PyMem_Realloc(self.hashes, room * cython.sizeof(cython.ulonglong))
        counts = PyMem_Realloc(self.counts, room * cython.sizeof(cython.longlong))
        bits = PyMem_Realloc(self.bits, room * cython.sizeof(cython.ulonglong))
        digits = PyMem_Realloc(self.digits, room)
        if offsets:  # (each one kept as soon as it is there: __dealloc__ frees them)
            self.offsets = cython.cast(cython.p_Py_ssize_t, offsets)
        if hashes:
            self.hashes = cython.cast(cython.p_ulonglong, hashes)
        if counts:
            self.counts = cython.cast(cython.p_longlong, counts)
        if bits:
            self.bits = cython.cast(cython.p_ulonglong, bits)
        if digits:
            self.digits = cython.cast(cython.p_uchar, digits)
        if not (offsets and hashes and counts and bits and digits):
            raise MemoryError()
        self.room = room
        return 0

    @cython.cfunc
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def add(self, chars: cython.p_Py_UCS4, i: cython.Py_ssize_t, j: cython.Py_ssize_t) -> cython.int:
        """The token ``chars[i:j]``."""
        h: cython.ulonglong = 0x84222325  # FNV-1a (C literals: no Python int per token)
        prime: cython.ulonglong = 0x100000001B3
        size: cython.Py_ssize_t = j - i
        k: cython.Py_ssize_t
        for k in range(i, j):
            h = (h ^ cython.cast(cython.ulonglong, chars[k])) * prime
        slot: cython.Py_ssize_t = (h ^ (h >> 32)) & self.mask
        v: cython.Py_ssize_t
        at: cython.p_Py_UCS4
        c: cython.Py_UCS4
        top: cython.Py_UCS4
        digits: cython.bint
        while True:
            v = self.slots[slot] - 1
            if v < 0:  # a new token
                v = len(self.words)
                if v == self.room:
                    self._make_room(2 * self.room)
                at = self.chars + self.n_chars
                digits = True
                top = 0
                for k in range(size):
                    c = chars[i + k]
                    at[k] = c
                    top = max(top, c)
                    digits = digits and (48 <= c <= 57 if c < 128 else Py_UNICODE_ISDIGIT(c))
                self.words.append(_str(at, size, top))
                self.hashes[v] = h
                self.counts[v] = 0
                self.digits[v] = digits
                self.bits[v] = self.lexicon.lookup(h, at, size) if self.lexicon is not None else 0
                self.n_chars += size
                self.offsets[v + 1] = self.n_chars
                self.slots[slot] = v + 1
                if 2 * (v + 1) > self.mask:
                    self._grow()
                break
            if self.hashes[v] == h and self.offsets[v + 1] - self.offsets[v] == size:
                at = self.chars + self.offsets[v]
                k = 0
                while k < size and at[k] == chars[i + k]:
                    k += 1
                if k == size:
                    break
            slot = (slot + 1) & self.mask
        self.ids[self.n] = v
        self.lengths[self.n] = size
        self.counts[v] += 1
        self.n += 1
        return 0

    @cython.cfunc
    def _grow(self) -> cython.int:
        """Twice the slots, the tokens so far placed again (kept at most half full)."""
        mask: cython.Py_ssize_t = 2 * (self.mask + 1) - 1
        slots: cython.p_int = cython.cast(cython.p_int, PyMem_Calloc(mask + 1, cython.sizeof(cython.int)))
        if not slots:
            raise MemoryError()
        v: cython.Py_ssize_t
        slot: cython.Py_ssize_t
        h: cython.ulonglong
        for v in range(len(self.words)):
            h = self.hashes[v]
            slot = (h ^ (h >> 32)) & mask
            while slots[slot]:
                slot = (slot + 1) & mask
            slots[slot] = v + 1
        PyMem_Free(self.slots)
        self.slots = slots
        self.mask = mask
        return 0


def _view_text(text: str) -> tuple[str, bool]:
    """(the text to scan for ``normalize(text)``'s tokens, whether to lower-case it as it is
    read): NFKC-normalised only, unless str.lower would not map it character by character."""
    if text.isascii():
        return text, True
    text = _nfkc(text)
    if "\u0130" in text or "\u03a3" in text:  # İ lower-cases to two characters, Σ by context
        return text.lower().replace("’", "'"), False
    return text, True


@cython.boundscheck(False)
@cython.wraparound(False)
def _scan_view(texts: list[str]) -> tuple:
    """A view's tokens in one C scan per text (compiled only): (vocab, token ids, their
    paragraphs, their lengths, vocab counts, digit tokens, vocab bits, lexicon generation,
    tokens per text, CJK tokens per text, the texts scanned, whether each was lower-cased as it
    was read) of the texts ``tokenize_counted`` would tokenise, interned."""
    scanned: list[str] = []
    folded: list[bool] = []
    for text in texts:
        text, fold = _view_text(text)
        scanned.append(text)
        folded.append(fold)
    # (sizes after NFKC, which may lengthen a text: "…" is "...")
    size: cython.Py_ssize_t = max(map(len, scanned), default=0)
    vocab = _Vocab(sum(map(len, scanned)), LEXICON)  # a token has at least one character
    generation = LEXICON.generation
    n_words: list[int] = []
    n_cjk: list[int] = []
    text: str
    g: cython.Py_ssize_t
    t: cython.Py_ssize_t
    v: cython.Py_ssize_t
    before: cython.Py_ssize_t
    groups_array = np.empty(vocab.ids.shape[0], dtype=np.int64)
    groups: cython.longlong[:] = groups_array
    # Each text's code points, in turn, in one buffer.
    chars: cython.p_Py_UCS4 = cython.cast(cython.p_Py_UCS4, PyMem_Malloc(max(size, 1) * cython.sizeof(cython.Py_UCS4)))
    if not chars:
        raise MemoryError()
    try:
        for g in range(len(scanned)):
            text = scanned[g]
            _code_points(text, chars, folded[g])
            before = vocab.n
            n_cjk.append(_scan_chars(chars, len(text), text, None, vocab))
            n_words.append(vocab.n - before)
            for t in range(before, vocab.n):
                groups[t] = g
    finally:
        PyMem_Free(chars)
    n_vocab: cython.Py_ssize_t = len(vocab.words)
    counts_array = np.empty(n_vocab, dtype=np.int64)
    counts: cython.longlong[:] = counts_array
    bits_array = np.empty(n_vocab, dtype=np.uint64)
    bits: cython.ulonglong[:] = bits_array
    n_digits: cython.Py_ssize_t = 0
    for v in range(n_vocab):
        counts[v] = vocab.counts[v]
        bits[v] = vocab.bits[v]
        if vocab.digits[v]:
            n_digits += vocab.counts[v]
    n: cython.Py_ssize_t = vocab.n
    return (vocab.words, vocab.ids_array[:n], groups_array[:n], vocab.lengths_array[:n], counts_array, n_digits,
            bits_array, generation, n_words, n_cjk, scanned, folded)


def count_sentence_ends(text: str) -> int:
    """``len(SENTENCE_END.findall(text))``; one C pass compiled: a run of sentence
    punctuation followed by whitespace, the end or a closing quote is one sentence end,
    otherwise each CJK stop in it is one (what the regex's two branches match)."""
    if not cython.compiled:
        return len(SENTENCE_END.findall(text))
    kind: cython.int = PyUnicode_KIND(text)
    data: cython.p_void = PyUnicode_DATA(text)
    n: cython.Py_ssize_t = len(text)
    i: cython.Py_ssize_t = 0
    j: cython.Py_ssize_t
    count: cython.Py_ssize_t = 0
    c: cython.Py_UCS4
    while True:
        i = _next_sentence_punctuation(kind, data, i, n)
        if i == n:
            break
        j = i + 1
        while j < n and _sentence_punctuation(PyUnicode_READ(kind, data, j)):
            j += 1
        c = PyUnicode_READ(kind, data, j) if j < n else 0
        if j == n or c.isspace() or c in "\"'”’）)":  # (SENTENCE_END's lookahead)
            count += 1
        else:
            while i < j:
                c = PyUnicode_READ(kind, data, i)
                if c == 0x3002 or c == 0xFF01 or c == 0xFF1F:  # 。！？
                    count += 1
                i += 1
        i = j
    return count


@cython.cfunc
@cython.inline
def _sentence_punctuation(c: cython.Py_UCS4) -> cython.bint:  # [.!?。！？]
    return c == 46 or c == 33 or c == 63 or c == 0x3002 or c == 0xFF01 or c == 0xFF1F


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _next_sentence_punctuation(kind: cython.int, data: cython.p_void, i: cython.Py_ssize_t,
                               n: cython.Py_ssize_t) -> cython.Py_ssize_t:
    """The first position from ``i`` holding sentence punctuation, or ``n``: one loop per
    string kind, most characters let go by one or two comparisons."""
    latin: cython.p_uchar
    wide: cython.p_ushort
    c: cython.uint
    if kind == 1:  # . ! ? only
        latin = cython.cast(cython.p_uchar, data)
        while i < n:
            c = latin[i]
            if c == 46 or c == 33 or c == 63:
                return i
            i += 1
    elif kind == 2:
        wide = cython.cast(cython.p_ushort, data)
        while i < n:
            c = wide[i]
            if (c <= 63 or c >= 0x3002) and _sentence_punctuation(c):
                return i
            i += 1
    else:
        while i < n:
            if _sentence_punctuation(PyUnicode_READ(kind, data, i)):
                return i
            i += 1
    return n


@cython.cclass
class PhraseSet:
    """Phrases looked up in one C pass over a text when compiled. ``found``: which of them
    (lower-case) a text holds once lower-cased (``phrase in text.lower()`` for each), without
    a lower-cased copy unless the text holds U+0130 or U+03A3 (str.lower maps them to two
    characters or by their context). ``findall``: the matches of their alternation regex, longest phrase first (``pattern``),
    instead of the regex engine trying hundreds of alternatives at every position."""

    phrases = cython.declare(tuple, visibility="readonly")
    pattern = cython.declare(object, visibility="readonly")  # the alternation regex (= ``findall``)
    chars: cython.p_uint  # the phrases' code points, one after the other
    starts: cython.p_Py_ssize_t  # where each phrase starts in ``chars`` (and the end)
    chain: cython.p_int  # phrase + 1 of the next phrase in the same bucket, 0 at the end
    buckets: cython.int[256]  # first phrase + 1 whose first character is c % 256, or 0
    pairs: cython.uchar[8192]  # bit (a % 256) * 256 + b % 256: some phrase starts with a, b
    singles: cython.uchar[256]  # a one-character phrase is c % 256
    n_phrases: cython.Py_ssize_t

    def __init__(self, phrases: tuple[str, ...]) -> None:
        if not all(phrases):
            raise ValueError("an empty phrase")
        self.phrases = tuple(phrases)
        self.pattern = re.compile("|".join(map(re.escape, sorted(self.phrases, key=len, reverse=True))))
        if not cython.compiled:
            return
        self.n_phrases = len(self.phrases)
        size: cython.Py_ssize_t = sum(map(len, self.phrases))
        self.chars = cython.cast(cython.p_uint, PyMem_Malloc(max(size, 1) * cython.sizeof(cython.uint)))
        self.starts = cython.cast(cython.p_Py_ssize_t,
                                  PyMem_Malloc((self.n_phrases + 1) * cython.sizeof(cython.Py_ssize_t)))
        self.chain = cython.cast(cython.p_int, PyMem_Malloc(max(self.n_phrases, 1) * cython.sizeof(cython.int)))
        if not (self.chars and self.starts and self.chain):
            raise MemoryError()
        at: cython.Py_ssize_t = 0
        k: cython.Py_ssize_t
        c: cython.Py_UCS4
        first: cython.uint
        pair: cython.uint
        for k in range(256):
            self.buckets[k] = 0
            self.singles[k] = 0
        for k in range(8192):
            self.pairs[k] = 0
        for k in range(self.n_phrases):
            self.starts[k] = at
            for c in self.phrases[k]:
                self.chars[at] = c
                at += 1
            first = self.chars[self.starts[k]] & 255
            self.chain[k] = self.buckets[first]
            self.buckets[first] = k + 1
            if at - self.starts[k] == 1:
                self.singles[first] = 1
            else:
                pair = (first << 8) | (self.chars[self.starts[k] + 1] & 255)
                self.pairs[pair >> 3] |= 1 << (pair & 7)
        self.starts[self.n_phrases] = at

    def __dealloc__(self) -> None:
        if cython.compiled:
            PyMem_Free(self.chars)
            PyMem_Free(self.starts)
            PyMem_Free(self.chain)

    def found(self, text: str) -> list[bool]:
        """For each phrase, whether ``text.lower()`` holds it."""
        if not cython.compiled:
            lower = text.lower()
            return [p in lower for p in self.phrases]
        folded: cython.p_uint = _folded(text, True, True)
        if not folded:  # str.lower maps a character to two, or by its context
            text = text.lower()
            folded = _folded(text, False, True)
        try:
            return self._scan(folded, len(text))
        finally:
            PyMem_Free(folded)

    def findall(self, text: str) -> list[str]:
        """``pattern.findall(text)``: from left to right, the longest phrase that starts at
        each position (with none, the next position; after a match, its end)."""
        if not cython.compiled:
            return self.pattern.findall(text)
        n: cython.Py_ssize_t = len(text)
        chars: cython.p_uint = _folded(text, False, False)
        out: list = []
        i: cython.Py_ssize_t = 0
        k: cython.Py_ssize_t
        m: cython.Py_ssize_t
        size: cython.Py_ssize_t
        best: cython.Py_ssize_t
        best_size: cython.Py_ssize_t
        at: cython.p_uint
        c: cython.uint
        pair: cython.uint
        try:
            while i < n:
                c = chars[i]
                if not self.singles[c & 255]:
                    if i + 1 == n:
                        break
                    pair = ((c & 255) << 8) | (chars[i + 1] & 255)
                    if not self.pairs[pair >> 3] & (1 << (pair & 7)):
                        i += 1
                        continue
                best, best_size = -1, 0
                k = self.buckets[c & 255] - 1
                while k >= 0:
                    at = self.chars + self.starts[k]
                    size = self.starts[k + 1] - self.starts[k]
                    if size > best_size and at[0] == c and i + size <= n:
                        m = 1
                        while m < size and at[m] == chars[i + m]:
                            m += 1
                        if m == size:
                            best, best_size = k, size
                    k = self.chain[k] - 1
                if best < 0:
                    i += 1
                else:
                    out.append(self.phrases[best])
                    i += best_size
        finally:
            PyMem_Free(chars)
        return out

    @cython.cfunc
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def _scan(self, text: cython.p_uint, n: cython.Py_ssize_t) -> list:
        hits_array = np.zeros(self.n_phrases, dtype=np.uint8)
        hits: cython.uchar[:] = hits_array
        left: cython.Py_ssize_t = self.n_phrases
        i: cython.Py_ssize_t
        k: cython.Py_ssize_t
        m: cython.Py_ssize_t
        size: cython.Py_ssize_t
        at: cython.p_uint
        c: cython.uint
        pair: cython.uint
        for i in range(n):
            c = text[i]
            if not self.singles[c & 255]:  # the first two characters decide most positions
                if i + 1 == n:
                    break
                pair = ((c & 255) << 8) | (text[i + 1] & 255)
                if not self.pairs[pair >> 3] & (1 << (pair & 7)):
                    continue
            k = self.buckets[c & 255] - 1
            while k >= 0:
                at = self.chars + self.starts[k]
                size = self.starts[k + 1] - self.starts[k]
                if not hits[k] and at[0] == c and i + size <= n:
                    m = 1
                    while m < size and at[m] == text[i + m]:
                        m += 1
                    if m == size:
                        hits[k] = 1
                        left -= 1
                k = self.chain[k] - 1
            if not left:
                break
        return [bool(h) for h in hits_array.tolist()]


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _folded(text: str, strict: cython.bint, fold: cython.bint) -> cython.p_uint:
    """A PyMem buffer of ``text``'s code points, with ``fold`` those of ``text.lower()``: with
    ``strict``, each character's simple lower case (``_lower``), and NULL (no buffer) for a
    text holding U+0130 or U+03A3, the characters str.lower does not map so; without, ASCII
    A-Z folded to a-z only (the caller lower-cased the text)."""
    n: cython.Py_ssize_t = len(text)
    out: cython.p_uint = cython.cast(cython.p_uint, PyMem_Malloc(max(n, 1) * cython.sizeof(cython.uint)))
    if not out:
        raise MemoryError()
    kind: cython.int = PyUnicode_KIND(text)
    data: cython.p_void = PyUnicode_DATA(text)
    i: cython.Py_ssize_t
    c: cython.Py_UCS4
    code: cython.uint
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        code = c
        if not fold:
            out[i] = code
        elif code < 128:
            out[i] = code + 32 if 65 <= code <= 90 else code
        elif strict:
            if code == 0x130 or code == 0x3A3:  # str.lower maps it to two, or by its context
                PyMem_Free(out)
                return cython.NULL
            out[i] = _lower(c)
        else:
            out[i] = code
    return out


def line_stats(texts: list[str]) -> tuple[int, int, int, int, int, int]:
    """Over the non-empty stripped lines of ``texts`` (``TextView.lines``): (lines, those
    starting with a bullet, those ending in an ellipsis, their characters, lines seen
    before, their characters); one C pass compiled, with a str only per line for the set."""
    if not cython.compiled:
        lines = [line for text in texts for line in map(str.strip, text.split("\n")) if line]
        distinct = set(lines)
        chars = sum(map(len, lines))
        return (len(lines), sum(line.startswith(BULLETS) for line in lines),
                sum(line.endswith(("...", "…")) for line in lines), chars,
                len(lines) - len(distinct), chars - sum(map(len, distinct)))
    assert all(len(b) == 1 for b in BULLETS)  # (one-character bullets: compared as code points)
    seen: set = set()
    n_lines: cython.Py_ssize_t = 0
    bullets: cython.Py_ssize_t = 0
    ellipses: cython.Py_ssize_t = 0
    chars: cython.Py_ssize_t = 0
    dup_lines: cython.Py_ssize_t = 0
    dup_chars: cython.Py_ssize_t = 0
    n: cython.Py_ssize_t
    start: cython.Py_ssize_t
    end: cython.Py_ssize_t
    a: cython.Py_ssize_t
    b: cython.Py_ssize_t
    kind: cython.int
    data: cython.p_void
    c: cython.Py_UCS4
    text: str
    for text in texts:
        kind = PyUnicode_KIND(text)
        data = PyUnicode_DATA(text)
        n = len(text)
        start = 0
        while start <= n:  # a line: start..end (split("\n"): a last, maybe empty, line too)
            end = start
            while end < n and PyUnicode_READ(kind, data, end) != 10:
                end += 1
            a, b = start, end  # str.strip: Unicode whitespace at both ends
            while a < b and Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, a)):
                a += 1
            while b > a and Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, b - 1)):
                b -= 1
            if a < b:
                n_lines += 1
                chars += b - a
                c = PyUnicode_READ(kind, data, a)
                if c in "•-*·‣▪●◦–►✓■":  # = BULLETS
                    bullets += 1
                c = PyUnicode_READ(kind, data, b - 1)
                if c == 0x2026 or (c == 46 and b - a >= 3 and PyUnicode_READ(kind, data, b - 2) == 46
                                   and PyUnicode_READ(kind, data, b - 3) == 46):
                    ellipses += 1
                line = text[a:b]
                if line in seen:
                    dup_lines += 1
                    dup_chars += b - a
                else:
                    seen.add(line)
            start = end + 1
    return n_lines, bullets, ellipses, chars, dup_lines, dup_chars


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _count_tokens(vocab: list, vocab_counts: np.ndarray, words: frozenset) -> cython.Py_ssize_t:
    """``TextView.count_in`` (compiled only) without a Python call per token."""
    counts: cython.longlong[:] = vocab_counts
    total: cython.Py_ssize_t = 0
    v: cython.Py_ssize_t
    for v in range(len(vocab)):
        if vocab[v] in words:
            total += counts[v]
    return total


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _count_bit(vocab_bits: np.ndarray, vocab_counts: np.ndarray, bit: cython.int) -> cython.Py_ssize_t:
    """``TextView.count_in`` of a set with a bit in ``vocab_bits`` (compiled only)."""
    bits: cython.ulonglong[:] = vocab_bits
    counts: cython.longlong[:] = vocab_counts
    total: cython.Py_ssize_t = 0
    v: cython.Py_ssize_t
    for v in range(bits.shape[0]):
        if (bits[v] >> bit) & 1:
            total += counts[v]
    return total


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


@cython.cclass
class ParagraphView:
    """One text node: its tokens and the counts the filters share. Compiled, a C struct that
    ``_paragraph`` fills without a Python call: a document has tens of them."""

    index = cython.declare(cython.Py_ssize_t, visibility="readonly")  # the node's index in ``doc.nodes``
    node = cython.declare(object, visibility="readonly")
    n_words = cython.declare(cython.Py_ssize_t, visibility="readonly")  # tokens
    n_cjk = cython.declare(cython.Py_ssize_t, visibility="readonly")  # CJK tokens among them
    start = cython.declare(cython.Py_ssize_t, visibility="readonly")  # its first token in ``token_ids``
    vocab = cython.declare(list, visibility="readonly")  # the view's
    token_ids = cython.declare(object, visibility="readonly")  # the view's, all paragraphs
    # The text the tokens come from: ``normalized``, or its NFKC form when it was lower-cased
    # as it was read (``_fold``).
    _scanned = cython.declare(str)
    _folded = cython.declare(cython.bint)

    @property
    def text(self) -> str:
        return self.node.text

    @property
    def normalized(self) -> str:
        """``normalize(text)``, which the tokens come from."""
        return self._scanned.lower().replace("’", "'") if self._folded else self._scanned

    @property
    def tokens(self) -> list[str]:
        """Its tokens (built on demand from the view's ids: most filters read only those)."""
        return list(map(self.vocab.__getitem__, self.token_ids[self.start : self.start + self.n_words].tolist()))

    @property
    def n_special(self) -> int:
        return count_special(self.node.text)

    @property
    def n_punctuation(self) -> int:
        return len(_PUNCTUATION_RE.findall(self.node.text))

    @property
    def cjk_fraction(self) -> float:
        return self.n_cjk / self.n_words if self.n_words else 0.0


def _paragraph(index: int, node: TextNode, scanned: str, folded: bool, n_words: int, n_cjk: int, start: int,
               vocab: list[str], token_ids: np.ndarray) -> ParagraphView:
    p: ParagraphView = ParagraphView.__new__(ParagraphView)
    p.index, p.node, p._scanned, p._folded = index, node, scanned, folded
    p.n_words, p.n_cjk, p.start, p.vocab, p.token_ids = n_words, n_cjk, start, vocab, token_ids
    return p


class TextView:
    """A document's text, tokenised once. Filters read it and cache derived values in
    ``shared`` (e.g. stop-word counts) so two filters never compute the same thing twice.

    Per-token measures are taken once per distinct token (``vocab``) and spread to the
    tokens with numpy (``token_ids``), instead of a Python call per token in every filter.
    The arrays every filter chain reads are made with the view (compiled, by the C scan
    itself): plain attributes, no property call."""

    doc: Document | None
    paragraphs: list[ParagraphView]
    vocab: list[str]  # the distinct tokens in first-occurrence order
    token_ids: np.ndarray  # each token's index in ``vocab`` (int64; deterministic)
    token_groups: np.ndarray  # each token's paragraph (position in ``paragraphs``)
    token_lengths: np.ndarray  # each token's length in characters (int64)
    vocab_counts: np.ndarray  # how often each distinct token occurs (int64, indexed like ``vocab``)
    n_digit_tokens: int  # tokens of digits only (``token_values(str.isdigit).sum()``)
    vocab_bits: np.ndarray | None  # compiled: each distinct token's sets in ``LEXICON`` (uint64)
    generation: int  # the ``LEXICON`` bits below this are in ``vocab_bits``
    n_words: int
    n_cjk: int
    text: str  # the paragraphs joined by "\n\n"
    shared: dict[str, object]  # values derived by one filter for the others

    @classmethod
    def of(cls, doc: Document) -> "TextView":
        return cls.of_nodes(doc, [(i, node) for i, node in enumerate(doc.nodes) if isinstance(node, TextNode)])

    @classmethod
    def of_texts(cls, texts: list[str]) -> "TextView":
        """A view of loose texts (e.g. a title and captions), as paragraphs of no document."""
        return cls.of_nodes(None, list(enumerate(map(TextNode, texts))))

    @classmethod
    def of_nodes(cls, doc: Document | None, nodes: list[tuple[int, TextNode]]) -> "TextView":
        """The view of ``nodes`` ((index in ``doc.nodes``, text node)) of ``doc``."""
        view = cls()
        view.doc = doc
        view.shared = {}
        texts = [node.text for _, node in nodes]
        view.text = "\n\n".join(texts)
        if cython.compiled:
            # One C scan per paragraph straight to token ids: a str only per distinct token.
            (view.vocab, view.token_ids, view.token_groups, view.token_lengths, view.vocab_counts, view.n_digit_tokens,
             view.vocab_bits, view.generation, n_words, n_cjk, scanned, folded) = _scan_view(texts)
        else:
            scanned = list(map(normalize_for_tokens, texts))
            folded = [False] * len(texts)
            n_words, n_cjk = view._tokenize(scanned)
        view.paragraphs = paragraphs = []
        start = 0
        for (i, node), text, fold, size, cjk in zip(nodes, scanned, folded, n_words, n_cjk):
            paragraphs.append(_paragraph(i, node, text, fold, size, cjk, start, view.vocab, view.token_ids))
            start += size
        view.n_words = start
        view.n_cjk = sum(n_cjk)
        return view

    def _tokenize(self, norms: list[str]) -> tuple[list[int], list[int]]:
        """Plain Python: the view's tokens and arrays from the normalised texts, with numpy;
        (tokens, CJK tokens) per text."""
        tokenized = list(map(_tokenize_normalized, norms))
        tokens = list(chain.from_iterable(t for t, _ in tokenized))
        self.vocab = list(dict.fromkeys(tokens))
        index = dict(zip(self.vocab, count()))
        self.token_ids = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        n_words = [len(t) for t, _ in tokenized]
        self.token_groups = np.repeat(np.arange(len(norms)), n_words)
        self.token_lengths = self.token_values(len, np.int64)
        self.vocab_counts = np.bincount(self.token_ids, minlength=len(self.vocab))
        self.n_digit_tokens = int(self.vocab_values(str.isdigit) @ self.vocab_counts)
        self.vocab_bits, self.generation = None, 0
        return n_words, [n for _, n in tokenized]

    @property
    def tokens(self) -> list[str]:
        return list(map(self.vocab.__getitem__, self.token_ids.tolist()))

    def vocab_values(self, fn: Callable[[str], object], dtype: type = bool) -> np.ndarray:
        """``fn`` of every distinct token, as an array indexed like ``vocab``."""
        return np.fromiter(map(fn, self.vocab), dtype=dtype, count=len(self.vocab))

    def token_values(self, fn: Callable[[str], object], dtype: type = bool) -> np.ndarray:
        """``fn`` of every token (e.g. a word set's ``__contains__``: which tokens are in
        it), called once per distinct token."""
        return self.vocab_values(fn, dtype)[self.token_ids]

    def word_bit(self, words: Collection[str]) -> int:
        """The bit of ``words`` in ``vocab_bits``, or -1 where the view does not have it
        (plain Python; a set registered after the view was made, or not a frozenset)."""
        bit = LEXICON.bit(words)
        return bit if bit < self.generation else -1

    def count_in(self, words: frozenset[str]) -> int:
        """Tokens in ``words`` (``token_values(words.__contains__).sum()``)."""
        if not cython.compiled:
            return int(self.vocab_values(words.__contains__) @ self.vocab_counts)
        bit = self.word_bit(words)
        if bit >= 0:
            return _count_bit(self.vocab_bits, self.vocab_counts, bit)
        return _count_tokens(self.vocab, self.vocab_counts, words)

    @property
    def cjk_fraction(self) -> float:
        n = self.n_words
        return self.n_cjk / n if n else 0.0

    @property
    def lines(self) -> list[str]:
        """Non-empty lines (a list node holds one item per line)."""
        return [line for p in self.paragraphs for line in map(str.strip, p.text.split("\n")) if line]
