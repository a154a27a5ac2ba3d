"""Word lists (stop words, flagged terms) and the one matcher both languages use.

Lists ship in ``filters/wordlists/<name>_<lang>.txt`` (one term per line, ``#`` comments);
``filters.wordlists`` names a folder whose files of the same name replace them. Latin terms
match whole tokens (a phrase: consecutive tokens); CJK terms match substrings, longest
first, without overlap. A match counts its tokens, i.e. its characters for CJK terms, so
English and Chinese ratios share one denominator: the document's tokens.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

try:
    import cython
except ImportError:  # running uncompiled without Cython installed
    from pipeline.cython_shim import cython

from filters.text import CJK_CHAR, LEXICON, TOKEN, PhraseSet, TextView, has_cjk, normalize, tokenize
from pipeline.resources import package_dir

# A folder of this package; extracted to a temp dir when imported from a zip (--py-files).
SHIPPED = package_dir("filters", "wordlists")

# setup.py compiles this module when it can (Cython pure-Python mode): the term and stop-word
# look-ups of a whole view are then C loops over its token ids (``_token_matches``,
# ``_stop_words_per_paragraph``), with the same results (tests/filters/test_compiled.py).
COMPILED: bool = cython.compiled


def list_path(name: str, folder: str | None = None) -> Path:
    if folder:
        override = Path(folder) / f"{name}.txt"
        if override.exists():
            return override
    path = SHIPPED / f"{name}.txt"
    if not path.exists():
        raise FileNotFoundError(f"word list {name!r} not found in {folder or SHIPPED}")
    return path


@lru_cache(maxsize=64)
def load_terms(path: str) -> tuple[str, ...]:
    terms = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = normalize(line.strip())
        if line and not line.startswith("#"):
            terms.append(line)
    return tuple(dict.fromkeys(terms))


class TermMatcher:
    """Finds a list's terms in a text and counts the tokens they cover: CJK terms as
    substrings (one regex, longest first), Latin terms as whole tokens of ``tokenize``, a
    phrase as consecutive tokens (longest phrase first; its words are not counted again)."""

    def __init__(self, terms: tuple[str, ...]) -> None:
        # CJK terms: the alternation regex of them, longest first (C matches when compiled)
        cjk = sorted({t for t in terms if CJK_CHAR.search(t)}, key=len, reverse=True)
        self.cjk = PhraseSet(tuple(cjk)) if cjk else None
        self.cjk_tokens = {t: len(TOKEN.findall(t)) for t in cjk}  # 'av电影': 3
        self.words: set[str] = set()
        self.phrases: dict[str, list[tuple[str, ...]]] = {}
        for term in terms:
            if CJK_CHAR.search(term):
                continue
            tokens = tuple(tokenize(term))
            if len(tokens) == 1:
                self.words.add(tokens[0])
            elif tokens:
                self.phrases.setdefault(tokens[0], []).append(tokens)
        for phrases in self.phrases.values():
            phrases.sort(key=len, reverse=True)
        # Their bits in the views' ``vocab_bits`` (compiled): a view's tokens are looked up
        # in them as they are interned, not here.
        self.word_set, self.start_set = frozenset(self.words), frozenset(self.phrases)
        LEXICON.bit(self.word_set)
        LEXICON.bit(self.start_set)

    def matches(self, text: str, tokens: list[str] | None = None) -> list[tuple[str, int]]:
        """(term, tokens it covers) for every match in one text (``tokens``: its
        ``tokenize`` tokens, when the caller has them)."""
        hits: list[tuple[str, int]] = []
        if self.cjk is not None and CJK_CHAR.search(text):
            hits.extend((m, self.cjk_tokens[m]) for m in self.cjk.findall(normalize(text)))
        if tokens is None:
            tokens = tokenize(text)
        consumed: set[int] = set()
        # Most texts hold no term at all: a C-level set test (isdisjoint) skips each token loop.
        if self.phrases and not self.phrases.keys().isdisjoint(tokens):  # check phrases only at their starts
            for i in [i for i, t in enumerate(tokens) if t in self.phrases]:
                if i in consumed:
                    continue
                for phrase in self.phrases[tokens[i]]:
                    if tuple(tokens[i : i + len(phrase)]) == phrase:
                        hits.append((" ".join(phrase), len(phrase)))
                        consumed.update(range(i, i + len(phrase)))
                        break
        if consumed:
            hits.extend((t, 1) for i, t in enumerate(tokens) if t in self.words and i not in consumed)
        elif not self.words.isdisjoint(tokens):
            hits.extend((t, 1) for t in tokens if t in self.words)
        return hits

    def view_matches(self, view: TextView) -> list[tuple[str, int]]:
        """``matches`` of every paragraph of a view (the same hits, in another order), with
        one pass over all its tokens instead of one call per paragraph: phrases are tried only
        where the vocabulary says one starts, and must end in the paragraph they start in;
        words are looked up once per distinct token."""
        hits: list[tuple[str, int]] = []
        # CJK substrings: per paragraph, exactly as ``matches`` (most documents have none).
        if self.cjk is not None:
            for p in view.paragraphs:
                if not p.text.isascii() and has_cjk(p.text):
                    hits.extend((m, self.cjk_tokens[m]) for m in self.cjk.findall(p.normalized))
        if cython.compiled:
            _token_matches(self.phrases, self.words, view, _kinds(view, self.start_set, self.word_set), hits)
            return hits
        tokens = view.tokens
        consumed = np.zeros(len(tokens), dtype=bool)
        if self.phrases:
            starts = np.flatnonzero(view.token_values(self.phrases.__contains__))
            paragraph_end = np.cumsum([p.n_words for p in view.paragraphs])[view.token_groups[starts]]
            matched_until = 0  # matches never overlap: a start inside the last one is consumed
            for i, stop in zip(starts.tolist(), paragraph_end.tolist()):
                if i < matched_until:
                    continue
                for phrase in self.phrases[tokens[i]]:
                    end = i + len(phrase)
                    if end <= stop and tuple(tokens[i:end]) == phrase:
                        hits.append((" ".join(phrase), len(phrase)))
                        consumed[i:end] = True
                        matched_until = end
                        break
        words = view.token_values(self.words.__contains__) & ~consumed
        per_word = np.bincount(view.token_ids[words], minlength=len(view.vocab))
        for v in np.flatnonzero(per_word).tolist():
            hits.extend([(view.vocab[v], 1)] * int(per_word[v]))
        return hits

    def count(self, text: str, tokens: list[str] | None = None) -> tuple[int, list[str]]:
        """(matched tokens, matched terms) in one text."""
        hits = self.matches(text, tokens)
        return sum(n for _, n in hits), [term for term, _ in hits]


@lru_cache(maxsize=32)
def matcher(name: str, folder: str | None = None) -> TermMatcher:
    return TermMatcher(load_terms(str(list_path(name, folder))))


class StopWords:
    """English and Chinese stop words counted in one pass per paragraph."""

    def __init__(self, folder: str | None = None) -> None:
        self.en = frozenset(load_terms(str(list_path("stopwords_en", folder))))
        LEXICON.bit(self.en)  # (compiled: a view's tokens are looked up in it as it is made)
        # the alternation regex of the Chinese stop words, longest first (C matches when compiled)
        self.zh = PhraseSet(load_terms(str(list_path("stopwords_zh", folder))))

    def count(self, text: str, tokens: list[str], n_cjk: int) -> int:
        n = sum(map(self.en.__contains__, tokens)) if len(tokens) > n_cjk else 0
        if n_cjk:
            n += self.count_zh(text)
        return n

    def count_view(self, view: TextView) -> list[int]:
        """``count`` of every paragraph of a view; English look-ups once per distinct token."""
        paras = view.paragraphs
        if cython.compiled:
            en = _stop_words_per_paragraph(self.en, view)
        else:
            is_stop = view.token_values(self.en.__contains__)
            en = np.bincount(view.token_groups[is_stop], minlength=len(paras)).tolist()
        # ``count`` of each paragraph: its English stop words are already counted (``en``),
        # also where it has CJK (then without building its token list).
        return [n if not p.n_cjk else (n if p.n_words > p.n_cjk else 0) + self.count_zh(p.text)
                for p, n in zip(paras, en)]

    def count_zh(self, text: str) -> int:
        """Characters of the Chinese stop words in ``text``."""
        return sum(map(len, self.zh.findall(text)))


# -- compiled look-ups -------------------------------------------------------------------------


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _kinds(view: TextView, starts: frozenset, words: frozenset) -> np.ndarray:
    """For each distinct token of a view (compiled only): 1 if a phrase starts with it, | 2 if
    it is a word; from its ``vocab_bits`` where the view has both sets' bits, else looked up."""
    vocab: list = view.vocab
    n_vocab: cython.Py_ssize_t = len(vocab)
    kinds_array = np.zeros(n_vocab, dtype=np.uint8)
    kinds: cython.uchar[:] = kinds_array
    start_bit: cython.int = view.word_bit(starts)
    word_bit: cython.int = view.word_bit(words)
    bits: cython.ulonglong[:]
    v: cython.Py_ssize_t
    if start_bit >= 0 and word_bit >= 0:
        bits = view.vocab_bits
        for v in range(n_vocab):
            kinds[v] = ((bits[v] >> start_bit) & 1) | (((bits[v] >> word_bit) & 1) << 1)
        return kinds_array
    for v in range(n_vocab):
        token = vocab[v]
        if token in starts:
            kinds[v] = 1
        if token in words:
            kinds[v] |= 2
    return kinds_array


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _token_matches(phrases: dict, words: set, view: TextView, kinds_array: np.ndarray, hits: list) -> None:
    """The phrase and word hits of ``TermMatcher.view_matches`` (compiled only): each distinct
    token classed once (``_kinds``), then one pass over the token ids for phrases (tried where
    one starts, ending in its paragraph; compared by id, so the view's token strs are never
    built) and one for words."""
    vocab: list = view.vocab
    ids: cython.longlong[:] = view.token_ids
    n: cython.Py_ssize_t = len(view.token_ids)
    n_vocab: cython.Py_ssize_t = len(vocab)
    kinds: cython.uchar[:] = kinds_array  # 1: a phrase starts with it, 2: a word
    consumed: cython.uchar[:]
    counts_array = np.zeros(n_vocab, dtype=np.int64)
    counts: cython.longlong[:] = counts_array
    groups: cython.longlong[:]
    any_phrase: cython.bint = False
    any_word: cython.bint = False
    matched: cython.bint = False
    i: cython.Py_ssize_t
    k: cython.Py_ssize_t
    end: cython.Py_ssize_t
    v: cython.Py_ssize_t
    matched_until: cython.Py_ssize_t = 0  # matches never overlap: a start inside the last one is consumed
    phrase: tuple
    for v in range(n_vocab):
        any_phrase = any_phrase or kinds[v] & 1
        any_word = any_word or kinds[v] & 2
    if any_phrase:
        consumed = np.zeros(n, dtype=np.uint8)
        groups = view.token_groups
        for i in range(n):
            if kinds[ids[i]] & 1 and i >= matched_until:
                for phrase in phrases[vocab[ids[i]]]:
                    end = i + len(phrase)
                    if end > n or groups[end - 1] != groups[i]:  # (paragraphs are runs of tokens)
                        continue
                    k = 1  # phrase[0] is the token at i
                    while k < end - i and vocab[ids[i + k]] == phrase[k]:
                        k += 1
                    if k == end - i:
                        hits.append((" ".join(phrase), len(phrase)))
                        consumed[i:end] = 1
                        matched = True
                        matched_until = end
                        break
    if not any_word:
        return
    for i in range(n):
        if kinds[ids[i]] & 2 and not (matched and consumed[i]):
            counts[ids[i]] += 1
    for v in range(n_vocab):
        if counts[v]:
            hits.extend([(vocab[v], 1)] * counts[v])


