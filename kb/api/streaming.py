"""Server-Sent Events for a streamed ask: `status`, then `answer` (the full answer JSON), then `done`.

The extractive answer is composed in one step, so there are no token events; a generative
backend that streams tokens can add `token` events between `status` and `answer`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

from anyio import to_thread

from kb.api.errors import error_body
from kb.errors import KBError


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


async def ask_events(run: Callable[[], dict]) -> AsyncIterator[str]:
    yield sse("status", {"stage": "retrieving", "message": "Searching the library"})
    try:
        payload = await to_thread.run_sync(run)
    except KBError as exc:
        yield sse("error", error_body("bad_request", str(exc)))
        return
    except Exception:  # the status line is already sent: report in-band
        yield sse("error", error_body("internal", "Internal error; the server log has the details."))
        return
    yield sse("status", {"stage": "answered", "answerable": payload["answerable"]})
    yield sse("answer", payload)
    yield sse("done", {})
