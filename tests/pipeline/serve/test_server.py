"""``interleaf serve`` as a user runs it: a subprocess of the CLI, then HTTP; and its refusals."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from serve_helpers import BATCH, COCA, free_port, shard_images, wait_healthy

from pipeline.cli import main
from pipeline.serve.app import ServeSettings
from pipeline.serve.loading import ModelSource
from pipeline.serve.server import ServeOptions, prepare


def test_cli_subprocess_serves_the_index(indexed, checkpoint, tmp_path):
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--checkpoint", str(checkpoint),
                             "--model", COCA, "--index", str(indexed), "--port", str(port),
                             "--max-batch", str(BATCH)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        health = wait_healthy(url, timeout=120, proc=proc)
        assert (health["model"], health["index_size"], health["can_caption"]) == (
            "interleaf-coca-tiny@epoch_1.pt", 12, True)
        jpg = shard_images(indexed / "shards" / "pairs")["doc07_0000.jpg"]
        r = httpx.post(url + "/search", files={"file": ("q.jpg", jpg, "image/jpeg")}, data={"k": "2"}, timeout=60)
        assert r.status_code == 200, r.text
        first = r.json()["results"][0]
        assert (first["key"], first["text"]) == ("doc07_0000", "a yellow square")
        assert first["score"] == pytest.approx(1, abs=1e-5)
        r = httpx.post(url + "/embed/text", json={"texts": ["a yellow square"]}, timeout=60)
        assert r.status_code == 200 and len(r.json()["embeddings"][0]) == 64
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    assert "Uvicorn running on http://127.0.0.1:" in (tmp_path / "serve.log").read_text()


def test_cli_refusals(indexed, checkpoint, tmp_path, capsys):
    base = ["serve", "--model", COCA, "--port", "1"]
    assert main(base) == 2
    assert "no --checkpoint given" in capsys.readouterr().err
    assert main([*base, "--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert "checkpoint not found: " in capsys.readouterr().err
    assert main([*base, "--checkpoint", str(checkpoint), "--random-weights"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    # An index built with other weights: its vectors are in another space.
    assert main([*base, "--random-weights", "--index", str(indexed)]) == 2
    assert "rebuild it with interleaf index" in capsys.readouterr().err
    assert main([*base, "--checkpoint", str(checkpoint), "--index", str(tmp_path)]) == 2
    assert "not a finished index" in capsys.readouterr().err
    assert main([*base, "--checkpoint", str(checkpoint), "--max-batch", "0"]) == 2
    assert "--max-batch must be >= 1" in capsys.readouterr().err
    # The checkpoint of another architecture.
    assert main([*base, "--checkpoint", str(checkpoint), "--model", "interleaf-tiny"]) == 2
    assert "does not fit model" in capsys.readouterr().err


def test_prepare_defaults_bind_loopback(checkpoint):
    options = ServeOptions(ModelSource(COCA, checkpoint=str(checkpoint)), ServeSettings())
    assert options.host == "127.0.0.1"
    state = prepare(options)
    assert state.index is None and state.clip.can_caption
