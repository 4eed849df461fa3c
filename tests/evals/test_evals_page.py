"""The Evals page lists runs and drills into a question (AppTest, an empty KB, a fake run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[2] / "app"
PAGE = str(APP_DIR / "pages" / "4_Evals.py")


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    from evals import paths, report

    runs = tmp_path / "runs"
    run_dir = runs / "20260101-000000"
    run_dir.mkdir(parents=True)
    summary = {"n": 1, "retrieval": {"hybrid": {"doc_recall@1": 1.0}}, "answers": {"pass_rate": 0.0}}
    run = {"run_id": run_dir.name, "created": "2026-01-01T00:00:00", "mode": "extractive", "suites": {"golden": summary}}
    rec = {"suite": "golden", "id": "q1", "kind": "answerable", "question": "How often must lone workers check in?",
           "gold": {"gold_doc_ids": ["lone-working-policy-2024"]}, "passed": False, "reasons": ["no currency warning"],
           "retrieval": {"hybrid": {"metrics": {"doc_recall@1": 1.0}, "hits": [{"doc_id": "lone-working-policy-2024",
                                                                                 "section": "5", "text": "Every hour."}]}},
           "answer": {"text": "Every hour. [1]", "answerable": True}, "scores": {}, "latency_ms": {"ask": 10.0}}
    (run_dir / "metrics.json").write_text(json.dumps(run))
    (run_dir / "questions.jsonl").write_text(json.dumps(rec) + "\n")
    (run_dir / "report.html").write_text(report.render_html(run, [rec]))
    monkeypatch.setattr(paths, "RUNS", runs)
    monkeypatch.setenv("KB_DIR", str(tmp_path / "kb"))
    monkeypatch.setenv("KB_CONFIG", str(tmp_path / "kb.toml"))
    (tmp_path / "kb.toml").write_text("")
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    import shared

    shared.get_kb()  # pages open the KB in the background: wait for it here
    return run_dir


@pytest.mark.slow
def test_evals_page_lists_runs_and_explains_a_failure(fake_run):
    from streamlit.testing.v1 import AppTest

    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    assert any("FAIL" in e.value and "no currency warning" in e.value for e in at.error)
    assert at.selectbox[-1].options  # a question to drill into
