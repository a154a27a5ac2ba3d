"""The jobs as functions: extract (WARC → pages/) and write shards (pages/ → shards/).

Each job resolves its tasks on the driver, runs them with ``run_tasks`` (Spark or a local
loop), merges per-task stats, checks in = out + dropped, and marks its folder finished.
``interleaf run`` and the ``jobs/*.py`` spark-submit entry points both call these.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.config import Config, ConfigError
from pipeline.ocr import annotate as image_ocr
from pipeline.outputs import atomic_write_json, is_finished, mark_finished, prepare_stage, read_json
from pipeline.pages import WarcTask, extract_warc
from pipeline.shards.interleaved import finalize_interleaved, plan_write_tasks, write_interleaved_task
from pipeline.spark import get_spark, run_tasks
from pipeline.stats import RunStats
from pipeline.warc.sources import resolve_inputs

log = logging.getLogger(__name__)

# What each stage's output depends on (the pages table: ``Config.extract_sections``).
IMAGE_SECTIONS = ("input", "extract", "images")
DEDUP_SECTIONS = ("input", "extract", "images", "dedup")
SHARD_SECTIONS = ("input", "extract", "filters", "images", "image_ocr", "dedup", "clip", "select", "shards")
TABLE_MANIFEST = "_manifest.json"  # of table stages; underscore: Spark and pyarrow skip it


def pages_dir(config: Config) -> Path:
    return Path(config.run.output) / "pages"


def images_dir(config: Config) -> Path:
    return Path(config.run.output) / "images"


def interleaved_dir(config: Config) -> Path:
    return Path(config.run.output) / "shards" / "interleaved"


def _merge(results: list[dict[str, Any]]) -> RunStats:
    run = RunStats()
    for r in results:
        run.merge(RunStats.from_dict(r["stats"]))
    run.check()
    return run


def _pin_inputs(out: Path, uris: list[str]) -> None:
    """Resume only onto the same resolved input list: part N must still mean WARC N.

    A glob or listing can resolve differently between a crash and its rerun (new files);
    then the partial parts are discarded rather than mixed with the new numbering.
    """
    pinned = out / "_inputs.json"
    if pinned.exists() and read_json(pinned) != uris:
        log.warning("extract: input list changed since the interrupted run; starting over")
        for path in [*out.glob("part-*.parquet"), *(out / "_stats").glob("part-*.json")]:
            path.unlink()
    atomic_write_json(pinned, uris)


def run_extract(config: Config) -> dict[str, Any]:
    """WARC files → ``pages/`` parquet (one part per WARC) + ``_manifest.json``."""
    out = pages_dir(config)
    if not prepare_stage(out, config, "_config.json", config.extract_sections()):
        log.info("extract: %s is finished, skipping", out)
        return {**read_json(out / TABLE_MANIFEST), "skipped": True}
    uris = resolve_inputs(config.input.paths, config.input.base_url)
    if config.input.limit:
        uris = uris[: config.input.limit]
    _pin_inputs(out, uris)
    tasks = [WarcTask(i, uri) for i, uri in enumerate(uris)]
    results = run_tasks(partial(extract_warc, config=config, out_dir=str(out)), tasks, config, "extract")
    stats = _merge(results)
    manifest = {
        "stage": "extract",
        "config_hash": config.hash(config.extract_sections()),
        "inputs": uris,
        "parts": [{"part": r["part"], "uri": r["uri"], "rows": r["rows"], "file": r["file"]} for r in results],
        "file_errors": [{"uri": r["uri"], **r["file"]} for r in results if r["file"]["error"]],
        "stats": stats.to_dict(),
    }
    atomic_write_json(out / TABLE_MANIFEST, manifest)
    mark_finished(out)
    return manifest


def _transient_failures(images: Path) -> int:
    manifest = images / TABLE_MANIFEST
    if not manifest.exists():
        return 0
    return read_json(manifest)["stats"]["fetch_images"]["counters"].get("transient_failures", 0)


def run_fetch_images(config: Config) -> dict[str, Any]:
    """``pages/`` image URLs → ``images/`` table (archived bytes first, else downloads)."""
    from pipeline.images.collect import local_tasks, run_spark_buckets, spark_buckets
    from pipeline.images.fetch import fetch_bucket

    pages = pages_dir(config)
    if not is_finished(pages):
        raise RuntimeError(f"{pages} is not finished (no _SUCCESS): run the extract job first")
    out = images_dir(config)
    if is_finished(out) and (config.run.retry_failed or _transient_failures(out)):
        (out / "_SUCCESS").unlink()  # reopen the finished table: failed URLs are tried again
    if not prepare_stage(out, config, "_config.json", IMAGE_SECTIONS, [pages / TABLE_MANIFEST]):
        log.info("fetch_images: %s is finished, skipping", out)
        return {**read_json(out / TABLE_MANIFEST), "skipped": True}
    fn = partial(fetch_bucket, config=config, out_dir=str(out))
    if config.run.engine == "local":
        results = run_tasks(fn, local_tasks(pages, config.images.urls_per_task), config, "fetch images")
    else:
        df, buckets = spark_buckets(get_spark(config.spark), pages, config.images.urls_per_task)
        results = run_spark_buckets(df, buckets, fn)
    from pipeline.images.dedup import dedup_images

    stats = _merge(results)
    stats.merge(RunStats.from_dict(dedup_images(out, pages, config.images.phash_distance,
                                                config.images.max_docs_per_image)))
    manifest = {"stage": "fetch_images", "config_hash": config.hash(IMAGE_SECTIONS),
                "buckets": [r["bucket"] for r in results], "stats": stats.to_dict()}
    atomic_write_json(out / TABLE_MANIFEST, manifest)
    mark_finished(out)
    return manifest


def dedup_dir(config: Config) -> Path:
    return Path(config.run.output) / "dedup"


def run_dedup(config: Config) -> dict[str, Any]:
    """Find step: ``pages/`` (+ ``images_dedup/`` image sets) → ``dedup/`` tables (Spark)."""
    from pipeline.dedup.find import DOCUMENTS, PARAGRAPHS, dedup_stats, find_duplicates, write_tables
    from pipeline.images.attach import clusters_path

    pages = pages_dir(config)
    if not is_finished(pages):
        raise RuntimeError(f"{pages} is not finished (no _SUCCESS): run the extract job first")
    out = dedup_dir(config)
    upstream = [pages / TABLE_MANIFEST] + ([images_dir(config) / TABLE_MANIFEST] if config.images.enabled else [])
    if not prepare_stage(out, config, "_config.json", DEDUP_SECTIONS, upstream):
        log.info("dedup: %s is finished, skipping", out)
        return {**read_json(out / TABLE_MANIFEST), "skipped": True}
    # A global operation: always Spark (local[*] when the engine is local).
    spark = get_spark(config.spark)
    sets = clusters_path(images_dir(config)).with_name("doc_image_sets.parquet") if config.images.enabled else None
    documents, paragraphs = find_duplicates(spark, pages, sets, config.dedup)
    write_tables(documents, paragraphs, out)
    documents = spark.read.parquet(str(out / DOCUMENTS))
    paragraphs = spark.read.parquet(str(out / PARAGRAPHS))
    manifest = {"stage": "dedup", "config_hash": config.hash(DEDUP_SECTIONS),
                "stats": dedup_stats(spark, pages, documents, paragraphs)}
    atomic_write_json(out / TABLE_MANIFEST, manifest)
    mark_finished(out)
    return manifest


CLIP_SECTIONS = ("input", "extract", "images", "dedup", "clip")


def scores_dir(config: Config) -> Path:
    return Path(config.run.output) / "scores"


def run_score_clip(config: Config) -> dict[str, Any]:
    """Documents kept by dedup, with their images → ``scores/`` (open_clip, batched)."""
    try:
        from pipeline.clip.job import check_capfilt, run_score_tasks
    except ImportError as e:  # torch / open_clip are an extra: a clear message, not a traceback
        raise ConfigError(f"CLIP scoring needs the clip extra (pip install 'interleaf[clip]'): {e}") from None
    check_capfilt(config)

    pages = pages_dir(config)
    required = [(pages, "extract")] + ([(images_dir(config), "fetch-images")] if config.images.enabled else []) \
        + ([(dedup_dir(config), "dedup")] if config.dedup.enabled else [])
    for folder, job in required:
        if not is_finished(folder):
            raise RuntimeError(f"{folder} is not finished (no _SUCCESS): run {job} first")
    out = scores_dir(config)
    upstream = [pages / TABLE_MANIFEST] + ([images_dir(config) / TABLE_MANIFEST] if config.images.enabled else []) \
        + ([dedup_dir(config) / TABLE_MANIFEST] if config.dedup.enabled else [])
    if not prepare_stage(out, config, "_config.json", CLIP_SECTIONS, upstream):
        log.info("score_clip: %s is finished, skipping", out)
        return {**read_json(out / TABLE_MANIFEST), "skipped": True}
    tasks = plan_write_tasks(pages, config.shards.docs_per_task)
    results = run_score_tasks(tasks, config, str(out))
    manifest = {"stage": "score_clip", "config_hash": config.hash(CLIP_SECTIONS),
                "parts": [{"part": r["part"], "rows": r["rows"], "pages": r["pages"]} for r in results],
                "stats": _merge(results).to_dict()}
    atomic_write_json(out / TABLE_MANIFEST, manifest)
    mark_finished(out)
    return manifest


def run_write_shards(config: Config) -> dict[str, Any]:
    """``pages/`` → ``shards/interleaved/`` tars + sidecars + manifest.json."""
    pages = pages_dir(config)
    if not is_finished(pages):
        raise RuntimeError(f"{pages} is not finished (no _SUCCESS): run the extract job first")
    if config.images.enabled and not is_finished(images_dir(config)):
        raise RuntimeError(f"{images_dir(config)} is not finished: run fetch-images first "
                           "(or --set images.enabled=false)")
    if config.dedup.enabled and not is_finished(dedup_dir(config)):
        raise RuntimeError(f"{dedup_dir(config)} is not finished: run dedup first (or --set dedup.enabled=false)")
    if config.clip.enabled and not is_finished(scores_dir(config)):
        raise RuntimeError(f"{scores_dir(config)} is not finished: run score-clip first (or --set clip.enabled=false)")
    image_ocr.require_finished(config)
    out = interleaved_dir(config)
    upstream = [pages / TABLE_MANIFEST] + ([images_dir(config) / TABLE_MANIFEST] if config.images.enabled else []) \
        + ([dedup_dir(config) / TABLE_MANIFEST] if config.dedup.enabled else []) \
        + ([scores_dir(config) / TABLE_MANIFEST] if config.clip.enabled else []) \
        + image_ocr.upstream_manifests(config)
    if not prepare_stage(out, config, "config.json", SHARD_SECTIONS, upstream):
        log.info("write_shards: %s is finished, skipping", out)
        return {**read_json(out / "manifest.json"), "skipped": True}
    tasks = plan_write_tasks(pages, config.shards.docs_per_task)
    if config.run.engine == "spark" and (config.images.enabled or config.dedup.enabled or config.clip.enabled):
        from pipeline.shards.spark_join import spark_write_interleaved

        results = spark_write_interleaved(get_spark(config.spark), tasks, config, str(out))
    else:
        results = run_tasks(partial(write_interleaved_task, config=config, out_dir=str(out)), tasks, config,
                            "write shards")
    manifest = finalize_interleaved(out, results, config, _merge(results).to_dict())
    mark_finished(out)
    return manifest


def pairs_dir(config: Config) -> Path:
    return Path(config.run.output) / "shards" / "pairs"


def run_write_pairs(config: Config) -> dict[str, Any]:
    """Documents (images attached) + ``scores/`` → ``shards/pairs/`` (jpg + txt + json)."""
    from pipeline.clip.pairs_job import write_pairs

    if not is_finished(scores_dir(config)):
        raise RuntimeError(f"{scores_dir(config)} is not finished: run score-clip first")
    image_ocr.require_finished(config)
    out = pairs_dir(config)
    pages = pages_dir(config)
    upstream = [pages / TABLE_MANIFEST, scores_dir(config) / TABLE_MANIFEST] \
        + ([images_dir(config) / TABLE_MANIFEST] if config.images.enabled else []) \
        + ([dedup_dir(config) / TABLE_MANIFEST] if config.dedup.enabled else []) \
        + image_ocr.upstream_manifests(config)
    if not prepare_stage(out, config, "config.json", SHARD_SECTIONS, upstream):
        log.info("write_pairs: %s is finished, skipping", out)
        return {**read_json(out / "manifest.json"), "skipped": True}
    manifest = write_pairs(plan_write_tasks(pages, config.shards.docs_per_task), config, str(out))
    mark_finished(out)
    return manifest


OCR_SECTIONS = SHARD_SECTIONS + ("ocr",)


def ocr_dir(config: Config) -> Path:
    return Path(config.run.output) / "shards" / "ocr"


def run_render_ocr(config: Config) -> dict[str, Any]:
    """Kept documents' text (``shards/interleaved/``) and PDF pages (``pages/`` and
    ``ocr.pdf.dirs``) → ``shards/ocr/`` (rendered image + exact text + line boxes)."""
    from pipeline.ocr.job import finalize_ocr, plan_tasks, render_task

    interleaved, pages = interleaved_dir(config), pages_dir(config)
    text = interleaved if is_finished(interleaved) else None
    pdfs = pages if config.ocr.pdf.enabled and is_finished(pages) else None
    if text is None and not config.ocr.pdf.dirs:
        raise RuntimeError(f"{interleaved} is not finished (no _SUCCESS): run write-shards first "
                           "(or give PDF folders with --pdf-dir)")
    out = ocr_dir(config)
    upstream = [p / name for p, name in ((text, "manifest.json"), (pdfs, TABLE_MANIFEST)) if p is not None]
    if not prepare_stage(out, config, "config.json", OCR_SECTIONS, upstream):
        log.info("render_ocr: %s is finished, skipping", out)
        return {**read_json(out / "manifest.json"), "skipped": True}
    try:
        tasks = plan_tasks(text, pdfs, config)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    results = run_tasks(partial(render_task, config=config, out_dir=str(out)), tasks, config, "render ocr")
    manifest = finalize_ocr(out, results, config)
    mark_finished(out)
    return manifest


def run_image_ocr(config: Config) -> dict[str, Any]:
    """``images/`` → ``image_ocr/``: text read from downloaded images (optional stage)."""
    return image_ocr.run_image_ocr(config)


def run_all(config: Config) -> dict[str, Any]:
    result: dict[str, Any] = {"extract": run_extract(config), "output": str(Path(config.run.output))}
    if config.images.enabled:
        result["images"] = run_fetch_images(config)
    if config.image_ocr.enabled:
        result["image_ocr"] = run_image_ocr(config)
    if config.dedup.enabled:
        result["dedup"] = run_dedup(config)
    if config.clip.enabled:
        result["scores"] = run_score_clip(config)
    result["shards"] = run_write_shards(config)
    if config.clip.enabled:
        result["pairs"] = run_write_pairs(config)
    if config.ocr.enabled:
        result["ocr"] = run_render_ocr(config)
    return result
