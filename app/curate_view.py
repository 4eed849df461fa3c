"""The Curate page's pieces. Every change goes through `curate_actions`, which checks the role."""

from __future__ import annotations

import datetime as dt

import curate_actions as actions
import streamlit as st
from ingest_jobs import IngestJob, IngestJobs

from ingest.upload import ALLOWED_SUFFIXES
from kb.auth import Session
from kb.errors import KBError
from kb.records import DocStatus, DocType, DocumentMeta

JOB_KEY = "curate_job"


@st.cache_resource
def ingest_jobs() -> IngestJobs:
    """One registry per process, so every curator sees a running ingest."""
    return IngestJobs()


def _meta_fields(i: int, name: str, doc_ids: list[str]) -> DocumentMeta:
    st.markdown(f"**{name}**")
    c1, c2 = st.columns(2)
    title = c1.text_input("Title", key=f"m_title_{i}", help="Leave empty to use the title in the file.")
    doc_type = c2.selectbox("Document type", [t.value for t in DocType], key=f"m_type_{i}")
    topics = c1.text_input("Topics (comma-separated)", key=f"m_topics_{i}")
    status = c2.selectbox("Status", [s.value for s in DocStatus], key=f"m_status_{i}")
    published = c1.date_input("Published", value=None, key=f"m_pub_{i}", format="YYYY-MM-DD",
                              min_value=dt.date(1990, 1, 1))
    review_due = c2.date_input("Review due", value=None, key=f"m_rev_{i}", format="YYYY-MM-DD",
                               min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1))
    supersedes = st.multiselect("Supersedes", doc_ids, key=f"m_sup_{i}",
                                help="Older documents this one replaces; they become superseded.")
    return DocumentMeta(
        title=title.strip() or None,
        doc_type=DocType(doc_type),
        topics=[t.strip() for t in topics.split(",") if t.strip()],
        published=published,
        review_due=review_due,
        status=DocStatus(status),
        supersedes=supersedes,
    )


def upload_tab(kb, session: Session) -> None:
    st.markdown(
        f"Upload PDF, Word (.docx), HTML, Markdown, text or e-mail (.eml) files, up to "
        f"{kb.settings.upload_max_mb} MB each. Each file is checked by its content, not only its name."
    )
    round_ = st.session_state.setdefault("upload_round", 0)  # a new key empties the uploader
    files = st.file_uploader("Files to add", accept_multiple_files=True, key=f"uploads_{round_}",
                             type=[s.lstrip(".") for s in ALLOWED_SUFFIXES])
    upload_messages()
    if not files:
        return
    doc_ids = [d.doc_id for d in kb.documents(statuses=["current"])]
    with st.form("upload_meta"):
        metas = []
        for i, f in enumerate(files):
            metas.append(_meta_fields(i, f.name, doc_ids))
            st.divider()
        allow_pii = st.checkbox("I have checked these files: store them even if they look like they "
                                "contain patient-identifiable data", key="upload_allow_pii")
        submitted = st.form_submit_button("Save and ingest", type="primary")
    if not submitted:
        return
    saved, messages = [], []
    for f, meta in zip(files, metas, strict=True):
        result = actions.check_and_save(session, kb, f.name, f.getvalue(), allow_pii)
        if result.error:
            messages.append(("error", result.error))
            continue
        actions.save_metadata(session, result.path, meta)
        saved.append(result.path)
        messages.append(("success", f"{f.name}: checked and saved as {result.path.name}"))
    st.session_state["upload_messages"] = messages
    if saved:
        try:
            job = actions.start_ingest(session, kb, ingest_jobs(), saved)
        except KBError as exc:
            messages.append(("error", str(exc)))
        else:
            st.session_state[JOB_KEY] = job.job_id
            st.session_state["upload_round"] = round_ + 1
    st.rerun()


def upload_messages() -> None:
    for kind, text in st.session_state.get("upload_messages", []):
        (st.error if kind == "error" else st.success)(text)


