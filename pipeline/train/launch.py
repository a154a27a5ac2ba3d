"""The trainer process: ``python -m pipeline.train.launch ARGS`` is open_clip_train.main with
its sample shuffle seeded from ``--seed``.

open_clip_train seeds the model init and the choice of resampled shards from ``--seed``, but
its sample shuffle buffer (``webdataset.shuffle`` called without an rng) seeds itself from
the pid and the clock. Two runs on the same shards with the same options therefore saw
different batches and ended with different models (on the demo's 5 pairs, the trained pair
loss ranged from 0.04 to 1.0). Here the shuffle gets an rng drawn from the seed, the rank,
the DataLoader worker and the pass over the data: same shards and options, same sample order.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
from collections.abc import Callable, Iterable, Iterator

import webdataset


def shuffle_seed(seed: int, rank: int, worker: int, iteration: int) -> str:
    """The rng seed of one pass of one worker (a string: random.Random hashes it with sha512,
    so neighbouring seeds give unrelated streams)."""
    return f"interleaf-shuffle:{seed}:{rank}:{worker}:{iteration}"


def seeded_shuffle(seed: int) -> Callable[..., Callable[[Iterable], Iterator]]:
    """A drop-in for ``webdataset.shuffle(bufsize, initial, rng=None, handler=None)``: the same
    buffer shuffle, with a seeded rng unless the caller passes one."""
    original = webdataset.shuffle
    passes = itertools.count()  # one per pass in this process (each epoch restarts the pipeline)

    def shuffle(bufsize: int = 1000, initial: int = 100, rng: random.Random | None = None, handler=None):
        if rng is not None:
            return original(bufsize, initial, rng=rng, handler=handler)

        def stage(samples: Iterable) -> Iterator:
            import torch.utils.data

            info = torch.utils.data.get_worker_info()
            rank = int(os.environ.get("RANK", "0"))
            rng_ = random.Random(shuffle_seed(seed, rank, info.id if info else 0, next(passes)))
            return webdataset.filters._shuffle(iter(samples), bufsize, initial, rng_, handler)

        return stage

    return shuffle


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--seed", type=int, default=0)  # open_clip_train's own default
    seed = parser.parse_known_args(argv)[0].seed
    webdataset.shuffle = seeded_shuffle(seed)  # open_clip_train.data looks it up when it builds the pipeline
    from open_clip_train.main import main as trainer_main

    trainer_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
