"""The Ask page with a generative model: a scripted OpenAI-compatible server on loopback.

The page streams the model's draft into a placeholder while it is written; when the draft is
complete the page shows the verified answer instead. What the member sees is asserted for each
scripted case: correct, wrong number, wrong source, an uncited sentence, an obeyed injected
instruction, and the failures (HTTP 500, malformed stream, too slow, server down), which show
the extractive answer under a visible notice.
"""

from __future__ import annotations

import pytest
from app_support import APP_DIR, CORPUS_FILES, build_kb, write_config
from streamlit.testing.v1 import AppTest

from tests.kb.llm import member_cases as case
from tests.kb.llm.scripted_server import ScriptedLLMServer

ASK = str(APP_DIR / "Ask.py")
KEY = "sk-app-SECRET-4242"


@pytest.fixture(scope="module")
def llm_server():
    srv = ScriptedLLMServer(slow_s=3.0)
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def gen_kb(tmp_path_factory):
    """A small real KB (with a document that addresses a model) for the generative app tests."""
    lib = tmp_path_factory.mktemp("gen_lib")
    poisoned = lib / "lone-working-notes.md"
    poisoned.write_text(case.POISONED_TEXT, encoding="utf-8")
    kb_dir = tmp_path_factory.mktemp("gen_app_kb")
    build_kb(kb_dir, [CORPUS_FILES[0], poisoned])  # the 2024 policy and the poisoned notes
    return kb_dir, write_config(tmp_path_factory.mktemp("gen_cfg") / "kb.toml")


@pytest.fixture
def app(gen_kb, llm_server, monkeypatch):
    kb_dir, config = gen_kb
    env = {"KB_DIR": str(kb_dir), "KB_CONFIG": str(config), "KB_LLM": "openai",
           "KB_LLM_BASE_URL": llm_server.openai_url, "KB_LLM_MODEL": "scripted", "KB_LLM_API_KEY": KEY,
           "KB_LLM_RETRIES": "0", "KB_LLM_TIMEOUT_S": "1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for var in ("KB_CURATORS", "KB_MEMBERS", "KB_REQUIRE_LOGIN", "KB_DEMO_CURATOR", "KB_APP_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    from shared import get_kb

    kb = get_kb()  # opened once per process for this KB_DIR, with the LLM settings above
    assert kb.settings.llm == "openai"
    return kb


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def _page(at: AppTest) -> str:
    """Everything the member can read on the page."""
    parts = [_html(at)] + [e.value for kind in ("markdown", "text", "caption", "code") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def _ask(server: ScriptedLLMServer, scenario) -> tuple[AppTest, object]:
    server.default = scenario
    at = AppTest.from_file(ASK, default_timeout=120).run()
    at.chat_input(key="question").set_value(case.QUESTION).run()
    assert not at.exception, at.exception
    return at, at.session_state["ask_history"][-1]["answer"]


@pytest.mark.parametrize(("scenario", "shown", "hidden", "removed"), [
    ("correct", [case.GOOD], [], 0),
    ("wrong_number", [case.GOOD], [case.WRONG_NUMBER, "every 4 hours"], 1),
    ("no_citations", [case.GOOD], [case.UNCITED], 1),
    ("injected", [case.GOOD], [case.OBEYED], 1),
])
def test_the_streamed_draft_is_replaced_by_the_verified_answer(app, llm_server, scenario, shown, hidden, removed):
    at, answer = _ask(llm_server, case.REPLIES[scenario])
    draft = at.session_state["ask_draft"]
    assert all(s in draft for s in hidden), "the draft streamed as the model wrote it"
    assert answer.mode == "generative" and answer.answerable
    page = _page(at)
    assert f'{shown[0]}. <a class="kb-marker"' in page  # verified, with its citation link
    for text in hidden:
        assert f"{text}. <a" not in page and f"{text} <a" not in page
    assert sum(not s.shown for s in answer.sentences) == removed
    if removed:
        assert "Removed a generated sentence" in page  # the member is told what was taken out
    assert "extractive answer" not in page
    assert all(c.doc_id == "lone-working-policy-2024" for c in answer.citations)
    assert [c.n for c in answer.citations] == [1]
    assert KEY not in page


def test_a_draft_with_nothing_verified_becomes_a_refusal_with_the_closest_documents(app, llm_server):
    at, answer = _ask(llm_server, case.REPLIES["wrong_source"])
    assert case.GOOD in at.session_state["ask_draft"]
    assert not answer.answerable and not answer.citations
    page = _page(at)
    assert "does not cover this question" in page and "closest documents" in page.lower()
    assert "lone-working-policy-2024" in page  # the closest document is linked
    assert f"{case.GOOD}. <a" not in page


@pytest.mark.parametrize(("scenario", "notice"), [(k, v) for k, v in case.FAILURES.items() if k != "refusal"])
def test_a_failing_model_shows_the_extractive_answer_with_a_notice(app, llm_server, monkeypatch, scenario, notice):
    if scenario == "down":
        dead = ScriptedLLMServer()
        dead.close()  # a port nothing listens on
        monkeypatch.setattr(app.llm, "base_url", dead.openai_url)
    at, answer = _ask(llm_server, scenario)
    assert answer.mode == "extractive" and answer.answerable
    page = _page(at)
    assert f'<div class="kb-warning" role="status">{notice.replace(chr(39), "&#x27;")}</div>' in page
    assert '<div class="kb-answer">' in page and answer.citations
    assert "lone workers must now check in at least every hour" in page
    assert KEY not in page
