"""The golden set is sound: sizes per kind, and every case checks out against the corpus."""

from __future__ import annotations

from collections import Counter

import pytest

from evals.golden import extract_text, load_cases, manifest_docs, validate_case


def test_golden_sizes():
    cases = load_cases()
    kinds = Counter(c.kind for c in cases)
    assert len(cases) >= 90
    assert kinds["answerable"] >= 60 and kinds["unanswerable"] >= 15 and kinds["stale"] >= 15
    assert len({c.id for c in cases}) == len(cases)


@pytest.mark.slow
def test_every_case_matches_the_corpus():
    docs = manifest_docs()
    for d in docs.values():
        extract_text(d)
    problems = {c.id: p for c in load_cases() if (p := validate_case(c, docs))}
    assert not problems, problems
