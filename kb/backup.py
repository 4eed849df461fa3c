"""`kb backup` and `kb restore`: a consistent copy of a knowledge base, taken while it serves.

A backup folder holds `catalog.db` (SQLite's online backup API), `qdrant/` (the flushed Edge
shard) and `backup.json` (when, and how many documents and chunks). Both copies are taken
while the store's writes are paused, so the pair is a state a kill could have left; the
journal (`kb.journal`) in the copied catalog lets the restore finish or undo whatever was
half-done at that moment.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

from kb.errors import KBError

MANIFEST = "backup.json"


def backup_kb(kb, dest: Path) -> dict:
    """Copy `kb` (catalog + store) into the new folder `dest`; returns the manifest."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise KBError(f"{dest}: the backup folder must be new or empty.")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = kb.store
    store.backup(dest / "qdrant", while_paused=lambda: kb.catalog.backup(dest / "catalog.db"))
    docs = kb.catalog.documents()
    manifest = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": str(kb.settings.kb_dir.resolve()),
        "documents": len(docs),
        "chunks": store.count(),
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _holds_kb(kb_dir: Path) -> bool:
    return (kb_dir / "catalog.db").exists() or (kb_dir / "qdrant").exists()


def restore_kb(src: Path, settings, force: bool = False) -> dict:
    """Copy the backup `src` into `settings.kb_dir`, then repair and check it.

    Refuses to replace an existing knowledge base without `force`, and always refuses while
    another process holds its store.
    """
    from kb.catalog import Catalog
    from kb.doctor import repair
    from kb.store import check_store_free
    from kb.store.edge import EdgeStore, stored_dim

    src = Path(src)
    if not (src / "catalog.db").is_file() or not (src / "qdrant").is_dir():
        raise KBError(f"{src}: not a kb backup (it needs catalog.db and qdrant/; make one with kb backup).")
    if settings.store != "edge":
        raise KBError("kb restore restores the embedded store only (KB_STORE=edge).")
    kb_dir = settings.kb_dir
    check_store_free(settings)
    if _holds_kb(kb_dir) and not force:
        raise KBError(
            f"{kb_dir} already holds a knowledge base; add --force to replace it with {src}."
        )
    kb_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(kb_dir, 0o700)
    for name in ("catalog.db", "catalog.db-wal", "catalog.db-shm"):
        (kb_dir / name).unlink(missing_ok=True)
    if settings.shard_path.exists():
        shutil.rmtree(settings.shard_path)
    shutil.copy2(src / "catalog.db", settings.catalog_path)
    shutil.copytree(src / "qdrant", settings.shard_path)
    catalog = Catalog(settings.catalog_path)
    store = EdgeStore(settings.shard_path, stored_dim(settings.shard_path) or 0)
    try:
        report = repair(catalog, store, any_owner=True)
        return {
            "restored_from": str(src),
            "kb_dir": str(kb_dir),
            "documents": len(catalog.documents()),
            "chunks": store.count(),
            "doctor": report.contract(),
        }
    finally:
        store.close()
        catalog.close()
