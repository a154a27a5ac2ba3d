"""Request body limits per route: 413 from the Content-Length header, or while reading.

A declared ``Content-Length`` over the route's limit is answered before a byte of the body is
read; a body without one (chunked upload) or lying about its size is counted as it streams
in, and the read fails with 413 as soon as it passes the limit, so an oversized upload never
fills memory or the multipart parser's spool files. Errors are JSON ``{"detail": ...}`` like
every other error of the API.
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _too_large(limit: int, path: str, size: int | None = None) -> str:
    got = f"request body of {size} bytes" if size is not None else "request body"
    return f"{got} exceeds the limit of {limit} bytes for {path}"


class BodyLimitMiddleware:
    """``limits``: path → max body bytes; other paths get ``default``."""

    def __init__(self, app: ASGIApp, limits: dict[str, int], default: int) -> None:
        self.app = app
        self.limits = limits
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limits.get(path, self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(send, _too_large(limit, path, declared))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the body read: FastAPI passes HTTPExceptions from there
                    # through to its handler, which answers {"detail": ...} with 413.
                    raise HTTPException(413, _too_large(limit, path))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
