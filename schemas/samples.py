"""Shard sample layouts (WebDataset): which files a sample holds and what its JSON says.

``interleaved/``: key = document id; ``json`` = the document (metadata, nodes, signals);
``0.jpg``, ``1.jpg``, ... = the images in node order. An image node names its file in
``"file"`` (null when the image bytes are not in the shard) and its ``image_index``, and
carries ``"ocr"``: ``{"text", "score", "lines": [{"text", "score", "box"}]}`` when OCR read
text in it, else null (always present, so every image node has the same keys), and
``"synthetic_caption"`` / ``"synthetic_caption_score"``: the caption the scoring job's CoCa
model generated when the web text scored low (``clip.capfilt``), else null. A text node
carries its paragraph ``"language"`` (null when not identified).
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from schemas.document import SCHEMA_VERSION, Document, ImageNode, TextNode

# Image nodes carry these in JSON; the bytes live in their own tar member.
_IMAGE_JSON_FIELDS = ("url", "alt", "caption", "width", "height", "position", "image_mime", "image_source",
                      "status", "reason", "clip_score", "clip_text", "clip_source", "matched_text_index",
                      "matched_sim", "synthetic_caption", "synthetic_caption_score")
# The ImageNode fields behind the "ocr" object.
_OCR_FIELDS = ("ocr_text", "ocr_score", "ocr_lines")
# Document fields not copied into the sample JSON (bytes, or the nodes written separately).
_SKIP_DOC_FIELDS = {"nodes", "source"}


def image_file_name(image_index: int, ext: str = "jpg") -> str:
    return f"{image_index}.{ext}"


def dump_ocr_lines(lines: list[dict[str, Any]]) -> str:
    """The canonical JSON string of OCR lines (``ImageNode.ocr_lines``): compact, sorted keys,
    so a sample's lines parsed and dumped again give the same string."""
    return json.dumps(lines, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def ocr_json(node: ImageNode) -> dict[str, Any] | None:
    """The ``"ocr"`` object of an image (shard JSON), or None when it has no annotation."""
    if node.ocr_text is None:
        return None
    return {"text": node.ocr_text, "score": node.ocr_score, "lines": json.loads(node.ocr_lines or "[]")}


def _ocr_fields(ocr: dict[str, Any] | None) -> dict[str, Any]:
    if ocr is None:
        return dict.fromkeys(_OCR_FIELDS)
    return {"ocr_text": ocr["text"], "ocr_score": ocr["score"], "ocr_lines": dump_ocr_lines(ocr["lines"])}


def interleaved_json(doc: Document, image_files: dict[int, str]) -> dict[str, Any]:
    """JSON of an interleaved sample. ``image_files`` maps node position → tar member ext."""
    meta = {f.name: getattr(doc, f.name) for f in fields(doc) if f.name not in _SKIP_DOC_FIELDS}
    meta["signals"] = dict(sorted(doc.signals.items()))
    nodes: list[dict[str, Any]] = []
    image_index = 0
    for i, node in enumerate(doc.nodes):
        if isinstance(node, TextNode):
            nodes.append({"type": "text", "kind": node.kind, "text": node.text, "language": node.language})
            continue
        entry: dict[str, Any] = {"type": "image", "image_index": image_index}
        entry.update({k: getattr(node, k) for k in _IMAGE_JSON_FIELDS})
        entry["position"] = i
        entry["file"] = image_files.get(i)
        entry["ocr"] = ocr_json(node)
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
            nodes.append(TextNode(text=n["text"], kind=n["kind"], language=n.get("language")))
        else:
            image = files.get(n["file"]) if n.get("file") else None
            nodes.append(ImageNode(image=image, **{k: n.get(k) for k in _IMAGE_JSON_FIELDS},
                                   **_ocr_fields(n.get("ocr"))))
    names = {f.name for f in fields(Document)} - _SKIP_DOC_FIELDS
    doc = Document(**{k: v for k, v in sample_json.items() if k in names})
    doc.nodes = nodes
    return doc
