"""The ask stages end to end on a small library with fakes (hash embedder, scripted LLM)."""

from __future__ import annotations

from kb.errors import KBError


def test_answer_keeps_the_trace_and_stage_timings(small_kb):
    a = small_kb.ask("When should PEP be started after the injury?")
    assert a.answerable
    assert a.trace is not None and a.trace.query.startswith("When should PEP") and a.trace.dense and a.trace.sparse
    assert {"retrieve", "select", "answerability", "compose", "currency", "total"} <= set(a.timings_ms)
    assert a.sentences and all(s.verified and s.citations for s in a.sentences)
    assert all(c.quote in next(h.chunk.text for h in a.hits if h.chunk.chunk_id == c.chunk_id) for c in a.citations)


def test_a_list_lead_in_brings_its_items(small_kb):
    a = small_kb.ask("What should first-aid rooms have?")
    quotes = " ".join(c.quote for c in a.citations)
    assert "First-aid rooms should:" in quotes
    assert "sink with hot and cold running water" in quotes


def test_a_table_row_is_quoted_with_its_headers(small_kb):
    a = small_kb.ask("Is PEP recommended after a percutaneous injury from an HIV positive source with a detectable viral load?")
    assert any("HIV positive, viral load detectable: Percutaneous injury: Recommended" in c.quote for c in a.citations)


def test_text_addressed_to_a_model_is_never_evidence_and_warns(small_kb):
    a = small_kb.ask("Is PEP needed after a needlestick injury?")
    assert all(c.doc_id != "poisoned" for c in a.citations)
    assert any("addressed to an AI assistant" in w and "Needlestick notes" in w for w in a.warnings)


def test_an_older_bulletin_contradicted_by_newer_policy_warns_and_names_it(small_kb):
    from kb.ask.currency import newer_guidance_conflicts
    from kb.records import Citation

    chunk = next(c for c in small_kb.chunks("bulletin-2021") if "2 hours" in c.text)
    start = chunk.text.index("Lone workers")
    cit = Citation.quoting(1, chunk, start, len(chunk.text), "link")
    warnings = newer_guidance_conflicts([cit], small_kb.checker, small_kb.retriever.search, small_kb.catalog.get)
    assert warnings and "Lone working policy 2024" in warnings[0] and "every 2 hours" in warnings[0]


def test_refusal_lists_the_closest_documents(small_kb):
    small_kb.pipeline.answerability.fallback_threshold = 0.99
    try:
        a = small_kb.ask("How much does staff car parking cost?")
    finally:
        small_kb.pipeline.answerability.fallback_threshold = 0.05
    assert not a.answerable and a.citations == [] and a.closest_documents
    assert a.answerability["p_answerable"] < 0.99


def test_an_empty_question_is_a_clear_error(small_kb):
    import pytest

    with pytest.raises(KBError, match="empty"):
        small_kb.ask("   ")


def test_a_document_with_instructions_is_flagged_at_ingest(small_kb):
    flagged = small_kb.ingest_report.flagged
    assert [f["doc_id"] for f in flagged] == ["poisoned"]
    assert "Ignore previous instructions" in flagged[0]["sentences"][0]
    assert any(e["action"] == "flagged" for e in small_kb.catalog.events("poisoned"))


def test_refusal_is_decided_on_the_order_without_the_maxsim_rerank(small_kb, monkeypatch):
    """MaxSim re-orders the first page; the refusal model was fitted on the fused order, so the decision reads
    `Retrieval.unreordered`: the same question gets the same decision whatever order the answer quotes from."""
    from dataclasses import replace

    from kb.ask.select import select_evidence
    from kb.records import SearchFilters

    q = "When should PEP be started after the injury?"
    found = small_kb.pipeline.retrieve.run(q, SearchFilters(), 6, "hybrid")
    assert len(found.hits) > 1
    reordered = replace(found, hits=list(reversed(found.hits)), unreordered=found.hits)
    seen = []
    stage = small_kb.pipeline.answerability
    real = stage.run
    monkeypatch.setattr(stage, "run", lambda question, hits, ev, trace: seen.append(hits) or real(question, hits, ev, trace))
    plain = small_kb.pipeline.decide(q, replace(found, unreordered=None),
                                     select_evidence(q, found.hits, small_kb.embedder, found.question_vector))
    moved = small_kb.pipeline.decide(q, reordered,
                                     select_evidence(q, reordered.hits, small_kb.embedder, found.question_vector))
    assert seen[0] == seen[1] == found.hits
    assert moved.probability == plain.probability and moved.answerable == plain.answerable
