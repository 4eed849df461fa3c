import math

import pytest

from evals import metrics as m


def test_recall_hit_mrr_ndcg_hand_computed():
    ranked = ["a", "b", "c", "d"]
    assert m.recall_at_k(ranked, {"b", "d"}, 1) == 0.0
    assert m.recall_at_k(ranked, {"b", "d"}, 2) == 0.5
    assert m.recall_at_k(ranked, {"b", "d"}, 4) == 1.0
    assert m.recall_at_k(ranked, set(), 4) == 0.0
    assert m.hit_at_k(ranked, {"c"}, 2) == 0.0
    assert m.hit_at_k(ranked, {"c"}, 3) == 1.0
    assert m.mrr_at_k(ranked, {"c", "d"}, 10) == pytest.approx(1 / 3)
    assert m.mrr_at_k(ranked, {"d"}, 3) == 0.0
    # relevant at ranks 2 and 4 of 2 relevant: dcg = 1/log2(3) + 1/log2(5); idcg = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at_k(ranked, {"b", "d"}, 10) == pytest.approx(expected)
    assert m.ndcg_at_k(["a", "a"], {"a"}, 10) == 1.0  # repeated ids earn gain once


def test_dedupe_keeps_first():
    assert m.dedupe(["x", "y", "x", "z"]) == ["x", "y", "z"]


def test_flag_metrics():
    flags = [False, True, True]
    assert m.flags_recall_at_k(flags, 1) == 0.0
    assert m.flags_recall_at_k(flags, 2) == 1.0
    assert m.flags_mrr(flags) == 0.5
    assert m.flags_ndcg(flags, 10, 1) == 1.0  # two hits, one ideal: capped at 1
    assert m.flags_ndcg([False, True], 10, 1) == pytest.approx(1 / math.log2(3))


def test_pages_overlap():
    assert m.pages_overlap(3, 5, [4])
    assert m.pages_overlap(3, None, [3])
    assert not m.pages_overlap(3, 5, [6])
    assert not m.pages_overlap(None, None, [1])


def test_citation_precision_recall():
    assert m.citation_precision_recall(["a", "b", "a"], ["a"]) == (0.5, 1.0)
    assert m.citation_precision_recall(["a"], ["a", "c"]) == (1.0, 0.5)
    assert m.citation_precision_recall([], []) == (1.0, 1.0)
    assert m.citation_precision_recall([], ["a"]) == (0.0, 0.0)


def test_token_f1_and_normalize():
    assert m.normalize("The Cat, sat!") == "cat sat"
    assert m.token_f1("the cat sat", "cat sat down") == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))
    assert m.token_f1("", "") == 1.0
    assert m.token_f1("dog", "cat") == 0.0


def test_contains_span_and_key_phrases():
    assert m.contains_span("Start PEP within 72 hours.", "within 72 Hours")
    assert not m.contains_span("x", "")
    assert m.key_phrase_recall("Start PEP within 72 hours", ["72 hours", "PEP", "baseline test"]) == pytest.approx(2 / 3)
    assert m.key_phrase_recall("anything", []) == 1.0


def test_answer_sentences_and_extractive_support():
    ans = "Start within 72 hours. [1] Test at baseline. [2]"
    assert m.answer_sentences(ans) == [("Start within 72 hours.", [1]), ("Test at baseline.", [2])]
    chunk = "PEP: Start within 72 hours. Then rest."
    assert m.supported_extractive("Start within 72 hours.", ["Start within 72 hours."], [chunk])
    # quote not in the chunk it cites
    assert not m.supported_extractive("Start within 72 hours.", ["Start within 72 hours."], ["other"])
    # sentence does not carry the quote
    assert not m.supported_extractive("Start now.", ["Start within 72 hours."], [chunk])


def test_lexical_support_and_faithfulness():
    src = ["Hepatitis B boosters are not needed for responders."]
    assert m.lexical_support("Boosters are not needed for responders", src)
    assert not m.lexical_support("Measles vaccine causes autism in adults", src)
    assert m.lexical_support("OK.", src)  # nothing to check
    assert m.faithfulness([True, False, True, True]) == 0.75
    assert m.faithfulness([]) == 1.0


def test_precision_recall_and_accuracy():
    pred = [True, True, False, False]
    act = [True, False, True, False]
    assert m.precision_recall(pred, act) == (0.5, 0.5)
    assert m.precision_recall([False], [False]) == (1.0, 1.0)
    with pytest.raises(ValueError, match="differ in length"):
        m.precision_recall([True], [])
    assert m.accuracy([True, False, True, True]) == 0.75
    assert m.accuracy([]) == 0.0


def test_percentile_and_mean():
    xs = [1.0, 2.0, 3.0, 4.0]
    assert m.percentile(xs, 50) == 2.5
    assert m.percentile(xs, 95) == pytest.approx(3.85)
    assert m.percentile([], 50) == 0.0
    with pytest.raises(ValueError, match="q must be"):
        m.percentile(xs, 101)
    assert m.mean([1, 2, 3]) == 2.0
    assert m.mean([]) == 0.0


def test_answer_sentences_marker_runs_and_uncited_tail():
    assert m.answer_sentences("A b. [1] C d [2][3]. Tail words") == [
        ("A b.", [1]),
        ("C d", [2, 3]),
        ("Tail words", []),
    ]
    assert m.answer_sentences("") == []


def test_strip_markers():
    assert m.strip_markers("Start within 72 hours. [1] Test [2][3].") == "Start within 72 hours. Test ."
