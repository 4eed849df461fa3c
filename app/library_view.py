"""The Library page's pieces: the document list, search results and one document's view."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import streamlit as st
from answer_view import highlight, pages_label, status_badges

from kb.citation_labels import section_label
from kb.errors import KBError
from kb.records import Chunk, DocStatus, DocType, Document

_MIME = {".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html", ".md": "text/markdown",
         ".txt": "text/plain", ".eml": "message/rfc822",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def open_document(doc_id: str, chunk_id: str | None = None) -> None:
    st.query_params.clear()
    st.query_params["doc"] = doc_id
    if chunk_id:
        st.query_params["chunk"] = chunk_id
    st.rerun()


def browse(kb, curator: bool) -> None:
    """Search box, filters and the table of documents; choosing one opens it."""
    query = st.text_input("Search the library", key="lib_query",
                          placeholder="Words or a question, e.g. hepatitis B booster")
    if query.strip():
        hits = kb.search(query, k=10)
        st.markdown(f"**{len(hits)} passages match**" if hits else "No passage matches.")
        for i, h in enumerate(hits):
            c = h.chunk
            pages = pages_label(c.page_start, c.page_end)
            st.html(
                f'<div class="kb-card"><h4>{html.escape(c.title)}</h4>'
                f'<div class="kb-meta">{html.escape(section_label(c.title, c.heading_path))} {pages} · {c.doc_type.value}</div>'
                f'<div class="kb-chunk">{html.escape(" ".join(c.text.split())[:400])}…</div></div>'
            )
            if st.button("Open at this passage", key=f"hit_{i}", type="tertiary"):
                open_document(c.doc_id, c.chunk_id)
        st.divider()

    statuses = ["current", "superseded"] + (["withdrawn"] if curator else [])
    cols = st.columns(2)
    types = cols[0].multiselect("Document type", [t.value for t in DocType], key="lib_types")
    shown = cols[1].multiselect("Status", statuses, default=["current"], key="lib_status")
    docs = [d for d in kb.documents(statuses=shown or statuses)
            if not types or d.doc_type.value in types]
    rows = [
        {
            "Title": d.title,
            "Type": d.doc_type.value,
            "Status": d.status.value + (", past review" if d.is_past_review() else ""),
            "Published": d.published,
            "Review due": d.review_due,
            "Topics": ", ".join(d.topics),
            "id": d.doc_id,
        }
        for d in docs
    ]
    st.caption(f"{len(rows)} documents. Select a row to open the document.")
    event = st.dataframe(rows, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key="lib_table", width="stretch")
    selected = event.selection.rows if event else []
    if selected:
        open_document(rows[selected[0]]["id"])


def _metadata(doc: Document) -> None:
    fields = [
        ("Type", doc.doc_type.value),
        ("Published", doc.published.isoformat() if doc.published else "undated"),
        ("Review due", doc.review_due.isoformat() if doc.review_due else "not set"),
        ("Publisher", doc.publisher or "—"),
        ("Topics", ", ".join(doc.topics) or "—"),
        ("Pages", str(doc.page_count) if doc.page_count else "—"),
        ("Document id", doc.doc_id),
    ]
    dl = "".join(f"<div><dt>{k}</dt><dd>{html.escape(v)}</dd></div>" for k, v in fields)
    st.html(f'<div class="kb-card"><div>{status_badges(doc.status, doc.review_due)}</div><dl>{dl}</dl></div>')


def _chunks_html(chunks: list[Chunk], cited: str | None, quote: str = "") -> str:
    out = []
    last_section = None
    for c in chunks:
        section = section_label(c.title, c.heading_path) or "(opening section)"
        head = ""
        if section != last_section:
            head = f'<div class="kb-section">{html.escape(section)}</div>'
            last_section = section
        pages = pages_label(c.page_start, c.page_end)
        cls = "kb-doc-chunk kb-cited" if c.chunk_id == cited else "kb-doc-chunk"
        label = ' aria-label="Cited passage"' if c.chunk_id == cited else ""
        text = html.escape(c.text)
        if c.chunk_id == cited and quote:
            text = highlight(c.text, quote)  # the quote itself, not the whole chunk
            if "<mark" in text:
                cls += " kb-has-quote"
        out.append(
            f'<section id="chunk-{html.escape(c.chunk_id, quote=True)}" class="{cls}"{label}>{head}'
            f'<div class="kb-meta">{pages}</div><div class="kb-text">{text}</div></section>'
        )
    return "".join(out)


def _scroll_to(chunk_id: str) -> None:
    """Scroll the cited place into view: the rendered page, else the quote, else the chunk."""
    target = json.dumps("chunk-" + chunk_id)
    st.html(
        "<script>(function(){let n=0;const t=setInterval(function(){"
        f"const el=document.getElementById('kb-cited-page')||document.querySelector('mark.kb-quote')"
        f"||document.getElementById({target});"
        "if(el){el.scrollIntoView({block:'center'});el.setAttribute('tabindex','-1');"
        "el.focus({preventScroll:true});clearInterval(t);}"
        "if(++n>50)clearInterval(t);},100);})();</script>",
        unsafe_allow_javascript=True,
    )


def _pages_of(chunk) -> list[int]:
    return list(range(chunk.page_start or 1, (chunk.page_end or chunk.page_start or 1) + 1))


def _page_cache(kb) -> Path:
    return kb.settings.kb_dir / "cache" / "pages"


def prefetch_cited_pages(kb, answer) -> None:
    """Render the cited PDF pages in the background while the member reads the answer,
    so a click on `[n]` finds its page in the cache."""
    import threading

    from kb.cited_page import render_cited_page

    chunks = {h.chunk.chunk_id: h.chunk for h in answer.hits}
    jobs = []
    for c in answer.citations:
        chunk = chunks.get(c.chunk_id)
        if chunk is None or not c.source_path.lower().endswith(".pdf") or not Path(c.source_path).is_file():
            continue
        jobs.append((Path(c.source_path), c.version, c.quote, _pages_of(chunk)))

    def run() -> None:
        for path, version, quote, pages in jobs:
            try:
                render_cited_page(path, version, quote, pages, _page_cache(kb))
            except Exception:  # noqa: BLE001 - the click renders it again and reports the error
                pass

    if jobs:
        threading.Thread(target=run, name="kb-prefetch-pages", daemon=True).start()


def _cited_page(kb, doc: Document, chunks: list[Chunk], chunk_id: str, quote: str) -> None:
    """A PDF's cited page as an image with the quote's boxes drawn on it (cached)."""
    from kb.cited_page import render_cited_page

    chunk = next((c for c in chunks if c.chunk_id == chunk_id), None)
    if chunk is None or not quote.strip():
        return
    try:
        page = render_cited_page(Path(doc.source_path), doc.version, quote, _pages_of(chunk), _page_cache(kb))
    except Exception as exc:  # noqa: BLE001 - a page that cannot be drawn still has its text below
        st.caption(f"The page could not be drawn ({exc}); the cited text is highlighted below.")
        return
    data = base64.b64encode(page.png.read_bytes()).decode()
    where = "with the quote highlighted" if page.found else "(the quote could not be located on the page)"
    alt = f"Page {page.page} of {doc.title}, {where}: {quote}"
    st.html(
        f'<figure id="kb-cited-page" class="kb-page" tabindex="-1" data-found="{str(page.found).lower()}">'
        f'<figcaption>Page {page.page} of {page.page_count}, {where}</figcaption>'
        f'<img src="data:image/png;base64,{data}" width="{page.width}" height="{page.height}" '
        f'alt="{html.escape(alt, quote=True)}"/></figure>'
    )


def document_view(kb, doc_id: str, chunk_id: str | None, quote: str = "") -> None:
    try:
        doc = kb.document(doc_id)
    except KBError as exc:
        st.error(str(exc))
        return
    if st.button("← All documents", key="back"):
        st.query_params.clear()
        st.rerun()
    st.header(doc.title)
    if doc.status == DocStatus.superseded:
        newer = kb.catalog.get(doc.superseded_by or "")
        st.warning(f"This document has been superseded{' by ' + newer.title if newer else ''}. "
                   "Use the current version.")
        if newer and st.button(f"Open the current version: {newer.title}", key="open_newer"):
            open_document(newer.doc_id)
    elif doc.status == DocStatus.withdrawn:
        st.warning("This document has been withdrawn and is no longer used to answer questions.")
    if doc.is_past_review():
        st.warning(f"This document was due for review on {doc.review_due}. Check it is still current.")
    _metadata(doc)

    source = Path(doc.source_path)
    if source.is_file():
        st.download_button("Download the original file", data=source.read_bytes(), file_name=source.name,
                           mime=_MIME.get(source.suffix.lower(), "application/octet-stream"),
                           key="download")
    else:
        st.caption("The original file is no longer on the server.")

    chunks = kb.chunks(doc_id)
    sections = list(dict.fromkeys(section_label(c.title, c.heading_path) or "(opening section)" for c in chunks))
    with st.expander(f"Sections ({len(sections)})"):
        first = {}
        for c in chunks:
            first.setdefault(section_label(c.title, c.heading_path) or "(opening section)", c.chunk_id)
        st.html("<ul>" + "".join(
            f'<li><a href="#chunk-{html.escape(first[s], quote=True)}" target="_self">{html.escape(s)}</a></li>'
            for s in sections) + "</ul>")
    with st.expander("Version history"):
        st.dataframe(kb.catalog.versions(doc_id), hide_index=True, width="stretch")
    if chunk_id and all(c.chunk_id != chunk_id for c in chunks):
        st.info("The cited passage belongs to an earlier version of this document; showing the current one.")
        chunk_id = None
    if chunk_id and Path(doc.source_path).suffix.lower() == ".pdf" and source.is_file():
        st.subheader("The cited page")
        _cited_page(kb, doc, chunks, chunk_id, quote)
    st.subheader("Text")
    st.html(_chunks_html(chunks, chunk_id, quote))
    if chunk_id:
        _scroll_to(chunk_id)
