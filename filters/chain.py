"""The filter chain: tag every document once at extraction, select it from thresholds later.

``FilterChain.tag`` tokenises a document once (``TextView``) and lets each enabled filter
write its signals. ``FilterChain.select`` applies the ``select`` thresholds in filter order:
the first failing document rule drops the document; otherwise the paragraphs some filter
rejects are removed (images keep their places) and a document left without text is dropped.
Selection reads signals only, so it is cheap and needs no models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Importing the modules registers their filters.
from filters import blocklist, c4, classifier, flagged, gopher, interleaved, language, quality  # noqa: F401
from filters.base import FILTERS, DocumentFilter, Verdict
from filters.settings import FiltersConfig, SelectConfig
from filters.text import TextView
from schemas import Document, DocumentKind, TextNode

NO_TEXT_LEFT = Verdict("paragraphs@1", "no_text_left")


@dataclass
class Selection:
    verdict: Verdict | None = None  # why the document is dropped, or None when kept
    removed: dict[int, Verdict] = field(default_factory=dict)  # original node index → why removed

    @property
    def kept(self) -> bool:
        return self.verdict is None


def check_names(names: Iterable[str]) -> list[str]:
    names = list(names)
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise ValueError(f"unknown filters {unknown}; known: {sorted(FILTERS)}")
    return names


class FilterChain:
    def __init__(self, settings: FiltersConfig, names: Iterable[str] | None = None) -> None:
        self.settings = settings
        self.filters: list[DocumentFilter] = [FILTERS[n](settings) for n in check_names(names or settings.enabled)]

    def setup(self) -> None:
        for f in self.filters:
            f.setup()

    def tag(self, doc: Document) -> None:
        if doc.kind != DocumentKind.HTML.value:
            return
        view = TextView.of(doc)
        for f in self.filters:
            f.tag(doc, view)

    def select(self, doc: Document, select: SelectConfig, only: Iterable[str] | None = None) -> Selection:
        """Judge ``doc``; when kept, rejected paragraphs are removed from it in place."""
        filters = self.filters if only is None else [f for f in self.filters if f.name in set(only)]
        for f in filters:
            verdict = f.select(doc, select)
            if verdict is not None:
                return Selection(verdict)
        removed: dict[int, Verdict] = {}
        for f in filters:
            for index, verdict in f.paragraphs(doc, select).items():
                removed.setdefault(index, verdict)
        if removed:
            doc.nodes = [n for i, n in enumerate(doc.nodes) if i not in removed]
            doc.renumber()
            if not any(isinstance(n, TextNode) for n in doc.nodes):
                return Selection(NO_TEXT_LEFT, removed)
        return Selection(None, removed)
