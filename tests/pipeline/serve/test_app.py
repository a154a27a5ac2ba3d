"""The HTTP API over real sockets (uvicorn in a thread, httpx): shapes, results, errors, batching."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
import numpy as np
import pytest
from PIL import Image
from serve_helpers import BATCH, MAX_IMAGE_BYTES, drawing, run_in_thread, shard_images

from pipeline.serve.api import MAX_TEXTS
from pipeline.serve.app import ServeSettings, ServeState
from pipeline.serve.images import decode_image
from pipeline.serve.loading import ModelSource, load_model

ENDPOINTS = {("/health", "get"), ("/embed/text", "post"), ("/embed/image", "post"), ("/score", "post"),
             ("/caption", "post"), ("/search", "post")}


def _png(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def _detail(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"], body
    return body["detail"]


# -- shapes and results -----------------------------------------------------------------------
def test_health(client):
    h = client.get("/health").json()
    assert (h["status"], h["model"], h["device"], h["embed_dim"]) == ("ok", "interleaf-coca-tiny@epoch_1.pt", "cpu", 64)
    assert h["can_caption"] is True and h["random_weights"] is False
    assert h["index_size"] == 12 and h["index"]["source"] == "pairs"
    assert set(h["batchers"]) == {"text", "image", "caption"} and h["batchers"]["text"]["max_batch"] == BATCH


def test_embeddings_equal_the_models_own(client, coca):
    texts = ["a red circle", "一个绿色的方块", "x" * 500]  # the last one is truncated by the tokenizer
    r = client.post("/embed/text", json={"texts": texts})
    assert r.status_code == 200
    body = r.json()
    assert (body["model"], body["dim"]) == ("interleaf-coca-tiny@epoch_1.pt", 64)
    got = np.array(body["embeddings"], dtype=np.float32)
    assert got.shape == (3, 64)
    # Bit-identical: float32 survives JSON, and padded passes make batch neighbours irrelevant.
    assert np.array_equal(got, coca.encode_texts(texts, BATCH))

    images = [drawing("red", "circle"), _png(Image.new("RGB", (30, 70), "blue"))]
    r = client.post("/embed/image", files=[("file", ("a.jpg", images[0], "image/jpeg")),
                                           ("file", ("b.png", images[1], "image/png"))])
    assert r.status_code == 200, r.text
    got = np.array(r.json()["embeddings"], dtype=np.float32)
    assert got.shape == (2, 64)
    assert np.array_equal(got, coca.encode_images([decode_image(b) for b in images], BATCH))
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)


def test_score(client, coca):
    texts = ["a red circle", "a blue square", "a yellow circle"]
    r = client.post("/score", files={"file": ("a.jpg", drawing("red", "circle"), "image/jpeg")},
                    data={"texts": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = coca.encode_texts(texts, BATCH) @ coca.encode_images([decode_image(drawing("red", "circle"))], BATCH)[0]
    np.testing.assert_allclose(body["scores"], expected, atol=1e-6)
    best = int(np.argmax(expected))
    assert body["best"] == {"index": best, "text": texts[best], "score": pytest.approx(float(expected[best]), abs=1e-6)}


def test_caption_is_the_decoders(client, coca):
    image = drawing("green", "square")
    r = client.post("/caption", files={"file": ("g.jpg", image, "image/jpeg")})
    assert r.status_code == 200, r.text
    caption = r.json()["caption"]
    assert isinstance(caption, str)
    pixels = [coca.preprocess_image(decode_image(image))]
    assert caption == coca.caption_pixels(pixels, batch_size=2)[0]  # the server's --caption-batch


def test_search_finds_the_indexed_item_itself(client, indexed):
    jpgs = shard_images(indexed / "shards" / "pairs")
    for member in ("doc03_0000.jpg", "doc10_0000.jpg"):
        r = client.post("/search", files={"file": (member, jpgs[member], "image/jpeg")}, data={"k": "5"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["query"], body["target"], body["k"], len(body["results"])) == ("image", "images", 5, 5)
        first = body["results"][0]
        assert first["member"] == member and first["score"] == pytest.approx(1, abs=1e-5)
        scores = [hit["score"] for hit in body["results"]]
        assert scores == sorted(scores, reverse=True)
        assert set(first) == {"row", "score", "key", "shard", "member", "url", "text", "doc_url"}

    # Text query against the index's texts: the item whose text it is comes first.
    r = client.post("/search", data={"text": "a purple square", "k": "3", "target": "texts"})
    body = r.json()
    assert (body["query"], body["target"], len(body["results"])) == ("text", "texts", 3)
    assert body["results"][0]["text"] == "a purple square"
    assert body["results"][0]["score"] == pytest.approx(1, abs=1e-5)
    # Text → images (the default target); k beyond the index size returns every item.
    r = client.post("/search", data={"text": "a purple square", "k": "1000"})
    assert r.status_code == 200 and len(r.json()["results"]) == 12


def test_openapi_lists_every_endpoint_with_models(client):
    spec = client.get("/openapi.json").json()
    listed = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert listed == ENDPOINTS
    schemas = spec["components"]["schemas"]
    for name in ("EmbedTextRequest", "EmbeddingsResponse", "ScoreResponse", "CaptionResponse", "SearchResponse",
                 "SearchHit", "HealthResponse", "ErrorResponse"):
        assert name in schemas, name
    assert schemas["EmbedTextRequest"]["additionalProperties"] is False
    for path, method in ENDPOINTS:
        ok = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["$ref"].startswith("#/components/schemas/"), path
        if method == "post":
            assert spec["paths"][path][method]["responses"]["422"]["content"]["application/json"]["schema"] == \
                {"$ref": "#/components/schemas/ErrorResponse"}
    multipart = spec["paths"]["/embed/image"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in multipart


# -- bad requests -----------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "status", "message"), [
    ({"texts": []}, 422, "at least 1 item"),
    ({"texts": [""]}, 422, "texts.0"),
    ({"texts": ["fine", "   "]}, 422, "texts.1: Value error, text is empty"),
    ({"texts": ["a"] * (MAX_TEXTS + 1)}, 422, f"at most {MAX_TEXTS} items"),
    ({"texts": ["a"], "normalize": False}, 422, "normalize: Extra inputs are not permitted"),
    ({"text": "a"}, 422, "texts: Field required"),
    ({"texts": "a red circle"}, 422, "texts: Input should be a valid list"),
])
def test_bad_text_requests(client, body, status, message):
    r = client.post("/embed/text", json=body)
    assert r.status_code == status
    assert message in _detail(r)


def test_bad_json(client):
    r = client.post("/embed/text", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON decode error" in _detail(r)


def test_oversized_uploads_are_413(client):
    big = np.random.default_rng(0).integers(0, 256, MAX_IMAGE_BYTES + 1000, dtype=np.uint8).tobytes()
    # Over the route's body limit: refused from the Content-Length header, before reading.
    r = client.post("/caption", files={"file": ("big.png", big + big, "image/png")})
    assert r.status_code == 413 and "exceeds the limit" in _detail(r)
    # Within the body limit of /embed/image (4 files) but over --max-image-bytes for one file.
    r = client.post("/embed/image", files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413 and "max-image-bytes" in _detail(r)
    # Too many files.
    small = drawing("red", "circle")
    r = client.post("/embed/image", files=[("file", (f"{i}.jpg", small, "image/jpeg")) for i in range(5)])
    assert r.status_code == 413 and "at most 4" in _detail(r)


def test_oversized_streamed_body_is_413_while_reading(client):
    # Chunked transfer: no Content-Length, so the limit is enforced as the bytes arrive.
    def chunks():
        yield b'{"texts": ["'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"]}'

    r = client.post("/embed/text", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "request body exceeds the limit of 1048576 bytes" in _detail(r)


def test_bad_images(client):
    r = client.post("/embed/image", files={"file": ("notes.txt", b"just some text\n", "text/plain")})
    assert r.status_code == 415 and "expected an image" in _detail(r)
    r = client.post("/embed/image", files={"file": ("x.png", b"just some text\n", "image/png")})
    assert r.status_code == 422 and "not a decodable image" in _detail(r)
    r = client.post("/embed/image", files={"file": ("x.jpg", drawing("red", "circle")[:200], "image/jpeg")})
    assert r.status_code == 422 and "corrupt image" in _detail(r)
    bomb = _png(Image.new("1", (8000, 8000)))  # tiny file, 64 Mpixels
    r = client.post("/score", files={"file": ("bomb.png", bomb, "image/png")}, data={"texts": ["a"]})
    assert r.status_code == 422 and "8000x8000 pixels exceeds the limit" in _detail(r)
    r = client.post("/embed/image", json={"file": "a.jpg"})  # JSON where an upload is expected
    assert r.status_code == 422 and "file: Field required" in _detail(r)


def test_bad_form_requests(client):
    image = ("a.jpg", drawing("red", "circle"), "image/jpeg")
    r = client.post("/embed/image", files={"file": image}, data={"normalize": "no"})
    assert r.status_code == 422 and "unknown form field(s) normalize" in _detail(r)
    r = client.post("/score", files={"file": image})
    assert r.status_code == 422 and "texts: Field required" in _detail(r)
    r = client.post("/score", files={"file": image}, data={"texts": ["ok", " "]})
    assert r.status_code == 422 and "texts.1: text is empty" in _detail(r)
    for k in ("0", "1001", "ten"):
        r = client.post("/search", data={"text": "a red circle", "k": k})
        assert r.status_code == 422 and _detail(r).startswith("k: "), k
    r = client.post("/search", data={"text": "a", "target": "documents"})
    assert r.status_code == 422 and "target" in _detail(r)
    r = client.post("/search", data={"k": "3"})
    assert r.status_code == 422 and "exactly one query" in _detail(r)
    r = client.post("/search", files={"file": image}, data={"text": "a red circle"})
    assert r.status_code == 422 and "exactly one query" in _detail(r)
    r = client.post("/search", data={"text": " "})
    assert r.status_code == 422 and "text is empty" in _detail(r)
    assert client.get("/embed/text").status_code == 405
    r = client.get("/nowhere")
    assert r.status_code == 404 and _detail(r) == "Not Found"


def test_clip_only_model_without_index(tmp_path):
    """A CLIP model (no text decoder) and no index: /caption and /search say why they can't."""
    clip = load_model(ModelSource("interleaf-tiny", random_weights=True))
    running = run_in_thread(ServeState(clip, ServeSettings(max_batch=4), None, random_weights=True))
    server = next(running)
    try:
        h = httpx.get(server.url + "/health").json()
        assert (h["can_caption"], h["random_weights"], h["index"], h["index_size"]) == (False, True, None, 0)
        assert set(h["batchers"]) == {"text", "image"}
        r = httpx.post(server.url + "/caption", files={"file": ("a.jpg", drawing("red", "circle"), "image/jpeg")})
        assert r.status_code == 501 and "cannot caption" in _detail(r)
        r = httpx.post(server.url + "/search", data={"text": "a red circle"})
        assert r.status_code == 501 and "--index" in _detail(r)
        r = httpx.post(server.url + "/embed/text", json={"texts": ["a"]})
        assert r.status_code == 200 and len(r.json()["embeddings"][0]) == clip.embed_dim
    finally:
        running.close()


