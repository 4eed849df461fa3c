"""Retrieve: the question's hits, the trace, and the superseded guidance that matches it.

The superseded check is one dense query restricted to superseded documents (not a second
hybrid search): only its cosines are compared with the current hits'.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.embedder import Embedder
from kb.records import DocStatus, Hit, RetrievalTrace, SearchFilters
from kb.retrieval import HybridRetriever, Mode

SUPERSEDED_CANDIDATES = 3


@dataclass(frozen=True)
class Retrieval:
    question: str
    question_vector: list[float]
    hits: list[Hit]
    trace: RetrievalTrace
    superseded: list[Hit]  # dense matches among superseded documents (empty if they were searched)
    # the hits without the sentence MaxSim re-rank, when it ran (`Retrieved.unreordered`): refusal reads them
    unreordered: list[Hit] | None = None


class RetrieveStage:
    def __init__(self, retriever: HybridRetriever, embedder: Embedder) -> None:
        self.retriever = retriever
        self.embedder = embedder

    def run(self, question: str, filters: SearchFilters, k: int, mode: Mode) -> Retrieval:
        qv = self.embedder.embed_query(question)
        found = self.retriever.retrieve(question, k, filters, mode, query_vector=qv)
        superseded = [] if filters.include_superseded else self.retriever.dense_matches(
            qv, SUPERSEDED_CANDIDATES, filters, (DocStatus.superseded.value,))
        return Retrieval(question, qv, found.hits, found.trace, superseded, found.unreordered)
