"""Export formats: one writer per format, streaming samples into one part file at a time.

- ``webdataset``: the selected samples' tar members as they are (deterministic tars).
- ``parquet``: one row per sample, images as ``{"bytes", "path"}`` structs, with the
  Hugging Face features in the schema metadata, so ``datasets.load_dataset("parquet", ...)``
  decodes them as images. Interleaved rows are OBELICS-like: aligned ``texts`` / ``images``.
- ``obelics`` (interleaved): JSONL as HuggingFaceM4/OBELICS: ``texts`` and ``images`` (image
  URLs) aligned, one of the two null per slot; ``metadata`` / ``general_metadata`` JSON strings.
- ``mmc4`` (interleaved): JSONL as MMC4: ``text_list`` and ``image_info`` (``image_name``,
  ``raw_url``, ``matched_text_index``, ``matched_sim``).

The JSONL formats carry image URLs, as those corpora do; the bytes travel in the webdataset
and parquet formats. Every writer also parses what it wrote back (``count``), which the
verification uses.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.shards.tar import tar_member

FORMATS = ("webdataset", "parquet", "obelics", "mmc4")
EXTENSIONS = {"webdataset": ".tar", "parquet": ".parquet", "obelics": ".jsonl.gz", "mmc4": ".jsonl.gz"}
INTERLEAVED_ONLY = ("obelics", "mmc4")
PARQUET_ROWS_PER_GROUP = 64  # rows buffered before a row group is written: memory stays flat


def _image_nodes_with_bytes(doc: dict[str, Any], members: dict[str, bytes]) -> Iterator[dict[str, Any]]:
    for node in doc["nodes"]:
        if node["type"] == "image" and node.get("file") and node["file"] in members:
            yield node


class PartWriter(ABC):
    """Writes one part file; ``add`` one sample at a time, ``close`` returns the sample count."""

    def __init__(self, path: Path, source: str) -> None:
        self.path, self.source, self.samples = path, source, 0

    @abstractmethod
    def add(self, key: str, members: dict[str, bytes]) -> None: ...

    @abstractmethod
    def close(self) -> int: ...


class TarPart(PartWriter):
    def __init__(self, path: Path, source: str) -> None:
        super().__init__(path, source)
        self._file = open(path, "wb")
        self._tar = tarfile.open(fileobj=self._file, mode="w", format=tarfile.GNU_FORMAT)

    def add(self, key: str, members: dict[str, bytes]) -> None:
        # The writer's member order: json first (interleaved), then the rest in stored order.
        for ext, data in members.items():
            info, stream = tar_member(f"{key}.{ext}", data)
            self._tar.addfile(info, stream)
        self.samples += 1

    def close(self) -> int:
        self._tar.close()
        self._file.close()
        return self.samples


class JsonlPart(PartWriter):
    """Gzip JSONL with a zero mtime and no file name in the header: byte-identical reruns."""

    def __init__(self, path: Path, source: str, layout: str) -> None:
        super().__init__(path, source)
        self.layout = layout
        self._raw = open(path, "wb")
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)

    def add(self, key: str, members: dict[str, bytes]) -> None:
        doc = json.loads(members["json"])
        row = obelics_row(key, doc) if self.layout == "obelics" else mmc4_row(key, doc, members)
        self._gz.write(json.dumps(row, ensure_ascii=False, sort_keys=True).encode() + b"\n")
        self.samples += 1

    def close(self) -> int:
        self._gz.close()
        self._raw.close()
        return self.samples


def _meta(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in ("doc_id", "url", "title", "date", "language", "language_score", "warc_file",
                                     "warc_record_id", "fetch_date")}


def obelics_row(key: str, doc: dict[str, Any]) -> dict[str, Any]:
    texts: list[str | None] = []
    images: list[str | None] = []
    metadata: list[dict[str, Any] | None] = []
    for node in doc["nodes"]:
        if node["type"] == "text":
            texts.append(node["text"])
            images.append(None)
            metadata.append(None)
        elif node.get("file"):  # images left out by the pipeline or the selection have no slot
            texts.append(None)
            images.append(node["url"])
            metadata.append({k: node.get(k) for k in ("alt", "caption", "width", "height", "clip_score",
                                                      "clip_text")})
    return {"key": key, "texts": texts, "images": images, "metadata": json.dumps(metadata, ensure_ascii=False),
            "general_metadata": json.dumps(_meta(doc), ensure_ascii=False, sort_keys=True)}


def mmc4_row(key: str, doc: dict[str, Any], members: dict[str, bytes]) -> dict[str, Any]:
    """MMC4's ``matched_text_index`` from the CLIP job when present, else the text after the image."""
    text_list = [n["text"] for n in doc["nodes"] if n["type"] == "text"]
    image_info = []
    texts_before = 0
    for node in doc["nodes"]:
        if node["type"] == "text":
            texts_before += 1
            continue
        if not node.get("file") or node["file"] not in members:
            continue
        index = node.get("matched_text_index")
        if index is None and text_list:
            index = min(texts_before, len(text_list) - 1)
        image_info.append({"image_name": f"{key}.{node['file']}", "raw_url": node["url"],
                           "matched_text_index": index, "matched_sim": node.get("matched_sim")})
    return {"key": key, "url": doc.get("url"), "text_list": text_list, "image_info": image_info,
            "language": doc.get("language")}


