"""`kb cite` (citations for a bulletin draft, exported as Markdown or email-safe HTML) and
`kb digest` (what changed in the library since a date)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from kb.cli.common import JsonOption, KbDirOption, err, fail_cleanly, open_kb, print_json

FormatOption = Annotated[
    str | None,
    typer.Option("--format", help="md (Markdown with [^n] footnotes) or html (email-safe HTML)."),
]


def _read_draft(draft: Path) -> str:
    if str(draft) == "-":
        return sys.stdin.read()
    if not draft.is_file():
        err(f"{draft}: no such file.")
        raise typer.Exit(2)
    try:
        return draft.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        err(f"{draft}: not UTF-8 text; save the draft as UTF-8 and try again.")
        raise typer.Exit(2) from None


def cite_command(
    draft: Annotated[Path, typer.Argument(help="A text or Markdown file with the bulletin draft ('-' for stdin).")],
    fmt: FormatOption = None,
    choices: Annotated[
        Path | None,
        typer.Option("--choices", help="The editor's choices per claim (default: DRAFT.citations.json if present)."),
    ] = None,
    style: Annotated[str, typer.Option("--style", help="Without --format: markdown or plain references.")] = "markdown",
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Bulletin editors: check each claim in a draft, cite it, and export the draft."""
    from kb.bulletin import cite_json
    from kb.bulletin_export import (
        EditorChoices,
        choices_path,
        export_html,
        export_markdown,
        read_choices,
        resolve_claims,
    )
    from kb.bulletin_sources import citation_sources

    if style not in ("markdown", "plain"):
        err(f"unknown style {style!r}; choose markdown or plain")
        raise typer.Exit(2)
    if fmt not in (None, "md", "html"):
        err(f"--format must be md or html, not {fmt!r}.")
        raise typer.Exit(2)
    text = _read_draft(draft)
    from kb.pii import pii_warnings

    for warning in pii_warnings(text):  # before anything is searched
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    with fail_cleanly():
        sidecar = choices or (choices_path(draft) if str(draft) != "-" else None)
        if choices is not None and not choices.is_file():
            err(f"{choices}: no such choices file.")
            raise typer.Exit(2)
        editor = read_choices(sidecar) if sidecar is not None and sidecar.is_file() else EditorChoices()
    with open_kb(kb_dir) as kb:
        result = cite_json(kb, text, style)
        sources = citation_sources(kb, result) if fmt else {}
    if json_out:
        print_json(result)
        return
    with fail_cleanly():
        claims = resolve_claims(result, editor)
    for stale in editor.stale(result):
        typer.secho(f"warning: choice for a claim no longer in the draft: {stale.text[:70]!r}",
                    fg=typer.colors.YELLOW, err=True)
    if fmt == "md":
        typer.echo(export_markdown(text, claims, sources), nl=False)
    elif fmt == "html":
        title = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("#")), "Bulletin")
        typer.echo(export_html(text, claims, sources, title=title), nl=False)
    else:
        _print_review(result, claims, style)
    unresolved = [c for c in claims if c.status == "unresolved"]
    if unresolved:
        typer.secho(f"{len(unresolved)} claim(s) have no accepted citation: check them.",
                    fg=typer.colors.YELLOW, err=True)


def _print_review(result: dict, claims, style: str) -> None:
    typer.echo(result.get("annotated", ""))
    typer.echo("\nReferences\n" + (result.get("references") or "(none)"))
    for c in claims:
        if c.flags:
            typer.secho(f"{c.verdict}: {c.text[:100]} ({c.reason}; {'; '.join(c.flags)})",
                        fg=typer.colors.YELLOW, err=True)


def digest_command(
    since: Annotated[str, typer.Option("--since", help="ISO date (YYYY-MM-DD): changes on or after it.")],
    until: Annotated[str | None, typer.Option("--until", help="ISO date: changes up to and including it.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Bulletin editors: what was added, updated, superseded or retired since a date."""
    from kb.digest import digest, digest_html, digest_json, digest_markdown

    fmt = "json" if json_out else fmt
    if fmt not in ("md", "html", "json"):
        err(f"--format must be md, html or json, not {fmt!r}.")
        raise typer.Exit(2)
    try:
        start = dt.date.fromisoformat(since)
        end = dt.date.fromisoformat(until) if until else None
    except ValueError:
        err(f"--since/--until must be dates like 2026-01-31, not {since!r}" + (f"/{until!r}" if until else "") + ".")
        raise typer.Exit(2) from None
    with open_kb(kb_dir) as kb:
        entries = digest(kb, start, end)
    if fmt == "json":
        print_json(digest_json(entries))
    elif fmt == "html":
        typer.echo(digest_html(entries, start, end), nl=False)
    else:
        typer.echo(digest_markdown(entries, start, end), nl=False)
