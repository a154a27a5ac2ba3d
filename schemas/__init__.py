"""Data contracts of interleaf: Document and node types, Arrow schemas, shard sample layouts.

No I/O and no heavy imports here (pyarrow is imported lazily by ``schemas.arrow``)."""

from schemas.document import (
    SCHEMA_VERSION,
    BlockKind,
    Document,
    DocumentKind,
    ImageNode,
    Node,
    TextNode,
    document_id,
)

__all__ = [
    "SCHEMA_VERSION",
    "BlockKind",
    "Document",
    "DocumentKind",
    "ImageNode",
    "Node",
    "TextNode",
    "document_id",
]
