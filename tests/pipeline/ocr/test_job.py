"""The OCR job end to end: kept documents and PDFs → shards/ocr/, read back by rapidocr."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image

from pipeline.config import load_config
from pipeline.demo import REPORT_PAGES, text_pdf
from pipeline.run import ocr_dir, run_all, run_render_ocr

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _config(inputs, out, *extra):
    return load_config(None, [f"input.paths=[{inputs}]", f"run.output={out}", "run.engine=local",
                              "run.progress=false", "images.download=false", "select.enabled=false",
                              "ocr.doc_rate=1", *extra])


def _samples(out: Path) -> list[dict]:
    folder = ocr_dir(load_config(None, [f"run.output={out}"]))
    manifest = json.loads((folder / "manifest.json").read_text())
    urls = [str(folder / s["name"]) for s in manifest["shards"]]
    return list(wds.WebDataset(urls, shardshuffle=False)) if urls else []


def _files(out: Path) -> dict[str, bytes]:
    folder = out / "shards" / "ocr"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != "config.json"}


def test_demo_text_and_pdf_samples(tmp_path, demo_warc):
    # Default render and verify settings; four samples per document for enough characters.
    config = _config(demo_warc, tmp_path / "out", "ocr.samples_per_doc=4")
    result = run_all(config)
    ocr = result["ocr"]
    stats = ocr["stats"]
    docs, samples = stats["ocr_text_documents"], stats["ocr_samples"]
    # Three HTML pages kept, all rendered (doc_rate 1); the two PDFs: the scanned one has no
    # text layer, the survey's two pages become samples.
    assert docs["in"] == 3 and docs["out"] == 3
    assert stats["ocr_pdfs"] == {"in": 2, "out": 2, "dropped": {}, "counters": {}}
    assert stats["ocr_pdf_pages"]["in"] == 3 and stats["ocr_pdf_pages"]["dropped"] == {"pdf_page:no_text": 1}
    assert samples["in"] == samples["out"] + sum(samples["dropped"].values())
    assert samples["counters"]["verified"] == samples["in"] - sum(
        n for r, n in samples["dropped"].items() if r.startswith("render:"))

    written = _samples(tmp_path / "out")
    assert len(written) == ocr["num_samples"] == samples["out"] >= 4
    by_type: dict[str, list[dict]] = {}
    for sample in written:
        meta = json.loads(sample["json"])
        ext = "jpg" if "jpg" in sample else "png"
        image = Image.open(io.BytesIO(sample[ext]))
        assert (image.width, image.height) == (meta["width"], meta["height"])
        text = sample["txt"].decode()
        assert text == "\n".join(line["text"] for line in meta["lines"]) and text.strip()
        for line in meta["lines"]:  # every line box inside the image
            points = line["box"] if isinstance(line["box"][0], list) else [line["box"][:2], line["box"][2:]]
            assert all(-1 <= x <= image.width + 1 and -1 <= y <= image.height + 1 for x, y in points)
        assert meta["verify"]["cer"] <= 0.1
        by_type.setdefault(meta["source"]["type"], []).append(meta)
    assert {m["language"] for m in by_type["text"]} == {"en", "zh"}
    assert all(m["font"]["name"] and m["layout"] in ("line", "paragraph", "columns") for m in by_type["text"])
    pdf = sorted(by_type["pdf"], key=lambda m: m["source"]["page"])
    assert [m["source"]["page"] for m in pdf] == [0, 1]
    assert pdf[0]["source"]["url"].endswith("/reports/survey.pdf")
    assert [line["text"] for line in pdf[0]["lines"]] == REPORT_PAGES[0]
    # The bar at default settings: Latin ≤ 2 %, CJK ≤ 5 % (dropped samples included).
    counters = samples["counters"]
    print(f"\nCER at default settings: {ocr['cer']} (verified en {counters['verified:text:en']}, "
          f"zh {counters['verified:text:zh']}; chars en {counters['cer_chars:text:en']}, "
          f"zh {counters['cer_chars:text:zh']})")
    assert counters["verified:text:en"] >= 4 and counters["verified:text:zh"] >= 4
    assert ocr["cer"]["text:en"] <= 0.02 and ocr["cer"]["text:zh"] <= 0.05

    folder = tmp_path / "out" / "shards" / "ocr"
    rows = [r for s in json.loads((folder / "manifest.json").read_text())["shards"]
            for r in pq.read_table(folder / s["sidecar"]).to_pylist()]
    assert [r["key"] for r in rows] == [s["__key__"] for s in written]
    assert {r["source_type"] for r in rows} == {"text", "pdf"}

    # A rerun skips the finished stage.
    assert run_render_ocr(config)["skipped"]
    run_manifest = json.loads((tmp_path / "out" / "run_manifest.json").read_text()) \
        if (tmp_path / "out" / "run_manifest.json").exists() else None
    assert run_manifest is None or "ocr_samples" in run_manifest["stages"]


def test_same_seed_same_shards_and_seed_changes_them(tmp_path, demo_warc):
    for name, seed in (("a", 0), ("b", 0), ("c", 7)):
        run_all(_config(demo_warc, tmp_path / name, f"ocr.seed={seed}", "ocr.verify.fraction=0", "ocr.pdf.enabled=false"))
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b and a["manifest.json"] and a != c


@pytest.mark.spark
def test_spark_engine_writes_the_same_bytes(tmp_path, demo_warc):
    extra = ("ocr.verify.fraction=0.5", "dedup.enabled=false")
    run_all(_config(demo_warc, tmp_path / "local", *extra))
    run_all(load_config(None, [f"input.paths=[{demo_warc}]", f"run.output={tmp_path / 'spark'}", "run.progress=false",
                               "images.download=false", "select.enabled=false", "ocr.doc_rate=1", *extra]))
    assert _files(tmp_path / "local") == _files(tmp_path / "spark")


def test_font_without_cjk_never_renders_chinese(tmp_path, demo_warc):
    result = run_all(_config(demo_warc, tmp_path / "out", f"ocr.render.fonts=[{DEJAVU}]", "ocr.samples_per_doc=3",
                             "ocr.pdf.enabled=false", "ocr.verify.fraction=0"))
    samples = result["ocr"]["stats"]["ocr_samples"]
    assert samples["dropped"] == {"render:no_font_covers": 3}  # the Chinese page, three attempts
    written = [json.loads(s["json"]) for s in _samples(tmp_path / "out")]
    assert written and all(m["language"] == "en" for m in written)
    assert all(m["font"]["path"] == DEJAVU for m in written)


def test_pdf_dirs_corrupt_and_encrypted_are_counted(tmp_path):
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    good = text_pdf(REPORT_PAGES)
    (pdfs / "survey.pdf").write_bytes(good)
    (pdfs / "copy.PDF").write_bytes(good)  # the same bytes: the same id, written twice is not a loss
    (pdfs / "truncated.pdf").write_bytes(good[: len(good) // 3])
    (pdfs / "random.pdf").write_bytes(bytes(range(256)) * 8)
    (pdfs / "notes.txt").write_text("not a pdf, not picked up")
    config = load_config(None, [f"run.output={tmp_path / 'out'}", "run.engine=local", "run.progress=false",
                                f"ocr.pdf.dirs=[{pdfs}]", "ocr.verify.fraction=0"])
    manifest = run_render_ocr(config)
    stats = manifest["stats"]
    assert stats["ocr_pdfs"]["in"] == 4
    # Two unreadable files, and the copy: same bytes → same id, rendered once, counted as duplicate.
    assert stats["ocr_pdfs"]["dropped"] == {"pdf:broken": 2, "pdf:duplicate": 1}
    assert stats["ocr_pdfs"]["out"] == 1
    assert stats["ocr_samples"]["out"] == manifest["num_samples"]


def test_cli_render_ocr_needs_shards_or_pdfs(tmp_path, capsys):
    from pipeline.cli import main

    with pytest.raises(RuntimeError, match="write-shards first"):
        main(["render-ocr", "--output", str(tmp_path / "nothing"), "--engine", "local", "--no-progress"])
