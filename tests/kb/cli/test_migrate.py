"""`kb migrate --to server`: an embedded knowledge base (Edge shard + SQLite catalog) copied to a
"server" and a real PostgreSQL catalog, then checked independently of the command's own report.

The Qdrant side is qdrant-client's local mode (no Qdrant server binary runs here); the
PostgreSQL side is the real throwaway cluster from tests/postgres_cluster.py.
A small KB of the corpus's Markdown and text files is ingested with the fast HashEmbedder.
"""

from __future__ import annotations

import json
import shutil

import pytest
from qdrant_client import QdrantClient
from typer.testing import CliRunner

from kb.catalog import Catalog
from kb.catalog_backends import PostgresBackend
from kb.cli import app
from kb.embedder import HashEmbedder
from kb.errors import KBError
from kb.server_migration import migrate_to_server
from kb.service import KnowledgeBase
from kb.settings import load_settings
from kb.store.server import ServerStore
from tests.conftest import CORPUS

QUESTIONS = [
    "How often must lone workers check in?",
    "Who reviews a violence risk assessment?",
    "What support is offered after a violent incident?",
    "How do I report an incident?",
    "What is the capital of France?",  # refused on both sides: no citations either way
]


@pytest.fixture(scope="module")
def embedded_kb(tmp_path_factory):
    """An ingested embedded KB (closed, so its shard can be read), with a superseded document,
    an updated document (two versions) and some catalog history."""
    from ingest.pipeline import ingest_paths

    root = tmp_path_factory.mktemp("embedded")
    src = root / "docs"
    src.mkdir()
    for f in (CORPUS / "violence-aggression").iterdir():
        if f.suffix in (".md", ".txt", ".yaml"):
            shutil.copy(f, src / f.name)
    settings = load_settings(kb_dir=root / "kb")
    with KnowledgeBase(settings, embedder=HashEmbedder()) as kb:
        first = ingest_paths(kb, [src])
        assert first.added >= 4 and not first.failed
        note = src / "post-incident-support-protocol-2023.md"
        note.write_text(note.read_text() + "\n\nDebriefs are offered within 72 hours.\n")
        assert ingest_paths(kb, [src]).updated == 1
        kb.catalog.add_feedback("q", "a", ["c"], 1, answer_id=kb.catalog.log_answer("q", True, "{}"))
    return settings


def _target(tmp_path, postgres_url):
    store = ServerStore(None, "oh_kb", 64, client=QdrantClient(path=str(tmp_path / "qdrant-local")))
    return store, Catalog(backend=PostgresBackend(postgres_url))


def test_migrate_copies_and_the_server_kb_answers_the_same(embedded_kb, tmp_path, postgres_url):
    store, catalog = _target(tmp_path, postgres_url)
    stages = set()
    report = migrate_to_server(
        embedded_kb, HashEmbedder(), store, catalog, questions=QUESTIONS,
        progress=lambda stage, done, total, detail: stages.add(stage),
    )
    assert report.ok, report.problems
    assert stages == {"points", "catalog", "verify", "ask"}
    assert report.points_copied > 0 and store.count() == report.points_copied
    assert all(d.ok for d in report.documents) and len(report.documents) >= 4
    assert [q.question for q in report.questions] == QUESTIONS
    assert any(q.source for q in report.questions)  # real citations were compared, not only refusals
    assert all(len(q.source_hits) == 5 and set(q.source_hits) == set(q.target_hits) for q in report.questions)

    # Independently of the report: open both sides as knowledge bases and compare.
    with KnowledgeBase(embedded_kb, embedder=HashEmbedder()) as source:
        target = KnowledgeBase(embedded_kb, embedder=HashEmbedder(), store=store, catalog=catalog)
        assert catalog.dialect == "postgres"
        assert catalog.row_counts() == source.catalog.row_counts()
        assert catalog.documents() == source.catalog.documents()
        assert catalog.events() == source.catalog.events() and catalog.feedback() == source.catalog.feedback()
        for doc in source.catalog.documents():
            assert catalog.versions(doc.doc_id) == source.catalog.versions(doc.doc_id)
            assert [c.chunk_id for c in target.chunks(doc.doc_id)] == [c.chunk_id for c in source.chunks(doc.doc_id)]
        for q in QUESTIONS:
            a, b = source.ask(q), target.ask(q)
            assert [(c.doc_id, c.version, c.chunk_id, c.quote) for c in a.citations] == [
                (c.doc_id, c.version, c.chunk_id, c.quote) for c in b.citations
            ]
            assert a.answerable == b.answerable
        assert {d.status.value for d in catalog.documents()} >= {"current", "superseded"}
    # the source was not changed: no answer was logged by the verification
    assert Catalog(embedded_kb.catalog_path).row_counts()["answers"] == 1
    store.close()
    catalog.close()


