"""Citations for a bulletin draft: for each claim in the draft, the library passage that backs it.

The editor pastes a draft; every sentence that makes a claim is searched, and the best
passage is proposed when it supports the sentence well enough. Sentences with no
support are flagged so the editor can check them or drop them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.answer import select_evidence
from kb.records import Hit
from kb.sentences import split_sentences

MIN_WORDS = 6


@dataclass
class DraftCitation:
    sentence: str
    supported: bool
    score: float
    doc_id: str = ""
    title: str = ""
    section: str = ""
    page_start: int | None = None
    published: str | None = None
    quote: str = ""
    link: str = ""
    alternatives: list[dict] = field(default_factory=list)

    def markdown(self, n: int) -> str:
        page = f", p.{self.page_start}" if self.page_start else ""
        date = f" ({self.published})" if self.published else ""
        return f"[{n}] [{self.title}]({self.link}), {self.section}{page}{date}"

    def plain(self, n: int) -> str:
        page = f", page {self.page_start}" if self.page_start else ""
        date = f", {self.published}" if self.published else ""
        return f"[{n}] {self.title}, {self.section}{page}{date}. {self.link}"


def cite_draft(kb, draft: str, threshold: float | None = None) -> list[DraftCitation]:
    threshold = kb.settings.answer_threshold if threshold is None else threshold
    out: list[DraftCitation] = []
    claims = [t for t in (" ".join(s.text.split()) for s in split_sentences(draft)) if len(t.split()) >= MIN_WORDS]
    vectors = kb.embedder.embed(claims) if claims else []  # one batched call for the whole draft
    for text, qv in zip(claims, vectors, strict=True):
        hits: list[Hit] = kb.retriever.search(text, 3, None, "hybrid", query_vector=qv)
        ext = select_evidence(text, hits, kb.embedder, question_vector=qv, max_sentences=1)
        if not ext.picks:
            out.append(DraftCitation(text, False, 0.0))
            continue
        hi, start, end = ext.picks[0]
        c = hits[hi].chunk
        out.append(
            DraftCitation(
                sentence=text,
                supported=ext.evidence >= threshold,
                score=round(ext.evidence, 4),
                doc_id=c.doc_id,
                title=c.title,
                section=c.heading_path,
                page_start=c.page_start,
                published=c.published.isoformat() if c.published else None,
                quote=c.text[start:end],
                link=kb.link_for(c),
                alternatives=[{"doc_id": h.chunk.doc_id, "title": h.chunk.title, "link": kb.link_for(h.chunk)}
                              for h in hits if h.chunk.doc_id != c.doc_id][:2],
            )
        )
    return out


def annotate(draft_citations: list[DraftCitation], style: str = "markdown") -> tuple[str, str]:
    """The draft with [n] markers after supported sentences, and the reference list."""
    numbers: dict[str, int] = {}
    body, refs = [], []
    for dc in draft_citations:
        if not dc.supported:
            body.append(f"{dc.sentence} [citation needed]")
            continue
        key = f"{dc.doc_id}|{dc.section}"
        if key not in numbers:
            numbers[key] = len(numbers) + 1
            refs.append(dc.markdown(numbers[key]) if style == "markdown" else dc.plain(numbers[key]))
        body.append(f"{dc.sentence} [{numbers[key]}]")
    return " ".join(body), "\n".join(refs)
