"""Shared CLI plumbing: the --kb-dir option, opening the knowledge base, JSON output, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from kb.errors import ConfigError, KBError, StoreLockedError

KbDirOption = Annotated[
    Path | None,
    typer.Option("--kb-dir", help="Where the knowledge base lives (default: $KB_DIR or ./.kb).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

_state: dict[str, Any] = {"kb_dir": None}


def set_global_kb_dir(kb_dir: Path | None) -> None:
    _state["kb_dir"] = kb_dir


def settings_for(kb_dir: Path | None = None, **overrides):
    from kb.settings import load_settings

    return load_settings(kb_dir=kb_dir or _state["kb_dir"], **overrides)


def check_store_free(settings) -> None:
    """Fail at once with "in use by pid N" when another process owns the embedded store,
    instead of after loading the embedding model (which takes a minute on a busy machine)."""
    if settings.store != "edge" or not settings.shard_path.exists():
        return
    from kb.store.edge import ShardLock

    probe = ShardLock(settings.shard_path)
    probe.acquire()  # raises StoreLockedError naming the holder's pid
    probe.release()


@contextmanager
def open_kb(kb_dir: Path | None = None, **overrides) -> Iterator:
    from kb.service import KnowledgeBase

    with fail_cleanly():
        settings = settings_for(kb_dir, **overrides)
        check_store_free(settings)
        kb = KnowledgeBase.open(settings)
    try:
        with fail_cleanly():
            yield kb
    finally:
        kb.close()


@contextmanager
def fail_cleanly() -> Iterator[None]:
    """Turn the errors users see into a message on stderr and an exit code."""
    try:
        yield
    except StoreLockedError as exc:
        err(str(exc))
        raise typer.Exit(3) from None
    except (ConfigError, KBError) as exc:
        err(str(exc))
        raise typer.Exit(2) from None


def err(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def read_queries(path: Path) -> list[dict]:
    """Read a JSONL file of {"id", "query"} (or "question") lines; errors name the line."""
    if not path.is_file():
        raise KBError(f"{path}: no such file.")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KBError(f"{path}:{n}: not valid JSON ({exc.msg}).") from exc
        text = obj.get("query") or obj.get("question")
        if not isinstance(obj, dict) or not text:
            raise KBError(f'{path}:{n}: each line needs "id" and "query".')
        out.append({"id": obj.get("id", n), "query": text, "raw": obj})
    return out


@contextmanager
def stage_progress(transient: bool = False) -> Iterator:
    """A rich progress bar on stderr with one row per stage; yields `progress(stage, done, total, detail)`."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}", style="dim"),
        console=Console(stderr=True),
        transient=transient,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int, detail: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, detail="")
            bar.update(tasks[stage], completed=done, total=total, detail=detail[:40])

        yield progress