def test_a_non_empty_target_is_refused_unless_replaced(embedded_kb, tmp_path, postgres_url):
    store, catalog = _target(tmp_path, postgres_url)
    first = migrate_to_server(embedded_kb, HashEmbedder(), store, catalog, questions=[])
    with pytest.raises(KBError, match="The target is not empty"):
        migrate_to_server(embedded_kb, HashEmbedder(), store, catalog, questions=[])
    again = migrate_to_server(embedded_kb, HashEmbedder(), store, catalog, questions=None, sample=3, replace=True)
    assert again.ok and again.points_copied == first.points_copied == store.count()
    assert len(again.questions) == 3  # sampled from the document titles
    assert catalog.row_counts() == {t: v["source"] for t, v in first.contract()["tables"].items()}
    store.close()
    catalog.close()


def test_the_verification_catches_a_lossy_copy(embedded_kb, tmp_path, postgres_url):
    """A target that silently drops one document's points must fail the verification."""

    class LossyStore(ServerStore):
        def upsert(self, points):
            super().upsert([p for p in points if p.payload["doc_id"] != "lone-working-policy-2024"])

    store = LossyStore(None, "oh_kb", 64, client=QdrantClient(location=":memory:"))
    catalog = Catalog(backend=PostgresBackend(postgres_url))
    report = migrate_to_server(embedded_kb, HashEmbedder(), store, catalog, questions=QUESTIONS[:1])
    assert not report.ok
    lost = [d for d in report.documents if not d.ok]
    assert [d.doc_id for d in lost] == ["lone-working-policy-2024"] and lost[0].target_points == 0
    assert any("lone-working-policy-2024:" in p for p in report.problems)
    assert any(p.startswith("store:") for p in report.problems)
    assert not report.questions[0].ok  # the lone-working question cites the lost document
    store.close()
    catalog.close()


def test_kb_migrate_cli_json(embedded_kb, tmp_path, postgres_url, monkeypatch):
    import kb.embedder

    monkeypatch.setattr(kb.embedder, "open_embedder", lambda settings: HashEmbedder())
    created: list[dict] = []
    real_create = QdrantClient.create_collection

    def spy_create(self, name, **kwargs):
        created.append(kwargs)
        return real_create(self, name, **kwargs)

    monkeypatch.setattr(QdrantClient, "create_collection", spy_create)
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps({"id": i, "question": q}) for i, q in enumerate(QUESTIONS[:2])))
    args = ["migrate", "--to", "server", "--kb-dir", str(embedded_kb.kb_dir), "--qdrant-path",
            str(tmp_path / "q"), "--catalog-url", postgres_url, "--questions", str(questions), "--json"]
    cluster = ["--shards", "6", "--replication-factor", "2", "--write-consistency-factor", "2"]
    result = CliRunner().invoke(app, [*args[:-1], *cluster, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["ok"] is True and out["problems"] == []
    assert out["points_copied"] > 0 and out["tables"]["documents"]["source"] == out["tables"]["documents"]["target"]
    assert [q["same"] for q in out["questions"]] == [True, True]
    assert all(q["source_hits"] and set(q["source_hits"]) == set(q["target_hits"]) for q in out["questions"])
    assert all(d["ok"] for d in out["documents"])
    # the cluster parameters reach create_collection (local mode accepts and ignores them)
    assert [{k: c[k] for k in ("shard_number", "replication_factor", "write_consistency_factor")} for c in created] == [
        {"shard_number": 6, "replication_factor": 2, "write_consistency_factor": 2}
    ]

    human = CliRunner().invoke(app, [*args[:-1], "--replace"])
    assert human.exit_code == 0, human.output
    assert "OK: the server copy matches the embedded knowledge base." in human.stdout
    assert "questions: 2/2 cite the same passages" in human.stdout


def test_kb_migrate_usage_errors(embedded_kb, tmp_path):
    runner = CliRunner()
    base = ["migrate", "--kb-dir", str(embedded_kb.kb_dir)]
    no_catalog = runner.invoke(app, [*base, "--qdrant-path", str(tmp_path / "q")])
    assert no_catalog.exit_code == 2 and "--catalog-url" in no_catalog.output
    no_store = runner.invoke(app, [*base, "--catalog-url", "postgresql://kb:pw@localhost/kb"])
    assert no_store.exit_code == 2 and "--qdrant-url" in no_store.output
    wrong = runner.invoke(app, [*base, "--to", "cloud"])
    assert wrong.exit_code == 2 and "only target is 'server'" in wrong.output
    empty = runner.invoke(app, ["migrate", "--kb-dir", str(tmp_path / "none"), "--qdrant-path", str(tmp_path / "q"),
                                "--catalog-url", "postgresql://kb:s3cret@localhost/kb"])
    assert empty.exit_code == 2 and "no embedded store here" in empty.output and "s3cret" not in empty.output
