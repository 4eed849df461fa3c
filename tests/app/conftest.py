"""Fixtures for the app tests: a real small knowledge base (real loaders, real embedder)."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import build_kb, write_config


@pytest.fixture(scope="session")
def app_kb(tmp_path_factory) -> tuple[Path, Path]:
    """(kb_dir, kb.toml) of a small real KB shared by the AppTest tests."""
    kb_dir = tmp_path_factory.mktemp("app_kb")
    config = write_config(tmp_path_factory.mktemp("app_cfg") / "kb.toml")
    build_kb(kb_dir)
    return kb_dir, config


@pytest.fixture
def app_env(app_kb, monkeypatch) -> Path:
    kb_dir, config = app_kb
    monkeypatch.setenv("KB_DIR", str(kb_dir))
    monkeypatch.setenv("KB_CONFIG", str(config))
    for var in ("KB_CURATORS", "KB_MEMBERS", "KB_REQUIRE_LOGIN", "KB_DEMO_CURATOR", "KB_APP_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    from shared import get_kb

    get_kb()  # the page opens the KB in the background; wait for it here, once per process
    return kb_dir
