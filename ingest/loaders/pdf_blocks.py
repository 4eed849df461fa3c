"""Group a PDF's classified lines into blocks: headings, paragraphs, lists and tables.

* Lines join into one paragraph while they share a font size and the baseline gap stays near
  the usual line spacing; a larger gap, a size change, a bullet or a heading starts a new block.
* A heading may wrap over up to three lines of the same style.
* Bulleted items (and their indented continuation lines) gather into one `list` block, one item
  per line.
* "Table N ..." captions followed by lines set smaller than the body become a `table` block:
  text pieces are grouped into rows by baseline and into cells by horizontal gaps, and each row
  is written as one line per row, each value beside its column header (`tables.table_text`).
Blocks never span pages, so every block keeps its physical page number.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from ingest.loaders.pdf_lines import Line, Piece
from ingest.loaders.pdf_structure import TypeScale
from ingest.loaders.tables import table_text
from ingest.loaders.word_repair import Vocabulary, join_lines
from kb.records import Block

MAX_HEADING_LINES = 3
MAX_HEADING_WORDS = 25
PARAGRAPH_GAP = 1.4  # a baseline gap above this many usual line spacings ends a paragraph

# Bullet glyphs, including private-use Symbol/Wingdings codes and the control characters some
# PDF encodings give for a bullet.
_BULLET_RE = re.compile(
    "^\\s*([\u2022\u25cf\u25aa\u25a0\u25e6\u2023\u2043\u2219\u00b7\u274f\u2751\u27a2"
    "\uf0b7\uf0a7\uf076\uf0d8\x7f\x95-]+)\\s+"
)
_CAPTION_RE = re.compile(r"^(?:Table|TABLE)\s+[A-Z]?\d+(?:[.\-]\d+)*[a-z]?\b")
_DECORATIVE_RE = re.compile(r"^\d{1,3}[a-z]?$")
_SENTENCE_END_RE = re.compile(r"[.!?:;][\"'\u201d\u2019)]*$")


def _bullet_text(line: Line) -> str | None:
    """The line's text with its bullet normalised to "•", or None if it is not a list item."""
    if line.starts_with_symbol:
        first = next(p for p in line.pieces if p.text.strip())
        rest = line.text.strip()[len(first.text.strip()) :].lstrip()
        return f"\u2022 {rest}" if rest else None
    m = _BULLET_RE.match(line.text)
    if m and line.text[m.end() :].strip():
        return f"\u2022 {line.text[m.end() :].strip()}"
    return None


