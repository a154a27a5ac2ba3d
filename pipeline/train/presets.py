"""Training presets: data, not code. Every user option overrides its preset's value.

``tiny`` trains the bundled 6.8M-parameter CoCa (64 px images, context 32) on a CPU in
minutes: a smoke test of data → trainer → checkpoint → scoring / captioning. ``base`` and
``large`` are open_clip's own CoCa configs with GPU settings in the spirit of the CLIP /
CoCa recipes (AdamW, cosine schedule, bf16 autocast, long warm-up); batch sizes are per GPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    model: str  # open_clip model name, or a bundled config of pipeline/clip/configs/
    epochs: int
    batch_size: int  # per process (per GPU under torchrun)
    lr: float
    wd: float
    warmup: int  # steps
    precision: str
    workers: int  # dataloader workers per process
    device: str
    save_frequency: int  # every N epochs (the last epoch is always saved)
    keep_checkpoints: str  # "all", or "last": a CPU smoke run need not keep 80 MB per epoch
    log_every_n_steps: int
    coca_contrastive_loss_weight: float  # open_clip_train's defaults: 1 and 2
    coca_caption_loss_weight: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    # workers 0: loading runs in the training process (no fork of a torch process on CPU).
    "tiny": Preset(model="interleaf-coca-tiny", epochs=10, batch_size=8, lr=1e-3, wd=0.1, warmup=10,
                   precision="fp32", workers=0, device="cpu", save_frequency=1,
                   keep_checkpoints="last", log_every_n_steps=1,
                   coca_contrastive_loss_weight=1.0, coca_caption_loss_weight=2.0),
    "base": Preset(model="coca_ViT-B-32", epochs=32, batch_size=256, lr=5e-4, wd=0.2, warmup=2000,
                   precision="amp_bf16", workers=8, device="cuda", save_frequency=1,
                   keep_checkpoints="all", log_every_n_steps=100,
                   coca_contrastive_loss_weight=1.0, coca_caption_loss_weight=2.0),
    "large": Preset(model="coca_ViT-L-14", epochs=32, batch_size=128, lr=4e-4, wd=0.2, warmup=2000,
                    precision="amp_bf16", workers=8, device="cuda", save_frequency=1,
                    keep_checkpoints="all", log_every_n_steps=100,
                    coca_contrastive_loss_weight=1.0, coca_caption_loss_weight=2.0),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown training preset {name!r}; choose one of {', '.join(PRESETS)}") from None
