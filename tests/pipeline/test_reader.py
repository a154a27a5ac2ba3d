"""pipeline/reader.py: interleaved shards read back as ordered (text, image) sequences, split
over ranks and DataLoader workers, as OBELICS / MMC4 rows and as OpenFlamingo batches.

The shards are written by the project's own writer (9 documents in 3 shards, images drawn
here, one image per document without bytes, as a failed download leaves it)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw

from pipeline.config import load_config
from pipeline.outputs import mark_finished
from pipeline.reader import (
    END_OF_CHUNK,
    MEDIA_TOKEN,
    FlamingoCollator,
    InterleavedDataset,
    InterleavedIterableDataset,
    TextItem,
    read_interleaved,
    to_mmc4,
    to_obelics,
)
from pipeline.shards.interleaved import WriteTask, finalize_interleaved, write_task_docs
from pipeline.stats import RunStats
from schemas import Document, ImageNode, TextNode

ROOT = Path(__file__).resolve().parents[2]


def _jpeg(seed: int, size: tuple[int, int]) -> bytes:
    im = Image.new("RGB", size, (seed * 40 % 256, 90, 200 - seed * 20 % 200))
    ImageDraw.Draw(im).rectangle((4, 4, 10 + seed, 12 + seed), fill="white")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


def _documents() -> list[Document]:
    docs = []
    for d in range(9):
        nodes: list[TextNode | ImageNode] = [TextNode(f"Heading {d}", kind="heading")]
        for j in range(d % 3 + 1):  # 1-3 images, each followed by text
            nodes.append(ImageNode(url=f"https://img.example.com/{d}/{j}.jpg", alt=f"alt {d}.{j}",
                                   image=_jpeg(d + j, (40 + 8 * j, 30 + d)), image_mime="image/jpeg", status="ok"))
            nodes.append(TextNode(f"text {d} after image {j} with a few more words"))
        nodes.insert(2, ImageNode(url=f"https://img.example.com/{d}/gone.jpg", status="failed", reason="http_404"))
        doc = Document(doc_id=f"doc{d}", url=f"https://example.com/{d}", nodes=nodes, language="en")
        doc.renumber()
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reader") / "out"
    folder = out / "shards" / "interleaved"
    config = load_config(None, [f"run.output={out}", "shards.max_samples=3", "select.enabled=false"])
    docs = _documents()
    results = [write_task_docs(WriteTask(0, ()), docs[:5], config, str(folder)),
               write_task_docs(WriteTask(1, ()), docs[5:], config, str(folder))]
    run = RunStats()
    for r in results:
        run.merge(RunStats.from_dict(r["stats"]))
    finalize_interleaved(folder, results, config, run.to_dict())
    mark_finished(folder)
    return folder


def _raw_samples(folder: Path) -> list[tuple[str, dict, dict[str, bytes]]]:
    """(key, json, {member: bytes}) straight from the tars with tarfile, in manifest order."""
    manifest = json.loads((folder / "manifest.json").read_text())
    out = []
    for shard in manifest["shards"]:
        with tarfile.open(folder / shard["name"]) as tar:
            members: dict[str, dict[str, bytes]] = {}
            for m in tar.getmembers():
                key, _, ext = m.name.partition(".")
                members.setdefault(key, {})[ext] = tar.extractfile(m).read()
        out += [(k, json.loads(v["json"]), v) for k, v in members.items()]
    return out


def test_documents_come_in_shard_order_with_images_where_the_json_says(shards):
    manifest = json.loads((shards / "manifest.json").read_text())
    assert manifest["num_shards"] >= 3
    raw = _raw_samples(shards)
    docs = list(read_interleaved(shards))
    assert [d.key for d in docs] == [k for k, _, _ in raw] == [f"doc{d}" for d in range(9)]
    for doc, (key, sample, members) in zip(docs, raw):
        expected = [("text", n["text"]) if n["type"] == "text" else ("image", n["file"])
                    for n in sample["nodes"] if n["type"] == "text" or n["file"]]
        got = [("text", i.text) if isinstance(i, TextItem) else ("image", i.member) for i in doc.items]
        assert got == expected
        for item in doc.images:
            with Image.open(io.BytesIO(members[item.member])) as stored:
                assert item.image.size == stored.size and item.image.mode == "RGB"
        assert doc.url == sample["url"] and doc.meta["doc_id"] == key and "nodes" not in doc.meta
    assert sum(len(d.images) for d in docs) == sum(d % 3 + 1 for d in range(9))


def test_documents_match_the_sidecars_and_the_stored_bytes(shards):
    manifest = json.loads((shards / "manifest.json").read_text())
    sidecar_keys = [(s["name"], key) for s in manifest["shards"]
                    for key in pq.read_table(shards / s["sidecar"], columns=["key"]).column("key").to_pylist()]
    docs = list(read_interleaved(shards, decode_images=False, skip_failed_images=False))
    assert [(d.shard, d.doc_id) for d in docs] == sidecar_keys
    assert all(d.doc_id == d.key for d in docs)
    for doc, (key, sample, members) in zip(docs, _raw_samples(shards)):
        # Every node kept (failed ones too): items line up one to one with the json's nodes.
        assert len(doc.items) == len(sample["nodes"])
        for i, (item, node) in enumerate(zip(doc.items, sample["nodes"])):
            assert (node["type"] == "image") == (not isinstance(item, TextItem))
            if node["type"] == "image":
                assert item.position == node["position"] == i and item.image_index == node["image_index"]
                assert item.image == (members[node["file"]] if node["file"] else None)


def test_failed_images_are_skipped_or_kept_without_bytes(shards):
    doc = next(read_interleaved(shards, skip_failed_images=False, decode_images=False))
    kinds = [type(i).__name__ for i in doc.items]
    assert kinds == ["TextItem", "ImageItem", "ImageItem", "TextItem"]
    kept, gone = doc.items[1], doc.items[2]
    assert (gone.image, gone.member, gone.status, gone.reason, gone.image_index) == (
        None, None, "failed", "http_404", 1)
    assert isinstance(kept.image, bytes) and kept.member == "0.jpg" and kept.image_index == 0


def test_ranks_and_workers_read_every_document_once(shards):
    from torch.utils.data import DataLoader

    everything = [d.key for d in read_interleaved(shards, decode_images=False)]
    split = [[d.key for d in read_interleaved(shards, decode_images=False, rank=r, world_size=2)] for r in (0, 1)]
    assert sorted(split[0] + split[1]) == sorted(everything) and split[0] and split[1]
    shuffled = [d.key for d in read_interleaved(shards, decode_images=False, shuffle_shards=True, seed=3)]
    assert sorted(shuffled) == sorted(everything)
    seen = []
    for rank in (0, 1):
        ds = InterleavedIterableDataset(shards, rank=rank, world_size=2, decode_images=False,
                                        transform=lambda d: (d.shard, d.key))
        seen += list(DataLoader(ds, batch_size=None, num_workers=2))
    assert sorted(k for _, k in seen) == sorted(everything)  # every document exactly once
    assert InterleavedIterableDataset is InterleavedDataset
    # Whole shards per reader: no shard's documents come from two (rank, worker) readers.
    by_shard: dict[str, set] = {}
    for rank in (0, 1):
        for worker in (0, 1):
            for d in read_interleaved(shards, decode_images=False, rank=rank * 2 + worker, world_size=4):
                by_shard.setdefault(d.shard, set()).add((rank, worker))
    assert all(len(readers) == 1 for readers in by_shard.values())
    with pytest.raises(ValueError, match="rank must be"):
        next(read_interleaved(shards, rank=2, world_size=2))


def test_unfinished_folders_and_wrong_layouts_are_refused(shards, tmp_path):
    (tmp_path / "manifest.json").write_text((shards / "manifest.json").read_text())
    with pytest.raises(ValueError, match="no _SUCCESS"):
        list(read_interleaved(tmp_path))
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / "manifest.json").write_text(json.dumps({"layout": "pairs", "shards": []}))
    with pytest.raises(ValueError, match="pairs shards, not interleaved"):
        list(read_interleaved(tmp_path))


def test_obelics_and_mmc4_layouts(shards):
    doc = list(read_interleaved(shards))[2]  # doc2: heading, img, text, img, text, img, text (+ a failed one)
    ob = to_obelics(doc)
    assert len(ob["texts"]) == len(ob["images"]) == len(doc.items)
    assert all((t is None) != (i is None) for t, i in zip(ob["texts"], ob["images"]))
    assert [t is None for t in ob["texts"]] == [False, True, False, True, False, True, False]
    mm = to_mmc4(doc)
    assert mm["text_list"] == [t.text for t in doc.texts] and len(mm["image_info"]) == 3
    # No CLIP scores in these shards: each image is matched to the text after it.
    assert [i["matched_text_index"] for i in mm["image_info"]] == [1, 2, 3]
    assert [i["image_name"] for i in mm["image_info"]] == ["0.jpg", "2.jpg", "3.jpg"]


class WordTokenizer:
    """A minimal Hugging Face-style tokenizer (whitespace words; the media and end-of-chunk
    tokens are single tokens) for the collator: no tokenizer can be downloaded here."""

    def __init__(self) -> None:
        self.vocab = {"<pad>": 0, MEDIA_TOKEN: 1, END_OF_CHUNK: 2}

    def convert_tokens_to_ids(self, token: str) -> int:
        return self.vocab.setdefault(token, len(self.vocab))

    def __call__(self, texts, padding, truncation, max_length, return_tensors):
        import torch

        assert (padding, truncation, return_tensors) == ("longest", True, "pt")
        ids = [[self.convert_tokens_to_ids(w) for w in t.split()][:max_length] for t in texts]
        width = max(len(r) for r in ids)
        return {"input_ids": torch.tensor([r + [0] * (width - len(r)) for r in ids]),
                "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in ids])}


def _transform(image):
    import numpy as np
    import torch

    return torch.from_numpy(np.asarray(image.resize((8, 8)), dtype=np.float32) / 255).permute(2, 0, 1)


def test_flamingo_batches_put_media_tokens_where_the_images_were(shards):
    docs = list(read_interleaved(shards))[:4]  # 1, 2, 3, 1 images
    tok = WordTokenizer()
    text, images = FlamingoCollator(tok, _transform).text_and_images(docs[1])
    assert text.split()[:3] == ["Heading", "1", MEDIA_TOKEN]
    assert text.count(MEDIA_TOKEN) == 2 and text.count(END_OF_CHUNK) == 2 and text.endswith(END_OF_CHUNK)
    batch = FlamingoCollator(tok, _transform, 2, 256)(docs)
    assert batch["images"].shape == (4, 2, 1, 3, 8, 8)
    assert batch["num_images"].tolist() == [1, 2, 2, 1]  # doc2's third image is over max_images
    assert batch["media_locations"].sum(1).tolist() == [1, 2, 2, 1]
    assert (batch["input_ids"][batch["media_locations"]] == 1).all()
    # The images are the documents' images, in order; the padding slots stay zero.
    assert batch["images"][1, 1, 0].equal(_transform(docs[1].images[1].image))
    assert batch["images"][0, 1].abs().sum() == 0
    # Truncated after the first media token: only that image stays.
    short = FlamingoCollator(tok, _transform, max_images=5, max_length=4)(docs[1:2])
    assert short["num_images"].tolist() == [1] and short["media_locations"].sum() == 1
    assert short["images"][0, 0, 0].equal(_transform(docs[1].images[0].image))
    assert short["images"][0, 1:].abs().sum() == 0  # the second image went with its token
    # Rows truncated differently in one batch keep their own counts.
    mixed = FlamingoCollator(tok, _transform, max_images=5, max_length=15)(docs)
    counts = mixed["media_locations"].sum(1).tolist()
    assert counts == [1, 2, 2, 1]  # doc2 loses its third image to truncation, doc1 keeps both
    assert mixed["num_images"].tolist() == counts
    assert all(mixed["images"][b, n:].abs().sum() == 0 for b, n in enumerate(counts))


def test_the_example_runs_on_the_shards(shards):
    pytest.importorskip("transformers", reason="the example builds a Hugging Face tokenizer")
    proc = subprocess.run([sys.executable, str(ROOT / "examples/interleaved_reader.py"), str(shards.parents[1]),
                           "--batch-size", "3"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "document doc0 (en)" in proc.stdout and "[image 0.jpg 40x30]" in proc.stdout
    assert "images per row:" in proc.stdout and "batches" in proc.stdout


def test_fsspec_urls_read_like_local_folders(shards):
    import fsspec

    fs = fsspec.filesystem("memory")
    for path in shards.iterdir():
        if path.is_file():
            fs.pipe(f"/reader-test/{path.name}", path.read_bytes())
    remote = [(d.key, [getattr(i, "member", None) for i in d.items])
              for d in read_interleaved("memory://reader-test", decode_images=False)]
    local = [(d.key, [getattr(i, "member", None) for i in d.items]) for d in read_interleaved(shards, decode_images=False)]
    assert remote == local and len(remote) == 9
