"""The knowledge base as one object: catalog, embedder, store, retrieval and answers.

Open it once per process (the app caches it), then call `search`, `ask` and the
curation operations. Ingestion (`ingest/`) writes through the same object.

>>> # with KnowledgeBase.open(load_settings()) as kb:
>>> #     answer = kb.ask("When should HIV PEP be started?")
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from urllib.parse import quote

from kb.ask import REFUSAL, AskPipeline, Library
from kb.ask.answerability import AnswerabilityModel, AnswerabilityStage, model_path
from kb.ask.retrieve import RetrieveStage
from kb.catalog import Catalog, open_catalog
from kb.embedder import Embedder, open_embedder
from kb.errors import KBError
from kb.mapping import chunk_from_payload
from kb.pii import pii_warnings, redact
from kb.records import Answer, Chunk, Document, Hit, SearchFilters
from kb.retrieval import HybridRetriever, Mode, RetrievalConfig
from kb.settings import Settings
from kb.store import PointFilter, VectorStore, open_store
from kb.verify import ClaimChecker, open_checker
from kb.vocabulary import add_vocabulary

__all__ = ["REFUSAL", "KnowledgeBase"]


class KnowledgeBase:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings
        self.settings.kb_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # the answer log is private
        if settings.extra.get("vocabulary"):
            add_vocabulary(settings.extra["vocabulary"])  # curators' synonyms and entities (kb.toml)
        self.catalog = catalog or open_catalog(settings)
        self._embedder = embedder
        self._store = store
        self._vector_cache = None  # kb.vector_cache.VectorCache, when this KB attached one
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
        if self._vector_cache is not None:  # the embedder may live on (shared): without the cache
            if self._embedder is not None and self._embedder.persistent is self._vector_cache:
                self._embedder.persistent = None
            self._vector_cache.close()
            self._vector_cache = None
        self.catalog.close()

    def warm_up(self) -> None:
        """Load now what the first question would otherwise wait for: the model, the store, and
        the word-frequency list the answerability features use (0.3 s on the first ask)."""
        self.embedder.embed_query("warm up")
        _ = self.store
        from kb.terms import rarity

        rarity("surveillance")

    # -------------------------------------------------------------- components

    @property
    def embedder(self) -> Embedder:
        with self._open_lock:
            if self._embedder is None:
                self._embedder = open_embedder(self.settings)
                if self.settings.sentence_vectors and self._embedder.persistent is None:
                    from kb.vector_cache import open_vector_cache

                    self._vector_cache = open_vector_cache(self.settings.kb_dir, self._embedder.name,
                                                           self._embedder.dim)
                    self._embedder.persistent = self._vector_cache
            return self._embedder

    @property
    def store(self) -> VectorStore:
        emb = self.embedder
        with self._open_lock:
            if self._store is None:
                self._store = open_store(self.settings, emb.dim, emb.name)
            return self._store

    @cached_property
    def llm(self):
        from kb.errors import ConfigError
        from kb.llm import open_llm

        llm = open_llm(self.settings)
        if llm is None:
            raise ConfigError("Generative answers need KB_LLM=openai, ollama or local (see README).")
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

    @cached_property
    def checker(self) -> ClaimChecker:
        return open_checker(self.settings, self.embedder, lambda: self.llm)

    @cached_property
    def pipeline(self) -> AskPipeline:
        return AskPipeline(
            RetrieveStage(self.retriever, self.embedder),
            self.embedder,
            AnswerabilityStage(self.settings.answer_threshold,
                               AnswerabilityModel.load(model_path(self.embedder.name))
                               if self.settings.refusal == "model" else None),
            self.checker,
            Library(get=self.catalog.get, search=self.retriever.search),
            self.link_for,
            llm=(lambda: self.llm) if self.settings.llm != "none" else None,
            unverified=getattr(self.settings, "unverified", "drop"),
        )

    def ask(
        self,
        question: str,
        filters: SearchFilters | None = None,
        k: int = 6,
        mode: Mode = "hybrid",
        log: bool = False,
        answer_mode: str | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer with citations. `answer_mode` is "extractive" or "generative"
        (default: generative when an LLM is configured, else extractive)."""
        if not question.strip():
            raise KBError("The question is empty. Type a question about the OH library.")
        answer_mode = answer_mode or ("extractive" if self.settings.llm == "none" else "generative")
        # Patient identifiers never reach search, an LLM or a log: the question is redacted first.
        pii = pii_warnings(question)
        answer = self.pipeline.run(redact(question) if pii else question, filters, k, mode, answer_mode, on_token)
        if pii:
            answer = answer.model_copy(update={"warnings": pii + answer.warnings})
        if log:
            answer = answer.model_copy(
                update={"id": self.catalog.log_answer(answer.question, answer.answerable, answer.model_dump_json())}
            )
        return answer

    # -------------------------------------------------------------- library

    def documents(self, statuses=None) -> list[Document]:
        return self.catalog.documents(statuses)

    def document(self, doc_id: str) -> Document:
        doc = self.catalog.get(doc_id)
        if doc is None:
            raise KBError(f"No document with id {doc_id!r}. Run `kb docs list` to see the ids.")
        return doc

    def chunks(self, doc_id: str, version: str | None = None) -> list[Chunk]:
        """The chunks of the live version, or of a kept old `version`, in order."""
        doc = self.document(doc_id)
        points = self.store.scroll(PointFilter(doc_ids=(doc_id,), versions=(version or doc.version,)))
        chunks = [chunk_from_payload(p.payload) for p in points]
        return sorted(chunks, key=lambda c: c.ordinal)

    def stats(self) -> dict:
        docs = self.catalog.documents()
        by_status: dict[str, int] = {}
        for d in docs:
            by_status[d.status.value] = by_status.get(d.status.value, 0) + 1
        return {"documents": len(docs), "by_status": by_status, "chunks": self.store.count()}
