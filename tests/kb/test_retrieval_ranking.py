"""Ranking rules added on top of fusion: the authority priors and BM25 query expansion."""

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
    with pytest.raises(ValueError, match="bulletin_half_life"):
        RetrievalConfig(bulletin_half_life=-1)
    with pytest.raises(ValueError, match="boilerplate_weight"):
        RetrievalConfig(boilerplate_weight=1.5)


class _Catalog:
    """The two catalog calls the bulletin age prior makes, counted."""

    def __init__(self, newest):
        self.newest, self.stamp, self.reads = newest, (1, "t1"), 0

    def documents_stamp(self):
        return self.stamp

    def newest_published(self, doc_type):
        assert doc_type == "bulletin"
        self.reads += 1
        return self.newest


def test_old_bulletin_items_weigh_less_than_new_ones_relative_to_the_newest_bulletin():
    import datetime as dt

    points = {"old": StoredPoint("old", 0, {"doc_id": "b1", "doc_type": "bulletin", "published": "2021-07-01"}),
              "new": StoredPoint("new", 0, {"doc_id": "b2", "doc_type": "bulletin", "published": "2025-07-01"}),
              "guide": StoredPoint("guide", 0, {"doc_id": "g", "doc_type": "guideline", "published": "2024-01-01"})}
    ranked = [("old", 1.0), ("new", 0.95), ("guide", 0.7)]
    cat = _Catalog(dt.date(2025, 7, 1))
    r = HybridRetriever(None, None, cat, RetrievalConfig(bulletin_weight=0.8, bulletin_half_life=4.0))
    out = dict(r.authority(ranked, points))
    assert out["new"] == pytest.approx(0.95 * 0.8)  # the newest bulletin: the plain bulletin weight
    assert out["old"] == pytest.approx(0.8 * 0.5, rel=1e-3)  # four years older: half again
    assert [p for p, _ in r.authority(ranked, points)] == ["new", "guide", "old"]
    r.authority(ranked, points)
    assert cat.reads == 1  # cached while the catalog is unchanged
    cat.stamp = (2, "t2")
    r.authority(ranked, points)
    assert cat.reads == 2
    # a question that names a year asks about that time: no recency decay
    assert dict(r.authority(ranked, points, "When was the 2021 course held?"))["old"] == pytest.approx(0.8)
    off = HybridRetriever(None, None, cat, RetrievalConfig(bulletin_half_life=0))
    assert dict(off.authority(ranked, points))["old"] == pytest.approx(0.8)


def test_boilerplate_sections_weigh_less():
    from kb.retrieval import is_boilerplate

    for h in ("Policy > 1 Purpose", "Guide > 2 What changed in this version", "1 Summary of changes from the 2020 procedure",
              "Scope", "Doc > 3.1 Background"):
        assert is_boilerplate(h), h
    for h in ("Policy > 7 Records", "5 Starting PEP > 5.1 Starter packs", "Purpose of health surveillance checks", ""):
        assert not is_boilerplate(h), h
    points = {"purpose": StoredPoint("purpose", 0, {"doc_id": "d", "doc_type": "policy", "heading_path": "P > 1 Purpose"}),
              "records": StoredPoint("records", 0, {"doc_id": "d", "doc_type": "policy", "heading_path": "P > 7 Records"})}
    ranked = [("purpose", 1.0), ("records", 0.85)]
    assert [p for p, _ in HybridRetriever(None, None, None, RetrievalConfig()).authority(ranked, points)] == [
        "records", "purpose"]
    assert HybridRetriever(None, None, None, RetrievalConfig(boilerplate_weight=1.0)).authority(ranked, points) == ranked


def test_catalog_reports_the_newest_bulletin_and_a_stamp_that_moves(tmp_path):
    import datetime as dt

    from kb.catalog import Catalog
    from kb.records import DocType, Document

    cat = Catalog(tmp_path / "c.sqlite")
    assert cat.newest_published("bulletin") is None
    before = cat.documents_stamp()

    def doc(doc_id, doc_type, published):
        return Document(doc_id=doc_id, title=doc_id, doc_type=doc_type, version="v1", source_path=f"{doc_id}.md",
                        ingested_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), published=published)
    cat.put(doc("b1", DocType.bulletin, dt.date(2024, 4, 1)), "added")
    cat.put(doc("b2", DocType.bulletin, dt.date(2025, 10, 1)), "added")
    cat.put(doc("g1", DocType.guideline, dt.date(2026, 1, 1)), "added")
    assert cat.newest_published("bulletin") == dt.date(2025, 10, 1)
    assert cat.documents_stamp() != before


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


