"""The reference pretraining stage: open_clip_train (CLIP / CoCa) on the pair shards.

``train(TrainOptions(output=OUT))`` trains the ``tiny`` preset on ``OUT/shards/pairs/`` into
``OUT/train/tiny/``; ``interleaf train`` and ``python -m pipeline.train`` call it.
"""

from pipeline.train.options import ResolvedOptions, TrainOptions, resolve
from pipeline.train.presets import PRESETS, Preset, get_preset
from pipeline.train.runner import TrainError, train

__all__ = ["PRESETS", "Preset", "ResolvedOptions", "TrainError", "TrainOptions", "get_preset", "resolve", "train"]
