"""Limits on request size (413) and on request rate (429).

>>> limiter = RateLimiter(per_minute=2)
>>> [limiter.check("key", now=0.0) for _ in range(3)]
[None, None, 30.0]
>>> limiter.check("key", now=30.0)
"""

from __future__ import annotations

import json
import math
import threading

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb.api.errors import error_body


class RateLimiter:
    """A token bucket per caller: `per_minute` requests, refilled evenly over the minute.

    `check` spends one token and returns None, or the seconds to wait when the bucket is empty.
    """

    def __init__(self, per_minute: int) -> None:
        if per_minute < 1:
            raise ValueError("api_rate_limit must be at least 1 request per minute")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def check(self, key: str, now: float) -> float | None:
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return round((1.0 - tokens) / self.rate, 1)
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 10_000:  # forget idle callers
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            return None


class _TooLarge(StarletteHTTPException):
    """Raised while reading an oversized body; FastAPI passes HTTP exceptions through as 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large_message(max_bytes))


def too_large_message(max_bytes: int) -> str:
    return f"The request body is over the {math.ceil(max_bytes / 1024)} KB limit (setting api_max_body_kb)."


class BodySizeLimit:
    """ASGI middleware: answer 413 when a request body is over `max_bytes`.

    It trusts neither the client nor Content-Length alone: the streamed body is counted too,
    so a chunked upload is cut off at the limit, before any handler acts on it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(error_body("too_large", too_large_message(self.max_bytes))).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
