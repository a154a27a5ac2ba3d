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
from filters.ngrams import char_ids, grouped_and_whole_repetition, ngram_hashes
from filters.settings import SelectConfig
from filters.text import TextView, char_classes
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
        view.shared["stopwords"] = stopwords(folder).count_view(view)
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
        char_sizes = list(map(len, texts))
        # Characters and tokens of all paragraphs in one array each, hashed once; one sort per
        # array gives the repetition of every paragraph and of the whole document. Special
        # characters and punctuation are counted on the same character array.
        chars = char_ids("".join(texts))
        char_groups = np.repeat(np.arange(len(paras)), char_sizes)
        special, punctuation = char_classes(chars)
        n_special = np.bincount(char_groups[special], minlength=len(paras)).tolist()
        char_rep, _, doc_char_rep, _ = grouped_and_whole_repetition(
            ngram_hashes(chars, CHAR_NGRAM), char_groups, len(paras), CHAR_NGRAM)
        _, word_rep, _, doc_word_rep = grouped_and_whole_repetition(
            ngram_hashes(view.token_ids, WORD_NGRAM), view.token_groups, len(paras), WORD_NGRAM)
        char_rep, word_rep = char_rep.tolist(), word_rep.tolist()
        for i, p in enumerate(paras):
            p.node.signals.update({
                "words": float(sizes[i]),
                "stopword_ratio": ratio(stop[i], sizes[i]),
                "special_ratio": ratio(n_special[i], char_sizes[i]),
                "char_repetition": round(char_rep[i], 4),
                "word_repetition": round(word_rep[i], 4),
            })
        words = sum(sizes)
        doc.signals.update({
            "quality.words": float(words),
            "quality.stopword_ratio": ratio(sum(stop), words),
            "quality.special_ratio": ratio(int(np.count_nonzero(special)), len(chars)),
            "quality.punctuation_ratio": ratio(int(np.count_nonzero(punctuation)), words),
            "quality.char_repetition": round(doc_char_rep, 4),
            "quality.word_repetition": round(doc_word_rep, 4),
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
