"""`kb migrate --to server`: copy the embedded knowledge base to a Qdrant server and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kb.cli.common import (
    JsonOption,
    KbDirOption,
    err,
    fail_cleanly,
    print_json,
    read_queries,
    settings_for,
    stage_progress,
)


def migrate_command(
    to: Annotated[str, typer.Option("--to", help="Where to: server (Qdrant server + PostgreSQL catalog).")] = "server",
    catalog_url: Annotated[
        str | None, typer.Option("--catalog-url", help="Target PostgreSQL URL (default: $KB_CATALOG_URL).")
    ] = None,
    qdrant_url: Annotated[str | None, typer.Option("--qdrant-url", help="Target Qdrant URL (default: $QDRANT_URL).")] = None,
    qdrant_path: Annotated[
        Path | None,
        typer.Option("--qdrant-path", help="Instead of a server: a qdrant-client local-mode folder (rehearsals, tests)."),
    ] = None,
    collection: Annotated[str | None, typer.Option("--collection", help="Target collection (default: $KB_COLLECTION).")] = None,
    questions: Annotated[
        Path | None, typer.Option("--questions", help='JSONL of {"question"} lines to compare (default: document titles).')
    ] = None,
    sample: Annotated[int, typer.Option("--sample", help="How many document titles to ask when --questions is not given.")] = 10,
    shards: Annotated[int | None, typer.Option("--shards", help="shard_number of a new collection (default: $KB_QDRANT_SHARDS).")] = None,
    replication_factor: Annotated[
        int | None, typer.Option("--replication-factor", help="replication_factor of a new collection (default: $KB_QDRANT_REPLICATION_FACTOR).")
    ] = None,
    write_consistency_factor: Annotated[
        int | None,
        typer.Option("--write-consistency-factor", help="write_consistency_factor of a new collection (default: $KB_QDRANT_WRITE_CONSISTENCY)."),
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a target that already holds data.")] = False,
    json_out: JsonOption = False,
    kb_dir: KbDirOption = None,
) -> None:
    """Copy the embedded store and catalog to a Qdrant server and PostgreSQL, then verify the copy.

    Exit 0: copied and verified; 1: copied but the verification found differences; 2: usage error."""
    from qdrant_client import QdrantClient

    from kb.catalog import Catalog
    from kb.catalog_backends import PostgresBackend
    from kb.embedder import open_embedder
    from kb.server_migration import migrate_to_server, shard_dimension
    from kb.store.server import ServerStore

    if to != "server":
        err(f"--to {to!r}: the only target is 'server'.")
        raise typer.Exit(2)
    with fail_cleanly():
        settings = settings_for(kb_dir)
        url = catalog_url or settings.catalog_url
        if not url:
            err("give the target catalog: --catalog-url postgresql://USER:PASSWORD@HOST:5432/DB (or KB_CATALOG_URL).")
            raise typer.Exit(2)
        server_url = None if qdrant_path else (qdrant_url or settings.qdrant_url)
        if qdrant_path and qdrant_url:
            err("give --qdrant-url or --qdrant-path, not both.")
            raise typer.Exit(2)
        if not (server_url or qdrant_path):
            err("give the target store: --qdrant-url URL (or QDRANT_URL), or --qdrant-path DIR for local mode.")
            raise typer.Exit(2)
        dim = shard_dimension(settings.shard_path)
        embedder = open_embedder(settings)
        options = settings.replace(
            qdrant_shards=shards or settings.qdrant_shards,
            qdrant_replication_factor=replication_factor or settings.qdrant_replication_factor,
            qdrant_write_consistency=write_consistency_factor or settings.qdrant_write_consistency,
        ).collection_options()
        catalog = Catalog(backend=PostgresBackend(url))
        store = None
        try:
            client = (
                QdrantClient(path=str(qdrant_path))
                if qdrant_path
                else QdrantClient(url=server_url, api_key=settings.qdrant_api_key or None, timeout=60)
            )
            store = ServerStore(None, collection or settings.collection, dim, client=client, create_options=options)
            with stage_progress(transient=json_out) as progress:
                asked = [q["query"] for q in read_queries(questions)] if questions else None
                report = migrate_to_server(
                    settings, embedder, store, catalog, questions=asked, sample=sample, replace=replace,
                    progress=progress,
                )
        finally:
            if store is not None:
                store.close()
            catalog.close()
    if json_out:
        print_json(report.contract())
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_report(report) -> None:
    tables = ", ".join(f"{t} {s}" for t, (s, _) in report.tables.items())
    typer.echo(f"from  {report.source['store']} + {report.source['catalog']}")
    typer.echo(f"to    {report.target['store']} + {report.target['catalog']}")
    typer.echo(f"copied {report.points_copied} points; catalog rows: {tables}")
    docs_ok = sum(d.ok for d in report.documents)
    typer.echo(f"documents: {docs_ok}/{len(report.documents)} have the same points (all versions and live)")
    asked_ok = sum(q.ok for q in report.questions)
    typer.echo(f"questions: {asked_ok}/{len(report.questions)} cite the same passages on both sides")
    if report.ok:
        typer.echo("OK: the server copy matches the embedded knowledge base.")
        typer.echo("Switch over with KB_STORE=server QDRANT_URL=... KB_CATALOG=postgres KB_CATALOG_URL=...")
    for problem in report.problems:
        err(problem)
