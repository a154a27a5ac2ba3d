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
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han (ext. A, unified, compatibility)
    "\uac00-\ud7af"  # hangul syllables
    "\U00020000-\U0002fa1f"  # Han ext. B-F, compatibility supplement
)
TOKEN = re.compile(rf"[{CJK_RANGES}]|[^\W_{CJK_RANGES}]+(?:['’][^\W_{CJK_RANGES}]+)*")
CJK_CHAR = re.compile(rf"[{CJK_RANGES}]")

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
    """NFKC + lower case: full-width ＡＢＣ and compatibility forms match their plain terms."""
    return unicodedata.normalize("NFKC", text).lower()


def tokenize(text: str) -> list[str]:
    """Lower-case tokens: Latin/Cyrillic/... words and single CJK characters."""
    return TOKEN.findall(normalize(text))


_SPECIAL_RE = re.compile("[" + re.escape("".join(sorted(SPECIAL))) + "\U0001f000-\U0010ffff]")  # + emoji
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
                tokens = tokenize(node.text)
                n_cjk = len(CJK_CHAR.findall(node.text))
                paragraphs.append(ParagraphView(i, node, tokens, n_cjk))
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
