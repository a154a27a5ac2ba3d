"""The extract stage for one WARC file: records → Documents → one parquet part of ``pages/``.

One Spark task per WARC. Images archived in the same WARC are attached by a first pass that
indexes image records (URL → offset) and random reads in the second pass, so memory stays
flat whatever the WARC holds. Remote WARCs are spooled to local disk for that (streamed,
bounded memory); with ``extract.archived_images = false`` they are streamed in one pass.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import Config, ExtractConfig
from pipeline.documents import build_document, sniff_mime
from pipeline.outputs import atomic_write_json, read_json
from pipeline.exclusions import write_exclusions
from pipeline.filtering import FilterStage
from pipeline.langid import LanguageId
from pipeline.stage import Stage, chain
from pipeline.stats import RunStats, StageStats
from pipeline.warc.records import WarcFileReport, WarcRecord, read_record_at, read_records
from pipeline.warc.sources import is_local, local_copy
from schemas import Document
from schemas.arrow import DOCUMENT_SCHEMA, documents_to_table

log = logging.getLogger(__name__)

STAGE = "extract"
ROWS_PER_GROUP = 256  # parquet row group: bounds memory, keeps reads selective
GROUP_BYTES = 64 * 1024 * 1024  # ... and so does a cap on the payload bytes in one group


@dataclass(frozen=True)
class WarcTask:
    index: int  # position in the sorted input list: names the part file
    uri: str

    @property
    def part(self) -> str:
        return f"part-{self.index:05d}"


def _image_key(url: str) -> str:
    return url.split("#", 1)[0]


def index_archived_images(path: str, reader: str, max_bytes: int) -> dict[str, int]:
    """URL → offset of every image response in the WARC (first capture wins)."""
    index: dict[str, int] = {}
    for record in read_records(path, reader=reader, max_block_bytes=max_bytes):
        if (
            record.record_type in ("response", "resource")
            and record.offset is not None
            and (sniff_mime(record) or "").startswith("image/")
            and (record.http_status is None or 200 <= record.http_status < 300)
            and record.target_uri
        ):
            index.setdefault(_image_key(record.target_uri), record.offset)
    return index


class ArchivedImages:
    """Random reads of image records, with a small LRU for images repeated across pages."""

    def __init__(self, path: str, reader: str, index: dict[str, int], config: ExtractConfig,
                 stats: StageStats, cache_bytes: int = 16 * 1024 * 1024) -> None:
        self.path, self.reader, self.index = path, reader, index
        self.config, self.stats = config, stats
        self.cache: OrderedDict[str, WarcRecord | None] = OrderedDict()
        self.cache_bytes, self.cached = cache_bytes, 0

    def _load(self, offset: int) -> WarcRecord | None:
        record = read_record_at(self.path, offset, reader=self.reader)
        if record is None or record.payload_error or not record.payload:
            return None
        return record

    def get(self, url: str) -> WarcRecord | None:
        key = _image_key(url)
        if key not in self.index:
            return None
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        record = self._load(self.index[key])
        self.cache[key] = record
        self.cached += len(record.payload) if record else 0
        while self.cached > self.cache_bytes and len(self.cache) > 1:
            _, old = self.cache.popitem(last=False)
            self.cached -= len(old.payload) if old else 0
        return record

    def attach(self, doc: Document) -> None:
        for node in doc.image_nodes:
            self.stats.count("image_nodes")
            record = self.get(node.url)
            if record is None:
                continue
            if len(record.payload) > self.config.max_archived_image_bytes:
                self.stats.count("archived_image_too_large")
                continue
            node.image = record.payload
            node.image_mime = sniff_mime(record)
            node.image_source = "warc"
            self.stats.count("images_from_warc")


def extract_records(records: Iterator[WarcRecord], config: ExtractConfig, stats: StageStats,
                    images: ArchivedImages | None) -> Iterator[Document]:
    for record in records:
        stats.n_in += 1
        try:
            result = build_document(record, config)
        except Exception as e:  # a bug in a parser must not kill a 100k-WARC job: count it
            log.warning("extraction failed for %s: %r", record.target_uri, e)
            result = f"error:{type(e).__name__}"
        if isinstance(result, str):
            stats.drop(result)
            continue
        if images is not None and result.kind == "html":
            images.attach(result)
        stats.n_out += 1
        stats.count(f"kind:{result.kind}")
        yield result


def document_stages(config: Config) -> list[Stage]:
    """The Stages the extract task runs on every Document it builds, in order: language id
    on the whole text, then the text filters (tag; drop only those in ``filters.drop``)."""
    stages: list[Stage] = []
    ex = config.extract
    if ex.langid:
        stages.append(LanguageId(ex.langid_model, ex.langid_max_chars))
    if config.filters.enabled:
        stages.append(FilterStage(config.filters, config.select))
    return stages


def _doc_bytes(doc: Document) -> int:
    """Rough in-memory size of a document: what a row group must not grow without bound."""
    images = sum(len(n.image) for n in doc.image_nodes if n.image)
    return images + len(doc.source or b"") + sum(len(n.text) for n in doc.text_nodes)


def _write_parquet(docs: Iterator[Document], path: Path) -> int:
    """Stream documents into a parquet file in row groups; returns the row count.

    A row group closes at ROWS_PER_GROUP documents or GROUP_BYTES of payload, whichever
    comes first, so pages with many archived images (or big PDFs) keep memory bounded.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    rows = 0
    with pq.ParquetWriter(tmp, DOCUMENT_SCHEMA, compression="zstd") as writer:
        batch: list[Document] = []
        size = 0
        for doc in docs:
            batch.append(doc)
            size += _doc_bytes(doc)
            if len(batch) >= ROWS_PER_GROUP or size >= GROUP_BYTES:
                writer.write_table(documents_to_table(batch))
                rows += len(batch)
                batch, size = [], 0
        if batch or rows == 0:
            writer.write_table(documents_to_table(batch) if batch else DOCUMENT_SCHEMA.empty_table())
            rows += len(batch)
    tmp.replace(path)
    return rows


