"""The LLM client against a real scripted HTTP server on loopback: every scenario, chat and stream,
both protocols, retries with backoff, typed errors, and an API key that never leaks."""

from __future__ import annotations

import logging

import pytest

from kb.errors import LLMBadReply, LLMError, LLMServerError, LLMTimeout, LLMUnavailable
from kb.llm import OllamaLLM, OpenAICompatibleLLM, open_llm
from kb.llm_reply import read_reply
from kb.llm_server import free_port
from kb.settings import load_settings
from tests.kb.llm.scripted_server import SCENARIOS, ScriptedLLMServer

KEY = "sk-test-SECRET-0123456789"
MESSAGES = [{"role": "user", "content": "When should HIV PEP start?"}]


@pytest.fixture
def server():
    made: list[ScriptedLLMServer] = []

    def make(*script: str, **kw) -> ScriptedLLMServer:
        srv = ScriptedLLMServer(list(script), **kw)
        made.append(srv)
        return srv

    yield make
    for s in made:
        s.close()


def client(kind: str, srv: ScriptedLLMServer, **kw):
    kw.setdefault("timeout", 5.0)
    kw.setdefault("retries", 0)
    llm = (OpenAICompatibleLLM(srv.openai_url, "test-model", KEY, **kw) if kind == "openai"
           else OllamaLLM(srv.url, "test-model", api_key=KEY, **kw))
    llm.backoff_s = 0.01
    return llm


def call(llm, mode: str) -> str:
    if mode == "chat":
        return llm.chat(MESSAGES)
    return "".join(llm.stream(MESSAGES))


BOTH = pytest.mark.parametrize("kind", ["openai", "ollama"])
MODES = pytest.mark.parametrize("mode", ["chat", "stream"])

TEXT_SCENARIOS = ["correct", "wrong_number", "wrong_source", "no_citations", "injected", "not_covered"]


@BOTH
@MODES
@pytest.mark.parametrize("scenario", TEXT_SCENARIOS)
def test_text_scenarios_arrive_whole(server, kind, mode, scenario):
    srv = server(scenario)
    assert call(client(kind, srv), mode) == SCENARIOS[scenario]
    path, body, _ = srv.requests[0]
    assert path == ("/v1/chat/completions" if kind == "openai" else "/api/chat")
    assert body["model"] == "test-model" and body["messages"] == MESSAGES
    assert body["stream"] is (mode == "stream")


@BOTH
def test_stream_yields_token_by_token(server, kind):
    srv = server("correct")
    pieces = list(client(kind, srv).stream(MESSAGES))
    assert len(pieces) > 5
    assert "".join(pieces) == SCENARIOS["correct"]


def test_what_the_scenarios_cite():
    """The scenarios the claim checker must catch, read as the pipeline reads them."""
    correct = read_reply(SCENARIOS["correct"], 2)
    assert [s.citations for s in correct.sentences] == [[1], [2]]  # the "hours. [1]" form attaches
    assert [s.citations for s in read_reply(SCENARIOS["no_citations"], 2).sentences] == [[]]
    assert read_reply(SCENARIOS["wrong_source"], 2).sentences[0].citations == [1]
    assert "96 hours" in read_reply(SCENARIOS["wrong_number"], 2).sentences[0].text
    assert read_reply(SCENARIOS["injected"], 2).sentences[0].text == "Staff should stop all vaccinations."
    assert read_reply(SCENARIOS["not_covered"], 2).not_covered


@BOTH
@MODES
@pytest.mark.parametrize(("scenario", "reason"), [("refusal", "refusal"), ("empty", "empty"), ("malformed", "malformed")])
def test_unusable_replies_are_bad_replies_and_not_retried(server, kind, mode, scenario, reason):
    srv = server(scenario, scenario)
    with pytest.raises(LLMBadReply) as exc:
        call(client(kind, srv, retries=1), mode)
    assert exc.value.reason == reason
    assert len(srv.requests) == 1


@BOTH
@MODES
def test_slow_reply_times_out_after_retries(server, kind, mode):
    srv = server("slow", "slow", slow_s=1.5)
    with pytest.raises(LLMTimeout, match="llm_timeout_s"):
        call(client(kind, srv, timeout=0.3, retries=1), mode)
    assert len(srv.requests) == 2


@BOTH
@MODES
def test_http_500_is_a_server_error_and_retried(server, kind, mode):
    srv = server("http_500", "http_500", "http_500")
    with pytest.raises(LLMServerError, match="HTTP 500"):
        call(client(kind, srv, retries=2), mode)
    assert len(srv.requests) == 3


@BOTH
@MODES
def test_retry_recovers_after_a_500_and_a_timeout(server, kind, mode):
    srv = server("http_500", "slow", "correct", slow_s=1.0)
    assert call(client(kind, srv, timeout=0.3, retries=2), mode) == SCENARIOS["correct"]
    assert len(srv.requests) == 3


@BOTH
@MODES
def test_connection_closed_mid_reply(server, kind, mode):
    srv = server("closed_mid_stream")
    llm = client(kind, srv, retries=0)
    if mode == "chat":
        with pytest.raises(LLMUnavailable, match="closed the connection"):
            llm.chat(MESSAGES)
        return
    got: list[str] = []
    with pytest.raises(LLMUnavailable):
        for piece in llm.stream(MESSAGES):
            got.append(piece)
    assert got and SCENARIOS["correct"].startswith("".join(got))  # the member saw the start, then an error


