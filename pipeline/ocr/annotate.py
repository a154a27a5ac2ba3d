"""Optional OCR of web images: the ``images/`` table → ``image_ocr/`` (text read in images).

One task per images bucket (``bucket-NNNNN.parquet`` → ``part-NNNNN.parquet``). Every image
with status ok is decoded, scaled to at most ``image_ocr.max_side`` and read by rapidocr
(pipeline/ocr/engine.py); an annotation is kept when its lines hold at least
``image_ocr.min_chars`` non-space characters at a mean confidence of ``image_ocr.min_score``.
Boxes are mapped back to the stored image's pixels, the size of the image in the shards.

Accounting (stage ``image_ocr``): in = ok images read, out = annotations kept, dropped by
reason (``no_text``, ``too_few_chars``, ``low_confidence``, ``decode_error``); images not ok
are counted as ``skipped:<status>``, outside the balance. A task writes its part under a
hidden name and renames it, then its ``_stats/part-NNNNN.json`` marks it done (resume).

When ``image_ocr.enabled``, the write stages put the annotations on image nodes
(``attach_ocr``): the local engine from ``load_ocr_table``, Spark through the images join
(pipeline/shards/spark_join.py), so both write the same bytes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from pipeline.config import Config, ImageOcrConfig
from pipeline.ocr.engine import OcrLine, engine_version, read_text
from pipeline.outputs import (
    atomic_write_json,
    is_finished,
    mark_finished,
    prepare_stage,
    read_json,
)
from pipeline.spark import run_tasks
from pipeline.stats import RunStats, StageStats
from schemas import Document
from schemas.arrow import IMAGE_OCR_SCHEMA
from schemas.samples import dump_ocr_lines

log = logging.getLogger(__name__)

STAGE = "image_ocr"
SECTIONS = ("input", "extract", "images", "image_ocr")  # what the image_ocr/ table depends on
MANIFEST = "_manifest.json"
BATCH_ROWS = 32  # images read from a bucket at a time (each up to images.max_side)
# image_ocr/ column → the name it takes in the write stages' image rows (and on ImageNode).
NODE_FIELDS = {"text": "ocr_text", "score": "ocr_score", "lines": "ocr_lines"}

NO_TEXT, TOO_FEW_CHARS, LOW_CONFIDENCE, DECODE_ERROR = "no_text", "too_few_chars", "low_confidence", "decode_error"


def image_ocr_dir(config: Config) -> Path:
    return Path(config.run.output) / "image_ocr"


def _images_dir(config: Config) -> Path:
    return Path(config.run.output) / "images"


@dataclass(frozen=True)
class OcrTask:
    bucket: str  # "bucket-NNNNN": the images/ file this task reads
    images_dir: str

    @property
    def part(self) -> str:
        return self.bucket.replace("bucket-", "part-")


# -- one image -------------------------------------------------------------------------------


def reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Top to bottom, left to right: a line whose vertical centre falls within the first line
    of the current row joins that row; each row is read by its left edge."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.bounds[1], ln.bounds[0], ln.text)):
        _, y0, _, y1 = line.bounds
        if rows:
            _, top, _, bottom = rows[-1][0].bounds
            if top <= (y0 + y1) / 2 <= bottom:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: (ln.bounds[0], ln.bounds[1], ln.text))]


def _in_stored_pixels(line: OcrLine, factor: float) -> OcrLine:
    """The line with its box scaled back to the stored image and its text stripped."""
    return OcrLine(tuple((x * factor, y * factor) for x, y in line.box), line.text.strip(), line.score)


def judge(lines: list[OcrLine], settings: ImageOcrConfig) -> str | None:
    """None when ``lines`` (reading order) make an annotation, else the drop reason."""
    if not lines:
        return NO_TEXT
    if sum(not c.isspace() for ln in lines for c in ln.text) < settings.min_chars:
        return TOO_FEW_CHARS
    if sum(ln.score for ln in lines) / len(lines) < settings.min_score:
        return LOW_CONFIDENCE
    return None


def read_image(data: bytes, max_side: int) -> tuple[Image.Image, tuple[int, int], float]:
    """(RGB image at most ``max_side`` on its longer side, stored size, scale back to it)."""
    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
        im.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale when much larger
        rgb = im.convert("RGB")
    longest = max(width, height)
    if longest > max_side:
        scale = max_side / longest
        rgb = rgb.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BOX)
    return rgb, (width, height), width / rgb.width


def annotate_image(url: str, data: bytes | None, settings: ImageOcrConfig, threads: int = 1
                   ) -> tuple[dict[str, Any] | None, str | None]:
    """(image_ocr/ row, None) for an image with confident text, else (None, drop reason)."""
    if data is None:
        return None, DECODE_ERROR
    try:
        image, (width, height), factor = read_image(data, settings.max_side)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, DECODE_ERROR
    lines = reading_order([_in_stored_pixels(ln, factor) for ln in read_text(image, threads) if ln.text.strip()])
    reason = judge(lines, settings)
    if reason is not None:
        return None, reason
    return {
        "url": url,
        "text": "\n".join(ln.text for ln in lines),
        "score": round(sum(ln.score for ln in lines) / len(lines), 4),
        "lines": dump_ocr_lines([ln.to_json() for ln in lines]),
        "n_lines": len(lines),
        "width": width,
        "height": height,
    }, None


# -- one bucket ------------------------------------------------------------------------------


def _images(path: Path) -> Iterator[dict[str, Any]]:
    """The bucket's rows (url, status, image), a few at a time: bytes are not all held."""
    with pq.ParquetFile(path) as parquet:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=["url", "status", "image"]):
            yield from batch.to_pylist()


