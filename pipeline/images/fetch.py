"""The fetch stage: distinct image URLs of ``pages/`` → the ``images/`` table.

URLs are split into buckets by ``crc32(url) % n`` (the same function in Spark and Python, so
both engines make the same buckets). One task per bucket: images archived in the WARCs are
taken from the pages, the rest downloaded (pipeline/images/download.py), every image decoded
and normalised (decode.py) and filtered (filters/image.py). Results are written in chunks
of ``images.chunk_size`` URLs, so a killed run loses at most the URLs in flight; a rerun
skips URLs already finished (ok, dropped, or failed permanently unless ``--retry-failed``).
At the end of a task its chunks are compacted into ``bucket-NNNNN.parquet`` sorted by URL.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from filters.image import ImageFilterSettings, apply_image_filters
from pipeline.config import Config, ImagesConfig
from pipeline.images.decode import DecodedImage, DecodeSettings, decode_image
from pipeline.images.download import Downloader, DownloadSettings, FetchResult
from pipeline.outputs import atomic_write_bytes
from pipeline.stats import StageStats
from schemas.arrow import IMAGES_SCHEMA

STAGE = "fetch_images"
CHUNKS = "_chunks"


@dataclass(frozen=True)
class ImageTask:
    bucket: int
    urls: tuple[tuple[str, bytes | None], ...]  # (url, archived bytes or None), sorted by url

    @property
    def name(self) -> str:
        return f"bucket-{self.bucket:05d}"


def bucket_of(url: str, buckets: int) -> int:
    # zlib.crc32 equals Spark's crc32() on the UTF-8 bytes: the engines agree on buckets.
    return zlib.crc32(url.encode("utf-8")) % buckets


def plan_buckets(urls: Iterable[tuple[str, bytes | None]], urls_per_task: int) -> list[ImageTask]:
    """Group (url, archived bytes) pairs into buckets of about ``urls_per_task`` URLs."""
    pairs = sorted(urls, key=lambda p: p[0])
    n = max(1, -(-len(pairs) // urls_per_task))
    groups: dict[int, list[tuple[str, bytes | None]]] = {}
    for url, data in pairs:
        groups.setdefault(bucket_of(url, n), []).append((url, data))
    return [ImageTask(b, tuple(groups[b])) for b in sorted(groups)]


# -- settings from the config tree ------------------------------------------------------------


def download_settings(c: ImagesConfig) -> DownloadSettings:
    return DownloadSettings(
        user_agent=c.user_agent, threads=c.threads, per_host=c.per_host,
        connect_timeout=c.connect_timeout, total_timeout=c.total_timeout, retries=c.retries,
        backoff=c.backoff, max_redirects=c.max_redirects, max_bytes=c.max_bytes, proxy=c.proxy,
        honour_noai=c.honour_noai, block_private=c.block_private,
        allow_networks=tuple(c.allow_networks), host_map=dict(c.host_map) or None,
    )


def decode_settings(c: ImagesConfig) -> DecodeSettings:
    return DecodeSettings(max_pixels=c.max_pixels, max_side=c.max_side, output_format=c.output_format,
                          quality=c.quality, resize_filter=c.resize_filter)


def filter_settings(c: ImagesConfig) -> ImageFilterSettings:
    kwargs: dict[str, Any] = {"min_side": c.min_side, "max_aspect": c.max_aspect, "min_bytes": c.min_bytes}
    if c.url_keywords is not None:
        kwargs["url_keywords"] = tuple(c.url_keywords)
    return ImageFilterSettings(**kwargs)


# -- one URL → one row ------------------------------------------------------------------------


def _row(url: str, status: str, reason: str | None, transient: bool = False, **fields: Any) -> dict[str, Any]:
    row = dict.fromkeys(IMAGES_SCHEMA.names)
    row.update(url=url, status=status, reason=reason, transient=transient, **fields)
    return row


@dataclass(frozen=True)
class ImageSettings:
    """Decode and filter settings, built once per task from the config."""

    decode: DecodeSettings
    filters: ImageFilterSettings
    enabled: tuple[str, ...]

    @classmethod
    def of(cls, c: ImagesConfig) -> "ImageSettings":
        return cls(decode_settings(c), filter_settings(c), tuple(c.filters))


def image_row(url: str, data: bytes, source: str, settings: ImageSettings,
              fetched: FetchResult | None = None) -> dict[str, Any]:
    """Decode, filter and describe one image's bytes."""
    meta: dict[str, Any] = {"source": source, "original_bytes": len(data),
                            "sha256": hashlib.sha256(data).hexdigest()}
    if fetched is not None:
        meta.update(http_status=fetched.http_status, final_url=fetched.final_url,
                    content_type=fetched.content_type, fetched_at=fetched.fetched_at, attempts=fetched.attempts)
    decoded = decode_image(data, settings.decode)
    if isinstance(decoded, str):
        return _row(url, "failed", decoded, **meta)
    meta.update(_decoded_fields(decoded))
    reason = apply_image_filters(url, decoded, len(data), settings.filters, enabled=list(settings.enabled))
    if reason is not None:
        meta["image"] = None  # filtered out: keep the description, not the pixels
        return _row(url, "dropped", reason, **meta)
    return _row(url, "ok", None, **meta)


