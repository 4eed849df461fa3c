"""Bulletin citations: supported claims get the document that backs them; others are flagged."""

from kb.bulletin import annotate, cite_draft


def test_draft_claims_are_cited_or_flagged(corpus_kb):
    draft = (
        "Lone workers must now check in with their buddy at least every hour. "
        "Short line. "
        "The staff canteen will serve free pizza on Fridays from next month onwards."
    )
    results = cite_draft(corpus_kb, draft)
    assert [r.sentence[:10] for r in results] == ["Lone worke", "The staff "]  # short line skipped
    assert results[0].supported and results[0].doc_id == "lone-working-policy-2024"
    assert results[0].quote and "Library?doc=lone-working-policy-2024" in results[0].link
    assert not results[1].supported
    body, refs = annotate(results, "markdown")
    assert "every hour. [1]" in body and "[citation needed]" in body
    assert refs.startswith("[1] [") and "Lone Working Policy 2024" in refs
