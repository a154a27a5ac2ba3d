"""The pair-shard job: documents (images attached) + their score rows → ``shards/pairs/``.

Same tasks as the interleaved write stage. Score rows come from the score parts that cover
a task's pages parts (bounded by the task's size); documents come, as for the interleaved
shards, from the local engine's lookup tables or from the Spark join of pages and images.
Pairs are written for every HTML document dedup kept; the text filters select the
interleaved set, the CLIP threshold (``select.pair_min_clip_score``) selects pairs, and
``select.pair_text`` which text a pair's txt holds (the web text, or with ``best`` the
synthetic caption of clip.capfilt when it beats a web text below the threshold: see
``pipeline/shards/pairs.py``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Iterable, Iterator

from pipeline.clip.job import task_score_rows
from pipeline.config import Config
from pipeline.exclusions import Dropped
from pipeline.ocr.annotate import image_ocr_dir
from pipeline.shards.interleaved import WriteTask, task_documents
from pipeline.shards.pairs import finalize_pairs, write_pair_task
from pipeline.stats import RunStats
from schemas import Document, DocumentKind


def _with_rows(docs: Iterable[Document | Dropped], rows: dict[str, list[dict[str, Any]]]
               ) -> Iterator[tuple[Document, list[dict[str, Any]]]]:
    for doc in docs:
        if isinstance(doc, Document) and doc.kind == DocumentKind.HTML.value and doc.image_nodes:
            yield doc, rows.get(doc.doc_id, [])


def pair_task(task: WriteTask, docs: Iterable[Document | Dropped], config: Config, out_dir: str) -> dict[str, Any]:
    rows = task_score_rows(Path(config.run.output) / "scores", task)
    return write_pair_task(task, _with_rows(docs, rows), config, out_dir, config.select.pair_min_clip_score)


def _local(task: WriteTask, config: Config, out_dir: str) -> dict[str, Any]:
    return pair_task(task, task_documents(task, config, with_ocr=config.image_ocr.enabled), config, out_dir)


def write_pairs(tasks: list[WriteTask], config: Config, out_dir: str) -> dict[str, Any]:
    from pipeline.spark import get_spark, run_tasks

    if config.run.engine == "spark" and config.images.enabled:
        from pipeline.shards.spark_join import joined_documents, run_joined_tasks

        output = Path(config.run.output)
        docs = joined_documents(get_spark(config.spark), tasks, output / "images",
                                output / "dedup" if config.dedup.enabled else None,
                                image_ocr=image_ocr_dir(config) if config.image_ocr.enabled else None)
        results = run_joined_tasks(docs, tasks, partial(pair_task, config=config, out_dir=out_dir))
    else:
        results = run_tasks(partial(_local, config=config, out_dir=out_dir), tasks, config, "write pairs")
    stats = RunStats()
    for r in results:
        stats.merge(RunStats.from_dict(r["stats"]))
    stats.check()
    return finalize_pairs(out_dir, results, config, stats.to_dict())
