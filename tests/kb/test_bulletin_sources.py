"""The bulletin workflow's view of the knowledge base: source links with item anchors and dates."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import kb.bulletin_sources as sources
from kb.records import Chunk, DocType, Document

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _doc(doc_id, **kw) -> Document:
    return Document(doc_id=doc_id, title=doc_id.title(), source_path=f"/c/{doc_id}", version="v", ingested_at=NOW, **kw)


def _chunk(doc_id, section, anchor) -> Chunk:
    return Chunk(chunk_id="c", doc_id=doc_id, version="v", ordinal=0, text="t", heading_path=section, char_start=0,
                 char_end=1, token_count=1, title=doc_id, doc_type=DocType.bulletin, source_path="/c", anchor=anchor)


class FakeKB:
    def __init__(self, docs, chunks):
        self.catalog = SimpleNamespace(get=lambda doc_id: docs.get(doc_id))
        self._chunks = chunks

    def chunks(self, doc_id):
        return self._chunks.get(doc_id, [])


DOCS = {
    "old-guide": _doc("old-guide", review_due=dt.date(2025, 1, 31)),
    "bulletin-1": _doc("bulletin-1", doc_type=DocType.bulletin, source_url="https://news.example/1.html",
                       published=dt.date(2024, 4, 16)),
}
CHUNKS = {"bulletin-1": [_chunk("bulletin-1", "Bulletin > Flu clinics", "flu-clinics")]}


def _claim(doc_id, section="S"):
    return {"text": "x", "verdict": "supported", "score": 1.0, "reason": "", "alternatives": [],
            "citations": [{"n": 1, "doc_id": doc_id, "title": doc_id, "section": section, "page_start": None,
                           "page_end": None, "quote": "q", "link": "l"}]}


def test_citation_sources_carry_source_url_anchor_and_date():
    cite = {"claims": [_claim("bulletin-1", "Bulletin > Flu clinics"), _claim("missing")]}
    found = sources.citation_sources(FakeKB(DOCS, CHUNKS), cite)
    src = found["bulletin-1|Bulletin > Flu clinics"]
    assert src.url() == "https://news.example/1.html#flu-clinics" and src.published == "2024-04-16"
    assert found["bulletin-1"].url() == "https://news.example/1.html"
    assert not any(k.startswith("missing") for k in found)
