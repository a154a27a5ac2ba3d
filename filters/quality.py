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

from filters.base import DocumentFilter, Verdict, judged_paragraphs, register
from filters.ngrams import char_ids, ngram_hashes, repetition_of, token_ids
from filters.settings import SelectConfig
from filters.text import TextView
from filters.wordlists import StopWords
from schemas import Document

STOPWORD_LANGUAGES = ("en", "zh")
CHAR_NGRAM, WORD_NGRAM = 10, 5


@lru_cache(maxsize=8)
def stopwords(folder: str | None) -> StopWords:
    return StopWords(folder)


def stopword_counts(view: TextView, folder: str | None) -> list[int]:
    """Stop words per paragraph, computed once per document and shared (Gopher uses it too)."""
    if "stopwords" not in view.shared:
        sw = stopwords(folder)
        view.shared["stopwords"] = [sw.count(p.text, p.tokens, p.n_cjk) for p in view.paragraphs]
    return view.shared["stopwords"]  # type: ignore[return-value]


def ratio(num: float, den: float) -> float:
    """num / den rounded to 4 places (signals stay short and stable), 0 for an empty den."""
    return round(num / den, 4) if den else 0.0


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
        # Characters and tokens of all paragraphs in one array each, hashed once, then grouped
        # by paragraph and as one document.
        chars = char_ids("".join(texts))
        char_hashes = ngram_hashes(chars, CHAR_NGRAM)
        token_hashes = ngram_hashes(token_ids(view.tokens), WORD_NGRAM)
        char_groups = np.repeat(np.arange(len(paras)), [len(t) for t in texts])
        tok_groups = np.repeat(np.arange(len(paras)), sizes)
        char_rep = repetition_of(char_hashes, char_groups, len(paras), CHAR_NGRAM)[0]
        word_rep = repetition_of(token_hashes, tok_groups, len(paras), WORD_NGRAM)[1]
        for i, p in enumerate(paras):
            p.node.signals.update({
                "words": float(sizes[i]),
                "stopword_ratio": ratio(stop[i], sizes[i]),
                "special_ratio": ratio(p.n_special, len(texts[i])),
                "char_repetition": round(float(char_rep[i]), 4),
                "word_repetition": round(float(word_rep[i]), 4),
            })
        words = sum(sizes)
        doc.signals.update({
            "quality.words": float(words),
            "quality.stopword_ratio": ratio(sum(stop), words),
            "quality.special_ratio": ratio(sum(p.n_special for p in paras), len(chars)),
            "quality.punctuation_ratio": ratio(sum(p.n_punctuation for p in paras), words),
            "quality.char_repetition": round(float(repetition_of(
                char_hashes, np.zeros(len(chars), dtype=np.int64), 1, CHAR_NGRAM)[0][0]), 4),
            "quality.word_repetition": round(float(repetition_of(
                token_hashes, np.zeros(len(view.tokens), dtype=np.int64), 1, WORD_NGRAM)[1][0]), 4),
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
