"""Image dedup over the whole corpus: exact and perceptual clusters, repeats, identical sets.

- exact: images with the same decoded pixels (``pixel_sha256``) are one cluster;
- perceptual: pHashes within ``images.phash_distance`` bits are linked. Candidates come from
  LSH on pHash bands (distance + 1 bands: by pigeonhole two hashes that close share a band),
  so no all-pairs comparison; clusters are the connected components (union-find);
- a cluster used by more than ``images.max_docs_per_image`` documents is marked ``repeated``
  (logos, ads, buttons) and dropped from shards;
- documents whose set of image clusters equals an earlier document's are flagged for the
  document dedup stage.

Written to ``images_dedup/clusters.parquet`` (url, cluster, n_docs, repeated, match) and
``images_dedup/doc_image_sets.parquet`` (doc_id, image_set, duplicate_of).

Works on the table's small columns only (no image bytes). The cluster id is the smallest URL
of the cluster, so results do not depend on input order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.images.attach import clusters_path
from pipeline.images.phash import hamming, phash_bands
from pipeline.outputs import atomic_write_bytes
from pipeline.stats import StageStats

STAGE = "image_dedup"
DOC_SETS_FILE = "doc_image_sets.parquet"  # beside clusters.parquet in images_dedup/
# Comparisons per LSH bucket are capped: degenerate hashes (flat images) would otherwise
# make one bucket quadratic. Members past the cap are still linked by their other bands.
MAX_BUCKET = 64
DEDUP_SCHEMA = pa.schema([("url", pa.string()), ("cluster", pa.string()), ("n_docs", pa.int64()),
                          ("repeated", pa.bool_()), ("match", pa.string())])
DOC_SETS_SCHEMA = pa.schema([("doc_id", pa.string()), ("image_set", pa.string()),
                             ("duplicate_of", pa.string())])


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller URL is the root: the cluster id is its smallest member.
            self.parent[max(ra, rb)] = min(ra, rb)


def cluster_images(images: Iterable[tuple[str, str | None, int | None]], distance: int) -> tuple[dict[str, str], dict[str, str]]:
    """url → cluster id for (url, pixel_sha256, phash) of ok images, and how each was matched."""
    uf = UnionFind()
    match: dict[str, str] = {}
    by_pixels: dict[str, str] = {}
    buckets: dict[tuple[int, int], list[tuple[str, int]]] = defaultdict(list)
    bands = distance + 1
    for url, pixels, ph in sorted(images):
        uf.find(url)
        if pixels is not None:
            if pixels in by_pixels:
                uf.union(url, by_pixels[pixels])
                match[url] = "exact"
            else:
                by_pixels[pixels] = url
        if ph is None or distance < 0:
            continue
        unsigned = ph & ((1 << 64) - 1)
        for i, band in enumerate(phash_bands(unsigned, bands)):
            bucket = buckets[(i, band)]
            for other, other_hash in bucket:
                if uf.find(other) != uf.find(url) and hamming(unsigned, other_hash) <= distance:
                    uf.union(url, other)
                    match.setdefault(url, "perceptual")
            if len(bucket) < MAX_BUCKET:
                bucket.append((url, unsigned))
    return {url: uf.find(url) for url in uf.parent}, match


def read_ok_images(images_dir: Path) -> list[tuple[str, str | None, int | None]]:
    out = []
    for path in sorted(images_dir.glob("bucket-*.parquet")):
        table = pq.read_table(path, columns=["url", "status", "pixel_sha256", "phash"])
        for row in table.to_pylist():
            if row["status"] == "ok":
                out.append((row["url"], row["pixel_sha256"], row["phash"]))
    return out


def read_doc_urls(pages_dir: Path) -> list[tuple[str, list[str]]]:
    """(doc_id, image URLs in node order) of every HTML page, reading only those columns."""
    docs = []
    for part in sorted(pages_dir.glob("part-*.parquet")):
        table = pq.ParquetFile(part).read(columns=["doc_id", "kind", "nodes.list.element.type",
                                                   "nodes.list.element.url"])
        for row in table.to_pylist():
            if row["kind"] == "html":
                docs.append((row["doc_id"], [n["url"] for n in row["nodes"] or [] if n["type"] == "image"]))
    return docs


def dedup_images(images_dir: Path, pages_dir: Path, distance: int, max_docs: int) -> dict:
    clusters, match = cluster_images(read_ok_images(images_dir), distance)
    docs_per_cluster: dict[str, set[str]] = defaultdict(set)
    doc_sets: list[tuple[str, str | None]] = []
    for doc_id, urls in read_doc_urls(pages_dir):
        members = sorted({clusters[u] for u in urls if u in clusters})
        for c in members:
            docs_per_cluster[c].add(doc_id)
        key = hashlib.sha1("\n".join(members).encode()).hexdigest() if members else None
        doc_sets.append((doc_id, key))
    rows = [{"url": url, "cluster": c, "n_docs": len(docs_per_cluster[c]),
             "repeated": len(docs_per_cluster[c]) > max_docs, "match": match.get(url)}
            for url, c in sorted(clusters.items())]
    _write(clusters_path(images_dir), rows, DEDUP_SCHEMA)
    first: dict[str, str] = {}
    set_rows = []
    for doc_id, key in doc_sets:
        if key is None:
            continue
        set_rows.append({"doc_id": doc_id, "image_set": key, "duplicate_of": first.get(key)})
        first.setdefault(key, doc_id)
    _write(clusters_path(images_dir).with_name(DOC_SETS_FILE), set_rows, DOC_SETS_SCHEMA)
    stats = StageStats(STAGE, n_in=len(rows), n_out=len(rows))  # tags images, drops nothing here
    stats.count("clusters", len(set(clusters.values())))
    stats.count("exact_duplicates", sum(1 for m in match.values() if m == "exact"))
    stats.count("perceptual_duplicates", sum(1 for m in match.values() if m == "perceptual"))
    stats.count("repeated_images", sum(r["repeated"] for r in rows))
    stats.count("docs_with_duplicate_image_set", sum(r["duplicate_of"] is not None for r in set_rows))
    return {STAGE: stats.to_dict()}


def _write(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
