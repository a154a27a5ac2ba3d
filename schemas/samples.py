"""Shard sample layouts (WebDataset): which files a sample holds and what its JSON says.

``interleaved/``: key = document id; ``json`` = the document (metadata, nodes, signals);
``0.jpg``, ``1.jpg``, ... = the images in node order. An image node names its file in
``"file"`` (null when the image bytes are not in the shard) and its ``image_index``.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from schemas.document import SCHEMA_VERSION, Document, ImageNode, TextNode

# Image nodes carry these in JSON; the bytes live in their own tar member.
_IMAGE_JSON_FIELDS = ("url", "alt", "caption", "width", "height", "position", "image_mime", "image_source",
                      "status", "reason", "clip_score", "clip_text", "clip_source", "matched_text_index",
                      "matched_sim")
# Document fields not copied into the sample JSON (bytes, or the nodes written separately).
_SKIP_DOC_FIELDS = {"nodes", "source"}


def image_file_name(image_index: int, ext: str = "jpg") -> str:
    return f"{image_index}.{ext}"


def interleaved_json(doc: Document, image_files: dict[int, str]) -> dict[str, Any]:
    """JSON of an interleaved sample. ``image_files`` maps node position → tar member ext."""
    meta = {f.name: getattr(doc, f.name) for f in fields(doc) if f.name not in _SKIP_DOC_FIELDS}
    meta["signals"] = dict(sorted(doc.signals.items()))
    nodes: list[dict[str, Any]] = []
    image_index = 0
    for i, node in enumerate(doc.nodes):
        if isinstance(node, TextNode):
            nodes.append({"type": "text", "kind": node.kind, "text": node.text})
            continue
        entry: dict[str, Any] = {"type": "image", "image_index": image_index}
        entry.update({k: getattr(node, k) for k in _IMAGE_JSON_FIELDS})
        entry["position"] = i
        entry["file"] = image_files.get(i)
        nodes.append(entry)
        image_index += 1
    return {"schema_version": SCHEMA_VERSION, **meta, "nodes": nodes}


def interleaved_json_bytes(doc: Document, image_files: dict[int, str]) -> bytes:
    return json.dumps(interleaved_json(doc, image_files), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def document_from_sample(sample_json: dict[str, Any], files: dict[str, bytes] | None = None) -> Document:
    """Rebuild a Document from a shard sample (image bytes from ``files`` when given)."""
    files = files or {}
    nodes: list[TextNode | ImageNode] = []
    for n in sample_json["nodes"]:
        if n["type"] == "text":
            nodes.append(TextNode(text=n["text"], kind=n["kind"]))
        else:
            image = files.get(n["file"]) if n.get("file") else None
            nodes.append(ImageNode(image=image, **{k: n.get(k) for k in _IMAGE_JSON_FIELDS}))
    names = {f.name for f in fields(Document)} - _SKIP_DOC_FIELDS
    doc = Document(**{k: v for k, v in sample_json.items() if k in names})
    doc.nodes = nodes
    return doc
