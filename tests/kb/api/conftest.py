"""A small real KB for the API and MCP tests, the CLI's answers over it, and a real uvicorn on loopback.

The KB is built once per session with the real embedding model (so `kb ask --json` in a
subprocess and the API answer alike), then the CLI runs over it *before* this process opens
it: in the embedded store one process owns the shard.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
QUESTIONS = {
    "pep": "When should HIV PEP be started after a needlestick injury?",
    "lone": "How often should a lone worker check in with their buddy?",
    "none": "What is the best recipe for a chocolate sponge cake?",
}
PUBLIC_DOC = "violence-aggression-public-leaflet-2025"
MEMBERS_DOC = "lone-working-policy-2024"


@pytest.fixture(scope="session")
def api_kb_dir(tmp_path_factory, embedder) -> Path:
    from ingest.pipeline import ingest_paths
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    root = tmp_path_factory.mktemp("api_kb")
    docs = root / "docs"
    docs.mkdir()
    for rel in ("bloodborne-viruses/hiv-pep-occupational-2025.pdf", "violence-aggression/lone-working-policy-2024.md",
                "violence-aggression/violence-aggression-public-leaflet-2025.html"):
        shutil.copy(REPO / "corpus" / rel, docs / Path(rel).name)
    (docs / "manifest.yaml").write_text(
        "defaults: {audience: members}\n"
        "documents:\n"
        "  hiv-pep-occupational-2025.pdf: {doc_type: protocol, topics: [hiv, pep]}\n"
        "  lone-working-policy-2024.md: {doc_type: policy, topics: [lone-working], published: 2024-04-01}\n"
        f"  violence-aggression-public-leaflet-2025.html: {{doc_id: {PUBLIC_DOC}, doc_type: other, audience: public}}\n"
    )
    with KnowledgeBase(load_settings(kb_dir=root / "kb"), embedder=embedder) as kb:
        report = ingest_paths(kb, [docs])
    assert report.added == 3, report.failed
    shutil.copytree(root / "kb", root / "stdio_kb")  # a closed copy for the `kb mcp` stdio subprocess
    return root / "kb"


@pytest.fixture(scope="session")
def cli_answers(api_kb_dir, embedder) -> dict[str, dict]:
    """`kb ask --queries FILE --json` through the real CLI command, run before this process opens the KB.

    In-process (typer's runner) with the session's already-loaded model, so the suite does not
    load the model a second time; everything else is the CLI's own code path.
    """
    from typer.testing import CliRunner

    from kb.cli import app

    queries = api_kb_dir.parent / "questions.jsonl"
    queries.write_text("".join(json.dumps({"id": k, "query": q}) + "\n" for k, q in QUESTIONS.items()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("kb.service.open_embedder", lambda settings: embedder)
        result = CliRunner().invoke(app, ["--kb-dir", str(api_kb_dir), "ask", "--queries", str(queries), "--json"])
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {a["id"]: a for a in answers}


@pytest.fixture(scope="session")
def api_kb(api_kb_dir, cli_answers, embedder):
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    kb = KnowledgeBase(load_settings(kb_dir=api_kb_dir), embedder=embedder)
    yield kb
    kb.close()


@pytest.fixture
def kb_with(api_kb):
    """The open KB under other settings (same store and catalog, nothing reopened)."""
    from kb.service import KnowledgeBase

    def make(**changes):
        return KnowledgeBase(api_kb.settings.replace(**changes), embedder=api_kb.embedder, store=api_kb.store,
                             catalog=api_kb.catalog)

    return make


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app):
    """Serve `app` with a real uvicorn on a loopback port; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def without_volatile(answer: dict) -> dict:
    """An answer JSON without what differs run to run: the id and the timings."""
    return {k: v for k, v in answer.items() if k not in {"id", "timings_ms"}}
