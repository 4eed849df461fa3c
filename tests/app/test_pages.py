"""Page logic with Streamlit's AppTest over a real small knowledge base (see conftest)."""

from __future__ import annotations

import pytest
from app_support import APP_DIR, CURATOR, PASSWORD
from streamlit.testing.v1 import AppTest

from kb.catalog import Catalog

TIMEOUT = 120
ASK = str(APP_DIR / "Ask.py")
LIBRARY = str(APP_DIR / "pages" / "2_Library.py")
CURATE = str(APP_DIR / "pages" / "3_Curate.py")
QUESTION = "How often must lone workers check in?"


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def _ask(question: str) -> AppTest:
    at = AppTest.from_file(ASK, default_timeout=TIMEOUT).run()
    assert not at.exception
    at.chat_input(key="question").set_value(question).run()
    assert not at.exception, at.exception
    return at


def test_ask_answers_with_citations(app_env):
    at = _ask(QUESTION)
    answer = at.session_state["ask_history"][0]["answer"]
    assert answer.answerable, answer.answer
    assert answer.citations and answer.id  # logged for audit
    page = _html(at)
    assert 'class="kb-marker" href="Library?doc=' in page
    assert '<mark class="kb-quote">' in page
    assert any(c.doc_id.startswith("lone-working") for c in answer.citations)
    assert any("Answered in" in c.value for c in at.caption)
    codes = [c.value for c in at.code]
    assert any(code.startswith("[") and "](http" in code for code in codes)  # Markdown citation
    assert any("/Library?doc=" in code and not code.startswith("[") for code in codes)  # plain text


def test_an_answer_is_drawn_in_the_run_that_asked_it_once_and_listed_at_once(app_env):
    """The run that asked draws the turn in place (no st.rerun per answer: it cost ~0.9 s in the
    browser): exactly once, with the sidebar already listing the new conversation; the next run
    draws it from the history, still once."""
    at = _ask(QUESTION)
    assert sum(m.name == "user" for m in at.chat_message) == 1
    assert sum(m.name == "assistant" for m in at.chat_message) == 1
    assert any(b.label.startswith(QUESTION) for b in at.sidebar.button)  # the conversation just started
    assert at.button(key="edit_0") and at.feedback(key="fb_0") is not None
    at.run()  # the next run (any click) draws the same turn from the history
    assert not at.exception
    assert sum(m.name == "assistant" for m in at.chat_message) == 1


def test_ask_refuses_off_topic(app_env):
    at = _ask("What is the recipe for a Victoria sponge cake?")
    answer = at.session_state["ask_history"][0]["answer"]
    assert not answer.answerable
    page = _html(at)
    assert "does not cover this question" in page
    assert "closest documents" in page.lower()


def test_feedback_is_stored(app_env):
    at = _ask(QUESTION)
    at.feedback[0].set_value(0).run()  # thumbs down
    at.text_input(key="fb_comment_0").set_value("Too short").run()
    at.button(key="fb_send_0").click().run()
    assert not at.exception
    rows = Catalog(app_env / "catalog.db").feedback()
    mine = [r for r in rows if r["comment"] == "Too short"]
    assert mine and mine[0]["rating"] == -1 and mine[0]["chunk_ids"]
    assert mine[0]["answer_id"] == at.session_state["ask_history"][0]["answer"].id


def test_library_deep_link_highlights_chunk(app_env):
    at = _ask(QUESTION)
    cited = at.session_state["ask_history"][0]["answer"].citations[0]
    lib = AppTest.from_file(LIBRARY, default_timeout=TIMEOUT)
    lib.query_params["doc"] = cited.doc_id
    lib.query_params["chunk"] = cited.chunk_id
    lib.run()
    assert not lib.exception
    page = _html(lib)
    assert f'id="chunk-{cited.chunk_id}" class="kb-doc-chunk kb-cited"' in page
    assert lib.get("download_button")  # the original file


