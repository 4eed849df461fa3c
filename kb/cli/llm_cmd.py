"""`kb llm serve`: run the local llama.cpp server in the foreground for other processes to use."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from kb.cli.common import JsonOption, KbDirOption, fail_cleanly, print_json, settings_for

llm_app = typer.Typer(help="The local LLM server (llama.cpp) for generative answers.", no_args_is_help=True)


@llm_app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (default: a free one).")] = 0,
    model: Annotated[Path | None, typer.Option("--model", help="GGUF file (default: setting llm_model_path).")] = None,
    ctx_size: Annotated[int, typer.Option("--ctx-size", help="Context window in tokens.")] = 4096,
    threads: Annotated[int, typer.Option("--threads", help="CPU threads (default: half the cores).")] = 0,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Start llama-server with the configured GGUF model and keep it running until Ctrl-C.

    Other processes use it with KB_LLM=openai KB_LLM_BASE_URL=<printed url> KB_LLM_MODEL=<printed model>."""
    from kb.llm_server import LocalLLMServer

    with fail_cleanly():
        settings = settings_for(kb_dir)
        server = LocalLLMServer(
            model_path=model or settings.llm_model_path or None,
            binary=settings.llm_server_bin or None,
            host=host,
            port=port,
            ctx_size=ctx_size,
            threads=threads or None,
            log_path=Path(settings.kb_dir) / "logs" / "llama-server.log",
        )
        server.start()

    def _stop(signum, frame):  # SIGTERM behaves like Ctrl-C: stop the child, then exit
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    # Ctrl-C too, explicitly: a process started from a background job of a non-interactive shell
    # inherits SIGINT as ignored, and Python then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, _stop)
    info = {"base_url": server.base_url, "model": server.alias, "model_path": str(server.model_path),
            "load_seconds": round(server.load_seconds or 0.0, 2), "log": str(server.log_path)}
    try:
        if json_out:
            print_json(info)
        else:
            typer.echo(f"llama-server ready at {server.base_url} (model {server.alias}, loaded in "
                       f"{info['load_seconds']} s; log {server.log_path})")
            typer.echo(f"Use it with: KB_LLM=openai KB_LLM_BASE_URL={server.base_url} KB_LLM_MODEL={server.alias}")
            typer.echo("Press Ctrl-C to stop.")
        sys.stdout.flush()
        code = server.wait()
        typer.secho(f"error: llama-server exited with code {code} (log {server.log_path}).", err=True,
                    fg=typer.colors.RED)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        typer.echo("stopping llama-server", err=True)
    finally:
        server.stop()


@llm_app.command("check")
def check(
    prompt: Annotated[str, typer.Option("--prompt", help="What to send.")] = "Reply with the single word OK.",
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Send one short prompt to the configured LLM (KB_LLM) and report the reply, its time or the error.

    Exit 0: the LLM answered; 1: it failed (timeout, 5xx, down, bad reply); 2: no LLM configured."""
    import time

    from kb.errors import ConfigError, LLMError
    from kb.llm import open_llm

    with fail_cleanly():
        settings = settings_for(kb_dir)
        llm = open_llm(settings)
        if llm is None:
            raise ConfigError("No LLM configured: set KB_LLM=openai, ollama or local (see `kb settings`).")
    out = {"llm": settings.llm, "model": llm.model, "base_url": llm.base_url, "ok": False}
    t0 = time.perf_counter()
    try:
        reply = llm.chat([{"role": "user", "content": prompt}])
        out.update(ok=True, reply=reply, base_url=llm.base_url, model=llm.model)
    except LLMError as exc:
        out.update(error=str(exc), error_type=type(exc).__name__)
    finally:
        out["seconds"] = round(time.perf_counter() - t0, 3)
        llm.close()
    if json_out:
        print_json(out)
    elif out["ok"]:
        typer.echo(f"{out['llm']} {out['model']} at {out['base_url']} answered in {out['seconds']} s: {out['reply']!r}")
    else:
        typer.secho(f"error: {out['error_type']}: {out['error']}", err=True, fg=typer.colors.RED)
    if not out["ok"]:
        raise typer.Exit(1)
