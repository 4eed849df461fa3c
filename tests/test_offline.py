"""Ingest, search and ask work with outbound network blocked, and try no connection at all.

The `kb` CLI runs in fresh subprocesses whose sitecustomize blocks every IPv4/IPv6
connect and DNS lookup (tests/netguard). The HF/telemetry variables are removed
from the environment first, to prove kb switches them off itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUARD = REPO / "tests" / "netguard"


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "SCARF_NO_ANALYTICS", "DO_NOT_TRACK",
                        "TIKTOKEN_CACHE_DIR", "HF_DATASETS_OFFLINE"}}
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD), str(REPO)])
    env["NETGUARD_LOG"] = str(tmp_path / "net.log")
    env["KB_DIR"] = str(tmp_path / "kb")
    env["HF_HOME"] = str(tmp_path / "hf-home")  # an empty hub cache: nothing to fall back on
    return env


def _kb(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kb.cli", *args], cwd=tmp_path, env=_env(tmp_path),
        capture_output=True, text=True, timeout=600,
    )


def test_guard_really_blocks(tmp_path):
    code = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\nexcept OSError as e:\n    print('blocked', e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True)
    assert "blocked" in out.stdout and "guard" in out.stdout


def test_ingest_search_ask_offline(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    src = REPO / "corpus"
    # one file of each format family present in the corpus
    picked = []
    for suffix in (".pdf", ".docx", ".html", ".md", ".eml", ".txt"):
        found = sorted(src.rglob(f"*{suffix}"))
        found = [f for f in found if not any(p.startswith("_") for p in f.relative_to(src).parts)]
        if found:
            picked.append(found[0])
    for f in picked:
        (docs / f.name).write_bytes(f.read_bytes())
    r = _kb(tmp_path, "ingest", str(docs), "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["added"] == len(picked) and report["failed"] == []

    r = _kb(tmp_path, "search", "post-incident support after an assault", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout)["hits"]

    r = _kb(tmp_path, "ask", "What should I do straight after a needlestick injury?", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    answer = json.loads(r.stdout)
    assert "answerable" in answer and "citations" in answer

    log = tmp_path / "net.log"
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"network was attempted:\n{attempts}"
