"""`kb app`'s process: one KnowledgeBase shared by the app and the API/MCP server it starts."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from kb.api.app_process import open_and_serve, shared_kb
from kb.embedder import HashEmbedder
from kb.settings import load_settings
from tests.kb.api.conftest import free_port


@pytest.fixture
def hash_embedder(monkeypatch):
    monkeypatch.setattr("kb.service.open_embedder", lambda settings: HashEmbedder())


def test_the_app_process_serves_the_api_over_the_kb_it_shares(tmp_path, hash_embedder):
    settings = load_settings(kb_dir=tmp_path / "kb", api_port=free_port())
    kb, running = open_and_serve(settings)
    try:
        assert shared_kb(tmp_path / "kb") is kb  # what the app's get_kb() picks up
        assert httpx.get(f"{running.url}/healthz", timeout=10).json() == {"status": "ok"}
        ready = httpx.get(f"{running.url}/readyz", timeout=30).json()
        assert ready == {"status": "ready", "documents": 0, "chunks": 0}
        assert httpx.post(f"{running.url}/v1/search", json={"query": "x"}, timeout=30).json() == {"hits": []}
    finally:
        running.stop()
        kb.close()


def test_a_busy_port_leaves_the_app_running_without_the_api(tmp_path, hash_embedder, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        settings = load_settings(kb_dir=tmp_path / "kb", api_port=busy.getsockname()[1])
        kb, running = open_and_serve(settings)
        try:
            assert running is None and shared_kb(tmp_path / "kb") is kb
            assert "runs without the API" in capsys.readouterr().err
        finally:
            kb.close()


def test_the_app_picks_up_the_shared_kb_instead_of_opening_a_second_one(tmp_path, hash_embedder):
    import sys

    app_dir = str(Path(__file__).resolve().parents[3] / "app")
    if app_dir not in sys.path:  # `streamlit run` puts the script's folder on the path
        sys.path.insert(0, app_dir)
    import shared  # app/shared.py

    settings = load_settings(kb_dir=tmp_path / "kb", api_port=free_port())
    kb, running = open_and_serve(settings)
    try:
        loader = shared.KbLoader(str((tmp_path / "kb").resolve()))
        loader._thread.join(60)
        assert loader.error is None and loader.kb is kb  # no second open: no "in use by pid"
    finally:
        running.stop()
        kb.close()


def test_create_app_from_settings_opens_the_kb_and_closes_it_on_shutdown(tmp_path, hash_embedder):
    from fastapi.testclient import TestClient

    from kb.api import create_app

    app = create_app(load_settings(kb_dir=tmp_path / "kb"))
    with TestClient(app) as c:
        assert c.get("/readyz").json()["status"] == "ready"
        assert app.state.kb._store is not None  # the shard is open (and locked) while serving
    assert app.state.kb._store is None  # closed on shutdown: the lock is released


@pytest.mark.parametrize(("flag", "entry"), [([], "kb.api.app_process"), (["--no-api"], "streamlit")])
def test_kb_app_starts_streamlit_through_the_app_process(tmp_path, monkeypatch, flag, entry):
    import subprocess

    from typer.testing import CliRunner

    from kb.cli import app

    calls = []

    class FakeProcess:
        def __init__(self, cmd, env):
            calls.append(cmd)

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    result = CliRunner().invoke(app, ["app", "--kb-dir", str(tmp_path / "kb"), "--port", "18999", *flag])
    assert result.exit_code == 0, result.output
    (cmd,) = calls
    assert cmd[1:4] == ["-m", entry, "run"] and cmd[4].endswith("Ask.py")
    assert ("serves the API" in result.output) == (not flag)


def test_app_process_main_opens_and_serves_then_runs_streamlit(tmp_path, hash_embedder, monkeypatch):
    import sys

    import streamlit.web.cli

    import kb.api.app_process as app_process

    seen = {}

    def fake_streamlit():
        seen["argv"] = list(sys.argv)
        seen["kb"] = shared_kb(tmp_path / "kb")
        app_process.page_served()  # what the app does when a page has the KB: the API may start

    monkeypatch.setattr(streamlit.web.cli, "main", fake_streamlit)
    monkeypatch.setenv("KB_DIR", str(tmp_path / "kb"))
    monkeypatch.setenv("KB_API_PORT", str(free_port()))
    monkeypatch.setattr(sys, "argv", ["app_process", "run", "app/Ask.py", "--server.port", "1"])
    app_process.main()
    assert seen["argv"] == ["streamlit", "run", "app/Ask.py", "--server.port", "1"]
    assert seen["kb"] is not None
    seen["kb"].close()


def test_the_entry_point_opens_in_the_background_and_the_app_waits_for_it(tmp_path, monkeypatch):
    """Streamlit starts while the model loads: shared_kb() waits for the background open and
    returns its KB, or raises what the open raised (shown on the page)."""
    import threading

    from kb.api import app_process

    gate = threading.Event()

    def slow_embedder(settings):
        gate.wait(30)  # the model "loading"
        return HashEmbedder()
    monkeypatch.setattr("kb.service.open_embedder", slow_embedder)
    def no_api(kb):
        raise app_process.KBError("no API in this test")
    monkeypatch.setattr(app_process, "serve_in_background", no_api)
    settings = load_settings(kb_dir=tmp_path / "kb")
    key = str((tmp_path / "kb").resolve())
    monkeypatch.setitem(app_process._OPENING, key, app_process._Opening(settings))
    got = []
    waiter = threading.Thread(target=lambda: got.append(shared_kb(tmp_path / "kb")))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and not got  # still loading: the app waits, it does not open a second KB
    gate.set()
    waiter.join(30)
    try:
        assert got and got[0] is app_process._SHARED[key]
    finally:
        got[0].close()
        app_process._SHARED.pop(key, None)

    def broken(settings):
        raise ValueError("the model folder is empty")
    monkeypatch.setattr("kb.service.open_embedder", broken)
    other = tmp_path / "kb2"
    monkeypatch.setitem(app_process._OPENING, str(other.resolve()), app_process._Opening(load_settings(kb_dir=other)))
    with pytest.raises(ValueError, match="model folder is empty"):
        shared_kb(other)


def test_stopping_kb_app_stops_the_app_process_too(tmp_path):
    """SIGTERM to `kb app` (a service manager stopping it) is passed on: the app process does not
    run on without its parent, holding the store's lock."""
    import signal
    import subprocess
    import sys
    import time

    child = ("import signal, sys, time, pathlib\n"
             f"p = pathlib.Path({str(tmp_path)!r})\n"
             "signal.signal(signal.SIGTERM, lambda *a: (p.joinpath('got-term').write_text('1'), sys.exit(0)))\n"
             "p.joinpath('child-up').write_text('1')\n"
             "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c",
                               "import sys, time\nfrom kb.cli.main import _run_app\n"
                               f"sys.exit(_run_app([sys.executable, '-c', {child!r}], None, time.time()))"])
    deadline = time.monotonic() + 60
    while not (tmp_path / "child-up").exists():
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.05)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 0  # the app's own exit code, after it stopped
    assert (tmp_path / "got-term").read_text() == "1"


