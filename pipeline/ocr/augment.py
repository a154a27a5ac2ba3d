"""Mild, seeded degradations of rendered samples, with the line boxes carried along.

Each augmentation is applied with ``augment_probability``, independently, in a fixed order:
geometry (a perspective tilt, corners moved by at most ``max_perspective`` of the shorter
side, and a small rotation, merged into one homography so the image is
resampled once, on a canvas grown to hold it), Gaussian blur, Gaussian noise, JPEG
artefacts. The rng draws happen in the same sequence whatever is applied, so a seed always
gives the same result. Greyscale images stay single-channel (a third of the work).

Pixels are processed with OpenCV (installed with rapidocr): its warps and blurs are 3-30×
faster than Pillow's, which matters at 50 pages/s per core. Coordinates are continuous
(pixel (i, j) covers [i, i+1) × [j, j+1), Pillow's convention), so a box and the pixels it
holds move together exactly.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache
from statistics import NormalDist
from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image

from pipeline.config import OcrRenderConfig

Point = tuple[float, float]


@lru_cache(maxsize=1)
def cv2() -> ModuleType:
    """OpenCV, single-threaded: a Spark Python worker already has its core (and one thread
    keeps the cost per sample what the benchmarks measure)."""
    import cv2 as module

    module.setNumThreads(1)
    return module


def augment(image: Image.Image, lines: list[dict[str, Any]], rng: random.Random,
            cfg: OcrRenderConfig) -> tuple[Image.Image, list[dict[str, Any]], list[dict[str, Any]]]:
    """The augmented image, the lines with their boxes moved, and what was applied (with parameters)."""
    pixels, lines, applied = augment_array(np.asarray(image), lines, rng, cfg)
    return (Image.fromarray(pixels) if applied else image), lines, applied


def augment_array(pixels: np.ndarray, lines: list[dict[str, Any]], rng: random.Random,
                  cfg: OcrRenderConfig) -> tuple[np.ndarray, list[dict[str, Any]], list[dict[str, Any]]]:
    """``augment`` on a uint8 array (H×W or H×W×3), the form the renderer works in."""
    p = cfg.augment_probability
    applied: list[dict[str, Any]] = []
    height, width = pixels.shape[:2]
    forward = np.eye(3)
    if rng.random() < p and cfg.max_perspective > 0:
        # Relative to the shorter side: on a long line image, shifts relative to its width
        # would shear the text like italics (20° at 2% of a 1000×100 line).
        d = cfg.max_perspective * min(width, height)
        shifts = [(rng.uniform(-d, d), rng.uniform(-d, d)) for _ in range(4)]
        forward = perspective_matrix(_corners(width, height), shifts)
        applied.append({"name": "perspective", "shifts": [[round(x, 2), round(y, 2)] for x, y in shifts]})
    if rng.random() < p and cfg.max_rotation > 0:
        angle = rng.uniform(-cfg.max_rotation, cfg.max_rotation)
        forward = rotation_matrix(angle, width / 2, height / 2) @ forward
        applied.append({"name": "rotate", "angle": round(angle, 3)})
    if applied:
        pixels, forward = warp(pixels, forward, border_colour(pixels))
        lines = [{**line, "box": transform_points(forward, line["box"])} for line in lines]
    if rng.random() < p and cfg.max_blur > 0:
        radius = rng.uniform(cfg.max_blur / 4, cfg.max_blur)
        pixels = cv2().GaussianBlur(pixels, (0, 0), radius, borderType=cv2().BORDER_REPLICATE)
        applied.append({"name": "blur", "radius": round(radius, 3)})
    if rng.random() < p and cfg.max_noise > 0:
        sigma = rng.uniform(cfg.max_noise / 4, cfg.max_noise)
        pixels = add_noise(pixels, sigma, rng.getrandbits(64))
        applied.append({"name": "noise", "sigma": round(sigma, 3)})
    if rng.random() < p:
        quality = rng.randint(min(cfg.min_jpeg_quality, 95), 95)
        pixels = jpeg_roundtrip(pixels, quality)
        applied.append({"name": "jpeg", "quality": quality})
    return pixels, lines, applied


def _corners(width: int, height: int) -> list[Point]:
    return [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))]


def rotation_matrix(angle: float, cx: float, cy: float) -> np.ndarray:
    """Forward map of a rotation by ``angle`` degrees counter-clockwise (as seen, y down) about (cx, cy)."""
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, s, cx - c * cx - s * cy],
                     [-s, c, cy + s * cx - c * cy],
                     [0.0, 0.0, 1.0]])


def perspective_matrix(src: list[Point], shifts: list[Point]) -> np.ndarray:
    """The homography taking the 4 ``src`` points to ``src + shifts``."""
    rows, rhs = [], []
    for (x, y), (dx, dy) in zip(src, shifts):
        u, v = x + dx, y + dy
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend([u, v])
    h = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def transform_points(matrix: np.ndarray, points: list[list[float]] | list[Point]) -> list[list[float]]:
    pts = np.asarray(points, dtype=np.float64)
    mapped = np.c_[pts, np.ones(len(pts))] @ matrix.T
    mapped = mapped[:, :2] / mapped[:, 2:3]
    return [[round(float(x), 2), round(float(y), 2)] for x, y in mapped]


def warp(pixels: np.ndarray, forward: np.ndarray, fill: int | tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``forward`` on a canvas grown to hold the whole warped image (new area = ``fill``).

    Returns the pixels and the forward map including the canvas shift. OpenCV puts pixel
    centres at integers, so the matrix it gets is shifted by half a pixel on both sides.
    """
    height, width = pixels.shape[:2]
    corners = np.asarray(transform_points(forward, _corners(width, height)))
    x0, y0 = np.floor(corners.min(axis=0))
    x1, y1 = np.ceil(corners.max(axis=0))
    forward = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]]) @ forward
    half = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    centred = np.linalg.inv(half) @ forward @ half
    size = (int(x1 - x0), int(y1 - y0))
    cv = cv2()
    border = {"flags": cv.INTER_LINEAR, "borderMode": cv.BORDER_CONSTANT, "borderValue": fill}
    if np.allclose(centred[2], [0.0, 0.0, 1.0], atol=1e-12):
        out = cv.warpAffine(pixels, centred[:2], size, **border)
    else:
        out = cv.warpPerspective(pixels, centred, size, **border)
    return out, forward


