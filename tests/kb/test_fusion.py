import pytest

from kb.fusion import cap_per_group, convex_combination, min_max, peakedness, reciprocal_rank_fusion


def test_rrf_hand_computed_and_weights():
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60))
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    weighted = reciprocal_rank_fusion([["a"], ["c"]], k=1, weights=[2.0, 1.0])
    assert weighted == [("a", 1.0), ("c", 0.5)]
    with pytest.raises(ValueError, match="weights for"):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 1.0])


def test_min_max():
    assert min_max([3.0, 1.0, 2.0]) == [1.0, 0.0, 0.5]
    assert min_max([2.0, 2.0]) == [1.0, 1.0]
    assert min_max([]) == []


def test_peakedness_sharp_vs_flat():
    assert peakedness([1.0, 0.2, 0.1, 0.0]) == pytest.approx((1.0 - 0.1) / 1.0)
    assert peakedness([1.0, 0.9, 0.8]) == pytest.approx((1.0 - 0.85) / 0.2)
    assert peakedness([0.5, 0.5, 0.5]) == 0.0
    assert peakedness([1.0, 0.0]) == 0.0  # too short to judge


def test_convex_combination_hand_computed():
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]  # normalised 1, .5, 0
    sparse = [("b", 10.0), ("d", 0.0)]  # normalised 1, 0
    fused = dict(convex_combination([dense, sparse], [0.6, 0.4]))
    assert fused["a"] == pytest.approx(0.6)
    assert fused["b"] == pytest.approx(0.6 * 0.5 + 0.4)
    assert fused["c"] == 0.0 and fused["d"] == 0.0
    assert [i for i, _ in convex_combination([dense, sparse], [0.6, 0.4])][:2] == ["b", "a"]
    with pytest.raises(ValueError, match="non-negative"):
        convex_combination([dense], [-1.0])


def test_cap_per_group():
    assert cap_per_group(["a", "b", "c"], {"a": "x", "b": "x", "c": "y"}, 1) == ["a", "c"]
    assert cap_per_group(["a", "b"], {"a": "x", "b": "x"}, 0) == ["a", "b"]


def test_relative_gap_hand_computed():
    from kb.fusion import relative_gap

    assert relative_gap([10.0, 8.0, 5.0], depth=3) == pytest.approx(0.5)
    assert relative_gap([10.0, 8.0, 5.0], depth=2) == pytest.approx(0.2)
    assert relative_gap([0.0, 0.0]) == 0.0 and relative_gap([1.0]) == 0.0


def test_adaptive_weight_follows_the_more_decisive_retriever():
    from kb.fusion import adaptive_convex_fusion, adaptive_dense_weight

    flat_dense, peaked_bm25 = [0.80, 0.79, 0.78], [20.0, 5.0, 4.0]
    # gaps: dense (0.80-0.78)/0.80 = 0.025, bm25 (20-4)/20 = 0.8 -> a = 1.5*0.025 / (1.5*0.025 + 0.8)
    a = adaptive_dense_weight(flat_dense, peaked_bm25, dense_prior=1.5, depth=3)
    assert a == pytest.approx(0.0375 / 0.8375)
    assert adaptive_dense_weight([1.0, 1.0], [1.0, 1.0], dense_prior=1.5) == pytest.approx(0.6)  # no gaps: prior
    with pytest.raises(ValueError, match="dense_prior"):
        adaptive_dense_weight([1.0], [1.0], dense_prior=-1)
    fused = adaptive_convex_fusion([("d1", 0.80), ("d2", 0.79), ("d3", 0.78)],
                                   [("s1", 20.0), ("s2", 5.0), ("s3", 4.0)], 1.5, 3)
    assert fused[0][0] == "s1"  # the decisive BM25 top wins


def test_retriever_config_rejects_unknown_fusion():
    from kb.retrieval import RetrievalConfig

    with pytest.raises(ValueError, match="unknown fusion"):
        RetrievalConfig(fusion="magic")
