"""Split a parsed document into section-aware chunks with exact character offsets.

    >>> from kb.records import Block, ParsedDocument
    >>> doc = ParsedDocument(path="x.md", blocks=[
    ...     Block(kind="heading", text="4 Testing", level=1),
    ...     Block(kind="heading", text="4.2 Non-responders", level=2),
    ...     Block(kind="text", text="Offer a second course of vaccine."),
    ... ])
    >>> [(c.heading_path, c.text) for c in chunk_document(doc)]
    [('4 Testing > 4.2 Non-responders', '4 Testing\\n\\n4.2 Non-responders\\n\\nOffer a second course of vaccine.')]

Rules:
* The document text is the block texts joined with "\\n\\n" (`document_text`). Every chunk is an
  exact slice of it: `chunk.text == document_text(blocks)[chunk.char_start:chunk.char_end]`.
* Sections follow headings. A stack of headings by level gives each block its section path,
  e.g. ("4 Testing", "4.2 Non-responders"); `heading_path` joins it with " > ".
* A section's heading is its first unit, so the first chunk of a section starts with the heading
  line. Later chunks of a long section carry the heading only in `heading_path`.
* Within a section whole blocks are packed up to `max_tokens` (tiktoken cl100k_base). A block
  that does not fit alone is split into lines (tables, lists) or sentences, and a piece that still
  does not fit is cut at token boundaries.
* A chunk never spans two sections, with two exceptions:
  - a section that holds only its heading joins the section after it when that one is its
    descendant or sibling ("History" followed by "History > Children"), so no chunk is a bare
    heading;
  - consecutive tiny sections (each under `min_tokens`) that are siblings, or a child following
    a tiny parent, are packed together while they fit.
  A chunk's `heading_path` is the longest common path of the sections whose body text it holds
  (so merged siblings get their common parent); when that is empty, the first such section's.
* Sections under headings with different anchors (bulletin items) are never packed together, so
  a chunk never mixes two news items; a chunk's `anchor` is that of the section it holds.
* `overlap_tokens` > 0 repeats whole trailing pieces (sentences or blocks) of the previous chunk
  of the same section at the start of the next, up to that many tokens.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.records import Block, ChunkDraft, ParsedDocument

SEPARATOR = "\n\n"
MIN_MAX_TOKENS = 16

_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[\u2022A-Z0-9])")
_NON_SPACE_RE = re.compile(r"\S")


# ---------------------------------------------------------------- tokens


def _tiktoken_cache_dir() -> str | None:
    """llama-index-core ships the cl100k_base file in `_static/tiktoken_cache`."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    return str(path) if path.is_dir() else None


@lru_cache(maxsize=1)
def encoder() -> Any:
    """The cl100k_base encoding, loaded from llama-index-core's copy so nothing downloads."""
    import tiktoken

    cache_dir = _tiktoken_cache_dir()
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    if cache_dir and previous is None:
        os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
    try:
        return tiktoken.get_encoding("cl100k_base")
    finally:
        if cache_dir and previous is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]


def count_tokens(text: str) -> int:
    return len(encoder().encode(text, disallowed_special=()))


# ---------------------------------------------------------------- document text


def document_text(blocks: list[Block]) -> str:
    """The text that chunk offsets index into: block texts joined with a blank line."""
    return SEPARATOR.join(b.text for b in blocks)


# ---------------------------------------------------------------- units


@dataclass(frozen=True)
class _Unit:
    """A piece of one block that is never split further: [start, end) in the document text."""

    start: int
    end: int
    tokens: int
    page: int | None
    section: int  # index into the section list
    is_heading: bool
    ocr: bool = False  # the block's text was read by OCR


@dataclass(frozen=True)
class _Section:
    path: tuple[str, ...]
    heading_only: bool
    tokens: int
    anchor: str | None = None


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Shrink [start, end) of `text` to exclude surrounding whitespace; None if nothing left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _split_spans(text: str, kind: str) -> list[tuple[int, int]]:
    """Line spans for tables and lists, sentence spans otherwise (offsets within `text`)."""
    if kind in ("table", "list"):
        pattern = re.compile(r"\n+")
    else:
        pattern = _SENTENCE_END_RE
    spans, pos = [], 0
    for m in pattern.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    out = []
    for s, e in spans:
        trimmed = _trimmed(text, s, e)
        if trimmed:
            out.append(trimmed)
    return out


