"""interleaf train end to end: open_clip_train (a real subprocess, on CPU) trains the bundled
tiny CoCa for 200 steps on the demo's pair shards; the loss falls, the checkpoint loads in
the CLIP scoring job and in the HTTP server, reruns skip, ``--resume latest`` continues.

Nothing is mocked: the only stand-in is the model size (no weights can be downloaded here,
so training starts from a seeded random init).
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

pytest.importorskip("open_clip_train.main", reason="interleaf train needs the clip extra (open_clip_torch[training])")

import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.cli import main  # noqa: E402
from pipeline.clip.model import ClipSpec, load_clip  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.demo import build_demo_warc  # noqa: E402
from pipeline.outputs import OutputExistsError  # noqa: E402
from pipeline.run import run_all, run_score_clip  # noqa: E402
from pipeline.train import TrainError, TrainOptions, train  # noqa: E402
from pipeline.train.losses import read_csv  # noqa: E402

from .conftest import write_shape_pairs  # noqa: E402

COCA = "interleaf-coca-tiny"
STEPS = 200  # 10 epochs x 80 samples / batch 4


def _demo_config(out: Path, *extra: str):
    return load_config(None, [
        "images.download=false", "clip.enabled=true", "clip.model=interleaf-tiny", "select.min_clip_score=-1",
        "select.pair_min_clip_score=-1", "run.progress=false", "run.engine=local", "ocr.enabled=false",
        f"input.paths={json.dumps([str(out / 'demo.warc.gz')])}", f"run.output={json.dumps(str(out))}", *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """The demo run (pairs scored by a random tiny CLIP, all kept), then ``interleaf train``."""
    out = tmp_path_factory.mktemp("demo")
    build_demo_warc(out / "demo.warc.gz")
    run_all(_demo_config(out))
    assert json.loads((out / "shards/pairs/manifest.json").read_text())["num_samples"] == 5
    # 5 pairs: sampled with replacement, 80 samples an epoch (the trainer's --dataset-resampled).
    assert main(["train", "--output", str(out), "--epochs", "10", "--batch-size", "4", "--samples-per-epoch", "80",
                 "--log-every-n-steps", "5", "--save-frequency", "5"]) == 0
    return out


def _manifest(out: Path) -> dict:
    return json.loads((out / "train/tiny/train_manifest.json").read_text())


def _pairs(out: Path) -> tuple[list[Image.Image], list[str]]:
    samples: dict[str, dict[str, bytes]] = {}
    with tarfile.open(out / "shards/pairs/shard-000000.tar") as tar:
        for m in tar.getmembers():
            key, ext = m.name.split(".", 1)
            samples.setdefault(key, {})[ext] = tar.extractfile(m).read()
    keys = sorted(samples)
    return ([Image.open(io.BytesIO(samples[k]["jpg"])).convert("RGB") for k in keys],
            [samples[k]["txt"].decode() for k in keys])


def test_training_lowers_the_loss_and_writes_log_curve_and_checkpoint(trained):
    m = _manifest(trained)
    run = trained / "train/tiny"
    assert m["finished"] and m["steps"] == STEPS and m["epochs"] == 10 and m["model"]["coca"] is True
    assert m["data"]["num_samples"] == 5 and m["samples_seen"] == 800
    rows = read_csv(run / "loss.csv")
    assert len(rows) >= 40 and rows[-1]["step"] == STEPS
    first, last = rows[:5], rows[-5:]
    mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
    print(f"\ntrain: loss {mean(first, 'loss'):.3f} → {mean(last, 'loss'):.3f}, caption "
          f"{mean(first, 'caption_loss'):.3f} → {mean(last, 'caption_loss'):.3f}, {m['wall_seconds']} s")
    assert mean(last, "loss") < 0.6 * mean(first, "loss")
    assert mean(last, "caption_loss") < mean(first, "caption_loss")
    with Image.open(run / "loss_curve.png") as im:
        assert im.format == "PNG" and im.size == (800, 600)
    # keep_checkpoints=last (the tiny preset): only the final epoch stays, as the manifest says.
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_10.pt"]
    [ck] = m["checkpoints"]
    assert ck["sha256"] == hashlib.sha256((run / ck["file"]).read_bytes()).hexdigest()
    assert m["load"] == {"clip.model": COCA, "clip.checkpoint": str((run / "checkpoints/epoch_10.pt").resolve())}
    assert "Train Epoch: 9" in (run / "out.log").read_text()


def test_the_checkpoint_learned_the_pairs(trained):
    """Contrastive loss of the 5 pairs, recomputed here in eval mode: far below the untrained model's."""
    images, texts = _pairs(trained)

    def pair_loss(model) -> float:
        sims = torch.tensor(model.encode_images(images) @ model.encode_texts(texts).T) * 14.3
        labels = torch.arange(len(texts))
        ce = torch.nn.functional.cross_entropy
        return float((ce(sims, labels) + ce(sims.T, labels)) / 2)

    before = pair_loss(load_clip(ClipSpec(COCA)))
    after = pair_loss(load_clip(ClipSpec(COCA, checkpoint=_manifest(trained)["checkpoint"])))
    print(f"\npair contrastive loss: untrained {before:.3f}, trained {after:.3f}")
    assert after < 0.5 * before


