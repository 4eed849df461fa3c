"""Find and drop running headers, footers and page numbers in a PDF's lines.

A line is running text when
  * it sits in the top or bottom band of its page and the same line (compared after turning
    every run of digits into "#", so "Chapter 18 - 3" and "Chapter 18 - 4" match) at the same
    font size recurs in the bands of many pages;
  * it sits in the top or bottom band and is a bare page number: "12", "Page 3 of 7", "- 4 -",
    "Chapter 18 - 3"; or
  * it is short and recurs, with the same text, at the same place on many pages, wherever that is (side tabs in the
    margin, rotated chapter labels).
"""

from __future__ import annotations

import math
import re
from collections import Counter

from ingest.loaders.pdf_lines import Line

BAND = 0.12  # share of the page height at the top and at the bottom
MIN_SHARE = 0.3  # share of pages a line must recur on to count as running text
PLACED_SHARE = 0.4  # share of pages a short line must recur on at the same place
PLACE_GRID = 4.0  # points: positions are compared on this grid
MAX_PLACED_WORDS = 12

_DIGITS_RE = re.compile(r"\d+")
_SPACE_RE = re.compile(r"\s+")
_PAGE_NUMBER_RES = (
    re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE),
    re.compile(r"^[-\u2013\u2014]\s*\d{1,4}\s*[-\u2013\u2014]$"),
    re.compile(r"^(?:chapter|chap\.?|section)\s+\w{1,6}\s*[-\u2013\u2014:.]\s*\d{1,4}$", re.IGNORECASE),
)


def normalise(text: str) -> str:
    """The comparison key of a line: lower case, digits as "#", single spaces."""
    return _SPACE_RE.sub(" ", _DIGITS_RE.sub("#", text.lower())).strip()


def is_page_number(text: str) -> bool:
    t = text.strip()
    return any(r.match(t) for r in _PAGE_NUMBER_RES)


def _in_band(line: Line, bounds: tuple[float, float]) -> bool:
    bottom, top = bounds
    height = top - bottom
    if height <= 0:
        return False
    return line.y >= top - height * BAND or line.y <= bottom + height * BAND


def drop_running_text(pages: list[list[Line]], bounds: list[tuple[float, float]]) -> list[list[Line]]:
    """Remove running headers, footers and page numbers from each page's lines.

    `bounds` gives each page's (bottom, top) in the same coordinates as the lines' `y`.
    """

    def key(line: Line) -> tuple[str, float]:
        return normalise(line.text), round(line.size)

    def placed_key(line: Line) -> tuple[str, float, float, float]:
        # exact text here: lines that differ only in a number are different content
        text = _SPACE_RE.sub(" ", line.text.lower()).strip()
        return text, round(line.size), round(line.x / PLACE_GRID), round(line.y / PLACE_GRID)

    counts: Counter[tuple[str, float]] = Counter()
    placed: Counter[tuple[str, float, float, float]] = Counter()
    for lines, page_bounds in zip(pages, bounds, strict=True):
        counts.update({key(line) for line in lines if _in_band(line, page_bounds)})
        placed.update({placed_key(line) for line in lines if len(line.text.split()) <= MAX_PLACED_WORDS})
    n = len(pages)
    min_pages = max(2, math.ceil(MIN_SHARE * n)) if n >= 2 else math.inf
    min_placed = max(3, math.ceil(PLACED_SHARE * n))

    def running(line: Line, page_bounds: tuple[float, float]) -> bool:
        if placed[placed_key(line)] >= min_placed:
            return True
        return _in_band(line, page_bounds) and (counts[key(line)] >= min_pages or is_page_number(line.text))

    return [
        [line for line in lines if not running(line, page_bounds)]
        for lines, page_bounds in zip(pages, bounds, strict=True)
    ]
