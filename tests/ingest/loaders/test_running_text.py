"""Running headers, footers and page numbers."""

from __future__ import annotations

import pytest

from ingest.loaders.pdf_lines import Line
from ingest.loaders.running_text import drop_running_text, is_page_number, normalise


def _line(text: str, y: float, page: int, size: float = 10.0, x: float = 72.0) -> Line:
    return Line(text=text, page=page, size=size, bold=False, font="Helvetica", x=x, y=y, pieces=())


@pytest.mark.parametrize("text", ["12", "Page 3 of 7", "page 3", "- 4 -", "Chapter 18 - 3", "3/10"])
def test_page_numbers(text: str) -> None:
    assert is_page_number(text)


@pytest.mark.parametrize("text", ["Table 2", "18 months", "Page layout"])
def test_not_page_numbers(text: str) -> None:
    assert not is_page_number(text)


def test_normalise_digits() -> None:
    assert normalise("Chapter 18 –  3") == normalise("Chapter 18 – 4") == "chapter # – #"


def test_headers_footers_and_side_tabs_are_dropped() -> None:
    pages = []
    for p in range(1, 6):
        pages.append(
            [
                _line("Hepatitis B", 810, p),
                _line(f"Body text that differs on page {p}.", 500, p),
                _line("Hepatitis B", 190, p, size=16, x=561),  # side tab at a fixed place
                _line(f"Chapter 18 - {p}", 30, p),
            ]
        )
    kept = drop_running_text(pages, [(0.0, 842.0)] * 5)
    assert [[ln.text for ln in page] for page in kept] == [
        [f"Body text that differs on page {p}."] for p in range(1, 6)
    ]


def test_body_lines_in_the_band_are_kept_unless_repeated() -> None:
    endings = ["The clinic closes at noon.", "Bring your badge.", "Ask the OH nurse."]
    pages = [[_line(text, 40, p)] for p, text in enumerate(endings, start=1)]
    kept = drop_running_text(pages, [(0.0, 842.0)] * 3)
    assert sum(len(page) for page in kept) == 3