def annotate_bucket(task: OcrTask, config: Config, out_dir: str) -> dict[str, Any]:
    """OCR one images bucket into ``part-NNNNN.parquet`` (sorted by URL); returns its stats."""
    out = Path(out_dir)
    done = out / "_stats" / f"{task.part}.json"
    if done.exists():
        return read_json(done)
    stats = StageStats(STAGE)
    rows = []
    for image in _images(Path(task.images_dir) / f"{task.bucket}.parquet"):
        if image["status"] != "ok":
            stats.count(f"skipped:{image['status']}")
            continue
        stats.n_in += 1
        row, reason = annotate_image(image["url"], image["image"], config.image_ocr)
        if row is None:
            stats.drop(reason or NO_TEXT)
            continue
        rows.append(row)
        stats.n_out += 1
        stats.count("lines", row["n_lines"])
    stats.check()
    _write_part(out / f"{task.part}.parquet", sorted(rows, key=lambda r: r["url"]))
    result = {"part": f"{task.part}.parquet", "bucket": task.bucket, "rows": len(rows),
              "stats": {STAGE: stats.to_dict()}}
    atomic_write_json(done, result)
    return result


def _write_part(path: Path, rows: list[dict[str, Any]]) -> None:
    """Written under a hidden name (pyarrow and Spark skip it), then renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=IMAGE_OCR_SCHEMA), tmp, compression="zstd")
    tmp.replace(path)


# -- the job ---------------------------------------------------------------------------------


def plan_tasks(images: Path) -> list[OcrTask]:
    """One task per bucket the finished images/ table lists, in bucket order."""
    buckets = read_json(images / MANIFEST)["buckets"]
    return [OcrTask(b, str(images)) for b in sorted(buckets)]


def run_image_ocr(config: Config) -> dict[str, Any]:
    """``images/`` (ok images) → ``image_ocr/`` parts + ``_manifest.json`` + ``_SUCCESS``."""
    images = _images_dir(config)
    if not config.images.enabled:
        raise RuntimeError("image OCR reads the images/ table, but images.enabled is false")
    if not is_finished(images):
        raise RuntimeError(f"{images} is not finished (no _SUCCESS): run fetch-images first")
    out = image_ocr_dir(config)
    if not prepare_stage(out, config, "_config.json", SECTIONS, [images / MANIFEST]):
        log.info("image_ocr: %s is finished, skipping", out)
        return {**read_json(out / MANIFEST), "skipped": True}
    (out / "_stats").mkdir(parents=True, exist_ok=True)
    results = run_tasks(partial(annotate_bucket, config=config, out_dir=str(out)), plan_tasks(images), config,
                        "image ocr")
    stats = RunStats()
    for r in results:
        stats.merge(RunStats.from_dict(r["stats"]))
    stats.check()
    manifest = {"stage": STAGE, "config_hash": config.hash(SECTIONS), "engine": engine_version(),
                "parts": [{"part": r["part"], "bucket": r["bucket"], "rows": r["rows"]} for r in results],
                "stats": stats.to_dict()}
    atomic_write_json(out / MANIFEST, manifest)
    mark_finished(out)
    return manifest


# -- for the write stages --------------------------------------------------------------------


def require_finished(config: Config) -> None:
    """With ``image_ocr.enabled``, the shard stages need the finished image_ocr/ table."""
    folder = image_ocr_dir(config)
    if config.image_ocr.enabled and not is_finished(folder):
        raise RuntimeError(f"{folder} is not finished: run image-ocr first (or --set image_ocr.enabled=false)")


def upstream_manifests(config: Config) -> list[Path]:
    """The manifest a shard stage depends on when OCR annotations go into it."""
    return [image_ocr_dir(config) / MANIFEST] if config.image_ocr.enabled else []


def part_paths(folder: str | Path) -> list[str]:
    return sorted(str(p) for p in Path(folder).glob("part-*.parquet"))


def load_ocr_table(folder: str | Path) -> dict[str, dict[str, Any]]:
    """url → {ocr_text, ocr_score, ocr_lines}: the local engine's lookup (Spark joins)."""
    lookup: dict[str, dict[str, Any]] = {}
    for path in part_paths(folder):
        for row in pq.read_table(path, columns=["url", *NODE_FIELDS]).to_pylist():
            lookup[row["url"]] = {NODE_FIELDS[k]: row[k] for k in NODE_FIELDS}
    return lookup


def attach_ocr(doc: Document, lookup: Mapping[str, Mapping[str, Any]]) -> None:
    """Annotate the image nodes whose image made it (status ok, bytes attached): ``lookup``
    maps an image URL to a row with ``ocr_text`` / ``ocr_score`` / ``ocr_lines``."""
    for node in doc.image_nodes:
        row = lookup.get(node.url)
        if row is None or row.get("ocr_text") is None or node.status != "ok" or node.image is None:
            continue
        node.ocr_text, node.ocr_score, node.ocr_lines = row["ocr_text"], row["ocr_score"], row["ocr_lines"]
