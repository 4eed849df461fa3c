"""Bulletin: paste a draft and get the citations and links to put into it."""

from __future__ import annotations

import html

import streamlit as st
from shared import page_setup

from kb.bulletin import cite_json
from kb.pii import pii_warnings

kb, _session = page_setup("Bulletin")
st.title("Bulletin citations")
st.caption(
    "Paste a draft of the e-bulletin. Each claim is checked against the library: you get the citation "
    "and link to put next to it, and a flag where nothing backs it, where current guidance says otherwise, "
    "or where only superseded guidance agrees."
)
draft = st.text_area("Bulletin draft", height=220, key="bulletin_draft",
                     placeholder="This autumn's staff flu campaign starts in October ...")
style = st.radio("Reference style", ["markdown", "plain"], horizontal=True,
                 format_func=lambda s: "Markdown with links" if s == "markdown" else "Plain text")
for warning in pii_warnings(draft):  # shown before anything is searched, stored or sent
    st.warning(warning + " Remove it before the draft is published or shared.")
if st.button("Find citations", type="primary", disabled=not draft.strip()):
    with st.spinner("Checking each claim against the library…"):
        st.session_state["bulletin_report"] = cite_json(kb, draft, style)  # kb: this reader's audience only

report = st.session_state.get("bulletin_report")
if report:
    claims = report["claims"]
    flagged = [c for c in claims if c["verdict"] != "supported"]
    st.subheader("Draft with citation markers")
    st.code(report["annotated"], language=None, wrap_lines=True)
    st.subheader("References")
    st.code(report["references"] or "(none)", language="markdown" if style == "markdown" else None, wrap_lines=True)
    if flagged:
        st.warning(f"{len(flagged)} claim(s) need checking before publishing.")
    st.subheader("Claim by claim")
    icons = {"supported": "✔", "contradicted": "✖", "unsupported": "⚠"}
    for c in claims:
        with st.expander(f"{icons[c['verdict']]} {c['text'][:90]}"):
            st.markdown(f"**{c['verdict']}** (score {c['score']:.2f}): {html.escape(c['reason'])}")
            if c["flags"]:
                st.markdown("Flags: " + ", ".join(f"`{f}`" for f in c["flags"]))
            for ref in c["citations"]:
                st.markdown(f"[{html.escape(ref['title'])}]({ref['link']}) — {html.escape(ref['section'])}"
                            + (f", page {ref['page_start']}" if ref.get("page_start") else "")
                            + f" ({ref.get('role', '')})")
                st.markdown(f"> {html.escape(' '.join(ref['quote'].split()))}")
            if c["alternatives"]:
                st.caption("Other passages: " + "; ".join(
                    f"{a['title']} ({a['verdict']}, {a['score']:.2f})" for a in c["alternatives"]))
