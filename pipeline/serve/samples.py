"""The items an index is built from: every image of finished pair or interleaved shards.

``pairs``: one item per sample (``jpg`` + ``txt`` + ``json``, pipeline/shards/pairs.py): the
text is the pair's caption. ``interleaved``: one item per image member ``N.jpg`` of a
document (schemas/samples.py); its text is what the pipeline matched to it (the CLIP-scored
``clip_text``, else ``alt``, else ``caption``), and may be empty.

Shards are read in manifest order, members in tar order, one sample at a time, so a row
number of the index is reproducible from the shards alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.outputs import is_finished, read_json
from pipeline.shards.tar import read_samples

SOURCES = ("pairs", "interleaved")


@dataclass(frozen=True)
class Item:
    """One row of the index: where the image is, and its metadata (items.parquet)."""

    key: str  # the WebDataset sample key
    shard: str  # tar name, relative to the source folder
    member: str  # tar member of the image
    url: str | None  # image URL
    text: str  # the text paired with the image ("" when none)
    doc_url: str | None  # the page the image comes from
    image: bytes


def source_dir(output: str | Path, source: str) -> Path:
    if source not in SOURCES:
        raise ValueError(f"--source must be one of {', '.join(SOURCES)}, not {source!r}")
    return Path(output) / "shards" / source


def source_manifest(folder: Path) -> Path:
    """The finished shard folder's manifest.json (ValueError when the folder is unfinished)."""
    manifest = folder / "manifest.json"
    if not manifest.is_file() or not is_finished(folder):
        raise ValueError(f"{folder} holds no finished shards (manifest.json and _SUCCESS): "
                         f"run the write stage first")
    return manifest


def _pair_items(shard: str, key: str, members: dict[str, bytes]) -> Iterator[Item]:
    if "jpg" not in members:
        return
    meta: dict[str, Any] = json.loads(members["json"]) if "json" in members else {}
    text = members.get("txt", b"").decode("utf-8")
    yield Item(key, shard, f"{key}.jpg", meta.get("image_url"), text, meta.get("url"), members["jpg"])


def _interleaved_items(shard: str, key: str, members: dict[str, bytes]) -> Iterator[Item]:
    if "json" not in members:
        return
    doc = json.loads(members["json"])
    for node in doc.get("nodes", []):
        if node.get("type") != "image" or not node.get("file") or node["file"] not in members:
            continue  # an image without bytes in the shard (failed, dropped)
        text = node.get("clip_text") or node.get("alt") or node.get("caption") or ""
        yield Item(key, shard, f"{key}.{node['file']}", node.get("url"), text, doc.get("url"),
                   members[node["file"]])


def iter_items(folder: Path, source: str) -> Iterator[Item]:
    """Every image of the finished shards in ``folder``, in manifest then tar order."""
    manifest = read_json(source_manifest(folder))
    make = _pair_items if source == "pairs" else _interleaved_items
    for shard in manifest["shards"]:
        path = folder / shard["name"]
        if not path.is_file():
            raise ValueError(f"{path} is listed in {folder / 'manifest.json'} but missing")
        for key, members in read_samples(path):
            yield from make(shard["name"], key, members)
