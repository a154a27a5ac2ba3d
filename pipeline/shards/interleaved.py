"""The write stage for ``shards/interleaved/``: pages parts → WebDataset tars + sidecars.

Pages parts (one per WARC, in input order) are grouped into write tasks; each task writes
its shards under ``_tmp/task-NNNNN/`` and marks itself done. The driver then renames all
shards, in task order, to contiguous ``shard-000000.tar`` names, writes the manifest and
``_SUCCESS``. Output depends only on the pages and the config, never on Spark scheduling.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import Config
from pipeline.outputs import atomic_write_json, fingerprint, read_json
from filters.chain import FilterChain
from filters.interleaved import InterleavedFilter
from pipeline.clip.attach import attach_scores, drop_low_scores, load_scores, remap_placement, text_index_map
from pipeline.dedup.remove import DedupTables
from pipeline.exclusions import Dropped, exclusion_row, write_exclusions
from pipeline.images.attach import attach_fetched, load_image_table
from pipeline.ocr.annotate import attach_ocr, image_ocr_dir, load_ocr_table
from pipeline.pages import read_pages
from pipeline.shards.images import to_jpeg
from pipeline.shards.tar import ShardWriter, sample_tar_size
from pipeline.stats import StageStats
from schemas import Document, DocumentKind, SCHEMA_VERSION
from schemas.arrow import INTERLEAVED_SIDECAR_SCHEMA
from schemas.samples import image_file_name, interleaved_json_bytes

STAGE = "write_interleaved"
LAYOUT = "interleaved"
EXCLUDED = "excluded.parquet"  # a task's exclusions; finalize moves them to excluded/<task>.parquet


@dataclass(frozen=True)
class WriteTask:
    index: int
    parts: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"task-{self.index:05d}"


def plan_write_tasks(pages_dir: str | Path, docs_per_task: int) -> list[WriteTask]:
    """Consecutive pages parts grouped to about ``docs_per_task`` documents (from metadata)."""
    parts = sorted(Path(pages_dir).glob("part-*.parquet"))
    tasks: list[WriteTask] = []
    group: list[str] = []
    rows = 0
    for part in parts:
        n = pq.ParquetFile(part).metadata.num_rows
        if group and rows + n > docs_per_task:
            tasks.append(WriteTask(len(tasks), tuple(group)))
            group, rows = [], 0
        group.append(str(part))
        rows += n
    if group:
        tasks.append(WriteTask(len(tasks), tuple(group)))
    return tasks


_EXTENSIONS = {"image/jpeg": "jpg", "image/webp": "webp"}


def sample_files(doc: Document, config: Config, stats: StageStats) -> list[tuple[str, bytes]]:
    """The tar members of one interleaved sample: json first, then images in node order.

    After the images stage, nodes carry normalised bytes and a status; without it (images
    disabled) archived bytes are converted here.
    """
    images: list[tuple[str, bytes]] = []
    files_by_position: dict[int, str] = {}
    for image_index, node in enumerate(doc.image_nodes):
        stats.count("image_nodes")
        if node.status is not None:
            data, ext = node.image, _EXTENSIONS.get(node.image_mime or "", "jpg")
            if data is None:
                stats.count(f"image:{node.reason or node.status}")
                continue
        elif node.image is None:
            stats.count("image:no_bytes")
            continue
        else:
            data, reason = to_jpeg(node.image, config.shards.max_image_pixels, config.shards.jpeg_quality)
            ext = "jpg"
            if data is None:
                stats.count(f"image:{reason}")
                continue
        name = image_file_name(image_index, ext)
        files_by_position[node.position] = name
        images.append((name, data))
        stats.count("images_written")
        if node.ocr_text is not None:
            stats.count("images_with_ocr")
    return [("json", interleaved_json_bytes(doc, files_by_position)), *images]


def _sidecar_row(doc: Document, files: list[tuple[str, bytes]]) -> dict[str, Any]:
    return {
        "key": doc.doc_id,
        "url": doc.url,
        "language": doc.language,
        "language_score": doc.language_score,
        "num_text_nodes": len(doc.text_nodes),
        "num_images": len(doc.image_nodes),
        "num_image_files": len(files) - 1,
        "text_chars": len(doc.text),
        "sample_bytes": sample_tar_size(files),
        "json_sha256": hashlib.sha256(files[0][1]).hexdigest(),
    }


def finished_task(task: WriteTask, out_dir: str | Path) -> dict[str, Any] | None:
    """The result of a task a previous attempt finished (its ``_DONE.json``), or None."""
    done = Path(out_dir) / "_tmp" / task.name / "_DONE.json"
    return read_json(done) if done.exists() else None


def start_task(task: WriteTask, config: Config, out_dir: str | Path) -> tuple[Path, ShardWriter]:
    """A task's temporary folder, emptied of a crashed attempt's output, and its writer."""
    tmp = Path(out_dir) / "_tmp" / task.name
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp, ShardWriter(tmp, "", config.shards.max_samples, config.shards.max_bytes)


def close_shards(tmp: Path, writer: ShardWriter, sidecars: dict[str, list[dict[str, Any]]],
                 schema: pa.Schema) -> list[dict[str, Any]]:
    """Close the task's shards and write each one's parquet sidecar (one row per sample)."""
    shards = []
    for info in writer.close():
        path = tmp / info.name.replace(".tar", ".parquet")
        pq.write_table(pa.Table.from_pylist(sidecars[info.name], schema=schema), path, compression="zstd")
        shards.append({"tmp": info.name, "samples": info.samples, "bytes": info.bytes, "sha256": info.sha256,
                       "sidecar_sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    return shards


def task_documents(task: WriteTask, config: Config, with_scores: bool = False, with_ocr: bool = False
                   ) -> Iterator[Document | Dropped]:
    """Local engine: a task's documents in input order, fetched images attached, dedup
    applied, (``with_scores``) CLIP scores and (``with_ocr``) the text OCR read in images
    attached; the Spark engine gets the same through ``spark_join.joined_documents``."""
    lookup = _image_table(config)
    dedup = _dedup_tables(config)
    scores = _scores_table(config) if with_scores else None
    ocr = _ocr_table(config) if with_ocr and lookup is not None else None
    for part in task.parts:
        for doc in read_pages(part):
            if doc.kind == DocumentKind.HTML.value:
                if lookup is not None:
                    attach_fetched(doc, lookup)
                if ocr is not None:
                    attach_ocr(doc, ocr)
                if dedup is not None:
                    result = dedup.apply(doc)
                    if not isinstance(result, Document):
                        yield Dropped(doc, result)
                        continue
                if scores is not None:
                    attach_scores(doc, scores.get(doc.doc_id, ()))
            yield doc


def write_interleaved_task(task: WriteTask, config: Config, out_dir: str) -> dict[str, Any]:
    """Local engine: read the task's pages parts, attach fetched images, write shards."""
    if (finished := finished_task(task, out_dir)) is not None:
        return finished
    docs = task_documents(task, config, with_scores=config.clip.enabled, with_ocr=config.image_ocr.enabled)
    return write_task_docs(task, docs, config, out_dir)


