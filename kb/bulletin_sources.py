"""What the bulletin workflow needs from the knowledge base: the cite JSON and source links.

`cite_json(kb, draft)` is the claim checker's `kb cite --json` contract (`kb.bulletin.cite_json`,
from the trust work). Until that exists this module builds the same shape from the older
`cite_draft`, so the editor's workflow runs either way; `checker_name()` says which one ran.

A proposed citation from a document past its review date is flagged `past_review` (from the
catalog's `review_due`), so the editor sees it whichever checker ran.

`citation_sources(kb, cite)` gives, for every cited passage, the document's `source_url`, the
bulletin item's anchor (so the link can point at `#anchor`) and the document's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from kb.bulletin_export import CitationSource, claim_key


def _checker():
    try:
        from kb.bulletin import cite_json as real  # the claim checker's contract
    except ImportError:
        return None
    return real


def checker_name() -> str:
    return "claim checker" if _checker() is not None else "stand-in (cite_draft)"


def cite_json(kb, draft: str, today: dt.date | None = None) -> dict:
    """`{"claims": [...], "annotated", "references"}` for a draft (see the module docstring).

    A claim whose proposed citation comes from a document past its review date gets
    `"past_review": "<title> (review due <date>)"` when the checker did not say so already.
    """
    real = _checker()
    result = real(kb, draft) if real is not None else _stand_in(kb, draft)
    today = today or dt.date.today()
    docs: dict[str, object] = {}
    for claim in result.get("claims", []):
        cites = claim.get("citations") or []
        if not cites or claim.get("past_review") or "past_review" in (claim.get("flags") or []):
            continue
        doc_id = cites[0].get("doc_id", "")
        if doc_id not in docs:
            docs[doc_id] = kb.catalog.get(doc_id)
        doc = docs[doc_id]
        if doc is not None and doc.is_past_review(today):
            claim["past_review"] = f"{doc.title} (review due {doc.review_due.isoformat()})"
    return result


def _stand_in(kb, draft: str) -> dict:
    from kb.bulletin import annotate, cite_draft

    prose = "\n".join("" if line.lstrip().startswith("#") else line for line in draft.splitlines())
    results = cite_draft(kb, prose)  # headings are kept as written, not claims
    claims = []
    for r in results:
        citation = {
            "n": 1, "doc_id": r.doc_id, "title": r.title, "section": r.section,
            "page_start": r.page_start, "page_end": r.page_start, "quote": r.quote, "link": r.link,
        }
        alternatives = [
            {"n": i + 2, "doc_id": a["doc_id"], "title": a["title"], "section": "", "page_start": None,
             "page_end": None, "quote": "", "link": a["link"]}
            for i, a in enumerate(r.alternatives)
        ]
        claims.append({
            "text": r.sentence,
            "verdict": "supported" if r.supported else "unsupported",
            "score": r.score,
            "reason": "best passage scores above the answer threshold" if r.supported
            else "no passage scores above the answer threshold",
            "citations": [citation] if r.doc_id else [],
            "alternatives": alternatives if r.doc_id else [],
        })
    body, refs = annotate(results, "markdown")
    return {"claims": claims, "annotated": body, "references": refs}


def citation_sources(kb, cite: Mapping) -> dict[str, CitationSource]:
    """`doc_id|section` (and `doc_id`) -> the document's own URL, item anchor and date."""
    out: dict[str, CitationSource] = {}
    anchors: dict[str, dict[str, str]] = {}
    for claim in cite.get("claims", []):
        for c in [*(claim.get("citations") or []), *(claim.get("alternatives") or [])]:
            doc_id = c.get("doc_id")
            if not doc_id or claim_key(c) in out:
                continue
            doc = kb.catalog.get(doc_id)
            if doc is None:
                continue
            if doc_id not in anchors:
                try:
                    anchors[doc_id] = {ch.heading_path: ch.anchor for ch in kb.chunks(doc_id) if ch.anchor}
                except Exception:  # the store is busy or the document has no chunks: no anchor
                    anchors[doc_id] = {}
            published = doc.published.isoformat() if doc.published else None
            out[doc_id] = CitationSource(doc.source_url, None, published)
            out[claim_key(c)] = CitationSource(doc.source_url, anchors[doc_id].get(c.get("section", "")), published)
    return out