@dataclass
class _Builder:
    scale: TypeScale
    vocab: Vocabulary
    blocks: list[Block] = field(default_factory=list)
    para: list[Line] = field(default_factory=list)
    role: str = ""  # "heading", "text" or "item" for the open paragraph
    items: list[str] = field(default_factory=list)
    items_page: int | None = None
    table: list[Line] = field(default_factory=list)

    # ------------------------------------------------------------ flushing

    def flush_para(self) -> None:
        if not self.para:
            return
        lines, role = self.para, self.role
        self.para, self.role = [], ""
        if role == "item":
            first = _bullet_text(lines[0]) or lines[0].text
            text = join_lines([first] + [ln.text for ln in lines[1:]], self.vocab)
            if self.items and self.items_page != lines[0].page:
                self.flush_list()
            self.items.append(text)
            self.items_page = lines[0].page
            return
        self.flush_list()
        text = join_lines([ln.text for ln in lines], self.vocab)
        page = lines[0].page
        if role == "heading" and len(text.split()) <= MAX_HEADING_WORDS and not text.endswith("."):
            self.blocks.append(Block(kind="heading", text=text, level=self.scale.level(lines[0]), page=page))
        else:
            self.blocks.append(Block(kind="text", text=text, page=page))

    def flush_list(self) -> None:
        if self.items:
            self.blocks.append(Block(kind="list", text="\n".join(self.items), page=self.items_page))
        self.items, self.items_page = [], None

    def flush_table(self) -> None:
        if not self.table:
            return
        caption, rows = self.table[0], self.table[1:]
        self.table = []
        if not rows:  # a caption with no smaller-set lines after it: plain text
            self.para, self.role = [caption], "text"
            self.flush_para()
            return
        text = table_text([r.split(" | ") for r in table_rows(rows)], caption=caption.text)
        self.blocks.append(Block(kind="table", text=text, page=caption.page))

    def add_table(self, lines: list[Line]) -> None:
        """A table with no caption: every line is part of it."""
        self.flush_table()
        self.flush_para()
        self.flush_list()
        rows = [r.split(" | ") for r in table_rows(lines)]
        self.blocks.append(Block(kind="table", text=table_text(rows), page=lines[0].page))

    def finish(self) -> list[Block]:
        self.flush_table()
        self.flush_para()
        self.flush_list()
        return self.blocks

    # ------------------------------------------------------------ line by line

    def continues(self, prev: Line, line: Line) -> bool:
        """Does `line` carry on the paragraph whose last line is `prev`?"""
        if line.page != prev.page or abs(line.size - prev.size) > 0.6:
            return False
        gap = prev.y - line.y
        if abs(gap) < 0.3 * prev.size:  # same baseline
            return True
        if gap < 0:  # jumped up: a new column; the paragraph goes on if its sentence does
            return not _SENTENCE_END_RE.search(prev.text.strip())
        return gap <= PARAGRAPH_GAP * self.scale.line_gap(prev.size)

    def add(self, line: Line) -> None:
        if line.size >= 2 * self.scale.body and _DECORATIVE_RE.match(line.text):
            return  # a display chapter number such as "12" or "18a"
        if self.table:
            if line.page == self.table[0].page and line.size < self.scale.body - 0.4:
                self.table.append(line)
                return
            self.flush_table()
        prev = self.para[-1] if self.para else None
        if _CAPTION_RE.match(line.text.strip()):
            self.flush_para()
            self.flush_list()
            self.table = [line]
            return
        if self.role == "heading" and prev is not None and self._same_heading(prev, line):
            self.para.append(line)
            return
        if self.scale.is_heading(line):
            self.flush_para()
            self.para, self.role = [line], "heading"
            return
        if _bullet_text(line) is not None:
            self.flush_para()
            self.para, self.role = [line], "item"
            return
        if prev is not None and self.role in ("text", "item") and self.continues(prev, line):
            if self.role != "item" or line.x > self.para[0].x + 2:
                self.para.append(line)
                return
        self.flush_para()
        self.para, self.role = [line], "text"

    def _same_heading(self, prev: Line, line: Line) -> bool:
        return (
            len(self.para) < MAX_HEADING_LINES
            and line.page == prev.page
            and abs(line.size - prev.size) < 0.3
            and line.bold == prev.bold
            and line.font == prev.font
            and 0 < prev.y - line.y <= 1.6 * prev.size
            and (self.scale.styled_as_heading(line) or self.scale.is_heading(line))
        )


def build_blocks(lines: list[Line], scale: TypeScale, vocab: Vocabulary) -> list[Block]:
    """Blocks in reading order from the lines of a whole document."""
    builder = _Builder(scale, vocab)
    runs = uncaptioned_tables(lines, scale)
    i = 0
    while i < len(lines):
        if i in runs and not builder.table:
            builder.add_table(lines[i : runs[i]])
            i = runs[i]
            continue
        builder.add(lines[i])
        i += 1
    return builder.finish()


def uncaptioned_tables(lines: list[Line], scale: TypeScale) -> dict[int, int]:
    """Tables without a "Table N" caption: start index -> end index (exclusive).

    A table is a run of lines on one page set smaller than the body text, in which at least two
    baselines hold two or more cells at different x positions (footnotes have one cell a line).
    """
    runs: dict[int, int] = {}
    i = 0
    while i < len(lines):
        small = lines[i].size < scale.body - 0.4 and not _CAPTION_RE.match(lines[i].text.strip())
        if not small:
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].page == lines[i].page and lines[j].size < scale.body - 0.4:
            j += 1
        columns_at: dict[int, set[int]] = {}
        for line in lines[i:j]:
            if line.text.strip():
                columns_at.setdefault(round(line.y), set()).add(round(line.x))
        multi = {y for y, xs in columns_at.items() if len(xs) >= 2}
        if len(multi) >= 2:
            # The table starts at its first row of two or more cells; small-type lines before
            # it (a running note, a caption-less label) stay ordinary text.
            start = next(k for k in range(i, j) if round(lines[k].y) in multi)
            runs[start] = j
        i = j
    return runs


