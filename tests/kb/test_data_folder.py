"""Durability and privacy of the data folder: KB_DIR and the shard 0700, catalog files 0600."""

from __future__ import annotations

import stat

from kb.data_folder import private_file, private_folder
from kb.embedder import HashEmbedder
from kb.service import KnowledgeBase
from kb.settings import load_settings


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_knowledge_base_is_private(tmp_path):
    kb_dir = tmp_path / "deep" / "kb"
    with KnowledgeBase(load_settings(kb_dir=kb_dir), embedder=HashEmbedder()) as kb:
        kb.catalog.log_answer("a private question", True, "{}")
        assert kb.store.count() == 0  # opens the Edge shard
        assert kb.catalog.backend.pragma("synchronous") == 2  # FULL
    assert _mode(kb_dir) == 0o700
    assert _mode(kb_dir / "qdrant") == 0o700
    for name in ("catalog.db", "catalog.db-wal", "catalog.db-shm"):
        if (kb_dir / name).exists():
            assert _mode(kb_dir / name) == 0o600, name
    assert (kb_dir / "catalog.db").exists()


def test_private_folder_and_file_ignore_the_umask(tmp_path):
    import os

    old = os.umask(0o000)
    try:
        tmp_path.chmod(0o755)
        folder = private_folder(tmp_path / "a" / "b")
        file = private_file(folder / "f")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a") == 0o700 and _mode(folder) == 0o700 and _mode(file) == 0o600
    assert _mode(tmp_path) == 0o755  # an existing parent that is not the data folder is left alone
