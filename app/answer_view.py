"""How an answer looks: `[n]` markers as links, source cards, badges, copyable citations.

Everything from documents is untrusted text: it is HTML-escaped before it is shown.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import quote as url_quote

from kb.citation_labels import pages_label, section_label
from kb.records import Answer, Citation, DocStatus

_MARKER = re.compile(r"\[(\d+)\]")


def library_href(link: str) -> str:
    """A link relative to the app root (`Library?doc=…`), so it works on any host or port."""
    i = link.find("/Library")
    return link[i + 1 :] if i >= 0 else link


def cited_href(c: Citation) -> str:
    """The Library link for a citation, carrying the quote so the page can highlight it."""
    return f"{library_href(c.link)}&quote={url_quote(' '.join(c.quote.split())[:400])}"


def answer_html(answer: Answer) -> str:
    """The answer text, escaped, with each `[n]` a link to its cited passage in the Library."""
    by_n = {c.n: c for c in answer.citations}

    def marker(n: int) -> str:
        c = by_n.get(n)
        if c is None:
            return f"[{n}]"
        where = section_label(c.title, c.section)
        label = html.escape(f"Source {c.n}: {c.title}" + (f", {where}" if where else ""), quote=True)
        return (
            f'<a class="kb-marker" href="{html.escape(cited_href(c), quote=True)}" '
            f'target="_blank" rel="noopener" aria-label="{label}" title="{label}">[{c.n}]</a>'
        )

    parts = _MARKER.split(answer.answer)  # even: text, odd: marker numbers
    out = [html.escape(p) if i % 2 == 0 else marker(int(p)) for i, p in enumerate(parts)]
    return f'<div class="kb-answer">{"".join(out)}</div>'


def highlight(text: str, quote: str) -> str:
    """`text` escaped, with `quote` (matched ignoring whitespace differences) inside <mark>."""
    words = quote.split()
    if not words:
        return html.escape(text)
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, text)
    if m is None:
        return html.escape(text)
    return (
        html.escape(text[: m.start()])
        + f'<mark class="kb-quote">{html.escape(m.group(0))}</mark>'
        + html.escape(text[m.end() :])
    )


def status_badges(status: DocStatus, review_due: dt.date | None, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    out = f'<span class="kb-badge {status.value}">{status.value}</span>'
    if review_due and review_due < today:
        out += '<span class="kb-badge past-review">past review</span>'
    return out


def source_card_html(c: Citation, chunk_text: str, doc_type: str, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    stale = c.review_due is not None and c.review_due < today
    cls = "kb-old" if c.status != DocStatus.current else ("kb-stale" if stale else "")
    fields = [
        ("Type", doc_type),
        ("Section", section_label(c.title, c.section) or "—"),
        ("Pages", pages_label(c.page_start, c.page_end) or "—"),
        ("Published", c.published.isoformat() if c.published else "undated"),
        ("Review due", c.review_due.isoformat() if c.review_due else "not set"),
    ]
    dl = "".join(f"<div><dt>{k}</dt><dd>{html.escape(str(v))}</dd></div>" for k, v in fields)
    href = html.escape(cited_href(c), quote=True)
    return (
        f'<article class="kb-card {cls}" id="source-{c.n}" aria-label="Source {c.n}">'
        f'<h4>[{c.n}] <a href="{href}" target="_blank" rel="noopener">{html.escape(c.title)}</a></h4>'
        f"<div>{status_badges(c.status, c.review_due, today)}</div>"
        f"<dl>{dl}</dl>"
        f'<div class="kb-chunk" tabindex="0" aria-label="Text of source {c.n}">'
        f"{highlight(chunk_text or c.quote, c.quote)}</div>"
        "</article>"
    )


def citation_text(c: Citation) -> str:
    """Plain-text citation, for pasting into a letter or report."""
    pages = pages_label(c.page_start, c.page_end)
    bits = [c.title, section_label(c.title, c.section) or None, pages or None]
    when = f"published {c.published.isoformat()}" if c.published else "undated"
    return f"{', '.join(b for b in bits if b)} ({when}). {c.link}"


def citation_markdown(c: Citation) -> str:
    """Markdown citation with a link, for a bulletin or wiki."""
    pages = pages_label(c.page_start, c.page_end)
    label = " — ".join(b for b in (c.title, section_label(c.title, c.section)) if b)
    label = label.replace("[", "(").replace("]", ")")
    when = f"published {c.published.isoformat()}" if c.published else "undated"
    tail = f", {pages}" if pages else ""
    return f"[{label}]({c.link}){tail} ({when})"


def timing_label(answer: Answer) -> str:
    total = answer.timings_ms.get("total")
    return f"Answered in {total / 1000:.2f} s" if total is not None else ""
