"""One process for the app, the REST API and MCP: what `kb app` runs.

In the embedded default one process owns the Qdrant Edge shard, so `kb app` starts
`python -m kb.api.app_process run app/Ask.py ...` instead of plain `streamlit run`: this
opens the KnowledgeBase once and serves the API and MCP (uvicorn on api_host:api_port), both on
a background thread, while Streamlit starts in the same interpreter. The app's
`get_kb()` picks up that same KnowledgeBase through `shared_kb()`; run without this entry
point (plain `streamlit run`, the app tests) it opens its own and there is no API.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KBError

_SHARED: dict[str, object] = {}  # resolved kb_dir -> the KnowledgeBase this process serves
_OPENING: dict[str, _Opening] = {}  # resolved kb_dir -> the open still running in the background
_PAGE_SERVED = threading.Event()  # the app has handed the KB to a page (`page_served`)
API_AFTER_PAGE_S = 10.0  # ... or this long after the KB opened, the API starts anyway
API_GRACE_S = 3.0  # after the first page: Streamlit sends it from a thread that the imports starve


def page_served() -> None:
    """Called by the app when a page has the KB: `kb app` starts the API now."""
    _PAGE_SERVED.set()


class _Opening:
    """`open_and_serve` on a background thread: Streamlit starts while the model loads. `opened`
    is set as soon as the KnowledgeBase is open, before the API has started: the app's first
    question does not wait for uvicorn, FastAPI and MCP to import (about 3 s on 2 cores)."""

    def __init__(self, settings) -> None:
        self.opened = threading.Event()
        self.error: BaseException | None = None
        self._settings = settings
        threading.Thread(target=self._run, name="kb-open-and-serve", daemon=True).start()

    def _run(self) -> None:
        try:
            open_and_serve(self._settings, on_open=self.opened.set, api_after=_PAGE_SERVED)
        except BaseException as exc:  # noqa: BLE001 - handed to the page by shared_kb()
            self.error = exc
            print(f"error: {exc}", file=sys.stderr)
        finally:
            self.opened.set()


def shared_kb(kb_dir: str | Path):
    """The KnowledgeBase opened by this process's entry point for `kb_dir`, or None. While the
    entry point is still opening it, wait for it (and raise what the open raised)."""
    key = str(Path(kb_dir).resolve())
    opening = _OPENING.get(key)
    if opening is not None:
        opening.opened.wait()
        if key not in _SHARED and opening.error is not None:
            raise opening.error
    return _SHARED.get(key)


@dataclass
class BackgroundServer:
    url: str
    server: object  # uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def serve_in_background(kb, host: str | None = None, port: int | None = None) -> BackgroundServer:
    """Serve API + MCP for `kb` from a daemon thread; raise KBError when it cannot (port in use, no keys)."""
    import uvicorn

    from kb.api.app import create_app
    from kb.api.auth import check_bind, load_api_keys

    host = host or kb.settings.api_host
    port = kb.settings.api_port if port is None else port
    check_bind(host, load_api_keys(kb.settings))
    try:  # bind here, so a busy port is a clear error and not a dying thread
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family)
    except OSError as exc:
        raise KBError(f"Could not serve the API on {host}:{port} ({exc.strerror or exc}); set api_port.") from exc
    server = uvicorn.Server(uvicorn.Config(create_app(kb, host=host), host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="kb-api")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise KBError(f"The API on {host}:{port} did not start; see the log above.")
        time.sleep(0.02)
    return BackgroundServer(f"http://{host}:{port}", server, thread)


def open_and_serve(settings, on_open=None, api_after: threading.Event | None = None):
    """Open the KB (taking the shard lock), register it for the app (then call `on_open()`), and
    start the API, under `kb app` once the first page has the KB (`api_after`, at most
    API_AFTER_PAGE_S later): uvicorn, FastAPI and MCP take about 1.5 s of CPU to import, and the
    first page no longer waits behind them. Returns (kb, server|None)."""
    from kb.service import KnowledgeBase

    kb = KnowledgeBase.open(settings)
    _ = kb.store
    _SHARED[str(settings.kb_dir.resolve())] = kb
    if on_open is not None:
        on_open()
    threading.Thread(target=kb.warm_up, daemon=True).start()
    if api_after is not None:
        if api_after.wait(API_AFTER_PAGE_S):
            time.sleep(API_GRACE_S)  # while the first page goes out over the websocket
    try:
        running = serve_in_background(kb)
    except KBError as exc:  # the app still works; say why there is no API
        print(f"warning: the app runs without the API: {exc}", file=sys.stderr)
        return kb, None
    print(f"The API is on {running.url}/v1 (docs {running.url}/docs) and MCP on {running.url}/mcp", file=sys.stderr)
    return kb, running


def main() -> None:
    """`python -m kb.api.app_process run SCRIPT [streamlit options]`.

    A store that another process holds fails here at once (exit 3). The knowledge base then
    opens (the embedding model loads) on a background thread while Streamlit starts, so the page
    is up as soon as Streamlit is and the first question waits only for what is left of the
    model load; the API starts on that thread a few seconds after the first page has the KB. Measured with `evals.bench.app`: see docs/PERFORMANCE.md."""
    from kb.settings import load_settings
    from kb.store import check_store_free

    settings = load_settings()
    try:
        check_store_free(settings)
    except KBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    _OPENING[str(settings.kb_dir.resolve())] = _Opening(settings)
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *sys.argv[1:]]
    streamlit_main()


if __name__ == "__main__":  # run through the imported module, so the app's shared_kb() sees _SHARED
    from kb.api.app_process import main as imported_main

    imported_main()
