"""The 38 real UKHSA Green Book chapter PDFs (../shared/data/greenbook-pdfs, OGL v3):
all ingest with zero failures, and the pages of search hits are the physical pages
where that text really is, checked against pypdf's own extraction of each page."""

from __future__ import annotations

import re
from functools import lru_cache

import pytest
from pypdf import PdfReader

from ingest.pipeline import ingest_paths

QUERIES = [
    "hepatitis B vaccine for healthcare workers at risk of exposure",
    "post-exposure prophylaxis after a needlestick from a hepatitis B positive source",
    "anti-HBs antibody response checked after the primary course",
    "measles MMR vaccination of healthcare workers without evidence of immunity",
    "varicella vaccine for non-immune healthcare workers",
    "BCG vaccination of healthcare workers and tuberculin skin test",
    "influenza vaccination of frontline health and social care workers",
    "pertussis vaccine in pregnancy",
    "COVID-19 vaccine myocarditis",
    "egg allergy and influenza vaccine",
    "storage of vaccines in a refrigerator between 2 and 8 degrees",
    "consent for immunisation of children",
]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@lru_cache(maxsize=64)
def _raw_pages(path: str) -> list[str]:
    return [_norm(p.extract_text() or "") for p in PdfReader(path).pages]


@pytest.fixture(scope="module")
def greenbook_kb(shared_data, tmp_path_factory, embedder):
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    folder = shared_data / "greenbook-pdfs"
    kb = KnowledgeBase(load_settings(kb_dir=tmp_path_factory.mktemp("greenbook") / "kb"), embedder=embedder)
    kb.report = ingest_paths(kb, sorted(folder.glob("*.pdf")))
    yield kb
    kb.close()


def test_all_38_pdfs_ingest_without_failures(greenbook_kb, shared_data):
    pdfs = sorted((shared_data / "greenbook-pdfs").glob("*.pdf"))
    assert len(pdfs) == 38
    report = greenbook_kb.report
    assert report.failed == []
    assert report.added == 38
    assert report.pages == 613
    for doc in greenbook_kb.documents():
        assert doc.page_count and doc.page_count >= 1


@pytest.mark.parametrize("query", QUERIES)
def test_hit_pages_are_where_the_text_is(greenbook_kb, query):
    hits = greenbook_kb.search(query, k=5)
    assert hits
    for hit in hits:
        c = hit.chunk
        assert 1 <= c.page_start <= c.page_end
        pages = _raw_pages(c.source_path)
        assert c.page_end <= len(pages)
        inside = "".join(pages[c.page_start - 1 : c.page_end])
        # Sample windows of the chunk text; each must be on the cited pages. Windows that
        # pypdf's plain extraction renders differently (tables, ligatures) may miss, but
        # most must be found, and none may be found only on other pages.
        body = _norm(c.text)
        windows = [body[i : i + 40] for i in range(0, max(1, len(body) - 40), 97)][:8] or [body]
        found = sum(w in inside for w in windows)
        assert found >= max(1, len(windows) // 2), (c.source_path, c.page_start, c.page_end, c.heading_path)
        for w in windows:
            if w not in inside and len(w) == 40:
                elsewhere = [n for n, p in enumerate(pages, start=1) if w in p]
                assert not elsewhere, f"text of a p.{c.page_start}-{c.page_end} hit is on page(s) {elsewhere}"
