"""Split a bulletin (HTML page, e-mail newsletter, or Markdown marked as a bulletin) into one
section per news item.

A bulletin puts several unrelated items in one file. Each item becomes its own section: a
level-2 heading carrying the item's anchor, then the item's text, lists and tables, every block
tagged with the same anchor so the chunker never packs two items into one chunk. The masthead
(title, issue line) is the level-1 section before the first item. The bulletin's date comes from
the e-mail's Date header, a `<meta>`/`<time>` date, or the masthead ("Published 16 April 2024").

    >>> doc = parse_bulletin_html(
    ...     "<h1>OH e-Bulletin</h1><p>Published 3 March 2025</p>"
    ...     "<h2 id='flu'>Flu clinics</h2><p>Clinics open.</p><h2>Sharps</h2><p>Report.</p>",
    ...     path="b.html")
    >>> [(b.kind, b.text, b.anchor) for b in doc.blocks if b.kind == "heading"]
    [('heading', 'OH e-Bulletin', None), ('heading', 'Flu clinics', 'flu'), ('heading', 'Sharps', 'sharps')]
    >>> str(doc.date_hint)
    '2025-03-03'

Items are found, in order of preference, from: real headings (h2-h4, the level that repeats),
then "pseudo headings" that newsletter builders emit (a short paragraph or cell that is all
bold, or an element whose class says title/heading/headline). Anchors are the heading's `id`,
an `<a name>` or `id` just before or inside it, the id of a wrapper that starts with it, else a
slug of the heading text. Footers (unsubscribe, "view in browser") and hidden preheaders are
dropped; images are never text.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from ingest.loaders.date_hint import find_date
from ingest.loaders.tables import table_text
from ingest.loaders.text_decoding import decode_text
from kb.records import Block, DocType, ParsedDocument

BULLETIN_WORDS = re.compile(r"\b(e-?bulletin|bulletin|newsletter|news\s*letter|e-?news|briefing)\b", re.I)
_LIST_HEADERS = ("list-unsubscribe", "list-id")  # mailing-list e-mail: a newsletter
MAX_ITEM_HEADING_WORDS = 16
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_BLOCK_TAGS = frozenset({
    "p", "div", "td", "th", "tr", "tbody", "thead", "tfoot", "table", "ul", "ol", "li", "section",
    "article", "header", "footer", "blockquote", "center", "hr", "main", "aside", "dl", "dt", "dd",
    "pre", "figure", "body", "html", *_HEADINGS,
})
_SKIP_TAGS = frozenset({"script", "style", "head", "noscript", "img", "svg", "picture", "video",
                        "audio", "iframe", "object", "template", "nav", "button", "form"})
_FOOTER_TEXT = re.compile(
    r"unsubscribe|view (this (e-?mail|newsletter) )?in (your|a) browser|you are receiving this|"
    r"update your (e-?mail )?preferences|forward to a (friend|colleague)|manage your subscription",
    re.I,
)
_FOOTER_MARK = re.compile(r"footer|unsubscribe|preheader|preview-?text", re.I)
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|max-height\s*:\s*0", re.I)
_TITLE_CLASS = re.compile(r"(^|[-_ ])(title|heading|headline|item-?head)([-_ ]|$)", re.I)
_DATED_LINE = re.compile(r"\b(published|issued|sent|date[d]?)\b[^|\n]{0,40}", re.I)
_META_DATES = ("date", "dcterms.date", "dc.date", "article:published_time", "publication_date")
_UNDERLINE = re.compile(r"^\s*([-=~*_])\1{2,}\s*$")


@dataclass
class _Piece:
    """One element of the bulletin in reading order, before items are assigned."""

    kind: str  # heading | pseudo | text | list | table
    text: str
    level: int = 0
    anchor: str | None = None


@dataclass
class _Walk:
    pieces: list[_Piece] = field(default_factory=list)
    pending_anchor: str | None = None


# ---------------------------------------------------------------- detection


def is_bulletin(path: Path, title: str | None, mailing_list: bool = False) -> bool:
    """A bulletin by its curator metadata (doc_type bulletin) or, failing that, by its title or
    because it is a mailing-list e-mail (List-Unsubscribe or List-Id header)."""
    try:
        from ingest.metadata import metadata_for

        meta, explicit = metadata_for(path)
        if "doc_type" in explicit:
            return meta.doc_type == DocType.bulletin
    except Exception:  # unreadable metadata is reported by the pipeline, not here
        pass
    return mailing_list or bool(title and BULLETIN_WORDS.search(title))


# ---------------------------------------------------------------- HTML walk


def _clean(text: str) -> str:
    return " ".join((text or "").split())


def _is_hidden(el: Any) -> bool:
    marks = " ".join(str(el.get(a, "")) for a in ("class", "id"))
    return bool(_HIDDEN.search(el.get("style", "")) or el.get("hidden") is not None
                or el.get("aria-hidden") == "true" and not _clean(el.text_content())
                or _FOOTER_MARK.search(marks) or el.tag == "footer")


def _has_block_children(el: Any) -> bool:
    return any(isinstance(d.tag, str) and d.tag in _BLOCK_TAGS for d in el.iterdescendants())


def _own_anchor(el: Any) -> str | None:
    if el.get("id"):
        return el.get("id")
    for a in el.iter("a"):
        if a.get("name") or a.get("id"):
            return a.get("name") or a.get("id")
    return None


def _is_pseudo_heading(el: Any, text: str) -> bool:
    """A short paragraph or cell that is all bold, or whose class says title/heading."""
    if el.tag not in ("p", "div", "td") or not text or len(text.split()) > MAX_ITEM_HEADING_WORDS:
        return False
    if _TITLE_CLASS.search(el.get("class", "")):
        return True
    bold = "".join(_clean(b.text_content()) for b in el.iter("strong", "b"))
    return bold.replace(" ", "") == text.replace(" ", "") and not text.endswith((".", ":", ","))


def _table_rows(table: Any) -> str:
    """One line per row, each value beside its column header (`tables.table_text`)."""
    rows = [[_clean(c.text_content()) for c in tr if c.tag in ("td", "th")] for tr in table.iter("tr")]
    caption = table.find("caption")
    return table_text(rows, _clean(caption.text_content()) if caption is not None else None)


def _is_data_table(table: Any) -> bool:
    """A table of data (header cells or a grid of plain cells), not a layout table."""
    if any(d.tag in ("table", "p", "div", "ul", "ol", *_HEADINGS) for d in table.iterdescendants()
           if isinstance(d.tag, str)):
        return False
    rows = [tr for tr in table.iter("tr")]
    return bool(table.find(".//th") is not None or (len(rows) >= 2 and all(len(r) >= 2 for r in rows)))


def _emit_text(walk: _Walk, text: str) -> None:
    text = _clean(text)
    if text and not _FOOTER_TEXT.search(text):
        walk.pieces.append(_Piece("text", text))
        walk.pending_anchor = None


def _walk(el: Any, walk: _Walk) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if not tag or tag in _SKIP_TAGS or _is_hidden(el):
        return
    if el.get("id") or (tag == "a" and el.get("name")):
        walk.pending_anchor = el.get("id") or el.get("name")
    text = _clean(el.text_content())
    if tag in _HEADINGS:
        if text:
            walk.pieces.append(_Piece("heading", text, _HEADINGS[tag], _own_anchor(el) or walk.pending_anchor))
            walk.pending_anchor = None
        return
    if tag in ("ul", "ol"):
        items = [_clean(li.text_content()) for li in el.iter("li")]
        if any(items):
            walk.pieces.append(_Piece("list", "\n".join(f"\u2022 {i}" for i in items if i)))
            walk.pending_anchor = None
        return
    if tag == "table" and _is_data_table(el):
        rows = _table_rows(el)
        if rows:
            walk.pieces.append(_Piece("table", rows))
            walk.pending_anchor = None
        return
    if tag not in _BLOCK_TAGS or not _has_block_children(el):
        if tag in _BLOCK_TAGS and _is_pseudo_heading(el, text):
            walk.pieces.append(_Piece("pseudo", text, 0, _own_anchor(el) or walk.pending_anchor))
            walk.pending_anchor = None
        elif tag in _BLOCK_TAGS:
            _emit_text(walk, text)
        return
    # a container: loose inline text between its block children becomes text pieces
    run = [el.text or ""]
    for child in el:
        child_tag = child.tag if isinstance(child.tag, str) else ""
        if child_tag in _BLOCK_TAGS or child_tag in _SKIP_TAGS:
            _emit_text(walk, "".join(run))
            run = []
            _walk(child, walk)
        elif child_tag and not _is_hidden(child):
            if child_tag == "a" and (child.get("name") or child.get("id")) and not _clean(child.text_content()):
                _emit_text(walk, "".join(run))
                run = []
                walk.pending_anchor = child.get("name") or child.get("id")
            else:
                run.append(child.text_content())
        run.append(child.tail or "")
    _emit_text(walk, "".join(run))


# ---------------------------------------------------------------- items


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "item"


def _item_level(pieces: list[_Piece], title: str | None) -> tuple[str, int]:
    """Which pieces start items: ("heading", level) for the repeating heading level, else pseudo."""
    not_title = [p for p in pieces if _clean(p.text) != _clean(title or "")]
    levels = [p.level for p in not_title if p.kind == "heading"]
    for level in sorted(set(levels)):
        if levels.count(level) >= 2 or (level > 1 and len(set(levels)) == 1):
            return "heading", level
    if sum(1 for p in not_title if p.kind == "pseudo") >= 2:
        return "pseudo", 0
    return ("heading", min(levels)) if levels else ("none", 0)


def _to_blocks(pieces: list[_Piece], title: str | None) -> list[Block]:
    kind, level = _item_level(pieces, title)
    blocks: list[Block] = []
    if title:
        blocks.append(Block(kind="heading", text=title, level=1))
    used: set[str] = set()
    anchor: str | None = None
    for p in pieces:
        starts_item = (kind == "pseudo" and p.kind == "pseudo") or (
            kind == "heading" and p.kind == "heading" and p.level == level)
        if p.kind in ("heading", "pseudo") and _clean(p.text) == _clean(title or "") and anchor is None:
            continue  # the masthead title, already emitted
        if starts_item:
            base = p.anchor or slug(p.text)
            anchor, n = base, 2
            while anchor in used:
                anchor, n = f"{base}-{n}", n + 1
            used.add(anchor)
            blocks.append(Block(kind="heading", text=p.text, level=2, anchor=anchor))
        elif p.kind in ("heading", "pseudo"):
            if anchor is None:
                blocks.append(Block(kind="text", text=p.text))
            else:  # a sub-heading inside an item
                deeper = 3 if p.kind == "pseudo" else max(3, min(6, p.level - level + 2))
                blocks.append(Block(kind="heading", text=p.text, level=deeper, anchor=anchor))
        else:
            blocks.append(Block(kind=p.kind, text=p.text, anchor=anchor))  # type: ignore[arg-type]
    return blocks


def _meta_date(root: Any) -> dt.date | None:
    for meta in root.iter("meta"):
        name = (meta.get("name") or meta.get("property") or "").lower()
        if name in _META_DATES and meta.get("content"):
            return _iso_date(meta.get("content"))
    for t in root.iter("time"):
        if t.get("datetime"):
            return _iso_date(t.get("datetime"))
    return None


def _iso_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def masthead_date(blocks: list[Block]) -> dt.date | None:
    """The bulletin's date from its masthead: a "Published ..." line first, then any full date."""
    head: list[str] = []
    for b in blocks:
        if b.anchor:
            break
        head.append(b.text)
    text = "\n".join(head[1:] if len(head) > 1 else head)
    for m in _DATED_LINE.finditer(text):
        found = find_date(m.group(0))
        if found:
            return found
    return find_date(text) or find_date("\n".join(head))