def test_the_app_gets_the_kb_before_the_api_has_started(tmp_path, hash_embedder, monkeypatch):
    """The first question waits for the KB, not for uvicorn, FastAPI and MCP to import."""
    import threading

    from kb.api import app_process

    gate = threading.Event()

    def slow_api(kb):
        gate.wait(30)
        raise app_process.KBError("no API in this test")
    monkeypatch.setattr(app_process, "serve_in_background", slow_api)
    key = str((tmp_path / "kb").resolve())
    opening = app_process._Opening(load_settings(kb_dir=tmp_path / "kb"))
    monkeypatch.setitem(app_process._OPENING, key, opening)
    try:
        kb = shared_kb(tmp_path / "kb")
        assert kb is app_process._SHARED[key] and not gate.is_set()  # the API is still "starting"
    finally:
        gate.set()
        app_process._SHARED.pop(key, None)
    kb.close()


def test_under_kb_app_the_api_starts_once_a_page_has_the_kb(tmp_path, hash_embedder, monkeypatch):
    import threading

    from kb.api import app_process

    started = threading.Event()
    from types import SimpleNamespace

    monkeypatch.setattr(app_process, "serve_in_background",
                        lambda kb: started.set() or SimpleNamespace(url="http://127.0.0.1:1"))
    first_page = threading.Event()
    result = []
    worker = threading.Thread(target=lambda: result.append(
        open_and_serve(load_settings(kb_dir=tmp_path / "kb"), api_after=first_page)))
    worker.start()
    try:
        assert not started.wait(1.0)  # the KB is open, the API waits for the first page
        first_page.set()
        assert started.wait(10)
        worker.join(10)
    finally:
        first_page.set()
        worker.join(10)
        if result:
            result[0][0].close()
