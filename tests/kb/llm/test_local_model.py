"""End to end with the real local model: the packaged llama-server and Gemma 3 270M GGUF.

Opt-in (see conftest.py here): the `local-llm` extra builds llama.cpp from source, which
does not fit in the test command. Run it with

    KB_TEST_LOCAL_LLM=1 .venv/bin/python -m pytest tests/kb/llm/test_local_model.py -q

These tests assert what the real model must do (start, answer, stream, stop) and what our
layer does with whatever it writes; never what the model says, which is unreliable.
"""

from __future__ import annotations

import httpx
import pytest

from kb.ask.generative import build_messages
from kb.llm import open_llm
from kb.llm_reply import read_reply
from kb.llm_server import LocalLLM, LocalLLMServer, packaged_model_path
from kb.settings import load_settings
from tests.kb.llm.scripted_server import scripted_hits

HITS = scripted_hits()
QUESTION = "When should HIV PEP be started after a needlestick injury?"


@pytest.fixture(scope="module")
def local_llm(tmp_path_factory):
    settings = load_settings(kb_dir=tmp_path_factory.mktemp("kb"), llm="local", llm_max_tokens=96,
                             llm_timeout_s=120)
    llm = open_llm(settings)
    assert isinstance(llm, LocalLLM)
    yield llm
    llm.close()


def test_packaged_model_is_a_gguf_file():
    path = packaged_model_path()
    assert path.read_bytes()[:4] == b"GGUF"


def test_real_model_answers_and_streams_the_same_reply(local_llm):
    messages = build_messages(QUESTION, HITS)
    text = local_llm.chat(messages)
    assert text.strip()
    pieces = list(local_llm.stream(messages))
    assert len(pieces) > 3  # token by token, not one block
    assert "".join(pieces) == text  # temperature 0: the same reply both ways
    reply = read_reply(text, len(HITS))
    for s in reply.sentences:
        assert all(1 <= n <= len(HITS) for n in s.citations)
    assert local_llm.server.load_seconds is not None


def test_server_stops_and_its_port_closes(local_llm):
    local_llm.chat([{"role": "user", "content": "Say OK."}])
    url = local_llm.server.url
    assert httpx.get(url + "/health").status_code == 200
    local_llm.close()
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/health", timeout=2)


def test_second_server_on_a_taken_port_is_refused():
    with LocalLLMServer() as first:
        with pytest.raises(Exception, match=f"Port {first.port} on 127.0.0.1 is in use"):
            LocalLLMServer(port=first.port).start()


PEP_DOC = """# HIV post-exposure prophylaxis after a needlestick injury

## 4 When to start PEP

Start HIV PEP as soon as possible after the injury, ideally within 24 hours. PEP is not offered
more than 72 hours after the exposure. The PEP course lasts 28 days.
"""


def test_real_model_answer_is_verified_end_to_end(tmp_path, make_kb, monkeypatch):
    """Whatever Gemma writes, the member sees only verified sentences, renumbered, or a notice."""
    from ingest.pipeline import ingest_paths

    (tmp_path / "pep.md").write_text(PEP_DOC, encoding="utf-8")
    kb = make_kb(llm="local", llm_max_tokens=96, llm_timeout_s=180, llm_retries=0)
    assert not ingest_paths(kb, [tmp_path / "pep.md"]).failed
    tokens: list[str] = []
    a = kb.ask(QUESTION, on_token=tokens.append)
    try:
        if a.mode == "extractive":  # the model failed or declined: the extractive answer, with the notice
            assert any("extractive answer" in w for w in a.warnings)
            return
        assert tokens, "the draft streamed"
        shown = [s for s in a.sentences if s.shown]
        assert all(s.verified for s in shown)  # unverified = drop
        assert all(s.verdict != "contradicted" for s in shown)
        assert [c.n for c in a.citations] == list(range(1, len(a.citations) + 1))  # renumbered
        removed = [s for s in a.sentences if not s.shown]
        assert len([w for w in a.warnings if w.startswith("Removed a generated sentence")]) == len(removed)
        if not shown:
            assert not a.answerable and a.closest_documents  # nothing verified: a refusal
    finally:
        kb.llm.close()
