"""End to end on the embedded demo WARC: accounting, shard content, determinism, resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset as wds

from pipeline.config import load_config
from pipeline.outputs import OutputExistsError
from pipeline.run import run_all

DEMO = "https://demo.interleaf.example"


def config_for(inputs, out, *extra):
    return load_config(None, [f"input.paths=[{inputs}]", f"run.output={out}", "run.engine=local",
                              "run.progress=false", *extra])


def _no_dedup(inputs, out, *extra):
    return globals()["config_for"](inputs, out, "dedup.enabled=false", *extra)


def shard_files(out: Path) -> dict[str, bytes]:
    """Every file of the shard folder but config.json (which records the output path)."""
    folder = out / "shards" / "interleaved"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != "config.json"}


def test_demo_accounting_and_shards(tmp_path, demo_warc):
    result = run_all(config_for(demo_warc, tmp_path / "out"))
    ex = result["extract"]["stats"]["extract"]
    # 26 records: warcinfo, 12 requests, 12 responses, 1 revisit.
    assert ex["in"] == 26 and ex["out"] == 5
    assert ex["dropped"] == {"http_status:4xx": 1, "non_html:image": 5, "non_html:text/css": 1,
                             "record:request": 12, "record:warcinfo": 1, "revisit": 1}
    assert ex["counters"]["kind:html"] == 3 and ex["counters"]["kind:pdf"] == 2
    wr = result["shards"]["stats"]["write_interleaved"]
    assert wr["in"] == 5 and wr["out"] == 3 and wr["dropped"] == {"routed:pdf": 2}

    folder = tmp_path / "out" / "shards" / "interleaved"
    samples = list(wds.WebDataset(str(folder / "shard-000000.tar"), shardshuffle=False))
    docs = {json.loads(s["json"])["url"]: (json.loads(s["json"]), s) for s in samples}
    en, en_sample = docs[f"{DEMO}/articles/lighthouse.html"]
    kinds = [(n["type"], n.get("kind")) for n in en["nodes"]]
    # The figure sits between the first and second paragraph; the lens between paragraphs 3 and 4.
    assert kinds[:3] == [("text", "heading"), ("text", "paragraph"), ("image", None)]
    images = [n for n in en["nodes"] if n["type"] == "image"]
    assert [i["url"] for i in images] == [f"{DEMO}/img/lighthouse.jpg", f"{DEMO}/img/lens-large.png"]
    assert images[0]["caption"].startswith("The North Point light")
    assert images[0]["alt"] == "A white lighthouse on a cliff at sunset"
    assert (images[0]["width"], images[0]["height"]) == (320, 240)
    assert [i["file"] for i in images] == ["0.jpg", "1.jpg"]
    assert en_sample["0.jpg"][:2] == b"\xff\xd8" and en_sample["1.jpg"][:2] == b"\xff\xd8"
    text = "\n".join(n["text"] for n in en["nodes"] if n["type"] == "text")
    for boilerplate in ("cookies", "About us", "Copyright", "Related stories"):
        assert boilerplate not in text
    assert en["language"] == "en" and en["date"] == "2025-11-03"

    zh, zh_sample = docs[f"{DEMO}/zh/lighthouse.html"]
    assert zh["charset"] in ("gb18030", "gbk") and zh["title"] == "海边灯塔的守护者"
    assert zh["language"] == "zh" and "守塔人" in "".join(n.get("text") or "" for n in zh["nodes"])
    zh_images = [n for n in zh["nodes"] if n["type"] == "image"]
    assert [i["url"] for i in zh_images] == [f"{DEMO}/img/zh-lighthouse.jpg", f"{DEMO}/img/zh-harbour.gif"]
    assert all(i["file"] for i in zh_images) and "0.jpg" in zh_sample and "1.jpg" in zh_sample

    gallery, _ = docs[f"{DEMO}/gallery/tide-pools.html"]
    g_images = [n for n in gallery["nodes"] if n["type"] == "image"]
    # base href resolves pool-1.jpg; the second image is not archived: no file.
    assert [(i["url"], i["file"]) for i in g_images] == [
        (f"{DEMO}/gallery/pool-1.jpg", "0.jpg"), ("https://photos.elsewhere.example/pool-2.jpg", None)]

    # Sidecar rows match the tar, sample for sample.
    sidecar = pq.read_table(folder / "shard-000000.parquet").to_pylist()
    assert [r["key"] for r in sidecar] == [s["__key__"] for s in samples]
    assert [r["num_image_files"] for r in sidecar] == [sum(k.endswith(".jpg") for k in s) for s in samples]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["num_samples"] == 3 and manifest["shards"][0]["samples"] == 3
    run_manifest = json.loads((tmp_path / "out" / "run_manifest.json").read_text()) \
        if (tmp_path / "out" / "run_manifest.json").exists() else None
    assert run_manifest is None  # written by the CLI, not by run_all


def test_rerun_skips_force_redoes_and_config_change_is_refused(tmp_path, demo_inputs):
    out = tmp_path / "out"
    # The three inputs are copies of one WARC: without dedup all nine documents are written.
    config_for = _no_dedup
    first = run_all(config_for(demo_inputs, out, "shards.max_samples=2"))
    assert not first["extract"].get("skipped")
    before = shard_files(out)
    again = run_all(config_for(demo_inputs, out, "shards.max_samples=2"))
    assert again["extract"]["skipped"] and again["shards"]["skipped"]
    assert shard_files(out) == before
    with pytest.raises(OutputExistsError, match="--force"):
        run_all(config_for(demo_inputs, out, "shards.max_samples=3"))
    forced = run_all(config_for(demo_inputs, out, "shards.max_samples=3", "run.force=true"))
    assert forced["shards"]["num_shards"] == 3 and forced["shards"]["num_samples"] == 9


CRASH = r"""
import os, sys
import pipeline.{module} as m
from pipeline.config import load_config
from pipeline.run import run_all
real = m.{function}
calls = []
def crashing(task, **kw):
    result = real(task, **kw)
    calls.append(task)
    if len(calls) == {after}:
        os._exit(9)  # die like a killed worker: no cleanup, no finally blocks
    return result