_TABLES: dict[str, Any] = {}


def _dedup_tables(config: Config) -> DedupTables | None:
    """The dedup tables when the dedup stage ran (loaded once per process and manifest)."""
    folder = Path(config.run.output) / "dedup"
    if not config.dedup.enabled:
        return None
    key = f"dedup:{folder.resolve()}@{fingerprint([folder / '_manifest.json'])}"
    if key not in _TABLES:
        _TABLES[key] = DedupTables(folder)
    return _TABLES[key]


def _scores_table(config: Config) -> dict[str, list[dict[str, Any]]]:
    """The scores/ table by document (loaded once per process and manifest)."""
    folder = Path(config.run.output) / "scores"
    key = f"scores:{folder.resolve()}@{fingerprint([folder / '_manifest.json'])}"
    if key not in _TABLES:
        for old in [k for k in _TABLES if k.startswith("scores:")]:
            del _TABLES[old]
        _TABLES[key] = load_scores(folder)
    return _TABLES[key]


def _ocr_table(config: Config) -> dict[str, dict[str, Any]]:
    """The image_ocr/ annotations by image URL (loaded once per process and manifest)."""
    folder = image_ocr_dir(config)
    key = f"image_ocr:{folder.resolve()}@{fingerprint([folder / '_manifest.json'])}"
    if key not in _TABLES:
        for old in [k for k in _TABLES if k.startswith("image_ocr:")]:
            del _TABLES[old]
        _TABLES[key] = load_ocr_table(folder)
    return _TABLES[key]


def _image_table(config: Config) -> dict[str, dict[str, Any]] | None:
    """The images/ table when the images stage ran (loaded once per process)."""
    folder = Path(config.run.output) / "images"
    if not config.images.enabled:
        return None
    # Keyed by the table's manifest too: a rerun that changed the table must not see the old one.
    key = f"images:{folder.resolve()}@{fingerprint([folder / '_manifest.json'])}"
    if key not in _TABLES:
        for old in [k for k in _TABLES if k.startswith("images:")]:
            del _TABLES[old]  # one images table in memory at a time
        _TABLES[key] = load_image_table(folder)
    return _TABLES[key]


