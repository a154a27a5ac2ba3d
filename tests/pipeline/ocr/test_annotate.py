"""OCR annotations of web images (pipeline/ocr/annotate.py), from a WARC to the shards.

The WARC holds one page with a sign (text drawn by Pillow), a photo without text (the demo's
drawn landscape), an image too small for the images filters and one that was not archived.
The sign gets an annotation, the photo is dropped (``no_text`` or ``too_few_chars``); both shard layouts carry
``"ocr"`` for the sign and null for the photo, and Spark writes the same bytes as the loop.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image, ImageDraw, ImageFont

from pipeline.config import Config, ConfigError, ImageOcrConfig, load_config
from pipeline.demo import _Writer, draw_image
from pipeline.ocr import annotate
from pipeline.ocr.annotate import (
    annotate_image,
    image_ocr_dir,
    judge,
    load_ocr_table,
    reading_order,
    require_finished,
    run_image_ocr,
)
from pipeline.ocr.engine import OcrLine
from pipeline.run import (
    run_extract,
    run_fetch_images,
    run_score_clip,
    run_write_pairs,
    run_write_shards,
)
from schemas.arrow import IMAGE_OCR_SCHEMA
from schemas.samples import document_from_sample

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SITE = "https://ocr.interleaf.example"
SIGN, PHOTO = f"{SITE}/img/museum-sign.jpg", f"{SITE}/img/cliff.jpg"
TINY, REMOTE = f"{SITE}/img/red-square.png", "https://photos.elsewhere.example/harbour.jpg"
SIGN_LINES = ["Lighthouse Museum", "Open daily 9 to 5"]

PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Visiting the lighthouse museum</title></head>
<body><article>
<h1>Visiting the lighthouse museum</h1>
<p>The old keeper's cottage below the North Point light is now a small museum. It tells the
story of the families who kept the lamp burning through more than a century of storms.</p>
<img src="{SIGN}" alt="The museum sign with its opening hours" width="480" height="200">
<p>Inside you will find logbooks, a brass fog horn, and the great Fresnel lens that once threw
its beam more than twenty nautical miles out to sea on a clear night.</p>
<img src="{PHOTO}" alt="The white lighthouse on its cliff at sunset">
<p>The walk from the car park follows the cliff edge for about a kilometre, with views over the
tide pools and the harbour. Bring a coat: the wind rarely drops on this coast.</p>
<img src="{TINY}" alt="A small red square">
<img src="{REMOTE}" alt="The harbour in the early morning">
<p>Entry is free for children, and the café in the old boat shed serves tea and fresh scones
every afternoon from spring to the end of the autumn holidays.</p>
</article></body></html>
"""


def sign_image() -> bytes:
    """Dark text on a light background at about 30 px: what PP-OCR reads reliably."""
    if not FONT.exists():
        pytest.skip(f"the DejaVu font is needed to draw text ({FONT} not found)")
    im = Image.new("RGB", (480, 200), (250, 248, 240))
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(FONT), 30)
    for i, line in enumerate(SIGN_LINES):
        draw.text((20, 30 + 80 * i), line, font=font, fill=(20, 20, 30))
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=92)
    return out.getvalue()


