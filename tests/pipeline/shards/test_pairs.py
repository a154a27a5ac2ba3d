"""shards/pairs/: one (jpg, txt, json) sample per well-scored image, and open_clip_train on it."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image, ImageDraw
from webdataset.tariterators import base_plus_ext

from pipeline.config import Config, load_config
from pipeline.shards.interleaved import WriteTask
from pipeline.shards.pairs import SIZES, finalize_pairs, pair_key, write_pair_task
from pipeline.stats import RunStats
from schemas import Document, ImageNode, TextNode
from schemas.arrow import PAIRS_SIDECAR_SCHEMA

REPO = Path(__file__).resolve().parents[3]
TINY_MODEL = REPO / "pipeline" / "clip" / "configs" / "interleaf-tiny.json"
THRESHOLD = 0.28
COLORS = {"red": (220, 30, 30), "green": (30, 170, 40), "blue": (30, 40, 220), "yellow": (230, 210, 20)}
SHAPES = ("circle", "square")


def drawing(color: str, shape: str, offset: int = 0, fmt: str = "JPEG", size: tuple[int, int] = (96, 80)) -> bytes:
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    box = (8 + offset % 9, 8, size[0] - 20 + offset % 9, size[1] - 10)
    (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=COLORS[color])
    out = io.BytesIO()
    im.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def fetched(url: str, data: bytes | None) -> ImageNode:
    """An image node as the images stage leaves it (normalised JPEG, status ok)."""
    return ImageNode(url=url, image=data, image_mime="image/jpeg" if data else None,
                     status="ok" if data else "failed", reason=None if data else "http_404")


def score_row(doc_id: str, index: int, text: str | None, score: float | None, *, status: str = "ok",
              reason: str | None = None, url: str | None = None) -> dict[str, Any]:
    """A row of the scores/ table (SCORES_SCHEMA) as the caller hands it over."""
    ok = status == "ok"
    return {"doc_id": doc_id, "image_index": index, "node_index": 2 * index + 1, "url": url, "status": status,
            "reason": reason, "candidate_sources": ["alt", "before:1"] if ok else [],
            "candidate_node_indexes": [-1, 2 * index] if ok else [],
            "candidate_scores": [score, score - 0.05] if ok else [],
            "best_source": "alt" if ok else None, "best_text": text, "best_score": score,
            "matched_text_index": index if ok else None, "matched_sim": score, "model": "tiny-test" if ok else None}


def document(doc_id: str, images: list[ImageNode]) -> Document:
    nodes: list[TextNode | ImageNode] = []
    for i, image in enumerate(images):
        nodes += [TextNode(f"Paragraph {i} of {doc_id}."), image]
    doc = Document(doc_id=doc_id, url=f"https://example.com/{doc_id}", nodes=nodes, language="en")
    doc.renumber()
    return doc


def mixed_tasks() -> list[list[tuple[Document, list[dict[str, Any]]]]]:
    """Two tasks covering every outcome; 3 pairs out of 9 images."""
    a_urls = [f"https://img.example.com/a{i}.{'png' if i == 3 else 'jpg'}" for i in range(4)]
    doc_a = document("docA", [
        fetched(a_urls[0], drawing("red", "circle")),  # pair
        fetched(a_urls[1], drawing("green", "circle")),  # below the threshold
        fetched(a_urls[2], drawing("blue", "circle")),  # skipped by the scorer: no text around it
        ImageNode(url=a_urls[3], image=drawing("blue", "square", fmt="PNG")),  # archived PNG → JPEG; exactly 0.28
    ])
    rows_a = [score_row("docA", 3, "a blue square", THRESHOLD, url=a_urls[3]),  # rows in any order
              score_row("docA", 0, "a red circle", 0.35, url=a_urls[0]),
              score_row("docA", 1, "a green circle", 0.20),
              score_row("docA", 2, None, None, status="skipped", reason="no_text")]
    doc_b = document("docB", [
        fetched("https://img.example.com/b0.jpg", None),  # failed download: scorer skipped it
        fetched("https://img.example.com/b1.jpg", drawing("red", "square")),  # no score row
        ImageNode(url="https://img.example.com/b2.jpg", image=b"not an image"),  # archived garbage
        fetched("https://img.example.com/b3.jpg", drawing("green", "square", size=(120, 64))),  # pair
        ImageNode(url="https://img.example.com/b4.jpg"),  # scored, but the caller attached no bytes
    ])
    rows_b = [score_row("docB", 0, None, None, status="skipped", reason="no_image"),
              score_row("docB", 2, "garbage", 0.5),
              score_row("docB", 3, "一个绿色的方块 (a green square)", 0.31),
              score_row("docB", 4, "a yellow circle", 0.4),
              score_row("docB", 9, "stray", 0.9)]  # no such image: counted, not written
    doc_c = document("docC", [])
    return [[(doc_a, rows_a)], [(doc_b, rows_b), (doc_c, [])]]


@pytest.fixture
def config(tmp_path) -> Config:
    return load_config(None, [f"run.output={tmp_path / 'out'}", "shards.max_samples=2"])


def write_pairs(out: Path, tasks: list[list[tuple[Document, list[dict[str, Any]]]]], config: Config,
                threshold: float = THRESHOLD) -> dict[str, Any]:
    """What the run wiring does: one write task per group, then finalize."""
    results = [write_pair_task(WriteTask(i, ()), docs, config, out, threshold) for i, docs in enumerate(tasks)]
    run = RunStats()
    for result in results:
        run.merge(RunStats.from_dict(result["stats"]))
    run.check()
    return finalize_pairs(out, results, config, run.to_dict())


def read_samples(out: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    url = str(out / manifest["url_pattern"])
    return list(wds.WebDataset(url, shardshuffle=False).decode("pil"))


def test_keys_have_no_dots_because_webdataset_splits_at_the_first_one():
    assert base_plus_ext("a.b.jpg") == ("a", "b.jpg")  # a dotted key would lose its tail
    assert pair_key("0f3a9c", 7) == "0f3a9c_0007"


def test_pairs_read_back_with_webdataset(tmp_path, config):
    out = tmp_path / "pairs"
    manifest = write_pairs(out, mixed_tasks(), config)
    stats = manifest["stats"]["write_pairs"]
    assert stats["in"] == 9 and stats["out"] == 3
    assert stats["dropped"] == {"score_below_threshold": 1, "not_scored:no_text": 1, "not_scored:no_image": 1,
                                "not_scored:no_score_row": 1, "image_undecodable": 1, "no_image_bytes": 1}
    assert stats["in"] == stats["out"] + sum(stats["dropped"].values())
    assert stats["counters"] == {"documents": 3, "documents_with_pairs": 2, "score_rows_unmatched": 1}

    samples = read_samples(out, manifest)
    assert [s["__key__"] for s in samples] == ["docA_0000", "docA_0003", "docB_0003"]
    for s in samples:
        assert set(s) == {"__key__", "__url__", "jpg", "txt", "json"}
        assert isinstance(s["jpg"], Image.Image) and s["jpg"].mode == "RGB"
    red, blue, green = samples
    assert [s["txt"] for s in samples] == ["a red circle", "a blue square", "一个绿色的方块 (a green square)"]
    assert red["jpg"].getpixel((48, 40))[0] > 180  # the red disc, not a blank image
    assert green["jpg"].size == (120, 64)
    assert red["json"] == {
        "schema_version": red["json"]["schema_version"], "doc_id": "docA", "url": "https://example.com/docA",
        "image_url": "https://img.example.com/a0.jpg", "image_index": 0, "language": "en",
        "width": 96, "height": 80, "best_source": "alt", "best_score": 0.35,
        "candidate_sources": ["alt", "before:1"], "candidate_scores": [0.35, 0.3], "model": "tiny-test",
        "ocr": None, "synthetic_caption": None, "synthetic_caption_score": None, "txt_source": "web"}
    assert blue["json"]["best_score"] == THRESHOLD  # the threshold itself is kept (≥)
    assert green["json"]["image_index"] == 3 and green["json"]["width"] == 120

    # Member order, normalised tar metadata, and the PNG converted to a real JPEG.
    with tarfile.open(out / "shard-000000.tar") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["docA_0000.jpg", "docA_0000.txt", "docA_0000.json",
                                             "docA_0003.jpg", "docA_0003.txt", "docA_0003.json"]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.mode) for m in members} == {(0, 0, 0, "", 0o644)}
        assert tar.extractfile("docA_0003.jpg").read()[:3] == b"\xff\xd8\xff"
        raw_json = tar.extractfile("docA_0000.json").read()
    assert raw_json == json.dumps(json.loads(raw_json), ensure_ascii=False, sort_keys=True,
                                  separators=(",", ":")).encode()


def test_manifest_sizes_and_sidecars(tmp_path, config):
    out = tmp_path / "pairs"
    manifest = write_pairs(out, mixed_tasks(), config)
    # Task 0 wrote one full shard (max_samples=2), task 1 one shard: contiguous names.
    assert [(s["name"], s["samples"]) for s in manifest["shards"]] == [("shard-000000.tar", 2),
                                                                      ("shard-000001.tar", 1)]
    assert manifest["layout"] == "pairs" and manifest["num_samples"] == 3 and manifest["num_shards"] == 2
    assert manifest["url_pattern"] == "shard-{000000..000001}.tar"
    assert manifest["threshold"] == THRESHOLD and manifest["models"] == ["tiny-test"]
    assert "exclusions" not in manifest
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert json.loads((out / SIZES).read_text()) == {"shard-000000.tar": 2, "shard-000001.tar": 1}
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "shard-000000.parquet", "shard-000000.tar", "shard-000001.parquet", "shard-000001.tar",
        SIZES]  # _tmp is gone; the caller adds _SUCCESS

    samples = {s["__key__"]: s for s in wds.WebDataset(str(out / manifest["url_pattern"]), shardshuffle=False)}
    for shard in manifest["shards"]:
        tar, sidecar = out / shard["name"], out / shard["sidecar"]
        assert hashlib.sha256(tar.read_bytes()).hexdigest() == shard["sha256"]
        assert hashlib.sha256(sidecar.read_bytes()).hexdigest() == shard["sidecar_sha256"]
        table = pq.read_table(sidecar)
        assert table.schema.equals(PAIRS_SIDECAR_SCHEMA, check_metadata=False)
        for row in table.to_pylist():
            sample = samples[row["key"]]
            assert row["key"] == pair_key(row["doc_id"], row["image_index"])
            assert row["jpg_sha256"] == hashlib.sha256(sample["jpg"]).hexdigest()
            assert row["text_chars"] == len(sample["txt"].decode())
            assert row["best_score"] == pytest.approx(json.loads(sample["json"])["best_score"], abs=1e-6)
    rows = pq.read_table(out / "shard-000001.parquet").to_pylist()
    assert rows[0]["url"] == "https://img.example.com/b3.jpg" and rows[0]["text_chars"] == 24


@pytest.mark.parametrize("threshold, written", [(0.0, 4), (0.3, 2), (0.9, 0)])
def test_threshold_is_a_parameter(tmp_path, config, threshold, written):
    manifest = write_pairs(tmp_path / "pairs", mixed_tasks(), config, threshold)
    stats = manifest["stats"]["write_pairs"]
    assert stats["out"] == manifest["num_samples"] == written
    assert stats["in"] == 9 == stats["out"] + sum(stats["dropped"].values())
    assert manifest["threshold"] == threshold
    if written:
        assert len(read_samples(tmp_path / "pairs", manifest)) == written
    else:
        assert manifest["num_shards"] == 0 and json.loads((tmp_path / "pairs" / SIZES).read_text()) == {}


def test_two_writes_are_byte_identical(tmp_path, config):
    digests = []
    for name in ("one", "two"):
        out = tmp_path / name
        write_pairs(out, mixed_tasks(), config)
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())})
    assert digests[0] == digests[1] and len(digests[0]) == 6


def test_a_finished_task_is_not_written_again(tmp_path, config):
    out = tmp_path / "pairs"
    first = write_pair_task(WriteTask(0, ()), mixed_tasks()[0], config, out, THRESHOLD)

    def must_not_be_read() -> Iterator[tuple[Document, list[dict[str, Any]]]]:
        raise AssertionError("a finished task read its input again")
        yield  # pragma: no cover

    assert write_pair_task(WriteTask(0, ()), must_not_be_read(), config, out, THRESHOLD) == first


# -- open_clip_train on the shards as they are -------------------------------------------------

def training_tasks(n_docs: int = 20) -> list[list[tuple[Document, list[dict[str, Any]]]]]:
    """Two tasks of documents with two captioned shapes each: 2 * n_docs pairs."""
    tasks: list[list[tuple[Document, list[dict[str, Any]]]]] = [[], []]
    for d in range(n_docs):
        doc_id = f"train{d:03d}"
        images, rows = [], []
        for k in range(2):
            color, shape = list(COLORS)[(d + k) % len(COLORS)], SHAPES[(d // 2 + k) % 2]
            url = f"https://img.example.com/{doc_id}/{k}.jpg"
            images.append(fetched(url, drawing(color, shape, offset=d)))
            rows.append(score_row(doc_id, k, f"a {color} {shape}", 0.3 + 0.001 * d, url=url))
        tasks[d * 2 // n_docs].append((document(doc_id, images), rows))
    return tasks


def test_open_clip_train_trains_on_the_pairs_as_they_are(tmp_path):
    """``python -m open_clip_train.main --dataset-type webdataset`` on our shards, unchanged.

    open_clip_train has no flag to register a model config, but open_clip resolves
    ``--model local-dir:DIR`` from ``DIR/open_clip_config.json`` ({"model_cfg": ...}), so the
    stock entry point trains the tiny model with no runner. Offline and fast: no wandb /
    tensorboard (``--report-to ''``), no zero-shot or validation, CPU fp32.
    """
    pytest.importorskip("open_clip_train.main", reason="needs open_clip_torch with its training deps (pandas)")
    import open_clip
    import torch
    from open_clip_train.data import get_dataset_size

    config = load_config(None, [f"run.output={tmp_path / 'out'}", "shards.max_samples=16"])
    data = tmp_path / "pairs"
    manifest = write_pairs(data, training_tasks(), config)
    n = manifest["num_samples"]
    assert n == 40 and manifest["num_shards"] == 4  # 16 + 4 from task 0, 16 + 4 from task 1
    train_data = str(data / manifest["url_pattern"])
    # sizes.json tells open_clip_train the sample count (so --train-num-samples is optional).
    assert get_dataset_size(train_data) == (n, manifest["num_shards"])

    model_dir = tmp_path / "interleaf-tiny"
    model_dir.mkdir()
    model_cfg = json.loads(TINY_MODEL.read_text())
    (model_dir / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg}))
    logs = tmp_path / "logs"
    batch = 8
    command = [sys.executable, "-m", "open_clip_train.main",
               "--dataset-type", "webdataset", "--train-data", train_data, "--train-num-samples", str(n),
               "--batch-size", str(batch), "--epochs", "1", "--workers", "0", "--precision", "fp32",
               "--device", "cpu", "--model", f"local-dir:{model_dir}", "--lr", "1e-3", "--warmup", "1",
               "--logs", str(logs), "--name", "t", "--save-frequency", "1", "--report-to", "",
               "--zeroshot-frequency", "0", "--val-frequency", "0", "--log-every-n-steps", "1", "--seed", "0"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    start = time.monotonic()
    proc = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(f"open_clip_train: {elapsed:.1f} s")

    log = (logs / "t" / "out.log").read_text()
    losses = [float(x) for x in re.findall(r" Loss: (\S+) \(", log)]
    assert len(losses) == n // batch  # one line per step (--log-every-n-steps 1)
    assert all(math.isfinite(x) for x in losses), losses

    checkpoint = torch.load(logs / "t" / "checkpoints" / "epoch_1.pt", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 1
    open_clip.add_model_config(TINY_MODEL)
    model = open_clip.create_model("interleaf-tiny")
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(checkpoint["state_dict"])  # strict: every key and shape matches
    assert any(not torch.equal(fresh[k], v) for k, v in model.state_dict().items())
