"""Spark engine for the write stage: pages joined with the images table, then shards.

The images table can be far larger than a machine's memory, so under Spark the documents
meet their images through a DataFrame join (by URL), are routed to their write task and
sorted back into input order (pages part, WARC offset) before the same ``write_task_docs``
as the local engine writes them. Same documents, same order, same bytes.
"""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from pipeline.config import Config
from pipeline.dedup.find import DOCUMENTS, PARAGRAPHS
from pipeline.dedup.remove import apply_dedup
from pipeline.clip.attach import attach_scores
from pipeline.exclusions import Dropped
from pipeline.images.attach import DEDUP_COLUMNS, IMAGE_COLUMNS, attach_fetched, clusters_path
from pipeline.ocr.annotate import NODE_FIELDS as OCR_FIELDS, attach_ocr, image_ocr_dir, part_paths
from pipeline.shards.interleaved import WriteTask, write_task_docs
from schemas import Document, DocumentKind
from schemas.arrow import IMAGE_OCR_SCHEMA, IMAGES_SCHEMA, SCORES_SCHEMA, spark_ddl

IMAGES_SCHEMA_DDL = spark_ddl(IMAGES_SCHEMA)


def _ocr_annotations(spark, image_ocr: Path):
    """url → ocr_text, ocr_score, ocr_lines (the image_ocr/ table, renamed for the nodes)."""
    from pyspark.sql import functions as F

    columns = [F.col(c).alias(name) for c, name in OCR_FIELDS.items()]
    parts = part_paths(image_ocr)
    if parts:
        return spark.read.schema(spark_ddl(IMAGE_OCR_SCHEMA)).parquet(*parts).select("url", *columns)
    return spark.createDataFrame([], spark_ddl(IMAGE_OCR_SCHEMA)).select("url", *columns)


def _fetched_images(spark, pages, images_dir: Path, image_ocr: Path | None = None):
    """doc_id → list of the images-table rows its image nodes need (with their OCR
    annotation when ``image_ocr`` is given)."""
    from pyspark.sql import functions as F

    buckets = sorted(str(p) for p in images_dir.glob("bucket-*.parquet"))
    images = spark.read.schema(IMAGES_SCHEMA_DDL).parquet(*buckets).select(*IMAGE_COLUMNS)
    if clusters_path(images_dir).exists():
        dedup = spark.read.parquet(str(clusters_path(images_dir))).select(*DEDUP_COLUMNS)
        images = images.join(dedup, "url", "left")
    else:
        images = images.withColumn("cluster", F.lit(None).cast("string")).withColumn("repeated", F.lit(False))
    columns = [*IMAGE_COLUMNS, "cluster", "repeated"]
    if image_ocr is not None:
        images = images.join(_ocr_annotations(spark, image_ocr), "url", "left")
        columns += list(OCR_FIELDS.values())
    wanted = (pages.select("doc_id", F.explode("nodes").alias("n"))
              .where(F.col("n.type") == "image").select("doc_id", F.col("n.url").alias("url")).distinct())
    return (wanted.join(images, "url")
            .groupBy("doc_id").agg(F.collect_list(F.struct(*columns)).alias("_fetched")))


def _dedup_marks(spark, dedup: Path):
    """doc_id → drop reason, and doc_id → node indexes of paragraphs to remove."""
    from pyspark.sql import functions as F

    documents = (spark.read.parquet(str(dedup / DOCUMENTS)).where(~F.col("kept"))
                 .select("doc_id", F.col("reason").alias("_dedup_reason")))
    paragraphs = (spark.read.parquet(str(dedup / PARAGRAPHS)).groupBy("doc_id")
                  .agg(F.collect_set("node_index").alias("_dedup_paragraphs")))
    return documents, paragraphs


