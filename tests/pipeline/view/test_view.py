"""interleaf view: documents in a headless Chromium as training sees them (images in node
order, served from the tars), filters, paging, the excluded page, a screenshot; traversal and
XSS attempts with raw HTTP requests (http.client: the path is sent as written)."""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest
from PIL import Image

from pipeline.cli import build_parser
from pipeline.view import server as view_server
from pipeline.view import make_server, server_url, start_in_thread

XSS_KEY = "xss0000000000000000000001"
XSS_TEXT = "<script>alert('xss')</script> & <b>bold</b>"
XSS_ALT = '"><img src=x onerror=alert(1)>'
SECRET = "top secret, outside the shard folder"


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _samples(folder: Path) -> dict[str, dict]:
    out = {}
    with tarfile.open(folder / "shard-000000.tar") as tar:
        for m in tar.getmembers():
            if m.name.endswith(".json"):
                out[m.name[:-5]] = json.loads(tar.extractfile(m).read())
    return out


@pytest.fixture(scope="module")
def shards(demo_output: Path, tmp_path_factory) -> Path:
    """A copy of the demo's interleaved shards, plus a shard whose document tries XSS and a
    symlink to a tar outside the folder (must not be served)."""
    root = tmp_path_factory.mktemp("view")
    (root / "secret.txt").write_text(SECRET)
    folder = root / "shards"
    shutil.copytree(demo_output / "shards/interleaved", folder)
    jpg = next(iter(_jpgs(folder)))
    doc = {"doc_id": XSS_KEY, "url": "https://evil.example/?q=<script>", "title": "<i>evil</i> title",
           "language": "en", "signals": {"<sig>": 1.0},
           "nodes": [{"type": "text", "kind": "paragraph", "text": XSS_TEXT},
                     {"type": "image", "image_index": 0, "file": "0.jpg", "alt": XSS_ALT, "clip_score": 0.5,
                      "clip_text": "</figcaption><script>alert(2)</script>", "status": "ok"}]}
    with tarfile.open(folder / "shard-000001.tar", "w") as tar:
        _add(tar, f"{XSS_KEY}.json", json.dumps(doc).encode())
        _add(tar, f"{XSS_KEY}.0.jpg", jpg)
    os.symlink(demo_output / "shards/pairs/shard-000000.tar", folder / "shard-000002.tar")
    return folder


def _jpgs(folder: Path) -> Iterator[bytes]:
    with tarfile.open(folder / "shard-000000.tar") as tar:
        for m in tar.getmembers():
            if m.name.endswith(".jpg"):
                yield tar.extractfile(m).read()


@pytest.fixture(scope="module")
def viewer(shards: Path) -> Iterator[str]:
    server = make_server(shards)  # default host
    start_in_thread(server)
    try:
        yield server_url(server)
    finally:
        server.shutdown()
        server.server_close()


def _raw(url: str, path: str) -> tuple[int, bytes, dict]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, dict(resp.getheaders())


def test_binds_loopback_by_default(shards):
    args = build_parser().parse_args(["view", str(shards)])
    assert (args.host, args.port) == ("127.0.0.1", 0)
    server = make_server(shards)
    try:
        assert server.server_address[0] == "127.0.0.1" and server.server_address[1] > 0
    finally:
        server.server_close()


def test_only_shards_inside_the_folder_are_indexed(viewer, shards):
    index = view_server.ShardIndex.build(shards)
    assert set(index.members) == {"shard-000000.tar", "shard-000001.tar"}  # not the symlink out
    assert len(index.samples) == 3  # two demo documents (zh excluded) + the XSS one
    # an output root works too
    assert view_server.ShardIndex.build(shards.parent.parent / shards.parent.name / "shards").root == shards.resolve()


@pytest.mark.parametrize("path", [
    "/media/../secret.txt", "/media/shard-000000.tar/../../secret.txt", "/../secret.txt", "/../../../../etc/passwd",
    "/media/%2e%2e/%2e%2e/secret.txt", "/media/%2E%2E%2Fsecret.txt", "/media/shard-000000.tar/..%2f..%2fsecret.txt",
    "/media/shard-000000.tar/%252e%252e%252fsecret.txt", "/media/..%5c..%5csecret.txt", "/media//etc/passwd",
    "/media/%2fetc%2fpasswd", "/media/shard-000000.tar//etc/passwd", "/media/shard-000000.tar/%00.jpg",
    "/etc/passwd", "/secret.txt", "/shard-000000.tar", "/media/shard-000000.tar",
    "/media/shard-000002.tar/anything.jpg", "/media/shard-000000.tar/manifest.json", "/media/manifest.json/x.jpg",
    "/doc/..", "/doc/%2e%2e%2fsecret.txt", "/api/doc/../../secret.txt",
])
def test_traversal_and_unknown_paths_are_refused(viewer, path):
    status, body, _ = _raw(viewer, path)
    assert status in (403, 404), (path, status)
    assert SECRET.encode() not in body and b"root:" not in body


def test_media_serves_known_tar_members_only(viewer, shards):
    key, sample = next((k, s) for k, s in _samples(shards).items() if any(n.get("file") for n in s["nodes"]))
    member = f"{key}.{next(n['file'] for n in sample['nodes'] if n.get('file'))}"
    status, body, headers = _raw(viewer, f"/media/shard-000000.tar/{member}")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    with tarfile.open(shards / "shard-000000.tar") as tar:
        assert body == tar.extractfile(member).read()
    assert _raw(viewer, f"/media/shard-000000.tar/{key}.json")[0] == 404  # only images under /media
    assert _raw(viewer, f"/media/shard-000001.tar/{member}")[0] == 404  # member of another shard


