"""A flat, non-recursive HTML text extraction, for pages `unstructured` cannot walk.

libxml2 (under lxml, under `unstructured`) stops descending past 256 nested elements, so a
page with 100,000 nested `div`s lost its text and was reported as "empty file". This reader
scans tags with a regular expression: linear time, no tree, no recursion.

- Text inside `script`, `style`, `template`, `noscript`, `iframe`, `object` and `svg` is
  dropped, as are all attributes (event handlers, remote image URLs): only visible text is kept.
- `h1`..`h6` become headings; other block-level elements end the current paragraph.

    >>> [(b.kind, b.text) for b in flat_html_blocks("<h2>Gloves</h2><div><p>Change them.</p></div>")]
    [('heading', 'Gloves'), ('text', 'Change them.')]
"""

from __future__ import annotations

import html
import re

from kb.records import Block

DEEP_NESTING = 200  # libxml2's default depth limit is 256; switch to the flat reader before it
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
})
_BREAKS = frozenset({
    "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "li", "ul",
    "ol", "tr", "table", "blockquote", "pre", "br", "hr", "dd", "dt", "dl", "form", "fieldset",
    "figure", "figcaption", "address", "body",
})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*?(/?)>")
_SKIP_RE = re.compile(r"<!--.*?-->|<[!?][^>]*>|<(script|style)\b.*?</\1\s*>", re.S | re.I)
_HIDDEN_RE = re.compile(r"<(head|template|noscript|iframe|object|svg)\b.*?</\1\s*>", re.S | re.I)


def nesting_depth(markup: str) -> int:
    """The deepest element nesting in `markup` (a linear regex scan; unclosed tags stay open)."""
    depth = deepest = 0
    for m in _TAG_RE.finditer(_SKIP_RE.sub("", markup)):
        closing, tag, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        if tag in _VOID or self_closing:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def flat_html_blocks(markup: str) -> list[Block]:
    """Visible text of `markup` as heading and text blocks, in document order."""
    markup = _SKIP_RE.sub(" ", markup)
    markup = _HIDDEN_RE.sub(" ", markup)
    blocks: list[Block] = []
    words: list[str] = []
    heading = 0

    def flush() -> None:
        text = " ".join(html.unescape(" ".join(words)).split())
        words.clear()
        if text:
            blocks.append(Block(kind="heading", text=text, level=heading) if heading else Block(kind="text", text=text))

    pos = 0
    for m in _TAG_RE.finditer(markup):
        words.append(markup[pos : m.start()])
        pos = m.end()
        tag = m.group(2).lower()
        if tag in _HEADINGS:
            flush()
            heading = 0 if m.group(1) else _HEADINGS[tag]
        elif tag in _BREAKS:
            flush()
    words.append(markup[pos:])
    flush()
    return blocks
