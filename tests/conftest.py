"""Shared fixtures: the real-world sample data (skipped when absent) and demo WARCs."""

from __future__ import annotations

import shutil
from pathlib import Path

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
