"""Helpers for the app tests: a real small KB from corpus files, and a kb.toml with a curator."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "app"
if str(APP_DIR) not in sys.path:  # `streamlit run` adds the script's folder; AppTest does not
    sys.path.insert(0, str(APP_DIR))

CORPUS_FILES = [
    ROOT / "corpus/violence-aggression/lone-working-policy-2024.md",
    ROOT / "corpus/violence-aggression/lone-working-policy-2019.txt",
    ROOT / "corpus/oh-policies/health-surveillance-policy-2023.md",
]
CURATOR, PASSWORD = "tester", "s3cret-pass"


def build_kb(kb_dir: Path, files: list[Path] = CORPUS_FILES) -> dict:
    """Ingest `files` into a fresh KB at `kb_dir`, then close it (releasing the shard lock)."""
    from ingest.pipeline import ingest_paths
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    with KnowledgeBase.open(load_settings(kb_dir=kb_dir)) as kb:
        report = ingest_paths(kb, files)
    assert report.added == len(files), report.failed
    return report.contract()


def write_config(path: Path) -> Path:
    from kb.auth import hash_password

    encoded = hash_password(PASSWORD, iterations=2_000)
    path.write_text(f'[auth]\ncurators = {{{CURATOR} = "{encoded}"}}\n', encoding="utf-8")
    return path
