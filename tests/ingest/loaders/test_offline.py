"""Nothing downloads: every format loads in a fresh process whose sockets all refuse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import docx

from tests.ingest.loaders.fixture_files import make_policy_pdf

REPO = Path(__file__).resolve().parents[3]

SCRIPT = """
import socket, sys
real_connect = socket.socket.connect
def refuse(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise RuntimeError(f"network access attempted: {address!r}")
    return real_connect(self, address)
def no_dns(host, *args, **kwargs):
    raise RuntimeError(f"DNS lookup attempted: {host!r}")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.getaddrinfo = no_dns

from pathlib import Path
from ingest.chunking import chunk_document
from ingest.loaders import load_document

for name in sys.argv[1:]:
    doc = load_document(Path(name))
    assert doc.blocks, name
    assert chunk_document(doc), name
print("offline ok")
"""


def test_all_formats_load_and_chunk_without_network(tmp_path: Path) -> None:
    files = [make_policy_pdf(tmp_path / "policy.pdf")]
    for name, text in {
        "page.html": "<html><body><h1>Hand hygiene</h1><p>Clean your hands before care.</p></body></html>",
        "note.md": "# Hand hygiene\n\nClean your hands before and after patient contact.\n",
        "note.txt": "HAND HYGIENE\n\nClean your hands before and after patient contact.\n",
        "mail.eml": "From: a@example.org\nTo: b@example.org\nSubject: Hand hygiene\n\n"
        "Clean your hands before and after patient contact.\n",
    }.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        files.append(tmp_path / name)
    document = docx.Document()
    document.add_heading("Hand hygiene", 1)
    document.add_paragraph("Clean your hands before and after patient contact.")
    document.save(str(tmp_path / "note.docx"))
    files.append(tmp_path / "note.docx")

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"HF_HUB_OFFLINE", "SCARF_NO_ANALYTICS", "DO_NOT_TRACK", "TIKTOKEN_CACHE_DIR"}
    }
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *map(str, files)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "offline ok" in result.stdout