def _job_results(job: IngestJob) -> None:
    if job.error:
        st.error(f"The ingest stopped: {job.error}")
        return
    r = job.report or {}
    st.success(
        f"Ingest finished in {r.get('seconds', 0)} s: {r.get('added', 0)} added, {r.get('updated', 0)} "
        f"updated, {r.get('unchanged', 0)} unchanged, {len(r.get('failed', []))} failed."
    )
    for f in r.get("failed", []):
        st.error(f"{f['path']}: {f['error']}")


@st.fragment(run_every=0.5)
def _job_progress() -> None:
    job = ingest_jobs().get(st.session_state.get(JOB_KEY))
    if job is None:
        return
    st.progress(job.fraction, text=job.label)
    if not job.running:
        st.rerun(scope="app")


def job_panel() -> None:
    job = ingest_jobs().get(st.session_state.get(JOB_KEY))
    if job is None:
        return
    st.subheader("Ingest progress")
    if job.running:
        _job_progress()
    else:
        st.progress(1.0, text=job.label)
        _job_results(job)


def manage_tab(kb, session: Session) -> None:
    docs = kb.documents()
    if not docs:
        st.info("The library is empty. Add documents first.")
        return
    labels = {d.doc_id: f"{d.title} ({d.doc_id}, {d.status.value})" for d in docs}
    doc_id = st.selectbox("Document", list(labels), format_func=labels.get, key="manage_doc")
    doc = kb.document(doc_id)
    st.caption(f"Status: {doc.status.value}"
               + (f", superseded by {doc.superseded_by}" if doc.superseded_by else ""))
    c1, c2, c3 = st.columns(3)
    with c1:
        reason = st.text_input("Reason for retiring", key="retire_reason")
        if st.button("Retire (withdraw)", key="retire", disabled=doc.status == DocStatus.withdrawn):
            _do(lambda: actions.retire(session, kb, doc_id, reason), f"{doc.title} withdrawn.")
    with c2:
        current = [d.doc_id for d in docs if d.status == DocStatus.current and d.doc_id != doc_id]
        newer = st.selectbox("Superseded by", current, format_func=labels.get, key="sup_new", index=None)
        if st.button("Supersede", key="supersede", disabled=newer is None):
            _do(lambda: actions.supersede(session, kb, doc_id, newer), f"{doc.title} superseded.")
    with c3:
        st.write("")
        if st.button("Restore as current", key="restore", disabled=doc.status == DocStatus.current):
            _do(lambda: actions.restore(session, kb, doc_id), f"{doc.title} restored.")
    st.markdown("**Recent changes**")
    st.dataframe(kb.catalog.events(doc_id, limit=20), hide_index=True, width="stretch")


def _do(action, message: str) -> None:
    try:
        action()
    except KBError as exc:
        st.error(str(exc))
    else:
        st.toast(message)
        st.rerun()


def review_tab(kb, session: Session) -> None:
    past, due = actions.review_lists(session, kb, within_days=60)

    def rows(docs):
        return [{"Title": d.title, "Review due": d.review_due, "Status": d.status.value, "id": d.doc_id}
                for d in docs]

    st.markdown(f"**Past review ({len(past)})**")
    st.dataframe(rows(past), hide_index=True, width="stretch") if past else st.caption("None.")
    st.markdown(f"**Due within 60 days ({len(due)})**")
    st.dataframe(rows(due), hide_index=True, width="stretch") if due else st.caption("None.")


def history_tab(kb, session: Session) -> None:
    runs = actions.ingest_runs(session, kb)
    if not runs:
        st.caption("No ingest runs yet.")
        return
    table = []
    for r in runs:
        s = r["summary"] or {}
        table.append({"Run": r["run_id"], "Started": r["started_at"], "Finished": r["finished_at"],
                      "Added": s.get("added"), "Updated": s.get("updated"),
                      "Unchanged": s.get("unchanged"), "Failed": len(s.get("failed", []))})
    st.dataframe(table, hide_index=True, width="stretch")
    run_id = st.selectbox("Errors of run", [r["run_id"] for r in runs], key="run_errors")
    errors = actions.run_errors(session, kb, run_id)
    if errors:
        st.dataframe(errors, hide_index=True, width="stretch")
    else:
        st.caption("No errors in this run.")
