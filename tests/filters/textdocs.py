"""Helpers shared by the filter tests: documents from strings and nodes, one registered filter's
tag, and generators of made-up text that holds no stop word and no flagged term.

Crafted texts are made of distinct made-up words (or, for Chinese, distinct Han characters that
are in no word list), so the only stop words, punctuation and repetition in a text are the ones a
test puts there.
"""

from __future__ import annotations

import random
import string

import filters.chain  # noqa: F401  (registers every filter)
from filters.base import FILTERS
from filters.settings import FiltersConfig
from filters.text import TextView
from filters.wordlists import list_path, load_terms
from schemas import Document, TextNode


def make_doc(*nodes, language: str | None = "en", score: float | None = 0.99, title: str | None = None,
             url: str = "https://example.com/a") -> Document:
    """A document of ``nodes`` (a string becomes a paragraph), images numbered."""
    doc = Document("d", url, nodes=[TextNode(n) if isinstance(n, str) else n for n in nodes], title=title,
                   language=language, language_score=score)
    doc.renumber()
    return doc


def tag_with(name: str, doc: Document, settings: FiltersConfig | None = None) -> dict[str, float]:
    """Tag ``doc`` with the registered filter ``name`` (set up first); returns the signals."""
    f = FILTERS[name](settings or FiltersConfig())
    f.setup()
    f.tag(doc, TextView.of(doc))
    return doc.signals


# -- made-up text ----------------------------------------------------------------------------------

def _terms(*names: str) -> set[str]:
    return {t for n in names for t in load_terms(str(list_path(n)))}


EN_EXCLUDED = _terms("stopwords_en", "adult_en", "gambling_en", "spam_en")
ZH_EXCLUDED = {c for t in _terms("stopwords_zh", "adult_zh", "gambling_zh", "spam_zh") for c in t}


class Words:
    """Distinct made-up lowercase words, none of them a stop word or a flagged term; ``length``
    letters unless a call asks for another length."""

    def __init__(self, seed: int = 0, length: int = 7) -> None:
        self.rng, self.length, self.used = random.Random(seed), length, set()

    def __call__(self, length: int | None = None) -> str:
        while True:
            word = "".join(self.rng.choice(string.ascii_lowercase) for _ in range(self.length if length is None else length))
            if word not in self.used and word not in EN_EXCLUDED:
                self.used.add(word)
                return word


class Hanzi:
    """Distinct Han characters that occur in no stop-word or flagged list."""

    def __init__(self, seed: int = 0) -> None:
        self.pool = [chr(c) for c in range(0x4E00, 0x9FA6) if chr(c) not in ZH_EXCLUDED]
        random.Random(seed).shuffle(self.pool)

    def __call__(self, n: int = 1) -> str:
        return "".join(self.pool.pop() for _ in range(n))