def tiny_image() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def ocr_warc(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ocr-warc") / "signs.warc.gz"
    with open(path, "wb") as fh:
        w = _Writer(fh)  # the demo's record writer: request + response pairs, fixed ids and dates
        w.response(f"{SITE}/visit.html", PAGE.encode("utf-8"), "text/html; charset=utf-8")
        w.response(SIGN, sign_image(), "image/jpeg")
        w.response(PHOTO, draw_image(1), "image/jpeg")
        w.response(TINY, tiny_image(), "image/png")
    return path


BASE = ["images.download=false", "images.urls_per_task=2", "dedup.enabled=false", "select.enabled=false",
        "clip.enabled=true", "clip.model=interleaf-tiny", "clip.batch_size=4", "select.pair_min_clip_score=-1",
        "image_ocr.enabled=true", "ocr.enabled=false", "run.progress=false"]


def config_for(warc: Path, out: Path, *extra: str) -> Config:
    return load_config(None, [*BASE, f"input.paths={json.dumps([str(warc)])}", f"run.output={json.dumps(str(out))}",
                              *extra])


def build_images(config: Config) -> None:
    run_extract(config)
    run_fetch_images(config)


def ocr_rows(out: Path) -> list[dict]:
    return [r for p in sorted((out / "image_ocr").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def write_all(config: Config) -> None:
    """The stages after image OCR, in `interleaf run` order (the lead wires run_all)."""
    pytest.importorskip("open_clip", reason="pair shards need CLIP scores (the clip extra)")
    run_score_clip(config)
    run_write_shards(config)
    run_write_pairs(config)


def shard_files(out: Path, layout: str) -> dict[str, bytes]:
    folder = out / "shards" / layout
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != "config.json"}


def samples(out: Path, layout: str) -> list[dict]:
    shards = sorted(str(p) for p in (out / "shards" / layout).glob("shard-*.tar"))
    return list(wds.WebDataset(shards, shardshuffle=False))


# -- units -----------------------------------------------------------------------------------


def line(text: str, x0: float, y0: float, x1: float, y1: float, score: float = 0.95) -> OcrLine:
    return OcrLine(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), text, score)


def test_reading_order_is_rows_top_to_bottom_then_left_to_right():
    lines = [line("right", 200, 12, 300, 40), line("below", 10, 60, 100, 90), line("left", 10, 10, 100, 38)]
    assert [ln.text for ln in reading_order(lines)] == ["left", "right", "below"]


def test_judge_gives_each_drop_reason():
    settings = ImageOcrConfig(min_score=0.8, min_chars=3)
    assert judge([], settings) == "no_text"
    assert judge([line("a b", 0, 0, 10, 10)], settings) == "too_few_chars"  # spaces do not count
    assert judge([line("exit", 0, 0, 10, 10, 0.9), line("sale", 0, 20, 10, 30, 0.6)], settings) == "low_confidence"
    assert judge([line("exit", 0, 0, 10, 10, 0.9), line("sale", 0, 20, 10, 30, 0.7)], settings) is None


def test_undecodable_bytes_are_a_decode_error():
    assert annotate_image("u", b"not an image", ImageOcrConfig()) == (None, "decode_error")
    assert annotate_image("u", None, ImageOcrConfig()) == (None, "decode_error")


def test_boxes_are_in_the_stored_image_pixels_when_read_smaller():
    data = sign_image()
    full, _ = annotate_image(SIGN, data, ImageOcrConfig(max_side=1280))
    half, _ = annotate_image(SIGN, data, ImageOcrConfig(max_side=400))  # read at 400 × 167
    assert full is not None and half is not None
    assert (half["width"], half["height"]) == (full["width"], full["height"]) == (480, 200)
    for a, b in zip(json.loads(full["lines"]), json.loads(half["lines"])):
        assert b["box"][0] == pytest.approx(a["box"][0], abs=8)  # same place, within a few pixels


def test_shard_stages_require_the_table_and_the_job_requires_images(tmp_path, ocr_warc):
    config = config_for(ocr_warc, tmp_path / "out")
    with pytest.raises(RuntimeError, match="image-ocr"):
        require_finished(config)
    with pytest.raises(RuntimeError, match="fetch-images"):
        run_image_ocr(config)
    with pytest.raises(ConfigError, match="images.enabled"):  # caught when the config is read
        run_image_ocr(config_for(ocr_warc, tmp_path / "out", "images.enabled=false"))
    require_finished(config_for(ocr_warc, tmp_path / "out", "image_ocr.enabled=false"))  # off: nothing needed


# -- the job, local engine -------------------------------------------------------------------


def test_local_run_annotates_text_images_and_shards_carry_them(tmp_path, ocr_warc):
    out = tmp_path / "out"
    config = config_for(ocr_warc, out, "run.engine=local")
    build_images(config)
    manifest = run_image_ocr(config)

    rows = ocr_rows(out)
    assert [r["url"] for r in rows] == [SIGN]
    sign = rows[0]
    assert sign["text"] == "\n".join(SIGN_LINES) and sign["n_lines"] == 2
    assert sign["score"] >= 0.8 and (sign["width"], sign["height"]) == (480, 200)
    lines = json.loads(sign["lines"])
    assert [ln["text"] for ln in lines] == SIGN_LINES and all(len(ln["box"]) == 4 for ln in lines)
    assert all(pq.read_schema(p).equals(IMAGE_OCR_SCHEMA) for p in (out / "image_ocr").glob("part-*.parquet"))

    stats = manifest["stats"]["image_ocr"]
    # The photo has no text; PP-OCR's detector may still box a region of it and read a stray
    # glyph, which the min_chars rule then drops: either way one drop, with a no-text reason.
    assert stats["in"] == 2 and stats["out"] == 1 and sum(stats["dropped"].values()) == 1
    assert set(stats["dropped"]) <= {"no_text", "too_few_chars"}
    assert stats["in"] == stats["out"] + sum(stats["dropped"].values())
    assert stats["counters"] == {"lines": 2, "skipped:dropped": 1, "skipped:failed": 1}
    assert manifest["engine"].startswith("rapidocr") and (out / "image_ocr" / "_SUCCESS").exists()
    assert sum(p["rows"] for p in manifest["parts"]) == 1
    assert len(manifest["parts"]) == len(json.loads((out / "images" / "_manifest.json").read_text())["buckets"])

    assert run_image_ocr(config)["skipped"]  # finished: skipped
    require_finished(config)

    write_all(config)
    (doc,) = [json.loads(s["json"]) for s in samples(out, "interleaved")]
    images = {n["url"]: n for n in doc["nodes"] if n["type"] == "image"}
    assert images[SIGN]["ocr"]["text"] == sign["text"] and images[SIGN]["ocr"]["lines"] == lines
    assert images[SIGN]["ocr"]["score"] == sign["score"] and images[SIGN]["file"]
    assert images[PHOTO]["ocr"] is None and images[TINY]["ocr"] is None and images[REMOTE]["ocr"] is None
    texts = [n for n in doc["nodes"] if n["type"] == "text"]
    assert all("language" in n for n in texts) and "en" in {n["language"] for n in texts}
    back = document_from_sample(doc)
    assert back.image_nodes[0].ocr_text == sign["text"] and back.image_nodes[0].ocr_lines == sign["lines"]
    counters = json.loads((out / "shards" / "interleaved" / "manifest.json").read_text())["stats"]
    assert counters["write_interleaved"]["counters"]["images_with_ocr"] == 1

    pairs = {json.loads(s["json"])["image_url"]: json.loads(s["json"]) for s in samples(out, "pairs")}
    assert set(pairs) == {SIGN, PHOTO}
    assert pairs[SIGN]["ocr"] == images[SIGN]["ocr"] and pairs[PHOTO]["ocr"] is None


def test_shards_without_image_ocr_have_null_ocr(tmp_path, ocr_warc):
    out = tmp_path / "out"
    config = config_for(ocr_warc, out, "run.engine=local", "image_ocr.enabled=false", "clip.enabled=false")
    build_images(config)
    run_write_shards(config)
    assert not image_ocr_dir(config).exists()
    (doc,) = [json.loads(s["json"]) for s in samples(out, "interleaved")]
    assert [n["ocr"] for n in doc["nodes"] if n["type"] == "image"] == [None] * 4


CRASH = r"""
import os, sys
from pipeline.config import load_config
from pipeline.ocr import annotate
real = annotate.annotate_bucket
def crashing(task, **kw):
    result = real(task, **kw)
    os._exit(9)  # killed after its first bucket: no cleanup
annotate.annotate_bucket = crashing
annotate.run_image_ocr(load_config(None, sys.argv[1:]))
"""


def test_killed_job_resumes_with_only_unfinished_buckets(tmp_path, ocr_warc, monkeypatch):
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    clean_config = config_for(ocr_warc, clean, "run.engine=local")
    build_images(clean_config)
    run_image_ocr(clean_config)
    config = config_for(ocr_warc, crashed, "run.engine=local")
    build_images(config)
    args = [*BASE, f"input.paths={json.dumps([str(ocr_warc)])}", f"run.output={json.dumps(str(crashed))}",
            "run.engine=local"]
    killed = subprocess.run([sys.executable, "-c", CRASH, *args], cwd=Path(__file__).parents[3], check=False)
    assert killed.returncode == 9
    folder = image_ocr_dir(config)
    assert not (folder / "_SUCCESS").exists() and len(list((folder / "_stats").glob("*.json"))) == 1

    read = []
    real = annotate.read_text
    monkeypatch.setattr(annotate, "read_text", lambda image, threads=1: read.append(image.size) or real(image, threads))
    manifest = run_image_ocr(config)
    assert len(read) == manifest["stats"]["image_ocr"]["in"] - _first_bucket_ok_images(folder)
    assert ocr_rows(crashed) == ocr_rows(clean)
    assert (folder / "_manifest.json").read_text() == (image_ocr_dir(clean_config) / "_manifest.json").read_text()
    assert load_ocr_table(folder) == load_ocr_table(image_ocr_dir(clean_config))


def _first_bucket_ok_images(folder: Path) -> int:
    """Images the killed run read (its one finished bucket): not read again on resume."""
    manifest = json.loads((folder / "_manifest.json").read_text())
    first = json.loads((folder / "_stats" / f"{manifest['parts'][0]['part'].removesuffix('.parquet')}.json")
                       .read_text())
    return first["stats"]["image_ocr"]["in"]


# -- Spark -----------------------------------------------------------------------------------


@pytest.mark.spark
def test_spark_engine_writes_the_same_table_and_shards(tmp_path, ocr_warc):
    local, spark = tmp_path / "local", tmp_path / "spark"
    local_config = config_for(ocr_warc, local, "run.engine=local")
    build_images(local_config)
    run_image_ocr(local_config)
    write_all(local_config)

    spark_config = config_for(ocr_warc, spark, "run.engine=spark", "spark.master=local[2]")
    build_images(spark_config)
    manifest = run_image_ocr(spark_config)
    write_all(spark_config)

    assert ocr_rows(spark) == ocr_rows(local) and [r["url"] for r in ocr_rows(spark)] == [SIGN]
    assert manifest["stats"] == json.loads((local / "image_ocr" / "_manifest.json").read_text())["stats"]
    assert shard_files(spark, "interleaved") == shard_files(local, "interleaved")
    assert shard_files(spark, "pairs") == shard_files(local, "pairs")
    (doc,) = [json.loads(s["json"]) for s in samples(spark, "interleaved")]
    assert [n["url"] for n in doc["nodes"] if n["type"] == "image" and n["ocr"]] == [SIGN]
