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


def expanded_sparse_query(text: str, weight: float = 0.5) -> tuple[list[int], list[float]]:
    """The BM25 query plus the other names of its domain terms (`kb.vocabulary`), at `weight`.

    "Does a HCW need PEP?" also matches "post-exposure prophylaxis" and "healthcare workers";
    terms already in the query keep their full weight.
    """
    from kb.vocabulary import query_expansions

    indices, values = sparse_query(text)
    extra = query_expansions(text)
    if not extra or weight <= 0:
        return indices, values
    have = dict(zip(indices, values, strict=True))
    for i in sparse_query(" ".join(extra))[0]:
        have.setdefault(i, weight)
    return list(have), list(have.values())
