"""``OUT/index/``: embeddings of every image (and its text) of finished shards, and exact search.

Layout (row i of each file is the same item):

- ``image_embeddings.npy``: (n, dim) float32, L2-normalised;
- ``text_embeddings.npy``: (n, dim) float32, L2-normalised; a zero row for an item without
  text (its score against any query is 0, so it never wins a text search by accident);
- ``items.parquet``: key, shard, member, url, text, doc_url;
- ``manifest.json``: model label, checkpoint sha256, source layout and its manifest's sha256,
  counts (and skipped images by reason), batch size; ``_SUCCESS`` when finished.

Building streams the shards: images are decoded and embedded ``batch_size`` at a time, and the
embeddings are appended to raw files that become ``.npy`` at the end, so memory stays flat
whatever the shard count. The same weights + the same source manifest = a finished index,
skipped on rerun; anything else is refused unless ``force``.

Search is exact: one matrix product of the query against every row, then ``argpartition``
for the top k (O(n·dim) per query). That is fast enough to tens of millions of rows on one
machine (memory: n·dim·4 bytes per modality in float32, half in float16); beyond that an
approximate index such as FAISS is the tool.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.clip.model import DEFAULT_BATCH_SIZE, LoadedClip
from pipeline.outputs import (
    OutputExistsError,
    atomic_write_json,
    is_finished,
    mark_finished,
    read_json,
)
from pipeline.serve.images import ImageRejected, decode_image
from pipeline.serve.loading import ModelSource, checkpoint_id, load_model
from pipeline.serve.samples import Item, iter_items, source_dir, source_manifest

log = logging.getLogger(__name__)

IMAGE_EMBEDDINGS = "image_embeddings.npy"
TEXT_EMBEDDINGS = "text_embeddings.npy"
ITEMS = "items.parquet"
MANIFEST = "manifest.json"
INDEX_VERSION = 1
ITEMS_SCHEMA = pa.schema([
    ("key", pa.string()), ("shard", pa.string()), ("member", pa.string()),
    ("url", pa.string()), ("text", pa.string()), ("doc_url", pa.string()),
])
MAX_K = 1000  # results per search request


def index_dir(output: str | Path) -> Path:
    return Path(output) / "index"


# -- building ---------------------------------------------------------------------------------
class _RowFile:
    """float32 rows appended to a raw file, turned into an .npy once the count is known."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim, self.rows = path, dim, 0
        self._raw = path.with_suffix(".raw.tmp")
        self._file: BinaryIO = open(self._raw, "wb")  # noqa: SIM115 — appended to across calls, closed in finish

    def append(self, rows: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(rows, dtype=np.float32).tobytes())
        self.rows += len(rows)

    def finish(self) -> None:
        self._file.close()
        tmp = self.path.with_suffix(".npy.tmp")
        with open(tmp, "wb") as out, open(self._raw, "rb") as raw:
            np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                                                      "fortran_order": False, "shape": (self.rows, self.dim)})
            shutil.copyfileobj(raw, out, 1 << 22)
        self._raw.unlink()
        tmp.replace(self.path)