def test_the_embedded_text_carries_the_section_only_where_headings_are_marked_up():
    from kb.mapping import point_text, section_context

    path = "Hepatitis B vaccination > 5 Interpreting the antibody result > 5.3 Non-responders"
    assert section_context(path, "corpus/immunisation/hepb.md") == "5 Interpreting the antibody result > 5.3 Non-responders"
    assert section_context(path, "corpus/x.PDF", levels=1) == "5.3 Non-responders"
    assert section_context(path, "papers/covid.txt") == ""  # plain text: the loader guessed those headings
    assert section_context("", "a.md") == ""
    assert point_text("Hep B", "Take blood.", "5.3 Non-responders") == "Hep B\n5.3 Non-responders\nTake blood."
    assert point_text("Hep B", "Take blood.") == "Hep B\nTake blood."


def test_ingest_embeds_and_indexes_the_section_with_the_chunk(tmp_path):
    """With embed_section on, a later chunk of a long section, whose own text lacks the heading's word, is found by that
    word through BM25 alone: the section is indexed with it."""
    from ingest.pipeline import ingest_paths
    from kb.records import SearchFilters
    from kb.retrieval import to_point_filter
    from kb.service import KnowledgeBase
    from kb.settings import load_settings
    from kb.store import SPARSE

    body = " ".join(f"Sentence {i} says the worker should be seen by the team within a set time." for i in range(80))
    doc = tmp_path / "policy.md"
    doc.write_text(f"# Skin policy\n\n## 7 Zymurgical referrals\n\n{body}\n\n## 8 Records\n\nKeep the form.\n")
    with KnowledgeBase.open(load_settings(kb_dir=tmp_path / "kb", embedder="hash", embed_section=True)) as kb:
        assert not ingest_paths(kb, [doc]).failed
        later = [p.payload for p in kb.store.scroll() if "Zymurgical" in p.payload["heading_path"]
                 and "zymurgical" not in p.payload["text"].lower()]
        assert later, "the section should span several chunks"
        found = kb.store.query(SPARSE, sparse_query("zymurgical"), 20, to_point_filter(SearchFilters()))
        assert {p.id for p in found} >= {p["chunk_id"] for p in later}


def test_the_refusal_model_never_answers_from_evidence_below_its_floor():
    from kb.ask.answerability import AnswerabilityModel, AnswerabilityStage
    from kb.ask.select import Evidence

    model = AnswerabilityModel({"evidence": 0.0}, 5.0, 0.5, {"evidence": 0.0}, {"evidence": 1.0}, evidence_floor=0.35)
    stage = AnswerabilityStage(0.52, model)
    weak = Evidence(picks=[object()], score=0.2, best_sentence_sim=0.2, best_lexical=0.0)
    strong = Evidence(picks=[object()], score=0.5, best_sentence_sim=0.5, best_lexical=0.0)
    assert not stage.run("What mileage rate is paid?", [], weak, None).answerable  # p is ~1, but the evidence is too weak
    assert stage.run("What mileage rate is paid?", [], strong, None).answerable
    assert AnswerabilityModel.load().evidence_floor == 0.35  # the shipped model has one


def test_an_encoder_whose_vectors_differ_gets_its_own_refusal_model(tmp_path):
    """The refusal model's features are the encoder's similarities: KB_EMBEDDER=int8 ships its own
    fit (with the default's, golden stale warnings fell .947 -> .842); fp32 and bf16 share a name and
    the default's model, and an encoder without its own fit falls back to the default's."""
    from kb.ask.answerability import MODEL_PATH, AnswerabilityModel, model_path
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    int8 = model_path("all-MiniLM-L6-v2-int8")
    assert int8 != MODEL_PATH and int8.is_file()
    assert model_path("all-MiniLM-L6-v2") == model_path("hash-64") == model_path("") == MODEL_PATH
    assert AnswerabilityModel.load(int8).weights != AnswerabilityModel.load().weights
    kb = KnowledgeBase.open(load_settings(kb_dir=tmp_path / "kb", embedder="int8"))
    try:
        assert kb.embedder.name == "all-MiniLM-L6-v2-int8"
        assert kb.pipeline.answerability.model == AnswerabilityModel.load(int8)
    finally:
        kb.close()


