"""Distinct image URLs of the pages table, with the bytes archived in the WARCs when any.

Two implementations with one meaning: a Spark DataFrame job (URLs stay distributed, one
task per bucket) and a pyarrow loop for ``run.engine = local``. For a URL seen with several
archived payloads the greatest bytes value wins, so both engines pick the same one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow.parquet as pq

from pipeline.images.fetch import ImageTask, plan_buckets


def image_urls_local(pages_dir: str | Path) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = {}
    for part in sorted(Path(pages_dir).glob("part-*.parquet")):
        for nodes in pq.read_table(part, columns=["nodes"]).column("nodes").to_pylist():
            for node in nodes or []:
                if node["type"] != "image" or not node["url"]:
                    continue
                data = node["image"]
                old = found.get(node["url"])
                found[node["url"]] = max(old, data) if old is not None and data is not None else (old or data)
    return found


def local_tasks(pages_dir: str | Path, urls_per_task: int) -> list[ImageTask]:
    return plan_buckets(image_urls_local(pages_dir).items(), urls_per_task)


def spark_buckets(spark, pages_dir: str | Path, urls_per_task: int) -> tuple[Any, int]:
    """(DataFrame of url, archived, bucket; number of buckets)."""
    from pyspark.sql import functions as F

    nodes = spark.read.parquet(str(pages_dir)).select(F.explode("nodes").alias("n"))
    urls = (nodes.where((F.col("n.type") == "image") & F.col("n.url").isNotNull())
            .groupBy(F.col("n.url").alias("url")).agg(F.max("n.image").alias("archived")))
    count = urls.count()
    buckets = max(1, -(-count // urls_per_task))
    bucket = F.pmod(F.crc32(F.col("url").cast("binary")), F.lit(buckets))
    return urls.withColumn("bucket", bucket), buckets


def run_spark_buckets(df, buckets: int, fn: Callable[[ImageTask], dict]) -> list[dict]:
    """One Spark task per group of buckets; ``fn`` runs once per bucket, results by bucket."""

    def partition(rows: Iterator) -> Iterator[tuple[int, dict]]:
        groups: dict[int, list[tuple[str, bytes | None]]] = {}
        for row in rows:
            groups.setdefault(row["bucket"], []).append((row["url"], row["archived"]))
        for b in sorted(groups):
            task = ImageTask(b, tuple(sorted(groups[b], key=lambda p: p[0])))
            yield b, fn(task)

    pairs = df.repartition(buckets, "bucket").rdd.mapPartitions(partition).collect()
    return [r for _, r in sorted(pairs, key=lambda p: p[0])]
