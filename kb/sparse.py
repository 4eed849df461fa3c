"""BM25 sparse vectors, computed on the client with Qdrant's own tokenizer and stemmer.

Both store backends index these vectors with the IDF modifier, so they rank alike.
"""

from __future__ import annotations

from functools import lru_cache

from qdrant_edge import Bm25, Bm25Config


@lru_cache(maxsize=1)
def _model() -> Bm25:
    return Bm25(Bm25Config(language="english", avg_len=180.0))


def sparse_document(text: str) -> tuple[list[int], list[float]]:
    vec = _model().embed_document(text)
    return list(vec.indices), list(vec.values)


def sparse_query(text: str) -> tuple[list[int], list[float]]:
    vec = _model().embed_query(text)
    return list(vec.indices), list(vec.values)
