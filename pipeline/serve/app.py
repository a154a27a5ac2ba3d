"""The HTTP API (FastAPI): embeddings, scores, captions and index search over one loaded model.

Endpoints (the OpenAPI spec is served at ``/openapi.json``, interactive docs at ``/docs``):

- ``GET /health``: model, device, captioning, index size, batch statistics per kind;
- ``POST /embed/text``: JSON ``{"texts": [...]}`` → one L2-normalised vector per text;
- ``POST /embed/image``: multipart ``file`` (repeatable) → one vector per image;
- ``POST /score``: multipart ``file`` + ``texts`` (repeatable) → cosine per text, and the best;
- ``POST /caption``: multipart ``file`` → a generated caption (CoCa models; 501 otherwise);
- ``POST /search``: form ``text`` or ``file``, ``k``, ``target`` (images | texts) → top-k items
  of the index (501 when the server has none).

Work split: request parsing and image decoding + preprocessing run on the event loop and in
worker threads (``asyncio.to_thread``), every forward pass in the one model thread through
the micro-batchers (batcher.py), index search in a worker thread (numpy releases the GIL).
Every error is JSON ``{"detail": "<message>"}``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile as StarletteUpload

from pipeline.clip.model import LoadedClip
from pipeline.serve.api import (
    ERROR_RESPONSES,
    MAX_TEXT_CHARS,
    MAX_TEXTS,
    CaptionResponse,
    EmbeddingsResponse,
    EmbedTextRequest,
    ErrorResponse,
    HealthResponse,
    ScoreResponse,
    SearchResponse,
)
from pipeline.serve.batcher import MicroBatcher, model_executor
from pipeline.serve.images import (
    DEFAULT_MAX_PIXELS,
    ImageRejected,
    check_content_type,
    decode_image,
)
from pipeline.serve.index import MAX_K, Index
from pipeline.serve.limits import BodyLimitMiddleware

log = logging.getLogger(__name__)

JSON_BODY_LIMIT = 1 << 20  # JSON requests: 256 texts of 4096 characters fit with room to spare
FORM_OVERHEAD = 64 << 10  # multipart boundaries, headers and small fields around the images


@dataclass
class ServeSettings:
    max_image_bytes: int = 10 << 20
    max_files: int = 16  # images per /embed/image request
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_batch: int = 64  # items per model call; every pass is padded to it (determinism)
    batch_wait_ms: float = 5.0
    caption_batch: int = 4  # captions per call: beam search costs ~100x an embedding
    caption_max_tokens: int = 30

    def validate(self) -> None:
        for name in ("max_image_bytes", "max_files", "max_pixels", "max_batch", "caption_batch", "caption_max_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, not {getattr(self, name)}")
        if self.batch_wait_ms < 0:
            raise ValueError(f"--batch-wait-ms must be >= 0, not {self.batch_wait_ms}")


@dataclass
class ServeState:
    clip: LoadedClip
    settings: ServeSettings
    index: Index | None = None
    random_weights: bool = False
    batchers: dict[str, MicroBatcher[Any, Any]] = field(default_factory=dict)


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    """pydantic's error list as one line: ``texts.0: Value error, text is empty ...``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "form"))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def _allowed_fields(*names: str) -> Any:
    """A dependency refusing unknown multipart / form fields, as ``extra="forbid"`` does for JSON."""

    async def check(request: Request) -> None:
        if not request.headers.get("content-type", "").startswith(("multipart/form-data",
                                                                    "application/x-www-form-urlencoded")):
            return  # FastAPI reports the missing fields itself
        unknown = sorted(set((await request.form()).keys()) - set(names))
        if unknown:
            raise HTTPException(422, f"unknown form field(s) {', '.join(unknown)}; allowed: {', '.join(names)}")

    return Depends(check)


