import datetime as dt
import json

import pytest

from evals import charts, report, runner
from evals.golden import GoldenCase
from evals.golden_run import calibrate_threshold, chunk_relevant, faithfulness_of, score_answer
from kb.records import Answer, Chunk, Citation, DocType, Hit


def _chunk(doc_id: str, text: str, page: int | None = None) -> Chunk:
    return Chunk(chunk_id=f"{doc_id}-c", doc_id=doc_id, version="v", ordinal=0, text=text, char_start=0,
                 char_end=len(text), token_count=5, title=doc_id, doc_type=DocType.guideline, source_path=doc_id,
                 page_start=page, page_end=page)


def _answer(text: str, cites: list[tuple[str, str]], hits: list[Hit], warnings=(), answerable=True) -> Answer:
    citations = [Citation(n=i, doc_id=d, version="v", chunk_id=f"{d}-c", title=d, source_path=d, section="",
                          quote=q) for i, (d, q) in enumerate(cites, start=1)]
    return Answer(question="q", answer=text, answerable=answerable, citations=citations, warnings=list(warnings),
                  hits=hits, evidence_score=0.6)


CASE = GoldenCase(id="x", question="q", kind="stale", gold_doc_ids=["new"], key_phrases=["72 hours"],
                  reference_answer="Start within 72 hours.")


def test_chunk_relevant_by_phrase_or_page():
    assert chunk_relevant(Hit(chunk=_chunk("new", "Start within 72 hours."), score=1), CASE)
    assert not chunk_relevant(Hit(chunk=_chunk("old", "Start within 72 hours."), score=1), CASE)
    paged = CASE.model_copy(update={"gold_pages": [3], "key_phrases": ["zzz"]})
    assert chunk_relevant(Hit(chunk=_chunk("new", "other", page=3), score=1), paged)


def test_stale_case_passes_only_with_current_citation_and_warning():
    hit = Hit(chunk=_chunk("new", "PEP: Start within 72 hours. More."), score=1)
    good = _answer("Start within 72 hours. [1]", [("new", "Start within 72 hours.")], [hit], warnings=["w"])
    scores, passed, reasons = score_answer(good, CASE, generative=False)
    assert passed and not reasons
    assert scores["faithfulness"] == 1.0 and scores["key_phrase_recall"] == 1.0 and scores["token_f1"] == 1.0
    _, passed, reasons = score_answer(good.model_copy(update={"warnings": []}), CASE, generative=False)
    assert not passed and reasons == ["no currency warning"]
    refused = good.model_copy(update={"answerable": False, "citations": []})
    _, passed, reasons = score_answer(refused, CASE, generative=False)
    assert not passed and "refused" in reasons[0]


def test_unanswerable_passes_on_refusal():
    case = GoldenCase(id="u", question="q", kind="unanswerable")
    assert score_answer(_answer("no", [], [], answerable=False), case, False)[1]
    assert not score_answer(_answer("yes [1]", [("a", "yes")], []), case, False)[1]


def test_faithfulness_extractive_flags_quotes_not_in_chunk():
    hit = Hit(chunk=_chunk("new", "Alpha beta gamma."), score=1)
    ans = _answer("Alpha beta gamma. [1] Made up claim. [2]", [("new", "Alpha beta gamma."), ("new", "Made up claim.")],
                  [hit])
    assert faithfulness_of(ans, generative=False) == 0.5


def test_calibrate_threshold_separates_kinds():
    recs = [{"kind": "answerable", "answer": {"evidence_score": s}} for s in (0.6, 0.7, 0.8)]
    recs += [{"kind": "unanswerable", "answer": {"evidence_score": s}} for s in (0.3, 0.4, 0.65)]
    cal = calibrate_threshold(recs, current=0.45)
    # refuse below 0.5: tp 2, fp 0, fn 1 -> F1 4/5; below 0.675: tp 3, fp 1 (0.6), fn 0 -> F1 6/7
    assert cal["threshold"] == pytest.approx(0.675)
    assert cal["refusal_f1"] == pytest.approx(6 / 7, abs=1e-4)
    assert cal["refusal_recall"] == 1.0 and cal["refusal_precision"] == 0.75


def test_gate_minima_and_latency_maxima():
    summary = {"answers": {"pass_rate": 0.8}, "latency_ms": {"ask_p50": 120.0}}
    rows = runner.check_gate(summary, {"answers.pass_rate": 0.7, "latency_ms.ask_p50": 100.0, "answers.nope": 1})
    assert [r["ok"] for r in rows] == [True, False, False]


def test_compare_lists_deltas_and_pass_to_fail(tmp_path):
    before = tmp_path / "r1"
    before.mkdir()
    (before / "metrics.json").write_text(json.dumps({"run_id": "r1", "suites": {"golden": {"answers": {"pass_rate": 1.0}}}}))
    (before / "questions.jsonl").write_text(json.dumps({"suite": "golden", "id": "q1", "question": "?", "passed": True}) + "\n")
    after = {"run_id": "r2", "suites": {"golden": {"answers": {"pass_rate": 0.5}}}}
    recs = [{"suite": "golden", "id": "q1", "question": "?", "passed": False, "reasons": ["why"]}]
    cmp = runner.compare_runs(after, recs, before)
    assert cmp["deltas"] == [{"metric": "golden.answers.pass_rate", "before": 1.0, "after": 0.5, "delta": -0.5}]
    assert cmp["regressions"][0]["id"] == "q1"


def test_reports_are_self_contained_with_svg():
    summary = {"n": 1, "retrieval": {"hybrid": {"passage_recall@1": 0.3, "passage_recall@10": 0.8},
                                     "bm25": {"passage_recall@1": 0.2, "passage_recall@10": 0.7}},
               "latency_ms": {"search_hybrid_p50": 5.0}}
    run = {"run_id": "r", "created": dt.date.today().isoformat(), "mode": "extractive", "suites": {"medquad": summary}}
    recs = [{"suite": "medquad", "id": "1", "kind": "x", "question": "q", "passed": True, "reasons": [],
             "latency_ms": {"hybrid": 5.0}}]
    html = report.render_html(run, recs)
    assert "<svg" in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "<script" not in html
    md = report.render_markdown(run)
    assert "| passage_recall@1 | 0.300 | 0.200 |" in md


def test_the_checker_suite_report_renders_without_latencies():
    """`kb eval --suite checker` records are claims, not questions: no latency_ms (it crashed the HTML report)."""
    summary = {"n": 2, "checker": {"wrong_caught": 1.0}}
    run = {"run_id": "r", "created": dt.date.today().isoformat(), "mode": "extractive", "suites": {"checker": summary}}
    recs = [{"suite": "checker", "id": "c1", "kind": "number", "question": "claim", "passed": True, "reasons": []}]
    assert "<svg" in report.render_html(run, recs) or "checker" in report.render_html(run, recs)
    assert "wrong_caught" in report.render_markdown(run)


def test_charts_handle_empty_input():
    assert "no data" in charts.histogram([], "t")
    assert charts.curves({"a": [(1, 0.5), (10, 0.9)]}, "c").startswith("<svg")
