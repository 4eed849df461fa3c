"""Shared fixtures: the real embedding model (loaded once), knowledge bases in tmp dirs,
and the path of the third-party data in ../shared/data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kb  # noqa: F401  (offline environment first)

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (CI always has it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder():
    from kb.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture
def make_kb(tmp_path, embedder):
    """Factory: a KnowledgeBase in its own tmp dir, sharing the loaded model."""
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    opened = []

    def factory(name: str = "kb", **overrides):
        kb_ = KnowledgeBase(load_settings(kb_dir=tmp_path / name, **overrides), embedder=embedder)
        opened.append(kb_)
        return kb_

    yield factory
    for k in opened:
        try:
            k.close()
        except Exception:
            pass


@pytest.fixture(scope="session")
def corpus_kb(tmp_path_factory, embedder):
    """The whole bundled corpus ingested once per test session (read-only use)."""
    from ingest.pipeline import ingest_paths
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    root = tmp_path_factory.mktemp("corpus_kb")
    kb_ = KnowledgeBase(load_settings(kb_dir=root / "kb"), embedder=embedder)
    report = ingest_paths(kb_, [CORPUS])
    kb_.ingest_report = report
    yield kb_
    kb_.close()


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of a few corpus folders, for tests that change files."""
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS / "violence-aggression", dst / "violence-aggression")
    return dst


# A throwaway PostgreSQL cluster (Debian's postgresql) for the catalog and migrate tests.
from tests.postgres_cluster import postgres_cluster, postgres_url  # noqa: E402, F401
