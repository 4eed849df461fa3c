"""Finish or undo what a killed command left half-done, from the intents it journaled.

- `ingest` (new version's chunks written, catalog maybe flipped): if the catalog made that
  version live, finish (mark every other version not live); otherwise undo (delete the new
  points, or mark them not live when that version was already kept).
- `retire`, `supersede`, `restore`, `purge`, `metadata`: the command was confirmed by the
  curator, so it is finished (each step is idempotent).
Intents whose process is still alive (an ingest running in this app, say) are left alone.
Runs that never finished are closed as interrupted.
"""

from __future__ import annotations

from kb.curation import Curator
from kb.errors import KBError
from kb.journal import owner_alive
from kb.mapping import payload_fields
from kb.store import KEPT, LIVE, PointFilter


def finish_ingest(catalog, store, doc_id: str, version: str) -> str:
    """Make the store agree with the catalog about `doc_id` after an ingest of `version`.

    The catalog's live version is marked live and every other version not live; points of a
    version the catalog never recorded (a half-written one) are deleted.
    """
    doc = catalog.get(doc_id)
    known = {v for d, v in catalog.all_versions() if d == doc_id}
    if version not in known:
        store.delete(PointFilter(doc_ids=(doc_id,), versions=(version,)))
    if doc is not None:
        store.set_payload(PointFilter(doc_ids=(doc_id,), versions=(doc.version,)), {"live": LIVE})
        store.set_payload(PointFilter(doc_ids=(doc_id,), exclude_versions=(doc.version,)), {"live": KEPT})
    if doc is not None and doc.version == version:
        return f"{doc_id}: finished storing version {version[:12]}"
    if version in known:
        return f"{doc_id}: version {version[:12]} was not made live; kept as an old version"
    return f"{doc_id}: removed the half-written version {version[:12]}"


def _redo(catalog, store, row: dict) -> str:
    action, doc_id, detail = row["action"], row["doc_id"], row["detail"]
    curator = Curator(catalog, store)
    if action == "ingest":
        return finish_ingest(catalog, store, doc_id, detail["version"])
    if catalog.get(doc_id) is None:
        return f"{doc_id}: gone from the catalog; nothing to {action}"
    if action == "retire":
        curator.retire(doc_id, detail.get("reason", ""))
    elif action == "supersede":
        curator.supersede(doc_id, detail["new_id"])
    elif action == "restore":
        curator.restore(doc_id)
    elif action == "purge":
        if detail["version"] in {v["version"] for v in catalog.versions(doc_id)}:
            catalog.delete_version(doc_id, detail["version"], "finished after an interruption")
        store.delete(PointFilter(doc_ids=(doc_id,), versions=(detail["version"],)))
    elif action == "metadata":
        store.set_payload(PointFilter(doc_ids=(doc_id,)), payload_fields(catalog.get(doc_id)))
    else:
        return f"{doc_id}: unknown intent {action!r} dropped"
    return f"{doc_id}: finished the interrupted {action}"


def repair_pending(catalog, store, any_owner: bool = False) -> list[str]:
    """Repair every intent left by a dead process (by any process after a restore)."""
    done: list[str] = []
    for row in catalog.intents():
        if not any_owner and owner_alive(row["detail"]):
            continue
        try:
            done.append(_redo(catalog, store, row))
        except KBError as exc:  # e.g. the successor has since been retired
            done.append(f"{row['doc_id']}: could not finish the interrupted {row['action']}: {exc}")
        catalog.end_intent(row["intent_id"])
    return done


def close_interrupted_runs(catalog) -> list[str]:
    """Mark runs whose process died as interrupted (call only while holding the store)."""
    out = []
    for run in catalog.unfinished_runs():
        catalog.finish_run(run["run_id"], {"interrupted": True})
        out.append(f"ingest run {run['run_id']} was interrupted")
    return out
