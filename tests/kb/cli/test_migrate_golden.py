"""Migrate the whole bundled corpus (real model) to a "server" and the real PostgreSQL, then the
golden questions cite the same passages on both sides. The Qdrant side is qdrant-client's local
mode (no Qdrant server binary runs here). Every 20th golden question (6 of 113) keeps this short
on top of the shared `corpus_kb` fixture; a run with every 4th (29) also matched on all of them."""

from __future__ import annotations

import shutil

import pytest
from qdrant_client import QdrantClient

from evals.golden import load_cases
from kb.catalog import Catalog
from kb.catalog_backends import PostgresBackend
from kb.server_migration import migrate_to_server
from kb.settings import load_settings
from kb.store.server import ServerStore


@pytest.mark.slow
def test_golden_questions_cite_the_same_after_migrating_the_corpus(corpus_kb, embedder, tmp_path, postgres_url):
    # A copy of the session's corpus KB (which keeps its store open): the catalog through the
    # SQLite backup API, the shard's files as they are (nothing writes to it any more).
    kb_dir = tmp_path / "kb"
    shutil.copytree(corpus_kb.settings.shard_path, kb_dir / "qdrant", ignore=shutil.ignore_patterns("*.lock"))
    corpus_kb.catalog.backup(kb_dir / "catalog.db")
    questions = [c.question for c in load_cases()][::20]

    store = ServerStore(None, "oh_kb", embedder.dim, client=QdrantClient(location=":memory:"))
    catalog = Catalog(backend=PostgresBackend(postgres_url))
    report = migrate_to_server(load_settings(kb_dir=kb_dir), embedder, store, catalog, questions=questions)
    assert report.ok, report.problems
    assert report.points_copied == corpus_kb.store.count() == store.count()
    assert len(report.documents) == len(corpus_kb.catalog.documents())
    assert len(report.questions) == len(questions) == 6
    assert any(q.source for q in report.questions)  # real citations compared, not only refusals
    assert all(q.source == q.target for q in report.questions)
    store.close()
    catalog.close()
