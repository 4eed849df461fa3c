"""The catalog: SQLite (WAL) under `KB_DIR/catalog.db`.

It is the source of truth for which version of each document is live. It also
holds version history, ingest runs and their errors, the answer audit log and
feedback. Readers check hits against `live_versions()`, so a document that is
half-way through re-ingest is never seen twice or half-written.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.records import DocStatus, Document

_SCHEMA = """
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


def _stamp() -> str:  # conversations are ordered by last use, so keep sub-second order
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class Catalog:
    """Thread-safe access to the catalog database."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=10000")
            self._conn.executescript(_SCHEMA)
            self._conn.executescript(_AUDIT_SCHEMA)

            self._conn.executescript(_CONVERSATION_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # ------------------------------------------------------------ documents

    def get(self, doc_id: str) -> Document | None:
        rows = self._query("SELECT record FROM documents WHERE doc_id = ?", (doc_id,))
        return Document.model_validate_json(rows[0]["record"]) if rows else None

    def documents(self, statuses: Iterable[str] | None = None) -> list[Document]:
        rows = self._query("SELECT record FROM documents ORDER BY doc_id")
        docs = [Document.model_validate_json(r["record"]) for r in rows]
        if statuses is not None:
            wanted = set(statuses)
            docs = [d for d in docs if d.status.value in wanted]
        return docs

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
                "INSERT INTO events (at, doc_id, action, detail) VALUES (?, ?, ?, ?)",
                (_now(), doc.doc_id, action, detail),
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
            "FROM versions WHERE doc_id = ? ORDER BY ingested_at",
            (doc_id,),
        )
        return [dict(r) for r in rows]

    def events(self, doc_id: str | None = None, limit: int = 200) -> list[dict]:
        if doc_id:
            rows = self._query(
                "SELECT * FROM events WHERE doc_id = ? ORDER BY at DESC, rowid DESC LIMIT ?", (doc_id, limit)
            )
        else:
            rows = self._query("SELECT * FROM events ORDER BY at DESC, rowid DESC LIMIT ?", (limit,))
        return [dict(r) for r in rows]

    # ------------------------------------------------------------ ingest runs

    def start_run(self, paths: list[str]) -> str:
        run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO ingest_runs (run_id, started_at, paths) VALUES (?, ?, ?)",
                (run_id, _now(), json.dumps(paths)),
            )
        return run_id

    def finish_run(self, run_id: str, summary: dict) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE ingest_runs SET finished_at = ?, summary = ? WHERE run_id = ?",
                (_now(), json.dumps(summary), run_id),
            )

    def add_error(self, run_id: str, path: str, error: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO ingest_errors (run_id, path, error, at) VALUES (?, ?, ?, ?)",
                (run_id, path, error, _now()),
            )

    def runs(self, limit: int = 50) -> list[dict]:
        rows = self._query("SELECT * FROM ingest_runs ORDER BY started_at DESC, rowid DESC LIMIT ?", (limit,))
        out = []
        for r in rows:
            d = dict(r)
            d["paths"] = json.loads(d["paths"])
            d["summary"] = json.loads(d["summary"]) if d["summary"] else None
            out.append(d)
        return out

    def errors(self, run_id: str | None = None) -> list[dict]:
        """Errors of one run, or of the latest run that has finished."""
        if run_id is None:
            rows = self._query(
                "SELECT run_id FROM ingest_runs WHERE finished_at IS NOT NULL "
                "ORDER BY started_at DESC, rowid DESC LIMIT 1"
            )
            if not rows:
                return []
            run_id = rows[0]["run_id"]
        rows = self._query(
            "SELECT run_id, path, error, at FROM ingest_errors WHERE run_id = ? ORDER BY path",
            (run_id,),
        )
        return [dict(r) for r in rows]

    # ------------------------------------------------------------ audit and feedback

    def log_answer(self, question: str, answerable: bool, record_json: str) -> str:
        answer_id = uuid.uuid4().hex
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO answers (answer_id, at, question, answerable, record) VALUES (?, ?, ?, ?, ?)",
                (answer_id, _now(), question, int(answerable), record_json),
            )
        return answer_id

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
                "INSERT INTO feedback (feedback_id, at, question, answer, chunk_ids, rating, comment, "
                "answer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (feedback_id, _now(), question, answer, json.dumps(chunk_ids), rating, comment, answer_id),
            )
        return feedback_id

    def feedback(self, limit: int = 200) -> list[dict]:
        rows = self._query("SELECT * FROM feedback ORDER BY at DESC LIMIT ?", (limit,))
        out = []
        for r in rows:
            d = dict(r)
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
