"""Exact duplicates: documents whose normalised text (or image set) is identical.

``normalize_text`` decides what "identical" means: NFKC (full-width and compatibility forms
fold), lower case, punctuation replaced by a space, whitespace collapsed. Digits are kept:
pages that differ only in numbers (prices, dates, page 1 / page 2, scores) are different
content. Symbols (currency, emoji, math) are kept for the same reason. Replacing punctuation
by a space rather than deleting it makes "end.Next" and "end. Next" meet.

The group key is a 128-bit BLAKE2b digest of the normalised text (stdlib, no collisions at
corpus scale, unlike a 64-bit hash over billions of documents).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from pipeline.dedup import minhash
from pipeline.dedup.urls import python_udf

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def normalize_text(text: str) -> str:
    """NFKC, lower case, punctuation to spaces, whitespace collapsed; "" for None.

    The same normalisation as MinHash shingling (``minhash.normalize``): one punctuation
    table per process, and the same keys as before it was shared.
    """
    return minhash.normalize(text) if text else ""


def text_hash(text: str | None) -> str | None:
    """Hex digest of the normalised text; None when nothing is left (empty texts never match)."""
    normalized = normalize_text(text or "")
    if not normalized:
        return None
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


def text_hash_col(column: "Column | str") -> "Column":
    """``text_hash`` as a Spark column expression (a Python UDF)."""
    from pyspark.sql.types import StringType

    return python_udf(text_hash, StringType())(column)


def exact_duplicates(
    docs: "DataFrame",
    column: str = "text",
    reason: str = "exact_duplicate",
    normalize: bool = True,
) -> "DataFrame":
    """One row per member of every group of 2+ documents with the same ``column`` value.

    With ``normalize`` the key is ``text_hash(column)``; without it the value itself is the key
    (already a hash, e.g. ``image_set``). Null and empty values are ignored. The kept document
    is the smallest ``doc_id``, which is also the ``cluster``. Returns ``doc_id, cluster, kept,
    reason, similarity``: reason is ``reason`` for the dropped and null for the kept,
    similarity 1.0.
    """
    from pyspark.sql import functions as F

    key = text_hash_col(column) if normalize else F.col(column).cast("string")
    keyed = (docs.select("doc_id", key.alias("_key"))
             .where(F.col("_key").isNotNull() & (F.col("_key") != "")))
    # An aggregate (partially combined per task) then a join, not a window: a text shared by
    # millions of pages ("404 Not Found") must not sort in a single task. AQE splits hot keys.
    groups = (keyed.groupBy("_key")
              .agg(F.count(F.lit(1)).alias("_size"), F.min("doc_id").alias("cluster"))
              .where(F.col("_size") >= 2)
              .select("_key", "cluster"))
    members = (keyed.join(groups, "_key")
               .withColumn("kept", F.col("doc_id") == F.col("cluster")))
    return members.select(
        "doc_id",
        "cluster",
        "kept",
        F.when(F.col("kept"), F.lit(None).cast("string")).otherwise(F.lit(reason)).alias("reason"),
        F.lit(1.0).alias("similarity"),
    )
