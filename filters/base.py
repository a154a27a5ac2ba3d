"""The text-filter contract: tag a document with signals, select it from thresholds later.

A filter is registered under a versioned name (``quality@1``): changing what it measures
means a new version, so recorded signals stay explainable. ``tag`` writes numbers into
``doc.signals`` (and paragraph-level ones into ``node.signals``) and never drops; ``select``
reads only those signals and the thresholds, and returns a ``Verdict`` naming the rule, the
signal, its value and the threshold, or None. ``paragraphs`` returns the paragraph verdicts
(node index → Verdict) for paragraphs to remove while the document stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from filters.settings import FiltersConfig, SelectConfig
from filters.text import TextView
from schemas import Document, TextNode


@dataclass(frozen=True)
class Verdict:
    filter: str  # registry name, e.g. "quality@1"
    rule: str  # e.g. "min_stopword_ratio"
    signal: str | None = None  # the signal key read
    value: float | None = None
    threshold: float | str | None = None

    @property
    def reason(self) -> str:
        """The drop reason counted in manifests: "<filter family>:<rule>"."""
        return f"{self.filter.split('@')[0]}:{self.rule}"


class DocumentFilter:
    name: ClassVar[str] = "filter@0"

    def __init__(self, settings: FiltersConfig) -> None:
        self.settings = settings

    def setup(self) -> None:
        """Load word lists and models (once per Python worker)."""

    def tag(self, doc: Document, view: TextView) -> None:
        raise NotImplementedError

    def select(self, doc: Document, select: SelectConfig) -> Verdict | None:
        return None

    def paragraphs(self, doc: Document, select: SelectConfig) -> dict[int, Verdict]:
        return {}

    # -- helpers for the rules ---------------------------------------------------------------
    def below(self, doc: Document, signal: str, threshold: float, rule: str) -> Verdict | None:
        value = doc.signals.get(signal)
        if value is not None and value < threshold:
            return Verdict(self.name, rule, signal, value, threshold)
        return None

    def above(self, doc: Document, signal: str, threshold: float, rule: str) -> Verdict | None:
        value = doc.signals.get(signal)
        if value is not None and value > threshold:
            return Verdict(self.name, rule, signal, value, threshold)
        return None


def judged_paragraphs(doc: Document, select: SelectConfig) -> list[tuple[int, TextNode]]:
    """The text nodes paragraph rules apply to (kinds in ``select.paragraph_kinds``)."""
    kinds = set(select.paragraph_kinds)
    return [(i, n) for i, n in enumerate(doc.nodes) if isinstance(n, TextNode) and n.kind in kinds]


FILTERS: dict[str, type[DocumentFilter]] = {}


def register(cls: type[DocumentFilter]) -> type[DocumentFilter]:
    if cls.name in FILTERS:
        raise ValueError(f"filter {cls.name} registered twice")
    FILTERS[cls.name] = cls
    return cls
