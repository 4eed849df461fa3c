"""The knowledge base as one object: catalog, embedder, store, retrieval and answers.

Open it once per process (the app caches it), then call `search`, `ask` and the
curation operations. Ingestion (`ingest/`) writes through the same object.

>>> # with KnowledgeBase.open(load_settings()) as kb:
>>> #     answer = kb.ask("When should HIV PEP be started?")
"""

from __future__ import annotations

import threading
import time
from functools import cached_property
from urllib.parse import quote

from kb.answer import compose, select_evidence
from kb.catalog import Catalog
from kb.currency import citation_warnings, superseded_match_warning
from kb.embedder import Embedder, open_embedder
from kb.errors import KBError
from kb.records import Answer, Chunk, DocStatus, Document, Hit, SearchFilters
from kb.retrieval import HybridRetriever, Mode, RetrievalConfig, chunk_from_payload
from kb.settings import Settings
from kb.store import PointFilter, VectorStore, open_store

# How much less similar (cosine) superseded guidance may be than the best current passage and
# still earn an "older guidance also matches" warning, when its replacement is cited.
SUPERSEDED_MARGIN = 0.08

REFUSAL = (
    "The library does not cover this question well enough to answer it. "
    "The closest documents are listed below; an OH professional can help further."
)


class KnowledgeBase:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings
        self.settings.kb_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = catalog or Catalog(settings.catalog_path)
        self._embedder = embedder
        self._store = store
        self._open_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, **kwargs) -> KnowledgeBase:
        return cls(settings, **kwargs)

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self.catalog.close()

    # -------------------------------------------------------------- components

    @property
    def embedder(self) -> Embedder:
        with self._open_lock:
            if self._embedder is None:
                self._embedder = open_embedder(self.settings)
            return self._embedder

    @property
    def store(self) -> VectorStore:
        emb = self.embedder
        with self._open_lock:
            if self._store is None:
                self._store = open_store(self.settings, emb.dim)
            return self._store

    @cached_property
    def llm(self):
        from kb.errors import ConfigError
        from kb.llm import open_llm

        llm = open_llm(self.settings)
        if llm is None:
            raise ConfigError("Generative answers need KB_LLM=openai or ollama (see README).")
        return llm

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(
            self.store, self.embedder, self.catalog, RetrievalConfig.from_settings(self.settings)
        )

    # -------------------------------------------------------------- links

    def link_for(self, chunk: Chunk) -> str:
        return f"{self.settings.base_url}/Library?doc={quote(chunk.doc_id)}&chunk={quote(chunk.chunk_id)}"

    # -------------------------------------------------------------- search and ask

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        return self.retriever.search(query, k or self.settings.top_k, filters, mode)

    def ask(
        self,
        question: str,
        filters: SearchFilters | None = None,
        k: int = 6,
        mode: Mode = "hybrid",
        log: bool = False,
        answer_mode: str | None = None,
    ) -> Answer:
        """Answer with citations. `answer_mode` is "extractive" or "generative"
        (default: generative when an LLM is configured, else extractive)."""
        if not question.strip():
            raise KBError("The question is empty. Type a question about the OH library.")
        filters = filters or SearchFilters()
        t0 = time.perf_counter()
        qv = self.embedder.embed_query(question)
        hits = self.retriever.search(question, k, filters, mode, query_vector=qv)
        t1 = time.perf_counter()
        extract = select_evidence(question, hits, self.embedder, question_vector=qv)
        t2 = time.perf_counter()
        docs = {d.doc_id: d for d in self._docs_for(h.chunk.doc_id for h in hits)}
        closest = self._closest(hits, docs)
        answerable = bool(extract.picks) and extract.evidence >= self.settings.answer_threshold
        answer_mode = answer_mode or ("extractive" if self.settings.llm == "none" else "generative")
        gen_warnings: list[str] = []
        if answerable and answer_mode == "generative":
            from kb.generate import generate_answer

            text, citations, gen_warnings, answerable = generate_answer(
                question, hits, self.llm, self.link_for, self.embedder
            )
        elif answerable:
            text, citations = compose(extract.picks, hits, self.link_for)
        if answerable:
            warnings = gen_warnings + citation_warnings(citations, self._with_successors(docs))
            if not filters.include_superseded:
                warnings += self._superseded_matches(question, qv, filters, hits, citations)
        else:
            text, citations, warnings = REFUSAL, [], gen_warnings
        t3 = time.perf_counter()
        answer = Answer(
            question=question,
            answer=text,
            answerable=answerable,
            citations=citations,
            warnings=warnings,
            closest_documents=closest,
            evidence_score=round(extract.evidence, 4),
            hits=hits,
            mode=answer_mode,
            timings_ms={
                "retrieve": round((t1 - t0) * 1e3, 1),
                "select": round((t2 - t1) * 1e3, 1),
                "total": round((t3 - t0) * 1e3, 1),
            },
        )
        if log:
            answer = answer.model_copy(
                update={"id": self.catalog.log_answer(question, answerable, answer.model_dump_json())}
            )
        return answer

    def _docs_for(self, doc_ids) -> list[Document]:
        return [d for d in (self.catalog.get(i) for i in dict.fromkeys(doc_ids)) if d is not None]

    def _with_successors(self, docs: dict[str, Document]) -> dict[str, Document]:
        out = dict(docs)
        for d in docs.values():
            if d.superseded_by and d.superseded_by not in out:
                newer = self.catalog.get(d.superseded_by)
                if newer:
                    out[newer.doc_id] = newer
        return out

    def _closest(self, hits: list[Hit], docs: dict[str, Document]) -> list[dict]:
        out, seen = [], set()
        for h in hits:
            if h.chunk.doc_id in seen:
                continue
            seen.add(h.chunk.doc_id)
            out.append(
                {
                    "doc_id": h.chunk.doc_id,
                    "title": h.chunk.title,
                    "section": h.chunk.heading_path,
                    "link": self.link_for(h.chunk),
                }
            )
            if len(out) == 3:
                break
        return out

    def _superseded_matches(self, question, qv, filters, hits, citations) -> list[str]:
        """Warn when superseded guidance matches the question about as well as the current answer.

        Fused scores from two searches are not comparable, so this compares absolute dense
        cosines: a superseded document warns when its replacement is cited and it is nearly as
        close to the question, or when it is closer than anything current.
        """
        current = [h.dense_score for h in hits if h.dense_score is not None]
        if not current:
            return []
        best_current = max(current)
        old_hits = self.retriever.search(
            question, 3, filters, "dense", query_vector=qv, statuses=(DocStatus.superseded.value,)
        )
        cited = {c.doc_id for c in citations}
        out: list[str] = []
        for h in old_hits:
            old = self.catalog.get(h.chunk.doc_id)
            if old is None or old.status != DocStatus.superseded or h.dense_score is None:
                continue
            replaced_and_cited = old.superseded_by in cited
            if (replaced_and_cited and h.dense_score >= best_current - SUPERSEDED_MARGIN) or (
                h.dense_score > best_current
            ):
                msg = superseded_match_warning(old, self.catalog.get(old.superseded_by or ""))
                if msg not in out:
                    out.append(msg)
        return out[:2]

    # -------------------------------------------------------------- library

    def documents(self, statuses=None) -> list[Document]:
        return self.catalog.documents(statuses)

    def document(self, doc_id: str) -> Document:
        doc = self.catalog.get(doc_id)
        if doc is None:
            raise KBError(f"No document with id {doc_id!r}. Run `kb docs list` to see the ids.")
        return doc

    def chunks(self, doc_id: str) -> list[Chunk]:
        doc = self.document(doc_id)
        points = self.store.scroll(PointFilter(doc_ids=(doc_id,), versions=(doc.version,)))
        chunks = [chunk_from_payload(p.payload) for p in points]
        return sorted(chunks, key=lambda c: c.ordinal)

    def stats(self) -> dict:
        docs = self.catalog.documents()
        by_status: dict[str, int] = {}
        for d in docs:
            by_status[d.status.value] = by_status.get(d.status.value, 0) + 1
        return {"documents": len(docs), "by_status": by_status, "chunks": self.store.count()}
