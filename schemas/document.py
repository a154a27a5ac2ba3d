"""The Document contract: one web page (or PDF) as an ordered list of text and image nodes.

Plain dataclasses with no dependencies, so every stage, test and export can use them. The
Arrow schema (schemas/arrow.py) and the shard JSON layout (schemas/samples.py) are derived
from these classes; ``to_row`` / ``from_row`` are the only conversion points.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, Union

# Bump the minor part for additive changes, the major part when a reader must change.
# 1.1: image nodes carry status / reason; 1.2: text nodes carry language / signals;
# 1.3: image nodes carry their CLIP score, best text and MMC4 placement; 1.4: image nodes
# carry the text OCR read in them (ocr_text / ocr_score / ocr_lines), and text nodes their
# language in the shard JSON.
SCHEMA_VERSION = "1.4"


class BlockKind(str, Enum):
    """What kind of HTML block a text node came from."""

    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST = "list"
    TABLE = "table"
    CAPTION = "caption"
    QUOTE = "quote"
    CODE = "code"


class DocumentKind(str, Enum):
    HTML = "html"
    PDF = "pdf"  # set aside by extraction for the OCR stage; carries its bytes in ``source``


@dataclass
class TextNode:
    """A paragraph-level block of main text."""

    text: str
    kind: str = BlockKind.PARAGRAPH.value
    # Written by the text filters (filters/): the paragraph's own language and its
    # paragraph-level signals, so thresholds can be applied later without re-tagging.
    language: str | None = None
    signals: dict[str, float] = field(default_factory=dict)
    type: str = field(default="text", init=False)


@dataclass
class ImageNode:
    """An image at its place in the text.

    ``url`` is absolute. ``width`` / ``height`` are the hints written in the HTML (attributes
    or inline style), not the decoded size. ``position`` is the node's index in the document.
    ``image`` holds the bytes when they are known (archived in the WARC or downloaded).
    """

    url: str
    alt: str | None = None
    caption: str | None = None
    width: int | None = None
    height: int | None = None
    position: int = -1
    image: bytes | None = None
    image_mime: str | None = None
    image_source: str | None = None  # "warc" | "download"
    # Set by the images stage: "ok", "failed" or "dropped", with the reason when not ok.
    # An image that did not make it keeps its place, so users can audit why.
    status: str | None = None
    reason: str | None = None
    # Set from the scores/ table when shards are written: the best candidate text and its
    # CLIP score, and the MMC4 placement (index into the document's text nodes).
    clip_score: float | None = None
    clip_text: str | None = None
    clip_source: str | None = None
    matched_text_index: int | None = None
    matched_sim: float | None = None
    # Set from the image_ocr/ table when shards are written (image_ocr.enabled): the text read
    # in the image (lines joined by newlines, reading order), the mean line confidence, and
    # the lines as JSON ([{"text", "score", "box"}], box in the stored image's pixels).
    ocr_text: str | None = None
    ocr_score: float | None = None
    ocr_lines: str | None = None
    type: str = field(default="image", init=False)


Node = Union[TextNode, ImageNode]

# Arrow stores nodes as one struct with the union of both node types' fields.
NODE_FIELDS: tuple[str, ...] = (
    "type",
    "kind",
    "text",
    "url",
    "alt",
    "caption",
    "width",
    "height",
    "position",
    "image",
    "image_mime",
    "image_source",
    "status",
    "reason",
    "language",
    "signals",
    "clip_score",
    "clip_text",
    "clip_source",
    "matched_text_index",
    "matched_sim",
    "ocr_text",
    "ocr_score",
    "ocr_lines",
)


def document_id(url: str, record_id: str) -> str:
    """Stable id of a document: the same WARC record always gets the same id."""
    return hashlib.sha1(f"{record_id}\0{url}".encode("utf-8")).hexdigest()[:24]


@dataclass
class Document:
    """A page: metadata plus ordered nodes. ``signals`` is where filters and scorers write."""

    doc_id: str
    url: str
    kind: str = DocumentKind.HTML.value
    nodes: list[Node] = field(default_factory=list)
    title: str | None = None
    date: str | None = None  # publication date found in the page, ISO 8601
    warc_file: str | None = None
    warc_record_id: str | None = None
    warc_offset: int | None = None
    fetch_date: str | None = None  # WARC-Date, ISO 8601
    http_status: int | None = None
    content_type: str | None = None
    charset: str | None = None
    language: str | None = None
    language_score: float | None = None
    signals: dict[str, float] = field(default_factory=dict)
    source: bytes | None = None  # raw payload, kept only for documents set aside (PDF)

    # -- views -------------------------------------------------------------------------
    @property
    def text_nodes(self) -> list[TextNode]:
        return [n for n in self.nodes if isinstance(n, TextNode)]

    @property
    def image_nodes(self) -> list[ImageNode]:
        return [n for n in self.nodes if isinstance(n, ImageNode)]

    @property
    def text(self) -> str:
        return "\n\n".join(n.text for n in self.text_nodes)

    def renumber(self) -> None:
        """Set every image node's ``position`` to its index; call after editing nodes."""
        for i, node in enumerate(self.nodes):
            if isinstance(node, ImageNode):
                node.position = i

    # -- rows (the Arrow / parquet / Spark representation) --------------------------------
    def to_row(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "nodes"}
        row["nodes"] = [node_to_row(n) for n in self.nodes]
        row["signals"] = dict(sorted(self.signals.items()))
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Document":
        values = {f.name: row.get(f.name) for f in fields(cls) if f.name != "nodes"}
        values["signals"] = _signals(values.get("signals"))
        values["nodes"] = [node_from_row(n) for n in row.get("nodes") or []]
        if values.get("source") is not None:
            values["source"] = bytes(values["source"])
        return cls(**values)


def node_to_row(node: Node) -> dict[str, Any]:
    row = dict.fromkeys(NODE_FIELDS)
    row.update({f.name: getattr(node, f.name) for f in fields(node)})
    if isinstance(node, TextNode):
        row["signals"] = dict(sorted(node.signals.items())) if node.signals else None
    return row


def _signals(value: Any) -> dict[str, float]:
    # Arrow maps come back as lists of (key, value) pairs, Spark rows as dicts.
    if not value:
        return {}
    return dict(value.items() if isinstance(value, dict) else value)


def node_from_row(row: dict[str, Any]) -> Node:
    if row["type"] == "text":
        return TextNode(text=row["text"], kind=row["kind"], language=row.get("language"),
                        signals=_signals(row.get("signals")))
    if row["type"] == "image":
        image = row.get("image")
        return ImageNode(
            url=row["url"],
            alt=row.get("alt"),
            caption=row.get("caption"),
            width=row.get("width"),
            height=row.get("height"),
            position=row.get("position", -1),
            image=bytes(image) if image is not None else None,
            image_mime=row.get("image_mime"),
            image_source=row.get("image_source"),
            status=row.get("status"),
            reason=row.get("reason"),
            clip_score=row.get("clip_score"),
            clip_text=row.get("clip_text"),
            clip_source=row.get("clip_source"),
            matched_text_index=row.get("matched_text_index"),
            matched_sim=row.get("matched_sim"),
            ocr_text=row.get("ocr_text"),
            ocr_score=row.get("ocr_score"),
            ocr_lines=row.get("ocr_lines"),
        )
    raise ValueError(f"unknown node type {row['type']!r}")
