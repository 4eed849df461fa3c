"""Ranking rules added on top of fusion: the bulletin authority prior and BM25 query expansion."""

import pytest

from kb.retrieval import HybridRetriever, RetrievalConfig
from kb.sparse import expanded_sparse_query, sparse_query
from kb.store import StoredPoint
from kb.vocabulary import add_vocabulary, query_expansions


def _points(**types):
    return {pid: StoredPoint(pid, 0.0, {"doc_id": pid, "doc_type": t}) for pid, t in types.items()}


def test_bulletin_summary_ranks_below_the_guideline_it_announces():
    points = _points(news="bulletin", guide="guideline", other="policy")
    ranked = [("news", 1.0), ("guide", 0.9), ("other", 0.5)]
    out = HybridRetriever(None, None, None, RetrievalConfig(bulletin_weight=0.8)).authority(ranked, points)
    assert [p for p, _ in out] == ["guide", "news", "other"]
    assert dict(out)["news"] == pytest.approx(0.8)
    # a bulletin that matches clearly better still comes first
    clear = [("news", 1.0), ("guide", 0.5)]
    assert HybridRetriever(None, None, None, RetrievalConfig()).authority(clear, points)[0][0] == "news"
    # weight 1 turns the rule off
    assert HybridRetriever(None, None, None, RetrievalConfig(bulletin_weight=1.0)).authority(ranked, points) == ranked


def test_bulletin_weight_is_validated():
    with pytest.raises(ValueError, match="bulletin_weight"):
        RetrievalConfig(bulletin_weight=0.0)


def test_query_expansion_adds_the_other_names_of_domain_terms():
    assert "post-exposure prophylaxis" in query_expansions("Does a HCW need PEP?")
    assert "healthcare workers" in query_expansions("Does a HCW need PEP?")
    assert "pep" in query_expansions("post-exposure prophylaxis after a sharps injury")
    assert "hepatitis b" in query_expansions("hep B booster")
    assert query_expansions("staff rota for the weekend") == []  # broad words are not expanded


def test_expanded_bm25_query_keeps_the_original_terms_at_full_weight():
    base = dict(zip(*sparse_query("HCW PEP"), strict=True))
    expanded = dict(zip(*expanded_sparse_query("HCW PEP", weight=0.5), strict=True))
    assert all(expanded[i] == 1.0 for i in base)
    extra = set(expanded) - set(base)
    assert extra and all(expanded[i] == 0.5 for i in extra)
    assert expanded_sparse_query("weekend rota") == sparse_query("weekend rota")


def test_curators_extend_the_expansion_table():
    from kb import vocabulary

    saved = dict(vocabulary.SYNONYMS)
    try:
        add_vocabulary({"synonyms": {"needle-stick injury": "nsi", "nsi": "nsi"}})
        assert "needle-stick injury" in query_expansions("NSI on the ward")
    finally:
        vocabulary.SYNONYMS.clear()
        vocabulary.SYNONYMS.update(saved)
        add_vocabulary({})


def test_hybrid_search_finds_the_spelled_out_term_for_an_abbreviation(tmp_path):
    """A question that says "PEP" finds guidance that only says "post-exposure prophylaxis"."""
    from ingest.pipeline import ingest_paths
    from kb.embedder import HashEmbedder
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pep.md").write_text("# Exposure guidance\n\n## Starting treatment\n\nStart post-exposure "
                                 "prophylaxis within one hour of the injury.\n", encoding="utf-8")
    (docs / "rota.md").write_text("# Rota\n\n## Weekend cover\n\nThe weekend rota is agreed a month "
                                  "ahead and posted on the ward.\n", encoding="utf-8")
    for weight, expect_found in ((0.25, True), (0.0, False)):
        kb = KnowledgeBase(load_settings(kb_dir=tmp_path / f"kb{weight}", query_expansion=weight),
                           embedder=HashEmbedder(64))
        assert ingest_paths(kb, [docs]).added == 2
        trace = kb.retriever.retrieve("Is PEP needed?", 2).trace
        assert bool(trace.sparse) is expect_found, (weight, trace.sparse)  # BM25 matched the guidance
        kb.close()
