"""What changed in the library since a date: the "resources update" item of the next bulletin.

`digest(kb, since, until)` reads the catalog's events (added, updated, status changes) and the
documents' review dates, and returns one entry per document and change:

* `added`, `updated`: a new document, or a new version of its file;
* `superseded` (with the document that replaces it), `retired` (withdrawn), `restored`;
* `review_due`: a current document whose review date passed in the period, for the editor to chase.

A document added and updated in the same period is listed once, as added. Each entry carries a
one-line summary from the document's opening section (its first chunks in the store), its
dates and a link into the app (and its `source_url` when it has one). The JSON is the
`kb digest --json` contract: `{"entries": [{"doc_id", "title", "change", "date", "summary", "link"}]}`
plus extra fields.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import asdict, dataclass
from urllib.parse import quote

from kb.records import DocStatus, Document
from kb.sentences import split_sentences

CHANGES = ("added", "updated", "superseded", "retired", "restored", "review_due")
CHANGE_LABELS = {
    "added": "New",
    "updated": "Updated",
    "superseded": "Superseded",
    "retired": "Retired",
    "restored": "Back in use",
    "review_due": "Past its review date",
}
SUMMARY_CHARS = 220
_BOILERPLATE = re.compile(r"^(sample document|not clinical advice|draft\b|confidential|publisher:|issue \d+)", re.I)
_NUMBERING = re.compile(r"^\d+(\.\d+)*\.?\s+")
_STATUS_CHANGE = {"status:superseded": "superseded", "status:withdrawn": "retired", "status:current": "restored"}


@dataclass(frozen=True)
class DigestEntry:
    doc_id: str
    title: str
    change: str  # one of CHANGES
    date: str  # ISO date of the change (the review date for review_due)
    summary: str
    link: str
    doc_type: str = ""
    status: str = ""
    published: str | None = None
    review_due: str | None = None
    superseded_by: str | None = None
    superseded_by_title: str | None = None
    source_url: str | None = None


def _event_date(at: str) -> dt.date:
    return dt.datetime.fromisoformat(at).date()


def _change(event: dict) -> str | None:
    action = event.get("action", "")
    if action in ("added", "updated"):
        return action
    return _STATUS_CHANGE.get(action)


def one_line_summary(chunks_text: list[str], title: str, headings: list[str] = ()) -> str:
    """The first real sentence of a document's opening text, cut to one line."""
    skip = {" ".join(t.split()).casefold() for t in (title, *headings) if t}
    for text in chunks_text:
        for line in text.splitlines():
            line = " ".join(line.split())
            if not line or line.casefold() in skip or "|" in line or _BOILERPLATE.match(line):
                continue
            for s in split_sentences(_NUMBERING.sub("", line)):
                sentence = s.text.strip("•- ").strip()
                if len(sentence.split()) < 5 or _BOILERPLATE.match(sentence):
                    continue
                if len(sentence) > SUMMARY_CHARS:
                    sentence = sentence[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
                return sentence
    return ""


def _summary(kb, doc: Document) -> str:
    try:
        chunks = kb.chunks(doc.doc_id)[:3]
    except Exception:  # a document whose chunks are not in the store: no summary
        return ""
    headings = [part for c in chunks for part in c.heading_path.split(" > ")]
    return one_line_summary([c.text for c in chunks], doc.title, headings)


def _link(kb, doc_id: str) -> str:
    return f"{kb.settings.base_url}/Library?doc={quote(doc_id)}"


def digest(kb, since: dt.date, until: dt.date | None = None, today: dt.date | None = None) -> list[DigestEntry]:
    """Entries for changes from `since` to `until` (both inclusive; `until` defaults to today)."""
    until = until or today or dt.date.today()
    found: dict[tuple[str, str], dt.date] = {}
    for event in kb.catalog.events(limit=100_000):
        change = _change(event)
        if change is None:
            continue
        day = _event_date(event["at"])
        if since <= day <= until:
            key = (event["doc_id"], change)
            found[key] = max(found.get(key, day), day)
    for key in [k for k in found if k[1] == "updated" and (k[0], "added") in found]:
        del found[key]
    docs = {d.doc_id: d for d in kb.catalog.documents()}
    for doc in docs.values():
        if doc.status == DocStatus.current and doc.review_due and since <= doc.review_due <= until:
            found[(doc.doc_id, "review_due")] = doc.review_due
    entries = []
    for (doc_id, change), day in found.items():
        doc = docs.get(doc_id)
        if doc is None:
            continue
        if change in ("superseded", "retired") and doc.status.value != {"superseded": "superseded",
                                                                        "retired": "withdrawn"}[change]:
            continue  # restored since: the later "restored" entry says so
        successor = docs.get(doc.superseded_by or "") if change == "superseded" else None
        entries.append(
            DigestEntry(
                doc_id=doc_id,
                title=doc.title,
                change=change,
                date=day.isoformat(),
                summary=_summary(kb, doc),
                link=_link(kb, doc_id),
                doc_type=doc.doc_type.value,
                status=doc.status.value,
                published=doc.published.isoformat() if doc.published else None,
                review_due=doc.review_due.isoformat() if doc.review_due else None,
                superseded_by=doc.superseded_by if change == "superseded" else None,
                superseded_by_title=successor.title if successor else None,
                source_url=doc.source_url,
            )
        )
    return sorted(entries, key=lambda e: (CHANGES.index(e.change), e.date, e.title))


def digest_json(entries: list[DigestEntry]) -> dict:
    return {"entries": [asdict(e) for e in entries]}


def _period(since: dt.date, until: dt.date | None) -> str:
    return f"{since.isoformat()} to {until.isoformat()}" if until else f"since {since.isoformat()}"


def _detail(e: DigestEntry) -> str:
    bits = []
    if e.change == "superseded" and e.superseded_by:
        bits.append(f"replaced by {e.superseded_by_title or e.superseded_by}")
    if e.published:
        bits.append(f"published {e.published}")
    if e.review_due:
        bits.append(f"review due {e.review_due}")
    return "; ".join(bits)


def digest_markdown(entries: list[DigestEntry], since: dt.date, until: dt.date | None = None) -> str:
    """A "resources update" section, ready to paste into the bulletin draft."""
    lines = [f"## Resources update ({_period(since, until)})", ""]
    if not entries:
        return "\n".join(lines + ["No changes to the library in this period.", ""])
    for change in CHANGES:
        group = [e for e in entries if e.change == change]
        if not group:
            continue
        lines += [f"### {CHANGE_LABELS[change]}", ""]
        for e in group:
            title = e.title.replace("[", "\\[").replace("]", "\\]")
            detail = _detail(e)
            line = f"- [{title}]({e.link}) ({e.date})"
            if e.summary:
                line += f": {e.summary}"
            if detail:
                line += f" _({detail})_"
            if e.source_url:
                line += f" Source: <{e.source_url}>"
            lines.append(line)
        lines.append("")
    return "\n".join(lines)


def digest_html(entries: list[DigestEntry], since: dt.date, until: dt.date | None = None) -> str:
    """The same section as email-safe HTML (inline styles, no CSS, script or images)."""
    from kb.bulletin_export import STYLES

    h2, h3, p, ul, li, a = (STYLES[t] for t in ("h2", "h3", "p", "ul", "li", "a"))
    out = [f'<h2 style="{h2}">Resources update ({html.escape(_period(since, until))})</h2>']
    if not entries:
        out.append(f'<p style="{p}">No changes to the library in this period.</p>')
    for change in CHANGES:
        group = [e for e in entries if e.change == change]
        if not group:
            continue
        out.append(f'<h3 style="{h3}">{CHANGE_LABELS[change]}</h3><ul style="{ul}">')
        for e in group:
            item = (f'<a href="{html.escape(e.link, quote=True)}" style="{a}">{html.escape(e.title)}</a>'
                    f" ({html.escape(e.date)})")
            if e.summary:
                item += f": {html.escape(e.summary)}"
            if _detail(e):
                item += f" <em>({html.escape(_detail(e))})</em>"
            out.append(f'<li style="{li}">{item}</li>')
        out.append("</ul>")
    return "\n".join(out) + "\n"