def _decoded_fields(d: DecodedImage) -> dict[str, Any]:
    return {
        "image": d.data, "format": d.format, "source_format": d.source_format,
        "width": d.width, "height": d.height, "original_width": d.original_width,
        "original_height": d.original_height, "pixel_sha256": d.pixel_sha256,
        "phash": d.phash - (1 << 64) if d.phash >= 1 << 63 else d.phash,  # unsigned → int64
    }


def failed_row(result: FetchResult) -> dict[str, Any]:
    return _row(result.url, "failed", result.reason, result.transient, source="download",
                http_status=result.http_status, final_url=result.final_url,
                content_type=result.content_type, fetched_at=result.fetched_at, attempts=result.attempts)


def fetch_rows(task: ImageTask, skip: set[str], config: ImagesConfig) -> Iterator[dict[str, Any]]:
    """Rows for the task's URLs not in ``skip``: archived ones first, then downloads."""
    settings = ImageSettings.of(config)
    to_download = []
    for url, archived in task.urls:
        if url in skip:
            continue
        if archived is not None:
            yield image_row(url, archived, "warc", settings)
        elif config.download:
            to_download.append(url)
        else:
            yield _row(url, "failed", "not_archived", source="none")  # nothing was fetched: downloads are off
    if not to_download:
        return
    with Downloader(download_settings(config)) as downloader:
        for result in downloader.fetch_many(to_download):
            if result.status == "ok" and result.body is not None:
                yield image_row(result.url, result.body, "download", settings, result)
            else:
                yield failed_row(result)


# -- chunks, resume, compaction ---------------------------------------------------------------


def _read_rows(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """Latest row per URL over files in order (later files win)."""
    latest: dict[str, dict[str, Any]] = {}
    for path in paths:
        for row in pq.read_table(path, schema=IMAGES_SCHEMA).to_pylist():
            latest[row["url"]] = row
    return latest


def _finished(row: dict[str, Any], retry_failed: bool) -> bool:
    if row["status"] in ("ok", "dropped"):
        return True
    return not row["transient"] and not retry_failed


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=IMAGES_SCHEMA), sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def fetch_bucket(task: ImageTask, config: Config, out_dir: str) -> dict[str, Any]:
    """Fetch one bucket; returns its stats (computed over the bucket's final rows)."""
    out = Path(out_dir)
    chunk_dir = out / CHUNKS
    chunk_dir.mkdir(parents=True, exist_ok=True)
    final = out / f"{task.name}.parquet"
    previous = sorted(chunk_dir.glob(f"{task.name}-*.parquet"))
    known = _read_rows(([final] if final.exists() else []) + previous)
    skip = {url for url, row in known.items() if _finished(row, config.run.retry_failed)}
    wanted = {url for url, _ in task.urls}
    counters: Counter = Counter(resumed=len(skip & wanted))
    chunk: list[dict[str, Any]] = []
    seq = len(previous)
    for row in fetch_rows(task, skip, config.images):
        counters[f"source:{row['source']}"] += 1
        chunk.append(row)
        if len(chunk) >= config.images.chunk_size:
            _write_rows(chunk_dir / f"{task.name}-{seq:05d}.parquet", chunk)
            seq, chunk = seq + 1, []
    if chunk:
        _write_rows(chunk_dir / f"{task.name}-{seq:05d}.parquet", chunk)
    return compact_bucket(task, out, counters)


def compact_bucket(task: ImageTask, out: Path, counters: Counter) -> dict[str, Any]:
    """Merge the bucket's file and chunks into one file sorted by URL; stats from it."""
    final = out / f"{task.name}.parquet"
    chunks = sorted((out / CHUNKS).glob(f"{task.name}-*.parquet"))
    rows = _read_rows(([final] if final.exists() else []) + chunks)
    wanted = [url for url, _ in task.urls]
    ordered = [rows[url] for url in wanted if url in rows]
    _write_rows(final, ordered)
    for path in chunks:
        path.unlink()
    stats = StageStats(STAGE, n_in=len(wanted))
    for row in ordered:
        if row["status"] == "ok":
            stats.n_out += 1
        else:
            stats.drop(row["reason"] or "unknown")
            if row["transient"]:
                stats.count("transient_failures")  # a rerun will try these again
    missing = len(wanted) - len(ordered)  # a URL that produced no row at all
    if missing:
        stats.drop("not_fetched", missing)
    stats.counters.update(counters)
    stats.check()
    return {"bucket": task.name, "stats": {STAGE: stats.to_dict()}}