class Selector:
    """Applies the ``select`` thresholds to tagged documents (in place: rejected paragraphs
    go), then the interleaved-set rules on their images."""

    def __init__(self, config: Config, stats: StageStats) -> None:
        self.chain, self.images = FilterChain(config.filters), InterleavedFilter(config.filters)
        self.select, self.stats = config.select, stats

    def __call__(self, doc: Document) -> Dropped | None:
        if not self.select.enabled:
            return None
        texts = doc.text_nodes
        selection = self.chain.select(doc, self.select)
        for verdict in selection.removed.values():
            self.stats.count(f"paragraphs_removed:{verdict.reason}")
        if selection.removed:
            remap_placement(doc, text_index_map(texts, doc))
        for _ in drop_low_scores(doc, self.select.min_clip_score):
            self.stats.count("images_dropped:clip_score")
        verdict = selection.verdict or self.images.select(doc, self.select)
        return Dropped(doc, verdict.reason, verdict) if verdict is not None else None


def write_task_docs(task: WriteTask, docs: Iterable[Document | Dropped], config: Config, out_dir: str
                    ) -> dict[str, Any]:
    """Write one task's documents into ``_tmp/<task>/``; returns shard infos and stats.

    A ``Dropped`` in ``docs`` is a document removed upstream (dedup), with its reason. Each
    document is selected from its signals; every drop becomes a row of the exclusions table.
    """
    if (finished := finished_task(task, out_dir)) is not None:
        return finished
    tmp, writer = start_task(task, config, out_dir)
    stats = StageStats(STAGE)
    sidecars: dict[str, list[dict[str, Any]]] = {}
    excluded: list[dict[str, Any]] = []
    select = Selector(config, stats)
    for doc in docs:
        stats.n_in += 1
        if isinstance(doc, Document) and doc.kind != DocumentKind.HTML.value:
            stats.drop(f"routed:{doc.kind}")  # PDFs go to the OCR stage, not here
            continue
        if isinstance(doc, Document):
            if doc.signals.get("paragraphs_removed"):
                stats.count("paragraphs_removed", int(doc.signals["paragraphs_removed"]))
            doc = select(doc) or doc
        if isinstance(doc, Dropped):
            stats.drop(doc.reason)
            excluded.append(exclusion_row(doc, "write"))
            continue
        files = sample_files(doc, config, stats)
        shard = writer.write(doc.doc_id, files)
        sidecars.setdefault(shard, []).append(_sidecar_row(doc, files))
        stats.n_out += 1
    shards = close_shards(tmp, writer, sidecars, INTERLEAVED_SIDECAR_SCHEMA)
    if excluded:
        write_exclusions(tmp / EXCLUDED, excluded)
    stats.check()
    result = {"task": task.name, "shards": shards, "excluded": len(excluded), "stats": {STAGE: stats.to_dict()}}
    atomic_write_json(tmp / "_DONE.json", result)
    return result


def finalize_shards(out_dir: str | Path, results: list[dict[str, Any]], config: Config,
                    run_stats: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Rename task shards to contiguous names and write manifest.json (idempotent): the
    shards and their counts, plus the layout's own ``fields`` (``layout`` among them)."""
    out = Path(out_dir)
    shards = []
    n = 0
    for result in results:
        for shard in result["shards"]:
            name = f"shard-{n:06d}"
            for src_name, dst_name in ((shard["tmp"], f"{name}.tar"),
                                       (shard["tmp"].replace(".tar", ".parquet"), f"{name}.parquet")):
                src = out / "_tmp" / result["task"] / src_name
                if src.exists():  # absent when a crashed finalize already moved it
                    src.replace(out / dst_name)
            shards.append({"name": f"{name}.tar", "sidecar": f"{name}.parquet",
                           "samples": shard["samples"], "bytes": shard["bytes"],
                           "sha256": shard["sha256"], "sidecar_sha256": shard["sidecar_sha256"]})
            n += 1
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "config_hash": config.hash(),
        "shards": shards,
        "num_shards": len(shards),
        "num_samples": sum(s["samples"] for s in shards),
        "num_bytes": sum(s["bytes"] for s in shards),
        "url_pattern": f"shard-{{000000..{max(n - 1, 0):06d}}}.tar",
        "stats": run_stats,
        **fields,
    }
    atomic_write_json(out / "manifest.json", manifest)
    shutil.rmtree(out / "_tmp", ignore_errors=True)
    return manifest


def finalize_interleaved(out_dir: str | Path, results: list[dict[str, Any]], config: Config,
                         run_stats: dict[str, Any]) -> dict[str, Any]:
    """Move the tasks' exclusions to ``excluded/``, then finalize the shards."""
    out = Path(out_dir)
    excluded_files = []
    for result in results:
        src, dst = out / "_tmp" / result["task"] / EXCLUDED, out / "excluded" / f"{result['task']}.parquet"
        if src.exists():
            dst.parent.mkdir(exist_ok=True)
            src.replace(dst)
        if dst.exists():
            excluded_files.append(str(dst.relative_to(out)))
    exclusions = {"files": excluded_files, "rows": sum(r.get("excluded", 0) for r in results)}
    return finalize_shards(out, results, config, run_stats, {"layout": LAYOUT, "exclusions": exclusions})
