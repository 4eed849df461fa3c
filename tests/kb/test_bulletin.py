"""Bulletin citations (`kb cite --json` contract) on the bundled corpus with the real model."""

from __future__ import annotations

import pytest

from kb.bulletin import cite_json, split_draft

pytestmark = pytest.mark.slow

DRAFT = """# Lone working update

Lone workers must check in with their buddy at least every hour.
- HIV post-exposure prophylaxis can be started up to 30 days after the injury.
- During the day, staff must check in with base at least every 2 hours.

The staff canteen will serve free pizza on Fridays from next month onwards.
See [the policy](https://example.nhs.uk/lone-working) for details. Short line.
"""


@pytest.fixture(scope="module")
def report(corpus_kb):
    return cite_json(corpus_kb, DRAFT)


def _claim(report, start):
    return next(c for c in report["claims"] if c["text"].startswith(start))


def test_the_contract_shape(report):
    assert set(report) >= {"claims", "annotated", "references"}
    for c in report["claims"]:
        assert set(c) >= {"text", "verdict", "score", "reason", "citations", "alternatives"}
        assert c["verdict"] in ("supported", "contradicted", "unsupported")
        for ref in c["citations"] + c["alternatives"]:
            assert set(ref) >= {"n", "doc_id", "title", "section", "page_start", "page_end", "quote", "link"}


def test_claims_are_sentences_and_bullets_and_headings_stay(report):
    assert [c["text"][:12] for c in report["claims"]] == [
        "Lone workers", "HIV post-exp", "During the d", "The staff ca", "See the poli"]
    assert report["annotated"].startswith("# Lone working update\n")
    assert "[the policy](https://example.nhs.uk/lone-working)" in report["annotated"]


def test_a_correct_claim_cites_the_passage_that_supports_it(report):
    c = _claim(report, "Lone workers")
    assert c["verdict"] == "supported"
    ref = c["citations"][0]
    assert ref["doc_id"] == "lone-working-policy-2024" and "every hour" in ref["quote"]
    assert "Library?doc=lone-working-policy-2024" in ref["link"]


def test_a_wrong_interval_is_flagged_and_the_reason_names_both_numbers(report):
    c = _claim(report, "HIV post-exp")
    assert c["verdict"] in ("contradicted", "unsupported")
    assert "30 days" in c["reason"] and ("hours" in c["reason"] or "weeks" in c["reason"]), c["reason"]
    refs = c["citations"] + c["alternatives"]
    assert any(r["doc_id"] == "hiv-pep-occupational-2025" for r in refs), refs


def test_superseded_advice_is_flagged_with_the_current_version(report):
    c = _claim(report, "During the d")
    assert c["verdict"] != "supported"
    assert {"superseded_only", "contradicts_newer_guidance"} & set(c["flags"]) or c["verdict"] == "contradicted"
    assert any(r["doc_id"] == "lone-working-policy-2024" or r.get("current_version", {}).get("doc_id")
               == "lone-working-policy-2024" for r in c["citations"])


def test_an_off_topic_claim_has_no_support(report):
    c = _claim(report, "The staff ca")
    assert c["verdict"] == "unsupported" and "no_support" in c["flags"]
    assert "[citation needed]" in report["annotated"]


def test_references_number_each_cited_passage_once(report):
    lines = report["references"].splitlines()
    assert lines and lines[0].startswith("[1] [")


def test_split_keeps_headings_and_links_out_of_claims():
    segs = split_draft("## Title\n\n- one two three four five six\nShort. Line.")
    assert [s.claim for s in segs] == [False, False, False, True, False, False]
