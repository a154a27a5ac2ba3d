"""The find step of document dedup: ``pages/`` (+ image sets) → the ``dedup/`` tables.

A cascade of Spark DataFrame jobs over the HTML documents, each on the survivors of the one
before, in the order FineWeb / OBELICS use: URL (most recent capture kept), exact text,
MinHash near-duplicates, identical image sets. Then paragraph dedup on what is left. Nothing
is removed here: the write stage applies the tables (the remove step), so a run can be
audited (`interleaf dedup-report`) and re-thresholded without re-extracting.

    dedup/documents/   doc_id, cluster, kept, reason, similarity, step   (members of groups)
    dedup/paragraphs/  doc_id, node_index, reason                        (text nodes to drop)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import DedupConfig
from pipeline.stats import StageStats

STAGE = "dedup"
DOCUMENTS = "documents"
PARAGRAPHS = "paragraphs"


def html_documents(spark, pages_dir: Path):
    """doc_id, url, fetch_date, language, text (text nodes joined), order, nodes."""
    from pyspark.sql import functions as F

    pages = spark.read.parquet(str(pages_dir)).where(F.col("kind") == "html")
    part = F.regexp_extract(F.input_file_name(), r"(part-\d+)\.parquet", 1)
    order = F.concat(part, F.lit(":"), F.lpad(F.col("warc_offset").cast("string"), 20, "0"))
    texts = F.transform(F.filter("nodes", lambda n: n["type"] == "text"), lambda n: n["text"])
    return pages.select("doc_id", "url", "fetch_date", "language", "nodes",
                        F.concat_ws("\n\n", texts).alias("text"), order.alias("order"))


def _step(rows, step: str):
    from pyspark.sql import functions as F

    return rows.select("doc_id", "cluster", "kept", "reason", F.col("similarity").cast("double"),
                       F.lit(step).alias("step"))


def _survivors(docs, rows):
    return docs.join(rows.where(~rows.kept).select("doc_id"), "doc_id", "left_anti")


def find_duplicates(spark, pages_dir: Path, image_sets_path: Path | None, config: DedupConfig) -> tuple[Any, Any]:
    """(documents DataFrame, paragraphs DataFrame) of the dedup tables."""
    from pyspark.sql import functions as F

    from pipeline.dedup.exact import exact_duplicates
    from pipeline.dedup.lsh import near_duplicates
    from pipeline.dedup.paragraphs import paragraph_duplicates
    from pipeline.dedup.urls import domain_of_col, url_duplicates

    docs = html_documents(spark, pages_dir).localCheckpoint()
    steps = []
    survivors = docs
    if config.url:
        rows = _step(url_duplicates(survivors.select("doc_id", "url", "fetch_date")), "url")
        steps.append(rows)
        survivors = _survivors(survivors, rows)
    if config.exact:
        rows = _step(exact_duplicates(survivors.select("doc_id", "text")), "exact")
        steps.append(rows)
        survivors = _survivors(survivors, rows)
    if config.near:
        found = near_duplicates(spark, survivors.select("doc_id", "text", "language"), bands=config.bands,
                                rows=config.rows, ngram=config.ngram, threshold=config.threshold, seed=config.seed)
        kept = F.col("doc_id") == F.col("component")
        rows = found.select("doc_id", F.col("component").alias("cluster"), kept.alias("kept"),
                            F.when(kept, F.lit(None)).otherwise(F.lit("near_duplicate")).alias("reason"),
                            "similarity")
        rows = _step(rows, "near")
        steps.append(rows)
        survivors = _survivors(survivors, rows)
    if config.image_sets and image_sets_path is not None and image_sets_path.exists():
        sets = spark.read.parquet(str(image_sets_path)).select("doc_id", "image_set")
        candidates = survivors.select("doc_id").join(sets, "doc_id")
        rows = _step(exact_duplicates(candidates, column="image_set", reason="image_set_duplicate",
                                      normalize=False), "image_set")
        steps.append(rows)
        survivors = _survivors(survivors, rows)
    documents = steps[0]
    for rows in steps[1:]:
        documents = documents.unionByName(rows)
    paragraphs = spark.createDataFrame([], "doc_id string, node_index int, reason string")
    if config.paragraphs:
        exploded = survivors.select("doc_id", "url", "order", F.posexplode("nodes").alias("node_index", "n"))
        texts = exploded.where(F.col("n.type") == "text").select(
            "doc_id", domain_of_col(F.col("url")).alias("domain"), F.col("node_index").cast("int"),
            F.col("n.text").alias("text"), "order")
        paragraphs = paragraph_duplicates(texts, max_docs=config.paragraph_max_docs,
                                          min_chars=config.paragraph_min_chars)
    return documents, paragraphs


def dedup_stats(spark, pages_dir: Path, documents, paragraphs) -> dict[str, Any]:
    """in = HTML documents, out = kept, dropped by reason; paragraph removals as counters."""
    from pyspark.sql import functions as F

    total = html_documents(spark, pages_dir).count()
    stats = StageStats(STAGE, n_in=total)
    for row in documents.where(~F.col("kept")).groupBy("reason").count().collect():
        stats.drop(row["reason"], row["count"])
    stats.n_out = total - stats.n_dropped
    for row in paragraphs.groupBy("reason").count().collect():
        stats.count(f"paragraphs:{row['reason']}", row["count"])
    stats.check()
    return {STAGE: stats.to_dict()}


def write_tables(documents, paragraphs, out: Path) -> None:
    # Sorted and written by Spark: part-file names vary between runs, the rows do not.
    documents.orderBy("doc_id").write.mode("overwrite").parquet(str(out / DOCUMENTS))
    paragraphs.orderBy("doc_id", "node_index").write.mode("overwrite").parquet(str(out / PARAGRAPHS))
