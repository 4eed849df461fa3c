"""The checker on claims generated from the corpus (evals/checker_suite.py), with the real model.

At least 200 claims: true sentences and paraphrases must be supported, and number, unit and
negation perturbations must come out contradicted or unsupported.
"""

from __future__ import annotations

from collections import Counter

import pytest

from evals.calibrate_checker import passages_for
from evals.checker_suite import build_cases

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def suite(corpus_kb):
    docs = corpus_kb.documents(statuses=["current"])
    chunks = [c for d in docs if d.doc_type.value != "bulletin" for c in corpus_kb.chunks(d.doc_id)]
    cases = build_cases(chunks, per_kind=40)
    folders = {d.doc_id: d.source_path.split("/")[-2] for d in docs}
    verdicts = [corpus_kb.checker.check(c.claim, passages_for(corpus_kb, c, folders)).verdict for c in cases]
    return cases, verdicts


def _rate(suite, kinds, wanted):
    cases, verdicts = suite
    got = [v for c, v in zip(cases, verdicts, strict=True) if c.kind in kinds]
    assert got, kinds
    return sum(v in wanted for v in got) / len(got), Counter(got)


def test_the_suite_has_at_least_200_claims_of_every_kind(suite):
    cases, _ = suite
    kinds = Counter(c.kind for c in cases)
    assert len(cases) >= 200, kinds
    assert {"true", "number", "unit", "negation", "entity", "antonym", "offtopic"} <= set(kinds), kinds


@pytest.mark.parametrize("kind", ["number", "unit", "negation"])
def test_perturbations_are_caught(suite, kind):
    rate, counts = _rate(suite, {kind}, {"contradicted", "unsupported"})
    assert rate >= 0.95, (kind, counts)


def test_entity_and_antonym_swaps_are_mostly_caught(suite):
    rate, counts = _rate(suite, {"entity", "antonym"}, {"contradicted", "unsupported"})
    assert rate >= 0.85, counts


def test_true_claims_are_supported(suite):
    rate, counts = _rate(suite, {"true"}, {"supported"})
    assert rate >= 0.90, counts


def test_off_topic_claims_are_not_supported(suite):
    rate, counts = _rate(suite, {"offtopic"}, {"unsupported", "contradicted"})
    assert rate >= 0.95, counts
