"""Offline fusion tuning: fetch each retriever's candidates once, then fuse in memory.

Used to compare fusion functions on the dev splits only; the reported numbers always come
from `KnowledgeBase.search` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kb.fusion import cap_per_group
from kb.records import SearchFilters
from kb.retrieval import to_point_filter
from kb.sparse import sparse_query
from kb.store import DENSE, SPARSE


@dataclass
class Candidates:
    dense: list[tuple[str, float]]
    sparse: list[tuple[str, float]]
    relevant: set[str]  # relevant point ids
    group: dict[str, str]  # point id -> doc id


def collect(kb, queries: Sequence[str], relevant: Callable[[int, dict], bool], depth: int = 100,
            progress=None) -> list[Candidates]:
    """Dense and BM25 candidate lists (depth each) per query; `relevant(i, payload)` marks gold."""
    where = to_point_filter(SearchFilters())
    vectors = kb.embedder.embed(list(queries))
    out = []
    for i, (q, qv) in enumerate(zip(queries, vectors, strict=True)):
        dense = kb.store.query(DENSE, qv, depth, where)
        sparse = kb.store.query(SPARSE, sparse_query(q), depth, where)
        rel, group = set(), {}
        for p in dense + sparse:
            group[p.id] = p.payload["doc_id"]
            if relevant(i, p.payload):
                rel.add(p.id)
        out.append(Candidates([(p.id, p.score) for p in dense], [(p.id, p.score) for p in sparse], rel, group))
        if progress:
            progress(i + 1, len(queries))
    return out


def evaluate(cands: list[Candidates], fuse: Callable[[Candidates], list[tuple[str, float]]],
             ks=(1, 3, 5, 10), cap: int = 3) -> dict[str, float]:
    hits = {k: 0 for k in ks}
    mrr = 0.0
    for c in cands:
        ranked = [pid for pid, _ in fuse(c)]
        ranked = cap_per_group(ranked, c.group, cap)
        for k in ks:
            hits[k] += any(p in c.relevant for p in ranked[:k])
        for i, p in enumerate(ranked[:10], start=1):
            if p in c.relevant:
                mrr += 1 / i
                break
    n = len(cands) or 1
    out = {f"r@{k}": hits[k] / n for k in ks}
    out["mrr@10"] = mrr / n
    return out
