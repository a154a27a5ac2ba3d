"""MMC4 placement: linear assignment of images (rows) to text nodes (columns)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pipeline.clip.placement import assign


def _best_total(sim: np.ndarray) -> float:
    """Brute force: the best sum over all one-to-one matchings (rows <= columns)."""
    n, m = sim.shape
    return max(sum(sim[r, c] for r, c in zip(range(n), cols)) for cols in itertools.permutations(range(m), n))


def test_square_prefers_the_matching_over_greedy_argmax():
    # Both images like text 0 best; greedy argmax would put both there. The matching gives
    # image 0 text 1 (0.8) and image 1 text 0 (0.9): total 1.7 > 0.95 + 0.1.
    sim = np.array([[0.95, 0.8], [0.9, 0.1]], dtype=np.float32)
    index, value = assign(sim)
    assert index == [1, 0]
    assert value == pytest.approx([0.8, 0.9])


def test_square_random_is_optimal_and_one_to_one():
    rng = np.random.default_rng(0)
    sim = rng.uniform(-1, 1, (5, 5)).astype(np.float32)
    index, value = assign(sim)
    assert sorted(index) == list(range(5))
    assert sum(value) == pytest.approx(_best_total(sim), abs=1e-6)
    assert value == pytest.approx([float(sim[r, c]) for r, c in enumerate(index)])


def test_more_images_than_texts_leaves_the_weakest_unmatched():
    sim = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.3]], dtype=np.float32)
    index, value = assign(sim)
    assert index == [0, 1, None]
    assert value[2] is None
    assert value[:2] == pytest.approx([0.9, 0.8])


def test_more_texts_than_images_matches_every_image():
    rng = np.random.default_rng(1)
    sim = rng.uniform(-1, 1, (3, 6))
    index, value = assign(sim)
    assert None not in index and len(set(index)) == 3
    assert sum(value) == pytest.approx(_best_total(sim))


def test_ties_are_deterministic_and_one_to_one():
    sim = np.full((3, 3), 0.5, dtype=np.float32)
    first = assign(sim)
    assert sorted(first[0]) == [0, 1, 2]
    assert all(assign(sim.copy()) == first for _ in range(5))


def test_empty_and_non_finite():
    assert assign(np.zeros((0, 4))) == ([], [])
    assert assign(np.zeros((2, 0))) == ([None, None], [None, None])
    sim = np.array([[np.nan, 0.2], [0.5, 0.4]])
    index, value = assign(sim)
    assert index == [1, 0]  # the NaN entry never wins
    assert value == pytest.approx([0.2, 0.5])
    with pytest.raises(ValueError):
        assign(np.zeros(3))
