"""Word lists (stop words, flagged terms) and the one matcher both languages use.

Lists ship in ``filters/wordlists/<name>_<lang>.txt`` (one term per line, ``#`` comments);
``filters.wordlists`` names a folder whose files of the same name replace them. Latin terms
match whole tokens (a phrase: consecutive tokens); CJK terms match substrings, longest
first, without overlap. A match counts its tokens, i.e. its characters for CJK terms, so
English and Chinese ratios share one denominator: the document's tokens.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from filters.text import CJK_CHAR, normalize, tokenize

SHIPPED = Path(__file__).parent / "wordlists"


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
    """Counts the tokens of a text covered by a list's terms."""

    def __init__(self, terms: tuple[str, ...]) -> None:
        cjk = sorted({t for t in terms if CJK_CHAR.search(t)}, key=len, reverse=True)
        self.cjk = re.compile("|".join(map(re.escape, cjk))) if cjk else None
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

    def matches(self, text: str, tokens: list[str]) -> list[tuple[str, int]]:
        """(term, tokens it covers) for every match in one text with its ``tokenize`` tokens."""
        hits: list[tuple[str, int]] = []
        if self.cjk is not None and CJK_CHAR.search(text):
            hits.extend((m, len(m)) for m in self.cjk.findall(normalize(text)))
        if self.phrases:
            i = 0
            while i < len(tokens):
                token = tokens[i]
                for phrase in self.phrases.get(token, ()):
                    if tuple(tokens[i : i + len(phrase)]) == phrase:
                        hits.append((" ".join(phrase), len(phrase)))
                        i += len(phrase)
                        break
                else:
                    if token in self.words:
                        hits.append((token, 1))
                    i += 1
        elif self.words:
            hits.extend((t, 1) for t in tokens if t in self.words)
        return hits

    def count(self, text: str, tokens: list[str]) -> tuple[int, list[str]]:
        """(matched tokens, matched terms) in one text with its ``tokenize`` tokens."""
        hits = self.matches(text, tokens)
        return sum(n for _, n in hits), [term for term, _ in hits]


@lru_cache(maxsize=32)
def matcher(name: str, folder: str | None = None) -> TermMatcher:
    return TermMatcher(load_terms(str(list_path(name, folder))))


class StopWords:
    """English and Chinese stop words counted in one pass per paragraph."""

    def __init__(self, folder: str | None = None) -> None:
        self.en = frozenset(load_terms(str(list_path("stopwords_en", folder))))
        zh = sorted(load_terms(str(list_path("stopwords_zh", folder))), key=len, reverse=True)
        self.zh = re.compile("|".join(map(re.escape, zh)))

    def count(self, text: str, tokens: list[str], n_cjk: int) -> int:
        n = sum(1 for t in tokens if t in self.en) if len(tokens) > n_cjk else 0
        if n_cjk:
            n += sum(len(m) for m in self.zh.findall(text))
        return n
