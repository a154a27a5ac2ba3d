"""interleaf report: stats.json numbers against the manifests they summarise, "not run"
sections, and the self-contained HTML page loaded in a headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from pipeline.report.stats import Histogram, collect_stats, log_edges

SECTIONS = ("funnel", "languages", "clip_scores", "image_sizes", "documents", "dedup", "ocr", "exclusions")


@pytest.fixture(scope="module")
def report(demo_output: Path) -> Path:
    assert main(["report", "--output", str(demo_output)]) == 0
    return demo_output / "report"


def _stats(report: Path) -> dict:
    return json.loads((report / "stats.json").read_text())


def test_report_writes_stats_json_and_html(report):
    stats = _stats(report)
    assert all(stats[s]["available"] for s in SECTIONS)
    html = (report / "index.html").read_text()
    for s in SECTIONS:
        assert f'<section id="{s}">' in html
    assert "not run" not in html


def test_funnel_matches_run_manifest_and_balances(report, demo_output):
    stats = _stats(report)
    manifest = json.loads((demo_output / "run_manifest.json").read_text())["stages"]
    rows = {r["stage"]: r for r in stats["funnel"]["stages"]}
    assert set(rows) == set(manifest)
    for name, st in manifest.items():
        r = rows[name]
        assert (r["in"], r["out"], r["dropped"]) == (st["in"], st["out"], st["dropped"])
        assert r["in"] == r["out"] + sum(r["dropped"].values()) == r["out"] + r["dropped_total"]
        assert r["balanced"]
    assert [r["stage"] for r in stats["funnel"]["stages"]][:3] == ["extract", "langid", "filters"]


def test_sections_match_the_stage_outputs(report, demo_output):
    stats = _stats(report)
    manifest = json.loads((demo_output / "run_manifest.json").read_text())["stages"]
    interleaved = json.loads((demo_output / "shards/interleaved/manifest.json").read_text())
    # documents: every sample of the interleaved shards; languages from their sidecars
    assert stats["documents"]["documents"] == interleaved["num_samples"] == manifest["write_interleaved"]["out"]
    assert stats["documents"]["words"]["count"] == interleaved["num_samples"]
    sidecar = pq.read_table(demo_output / "shards/interleaved/shard-000000.parquet").to_pylist()
    assert sum(stats["languages"]["shards"].values()) == len(sidecar)
    assert stats["documents"]["chars"]["sum"] == sum(r["text_chars"] for r in sidecar)
    assert stats["languages"]["excluded"] == {"zh": 1}
    # exclusions: each reason as counted by the write stage
    excl = stats["exclusions"]
    assert excl["by_reason"] == {"language:not_allowed": 1}
    for reason, n in excl["by_reason"].items():
        assert manifest["write_interleaved"]["dropped"][reason] == n
    # images and scores
    assert stats["image_sizes"]["urls"] == manifest["fetch_images"]["in"]
    assert stats["image_sizes"]["status"]["ok"] == manifest["fetch_images"]["out"]
    assert stats["image_sizes"]["short_side"]["min"] >= 1
    assert stats["clip_scores"]["images"] == manifest["score_clip"]["in"]
    assert stats["clip_scores"]["best_score"]["count"] == manifest["score_clip"]["counters"]["scored"]
    assert -1 <= stats["clip_scores"]["best_score"]["min"] <= stats["clip_scores"]["best_score"]["max"] <= 1
    # dedup: image clusters cover every fetched URL
    images = stats["dedup"]["images"]
    assert sum(int(size) * n for size, n in images["cluster_sizes"].items()) == images["urls"]
    assert images["clusters"] == manifest["image_dedup"]["counters"]["clusters"]
    # OCR: the manifest's CER per group, sample counts from the sidecars
    ocr_manifest = json.loads((demo_output / "shards/ocr/manifest.json").read_text())
    assert stats["ocr"]["cer_all"] == ocr_manifest["cer"]["all"]
    assert {g: v["cer"] for g, v in stats["ocr"]["groups"].items()} == \
        {g: v for g, v in ocr_manifest["cer"].items() if g != "all"}
    assert sum(v["samples"] for v in stats["ocr"]["groups"].values()) == ocr_manifest["num_samples"]


def test_sections_say_not_run_when_their_stage_is_absent(report, demo_output, tmp_path):
    out = tmp_path / "partial"
    out.mkdir()
    shutil.copy(demo_output / "run_manifest.json", out)
    shutil.copytree(demo_output / "images", out / "images")
    assert main(["report", "--output", str(out)]) == 0
    stats = _stats(out / "report")
    assert stats["funnel"]["available"] and stats["image_sizes"]["available"]
    for s in ("clip_scores", "documents", "dedup", "ocr", "languages", "exclusions"):
        assert stats[s] == {"available": False}, s
    html = (out / "report/index.html").read_text()
    for s in ("clip_scores", "documents", "dedup", "ocr"):
        section = re.search(rf'<section id="{s}">(.*?)</section>', html, re.S).group(1)
        assert "not run" in section
    funnel = re.search(r'<section id="funnel">(.*?)</section>', html, re.S).group(1)
    assert "not run" not in funnel


def test_report_on_a_missing_folder_is_an_error(tmp_path, capsys):
    assert main(["report", "--output", str(tmp_path / "nope")]) == 2
    assert "no output folder" in capsys.readouterr().err


def test_histogram_bins_and_summary():
    h = Histogram(log_edges(1000, per_decade=1))
    assert h.edges == [0.0, 1.0, 10.0, 100.0, 1000.0]
    h.add_all([0, 5, 50, 500, 5000, None])
    assert h.counts == [1, 1, 1, 2] and h.n == 5 and h.min == 0 and h.max == 5000
    assert collect_stats  # imported for the module's public API


def test_html_is_self_contained(report):
    html = (report / "index.html").read_text()
    assert "<script" not in html.lower()
    srcs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert srcs and all(s.startswith(("data:image/png;base64,", "#")) for s in srcs), srcs
    assert not re.search(r"url\(|@import", html)


def test_report_page_loads_in_chromium_without_errors(report, browser_page, tmp_path):
    page, errors = browser_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((report / "index.html").as_uri())
    page.wait_for_load_state("load")
    headings = page.eval_on_selector_all("section h2", "els => els.map(e => e.textContent)")
    assert headings == ["Funnel per stage", "Languages", "CLIP scores", "Image sizes", "Document lengths",
                        "Deduplication clusters", "OCR character error rate", "Excluded documents"]
    images = page.eval_on_selector_all(
        "img.plot", "els => els.map(e => [e.alt, e.complete, e.naturalWidth, e.naturalHeight])")
    assert len(images) >= 8
    for alt, complete, width, height in images:
        assert complete and width > 0 and height > 0, alt
    funnel_rows = page.eval_on_selector_all("#funnel tbody tr", "els => els.length")
    assert funnel_rows >= 10
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 1000
    assert errors.errors == []
