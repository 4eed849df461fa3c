"""Rank and score fusion as pure functions.

The hybrid default is `adaptive_convex_fusion`: min-max normalised scores combined with a
per-query dense weight from each retriever's score gap (see the functions for sources).
Weighted RRF and a fixed convex combination remain selectable (setting `fusion`).

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


# ---------------------------------------------------------------- score-based fusion


def min_max(scores: Sequence[float]) -> list[float]:
    """Min-max normalise scores to [0, 1]; all-equal scores map to 1."""
    if not scores:
        return []
    lo, hi = min(scores), max(scores)
    if hi - lo <= 1e-12:
        return [1.0] * len(scores)
    return [(s - lo) / (hi - lo) for s in scores]


def peakedness(scores: Sequence[float], depth: int = 10) -> float:
    """How sharply a ranking's top score stands out from the rest of its top `depth`.

    (s1 - mean(s2..s_depth)) / (s1 - s_depth), in [0, 1]: near 1 when one hit clearly wins
    (a confident retriever), near 0 when the top scores are flat. A score-distribution
    query-performance predictor in the spirit of NQC (Shtok et al., TOIS 2012) and of the
    per-query dynamic alpha of DAT (Hsu & Tzeng, 2025), without an LLM judge.
    """
    xs = sorted(scores, reverse=True)[:depth]
    if len(xs) < 3 or xs[0] - xs[-1] <= 1e-12:
        return 0.0
    rest = xs[1:]
    return (xs[0] - sum(rest) / len(rest)) / (xs[0] - xs[-1])


def convex_combination(
    rankings: Sequence[Sequence[tuple[str, float]]],
    weights: Sequence[float],
) -> list[tuple[str, float]]:
    """Convex combination of min-max normalised scores (Bruch, Gai & Ingber, "An Analysis of
    Fusion Functions for Hybrid Retrieval", ACM TOIS 2023): score(d) = sum_i w_i * norm_i(d).

    An item missing from a ranking gets 0 from it (below that ranking's lowest candidate).
    Ties keep first appearance. Weights need not sum to 1.
    """
    if len(weights) != len(rankings):
        raise ValueError(f"got {len(weights)} weights for {len(rankings)} rankings")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        normed = min_max([s for _, s in ranking])
        for (item, _), value in zip(ranking, normed, strict=True):
            scores[item] = scores.get(item, 0.0) + weight * value
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def relative_gap(scores: Sequence[float], depth: int = 10) -> float:
    """(s1 - s_depth) / s1 for a best-first list of non-negative scores, in [0, 1].

    A query-performance cue from the score distribution alone: a retriever whose top hit
    stands far above its depth-th hit is confident about this query (cf. the score-drop and
    WIG predictors, Zhou & Croft SIGIR 2007; NQC, Shtok et al. TOIS 2012). 0 when undefined.
    """
    xs = list(scores[:depth])
    if len(xs) < 2 or xs[0] <= 0:
        return 0.0
    return max(0.0, min(1.0, (xs[0] - xs[-1]) / xs[0]))


def adaptive_dense_weight(
    dense_scores: Sequence[float],
    sparse_scores: Sequence[float],
    dense_prior: float = 1.5,
    depth: int = 10,
    sparse_confident: bool = True,
) -> float:
    """Per-query weight of the dense ranking in [0, 1]: each retriever's confidence
    (`relative_gap`) scaled by a prior, normalised: a = p*g_d / (p*g_d + g_s).

    A per-query alpha in the spirit of DAT (Hsu & Tzeng, "Dynamic Alpha Tuning for Hybrid
    Retrieval", 2025), with score-distribution confidence in place of an LLM judge.
    Falls back to p / (p + 1) when neither retriever shows a gap. `sparse_confident=False`
    counts BM25's gap as 0 (its top hits matched the query only through their titles:
    `HybridRetriever.title_only_bm25`).
    """
    if dense_prior < 0:
        raise ValueError("dense_prior must be non-negative")
    gd = dense_prior * relative_gap(dense_scores, depth)
    gs = relative_gap(sparse_scores, depth) if sparse_confident else 0.0
    if gd + gs <= 0:
        return dense_prior / (dense_prior + 1.0)
    return gd / (gd + gs)


def adaptive_convex_fusion(
    dense: Sequence[tuple[str, float]],
    sparse: Sequence[tuple[str, float]],
    dense_prior: float = 1.5,
    depth: int = 10,
    sparse_confident: bool = True,
) -> list[tuple[str, float]]:
    """`convex_combination` of dense and BM25 with the per-query `adaptive_dense_weight`.

    Why: rank-based RRF with fixed weights gives a weak retriever an equal say and throws away
    how decisive each retriever is. On our dev splits dense wins on MedQuAD and BM25 on COVID-QA;
    a per-query weight from score gaps beats the better single retriever on both.
    """
    alpha = adaptive_dense_weight([s for _, s in dense], [s for _, s in sparse], dense_prior, depth, sparse_confident)
    return convex_combination([dense, sparse], [alpha, 1.0 - alpha])


def maxsim_rerank(
    ranked: Sequence[tuple[str, float]],
    maxsim: dict[str, float],
    weight: float,
    depth: int = 30,
    reorder: int = 10,
) -> list[tuple[str, float]]:
    """Re-order the fused top `reorder` by fused score + `weight` * sentence MaxSim.

    Both scores are min-max normalised over the fused top `depth` (which sets their scales), and
    only the first `reorder` change places, among themselves: MaxSim is a precision signal for
    the first page, and what reaches the top `reorder` at all stays the fusion's (recall). Every
    other item keeps its fused score, normalised the same way, so the list stays sorted and
    ties keep the fused order. A candidate without a MaxSim value counts as the lowest one.
    MaxSim (ColBERT's late interaction, Khattab & Zaharia, SIGIR 2020, at sentence rather than
    token grain) is a chunk's best sentence's cosine with the question: a long chunk whose one
    sentence answers is not diluted by the rest.
    """
    ranked = list(ranked)
    top = ranked[:depth]
    if weight <= 0 or len(top) < 2:
        return ranked
    scores = [s for _, s in top]
    lo, hi = min(scores), max(scores)
    span = hi - lo if hi - lo > 1e-12 else 1.0
    ms_lo = min(maxsim.values(), default=0.0)
    ms = min_max([maxsim.get(pid, ms_lo) for pid, _ in top])
    reorder = min(reorder, len(top))
    head = [(pid, (s - lo) / span + weight * ms[i]) for i, (pid, s) in enumerate(ranked[:reorder])]
    order = {pid: i for i, (pid, _) in enumerate(head)}
    head.sort(key=lambda x: (-x[1], order[x[0]]))
    return head + [(pid, (s - lo) / span) for pid, s in ranked[reorder:]]
