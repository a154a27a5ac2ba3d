"""Which samples an export keeps, and why the others are dropped.

A ``Selection`` is applied to one sample at a time, in shard order, so an export is a
stream. Interleaved documents are filtered at two levels: images (``min_clip_score``,
``min_image_side``) are removed from a document the way the write stage removes them (the
node stays, with ``file`` null, ``status`` "dropped" and ``reason`` "export:..."), then the
document is kept or dropped (language, image count, words). Pairs are kept or dropped whole.
``sample_rate`` keeps a stable pseudo-random subset (a hash of the key, so the same keys are
chosen on every run and for every format); ``max_samples`` stops after that many kept.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from typing import Any

import xxhash


@dataclass(frozen=True)
class Selection:
    languages: tuple[str, ...] = ()  # empty: every language
    min_clip_score: float | None = None  # images (interleaved) / pairs below are dropped
    min_image_side: int | None = None  # pixels; smaller images are dropped
    min_images: int = 0  # interleaved: documents with fewer images left are dropped
    max_images: int | None = None
    min_words: int = 0  # interleaved: words (CJK: characters) of the text nodes
    max_words: int | None = None
    sample_rate: float = 1.0  # keep this share of samples, by a hash of the key
    seed: int = 0
    max_samples: int | None = None  # stop after this many kept samples

    def __post_init__(self) -> None:
        if not 0.0 < self.sample_rate <= 1.0:
            raise ValueError(f"sample rate must be in (0, 1], not {self.sample_rate}")
        if self.max_samples is not None and self.max_samples < 1:
            raise ValueError(f"max samples must be >= 1, not {self.max_samples}")
        if self.min_images < 0 or (self.max_images is not None and self.max_images < self.min_images):
            raise ValueError(f"image count range [{self.min_images}, {self.max_images}] is empty")
        if self.max_words is not None and self.max_words < self.min_words:
            raise ValueError(f"word range [{self.min_words}, {self.max_words}] is empty")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["languages"] = list(self.languages)
        return d

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def sampled(self, key: str) -> bool:
        if self.sample_rate >= 1.0:
            return True
        return xxhash.xxh64_intdigest(key.encode("utf-8"), seed=self.seed) / 2**64 < self.sample_rate


def count_words(text: str) -> int:
    """Whitespace words, plus one per CJK character (Chinese has no spaces between words)."""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    return len(text.split()) + cjk


def image_side(data: bytes) -> int:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:  # header only: no decode
        return min(im.size)


def select_interleaved(sel: Selection, key: str, members: dict[str, bytes]
                       ) -> tuple[dict[str, bytes] | None, str | None, dict[str, int]]:
    """(members to write or None, drop reason, counters) for one interleaved sample."""
    counters = {"images_in": 0, "images_dropped": 0}
    if not sel.sampled(key):
        return None, "sample_rate", counters
    doc = json.loads(members["json"])
    if sel.languages and doc.get("language") not in sel.languages:
        return None, "language", counters
    kept = {"json": b""}
    changed = False
    for node in doc["nodes"]:
        if node["type"] != "image" or not node.get("file") or node["file"] not in members:
            continue
        counters["images_in"] += 1
        reason = None
        score = node.get("clip_score")
        if sel.min_clip_score is not None and (score is None or score < sel.min_clip_score):
            reason = "export:min_clip_score"
        elif sel.min_image_side is not None and image_side(members[node["file"]]) < sel.min_image_side:
            reason = "export:min_image_side"
        if reason:
            counters["images_dropped"] += 1
            node.update(file=None, status="dropped", reason=reason)
            changed = True
        else:
            kept[node["file"]] = members[node["file"]]
    images = len(kept) - 1
    if images < sel.min_images or (sel.max_images is not None and images > sel.max_images):
        return None, "image_count", counters
    words = sum(count_words(n["text"]) for n in doc["nodes"] if n["type"] == "text")
    if words < sel.min_words or (sel.max_words is not None and words > sel.max_words):
        return None, "words", counters
    # Unchanged documents keep their json bytes exactly; changed ones are dumped as the writer does.
    kept["json"] = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() \
        if changed else members["json"]
    return kept, None, counters


def select_pair(sel: Selection, key: str, members: dict[str, bytes]
                ) -> tuple[dict[str, bytes] | None, str | None, dict[str, int]]:
    """(members or None, drop reason, counters) for one pair sample."""
    counters = {"images_in": 1, "images_dropped": 0}
    if not sel.sampled(key):
        return None, "sample_rate", counters
    meta = json.loads(members["json"])
    if sel.languages and meta.get("language") not in sel.languages:
        return None, "language", counters
    score = meta.get("best_score")
    if sel.min_clip_score is not None and (score is None or score < sel.min_clip_score):
        return None, "min_clip_score", counters
    if sel.min_image_side is not None and image_side(members["jpg"]) < sel.min_image_side:
        return None, "min_image_side", counters
    return members, None, counters
