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
from dataclasses import dataclass, field
from functools import cached_property

from schemas import Document, TextNode

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
SENTENCE_END = re.compile(r"[.!?。！？]+(?=\s|$|[\"'”’）)])|[。！？]")
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
    norm = normalize(text)
    words = _WORD.findall(norm)
    if not CJK_CHAR.search(norm):
        return words, 0
    tokens: list[str] = []
    n_cjk = 0
    for word in words:
        if CJK_CHAR.search(word):
            split = TOKEN.findall(word)
            n_cjk += sum(1 for t in split if CJK_CHAR.match(t))
            tokens.extend(split)
        else:
            tokens.append(word)
    return tokens, n_cjk


# + emoji and pictographs (U+1F000-U+1FFFF; not the CJK extensions above them)
_SPECIAL_RE = re.compile("[" + re.escape("".join(sorted(SPECIAL))) + "\U0001f000-\U0001ffff]")
_PUNCTUATION_RE = re.compile("[" + re.escape("".join(sorted(PUNCTUATION))) + "]")


def count_special(text: str) -> int:
    return len(_SPECIAL_RE.findall(text))


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
        return [t for p in self.paragraphs for t in p.tokens]

    @property
    def n_words(self) -> int:
        return sum(p.n_words for p in self.paragraphs)

    @property
    def n_cjk(self) -> int:
        return sum(p.n_cjk for p in self.paragraphs)

    @property
    def cjk_fraction(self) -> float:
        n = self.n_words
        return self.n_cjk / n if n else 0.0

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines (a list node holds one item per line)."""
        return [line.strip() for p in self.paragraphs for line in p.text.split("\n") if line.strip()]
