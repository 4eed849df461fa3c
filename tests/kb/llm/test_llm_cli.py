"""`kb llm check` against the scripted server: the reply and its time, or the typed error, never the key."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kb.cli import app
from tests.kb.llm.scripted_server import SCENARIOS, ScriptedLLMServer

KEY = "sk-cli-SECRET-987"


@pytest.fixture
def env(monkeypatch, tmp_path):
    srv = ScriptedLLMServer()
    for k, v in {"KB_DIR": str(tmp_path), "KB_LLM": "openai", "KB_LLM_BASE_URL": srv.openai_url,
                 "KB_LLM_MODEL": "m", "KB_LLM_API_KEY": KEY, "KB_LLM_RETRIES": "0"}.items():
        monkeypatch.setenv(k, v)
    yield srv
    srv.close()


def test_check_reports_the_reply(env):
    out = CliRunner().invoke(app, ["llm", "check", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["ok"] and data["reply"] == SCENARIOS["correct"] and data["llm"] == "openai"
    assert data["seconds"] >= 0 and KEY not in out.output


@pytest.mark.parametrize(("scenario", "error_type"), [("http_500", "LLMServerError"), ("refusal", "LLMBadReply")])
def test_check_reports_the_typed_error_without_the_key(env, scenario, error_type):
    env.default = scenario
    out = CliRunner().invoke(app, ["llm", "check", "--json"])
    assert out.exit_code == 1
    data = json.loads(out.stdout)
    assert not data["ok"] and data["error_type"] == error_type
    assert KEY not in out.output


def test_check_without_an_llm_is_a_usage_error(env, monkeypatch):
    monkeypatch.setenv("KB_LLM", "none")
    out = CliRunner().invoke(app, ["llm", "check"])
    assert out.exit_code == 2 and "No LLM configured" in out.output
