"""SparkSession builder and the task runner shared by every job.

``run_tasks`` maps a picklable function over a list of tasks, one Spark task per item
(one WARC file, one shard group), and collects the small results (stats, shard lists).
With ``run.engine = local`` the same function runs in a plain loop in this process: the
reference semantics used by unit tests, and handy for debugging without a JVM.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Sequence, TypeVar

from pipeline.config import Config, SparkConfig
from pipeline.progress import Progress

T = TypeVar("T")
R = TypeVar("R")


def get_spark(config: SparkConfig):
    """A SparkSession: local[*] by default, or the master given here or by spark-submit."""
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    # Executors in local mode must run this interpreter (the one with interleaf installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(config.app_name)
    master = config.master
    if not master and not SparkConf().contains("spark.master"):  # spark-submit sets it
        master = "local[*]"
    if master:
        builder = builder.master(master)
    if (master or "").startswith("local"):
        # A local run needs no network interface: bind the driver to loopback.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Our tasks return small dicts; the UI and console bar would only add noise and ports.
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    builder = builder.config("spark.ui.enabled", "false")
    for key, value in sorted(config.conf.items()):
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(config.log_level)
    return spark


def run_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    config: Config,
    label: str,
) -> list[R]:
    """Run ``fn`` on every task, one task per Spark partition, results in task order."""
    if not tasks:
        return []
    progress = Progress(label, total=len(tasks), enabled=config.run.progress)
    if config.run.engine == "local":
        results = []
        with progress:
            for task in tasks:
                results.append(fn(task))
                progress.advance()
        return results
    spark = get_spark(config.spark)
    sc = spark.sparkContext
    indexed = list(enumerate(tasks))
    rdd = sc.parallelize(indexed, numSlices=len(indexed))
    with progress.watch_spark(sc):
        # One partition = one task item; the stages inside fn run per partition.
        pairs: list[tuple[int, Any]] = rdd.mapPartitions(
            lambda items: [(i, fn(task)) for i, task in items]).collect()
    return [r for _, r in sorted(pairs, key=lambda p: p[0])]
