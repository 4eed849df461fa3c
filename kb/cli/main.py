"""`kb` commands: ingest, search, ask, settings, app; `docs`, `eval`, `cite`, `digest` come from their modules."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from kb.cli.audit_cmd import audit_app
from kb.cli.auth_cmd import auth_app, users_app
from kb.cli.bulletin_cmd import cite_command, digest_command
from kb.cli.common import (
    JsonOption,
    KbDirOption,
    err,
    fail_cleanly,
    open_kb,
    print_json,
    read_queries,
    set_global_kb_dir,
)
from kb.cli.docs_cmd import docs_app
from kb.cli.eval_cmd import eval_command
from kb.cli.llm_cmd import llm_app
from kb.cli.maint_cmd import backup, doctor, restore
from kb.cli.migrate_cmd import migrate_command
from kb.cli.serve_cmd import mcp as mcp_command
from kb.cli.serve_cmd import serve as serve_command

app = typer.Typer(
    name="kb",
    help="Occupational-health knowledge base: ingest documents, search, and ask with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(docs_app, name="docs")
app.add_typer(auth_app, name="auth")
app.add_typer(llm_app, name="llm")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.command("eval")(eval_command)
app.command("serve")(serve_command)
app.command("mcp")(mcp_command)
app.command("doctor")(doctor)
app.command("backup")(backup)
app.command("restore")(restore)
app.command("migrate")(migrate_command)
app.command("cite")(cite_command)
app.command("digest")(digest_command)


@app.callback()
def _root(kb_dir: KbDirOption = None) -> None:
    """Global options apply to every command."""
    set_global_kb_dir(kb_dir)


# ---------------------------------------------------------------------- ingest


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    sync: Annotated[bool, typer.Option("--sync", help="Withdraw documents gone from the folders given.")] = False,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Ingest files and folders incrementally. Exit 0: all stored; 1: some files failed; 2: usage error."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from ingest.pipeline import ingest_paths

    with open_kb(kb_dir) as kb:
        with Progress(
            TextColumn("{task.description:<6}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[detail]}", style="dim"),
            console=_stderr_console(),
            transient=json_out,
        ) as bar:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int, detail: str) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total, detail="")
                bar.update(tasks[stage], completed=done, total=total, detail=detail[:60])

            report = ingest_paths(kb, paths, sync=sync, progress=progress)
        from kb.audit import record_cli_event

        record_cli_event(kb.catalog, "ingest", detail=f"{', '.join(map(str, paths))}: added {report.added}, "
                         f"updated {report.updated}, withdrawn {report.withdrawn}, failed {len(report.failed)}")
    if json_out:
        print_json(report.contract())
    else:
        typer.echo(
            f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
            f"withdrawn {report.withdrawn}, failed {len(report.failed)} "
            f"({report.chunks_embedded} chunks embedded in {report.seconds:.1f}s)"
        )
        for f in report.failed:
            err(f"{f['path']}: {f['error']}")
        for f in report.flagged:
            typer.secho(f"check: {f['path']}: {f['reason']} (\"{f['sentences'][0][:80]}\"); it is never used "
                        "as evidence", fg=typer.colors.YELLOW, err=True)
        if report.failed:
            typer.echo("List them again with: kb docs errors", err=True)
    raise typer.Exit(1 if report.failed else 0)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


# ---------------------------------------------------------------------- search / ask


def _filters(doc_type: list[str] | None, topic: list[str] | None, include_superseded: bool):
    from kb.records import DocType, SearchFilters

    types = []
    for t in doc_type or []:
        try:
            types.append(DocType(t))
        except ValueError:
            err(f"unknown document type {t!r}; choose from {', '.join(d.value for d in DocType)}")
            raise typer.Exit(2) from None
    return SearchFilters(doc_types=types, topics=topic or [], include_superseded=include_superseded)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to search for.")] = None,
    k: Annotated[int, typer.Option("-k", help="Number of hits.")] = 5,
    doc_type: Annotated[list[str] | None, typer.Option("--type", help="Only this document type (repeatable).")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Only this topic (repeatable).")] = None,
    include_superseded: Annotated[bool, typer.Option("--include-superseded", help="Also return superseded documents.")] = False,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, dense or bm25.")] = "hybrid",
    queries: Annotated[Path | None, typer.Option("--queries", help='JSONL file of {"id","query"} lines.')] = None,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Search the library: hybrid dense + BM25 retrieval with filters."""
    from kb.contract import hit_json

    if (query is None) == (queries is None):
        err("give either a QUERY or --queries FILE.jsonl")
        raise typer.Exit(2)
    filters = _filters(doc_type, topic, include_superseded)
    with open_kb(kb_dir) as kb:
        if queries is not None:
            batch = read_queries(queries)
            for item in batch:
                hits = kb.search(item["query"], k=k, filters=filters, mode=mode)
                print_json({"id": item["id"], "hits": [hit_json(h) for h in hits]})
            return
        hits = kb.search(query, k=k, filters=filters, mode=mode)
    if json_out:
        print_json({"hits": [hit_json(h) for h in hits]})
        return
    if not hits:
        typer.echo("No matching documents.")
    for i, h in enumerate(hits, start=1):
        c = h.chunk
        pages = f" p.{c.page_start}" + (f"-{c.page_end}" if c.page_end and c.page_end != c.page_start else "") if c.page_start else ""
        typer.secho(f"{i}. {c.title} [{c.doc_type.value}, {c.status.value}]{pages}", bold=True)
        typer.echo(f"   {c.heading_path}")
        typer.echo(f"   {' '.join(c.text.split())[:240]}")


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="Your question in plain English.")] = None,
    doc_type: Annotated[list[str] | None, typer.Option("--type", help="Only this document type.")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Only this topic.")] = None,
    include_superseded: Annotated[bool, typer.Option("--include-superseded")] = False,
    queries: Annotated[Path | None, typer.Option("--queries", help='JSONL file of {"id","query"} lines.')] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Show a generative answer token by token (stderr) "
                                          "before the verified answer replaces it.")] = False,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Ask a question; get a short answer where every sentence cites its source."""
    from kb.contract import answer_json

    if (question is None) == (queries is None):
        err("give either a QUESTION or --queries FILE.jsonl")
        raise typer.Exit(2)
    filters = _filters(doc_type, topic, include_superseded)
    with open_kb(kb_dir) as kb:
        if queries is not None:
            for item in read_queries(queries):
                print_json(answer_json(kb.ask(item["query"], filters=filters), item["id"]))
            return
        from kb.access import ask_as, cli_session

        on_token = None
        if stream:
            def on_token(token: str) -> None:  # the draft; verification runs when it is complete
                sys.stderr.write(token)
                sys.stderr.flush()
        answer = ask_as(kb, *cli_session(kb.settings), question, filters=filters, channel="cli", on_token=on_token)
        if stream:
            sys.stderr.write("\n[verified answer below]\n" if answer.mode == "generative" else "")
    if json_out:
        print_json(answer_json(answer))
        return
    from kb.cli.human_output import print_answer

    print_answer(answer)


# ---------------------------------------------------------------------- settings / app


@app.command("settings")
def settings_cmd(json_out: JsonOption = False) -> None:
    """List every setting with its environment variable, current value and help."""
    from kb.settings import SETTINGS

    with fail_cleanly():
        from kb.cli.common import settings_for

        current = settings_for()
    rows = []
    for s in SETTINGS:
        value = getattr(current, s.name)
        shown = "***" if s.secret and value else str(value)
        rows.append({"name": s.name, "env": s.env, "value": shown, "default": s.default, "help": s.help})
    if json_out:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['name']:<20} {r['env']:<22} {r['value']!s:<24} {r['help']}")


@app.command("app")
def app_cmd(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 8501).")] = None,
    api: Annotated[bool, typer.Option("--api/--no-api", help="Also serve the REST API and MCP (api_port) from the app's process.")] = True,
    kb_dir: KbDirOption = None,
) -> None:
    """Start the Streamlit app (Ask, Library, Curate, Evals, Bulletin), with the API and MCP in the same process."""
    import os

    from kb.cli.common import settings_for

    with fail_cleanly():
        settings = settings_for(kb_dir, app_host=host, app_port=port)
    app_file = Path(__file__).resolve().parents[2] / "app" / "Ask.py"
    if not app_file.is_file():
        err(f"{app_file}: the app is not installed next to kb (run from a clone of the repository).")
        raise typer.Exit(2)
    env = dict(os.environ, KB_DIR=str(settings.kb_dir.resolve()), KB_APP_HOST=settings.app_host,
               KB_APP_PORT=str(settings.app_port))
    cmd = [
        sys.executable, "-m", "kb.api.app_process" if api else "streamlit", "run", str(app_file),
        "--server.address", settings.app_host,
        "--server.port", str(settings.app_port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
    ]
    import runpy  # the app's look (NHS blue theme, minimal toolbar) lives with the app

    options = runpy.run_path(str(app_file.with_name("theme.py"))).get("STREAMLIT_OPTIONS", {})
    for name, value in options.items():
        cmd += [f"--{name}", str(value)]
    typer.echo(f"Starting the app on http://{settings.app_host}:{settings.app_port} (Ctrl+C to stop)")
    if api:
        typer.echo(f"The app process also serves the API on http://{settings.api_host}:{settings.api_port}/v1 "
                   "and MCP on /mcp (--no-api: not)")
    started = time.time()
    raise typer.Exit(_run_app(cmd, env, started))


def _run_app(cmd: list[str], env: dict, started: float) -> int:
    """Run the app process until it ends. SIGTERM and SIGHUP (a service manager stopping `kb app`)
    are passed on to it, and so is Ctrl+C when only this process got it: stopping `kb app` never
    leaves the app running, holding the store's lock, without its parent."""
    import signal
    import subprocess

    proc = subprocess.Popen(cmd, env=env)
    forwarded = {sig: signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
                 for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return proc.wait()
    except KeyboardInterrupt:
        try:  # from a terminal the app got the same Ctrl+C and is stopping
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        typer.echo(f"stopped after {time.time() - started:.0f}s")
        return proc.wait()
    finally:
        for sig, previous in forwarded.items():
            signal.signal(sig, previous)


def main() -> None:  # console-script entry point
    app()
