"""MinHash-LSH near-duplicate clusters as Spark DataFrame jobs.

signatures (mapPartitions, one MinHasher per worker) → band keys (Spark's xxhash64 of each
band's rows) → star edges inside each bucket (member → smallest doc_id) → each edge verified
by the estimated Jaccard of the full signatures → connected components by iterative
min-label propagation. Every step is a deterministic function of the data (min, joins,
group-bys), so the result does not depend on partitioning or on reruns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from pipeline.dedup.minhash import MinHasher, shingle_hashes

log = logging.getLogger(__name__)

# One MinHasher per Python worker and (num_perm, seed): the permutation arrays are built once.
_HASHERS: dict[tuple[int, int], MinHasher] = {}


def _hasher(num_perm: int, seed: int) -> MinHasher:
    key = (num_perm, seed)
    if key not in _HASHERS:
        _HASHERS[key] = MinHasher(num_perm=num_perm, seed=seed)
    return _HASHERS[key]


def _signature_rows(rows, num_perm: int, ngram: int, seed: int) -> Iterator[tuple[str, list[int]]]:
    """(doc_id, text, language) rows → (doc_id, signature); shingle-less documents dropped."""
    hasher = _hasher(num_perm, seed)
    for doc_id, text, language in rows:
        hashes = shingle_hashes(text or "", language, ngram)  # = hashes of shingles(...), no strings
        if hashes.size:  # empty texts would all share the all-max signature: never duplicates
            # Values are < 2^32, so uint64 → int64 (Spark bigint) keeps them unchanged.
            yield doc_id, hasher.hash_signature(hashes).astype(np.int64).tolist()


def with_signatures(spark, docs, num_perm: int, ngram: int, seed: int):
    """doc_id, sig (array<bigint>) for documents with at least one shingle.

    mapPartitions, not a pandas UDF or mapInArrow: in pyspark 4 both require pandas, which
    the project does not depend on.
    """
    from pyspark.sql import functions as F

    inputs = docs.select(F.col("doc_id").cast("string"), F.col("text").cast("string"),
                         F.col("language").cast("string"))
    rdd = inputs.rdd.mapPartitions(
        lambda rows: _signature_rows(rows, num_perm, ngram, seed))
    # The rows are built above with the right types: skip the per-value schema check.
    return spark.createDataFrame(rdd, "doc_id string, sig array<bigint>", verifySchema=False)


def band_keys(sigs, bands: int, rows: int):
    """band, key, doc_id: one row per document and band (key = xxhash64 of the band's rows)."""
    from pyspark.sql import functions as F

    keys = F.array(*[F.xxhash64(F.slice("sig", b * rows + 1, rows)) for b in range(bands)])
    return sigs.select("doc_id", F.posexplode(keys).alias("band", "key"))


def candidate_edges(keyed):
    """src < dst pairs: every bucket member linked to the bucket's smallest doc_id (a star)."""
    from pyspark.sql import functions as F

    roots = keyed.groupBy("band", "key").agg(F.min("doc_id").alias("src"))
    return (keyed.join(roots, ["band", "key"])
            .where(F.col("doc_id") != F.col("src"))
            .select("src", F.col("doc_id").alias("dst"))
            .distinct())


def verified_edges(edges, sigs, num_perm: int, threshold: float):
    """src, dst, similarity for candidate pairs whose estimated Jaccard is >= threshold."""
    from pyspark.sql import functions as F

    a = sigs.select(F.col("doc_id").alias("src"), F.col("sig").alias("sig_a"))
    b = sigs.select(F.col("doc_id").alias("dst"), F.col("sig").alias("sig_b"))
    equal = F.expr("size(filter(zip_with(sig_a, sig_b, (x, y) -> x = y), e -> e))")
    return (edges.join(a, "src").join(b, "dst")
            .select("src", "dst", (equal / F.lit(float(num_perm))).alias("similarity"))
            .where(F.col("similarity") >= F.lit(threshold)))


def connected_components(edges, max_iterations: int = 30):
    """doc_id, component (smallest doc_id reachable) for every node of ``edges``.

    Min-label propagation: label(v) = min(label(v), labels of neighbours) until no label
    changes. The lineage is cut each round with localCheckpoint so plans stay small.
    """
    from pyspark.sql import functions as F

    both = (edges.select("src", "dst")
            .unionByName(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
            .localCheckpoint())
    labels = (both.groupBy("src").agg(F.least(F.min("dst"), F.col("src")).alias("label"))
              .withColumnRenamed("src", "doc_id").localCheckpoint())
    for iteration in range(1, max_iterations + 1):
        # Each node sends its label to its neighbours; a node keeps the smallest it sees.
        sent = (both.join(labels.withColumnRenamed("doc_id", "src"), "src")
                .select(F.col("dst").alias("doc_id"), "label"))
        updated = (labels.unionByName(sent).groupBy("doc_id")
                   .agg(F.min("label").alias("label")).localCheckpoint())
        changed = (updated.alias("n").join(labels.alias("o"), "doc_id")
                   .where(F.col("n.label") != F.col("o.label")).count())
        labels = updated
        if changed == 0:
            log.info("connected components converged after %d iterations", iteration)
            break
    else:
        log.warning("connected components stopped after max_iterations=%d before converging",
                    max_iterations)
    return labels.select("doc_id", F.col("label").alias("component"))


def near_duplicates(spark, docs, bands: int = 14, rows: int = 8, ngram: int = 5,
                    threshold: float = 0.7, seed: int = 1, max_iterations: int = 30):
    """doc_id, component, similarity for every document in a near-duplicate group (size >= 2).

    ``docs`` has doc_id (unique string: duplicated ids are not supported), text and language
    (nullable); documents with no shingles (empty after normalisation) are never grouped. ``component`` is the
    smallest doc_id of the group: the document to keep. ``similarity`` is the estimated
    Jaccard of the document's best verified edge (for audit).
    """
    from pyspark.sql import functions as F

    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    num_perm = bands * rows
    sigs = with_signatures(spark, docs, num_perm, ngram, seed).localCheckpoint()
    edges = verified_edges(candidate_edges(band_keys(sigs, bands, rows)), sigs, num_perm,
                           threshold).localCheckpoint()
    components = connected_components(edges, max_iterations)
    best = (edges.select(F.col("src").alias("doc_id"), "similarity")
            .unionByName(edges.select(F.col("dst").alias("doc_id"), "similarity"))
            .groupBy("doc_id").agg(F.max("similarity").alias("similarity")))
    return components.join(best, "doc_id").select("doc_id", "component", "similarity")
