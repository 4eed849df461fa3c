"""The golden suite as a regression gate: a fresh KB from corpus/, every golden question,
and each threshold in evals/thresholds.toml. Falling below one fails the test suite."""

from __future__ import annotations

import pytest

from evals.golden import golden_kb, load_cases
from evals.golden_run import aggregate, run_golden
from evals.runner import check_gate, load_thresholds


@pytest.fixture(scope="module")
def golden_summary(tmp_path_factory, monkeypatch_module):
    cache = tmp_path_factory.mktemp("golden-cache")
    monkeypatch_module.setattr("evals.golden.CACHE", cache)  # a fresh build, never a stale cache
    kb = golden_kb()
    try:
        records = run_golden(kb, load_cases(), modes=("hybrid",))
    finally:
        kb.close()
    return aggregate(records)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_thresholds_are_real():
    thresholds = load_thresholds()
    assert len(thresholds) >= 10
    assert all(v > 0 for v in thresholds.values())


@pytest.mark.slow
def test_golden_gate(golden_summary):
    rows = check_gate(golden_summary)
    failed = [f"{r['metric']} = {r['value']} (needs {'<=' if r['kind'] == 'max' else '>='} {r['threshold']})"
              for r in rows if not r["ok"]]
    assert not failed, "golden gate failed: " + "; ".join(failed)