def parse_bulletin_html(markup: str, path: str, title: str | None = None,
                        sent: dt.date | None = None) -> ParsedDocument:
    """One section per news item of a bulletin page (see the module docstring)."""
    from lxml import html as lxml_html

    root = lxml_html.document_fromstring(markup)
    page_title = _clean(root.findtext(".//title") or "") or None
    walk = _Walk()
    body = root.find("body")
    _walk(body if body is not None else root, walk)
    if title is None:
        h1 = next((p.text for p in walk.pieces if p.kind == "heading" and p.level == 1), None)
        title = page_title or h1
    blocks = _to_blocks(walk.pieces, title)
    date = sent or _meta_date(root) or masthead_date(blocks)
    return ParsedDocument(path=path, blocks=blocks, title_hint=title, date_hint=date)


def parse_bulletin_text(text: str, path: str, title: str | None = None,
                        sent: dt.date | None = None) -> ParsedDocument:
    """Plain-text newsletters: items start at underlined ("-----") or "## " heading lines."""
    pieces: list[_Piece] = []
    lines = text.splitlines()
    para: list[str] = []

    def flush() -> None:
        joined = _clean(" ".join(para))
        if joined and not _FOOTER_TEXT.search(joined):
            bullets = [ln.strip() for ln in para if ln.strip()]
            if all(b.startswith(("- ", "* ", "\u2022 ")) for b in bullets):
                pieces.append(_Piece("list", "\n".join(f"\u2022 {b[2:].strip()}" for b in bullets)))
            else:
                pieces.append(_Piece("text", joined))
        para.clear()

    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _UNDERLINE.match(line):
            continue
        if line.strip() and _UNDERLINE.match(nxt):
            flush()
            pieces.append(_Piece("heading", _clean(line), 1 if nxt.strip()[0] == "=" else 2))
        elif line.startswith("#"):
            flush()
            hashes = len(line) - len(line.lstrip("#"))
            pieces.append(_Piece("heading", _clean(line.lstrip("#")), hashes))
        elif not line.strip():
            flush()
        else:
            para.append(line)
    flush()
    if title and pieces and pieces[0].kind == "text" and _clean(pieces[0].text) == _clean(title):
        pieces = pieces[1:]
    blocks = _to_blocks(pieces, title)
    return ParsedDocument(path=path, blocks=blocks, title_hint=title, date_hint=sent or masthead_date(blocks))


