"""pipeline.train.launch: the trainer's sample shuffle is seeded, so a training run's batches
depend only on the shards and the options (open_clip_train's own shuffle seeds from the clock)."""

from __future__ import annotations

import random

import webdataset

from pipeline.train.launch import seeded_shuffle, shuffle_seed


def _passes(seed: int, n: int = 3) -> list[list[int]]:
    stage = seeded_shuffle(seed)(bufsize=50, initial=20)  # open_clip_train's call, smaller buffer
    return [list(stage(iter(range(200)))) for _ in range(n)]


def test_same_seed_same_order_every_pass_a_permutation():
    first, again = _passes(7), _passes(7)
    assert first == again
    assert all(sorted(p) == list(range(200)) and p != list(range(200)) for p in first)
    assert len({tuple(p) for p in first}) == 3  # each epoch's pass is shuffled differently


def test_other_seed_other_order_and_an_explicit_rng_is_respected():
    assert _passes(7) != _passes(8)
    explicit = seeded_shuffle(7)(bufsize=50, initial=20, rng=random.Random(1))
    reference = webdataset.shuffle(bufsize=50, initial=20, rng=random.Random(1))
    assert list(explicit(iter(range(200)))) == list(reference(iter(range(200))))


def test_ranks_and_workers_draw_different_streams():
    seeds = {shuffle_seed(0, rank, worker, 0) for rank in range(2) for worker in range(2)}
    assert len(seeds) == 4
