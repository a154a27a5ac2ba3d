"""The filter chain as a Stage of the extract task: tag every document, and drop at once
for the filters listed in ``filters.drop`` (the others are selected at write time)."""

from __future__ import annotations

from typing import Any, Iterator

from filters.chain import FilterChain
from filters.settings import FiltersConfig, SelectConfig
from pipeline.exclusions import Dropped, exclusion_row
from pipeline.stage import Stage
from schemas import Document, DocumentKind


class FilterStage(Stage):
    name = "filters"

    def __init__(self, settings: FiltersConfig, select: SelectConfig) -> None:
        super().__init__({"filters": settings, "select": select})
        self.chain = FilterChain(settings)
        self.select = select
        self.exclusions: list[dict[str, Any]] = []  # rows of documents dropped here

    def setup(self) -> None:
        self.chain.setup()

    def process(self, docs: Iterator[Document]) -> Iterator[Document]:
        drop = self.chain.settings.drop
        for doc in docs:
            self.stats.n_in += 1
            self.chain.tag(doc)
            if drop and doc.kind == DocumentKind.HTML.value:  # PDFs are judged by the OCR stage
                selection = self.chain.select(doc, self.select, only=drop)
                for verdict in selection.removed.values():
                    self.stats.count(f"paragraphs_removed:{verdict.reason}")
                if not selection.kept:
                    assert selection.verdict is not None
                    self.stats.drop(selection.verdict.reason)
                    self.exclusions.append(exclusion_row(Dropped(doc, selection.verdict.reason, selection.verdict),
                                                         "extract"))
                    continue
            self.stats.n_out += 1
            yield doc
