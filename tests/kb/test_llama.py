"""The llama-index retriever adapter returns the same hits as kb search."""

from kb.llama import KBRetriever


def test_llama_retriever_matches_kb_search(corpus_kb):
    q = "How often must lone workers check in?"
    nodes = KBRetriever(corpus_kb, k=3).retrieve(q)
    hits = corpus_kb.search(q, k=3)
    assert [n.node.node_id for n in nodes] == [h.chunk.chunk_id for h in hits]
    assert nodes[0].node.metadata["doc_id"] == hits[0].chunk.doc_id
    assert nodes[0].score == hits[0].score
    assert "lone" in nodes[0].node.get_content().lower()
