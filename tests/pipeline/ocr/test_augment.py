"""Augmentations: boxes follow the pixels (markers found where their transformed points say)."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from PIL import Image

from pipeline.config import OcrRenderConfig
from pipeline.ocr.augment import (
    augment,
    perspective_matrix,
    rotation_matrix,
    transform_points,
)

ALL = ["perspective", "rotate", "blur", "noise", "jpeg"]
# Strong geometry so that a wrong transform misses its marker by far more than the tolerance.
STRONG = dataclasses.replace(OcrRenderConfig(), augment_probability=1.0, max_rotation=12.0, max_perspective=0.08)
MARKERS = [(40, 30), (250, 30), (250, 170), (40, 170), (150, 100), (90, 140)]


def _marked(mode: str, background: int = 230) -> tuple[Image.Image, list[dict]]:
    """A page with 5×5 black markers; each is a "line" whose box corners are its centre."""
    pixels = np.full((200, 300), background, np.uint8)
    for x, y in MARKERS:
        pixels[y - 2:y + 3, x - 2:x + 3] = 0
    image = Image.fromarray(pixels)
    if mode == "RGB":
        image = image.convert("RGB")
    # Pixel (x, y) covers [x, x+1): a marker's centre is at (x + 0.5, y + 0.5).
    lines = [{"text": f"m{k}", "box": [[x + 0.5, y + 0.5]] * 4, "column": 0} for k, (x, y) in enumerate(MARKERS)]
    return image, lines


def _find_marker(pixels: np.ndarray, x: float, y: float, radius: int = 8) -> tuple[float, float] | None:
    """Centroid (pixel centres) of the dark pixels near (x, y), or None if there are none."""
    grey = pixels if pixels.ndim == 2 else pixels.mean(axis=2)
    x0, y0 = max(0, int(x) - radius), max(0, int(y) - radius)
    window = grey[y0:int(y) + radius + 1, x0:int(x) + radius + 1]
    ys, xs = np.nonzero(window < 100)
    if not len(xs):
        return None
    return x0 + xs.mean() + 0.5, y0 + ys.mean() + 0.5


@pytest.mark.parametrize("mode", ["L", "RGB"])
@pytest.mark.parametrize("seed", range(4))
def test_boxes_follow_rotation_and_perspective(mode, seed):
    image, lines = _marked(mode)
    out, moved, applied = augment(image, lines, random.Random(seed), STRONG)
    assert [a["name"] for a in applied] == ALL and out.mode == mode
    pixels = np.asarray(out)
    assert out.size != image.size  # the canvas grew to hold the warped page
    for line in moved:
        x, y = line["box"][0]
        assert 0 <= x < out.width and 0 <= y < out.height
        found = _find_marker(pixels, x, y)
        assert found is not None and abs(found[0] - x) <= 2 and abs(found[1] - y) <= 2, (line, found)
    # Off the page the new canvas holds the background, not black.
    corner = pixels[0, 0] if pixels.ndim == 2 else pixels[0, 0].mean()
    assert abs(int(corner) - 230) < 40


def test_rotation_alone_and_its_direction():
    cfg = dataclasses.replace(STRONG, max_perspective=0.0, max_blur=0.0, max_noise=0.0)
    image, lines = _marked("L")
    for seed in range(6):
        out, moved, applied = augment(image, lines, random.Random(seed), cfg)
        (rotate,) = [a for a in applied if a["name"] == "rotate"]
        assert [a["name"] for a in applied] == ["rotate", "jpeg"]
        # Positive angles turn the page counter-clockwise: the right end of a row goes up.
        left, right = moved[0]["box"][0], moved[1]["box"][0]
        assert (right[1] < left[1]) == (rotate["angle"] > 0)
        pixels = np.asarray(out)
        for line in moved:
            found = _find_marker(pixels, *line["box"][0])
            assert found is not None and np.hypot(found[0] - line["box"][0][0], found[1] - line["box"][0][1]) <= 2


def test_same_seed_same_result_and_nothing_at_probability_zero():
    image, lines = _marked("RGB")
    cfg = OcrRenderConfig(augment_probability=1.0)
    a = augment(image, lines, random.Random(7), cfg)
    b = augment(image, lines, random.Random(7), cfg)
    c = augment(image, lines, random.Random(8), cfg)
    assert a[0].tobytes() == b[0].tobytes() and a[1:] == b[1:]
    assert a[0].tobytes() != c[0].tobytes() and a[2] != c[2]
    out, same, applied = augment(image, lines, random.Random(7), OcrRenderConfig(augment_probability=0.0))
    assert applied == [] and same == lines and out.tobytes() == image.tobytes()


def test_default_augmentations_are_mild():
    image, lines = _marked("L")
    cfg = OcrRenderConfig()
    for seed in range(20):
        out, moved, applied = augment(image, lines, random.Random(seed), cfg)
        for a in applied:
            if a["name"] == "rotate":
                assert abs(a["angle"]) <= cfg.max_rotation
            elif a["name"] == "perspective":
                assert max(abs(v) for shift in a["shifts"] for v in shift) <= cfg.max_perspective * 200
            elif a["name"] == "blur":
                assert a["radius"] <= cfg.max_blur
            elif a["name"] == "noise":
                assert a["sigma"] <= cfg.max_noise
            else:
                assert cfg.min_jpeg_quality <= a["quality"] <= 95
        # Every marker is still there (and where its box says).
        for line in moved:
            assert _find_marker(np.asarray(out), *line["box"][0], radius=4) is not None


def test_matrices():
    src = [(0.0, 0.0), (300.0, 0.0), (300.0, 200.0), (0.0, 200.0)]
    shifts = [(3.0, -2.0), (-4.0, 5.0), (6.0, 1.0), (-2.0, -3.0)]
    dst = transform_points(perspective_matrix(src, shifts), src)
    assert np.allclose(dst, [[x + dx, y + dy] for (x, y), (dx, dy) in zip(src, shifts)], atol=1e-6)
    # 90° counter-clockwise about the origin: +x goes to -y (y points down).
    assert np.allclose(transform_points(rotation_matrix(90.0, 0.0, 0.0), [(10.0, 0.0)]), [[0.0, -10.0]], atol=1e-9)