# -- concurrency --------------------------------------------------------------------------------
def test_100_concurrent_requests_are_batched_and_correct(client, server, coca, capsys):
    texts = [f"a drawing number {i} of a {'red' if i % 2 else 'blue'} shape" for i in range(100)]
    images = [_png(Image.new("RGB", (40 + i, 50), (i * 2, 100, 200 - i))) for i in range(100)]
    before = client.get("/health").json()["batchers"]

    async def run() -> tuple[list[httpx.Response], float, list[httpx.Response], float]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as ac:
            start = time.perf_counter()
            text_rs = await asyncio.gather(*(ac.post("/embed/text", json={"texts": [t]}) for t in texts))
            text_s = time.perf_counter() - start
            start = time.perf_counter()
            image_rs = await asyncio.gather(*(ac.post("/embed/image", files={"file": (f"{i}.png", b, "image/png")})
                                              for i, b in enumerate(images)))
            return text_rs, text_s, image_rs, time.perf_counter() - start

    text_rs, text_s, image_rs, image_s = asyncio.run(run())
    assert [r.status_code for r in text_rs + image_rs] == [200] * 200
    got = np.array([r.json()["embeddings"][0] for r in text_rs], dtype=np.float32)
    assert np.array_equal(got, coca.encode_texts(texts, BATCH))  # each request got its own result
    got = np.array([r.json()["embeddings"][0] for r in image_rs], dtype=np.float32)
    assert np.array_equal(got, coca.encode_images([decode_image(b) for b in images], BATCH))

    after = client.get("/health").json()["batchers"]
    for kind in ("text", "image"):
        a, b = after[kind], before[kind]
        assert a["requests"] - b["requests"] == 100
        assert a["batches"] - b["batches"] < 100  # fewer model calls than requests
        assert a["largest_batch_requests"] > 1
        assert a["largest_batch"] <= BATCH  # one item per request: batches close at max_batch
    with capsys.disabled():
        print(f"\n100 concurrent text embeds: {text_s:.2f}s ({100 / text_s:.0f} req/s), "
              f"{after['text']['batches'] - before['text']['batches']} batches; "
              f"100 concurrent image embeds: {image_s:.2f}s ({100 / image_s:.0f} req/s), "
              f"{after['image']['batches'] - before['image']['batches']} batches; "
              f"largest: text {after['text']['largest_batch']}, image {after['image']['largest_batch']}")
