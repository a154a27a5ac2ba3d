"""Read finished ``shards/interleaved/`` back as ordered (text, image) sequences for training.

    from pipeline.reader import read_interleaved
    for doc in read_interleaved("OUT/shards/interleaved"):
        for item in doc.items:              # TextItem / ImageItem in reading order
            ...

``read_interleaved`` streams one shard at a time and one sample at a time (memory stays flat
whatever the corpus size) from a local folder or any fsspec URL (``s3://...``), in manifest
order, so the same shards give the same sequence. ``InterleavedDataset`` (alias
``InterleavedIterableDataset``) is the same stream as a ``torch.utils.data.IterableDataset``
with shards split over distributed ranks and DataLoader workers. ``to_obelics`` / ``to_mmc4``
give a document in those corpora's layouts, and ``FlamingoCollator`` builds OpenFlamingo-style
batches (``<image>`` tokens where images were, ``<|endofchunk|>`` after the text that follows
each image, an image tensor per row and the media token positions).

Images whose bytes are not in the shard (download failed, filtered, dropped as repeated)
have a node in the json but no member: they are left out by default
(``skip_failed_images=False`` keeps them as ``ImageItem(image=None)`` with status/reason).
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.shards.tar import read_samples

MEDIA_TOKEN = "<image>"
END_OF_CHUNK = "<|endofchunk|>"


@dataclass(frozen=True)
class TextItem:
    text: str
    kind: str = "paragraph"  # heading, paragraph, list, table, caption, quote, code
    language: str | None = None


@dataclass(frozen=True)
class ImageItem:
    image: Any  # PIL.Image (decode_images=True), the stored bytes, or None (no bytes in the shard)
    url: str | None
    alt: str | None = None
    caption: str | None = None
    image_index: int = 0  # the image's index among the document's image nodes
    position: int | None = None  # the node's index in the document (json "position"), failed images counted
    member: str | None = None  # tar member name (e.g. "0.jpg"), None without bytes
    status: str | None = None
    reason: str | None = None
    clip_score: float | None = None
    clip_text: str | None = None
    matched_text_index: int | None = None  # MMC4: index into the document's text items
    matched_sim: float | None = None
    synthetic_caption: str | None = None


@dataclass
class InterleavedDocument:
    key: str  # WebDataset sample key (the document id)
    shard: str  # tar it came from
    url: str | None
    language: str | None
    items: list[TextItem | ImageItem]
    meta: dict[str, Any] = field(default_factory=dict)  # the sample json without its nodes

    @property
    def doc_id(self) -> str:
        # The writer keys each sample by its document id; the json keeps it too.
        return self.meta.get("doc_id") or self.key

    @property
    def texts(self) -> list[TextItem]:
        return [i for i in self.items if isinstance(i, TextItem)]

    @property
    def images(self) -> list[ImageItem]:
        return [i for i in self.items if isinstance(i, ImageItem)]


def shard_urls(source: str | Path | Sequence[str | Path]) -> list[str]:
    """The tars of ``source``: a finished shard folder (manifest order) or explicit tar paths / URLs."""
    if not isinstance(source, (str, Path)):
        return [str(s) for s in source]
    import fsspec

    text = str(source)
    if text.endswith(".tar"):
        return [text]
    fs, root = fsspec.core.url_to_fs(text)
    base = text.rstrip("/")
    if not fs.exists(f"{root.rstrip('/')}/_SUCCESS"):
        raise ValueError(f"{source} is not a finished shard folder (no _SUCCESS): run write-shards first, "
                         "or give the tar files")
    with fs.open(f"{root.rstrip('/')}/manifest.json", "rb") as f:
        manifest = json.load(f)
    if manifest.get("layout") not in (None, "interleaved"):
        raise ValueError(f"{source} holds {manifest.get('layout')} shards, not interleaved ones")
    return [f"{base}/{s['name']}" for s in manifest["shards"]]


def document_from_members(key: str, members: dict[str, bytes], shard: str = "", *, decode_images: bool = True,
                          skip_failed_images: bool = True) -> InterleavedDocument:
    """One interleaved sample (json + image members) → an InterleavedDocument."""
    if "json" not in members:
        raise ValueError(f"sample {key!r} of {shard or 'the shard'} has no json member: not an interleaved shard")
    sample = json.loads(members["json"])
    items: list[TextItem | ImageItem] = []
    for node in sample.get("nodes", []):
        if node["type"] == "text":
            items.append(TextItem(node["text"], node.get("kind", "paragraph"), node.get("language")))
            continue
        member = node.get("file")
        data = members.get(member) if member else None
        if data is None and skip_failed_images:
            continue
        items.append(ImageItem(
            image=_decode(data) if data is not None and decode_images else data, url=node.get("url"),
            alt=node.get("alt"), caption=node.get("caption"), image_index=node.get("image_index", 0),
            position=node.get("position"),
            member=member if data is not None else None, status=node.get("status"), reason=node.get("reason"),
            clip_score=node.get("clip_score"), clip_text=node.get("clip_text"),
            matched_text_index=node.get("matched_text_index"), matched_sim=node.get("matched_sim"),
            synthetic_caption=node.get("synthetic_caption")))
    meta = {k: v for k, v in sample.items() if k != "nodes"}
    return InterleavedDocument(key=key, shard=shard, url=sample.get("url"), language=sample.get("language"),
                               items=items, meta=meta)


def _decode(data: bytes) -> Any:
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im.load()  # read now: the bytes go out of scope with the sample
    return im.convert("RGB") if im.mode != "RGB" else im


def read_interleaved(source: str | Path | Sequence[str | Path], *, decode_images: bool = True,
                     skip_failed_images: bool = True, shuffle_shards: bool = False, seed: int = 0,
                     rank: int = 0, world_size: int = 1) -> Iterator[InterleavedDocument]:
    """Every document of the shards, in order (shards in manifest order, samples in tar order).

    ``rank`` / ``world_size`` keep shards ``rank, rank + world_size, ...`` (after the seeded
    shuffle when ``shuffle_shards``): each shard is read by exactly one reader.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size), got rank={rank} world_size={world_size}")
    urls = shard_urls(source)
    if shuffle_shards:
        random.Random(seed).shuffle(urls)
    for url in urls[rank::world_size]:
        shard = url.rsplit("/", 1)[-1]
        for key, members in read_samples(url):
            yield document_from_members(key, members, shard, decode_images=decode_images,
                                        skip_failed_images=skip_failed_images)


