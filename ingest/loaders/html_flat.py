"""A flat, non-recursive HTML text extraction, for pages `unstructured` cannot walk.

libxml2 (under lxml, under `unstructured`) stops descending past 256 nested elements, so a
page with 100,000 nested `div`s lost its text and was reported as "empty file". This reader
uses the standard library's streaming `HTMLParser`: linear time, no tree, no recursion.

- Text inside `script`, `style`, `template`, `noscript`, `iframe`, `object` and `svg` is
  dropped, as are all attributes (event handlers, remote image URLs): only visible text is kept.
- `h1`..`h6` become headings; other block-level elements end the current paragraph.

    >>> [(b.kind, b.text) for b in flat_html_blocks("<h2>Gloves</h2><div><p>Change them.</p></div>")]
    [('heading', 'Gloves'), ('text', 'Change them.')]
"""

from __future__ import annotations

from html.parser import HTMLParser

from kb.records import Block

DEEP_NESTING = 200  # libxml2's default depth limit is 256; switch to the flat reader before it
_HIDDEN = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg", "head"})
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


class _DepthGauge(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.deepest = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in _VOID:
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            self.depth = max(0, self.depth - 1)


def nesting_depth(markup: str) -> int:
    """The deepest element nesting in `markup` (unclosed tags count as open)."""
    gauge = _DepthGauge()
    gauge.feed(markup)
    gauge.close()
    return gauge.deepest


class _FlatText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.words: list[str] = []
        self.hidden = 0
        self.heading = 0

    def _flush(self) -> None:
        text = " ".join(" ".join(self.words).split())
        self.words.clear()
        if not text:
            return
        if self.heading:
            self.blocks.append(Block(kind="heading", text=text, level=self.heading))
        else:
            self.blocks.append(Block(kind="text", text=text))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _HEADINGS:
            self._flush()
            self.heading = _HEADINGS[tag]
        elif tag in _BREAKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _HEADINGS:
            self._flush()
            self.heading = 0
        elif tag in _BREAKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.words.append(data)


def flat_html_blocks(markup: str) -> list[Block]:
    """Visible text of `markup` as heading and text blocks, in document order."""
    reader = _FlatText()
    reader.feed(markup)
    reader.close()
    reader._flush()
    return reader.blocks
