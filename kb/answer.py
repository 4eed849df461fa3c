"""Extractive answers with exact-quote citations (the offline default).

1. Split the top chunks into sentences.
2. Score each sentence against the question: sentence similarity, the chunk's own
   similarity, and the share of question terms it contains.
3. Pick 2 to 5 sentences with MMR, so the answer does not repeat itself.
4. Compose the answer with `[n]` markers; every citation quotes exact text.
5. Below the calibrated evidence threshold, refuse and list the closest documents.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from kb.embedder import Embedder
from kb.records import Citation, Hit
from kb.sentences import Sentence, split_sentences

_STOP = set(
    """a an the and or of to in on for with by at from is are was were be been being do does did
    what which who whom when where why how can could should would may might must shall will i we
    you they he she it this that these those there their our your my me us them as if about into
    than then so not no any all some each per its also after before during within need needs get
    got have has had long much many most more""".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:[-/][a-z0-9]+)*")

MIN_SENTENCES = 2
MAX_SENTENCES = 5


def terms(text: str) -> set[str]:
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP or len(w) < 2:
            continue
        out.add(_stem(w))
    return out


def _stem(w: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


@dataclass
class Candidate:
    hit_index: int
    sentence: Sentence
    vector: list[float]
    sim: float
    lexical: float
    score: float


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _is_heading_line(sentence: Sentence, hit: Hit) -> bool:
    """Headings repeated at the top of a chunk are not evidence."""
    text = " ".join(sentence.text.split()).rstrip(":")
    parts = {p.strip() for p in hit.chunk.heading_path.split(" > ") if p.strip()}
    if text in parts or text == hit.chunk.title:
        return True
    return len(text.split()) <= 4 and not text.endswith(".") and not any(ch.isdigit() for ch in text)


# Primary guidance is preferred over news items that summarise it: a bulletin sentence
# must score a little higher than a guideline sentence to be chosen.
AUTHORITY = {"bulletin": 0.93}
MAX_EVIDENCE_HITS = 5


@dataclass(frozen=True)
class Extract:
    """The chosen evidence: (hit index, exact span) pairs and the evidence score."""

    picks: list[tuple[int, int, int]]  # (hit index, start, end)
    evidence: float
    best_sentence_sim: float


def select_evidence(
    question: str,
    hits: list[Hit],
    embedder: Embedder,
    question_vector: list[float] | None = None,
    max_sentences: int = MAX_SENTENCES,
    mmr_lambda: float = 0.7,
) -> Extract:
    if not hits:
        return Extract([], 0.0, 0.0)
    qv = question_vector if question_vector is not None else embedder.embed_query(question)
    qterms = terms(question)
    hits = hits[:MAX_EVIDENCE_HITS]
    sents: list[tuple[int, Sentence]] = []
    for i, hit in enumerate(hits):
        for s in split_sentences(hit.chunk.text):
            if len(s.text) < 12 or _is_heading_line(s, hit):
                continue
            sents.append((i, s))
    if not sents:
        return Extract([], 0.0, 0.0)
    # Embed sentence with its section heading, so "It must start within 72 hours" keeps context.
    texts = [f"{hits[i].chunk.heading_path.split(' > ')[-1]}: {s.text}" for i, s in sents]
    vectors = embedder.embed(texts)
    # The retriever already knows most chunks' cosine; embed only the BM25-only ones.
    missing = [i for i, h in enumerate(hits) if h.dense_score is None]
    extra = dict(zip(missing, embedder.embed([hits[i].chunk.text for i in missing]), strict=True))
    chunk_sim = [h.dense_score if h.dense_score is not None else _cos(qv, extra[i]) for i, h in enumerate(hits)]
    cands: list[Candidate] = []
    for (i, s), vec in zip(sents, vectors, strict=True):
        sim = _cos(qv, vec)
        st = terms(s.text) | terms(hits[i].chunk.heading_path)
        lexical = len(qterms & st) / len(qterms) if qterms else 0.0
        rank_prior = 1.0 / math.sqrt(i + 1)
        score = 0.5 * sim + 0.2 * chunk_sim[i] + 0.2 * lexical + 0.1 * rank_prior
        score *= AUTHORITY.get(hits[i].chunk.doc_type.value, 1.0)
        cands.append(Candidate(i, s, vec, sim, lexical, score))
    cands.sort(key=lambda c: -c.score)
    best = cands[0]
    chosen: list[Candidate] = [best]
    floor = best.score * 0.8
    while len(chosen) < max_sentences:
        pick, pick_val = None, -1e9
        for c in cands:
            if c in chosen or c.score < floor:
                continue
            redundancy = max(_cos(c.vector, o.vector) for o in chosen)
            if redundancy > 0.92:
                continue
            val = mmr_lambda * c.score - (1 - mmr_lambda) * redundancy
            if val > pick_val:
                pick, pick_val = c, val
        if pick is None:
            break
        chosen.append(pick)
    if len(chosen) < MIN_SENTENCES:
        # Add the next sentence of the best chunk as context when it exists.
        for c in cands:
            if c not in chosen and c.hit_index == best.hit_index:
                chosen.append(c)
                break
    chosen.sort(key=lambda c: (c.hit_index, c.sentence.start))
    # Evidence: how close the best sentence and the best passage are to the question.
    # On the golden set this separates answerable from unanswerable questions better
    # (ROC AUC 0.91) than mixing in term overlap (0.86).
    evidence = 0.5 * best.sim + 0.5 * max(chunk_sim)
    return Extract(
        [(c.hit_index, c.sentence.start, c.sentence.end) for c in chosen],
        evidence,
        best.sim,
    )


# Two picked sentences of one chunk at most this far apart become one contiguous quote (the
# sentence between them is read too), so one passage is one source, not two cards.
MERGE_GAP_CHARS = 300


def merge_adjacent(picks: list[tuple[int, int, int]], hits: list[Hit]) -> list[tuple[int, int, int]]:
    """Merge picks from the same chunk that are adjacent or close (see MERGE_GAP_CHARS)."""
    merged: list[tuple[int, int, int]] = []
    for hi, start, end in picks:
        if merged:
            phi, pstart, pend = merged[-1]
            gap = hits[hi].chunk.text[pend:start] if phi == hi else "x"
            if phi == hi and start >= pend and len(gap.strip()) <= MERGE_GAP_CHARS:
                merged[-1] = (hi, pstart, end)
                continue
        merged.append((hi, start, end))
    return merged


def compose(
    picks: list[tuple[int, int, int]], hits: list[Hit], link_for
) -> tuple[str, list[Citation]]:
    """Answer text with [n] markers, and one citation per exact quote."""
    parts: list[str] = []
    citations: list[Citation] = []
    for n, (hi, start, end) in enumerate(merge_adjacent(picks, hits), start=1):
        chunk = hits[hi].chunk
        quote = chunk.text[start:end]
        citations.append(
            Citation(
                n=n,
                doc_id=chunk.doc_id,
                version=chunk.version,
                chunk_id=chunk.chunk_id,
                title=chunk.title,
                source_path=chunk.source_path,
                section=chunk.heading_path,
                page_start=chunk.page_start,
                page_end=chunk.page_end,
                quote=quote,
                published=chunk.published,
                review_due=chunk.review_due,
                status=chunk.status,
                link=link_for(chunk),
            )
        )
        parts.append(f"{' '.join(quote.split())} [{n}]")
    return " ".join(parts), citations
