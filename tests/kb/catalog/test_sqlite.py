"""The catalog contract on SQLite, plus what only the embedded file has: durability and upgrades."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from kb.catalog import MIGRATIONS, Catalog
from tests.kb.catalog.contract import CatalogContract

FIXTURES = Path(__file__).parent / "fixtures"


class TestSQLiteCatalog(CatalogContract):
    @pytest.fixture
    def open_catalog(self, tmp_path):
        opened: list[Catalog] = []

        def factory(name: str = "main") -> Catalog:
            cat = Catalog(tmp_path / name / "catalog.db")
            opened.append(cat)
            return cat

        yield factory
        for cat in opened:
            cat.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_wal_and_synchronous_full(tmp_path):
    cat = Catalog(tmp_path / "catalog.db")
    assert cat.backend.pragma("journal_mode") == "wal"
    assert cat.backend.pragma("synchronous") == 2  # FULL
    assert cat.backend.pragma("busy_timeout") == 10_000
    cat.close()


def test_catalog_files_are_private(tmp_path):
    cat = Catalog(tmp_path / "kb" / "catalog.db")
    cat.log_answer("q", True, "{}")
    kb_dir = tmp_path / "kb"
    assert _mode(kb_dir) == 0o700
    files = sorted(kb_dir.iterdir())
    assert {p.name for p in files} >= {"catalog.db", "catalog.db-wal", "catalog.db-shm"}
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    cat.close()


def test_loose_modes_on_an_old_knowledge_base_are_tightened(tmp_path):
    from kb.catalog import open_catalog
    from kb.settings import load_settings

    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    Catalog(kb_dir / "catalog.db").close()
    kb_dir.chmod(0o755)
    (kb_dir / "catalog.db").chmod(0o644)
    Catalog(kb_dir / "catalog.db").close()
    assert _mode(kb_dir / "catalog.db") == 0o600  # the catalog's own files: always
    assert _mode(kb_dir) == 0o755  # a folder given only as a file's parent is left alone
    open_catalog(load_settings(kb_dir=kb_dir)).close()
    assert _mode(kb_dir) == 0o700 and _mode(kb_dir / "qdrant") == 0o700  # the data folder: tightened


def test_a_main_branch_catalog_upgrades_in_place(tmp_path):
    """catalog_v0.sql is a dump of a catalog written by the code on main before migrations
    existed (no schema_migrations, rows ordered only by rowid, several within one second)."""
    path = tmp_path / "catalog.db"
    old = sqlite3.connect(path)
    old.executescript((FIXTURES / "catalog_v0.sql").read_text(encoding="utf-8"))
    before = {t: old.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in (
        "documents", "versions", "ingest_runs", "ingest_errors", "answers", "feedback", "events")}
    old.close()

    cat = Catalog(path)
    assert cat.schema_version() == MIGRATIONS[-1].version
    counts = cat.row_counts()
    assert {t: counts[t] for t in before} == {t: len(rows) for t, rows in before.items()}
    assert set(counts) - set(before) >= {"audit_answers", "audit_events"}  # later tables appear, empty
    assert all(counts[t] == 0 for t in set(counts) - set(before))
    for table, rows in before.items():
        exported = cat._query(f"SELECT * FROM {table} ORDER BY seq" if table not in ("documents", "versions")
                              else f"SELECT * FROM {table}")
        assert sorted(tuple(v for k, v in r.items() if k != "seq") for r in exported) == sorted(rows)
    # rowid order survives as seq: newest first, even for events in the same second
    assert [e["detail"] for e in cat.events("hepb")] == [r[3] for r in reversed(before["events"]) if r[1] == "hepb"]
    assert [r["run_id"] for r in cat.runs()] == [r[0] for r in reversed(before["ingest_runs"])]
    assert cat.get("hepb").version == "v2"
    assert [v["version"] for v in cat.versions("hepb")] == ["v1", "v2"]
    assert [e["path"] for e in cat.errors()] == ["/lib/empty.txt"]  # the run finished last
    assert [f["question"] for f in cat.feedback()] == ["Second", "When is PEP started?"]
    assert cat.feedback()[1]["chunk_ids"] == ["hepb:v2:0"]
    # and it keeps working: new rows go after the old ones
    cat.put(cat.get("pep"), "metadata", "after upgrade")
    assert cat.events()[0]["detail"] == "after upgrade"
    cat.close()
    assert Catalog(path).schema_version() == MIGRATIONS[-1].version


def test_a_newer_catalog_is_refused(tmp_path):
    path = tmp_path / "catalog.db"
    Catalog(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', '2030-01-01')")
    conn.commit()
    conn.close()
    from kb.errors import KBError

    with pytest.raises(KBError, match="schema version 999, newer than this program knows"):
        Catalog(path)


def test_a_corrupt_catalog_file_is_a_clear_error(tmp_path):
    path = tmp_path / "catalog.db"
    path.write_bytes(b"this is not a database" * 100)
    from kb.errors import KBError

    with pytest.raises(KBError, match="catalog.db"):
        Catalog(path)


def test_an_up_to_date_catalog_opens_without_writing(tmp_path):
    from kb.catalog_backends import SQLiteBackend

    Catalog(tmp_path / "catalog.db").close()

    class NoWrites(SQLiteBackend):
        def transaction(self):
            raise AssertionError("opening an up-to-date catalog must not write")

    cat = Catalog(backend=NoWrites(tmp_path / "catalog.db"))
    assert cat.schema_version() == MIGRATIONS[-1].version
    cat.close()


def test_a_table_added_to_the_schema_later_is_created_on_an_existing_catalog(tmp_path, monkeypatch):
    import kb.catalog

    Catalog(tmp_path / "catalog.db").close()
    monkeypatch.setattr(kb.catalog, "_SCHEMA", kb.catalog._SCHEMA + "\nCREATE TABLE IF NOT EXISTS api_keys (key_id TEXT PRIMARY KEY);\n")
    cat = Catalog(tmp_path / "catalog.db")
    assert "api_keys" in cat.tables()
    cat.close()


def test_backup_is_a_consistent_private_copy(tmp_path):
    from tests.kb.catalog.contract import doc

    cat = Catalog(tmp_path / "kb" / "catalog.db")
    cat.put(doc("hepb"), "ingest")
    cat.log_answer("q", True, "{}")
    cat.backup(tmp_path / "copy.db")
    copy = Catalog(tmp_path / "copy.db")
    assert copy.row_counts() == cat.row_counts() and copy.get("hepb") == cat.get("hepb")
    assert _mode(tmp_path / "copy.db") == 0o600
    assert sqlite3.connect(tmp_path / "copy.db").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copy.close()
    cat.close()
