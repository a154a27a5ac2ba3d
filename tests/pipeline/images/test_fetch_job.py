"""The fetch stage end to end: archived images vs the same images downloaded over HTTP.

A real HTTP server on 127.0.0.1 stands in for the web: it serves the image records of the
shared WARCs under their own URLs (the pages' hostnames are routed to it with the
downloader's host map, and loopback is allow-listed for the SSRF guard).
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
import webdataset as wds

from pipeline.config import load_config
from pipeline.run import run_all, run_extract, run_fetch_images
from pipeline.warc.records import read_records

WARCS = ["with-images/nodewarc_books.toscrape.warc", "with-images/aut_example_IAH-2008-archive.org.warc.gz",
         "with-images/nodewarc_parseMe.warc.gz"]


class WarcImageServer:
    """Serves every image response of some WARCs at its original host and path."""

    def __init__(self, warcs: list[Path]) -> None:
        self.files: dict[tuple[str, str], tuple[bytes, str]] = {}
        for warc in warcs:
            for r in read_records(str(warc)):
                if r.record_type == "response" and (r.mime or "").startswith("image/") and r.http_status == 200:
                    parts = urlsplit(r.target_uri)
                    path = parts.path + (f"?{parts.query}" if parts.query else "")
                    self.files.setdefault((parts.hostname, path), (r.payload, r.mime))
        self.hits: Counter = Counter()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                host = (self.headers.get("Host") or "").split(":")[0]
                server.hits[(host, self.path)] += 1
                found = server.files.get((host, self.path))
                if found is None:
                    self.send_error(404)
                    return
                body, mime = found
                self.send_response(200)
                self.send_header("Content-Type", mime)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.httpd.server_port}"

    def overrides(self) -> list[str]:
        hosts = sorted({h for h, _ in self.files})
        host_map = json.dumps({h: self.address for h in hosts})
        return [f"images.host_map={host_map}", "images.allow_networks=[127.0.0.1/32]",
                "images.total_timeout=10", "images.retries=0"]


@pytest.fixture
def image_server(shared_data):
    server = WarcImageServer([shared_data / "warc" / w for w in WARCS])
    yield server
    server.httpd.shutdown()


def base(shared_data, out, *extra):
    inputs = "[" + ", ".join(str(shared_data / "warc" / w) for w in WARCS) + "]"
    return load_config(None, [f"input.paths={inputs}", f"run.output={out}", "run.engine=local",
                              "run.progress=false", *extra])


def ok_pixels(out: Path) -> dict[str, str]:
    rows = [r for p in sorted((out / "images").glob("bucket-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return {r["url"]: r["pixel_sha256"] for r in rows if r["pixel_sha256"]}


def test_downloaded_images_equal_archived_ones(shared_data, tmp_path, image_server):
    archived = base(shared_data, tmp_path / "archived", "images.download=false")
    run_extract(archived)
    run_fetch_images(archived)
    downloaded = base(shared_data, tmp_path / "downloaded", "extract.archived_images=false",
                      *image_server.overrides())
    run_extract(downloaded)
    manifest = run_fetch_images(downloaded)
    from_warc, from_http = ok_pixels(tmp_path / "archived"), ok_pixels(tmp_path / "downloaded")
    # The loopback server speaks plain HTTP: https:// images (in parseMe) cannot be served.
    plain = {u: h for u, h in from_warc.items() if u.startswith("http://")}
    assert len(plain) >= 40 and len(from_warc) > len(plain)
    # Every image the WARCs archived came back over HTTP with the very same pixels.
    assert {u: from_http.get(u) for u in plain} == plain
    stats = manifest["stats"]["fetch_images"]
    assert stats["in"] == stats["out"] + sum(stats["dropped"].values())
    assert stats["counters"]["source:download"] > 0 and "source:warc" not in stats["counters"]
    assert stats["dropped"].get("http_404", 0) > 0  # pages link images the crawl never archived


CRASH = r"""
import os, sys
import pipeline.images.fetch as f
from pipeline.config import load_config
from pipeline.run import run_extract, run_fetch_images
real = f._write_rows
calls = []
def crashing(path, rows):
    real(path, rows)
    calls.append(path)
    if len(calls) == 3:
        os._exit(9)  # killed after three chunks: no cleanup, no compaction
