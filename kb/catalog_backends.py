"""Catalog backends: the small part of the catalog that differs between databases.

`Catalog` (kb/catalog.py) writes its SQL once, with `?` placeholders and portable
statements. A backend only handles what cannot be shared:

- connecting, and the connection settings that make the database durable;
- transactions: one writer at a time (`BEGIN IMMEDIATE` on SQLite, a transaction-scoped
  advisory lock on PostgreSQL), so read-then-write code behaves the same on both;
- placeholders (`?` -> `%s` for psycopg) and rows as dicts;
- listing tables (for `kb migrate`).

Backends:
- `SQLiteBackend(path)`: the embedded default, WAL with `synchronous=FULL` and a busy timeout.
- `PostgresBackend(url)`: PostgreSQL through psycopg 3, for several app/API replicas.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from kb.data_folder import private_file, private_folder
from kb.errors import ConfigError, KBError

Dialect = Literal["sqlite", "postgres"]
BUSY_TIMEOUT_MS = 10_000
# Key of the PostgreSQL advisory lock that serialises catalog writers (any constant works;
# this one is "ohkb" in ASCII).
WRITE_LOCK_KEY = 0x6F686B62


class Row(dict):
    """A result row: a dict that also answers `row[0]` like `sqlite3.Row`."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)


class Result:
    """What `Session.execute` returns: the rows (if any) and the affected row count."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Row]:
        return list(self._rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)


class Session(Protocol):
    """A connection inside `CatalogBackend.transaction()`. SQL uses `?` placeholders."""

    dialect: Dialect

    def execute(self, sql: str, params: Iterable = ()) -> Result: ...

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None: ...


class CatalogBackend(Protocol):
    dialect: Dialect
    description: str  # where the catalog lives, with any password removed

    def transaction(self) -> Iterator[Session]: ...  # a context manager

    def query(self, sql: str, params: Iterable = ()) -> list[Row]: ...

    def table_names(self) -> list[str]: ...

    def index_names(self) -> list[str]: ...

    def close(self) -> None: ...


def redact_url(url: str) -> str:
    """The URL without its password, safe for messages and logs.

    >>> redact_url("postgresql://kb:s3cret@db.internal:5432/kb")
    'postgresql://kb:***@db.internal:5432/kb'
    >>> redact_url("postgresql://kb@db/kb")
    'postgresql://kb@db/kb'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable catalog URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# ----------------------------------------------------------------------------- SQLite


class _SQLiteSession:
    dialect: Dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Iterable = ()) -> Result:
        cur = self._conn.execute(sql, tuple(params))
        if cur.description is None:  # not a query
            return Result([], cur.rowcount)
        names = [d[0] for d in cur.description]
        return Result([Row(zip(names, r, strict=True)) for r in cur.fetchall()], cur.rowcount)

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        self._conn.executemany(sql, [tuple(r) for r in rows])


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying while another process or thread holds the new file's lock.

    Why: changing the journal mode needs an exclusive lock, and SQLite does not call the busy
    handler for it, so replicas that open a brand-new catalog at the same moment got "database is
    locked" at once instead of waiting their turn.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


