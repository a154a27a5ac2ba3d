"""Paragraph deduplication: repeated text blocks to remove from documents (not whole documents).

Two rules, on the normalised text of each paragraph (``exact.normalize_text``):

(a) ``paragraph_in_domain`` (as OBELICS): a paragraph already seen on the same domain is
    marked; the first occurrence (smallest ``order``, then ``doc_id``, then ``node_index``)
    stays. This removes site furniture (cookie notes, author bios) that extraction kept.
    Paragraphs shorter than ``min_chars`` normalised characters are left alone by this rule:
    "Share", "Read more" or "Chapter 1" repeat on a site yet are often part of the text.
(b) ``paragraph_repeated``: a paragraph found in more than ``max_docs`` distinct documents,
    on any domains, is boilerplate and every occurrence is marked, the first one too, and
    short ones too (past that many documents, a short line is a template, not content).
    Rule (b) wins over (a).

A document whose paragraphs are all unique loses nothing; empty paragraphs are ignored.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from pipeline.dedup.exact import normalize_text
from pipeline.dedup.urls import domain_of, domain_of_col, python_udf

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["paragraph_duplicates", "paragraph_key", "domain_of", "domain_of_col"]


def paragraph_key(text: str | None) -> tuple[str, int] | None:
    """(hash, length) of the normalised paragraph; None when nothing is left."""
    normalized = normalize_text(text or "")
    if not normalized:
        return None
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest(), len(normalized)


def paragraph_duplicates(
    paragraphs: "DataFrame",
    max_docs: int = 20,
    min_chars: int = 20,
) -> "DataFrame":
    """Paragraphs to remove: ``doc_id, node_index, reason`` for every marked paragraph.

    ``paragraphs`` has ``doc_id, domain, node_index, text, order``: one row per text node,
    ``order`` a sortable (string) key of the document's position in the corpus.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    key_type = StructType([StructField("hash", StringType()), StructField("chars", IntegerType())])
    keyed = (paragraphs
             .select("doc_id", F.coalesce(F.col("domain"), F.lit("")).alias("_domain"), "node_index",
                     "order", python_udf(paragraph_key, key_type)("text").alias("_key"))
             .where(F.col("_key").isNotNull())
             .select("doc_id", "_domain", "node_index", "order",
                     F.col("_key.hash").alias("_hash"), F.col("_key.chars").alias("_chars")))
    # Rule (b) by aggregation, not a window: boilerplate found on millions of pages must not
    # sort in a single task. The distinct (hash, doc) pairs spread well; the join is left to
    # AQE (broadcast when the repeated set is small, skew splitting when a hash is hot).
    # Price: the normalising UDF runs once for each side.
    repeated = (keyed.select("_hash", "doc_id").distinct()
                .groupBy("_hash").agg(F.count(F.lit(1)).alias("_docs"))
                .where(F.col("_docs") > max_docs)
                .select("_hash", F.lit(True).alias("_repeated")))
    joined = keyed.join(repeated, "_hash", "left")
    # Rule (a) ranks the copies of a paragraph within a domain. Boilerplate rows get a window
    # group of their own (rule (b) marks them anyway), so a hot hash does not sort in one task:
    # the remaining groups hold at most max_docs documents.
    alone = F.when(F.col("_repeated"), F.concat_ws("\0", "doc_id", F.col("node_index").cast("string")))
    first_in_domain = Window.partitionBy("_hash", "_domain", "_alone").orderBy(
        F.col("order").asc_nulls_last(), F.col("doc_id").asc(), F.col("node_index").asc())
    # Spark would reuse the join's partitioning on _hash alone: ask for the spread explicitly.
    spread = joined.withColumn("_alone", alone).repartition("_hash", "_domain", "_alone")
    marked = spread.withColumn(
        "reason",
        F.when(F.col("_repeated"), F.lit("paragraph_repeated"))
        .when((F.row_number().over(first_in_domain) > 1) & (F.col("_chars") >= min_chars),
              F.lit("paragraph_in_domain")))
    return marked.where(F.col("reason").isNotNull()).select("doc_id", "node_index", "reason")
