"""The REST API (FastAPI) and the HTTP home of the MCP server: `create_app(kb_or_settings)`.

Modules: `app` (factory), `routes` (/v1 endpoints), `schemas` (request bodies), `auth`
(keys, callers, roles), `gate` (key check + rate limit), `limits` (body size, rate),
`errors` (JSON errors), `streaming` (SSE ask).
"""

from __future__ import annotations


def create_app(kb_or_settings, **kwargs):
    from kb.api.app import create_app as factory

    return factory(kb_or_settings, **kwargs)
