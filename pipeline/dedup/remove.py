"""The remove step of document dedup, applied while shards are written.

A document the find step dropped leaves with ``dedup:<reason>``; paragraphs it marked are
taken out of the document (images keep their order around the remaining text). A document
left without text is dropped as ``dedup:all_paragraphs_removed``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds

from pipeline.dedup.find import DOCUMENTS, PARAGRAPHS
from schemas import Document, TextNode


def apply_dedup(doc: Document, reason: str | None, paragraphs: set[int] | frozenset[int]) -> Document | str:
    if reason is not None:
        return f"dedup:{reason}"
    if paragraphs:
        doc.nodes = [n for i, n in enumerate(doc.nodes) if i not in paragraphs]
        doc.renumber()
        doc.signals["paragraphs_removed"] = float(len(paragraphs))
        if not any(isinstance(n, TextNode) for n in doc.nodes):
            return "dedup:all_paragraphs_removed"
    return doc


class DedupTables:
    """The dedup tables in memory, for the local engine (Spark joins them instead)."""

    def __init__(self, dedup_dir: str | Path) -> None:
        folder = Path(dedup_dir)
        docs = ds.dataset(folder / DOCUMENTS, format="parquet").to_table(columns=["doc_id", "kept", "reason"])
        self.dropped = {r["doc_id"]: r["reason"] for r in docs.to_pylist() if not r["kept"]}
        self.paragraphs: dict[str, set[int]] = {}
        table = ds.dataset(folder / PARAGRAPHS, format="parquet").to_table(columns=["doc_id", "node_index"])
        for r in table.to_pylist():
            self.paragraphs.setdefault(r["doc_id"], set()).add(r["node_index"])

    def apply(self, doc: Document) -> Document | str:
        return apply_dedup(doc, self.dropped.get(doc.doc_id), self.paragraphs.get(doc.doc_id, frozenset()))