def test_the_checkpoint_loads_in_the_scoring_job(trained):
    ckpt = _manifest(trained)["checkpoint"]
    manifest = run_score_clip(_demo_config(trained, f"clip.model={COCA}", f"clip.checkpoint={json.dumps(ckpt)}",
                                           "run.force=true"))
    assert manifest["stats"]
    rows = [r for p in sorted((trained / "scores").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    scored = [r for r in rows if r["status"] == "ok"]
    assert scored and {r["model"] for r in scored} == {f"{COCA}@epoch_10.pt"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_checkpoint_serves_embeddings_and_captions(trained, tmp_path):
    import httpx

    port, url = _free_port(), ""
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--checkpoint",
                             _manifest(trained)["checkpoint"], "--model", COCA, "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                health = httpx.get(url + "/health", timeout=2).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server not up after 120 s"
                time.sleep(0.3)
        assert health["model"] == f"{COCA}@epoch_10.pt" and health["can_caption"]
        images, texts = _pairs(trained)
        buf = io.BytesIO()
        images[3].save(buf, "JPEG")
        r = httpx.post(url + "/caption", files={"file": ("a.jpg", buf.getvalue(), "image/jpeg")}, timeout=120)
        assert r.status_code == 200 and r.json()["caption"].strip(), r.text
        r = httpx.post(url + "/embed/text", json={"texts": texts[:2]}, timeout=60)
        assert r.status_code == 200 and len(r.json()["embeddings"]) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_a_finished_run_is_skipped_and_other_options_refused(trained, capsys):
    args = ["train", "--output", str(trained), "--epochs", "10", "--batch-size", "4", "--samples-per-epoch", "80",
            "--log-every-n-steps", "5", "--save-frequency", "5"]
    started = time.monotonic()
    assert main(args) == 0
    assert "already finished" in capsys.readouterr().out and time.monotonic() - started < 10
    with pytest.raises(OutputExistsError, match="other options"):
        train(TrainOptions(output=str(trained), epochs=10, batch_size=4, samples_per_epoch=80, lr=0.01))


def test_resume_latest_continues_with_more_epochs(tmp_path):
    write_shape_pairs(tmp_path, per_class=2)  # 16 pairs, 2 shards
    base = dict(output=str(tmp_path), batch_size=8, log_every_n_steps=1, keep_checkpoints="all")
    first = train(TrainOptions(**base, epochs=2))
    assert first["steps"] == 4 and [c["file"] for c in first["checkpoints"]] == [
        "checkpoints/epoch_1.pt", "checkpoints/epoch_2.pt"]
    more = train(TrainOptions(**base, epochs=3, resume="latest"))
    assert more["resumed_from"] == "latest" and more["steps"] == 6 and more["epochs"] == 3
    log = (tmp_path / "train/tiny/out.log").read_text()
    assert "Loaded checkpoint" in log or "=> resuming checkpoint" in log
    assert len(read_csv(tmp_path / "train/tiny/loss.csv")) == 6  # epochs 1-2 from the first run, 3 resumed


def test_data_problems_and_trainer_failures_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="write pair shards first"):
        train(TrainOptions(output=str(tmp_path)))
    write_shape_pairs(tmp_path, per_class=1)  # 8 pairs
    with pytest.raises(ValueError, match="less than one batch"):
        train(TrainOptions(output=str(tmp_path), batch_size=16))
    with pytest.raises(TrainError, match="unrecognized arguments: --no-such-flag"):
        train(TrainOptions(output=str(tmp_path), extra_args=("--no-such-flag",)))
