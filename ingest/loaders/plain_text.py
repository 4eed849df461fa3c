"""A linear-time reader for plain text and Markdown too large or too long-lined for `unstructured`.

`unstructured`'s text partitioner classifies each paragraph with spaCy and regexes whose cost
grows faster than the paragraph: 200 KB on one line took 13 s, and a 10 MB single-line file
ran for over 15 minutes. Files with a paragraph longer than `LONG_PARAGRAPH_CHARS`, or larger
than `LARGE_TEXT_CHARS` in all, are read here instead:

- paragraphs are runs of lines separated by blank lines; their lines are joined by spaces;
- a one-line paragraph starting with 1-6 `#` is a heading of that level (Markdown);
- everything else is a text block. The chunker splits long blocks at sentences in linear time.

    >>> [(b.kind, b.level, b.text) for b in plain_text_blocks("# Title\\n\\nOne line\\nand more.")]
    [('heading', 1, 'Title'), ('text', 0, 'One line and more.')]
"""

from __future__ import annotations

import re

from kb.records import Block

LONG_PARAGRAPH_CHARS = 20_000
LARGE_TEXT_CHARS = 2_000_000
_PARAGRAPH_BREAK_RE = re.compile(r"\n[ \t\r\f\v]*\n")
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")


def needs_plain_reader(text: str) -> bool:
    """True when `text` is too large, or has a paragraph too long, for `unstructured`."""
    if len(text) > LARGE_TEXT_CHARS:
        return True
    start = 0
    for m in _PARAGRAPH_BREAK_RE.finditer(text):
        if m.start() - start > LONG_PARAGRAPH_CHARS:
            return True
        start = m.end()
    return len(text) - start > LONG_PARAGRAPH_CHARS


def plain_text_blocks(text: str, markdown: bool = True) -> list[Block]:
    """Text as paragraph blocks (and Markdown headings when `markdown`)."""
    blocks = []
    for para in _PARAGRAPH_BREAK_RE.split(text.replace("\r\n", "\n")):
        lines = [ln.strip() for ln in para.split("\n")]
        body = " ".join(ln for ln in lines if ln)
        if not body:
            continue
        heading = _HEADING_RE.match(body) if markdown and len(lines) == 1 else None
        if heading:
            blocks.append(Block(kind="heading", text=heading.group(2), level=len(heading.group(1))))
        else:
            blocks.append(Block(kind="text", text=body))
    return blocks
