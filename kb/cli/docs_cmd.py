"""`kb docs`: list, show, errors, retire, supersede, restore, versions, purge."""

from __future__ import annotations

from typing import Annotated

import typer

from kb.cli.common import JsonOption, KbDirOption, open_kb, print_json

docs_app = typer.Typer(help="See and manage the documents in the library.", no_args_is_help=True)


@docs_app.command("list")
def list_docs(
    status: Annotated[str | None, typer.Option("--status", help="current, superseded or withdrawn.")] = None,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """List documents with their status and dates."""
    with open_kb(kb_dir) as kb:
        docs = kb.documents([status] if status else None)
    if json_out:
        print_json({"documents": [d.model_dump(mode="json") for d in docs]})
        return
    from kb.cli.human_output import print_documents

    print_documents(docs)


@docs_app.command("show")
def show(doc_id: str, json_out: JsonOption = False, kb_dir: KbDirOption = None) -> None:
    """Show one document: metadata, versions and chunks."""
    with open_kb(kb_dir) as kb:
        doc = kb.document(doc_id)
        versions = kb.catalog.versions(doc_id)
        chunks = kb.chunks(doc_id)
    if json_out:
        print_json(
            {
                "document": doc.model_dump(mode="json"),
                "versions": versions,
                "chunks": [c.model_dump(mode="json", include={"chunk_id", "ordinal", "heading_path", "page_start", "page_end", "token_count", "text"}) for c in chunks],
            }
        )
        return
    for k, v in doc.model_dump(mode="json").items():
        typer.echo(f"{k:<14} {v}")
    typer.echo(f"versions       {len(versions)}")
    for c in chunks:
        pages = f"p.{c.page_start}" if c.page_start else ""
        typer.echo(f"  #{c.ordinal:<3} {pages:<6} {c.heading_path[:70]}")


@docs_app.command("errors")
def errors(
    run_id: Annotated[str | None, typer.Option("--run", help="An ingest run id (default: the latest).")] = None,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Files that failed in the latest ingest run (or a given one), with the reason."""
    with open_kb(kb_dir) as kb:
        rows = kb.catalog.errors(run_id)
    if json_out:
        print_json({"errors": rows})
        return
    if not rows:
        typer.echo("No ingest errors.")
    for r in rows:
        typer.echo(f"{r['path']}: {r['error']}")


@docs_app.command("retire")
def retire(doc_id: str, json_out: JsonOption = False, kb_dir: KbDirOption = None) -> None:
    """Withdraw a document: search and ask never return it again (until restored)."""
    from kb.curation import retire_document

    with open_kb(kb_dir) as kb:
        doc = retire_document(kb, doc_id)
        _audit(kb, "retire", doc_id)
    _done(json_out, doc, f"{doc_id} is now withdrawn.")


@docs_app.command("supersede")
def supersede(old_id: str, new_id: str, json_out: JsonOption = False, kb_dir: KbDirOption = None) -> None:
    """Mark OLD_ID as superseded by NEW_ID."""
    from kb.curation import supersede_document

    with open_kb(kb_dir) as kb:
        old, _ = supersede_document(kb, old_id, new_id)
        _audit(kb, "supersede", old_id, f"superseded by {new_id}")
    _done(json_out, old, f"{old_id} is now superseded by {new_id}.")


@docs_app.command("restore")
def restore(doc_id: str, json_out: JsonOption = False, kb_dir: KbDirOption = None) -> None:
    """Make a withdrawn or superseded document current again."""
    from kb.curation import restore_document

    with open_kb(kb_dir) as kb:
        doc = restore_document(kb, doc_id)
        _audit(kb, "restore", doc_id)
    _done(json_out, doc, f"{doc_id} is current again.")


def _audit(kb, action: str, doc_id: str, detail: str = "") -> None:
    """Record who (the operating-system user) changed the library, for `kb audit`."""
    from kb.audit import record_cli_event

    record_cli_event(kb.catalog, action, doc_id, detail)


@docs_app.command("versions")
def versions(doc_id: str, json_out: JsonOption = False, kb_dir: KbDirOption = None) -> None:
    """Every version of a document kept in the library, oldest first, and which one is live."""
    with open_kb(kb_dir) as kb:
        doc = kb.document(doc_id)
        rows = [{**v, "live": v["version"] == doc.version} for v in kb.catalog.versions(doc_id)]
    if json_out:
        print_json({"versions": rows})
        return
    for v in rows:
        mark = "live" if v["live"] else "kept"
        typer.echo(f"{v['version'][:16]}  {mark:<5} ingested {v['ingested_at']}  {v['chunk_count']} chunks")


@docs_app.command("purge")
def purge(
    doc_id: str,
    version: Annotated[str, typer.Option("--version", help="The kept version to remove (see kb docs versions).")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the version's chunks are deleted for good.")] = False,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Remove one kept old version of a document on purpose (admin); the event is recorded."""
    import getpass

    from kb.cli.common import err
    from kb.curation import purge_version

    if not yes:
        err(f"purging version {version} of {doc_id} deletes its chunks for good; add --yes to confirm.")
        raise typer.Exit(2)
    with open_kb(kb_dir) as kb:
        full = _full_version(kb, doc_id, version)
        purge_version(kb, doc_id, full, by=getpass.getuser())
        _audit(kb, "purge", doc_id, f"version {full}")
    if json_out:
        print_json({"purged": {"doc_id": doc_id, "version": full}})
    else:
        typer.echo(f"Purged version {full} of {doc_id}.")


def _full_version(kb, doc_id: str, prefix: str) -> str:
    """Accept a unique prefix of a version (as `kb docs versions` prints 16 characters)."""
    from kb.errors import KBError

    matches = [v["version"] for v in kb.catalog.versions(doc_id) if v["version"].startswith(prefix)]
    if len(matches) != 1:
        raise KBError(f"{doc_id} has {'no' if not matches else 'several'} version(s) matching {prefix!r}; "
                      f"see `kb docs versions {doc_id}`.")
    return matches[0]


def _done(json_out: bool, doc, message: str) -> None:
    if json_out:
        print_json({"document": doc.model_dump(mode="json")})
    else:
        typer.echo(message)
