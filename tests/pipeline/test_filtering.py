"""The filters in the pipeline: tagged at extraction, selected when shards are written.

Self-contained: the demo WARC our own code builds (two English pages, one Chinese page).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.config import load_config
from pipeline.demo import build_demo_warc
from pipeline.pages import read_pages
from pipeline.run import run_all, run_extract, run_write_shards

BASE = ["images.enabled=false", "dedup.enabled=false", "run.engine=local", "run.progress=false"]


def _config(tmp_path: Path, warc: Path, *extra: str):
    return load_config(None, [*BASE, f"input.paths={json.dumps([str(warc)])}",
                              f"run.output={json.dumps(str(tmp_path / 'out'))}", *extra])


@pytest.fixture(scope="module")
def warc(tmp_path_factory) -> Path:
    return build_demo_warc(tmp_path_factory.mktemp("demo") / "demo.warc.gz")


def _exclusions(folder: Path) -> list[dict]:
    files = sorted(folder.glob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def test_pages_carry_signals_of_every_filter(tmp_path, warc):
    run_extract(_config(tmp_path, warc))
    docs = [d for p in sorted((tmp_path / "out" / "pages").glob("part-*.parquet")) for d in read_pages(p)]
    html = [d for d in docs if d.kind == "html"]
    assert {d.language for d in html} == {"en", "zh"}
    for doc in html:
        for key in ("quality.words", "quality.stopword_ratio", "gopher.dup_5gram_chars", "c4.sentences",
                    "flagged.adult", "language.paragraphs"):
            assert key in doc.signals, (doc.url, key)
        judged = [n for n in doc.text_nodes if "words" in n.signals]
        assert judged and all("stopword_ratio" in n.signals for n in judged)
        assert any(n.language == doc.language for n in doc.text_nodes)


def test_threshold_change_reselects_without_reextracting(tmp_path, warc):
    first = run_all(_config(tmp_path, warc))
    assert first["shards"]["num_samples"] == 3
    pages = tmp_path / "out" / "pages"
    before = {p.name: p.stat().st_mtime_ns for p in pages.glob("part-*.parquet")}

    # English documents need 100000 words now: only the Chinese page is selected. The
    # finished shards were made with other thresholds: --force (on write-shards only).
    changed = _config(tmp_path, warc, "select.en.min_words=100000")
    assert run_extract(changed).get("skipped") is True
    changed.run.force = True
    shards = run_write_shards(changed)
    assert {p.name: p.stat().st_mtime_ns for p in pages.glob("part-*.parquet")} == before
    assert shards["num_samples"] == 1
    assert shards["stats"]["write_interleaved"]["dropped"]["quality:min_words"] == 2
    rows = _exclusions(tmp_path / "out" / "shards" / "interleaved" / "excluded")
    assert shards["exclusions"]["rows"] == len(rows)
    quality = [r for r in rows if r["reason"] == "quality:min_words"]
    assert len(quality) == 2
    for r in quality:
        assert r["language"] == "en" and r["stage"] == "write" and r["filter"] == "quality@1"
        assert r["signal"] == "quality.words" and r["value"] < 100000 and r["threshold"] == "100000"

    # Back to the defaults: the same three samples as the first run, byte for byte.
    third = run_write_shards(_config(tmp_path, warc, "run.force=true"))
    assert [s["sha256"] for s in third["shards"]] == [s["sha256"] for s in first["shards"]["shards"]]
    assert {p.name: p.stat().st_mtime_ns for p in pages.glob("part-*.parquet")} == before
    assert not _exclusions(tmp_path / "out" / "shards" / "interleaved" / "excluded")


def test_drop_mode_filters_at_extraction(tmp_path, warc):
    config = _config(tmp_path, warc, "filters.drop=[language@1]", "select.languages=[zh]")
    manifest = run_extract(config)
    stats = manifest["stats"]["filters"]
    assert stats["dropped"] == {"language:not_allowed": 2}
    assert stats["in"] == stats["out"] + 2
    rows = _exclusions(tmp_path / "out" / "pages" / "excluded")
    assert [(r["reason"], r["language"], r["stage"]) for r in rows] == [("language:not_allowed", "en", "extract")] * 2
    docs = [d for p in sorted((tmp_path / "out" / "pages").glob("part-*.parquet")) for d in read_pages(p)]
    assert {d.language for d in docs if d.kind == "html"} == {"zh"}
    # In drop mode the thresholds are part of what the pages table depends on.
    assert "select" in config.extract_sections()


def test_interleaved_rules_at_write_time(tmp_path, warc):
    run_extract(_config(tmp_path, warc))
    manifest = run_write_shards(_config(tmp_path, warc, "select.min_images=3"))
    dropped = manifest["stats"]["write_interleaved"]["dropped"]
    assert dropped.get("interleaved:min_images", 0) >= 1
    rows = _exclusions(tmp_path / "out" / "shards" / "interleaved" / "excluded")
    assert all(r["signal"] == "interleaved.images" and r["value"] < 3 for r in rows
               if r["reason"] == "interleaved:min_images")


def _write_examples(tmp_path: Path) -> tuple[Path, Path]:
    """Good: varied English prose about the demo's subjects; bad: menus and keyword spam."""
    import random

    rng = random.Random(7)
    subjects = ["the keeper", "the lighthouse", "the tide", "a storm", "the coast", "the lamp", "the harbour"]
    verbs = ["watched", "crossed", "lit", "reached", "described", "remembered", "followed"]
    objects = ["the northern rocks", "every winter night", "the old stone tower", "the fishing boats",
               "the rising water", "a letter from the mainland"]
    good = [" ".join(f"{rng.choice(subjects).capitalize()} {rng.choice(verbs)} {rng.choice(objects)}."
                     for _ in range(4)) for _ in range(300)]
    menu = ["home", "login", "register", "cart", "sale", "buy now", "cheap", "discount", "click here", "free"]
    bad = [" | ".join(rng.choice(menu) for _ in range(12)) for _ in range(300)]
    (tmp_path / "good.txt").write_text("\n".join(good) + "\n")
    (tmp_path / "bad.txt").write_text("\n".join(bad) + "\n")
    return tmp_path / "good.txt", tmp_path / "bad.txt"


