"""The hybrid retriever as a llama-index `BaseRetriever`, for use in llama-index pipelines.

>>> # from kb.llama import KBRetriever
>>> # nodes = KBRetriever(kb, k=5).retrieve("hepatitis B non-responder")
>>> # nodes[0].node.metadata["doc_id"], nodes[0].score
"""

from __future__ import annotations

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from kb.records import Hit, SearchFilters


def hit_to_node(hit: Hit) -> NodeWithScore:
    c = hit.chunk
    metadata = {
        "doc_id": c.doc_id,
        "version": c.version,
        "title": c.title,
        "section": c.heading_path,
        "page_start": c.page_start,
        "page_end": c.page_end,
        "doc_type": c.doc_type.value,
        "status": c.status.value,
        "published": c.published.isoformat() if c.published else None,
        "review_due": c.review_due.isoformat() if c.review_due else None,
        "source_path": c.source_path,
    }
    node = TextNode(id_=c.chunk_id, text=c.text, metadata=metadata)
    return NodeWithScore(node=node, score=hit.score)


class KBRetriever(BaseRetriever):
    """Same retrieval as `kb search`: hybrid, live versions only, currency filters."""

    def __init__(self, kb, k: int = 5, filters: SearchFilters | None = None, mode: str = "hybrid") -> None:
        super().__init__()
        self._kb = kb
        self._k = k
        self._filters = filters
        self._mode = mode

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._kb.search(query_bundle.query_str, k=self._k, filters=self._filters, mode=self._mode)
        return [hit_to_node(h) for h in hits]
