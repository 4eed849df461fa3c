"""Fixtures for the access and audit tests: a two-document KB (members + public) on each backend."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from kb.embedder import HashEmbedder
from kb.service import KnowledgeBase
from kb.settings import load_settings
from kb.store.edge import EdgeStore
from kb.store.server import ServerStore

SECRET_TEXT = (
    "# Needlestick injuries for staff\n\n## What to do\n\n"
    "After a needlestick injury wash the wound under running water and report the needlestick injury "
    "to occupational health the same day so that post-exposure prophylaxis can start within one hour.\n"
)
PUBLIC_TEXT = (
    "# Visitor leaflet\n\n## Needlestick injury advice for visitors\n\n"
    "Visitors who have a needlestick injury should tell the ward staff, who will arrange advice.\n"
)
QUESTION = "What should staff do after a needlestick injury?"


class SpyStore:
    """Wraps a real store and records the filter of every query and scroll."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.filters: list = []

    def query(self, using, vector, limit, where=None):
        self.filters.append(where)
        return self.inner.query(using, vector, limit, where)

    def scroll(self, where=None):
        self.filters.append(where)
        return self.inner.scroll(where)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _corpus(root: Path) -> Path:
    folder = root / "docs"
    folder.mkdir()
    (folder / "needlestick-staff.md").write_text(SECRET_TEXT, encoding="utf-8")
    (folder / "visitor-leaflet.md").write_text(PUBLIC_TEXT, encoding="utf-8")
    (folder / "manifest.yaml").write_text(
        "defaults:\n  audience: members\ndocuments:\n"
        "  needlestick-staff.md:\n    doc_id: staff-only\n    doc_type: guideline\n"
        "  visitor-leaflet.md:\n    doc_id: public-leaflet\n    audience: public\n",
        encoding="utf-8",
    )
    return folder


def _open(backend: str, root: Path):
    from ingest.pipeline import ingest_paths

    emb = HashEmbedder(64)
    inner = (EdgeStore(root / "kb" / "qdrant", emb.dim) if backend == "edge"
             else ServerStore(None, "access", emb.dim, client=QdrantClient(location=":memory:")))
    store = SpyStore(inner)
    kb_ = KnowledgeBase(load_settings(kb_dir=root / "kb", answer_threshold=0.0, refusal="threshold"), embedder=emb, store=store)
    report = ingest_paths(kb_, [_corpus(root)])
    assert report.added == 2, report.failed
    assert {d.audience for d in kb_.documents()} == {"members", "public"}
    return kb_


@pytest.fixture(params=["edge", "server"], scope="module")
def access_kb(request, tmp_path_factory):
    """A members-only and a public document, on the Edge or the server backend."""
    kb_ = _open(request.param, tmp_path_factory.mktemp(f"access_{request.param}"))
    yield kb_
    kb_.close()


@pytest.fixture(scope="session")
def _edge_template(tmp_path_factory) -> Path:
    """The two documents ingested once into an Edge KB, then closed (copied per test)."""
    root = tmp_path_factory.mktemp("access_template")
    _open("edge", root).close()
    return root / "kb"


@pytest.fixture
def edge_kb(tmp_path, _edge_template):
    """A fresh Edge KB with the same two documents (a copy: tests may change it)."""
    shutil.copytree(_edge_template, tmp_path / "kb")
    emb = HashEmbedder(64)
    kb_ = KnowledgeBase(load_settings(kb_dir=tmp_path / "kb", answer_threshold=0.0, refusal="threshold"), embedder=emb,
                        store=SpyStore(EdgeStore(tmp_path / "kb" / "qdrant", emb.dim)))
    yield kb_
    kb_.close()
