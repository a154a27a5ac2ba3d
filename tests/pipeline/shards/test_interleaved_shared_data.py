"""Interleaved shards from real crawls (../shared/data): every sample, file and sidecar row agrees."""

from __future__ import annotations

import hashlib
import io
import json

import pyarrow.parquet as pq
import webdataset as wds
from PIL import Image

from pipeline.config import load_config
from pipeline.pages import read_pages
from pipeline.run import run_all

WARCS = ["with-images/aut_example_IAH-2008-archive.org.warc.gz", "with-images/nodewarc_books.toscrape.warc",
         "cc-main/resiliparse_CC-MAIN-2020-34_warcfile.warc.gz", "edge-cases/warcio_example-bad-non-chunked.warc.gz"]


def test_real_crawls_to_shards(shared_data, tmp_path):
    inputs = "[" + ", ".join(str(shared_data / "warc" / w) for w in WARCS) + "]"
    out = tmp_path / "out"
    config = load_config(None, [f"input.paths={inputs}", f"run.output={out}", "run.engine=local",
                                "run.progress=false", "shards.max_samples=25", "shards.max_bytes=560000",
                                "images.enabled=false",  # archived bytes straight into shards
                                "dedup.enabled=false", "select.enabled=false"])  # every page becomes a sample
    result = run_all(config)
    assert [e["error"] for e in result["extract"]["file_errors"]] == ["whole_file_gzip"]

    pages = {d.doc_id: d for part in sorted((out / "pages").glob("part-*.parquet")) for d in read_pages(part)}
    html_ids = [i for i, d in pages.items() if d.kind == "html"]
    folder = out / "shards" / "interleaved"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["num_samples"] == len(html_ids) >= 100
    shards = manifest["shards"]
    assert manifest["num_shards"] == len(shards) >= 5
    # Rotation by samples (full shards of 25) and by bytes (shards closed early, under 560 kB).
    assert any(s["samples"] == 25 for s in shards)
    assert any(s["samples"] < 25 for s in shards[:-1])
    # Over the limit only by the tar's end-of-archive padding (one 10 kB record at most),
    # or when a single sample is itself larger than the limit.
    assert all(s["bytes"] <= 560_000 + 10240 or s["samples"] == 1 for s in shards)
    keys: list[str] = []
    for shard in manifest["shards"]:
        tar = folder / shard["name"]
        assert hashlib.sha256(tar.read_bytes()).hexdigest() == shard["sha256"]
        assert shard["samples"] <= 25
        sidecar = pq.read_table(folder / shard["sidecar"]).to_pylist()
        samples = list(wds.WebDataset(str(tar), shardshuffle=False))
        assert [r["key"] for r in sidecar] == [s["__key__"] for s in samples]
        for row, sample in zip(sidecar, samples):
            doc = json.loads(sample["json"])
            source = pages[row["key"]]
            assert hashlib.sha256(sample["json"]).hexdigest() == row["json_sha256"]
            assert doc["url"] == row["url"] == source.url
            images = [n for n in doc["nodes"] if n["type"] == "image"]
            assert [n["url"] for n in images] == [n.url for n in source.image_nodes]
            files = [n["file"] for n in images if n["file"]]
            assert sorted(files) == sorted(k for k in sample if k.endswith(".jpg"))
            assert row["num_image_files"] == len(files) and row["num_images"] == len(images)
            for name in files:
                with Image.open(io.BytesIO(sample[name])) as im:
                    assert im.format == "JPEG"
            texts = [n["text"] for n in doc["nodes"] if n["type"] == "text"]
            assert texts == [n.text for n in source.text_nodes]
        keys += [s["__key__"] for s in samples]
    # Samples keep the pages' order: WARCs in sorted input order, records in file order.
    assert keys == html_ids
    written = result["shards"]["stats"]["write_interleaved"]["counters"]
    assert written["images_written"] > 150
