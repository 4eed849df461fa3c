"""The cited page itself: a PDF page rendered as an image with the quote's boxes drawn on it.

The quote is found among the page's characters (PDFium's text page) after folding case,
Unicode compatibility forms (ligatures), whitespace and line-end hyphenation, so a quote
taken from extracted text still matches the page it came from. Rendered pages are cached
as PNG files keyed by the document version, page and quote.

>>> find_quote(list("Staff must be im-\\nmunised  yearly."), "must be immunised yearly")
(6, 33)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

RENDER_SCALE = 1.6  # 72 dpi * 1.6 = 115 dpi: readable on a laptop, ~150 KB per page
_SKIP = re.compile(r"[\s\-\u00ad\u2010\u2011\u2012\u2013\u2014\u2212'\u2019\u2018\"\u201c\u201d]")


@dataclass(frozen=True)
class Box:
    """A highlight rectangle in image pixels (left, top, right, bottom)."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class CitedPage:
    """A rendered page: the PNG, which page it is, and where the quote was found on it."""

    png: Path
    page: int  # 1-based
    page_count: int
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.boxes)


def _fold(chars: list[str]) -> tuple[str, list[int]]:
    """The searchable form of `chars` and, for each of its characters, the source index."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(chars):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if not _SKIP.match(c):
                out.append(c)
                where.append(i)
    return "".join(out), where


def find_quote(chars: list[str], quote: str) -> tuple[int, int] | None:
    """(first, last + 1) character indexes of `quote` in `chars`, ignoring case, whitespace,
    hyphenation and quote marks; a long quote that is not found whole is matched by its
    longest leading part of at least 8 words (it may run onto the next page)."""
    text, where = _fold(chars)
    words = quote.split()
    attempts = [words] + [words[:n] for n in range(len(words) - 1, 7, -1)]
    for attempt in attempts:
        needle, _ = _fold(list(" ".join(attempt)))
        if not needle:
            return None
        at = text.find(needle)
        if at >= 0:
            return where[at], where[at + len(needle) - 1] + 1
    return None


def _line_boxes(rects: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """Merge character boxes (left, bottom, right, top in PDF points) into one box per line."""
    lines: list[list[float]] = []
    for left, bottom, right, top in rects:
        if right <= left or top <= bottom:
            continue  # generated spaces and line breaks have empty boxes
        last = lines[-1] if lines else None
        if last and min(top, last[3]) - max(bottom, last[1]) > 0.3 * (top - bottom) and left >= last[0] - 2:
            last[0], last[1] = min(last[0], left), min(last[1], bottom)
            last[2], last[3] = max(last[2], right), max(last[3], top)
        else:
            lines.append([left, bottom, right, top])
    return [tuple(x) for x in lines]  # type: ignore[misc]


def _page_boxes(page, quote: str, scale: float) -> list[Box]:
    import pypdfium2.raw as raw

    text = page.get_textpage()
    try:
        n = text.count_chars()
        chars = [chr(raw.FPDFText_GetUnicode(text.raw, i) or 32) for i in range(n)]
        span = find_quote(chars, quote)
        if span is None:
            return []
        rects = [text.get_charbox(i) for i in range(*span)]
    finally:
        text.close()
    height = page.get_height()
    pad = 1.5
    return [
        Box((left - pad) * scale, (height - top - pad) * scale, (right + pad) * scale, (height - bottom + pad) * scale)
        for left, bottom, right, top in _line_boxes(rects)
    ]


def _cache_name(version: str, page: int, quote: str, scale: float) -> str:
    key = hashlib.sha256(f"{version}|{page}|{scale}|{' '.join(quote.split())}".encode()).hexdigest()[:20]
    return f"{version[:16]}-p{page}-{key}.png"


def render_cited_page(
    pdf_path: Path,
    version: str,
    quote: str,
    pages: list[int],
    cache_dir: Path,
    scale: float = RENDER_SCALE,
) -> CitedPage:
    """Render the first of `pages` (1-based) that holds `quote`, with the quote boxed.

    If none of `pages` holds it, every other page is tried; if the quote is nowhere,
    the first of `pages` is rendered without boxes."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        count = len(pdf)
        wanted = [p for p in pages if 1 <= p <= count] or [1]
        order = wanted + [p for p in range(1, count + 1) if p not in wanted]
        chosen, boxes = wanted[0], []
        for p in order:
            found = _page_boxes(pdf[p - 1], quote, scale) if quote.strip() else []
            if found:
                chosen, boxes = p, found
                break
        out = Path(cache_dir) / _cache_name(version, chosen, quote, scale)
        if out.is_file():
            with Image.open(out) as im:
                return CitedPage(out, chosen, count, im.width, im.height, boxes)
        image = pdf[chosen - 1].render(scale=scale).to_pil().convert("RGB")
    finally:
        pdf.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for b in boxes:
        draw.rectangle((b.left, b.top, b.right, b.bottom), fill=(255, 235, 59, 110), outline=(218, 41, 28, 255), width=2)
    merged = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    merged.save(tmp, format="PNG", optimize=False)
    tmp.replace(out)
    return CitedPage(out, chosen, count, merged.width, merged.height, boxes)
