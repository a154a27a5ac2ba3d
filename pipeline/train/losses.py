"""Loss curves from open_clip_train's out.log: ``loss.csv`` and ``loss_curve.png``.

A training line (open_clip_train/train.py) reads::

    Train Epoch: 0 [  8/400 (2%)] Data (t): 0.012 Batch (t): 0.283, 14.1/s, 14.1/s/gpu LR: 0.000200
    Logit Scale: 14.284 Contrastive_loss: 2.3933 (1.9615) Caption_loss: 21.609 (21.612) Loss: 24.002 (23.574)

(one line). ``[n/N]`` counts samples of this epoch over all processes (N: the nominal
epoch, which a small unresampled dataset may end before: its steps then leave a gap); each loss is
``value (running mean)`` and we keep the value. CoCa logs the contrastive and the weighted
caption loss, CLIP only the contrastive one; ``Loss`` is their sum. A resumed run appends
to the same log and repeats the steps after its last checkpoint: the last line for a
given (epoch, samples) wins.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.outputs import atomic_write_bytes

_LINE = re.compile(r"Train Epoch: (?P<epoch>\d+) \[\s*(?P<seen>\d+)/(?P<per_epoch>\d+) \(\d+%\)\]"
                   r".*? LR: (?P<lr>\S+) Logit Scale: (?P<scale>\S+) (?P<losses>.*)$")
_LOSS = re.compile(r"(\w+): (\S+) \(\S+\)")
COLUMNS = ("step", "epoch", "samples_seen", "loss", "contrastive_loss", "caption_loss", "lr", "logit_scale")


@dataclass(frozen=True)
class LossRow:
    step: int  # steps since the start, counted from 1 through nominal epoch sizes (as open_clip_train's)
    epoch: int
    samples_seen: int  # since the start of training, all processes
    loss: float
    contrastive_loss: float | None
    caption_loss: float | None
    lr: float
    logit_scale: float


def parse_log(text: str, samples_per_step: int) -> list[LossRow]:
    """Rows of every training line of ``text``, in step order. ``samples_per_step`` is the
    global batch (batch size x processes x gradient accumulation)."""
    lines: dict[tuple[int, int], tuple[dict[str, float], float, float]] = {}
    per_epoch: dict[int, int] = {}
    for line in text.splitlines():
        m = _LINE.search(line)
        if not m:
            continue
        losses = {name.lower(): float(value) for name, value in _LOSS.findall(m["losses"])}
        if "loss" not in losses:
            continue
        epoch = int(m["epoch"])
        per_epoch[epoch] = int(m["per_epoch"])
        lines[(epoch, int(m["seen"]))] = (losses, float(m["lr"]), float(m["scale"]))  # the last wins
    # Samples before each epoch: the sum of the epochs before it (a resume may change the
    # epoch size; an epoch missing from the log counts as the one before it).
    offsets, total, size = {}, 0, 0
    for epoch in range(max(per_epoch, default=-1) + 1):
        offsets[epoch] = total
        size = per_epoch.get(epoch, size)
        total += size
    rows = []
    for (epoch, seen), (losses, lr, scale) in lines.items():
        samples = offsets[epoch] + seen
        rows.append(LossRow(step=samples // samples_per_step, epoch=epoch, samples_seen=samples,
                            loss=losses["loss"], contrastive_loss=losses.get("contrastive_loss"),
                            caption_loss=losses.get("caption_loss"), lr=lr, logit_scale=scale))
    return sorted(rows, key=lambda r: r.samples_seen)


def write_csv(path: Path, rows: list[LossRow]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(["" if getattr(r, c) is None else getattr(r, c) for c in COLUMNS])
    atomic_write_bytes(path, out.getvalue().encode())


def read_csv(path: Path) -> list[dict[str, float | None]]:
    with open(path, newline="") as f:
        return [{k: (float(v) if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)]


def plot(path: Path, rows: list[LossRow], title: str) -> None:
    """Total and per-loss curves against the step, the learning rate below.

    A bare Figure on an Agg canvas: no pyplot, so no global backend switch and no display.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps = [r.step for r in rows]
    fig = Figure(figsize=(8, 6), layout="constrained")
    FigureCanvasAgg(fig)
    ax, ax_lr = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    ax.plot(steps, [r.loss for r in rows], label="total loss", color="black")
    for key, color in (("contrastive_loss", "tab:blue"), ("caption_loss", "tab:orange")):
        values = [getattr(r, key) for r in rows]
        if any(v is not None for v in values):
            ax.plot(steps, [float("nan") if v is None else v for v in values], label=key.replace("_", " "),
                    color=color, alpha=0.8)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    ax_lr.plot(steps, [r.lr for r in rows], color="tab:green")
    ax_lr.set_xlabel("step")
    ax_lr.set_ylabel("learning rate")
    ax_lr.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(path, buf.getvalue())
