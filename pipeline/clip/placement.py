"""MMC4-style placement: assign a document's images to its text nodes by linear assignment.

MMC4 (Zhu et al., 2023, "Multimodal C4") places each image next to the sentence it matches
best, not where the HTML put it: it computes CLIP similarities between all images and all
sentences of a document and solves a bipartite maximum-weight matching
(``scipy.optimize.linear_sum_assignment``). A matching, rather than each image's argmax,
because greedy argmax lets several images pile onto one generic sentence; the assignment
spreads images over distinct texts and maximises the total similarity. Here the texts are
the document's text nodes (paragraph-level blocks), not sentences.

With more images than texts, only as many images as texts can be matched: the others get
``None`` (MMC4 drops them; we keep the row and let selection decide). Ties are resolved by
scipy's deterministic algorithm (same matrix, same answer).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

# Non-finite similarities (NaN from a broken forward pass) are treated as worse than any
# cosine similarity, so they never win a match and scipy does not refuse the matrix.
_WORST = -1e6


def assign(sim: np.ndarray) -> tuple[list[int | None], list[float | None]]:
    """For each image (row): (index of its text (column) or None, similarity or None).

    ``sim`` is (n_images, n_texts). Every text gets at most one image and vice versa; the
    sum of matched similarities is maximal.
    """
    sim = np.asarray(sim, dtype=np.float64)
    if sim.ndim != 2:
        raise ValueError(f"sim must be 2-D (images x texts), got shape {sim.shape}")
    n_images, n_texts = sim.shape
    index: list[int | None] = [None] * n_images
    value: list[float | None] = [None] * n_images
    if n_images == 0 or n_texts == 0:
        return index, value
    finite = np.isfinite(sim)
    cost = sim if finite.all() else np.where(finite, sim, _WORST)
    rows, cols = linear_sum_assignment(cost, maximize=True)
    for r, c in zip(rows.tolist(), cols.tolist()):
        index[r] = int(c)
        value[r] = float(sim[r, c])
    return index, value
