"""Read a rendered sample back with rapidocr and measure its character error rate (CER).

CER = edit distance between the ground truth and what the OCR model reads, over the length
of the ground truth. Lines are compared where they are drawn, not in the order the model
lists them: each detected line goes to the ground-truth line its box overlaps most, so a
multi-column page or a line the detector splits in two is scored fairly. Detected text
outside every ground-truth line counts as insertions for rendered samples (nothing else was
drawn there) but not for PDF pages, whose figures can hold text the text layer lacks.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any, Sequence

from PIL import Image
from rapidfuzz.distance import Levenshtein

from pipeline.ocr.engine import OcrLine, read_text

_SPACES = re.compile(r"\s+")
_CJK = r"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
# OCR models do not see the spaces a layout puts around CJK characters (or a text layer stores).
_SPACE_BY_CJK = re.compile(rf"(?<=[{_CJK}]) | (?=[{_CJK}])")


def normalise(text: str) -> str:
    """NFKC (full-width forms, ligatures), one space for any whitespace run, none next to CJK."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return _SPACE_BY_CJK.sub("", text)


@dataclass(frozen=True)
class Verification:
    cer: float
    errors: int
    chars: int
    read: list[str]  # per ground-truth line, what the model read there
    unmatched: list[str]  # detections outside every ground-truth line

    def to_json(self, engine: str) -> dict[str, Any]:
        return {"engine": engine, "cer": round(self.cer, 5), "errors": self.errors, "chars": self.chars,
                "read": self.read, "unmatched": self.unmatched}


def _rect(box: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in box]
    ys = [p[1] for p in box]
    return min(xs), min(ys), max(xs), max(ys)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def assign(truth_boxes: list[tuple[float, float, float, float]], detections: list[OcrLine],
           vertical: Sequence[bool] = ()) -> tuple[list[str], list[str]]:
    """Detected text per ground-truth line (pieces in reading order) and the unmatched rest."""
    pieces: list[list[tuple[float, str]]] = [[] for _ in truth_boxes]
    unmatched: list[str] = []
    for det in detections:
        rect = det.bounds
        area = max((rect[2] - rect[0]) * (rect[3] - rect[1]), 1e-6)
        best, best_overlap = -1, 0.0
        for i, box in enumerate(truth_boxes):
            overlap = _overlap(rect, box)
            if overlap > best_overlap:
                best, best_overlap = i, overlap
        if best < 0 or best_overlap < 0.3 * area:
            unmatched.append(det.text)
            continue
        along = rect[1] if (vertical and vertical[best]) else rect[0]
        pieces[best].append((along, det.text))
    return [" ".join(t for _, t in sorted(p)) for p in pieces], unmatched


def score_lines(truth: list[str], read: list[str], unmatched: list[str], count_unmatched: bool) -> Verification:
    errors = chars = 0
    for expected, got in zip(truth, read):
        expected, got = normalise(expected), normalise(got)
        errors += Levenshtein.distance(expected, got)
        chars += len(expected)
    if count_unmatched:
        errors += sum(len(normalise(t)) for t in unmatched)
    return Verification(errors / max(chars, 1), errors, chars, read, unmatched)


def verify(image: Image.Image, lines: list[dict[str, Any]], count_unmatched: bool = True,
           threads: int = 1) -> Verification:
    """CER of ``image`` against its ground-truth ``lines`` ({"text", "box"}: a quad or x0,y0,x1,y1)."""
    boxes = [_rect(line["box"]) if isinstance(line["box"][0], (list, tuple)) else tuple(line["box"])
             for line in lines]
    read, unmatched = assign(boxes, read_text(image, threads), [bool(line.get("vertical")) for line in lines])
    return score_lines([line["text"] for line in lines], read, unmatched, count_unmatched)


def chosen(key: str, fraction: float, seed: int) -> bool:
    """Whether ``key`` falls in the verified ``fraction``: a hash, so reruns choose the same."""
    if fraction >= 1.0:
        return True
    return zlib.crc32(f"{seed}:{key}".encode()) / 0xFFFFFFFF < fraction
