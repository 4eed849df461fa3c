"""Evals: run the golden set and benchmarks, browse past runs, drill into one question."""

import json
from pathlib import Path

import streamlit as st
from shared import auth_config, page_setup, sign_in_form

from evals import runner
from evals.jobs import EvalJob, question_view
from kb.access import audience_for
from kb.auth import require_reviewer

kb, current = page_setup("Evals")
if audience_for(current, auth_config()):  # eval reports quote members' documents
    st.title("Evals")
    st.info("Eval runs quote members' documents: sign in to see them.")
    st.stop()
st.title("Evals")
st.caption("Retrieval and answer quality on the golden set and the external benchmarks, "
           "with BM25-only and dense-only baselines. Runs are saved under evals/runs/.")

if not current.is_reviewer:
    with st.expander("Sign in as a reviewer to start runs"):
        sign_in_form(auth_config(), "as a reviewer.", key="evals_sign_in")

with st.form("start_run"):
    c1, c2, c3, c4 = st.columns(4)
    suite = c1.selectbox("Suite", ["golden", "medquad", "covidqa", "all"])
    mode = c2.selectbox("Answer mode", ["extractive", "generative"])
    limit = c3.number_input("Limit (0 = default)", min_value=0, value=0, step=50)
    past = [r["run_id"] for r in runner.list_runs()]
    compare = c4.selectbox("Compare with", ["(none)", *past])
    if not current.is_reviewer:
        st.caption("Starting a run needs a reviewer sign-in (it loads the shared app process).")
    if st.form_submit_button("Start run", type="primary", disabled=not current.is_reviewer):
        require_reviewer(current)  # checked on the server, not only by the disabled button
        job = EvalJob(list(runner.SUITES) if suite == "all" else [suite], mode, int(limit) or None,
                      None if compare == "(none)" else compare)
        st.session_state["eval_job"] = job.start()

_job: EvalJob | None = st.session_state.get("eval_job")


@st.fragment(run_every=1.0 if _job is not None and _job.running else None)
def _progress() -> None:
    """The running job's progress, updated every second by itself; reruns the page when done."""
    job: EvalJob | None = st.session_state.get("eval_job")
    if job is None:
        return
    if job.running:
        st.progress(job.fraction, text=f"{job.stage}: {job.done}/{job.total} {job.detail}")
        st.session_state["eval_job_seen_running"] = True
    elif job.error:
        st.error(job.error)
    elif job.result:
        st.success(f"Run finished: {job.result.name}")
        if st.session_state.pop("eval_job_seen_running", False):
            st.rerun(scope="app")  # list the new run below


_progress()

runs = runner.list_runs()
if not runs:
    st.info("No runs yet. Start one above, or run `kb eval` in a terminal.")
    st.stop()

choice = st.selectbox("Run", [r["run_id"] for r in runs],
                      format_func=lambda rid: f"{rid} ({', '.join(next(r for r in runs if r['run_id'] == rid)['suites'])})")
run_dir = Path(next(r for r in runs if r["run_id"] == choice)["path"])
tab_report, tab_questions = st.tabs(["Report", "Questions"])
with tab_report:
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    st.iframe(html, height=900)
    st.download_button("Download report.html", html, file_name=f"eval-{choice}.html", mime="text/html")
with tab_questions:
    records = runner.read_records(run_dir)
    failed_only = st.checkbox("Only failed questions")
    shown = [r for r in records if not failed_only or not r["passed"]]
    st.dataframe([{"suite": r["suite"], "id": r["id"], "kind": r.get("kind"), "pass": r["passed"],
                   "question": r["question"], "why": "; ".join(r.get("reasons", []))} for r in shown],
                 width="stretch", hide_index=True)
    if shown:
        pick = st.selectbox("Question", range(len(shown)),
                            format_func=lambda i: f"{shown[i]['suite']} {shown[i]['id']}: {shown[i]['question'][:90]}")
        view = question_view(shown[pick])
        (st.success if view["verdict"] == "pass" else st.error)(
            f"{view['verdict'].upper()}" + (": " + "; ".join(view["reasons"]) if view["reasons"] else ""))
        left, right = st.columns(2)
        with left:
            st.subheader("Gold")
            st.json(view["gold"])
            st.subheader("Answer")
            if view["answer"]:
                st.write(view["answer"]["text"])
                st.json({k: v for k, v in view["answer"].items() if k not in ("text", "hits")}, expanded=False)
            st.json(view["scores"], expanded=False)
        with right:
            st.subheader("Retrieved (hybrid)")
            for i, h in enumerate(view["retrieved"], start=1):
                label = f"{i}. {h.get('doc_id')} {h.get('section') or h.get('passage') or ''}"
                with st.expander(label):
                    st.write(h.get("text", ""))
                    st.caption(json.dumps({k: v for k, v in h.items() if k != "text"}))
            st.subheader("Retrieval metrics")
            st.dataframe(view["metrics"], width="stretch")
