"""Select evidence: the 2 to 5 sentences of the top chunks that answer the question.

1. Split the top chunks into sentences; headings and instruction-like text are never evidence,
   and a chunk that contains instructions addressed to a model is left out whole.
2. Score each sentence: its similarity to the question (embedded with its section heading), the
   chunk's similarity, the share of question terms it holds, and the chunk's rank.
3. Pick the best, then more with MMR so the answer does not repeat itself.
4. A sentence that leads into a list ("First-aid rooms should:") brings the list's items.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from kb.embedder import Embedder
from kb.records import Hit
from kb.sentences import Sentence, split_sentences
from kb.terms import content_terms
from kb.verify.untrusted import is_instruction

MIN_SENTENCES = 2
MAX_SENTENCES = 5
MAX_EVIDENCE_HITS = 5
# Primary guidance is preferred over news items that summarise it: a bulletin sentence
# must score a little higher than a guideline sentence to be chosen.
AUTHORITY = {"bulletin": 0.93}
MAX_LIST_ITEMS = 12
# A sentence joins the answer only if it scores at least this share of the best sentence's score
# (0.84: golden token F1 .280 -> .311 and citation precision .734 -> .773 over 0.8, citation recall and
# pass rate unchanged with the primary-source rule below; docs/RETRIEVAL.md).
MMR_FLOOR = 0.84
# When every chosen sentence is from a bulletin item, the best sentence of the guidance itself joins
# them if it scores at least this share of the best: the answer cites the source, not only the news.
PRIMARY_FLOOR = 0.8


@dataclass(frozen=True)
class Pick:
    """An exact span of one hit's chunk text."""

    hit: int
    start: int
    end: int


@dataclass(frozen=True)
class Evidence:
    picks: list[Pick]
    score: float  # evidence score: mean of the best sentence's and the best passage's cosine
    best_sentence_sim: float
    best_lexical: float
    untrusted: list[int] = field(default_factory=list)  # hits left out for instruction-like text


@dataclass
class _Candidate:
    hit: int
    sentence: Sentence
    vector: list[float]
    sim: float
    lexical: float
    score: float
    summary: bool = False  # from a bulletin item that summarises guidance (AUTHORITY)


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def is_heading_line(sentence: Sentence, heading_path: str, title: str) -> bool:
    """Headings repeated at the top of a chunk are not evidence."""
    raw = " ".join(sentence.text.split())
    text = raw.rstrip(":")
    parts = {p.strip() for p in heading_path.split(" > ") if p.strip()}
    if text in parts or text == title:
        return True
    if raw.endswith(":"):  # a list's lead-in ("First-aid rooms should:") is evidence with its items
        return False
    return len(text.split()) <= 4 and not text.endswith(".") and not any(ch.isdigit() for ch in text)


def tainted(hit: Hit) -> bool:
    """A chunk holding instructions addressed to a model is never evidence."""
    return any(is_instruction(s.text) for s in split_sentences(hit.chunk.text))


# A reference list is not advice: "N Engl J Med 2021; 384:1899-1909." or "Djennad A, Ramsay ME,
# Pebody R et al." must never be quoted as an answer. Under a heading like these (numbered or not),
# a sentence that looks like a citation is not evidence; prose there ("The Green Book chapter on
# hepatitis B was used as a factual source.") still is. In the 38 Green Book chapters, 3,129 of
# 11,995 evidence sentences were reference-list fragments: 2,699 of them (83k of 458k tokens that
# ingest embedded for asks) are citations by this test.
BIBLIOGRAPHY = re.compile(
    r"^(?:\d+(?:\.\d+)*\.?\s+)?(?:references?|reference list|bibliography|further reading|works cited|"
    r"literature cited)$", re.I)
_CITATION = re.compile(
    r"\bet al\b|\bdoi\b|\bpmc?id\b|https?://|\bwww\.|\(\d{4}[a-z]?\)|\b\d{4}[a-z]?\s*[;:]|\d+\s*\(\d+\)"
    r"|\d+\s*:\s*\d+|\bpp?\.\s*\d|\bvol\b|\bepub\b|\bin:|\beds?\.|^\W*\d", re.I)
_AUTHORS = re.compile(  # "Trotter CL, Waight P" or "Harling, R., White, J.M."
    r"\b[A-Z][\w'’-]+ [A-Z]{1,3}, [A-Z][\w'’-]+ [A-Z]{1,3}\b|\b[A-Z][\w'’-]+, (?:[A-Z]\.){1,3}")


def in_bibliography(heading_path: str) -> bool:
    """Whether a chunk sits under a reference list heading ("9 References", "Bibliography")."""
    return any(BIBLIOGRAPHY.match(" ".join(h.split())) for h in heading_path.split(" > "))


def is_citation(text: str) -> bool:
    """A reference-list entry or a fragment of one (authors, journal, year, volume, doi...)."""
    return len(text.split()) <= 4 or bool(_CITATION.search(text) or _AUTHORS.search(text))


def chunk_evidence(text: str, heading_path: str, title: str) -> list[Sentence]:
    """The sentences of a chunk that can be evidence (not headings, not fragments, not citations
    in a reference list)."""
    out = [s for s in split_sentences(text) if len(s.text) >= 12 and not is_heading_line(s, heading_path, title)]
    if out and in_bibliography(heading_path):
        out = [s for s in out if not is_citation(s.text)]
    return out


def sentence_text(heading_path: str, sentence: str) -> str:
    """What is embedded for a sentence: its section heading, so "It must start within 72 hours"
    keeps its context. Ingest embeds the same texts ahead (`sentence_vectors`)."""
    return f"{heading_path.split(' > ')[-1]}: {sentence}"