def extract_warc(task: WarcTask, config: Config, out_dir: str) -> dict[str, Any]:
    """Run the extract stage on one WARC; returns its stats and file report (also on disk).

    The stats file is written last: its presence marks the part finished, so a rerun after
    a crash redoes only unfinished WARCs.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats_path = out / "_stats" / f"{task.part}.json"
    if stats_path.exists():
        return read_json(stats_path)
    ex = config.extract
    reader = config.input.reader
    stats = StageStats(STAGE)
    report = WarcFileReport(uri=task.uri)
    with contextlib.ExitStack() as stack:
        path = task.uri
        if ex.archived_images and not is_local(task.uri):
            spool = stack.enter_context(tempfile.TemporaryDirectory(dir=ex.spool_dir))
            path = stack.enter_context(local_copy(task.uri, spool))
        images = None
        if ex.archived_images:
            index = index_archived_images(path, reader, ex.max_archived_image_bytes)
            stats.count("archived_image_records", len(index))
            images = ArchivedImages(path, reader, index, ex, stats)
        records = read_records(path, reader=reader, report=report, max_block_bytes=ex.max_record_bytes)
        # Records keep the URI the user gave, not the spool path.
        records = (_with_uri(r, task.uri) for r in records)
        stages = document_stages(config)
        for stage in stages:
            stage.setup()
            stack.callback(stage.teardown)
        docs = chain(stages, extract_records(records, ex, stats, images))
        rows = _write_parquet(docs, out / f"{task.part}.parquet")
        excluded = [row for s in stages if isinstance(s, FilterStage) for row in s.exclusions]
        if excluded:
            write_exclusions(out / "excluded" / f"{task.part}.parquet", excluded)
    stats.count("files")
    if report.truncated:
        stats.count("files_truncated")
    if report.error:
        stats.count(f"file_error:{report.error}")
    result = {
        "part": task.part,
        "uri": task.uri,
        "rows": rows,
        "stats": {STAGE: stats.to_dict(), **{s.name: s.reset_stats().to_dict() for s in stages}},
        "file": {"error": report.error, "detail": report.detail, "truncated": report.truncated,
                 "records": report.records},
    }
    RunStats.from_dict(result["stats"]).check()
    atomic_write_json(stats_path, result)
    return result


def _with_uri(record: WarcRecord, uri: str) -> WarcRecord:
    record.warc_file = uri
    return record


def read_pages(path: str | Path) -> Iterator[Document]:
    """Documents of one pages parquet part, in order, one row group at a time."""
    pf = pq.ParquetFile(path)
    for i in range(pf.num_row_groups):
        table: pa.Table = pf.read_row_group(i)
        for row in table.to_pylist():
            yield Document.from_row(row)