class SQLiteBackend:
    """The embedded catalog file: WAL, `synchronous=FULL`, busy timeout, mode 0600."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        private_folder(self.path.parent, tighten=False)  # KB_DIR itself: prepare_data_folder
        private_file(self.path)
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _enable_wal(self._conn)
            # FULL: every commit syncs the WAL, so a confirmed ingest survives power loss.
            self._conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.DatabaseError as exc:
            raise KBError(
                f"{self.path}: cannot open the catalog ({exc}). Restore it from a backup or move it "
                "aside and re-ingest."
            ) from exc
        for suffix in ("-wal", "-shm"):  # SQLite gives these the main file's mode; make sure
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                private_file(side)
        self._lock = threading.RLock()
        self._session = _SQLiteSession(self._conn)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._session
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Iterable = ()) -> list[Row]:
        with self._lock:
            return self._session.execute(sql, params).fetchall()

    def backup(self, dest: Path) -> None:
        """A consistent copy of the catalog while it is in use (SQLite's online backup API), mode 0600."""
        dest = Path(dest)
        private_file(dest)
        with self._lock:
            target = sqlite3.connect(dest)
            try:
                self._conn.backup(target)
            finally:
                target.close()

    def pragma(self, name: str) -> Any:
        with self._lock:
            return self._conn.execute(f"PRAGMA {name}").fetchone()[0]

    def table_names(self) -> list[str]:
        rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return sorted(r["name"] for r in rows)

    def index_names(self) -> list[str]:
        rows = self.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
        return sorted(r["name"] for r in rows)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# ----------------------------------------------------------------------------- PostgreSQL


def to_psycopg(sql: str) -> str:
    """`?` placeholders to psycopg's `%s` (a literal `%` becomes `%%`).

    >>> to_psycopg("SELECT * FROM events WHERE detail LIKE '50%' AND doc_id = ?")
    "SELECT * FROM events WHERE detail LIKE '50%%' AND doc_id = %s"
    """
    return sql.replace("%", "%%").replace("?", "%s")


class _PostgresSession:
    dialect: Dialect = "postgres"

    def __init__(self, conn) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Iterable = ()) -> Result:
        cur = self._conn.execute(to_psycopg(sql), tuple(params))
        rows = [Row(r) for r in cur.fetchall()] if cur.description else []
        return Result(rows, cur.rowcount)

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(to_psycopg(sql), [tuple(r) for r in rows])


class PostgresBackend:
    """A PostgreSQL catalog through psycopg 3 (`KB_CATALOG_URL`, e.g. postgresql://kb@db/kb)."""

    dialect: Dialect = "postgres"

    def __init__(self, url: str, connect_timeout: int = 10) -> None:
        if not url:
            raise ConfigError("KB_CATALOG=postgres needs KB_CATALOG_URL (for example postgresql://kb@db:5432/kb).")
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("postgresql", "postgres"):
            raise ConfigError(
                f"KB_CATALOG_URL {redact_url(url)!r} is not a PostgreSQL URL: it must start with postgresql://."
            )
        self._url = url
        self._timeout = connect_timeout
        self.description = redact_url(url)
        self._lock = threading.RLock()
        self._conn = self._connect()

    def _connect(self):
        import psycopg
        from psycopg.rows import dict_row

        try:
            conn = psycopg.connect(
                self._url,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=self._timeout,
                application_name="oh-kb",
            )
        except psycopg.Error as exc:
            detail = str(exc).replace(self._url, self.description).strip().splitlines()[0]
            raise KBError(
                f"Cannot connect to the PostgreSQL catalog at {self.description}: {detail}. "
                "Check KB_CATALOG_URL and that the database is running."
            ) from None
        # Wait for a busy writer as long as SQLite would, then fail clearly.
        conn.execute(f"SET lock_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def _live(self, ping: bool = False):
        """The connection, reopened if it was closed or broke (a server restart or failover)."""
        import psycopg

        if not (self._conn.closed or self._conn.broken) and ping:
            try:
                self._conn.execute("SELECT 1")
            except psycopg.OperationalError:
                pass  # now marked broken: reconnect below
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._lock:
            conn = self._live(ping=True)  # never start a write on a dead connection
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                yield _PostgresSession(conn)

    def query(self, sql: str, params: Iterable = ()) -> list[Row]:
        import psycopg

        with self._lock:
            try:
                return _PostgresSession(self._live()).execute(sql, params).fetchall()
            except psycopg.OperationalError:
                if not self._conn.broken:
                    raise
                return _PostgresSession(self._live()).execute(sql, params).fetchall()  # reads retry once

    def table_names(self) -> list[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        return sorted(r["table_name"] for r in rows)

    def index_names(self) -> list[str]:
        rows = self.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        return sorted(r["indexname"] for r in rows)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
