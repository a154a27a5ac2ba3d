"""Gopher quality and repetition rules (Rae et al. 2021, as in MassiveText).

Quality: mean word length (Latin text only), "#"/ellipsis symbols per word, lines that are
bullets or end in an ellipsis, words with a letter, a minimum of stop words. Repetition:
duplicated lines and paragraphs (share of items and of characters), the most frequent 2-, 3-
and 4-gram's share of characters, and the share of characters inside duplicated 5- to
10-grams. n-grams are over tokens, so Chinese repetition is measured on character n-grams.
"""

from __future__ import annotations

from filters.base import DocumentFilter, Verdict, register
from filters.ngrams import gopher_ngram_fractions
from filters.quality import STOPWORD_LANGUAGES, ratio, stopword_counts
from filters.settings import SelectConfig
from filters.text import TextView, line_stats
from schemas import Document

GOPHER_STOP_WORDS = frozenset(["the", "be", "to", "of", "and", "that", "have", "with"])
TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)
# (gopher_ngram_fractions' key, signal name), made once
_NGRAM_SIGNALS = tuple((f"top_{k}", f"gopher.top_{k}gram_chars") for k in TOP_NGRAMS) + \
    tuple((f"dup_{k}", f"gopher.dup_{k}gram_chars") for k in DUP_NGRAMS)


def duplicates(items: list[str], chars: int | None = None) -> tuple[int, int]:
    """(items seen before, their characters): Gopher's duplicate line / paragraph counts.
    ``chars``: the items' characters, when the caller has counted them."""
    distinct = set(items)  # every item beyond the first of its kind is a duplicate
    if chars is None:
        chars = sum(map(len, items))
    return len(items) - len(distinct), chars - sum(map(len, distinct))


@register
class GopherFilter(DocumentFilter):
    name = "gopher@1"

    def tag(self, doc: Document, view: TextView) -> None:
        n_words = view.n_words
        if not n_words:
            return
        text = view.text
        paragraphs = [p.text for p in view.paragraphs]
        n_lines, bullet_lines, ellipsis_lines, line_chars, dup_lines, dup_line_chars = line_stats(paragraphs)
        lengths = view.token_lengths
        n_cjk = view.n_cjk
        n_latin = n_words - n_cjk  # a CJK token is one character
        n_digits = view.n_digit_tokens
        signals = {
            "gopher.symbol_ratio": ratio(text.count("#") + text.count("...") + text.count("…"), n_words),
            "gopher.bullet_lines": ratio(bullet_lines, n_lines),
            "gopher.ellipsis_lines": ratio(ellipsis_lines, n_lines),
            "gopher.alpha_words": ratio(n_words - n_digits, n_words),
        }
        if n_latin * 2 >= n_words:  # word length means nothing for characters
            signals["gopher.mean_word_length"] = ratio(int(lengths.sum()) - n_cjk, n_latin)
        if view.cjk_fraction > 0.5:
            signals["gopher.stop_words"] = float(sum(stopword_counts(view, self.settings.wordlists)))
        else:
            signals["gopher.stop_words"] = float(view.count_in(GOPHER_STOP_WORDS))
        signals["gopher.dup_line_fraction"] = ratio(dup_lines, n_lines)
        signals["gopher.dup_line_chars"] = ratio(dup_line_chars, line_chars)
        chars = sum(map(len, paragraphs))
        n, c = duplicates(paragraphs, chars)
        signals["gopher.dup_paragraph_fraction"] = ratio(n, len(paragraphs))
        signals["gopher.dup_paragraph_chars"] = ratio(c, chars)
        fractions = gopher_ngram_fractions(view.token_ids, lengths, TOP_NGRAMS, DUP_NGRAMS)
        for key, name in _NGRAM_SIGNALS:
            signals[name] = ratio(fractions[key], 1)  # = round(x, 4), in C when compiled
        doc.signals.update(signals)

    def select(self, doc: Document, select: SelectConfig) -> Verdict | None:
        r = select.rules(doc.language)
        checks = [
            self.below(doc, "gopher.mean_word_length", r.min_mean_word_length, "min_mean_word_length"),
            self.above(doc, "gopher.mean_word_length", r.max_mean_word_length, "max_mean_word_length"),
            self.above(doc, "gopher.symbol_ratio", r.max_symbol_ratio, "max_symbol_ratio"),
            self.above(doc, "gopher.bullet_lines", r.max_bullet_lines, "max_bullet_lines"),
            self.above(doc, "gopher.ellipsis_lines", r.max_ellipsis_lines, "max_ellipsis_lines"),
            self.below(doc, "gopher.alpha_words", r.min_alpha_words, "min_alpha_words"),
            self.below(doc, "gopher.stop_words", r.min_stop_words, "min_stop_words")
            if doc.language in STOPWORD_LANGUAGES else None,
            self.above(doc, "gopher.dup_line_fraction", r.max_dup_line_fraction, "max_dup_line_fraction"),
            self.above(doc, "gopher.dup_line_chars", r.max_dup_line_chars, "max_dup_line_chars"),
            self.above(doc, "gopher.dup_paragraph_fraction", r.max_dup_paragraph_fraction, "max_dup_paragraph_fraction"),
            self.above(doc, "gopher.dup_paragraph_chars", r.max_dup_paragraph_chars, "max_dup_paragraph_chars"),
            *(self.above(doc, f"gopher.top_{k}gram_chars", t, f"max_top_{k}gram_chars")
              for k, t in zip(TOP_NGRAMS, r.max_top_ngram_chars)),
            *(self.above(doc, f"gopher.dup_{k}gram_chars", t, f"max_dup_{k}gram_chars")
              for k, t in zip(DUP_NGRAMS, r.max_dup_ngram_chars)),
        ]
        return next((c for c in checks if c is not None), None)
