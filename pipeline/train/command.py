"""The open_clip_train command line for a resolved run, and the model folder it trains.

open_clip_train has no flag to register a model config, but open_clip resolves
``--model local-dir:DIR`` from ``DIR/open_clip_config.json`` ({"model_cfg": ...}); bundled
configs (pipeline/clip/configs/) and ``--model-config`` files are trained that way, built-in
open_clip names (coca_ViT-B-32 ...) are passed as they are. The command runs with the run
folder as working directory and names the model folder relatively (``model/NAME``):
open_clip_train chooses the CoCa loss when "coca" occurs in the --model string, so no
unrelated part of the output path may decide it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.clip.model import CONFIGS_DIR
from pipeline.outputs import atomic_write_json
from pipeline.train.options import ResolvedOptions

MODEL_DIR = "model"  # under the run folder


@dataclass(frozen=True)
class ModelSpec:
    """How the trainer gets the model, and how ``load_clip`` loads its checkpoints later."""

    name: str  # ClipSpec.model
    trainer_model: str  # open_clip_train --model
    config: dict[str, Any] | None  # model_cfg written to the local-dir folder (None: built-in name)
    config_file: str | None  # ClipSpec.model_config (a --model-config file)

    @property
    def is_coca(self) -> bool | None:
        return None if self.config is None else "multimodal_cfg" in self.config


def model_spec(r: ResolvedOptions) -> ModelSpec:
    if r.model_config:
        path = Path(r.model_config)
        if not path.is_file():
            raise FileNotFoundError(f"--model-config not found: {path}")
        config, config_file = _read_config(path), str(path)
    elif (CONFIGS_DIR / f"{r.model}.json").is_file():
        config, config_file = _read_config(CONFIGS_DIR / f"{r.model}.json"), None
    else:
        return ModelSpec(r.model, r.model, None, None)
    coca = "multimodal_cfg" in config
    if coca and "coca" not in r.model.lower():
        folder = f"{r.model}-coca"  # the trainer's only CoCa test is this substring
    elif not coca and "coca" in r.model.lower():
        raise ValueError(f"model {r.model!r} is not a CoCa config (no multimodal_cfg) but its name contains "
                         "'coca', which makes open_clip_train use the CoCa loss: rename the config file")
    else:
        folder = r.model
    return ModelSpec(r.model, f"local-dir:{MODEL_DIR}/{folder}", config, config_file)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"model config {path} is not JSON: {e}") from None
    if not isinstance(config, dict) or "vision_cfg" not in config or "text_cfg" not in config:
        raise ValueError(f"model config {path} is not an open_clip model config (needs vision_cfg and text_cfg)")
    return config


def write_model_dir(run_dir: Path, spec: ModelSpec) -> None:
    """The local-dir folder open_clip reads (also the run's record of the architecture)."""
    if spec.config is not None:
        folder = run_dir / spec.trainer_model.removeprefix("local-dir:")
        atomic_write_json(folder / "open_clip_config.json", {"model_cfg": spec.config})


def launcher(gpus: int) -> list[str]:
    """One process, or torchrun (``python -m torch.distributed.run``: the torchrun script
    itself, found without relying on PATH) with one process per GPU of this node. Each runs
    open_clip_train.main through pipeline.train.launch, which seeds its sample shuffle."""
    if gpus <= 1:
        return [sys.executable, "-m", "pipeline.train.launch"]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
            "--nproc_per_node", str(gpus), "-m", "pipeline.train.launch"]


def build_command(r: ResolvedOptions, spec: ModelSpec, train_data: str, logs: Path, resume: str | None) -> list[str]:
    """The full argv. ``resume``: None, "latest" or a checkpoint path (open_clip_train's own
    --resume: "latest" looks in LOGS/NAME/checkpoints/). The sample count comes from the
    data's sizes.json (open_clip_train reads it), or from --samples-per-epoch. Extra args
    come last, so they override ours (argparse keeps the last value of an option)."""
    cmd = launcher(r.gpus) + [
        "--dataset-type", "webdataset", "--train-data", train_data,
        "--model", spec.trainer_model,
        "--logs", str(logs), "--name", r.name,
        "--epochs", str(r.epochs), "--batch-size", str(r.batch_size),
        "--lr", repr(r.lr), "--wd", repr(r.wd), "--warmup", str(r.warmup),
        "--precision", r.precision, "--workers", str(r.workers), "--device", r.device, "--seed", str(r.seed),
        "--save-frequency", str(r.save_frequency), "--log-every-n-steps", str(r.log_every_n_steps),
        # No zero-shot ImageNet or validation set here, and no wandb / tensorboard unless asked
        # for in the extra args.
        "--report-to", "", "--zeroshot-frequency", "0", "--val-frequency", "0",
    ]
    if "coca" in spec.trainer_model.lower():  # the trainer's own test for the CoCa loss
        cmd += ["--coca-contrastive-loss-weight", repr(r.coca_contrastive_loss_weight),
                "--coca-caption-loss-weight", repr(r.coca_caption_loss_weight)]
    if r.samples_per_epoch is not None:
        cmd += ["--dataset-resampled", "--train-num-samples", str(r.samples_per_epoch)]
    if r.keep_checkpoints == "last":  # removes epoch N-1 after saving N; the runner prunes the rest
        cmd += ["--delete-previous-checkpoint"]
    if resume:
        cmd += ["--resume", resume]
    return cmd + list(r.extra_args)
