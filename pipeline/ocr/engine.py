"""rapidocr (the PP-OCR detection + recognition ONNX models its wheel ships), loaded once per process.

Used to verify rendered samples and to annotate web images. No downloads: the models are
files inside the installed package. One onnxruntime thread by default: on a Spark executor
each Python worker already has its core, and a fixed thread count keeps results repeatable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class OcrLine:
    """One detected text line: its quadrilateral (4 [x, y] points, pixels), text, confidence."""

    box: tuple[tuple[float, float], ...]
    text: str
    score: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.box]
        ys = [p[1] for p in self.box]
        return min(xs), min(ys), max(xs), max(ys)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "score": round(self.score, 4),
                "box": [[round(x, 1), round(y, 1)] for x, y in self.box]}


@lru_cache(maxsize=4)
def _engine(threads: int) -> Any:
    from rapidocr import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return RapidOCR(params={
        "Global.log_level": "error",
        # The angle classifier flips slightly rotated (augmented) lines upside down more
        # often than it rescues a real one: off, the English CER drops.
        "Global.use_cls": False,
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })


def engine_version() -> str:
    from importlib.metadata import version

    return f"rapidocr {version('rapidocr')}"


def read_text(image: Image.Image, threads: int = 1) -> list[OcrLine]:
    """The text lines rapidocr finds in ``image``, in its order (top to bottom)."""
    array = np.asarray(image.convert("RGB"))[:, :, ::-1]  # rapidocr takes BGR like OpenCV
    result = _engine(threads)(np.ascontiguousarray(array))
    if result.boxes is None or result.txts is None:
        return []
    return [OcrLine(tuple((float(x), float(y)) for x, y in box), str(text), float(score))
            for box, text, score in zip(result.boxes, result.txts, result.scores)]