def create_app(state: ServeState) -> FastAPI:
    settings = state.settings
    clip = state.clip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = model_executor()
        wait = settings.batch_wait_ms / 1000
        state.batchers = {
            "text": MicroBatcher("text", lambda texts: list(clip.encode_texts(texts, settings.max_batch)),
                                 executor, settings.max_batch, wait),
            "image": MicroBatcher("image", lambda pixels: list(clip.encode_pixels(pixels, settings.max_batch)),
                                  executor, settings.max_batch, wait),
        }
        if clip.can_caption:
            state.batchers["caption"] = MicroBatcher(
                "caption", lambda pixels: clip.caption_pixels(pixels, settings.caption_batch,
                                                              max_tokens=settings.caption_max_tokens),
                executor, settings.caption_batch, wait)
        for batcher in state.batchers.values():
            batcher.start()
        try:
            yield
        finally:
            for batcher in state.batchers.values():
                await batcher.stop()
            executor.shutdown(wait=True, cancel_futures=True)

    app = FastAPI(title="interleaf serve", version="1", lifespan=lifespan,
                  description="Embeddings, scores, captions and index search over a trained open_clip model.")
    one_image = settings.max_image_bytes + FORM_OVERHEAD
    app.add_middleware(BodyLimitMiddleware, default=JSON_BODY_LIMIT, limits={
        "/embed/image": settings.max_image_bytes * settings.max_files + FORM_OVERHEAD,
        "/score": one_image + MAX_TEXTS * MAX_TEXT_CHARS * 4, "/caption": one_image, "/search": one_image})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(ImageRejected)
    async def image_rejected(request: Request, exc: ImageRejected) -> JSONResponse:
        return _error(exc.status, exc.message)

    # -- helpers ----------------------------------------------------------------------------
    async def pixels_of(files: list[UploadFile]) -> list[Any]:
        """Uploads → preprocessed tensors (size, type and decode checks; decoding off the loop)."""
        if len(files) > settings.max_files:
            raise HTTPException(413, f"{len(files)} files in one request; at most {settings.max_files}")
        datas = []
        for i, f in enumerate(files):
            name = f.filename or f"file {i}"
            if not isinstance(f, StarletteUpload):
                raise HTTPException(422, f"{name}: expected a file upload")
            check_content_type(f.content_type, name)
            if f.size is not None and f.size > settings.max_image_bytes:
                raise HTTPException(413, f"{name}: {f.size} bytes exceeds --max-image-bytes {settings.max_image_bytes}")
            datas.append((name, await f.read()))

        def prepare() -> list[Any]:
            return [clip.preprocess_image(decode_image(data, settings.max_pixels, name)) for name, data in datas]

        return await asyncio.to_thread(prepare)

    def check_texts(texts: list[str]) -> list[str]:
        if not texts:
            raise HTTPException(422, "texts: at least one text is required")
        if len(texts) > MAX_TEXTS:
            raise HTTPException(413, f"texts: {len(texts)} texts; at most {MAX_TEXTS}")
        for i, text in enumerate(texts):
            if not text.strip():
                raise HTTPException(422, f"texts.{i}: text is empty or only whitespace")
            if len(text) > MAX_TEXT_CHARS:
                raise HTTPException(422, f"texts.{i}: {len(text)} characters; at most {MAX_TEXT_CHARS}")
        return texts

    async def embed(kind: str, items: list[Any]) -> np.ndarray:
        return np.stack(await state.batchers[kind].submit(items))

    def embeddings(rows: np.ndarray) -> EmbeddingsResponse:
        return EmbeddingsResponse(model=clip.label, dim=clip.embed_dim, embeddings=rows.tolist())

    # -- routes -----------------------------------------------------------------------------
    @app.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        """Model, device, captioning, index size, and batching statistics per kind."""
        index = state.index
        return HealthResponse(
            status="ok", model=clip.label, device=clip.device, embed_dim=clip.embed_dim,
            can_caption=clip.can_caption, random_weights=state.random_weights,
            index=None if index is None else {"path": str(index.folder), "items": len(index),
                                              "source": index.manifest.get("source")},
            index_size=0 if index is None else len(index),
            batchers={name: b.health() for name, b in state.batchers.items()})

    @app.post("/embed/text", response_model=EmbeddingsResponse, responses=ERROR_RESPONSES)
    async def embed_text(body: EmbedTextRequest) -> EmbeddingsResponse:
        """L2-normalised text embeddings, in input order."""
        return embeddings(await embed("text", body.texts))

    @app.post("/embed/image", response_model=EmbeddingsResponse, responses=ERROR_RESPONSES,
              dependencies=[_allowed_fields("file")])
    async def embed_image(
        file: Annotated[list[UploadFile], File(description="one or more images (repeat the field)")],
    ) -> EmbeddingsResponse:
        """L2-normalised image embeddings, in upload order."""
        return embeddings(await embed("image", await pixels_of(file)))

    @app.post("/score", response_model=ScoreResponse, responses=ERROR_RESPONSES,
              dependencies=[_allowed_fields("file", "texts")])
    async def score(
        file: Annotated[UploadFile, File(description="the image")],
        texts: Annotated[list[str], Form(description="candidate texts (repeat the field)")],
    ) -> ScoreResponse:
        """Cosine similarity of one image with each text, and the best-scoring text."""
        check_texts(texts)
        image, text_rows = await asyncio.gather(embed("image", await pixels_of([file])), embed("text", texts))
        scores = text_rows @ image[0]
        best = int(np.argmax(scores))
        return ScoreResponse(model=clip.label, scores=scores.tolist(),
                             best={"index": best, "text": texts[best], "score": float(scores[best])})

    @app.post("/caption", response_model=CaptionResponse,
              responses={**ERROR_RESPONSES, 501: {"model": ErrorResponse, "description": "the model cannot caption"}},
              dependencies=[_allowed_fields("file")])
    async def caption(file: Annotated[UploadFile, File(description="the image")]) -> CaptionResponse:
        """A caption generated by the model's text decoder (beam search; CoCa models only)."""
        if "caption" not in state.batchers:
            raise HTTPException(501, f"model {clip.spec.model} cannot caption (no text decoder): serve a CoCa model")
        [text] = await state.batchers["caption"].submit(await pixels_of([file]))
        return CaptionResponse(model=clip.label, caption=text)

    @app.post("/search", response_model=SearchResponse,
              responses={**ERROR_RESPONSES, 501: {"model": ErrorResponse, "description": "no index loaded"}},
              dependencies=[_allowed_fields("text", "file", "k", "target")])
    async def search(
        text: Annotated[str | None, Form(description="a text query (or give file)")] = None,
        file: Annotated[UploadFile | None, File(description="an image query (or give text)")] = None,
        k: Annotated[int, Form(ge=1, le=MAX_K, description="results wanted")] = 10,
        target: Annotated[Literal["images", "texts"], Form(description="search the image or the text "
                                                                       "embeddings of the index")] = "images",
    ) -> SearchResponse:
        """The k items of the index most similar to the query (exact search), best first."""
        index = state.index
        if index is None:
            raise HTTPException(501, "no index loaded: start the server with --index DIR (built by interleaf index)")
        if (text is None) == (file is None):
            raise HTTPException(422, "give exactly one query: text or file")
        if text is not None:
            query = (await embed("text", check_texts([text])))[0]
        else:
            query = (await embed("image", await pixels_of([file])))[0]
        hits = await asyncio.to_thread(index.search, query, k, target)
        return SearchResponse(model=clip.label, query="text" if text is not None else "image", target=target,
                              k=k, results=hits)

    return app
