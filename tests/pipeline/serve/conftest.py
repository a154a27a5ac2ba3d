"""Shared fixtures: a CoCa checkpoint saved as open_clip_train does, small pair and interleaved
shards, an index built by ``interleaf index``, and a real uvicorn server on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import open_clip
import pytest
import torch
from serve_helpers import (
    BATCH,
    COCA,
    COLORS,
    MAX_IMAGE_BYTES,
    SHAPES,
    Running,
    drawing,
    run_in_thread,
)

from pipeline.cli import main
from pipeline.clip.model import LoadedClip, register_configs
from pipeline.config import load_config
from pipeline.outputs import mark_finished
from pipeline.serve.app import ServeSettings, ServeState
from pipeline.serve.index import Index
from pipeline.serve.loading import ModelSource, load_model
from pipeline.shards.interleaved import WriteTask, finalize_interleaved, write_task_docs
from pipeline.shards.pairs import finalize_pairs, write_pair_task
from pipeline.stats import RunStats
from schemas import Document, ImageNode, TextNode


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """interleaf-coca-tiny weights (seed 1: not load_clip's random init), saved like open_clip_train."""
    register_configs()
    torch.manual_seed(1)
    model = open_clip.create_model(COCA)
    path = tmp_path_factory.mktemp("ckpt") / "epoch_1.pt"
    torch.save({"epoch": 1, "name": "t", "state_dict": {"module." + k: v for k, v in model.state_dict().items()}},
               path)
    return path


def _pair_docs() -> list[tuple[Document, list[dict]]]:
    """12 documents with one image each; every text is distinct."""
    out = []
    for i, (color, shape) in enumerate((c, s) for c in COLORS for s in SHAPES):
        doc_id = f"doc{i:02d}"
        url = f"https://img.example.com/{color}-{shape}.jpg"
        node = ImageNode(url=url, image=drawing(color, shape), image_mime="image/jpeg", status="ok")
        doc = Document(doc_id=doc_id, url=f"https://example.com/{doc_id}",
                       nodes=[TextNode(f"A page about a {color} {shape}."), node], language="en")
        doc.renumber()
        row = {"doc_id": doc_id, "image_index": 0, "url": url, "status": "ok", "reason": None,
               "candidate_sources": ["alt"], "candidate_node_indexes": [-1], "candidate_scores": [0.4],
               "best_source": "alt", "best_text": f"a {color} {shape}", "best_score": 0.4,
               "matched_text_index": 0, "matched_sim": 0.4, "model": "tiny-test"}
        out.append((doc, [row]))
    return out


@pytest.fixture(scope="session")
def run_output(tmp_path_factory) -> Path:
    """OUT with finished shards/pairs/ (12 pairs in 3 shards) and shards/interleaved/."""
    out = tmp_path_factory.mktemp("run") / "out"
    config = load_config(None, [f"run.output={out}", "shards.max_samples=5", "select.enabled=false"])
    docs = _pair_docs()
    pairs = out / "shards" / "pairs"
    results = [write_pair_task(WriteTask(0, ()), docs[:7], config, pairs, 0.28),
               write_pair_task(WriteTask(1, ()), docs[7:], config, pairs, 0.28)]
    _finalize(pairs, results, config, finalize_pairs)

    # Interleaved: 3 documents, 2 images each, one more image without bytes (skipped by the index).
    inter_docs = []
    for d in range(3):
        nodes: list[TextNode | ImageNode] = [TextNode(f"Document {d} talks about shapes.")]
        for j, (color, shape) in enumerate([(c, s) for c in COLORS for s in SHAPES][2 * d: 2 * d + 2]):
            nodes += [ImageNode(url=f"https://img.example.com/i{d}{j}.jpg", alt=f"{color} {shape} {d}",
                                image=drawing(color, shape), image_mime="image/jpeg", status="ok"),
                      TextNode(f"Text after image {j}.")]
        nodes.append(ImageNode(url=f"https://img.example.com/missing{d}.jpg", status="failed", reason="http_404"))
        doc = Document(doc_id=f"inter{d}", url=f"https://example.com/inter{d}", nodes=nodes, language="en")
        doc.renumber()
        inter_docs.append(doc)
    inter = out / "shards" / "interleaved"
    _finalize(inter, [write_task_docs(WriteTask(0, ()), inter_docs, config, str(inter))], config,
              finalize_interleaved)
    return out


def _finalize(folder: Path, results: list[dict], config, finalize) -> None:
    run = RunStats()
    for r in results:
        run.merge(RunStats.from_dict(r["stats"]))
    finalize(folder, results, config, run.to_dict())
    mark_finished(folder)


@pytest.fixture(scope="session")
def indexed(run_output, checkpoint) -> Path:
    """``interleaf index`` over the pair shards (the CLI, in process)."""
    assert main(["index", "--output", str(run_output), "--checkpoint", str(checkpoint), "--model", COCA,
                 "--batch-size", str(BATCH)]) == 0
    return run_output


@pytest.fixture(scope="session")
def coca(checkpoint) -> LoadedClip:
    return load_model(ModelSource(COCA, checkpoint=str(checkpoint)))


@pytest.fixture(scope="session")
def server(indexed, coca) -> Iterator[Running]:
    """The CoCa model with its index, small limits, batches of 16 after waiting up to 20 ms."""
    settings = ServeSettings(max_image_bytes=MAX_IMAGE_BYTES, max_files=4, max_batch=BATCH, batch_wait_ms=20,
                             caption_batch=2)
    yield from run_in_thread(ServeState(coca, settings, Index.load(indexed)))
