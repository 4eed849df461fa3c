"""Currency: warn when an answer rests on guidance that is superseded, past review, contradicted
by newer guidance, or untrusted.

- A cited document that is superseded or past its review date gets a warning.
- Superseded guidance that matches the question about as well as the current answer gets a
  warning naming the current version (compared by absolute dense cosine: fused scores from two
  searches are not comparable).
- A cited bulletin item that a newer current guideline contradicts gets a warning naming the
  newer source: the guideline outranks the bulletin.
- A retrieved passage left out for instruction-like text gets a warning for the reader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from kb.records import Citation, DocStatus, DocType, Document, Hit, SearchFilters
from kb.verify import ClaimChecker, Passage

# How much less similar (cosine) superseded guidance may be than the best current passage and
# still earn an "older guidance also matches" warning, when its replacement is cited.
SUPERSEDED_MARGIN = 0.08
PRIMARY = [DocType.guideline, DocType.policy, DocType.protocol]


def describe(doc: Document) -> str:
    """'Title' (date): names versions apart when two documents share a title."""
    when = doc.published.isoformat() if doc.published else f"version {doc.version[:8]}"
    return f"'{doc.title}' ({when})"


def citation_warnings(citations: list[Citation], documents: dict[str, Document], today: dt.date | None = None) -> list[str]:
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
            target = describe(newer) if newer else (doc.superseded_by or "a newer document")
            warnings.append(f"[{c.n}] {describe(doc)} has been superseded by {target}. Check the current guidance.")
        if doc.review_due and doc.review_due < today:
            warnings.append(
                f"[{c.n}] '{doc.title}' was due for review on {doc.review_due.isoformat()} and is "
                "past its review date. Check that it is still current."
            )
    return warnings


def superseded_match_warning(old: Document, new: Document | None) -> str:
    replacement = describe(new) if new else "a newer document"
    return (f"Older guidance {describe(old)} ({old.doc_id}) also matches this question but has been "
            f"superseded by {replacement}; this answer uses the current guidance.")


def superseded_matches(hits: list[Hit], superseded: list[Hit], citations: list[Citation],
                       get: Callable[[str], Document | None]) -> list[str]:
    current = [h.dense_score for h in hits if h.dense_score is not None]
    if not current:
        return []
    best_current = max(current)
    cited = {c.doc_id for c in citations}
    out: list[str] = []
    for h in superseded:
        old = get(h.chunk.doc_id)
        if old is None or old.status != DocStatus.superseded or h.dense_score is None:
            continue
        if (old.superseded_by in cited and h.dense_score >= best_current - SUPERSEDED_MARGIN) or h.dense_score > best_current:
            msg = superseded_match_warning(old, get(old.superseded_by or ""))
            if msg not in out:
                out.append(msg)
    return out[:2]


def newer_guidance_conflicts(citations: list[Citation], checker: ClaimChecker, search: Callable[..., list[Hit]],
                             get: Callable[[str], Document | None]) -> list[str]:
    """Cited bulletin items that a newer current guideline, policy or protocol contradicts."""
    out = []
    for c in citations:
        doc = get(c.doc_id)
        if doc is None or doc.doc_type != DocType.bulletin:
            continue
        hits = [h for h in search(c.quote, 4, SearchFilters(doc_types=PRIMARY))
                if _newer(h.chunk.published, doc.published)]
        if not hits:
            continue
        v = checker.check(c.quote, [Passage.of(h.chunk) for h in hits])
        if v.verdict == "contradicted" and v.evidence is not None:
            newer = get(hits[v.evidence.passage].chunk.doc_id)
            if newer is not None:
                out.append(f"[{c.n}] The bulletin item {describe(doc)} is contradicted by newer guidance "
                           f"{describe(newer)}: \"{' '.join(v.evidence.quote.split())[:200]}\" ({v.reason}). "
                           "Follow the newer guidance.")
    return out


def untrusted_warnings(hits: list[Hit], untrusted: list[int]) -> list[str]:
    names = list(dict.fromkeys(f"'{hits[i].chunk.title}'" for i in untrusted if i < len(hits)))
    if not names:
        return []
    return [f"{', '.join(names)} contains text addressed to an AI assistant rather than to readers; it was not "
            "used as evidence. A curator should check the document."]


def _newer(a: dt.date | None, b: dt.date | None) -> bool:
    return a is not None and (b is None or a > b)
