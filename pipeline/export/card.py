"""Statistics of an export, gathered while it streams, and its dataset card (README.md)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.export.selection import count_words

QUANTILES = (0.0, 0.1, 0.5, 0.9, 1.0)


@dataclass
class ExportStats:
    languages: Counter = field(default_factory=Counter)
    images: int = 0
    words: list[int] = field(default_factory=list)  # per sample (interleaved: text nodes; pairs: caption)
    clip_scores: list[float] = field(default_factory=list)  # per written image with a score
    image_sides: list[int] = field(default_factory=list)  # shorter side, where the json records it

    def add(self, source: str, members: dict[str, bytes]) -> None:
        meta = json.loads(members["json"])
        self.languages[meta.get("language") or "unknown"] += 1
        if source == "pairs":
            self.images += 1
            self.words.append(count_words(members["txt"].decode("utf-8")))
            self._image(meta.get("best_score"), meta.get("width"), meta.get("height"))
            return
        self.words.append(sum(count_words(n["text"]) for n in meta["nodes"] if n["type"] == "text"))
        for node in meta["nodes"]:
            if node["type"] == "image" and node.get("file") in members:
                self.images += 1
                self._image(node.get("clip_score"), node.get("width"), node.get("height"))

    def _image(self, score: float | None, width: int | None, height: int | None) -> None:
        if score is not None:
            self.clip_scores.append(float(score))
        if width and height:
            self.image_sides.append(min(int(width), int(height)))

    def to_dict(self) -> dict[str, Any]:
        return {"languages": dict(sorted(self.languages.items(), key=lambda kv: (-kv[1], kv[0]))),
                "images": self.images, "words": _quantiles(self.words),
                "clip_score": _quantiles(self.clip_scores), "image_min_side": _quantiles(self.image_sides)}


def _quantiles(values: list[float] | list[int]) -> dict[str, Any] | None:
    if not values:
        return None
    arr = np.asarray(values, dtype=np.float64)
    out = {f"p{int(q * 100)}": round(float(np.quantile(arr, q)), 4) for q in QUANTILES}
    return {"count": len(values), "mean": round(float(arr.mean()), 4), **out}


LOADERS = {
    "webdataset": 'import webdataset as wds\nds = wds.WebDataset("{root}/{pattern}")',
    "parquet": 'from datasets import load_dataset\nds = load_dataset("parquet", data_files="{root}/*.parquet")',
    "obelics": 'from datasets import load_dataset\nds = load_dataset("json", data_files="{root}/*.jsonl.gz")',
    "mmc4": 'from datasets import load_dataset\nds = load_dataset("json", data_files="{root}/*.jsonl.gz")',
}


def dataset_card(manifest: dict[str, Any], root: str) -> str:
    """README.md: what the export holds, how it was selected, how to load it."""
    m, stats, counts = manifest, manifest["statistics"], manifest["counts"]
    lines = ["---", "pretty_name: " + json.dumps(m["name"]), "language:"]
    lines += [f"- {lang}" for lang in stats["languages"] if lang != "unknown"] or ["- multilingual"]
    lines += ["task_categories:", "- image-to-text" if m["source"] == "pairs" else "- image-text-to-text"]
    if m["format"] == "parquet":
        lines += ["configs:", "- config_name: default", "  data_files: \"*.parquet\""]
    lines += ["---", "", f"# {m['name']}", "",
              f"{counts['out']:,} {'image-text pairs' if m['source'] == 'pairs' else 'interleaved documents'} "
              f"with {stats['images']:,} images, exported by interleaf from `shards/{m['source']}/` "
              f"as {m['format']} ({len(m['files'])} files, {m['bytes']:,} bytes, schema {m['schema_version']}).",
              "", "## Load", "", "```python", LOADERS[m["format"]].format(root=root, pattern=m.get("url_pattern", "")),
              "```", "", "## Selection", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {json.dumps(v)} |" for k, v in m["selection"].items()]
    lines += ["", "## Counts", "", f"Read {counts['in']:,} samples, wrote {counts['out']:,}, dropped "
              f"{sum(counts['dropped'].values()):,}:", "", "| reason | samples |", "|---|---|"]
    lines += [f"| {r} | {n:,} |" for r, n in sorted(counts["dropped"].items())] or ["| – | 0 |"]
    lines += ["", f"Images removed from kept documents: {counts['images_dropped']:,} of {counts['images_in']:,}.",
              "", "## Statistics", "", "| language | samples |", "|---|---|"]
    lines += [f"| {lang} | {n:,} |" for lang, n in stats["languages"].items()]
    lines += ["", "| measure | count | mean | min | p10 | median | p90 | max |", "|---|---|---|---|---|---|---|---|"]
    for key, label in (("words", "words per sample"), ("clip_score", "CLIP score per image"),
                       ("image_min_side", "image shorter side (px)")):
        q = stats[key]
        lines.append(f"| {label} | " + (" | ".join(str(q[k]) for k in ("count", "mean", "p0", "p10", "p50", "p90",
                                                                         "p100")) if q else "0 | – | – | – | – | – | –")
                     + " |")
    lines += ["", "## Files", "", "`manifest.json` lists every file with its sha256 and sample count; "
              "`interleaf export --verify " + root + "` checks them.", ""]
    return "\n".join(lines)