# ---------------------------------------------------------------- tables


def _column_starts(lines: list[Line]) -> list[float]:
    """x positions where two or more lines of a table start: its column edges."""
    starts = sorted(line.x for line in lines)
    anchors: list[float] = []
    run: list[float] = []
    for x in starts:
        if run and x - run[-1] > 2.0:
            if len(run) >= 2:
                anchors.append(run[0])
            run = []
        run.append(x)
    if len(run) >= 2:
        anchors.append(run[0])
    return anchors


def _starts_cell(piece: Piece, prev: Piece | None, new_line: bool, anchors: list[float]) -> bool:
    if prev is None or new_line:
        return True
    if any(abs(piece.x - a) <= 2.0 for a in anchors) and piece.x > prev.x + 2.0:
        return True
    est_end = prev.x + 0.5 * prev.size * len(prev.text)
    return piece.x - est_end > 1.5 * max(piece.size, prev.size)


def _physical_rows(lines: list[Line], anchors: list[float]) -> list[tuple[float, list[tuple[float, str]]]]:
    """(baseline, [(x, cell text)]) for each visual row, top to bottom."""
    # Group whole lines by baseline, so superscripts stay with their line.
    tagged = sorted(((i, line) for i, line in enumerate(lines) if line.text.strip()), key=lambda t: -t[1].y)
    if not tagged:
        return []
    sizes = sorted(line.size for _, line in tagged)
    tolerance = 0.45 * sizes[len(sizes) // 2]
    line_groups: list[list[tuple[int, Line]]] = []
    for item in tagged:
        if line_groups and abs(line_groups[-1][0][1].y - item[1].y) <= tolerance:
            line_groups[-1].append(item)
        else:
            line_groups.append([item])
    groups = [[(i, p) for i, line in group for p in line.pieces if p.text.strip()] for group in line_groups]
    rows = []
    for line_group, group in zip(line_groups, groups, strict=True):
        cells: list[tuple[float, str]] = []
        prev: tuple[int, Piece] | None = None
        for line_no, piece in sorted(group, key=lambda t: t[1].x):
            new_line = prev is not None and prev[0] != line_no
            if _starts_cell(piece, prev[1] if prev else None, new_line, anchors):
                cells.append((piece.x, piece.text.strip()))
            else:
                cells[-1] = (cells[-1][0], f"{cells[-1][1]}{piece.text}".strip())
            prev = (line_no, piece)
        rows.append((line_group[0][1].y, [c for c in cells if c[1]]))
    return rows


def _column(x: float, anchors: list[float]) -> float:
    """The column edge a cell starting at `x` belongs to."""
    edges = [a for a in anchors if a <= x + 2.0]
    return edges[-1] if edges else x


def table_rows(lines: list[Line]) -> list[str]:
    """Rows of a table region as "cell | cell | cell" lines.

    Pieces are grouped into visual rows by baseline and into cells at column edges (x positions
    where several lines start). A visual row continues the logical row above it (a wrapped cell)
    when it starts right of that row's first cell, or, in tables whose rows are padded, when it
    follows at plain line spacing. Continued cells are appended to the cell of the same column.
    """
    anchors = _column_starts(lines)
    physical = _physical_rows(lines, anchors)
    gaps = [a[0] - b[0] for a, b in zip(physical, physical[1:], strict=False)]
    tight = min(gaps) if gaps else 0.0
    padded = bool(gaps) and statistics.median(gaps) > 1.2 * tight
    logical: list[tuple[float, dict[float, str]]] = []  # (first cell x, column -> text)
    prev_y: float | None = None
    for y, cells in physical:
        if not cells:
            continue
        first_x = cells[0][0]
        continues = bool(logical) and (
            first_x > logical[-1][0] + 2.0 or (padded and prev_y is not None and prev_y - y <= 1.1 * tight)
        )
        if not continues:
            logical.append((first_x, {}))
        columns = logical[-1][1]
        for x, text in cells:
            col = _column(x, anchors)
            columns[col] = f"{columns[col]} {text}" if col in columns else text
        prev_y = y
    return [" | ".join(cols[k] for k in sorted(cols)) for _, cols in logical]
