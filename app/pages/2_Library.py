"""Library: search and browse the documents; open one at a cited passage (?doc=…&chunk=…)."""

import streamlit as st
from library_view import browse, document_view
from shared import page_setup

kb, current = page_setup("Library")
doc_id = st.query_params.get("doc")
if doc_id:
    document_view(kb, doc_id, st.query_params.get("chunk"), st.query_params.get("quote", ""))
else:
    st.title("Library")
    st.caption("Every document the knowledge base answers from, with its dates and status.")
    browse(kb, current.is_curator)
