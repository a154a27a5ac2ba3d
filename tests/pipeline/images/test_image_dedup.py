"""Image dedup on real photos (../shared/data/image_text/conceptual_captions) archived in a WARC
the test writes: copies cluster with their originals, distinct photos stay apart, a logo on
many pages is dropped, a repeat inside one page is dropped, identical image sets are flagged."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image, ImageEnhance
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.config import load_config
from pipeline.demo import draw_image
from pipeline.run import run_all

SITE = "https://photos.example.org"


def variants(data: bytes) -> dict[str, tuple[bytes, str]]:
    """Resized, recompressed, PNG and brightened copies of one photo."""
    with Image.open(io.BytesIO(data)) as im:
        im = im.convert("RGB")
        out = {}
        for name, picture, fmt, kwargs in (
            ("half", im.resize((im.width // 2, im.height // 2)), "JPEG", {"quality": 85}),
            ("q40", im, "JPEG", {"quality": 40}),
            ("png", im, "PNG", {}),
            ("bright", ImageEnhance.Brightness(im).enhance(1.1), "JPEG", {"quality": 90}),
        ):
            buf = io.BytesIO()
            picture.save(buf, format=fmt, **kwargs)
            out[name] = (buf.getvalue(), "image/png" if fmt == "PNG" else "image/jpeg")
    return out


def masthead() -> bytes:
    return draw_image(7, (400, 200), "PNG")  # a site banner, the same on every page


def write_warc(path: Path, pages: dict[str, list[str]], images: dict[str, tuple[bytes, str]]) -> None:
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)

        def response(url: str, body: bytes, ctype: str) -> None:
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))

        for page, srcs in pages.items():
            html = f"<html><head><title>{page}</title></head><body><article>"
            for i, src in enumerate(srcs):
                html += f"<p>Paragraph {i} of {page}, a page about travel photographs and places.</p>"
                html += f'<img src="{src}" alt="photo {i}">'
            response(f"{SITE}/{page}.html", (html + "</article></body></html>").encode(), "text/html")
        for url, (body, ctype) in images.items():
            response(url, body, ctype)


@pytest.fixture
def corpus(shared_data, tmp_path):
    photos = sorted((shared_data / "image_text" / "conceptual_captions").glob("*.jpg"))
    assert len(photos) >= 10
    images: dict[str, tuple[bytes, str]] = {f"{SITE}/masthead.png": (masthead(), "image/png")}
    pages: dict[str, list[str]] = {}
    for i, photo in enumerate(photos):
        original = f"{SITE}/p{i}.jpg"
        images[original] = (photo.read_bytes(), "image/jpeg")
        copies = {f"{SITE}/p{i}-{k}": v for k, v in variants(photo.read_bytes()).items()}
        images.update(copies)
        pages[f"page{i}"] = [original, f"{SITE}/masthead.png"]
        pages[f"copies{i}"] = [*copies, f"{SITE}/masthead.png"]
    pages["twice"] = [f"{SITE}/p0.jpg", f"{SITE}/p1.jpg", f"{SITE}/p0.jpg"]
    pages["same-set"] = [f"{SITE}/p0.jpg", f"{SITE}/p1.jpg"]  # the same image set as "twice"
    write_warc(tmp_path / "photos.warc.gz", pages, images)
    return tmp_path / "photos.warc.gz", len(photos)


def test_dedup_on_real_photos(corpus, tmp_path):
    warc, n_photos = corpus
    out = tmp_path / "out"
    result = run_all(load_config(None, [f"input.paths=[{warc}]", f"run.output={out}", "run.engine=local",
                                        "run.progress=false", "images.download=false",
                                        "images.max_docs_per_image=10",
                                        "dedup.enabled=false",  # the pages' texts are near-identical
                                        "select.enabled=false"]))  # about images, not text filters
    clusters = {r["url"]: r for r in pq.read_table(out / "images_dedup" / "clusters.parquet").to_pylist()}
    for i in range(n_photos):
        family = {clusters[f"{SITE}/p{i}{suffix}"]["cluster"]
                  for suffix in (".jpg", "-half", "-q40", "-png", "-bright")}
        assert len(family) == 1, (i, family)
    originals = {clusters[f"{SITE}/p{i}.jpg"]["cluster"] for i in range(n_photos)}
    assert len(originals) == n_photos  # distinct photos never merge
    # p0-png holds the decoded pixels of p0.jpg: an exact match (labelled on the later URL in sort order).
    assert clusters[f"{SITE}/p0.jpg"]["match"] == "exact"
    assert clusters[f"{SITE}/masthead.png"]["repeated"]
    assert clusters[f"{SITE}/masthead.png"]["n_docs"] == 2 * n_photos

    sets = pq.read_table(out / "images_dedup" / "doc_image_sets.parquet").to_pylist()
    flagged = [r for r in sets if r["duplicate_of"]]
    assert len(flagged) >= 1 + n_photos  # "same-set" and every copies page (same clusters as its page)

    stats = result["images"]["stats"]["image_dedup"]["counters"]
    assert stats["clusters"] == n_photos + 1 and stats["repeated_images"] == 1
    folder = out / "shards" / "interleaved"
    docs = {}
    for shard in json.loads((folder / "manifest.json").read_text())["shards"]:
        for sample in wds.WebDataset(str(folder / shard["name"]), shardshuffle=False):
            doc = json.loads(sample["json"])
            docs[doc["title"]] = [(n["status"], n["reason"]) for n in doc["nodes"] if n["type"] == "image"]
    assert docs["page0"] == [("ok", None), ("dropped", "repeated_image")]
    assert docs["twice"] == [("ok", None), ("ok", None), ("dropped", "repeat_in_document")]
