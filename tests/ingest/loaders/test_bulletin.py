"""Bulletins: each news item of an HTML page or an e-mail newsletter is its own dated section."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from ingest.chunking import chunk_document
from ingest.loaders import load_document
from ingest.loaders.bulletin import load_bulletin, parse_bulletin_html

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bulletins"
CORPUS = Path(__file__).resolve().parents[3] / "corpus"


def _items(doc) -> list[tuple[str, str]]:
    return [(b.text, b.anchor) for b in doc.blocks if b.kind == "heading" and b.level == 2]


def _assert_one_item_per_chunk(doc, max_tokens: int = 256) -> list:
    chunks = chunk_document(doc, max_tokens=max_tokens)
    headings = {b.anchor: b.text for b in doc.blocks if b.kind == "heading" and b.level == 2}
    for c in chunks:
        held = [a for a, text in headings.items() if text in c.text]
        assert len(held) <= 1, f"chunk {c.ordinal} mixes items {held}"
        if held:
            assert c.anchor == held[0] and c.heading_path.endswith(headings[held[0]])
    return chunks


def test_newsletter_html_items_become_sections_with_anchors_and_date():
    doc = load_document(FIXTURES / "network-news-2025-11.html")
    assert doc.title_hint == "OH Network Newsletter - November 2025"
    assert doc.date_hint == dt.date(2025, 11, 4)  # "Sent 4 November 2025", not the month in the title
    assert _items(doc) == [
        ("Staff flu vaccine uptake passes 60%", "flu-uptake"),  # <a name> before the heading
        ("Sharps audit: results by area", "sharps-audit"),  # id on the wrapping cell
        ("New Employee Assistance Programme number", "new-employee-assistance-programme-number"),
        ("Dates for your diary", "dates-for-your-diary"),  # slug when there is no id
    ]
    text = "\n".join(b.text for b in doc.blocks)
    assert "read more inside" not in text  # hidden preheader
    assert "unsubscribe" not in text.lower() and "view this email" not in text.lower()
    assert "logo" not in text.lower()  # images are never text
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.anchor == "sharps-audit" and "Safety devices in use: 2024: 81%; 2025: 93%" in table.text
    chunks = _assert_one_item_per_chunk(doc)
    # the two short items are each under the chunker's tiny-section size and still not packed together
    assert {c.anchor for c in chunks} >= {"new-employee-assistance-programme-number", "dates-for-your-diary"}


def test_html_email_newsletter_with_bold_cell_headings():
    doc = load_document(FIXTURES / "members-update-2026-01.eml")  # a List-Unsubscribe e-mail
    assert doc.date_hint == dt.date(2026, 1, 13)  # the Date header
    assert _items(doc) == [
        ("Hepatitis B boosters", "hepb-boosters"),
        ("Stress risk assessment", "stress-risk-assessment"),
        ("Lone working check-ins", "lone-working-check-ins"),
    ]
    assert doc.blocks[0].text == "OH Network members' update - January 2026"
    assert [b.text for b in doc.blocks].count(doc.blocks[0].text) == 1  # the title is not an item
    assert "Unsubscribe" not in "\n".join(b.text for b in doc.blocks)
    _assert_one_item_per_chunk(doc, max_tokens=64)


def test_plain_text_email_bulletin_marked_by_its_sidecar():
    doc = load_document(FIXTURES / "members-update-2026-03-text.eml")
    assert doc.date_hint == dt.date(2026, 3, 10)
    assert [a for _, a in _items(doc)] == ["hepatitis-b-boosters", "stress-risk-assessment", "lone-working-check-ins"]
    _assert_one_item_per_chunk(doc, max_tokens=64)


def test_corpus_bulletins_keep_all_their_text_and_policies_are_not_split():
    doc = load_document(CORPUS / "bulletins" / "bulletin-2024-04.html")
    assert doc.date_hint == dt.date(2024, 4, 16)
    assert len(_items(doc)) == 4 and all(a for _, a in _items(doc))
    assert "previously every 2 hours" in "\n".join(b.text for b in doc.blocks)
    assert load_bulletin(CORPUS / "oh-policies" / "skin-health-policy-2024.html", "html") is None
    md = load_document(CORPUS / "immunisation" / "oh-immunisation-bbv-bulletin-autumn-2025.md")  # doc_type bulletin
    assert ("4 New HIV PEP protocol", "4-new-hiv-pep-protocol") in _items(md)
    assert load_bulletin(CORPUS / "violence-aggression" / "lone-working-policy-2024.md", "md") is None
    assert all(b.anchor is None for b in load_document(CORPUS / "oh-policies" / "skin-health-policy-2024.html").blocks)


def test_duplicate_headings_get_distinct_anchors():
    doc = parse_bulletin_html(
        "<title>Bulletin</title><h2>News</h2><p>One.</p><h2>News</h2><p>Two.</p><h2 id='x'>X</h2><p>Three.</p>",
        path="b.html",
    )
    assert [a for _, a in _items(doc)] == ["news", "news-2", "x"]


@pytest.fixture
def hash_kb(tmp_path):
    from kb.embedder import HashEmbedder
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    kb = KnowledgeBase(load_settings(kb_dir=tmp_path / "kb"), embedder=HashEmbedder())
    yield kb
    kb.close()


def test_ingested_bulletin_items_are_stored_with_anchor_and_the_bulletin_date(hash_kb, tmp_path):
    from ingest.pipeline import ingest_paths

    folder = tmp_path / "bulletins"
    folder.mkdir()
    for name in ("network-news-2025-11.html", "members-update-2026-01.eml"):
        shutil.copy(FIXTURES / name, folder / name)
    report = ingest_paths(hash_kb, [folder])
    assert report.added == 2 and not report.failed
    chunks = hash_kb.chunks("network-news-2025-11")
    by_anchor = {c.anchor: c for c in chunks if c.anchor}
    assert set(by_anchor) == {"flu-uptake", "sharps-audit", "new-employee-assistance-programme-number",
                              "dates-for-your-diary"}
    assert all(c.published == dt.date(2025, 11, 4) for c in chunks)
    assert "0800 000 0000" in by_anchor["new-employee-assistance-programme-number"].text
    assert "12 November" not in by_anchor["new-employee-assistance-programme-number"].text
    assert {c.published for c in hash_kb.chunks("members-update-2026-01")} == {dt.date(2026, 1, 13)}


def test_unsplittable_bulletin_falls_back_to_the_generic_loader(tmp_path):
    empty = tmp_path / "empty-bulletin.html"
    empty.write_text("", encoding="utf-8")
    assert load_bulletin(empty, "html") is None
    from kb.errors import IngestError

    with pytest.raises(IngestError, match="empty-bulletin.html"):
        load_document(empty)
