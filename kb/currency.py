"""Currency warnings: a cited document past its review date, or superseded."""

from __future__ import annotations

import datetime as dt

from kb.records import Citation, DocStatus, Document


def citation_warnings(
    citations: list[Citation],
    documents: dict[str, Document],
    today: dt.date | None = None,
) -> list[str]:
    today = today or dt.date.today()
    warnings: list[str] = []
    seen: set[str] = set()
    for c in citations:
        if c.doc_id in seen:
            continue
        seen.add(c.doc_id)
        doc = documents.get(c.doc_id)
        if doc is None:
            continue
        if doc.status == DocStatus.superseded:
            newer = documents.get(doc.superseded_by or "")
            target = f"'{newer.title}' ({newer.doc_id})" if newer else (doc.superseded_by or "a newer document")
            warnings.append(
                f"[{c.n}] '{doc.title}' has been superseded by {target}. Check the current guidance."
            )
        if doc.review_due and doc.review_due < today:
            warnings.append(
                f"[{c.n}] '{doc.title}' was due for review on {doc.review_due.isoformat()} and is "
                "past its review date. Check that it is still current."
            )
    return warnings


def superseded_match_warning(old: Document, new: Document | None) -> str:
    replacement = f"'{new.title}'" if new else "a newer document"
    return (
        f"Older guidance '{old.title}' ({old.doc_id}) also matches this question but has been "
        f"superseded by {replacement}; this answer uses the current guidance."
    )
