"""kb.llm_server and `kb llm serve` with a stand-in llama-server executable (fast), and the
errors for a missing binary, a missing model, a port in use and a server that dies or hangs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kb.errors import LLMError, LLMUnavailable
from kb.llm import open_llm
from kb.llm_server import LocalLLM, LocalLLMServer, LocalServerError, free_port
from kb.settings import load_settings
from tests.kb.llm.scripted_server import SCENARIOS

FAKE = Path(__file__).with_name("fake_llama_server.py")
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def fake_bin(tmp_path) -> Path:
    exe = tmp_path / "llama-server"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    exe.chmod(0o755)
    return exe


@pytest.fixture
def model(tmp_path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF")
    return path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child still answers kill(0): ask ps
        out = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return True
    return bool(out.strip()) and not out.strip().startswith("Z")


def test_server_starts_healthy_and_stops(fake_bin, model, tmp_path):
    srv = LocalLLMServer(model_path=model, binary=fake_bin, log_path=tmp_path / "logs" / "srv.log")
    with srv:
        assert srv.running and srv.port > 0
        assert httpx.get(srv.url + "/health").status_code == 200
        assert srv.load_seconds is not None and srv.load_seconds >= 0.3  # it waited out the 503s
        pid = srv._proc.pid
        assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1"
    assert not srv.running
    assert not alive(pid)
    assert "loading model" in (tmp_path / "logs" / "srv.log").read_text()


def test_missing_binary_is_a_clear_error(model, tmp_path):
    with pytest.raises(LocalServerError, match=r"nowhere/llama-server: llama-server executable not found"):
        LocalLLMServer(model_path=model, binary=tmp_path / "nowhere" / "llama-server").start()


def test_missing_model_is_a_clear_error(fake_bin, tmp_path):
    with pytest.raises(LocalServerError, match=r"missing\.gguf: model file not found \(setting llm_model_path\)"):
        LocalLLMServer(model_path=tmp_path / "missing.gguf", binary=fake_bin).start()


def test_port_in_use_is_a_clear_error(fake_bin, model):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(LocalServerError, match=f"Port {port} on 127.0.0.1 is in use"):
            LocalLLMServer(model_path=model, binary=fake_bin, port=port, log_path=model.with_suffix(".log")).start()


def test_server_that_dies_while_starting_shows_its_log_tail(fake_bin, model, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_MODE", "die")
    with pytest.raises(LocalServerError, match="exited with code 1 while starting") as exc:
        LocalLLMServer(model_path=model, binary=fake_bin, log_path=model.with_suffix(".log")).start()
    assert "failed to load model" in str(exc.value) and "failed to read magic" in str(exc.value)
    assert isinstance(exc.value, LLMUnavailable)  # the ask pipeline falls back to extractive on it


def test_server_that_never_gets_healthy_is_stopped(fake_bin, model, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_MODE", "hang")
    srv = LocalLLMServer(model_path=model, binary=fake_bin, startup_timeout_s=1.0, log_path=model.with_suffix(".log"))
    with pytest.raises(LocalServerError, match="did not become healthy within 1 s"):
        srv.start()
    assert not srv.running


def test_kb_llm_local_starts_on_first_use_and_stops(fake_bin, model, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DIR", str(tmp_path / "kb"))
    settings = load_settings(llm="local", llm_server_bin=str(fake_bin), llm_model_path=str(model), llm_retries=0)
    llm = open_llm(settings)
    assert isinstance(llm, LocalLLM) and not llm.server.running  # nothing starts until it is used
    try:
        assert llm.chat([{"role": "user", "content": "q"}]) == SCENARIOS["correct"]
        assert "".join(llm.stream([{"role": "user", "content": "q"}])) == SCENARIOS["correct"]
        assert llm.model == "tiny" and llm.base_url == llm.server.base_url
        assert (tmp_path / "kb" / "logs" / "llama-server.log").is_file()
        pid = llm.server._proc.pid
    finally:
        llm.close()
    assert not alive(pid)


def test_server_dies_with_a_killed_parent(fake_bin, model, tmp_path):
    """A `kb` process killed with SIGKILL (no atexit) leaves no llama-server behind."""
    code = ("import threading, time\nfrom pathlib import Path\nfrom kb.llm_server import LocalLLMServer\n"
            f"s = LocalLLMServer(model_path={str(model)!r}, binary={str(fake_bin)!r}, log_path=Path({str(tmp_path / 'p.log')!r}))\n"
            "t = threading.Thread(target=s.start)\nt.start()\nt.join()\n"  # started from a thread that has ended
            "print(s._proc.pid, flush=True)\ntime.sleep(1)\nprint(s.running, flush=True)\ntime.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH", str(REPO))))
    child = int(parent.stdout.readline())
    assert parent.stdout.readline().strip() == "True"  # outlived the thread that started it
    assert alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


def test_kb_llm_local_with_a_missing_model_fails_as_an_llm_error(fake_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DIR", str(tmp_path))
    llm = open_llm(load_settings(llm="local", llm_server_bin=str(fake_bin), llm_model_path=str(tmp_path / "x.gguf")))
    with pytest.raises(LLMError, match="x.gguf: model file not found"):
        llm.chat([{"role": "user", "content": "q"}])


def test_kb_llm_serve_runs_until_interrupted(fake_bin, model, tmp_path):
    port = free_port()
    env = dict(os.environ, KB_LLM_SERVER_BIN=str(fake_bin), KB_LLM_MODEL_PATH=str(model), KB_DIR=str(tmp_path),
               PYTHONPATH=os.environ.get("PYTHONPATH", str(REPO)))
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "llm", "serve", "--port", str(port), "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["base_url"] == f"http://127.0.0.1:{port}/v1" and info["model"] == "tiny"
        reply = httpx.post(info["base_url"] + "/chat/completions",
                           json={"model": "tiny", "messages": [{"role": "user", "content": "q"}]}).json()
        assert reply["choices"][0]["message"]["content"] == SCENARIOS["correct"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5)
        except httpx.HTTPError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("llama-server still answers after `kb llm serve` stopped")


def test_kb_llm_serve_reports_a_missing_model(tmp_path):
    env = dict(os.environ, KB_LLM_MODEL_PATH=str(tmp_path / "none.gguf"), KB_LLM_SERVER_BIN="/bin/true",
               KB_DIR=str(tmp_path), PYTHONPATH=os.environ.get("PYTHONPATH", str(REPO)))
    out = subprocess.run([sys.executable, "-m", "kb.cli", "llm", "serve"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert "none.gguf: model file not found" in out.stderr
