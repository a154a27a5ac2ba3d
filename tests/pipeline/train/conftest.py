"""Pair shards to train on: drawn shapes with their captions, written by the pairs stage."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from pipeline.config import load_config
from pipeline.outputs import mark_finished
from pipeline.shards.interleaved import WriteTask
from pipeline.shards.pairs import finalize_pairs, write_pair_task
from pipeline.stats import RunStats
from schemas import Document, ImageNode, TextNode

COLORS = {"red": (220, 30, 30), "green": (30, 170, 40), "blue": (30, 40, 220), "yellow": (230, 210, 20)}
SHAPES = ("circle", "square")
CLASSES = [(c, s) for c in COLORS for s in SHAPES]


def drawing(color: str, shape: str, offset: int = 0) -> Image.Image:
    im = Image.new("RGB", (80, 80), "white")
    box = (6 + offset % 7, 6 + offset % 5, 66 + offset % 7, 70 - offset % 5)
    (ImageDraw.Draw(im).ellipse if shape == "circle" else ImageDraw.Draw(im).rectangle)(box, fill=COLORS[color])
    return im


def jpeg(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


def write_shape_pairs(out: Path, per_class: int = 8, max_samples: int = 16) -> Path:
    """OUT/shards/pairs/ (finished) with ``per_class`` captioned drawings of each colour x shape."""
    config = load_config(None, [f"run.output={out}", f"shards.max_samples={max_samples}"])
    docs = []
    for k in range(per_class):
        for i, (color, shape) in enumerate(CLASSES):
            doc_id, url = f"d{k:02d}{i}", f"https://img.example.com/{k}/{color}-{shape}.jpg"
            node = ImageNode(url=url, image=jpeg(drawing(color, shape, k)), image_mime="image/jpeg", status="ok")
            doc = Document(doc_id=doc_id, url=f"https://example.com/{doc_id}", language="en",
                           nodes=[TextNode(f"A page about a {color} {shape}."), node])
            doc.renumber()
            row = {"doc_id": doc_id, "image_index": 0, "url": url, "status": "ok", "reason": None,
                   "candidate_sources": ["alt"], "candidate_node_indexes": [-1], "candidate_scores": [0.4],
                   "best_source": "alt", "best_text": f"a {color} {shape}", "best_score": 0.4,
                   "matched_text_index": 0, "matched_sim": 0.4, "model": "test"}
            docs.append((doc, [row]))
    folder = out / "shards" / "pairs"
    half = len(docs) // 2
    results = [write_pair_task(WriteTask(0, ()), docs[:half], config, folder, 0.28),
               write_pair_task(WriteTask(1, ()), docs[half:], config, folder, 0.28)]
    run = RunStats()
    for r in results:
        run.merge(RunStats.from_dict(r["stats"]))
    finalize_pairs(folder, results, config, run.to_dict())
    mark_finished(folder)
    return folder


@pytest.fixture(scope="session", autouse=True)
def offline():
    """The trainer must not look for weights or tokenizers on the hub (no network here)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("WANDB_MODE", "disabled")
        yield
