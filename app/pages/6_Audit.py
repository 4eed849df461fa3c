"""Audit: what was answered to whom, on which versions, and who changed the library.

Reviewers and admins only; the role is checked on the server before anything is read.
"""

import datetime as dt

import streamlit as st
from shared import auth_config, page_setup, sign_in_form

from kb import audit
from kb.auth import require

kb, current = page_setup("Audit")
st.title("Audit log")
if not current.may("read_audit"):
    st.info("The audit log needs a reviewer or admin sign-in.")
    sign_in_form(auth_config(), "as a reviewer or admin.", key="audit_sign_in")
    st.stop()
require(current, "read_audit")
catalog = kb.kb.catalog  # the bare catalog: audit records are not filtered by audience

c1, c2, c3, c4 = st.columns(4)
today = dt.date.today()
since = c1.date_input("From", value=today - dt.timedelta(days=30), key="audit_from", format="YYYY-MM-DD")
until = c2.date_input("To", value=today, key="audit_to", format="YYYY-MM-DD")
user = c3.text_input("User", key="audit_user").strip() or None
doc_id = c4.text_input("Document id", key="audit_doc").strip() or None

answers_tab, events_tab = st.tabs(["Answers", "Curation and security events"])
with answers_tab:
    records = audit.answers(catalog, since, until, user, doc_id)
    st.caption(f"{len(records)} answers. Questions are stored with patient identifiers removed.")
    rows = [{"time": r.at.isoformat(timespec="seconds"), "user": r.user, "role": r.role, "channel": r.channel,
             "question": r.question, "answered": r.answerable, "cited": ", ".join(c["doc_id"] for c in r.citations),
             "warnings": len(r.warnings), "latency ms": r.latency_ms, "id": r.answer_id} for r in records]
    event = st.dataframe(rows, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key="audit_answers", width="stretch")
    picked = event.selection.rows if event else []
    if picked:
        st.json(records[picked[0]].model_dump(mode="json"), expanded=True)
    st.download_button("Download as CSV", audit.to_csv(records), file_name=f"audit-{since}-{until}.csv",
                       mime="text/csv", key="audit_csv")
with events_tab:
    found = audit.events(catalog, since, until, user, doc_id)
    st.dataframe([e.model_dump(mode="json", exclude={"event_id"}) for e in found], hide_index=True,
                 key="audit_events", width="stretch")
