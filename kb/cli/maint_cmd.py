"""`kb doctor`, `kb backup`, `kb restore`: keep the catalog and the store in agreement and safe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kb.cli.common import JsonOption, KbDirOption, err, fail_cleanly, open_kb, print_json, settings_for


def _open_for_maintenance(kb_dir: Path | None):
    """The knowledge base with its store opened at the shard's own vector size (no model load)."""
    from kb.service import KnowledgeBase
    from kb.store import check_store_free

    settings = settings_for(kb_dir)
    if settings.store != "edge":
        return open_kb(kb_dir)
    from contextlib import contextmanager

    from kb.store.edge import EdgeStore, stored_dim

    @contextmanager
    def opened():
        with fail_cleanly():
            check_store_free(settings)
            dim = stored_dim(settings.shard_path)
            store = EdgeStore(settings.shard_path, dim) if dim else None
            kb = KnowledgeBase(settings, store=store)
        try:
            with fail_cleanly():
                yield kb
        finally:
            kb.close()

    return opened()


def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="Fix what disagrees (re-embeds documents with missing chunks).")] = False,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Compare the catalog with the store: missing or stale chunks, orphan points, unfinished commands.

    Exit 0: they agree (after --repair, if given); 1: problems remain."""
    from kb.doctor import DoctorReport, examine
    from kb.doctor import repair as repair_kb

    with _open_for_maintenance(kb_dir) as kb:
        if repair:
            report = repair_kb(kb.catalog, kb.store)
            if report.reingest:
                from ingest.pipeline import ingest_paths

                paths = [Path(kb.document(d).source_path) for d in report.reingest]
                missing = [p for p in paths if not p.exists()]
                run = ingest_paths(kb, [p for p in paths if p.exists()], reembed=report.reingest)
                report.repaired += [f"re-embedded {d}" for d in run.doc_ids]
                report.repaired += [f"{p}: source file is gone; re-ingest it or retire the document"
                                    for p in missing]
                report.findings = examine(kb.catalog, kb.store)
        else:
            report = DoctorReport(findings=examine(kb.catalog, kb.store))
    if json_out:
        print_json(report.contract())
    else:
        for line in report.repaired:
            typer.echo(f"repaired: {line}")
        for f in report.findings:
            typer.echo(f"{f.kind:<18} {f.doc_id or '-':<36} {f.detail}")
        typer.echo("The catalog and the store agree." if report.ok else
                   f"{len(report.findings)} problem(s); run `kb doctor --repair` to fix them.")
    raise typer.Exit(0 if report.ok else 1)


def backup(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder for the copy.")],
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Take a consistent copy of the catalog and the embedded store (safe while ingesting)."""
    from kb.backup import backup_kb

    with _open_for_maintenance(kb_dir) as kb:
        manifest = backup_kb(kb, dest)
    if json_out:
        print_json(manifest)
    else:
        typer.echo(f"Backed up {manifest['documents']} documents and {manifest['chunks']} chunks to {dest}.")


def restore(
    src: Annotated[Path, typer.Argument(help="A folder made by kb backup.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the knowledge base already in --kb-dir.")] = False,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Restore a backup into --kb-dir (refuses to replace a knowledge base without --force)."""
    from kb.backup import restore_kb

    with fail_cleanly():
        result = restore_kb(src, settings_for(kb_dir), force=force)
    if json_out:
        print_json(result)
    else:
        typer.echo(f"Restored {result['documents']} documents and {result['chunks']} chunks into {result['kb_dir']}.")
        if not result["doctor"]["ok"]:
            err("the restored knowledge base has problems: run kb doctor")