def _read_email(path: Path) -> Any:
    with path.open("rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.default)


def parse_bulletin_email(path: Path) -> ParsedDocument:
    """An e-mail newsletter: its HTML part (else its text part), dated by its Date header."""
    message = _read_email(path)
    subject = _clean(str(message.get("subject") or "")) or None
    try:
        sent = parsedate_to_datetime(message["date"]).date() if message["date"] else None
    except (TypeError, ValueError):
        sent = None
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        return ParsedDocument(path=str(path), blocks=[], title_hint=subject, date_hint=sent)
    content = part.get_content()
    if part.get_content_subtype() == "html":
        return parse_bulletin_html(content, str(path), subject, sent)
    return parse_bulletin_text(content, str(path), subject, sent)


def load_bulletin(path: Path, kind: str) -> ParsedDocument | None:
    """The bulletin split into items, or None when `path` is not a bulletin, has fewer than two
    items, or cannot be split (the generic loader then reads it and reports any error)."""
    try:
        return _load_bulletin(path, kind)
    except Exception as exc:  # e.g. lxml's ParserError on an empty page: the generic loader decides
        logging.getLogger(__name__).info("%s: not split as a bulletin (%s)", path, exc)
        return None


def _load_bulletin(path: Path, kind: str) -> ParsedDocument | None:
    mailing_list = False
    if kind == "eml":
        doc = parse_bulletin_email(path)
        mailing_list = any(h in _read_email(path) for h in _LIST_HEADERS)
    elif kind == "html":
        doc = parse_bulletin_html(decode_text(path.read_bytes()).text, str(path))
    elif kind == "md":
        if not is_bulletin(path, None):
            return None  # only curator-marked Markdown bulletins: rendering costs a parse
        from markdown_it import MarkdownIt

        markup = MarkdownIt("commonmark", {"html": False}).enable("table").render(
            decode_text(path.read_bytes()).text)
        doc = parse_bulletin_html(f"<html><body>{markup}</body></html>", str(path))
    else:
        return None
    if not is_bulletin(path, doc.title_hint, mailing_list):
        return None
    if sum(1 for b in doc.blocks if b.kind == "heading" and b.level == 2 and b.anchor) < 2:
        return None  # one item or none: the generic loader does as well
    return doc