class ParquetPart(PartWriter):
    def __init__(self, path: Path, source: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        super().__init__(path, source)
        self._pa = pa
        self.schema = parquet_schema(source)
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self._rows: list[dict[str, Any]] = []

    def add(self, key: str, members: dict[str, bytes]) -> None:
        self._rows.append(interleaved_parquet_row(key, members) if self.source == "interleaved"
                          else pair_parquet_row(key, members))
        self.samples += 1
        if len(self._rows) >= PARQUET_ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(self._pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def close(self) -> int:
        self._flush()
        self._writer.close()
        return self.samples


def parquet_schema(source: str) -> Any:
    import pyarrow as pa

    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    if source == "interleaved":
        fields = [("key", pa.string()), ("url", pa.string()), ("language", pa.string()),
                  ("texts", pa.list_(pa.string())), ("images", pa.list_(image)), ("image_urls", pa.list_(pa.string())),
                  ("metadata", pa.string())]
        features = {"key": _value("string"), "url": _value("string"), "language": _value("string"),
                    "texts": _seq(_value("string")), "images": _seq({"_type": "Image"}),
                    "image_urls": _seq(_value("string")), "metadata": _value("string")}
    else:
        fields = [("key", pa.string()), ("image", image), ("text", pa.string()), ("url", pa.string()),
                  ("image_url", pa.string()), ("language", pa.string()), ("clip_score", pa.float64()),
                  ("metadata", pa.string())]
        features = {"key": _value("string"), "image": {"_type": "Image"}, "text": _value("string"),
                    "url": _value("string"), "image_url": _value("string"), "language": _value("string"),
                    "clip_score": _value("float64"), "metadata": _value("string")}
    hf = {"info": {"features": features}}
    return pa.schema(fields, metadata={"huggingface": json.dumps(hf, sort_keys=True)})


def _value(dtype: str) -> dict[str, str]:
    return {"dtype": dtype, "_type": "Value"}


def _seq(feature: dict[str, Any]) -> dict[str, Any]:
    return {"feature": feature, "_type": "Sequence"}  # "List" in datasets >= 4, which reads both


def interleaved_parquet_row(key: str, members: dict[str, bytes]) -> dict[str, Any]:
    doc = json.loads(members["json"])
    texts, images, urls = [], [], []
    for node in doc["nodes"]:
        if node["type"] == "text":
            texts.append(node["text"])
            images.append(None)
            urls.append(None)
        elif node.get("file") and node["file"] in members:
            texts.append(None)
            images.append({"bytes": members[node["file"]], "path": f"{key}.{node['file']}"})
            urls.append(node["url"])
    return {"key": key, "url": doc.get("url"), "language": doc.get("language"), "texts": texts, "images": images,
            "image_urls": urls, "metadata": json.dumps({k: v for k, v in doc.items() if k != "nodes"},
                                                       ensure_ascii=False, sort_keys=True)}


def pair_parquet_row(key: str, members: dict[str, bytes]) -> dict[str, Any]:
    meta = json.loads(members["json"])
    return {"key": key, "image": {"bytes": members["jpg"], "path": f"{key}.jpg"},
            "text": members["txt"].decode("utf-8"), "url": meta.get("url"), "image_url": meta.get("image_url"),
            "language": meta.get("language"), "clip_score": meta.get("best_score"),
            "metadata": json.dumps(meta, ensure_ascii=False, sort_keys=True)}


def open_part(fmt: str, path: Path, source: str) -> PartWriter:
    if fmt == "webdataset":
        return TarPart(path, source)
    if fmt == "parquet":
        return ParquetPart(path, source)
    return JsonlPart(path, source, fmt)


def count(fmt: str, f: BinaryIO) -> int:
    """Samples in a written part, parsed back with the format's reader (a corrupt file raises)."""
    if fmt == "webdataset":
        with tarfile.open(fileobj=f, mode="r|*") as tar:
            keys = []
            for info in tar:
                key = info.name.rpartition("/")[2].partition(".")[0]
                if not keys or keys[-1] != key:
                    keys.append(key)
            return len(keys)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(f.read())).num_rows
    with gzip.GzipFile(fileobj=f) as gz:
        return sum(1 for line in gz if json.loads(line) is not None)