try:  # torch is the 'clip' extra: the reader itself works without it
    from torch.utils.data import IterableDataset as _IterableBase
except ImportError:  # pragma: no cover - exercised only without torch
    _IterableBase = object  # type: ignore[assignment,misc]


class InterleavedDataset(_IterableBase):  # type: ignore[misc,valid-type]
    """``read_interleaved`` as a torch IterableDataset: shards split over ranks and DataLoader
    workers (shard i goes to reader i mod (world_size x workers)), so every document is read
    once per epoch. Give at least as many shards as readers, or some readers get none.
    ``set_epoch(n)`` reshuffles the shard order when ``shuffle_shards``."""

    def __init__(self, source: str | Path | Sequence[str | Path], *, rank: int = 0, world_size: int = 1,
                 shuffle_shards: bool = False, seed: int = 0, decode_images: bool = True,
                 skip_failed_images: bool = True, transform: Callable[[InterleavedDocument], Any] | None = None):
        super().__init__()
        self.urls = shard_urls(source)
        self.rank, self.world_size = rank, world_size
        self.shuffle_shards, self.seed, self.epoch = shuffle_shards, seed, 0
        self.decode_images, self.skip_failed_images = decode_images, skip_failed_images
        self.transform = transform

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[Any]:
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        docs = read_interleaved(self.urls, decode_images=self.decode_images,
                                skip_failed_images=self.skip_failed_images, shuffle_shards=self.shuffle_shards,
                                seed=self.seed + self.epoch, rank=self.rank * workers + worker,
                                world_size=self.world_size * workers)
        for doc in docs:
            yield self.transform(doc) if self.transform else doc


InterleavedIterableDataset = InterleavedDataset  # the name the training-side docs use


def to_obelics(doc: InterleavedDocument) -> dict[str, Any]:
    """OBELICS layout: aligned ``texts`` / ``images`` lists, exactly one of the two set per slot."""
    texts = [i.text if isinstance(i, TextItem) else None for i in doc.items]
    images = [i.image if isinstance(i, ImageItem) else None for i in doc.items]
    urls = [i.url if isinstance(i, ImageItem) else None for i in doc.items]
    return {"texts": texts, "images": images, "image_urls": urls, "url": doc.url, "key": doc.key,
            "metadata": json.dumps({k: doc.meta.get(k) for k in ("language", "title", "date", "warc_file")},
                                   ensure_ascii=False)}


