"""One process for the app, the REST API and MCP: what `kb app` runs.

In the embedded default one process owns the Qdrant Edge shard, so `kb app` starts
`python -m kb.api.app_process run app/Ask.py ...` instead of plain `streamlit run`: this
opens the KnowledgeBase once, serves the API and MCP from a thread (uvicorn on
api_host:api_port), then runs Streamlit in the same interpreter. The app's
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


def shared_kb(kb_dir: str | Path):
    """The KnowledgeBase opened by this process's entry point for `kb_dir`, or None."""
    return _SHARED.get(str(Path(kb_dir).resolve()))


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


def open_and_serve(settings):
    """Open the KB (taking the shard lock), register it for the app, and start the API; returns (kb, server|None)."""
    from kb.service import KnowledgeBase

    kb = KnowledgeBase.open(settings)
    _ = kb.store
    _SHARED[str(settings.kb_dir.resolve())] = kb
    threading.Thread(target=kb.embedder.embed_query, args=("warm up",), daemon=True).start()
    try:
        running = serve_in_background(kb)
    except KBError as exc:  # the app still works; say why there is no API
        print(f"warning: the app runs without the API: {exc}", file=sys.stderr)
        return kb, None
    print(f"The API is on {running.url}/v1 (docs {running.url}/docs) and MCP on {running.url}/mcp", file=sys.stderr)
    return kb, running


def main() -> None:
    """`python -m kb.api.app_process run SCRIPT [streamlit options]`."""
    from kb.settings import load_settings

    try:
        open_and_serve(load_settings())
    except KBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *sys.argv[1:]]
    streamlit_main()


if __name__ == "__main__":  # run through the imported module, so the app's shared_kb() sees _SHARED
    from kb.api.app_process import main as imported_main

    imported_main()
