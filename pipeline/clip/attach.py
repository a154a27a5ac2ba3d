"""Scores meet documents when shards are written: each image node gets its CLIP score, best
text and MMC4 placement from the ``scores/`` table (a dict here for the local engine; a
DataFrame join under Spark, see pipeline/shards/spark_join.py)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from schemas import Document, ImageNode
from schemas.arrow import SCORES_SCHEMA

SCORE_COLUMNS = ["doc_id", "image_index", "status", "best_score", "best_text", "best_source",
                 "matched_text_index", "matched_sim", "synthetic_caption", "synthetic_caption_score"]


def attach_scores(doc: Document, rows: Iterable[dict[str, Any]]) -> None:
    """Set the CLIP fields of ``doc``'s image nodes from its score rows (by image index).

    The synthetic caption (clip.capfilt) is set whatever the row's status: an image with no
    web text is ``skipped`` / ``no_text`` yet may have one."""
    by_index = {r["image_index"]: r for r in rows}
    for index, node in enumerate(doc.image_nodes):
        row = by_index.get(index)
        if row is None:
            continue
        if row["status"] == "ok":
            node.clip_score, node.clip_text, node.clip_source = row["best_score"], row["best_text"], row["best_source"]
        node.matched_text_index, node.matched_sim = row["matched_text_index"], row["matched_sim"]
        node.synthetic_caption = row.get("synthetic_caption")
        node.synthetic_caption_score = row.get("synthetic_caption_score")


def load_scores(folder: str | Path) -> dict[str, list[dict[str, Any]]]:
    """doc_id → its score rows (the local engine's lookup; Spark joins instead)."""
    parts = sorted(str(p) for p in Path(folder).glob("part-*.parquet"))
    # The schema: parts written before a column was added read it as null.
    table = ds.dataset(parts, format="parquet", schema=SCORES_SCHEMA).to_table(columns=SCORE_COLUMNS) \
        if parts else None
    out: dict[str, list[dict[str, Any]]] = {}
    for row in table.to_pylist() if table is not None else []:
        out.setdefault(row["doc_id"], []).append(row)
    return out


def text_index_map(before: list[Any], doc: Document) -> dict[int, int]:
    """Old text-node index → new one, after paragraphs were removed from ``doc``."""
    position = {id(node): i for i, node in enumerate(doc.text_nodes)}
    return {old: position[id(node)] for old, node in enumerate(before) if id(node) in position}


def remap_placement(doc: Document, mapping: dict[int, int]) -> None:
    """Keep MMC4 placement pointing at the same text after paragraph removal (None if gone)."""
    for node in doc.image_nodes:
        if node.matched_text_index is not None:
            node.matched_text_index = mapping.get(node.matched_text_index)
            if node.matched_text_index is None:
                node.matched_sim = None


def drop_low_scores(doc: Document, threshold: float) -> list[ImageNode]:
    """Images whose best text scores below ``threshold`` leave the interleaved sample (they
    keep their place, as ``dropped`` with reason ``clip_score``). Unscored images stay."""
    dropped = []
    for node in doc.image_nodes:
        if node.clip_score is not None and node.clip_score < threshold and node.status in (None, "ok"):
            node.status, node.reason, node.image = "dropped", "clip_score", None
            dropped.append(node)
    return dropped
