"""WARCs over HTTP, listed in a Common Crawl style warc.paths.gz.

The internet is replaced by a real HTTP server on 127.0.0.1 serving files the test writes.
"""

from __future__ import annotations

import gzip
import http.server
import shutil
import threading
from functools import partial

import pytest

from pipeline.config import load_config
from pipeline.run import run_extract


@pytest.fixture
def served(tmp_path, demo_warc):
    root = tmp_path / "site"
    (root / "crawl-data" / "CC-TEST" / "warc").mkdir(parents=True)
    for name in ("b", "a"):
        shutil.copy(demo_warc, root / "crawl-data" / "CC-TEST" / "warc" / f"{name}.warc.gz")
    listing = "crawl-data/CC-TEST/warc/b.warc.gz\ncrawl-data/CC-TEST/warc/a.warc.gz\n"
    (root / "warc.paths.gz").write_bytes(gzip.compress(listing.encode(), mtime=0))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.mark.parametrize("archived_images", [True, False])
def test_paths_listing_over_http(tmp_path, served, archived_images):
    config = load_config(None, [f"input.paths=[{served}warc.paths.gz]", f"input.base_url={served}",
                                f"extract.archived_images={str(archived_images).lower()}",
                                f"run.output={tmp_path / 'out'}", "run.engine=local", "run.progress=false"])
    manifest = run_extract(config)
    # Sorted input order, whatever order the listing gave.
    assert manifest["inputs"] == [f"{served}crawl-data/CC-TEST/warc/a.warc.gz",
                                  f"{served}crawl-data/CC-TEST/warc/b.warc.gz"]
    stats = manifest["stats"]["extract"]
    assert stats["in"] == 52 and stats["out"] == 10
    # Remote WARCs are spooled for the two-pass image attachment, or streamed once without it.
    assert stats["counters"].get("images_from_warc", 0) == (10 if archived_images else 0)


def test_s3_glob_through_the_extract_job(tmp_path, demo_warc, s3_endpoint, s3_bucket, monkeypatch):
    """s3:// input (a real S3 API served by moto on 127.0.0.1), endpoint from AWS_ENDPOINT_URL."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    for name in ("x", "y"):
        s3.put_object(Bucket=s3_bucket, Key=f"crawl/{name}.warc.gz", Body=demo_warc.read_bytes())
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    config = load_config(None, [f"input.paths=[s3://{s3_bucket}/crawl/*.warc.gz]",
                                f"run.output={tmp_path / 'out'}", "run.engine=local", "run.progress=false"])
    manifest = run_extract(config)
    assert manifest["inputs"] == [f"s3://{s3_bucket}/crawl/x.warc.gz", f"s3://{s3_bucket}/crawl/y.warc.gz"]
    stats = manifest["stats"]["extract"]
    assert (stats["in"], stats["out"], stats["counters"]["images_from_warc"]) == (52, 10, 10)
