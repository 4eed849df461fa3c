"""Curator operations on live documents: supersede, retire (withdraw) and restore.

Each updates the catalog (the source of truth) and the status field that store
filters use, so retrieval reflects the change at once.
"""

from __future__ import annotations

from kb.errors import KBError
from kb.records import DocStatus, Document
from kb.store import PointFilter


def _set_status(kb, doc: Document, status: DocStatus, superseded_by: str | None, detail: str) -> Document:
    updated = kb.catalog.set_status(doc.doc_id, status, superseded_by, detail)
    kb.store.set_payload(PointFilter(doc_ids=(doc.doc_id,)), {"status": status.value})
    return updated


def retire_document(kb, doc_id: str, reason: str = "") -> Document:
    """Withdraw a document: it is never returned by search or ask again, until restored."""
    doc = kb.document(doc_id)
    return _set_status(kb, doc, DocStatus.withdrawn, doc.superseded_by, reason or "retired")


def supersede_document(kb, old_id: str, new_id: str) -> tuple[Document, Document]:
    """Mark `old_id` as superseded by `new_id`; the new document must be live and current."""
    if old_id == new_id:
        raise KBError("A document cannot supersede itself.")
    old = kb.document(old_id)
    new = kb.document(new_id)
    if new.status != DocStatus.current:
        raise KBError(
            f"{new_id} is {new.status.value}, not current; restore it before using it to supersede {old_id}."
        )
    old = _set_status(kb, old, DocStatus.superseded, new_id, f"superseded by {new_id}")
    if old_id not in new.supersedes:
        new = new.model_copy(update={"supersedes": [*new.supersedes, old_id]})
        kb.catalog.put(new, "supersedes", old_id)
    return old, new


def restore_document(kb, doc_id: str) -> Document:
    """Make a withdrawn or superseded document current again."""
    doc = kb.document(doc_id)
    return _set_status(kb, doc, DocStatus.current, None, "restored")
