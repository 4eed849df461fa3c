"""Curator operations on documents: supersede, retire (withdraw), restore, and purge a kept version.

Each updates the catalog (the source of truth) and the payload fields that store filters
use, under a journal intent (`kb.journal`), in the order that keeps readers right if the
process dies between the two writes:
- retire and supersede hide a document: the catalog goes first, and retrieval already checks
  every hit's status against the catalog, so the document is hidden at once;
- restore shows a document: the store goes first, so nothing shows until the catalog flips;
- purge removes a kept version: the catalog forgets it first; its points are then orphans
  that the repair deletes.
A leftover intent is finished by `kb.repair.repair_pending`.
"""

from __future__ import annotations

from kb.errors import KBError
from kb.journal import crash_point, intent
from kb.mapping import payload_fields
from kb.records import DocStatus, Document
from kb.store import PointFilter


class Curator:
    """Curation on a catalog and a store, journaled."""

    def __init__(self, catalog, store) -> None:
        self.catalog = catalog
        self.store = store

    def document(self, doc_id: str) -> Document:
        doc = self.catalog.get(doc_id)
        if doc is None:
            raise KBError(f"No document with id {doc_id!r}. Run `kb docs list` to see the ids.")
        return doc

    def retire(self, doc_id: str, reason: str = "") -> Document:
        """Withdraw a document: it is never returned by search or ask again, until restored."""
        doc = self.document(doc_id)
        with intent(self.catalog, "retire", doc_id, reason=reason):
            updated = self.catalog.set_status(doc_id, DocStatus.withdrawn, doc.superseded_by, reason or "retired")
            crash_point("retire_after_catalog")
            self.store.set_payload(PointFilter(doc_ids=(doc_id,)), {"status": DocStatus.withdrawn.value})
        return updated

    def supersede(self, old_id: str, new_id: str) -> tuple[Document, Document]:
        """Mark `old_id` as superseded by `new_id`; the new document must be live and current."""
        if old_id == new_id:
            raise KBError("A document cannot supersede itself.")
        self.document(old_id)
        new = self.document(new_id)
        if new.status != DocStatus.current:
            raise KBError(
                f"{new_id} is {new.status.value}, not current; restore it before using it to supersede {old_id}."
            )
        with intent(self.catalog, "supersede", old_id, new_id=new_id):
            old = self.catalog.set_status(old_id, DocStatus.superseded, new_id, f"superseded by {new_id}")
            crash_point("supersede_after_status")
            if old_id not in new.supersedes:
                new = new.model_copy(update={"supersedes": [*new.supersedes, old_id]})
                self.catalog.put(new, "supersedes", old_id)
            crash_point("supersede_after_catalog")
            self.store.set_payload(PointFilter(doc_ids=(old_id,)), {"status": DocStatus.superseded.value})
        return old, new

    def restore(self, doc_id: str) -> Document:
        """Make a withdrawn or superseded document current again."""
        self.document(doc_id)
        with intent(self.catalog, "restore", doc_id):
            self.store.set_payload(PointFilter(doc_ids=(doc_id,)), {"status": DocStatus.current.value})
            crash_point("restore_after_store")
            updated = self.catalog.set_status(doc_id, DocStatus.current, None, "restored")
        return updated

    def purge(self, doc_id: str, version: str, by: str = "") -> None:
        """Remove one kept (not live) version of a document on purpose, and record it."""
        doc = self.document(doc_id)
        if version == doc.version:
            raise KBError(
                f"{version} is the live version of {doc_id}; only kept old versions can be purged "
                "(retire the document to hide it)."
            )
        known = {v["version"] for v in self.catalog.versions(doc_id)}
        if version not in known:
            raise KBError(f"{doc_id} has no version {version!r}; see `kb docs versions {doc_id}`.")
        with intent(self.catalog, "purge", doc_id, version=version):
            self.catalog.delete_version(doc_id, version, f"by {by}" if by else "")
            crash_point("purge_after_catalog")
            self.store.delete(PointFilter(doc_ids=(doc_id,), versions=(version,)))

    def update_metadata(self, doc: Document, detail: str) -> None:
        """Store edited metadata (same bytes, no re-embedding) in the catalog and on the chunks."""
        with intent(self.catalog, "metadata", doc.doc_id):
            self.catalog.put(doc, "metadata", detail)
            crash_point("metadata_after_catalog")
            self.store.set_payload(PointFilter(doc_ids=(doc.doc_id,)), payload_fields(doc))


def _curator(kb) -> Curator:
    from kb.repair import repair_pending

    repair_pending(kb.catalog, kb.store)
    return Curator(kb.catalog, kb.store)


def retire_document(kb, doc_id: str, reason: str = "") -> Document:
    """Withdraw a document (see `Curator.retire`); repairs any unfinished command first."""
    return _curator(kb).retire(doc_id, reason)


def supersede_document(kb, old_id: str, new_id: str) -> tuple[Document, Document]:
    """Mark `old_id` as superseded by `new_id` (see `Curator.supersede`)."""
    return _curator(kb).supersede(old_id, new_id)


def restore_document(kb, doc_id: str) -> Document:
    """Make a withdrawn or superseded document current again (see `Curator.restore`)."""
    return _curator(kb).restore(doc_id)


def purge_version(kb, doc_id: str, version: str, by: str = "") -> None:
    """Remove one kept version on purpose (see `Curator.purge`)."""
    _curator(kb).purge(doc_id, version, by)
