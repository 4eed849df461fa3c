"""Shared by the crash, doctor, backup and streaming tests: small real PDFs, knowledge bases
on the HashEmbedder fake, and `kb` run in a subprocess that can be killed at a named point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kb.service import KnowledgeBase
from kb.settings import load_settings


def write_pdf(path: Path, marker: str, pages: int = 2) -> Path:
    """A real text PDF about sharps injuries; `marker` is a word only this version contains."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for page in range(pages):
        y = 740
        c.drawString(72, y, f"Section {page + 1} Sharps injury {marker}")
        for line in range(18):
            y -= 16
            c.drawString(72, y, f"After a sharps injury wash the wound with soap and water ({marker} {page}.{line}).")
        c.showPage()
    c.save()
    return path


def pdf_folder(root: Path, names: list[str], marker: str = "alpha") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_pdf(root / f"{name}.pdf", f"{marker}{name}")
    return root


def hash_kb(kb_dir: Path) -> KnowledgeBase:
    return KnowledgeBase(load_settings(kb_dir=kb_dir, embedder="hash"))


def run_kb(kb_dir: Path, *args: str, crash_at: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`kb ARGS` in a fresh process on the HashEmbedder; with `crash_at`, killed at that point."""
    env = {**os.environ, "KB_DIR": str(kb_dir), "KB_EMBEDDER": "hash"}
    env.pop("KB_TEST_CRASH_AT", None)
    if crash_at:
        env["KB_TEST_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
