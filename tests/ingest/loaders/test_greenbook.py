"""The loaders and chunker on the 38 real UKHSA Green Book PDFs (skipped without shared/)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from ingest.chunking import chunk_document, document_text, uncovered_text
from ingest.loaders import load_document
from ingest.loaders.word_repair import unknown_word_count
from kb.records import ParsedDocument


@pytest.fixture(scope="module")
def greenbook(shared_data: Path) -> dict[str, ParsedDocument]:
    folder = shared_data / "greenbook-pdfs"
    files = sorted(folder.glob("*.pdf"))
    assert len(files) == 38
    # No wall-time assert here: timing belongs in evals/ benchmarks (CONVENTIONS), and since
    # issue 12 one figure page (ch8 p.10, the anaphylaxis algorithm) is OCR'd.
    return {f.name: load_document(f) for f in files}  # any IngestError fails the test


def test_all_38_load_with_pages_and_headings(greenbook: dict[str, ParsedDocument]) -> None:
    assert sum(d.page_count or 0 for d in greenbook.values()) == 613
    for name, doc in greenbook.items():
        assert doc.blocks, name
        assert all(b.page is not None and 1 <= b.page <= (doc.page_count or 0) for b in doc.blocks)
        pages = [b.page for b in doc.blocks]
        assert pages == sorted(pages), f"{name}: blocks out of page order"
        assert any(b.kind == "heading" for b in doc.blocks), name
    assert greenbook["hepatitis-b-ch18.pdf"].page_count == 35


@pytest.mark.parametrize(
    ("name", "phrase", "page", "kind"),
    [
        ("hepatitis-b-ch18.pdf", "Table 18.5 Hepatitis B immunisation schedules", 10, "table"),
        (
            "hepatitis-b-ch18.pdf",
            "the response to hepatitis B vaccine is lower and slower in pre-term",
            21,
            "text",
        ),
        ("hepatitis-b-ch18.pdf", "Persons who are accidentally inoculated or contaminated", 23, "heading"),
        ("covid-19-ch14a.pdf", "had started to predominate", 2, "text"),  # "pre-\ndominate" joined
        # kerning repaired: pypdf gives "self-emplo yed ha ve specif ic duties"
        (
            "immunisation-of-healthcare-and-laboratory-staff-ch12.pdf",
            "the self-employed have specific duties to protect",
            1,
            "text",
        ),
    ],
)
def test_distinctive_text_on_its_physical_page(
    greenbook: dict[str, ParsedDocument], name: str, phrase: str, page: int, kind: str
) -> None:
    hits = [(b.page, b.kind) for b in greenbook[name].blocks if phrase in b.text]
    assert hits == [(page, kind)]


def test_running_headers_are_gone(greenbook: dict[str, ParsedDocument]) -> None:
    doc = greenbook["hepatitis-b-ch18.pdf"]
    texts = [b.text for b in doc.blocks]
    assert "Hepatitis B" not in texts  # the running header on every page
    assert not any(b.text.strip() == str(b.page) for b in doc.blocks)  # bare page numbers
    assert doc.date_hint is not None and doc.date_hint.isoformat() == "2026-02-05"


def test_heading_levels_nest(greenbook: dict[str, ParsedDocument]) -> None:
    headings = [(b.level, b.text) for b in greenbook["hepatitis-b-ch18.pdf"].blocks if b.kind == "heading"]
    assert headings[0] == (1, "Hepatitis B NOTIFIABLE")
    assert (2, "The disease") in headings
    assert (3, "Routine childhood immunisation programme") in headings


def test_kerning_repair_cuts_broken_words(greenbook: dict[str, ParsedDocument]) -> None:
    text = document_text(greenbook["immunisation-of-healthcare-and-laboratory-staff-ch12.pdf"].blocks)
    assert "emplo yed" not in text and " ha ve " not in text
    assert unknown_word_count(text) < 80  # about 255 before repair


def test_chunks_of_the_whole_corpus(greenbook: dict[str, ParsedDocument]) -> None:
    counts = []
    for name, doc in greenbook.items():
        chunks = chunk_document(doc, max_tokens=300)
        text = document_text(doc.blocks)
        assert not uncovered_text(doc, chunks), name
        for c in chunks:
            assert text[c.char_start : c.char_end] == c.text
            assert c.token_count <= 300
        counts.extend(c.token_count for c in chunks)
    assert 1500 < len(counts) < 3000
    assert statistics.mean(counts) > 150


def test_figure_page_without_text_is_ocrd(greenbook: dict[str, ParsedDocument]) -> None:
    """Chapter 8 p.10 is the anaphylaxis algorithm as an image under a 37-word text layer."""
    doc = greenbook["vaccine-safety-and-adverse-events-following-immunisation-ch8.pdf"]
    ocr_text = " ".join(b.text for b in doc.blocks if b.ocr)
    assert {b.page for b in doc.blocks if b.ocr} == {10}
    assert "500 micrograms IM" in ocr_text and "adrenaline" in ocr_text
    assert sum(1 for d in greenbook.values() for b in d.blocks if b.ocr) == len(
        [b for b in doc.blocks if b.ocr]
    )  # no other Green Book page needed OCR
