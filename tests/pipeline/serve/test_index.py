"""``interleaf index``: embeddings of finished shards, items table, manifest, rerun rules, search."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from serve_helpers import BATCH, COCA, shard_images

from pipeline.cli import main
from pipeline.outputs import OutputExistsError
from pipeline.serve.images import decode_image
from pipeline.serve.index import Index, IndexRequest, build_index
from pipeline.serve.loading import ModelSource


def test_pairs_index_files(indexed, checkpoint, coca):
    folder = indexed / "index"
    assert sorted(p.name for p in folder.iterdir()) == ["_SUCCESS", "image_embeddings.npy", "items.parquet",
                                                        "manifest.json", "text_embeddings.npy"]
    manifest = json.loads((folder / "manifest.json").read_text())
    source_manifest = indexed / "shards" / "pairs" / "manifest.json"
    assert manifest["model"] == COCA and manifest["model_label"] == "interleaf-coca-tiny@epoch_1.pt"
    assert manifest["checkpoint_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert manifest["source_manifest_sha256"] == hashlib.sha256(source_manifest.read_bytes()).hexdigest()
    assert (manifest["items"], manifest["items_with_text"], manifest["skipped"]) == (12, 12, {})

    images, texts = np.load(folder / "image_embeddings.npy"), np.load(folder / "text_embeddings.npy")
    assert images.dtype == texts.dtype == np.float32 and images.shape == texts.shape == (12, 64)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-5)

    items = pq.read_table(folder / "items.parquet").to_pylist()
    assert items[0] == {"key": "doc00_0000", "shard": "shard-000000.tar", "member": "doc00_0000.jpg",
                        "url": "https://img.example.com/red-circle.jpg", "text": "a red circle",
                        "doc_url": "https://example.com/doc00"}
    assert [i["shard"] for i in items] == ["shard-000000.tar"] * 5 + ["shard-000001.tar"] * 2 + \
        ["shard-000002.tar"] * 5  # manifest order, then tar order
    # Rows are the model's own embeddings of the shard's bytes and texts (same batch size).
    jpgs = shard_images(indexed / "shards" / "pairs")
    direct = coca.encode_images([decode_image(jpgs[i["member"]]) for i in items], BATCH)
    assert np.array_equal(direct, images)
    assert np.array_equal(coca.encode_texts([i["text"] for i in items], BATCH), texts)


def test_rerun_is_skipped_and_other_weights_are_refused(indexed, checkpoint, capsys):
    before = (indexed / "index" / "image_embeddings.npy").stat().st_mtime_ns
    assert main(["index", "-o", str(indexed), "--checkpoint", str(checkpoint), "--model", COCA,
                 "--batch-size", str(BATCH)]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] is True
    assert (indexed / "index" / "image_embeddings.npy").stat().st_mtime_ns == before
    with pytest.raises(OutputExistsError, match="another model or source"):
        build_index(IndexRequest(str(indexed)), ModelSource(COCA, random_weights=True))
    # Through the CLI: one line, exit 2.
    assert main(["index", "-o", str(indexed), "--model", COCA, "--random-weights"]) == 2
    assert "use --force" in capsys.readouterr().err


def test_cli_errors(tmp_path, run_output, capsys):
    assert main(["index", "-o", str(run_output), "--model", COCA]) == 2
    assert "--random-weights" in capsys.readouterr().err  # no checkpoint: refused
    assert main(["index", "-o", str(run_output), "--model", COCA, "--checkpoint", str(tmp_path / "x.pt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["index", "-o", str(tmp_path), "--model", COCA, "--random-weights"]) == 2
    assert "holds no finished shards" in capsys.readouterr().err


def test_interleaved_index_and_exact_search(run_output, tmp_path, coca):
    # A copy of the run output, so the session's pairs index stays as it is.
    out = tmp_path / "out"
    (out / "shards").mkdir(parents=True)
    (out / "shards" / "interleaved").symlink_to(run_output / "shards" / "interleaved")
    manifest = build_index(IndexRequest(str(out), source="interleaved", batch_size=4),
                           ModelSource(COCA, random_weights=True))
    assert (manifest["source"], manifest["items"], manifest["checkpoint_sha256"]) == ("interleaved", 6, "random")
    index = Index.load(out)  # the run output or its index/ folder
    items = index.items.to_pylist()
    assert [(i["key"], i["member"], i["text"]) for i in items[:3]] == [
        ("inter0", "inter0.0.jpg", "red circle 0"), ("inter0", "inter0.1.jpg", "red square 0"),
        ("inter1", "inter1.0.jpg", "green circle 1")]  # the failed third image of each doc is not there
    assert items[0]["doc_url"] == "https://example.com/inter0"

    # Exact search: the query's own row first, scores sorted, k capped at the index size.
    for row in range(6):
        hits = index.search(index.embeddings["images"][row], k=3)
        assert hits[0]["row"] == row and hits[0]["score"] == pytest.approx(1, abs=1e-5)
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert len(index.search(index.embeddings["texts"][0], k=100, target="texts")) == 6
    brute = index.embeddings["images"] @ index.embeddings["texts"][2]
    expected = list(np.argsort(-brute, kind="stable"))
    assert [h["row"] for h in index.search(index.embeddings["texts"][2], k=6)] == expected
    with pytest.raises(ValueError, match="not the served"):
        index.check_model(COCA, "0" * 64)
