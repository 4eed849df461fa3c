"""Rank fusion as pure functions.

Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009):
    score(d) = sum_i  w_i / (k + rank_i(d)),  ranks starting at 1.

>>> reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)
[('b', 0.03252247488101534), ('a', 0.01639344262295082), ('c', 0.016129032258064516)]
"""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]],
    k: int = 60,
    weights: Sequence[float] | None = None,
) -> list[tuple[str, float]]:
    """Fuse ranked id lists; returns (id, score) best first, ties broken by first appearance."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"got {len(weights)} weights for {len(rankings)} rankings")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    scores: dict[str, float] = {}
    first_seen: dict[str, int] = {}
    position = 0
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            if item not in first_seen:
                first_seen[item] = position
                position += 1
    return sorted(scores.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))


def cap_per_group(items: Sequence[str], group_of: dict[str, str], cap: int) -> list[str]:
    """Keep at most `cap` items from each group, preserving order."""
    if cap <= 0:
        return list(items)
    counts: dict[str, int] = {}
    out = []
    for item in items:
        g = group_of[item]
        if counts.get(g, 0) < cap:
            counts[g] = counts.get(g, 0) + 1
            out.append(item)
    return out