def to_mmc4(doc: InterleavedDocument) -> dict[str, Any]:
    """MMC4 layout: ``text_list`` and ``image_info`` with each image's ``matched_text_index``.

    The CLIP job's assignment (``matched_text_index`` / ``matched_sim``, an index into the
    text nodes) is used when the shards have it. Without CLIP scores an image is matched to
    the text that follows it (else the one before it), sim None: where the text describing an
    image usually is on a web page.
    """
    text_list = [t.text for t in doc.texts]
    image_info = []
    seen_texts = 0
    for pos, item in enumerate(doc.items):
        if isinstance(item, TextItem):
            seen_texts += 1
            continue
        index, sim = item.matched_text_index, item.matched_sim
        if index is None and text_list:
            index = min(seen_texts, len(text_list) - 1)
        image_info.append({"image_name": item.member, "raw_url": item.url, "matched_text_index": index,
                           "matched_sim": sim, "image": item.image})
    return {"url": doc.url, "key": doc.key, "text_list": text_list, "image_info": image_info}


class FlamingoCollator:
    """Documents → an OpenFlamingo-style batch.

    Each document becomes ``<image>text…<|endofchunk|><image>text…<|endofchunk|>``: a media
    token where each image was, an end-of-chunk token before the next image and at the end.
    At most ``max_images`` images per row (later ones are left out of the text too); after
    truncation to ``max_length`` tokens only the images whose media token survived are kept,
    so ``num_images[b]`` always equals the media tokens of row b.

    ``tokenizer``: Hugging Face-style (``tokenizer(texts, padding="longest", truncation=True,
    max_length=N, return_tensors="pt")`` and ``convert_tokens_to_ids``) with ``media_token``
    and ``eoc_token`` added as special tokens. ``image_transform``: PIL image → tensor (C, H, W).
    Returns ``input_ids``, ``attention_mask`` (B, L), ``images`` (B, max_images, 1, C, H, W;
    zero padded, the 1 is OpenFlamingo's frame axis), ``media_locations`` (B, L bool) and
    ``num_images`` (B).
    """

    def __init__(self, tokenizer: Any, image_transform: Callable[[Any], Any], max_images: int = 5,
                 max_length: int = 256, media_token: str = MEDIA_TOKEN, eoc_token: str = END_OF_CHUNK):
        if max_images < 1 or max_length < 1:
            raise ValueError("max_images and max_length must be >= 1")
        self.tokenizer, self.image_transform = tokenizer, image_transform
        self.max_images, self.max_length = max_images, max_length
        self.media_token, self.eoc_token = media_token, eoc_token
        self.media_id = tokenizer.convert_tokens_to_ids(media_token)

    def text_and_images(self, doc: InterleavedDocument) -> tuple[str, list[Any]]:
        parts: list[str] = []
        images: list[Any] = []
        for item in doc.items:
            if isinstance(item, ImageItem):
                if item.image is None or len(images) == self.max_images:
                    continue
                if images:
                    parts.append(self.eoc_token)
                parts.append(self.media_token)
                images.append(item.image)
            else:
                parts.append(item.text.strip())
        if images:
            parts.append(self.eoc_token)
        return " ".join(p for p in parts if p), images

    def __call__(self, docs: Sequence[InterleavedDocument]) -> dict[str, Any]:
        import torch

        rows = [self.text_and_images(d) for d in docs]
        enc = self.tokenizer([text for text, _ in rows], padding="longest", truncation=True,
                             max_length=self.max_length, return_tensors="pt")
        input_ids, attention = enc["input_ids"], enc["attention_mask"]
        media = input_ids == self.media_id
        kept = media.sum(dim=1).tolist()
        shape = None
        for _, images in rows:
            if images:
                shape = tuple(self.image_transform(images[0]).shape)
                break
        shape = shape or (3, 1, 1)
        batch = torch.zeros((len(rows), self.max_images, 1, *shape), dtype=torch.float32)
        for b, (_, images) in enumerate(rows):
            for i, image in enumerate(images[: kept[b]]):
                batch[b, i, 0] = self.image_transform(image)
        return {"input_ids": input_ids, "attention_mask": attention, "images": batch,
                "media_locations": media, "num_images": torch.tensor(kept, dtype=torch.long)}
