"""Bulletin: paste a draft and get the citations and links to put into it."""

from __future__ import annotations

import html

import streamlit as st
from shared import page_setup

from kb.bulletin import annotate, cite_draft

kb, _session = page_setup("Bulletin")
st.title("Bulletin citations")
st.caption(
    "Paste a draft of the e-bulletin. Each sentence that makes a claim is checked against the "
    "library; you get the citation and link to put next to it, and a warning where nothing backs it."
)
draft = st.text_area("Bulletin draft", height=220, key="bulletin_draft",
                     placeholder="This autumn's staff flu campaign starts in October ...")
style = st.radio("Reference style", ["markdown", "plain"], horizontal=True,
                 format_func=lambda s: "Markdown with links" if s == "markdown" else "Plain text")
if st.button("Find citations", type="primary", disabled=not draft.strip()):
    with st.spinner("Checking each sentence against the library…"):
        st.session_state["bulletin_results"] = cite_draft(kb, draft)

results = st.session_state.get("bulletin_results")
if results:
    body, refs = annotate(results, style)
    missing = [r for r in results if not r.supported]
    st.subheader("Draft with citation markers")
    st.code(body, language=None, wrap_lines=True)
    st.subheader("References")
    st.code(refs or "(none)", language="markdown" if style == "markdown" else None, wrap_lines=True)
    if missing:
        st.warning(f"{len(missing)} sentence(s) have no supporting document. Check them before publishing.")
    st.subheader("Sentence by sentence")
    for r in results:
        status = "supported" if r.supported else "no support found"
        with st.expander(f"{'✔' if r.supported else '⚠'} {r.sentence[:90]}"):
            st.markdown(f"**{status}** (score {r.score:.2f})")
            if r.doc_id:
                st.markdown(f"[{html.escape(r.title)}]({r.link}) — {html.escape(r.section)}"
                            + (f", page {r.page_start}" if r.page_start else ""))
                st.markdown(f"> {html.escape(' '.join(r.quote.split()))}")
