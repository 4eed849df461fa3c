"""What the bulletin workflow needs from the knowledge base: the cite JSON and source links.

The cite JSON itself comes from the claim checker, `kb.bulletin.cite_json` (`kb cite --json`).

`citation_sources(kb, cite)` gives, for every cited passage, the document's `source_url`, the
bulletin item's anchor (so the link can point at `#anchor`) and the document's date.
"""

from __future__ import annotations

from collections.abc import Mapping

from kb.bulletin_export import CitationSource, claim_key


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
