"""Bulletin: paste a draft, review each claim's citation, export it; and what's new in the library."""

from __future__ import annotations

import bulletin_view as view
import streamlit as st
from shared import page_setup

from kb.pii import pii_warnings

kb, _session = page_setup("Bulletin")
st.title("Bulletin")
cite_tab, new_tab = st.tabs(["Cite a draft", "What's new"])

with cite_tab:
    st.caption(
        "Paste a draft of the e-bulletin (Markdown). Each sentence and bullet point is checked against "
        "the library: accept the proposed passage, pick another, or reject them all, then export."
    )
    draft = st.text_area("Bulletin draft", height=220, key="bulletin_draft",
                         placeholder="## Lone working\n\nLone workers must check in at least every hour.")
    for warning in pii_warnings(draft):  # shown before anything is searched, stored or sent
        st.warning(warning + " Remove it before the draft is published or shared.")
    if st.button("Check claims", type="primary", disabled=not draft.strip()):
        view.check_draft(kb, draft)
    view.load_choices_file()
    cite = st.session_state.get(view.CITE_KEY)
    if cite:
        cited_draft = st.session_state.get(view.DRAFT_KEY, draft)
        if cited_draft != draft:
            st.info("The draft changed since it was checked: press Check claims again. Your choices are kept.")
        st.subheader("Claims")
        view.review(cite)
        st.subheader("Export")
        title = next((ln.lstrip("# ").strip() for ln in cited_draft.splitlines() if ln.startswith("#")), "Bulletin")
        view.export(cited_draft, cite, title)

with new_tab:
    st.caption("What was added, updated, superseded or retired in the library, and what passed its review date.")
    view.whats_new(kb)