def _scores(spark, scores: Path):
    """doc_id → list of its score rows."""
    from pyspark.sql import functions as F

    from pipeline.clip.attach import SCORE_COLUMNS

    parts = sorted(str(p) for p in scores.glob("part-*.parquet"))
    table = spark.read.schema(spark_ddl(SCORES_SCHEMA)).parquet(*parts).select(*SCORE_COLUMNS)
    return table.groupBy("doc_id").agg(F.collect_list(F.struct(*SCORE_COLUMNS[1:])).alias("_scores"))


def joined_documents(spark, tasks: list[WriteTask], images_dir: Path | None, dedup: Path | None,
                     scores: Path | None = None, image_ocr: Path | None = None):
    from pyspark.sql import functions as F

    part_task = {Path(p).stem: t.index for t in tasks for p in t.parts}
    pages = spark.read.parquet(*[p for t in tasks for p in t.parts])
    pages = pages.withColumn("_part", F.regexp_extract(F.input_file_name(), r"(part-\d+)\.parquet", 1))
    routes = F.create_map(*[F.lit(x) for k, v in sorted(part_task.items()) for x in (k, v)])
    docs = pages.withColumn("_task", routes[F.col("_part")])
    if images_dir is not None:
        docs = docs.join(_fetched_images(spark, pages, images_dir, image_ocr), "doc_id", "left")
    if dedup is not None:
        for marks in _dedup_marks(spark, dedup):
            docs = docs.join(marks, "doc_id", "left")
    if scores is not None:
        docs = docs.join(_scores(spark, scores), "doc_id", "left")
    return docs.repartition(len(tasks), "_task").sortWithinPartitions("_task", "_part", "warc_offset")


TaskFn = Callable[[WriteTask, Iterable[Document | Dropped]], dict[str, Any]]


def by_task(rows: Iterable, tasks: dict[int, WriteTask], task_fn: TaskFn,
            document: Callable[[Any], Document | Dropped]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows arrive sorted by task (a partition may hold several): stream each task's rows,
    as documents, straight into ``task_fn``, never holding a task in memory."""
    for index, group in itertools.groupby(rows, key=lambda r: r["_task"]):
        yield index, task_fn(tasks[index], (document(r) for r in group))


def run_joined_tasks(docs, tasks: list[WriteTask], task_fn: TaskFn) -> list[dict[str, Any]]:
    """``task_fn`` on every task's documents of the joined DataFrame, results in task order."""
    by_index = {t.index: t for t in tasks}
    done = dict(docs.rdd.mapPartitions(lambda rows: by_task(rows, by_index, task_fn, _document)).collect())
    # A task whose parts hold no documents reaches no partition: it gets no documents.
    return [done.get(t.index) or task_fn(t, []) for t in tasks]


def _document(row) -> Document | Dropped:
    return document_from_values(row.asDict(recursive=True))


def document_from_values(values: dict[str, Any]) -> Document | Dropped:
    """A joined row (pages columns + ``_fetched`` + dedup marks) as a Document or a Dropped."""
    doc = Document.from_row(values)
    if doc.kind != DocumentKind.HTML.value:
        return doc
    if "_fetched" in values:
        fetched = {f["url"]: f for f in values["_fetched"] or []}
        attach_fetched(doc, fetched)
        attach_ocr(doc, fetched)  # a no-op unless the join brought OCR columns
    if "_dedup_reason" in values:
        result = apply_dedup(doc, values["_dedup_reason"], set(values.get("_dedup_paragraphs") or ()))
        if not isinstance(result, Document):
            return Dropped(doc, result)
    if "_scores" in values:
        attach_scores(doc, values["_scores"] or ())
    return doc


def spark_write_interleaved(spark, tasks: list[WriteTask], config: Config, out_dir: str) -> list[dict[str, Any]]:
    output = Path(config.run.output)
    docs = joined_documents(spark, tasks, output / "images" if config.images.enabled else None,
                            output / "dedup" if config.dedup.enabled else None,
                            output / "scores" if config.clip.enabled else None,
                            image_ocr_dir(config) if config.image_ocr.enabled else None)
    return run_joined_tasks(docs, tasks, partial(write_task_docs, config=config, out_dir=out_dir))
