"""What the user asks for (``TrainOptions``) and what a run uses (``ResolvedOptions``).

Every option left at None takes its preset's value, so a preset is a starting point and
each flag overrides one value. The resolved options (not the raw ones) are hashed: a rerun
is compared with what was actually trained, whichever mix of preset and flags produced it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pipeline.train.presets import Preset, get_preset

# open_clip_train's --precision choices (open_clip_train/params.py): checked here so a typo
# fails before a subprocess starts.
PRECISIONS = ("amp", "amp_bf16", "amp_bfloat16", "bf16", "fp16", "pure_bf16", "pure_fp16", "fp32")
DEFAULT_SEED = 0


@dataclass(frozen=True)
class TrainOptions:
    """``interleaf train`` options; None means "the preset's value"."""

    output: str
    train_data: str | None = None  # a WebDataset pattern; default OUT/shards/pairs/
    preset: str = "tiny"
    model: str | None = None  # open_clip name or bundled config; overrides the preset's model
    model_config: str | None = None  # JSON model config (open_clip layout); the model is named by its stem
    name: str | None = None  # run name: OUT/train/NAME/ (default: the preset's name)
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    wd: float | None = None
    warmup: int | None = None
    precision: str | None = None
    workers: int | None = None
    device: str | None = None
    seed: int = DEFAULT_SEED
    save_frequency: int | None = None
    keep_checkpoints: str | None = None  # "all" or "last"
    log_every_n_steps: int | None = None
    coca_contrastive_loss_weight: float | None = None
    coca_caption_loss_weight: float | None = None
    samples_per_epoch: int | None = None  # sample shards with replacement, N samples per epoch
    gpus: int = 1  # processes on this node; > 1 runs under torchrun
    resume: str | None = None  # "latest" or a checkpoint path
    force: bool = False
    extra_args: tuple[str, ...] = field(default_factory=tuple)  # passed to open_clip_train as they are


@dataclass(frozen=True)
class ResolvedOptions:
    """The values a run trains with: preset merged with the user's options."""

    preset: str
    name: str
    model: str
    model_config: str | None
    epochs: int
    batch_size: int
    lr: float
    wd: float
    warmup: int
    precision: str
    workers: int
    device: str
    seed: int
    save_frequency: int
    keep_checkpoints: str
    log_every_n_steps: int
    coca_contrastive_loss_weight: float
    coca_caption_loss_weight: float
    samples_per_epoch: int | None
    gpus: int
    extra_args: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["extra_args"] = list(self.extra_args)
        return d

    def digest(self, data: str, model_cfg: dict[str, Any] | None) -> str:
        """What makes two runs the same training: options, data pattern, model architecture.

        Logging and checkpoint cadence are left out, so changing them does not turn an
        interrupted run into "another run".
        """
        cadence = ("save_frequency", "keep_checkpoints", "log_every_n_steps")
        d = {k: v for k, v in self.to_dict().items() if k not in cadence}
        blob = json.dumps({"options": d, "data": data, "model_cfg": model_cfg}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def resolve(options: TrainOptions) -> ResolvedOptions:
    """Merge ``options`` over its preset and check the values (ValueError: misconfiguration)."""
    preset: Preset = get_preset(options.preset)
    if options.model and options.model_config:
        raise ValueError("give --model or --model-config, not both (a config file names its model by its stem)")
    model = Path(options.model_config).stem if options.model_config else options.model or preset.model
    merged = preset.to_dict()
    for f in fields(Preset):
        value = getattr(options, f.name, None)
        if value is not None:
            merged[f.name] = value
    merged["model"] = model
    resolved = ResolvedOptions(
        preset=options.preset, name=options.name or options.preset, model_config=options.model_config,
        seed=options.seed, samples_per_epoch=options.samples_per_epoch, gpus=options.gpus,
        extra_args=tuple(options.extra_args), **merged)
    _check(resolved)
    if resolved.model_config:
        resolved = replace(resolved, model_config=str(Path(resolved.model_config).expanduser().resolve()))
    return resolved


def _check(r: ResolvedOptions) -> None:
    if r.keep_checkpoints not in ("all", "last"):
        raise ValueError(f"--keep-checkpoints must be all or last, not {r.keep_checkpoints!r}")
    if r.precision not in PRECISIONS:
        raise ValueError(f"--precision must be one of {', '.join(PRECISIONS)}, not {r.precision!r}")
    if not (r.device in ("cpu", "cuda") or r.device.startswith("cuda:")):
        raise ValueError(f"--device must be cpu or cuda, not {r.device!r}")
    if not r.name or "/" in r.name or r.name in (".", ".."):
        raise ValueError(f"--name must be a plain folder name, not {r.name!r}")
    for key in ("epochs", "batch_size", "gpus", "save_frequency", "log_every_n_steps"):
        if getattr(r, key) < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be >= 1, not {getattr(r, key)}")
    for key in ("warmup", "workers"):
        if getattr(r, key) < 0:
            raise ValueError(f"--{key.replace('_', '-')} must be >= 0, not {getattr(r, key)}")
    if r.lr <= 0 or r.wd < 0:
        raise ValueError(f"--lr must be > 0 and --wd >= 0 (got lr={r.lr}, wd={r.wd})")
    if r.samples_per_epoch is not None and r.samples_per_epoch < 1:
        raise ValueError(f"--samples-per-epoch must be >= 1, not {r.samples_per_epoch}")
    if r.gpus > 1 and r.device == "cpu":
        raise ValueError("--gpus > 1 needs --device cuda")
