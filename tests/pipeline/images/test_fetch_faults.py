"""The fetch stage against a misbehaving web (a fault server on 127.0.0.1 standing in for it):
every fault ends as its own reason, the job finishes, the counts add up, and the shards say
why each missing image is missing."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import webdataset as wds
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.config import load_config
from pipeline.run import run_all

HOST = "images.example.org"
EXPECTED = {
    "/photo.png": ("ok", None),
    "/flaky-500": ("dropped", "min_side"),  # recovered on retry; then the 8 px image is filtered
    "/404": ("failed", "http_404"),
    "/500": ("failed", "http_500"),
    "/reset": ("failed", "connection_error"),
    "/slow": ("failed", "timeout"),
    "/endless": ("failed", "timeout"),
    "/loop-a": ("failed", "redirect_loop"),
    "/to-metadata": ("failed", "ssrf_blocked"),
    "/to-private": ("failed", "ssrf_blocked"),
    "/html": ("failed", "not_an_image"),
    "/huge": ("failed", "too_large"),
    "/noai": ("failed", "opted_out:noai"),
    "/corrupt.jpg": ("failed", "corrupt"),
    "/truncated.png": ("failed", "truncated"),
    "/bomb.png": ("failed", "too_many_pixels"),
    "/image.svg": ("failed", "svg"),
}


def page_warc(path, urls: list[str]) -> None:
    body = "<html><head><title>Faults</title></head><body><article>"
    for i, url in enumerate(urls):
        body += f"<p>Paragraph number {i} of a page whose images misbehave in every possible way.</p>"
        body += f'<img src="{url}" alt="picture {i}" width="320" height="240">'
    body += "</article></body></html>"
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("https://faults.example.org/page.html", "response",
                                                      payload=io.BytesIO(body.encode()), http_headers=http))


def test_every_fault_has_its_reason_and_the_job_finishes(tmp_path, fault_server):
    urls = [f"http://{HOST}{route}" for route in EXPECTED]
    page_warc(tmp_path / "faults.warc.gz", urls)
    config = load_config(None, [
        f"input.paths=[{tmp_path / 'faults.warc.gz'}]", f"run.output={tmp_path / 'out'}", "run.engine=local",
        "run.progress=false", "images.allow_networks=[127.0.0.1/32]",
        f"images.host_map={{{HOST}: '127.0.0.1:{fault_server.port}'}}", "images.connect_timeout=1",
        "images.total_timeout=1", "images.retries=1", "images.backoff=0.01", "images.max_bytes=1000000",
        "images.min_bytes=0", "select.enabled=false"])  # about fetch faults, not text filters
    result = run_all(config)
    rows = {r["url"]: r for p in (tmp_path / "out" / "images").glob("bucket-*.parquet")
            for r in pq.read_table(p).to_pylist()}
    got = {url.split(HOST, 1)[1]: (rows[url]["status"], rows[url]["reason"]) for url in urls}
    assert got == EXPECTED
    stats = result["images"]["stats"]["fetch_images"]
    assert stats["in"] == len(EXPECTED) == stats["out"] + sum(stats["dropped"].values())
    assert stats["out"] == 1

    shard = tmp_path / "out" / "shards" / "interleaved" / "shard-000000.tar"
    (sample,) = list(wds.WebDataset(str(shard), shardshuffle=False))
    nodes = [n for n in json.loads(sample["json"])["nodes"] if n["type"] == "image"]
    # Every image keeps its place; the one that made it has a file, the others say why not.
    assert [n["url"] for n in nodes] == urls
    assert [(n["status"], n["reason"]) for n in nodes] == list(EXPECTED.values())
    assert [n["file"] for n in nodes] == ["0.jpg"] + [None] * (len(urls) - 1)


def test_rerun_retries_transient_failures_only(tmp_path, fault_server):
    urls = [f"http://{HOST}/flaky-500?t=rerun", f"http://{HOST}/photo.png?t=rerun", f"http://{HOST}/404?t=rerun"]
    page_warc(tmp_path / "p.warc.gz", urls)
    config = load_config(None, [
        f"input.paths=[{tmp_path / 'p.warc.gz'}]", f"run.output={tmp_path / 'out'}", "run.engine=local",
        "run.progress=false", "images.allow_networks=[127.0.0.1/32]", "images.retries=0",
        f"images.host_map={{{HOST}: '127.0.0.1:{fault_server.port}'}}", "images.min_side=1", "images.min_bytes=0",
        "select.enabled=false"])
    first_run = run_all(config)
    first = first_run["images"]["stats"]["fetch_images"]
    assert first["dropped"] == {"http_500": 1, "http_404": 1} and first["counters"]["transient_failures"] == 1
    before = dict(fault_server.hits)
    second_run = run_all(config)
    second = second_run["images"]["stats"]["fetch_images"]
    asked = {p for p, n in fault_server.hits.items() if n != before.get(p, 0)}
    assert asked == {"/flaky-500?t=rerun"}  # the 500 is asked again; the 404 and the ok image are not
    assert second["out"] == 2 and second["dropped"] == {"http_404": 1} and second["counters"]["resumed"] == 2
    # The shards were rebuilt from the newer images table: the recovered image is in them.
    assert not second_run["shards"].get("skipped")
    shard = tmp_path / "out" / "shards" / "interleaved" / "shard-000000.tar"
    (sample,) = list(wds.WebDataset(str(shard), shardshuffle=False))
    nodes = [n for n in json.loads(sample["json"])["nodes"] if n["type"] == "image"]
    assert [(n["status"], n["reason"]) for n in nodes] == [("ok", None), ("ok", None), ("failed", "http_404")]
