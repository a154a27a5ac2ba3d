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

Caption and filter (``clip.capfilt``, BLIP's CapFilt; needs a CoCa model): once a document is
scored, its images whose best web text scores below ``capfilt.threshold``, and its decodable
images with no candidate text at all (rows still ``skipped`` / ``no_text``), keep their
preprocessed pixels (nothing is decoded twice) and queue for ``LoadedClip.caption_pixels``,
``capfilt.batch_size`` images per pass across documents (padded, as above). Each caption is
encoded like a candidate text and scored against its image's embedding:
``synthetic_caption`` / ``synthetic_caption_score``. No web-text field (candidates, best text
and score, placement) changes, and an image's placement never involves captions. A
document's rows are yielded when its captions are done. Counters, per image row:
``capfilt:below_threshold`` / ``capfilt:no_text`` (captioned, by why) and
``capfilt:above_threshold`` / ``capfilt:no_image`` / ``capfilt:undecodable_image`` (not),
which add up to the rows; of the captioned, ``capfilt:captioned`` (a non-empty caption) or
``capfilt:empty_caption`` (the decoder produced no text: stored as null), and
``capfilt:synthetic_better`` when the caption outscores the best web text.
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
from pipeline.config import CapfiltConfig, ClipConfig
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
    pixels: Any  # preprocessed tensor; dropped once encoded (with capfilt: once captioned or not needed)
    cands: list[Candidate]  # empty: no candidate text (encoded only to score a caption)
    owner: _Doc | None = None
    embedding: np.ndarray | None = None


@dataclass
class _Doc:
    rows: list[dict[str, Any]]
    images: list[_Image]
    texts: list[tuple[int, str]]  # (index in doc.text_nodes, cleaned text) of non-empty text nodes
    done: int = 0  # images encoded so far (they are encoded in order)
    captions: int = 0  # captions queued and not generated yet (capfilt)

    @property
    def ready(self) -> bool:
        return self.done == len(self.images)

    @cached_property
    def scored(self) -> list[_Image]:
        """The images with candidate texts: scored and placed (the others only get captions)."""
        return [item for item in self.images if item.cands]

    @cached_property
    def all_texts(self) -> list[str]:
        """Distinct texts to embed: candidates and (for placement) text nodes; none without
        scored images."""
        if not self.scored:
            return []
        return list(dict.fromkeys([c.text for item in self.scored for c in item.cands]
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
    # Caption and filter (None when clip.capfilt is off).
    capfilt: CapfiltConfig | None = None
    captioning: deque = field(default_factory=deque)  # scored _Doc waiting for captions, in order
    caption_queue: list = field(default_factory=list)  # _Image to caption, in input order

    @property
    def caption_batch(self) -> int:
        return (self.capfilt.batch_size if self.capfilt is not None else None) or self.config.batch_size


def score_documents(clip: LoadedClip, docs: Iterable[Document], config: ClipConfig,
                    stats: StageStats) -> Iterator[dict[str, Any]]:
    """SCORES_SCHEMA rows (dicts) for every image node of every HTML document, in order.

    ``stats``: in = out = image rows; counters ``scored``, ``skipped:<reason>``,
    ``candidates`` (texts scored), ``placement_unmatched``, the candidate counters and, with
    ``config.capfilt.enabled``, the ``capfilt:*`` counters (module docstring).
    """
    if config.batch_size < 1:
        raise ValueError(f"clip.batch_size must be >= 1, not {config.batch_size}")
    capfilt = getattr(config, "capfilt", None)
    capfilt = capfilt if capfilt is not None and capfilt.enabled else None
    if capfilt is not None and not clip.can_caption:
        raise ValueError(f"clip.capfilt.enabled needs a model that can caption, and {clip.spec.model!r} "
                         "cannot (no text decoder): use a CoCa model, e.g. interleaf-coca-tiny, or set "
                         "clip.capfilt.enabled=false")
    state = _State(clip, config, stats, capfilt=capfilt)
    if state.caption_batch < 1:
        raise ValueError(f"clip.capfilt.batch_size must be >= 1, not {state.caption_batch}")
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
    while state.caption_queue:
        _caption_batch(state)
    yield from _captioned(state)


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
            _capfilt_count(state, "no_image")
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
            _capfilt_count(state, "undecodable_image")
            continue
        cands = candidates(doc, i, config.text_window, config.max_candidates, config.max_text_chars, stats)
        if not cands:
            _skip(row, "no_text", stats)
            if state.capfilt is None:
                continue
        images.append(_Image(row, pixels, cands))  # with capfilt, no_text images too: captioned
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
        "synthetic_caption": None, "synthetic_caption_score": None,
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
        if state.capfilt is None:
            item.pixels = None  # with capfilt, kept until the scores say whether to caption
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
        if work.scored:
            texts = work.all_texts
            index = {text: i for i, text in enumerate(texts)}
            _score_document(work, index, np.stack([state.text_embeddings[t] for t in texts]), state.stats)
        yielded = True
        if state.capfilt is None:
            state.stats.n_out += len(work.rows)
            yield from work.rows
        else:
            yield from _queue_captions(work, state)
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
    for text in [c.text for item in work.scored for c in item.cands] + [text for _, text in work.texts]:
        column.setdefault(text, len(column))
    sim = _cosine(np.stack([item.embedding for item in work.scored]), embeddings[[index[t] for t in column]])
    for r, item in enumerate(work.scored):
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
        matched, values = [None] * len(work.scored), [None] * len(work.scored)
    for item, m, v in zip(work.scored, matched, values):
        item.row["matched_text_index"] = work.texts[m][0] if m is not None else None
        item.row["matched_sim"] = v
        if m is None:
            stats.count("placement_unmatched")


# -- caption and filter (clip.capfilt) -------------------------------------------------------------
def _capfilt_count(state: _State, reason: str) -> None:
    if state.capfilt is not None:
        state.stats.count(f"capfilt:{reason}")


def _queue_captions(work: _Doc, state: _State) -> Iterator[dict[str, Any]]:
    """A scored document: queue its images that need a caption, run the full caption batches,
    yield the rows of the leading documents whose captions are all done."""
    threshold = state.capfilt.threshold
    for item in work.images:
        if not item.cands:
            reason = "no_text"
        elif item.row["best_score"] < threshold:
            reason = "below_threshold"
        else:
            reason = "above_threshold"
        _capfilt_count(state, reason)
        if reason == "above_threshold":
            item.pixels = None
        else:
            state.caption_queue.append(item)
            work.captions += 1
    state.captioning.append(work)
    while len(state.caption_queue) >= state.caption_batch:
        _caption_batch(state)
    if state.caption_queue and len(state.captioning) > 2 * state.config.batch_size:
        _caption_batch(state)  # a partial (padded) batch: bounds the documents held
    yield from _captioned(state)


def _caption_batch(state: _State) -> None:
    """Caption the first ``caption_batch`` queued images (one padded generate pass) and
    score each caption against its image, as a candidate text is scored."""
    size, capfilt, stats = state.caption_batch, state.capfilt, state.stats
    batch, state.caption_queue = state.caption_queue[:size], state.caption_queue[size:]
    captions = state.clip.caption_pixels([item.pixels for item in batch], size, capfilt.max_tokens,
                                         capfilt.generation)
    texts = list(dict.fromkeys(c for c in captions if c))
    embeddings = dict(zip(texts, state.clip.encode_texts(texts, state.config.batch_size))) if texts else {}
    for item, caption in zip(batch, captions):
        item.pixels = None
        item.owner.captions -= 1
        if not caption:
            stats.count("capfilt:empty_caption")
            continue
        score = float(_cosine(item.embedding[None, :], embeddings[caption][None, :])[0, 0])
        item.row["synthetic_caption"], item.row["synthetic_caption_score"] = caption, score
        stats.count("capfilt:captioned")
        best = item.row["best_score"]
        if best is None or np.float32(score) > np.float32(best):
            stats.count("capfilt:synthetic_better")


def _captioned(state: _State) -> Iterator[dict[str, Any]]:
    while state.captioning and state.captioning[0].captions == 0:
        work = state.captioning.popleft()
        state.stats.n_out += len(work.rows)
        yield from work.rows
