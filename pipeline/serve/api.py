"""Request and response bodies of the HTTP API (pydantic): they are the OpenAPI spec's schemas.

JSON requests forbid unknown fields (``extra="forbid"``): a misspelt field is a 422, not a
silently ignored option.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_TEXTS = 256  # texts per request (JSON embed and score)
MAX_TEXT_CHARS = 4096  # far beyond any context length; bounds tokenizer work per request


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("text is empty or only whitespace")
    return text


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(_not_blank)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbedTextRequest(Strict):
    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS, description="texts to embed",
                              examples=[["a red circle", "a blue square"]])


class EmbeddingsResponse(Strict):
    model: str = Field(description="model label: name, plus @checkpoint file name")
    dim: int
    embeddings: list[list[float]] = Field(description="one L2-normalised vector per input, in input order")


class Best(Strict):
    index: int
    text: str
    score: float


class ScoreResponse(Strict):
    model: str
    scores: list[float] = Field(description="cosine similarity of the image with each text, in input order")
    best: Best


class CaptionResponse(Strict):
    model: str
    caption: str


class SearchHit(Strict):
    row: int = Field(description="row of the index (its embedding files and items.parquet)")
    score: float = Field(description="cosine similarity with the query")
    key: str
    shard: str
    member: str
    url: str | None = Field(description="image URL")
    text: str | None
    doc_url: str | None


class SearchResponse(Strict):
    model: str
    query: Literal["text", "image"]
    target: Literal["images", "texts"]
    k: int
    results: list[SearchHit] = Field(description="best first")


class BatcherHealth(Strict):
    max_batch: int
    wait_ms: float
    batches: int = Field(description="model calls so far")
    requests: int
    items: int
    largest_batch: int = Field(description="most items in one model call")
    largest_batch_requests: int = Field(description="most requests served by one model call")
    busy_seconds: float


class IndexHealth(Strict):
    path: str
    items: int
    source: str | None


class HealthResponse(Strict):
    status: Literal["ok"]
    model: str
    device: str
    embed_dim: int
    can_caption: bool
    random_weights: bool
    index: IndexHealth | None
    index_size: int
    batchers: dict[str, BatcherHealth]


class ErrorResponse(BaseModel):
    detail: str


ERROR_RESPONSES = {code: {"model": ErrorResponse, "description": text} for code, text in (
    (413, "request body, an image or a list too large"),
    (415, "an upload that is not an image"),
    (422, "invalid request: empty or missing text, unknown field, undecodable image, k out of range"),
)}
