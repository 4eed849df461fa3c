"""The editor's workflow over the cite JSON: choices per claim, Markdown and email-safe HTML export."""

from __future__ import annotations

import json
import re

import pytest

from kb.bulletin_export import (
    CITATION_NEEDED,
    CitationSource,
    EditorChoices,
    choices_json,
    claim_flags,
    export_html,
    export_markdown,
    read_choices,
    resolve_claims,
)
from kb.errors import KBError

DRAFT = """# OH Network e-Bulletin, December 2026

## Lone working

Lone workers must check in **at least every hour**. See the [lone working policy](https://intranet.example/lw) for the buddy rules.

## Sharps

- HIV post-exposure prophylaxis should start within 72 hours of the injury.
- Staff canteens serve free pizza on Fridays.
"""


def _cite(doc_id, title, section, link, quote="q", page=None):
    return {"n": 1, "doc_id": doc_id, "title": title, "section": section, "page_start": page,
            "page_end": page, "quote": quote, "link": link}


LW = _cite("lone-working-policy-2024", "Lone Working Policy 2024", "4 Check-ins",
           "http://127.0.0.1:8501/Library?doc=lone-working-policy-2024&chunk=c1", "check in at least every hour")
LW_BULLETIN = _cite("bulletin-2024-04", "OH Network e-Bulletin, April 2024", "Lone Working Policy 2024 published",
                    "http://127.0.0.1:8501/Library?doc=bulletin-2024-04&chunk=c9")
PEP = _cite("hiv-pep-occupational-2025", "HIV PEP 2025", "3 Timing", "http://127.0.0.1:8501/Library?doc=hiv&chunk=c2",
            "within 72 hours", page=4)
PEP_OLD = _cite("hiv-pep-occupational-2018", "HIV PEP 2018", "3 Timing", "http://127.0.0.1:8501/Library?doc=hiv18")
CITE = {
    "claims": [
        {"text": "Lone workers must check in at least every hour.", "verdict": "supported", "score": 0.91,
         "reason": "numbers agree", "citations": [LW], "alternatives": [LW_BULLETIN]},
        {"text": "See the lone working policy for the buddy rules.", "verdict": "supported", "score": 0.7,
         "reason": "", "citations": [LW], "alternatives": []},
        {"text": "HIV post-exposure prophylaxis should start within 72 hours of the injury.",
         "verdict": "supported", "score": 0.88, "reason": "", "citations": [PEP], "alternatives": [PEP_OLD],
         "past_review": True},
        {"text": "Staff canteens serve free pizza on Fridays.", "verdict": "unsupported", "score": 0.1,
         "reason": "no passage covers it", "citations": [], "alternatives": []},
    ],
    "annotated": "", "references": "",
}
SOURCES = {
    "lone-working-policy-2024|4 Check-ins": CitationSource("https://www.example.nhs.uk/lone-working", None, "2024-04-02"),
    "bulletin-2024-04|Lone Working Policy 2024 published": CitationSource(
        "https://news.example.org/2024-04.html", "lone-working-policy-2024-published", "2024-04-16"),
}


def test_no_choices_keeps_supported_proposals_and_flags_the_rest():
    claims = resolve_claims(CITE, EditorChoices())
    assert [c.status for c in claims] == ["cited", "cited", "cited", "unresolved"]
    assert claims[3].flags == ["no support in the library"]
    assert claims[2].flags == ["rests on guidance past its review date"]
    assert len(claims[0].proposals) == 2  # its citation and the alternative, up to 3


def test_flags_from_the_checker():
    assert claim_flags({"verdict": "contradicted", "superseded_only": True}) == [
        "contradicts current guidance", "rests only on superseded guidance"]
    assert claim_flags({"verdict": "supported", "conflict_with": "HIV PEP 2025"}) == [
        "a newer guideline says something different: HIV PEP 2025"]
    assert claim_flags({"verdict": "supported", "flags": ["past_review"]}) == ["rests on guidance past its review date"]
    # the claim checker's flag names (kb.bulletin)
    assert claim_flags({"verdict": "unsupported", "flags": ["no_support"]}) == ["no support in the library"]
    old_only = {"verdict": "unsupported", "flags": ["superseded_only"],
                "citations": [{"role": "superseded_source", "current_version": {"title": "HIV PEP 2025"}}]}
    assert claim_flags(old_only) == ["rests only on superseded guidance; the current version is HIV PEP 2025"]
    assert claim_flags({"verdict": "contradicted", "flags": ["contradicts_newer_guidance"]}) == [
        "contradicts current guidance", "a newer guideline says something different"]