def evidence_texts(text: str, heading_path: str, title: str) -> list[str]:
    """The embedded texts of a chunk's evidence sentences: what ingest stores ahead
    (`sentence_vectors`), what selection embeds, and what MaxSim scores."""
    return [sentence_text(heading_path, s.text) for s in chunk_evidence(text, heading_path, title)]


def evidence_sentences(hits: list[Hit]) -> tuple[list[tuple[int, Sentence]], list[int]]:
    sents, untrusted = [], []
    for i, hit in enumerate(hits):
        if tainted(hit):
            untrusted.append(i)
            continue
        sents += [(i, s) for s in chunk_evidence(hit.chunk.text, hit.chunk.heading_path, hit.chunk.title)]
    return sents, untrusted


def score_candidates(question: str, qv: list[float], hits: list[Hit], sents, embedder: Embedder) -> list[_Candidate]:
    # Each sentence is embedded with its section heading (`sentence_text`), once: ingest stored it
    # ahead, or the first ask that needed it did (`Embedder.embed_cached`, kb.vector_cache).
    vectors = embedder.embed_cached([sentence_text(hits[i].chunk.heading_path, s.text) for i, s in sents])
    missing = [i for i, h in enumerate(hits) if h.dense_score is None]
    extra = dict(zip(missing, embedder.embed_cached([hits[i].chunk.text for i in missing]), strict=True))
    chunk_sim = [h.dense_score if h.dense_score is not None else _cos(qv, extra[i]) for i, h in enumerate(hits)]
    qterms = content_terms(question)
    out = []
    for (i, s), vec in zip(sents, vectors, strict=True):
        sim = _cos(qv, vec)
        lexical = len(qterms & (content_terms(s.text) | content_terms(hits[i].chunk.heading_path))) / len(qterms) \
            if qterms else 0.0
        score = 0.5 * sim + 0.2 * chunk_sim[i] + 0.2 * lexical + 0.1 / math.sqrt(i + 1)
        kind = hits[i].chunk.doc_type.value
        out.append(_Candidate(i, s, vec, sim, lexical, score * AUTHORITY.get(kind, 1.0), kind in AUTHORITY))
    out.sort(key=lambda c: -c.score)
    return out, chunk_sim


def mmr(cands: list[_Candidate], max_sentences: int, lam: float = 0.7) -> list[_Candidate]:
    best = cands[0]
    chosen = [best]
    floor = best.score * MMR_FLOOR
    while len(chosen) < max_sentences:
        pick, pick_val = None, -1e9
        for c in cands:
            if c in chosen or c.score < floor:
                continue
            redundancy = max(_cos(c.vector, o.vector) for o in chosen)
            if redundancy > 0.92:
                continue
            val = lam * c.score - (1 - lam) * redundancy
            if val > pick_val:
                pick, pick_val = c, val
        if pick is None:
            break
        chosen.append(pick)
    if all(c.summary for c in chosen):
        # Only bulletin summaries chosen: the best sentence of the guidance itself joins them (at the
        # summaries' old floor), so the answer cites the source and not only the news item about it.
        primary = next((c for c in cands if not c.summary and c.score >= best.score * PRIMARY_FLOOR), None)
        if primary is not None:
            chosen = [*chosen[: max_sentences - 1], primary]
    if len(chosen) < MIN_SENTENCES:  # the next sentence of the best chunk, as context
        nxt = next((c for c in cands if c not in chosen and c.hit == best.hit), None)
        if nxt is not None:
            chosen.append(nxt)
    # The most direct sentence first, then the rest in document order.
    rest = sorted(chosen[1:], key=lambda c: (c.hit, c.sentence.start))
    return [best, *rest]


def with_list_items(text: str, start: int, end: int) -> int:
    """When the span is a list's lead-in (ends with ':'), extend it over the list's lines."""
    if not text[start:end].rstrip().endswith(":"):
        return end
    pos, items = end, 0
    while items < MAX_LIST_ITEMS:
        nl = text.find("\n", pos)
        line_start = pos if nl < 0 else nl + 1
        if nl < 0 and pos >= len(text):
            break
        line_end = text.find("\n", line_start)
        line_end = len(text) if line_end < 0 else line_end
        line = text[line_start:line_end].strip()
        if not line:
            if line_end >= len(text):
                break
            pos = line_end
            continue
        if not (line.startswith(("\u2022", "-", "*")) or line[:2].rstrip(".)").isdigit() or "|" in line
                or ":" in line[:80]):
            break
        end, pos, items = line_end, line_end, items + 1
    return end


def select_evidence(
    question: str,
    hits: list[Hit],
    embedder: Embedder,
    question_vector: list[float] | None = None,
    max_sentences: int = MAX_SENTENCES,
) -> Evidence:
    hits = hits[:MAX_EVIDENCE_HITS]
    sents, untrusted = evidence_sentences(hits)
    if not sents:
        return Evidence([], 0.0, 0.0, 0.0, untrusted)
    qv = question_vector if question_vector is not None else embedder.embed_query(question)
    cands, chunk_sim = score_candidates(question, qv, hits, sents, embedder)
    chosen = mmr(cands, max_sentences)
    picks: list[Pick] = []
    for c in chosen:
        text = hits[c.hit].chunk.text
        p = Pick(c.hit, c.sentence.start, with_list_items(text, c.sentence.start, c.sentence.end))
        if not any(q.hit == p.hit and q.start <= p.start and p.end <= q.end for q in picks):
            picks.append(p)  # an item already inside a picked list is not picked twice
    best = cands[0]
    # On the golden set this separates answerable from unanswerable questions (ROC AUC 0.91).
    score = 0.5 * best.sim + 0.5 * max(chunk_sim[i] for i in range(len(hits)) if i not in untrusted)
    return Evidence(picks, score, best.sim, max(c.lexical for c in cands), untrusted)
