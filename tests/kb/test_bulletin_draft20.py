"""A 22-claim bulletin draft over the bundled corpus: correct claims, wrong numbers, superseded
advice and off-topic claims, each with its expected verdict (draft-20.expected.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kb.bulletin import cite_json
from kb.bulletin_export import EditorChoices, export_html, export_markdown, resolve_claims
from kb.bulletin_sources import citation_sources

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bulletins"
DRAFT = (FIXTURES / "draft-20.md").read_text(encoding="utf-8")
EXPECTED = json.loads((FIXTURES / "draft-20.expected.json").read_text(encoding="utf-8"))["claims"]


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def match_expected(cite: dict) -> list[tuple[dict, object]]:
    """(expected claim, resolved claim) for every expected claim that the checker split out."""
    resolved = resolve_claims(cite, EditorChoices())
    out = []
    for exp in EXPECTED:
        key = _norm(exp["text"])
        found = next((r for r in resolved if key in _norm(r.text) or _norm(r.text) in key and _norm(r.text)), None)
        out.append((exp, found))
    return out


def score(cite: dict) -> dict:
    """How many correct claims got a citation to the right document, and how many wrong ones were flagged."""
    pairs = match_expected(cite)
    correct = [(e, r) for e, r in pairs if e["kind"] == "correct"]
    wrong = [(e, r) for e, r in pairs if e["kind"] != "correct"]
    right_citation = [e["text"] for e, r in correct
                      if r is not None and r.status == "cited" and r.citation and r.citation["doc_id"] == e["doc_id"]]
    flagged = [e["text"] for e, r in wrong if r is not None and (r.verdict != "supported" or r.flags)]
    by_kind: dict[str, list[int]] = {}
    for e, _ in wrong:
        got = by_kind.setdefault(e["kind"], [0, 0])
        got[1] += 1
        got[0] += int(e["text"] in flagged)
    return {"claims_found": sum(1 for _, r in pairs if r is not None), "correct_cited": len(right_citation),
            "correct_total": len(correct), "wrong_flagged": len(flagged), "wrong_total": len(wrong),
            "flagged_by_kind": by_kind}


def test_draft_has_at_least_20_claims_of_every_kind():
    assert len(EXPECTED) >= 20
    assert {e["kind"] for e in EXPECTED} == {"correct", "wrong_number", "superseded", "unsupported"}
    for e in EXPECTED:
        assert _norm(e["text"]) in _norm(DRAFT), e["text"]


def test_draft_20_verdicts_flags_and_exports(corpus_kb):
    cite = cite_json(corpus_kb, DRAFT)
    figures = score(cite)
    assert figures["claims_found"] == len(EXPECTED), figures
    # Floors measured with the claim checker on this draft (the bulletin report gives the figures):
    # 5 of 10 correct claims cite the right document (the others are wrongly contradicted by the
    # checker), and 11 of 12 wrong claims are flagged (the miss: "every 2 hours", which the 2024
    # policy mentions as the old rule). They guard against regressions; raise them as the checker improves.
    print("draft-20 figures:", figures)
    floors_met = {
        "correct_cited >= 5": figures["correct_cited"] >= 5,
        "wrong_flagged >= 11": figures["wrong_flagged"] >= 11,
        "all wrong numbers flagged": figures["flagged_by_kind"]["wrong_number"] == [5, 5],
        "all off-topic claims flagged": figures["flagged_by_kind"]["unsupported"] == [3, 3],
        "superseded flagged >= 3": figures["flagged_by_kind"]["superseded"][0] >= 3,
    }
    assert all(floors_met.values()), (floors_met, figures)
    resolved = resolve_claims(cite, EditorChoices())
    sources = citation_sources(corpus_kb, cite)
    md = export_markdown(DRAFT, resolved, sources)
    page = export_html(DRAFT, resolved, sources, title="OH Network e-Bulletin, December 2026")
    # headings and the draft's own link are kept; every cited claim has a footnote that is defined
    assert md.startswith("# OH Network e-Bulletin, December 2026\n")
    assert "[full archive](https://news.example.org/archive)" in md
    markers = set(re.findall(r"\[\^(\d+)\](?!:)", md))
    defined = set(re.findall(r"^\[\^(\d+)\]:", md, re.M))
    assert markers and markers == defined
    headings = {_norm(ln) for ln in DRAFT.splitlines() if ln.startswith("#")}
    body = [r for r in resolved if _norm(r.text) not in headings]  # headings are kept as written
    cited = [r for r in body if r.status == "cited"]
    assert len(re.findall(r"\[\^\d+\](?!:)", md)) == len(cited)
    assert md.count("[citation needed]") == sum(1 for r in body if r.status == "unresolved")
    for n in defined:
        line = next(ln for ln in md.splitlines() if ln.startswith(f"[^{n}]: "))
        assert "/Library?doc=" in line
    for r in body:  # each claim with no accepted citation is marked right after its text
        if r.status == "unresolved":
            last = re.findall(r"\w+", r.text)[-1]
            assert re.search(re.escape(last) + r"\W{0,3} \*\*\[citation needed\]\*\*", md), r.text
    assert "<style" not in page and "<script" not in page and "<img" not in page
    assert page.count('<sup style="font-size:11px;line-height:0;"><a href="#note-') == len(cited)
    assert page.count('<li id="note-') == len(defined)
