"""Shared fixtures: the real-world sample data (skipped when absent) and demo WARCs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-world sample data not found at {SHARED_DATA} (a fresh clone has no ../shared)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_warc(tmp_path_factory) -> Path:
    from pipeline.demo import build_demo_warc

    return build_demo_warc(tmp_path_factory.mktemp("demo") / "demo.warc.gz")


@pytest.fixture
def demo_inputs(tmp_path, demo_warc) -> Path:
    """Three copies of the demo WARC under different names: three tasks."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(demo_warc, folder / f"{name}.warc.gz")
    return folder


# -- local S3 (moto server mode) --------------------------------------------------------------

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as mp:
        for key, value in S3_ENV.items():
            mp.setenv(key, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import boto3

    for key, value in S3_ENV.items():
        monkeypatch.setenv(key, value)
    name = f"cc-{os.urandom(4).hex()}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name
