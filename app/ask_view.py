"""The Ask page's pieces: filters in the sidebar, and one question-and-answer turn."""

from __future__ import annotations

import datetime as dt
import html

import streamlit as st
from answer_view import (
    answer_html,
    citation_markdown,
    citation_text,
    library_href,
    source_card_html,
    timing_label,
)

from kb.records import Answer, DocStatus, DocType, SearchFilters

LIBRARY_PAGE = "pages/2_Library.py"


def sidebar_filters(kb) -> SearchFilters:
    with st.sidebar:
        st.subheader("Filters")
        types = st.multiselect("Document type", [t.value for t in DocType], key="f_types",
                               help="Only answer from these kinds of document.")
        topics = sorted({t for d in kb.documents(statuses=["current", "superseded"]) for t in d.topics})
        chosen = st.multiselect("Topic", topics, key="f_topics")
        start = st.date_input("Published from", value=None, key="f_from", format="YYYY-MM-DD",
                              min_value=dt.date(1990, 1, 1))
        end = st.date_input("Published to", value=None, key="f_to", format="YYYY-MM-DD",
                            min_value=dt.date(1990, 1, 1))
        old = st.checkbox("Include superseded documents", key="f_superseded",
                          help="Superseded guidance is left out unless you ask for it.")
    return SearchFilters(doc_types=types, topics=chosen, published_from=start, published_to=end,
                         include_superseded=old)


def _box(kind: str, inner: str) -> None:
    st.html(f'<div class="kb-{kind}" role="status">{inner}</div>')


def _warnings(kb, answer: Answer) -> None:
    for w in answer.warnings:
        _box("warning", html.escape(w))
    seen = set()
    for c in answer.citations:
        if c.status != DocStatus.superseded or c.doc_id in seen:
            continue
        seen.add(c.doc_id)
        doc = kb.catalog.get(c.doc_id)
        newer = kb.catalog.get(doc.superseded_by) if doc and doc.superseded_by else None
        if newer is not None:
            _box("warning", f'[{c.n}] is superseded. Current version: <a href="Library?doc='
                 f'{html.escape(newer.doc_id, quote=True)}" target="_blank" rel="noopener">'
                 f"{html.escape(newer.title)}</a>")


def _refusal(answer: Answer) -> None:
    items = "".join(
        f'<li><a href="{html.escape(library_href(d["link"]), quote=True)}" target="_blank" rel="noopener">'
        f'{html.escape(d["title"])}</a> <span class="kb-meta">{html.escape(d.get("section") or "")}</span></li>'
        for d in answer.closest_documents
    )
    closest = f"<p>The closest documents are:</p><ul>{items}</ul>" if items else ""
    _box("refusal", "<p><strong>The library does not cover this question.</strong> "
         "No document in it answers this well enough to quote, so no answer is given. "
         "Ask an OH professional, or check the closest documents.</p>" + closest)


def _sources(kb, i: int, answer: Answer) -> None:
    chunks = {h.chunk.chunk_id: h.chunk for h in answer.hits}
    st.markdown(f"**Sources ({len(answer.citations)})**")
    for c in answer.citations:
        chunk = chunks.get(c.chunk_id)
        doc_type = chunk.doc_type.value if chunk else ""
        st.html(source_card_html(c, chunk.text if chunk else c.quote, doc_type))
        if st.button(f"Open source [{c.n}] in the Library", key=f"open_{i}_{c.n}", type="tertiary"):
            st.switch_page(LIBRARY_PAGE, query_params={"doc": c.doc_id, "chunk": c.chunk_id, "quote": c.quote})
    st.html(  # scroll each source's text box to its highlighted sentence
        "<script>setTimeout(function(){document.querySelectorAll('.kb-chunk').forEach(function(box){"
        "const m=box.querySelector('mark.kb-quote');"
        "if(m){box.scrollTop=Math.max(0,m.offsetTop-box.offsetTop-24);}});},300);</script>",
        unsafe_allow_javascript=True,
    )
    with st.expander("Copy citations"):
        for c in answer.citations:
            st.caption(f"[{c.n}] plain text")
            st.code(citation_text(c), language=None, wrap_lines=True)
            st.caption(f"[{c.n}] Markdown with link")
            st.code(citation_markdown(c), language="markdown", wrap_lines=True)


def _feedback(kb, i: int, turn: dict) -> None:
    answer: Answer = turn["answer"]
    if turn.get("feedback_sent"):
        st.caption("Thank you: your feedback was recorded.")
        return
    st.caption("Was this answer helpful?")
    rating = st.feedback("thumbs", key=f"fb_{i}")
    if rating is None:
        return
    comment = st.text_input("Comment (optional)", key=f"fb_comment_{i}",
                            placeholder="What was wrong or missing?")
    if st.button("Send feedback", key=f"fb_send_{i}"):
        kb.catalog.add_feedback(
            answer.question,
            answer.answer,
            [c.chunk_id for c in answer.citations],
            1 if rating == 1 else -1,
            comment.strip(),
            answer.id,
        )
        turn["feedback_sent"] = True
        st.rerun()


def render_turn(kb, i: int, turn: dict, actions=None) -> None:
    """One question and its answer; `actions(i, turn)` draws the buttons under the answer."""
    answer: Answer = turn["answer"]
    typed = turn.get("question") or answer.question
    with st.chat_message("user", avatar=":material/person:"):
        st.text(typed)
    with st.chat_message("assistant", avatar=":material/menu_book:"):
        if answer.question.strip() != typed.strip():
            how = " (condensed by the language model)" if turn.get("rewrite") == "llm" else ""
            st.html(f'<p class="kb-searched">Searched for: <q>{html.escape(answer.question)}</q>{how}</p>')
        if answer.answerable:
            st.html(answer_html(answer))
            _warnings(kb, answer)
        else:
            _refusal(answer)
        st.caption(timing_label(answer))
        if actions is not None:
            actions(i, turn)
        if answer.answerable:
            _sources(kb, i, answer)
        _feedback(kb, i, turn)
