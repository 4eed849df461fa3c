"""Curate: add, check and ingest documents; supersede, retire, restore; review dates; run history.

Curators only. The sign-in is checked here and again inside every action (curate_actions).
"""

import streamlit as st
from curate_view import history_tab, job_panel, manage_tab, review_tab, upload_tab
from first_run import first_account
from shared import auth_config, page_setup, sign_in_form

kb, current = page_setup("Curate")
st.title("Curate the library")
if not current.is_curator:
    config = auth_config()
    if not config.has_accounts:
        first_account(config)
        st.stop()
    st.info("Curating needs a curator sign-in.")
    sign_in_form(config, "as a curator.")
    st.stop()

add, manage, review, history = st.tabs(["Add documents", "Manage documents", "Review dates", "Ingest history"])
with add:
    upload_tab(kb, current)
    job_panel()
with manage:
    manage_tab(kb, current)
with review:
    review_tab(kb, current)
with history:
    history_tab(kb, current)