def test_library_lists_documents(app_env):
    at = AppTest.from_file(LIBRARY, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Library"
    assert len(at.dataframe[0].value) >= 2


def test_curate_needs_sign_in(app_env):
    at = AppTest.from_file(CURATE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert not at.get("file_uploader")
    labels = [t.label for t in at.text_input]
    assert "User name" in labels and "Password" in labels


def _sign_in(at: AppTest, user: str, password: str) -> AppTest:
    inputs = {t.label: t for t in at.text_input}
    inputs["User name"].set_value(user)
    inputs["Password"].set_value(password)
    submit = next(b for b in at.button if b.label == "Sign in")
    return submit.click().run()


def test_sign_in_wrong_password_fails(app_env):
    at = AppTest.from_file(CURATE, default_timeout=TIMEOUT).run()
    at = _sign_in(at, CURATOR, "not-the-password")
    assert any("not right" in e.value for e in at.error)
    assert not at.session_state["kb_session"].is_curator
    assert not at.get("file_uploader")


def test_sign_in_as_curator_shows_curation(app_env):
    at = AppTest.from_file(CURATE, default_timeout=TIMEOUT).run()
    at = _sign_in(at, CURATOR, PASSWORD)
    assert not at.exception
    assert at.session_state["kb_session"].is_curator
    assert at.get("file_uploader")
    assert [t.label for t in at.tabs] == ["Add documents", "Manage documents", "Review dates", "Ingest history"]


def test_curate_actions_refuse_without_curator(app_env):
    import curate_actions as actions
    from curate_view import ingest_jobs  # noqa: F401  (imports cleanly outside a script run)

    from kb.auth import AccessDenied, Session
    from kb.service import KnowledgeBase  # noqa: F401

    member = Session("mo", "member")
    for call in (
        lambda: actions.check_and_save(member, None, "a.txt", b"hello"),
        lambda: actions.retire(Session(), None, "x", "why"),
        lambda: actions.restore(None, None, "x"),
        lambda: actions.supersede(member, None, "a", "b"),
        lambda: actions.start_ingest(member, None, None, []),
        lambda: actions.review_lists(member, None),
        lambda: actions.ingest_runs(Session(), None),
    ):
        with pytest.raises(AccessDenied):
            call()


def test_curate_upload_rejects_content_that_does_not_match(app_env):
    at = _sign_in(AppTest.from_file(CURATE, default_timeout=TIMEOUT).run(), CURATOR, PASSWORD)
    at.get("file_uploader")[0].upload("policy.pdf", b"<html><body>not a PDF</body></html>", "application/pdf")
    at.run()
    assert not at.exception
    next(b for b in at.button if b.label == "Save and ingest").click().run()
    assert not at.exception
    assert any("policy.pdf" in e.value and "does not match" in e.value for e in at.error)
    assert not (app_env / "uploads" / "policy.pdf").exists()


def test_retire_and_restore_through_guarded_actions(app_env):
    import curate_actions as actions
    from shared import get_kb

    from kb.auth import Session

    at = AppTest.from_file(LIBRARY, default_timeout=TIMEOUT).run()  # opens the shared KB
    assert not at.exception
    kb = get_kb()
    curator = Session(CURATOR, "curator")
    doc = actions.retire(curator, kb, "health-surveillance-policy-2023", "test")
    assert doc.status.value == "withdrawn"
    assert all(h.chunk.doc_id != doc.doc_id for h in kb.search("health surveillance", k=10))
    assert actions.restore(curator, kb, doc.doc_id).status.value == "current"
    assert any(h.chunk.doc_id == doc.doc_id for h in kb.search("health surveillance", k=10))


def test_follow_up_is_answered_in_context_and_survives_a_reload(app_env):
    at = _ask("What is health surveillance?")
    at.chat_input(key="question").set_value("Who is responsible for arranging it?").run()
    assert not at.exception, at.exception
    history = at.session_state["ask_history"]
    assert [t["question"] for t in history] == ["What is health surveillance?",
                                                "Who is responsible for arranging it?"]
    second = history[1]
    assert second["standalone"] == "Who is responsible for arranging health surveillance?"
    assert second["rewrite"] == "rules"
    assert second["answer"].answerable
    assert all(c.doc_id == "health-surveillance-policy-2023" for c in second["answer"].citations)
    assert "Searched for: <q>Who is responsible for arranging health surveillance?</q>" in _html(at)
    conv_id = at.query_params["c"][0] if isinstance(at.query_params["c"], list) else at.query_params["c"]
    assert Catalog(app_env / "catalog.db").conversation_owner(conv_id) == "local"

    reloaded = AppTest.from_file(ASK, default_timeout=TIMEOUT)
    reloaded.query_params["c"] = conv_id
    reloaded.run()
    assert not reloaded.exception
    again = reloaded.session_state["ask_history"]
    assert [t["standalone"] for t in again] == [t["standalone"] for t in history]
    assert any(b.label.startswith("What is health surveillance?") for b in reloaded.button)  # past list

    reloaded.button(key="again_1").click().run()  # ask again keeps two turns
    assert not reloaded.exception
    assert len(reloaded.session_state["ask_history"]) == 2
    reloaded.button(key="new_conversation").click().run()
    assert reloaded.session_state["ask_history"] == [] and "c" not in reloaded.query_params