def _token_windows(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut text[start:end] at token boundaries into pieces of at most `max_tokens` tokens."""
    piece = text[start:end]
    tokens = encoder().encode(piece, disallowed_special=())
    _, offsets = encoder().decode_with_offsets(tokens)
    cuts = sorted({0, *(offsets[i] for i in range(max_tokens, len(tokens), max_tokens)), len(piece)})
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        trimmed = _trimmed(text, start + a, start + b)
        if not trimmed:
            continue
        if count_tokens(text[trimmed[0] : trimmed[1]]) > max_tokens and b - a > 1:
            mid = start + (a + b) // 2  # re-encoding drifted past the budget: halve
            out.extend(_token_windows(text, trimmed[0], mid, max_tokens))
            out.extend(_token_windows(text, mid, trimmed[1], max_tokens))
        else:
            out.append(trimmed)
    return out


def _block_units(text: str, block: Block, start: int, section: int, max_tokens: int) -> list[_Unit]:
    end = start + len(block.text)
    whole = _trimmed(text, start, end)
    if whole is None:
        return []
    tokens = count_tokens(text[whole[0] : whole[1]])
    heading = block.kind == "heading"
    if tokens <= max_tokens:
        return [_Unit(whole[0], whole[1], tokens, block.page, section, heading, block.ocr)]
    units = []
    for s, e in _split_spans(block.text, block.kind):
        a, b = start + s, start + e
        n = count_tokens(text[a:b])
        spans = [(a, b)] if n <= max_tokens else _token_windows(text, a, b, max_tokens)
        for x, y in spans:
            units.append(_Unit(x, y, count_tokens(text[x:y]), block.page, section, heading, block.ocr))
    return units


def _units_and_sections(
    blocks: list[Block], text: str, max_tokens: int
) -> tuple[list[_Unit], list[_Section]]:
    units: list[_Unit] = []
    paths: list[tuple[str, ...]] = [()]
    anchors: list[str | None] = [None]
    stack: list[tuple[int, str]] = []
    pos = 0
    for block in blocks:
        if block.kind == "heading":
            level = max(1, block.level)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, " ".join(block.text.split())))
            paths.append(tuple(t for _, t in stack))
            anchors.append(block.anchor)
        units.extend(_block_units(text, block, pos, len(paths) - 1, max_tokens))
        pos += len(block.text) + len(SEPARATOR)
    owned: dict[int, list[_Unit]] = {}
    for unit in units:
        owned.setdefault(unit.section, []).append(unit)
    sections = [
        _Section(
            path=path,
            heading_only=bool(owned.get(i)) and all(u.is_heading for u in owned[i]),
            tokens=sum(u.tokens for u in owned.get(i, [])),
            anchor=anchors[i],
        )
        for i, path in enumerate(paths)
    ]
    return units, sections


# ---------------------------------------------------------------- packing


def _may_join(chunk: list[_Unit], unit: _Unit, sections: list[_Section], min_tokens: int) -> bool:
    """May `unit`, which starts a new section, go into the open `chunk`?"""
    new = sections[unit.section]
    in_chunk = [sections[i] for i in dict.fromkeys(u.section for u in chunk)]
    last = in_chunk[-1]
    if any(s.anchor != new.anchor for s in in_chunk) and not all(s.heading_only for s in in_chunk):
        return False  # a bulletin item never shares a chunk with another item or the masthead
    if all(s.heading_only for s in in_chunk) and (
        new.path[: len(last.path)] == last.path or new.path[:-1] == last.path[:-1]
    ):
        return True
    all_tiny = all(s.tokens < min_tokens for s in in_chunk) and new.tokens < min_tokens
    related = new.path[:-1] in (last.path[:-1], last.path)
    return all_tiny and related


def _heading_path(chunk: list[_Unit], sections: list[_Section]) -> str:
    body = [sections[u.section].path for u in chunk if not u.is_heading]
    paths = body or [sections[chunk[-1].section].path]
    common = list(paths[0])
    for p in paths[1:]:
        n = 0
        while n < min(len(common), len(p)) and common[n] == p[n]:
            n += 1
        common = common[:n]
    return " > ".join(common or paths[0])


def _anchor(chunk: list[_Unit], sections: list[_Section]) -> str | None:
    body = [sections[u.section].anchor for u in chunk if not u.is_heading]
    return next((a for a in body + [sections[u.section].anchor for u in chunk] if a), None)


def _overlap(chunk: list[_Unit], overlap_tokens: int) -> list[_Unit]:
    kept: list[_Unit] = []
    total = 0
    for unit in reversed(chunk):
        if total + unit.tokens > overlap_tokens:
            break
        kept.insert(0, unit)
        total += unit.tokens
    return kept


def _pieces(unit: _Unit, text: str, max_tokens: int) -> list[_Unit]:
    """`unit` cut into sentences (or token windows), to fill the room left after a heading."""
    spans = _split_spans(text[unit.start : unit.end], "text")
    if len(spans) <= 1:
        spans = [
            (a - unit.start, b - unit.start)
            for a, b in _token_windows(text, unit.start, unit.end, max(1, max_tokens // 4))
        ]
    return [
        _Unit(
            unit.start + a,
            unit.start + b,
            count_tokens(text[unit.start + a : unit.start + b]),
            unit.page,
            unit.section,
            unit.is_heading,
            unit.ocr,
        )
        for a, b in spans
    ]


def _pack(
    units: list[_Unit],
    sections: list[_Section],
    text: str,
    max_tokens: int,
    overlap_tokens: int,
    min_tokens: int,
) -> list[list[_Unit]]:
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    queue = list(reversed(units))  # a stack: pop() gives the next unit
    while queue:
        unit = queue.pop()
        if not current:
            current = [unit]
            continue
        same_section = unit.section == current[-1].section
        allowed = same_section or _may_join(current, unit, sections, min_tokens)
        if allowed and count_tokens(text[current[0].start : unit.end]) <= max_tokens:
            current.append(unit)
            continue
        if allowed and all(u.is_heading for u in current) and not unit.is_heading:
            pieces = _pieces(unit, text, max_tokens)
            if len(pieces) > 1:  # let the heading keep the start of its text
                queue.extend(reversed(pieces))
                continue
        chunks.append(current)
        carried = _overlap(current[1:], overlap_tokens) if same_section and overlap_tokens else []
        while carried and count_tokens(text[carried[0].start : unit.end]) > max_tokens:
            carried = carried[1:]
        current = [*carried, unit]
    if current:
        chunks.append(current)
    return chunks


def chunk_document(
    doc: ParsedDocument, max_tokens: int = 300, overlap_tokens: int = 0, min_tokens: int = 40
) -> list[ChunkDraft]:
    """Section-aware chunks of `doc` (see the module docstring for the rules)."""
    if max_tokens < MIN_MAX_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_MAX_TOKENS}, got {max_tokens}")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError(f"overlap_tokens must be in [0, max_tokens), got {overlap_tokens}")
    if min_tokens < 0:
        raise ValueError(f"min_tokens must be 0 or more, got {min_tokens}")
    text = document_text(doc.blocks)
    units, sections = _units_and_sections(doc.blocks, text, max_tokens)
    drafts = []
    for ordinal, chunk in enumerate(_pack(units, sections, text, max_tokens, overlap_tokens, min_tokens)):
        start, end = chunk[0].start, chunk[-1].end
        pages = [u.page for u in chunk if u.page is not None]
        body = text[start:end]
        drafts.append(
            ChunkDraft(
                ordinal=ordinal,
                text=body,
                heading_path=_heading_path(chunk, sections),
                page_start=min(pages) if pages else None,
                page_end=max(pages) if pages else None,
                char_start=start,
                char_end=end,
                token_count=count_tokens(body),
                ocr=any(u.ocr for u in chunk),
                anchor=_anchor(chunk, sections),
            )
        )
    return drafts


def uncovered_text(doc: ParsedDocument, chunks: list[ChunkDraft]) -> str:
    """Non-whitespace characters of the document text that no chunk covers (for checks)."""
    text = document_text(doc.blocks)
    covered = bytearray(len(text))
    for c in chunks:
        covered[c.char_start : c.char_end] = b"\x01" * (c.char_end - c.char_start)
    return "".join(m.group() for m in _NON_SPACE_RE.finditer(text) if not covered[m.start()])
