"""interleaf train without running a trainer: presets and overrides, the open_clip_train
command line, the loss log parser, the rerun rules and the data checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.outputs import OutputExistsError, atomic_write_json
from pipeline.train import PRESETS, TrainOptions, resolve
from pipeline.train.command import build_command, model_spec, write_model_dir
from pipeline.train.losses import parse_log, read_csv, write_csv
from pipeline.train.runner import MANIFEST, RUN_CONFIG, _check_data_fits, plan_run, prune_checkpoints


def _command(**kw) -> list[str]:
    r = resolve(TrainOptions(output="/o", **kw))
    return build_command(r, model_spec(r), "/d/shard-{000000..000001}.tar", Path("/o/train"), None)


def _value(cmd: list[str], flag: str) -> str:
    return cmd[len(cmd) - 1 - cmd[::-1].index(flag) + 1]  # the last occurrence wins, as in argparse


def test_options_override_their_preset_one_by_one():
    r = resolve(TrainOptions(output="/o", preset="base", lr=1e-4, epochs=3))
    assert (r.model, r.lr, r.epochs, r.batch_size, r.precision) == ("coca_ViT-B-32", 1e-4, 3, 256, "amp_bf16")
    assert r.name == "base"
    tiny = resolve(TrainOptions(output="/o"))
    assert (tiny.model, tiny.device, tiny.precision, tiny.keep_checkpoints) == (
        "interleaf-coca-tiny", "cpu", "fp32", "last")
    assert set(PRESETS) == {"tiny", "base", "large"}


@pytest.mark.parametrize("kw, message", [
    ({"preset": "huge"}, "unknown training preset"),
    ({"precision": "fp8"}, "--precision must be one of"),
    ({"device": "tpu"}, "--device must be cpu or cuda"),
    ({"name": "a/b"}, "plain folder name"),
    ({"epochs": 0}, "--epochs must be >= 1"),
    ({"lr": 0.0}, "--lr must be > 0"),
    ({"gpus": 2}, "--gpus > 1 needs --device cuda"),
    ({"keep_checkpoints": "some"}, "--keep-checkpoints must be all or last"),
    ({"model": "x", "model_config": "y.json"}, "not both"),
])
def test_bad_options_are_refused_before_anything_runs(kw, message):
    with pytest.raises(ValueError, match=message):
        resolve(TrainOptions(output="/o", **kw))


def test_the_digest_ignores_cadence_but_not_training_values():
    base = resolve(TrainOptions(output="/o"))
    assert base.digest("d", None) == resolve(TrainOptions(output="/o", save_frequency=5,
                                                           log_every_n_steps=9)).digest("d", None)
    assert base.digest("d", None) != resolve(TrainOptions(output="/o", lr=0.5)).digest("d", None)
    assert base.digest("d", None) != base.digest("other data", None)


def test_bundled_coca_trains_from_a_local_dir_with_the_coca_loss(tmp_path):
    cmd = _command()
    assert cmd[1:3] == ["-m", "pipeline.train.launch"]
    assert _value(cmd, "--model") == "local-dir:model/interleaf-coca-tiny"
    assert (_value(cmd, "--coca-contrastive-loss-weight"), _value(cmd, "--coca-caption-loss-weight")) == ("1.0", "2.0")
    assert (_value(cmd, "--report-to"), _value(cmd, "--zeroshot-frequency"), _value(cmd, "--val-frequency")) == (
        "", "0", "0")
    assert "--delete-previous-checkpoint" in cmd and "--resume" not in cmd
    r = resolve(TrainOptions(output="/o"))
    write_model_dir(tmp_path, model_spec(r))
    written = json.loads((tmp_path / "model" / "interleaf-coca-tiny" / "open_clip_config.json").read_text())
    assert "multimodal_cfg" in written["model_cfg"]


def test_clip_configs_get_no_coca_flags_and_builtin_names_pass_through():
    cmd = _command(model="interleaf-tiny")
    assert _value(cmd, "--model") == "local-dir:model/interleaf-tiny"
    assert "--coca-caption-loss-weight" not in cmd
    cmd = _command(preset="large")
    assert _value(cmd, "--model") == "coca_ViT-L-14" and "--coca-caption-loss-weight" in cmd
    assert "--delete-previous-checkpoint" not in cmd


def test_a_coca_config_whose_name_lacks_coca_still_gets_the_coca_loss(tmp_path):
    config = json.loads((Path(__file__).parents[3] / "pipeline/clip/configs/interleaf-coca-tiny.json").read_text())
    (tmp_path / "mine.json").write_text(json.dumps(config))
    cmd = _command(model_config=str(tmp_path / "mine.json"))
    assert _value(cmd, "--model") == "local-dir:model/mine-coca" and "--coca-caption-loss-weight" in cmd
    del config["multimodal_cfg"]
    (tmp_path / "coca-not.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="not a CoCa config"):
        _command(model_config=str(tmp_path / "coca-not.json"))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        _command(model_config=str(tmp_path / "broken.json"))


def test_several_gpus_run_under_torchrun_and_extra_args_come_last():
    cmd = _command(preset="base", gpus=4, samples_per_epoch=1000, resume=None,
                   extra_args=("--lr", "0.1", "--grad-checkpointing"))
    assert cmd[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    assert _value(cmd, "--nproc_per_node") == "4"
    assert "--dataset-resampled" in cmd and _value(cmd, "--train-num-samples") == "1000"
    assert _value(cmd, "--lr") == "0.1" and cmd[-1] == "--grad-checkpointing"


def test_data_that_cannot_fill_a_batch_or_feed_the_workers_is_refused():
    r = resolve(TrainOptions(output="/o", batch_size=8, workers=2))
    with pytest.raises(ValueError, match="less than one batch"):
        _check_data_fits(r, {"num_samples": 5, "num_shards": 4})
    with pytest.raises(ValueError, match="a shard per worker"):
        _check_data_fits(r, {"num_samples": 500, "num_shards": 1})
    _check_data_fits(resolve(TrainOptions(output="/o", batch_size=8, workers=2, samples_per_epoch=80)),
                     {"num_samples": 5, "num_shards": 1})


LOG = """\
2026-12-05,08:52:19 | INFO | Start epoch 0
2026-12-05,08:52:19 | INFO | Train Epoch: 0 [ 8/16 (50%)] Data (t): 0.017 Batch (t): 0.513, 15.5/s, 15.5/s/gpu LR: 0.000100 Logit Scale: 14.286 Contrastive_loss: 3.0 (3.0) Caption_loss: 21.0 (21.0) Loss: 24.0 (24.0)
2026-12-05,08:52:20 | INFO | Train Epoch: 0 [16/16 (100%)] Data (t): 0.017 Batch (t): 0.513, 15.5/s, 15.5/s/gpu LR: 0.000200 Logit Scale: 14.280 Contrastive_loss: 2.0 (2.5) Caption_loss: 20.0 (20.5) Loss: 22.0 (23.0)
2026-12-05,08:52:21 | INFO | Train Epoch: 1 [ 8/16 (50%)] Data (t): 0.017 Batch (t): 0.513, 15.5/s, 15.5/s/gpu LR: 0.000300 Logit Scale: 14.270 Contrastive_loss: 1.5 (1.5) Caption_loss: 19.0 (19.0) Loss: 20.5 (20.5)
2026-12-05,08:53:00 | INFO | Train Epoch: 1 [ 8/16 (50%)] Data (t): 0.017 Batch (t): 0.513, 15.5/s, 15.5/s/gpu LR: 0.000300 Logit Scale: 14.270 Contrastive_loss: 1.4 (1.4) Caption_loss: 18.0 (18.0) Loss: 19.4 (19.4)
2026-12-05,08:53:01 | INFO | Train Epoch: 2 [16/16 (100%)] Data (t): 0.017 Batch (t): 0.513, 15.5/s, 15.5/s/gpu LR: 0.000050 Logit Scale: 14.260 Loss: 1.25 (1.25)
"""


def test_loss_lines_become_rows_by_step_and_a_resumed_step_keeps_its_last_line(tmp_path):
    rows = parse_log(LOG, samples_per_step=8)
    assert [(r.step, r.epoch, r.samples_seen, r.loss) for r in rows] == [
        (1, 0, 8, 24.0), (2, 0, 16, 22.0), (3, 1, 24, 19.4), (6, 2, 48, 1.25)]
    assert (rows[0].contrastive_loss, rows[0].caption_loss, rows[0].lr) == (3.0, 21.0, 1e-4)
    assert rows[-1].caption_loss is None  # a CLIP line has no caption loss
    write_csv(tmp_path / "loss.csv", rows)
    back = read_csv(tmp_path / "loss.csv")
    assert [r["loss"] for r in back] == [24.0, 22.0, 19.4, 1.25] and back[-1]["caption_loss"] is None
    assert parse_log("no training here\n", 8) == []


def _started(run: Path, digest: str, finished: bool) -> None:
    atomic_write_json(run / RUN_CONFIG, {"options_digest": digest})
    if finished:
        atomic_write_json(run / MANIFEST, {"finished": True})


def test_rerun_rules(tmp_path):
    opts = TrainOptions(output=str(tmp_path))
    run = tmp_path / "train" / "tiny"
    assert plan_run(run, "abc", opts) == ("fresh", None)
    _started(run, "abc", finished=False)
    assert plan_run(run, "abc", opts) == ("continue", "latest")  # interrupted: resume
    with pytest.raises(OutputExistsError, match="unfinished run with other options"):
        plan_run(run, "xyz", opts)
    assert plan_run(run, "xyz", TrainOptions(output=str(tmp_path), resume="latest")) == ("continue", "latest")
    _started(run, "abc", finished=True)
    assert plan_run(run, "abc", opts) == ("skip", None)
    with pytest.raises(OutputExistsError, match="finished with other options"):
        plan_run(run, "xyz", opts)
    assert plan_run(run, "xyz", TrainOptions(output=str(tmp_path), force=True)) == ("fresh", None)
    with pytest.raises(ValueError, match="cannot be combined"):
        plan_run(run, "abc", TrainOptions(output=str(tmp_path), force=True, resume="latest"))
    with pytest.raises(FileNotFoundError, match="--resume checkpoint not found"):
        plan_run(run, "abc", TrainOptions(output=str(tmp_path), resume=str(tmp_path / "nope.pt")))


def test_keep_last_prunes_every_other_epoch(tmp_path):
    for n in (1, 2, 5, 10):
        (tmp_path / f"epoch_{n}.pt").write_bytes(b"x")
    (tmp_path / "other.bin").write_bytes(b"x")
    prune_checkpoints(tmp_path / "epoch_10.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_10.pt", "other.bin"]
