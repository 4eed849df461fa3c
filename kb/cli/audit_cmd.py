"""`kb audit`: export, show and replay audited answers; enforce the retention period."""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from kb.cli.common import JsonOption, KbDirOption, err, fail_cleanly, print_json, settings_for

audit_app = typer.Typer(help="The audit log: what was answered to whom, and who changed the library.",
                        no_args_is_help=True)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err(f"{option} {value!r} is not a date; use YYYY-MM-DD.")
        raise typer.Exit(2) from None


def _catalog(kb_dir: Path | None):
    from kb.catalog import Catalog

    with fail_cleanly():
        settings = settings_for(kb_dir)
    return settings, Catalog(settings.catalog_path)


@audit_app.command("export")
def export(
    since: Annotated[str, typer.Option("--since", help="First day (YYYY-MM-DD), inclusive.")],
    until: Annotated[str | None, typer.Option("--until", help="Last day (YYYY-MM-DD), inclusive.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "jsonl",
    kind: Annotated[str, typer.Option("--kind", help="answers or events.")] = "answers",
    user: Annotated[str | None, typer.Option("--user", help="Only this user.")] = None,
    doc_id: Annotated[str | None, typer.Option("--doc", help="Only answers that retrieved or cited this document.")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of standard output.")] = None,
    kb_dir: KbDirOption = None,
) -> None:
    """Export audit records between two dates as CSV or JSONL (every field)."""
    from kb import audit

    if fmt not in ("csv", "jsonl") or kind not in ("answers", "events"):
        err("--format must be csv or jsonl, and --kind answers or events")
        raise typer.Exit(2)
    start, end = _date(since, "--since"), _date(until, "--until")
    settings, catalog = _catalog(kb_dir)
    try:
        audit.enforce_retention(catalog, settings.audit_retention_days, record_empty=False)
        if kind == "answers":
            records, model = audit.answers(catalog, start, end, user, doc_id), audit.AnswerRecord
        else:
            records, model = audit.events(catalog, start, end, user, doc_id), audit.AuditEvent
    finally:
        catalog.close()
    text = audit.to_csv(records, model) if fmt == "csv" else audit.to_jsonl(records)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"{len(records)} {kind} written to {output}", err=True)


@audit_app.command("show")
def show(answer_id: Annotated[str, typer.Argument(help="The answer id (Answer.id, `kb ask --json` id).")],
         kb_dir: KbDirOption = None) -> None:
    """Print one audited answer as JSON."""
    from kb import audit

    _settings, catalog = _catalog(kb_dir)
    try:
        with fail_cleanly():
            record = audit.answer(catalog, answer_id)
    finally:
        catalog.close()
    print_json(record.model_dump(mode="json"))


@audit_app.command("replay")
def replay_cmd(answer_id: Annotated[str, typer.Argument(help="The answer id to replay.")],
               json_out: JsonOption = False, kb_dir: KbDirOption = None) -> None:
    """Ask a recorded question again with its recorded filters; report any difference. Exit 1 if different."""
    from kb.audit import replay
    from kb.cli.common import open_kb

    with open_kb(kb_dir) as kb:
        report = replay(kb, answer_id)
    if json_out:
        print_json(report.model_dump(mode="json"))
    else:
        typer.echo("No difference: same answer, citations and warnings." if report.same
                   else f"Differs in: {', '.join(report.differences)}")
        for name, diff in report.differences.items():
            typer.echo(f"--- {name} recorded\n{diff['recorded']}\n+++ {name} now\n{diff['now']}")
        for note in report.notes:
            typer.echo(f"note: {note}")
    raise typer.Exit(0 if report.same else 1)


@audit_app.command("prune")
def prune(kb_dir: KbDirOption = None) -> None:
    """Delete audit records older than audit_retention_days now (also done hourly by the answer path)."""
    from kb.audit import enforce_retention

    settings, catalog = _catalog(kb_dir)
    try:
        gone = enforce_retention(catalog, settings.audit_retention_days, getpass.getuser(), "cli")
    finally:
        catalog.close()
    typer.echo(f"{gone} audit records deleted (retention {settings.audit_retention_days} days).")