def test_document_text_is_escaped(viewer):
    status, body, headers = _raw(viewer, f"/doc/{XSS_KEY}")
    assert status == 200 and "script-src" not in headers["Content-Security-Policy"]
    text = body.decode()
    assert "<script" not in text.lower() and "<img src=x" not in text and 'onerror=alert(1)>' not in text
    assert 'alt="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in text  # inert attribute text
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text
    assert "<i>evil</i>" not in text and "<sig>" not in text
    assert "<script" not in _raw(viewer, "/")[1].decode().lower()


def _doc_images(page, viewer: str, key: str) -> list[str]:
    page.goto(f"{viewer}/doc/{quote(key)}")
    page.wait_for_load_state("load")
    return page.eval_on_selector_all("#document img", "els => els.map(e => e.getAttribute('src'))")


def test_documents_show_images_in_node_order(viewer, shards, browser_page, tmp_path):
    page, errors = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    checked = 0
    for key, sample in _samples(shards).items():
        expected = [f"/media/shard-000000.tar/{key}.{n['file']}" for n in sample["nodes"]
                    if n["type"] == "image" and n.get("file")]
        assert _doc_images(page, viewer, key) == expected
        sizes = page.eval_on_selector_all("#document img", "els => els.map(e => [e.complete, e.naturalWidth])")
        assert all(complete and width > 0 for complete, width in sizes)
        # text and images interleaved in the JSON's node order
        order = page.eval_on_selector_all("#document .node", "els => els.map(e => Number(e.dataset.node))")
        assert order == list(range(len(sample["nodes"])))
        texts = page.eval_on_selector_all("#document .node-text", "els => els.map(e => e.textContent)")
        assert [t for t in texts] == [n["kind"] + n["text"] for n in sample["nodes"] if n["type"] == "text"]
        checked += bool(expected)
    assert checked >= 2
    shot = tmp_path / "document.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000
    with Image.open(shot) as im:
        im.load()
        assert im.format == "PNG" and im.width > 100 and im.height > 100
    # the XSS document: rendered as text, nothing runs
    assert _doc_images(page, viewer, XSS_KEY) == [f"/media/shard-000001.tar/{XSS_KEY}.0.jpg"]
    assert XSS_TEXT in page.inner_text("#document")
    assert page.eval_on_selector_all("script", "els => els.length") == 0
    assert dialogs == [] and errors.errors == []


def _listed(page) -> list[str]:
    return page.eval_on_selector_all("article.doc-summary", "els => els.map(e => e.dataset.key)")


def test_filters_and_paging(viewer, shards, browser_page, monkeypatch):
    page, errors = browser_page
    samples = _samples(shards)
    page.goto(viewer + "/")
    assert sorted(_listed(page)) == sorted([*samples, XSS_KEY])
    page.select_option("#f-lang", "en")
    page.click("#f-submit")
    page.wait_for_load_state("load")
    assert sorted(_listed(page)) == sorted([*(k for k, s in samples.items() if s["language"] == "en"), XSS_KEY])
    # min CLIP score: documents with an image scoring at least that
    best = {k: max([n["clip_score"] for n in s["nodes"] if n.get("clip_score") is not None], default=None)
            for k, s in samples.items()}
    best[XSS_KEY] = 0.5
    threshold = sorted(v for v in best.values() if v is not None)[1]
    page.fill("#f-min_clip", str(threshold))
    page.click("#f-submit")
    page.wait_for_load_state("load")
    assert sorted(_listed(page)) == sorted(k for k, v in best.items() if v is not None and v >= threshold)
    assert "min_clip=" in page.url and "lang=en" in page.url
    # image drop reason (the demo has an image that was not archived)
    page.goto(viewer + "/?reason=not_archived")
    assert sorted(_listed(page)) == sorted(k for k, s in samples.items()
                                           if any(n.get("reason") == "not_archived" for n in s["nodes"]))
    # paging: one document a page
    monkeypatch.setattr(view_server, "PAGE_SIZE", 1)
    page.goto(viewer + "/")
    seen = []
    for _ in range(3):
        seen += _listed(page)
        nxt = page.query_selector("a.page-link:has-text('next')")
        if nxt is None:
            break
        nxt.click()
        page.wait_for_load_state("load")
    assert len(seen) == 3 and len(set(seen)) == 3
    assert "page 3 of 3" in page.inner_text(".pager")
    assert errors.errors == []


def test_excluded_page_lists_why(viewer, browser_page):
    page, errors = browser_page
    page.goto(viewer + "/excluded")
    rows = page.eval_on_selector_all(
        "#excluded tr.excluded-row", "els => els.map(e => [...e.querySelectorAll('td')].map(td => td.textContent))")
    assert len(rows) == 1
    url, language, stage, reason, _filter, signal, _value, threshold = rows[0]
    assert (language, stage, reason, signal, threshold) == ("zh", "write", "language:not_allowed", "language", "en")
    assert url.endswith("/zh/lighthouse.html")
    assert "language:not_allowed" in page.inner_text("#reasons")
    page.select_option("#f-reason", "language:not_allowed")
    page.click("#f-submit")
    page.wait_for_load_state("load")
    assert page.eval_on_selector_all("#excluded tr.excluded-row", "els => els.length") == 1
    page.goto(viewer + "/excluded?reason=dedup")
    assert page.eval_on_selector_all("#excluded tr.excluded-row", "els => els.length") == 0
    page.goto(viewer + "/excluded?reason=language")  # a family
    assert page.eval_on_selector_all("#excluded tr.excluded-row", "els => els.length") == 1
    assert errors.errors == []
