"""Turn one pypdf page into text lines that carry their font size, weight and position.

pypdf's plain `extract_text()` keeps the content-stream reading order, which is right for
single- and multi-column pages. Its `visitor_text` callback reports every piece of output text
with the text matrix and font in force, and the pieces concatenate to exactly the text that
`extract_text()` returns. We split that stream at newlines into `Line`s and keep, per line, what
structure detection needs: the dominant font size, whether it is bold, the baseline position and
the horizontal pieces (for table rows).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pypdf import PageObject

_BOLD_RE = re.compile(r"bold|black|heavy|semibold|demi|,b$", re.IGNORECASE)
_SYMBOL_FONT_RE = re.compile(r"wingding|dingbat|symbol", re.IGNORECASE)


@dataclass(frozen=True)
class Piece:
    """A run of text drawn with one font at one position."""

    text: str
    size: float
    bold: bool
    x: float
    y: float
    symbol: bool  # drawn with a symbol or Type3 font (bullets, ticks)
    font: str = ""  # the font's base name without its subset prefix ("ABCDEF+")


@dataclass(frozen=True)
class Line:
    """One output line of a page, with its typographic features."""

    text: str
    page: int
    size: float  # dominant effective font size, in points
    bold: bool  # most of its characters are bold
    font: str  # the font most of its characters use
    x: float  # where the line starts
    y: float  # its baseline (PDF user space: larger is higher on the page)
    pieces: tuple[Piece, ...]

    @property
    def starts_with_symbol(self) -> bool:
        """True when the first visible glyph is a lone symbol-font glyph, such as a bullet."""
        for piece in self.pieces:
            if piece.text.strip():
                return piece.symbol and len(piece.text.strip()) == 1
        return False


def _font_info(font: Any) -> tuple[bool, bool, str]:
    """(bold, symbol, base name) of a font resource."""
    if not font:
        return False, False, ""
    try:
        name = str(font.get("/BaseFont", ""))
        subtype = str(font.get("/Subtype", ""))
    except Exception:  # a malformed font dictionary: treat as a plain font
        return False, False, ""
    base = name.lstrip("/").split("+", 1)[-1]
    symbol = subtype == "/Type3" or bool(_SYMBOL_FONT_RE.search(name))
    return bool(_BOLD_RE.search(name)), symbol, base


def _collect_pieces(page: PageObject) -> list[Piece | None]:
    """Pieces in output order; None marks a line break."""
    out: list[Piece | None] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text:
            return
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        bold, symbol, name = _font_info(font)
        for i, part in enumerate(text.split("\n")):
            if i:
                out.append(None)
            if part:
                out.append(Piece(part, round(float(size) * scale, 1), bold, x, y, symbol, name))

    page.extract_text(visitor_text=visit)
    return out


def _make_line(pieces: list[Piece], page_no: int) -> Line | None:
    text = "".join(p.text for p in pieces).strip()
    if not text:
        return None
    weights: Counter[float] = Counter()
    fonts: Counter[str] = Counter()
    bold_chars = 0
    visible = 0
    for p in pieces:
        n = len(p.text.strip())
        if not n:
            continue
        weights[p.size] += n
        fonts[p.font] += n
        visible += n
        bold_chars += n if p.bold else 0
    size = weights.most_common(1)[0][0] if weights else 0.0
    first = next(p for p in pieces if p.text.strip())
    return Line(
        text=text,
        page=page_no,
        size=size,
        bold=visible > 0 and bold_chars / visible >= 0.6,
        font=fonts.most_common(1)[0][0] if fonts else "",
        x=first.x,
        y=first.y,
        pieces=tuple(pieces),
    )


def page_lines(page: PageObject, page_no: int) -> list[Line]:
    """The non-blank lines of `page` (1-based `page_no`) in reading order."""
    lines: list[Line] = []
    current: list[Piece] = []
    for piece in [*_collect_pieces(page), None]:
        if piece is not None:
            current.append(piece)
            continue
        line = _make_line(current, page_no)
        if line is not None:
            lines.append(line)
        current = []
    return lines