f._write_rows = crashing
config = load_config(None, sys.argv[1:])
run_extract(config)
run_fetch_images(config)
"""


def test_killed_fetch_resumes_with_only_unfinished_urls(shared_data, tmp_path, image_server):
    args = [f"input.paths=[{shared_data / 'warc' / WARCS[1]}]", "run.engine=local", "run.progress=false",
            "extract.archived_images=false", "images.chunk_size=10", "images.threads=2",
            f"run.output={tmp_path / 'out'}", *image_server.overrides()]
    proc = subprocess.run([sys.executable, "-c", CRASH, *args])
    assert proc.returncode == 9
    chunks = sorted((tmp_path / "out" / "images" / "_chunks").glob("*.parquet"))
    finished = {r["url"] for p in chunks for r in pq.read_table(p).to_pylist()}
    assert len(finished) == 30
    image_server.hits.clear()
    manifest = run_fetch_images(load_config(None, args))
    requested = {f"http://{h}{p}" for (h, p) in image_server.hits}
    # The rerun asked only for URLs the killed run had not finished (and each once).
    assert not requested & finished
    assert all(n == 1 for n in image_server.hits.values())
    stats = manifest["stats"]["fetch_images"]
    assert stats["counters"]["resumed"] == 30 and stats["in"] == len(finished) + stats["counters"]["source:download"]
    assert not list((tmp_path / "out" / "images" / "_chunks").glob("*.parquet"))  # compacted


def test_shards_carry_downloaded_images_and_reasons(shared_data, tmp_path, image_server):
    # Book covers are thumbnails (under the default 150 px): lower the bar to see them through.
    config = base(shared_data, tmp_path / "out", "extract.archived_images=false", "images.min_side=50",
                  "dedup.enabled=false", "select.enabled=false",  # every page stays: this test is about images
                  *image_server.overrides())
    result = run_all(config)
    folder = tmp_path / "out" / "shards" / "interleaved"
    reasons: Counter = Counter()
    files = 0
    for shard in json.loads((folder / "manifest.json").read_text())["shards"]:
        for sample in wds.WebDataset(str(folder / shard["name"]), shardshuffle=False):
            doc = json.loads(sample["json"])
            for node in (n for n in doc["nodes"] if n["type"] == "image"):
                assert node["status"] in ("ok", "failed", "dropped")
                if node["file"]:
                    assert node["status"] == "ok" and node["file"] in sample
                    files += 1
                else:
                    assert node["reason"]  # every image without a file says why
                    reasons[node["reason"]] += 1
    assert files >= 20 and reasons["http_404"] > 0 and reasons["min_bytes"] > 0
    fetched = result["images"]["stats"]["fetch_images"]
    written = result["shards"]["stats"]["write_interleaved"]["counters"]
    assert written["images_written"] == files and fetched["out"] >= 20


def test_retry_failed_asks_again_only_for_failed_urls(shared_data, tmp_path, image_server):
    args = [f"input.paths=[{shared_data / 'warc' / WARCS[1]}]", "run.engine=local", "run.progress=false",
            "extract.archived_images=false", f"run.output={tmp_path / 'out'}", *image_server.overrides()]
    config = load_config(None, args)
    run_extract(config)
    first = run_fetch_images(config)
    rows = [r for p in sorted((tmp_path / "out" / "images").glob("bucket-*.parquet")) for r in pq.read_table(p).to_pylist()]
    failed = {r["url"] for r in rows if r["status"] == "failed" and r["reason"] == "http_404"}
    assert failed and not first.get("skipped")
    image_server.hits.clear()
    assert run_fetch_images(config)["skipped"] and not image_server.hits  # finished: nothing asked
    again = run_fetch_images(load_config(None, [*args, "run.retry_failed=true"]))
    requested = {f"http://{h}{p}" for (h, p) in image_server.hits}
    assert requested == failed  # 404s asked again; ok and filtered images are not
    assert again["stats"]["fetch_images"]["dropped"]["http_404"] == len(failed)
