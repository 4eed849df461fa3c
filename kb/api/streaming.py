"""Server-Sent Events for a streamed ask: `status`, `token`s (generative answers whose model
streams), `status`, then `answer` (the full answer JSON, as without streaming) and `done`.

The extractive answer is composed in one step, so it has no token events. Tokens are the
model's raw reply: the `answer` event carries the checked text that counts.
"""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator, Callable

from kb.api.errors import error_body
from kb.errors import KBError


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


async def ask_events(run: Callable[[Callable[[str], None]], dict]) -> AsyncIterator[str]:
    """Run `run(on_token)` in a worker thread, relaying its tokens as they come."""
    yield sse("status", {"stage": "retrieving", "message": "Searching the library"})
    tokens: queue.SimpleQueue[str] = queue.SimpleQueue()
    job = asyncio.get_running_loop().run_in_executor(None, run, tokens.put)
    while True:
        done = job.done()
        while not tokens.empty():
            yield sse("token", {"text": tokens.get()})
        if done:
            break
        await asyncio.wait([job], timeout=0.05)
    try:
        payload = job.result()
    except KBError as exc:
        yield sse("error", error_body("bad_request", str(exc)))
        return
    except Exception:  # the status line is already sent: report in-band
        yield sse("error", error_body("internal", "Internal error; the server log has the details."))
        return
    yield sse("status", {"stage": "answered", "answerable": payload["answerable"]})
    yield sse("answer", payload)
    yield sse("done", {})