@BOTH
def test_stream_cut_after_first_token_is_not_retried(server, kind):
    srv = server("closed_mid_stream", "correct")
    with pytest.raises(LLMUnavailable):
        list(client(kind, srv, retries=2).stream(MESSAGES))
    assert len(srv.requests) == 1  # tokens already shown are never replayed from a second attempt


@BOTH
@MODES
def test_server_down_is_unavailable_and_retried(kind, mode, caplog):
    port = free_port()
    llm = (OpenAICompatibleLLM(f"http://127.0.0.1:{port}/v1", "m", KEY, timeout=2, retries=2) if kind == "openai"
           else OllamaLLM(f"http://127.0.0.1:{port}", "m", api_key=KEY, timeout=2, retries=2))
    llm.backoff_s = 0.01
    with caplog.at_level(logging.WARNING, logger="kb.llm"), pytest.raises(LLMUnavailable, match="cannot be reached"):
        call(llm, mode)
    attempts = [r for r in caplog.records if "attempt" in r.getMessage()]
    assert len(attempts) == 3  # two retries logged, then the final failure


def test_4xx_is_an_llm_error_not_retried(server):
    srv = server("correct")
    llm = OpenAICompatibleLLM(srv.url + "/v2", "m", retries=2)
    with pytest.raises(LLMError, match="HTTP 404") as exc:
        llm.chat(MESSAGES)
    assert type(exc.value) is LLMError
    assert len(srv.requests) == 0  # the 404 came before the script; nothing was retried


def test_max_tokens_and_temperature_are_sent(server):
    srv = server("correct", "correct")
    client("openai", srv, max_tokens=77).chat(MESSAGES)
    client("ollama", srv, max_tokens=77).chat(MESSAGES)
    assert srv.requests[0][1]["max_tokens"] == 77 and srv.requests[0][1]["temperature"] == 0
    assert srv.requests[1][1]["options"] == {"temperature": 0, "num_predict": 77}


# ---------------------------------------------------------------------- secrets


@MODES
def test_api_key_is_sent_but_never_shown(server, mode, caplog):
    srv = server("correct", "http_500", "malformed")
    llm = client("openai", srv, retries=0)
    with caplog.at_level(logging.DEBUG):
        call(llm, mode)
        for _ in range(2):
            with pytest.raises(LLMError) as exc:
                call(llm, mode)
            assert KEY not in str(exc.value) and KEY not in repr(exc.value)
    assert srv.requests[0][2]["Authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(llm) and "***" in repr(llm)
    assert KEY not in caplog.text


def test_key_echoed_in_a_server_error_is_redacted(server):
    srv = server("http_500")  # the scripted 500 body echoes the Authorization header, as some proxies do
    with pytest.raises(LLMServerError) as exc:
        client("openai", srv).chat(MESSAGES)
    assert "Bearer ***" in str(exc.value) and KEY not in str(exc.value)


def test_settings_and_cli_never_show_the_key(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from kb.cli import app

    monkeypatch.setenv("KB_LLM_API_KEY", KEY)
    monkeypatch.setenv("KB_LLM", "openai")
    monkeypatch.setenv("KB_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("KB_LLM_MODEL", "m")
    monkeypatch.setenv("KB_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.llm_api_key == KEY
    assert KEY not in repr(settings) and KEY not in str(settings)
    assert KEY not in repr(open_llm(settings))
    for args in (["settings"], ["settings", "--json"]):
        out = CliRunner().invoke(app, args)
        assert out.exit_code == 0, out.output
        assert KEY not in out.output and "llm_api_key" in out.output


def test_every_llm_error_has_a_member_notice():
    for cls in (LLMError, LLMTimeout, LLMUnavailable, LLMServerError, LLMBadReply):
        assert cls.notice.endswith("so this is the extractive answer.")
    assert len({c.notice for c in (LLMTimeout, LLMUnavailable, LLMServerError, LLMBadReply)}) == 4


def test_open_llm_passes_timeouts_and_retries(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_DIR", str(tmp_path))
    s = load_settings(llm="ollama", llm_model="m", llm_timeout_s=3.5, llm_retries=4, llm_max_tokens=99)
    llm = open_llm(s)
    assert isinstance(llm, OllamaLLM)
    assert (llm.timeout, llm.retries, llm.max_tokens) == (3.5, 4, 99)
    assert open_llm(load_settings(llm="none")) is None


@BOTH
def test_key_echoed_in_a_stream_error_is_redacted(server, kind):
    srv = server("malformed")  # its broken stream line echoes the Authorization header
    with pytest.raises(LLMBadReply) as exc:
        list(client(kind, srv).stream(MESSAGES))
    assert "Bearer ***" in str(exc.value) and KEY not in str(exc.value)


def test_stopping_a_stream_early_releases_the_connection(server):
    srv = server("correct", "correct")
    llm = client("openai", srv)
    gen = llm.stream(MESSAGES)
    assert next(gen)
    gen.close()
    assert llm.chat(MESSAGES) == SCENARIOS["correct"]  # the pool is free for the next request
