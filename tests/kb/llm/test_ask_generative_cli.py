"""`kb ask` with a generative model: the scripted OpenAI-compatible server on loopback, a real
small KB (real embedder, real claim checker) that includes a document addressing a model.

What the member sees in each scripted case: `--stream` writes the draft token by token to
stderr and the verified answer to stdout; `--json` lists every sentence with its verdict;
failures give the extractive answer with a notice; the API key never appears.
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from kb.cli import app
from tests.app.app_support import CORPUS_FILES
from tests.kb.llm import member_cases as case
from tests.kb.llm.scripted_server import ScriptedLLMServer

KEY = "sk-cli-ask-SECRET-5150"


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory, embedder):
    from ingest.pipeline import ingest_paths
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    lib = tmp_path_factory.mktemp("gen_cli_lib")
    poisoned = lib / "lone-working-notes.md"
    poisoned.write_text(case.POISONED_TEXT, encoding="utf-8")
    root = tmp_path_factory.mktemp("gen_cli_kb")
    with KnowledgeBase(load_settings(kb_dir=root), embedder=embedder) as kb:
        assert not ingest_paths(kb, [CORPUS_FILES[0], poisoned]).failed
    return root


@pytest.fixture(scope="module")
def server():
    srv = ScriptedLLMServer(slow_s=3.0)
    yield srv
    srv.close()


@pytest.fixture
def ask(kb_dir, server, embedder, monkeypatch):
    monkeypatch.setattr("kb.service.open_embedder", lambda settings: embedder)  # loaded once per session
    for k, v in {"KB_DIR": str(kb_dir), "KB_LLM": "openai", "KB_LLM_BASE_URL": server.openai_url,
                 "KB_LLM_MODEL": "scripted", "KB_LLM_API_KEY": KEY, "KB_LLM_RETRIES": "0",
                 "KB_LLM_TIMEOUT_S": "1"}.items():
        monkeypatch.setenv(k, v)

    def run(scenario, *args: str):
        server.default = scenario
        out = CliRunner().invoke(app, ["ask", case.QUESTION, *args])
        assert out.exit_code == 0, out.output
        assert KEY not in out.output and KEY not in out.stderr
        return out

    return run


def test_stream_shows_the_draft_then_the_verified_answer(ask):
    out = ask(case.REPLIES["wrong_number"], "--stream")
    # the draft, as written (the scripted model cites the source that holds GOOD: its number
    # follows the retrieval order)
    assert re.search(rf"{re.escape(case.GOOD)} \[(\d)\]\. {re.escape(case.WRONG_NUMBER)}\. \[\1\]", out.stderr)
    assert "[verified answer below]" in out.stderr
    shown = " ".join(out.stdout.split())  # rich wraps long lines
    answer, _, notes = shown.partition("Removed a generated sentence that contradicts its sources")
    assert case.GOOD in answer and case.WRONG_NUMBER not in answer and case.WRONG_NUMBER in notes


@pytest.mark.parametrize(("scenario", "verdicts"), [
    ("correct", [("supported", True, True)]),
    ("wrong_number", [("supported", True, True), ("contradicted", False, False)]),
    ("no_citations", [("supported", True, True), ("unsupported", False, False)]),
    ("injected", [("unsupported", False, False), ("supported", True, True)]),
])
def test_json_lists_every_sentence_with_its_verdict(ask, scenario, verdicts):
    a = json.loads(ask(case.REPLIES[scenario], "--json").stdout)
    assert a["mode"] == "generative" and a["answerable"]
    assert [(s["verdict"], s["verified"], s["shown"]) for s in a["sentences"]] == verdicts
    for s in a["sentences"]:
        assert set(s) >= {"text", "citations", "verdict", "verified", "support", "reason"}
        assert isinstance(s["support"], float) and s["reason"]
    assert a["answer"] == f"{case.GOOD}. [1]"  # only the verified sentence, renumbered to [1]
    assert [c["n"] for c in a["citations"]] == [1]
    assert {c["doc_id"] for c in a["citations"]} == {"lone-working-policy-2024"}  # never the poisoned notes


def test_nothing_verified_is_a_refusal_with_the_closest_documents(ask):
    a = json.loads(ask(case.REPLIES["wrong_source"], "--json").stdout)
    assert not a["answerable"] and not a["citations"]
    assert [s["verified"] for s in a["sentences"]] == [False]
    assert any(d["doc_id"] == "lone-working-policy-2024" for d in a["closest_documents"])


@pytest.mark.parametrize(("scenario", "notice"), case.FAILURES.items())
def test_a_failing_model_gives_the_extractive_answer_with_a_notice(ask, monkeypatch, caplog, scenario, notice):
    if scenario == "down":
        dead = ScriptedLLMServer()
        dead.close()
        monkeypatch.setenv("KB_LLM_BASE_URL", dead.openai_url)
    a = json.loads(ask(scenario, "--json").stdout)
    assert a["mode"] == "extractive" and a["answerable"] and a["citations"]
    assert notice in a["warnings"]
    assert any("extractive fallback" in r.getMessage() for r in caplog.records)  # logged
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_the_human_answer_shows_the_notice_above_the_extractive_answer(ask):
    out = " ".join(ask("http_500").stdout.split())  # rich wraps long lines
    assert case.FAILURES["http_500"] in out and "check in at least every hour" in out


def test_the_key_is_in_no_file_the_answers_left_behind(ask, kb_dir):
    ask("http_500", "--json")  # the scripted 500 echoes the Authorization header back
    for path in kb_dir.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path  # catalog, audit log, WAL, logs