def border_colour(pixels: np.ndarray) -> int | tuple[int, ...]:
    """The median colour of the outermost pixels: the background, since text keeps a margin."""
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    frame = [pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]
    values = np.concatenate([f.reshape(-1, channels) for f in frame])
    median = np.median(values, axis=0).round().astype(int).tolist()
    return median[0] if channels == 1 else tuple(median)


@lru_cache(maxsize=1)
def _normal_quantiles() -> np.ndarray:
    normal = NormalDist()
    return np.array([normal.inv_cdf((i + 0.5) / 256) for i in range(256)])


def add_noise(pixels: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Gaussian luminance noise: uniform random bytes mapped through the normal quantiles
    (a 256-level Gaussian truncated at ±2.9σ), added and subtracted with saturation."""
    height, width = pixels.shape[:2]
    raw = np.frombuffer(np.random.default_rng(seed).bytes(width * height), np.uint8).reshape(height, width)
    offsets = np.round(sigma * _normal_quantiles())
    cv = cv2()
    up = cv.LUT(raw, np.clip(offsets, 0, 255).astype(np.uint8))
    down = cv.LUT(raw, np.clip(-offsets, 0, 255).astype(np.uint8))
    if pixels.ndim == 3:
        up, down = cv.merge([up] * pixels.shape[2]), cv.merge([down] * pixels.shape[2])
    return cv.subtract(cv.add(pixels, up), down)


def jpeg_roundtrip(pixels: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode at ``quality`` (RGB goes through OpenCV's BGR order and back)."""
    cv = cv2()
    colour = pixels.ndim == 3
    ok, encoded = cv.imencode(".jpg", cv.cvtColor(pixels, cv.COLOR_RGB2BGR) if colour else pixels,
                              [cv.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    if colour:
        return cv.cvtColor(cv.imdecode(encoded, cv.IMREAD_COLOR), cv.COLOR_BGR2RGB)
    return cv.imdecode(encoded, cv.IMREAD_GRAYSCALE)
