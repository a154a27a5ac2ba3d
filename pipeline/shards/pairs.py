"""The write stage for ``shards/pairs/``: image-text pairs for CLIP-style training.

One sample per image whose row in the scores/ table is ``ok`` with ``best_score`` at or
above the threshold (``select.pair_min_clip_score``; 0.28 as LAION-400M used with ViT-B/32).
Members: ``jpg`` (the image), ``txt`` (the best-scoring candidate text, UTF-8) and ``json``
(provenance, every candidate's score, the synthetic caption of clip.capfilt and its score,
and ``txt_source``: which text the txt holds). The folder trains as-is with
``python -m open_clip_train.main --dataset-type webdataset``.

Which text (``select.pair_text``, see ``choose_text``): ``web`` (default) always takes the
best web text, as above. ``best`` applies BLIP's filter to both texts: the synthetic caption
replaces the web text when the web text scores below the threshold and the caption scores
higher (or the image has no web text at all), and the pair is written only if the chosen
text scores at least the threshold. The web text is never rewritten: it stays in the scores/
table, and the json names the source.

Same pattern as ``interleaved.py``: each task writes under ``_tmp/task-NNNNN/`` and marks
itself done; the driver renames shards in task order to contiguous ``shard-NNNNNN.tar``
names and writes manifest.json (plus ``sizes.json``, which open_clip_train reads to know
the sample count). The caller joins documents (image bytes attached) with their score rows.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from PIL import Image

from pipeline.config import Config
from pipeline.outputs import atomic_write_json
from pipeline.shards.images import to_jpeg
from pipeline.shards.interleaved import WriteTask, close_shards, finalize_shards, finished_task, start_task
from pipeline.shards.tar import sample_tar_size
from pipeline.stats import StageStats
from schemas import SCHEMA_VERSION, Document, ImageNode
from schemas.arrow import PAIRS_SIDECAR_SCHEMA
from schemas.samples import ocr_json

STAGE = "write_pairs"
LAYOUT = "pairs"
DEFAULT_THRESHOLD = 0.28  # LAION-400M's CLIP ViT-B/32 cosine-similarity cut
SIZES = "sizes.json"  # {shard name: samples}: open_clip_train's dataset-size file

# Drop reasons (per image): see write_pair_task.
BELOW_THRESHOLD = "score_below_threshold"
NO_BYTES = "no_image_bytes"
EMPTY_TEXT = "empty_text"


def pair_key(doc_id: str, image_index: int) -> str:
    """Sample key: no dots, since WebDataset splits member names at the first dot."""
    return f"{doc_id}_{image_index:04d}"


def _jpeg(node: ImageNode, config: Config) -> tuple[bytes | None, str | None]:
    """JPEG bytes of an image node, or a drop reason.

    Bytes normalised by the images stage are JPEG already (kept as they are); WebP from the
    images stage and raw archived bytes are converted (bounded decode) by ``to_jpeg``.
    """
    if node.image is None:
        return None, NO_BYTES
    if node.status is not None and node.image_mime == "image/jpeg":
        return node.image, None
    return to_jpeg(node.image, config.shards.max_image_pixels, config.shards.jpeg_quality)


def _size(jpg: bytes) -> tuple[int | None, int | None]:
    """Width and height from the JPEG header (no pixel decode)."""
    try:
        with Image.open(io.BytesIO(jpg)) as im:
            return im.size
    except (OSError, ValueError, SyntaxError):  # checked upstream; the size is informative only
        return None, None


def _score(value: Any) -> float | None:
    # float32 in the scores table: rounded so the JSON reads 0.3125, not 0.31250000931...
    return None if value is None else round(float(value), 6)


WEB, SYNTHETIC = "web", "synthetic"  # txt_source values


def choose_text(row: Mapping[str, Any], threshold: float, pair_text: str = WEB
                ) -> tuple[str | None, float | None, str]:
    """(text, score, txt_source) of the pair's txt member (``select.pair_text``).

    ``web``: the best web text of an ``ok`` row. ``best``: the synthetic caption instead
    when the row has one with a score and either there is no web text (the row is not
    ``ok``) or the web text scores below ``threshold`` and the caption scores higher. Ties
    keep the web text. The caller applies the threshold to the returned score.
    """
    web = (row.get("best_text"), row.get("best_score")) if row.get("status") == "ok" else (None, None)
    caption, caption_score = row.get("synthetic_caption"), row.get("synthetic_caption_score")
    if pair_text == "best" and caption and caption_score is not None \
            and (web[1] is None or (web[1] < threshold and caption_score > web[1])):
        return caption, caption_score, SYNTHETIC
    return web[0], web[1], WEB


def pair_json(doc: Document, node: ImageNode, image_index: int, row: Mapping[str, Any],
              size: tuple[int | None, int | None], txt_source: str = WEB) -> dict[str, Any]:
    """The ``json`` member of a pair sample."""
    return {
        "schema_version": SCHEMA_VERSION,
        "doc_id": doc.doc_id,
        "url": doc.url,
        "image_url": node.url,
        "image_index": image_index,
        "language": doc.language,
        "width": size[0],
        "height": size[1],
        "best_source": row.get("best_source"),
        "best_score": _score(row.get("best_score")),
        "candidate_sources": list(row.get("candidate_sources") or []),
        "candidate_scores": [_score(s) for s in row.get("candidate_scores") or []],
        "model": row.get("model"),
        "ocr": ocr_json(node),  # the text OCR read in the image, or null
        # clip.capfilt: the caption generated for the image and its score, or null.
        "synthetic_caption": row.get("synthetic_caption"),
        "synthetic_caption_score": _score(row.get("synthetic_caption_score")),
        "txt_source": txt_source,  # "web" (best_source's text) or "synthetic" (the caption)
    }


def _json_bytes(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _rows_by_index(doc: Document, rows: Iterable[Mapping[str, Any]], stats: StageStats) -> dict[int, Mapping[str, Any]]:
    by_index: dict[int, Mapping[str, Any]] = {}
    n_images = len(doc.image_nodes)
    for row in rows:
        index = int(row["image_index"])
        if row.get("doc_id") not in (None, doc.doc_id) or not 0 <= index < n_images:
            stats.count("score_rows_unmatched")  # a row for another document or version
            continue
        by_index[index] = row
    return by_index


def pair_files(doc: Document, image_index: int, node: ImageNode, row: Mapping[str, Any] | None,
               config: Config, threshold: float) -> tuple[list[tuple[str, bytes]] | None, str]:
    """(tar members, "") for an image that becomes a pair, else (None, drop reason)."""
    if row is None:
        return None, "not_scored:no_score_row"
    text, score, source = choose_text(row, threshold, config.select.pair_text)
    if row.get("status") != "ok" and source != SYNTHETIC:
        return None, f"not_scored:{row.get('reason') or row.get('status')}"
    if row.get("url") is not None and row["url"] != node.url:
        return None, "not_scored:url_mismatch"  # scored on another version of the page
    if score is None or score < threshold:
        return None, BELOW_THRESHOLD
    text = text or ""
    if not text.strip():
        return None, EMPTY_TEXT
    jpg, reason = _jpeg(node, config)
    if jpg is None:
        return None, reason or NO_BYTES
    meta = pair_json(doc, node, image_index, row, _size(jpg), source)
    # Member order is fixed (ShardWriter writes them as given): jpg, txt, json.
    return [("jpg", jpg), ("txt", text.encode("utf-8")), ("json", _json_bytes(meta))], ""


def _sidecar_row(key: str, doc: Document, image_index: int, node: ImageNode, row: Mapping[str, Any],
                 files: list[tuple[str, bytes]], txt_source: str) -> dict[str, Any]:
    members = dict(files)
    return {
        "key": key,
        "doc_id": doc.doc_id,
        "image_index": image_index,
        "url": node.url,
        "best_score": None if row.get("best_score") is None else float(row["best_score"]),
        "txt_source": txt_source,
        "text_chars": len(members["txt"].decode("utf-8")),
        "sample_bytes": sample_tar_size(files),
        "jpg_sha256": hashlib.sha256(members["jpg"]).hexdigest(),
    }


def write_pair_task(task: WriteTask, docs_with_scores: Iterable[tuple[Document, list[dict[str, Any]]]],
                    config: Config, out_dir: str | Path, threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Write one task's pairs into ``_tmp/<task>/``; returns shard infos and stats.

    ``docs_with_scores``: documents in input order, image bytes attached, each with its rows
    of the scores/ table (any order). Stats count images: ``in`` = image nodes considered,
    ``out`` = pairs written, drops: ``score_below_threshold``, ``not_scored:<reason>``
    (``no_score_row`` when the document has no row for the image, ``url_mismatch`` when the
    row was scored on another version of the page), ``empty_text``,
    ``no_image_bytes`` and the image conversion reasons (``image_corrupt``, ...); with
    ``select.pair_text=best``, ``txt_source:synthetic`` counts the pairs whose txt is the
    synthetic caption.
    A finished task (``_DONE.json``) is returned as it was, without reading its input.
    """
    if (finished := finished_task(task, out_dir)) is not None:
        return finished
    tmp, writer = start_task(task, config, out_dir)
    stats = StageStats(STAGE)
    sidecars: dict[str, list[dict[str, Any]]] = {}
    models: set[str] = set()
    for doc, rows in docs_with_scores:
        stats.count("documents")
        by_index = _rows_by_index(doc, rows, stats)
        written = 0
        for image_index, node in enumerate(doc.image_nodes):
            stats.n_in += 1
            row = by_index.get(image_index)
            files, reason = pair_files(doc, image_index, node, row, config, threshold)
            if files is None:
                stats.drop(reason)
                continue
            key = pair_key(doc.doc_id, image_index)
            shard = writer.write(key, files)
            txt_source = choose_text(row, threshold, config.select.pair_text)[2]
            if txt_source != WEB:
                stats.count(f"txt_source:{txt_source}")
            sidecars.setdefault(shard, []).append(_sidecar_row(key, doc, image_index, node, row, files, txt_source))
            if row.get("model"):
                models.add(row["model"])
            stats.n_out += 1
            written += 1
        if written:
            stats.count("documents_with_pairs")
    shards = close_shards(tmp, writer, sidecars, PAIRS_SIDECAR_SCHEMA)
    stats.check()
    result = {"task": task.name, "shards": shards, "threshold": threshold, "models": sorted(models),
              "stats": {STAGE: stats.to_dict()}}
    atomic_write_json(tmp / "_DONE.json", result)
    return result


def finalize_pairs(out_dir: str | Path, results: list[dict[str, Any]], config: Config,
                   run_stats: dict[str, Any]) -> dict[str, Any]:
    """Rename task shards to contiguous names; write manifest.json and sizes.json (which
    open_clip_train reads for the sample count). The caller marks the folder finished."""
    out = Path(out_dir)
    thresholds = sorted({r["threshold"] for r in results})
    if len(thresholds) > 1:
        raise ValueError(f"pair tasks were written with different thresholds: {thresholds}")
    manifest = finalize_shards(out, results, config, run_stats, {
        "layout": LAYOUT,
        "threshold": thresholds[0] if thresholds else None,
        "pair_text": config.select.pair_text,
        "models": sorted({m for r in results for m in r.get("models", [])}),
        "sizes": SIZES,
    })
    atomic_write_json(out / SIZES, {s["name"]: s["samples"] for s in manifest["shards"]})
    return manifest