m.{function} = crashing
import pipeline.run as r
setattr(r, "{function}", crashing)
run_all(load_config(None, sys.argv[1:]))
"""


@pytest.mark.parametrize("module,function", [("pages", "extract_warc"),
                                             ("shards.interleaved", "write_interleaved_task")])
def test_killed_run_resumes_to_identical_output(tmp_path, demo_inputs, module, function):
    args = [f"input.paths=[{demo_inputs}]", "run.engine=local", "run.progress=false",
            "shards.max_samples=2", "shards.docs_per_task=4"]
    clean = tmp_path / "clean"
    run_all(load_config(None, [*args, f"run.output={clean}"]))
    crashed = tmp_path / "crashed"
    code = CRASH.format(module=module, function=function, after=1)
    proc = subprocess.run([sys.executable, "-c", code, *args, f"run.output={crashed}"])
    assert proc.returncode == 9
    assert not (crashed / "shards" / "interleaved" / "_SUCCESS").exists()
    run_all(load_config(None, [*args, f"run.output={crashed}"]))
    assert shard_files(crashed) == shard_files(clean)
    assert (crashed / "pages" / "_manifest.json").read_bytes() == (clean / "pages" / "_manifest.json").read_bytes()


@pytest.mark.spark
def test_spark_engine_matches_local_engine_byte_for_byte(tmp_path, demo_inputs):
    local = tmp_path / "local"
    spark = tmp_path / "spark"
    run_all(config_for(demo_inputs, local, "shards.max_samples=2"))
    result = run_all(config_for(demo_inputs, spark, "shards.max_samples=2", "run.engine=spark",
                                "spark.master=local[2]"))
    assert result["extract"]["stats"]["extract"]["counters"]["files"] == 3
    assert shard_files(spark) == shard_files(local)
    for part in ("part-00000.parquet", "part-00001.parquet", "part-00002.parquet"):
        assert (spark / "pages" / part).read_bytes() == (local / "pages" / part).read_bytes()
    # Spark reads the pages table directly (underscore files are skipped).
    from pipeline.spark import get_spark
    from pipeline.config import SparkConfig

    df = get_spark(SparkConfig(master="local[2]")).read.parquet(str(spark / "pages"))
    assert df.count() == 15 and df.filter("kind = 'pdf'").count() == 6


def test_resume_onto_a_changed_input_list_starts_over(tmp_path, demo_inputs):
    out = tmp_path / "out"
    config = config_for(demo_inputs, out)
    from pipeline.run import run_extract

    run_extract(config)
    (out / "pages" / "_SUCCESS").unlink()  # as if the run had died before finishing
    (demo_inputs / "a.warc.gz").rename(demo_inputs / "d.warc.gz")  # the glob now resolves differently
    manifest = run_extract(config)
    assert [p["uri"].rsplit("/", 1)[1] for p in manifest["parts"]] == ["b.warc.gz", "c.warc.gz", "d.warc.gz"]
    assert all(p["rows"] == 5 for p in manifest["parts"])
    assert len(list((out / "pages").glob("part-*.parquet"))) == 3
