"""Compose an extractive answer: the picked sentences with `[n]` markers, each an exact quote."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kb.ask.select import Pick
from kb.records import Chunk, Citation, Hit, SentenceCheck

# Two picked sentences of one chunk at most this far apart become one contiguous quote (the
# sentence between them is read too), so one passage is one source, not two cards.
MERGE_GAP_CHARS = 300

LinkFor = Callable[[Chunk], str]


@dataclass
class Draft:
    """An answer before currency warnings: text with [n] markers, citations, checked sentences."""

    text: str
    citations: list[Citation]
    sentences: list[SentenceCheck]
    warnings: list[str] = field(default_factory=list)
    mode: str = "extractive"
    model: str = ""

    @property
    def empty(self) -> bool:
        return not self.citations


def merge_adjacent(picks: list[Pick], hits: list[Hit]) -> list[Pick]:
    """Merge picks from the same chunk that are adjacent or close (see MERGE_GAP_CHARS).

    Only picks that follow each other in the answer merge, so the most direct sentence stays first.
    """
    merged: list[Pick] = []
    for p in picks:
        if merged:
            q = merged[-1]
            if q.hit == p.hit and p.start >= q.end and len(hits[p.hit].chunk.text[q.end : p.start].strip()) <= MERGE_GAP_CHARS:
                merged[-1] = Pick(q.hit, q.start, p.end)
                continue
        merged.append(p)
    return merged


def compose_extractive(picks: list[Pick], hits: list[Hit], link_for: LinkFor) -> Draft:
    parts, citations, sentences = [], [], []
    for n, p in enumerate(merge_adjacent(picks, hits), start=1):
        chunk = hits[p.hit].chunk
        c = Citation.quoting(n, chunk, p.start, p.end, link_for(chunk))
        citations.append(c)
        text = " ".join(c.quote.split())
        parts.append(f"{text} [{n}]")
        sentences.append(SentenceCheck(text=text, citations=[n], verdict="supported", verified=True, support=1.0,
                                       reason="exact quote of the cited passage"))
    return Draft(" ".join(parts), citations, sentences)
