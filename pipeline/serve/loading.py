"""The model behind ``interleaf serve`` and ``interleaf index``: a checkpoint, or random weights.

Both commands identify the weights by the checkpoint's sha256, so the server can refuse an
index built with other weights (its embeddings would live in another space and every search
score would be meaningless).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.clip.model import ClipSpec, LoadedClip, load_clip

RANDOM_WEIGHTS = "random"  # the checkpoint "hash" of a model with seeded random weights


@dataclass(frozen=True)
class ModelSource:
    """What to load: an open_clip model name (+ config file) and its weights."""

    model: str
    checkpoint: str | None = None
    model_config: str | None = None
    random_weights: bool = False
    device: str = "auto"

    def validate(self) -> None:
        """Misconfiguration as ``ValueError`` / ``FileNotFoundError`` (one-line CLI errors)."""
        if self.checkpoint is None and not self.random_weights:
            # Random weights give embeddings, scores and captions that look fine and mean
            # nothing: only on explicit request (smoke tests).
            raise ValueError("no --checkpoint given: pass a trained checkpoint, or --random-weights for a smoke test "
                             "(scores and captions are then meaningless)")
        if self.checkpoint is not None and self.random_weights:
            raise ValueError("--checkpoint and --random-weights exclude each other")
        if self.checkpoint is not None and not Path(self.checkpoint).expanduser().is_file():
            raise FileNotFoundError(f"checkpoint not found: {self.checkpoint}")
        if self.model_config is not None and not Path(self.model_config).expanduser().is_file():
            raise FileNotFoundError(f"model config not found: {self.model_config}")

    @property
    def spec(self) -> ClipSpec:
        return ClipSpec(model=self.model, checkpoint=self.checkpoint, model_config=self.model_config,
                        device=self.device)


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def checkpoint_id(source: ModelSource) -> str:
    """sha256 of the checkpoint file, or ``random`` for seeded random weights."""
    return RANDOM_WEIGHTS if source.checkpoint is None else file_sha256(Path(source.checkpoint).expanduser())


def load_model(source: ModelSource) -> LoadedClip:
    source.validate()
    try:
        return load_clip(source.spec)
    except RuntimeError as e:
        if "does not fit model" in str(e):  # wrong --model for the checkpoint: misconfiguration
            raise ValueError(str(e).splitlines()[0]) from e
        raise
