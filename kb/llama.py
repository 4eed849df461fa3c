"""The hybrid retriever as a llama-index `BaseRetriever`, for use in llama-index pipelines.

>>> # from kb.llama import KBRetriever
>>> # nodes = KBRetriever(kb, k=5).retrieve("hepatitis B non-responder")
>>> # nodes[0].node.metadata["doc_id"], nodes[0].score
"""

from __future__ import annotations

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from kb.contract import hit_json
from kb.records import Hit, SearchFilters

# Fields of a `kb search --json` hit that are not node metadata.
_NOT_METADATA = {"text", "score", "chunk_id", "dense_rank", "bm25_rank"}


def hit_to_node(hit: Hit) -> NodeWithScore:
    """A node whose metadata is the CLI contract's hit fields (one mapping, in kb.contract)."""
    metadata = {k: v for k, v in hit_json(hit).items() if k not in _NOT_METADATA}
    node = TextNode(id_=hit.chunk.chunk_id, text=hit.chunk.text, metadata=metadata)
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
