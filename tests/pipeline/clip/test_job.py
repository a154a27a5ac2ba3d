"""The CLIP scoring job end to end on the demo WARC: local loop and Spark give the same
scores, whatever the partitioning; scores reach the interleaved shards and the pair shards.

The model is the bundled tiny config with random weights (no weights can be downloaded
here): the scores mean nothing, the plumbing is what is tested; tests/pipeline/clip/
test_score.py trains a tiny model that knows colours and shapes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytest.importorskip("open_clip", reason="CLIP scoring needs the clip extra")

from pipeline.config import load_config  # noqa: E402
from pipeline.run import run_all, run_extract, run_fetch_images, run_score_clip  # noqa: E402

BASE = ["images.download=false", "dedup.enabled=false", "clip.enabled=true", "clip.model=interleaf-tiny",
        "clip.batch_size=4", "select.min_clip_score=-1", "select.pair_min_clip_score=-1", "run.progress=false"]


def _config(out: Path, warc: Path, *extra: str):
    return load_config(None, [*BASE, f"input.paths={json.dumps([str(warc)])}", f"run.output={json.dumps(str(out))}",
                              *extra])


def _scores(out: Path) -> list[dict]:
    rows = [r for p in sorted((out / "scores").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return sorted(rows, key=lambda r: (r["doc_id"], r["image_index"]))


def test_local_run_scores_every_image_and_writes_pairs(tmp_path, demo_warc):
    result = run_all(_config(tmp_path / "out", demo_warc, "run.engine=local"))
    rows = _scores(tmp_path / "out")
    stats = result["scores"]["stats"]["score_clip"]
    assert stats["in"] == stats["out"] == len(rows) == 6  # every image node of the 3 pages
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 5 and all(-1.0 <= r["best_score"] <= 1.0 for r in ok)
    assert all(r["candidate_sources"] and len(r["candidate_scores"]) == len(r["candidate_sources"]) for r in ok)
    assert {r["reason"] for r in rows if r["status"] != "ok"} == {"no_image"}  # the one not fetched
    pairs = result["pairs"]
    assert pairs["num_samples"] == 5 and (tmp_path / "out" / "shards" / "pairs" / "_SUCCESS").exists()
    # The interleaved JSON carries each image's score, best text and placement.
    import webdataset as wds

    folder = tmp_path / "out" / "shards" / "interleaved"
    samples = list(wds.WebDataset(str(folder / "shard-000000.tar"), shardshuffle=False))
    images = [n for s in samples for n in json.loads(s["json"])["nodes"] if n["type"] == "image" and n["file"]]
    assert images and all(n["clip_score"] is not None and n["clip_text"] for n in images)


@pytest.mark.spark
def test_spark_scores_equal_local_scores_across_partitionings(tmp_path, demo_warc):
    local = tmp_path / "local"
    run_all(_config(local, demo_warc, "run.engine=local"))
    spark = tmp_path / "spark"
    config = _config(spark, demo_warc, "run.engine=spark", "shards.docs_per_task=1")
    run_extract(config)
    run_fetch_images(config)
    run_score_clip(config)
    a, b = _scores(local), _scores(spark)
    assert [(r["doc_id"], r["image_index"], r["status"]) for r in a] == \
        [(r["doc_id"], r["image_index"], r["status"]) for r in b]
    for x, y in zip(a, b):
        assert x["candidate_sources"] == y["candidate_sources"]
        assert x["candidate_scores"] == pytest.approx(y["candidate_scores"], abs=1e-5)
        assert x["matched_text_index"] == y["matched_text_index"]