@cython.cfunc
@cython.boundscheck(False)
@cython.wraparound(False)
def _stop_words_per_paragraph(stop_words: frozenset, view: TextView) -> list:
    """English stop words per paragraph of a view (compiled only): each distinct token looked
    up once (its ``vocab_bits`` where the view has the set's bit), then one pass over the
    token ids."""
    vocab: list = view.vocab
    ids: cython.longlong[:] = view.token_ids
    groups: cython.longlong[:] = view.token_groups
    n_vocab: cython.Py_ssize_t = len(vocab)
    is_stop: cython.uchar[:] = np.zeros(n_vocab, dtype=np.uint8)
    counts_array = np.zeros(len(view.paragraphs), dtype=np.int64)
    counts: cython.longlong[:] = counts_array
    bit: cython.int = view.word_bit(stop_words)
    bits: cython.ulonglong[:]
    i: cython.Py_ssize_t
    if bit >= 0:
        bits = view.vocab_bits
        for i in range(n_vocab):
            is_stop[i] = (bits[i] >> bit) & 1
    else:
        for i in range(n_vocab):
            if vocab[i] in stop_words:
                is_stop[i] = 1
    for i in range(len(ids)):
        counts[groups[i]] += is_stop[ids[i]]
    return counts_array.tolist()
