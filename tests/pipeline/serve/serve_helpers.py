"""Helpers of the serve tests (a module of its own: ``conftest`` is not importable by name)."""

from __future__ import annotations

import io
import socket
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from PIL import Image, ImageDraw

from pipeline.serve.app import ServeState, create_app

COCA = "interleaf-coca-tiny"
BATCH = 16  # index --batch-size = serve --max-batch: query embeddings bit-identical to index rows
COLORS = {"red": (220, 30, 30), "green": (30, 170, 40), "blue": (30, 40, 220), "yellow": (230, 210, 20),
          "purple": (140, 40, 160), "orange": (240, 140, 20)}
SHAPES = ("circle", "square")
MAX_IMAGE_BYTES = 200_000  # small, so oversized uploads are cheap to build


def drawing(color: str, shape: str, fmt: str = "JPEG", size: tuple[int, int] = (96, 80)) -> bytes:
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    (draw.ellipse if shape == "circle" else draw.rectangle)((8, 8, size[0] - 12, size[1] - 10), fill=COLORS[color])
    out = io.BytesIO()
    im.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 90.0, proc: object = None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:  # type: ignore[attr-defined]
            raise RuntimeError(f"server exited with {proc.returncode}")  # type: ignore[attr-defined]
        try:
            r = httpx.get(url + "/health", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


def shard_images(folder: Path) -> dict[str, bytes]:
    """Tar member name → bytes of every jpg in a shard folder."""
    images = {}
    for tar_path in sorted(folder.glob("shard-*.tar")):
        with tarfile.open(tar_path) as tar:
            for m in tar.getmembers():
                if m.name.endswith(".jpg"):
                    images[m.name] = tar.extractfile(m).read()
    return images


@dataclass
class Running:
    url: str
    state: ServeState


def run_in_thread(state: ServeState) -> Iterator[Running]:
    """uvicorn.Server on 127.0.0.1:<free port> in a background thread, until the generator closes."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=30)
        yield Running(url, state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