def _batches(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class IndexRequest:
    output: str  # the run's output root: shards are read from it, the index written into it
    source: str = "pairs"
    batch_size: int = DEFAULT_BATCH_SIZE
    force: bool = False
    max_pixels: int = 40_000_000


def _identity(request: IndexRequest, model: ModelSource, weights: str, source_sha: str) -> dict[str, Any]:
    """What a finished index must match to be reused."""
    return {"model": model.model, "checkpoint_sha256": weights, "source": request.source,
            "source_manifest_sha256": source_sha}


def build_index(request: IndexRequest, model_source: ModelSource) -> dict[str, Any]:
    """Embed every image (and text) of ``OUT/shards/<source>/`` into ``OUT/index/``; the manifest."""
    if request.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, not {request.batch_size}")
    model_source.validate()
    folder = source_dir(request.output, request.source)
    manifest_path = source_manifest(folder)
    source_sha = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    weights = checkpoint_id(model_source)
    identity = _identity(request, model_source, weights, source_sha)
    out = index_dir(request.output)
    if is_finished(out) and (out / MANIFEST).is_file():
        existing = read_json(out / MANIFEST)
        if {k: existing.get(k) for k in identity} == identity and not request.force:
            log.info("index: %s is finished with the same model and source, skipping", out)
            return {**existing, "skipped": True}
        if not request.force:
            raise OutputExistsError(f"{out} was built from another model or source "
                                    f"({existing.get('model')}, {existing.get('source')}): use --force to rebuild")
    if out.exists():
        shutil.rmtree(out)  # a partial or forced index: nothing in it is reusable
    out.mkdir(parents=True)

    clip = load_model(model_source)
    dim = clip.embed_dim
    images, texts = _RowFile(out / IMAGE_EMBEDDINGS, dim), _RowFile(out / TEXT_EMBEDDINGS, dim)
    skipped: Counter[str] = Counter()
    with_text = 0
    with pq.ParquetWriter(out / (ITEMS + ".tmp"), ITEMS_SCHEMA) as items_file:
        for batch in _batches(iter_items(folder, request.source), request.batch_size):
            kept, pixels = [], []
            for item in batch:
                try:
                    pixels.append(clip.preprocess_image(decode_image(item.image, request.max_pixels, item.member)))
                    kept.append(item)
                except ImageRejected as e:
                    skipped[f"image_{e.reason}"] += 1
            if not kept:
                continue
            images.append(clip.encode_pixels(pixels, request.batch_size))
            texts.append(_text_rows(clip, [item.text for item in kept], request.batch_size))
            with_text += sum(1 for item in kept if item.text.strip())
            items_file.write_table(pa.Table.from_pylist(
                [{f: getattr(item, f) for f in ITEMS_SCHEMA.names} for item in kept], ITEMS_SCHEMA))
    images.finish()
    texts.finish()
    (out / (ITEMS + ".tmp")).replace(out / ITEMS)
    manifest = {
        **identity,
        "index_version": INDEX_VERSION,
        "model_label": clip.label,
        "embed_dim": dim,
        "batch_size": request.batch_size,
        "items": images.rows,
        "items_with_text": with_text,
        "skipped": dict(sorted(skipped.items())),
        "files": {"image_embeddings": IMAGE_EMBEDDINGS, "text_embeddings": TEXT_EMBEDDINGS, "items": ITEMS},
        "search": "exact (matrix product + argpartition)",
    }
    atomic_write_json(out / MANIFEST, manifest)
    mark_finished(out)
    return manifest


def _text_rows(clip: LoadedClip, texts: list[str], batch_size: int) -> np.ndarray:
    """Text embeddings, with zero rows for empty texts (see the module docstring)."""
    rows = np.zeros((len(texts), clip.embed_dim), dtype=np.float32)
    present = [i for i, t in enumerate(texts) if t.strip()]
    if present:
        rows[present] = clip.encode_texts([texts[i] for i in present], batch_size)
    return rows


# -- searching --------------------------------------------------------------------------------
class Index:
    """A finished index in memory: embeddings per modality and the items' metadata."""

    def __init__(self, folder: Path, manifest: dict[str, Any], images: np.ndarray, texts: np.ndarray,
                 items: pa.Table) -> None:
        self.folder = folder
        self.manifest = manifest
        self.embeddings = {"images": images, "texts": texts}
        self.items = items

    @classmethod
    def load(cls, path: str | Path, dtype: Any = np.float32) -> Index:
        """``path``: the index folder, or the run output holding ``index/``.

        ``dtype=np.float16`` halves the memory; scores then differ by ~1e-3.
        """
        folder = Path(path)
        if not (folder / MANIFEST).is_file() and (folder / "index" / MANIFEST).is_file():
            folder = folder / "index"
        if not is_finished(folder) or not (folder / MANIFEST).is_file():
            raise ValueError(f"{folder} is not a finished index (manifest.json and _SUCCESS): run interleaf index")
        manifest = read_json(folder / MANIFEST)
        images = np.load(folder / IMAGE_EMBEDDINGS).astype(dtype, copy=False)
        texts = np.load(folder / TEXT_EMBEDDINGS).astype(dtype, copy=False)
        items = pq.read_table(folder / ITEMS)
        if not len(images) == len(texts) == items.num_rows:
            raise ValueError(f"{folder}: {len(images)} image rows, {len(texts)} text rows, "
                             f"{items.num_rows} items: the index is corrupt, rebuild it")
        return cls(folder, manifest, images, texts, items)

    def __len__(self) -> int:
        return self.items.num_rows

    def check_model(self, model: str, weights: str) -> None:
        """Refuse an index built with other weights: its vectors live in another space."""
        if (self.manifest.get("model"), self.manifest.get("checkpoint_sha256")) != (model, weights):
            raise ValueError(f"index {self.folder} was built with model {self.manifest.get('model')} "
                             f"(checkpoint sha256 {self.manifest.get('checkpoint_sha256')}), not the served "
                             f"{model} ({weights}): rebuild it with interleaf index")

    def search(self, query: np.ndarray, k: int, target: str = "images") -> list[dict[str, Any]]:
        """Top ``k`` rows of ``target`` ("images" or "texts") by cosine with ``query`` (dim,)."""
        matrix = self.embeddings[target]
        scores = matrix @ query.astype(matrix.dtype, copy=False)
        k = min(k, len(scores))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        # Highest score first; ties by row so equal scores come back in a stable order.
        top = top[np.lexsort((top, -scores[top].astype(np.float64)))]
        rows = self.items.take(pa.array(top)).to_pylist()
        return [{"row": int(i), "score": float(scores[i]), **row} for i, row in zip(top, rows)]
