"""The HTTP server: REST API under /v1, MCP (streamable HTTP) at /mcp, health at /healthz and /readyz.

One process hosts both, because in the embedded default one process owns the Qdrant Edge
shard: the REST routes and the MCP tools share one KnowledgeBase.

>>> # app = create_app(load_settings())      # or create_app(kb) for an open KnowledgeBase
>>> # uvicorn.run(app, host="127.0.0.1", port=8502)
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from starlette.routing import Route

from kb.api.auth import load_api_keys
from kb.api.errors import error_response, install_error_handlers
from kb.api.gate import McpGate
from kb.api.limits import BodySizeLimit, RateLimiter
from kb.api.routes import router
from kb.settings import Settings

DESCRIPTION = """Ask-A-Question for NHS occupational health, over HTTP.

Send an API key as `Authorization: Bearer <key>` (or `X-API-Key`) unless the server runs in
local mode (no keys configured, loopback only). Errors are `{"error": {"code", "message"}}`.
The MCP endpoint (streamable HTTP) is `/mcp`, with the same keys."""


def create_app(kb_or_settings, *, mcp: bool = True, host: str | None = None) -> FastAPI:
    """The FastAPI app for a KnowledgeBase (kept open) or Settings (opened here, closed on shutdown)."""
    from kb.service import KnowledgeBase

    owns = isinstance(kb_or_settings, Settings)
    kb = KnowledgeBase.open(kb_or_settings) if owns else kb_or_settings
    settings = kb.settings
    keys = load_api_keys(settings)
    limiter = RateLimiter(settings.api_rate_limit)
    mcp_server = None
    if mcp:
        from kb.mcp_server import build_mcp_server

        mcp_server = build_mcp_server(kb)
        mcp_asgi = mcp_server.streamable_http_app(
            streamable_http_path="/mcp", host=host or settings.api_host,
            max_request_body_size=settings.api_max_body_kb * 1024,
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        try:
            if mcp_server is not None:
                async with mcp_server.session_manager.run():
                    yield
            else:
                yield
        finally:
            if owns:
                kb.close()

    app = FastAPI(title="OH knowledge base API", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", openapi_url="/openapi.json", redoc_url=None)
    app.state.kb, app.state.keys, app.state.limiter = kb, keys, limiter
    install_error_handlers(app)
    app.include_router(router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready"}})
    async def readyz(request: Request):
        """The store, catalog and embedding model answer (loads them on first call)."""
        try:
            stats = await run_in_threadpool(_ready, request.app.state.kb)
        except Exception as exc:  # not ready, whatever the reason: say which
            return error_response(503, f"Not ready: {exc}", "not_ready")
        return {"status": "ready", **stats}

    if mcp_server is not None:
        endpoint = next(r.endpoint for r in mcp_asgi.routes if getattr(r, "path", "") == "/mcp")
        app.router.routes.append(Route("/mcp", McpGate(endpoint, keys, limiter), include_in_schema=False))
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_kb * 1024)
    return app


def _ready(kb) -> dict:
    _ = kb.embedder.dim
    return {"documents": len(kb.catalog.documents()), "chunks": kb.store.count()}
