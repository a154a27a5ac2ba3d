"""The scoring job: documents (with their images) → ``scores/`` table, one part per task.

Tasks are the write stage's (consecutive pages parts, ``shards.docs_per_task`` documents),
so scores and shards line up. Under Spark the documents come from the same DataFrame join
as the write stage (pages + images table + dedup marks, sorted back into input order) and
are scored in ``mapInArrow``: Arrow record batches in, the model loaded once per Python
worker (``load_clip`` caches it), images decoded and preprocessed per batch inside
``score_documents``. Each task writes its part itself (deterministic names, atomic rename)
and returns only its stats, so Spark's own writer and its random file names stay out.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from functools import partial
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.clip.model import ClipSpec, load_clip
from pipeline.clip.score import score_documents
from pipeline.config import Config, ConfigError
from pipeline.exclusions import Dropped
from pipeline.outputs import atomic_write_json, read_json
from pipeline.shards.interleaved import WriteTask
from pipeline.stats import StageStats
from schemas import Document, DocumentKind
from schemas.arrow import SCORES_SCHEMA

STAGE = "score_clip"
_RESULT = pa.schema([("task", pa.int32()), ("result", pa.string())])  # mapInArrow output: "task INT, result STRING"
ROWS_PER_GROUP = 4096


def _scorable(docs: Iterable[Document | Dropped], stats: StageStats) -> Iterator[Document]:
    """HTML documents kept by dedup that have at least one image node."""
    for doc in docs:
        if isinstance(doc, Dropped):
            stats.count(f"documents_skipped:{doc.reason}")
        elif doc.kind != DocumentKind.HTML.value:
            stats.count(f"documents_skipped:routed:{doc.kind}")
        elif not doc.image_nodes:
            stats.count("documents_skipped:no_images")
        else:
            stats.count("documents")
            yield doc


def score_task_docs(task: WriteTask, docs: Iterable[Document | Dropped], config: Config, out_dir: str
                    ) -> dict[str, Any]:
    """Score one task's documents into ``part-NNNNN.parquet``; the stats file marks it done."""
    out = Path(out_dir)
    done = out / "_stats" / f"part-{task.index:05d}.json"
    if done.exists():
        return read_json(done)
    stats = StageStats(STAGE)
    scorable = _scorable(docs, stats)
    first = next(scorable, None)
    rows: Iterable[dict[str, Any]] = ()
    if first is not None:  # the model is loaded only where there is something to score
        clip = load_clip(dataclasses.replace(ClipSpec.from_config(config.clip), device=_task_device(config.clip.device)))
        rows = score_documents(clip, itertools.chain([first], scorable), config.clip, stats)
    path = out / f"part-{task.index:05d}.parquet"
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    with pq.ParquetWriter(tmp, SCORES_SCHEMA, compression="zstd") as writer:
        for batch in _batched(rows, ROWS_PER_GROUP):
            writer.write_table(pa.Table.from_pylist(batch, schema=SCORES_SCHEMA))
            n += len(batch)
        if n == 0:
            writer.write_table(SCORES_SCHEMA.empty_table())
    tmp.replace(path)
    stats.check()
    result = {"part": path.name, "rows": n, "pages": [Path(p).name for p in task.parts],
              "stats": {STAGE: stats.to_dict()}}
    atomic_write_json(done, result)
    return result


def check_capfilt(config: Config) -> None:
    """At job start, on the driver: clip.capfilt needs a model that can caption. Read from the
    model's config, no weights loaded; models whose config is not readable here (hf-hub:)
    are checked when a task loads them (``score_documents`` raises the same message)."""
    from pipeline.clip.model import config_can_caption

    if config.clip.capfilt.enabled and config_can_caption(ClipSpec.from_config(config.clip)) is False:
        raise ConfigError(f"clip.capfilt.enabled needs a model that can caption, and {config.clip.model!r} "
                          "cannot (no text decoder): use a CoCa model, e.g. interleaf-coca-tiny, or set "
                          "clip.capfilt.enabled=false")


def _task_device(device: str) -> str:
    """With Spark GPU scheduling (spark.task.resource.gpu.amount), use the GPU Spark gave
    this task rather than cuda:0; otherwise the configured device."""
    if device != "auto":
        return device
    try:
        from pyspark import TaskContext

        context = TaskContext.get()
        gpus = context.resources().get("gpu") if context is not None else None
    except Exception:  # noqa: BLE001 - no Spark, or a Spark without resources: keep auto
        return device
    return f"cuda:{gpus.addresses[0]}" if gpus is not None and gpus.addresses else device


def _batched(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(itertools.islice(it, size)):
        yield batch


def local_score_task(task: WriteTask, config: Config, out_dir: str) -> dict[str, Any]:
    from pipeline.shards.interleaved import task_documents

    return score_task_docs(task, task_documents(task, config), config, out_dir)


def _score_arrow(batches: Iterator[pa.RecordBatch], tasks: dict[int, WriteTask], config: Config,
                 out_dir: str) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: rows arrive sorted by task; each task's documents stream into its part."""
    from pipeline.shards.spark_join import by_task, document_from_values

    rows = (row for batch in batches for row in batch.to_pylist())
    fn = partial(score_task_docs, config=config, out_dir=out_dir)
    for index, result in by_task(rows, tasks, fn, document_from_values):
        yield pa.RecordBatch.from_pylist([{"task": index, "result": json.dumps(result)}], schema=_RESULT)


def spark_score(spark, tasks: list[WriteTask], config: Config, out_dir: str) -> list[dict[str, Any]]:
    from pipeline.shards.spark_join import joined_documents

    output = Path(config.run.output)
    docs = joined_documents(spark, tasks, output / "images" if config.images.enabled else None,
                            output / "dedup" if config.dedup.enabled else None)
    fn = partial(_score_arrow, tasks={t.index: t for t in tasks}, config=config, out_dir=out_dir)
    done = {r["task"]: json.loads(r["result"]) for r in docs.mapInArrow(fn, "task INT, result STRING").collect()}
    # A task whose parts hold no documents reaches no partition: it scored nothing.
    return [done.get(t.index) or score_task_docs(t, [], config, out_dir) for t in tasks]


def run_score_tasks(tasks: list[WriteTask], config: Config, out_dir: str) -> list[dict[str, Any]]:
    from pipeline.spark import get_spark, run_tasks

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    if config.run.engine == "spark":
        return spark_score(get_spark(config.spark), tasks, config, out_dir)
    return run_tasks(partial(local_score_task, config=config, out_dir=out_dir), tasks, config, "score clip")


def task_score_rows(scores_dir: str | Path, task: WriteTask) -> dict[str, list[dict[str, Any]]]:
    """doc_id → score rows of the documents of ``task``'s pages parts (read from the score
    parts that cover them: the scoring job records which pages parts each part holds)."""
    folder = Path(scores_dir)
    wanted = {Path(p).name for p in task.parts}
    rows: dict[str, list[dict[str, Any]]] = {}
    for part in read_json(folder / "_manifest.json")["parts"]:
        if wanted & set(part["pages"]):
            for row in pq.read_table(folder / part["part"]).to_pylist():
                rows.setdefault(row["doc_id"], []).append(row)
    return rows
