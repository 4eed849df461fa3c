"""`kb serve` (REST API + MCP over HTTP, one process) and `kb mcp` (MCP on stdio, or HTTP)."""

from __future__ import annotations

from typing import Annotated

import typer

from kb.cli.common import KbDirOption, check_store_free, err, fail_cleanly, open_kb, settings_for

HostOption = Annotated[str | None, typer.Option("--host", help="Address to listen on (default api_host, 127.0.0.1).")]
PortOption = Annotated[int | None, typer.Option("--port", help="Port (default api_port, 8502).")]


def serve_http(kb_dir, host: str | None, port: int | None, mcp: bool = True) -> None:
    """Open the KB (this process owns the embedded store), then serve the API and MCP until Ctrl+C."""
    import uvicorn

    from kb.api.app import create_app
    from kb.api.auth import check_bind, load_api_keys

    with open_kb(kb_dir, api_host=host, api_port=port) as kb:
        settings = kb.settings
        check_bind(settings.api_host, load_api_keys(settings))
        check_store_free(settings)
        _ = kb.store  # take the shard lock now: a second owner fails here with "in use by pid N"
        kb.warm_up()
        app = create_app(kb, mcp=mcp, host=settings.api_host)
        mode = "local mode, no key needed" if app.state.keys.local_mode else f"{len(app.state.keys.keys)} API key(s)"
        base = f"http://{settings.api_host}:{settings.api_port}"
        typer.echo(f"Serving the API on {base}/v1 (docs {base}/docs)" + (f" and MCP on {base}/mcp" if mcp else "")
                   + f" [{mode}] (Ctrl+C to stop)", err=True)
        uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="warning",
                    timeout_graceful_shutdown=5)


def serve(
    host: HostOption = None,
    port: PortOption = None,
    mcp: Annotated[bool, typer.Option("--mcp/--no-mcp", help="Also serve MCP (streamable HTTP) at /mcp.")] = True,
    kb_dir: KbDirOption = None,
) -> None:
    """Serve the REST API (/v1, docs at /docs) and MCP (/mcp) over HTTP in one process."""
    with fail_cleanly():
        serve_http(kb_dir, host, port, mcp)


def mcp(
    http: Annotated[bool, typer.Option("--http", help="Streamable HTTP at /mcp (the same server as `kb serve`).")] = False,
    host: HostOption = None,
    port: PortOption = None,
    kb_dir: KbDirOption = None,
) -> None:
    """Serve the knowledge base to AI assistants over MCP: stdio by default, or streamable HTTP."""
    if http:
        with fail_cleanly():
            serve_http(kb_dir, host, port, True)
        return
    from kb.mcp_server import run_stdio

    if host or port:
        err("--host and --port only apply with --http.")
        raise typer.Exit(2)
    from kb.errors import StoreLockedError

    with fail_cleanly():
        s = settings_for(kb_dir)
    try:
        check_store_free(s)  # before the model loads, with the endpoint to use instead
    except StoreLockedError as exc:
        err(f"{exc}\nIf that is `kb app` or `kb serve`, point the assistant at its MCP endpoint instead: "
            f"http://{s.api_host}:{s.api_port}/mcp")
        raise typer.Exit(3) from None
    with open_kb(kb_dir) as kb:
        run_stdio(kb)
