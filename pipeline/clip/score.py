"""Score every image of a document against its candidate texts, and place it MMC4-style.

For each image node of an HTML document: candidate texts (alt, caption, then the text nodes
around it, nearest first: ``before:1``, ``after:1``, ``before:2`` ...) are scored by cosine
similarity of L2-normalised open_clip embeddings; the best one is kept with its score. The
document's scored images are also matched to its text nodes by linear assignment on the full
similarity matrix (``placement.assign``): ``matched_text_index`` indexes ``doc.text_nodes``.

One row per image node (``SCORES_SCHEMA``), in document order then node order; images that
cannot be scored keep a row with ``status="skipped"`` and a reason, checked in this order:

- ``no_image``: no bytes, or the images stage did not keep it (status not None / "ok");
- ``undecodable_image``: Pillow cannot decode the bytes, or the header declares more than
  ``MAX_PIXELS`` (decompression bombs are refused before any pixel is decoded);
- ``no_text``: no candidate text (no alt, caption or non-empty text node).

Batching crosses documents: preprocessed images queue up and are encoded ``batch_size`` at a
time; when a batch is done, the documents whose images are all encoded have their texts
encoded together (each distinct string once) and their rows are yielded. At most about two
batches' worth of documents wait (a partial batch is flushed early otherwise); flushing early
changes nothing because every forward pass is padded to ``batch_size`` (see model.py).
"""

from __future__ import annotations

import io
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from pipeline.clip.model import LoadedClip
from pipeline.clip.placement import assign
from pipeline.config import ClipConfig
from pipeline.stats import StageStats
from schemas import Document, DocumentKind
from schemas.document import ImageNode, TextNode

# Decompression-bomb guard (the images stage and shards use the same default).
MAX_PIXELS = 64_000_000


@dataclass(frozen=True)
class Candidate:
    """A text that may describe an image. ``node_index``: in ``doc.nodes``; -1 for alt/caption."""

    source: str  # "alt" | "caption" | "before:k" | "after:k"
    text: str
    node_index: int


def clean_text(text: str | None, max_chars: int) -> str:
    """Whitespace-stripped and cut to ``max_chars`` (the tokenizer then cuts to the context)."""
    return (text or "").strip()[:max_chars].strip()


def candidates(doc: Document, node_index: int, window: int, max_candidates: int, max_chars: int,
               stats: StageStats | None = None) -> list[Candidate]:
    """Candidate texts of the image at ``doc.nodes[node_index]``, best guesses first.

    Order: alt, caption, before:1, after:1, before:2, after:2 ... (``before:k`` is the k-th
    text node before the image, image nodes in between are not counted) up to ``window`` on
    each side and ``max_candidates`` in all. Empty / whitespace texts and repeats of an earlier
    candidate are skipped; texts are cut to ``max_chars``. ``stats`` counts what was skipped
    or cut (``candidates_empty``, ``candidates_duplicate``, ``candidates_cut``).
    """
    node = doc.nodes[node_index]
    raw: list[tuple[str, str | None, int]] = []
    if isinstance(node, ImageNode):
        raw += [("alt", node.alt, -1), ("caption", node.caption, -1)]
    before = [i for i in range(node_index - 1, -1, -1) if isinstance(doc.nodes[i], TextNode)][:window]
    after = [i for i in range(node_index + 1, len(doc.nodes)) if isinstance(doc.nodes[i], TextNode)][:window]
    for k in range(window):
        if k < len(before):
            raw.append((f"before:{k + 1}", doc.nodes[before[k]].text, before[k]))
        if k < len(after):
            raw.append((f"after:{k + 1}", doc.nodes[after[k]].text, after[k]))

    out: list[Candidate] = []
    seen: set[str] = set()
    for source, text, index in raw:
        if len(out) >= max_candidates:
            break
        if text is None:
            continue
        cleaned = clean_text(text, max_chars)
        if not cleaned:
            _count(stats, "candidates_empty")
            continue
        if cleaned in seen:
            _count(stats, "candidates_duplicate")
            continue
        if len(text.strip()) > max_chars:
            _count(stats, "candidates_cut")
        seen.add(cleaned)
        out.append(Candidate(source, cleaned, index))
    return out


