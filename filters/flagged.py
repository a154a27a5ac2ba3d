"""Flagged content: adult, gambling and spam vocabulary (English and Chinese) per word.

Tag: ``flagged.<category>`` = tokens covered by the category's terms / tokens, over the
title, the text and the images' alt text and captions (spam often shows in the title
first), and ``flagged.<category>_terms`` = the number of matches. English and Chinese lists
both run on every document: spam pages are often mis-identified (a Chinese adult page with
an English body). Select: a document above ``max_flagged_ratio`` with at least
``min_flagged_terms`` matches in a category is dropped with the category as the rule.
"""

from __future__ import annotations

from functools import lru_cache

from filters.base import DocumentFilter, Verdict, register
from filters.settings import SelectConfig
from filters.text import CJK_CHAR, TextView, tokenize
from filters.wordlists import TermMatcher, list_path, load_terms
from schemas import Document

CATEGORIES = ("adult", "gambling", "spam")


@lru_cache(maxsize=4)
def category_matcher(folder: str | None) -> tuple[TermMatcher, dict[str, str]]:
    """One matcher over every category's terms (one pass per text) and term → category
    (a term listed in two categories counts for the first)."""
    category: dict[str, str] = {}
    for c in CATEGORIES:
        for lang in ("en", "zh"):
            for term in load_terms(str(list_path(f"{c}_{lang}", folder))):
                category.setdefault(" ".join(tokenize(term)) if not CJK_CHAR.search(term) else term, c)
    return TermMatcher(tuple(category)), category


@register
class FlaggedFilter(DocumentFilter):
    name = "flagged@1"

    def setup(self) -> None:
        category_matcher(self.settings.wordlists)

    def tag(self, doc: Document, view: TextView) -> None:
        # The title and the images' alt text and captions go to training too (and spam
        # often shows there first).
        # Each is matched on its own (a phrase never spans two), as a paragraph of a view.
        extra = [t for t in (doc.title, *(t for n in doc.image_nodes for t in (n.alt, n.caption))) if t]
        extra_view = TextView.of_texts(extra) if extra else None
        total = view.n_words + (extra_view.n_words if extra_view is not None else 0)
        if not total:
            return
        matcher, category = category_matcher(self.settings.wordlists)
        hits = matcher.view_matches(view)  # the paragraphs, all at once
        if extra_view is not None:
            hits.extend(matcher.view_matches(extra_view))
        tokens_hit = dict.fromkeys(CATEGORIES, 0)
        terms_hit = dict.fromkeys(CATEGORIES, 0)
        for term, n in hits:
            tokens_hit[category[term]] += n
            terms_hit[category[term]] += 1
        for c in CATEGORIES:
            doc.signals[f"flagged.{c}"] = round(tokens_hit[c] / total, 4)
            doc.signals[f"flagged.{c}_terms"] = float(terms_hit[c])

    def select(self, doc: Document, select: SelectConfig) -> Verdict | None:
        rules = select.rules(doc.language)
        for category in CATEGORIES:
            verdict = self.above(doc, f"flagged.{category}", rules.max_flagged_ratio, category)
            # One chance mention in a short text is not enough where the rules ask for more.
            if verdict is not None and doc.signals.get(f"flagged.{category}_terms", 0) >= rules.min_flagged_terms:
                return verdict
        return None