def test_train_quality_model_and_use_it_as_a_classifier(tmp_path, warc, capsys):
    pytest.importorskip("floret", reason="training needs the quality extra (floret)")
    from pipeline.cli import main

    good, bad = _write_examples(tmp_path)
    model = tmp_path / "quality.bin"
    assert main(["train-quality", "--good", str(good), "--bad", str(bad), "-o", str(model)]) == 0
    assert json.loads((tmp_path / "quality.bin.json").read_text())["n_good"] == 300
    capsys.readouterr()

    config = _config(tmp_path, warc, f"filters.classifiers.quality={model}")
    run_extract(config)
    docs = [d for p in sorted((tmp_path / "out" / "pages").glob("part-*.parquet")) for d in read_pages(p)]
    english = [d for d in docs if d.language == "en"]
    assert english and all(0.5 < d.signals["classifier.quality"] <= 1.0 for d in english)

    # A bar no document reaches: every HTML page is dropped by the classifier rule, at write time.
    strict = _config(tmp_path, warc, f"filters.classifiers.quality={model}", "select.classifier_min.quality=1.01")
    manifest = run_write_shards(strict)
    assert manifest["num_samples"] == 0
    assert manifest["stats"]["write_interleaved"]["dropped"]["classifier:quality_below_min"] == 3


def test_cli_explains_a_page_and_lists_exclusions(tmp_path, warc, capsys):
    from pipeline.cli import main

    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Lottery</title></head><body><article>"
                    + "".join(f"<p>六合彩 特码 开奖 第{i}期 资料 大全 请点击 投注 平台 注册 送 彩金</p>" for i in range(5))
                    + "</article></body></html>", encoding="utf-8")
    assert main(["extract-html", str(page), "--url", "http://lottery.example/"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["language"] == "zh" and out["signals"]["flagged.gambling"] > 0.005
    assert out["selection"]["kept"] is False
    assert out["selection"]["verdict"]["reason"] == "flagged:gambling"

    config = _config(tmp_path, warc, "select.en.min_words=100000")
    run_all(config)
    assert main(["exclusions", "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "       2  quality:min_words" in printed and "quality.words=" in printed
