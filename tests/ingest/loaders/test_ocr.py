"""OCR of PDF pages without a text layer (tesseract-ocr, rendered by pypdfium2)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from ingest.loaders import load_document, ocr
from tests.fixtures.bad.make_fixtures import scanned_words_pdf


def test_image_only_pdf_is_read_by_ocr_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    scanned_words_pdf(path)
    doc = load_document(path)
    text = " ".join(b.text for b in doc.blocks)
    for word in ("Needlestick", "injury", "Wash", "wound", "occupational", "health"):
        assert word in text
    assert all(b.ocr and b.page == 1 for b in doc.blocks)
    assert doc.page_count == 1


def test_ocr_bullets_and_noise_lines(tmp_path: Path) -> None:
    blocks = ocr.text_to_blocks("e Wash the wound\nwith water\n\n| |\n\n« Report it", page=3)
    assert [b.text for b in blocks] == ["\u2022 Wash the wound with water", "\u2022 Report it"]
    assert ocr.new_to_page(blocks, "Report it") == blocks[:1]


def test_hse_l74_page_33_flowchart_is_recovered(shared_data: Path) -> None:
    """L74 p.33 has a 21-word heading over a flowchart image: OCR recovers the numbers."""
    pdf = shared_data / "hse-l74" / "First_Aid_Guidance_L74.pdf"
    page = PdfReader(pdf).pages[32]
    assert ocr.has_large_image(page)
    blocks = ocr.ocr_pdf_pages(pdf, [33])[33]
    text = " ".join(b.text for b in blocks)
    for phrase in ("Fewer than 25", "At least 1 appointed person", "25-50", "At least 1 EFAW trained first-aider",
                   "for every 100 employed", "5-50", "for every 50", "Higher hazard"):
        assert phrase in text, phrase


def test_citations_of_ocr_chunks_say_so() -> None:
    from kb.mapping import chunks_for
    from kb.records import ChunkDraft, Citation, Document

    doc = Document(doc_id="scan", title="Scan", source_path="scan.pdf", version="v1",
                   ingested_at="2026-01-01T00:00:00Z")
    drafts = [ChunkDraft(ordinal=0, text="Wash the wound", char_start=0, char_end=14, token_count=3, ocr=True),
              ChunkDraft(ordinal=1, text="Typed text", char_start=16, char_end=26, token_count=2)]
    chunks = chunks_for(doc, drafts)
    assert [c.ocr for c in chunks] == [True, False]
    assert [Citation.quoting(1, c, 0, 4, link="").ocr for c in chunks] == [True, False]
