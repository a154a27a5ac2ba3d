"""Put the images stage's results on the documents' image nodes before shards are written.

Each image node gets ``status`` / ``reason`` and, when ok, the normalised bytes. An image
whose cluster (exact or perceptual duplicates) appears in too many documents is dropped as
``repeated_image`` (logos, ads); a second image of the same cluster in one document is
dropped as ``repeat_in_document``. Nodes keep their place either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pyarrow.parquet as pq

from schemas import Document

# Columns of images/ (and of its dedup side table) the writer needs.
IMAGE_COLUMNS = ("url", "status", "reason", "source", "image", "format")
DEDUP_COLUMNS = ("url", "cluster", "repeated")


def clusters_path(images_dir: str | Path) -> Path:
    """The dedup side table, in its own folder next to images/: Spark skips files whose
    name starts with '_', and a second schema inside images/ would break reading it."""
    return Path(images_dir).parent / "images_dedup" / "clusters.parquet"


def attach_fetched(doc: Document, lookup: Mapping[str, dict[str, Any]]) -> None:
    seen: set[str] = set()
    for node in doc.image_nodes:
        row = lookup.get(node.url)
        node.image = None  # raw archived bytes are replaced by the normalised ones below
        if row is None:
            node.status, node.reason = "failed", "not_fetched"
            continue
        node.status, node.reason = row["status"], row["reason"]
        node.image_source = row["source"]
        if row["status"] != "ok":
            continue
        cluster = row.get("cluster") or row["url"]
        if row.get("repeated"):
            node.status, node.reason = "dropped", "repeated_image"
        elif cluster in seen:
            node.status, node.reason = "dropped", "repeat_in_document"
        else:
            seen.add(cluster)
            node.image = row["image"]
            node.image_mime = f"image/{row['format']}"


def load_image_table(images_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The whole images/ table (with dedup columns) as a dict: for local runs only."""
    folder = Path(images_dir)
    rows: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("bucket-*.parquet")):
        for row in pq.read_table(path, columns=list(IMAGE_COLUMNS)).to_pylist():
            rows[row["url"]] = row
    dedup = clusters_path(folder)
    if dedup.exists():
        for row in pq.read_table(dedup, columns=list(DEDUP_COLUMNS)).to_pylist():
            if row["url"] in rows:
                rows[row["url"]].update(cluster=row["cluster"], repeated=row["repeated"])
    return rows
