"""Decide what each PDF line is: heading, body text, list item or part of a table.

Typography does most of the work. The body size is the font size that most characters use.
A line is a heading when it is short, starts with a capital or a digit, does not end like a
sentence, and either
  * is set clearly larger than the body (at least 1.5 pt), or bold at body size or larger;
  * is a multi-level numbered title ("4.2 Non-responders");
  * is a short ALL-CAPS line ("OBJECTIVES");
  * starts a run of at most three short lines at body size or larger set in another font
    family than the body text (a heading style that differs only by typeface, as in
    "Medical Devices" over Garamond body text);
  * matches an entry of the PDF outline (bookmarks).
Heading levels come from the heading font sizes: sizes within 0.5 pt of each other share a
level, the largest size is level 1. Within one size, a numbered heading goes one level deeper
per number beyond the shallowest numbering set in that size ("4.2" sits below "4" when both
share a font; "1.1" set smaller than "1" just takes its size's level).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.loaders.pdf_lines import Line

LARGER_BY = 1.5  # points above the body size that make a line a heading by size alone
SAME_LEVEL_WITHIN = 0.5  # heading sizes closer than this share a level
MAX_HEADING_WORDS = 15
MAX_TYPEFACE_HEADING_WORDS = 8

_NUMBERED_RE = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+\S")
_MULTI_NUMBERED_RE = re.compile(r"^\d+(?:\.\d+)+\.?\s+[A-Z]")
_BARE_NUMBER_RE = re.compile(r"^[\d\W]*[a-z]?$", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")


def font_family(name: str) -> str:
    """ "HelveticaLTStd-Roman" -> "helveticaltstd": the name before its style suffix."""
    return re.split(r"[-,]", name, maxsplit=1)[0].lower()


def outline_key(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip().lower()


def numbering_depth(text: str) -> int:
    """How many numbers prefix a title: "4 Testing" is 1, "4.2 Non-responders" is 2."""
    m = _NUMBERED_RE.match(text)
    return len(m.group(1).split(".")) if m else 0


def heading_text_ok(text: str) -> bool:
    """Could this text be a title at all, whatever its font?"""
    t = text.strip()
    if t.endswith((".", ",", ";", ":")):  # the cheap tests first: every line of a document comes here
        return False
    first = next((c for c in t if c.isalnum()), "")
    if not (first.isupper() or first.isdigit()):
        return False
    words = len(t.split())
    if words > MAX_HEADING_WORDS:
        return False
    letters = sum(c.isalpha() for c in t)
    return (
        (letters >= 4 or (words >= 2 and letters >= 2))  # not "Yes" or "No" in a flowchart
        and not _BARE_NUMBER_RE.match(t)
    )


def _is_all_caps_title(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters) and len(text.split()) <= 8


@dataclass(frozen=True)
class TypeScale:
    """The typographic facts of one document that structure detection needs."""

    body: float
    level_sizes: tuple[float, ...]  # the largest size of each heading level, level 1 first
    leading: dict[float, float]  # usual distance between baselines, by font size
    outline: frozenset[str]
    level_depths: tuple[int, ...] = ()  # per level: the shallowest numbering seen ("4" is 1)
    body_font: str = ""  # the font family most body characters use
    typeface_headings: frozenset[tuple[int, float, float]] = frozenset()  # (page, x, y) of lines

    def is_heading(self, line: Line) -> bool:
        if not heading_text_ok(line.text):
            return False
        if self.styled_as_heading(line):
            return True
        if line.size < self.body - 0.3:
            return False
        return (
            bool(_MULTI_NUMBERED_RE.match(line.text))
            or _is_all_caps_title(line.text)
            or outline_key(line.text) in self.outline
            or self._other_typeface(line)
        )

    def _other_typeface(self, line: Line) -> bool:
        return (line.page, line.x, line.y) in self.typeface_headings

    def styled_as_heading(self, line: Line) -> bool:
        return line.size >= self.body + LARGER_BY or (line.bold and line.size >= self.body - 0.3)

    def _style_index(self, line: Line) -> int:
        for i, size in enumerate(self.level_sizes):
            if line.size >= size - SAME_LEVEL_WITHIN:
                return i
        return len(self.level_sizes)

    def level(self, line: Line) -> int:
        """Level from the heading's size; numbering deeper than its style's usual goes lower."""
        index = self._style_index(line)
        depth = numbering_depth(line.text)
        shallowest = self.level_depths[index] if index < len(self.level_depths) else 0
        extra = depth - shallowest if depth and shallowest else 0
        return max(1, min(6, index + 1 + extra))

    def line_gap(self, size: float) -> float:
        return self.leading.get(size, 1.2 * size)


def _body_style(lines: Iterable[Line]) -> tuple[float, str]:
    """The font size and font that most characters use."""
    sizes: Counter[float] = Counter()
    fonts: Counter[str] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
        fonts[line.font] += len(line.text)
    if not sizes:
        return 10.0, ""
    return sizes.most_common(1)[0][0], fonts.most_common(1)[0][0]


def _leading(pages: list[list[Line]]) -> dict[float, float]:
    gaps: dict[float, list[float]] = defaultdict(list)
    for lines in pages:
        for prev, line in zip(lines, lines[1:], strict=False):
            gap = prev.y - line.y
            if prev.size == line.size and 0.8 * line.size <= gap <= 2.5 * line.size:
                gaps[line.size].append(gap)
    return {size: statistics.median(values) for size, values in gaps.items()}


def analyse_type(pages: list[list[Line]], outline_titles: Iterable[str]) -> TypeScale:
    """Work out the body size, heading levels and line spacing of a document."""
    lines = [line for page in pages for line in page]
    outline = frozenset(outline_key(t) for t in outline_titles if t.strip())
    body, body_font = _body_style(lines)
    provisional = TypeScale(body, (), _leading(pages), outline, body_font=body_font)
    sizes = sorted({line.size for line in lines if provisional.is_heading(line)}, reverse=True)
    level_sizes: list[float] = []
    for size in sizes:
        if not level_sizes or level_sizes[-1] - size >= SAME_LEVEL_WITHIN:
            level_sizes.append(size)
    scale = TypeScale(body, tuple(level_sizes), provisional.leading, outline, body_font=body_font)
    depths: dict[int, int] = {}
    for line in lines:
        depth = numbering_depth(line.text)
        if depth and scale.is_heading(line):
            index = scale._style_index(line)
            depths[index] = min(depth, depths.get(index, depth))
    level_depths = tuple(depths.get(i, 0) for i in range(len(level_sizes) + 1))
    return TypeScale(
        body,
        scale.level_sizes,
        scale.leading,
        outline,
        level_depths,
        body_font,
        _typeface_headings(pages, body, body_font),
    )


def _typeface_headings(
    pages: list[list[Line]], body: float, body_font: str
) -> frozenset[tuple[int, float, float]]:
    """Lines of short runs set in another font family than the body, at body size or larger."""
    keys: set[tuple[int, float, float]] = set()
    family = font_family(body_font)
    for lines in pages:
        runs: list[list[Line]] = []
        for line in lines:
            if runs and runs[-1][-1].font == line.font and abs(runs[-1][-1].size - line.size) < 0.3:
                runs[-1].append(line)
            else:
                runs.append([line])
        for run in runs:
            first = run[0]
            words = sum(len(ln.text.split()) for ln in run)
            if (
                first.font
                and font_family(first.font) != family
                and first.size >= body
                and len(run) <= 3
                and words <= MAX_TYPEFACE_HEADING_WORDS * 2
                and len(first.text.split()) <= MAX_TYPEFACE_HEADING_WORDS
                and heading_text_ok(first.text)
            ):
                keys.update((ln.page, ln.x, ln.y) for ln in run)
    return frozenset(keys)
