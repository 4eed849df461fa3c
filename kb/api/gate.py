"""The gate every request passes: who is calling (API key), then the rate limit.

Used by the REST routes (as a FastAPI dependency) and by the MCP endpoint (as ASGI middleware),
so both follow one set of rules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from kb.api.auth import ANONYMOUS, CALLER_STATE, LOCAL, ApiKeys, Caller
from kb.api.errors import ApiError, error_body
from kb.api.limits import RateLimiter


def presented_key(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return (headers.get("x-api-key") or "").strip() or None


def identify(keys: ApiKeys, limiter: RateLimiter, headers: Mapping[str, str], client: str) -> Caller:
    """The caller, or ApiError 401 (no or wrong key) / 429 (over the rate limit)."""
    now = time.monotonic()
    if keys.local_mode:
        caller, bucket = LOCAL, f"ip:{client}"
    else:
        key = presented_key(headers)
        caller = keys.authenticate(key) if key else None
        if caller is None and key is None and keys.allow_anonymous:
            caller = ANONYMOUS
        bucket = f"key:{caller.name}" if caller is not None and caller.via == "key" else f"ip:{client}"
        if caller is None:
            _limit(limiter, bucket, now)  # failed tries count too, which slows guessing
            if key is None:
                raise ApiError(401, "This API needs a key: send `Authorization: Bearer <key>` or `X-API-Key`.",
                               headers={"WWW-Authenticate": "Bearer"})
            raise ApiError(401, "The API key is not valid. Ask an administrator for a key.", "invalid_key",
                           headers={"WWW-Authenticate": "Bearer"})
    _limit(limiter, bucket, now)
    return caller


def _limit(limiter: RateLimiter, bucket: str, now: float) -> None:
    wait = limiter.check(bucket, now)
    if wait is not None:
        raise ApiError(429, f"Too many requests; try again in {wait:g} s (setting api_rate_limit).",
                       headers={"Retry-After": str(max(1, round(wait)))})


# Declared for the OpenAPI docs (the "Authorize" button in /docs); `identify` reads the headers itself.
_BEARER = HTTPBearer(auto_error=False, description="An API key from `kb auth hash-key`, as a bearer token.")
_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same API key, as a header.")


def current_caller(request: Request, _bearer=Depends(_BEARER), _header=Depends(_HEADER)) -> Caller:
    """FastAPI dependency for the /v1 routes."""
    state = request.app.state
    client = request.client.host if request.client else "unknown"
    return identify(state.keys, state.limiter, request.headers, client)


def require(caller: Caller, action: str) -> None:
    if not caller.may(action):
        raise ApiError(403, f"A {caller.role} key may not do this ({action}). Ask an administrator for a key "
                            "with a role that may.")


class McpGate:
    """ASGI wrapper for the MCP endpoint: same keys and limits; the caller rides in the scope state."""

    def __init__(self, app: ASGIApp, keys: ApiKeys, limiter: RateLimiter) -> None:
        self.app, self.keys, self.limiter = app, keys, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
            client = (scope.get("client") or ("unknown", 0))[0]
            try:
                caller = identify(self.keys, self.limiter, headers, client)
            except ApiError as exc:
                body = json.dumps(error_body(exc.code, exc.message)).encode()
                extra = [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
                await send({"type": "http.response.start", "status": exc.status,
                            "headers": [(b"content-type", b"application/json"), *extra]})
                await send({"type": "http.response.body", "body": body})
                return
            scope.setdefault("state", {})[CALLER_STATE] = caller
        await self.app(scope, receive, send)