def test_maxsim_rerank_moves_up_the_chunk_whose_best_sentence_answers():
    from kb.fusion import maxsim_rerank

    ranked = [("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.1)]
    maxsim = {"a": 0.2, "b": 0.9, "c": 0.3, "d": 0.95}
    out = maxsim_rerank(ranked, maxsim, weight=0.5, depth=4, reorder=3)
    # b: 0.875 + 0.5 * 0.933 beats a: 1.0 + 0; d has the best sentence but is below the top 3: it stays last
    assert [p for p, _ in out] == ["b", "a", "c", "d"]
    assert dict(out)["a"] == pytest.approx(1.0)
    assert dict(out)["d"] == pytest.approx(0.0)  # its fused score, normalised over the depth
    assert maxsim_rerank(ranked, maxsim, weight=0.0) == ranked  # off
    assert [p for p, _ in maxsim_rerank(ranked, maxsim, 0.1, 4, 3)] == ["a", "b", "c", "d"]  # a small weight: near-ties only
    # reorder beyond the depth is clamped; the list stays sorted by score
    out = maxsim_rerank(ranked, maxsim, 0.5, depth=2, reorder=10)
    assert [p for p, _ in out] == ["a", "b", "c", "d"]  # b: 0 + 0.5 does not reach a: 1 + 0
    assert [s for _, s in out] == sorted([s for _, s in out], reverse=True)


def test_maxsim_settings_are_validated():
    with pytest.raises(ValueError, match="maxsim_weight"):
        RetrievalConfig(maxsim_weight=-0.1)
    with pytest.raises(ValueError, match="maxsim_depth"):
        RetrievalConfig(maxsim_depth=0)
    with pytest.raises(ValueError, match="maxsim_reorder"):
        RetrievalConfig(maxsim_reorder=0)


def test_hybrid_maxsim_reads_the_sentence_vectors_ingest_stored(tmp_path):
    """With maxsim_weight on, a search scores each candidate by its best evidence sentence, from the vectors ingest
    kept on disk: no sentence is embedded at query time. Dense and BM25 (the baselines) are not re-ranked."""
    from ingest.pipeline import ingest_paths
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    docs = tmp_path / "docs"
    docs.mkdir()
    filler = " ".join(f"Line {i} of the rota is agreed with the ward manager each month." for i in range(6))
    (docs / "rota.md").write_text(f"# Rota\n\n## Cover\n\n{filler} Booster doses are given at five years.\n")
    (docs / "leave.md").write_text("# Leave\n\n## Annual leave\n\nAnnual leave is booked through the rota team.\n")
    settings = load_settings(kb_dir=tmp_path / "kb", embedder="hash", maxsim_weight=0.5)
    with KnowledgeBase.open(settings) as kb:
        report = ingest_paths(kb, [docs])
        assert report.added == 2 and report.sentences_embedded > 0
        embedded = []
        inner = kb.embedder.embed_batch
        kb.embedder.embed_batch = lambda texts: embedded.extend(texts) or inner(texts)
        kb.embedder._text_cache()[0].clear()  # a fresh process: nothing in memory, the file only
        found = kb.retriever.retrieve("When are booster doses given?", 2)
        assert "maxsim" in found.trace.timings_ms
        assert embedded == ["When are booster doses given?"]  # the question only
        assert found.hits[0].chunk.doc_id.endswith("rota")
        scores = kb.retriever.sentence_maxsim(kb.embedder.embed_query("When are booster doses given?"),
                                              [p.id for p in kb.store.scroll()], {p.id: p for p in kb.store.scroll()})
        assert all(-1.0 <= s <= 1.0 for s in scores.values())
        dense = kb.retriever.retrieve("When are booster doses given?", 2, mode="dense")
        assert "maxsim" not in dense.trace.timings_ms
        # the order without MaxSim is kept for the refusal decision (AskPipeline.decide)
        assert found.unreordered is not None and len(found.unreordered) == len(found.hits)
        assert {h.chunk.chunk_id for h in found.unreordered} <= {p.id for p in kb.store.scroll()}
        assert dense.unreordered is None


def test_maxsim_is_on_by_default_and_off_leaves_no_second_order(tmp_path):
    from kb.settings import load_settings

    assert RetrievalConfig().maxsim_weight == load_settings(kb_dir=tmp_path).maxsim_weight == 0.5
    assert RetrievalConfig.from_settings(load_settings(kb_dir=tmp_path, maxsim_weight=0)).maxsim_weight == 0


def test_front_matter_gets_no_sentence_boost():
    """A title page's metadata lines, embedded under the title, match any question about the document; MaxSim leaves
    them out, and the rerank scores a chunk without a MaxSim value as the lowest candidate."""
    from kb.embedder import HashEmbedder
    from kb.fusion import maxsim_rerank
    from kb.retrieval import is_front_matter

    title = "Pre-placement checklist"
    front = {"doc_id": "c", "ordinal": 0, "heading_path": title, "title": title,
             "text": f"{title}\n\nForm reference: NOHN-FORM-003, version 2.1 of the checklist."}
    outcome = {"doc_id": "c", "ordinal": 9, "heading_path": f"{title} > 9 Outcome", "title": title,
               "text": "9 Outcome\n\nFit to start means that all immunity has been confirmed."}
    assert is_front_matter(front) and not is_front_matter(outcome)
    assert is_front_matter({**front, "heading_path": ""})
    assert not is_front_matter({**front, "ordinal": 1})  # a later chunk under the title alone is body text
    points = {"front": StoredPoint("front", 0.9, front), "outcome": StoredPoint("outcome", 0.8, outcome)}
    r = HybridRetriever(None, HashEmbedder(32), None, RetrievalConfig(maxsim_weight=0.75))
    ms = r.sentence_maxsim(HashEmbedder(32).embed_query("checklist outcome"), ["front", "outcome"], points)
    assert set(ms) == {"outcome"}
    out = maxsim_rerank([("front", 0.9), ("outcome", 0.8), ("x", 0.1)], {"outcome": 0.7, "x": 0.2}, 0.75, 3, 3)
    assert dict(out)["front"] == pytest.approx(1.0)  # fused 1.0 + no boost
    assert [p for p, _ in out] == ["outcome", "front", "x"]


def test_retriever_agreement_describes_the_question_not_the_final_order():
    """The refusal model's `agreement` comes from the two retrievers' own top 5s, so a later re-ordering of the hits
    (MaxSim, the priors, the cap) does not move it; without a trace it falls back to the hits' ranks."""
    from kb.ask.answerability import agreement
    from kb.records import Chunk, DocType, Hit, RetrievalTrace

    def hit(i, d, s):
        c = Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", version="v1", ordinal=0, text="t", heading_path="h",
                  char_start=0, char_end=1, token_count=1, title="T", doc_type=DocType.other, source_path="x")
        return Hit(chunk=c, score=1.0, dense_rank=d, sparse_rank=s, dense_score=0.5)

    hits = [hit(0, 1, 1), hit(1, 2, 9), hit(2, 3, 2), hit(3, 9, 3), hit(4, 4, 4)]
    trace = RetrievalTrace(query="q", mode="hybrid", dense=[(f"c{i}", 1.0) for i in (0, 1, 2, 4, 5)],
                           sparse=[(f"c{i}", 1.0) for i in (0, 2, 3, 4, 6)])
    assert agreement(hits, trace) == pytest.approx(3 / 5)  # c0, c2, c4 are in both top 5s
    assert agreement(list(reversed(hits)), trace) == agreement(hits, trace)  # order does not matter
    assert agreement(hits) == pytest.approx(3 / 5)  # no trace: the hits' own ranks
    assert agreement(hits[:2], RetrievalTrace(query="q", mode="hybrid", dense=[("c0", 1), ("c1", 1)],
                                              sparse=[("c1", 1), ("c0", 1)])) == 1.0  # a tiny library
    assert agreement([], trace) == 0.0


def _hits(title, texts, **extra):
    return [StoredPoint(f"p{i}", 10.0 - i, {"title": title, "text": t, **extra}) for i, t in enumerate(texts)]


def test_bm25_that_matches_only_the_titles_is_flagged():
    """BM25's top hits all match "What is glaucoma?" only through their document's title (every
    chunk is indexed under it), so BM25 cannot tell which passage answers; a question with a word
    that one hit's own text matches is not flagged."""
    retriever = HybridRetriever(None, None, None, RetrievalConfig())
    passages = ["Glaucoma can damage the optic nerve; glaucoma is common after 60.",
                "Eye drops lower the pressure in the eye.", "Laser surgery may help some patients."]
    hits = _hits("Glaucoma", passages)
    assert retriever.title_only_bm25("What is (are) Glaucoma ?", hits)
    assert not retriever.title_only_bm25("What treatments are there for glaucoma? eye drops", hits)  # "drops" is in a text
    assert not retriever.title_only_bm25("What is (are) Glaucoma ?", hits[:1])  # one hit: nothing to compare
    assert not retriever.title_only_bm25("the and of", hits)  # no query terms at all
    # a word of the query that is in neither title nor text does not count against the rule
    assert retriever.title_only_bm25("Is glaucoma hereditary?", hits)
    # with embed_section on, the section heading is indexed with the chunk, so it is not the title
    sectioned = _hits("Glaucoma", passages, heading_path="Glaucoma > Who is at risk", source_path="g.md")
    config = RetrievalConfig(embed_section=True)
    assert not HybridRetriever(None, None, None, config).title_only_bm25("Who is at risk of glaucoma?", sectioned)
    assert retriever.title_only_bm25("Who is at risk of glaucoma?", sectioned)


def test_fusion_gives_title_only_bm25_no_weight():
    from kb.fusion import adaptive_convex_fusion, adaptive_dense_weight

    assert adaptive_dense_weight([0.8, 0.7, 0.6], [20.0, 5.0, 4.0], 1.5, 3, sparse_confident=False) == 1.0
    assert adaptive_dense_weight([1.0, 1.0], [20.0, 5.0], 1.5, sparse_confident=False) == pytest.approx(0.6)  # no gaps: prior
    dense, sparse = [("d1", 0.80), ("d2", 0.79), ("d3", 0.70)], [("d3", 20.0), ("d2", 5.0), ("d1", 4.0)]
    assert adaptive_convex_fusion(dense, sparse, 1.5, 3)[0][0] == "d3"  # BM25's decisive top wins
    assert [p for p, _ in adaptive_convex_fusion(dense, sparse, 1.5, 3, sparse_confident=False)] == ["d1", "d2", "d3"]


def test_hybrid_search_ranks_by_dense_when_bm25_matches_only_titles(tmp_path):
    """End to end: the trace says when BM25 matched only titles, and the hybrid order is then the
    dense order; a question whose words BM25 finds in a passage is fused as before."""
    from ingest.pipeline import ingest_paths
    from kb.embedder import HashEmbedder
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    docs = tmp_path / "docs"
    docs.mkdir()
    sections = ["Glaucoma is a group of eye diseases that damage the optic nerve. ",
                "Glaucoma glaucoma glaucoma: drops, laser and surgery are the treatments. ",
                "Regular eye tests find it early; people over 60 are at higher risk. "]
    filler = "The clinic writes to the patient with the result and the next appointment. " * 25  # one chunk per part
    (docs / "glaucoma.md").write_text("# Glaucoma\n\n" + "\n\n".join(f"## Part {i}\n\n{s}{filler}"
                                                                      for i, s in enumerate(sections)), encoding="utf-8")
    with KnowledgeBase(load_settings(kb_dir=tmp_path / "kb", maxsim_weight=0.0), embedder=HashEmbedder(64)) as kb:
        assert ingest_paths(kb, [docs]).added == 1
        got = kb.retriever.retrieve("What is glaucoma?", 3)
        assert got.trace.bm25_title_only and len(got.trace.sparse) >= 2
        assert [h.chunk.chunk_id for h in got.hits] == [pid for pid, _ in got.trace.dense][:len(got.hits)]
        assert not kb.retriever.retrieve("Which glaucoma treatments use laser?", 3).trace.bm25_title_only
        assert not kb.retriever.retrieve("What is glaucoma?", 3, mode="dense").trace.bm25_title_only
