"""The ask path as typed stages: retrieve -> select evidence -> answerability -> compose
(extractive or generative) -> verify -> currency. The knowledge base logs the result (audit).

>>> # pipeline = AskPipeline(retrieve, embedder, answerability, checker, library, link_for)
>>> # answer = pipeline.run("When should HIV PEP be started?", SearchFilters())
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kb.ask import currency
from kb.ask.answerability import AnswerabilityStage, Decision
from kb.ask.compose import Draft, LinkFor, compose_extractive
from kb.ask.generative import generate
from kb.ask.retrieve import Retrieval, RetrieveStage
from kb.ask.select import Evidence, select_evidence
from kb.ask.verify import verify_generated
from kb.embedder import Embedder
from kb.errors import KBError, LLMError
from kb.llm_reply import read_reply
from kb.records import Answer, Document, Hit, SearchFilters, SentenceCheck
from kb.verify import ClaimChecker

log = logging.getLogger("kb.ask")

REFUSAL = (
    "The library does not cover this question well enough to answer it. "
    "The closest documents are listed below; an OH professional can help further."
)


@dataclass
class Stopwatch:
    timings_ms: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def time(self, stage: str, fn: Callable, *args):
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.timings_ms[stage] = round((time.perf_counter() - t0) * 1e3, 1)

    def total(self) -> dict[str, float]:
        return {**self.timings_ms, "total": round((time.perf_counter() - self.started) * 1e3, 1)}


@dataclass(frozen=True)
class Library:
    """What the stages need from the catalog and the retriever, nothing more."""

    get: Callable[[str], Document | None]
    search: Callable[..., list[Hit]]


class AskPipeline:
    def __init__(self, retrieve: RetrieveStage, embedder: Embedder, answerability: AnswerabilityStage,
                 checker: ClaimChecker, library: Library, link_for: LinkFor,
                 llm: Callable[[], object] | None = None, unverified: str = "drop") -> None:
        self.retrieve, self.embedder, self.answerability = retrieve, embedder, answerability
        self.checker, self.library, self.link_for = checker, library, link_for
        self.llm, self.unverified = llm, unverified

    def run(self, question: str, filters: SearchFilters | None = None, k: int = 6, mode: str = "hybrid",
            answer_mode: str = "extractive", on_token: Callable[[str], None] | None = None) -> Answer:
        clock = Stopwatch()
        filters = filters or SearchFilters()
        found = clock.time("retrieve", self.retrieve.run, question, filters, k, mode)
        evidence = clock.time("select", select_evidence, question, found.hits, self.embedder, found.question_vector)
        decision = clock.time("answerability", self.decide, question, found, evidence)
        draft = clock.time("compose", self.compose, question, found, evidence, answer_mode, on_token) \
            if decision.answerable else None
        notices = list(draft.warnings) if draft else []
        checked = draft.sentences if draft else []  # kept on a refusal too: every removed sentence is listed
        if draft is not None and not any(s.verified and s.shown for s in draft.sentences):
            draft = None  # nothing verified is left: refuse
        warnings = notices + (clock.time("currency", self.currency, found, evidence, draft) if draft
                              else currency.untrusted_warnings(found.hits, evidence.untrusted))
        return self.answer(found, evidence, decision, draft, warnings, answer_mode, clock, checked)

    # ------------------------------------------------------------ stages

    def decide(self, question: str, found: Retrieval, evidence: Evidence) -> Decision:
        """Answer or refuse. With the sentence MaxSim re-rank on, from the hits as fusion ranked them
        (`Retrieval.unreordered`): the refusal model was fitted on those, and re-ordering the first
        page must change which passages an answer quotes, not whether the library covers the question."""
        hits = found.hits
        if found.unreordered is not None and [h.chunk.chunk_id for h in found.unreordered] != \
                [h.chunk.chunk_id for h in hits]:
            hits = found.unreordered
            evidence = select_evidence(question, hits, self.embedder, found.question_vector)
        return self.answerability.run(question, hits, evidence, found.trace)

    def compose(self, question: str, found: Retrieval, evidence: Evidence, answer_mode: str, on_token) -> Draft:
        extractive = compose_extractive(evidence.picks, found.hits, self.link_for)
        if answer_mode != "generative" or self.llm is None:
            return extractive
        usable = [h for i, h in enumerate(found.hits) if i not in evidence.untrusted]
        try:
            llm = self.llm()
            reply = read_reply(generate(question, usable, llm, on_token), len(usable))
        except LLMError as exc:
            log.warning("generative answer failed, extractive fallback: %s", exc)
            return _fallback(extractive, exc.notice)
        except (KBError, OSError) as exc:
            log.warning("generative answer failed, extractive fallback: %s", exc)
            return _fallback(extractive, "The generative model failed, so this is the extractive answer.")
        if reply.not_covered or not reply.sentences:
            return _fallback(extractive, "The generative model declined to answer, so this is the extractive answer.")
        return verify_generated(reply.sentences, usable, self.checker, self.link_for, self.unverified,
                                getattr(llm, "name", "llm"))

    def currency(self, found: Retrieval, evidence: Evidence, draft: Draft) -> list[str]:
        get = self.library.get
        docs = {c.doc_id: get(c.doc_id) for c in draft.citations}
        docs.update({d.superseded_by: get(d.superseded_by) for d in list(docs.values()) if d and d.superseded_by})
        return (currency.citation_warnings(draft.citations, {k: v for k, v in docs.items() if v})
                + currency.superseded_matches(found.hits, found.superseded, draft.citations, get)
                + currency.newer_guidance_conflicts(draft.citations, self.checker, self.library.search, get)
                + currency.untrusted_warnings(found.hits, evidence.untrusted))

    def answer(self, found: Retrieval, evidence: Evidence, decision: Decision, draft: Draft | None,
               warnings: list[str], answer_mode: str, clock: Stopwatch, sentences: list[SentenceCheck]) -> Answer:
        closest = closest_documents(found.hits, self.link_for)
        return Answer(
            question=found.question,
            answer=draft.text if draft else REFUSAL,
            answerable=draft is not None,
            citations=draft.citations if draft else [],
            warnings=warnings,
            closest_documents=closest,
            evidence_score=round(evidence.score, 4),
            hits=found.hits,
            mode=draft.mode if draft else answer_mode,
            sentences=sentences,
            trace=found.trace,
            answerability={**decision.features, "p_answerable": decision.probability},
            timings_ms=clock.total(),
        )


def _fallback(extractive: Draft, notice: str) -> Draft:
    extractive.warnings.append(notice)
    return extractive


def closest_documents(hits: list[Hit], link_for: LinkFor, n: int = 3) -> list[dict]:
    out, seen = [], set()
    for h in hits:
        if h.chunk.doc_id in seen:
            continue
        seen.add(h.chunk.doc_id)
        out.append({"doc_id": h.chunk.doc_id, "title": h.chunk.title, "section": h.chunk.heading_path,
                    "link": link_for(h.chunk)})
        if len(out) == n:
            break
    return out