def test_markdown_export_has_footnotes_links_and_keeps_headings_and_links():
    md = export_markdown(DRAFT, resolve_claims(CITE, EditorChoices()), SOURCES)
    assert md.startswith("# OH Network e-Bulletin, December 2026\n\n## Lone working\n")
    assert "**at least every hour**.[^1]" in md
    assert "[lone working policy](https://intranet.example/lw) for the buddy rules.[^1]" in md  # same passage
    assert "within 72 hours of the injury.[^2]" in md
    assert f"free pizza on Fridays. **{CITATION_NEEDED}**" in md
    notes = [ln for ln in md.splitlines() if ln.startswith("[^")]
    assert notes == [
        "[^1]: [Lone Working Policy 2024](http://127.0.0.1:8501/Library?doc=lone-working-policy-2024&chunk=c1), "
        "4 Check-ins (2024-04-02). Source: <https://www.example.nhs.uk/lone-working>",
        "[^2]: [HIV PEP 2025](http://127.0.0.1:8501/Library?doc=hiv&chunk=c2), 3 Timing, p. 4.",
    ]


def test_choices_pick_an_alternative_reject_and_round_trip_through_the_sidecar(tmp_path):
    choices = (EditorChoices(draft="draft.md")
               .set(0, CITE["claims"][0]["text"], "pick", 0)
               .set(1, CITE["claims"][1]["text"], "reject")
               .set(3, CITE["claims"][3]["text"], "reject"))
    path = tmp_path / "draft.md.citations.json"
    path.write_text(choices_json(choices), encoding="utf-8")
    again = read_choices(path)
    assert again == choices
    claims = resolve_claims(CITE, again)
    assert [c.status for c in claims] == ["cited", "rejected", "cited", "rejected"]
    md = export_markdown(DRAFT, claims, SOURCES)
    assert "every hour**.[^1]" in md and "buddy rules.\n" in md and CITATION_NEEDED not in md
    assert ("[^1]: [OH Network e-Bulletin, April 2024](http://127.0.0.1:8501/Library?doc=bulletin-2024-04&chunk=c9), "
            "Lone Working Policy 2024 published (2024-04-16). "
            "Source: <https://news.example.org/2024-04.html#lone-working-policy-2024-published>") in md


def test_choice_survives_reordering_and_stale_choices_are_reported():
    choices = EditorChoices().set(5, CITE["claims"][3]["text"], "reject").set(9, "A claim now deleted.", "accept")
    claims = resolve_claims(CITE, choices)
    assert claims[3].status == "rejected"
    assert [c.text for c in choices.stale(CITE)] == ["A claim now deleted."]


def test_bad_choices_give_clear_errors(tmp_path):
    bad = tmp_path / "d.citations.json"
    bad.write_text(json.dumps({"choices": [{"text": "x", "action": "maybe"}]}), encoding="utf-8")
    with pytest.raises(KBError, match=r"d\.citations\.json: not a citation choices file"):
        read_choices(bad)
    with pytest.raises(KBError, match="alternative 4 does not exist"):
        resolve_claims(CITE, EditorChoices().set(0, CITE["claims"][0]["text"], "pick", 4))


def test_html_export_is_email_safe():
    page = export_html(DRAFT + "\n![banner](https://tracker.example/pixel.gif)\n<script>alert(1)</script>\n",
                       resolve_claims(CITE, EditorChoices()), SOURCES, title="December 2026")
    assert "<style" not in page and "<link" not in page and "<img" not in page
    assert "<script" not in page and "&lt;script&gt;" in page  # raw HTML in the draft is shown, never run
    assert re.search(r"<h2 style=\"[^\"]+\">Lone working</h2>", page)
    assert not re.search(r"<(h[1-6]|p|li|ul|ol|a)(?![^>]*style=)[^>]*>", page)
    assert '<sup style="font-size:11px;line-height:0;"><a href="#note-1"' in page
    assert 'href="https://intranet.example/lw"' in page  # the draft's own link kept
    assert 'href="https://www.example.nhs.uk/lone-working"' in page  # the document's source_url
    assert CITATION_NEEDED in page
