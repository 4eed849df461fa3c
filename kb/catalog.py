"""The catalog: which version of each document is live, and the records around it.

It is the source of truth for which version of each document is live. It also
holds version history, ingest runs and their errors, the answer audit log and
feedback. Readers check hits against `live_versions()`, so a document that is
half-way through re-ingest is never seen twice or half-written.

One `Catalog` class, two backends (kb/catalog_backends.py): SQLite under
`KB_DIR/catalog.db` (the embedded default) and PostgreSQL (`KB_CATALOG=postgres`),
which several app and API replicas share. The SQL below is written once for both:
`?` placeholders, portable types, no rowid and no SQLite-only functions. Text keys are
sorted in Python, because PostgreSQL collations order text differently from SQLite.

Adding to the catalog:
- a new table: a `CREATE TABLE IF NOT EXISTS` block in `_SCHEMA` (applied on every open,
  so existing catalogs get it too);
- a change to an existing table (a column, an index, a data move): a new `Migration`
  at the end of `MIGRATIONS`;
- a new method: `self._query(sql, params)` to read, `with self.transaction() as conn:
  conn.execute(sql, params)` to write. Writers are serialised on both backends. Tables
  read newest-first carry a `seq` column: take it from `_next_seq(conn, table)`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from kb.catalog_backends import CatalogBackend, PostgresBackend, Row, Session, SQLiteBackend
from kb.catalog_migrations import (
    Migration,
    applied,
    current_version,
    ensure_schema,
    migrate,
    split_statements,
)
from kb.errors import ConfigError
from kb.records import DocStatus, Document

_SCHEMA = """
-- Baseline tables (migration 1). Add new tables as their own block below.
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,          -- Document as JSON
    status TEXT NOT NULL,
    version TEXT NOT NULL,         -- the live version
    source_path TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    doc_id TEXT NOT NULL,
    version TEXT NOT NULL,
    source_path TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    page_count INTEGER,
    replaced_at TEXT,
    PRIMARY KEY (doc_id, version)
);
CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    paths TEXT NOT NULL,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS ingest_errors (
    run_id TEXT NOT NULL,
    path TEXT NOT NULL,
    error TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    question TEXT NOT NULL,
    answerable INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    feedback_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    rating INTEGER NOT NULL,
    comment TEXT NOT NULL,
    answer_id TEXT
);
CREATE TABLE IF NOT EXISTS events (
    at TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


# Audit (kb/audit.py owns these). Portable SQL: the same DDL runs on SQLite and PostgreSQL.
_AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_answers (
    answer_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    role TEXT NOT NULL,
    question TEXT NOT NULL,
    doc_ids TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_answers_at ON audit_answers (at);
CREATE TABLE IF NOT EXISTS audit_events (
    event_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
"""

# Intents (the write journal): a row is written before a command changes the store and
# deleted once the catalog and the store agree again; `kb.journal` repairs leftovers.
_SCHEMA += """
CREATE TABLE IF NOT EXISTS intents (
    intent_id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    detail TEXT NOT NULL,          -- JSON
    started_at TEXT NOT NULL
);
"""

# Tables read newest-first, which get an explicit `seq` (insertion order) in migration 2.
_SEQ_TABLES = ("events", "ingest_runs", "ingest_errors", "answers", "feedback")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline tables", split_statements(_SCHEMA)),
    Migration(
        2,
        "explicit insertion order (seq) instead of SQLite's rowid",
        tuple(f"ALTER TABLE {t} ADD COLUMN seq BIGINT NOT NULL DEFAULT 0" for t in _SEQ_TABLES),
        # Catalogs written before this migration exist only on SQLite, ordered by rowid.
        backfill={"sqlite": tuple(f"UPDATE {t} SET seq = rowid" for t in _SEQ_TABLES)},
    ),
    Migration(
        3,
        "unique seq and lookup indexes",
        tuple(f"CREATE UNIQUE INDEX IF NOT EXISTS {t}_seq ON {t} (seq)" for t in _SEQ_TABLES)
        + (
            "CREATE INDEX IF NOT EXISTS documents_source_path ON documents (source_path)",
            "CREATE INDEX IF NOT EXISTS events_doc ON events (doc_id, seq)",
            "CREATE INDEX IF NOT EXISTS ingest_errors_run ON ingest_errors (run_id)",
        ),
    ),
)

# Conversations on the Ask page, per user (portable SQL: SQLite and PostgreSQL alike).
_CONVERSATION_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    conversation_id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (user_name, updated_at);
CREATE TABLE IF NOT EXISTS conversation_turns (
    conversation_id TEXT NOT NULL,
    turn_no INTEGER NOT NULL,
    at TEXT NOT NULL,
    question TEXT NOT NULL,        -- as the member typed it
    standalone TEXT NOT NULL,      -- the question that was searched
    rewrite TEXT NOT NULL,         -- none, rules or llm
    answer_id TEXT,
    record TEXT NOT NULL,          -- Answer as JSON
    PRIMARY KEY (conversation_id, turn_no)
);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _next_seq(conn: Session, table: str) -> int:
    """The next insertion number of `table`. Call inside `transaction()`: writers are serialised."""
    if table not in _SEQ_TABLES:
        raise ValueError(f"{table} has no seq column")
    row = conn.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM {table}").fetchone()
    return int(row["n"])


def _stamp() -> str:  # conversations are ordered by last use, so keep sub-second order
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _without_seq(row: Row) -> dict:
    d = dict(row)
    d.pop("seq", None)
    return d


class Catalog:
    """The catalog on one backend. Thread-safe.

    `Catalog(path)` opens (or creates) a SQLite catalog file; `Catalog(backend=...)` any
    backend; `open_catalog(settings)` the configured one. Opening migrates the schema.
    """

    def __init__(self, path: Path | str | None = None, *, backend: CatalogBackend | None = None) -> None:
        if (path is None) == (backend is None):
            raise TypeError("Catalog needs either a SQLite path or a backend, not both")
        self.backend: CatalogBackend = backend or SQLiteBackend(Path(path))
        self.path: Path | None = getattr(self.backend, "path", None)
        try:
            migrate(self.backend, MIGRATIONS)
            ensure_schema(self.backend, _SCHEMA)  # tables added to _SCHEMA since the last migration
            ensure_schema(self.backend, _AUDIT_SCHEMA)
            ensure_schema(self.backend, _CONVERSATION_SCHEMA)
        except BaseException:
            self.backend.close()
            raise

    @property
    def dialect(self) -> str:
        return self.backend.dialect

    @property
    def description(self) -> str:
        """Where the catalog lives (a file path, or a URL without its password)."""
        return self.backend.description

    def close(self) -> None:
        self.backend.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction; writers wait for each other (busy timeout / lock timeout)."""
        with self.backend.transaction() as conn:
            yield conn

    def _query(self, sql: str, params: Iterable = ()) -> list[Row]:
        return self.backend.query(sql, params)

    def backup(self, dest: Path) -> None:
        """Copy an embedded (SQLite) catalog consistently to `dest`, even while it is serving."""
        if not isinstance(self.backend, SQLiteBackend):
            raise ConfigError(
                f"The catalog at {self.description} is PostgreSQL: back it up with pg_dump or WAL archiving."
            )
        self.backend.backup(Path(dest))

    # ------------------------------------------------------------ schema

    def schema_version(self) -> int:
        return current_version(self.backend)

    def migrations(self) -> list[dict]:
        """The applied migrations: version, name, applied_at."""
        return applied(self.backend)

    # ------------------------------------------------------------ documents

    def get(self, doc_id: str) -> Document | None:
        rows = self._query("SELECT record FROM documents WHERE doc_id = ?", (doc_id,))
        return Document.model_validate_json(rows[0]["record"]) if rows else None

    def documents(self, statuses: Iterable[str] | None = None) -> list[Document]:
        rows = self._query("SELECT doc_id, record FROM documents")
        rows.sort(key=lambda r: r["doc_id"])
        docs = [Document.model_validate_json(r["record"]) for r in rows]
        if statuses is not None:
            wanted = set(statuses)
            docs = [d for d in docs if d.status.value in wanted]
        return docs

    def documents_stamp(self) -> tuple:
        """Changes whenever a document record changes: (count, newest updated_at)."""
        row = self._query("SELECT COUNT(*) AS n, MAX(updated_at) AS last FROM documents")[0]
        return (row["n"], row["last"])

    def newest_published(self, doc_type: str) -> dt.date | None:
        """The newest `published` date among documents of `doc_type` (any status), or None."""
        dates = [d.published for d in self.documents() if d.doc_type.value == doc_type and d.published]
        return max(dates) if dates else None

    def by_source_path(self, source_path: str) -> Document | None:
        rows = self._query("SELECT record FROM documents WHERE source_path = ?", (source_path,))
        return Document.model_validate_json(rows[0]["record"]) if rows else None

    def live_versions(self, doc_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """doc_id -> (live version, status) for the given ids that exist."""
        ids = list(set(doc_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT doc_id, version, status FROM documents WHERE doc_id IN ({marks})", ids
        )
        return {r["doc_id"]: (r["version"], r["status"]) for r in rows}

    def put(self, doc: Document, action: str, detail: str = "") -> None:
        """Make `doc` (with its version) the live record, in one transaction."""
        with self.transaction() as conn:
            old = conn.execute(
                "SELECT version FROM documents WHERE doc_id = ?", (doc.doc_id,)
            ).fetchone()
            if old is not None and old["version"] != doc.version:
                conn.execute(
                    "UPDATE versions SET replaced_at = ? WHERE doc_id = ? AND version = ?",
                    (_now(), doc.doc_id, old["version"]),
                )
            conn.execute(
                "INSERT INTO versions (doc_id, version, source_path, ingested_at, chunk_count, "
                "page_count) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(doc_id, version) DO UPDATE SET "
                "source_path = excluded.source_path, chunk_count = excluded.chunk_count, "
                "replaced_at = NULL",
                (
                    doc.doc_id,
                    doc.version,
                    doc.source_path,
                    doc.ingested_at.isoformat(),
                    doc.chunk_count,
                    doc.page_count,
                ),
            )
            conn.execute(
                "INSERT INTO documents (doc_id, record, status, version, source_path, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(doc_id) DO UPDATE SET record = excluded.record, "
                "status = excluded.status, version = excluded.version, "
                "source_path = excluded.source_path, updated_at = excluded.updated_at",
                (doc.doc_id, doc.model_dump_json(), doc.status.value, doc.version, doc.source_path, _now()),
            )
            conn.execute(
                "INSERT INTO events (seq, at, doc_id, action, detail) VALUES (?, ?, ?, ?, ?)",
                (_next_seq(conn, "events"), _now(), doc.doc_id, action, detail),
            )

    def set_status(
        self, doc_id: str, status: DocStatus, superseded_by: str | None = None, detail: str = ""
    ) -> Document:
        doc = self.get(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        updated = doc.model_copy(update={"status": status, "superseded_by": superseded_by})
        self.put(updated, f"status:{status.value}", detail)
        return updated

    def versions(self, doc_id: str) -> list[dict]:
        rows = self._query(
            "SELECT version, source_path, ingested_at, chunk_count, page_count, replaced_at "
            "FROM versions WHERE doc_id = ?",
            (doc_id,),
        )
        rows.sort(key=lambda r: r["ingested_at"])
        return [dict(r) for r in rows]

    def events(self, doc_id: str | None = None, limit: int = 200) -> list[dict]:
        """Newest first."""
        if doc_id:
            rows = self._query(
                "SELECT * FROM events WHERE doc_id = ? ORDER BY seq DESC LIMIT ?", (doc_id, limit)
            )
        else:
            rows = self._query("SELECT * FROM events ORDER BY seq DESC LIMIT ?", (limit,))
        return [_without_seq(r) for r in rows]

    # ------------------------------------------------------------ ingest runs

    def start_run(self, paths: list[str]) -> str:
        run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO ingest_runs (seq, run_id, started_at, paths) VALUES (?, ?, ?, ?)",
                (_next_seq(conn, "ingest_runs"), run_id, _now(), json.dumps(paths)),
            )
        return run_id

    def finish_run(self, run_id: str, summary: dict) -> None:
        """Close a run with its summary (a run killed before this stays unfinished)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE ingest_runs SET finished_at = ?, summary = ? WHERE run_id = ?",
                (_now(), json.dumps(summary), run_id),
            )

    def add_error(self, run_id: str, path: str, error: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO ingest_errors (seq, run_id, path, error, at) VALUES (?, ?, ?, ?, ?)",
                (_next_seq(conn, "ingest_errors"), run_id, path, error, _now()),
            )

    def runs(self, limit: int = 50) -> list[dict]:
        """Newest first."""
        rows = self._query("SELECT * FROM ingest_runs ORDER BY seq DESC LIMIT ?", (limit,))
        out = []
        for r in rows:
            d = _without_seq(r)
            d["paths"] = json.loads(d["paths"])
            d["summary"] = json.loads(d["summary"]) if d["summary"] else None
            out.append(d)
        return out

    def errors(self, run_id: str | None = None) -> list[dict]:
        """Errors of one run, or of the latest run that has finished, by path."""
        if run_id is None:
            rows = self._query(
                "SELECT run_id FROM ingest_runs WHERE finished_at IS NOT NULL ORDER BY seq DESC LIMIT 1"
            )
            if not rows:
                return []
            run_id = rows[0]["run_id"]
        rows = self._query(
            "SELECT seq, run_id, path, error, at FROM ingest_errors WHERE run_id = ?", (run_id,)
        )
        rows.sort(key=lambda r: (r["path"], r["seq"]))
        return [_without_seq(r) for r in rows]

    def unfinished_runs(self) -> list[dict]:
        rows = self._query("SELECT run_id, started_at, paths FROM ingest_runs WHERE finished_at IS NULL")
        return [dict(r) for r in rows]

    # ------------------------------------------------------------ intents and kept versions

    def begin_intent(self, action: str, doc_id: str, detail: dict) -> str:
        """Record what a command is about to do to the store, before it does it."""
        intent_id = uuid.uuid4().hex
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO intents (intent_id, action, doc_id, detail, started_at) VALUES (?, ?, ?, ?, ?)",
                (intent_id, action, doc_id, json.dumps(detail), _now()),
            )
        return intent_id

    def end_intent(self, intent_id: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM intents WHERE intent_id = ?", (intent_id,))

    def intents(self) -> list[dict]:
        rows = self._query(
            "SELECT intent_id, action, doc_id, detail, started_at FROM intents ORDER BY started_at, intent_id"
        )
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    def add_event(self, doc_id: str, action: str, detail: str = "") -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO events (seq, at, doc_id, action, detail) VALUES (?, ?, ?, ?, ?)",
                (_next_seq(conn, "events"), _now(), doc_id, action, detail),
            )

    def delete_version(self, doc_id: str, version: str, detail: str = "") -> None:
        """Forget one kept (not live) version of a document, and record that it was purged."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM versions WHERE doc_id = ? AND version = ?", (doc_id, version))
            conn.execute(
                "INSERT INTO events (seq, at, doc_id, action, detail) VALUES (?, ?, ?, ?, ?)",
                (_next_seq(conn, "events"), _now(), doc_id, "purge", f"version {version}" + (f": {detail}" if detail else "")),
            )

    def all_versions(self) -> set[tuple[str, str]]:
        """Every (doc_id, version) the catalog knows, live or kept."""
        return {(r["doc_id"], r["version"]) for r in self._query("SELECT doc_id, version FROM versions")}

    # ------------------------------------------------------------ audit and feedback

    def log_answer(self, question: str, answerable: bool, record_json: str) -> str:
        answer_id = uuid.uuid4().hex
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO answers (seq, answer_id, at, question, answerable, record) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_next_seq(conn, "answers"), answer_id, _now(), question, int(answerable), record_json),
            )
        return answer_id

    def answers(self, limit: int = 200) -> list[dict]:
        """The answer audit log, newest first: answer_id, at, question, answerable, record (JSON)."""
        rows = self._query("SELECT * FROM answers ORDER BY seq DESC LIMIT ?", (limit,))
        out = []
        for r in rows:
            d = _without_seq(r)
            d["answerable"] = bool(d["answerable"])
            out.append(d)
        return out

    def add_feedback(
        self,
        question: str,
        answer: str,
        chunk_ids: list[str],
        rating: int,
        comment: str = "",
        answer_id: str | None = None,
    ) -> str:
        if rating not in (-1, 1):
            raise ValueError("rating must be 1 (helpful) or -1 (not helpful)")
        feedback_id = uuid.uuid4().hex
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO feedback (seq, feedback_id, at, question, answer, chunk_ids, rating, comment, "
                "answer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _next_seq(conn, "feedback"),
                    feedback_id,
                    _now(),
                    question,
                    answer,
                    json.dumps(chunk_ids),
                    rating,
                    comment,
                    answer_id,
                ),
            )
        return feedback_id

    def feedback(self, limit: int = 200) -> list[dict]:
        """Newest first."""
        rows = self._query("SELECT * FROM feedback ORDER BY seq DESC LIMIT ?", (limit,))
        out = []
        for r in rows:
            d = _without_seq(r)
            d["chunk_ids"] = json.loads(d["chunk_ids"])
            out.append(d)
        return out

    # ------------------------------------------------------------ plain SQL for kb/audit.py
    # Statements use `?` placeholders and portable SQL only (no rowid, no SQLite functions).

    def execute(self, sql: str, params: Iterable = ()) -> int:
        """Run one write statement in its own transaction; returns the rows it changed."""
        with self.transaction() as conn:
            return conn.execute(sql, tuple(params)).rowcount

    def query(self, sql: str, params: Iterable = ()) -> list[dict]:
        return [dict(r) for r in self._query(sql, params)]

    # ------------------------------------------------------------ copying (kb migrate)

    def tables(self) -> list[str]:
        """Every catalog table except the migration record, by name."""
        return [t for t in self.backend.table_names() if t != "schema_migrations"]

    def row_counts(self) -> dict[str, int]:
        return {t: int(self._query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in self.tables()}

    def export_rows(self, table: str) -> list[dict]:
        """Every row of `table`, as stored (including `seq`)."""
        if table not in self.tables():
            raise KeyError(table)
        return [dict(r) for r in self._query(f"SELECT * FROM {table}")]

    def import_rows(self, table: str, rows: Sequence[dict], batch: int = 500) -> None:
        """Insert rows exported from another catalog into `table`, in one transaction."""
        with self.transaction() as conn:
            self._insert_rows(conn, table, rows, batch)

    def _insert_rows(self, conn: Session, table: str, rows: Sequence[dict], batch: int = 500) -> None:
        if table not in self.tables():
            raise KeyError(table)
        if not rows:
            return
        columns = list(rows[0])
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for start in range(0, len(rows), batch):
            conn.executemany(sql, [[r[c] for c in columns] for r in rows[start : start + batch]])

    def copy_from(self, source: Catalog, replace: bool = False) -> dict[str, int]:
        """Copy every table of `source` into this catalog in one transaction (all or nothing).
        With `replace`, this catalog's rows are deleted first. Returns rows copied per table."""
        if source.schema_version() != self.schema_version():
            raise ConfigError(
                f"Catalog schema versions differ: {source.description} is at {source.schema_version()}, "
                f"{self.description} at {self.schema_version()}. Open both with the same oh-kb version."
            )
        missing = sorted(set(source.tables()) - set(self.tables()))
        if missing:
            raise ConfigError(f"{self.description} has no table(s) {', '.join(missing)}.")
        data = {t: source.export_rows(t) for t in source.tables()}
        with self.transaction() as conn:
            for table, rows in data.items():
                if replace:
                    conn.execute(f"DELETE FROM {table}")
                self._insert_rows(conn, table, rows)
        return {t: len(rows) for t, rows in data.items()}

    # ------------------------------------------------------------ conversations

    def start_conversation(self, user: str, title: str) -> str:
        conversation_id = uuid.uuid4().hex[:16]
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO conversations (conversation_id, user_name, title, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation_id, user, title, _stamp(), _stamp()),
            )
        return conversation_id

    def conversations(self, user: str, limit: int = 30) -> list[dict]:
        """The user's conversations, most recently used first, with their turn counts."""
        rows = self._query(
            "SELECT c.conversation_id, c.title, c.created_at, c.updated_at, COUNT(t.turn_no) AS turns "
            "FROM conversations c LEFT JOIN conversation_turns t ON t.conversation_id = c.conversation_id "
            "WHERE c.user_name = ? GROUP BY c.conversation_id, c.title, c.created_at, c.updated_at "
            "ORDER BY c.updated_at DESC, c.created_at DESC LIMIT ?",
            (user, limit),
        )
        return [dict(r) for r in rows]

    def conversation_owner(self, conversation_id: str) -> str | None:
        rows = self._query(
            "SELECT user_name FROM conversations WHERE conversation_id = ?", (conversation_id,)
        )
        return rows[0]["user_name"] if rows else None

    def add_turn(
        self,
        conversation_id: str,
        question: str,
        standalone: str,
        rewrite: str,
        record_json: str,
        answer_id: str | None = None,
        turn_no: int | None = None,
    ) -> int:
        """Append a turn (or replace turn `turn_no`, for "ask again"); returns its number."""
        with self.transaction() as conn:
            if turn_no is None:
                row = conn.execute(
                    "SELECT MAX(turn_no) AS n FROM conversation_turns WHERE conversation_id = ?",
                    (conversation_id,),
                ).fetchone()
                turn_no = 0 if row["n"] is None else int(row["n"]) + 1
            else:
                conn.execute(
                    "DELETE FROM conversation_turns WHERE conversation_id = ? AND turn_no = ?",
                    (conversation_id, turn_no),
                )
            conn.execute(
                "INSERT INTO conversation_turns (conversation_id, turn_no, at, question, standalone, "
                "rewrite, answer_id, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, turn_no, _stamp(), question, standalone, rewrite, answer_id, record_json),
            )
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE conversation_id = ?",
                (_stamp(), conversation_id),
            )
        return turn_no

    def turns(self, conversation_id: str) -> list[dict]:
        rows = self._query(
            "SELECT turn_no, at, question, standalone, rewrite, answer_id, record "
            "FROM conversation_turns WHERE conversation_id = ? ORDER BY turn_no",
            (conversation_id,),
        )
        return [dict(r) for r in rows]

    def drop_turns_from(self, conversation_id: str, turn_no: int) -> None:
        """Forget turn `turn_no` and every later one ("edit and resend" branches from there)."""
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM conversation_turns WHERE conversation_id = ? AND turn_no >= ?",
                (conversation_id, turn_no),
            )

    def delete_conversation(self, conversation_id: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM conversation_turns WHERE conversation_id = ?", (conversation_id,))
            conn.execute("DELETE FROM conversations WHERE conversation_id = ?", (conversation_id,))


def open_catalog(settings) -> Catalog:
    """The configured catalog: SQLite under KB_DIR (default), or PostgreSQL at KB_CATALOG_URL."""
    from kb.data_folder import prepare_data_folder

    kind = getattr(settings, "catalog", "sqlite")
    url = getattr(settings, "catalog_url", "")
    if kind == "sqlite":
        if url:
            raise ConfigError(
                "KB_CATALOG_URL is set but KB_CATALOG=sqlite. Set KB_CATALOG=postgres to use that "
                "database, or unset KB_CATALOG_URL."
            )
        prepare_data_folder(settings)
        return Catalog(settings.catalog_path)
    if kind == "postgres":
        prepare_data_folder(settings)  # the embedded shard (store=edge) still lives in KB_DIR
        return Catalog(backend=PostgresBackend(url))
    raise ConfigError(f"Unknown catalog {kind!r}: use sqlite or postgres.")