def _count(stats: StageStats | None, name: str) -> None:
    if stats is not None:
        stats.count(name)


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Any:
    """RGB PIL image, or None when the bytes cannot be decoded (never raises on data).

    Transparency is flattened on white, as the shard writer does, so CLIP sees what training
    will see. The pixel count is checked from the header before decoding.
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width <= 0 or height <= 0 or width * height > max_pixels:
                    return None
                im.seek(0)  # first frame of animations
                im.load()
                if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                    rgba = im.convert("RGBA")
                    rgb = Image.new("RGB", rgba.size, (255, 255, 255))
                    rgb.paste(rgba, mask=rgba.getchannel("A"))
                    return rgb
                return im.convert("RGB")
    # Pillow raises many types on hostile data (OSError, SyntaxError, ValueError, struct.error,
    # DecompressionBomb*, MemoryError...): all of them mean "this image cannot be used".
    except Exception:  # noqa: BLE001
        return None


# -- the batched scorer -------------------------------------------------------------------------
@dataclass
class _Image:
    row: dict[str, Any]
    pixels: Any  # preprocessed tensor; dropped once encoded
    cands: list[Candidate]
    owner: _Doc | None = None
    embedding: np.ndarray | None = None


@dataclass
class _Doc:
    rows: list[dict[str, Any]]
    images: list[_Image]
    texts: list[tuple[int, str]]  # (index in doc.text_nodes, cleaned text) of non-empty text nodes
    done: int = 0  # images encoded so far (they are encoded in order)

    @property
    def ready(self) -> bool:
        return self.done == len(self.images)

    @cached_property
    def all_texts(self) -> list[str]:
        """Distinct texts to embed: candidates and (for placement) text nodes; none without images."""
        if not self.images:
            return []
        return list(dict.fromkeys([c.text for item in self.images for c in item.cands]
                                  + [text for _, text in self.texts]))


@dataclass
class _State:
    clip: LoadedClip
    config: ClipConfig
    stats: StageStats
    waiting: deque = field(default_factory=deque)  # _Doc, in input order
    queue: list = field(default_factory=list)  # _Image not yet encoded, in input order
    # Texts cross documents in full batches too: padding only at the very end (a group's own
    # partial batch would pad up to batch_size - 1 rows per group: +25 % text rows measured).
    text_queue: list = field(default_factory=list)  # distinct texts not yet encoded
    queued: set = field(default_factory=set)
    text_embeddings: dict = field(default_factory=dict)  # text → embedding (waiting documents')
    texts_queued_for: int = 0  # documents (from the front of ``waiting``) whose texts are queued


def score_documents(clip: LoadedClip, docs: Iterable[Document], config: ClipConfig,
                    stats: StageStats) -> Iterator[dict[str, Any]]:
    """SCORES_SCHEMA rows (dicts) for every image node of every HTML document, in order.

    ``stats``: in = out = image rows; counters ``scored``, ``skipped:<reason>``,
    ``candidates`` (texts scored), ``placement_unmatched`` and the candidate counters.
    """
    if config.batch_size < 1:
        raise ValueError(f"clip.batch_size must be >= 1, not {config.batch_size}")
    state = _State(clip, config, stats)
    max_waiting = 2 * config.batch_size
    for doc in docs:
        if doc.kind != DocumentKind.HTML.value:
            stats.count(f"documents_not_html:{doc.kind}")
            continue
        work = _prepare(doc, state)
        state.waiting.append(work)
        state.queue.extend(work.images)
        while len(state.queue) >= config.batch_size:
            _encode_batch(state)
        if state.queue and len(state.waiting) > max_waiting:
            _encode_batch(state)  # a partial (padded) batch: bounds the documents held
        yield from _finish_ready(state)
    while state.queue:
        _encode_batch(state)
    yield from _finish_ready(state, final=True)


def _prepare(doc: Document, state: _State) -> _Doc:
    """Rows for every image node; decode and preprocess the scorable ones."""
    config, stats = state.config, state.stats
    text_index: dict[int, int] = {}
    texts: list[tuple[int, str]] = []
    for i, node in enumerate(doc.nodes):
        if isinstance(node, TextNode):
            text_index[i] = len(text_index)
            if cleaned := clean_text(node.text, config.max_text_chars):
                texts.append((text_index[i], cleaned))
    rows: list[dict[str, Any]] = []
    images: list[_Image] = []
    image_index = 0
    for i, node in enumerate(doc.nodes):
        if not isinstance(node, ImageNode):
            continue
        row = _empty_row(doc.doc_id, image_index, i, node.url, state.clip.label)
        image_index += 1
        stats.n_in += 1
        rows.append(row)
        if node.image is None or node.status not in (None, "ok"):
            _skip(row, "no_image", stats)
            continue
        image = decode_image(node.image, getattr(config, "max_pixels", MAX_PIXELS))
        pixels = None
        if image is not None:
            try:
                pixels = state.clip.preprocess_image(image)
            except Exception:  # noqa: BLE001 - odd sizes / modes the transform rejects
                pixels = None
        if pixels is None:
            _skip(row, "undecodable_image", stats)
            continue
        cands = candidates(doc, i, config.text_window, config.max_candidates, config.max_text_chars, stats)
        if not cands:
            _skip(row, "no_text", stats)
            continue
        images.append(_Image(row, pixels, cands))
    work = _Doc(rows, images, texts)
    for item in images:
        item.owner = work
    return work


def _empty_row(doc_id: str, image_index: int, node_index: int, url: str | None, model: str) -> dict[str, Any]:
    return {
        "doc_id": doc_id, "image_index": image_index, "node_index": node_index, "url": url,
        "status": "ok", "reason": None, "candidate_sources": None, "candidate_node_indexes": None,
        "candidate_scores": None, "best_source": None, "best_text": None, "best_score": None,
        "matched_text_index": None, "matched_sim": None, "model": model,
    }


def _skip(row: dict[str, Any], reason: str, stats: StageStats) -> None:
    row["status"] = "skipped"
    row["reason"] = reason
    stats.count(f"skipped:{reason}")


def _encode_batch(state: _State) -> None:
    """Encode the first ``batch_size`` queued images (one padded forward pass)."""
    size = state.config.batch_size
    batch, state.queue = state.queue[:size], state.queue[size:]
    embeddings = state.clip.encode_pixels([item.pixels for item in batch], size)
    for item, embedding in zip(batch, embeddings):
        item.embedding = embedding
        item.pixels = None
        item.owner.done += 1


def _encode_texts(state: _State, final: bool) -> None:
    """Encode queued texts in full batches (and the remainder when ``final``)."""
    size = state.config.batch_size
    while len(state.text_queue) >= size or (final and state.text_queue):
        batch, state.text_queue = state.text_queue[:size], state.text_queue[size:]
        for text, embedding in zip(batch, state.clip.encode_texts(batch, size)):
            state.text_embeddings[text] = embedding
            state.queued.discard(text)


def _finish_ready(state: _State, final: bool = False) -> Iterator[dict[str, Any]]:
    """Yield the rows of the leading documents whose images and texts are all encoded."""
    waiting = state.waiting
    # Queue the texts of documents whose images are done (in order: deterministic batches).
    while state.texts_queued_for < len(waiting) and waiting[state.texts_queued_for].ready:
        for text in waiting[state.texts_queued_for].all_texts:
            if text not in state.text_embeddings and text not in state.queued:
                state.queued.add(text)
                state.text_queue.append(text)
        state.texts_queued_for += 1
    _encode_texts(state, final or len(waiting) > 2 * state.config.batch_size)
    yielded = False
    while state.texts_queued_for and all(t in state.text_embeddings for t in waiting[0].all_texts):
        work = waiting.popleft()
        state.texts_queued_for -= 1
        if work.images:
            texts = work.all_texts
            index = {text: i for i, text in enumerate(texts)}
            _score_document(work, index, np.stack([state.text_embeddings[t] for t in texts]), state.stats)
        state.stats.n_out += len(work.rows)
        yielded = True
        yield from work.rows
    if yielded:  # forget embeddings no waiting document needs: memory stays bounded
        needed = {t for work in waiting for t in work.all_texts}
        state.text_embeddings = {t: e for t, e in state.text_embeddings.items() if t in needed}


def _cosine(images: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """float32 cosine similarities, accumulated in float64 so the summation order of the
    matrix product (which BLAS picks by shape) cannot change a float32 result."""
    return (images.astype(np.float64) @ texts.astype(np.float64).T).astype(np.float32)


def _score_document(work: _Doc, index: dict[str, int], embeddings: np.ndarray, stats: StageStats) -> None:
    # The document's own distinct texts in first-appearance order, so its matrix is the same
    # whatever other documents were encoded with it.
    column: dict[str, int] = {}
    for text in [c.text for item in work.images for c in item.cands] + [text for _, text in work.texts]:
        column.setdefault(text, len(column))
    sim = _cosine(np.stack([item.embedding for item in work.images]), embeddings[[index[t] for t in column]])
    for r, item in enumerate(work.images):
        scores = [float(sim[r, column[c.text]]) for c in item.cands]
        best = int(np.argmax(np.asarray(scores, dtype=np.float32)))
        item.row.update(
            candidate_sources=[c.source for c in item.cands],
            candidate_node_indexes=[c.node_index for c in item.cands],
            candidate_scores=scores,
            best_source=item.cands[best].source,
            best_text=item.cands[best].text,
            best_score=scores[best],
        )
        stats.count("scored")
        stats.count("candidates", len(scores))
    if work.texts:
        placement = sim[:, [column[text] for _, text in work.texts]]
        matched, values = assign(placement)
    else:
        matched, values = [None] * len(work.images), [None] * len(work.images)
    for item, m, v in zip(work.images, matched, values):
        item.row["matched_text_index"] = work.texts[m][0] if m is not None else None
        item.row["matched_sim"] = v
        if m is None:
            stats.count("placement_unmatched")
