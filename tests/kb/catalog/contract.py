"""Contract tests for every catalog backend (like tests/kb/store/contract.py).

A backend's test module subclasses `CatalogContract` and provides `open_catalog`: a
factory `open_catalog(name="main") -> Catalog` that opens the same database every
time it is called with the same name. Every public `Catalog` method is covered here.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import psycopg
import pytest

from kb.catalog import MIGRATIONS, Catalog
from kb.records import DocStatus, Document


def doc(doc_id: str, version: str = "v1", **fields) -> Document:
    base = {
        "doc_id": doc_id,
        "title": f"Title of {doc_id}",
        "source_path": f"/lib/{doc_id}.pdf",
        "version": version,
        "ingested_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "chunk_count": 3,
        "page_count": 2,
    }
    base.update(fields)
    return Document(**base)


class CatalogContract:
    @pytest.fixture
    def open_catalog(self):  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    @pytest.fixture
    def catalog(self, open_catalog) -> Catalog:
        return open_catalog()

    # ------------------------------------------------------------ schema

    def test_new_catalog_is_at_the_latest_migration(self, catalog):
        assert catalog.schema_version() == MIGRATIONS[-1].version
        assert [m["version"] for m in catalog.migrations()] == [m.version for m in MIGRATIONS]
        assert all(m["name"] and m["applied_at"] for m in catalog.migrations())

    def test_reopening_applies_nothing_twice_and_keeps_data(self, open_catalog):
        first = open_catalog("again")
        first.put(doc("hepb"), "ingest")
        applied = first.migrations()
        first.close()
        second = open_catalog("again")
        assert second.migrations() == applied
        assert second.get("hepb") == doc("hepb")

    def test_replicas_opening_a_new_catalog_at_once_migrate_it_once(self, open_catalog):
        opened: list[Catalog] = []
        errors: list[BaseException] = []

        def open_one() -> None:
            try:
                opened.append(open_catalog("race"))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(opened) == 3
        assert [m["version"] for m in opened[0].migrations()] == [m.version for m in MIGRATIONS]

    def test_tables(self, catalog):
        assert {"documents", "versions", "ingest_runs", "ingest_errors", "answers", "feedback", "events"} <= set(
            catalog.tables()
        )
        assert "schema_migrations" not in catalog.tables()

    # ------------------------------------------------------------ documents

    def test_put_and_get(self, catalog):
        d = doc("hepb", topics=["hepatitis-b"], published=dt.date(2024, 3, 1))
        catalog.put(d, "ingest", "/lib/hepb.pdf")
        assert catalog.get("hepb") == d
        assert catalog.get("missing") is None

    def test_documents_sorted_by_id_bytewise_and_filtered(self, catalog):
        # Upper case, digits and punctuation: a PostgreSQL collation would order these differently.
        ids = ["b-2", "B_1", "a.3", "Z", "a-1", "a_1", "10"]
        for i in ids:
            catalog.put(doc(i, status=DocStatus.withdrawn if i == "Z" else DocStatus.current), "ingest")
        assert [d.doc_id for d in catalog.documents()] == sorted(ids)
        assert [d.doc_id for d in catalog.documents(["withdrawn"])] == ["Z"]
        assert [d.doc_id for d in catalog.documents([])] == []

    def test_by_source_path(self, catalog):
        catalog.put(doc("pep", source_path="/lib/hiv/pep 50%.pdf"), "ingest")
        assert catalog.by_source_path("/lib/hiv/pep 50%.pdf").doc_id == "pep"
        assert catalog.by_source_path("/lib/none.pdf") is None

    def test_live_versions(self, catalog):
        catalog.put(doc("a", "v1"), "ingest")
        catalog.put(doc("b", "v7", status=DocStatus.superseded), "ingest")
        assert catalog.live_versions(["a", "b", "zzz", "a"]) == {"a": ("v1", "current"), "b": ("v7", "superseded")}
        assert catalog.live_versions([]) == {}

    def test_new_version_replaces_the_old_one_in_history(self, catalog):
        catalog.put(doc("hepb", "v1", ingested_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)), "ingest")
        catalog.put(doc("hepb", "v2", ingested_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), chunk_count=5), "update")
        assert catalog.get("hepb").version == "v2"
        versions = catalog.versions("hepb")
        assert [v["version"] for v in versions] == ["v1", "v2"]
        assert versions[0]["replaced_at"] is not None and versions[1]["replaced_at"] is None
        assert versions[1]["chunk_count"] == 5 and versions[1]["page_count"] == 2
        assert set(versions[0]) == {"version", "source_path", "ingested_at", "chunk_count", "page_count", "replaced_at"}
        # re-putting an old version makes it live again and clears its replaced_at
        catalog.put(doc("hepb", "v1"), "restore")
        assert [v["replaced_at"] is None for v in catalog.versions("hepb")] == [True, False]
        assert catalog.versions("nothing") == []

    def test_set_status(self, catalog):
        catalog.put(doc("old"), "ingest")
        updated = catalog.set_status("old", DocStatus.superseded, superseded_by="new", detail="by curator")
        assert updated.status == DocStatus.superseded and updated.superseded_by == "new"
        assert catalog.get("old") == updated
        assert catalog.live_versions(["old"]) == {"old": ("v1", "superseded")}
        assert catalog.events("old")[0] == {
            "at": catalog.events("old")[0]["at"], "doc_id": "old", "action": "status:superseded", "detail": "by curator"
        }
        with pytest.raises(KeyError):
            catalog.set_status("missing", DocStatus.withdrawn)

    def test_events_newest_first_even_within_one_second(self, catalog):
        for i in range(5):
            catalog.put(doc("a", f"v{i}"), "ingest", f"step {i}")
        catalog.put(doc("b"), "ingest", "other")
        assert [e["detail"] for e in catalog.events("a")] == [f"step {i}" for i in range(4, -1, -1)]
        assert [e["detail"] for e in catalog.events(limit=2)] == ["other", "step 4"]
        assert set(catalog.events()[0]) == {"at", "doc_id", "action", "detail"}

    # ------------------------------------------------------------ ingest runs

    def test_runs_and_errors(self, catalog):
        assert catalog.errors() == []
        first = catalog.start_run(["/lib"])
        catalog.add_error(first, "/lib/z.pdf", "corrupt PDF")
        catalog.add_error(first, "/lib/a.pdf", "empty file")
        catalog.add_error(first, "/lib/a.pdf", "second problem")
        catalog.finish_run(first, {"added": 2, "failed": 2})
        unfinished = catalog.start_run(["/other"])
        catalog.add_error(unfinished, "/other/x.txt", "binary data")
        runs = catalog.runs()
        assert [r["run_id"] for r in runs] == [unfinished, first]
        assert runs[1]["paths"] == ["/lib"] and runs[1]["summary"] == {"added": 2, "failed": 2}
        assert runs[0]["summary"] is None and runs[0]["finished_at"] is None
        assert set(runs[0]) == {"run_id", "started_at", "finished_at", "paths", "summary"}
        assert catalog.runs(limit=1)[0]["run_id"] == unfinished
        # latest *finished* run, by path, then in the order written
        assert [(e["path"], e["error"]) for e in catalog.errors()] == [
            ("/lib/a.pdf", "empty file"), ("/lib/a.pdf", "second problem"), ("/lib/z.pdf", "corrupt PDF")
        ]
        assert [e["error"] for e in catalog.errors(unfinished)] == ["binary data"]
        assert set(catalog.errors()[0]) == {"run_id", "path", "error", "at"}

    # ------------------------------------------------------------ audit and feedback

    def test_answer_log(self, catalog):
        first = catalog.log_answer("When is PEP started?", True, '{"answer": "within 72 hours"}')
        second = catalog.log_answer("What is the moon made of?", False, "{}")
        log = catalog.answers()
        assert [a["answer_id"] for a in log] == [second, first]
        assert log[1]["answerable"] is True and log[0]["answerable"] is False
        assert log[1]["record"] == '{"answer": "within 72 hours"}'
        assert catalog.answers(limit=1)[0]["answer_id"] == second

    def test_feedback(self, catalog):
        answer_id = catalog.log_answer("q", True, "{}")
        a = catalog.add_feedback("q1", "a1", ["c1", "c2"], 1, "useful", answer_id=answer_id)
        b = catalog.add_feedback("q2", "a2", [], -1)
        rows = catalog.feedback()
        assert [r["feedback_id"] for r in rows] == [b, a]
        assert rows[1]["chunk_ids"] == ["c1", "c2"] and rows[1]["rating"] == 1
        assert rows[1]["comment"] == "useful" and rows[1]["answer_id"] == answer_id
        assert rows[0]["answer_id"] is None
        assert len(catalog.feedback(limit=1)) == 1
        with pytest.raises(ValueError, match="rating must be 1"):
            catalog.add_feedback("q", "a", [], 5)

    # ------------------------------------------------------------ transactions

    def test_a_failed_transaction_leaves_nothing(self, catalog):
        with pytest.raises(RuntimeError):
            with catalog.transaction() as conn:
                conn.execute(
                    "INSERT INTO events (seq, at, doc_id, action, detail) VALUES (?, ?, ?, ?, ?)",
                    (99, "2026-01-01", "x", "ingest", ""),
                )
                raise RuntimeError("crash between writes")
        assert catalog.events() == []

    def test_sql_written_for_sqlite_runs_here(self, catalog):
        """What a developer adding a method writes: `?`, a literal %, positional and named access."""
        catalog.put(doc("pct"), "ingest", "100% done")
        row = catalog._query("SELECT detail, doc_id FROM events WHERE detail LIKE '100%' AND doc_id = ?", ("pct",))[0]
        assert row[0] == "100% done" and row["doc_id"] == "pct" and dict(row) == {"detail": "100% done", "doc_id": "pct"}
        with catalog.transaction() as conn:
            assert conn.execute("SELECT COUNT(*) AS n FROM documents").fetchone()["n"] == 1
            assert conn.execute("UPDATE documents SET status = ? WHERE doc_id = ?", ("current", "pct")).rowcount == 1

    def test_concurrent_writers_are_serialised(self, open_catalog):
        one, two = open_catalog("shared"), open_catalog("shared")
        errors: list[BaseException] = []

        def write(cat: Catalog, name: str) -> None:
            try:
                for i in range(15):
                    cat.put(doc(f"{name}{i}"), "ingest")
                    cat.log_answer(f"{name}{i}", True, "{}")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(c, n)) for c, n in ((one, "x"), (two, "y"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(one.documents()) == 30 and len(one.events(limit=100)) == 30 and len(two.answers()) == 30

    # ------------------------------------------------------------ copying

    def test_export_and_import_rows_copy_a_catalog(self, open_catalog):
        src, dst = open_catalog("src"), open_catalog("dst")
        src.put(doc("hepb", "v1"), "ingest")
        src.put(doc("hepb", "v2"), "update")
        run = src.start_run(["/lib"])
        src.add_error(run, "/lib/x.pdf", "corrupt PDF")
        src.finish_run(run, {"added": 1})
        src.add_feedback("q", "a", ["c"], 1, answer_id=src.log_answer("q", True, "{}"))
        for table in src.tables():
            dst.import_rows(table, src.export_rows(table))
        assert dst.row_counts() == src.row_counts()
        assert dst.row_counts()["versions"] == 2
        assert dst.get("hepb") == src.get("hepb")
        assert dst.events() == src.events() and dst.runs() == src.runs() and dst.errors() == src.errors()
        assert dst.feedback() == src.feedback() and dst.answers() == src.answers()
        dst.put(doc("next"), "ingest")  # sequences continue after the copied rows
        assert dst.events()[0]["doc_id"] == "next"
        with pytest.raises(KeyError):
            src.export_rows("no_such_table")
        dst.import_rows("events", [])

    def test_copy_from_is_all_or_nothing_and_can_replace(self, open_catalog):
        src, dst = open_catalog("copy-src"), open_catalog("copy-dst")
        src.put(doc("a"), "ingest")
        src.put(doc("b"), "ingest")
        src.log_answer("q", True, "{}")
        copied = dst.copy_from(src)
        assert copied["documents"] == 2 and copied["events"] == 2 and copied["answers"] == 1
        assert dst.documents() == src.documents()
        # a second copy without replace collides on the primary keys and changes nothing
        with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
            dst.copy_from(src)
        assert dst.row_counts() == src.row_counts()
        src.put(doc("c"), "ingest")
        dst.copy_from(src, replace=True)
        assert dst.row_counts() == src.row_counts() and [d.doc_id for d in dst.documents()] == ["a", "b", "c"]

    def test_description_names_the_catalog(self, catalog):
        assert catalog.description and catalog.dialect in ("sqlite", "postgres")
        assert catalog.backend.dialect == catalog.dialect
