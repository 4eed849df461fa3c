"""The catalog contract on a real PostgreSQL: a throwaway cluster from Debian's postgresql
(tests/postgres_cluster.py), one fresh database per test. Never skipped."""

from __future__ import annotations

import threading

import pytest

from kb.catalog import Catalog, open_catalog
from kb.catalog_backends import PostgresBackend, redact_url
from kb.errors import ConfigError, KBError
from kb.settings import load_settings
from tests.kb.catalog.contract import CatalogContract


class TestPostgresCatalog(CatalogContract):
    @pytest.fixture
    def open_catalog(self, postgres_cluster):
        databases: dict[str, str] = {}
        opened: list[Catalog] = []
        lock = threading.Lock()

        def factory(name: str = "main") -> Catalog:
            with lock:  # threads asking for the same name share one database
                if name not in databases:
                    databases[name] = postgres_cluster.fresh_database()
            cat = Catalog(backend=PostgresBackend(databases[name]))
            opened.append(cat)
            return cat

        yield factory
        for cat in opened:
            cat.close()


def test_open_catalog_picks_postgres_from_settings(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_CATALOG", "postgres")
    monkeypatch.setenv("KB_CATALOG_URL", postgres_url)
    cat = open_catalog(load_settings(kb_dir=tmp_path / "kb"))
    assert cat.dialect == "postgres" and cat.backend.dialect == "postgres"
    assert cat.documents() == []
    cat.close()


def test_the_service_uses_the_configured_catalog(postgres_url, tmp_path, monkeypatch):
    from kb.embedder import HashEmbedder
    from kb.service import KnowledgeBase

    monkeypatch.setenv("KB_CATALOG", "postgres")
    monkeypatch.setenv("KB_CATALOG_URL", postgres_url)
    with KnowledgeBase(load_settings(kb_dir=tmp_path / "kb"), embedder=HashEmbedder()) as kb:
        assert kb.catalog.dialect == "postgres"
        assert not (tmp_path / "kb" / "catalog.db").exists()


def test_catalog_settings_are_validated(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_CATALOG", "postgres")
    with pytest.raises(ConfigError, match="KB_CATALOG=postgres needs KB_CATALOG_URL"):
        load_settings(kb_dir=tmp_path)
    monkeypatch.setenv("KB_CATALOG", "sqlite")
    monkeypatch.setenv("KB_CATALOG_URL", "postgresql://kb:pw@db/kb")
    with pytest.raises(ConfigError, match="KB_CATALOG_URL is set but KB_CATALOG=sqlite"):
        open_catalog(load_settings(kb_dir=tmp_path))
    with pytest.raises(ConfigError, match="not a PostgreSQL URL") as err:
        PostgresBackend("mysql://kb:s3cret@db/kb")
    assert "s3cret" not in str(err.value)


def test_kb_settings_hides_the_catalog_url(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from kb.cli import app

    monkeypatch.setenv("KB_CATALOG", "postgres")
    monkeypatch.setenv("KB_CATALOG_URL", "postgresql://kb:s3cret@db/kb")
    monkeypatch.setenv("KB_DIR", str(tmp_path))
    out = CliRunner().invoke(app, ["settings"])
    assert out.exit_code == 0 and "s3cret" not in out.output
    assert any(line.startswith("catalog_url") and "***" in line for line in out.output.splitlines())


def test_connection_errors_never_show_the_password(postgres_cluster):
    url = f"postgresql://postgres:s3cret-pw@/no_such_db?host={postgres_cluster.socket_dir}"
    with pytest.raises(KBError) as err:
        PostgresBackend(url)
    assert "s3cret-pw" not in str(err.value)
    assert "Cannot connect to the PostgreSQL catalog" in str(err.value) and "no_such_db" in str(err.value)
    assert redact_url("postgresql://kb:pw@db:5432/kb") == "postgresql://kb:***@db:5432/kb"
    assert redact_url("postgresql://kb@db/kb") == "postgresql://kb@db/kb"


def test_reconnects_after_the_connection_drops(postgres_url):
    cat = Catalog(backend=PostgresBackend(postgres_url))
    cat.log_answer("before", True, "{}")
    cat.backend._conn.close()  # as if the server restarted
    cat.log_answer("after", True, "{}")
    assert [a["question"] for a in cat.answers()] == ["after", "before"]
    cat.close()


def test_survives_the_server_dropping_the_connection(postgres_url, postgres_cluster):
    """pg_terminate_backend is what a restart or failover looks like from the client."""
    import psycopg

    cat = Catalog(backend=PostgresBackend(postgres_url))
    cat.log_answer("first", True, "{}")

    def kill() -> None:
        pid = cat.backend._conn.info.backend_pid
        with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    kill()
    assert [a["question"] for a in cat.answers()] == ["first"]  # a read retries once
    kill()
    cat.log_answer("second", True, "{}")  # a write checks its connection first
    assert [a["question"] for a in cat.answers()] == ["second", "first"]
    cat.close()


def test_an_app_role_without_create_rights_can_use_a_migrated_catalog(postgres_cluster):
    """Least privilege: a migration role owns the schema; the app's role may only read and write rows."""
    import uuid

    import psycopg

    owner_url = postgres_cluster.fresh_database()
    schema = owner_url.rsplit("%3D", 1)[1]
    Catalog(backend=PostgresBackend(owner_url)).close()
    role = "app_" + uuid.uuid4().hex[:8]
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        admin.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}")
    app_url = owner_url.replace("postgresql://postgres@", f"postgresql://{role}@")
    cat = Catalog(backend=PostgresBackend(app_url))
    cat.log_answer("from the app role", True, "{}")
    assert cat.answers()[0]["question"] == "from the app role"
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with cat.transaction() as conn:
            conn.execute("CREATE TABLE not_allowed (x TEXT)")
    cat.close()


def test_backup_of_a_postgres_catalog_points_to_pg_dump(postgres_url, tmp_path):
    cat = Catalog(backend=PostgresBackend(postgres_url))
    with pytest.raises(ConfigError, match="pg_dump"):
        cat.backup(tmp_path / "copy.db")
    cat.close()


def test_ingest_curate_and_ask_on_a_postgres_catalog(postgres_url, tmp_path, monkeypatch):
    """The whole pipeline on the PostgreSQL catalog: ingest, re-ingest a change, errors, retire, ask."""
    import shutil

    from ingest.pipeline import ingest_paths
    from kb.curation import retire_document
    from kb.embedder import HashEmbedder
    from kb.service import KnowledgeBase
    from tests.conftest import CORPUS

    src = tmp_path / "docs"
    src.mkdir()
    for name in ("lone-working-policy-2024.md", "post-incident-support-protocol-2023.md"):
        shutil.copy(CORPUS / "violence-aggression" / name, src / name)
    (src / "empty.txt").write_text("")
    monkeypatch.setenv("KB_CATALOG", "postgres")
    monkeypatch.setenv("KB_CATALOG_URL", postgres_url)
    with KnowledgeBase(load_settings(kb_dir=tmp_path / "kb"), embedder=HashEmbedder()) as kb:
        first = ingest_paths(kb, [src])
        assert first.added == 2 and len(first.failed) == 1
        assert [e["path"] for e in kb.catalog.errors()] == [str((src / "empty.txt").resolve())]
        note = src / "lone-working-policy-2024.md"
        note.write_text(note.read_text() + "\n\nCheck in every two hours when working alone at night.\n")
        assert ingest_paths(kb, [src]).updated == 1
        doc = kb.catalog.by_source_path(str(note.resolve()))
        assert len(kb.catalog.versions(doc.doc_id)) == 2
        assert len(kb.chunks(doc.doc_id)) == doc.chunk_count > 0
        answer = kb.ask("How often should lone workers check in at night?")
        assert answer.citations and answer.citations[0].doc_id == doc.doc_id
        retire_document(kb, doc.doc_id)
        assert kb.catalog.get(doc.doc_id).status.value == "withdrawn"
        assert all(h.chunk.doc_id != doc.doc_id for h in kb.search("lone workers check in night"))
        assert [r["summary"] is not None for r in kb.catalog.runs()] == [True, True]
    assert not (tmp_path / "kb" / "catalog.db").exists()
