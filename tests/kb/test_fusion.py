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
