"""Fixtures shared by tests/pipeline/report and tests/pipeline/view: one demo run (session
scope: built once, ~1 min) and a headless system Chromium driven by playwright."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory) -> Path:
    """The demo WARC through every stage (local engine, archived images only, a random tiny CLIP,
    OCR on every page). Only English is selected, so the Chinese page is an excluded document."""
    from pipeline.config import load_config
    from pipeline.demo import build_demo_warc
    from pipeline.run import run_all
    from pipeline.summary import write_run_manifest

    out = tmp_path_factory.mktemp("report_view_demo")
    build_demo_warc(out / "demo.warc.gz")
    config = load_config(None, [
        "images.download=false", "clip.enabled=true", "clip.model=interleaf-tiny", "select.min_clip_score=-1",
        "select.pair_min_clip_score=-1", "run.progress=false", "run.engine=local", "ocr.doc_rate=1",
        'select.languages=["en"]', f"input.paths={json.dumps([str(out / 'demo.warc.gz')])}",
        f"run.output={json.dumps(str(out))}"])
    run_all(config)
    write_run_manifest(config)
    return out


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (the Debian package, never a playwright download). Module scope, not
    session: playwright's sync API marks an asyncio loop as running in the main thread until it
    stops, and later tests that call asyncio.run (tests/pipeline/serve) would fail."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: run scripts/system-deps.sh (Debian packages chromium, chromium-driver)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class PageErrors:
    """Console errors and uncaught page errors of one page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda msg: self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))


@pytest.fixture
def browser_page(chromium) -> Iterator[tuple[Any, PageErrors]]:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors = PageErrors(page)
    try:
        yield page, errors
    finally:
        context.close()
