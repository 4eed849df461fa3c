"""Versioned schema migrations for the catalog, on SQLite and PostgreSQL alike.

`schema_migrations` records each applied migration (version, name, time). When a
catalog opens, every migration with a higher version than the last applied one runs,
in order, each in its own write transaction (DDL is transactional on both
databases), so a crash part-way leaves the catalog at the previous version.

Rules for a new migration (append it to `MIGRATIONS` in kb/catalog.py):
- never edit or renumber a released migration; add the next version;
- `statements` is portable SQL: TEXT/INTEGER/BIGINT columns, `ALTER TABLE ... ADD COLUMN`,
  `CREATE INDEX IF NOT EXISTS`; no rowid, no AUTOINCREMENT/SERIAL, no SQLite-only functions;
- `backfill` is the one place for dialect-specific SQL: moving data out of an old layout
  that only one database ever had (for example SQLite's rowid order).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kb.catalog_backends import CatalogBackend
from kb.errors import KBError

_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    backfill: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def split_statements(script: str) -> tuple[str, ...]:
    """A DDL script (like `_SCHEMA`) as single statements: `--` comments dropped, split on `;`.

    >>> split_statements("CREATE TABLE a (x TEXT); CREATE INDEX i ON a (x); -- done; really")
    ('CREATE TABLE a (x TEXT)', 'CREATE INDEX i ON a (x)')
    """
    text = re.sub(r"--[^\n]*", "", script)
    return tuple(s.strip() for s in text.split(";") if s.strip())


def current_version(backend: CatalogBackend) -> int:
    if "schema_migrations" not in backend.table_names():
        return 0
    rows = backend.query("SELECT MAX(version) AS v FROM schema_migrations")
    return int(rows[0]["v"] or 0)


def created_names(script: str) -> set[str]:
    """The tables and indexes a script of `CREATE ... IF NOT EXISTS name` statements makes.

    >>> sorted(created_names("CREATE TABLE IF NOT EXISTS a (x TEXT); CREATE UNIQUE INDEX IF NOT EXISTS i ON a (x)"))
    ['a', 'i']
    """
    return set(re.findall(r"CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+IF\s+NOT\s+EXISTS\s+(\w+)", script, re.I))


def ensure_schema(backend: CatalogBackend, script: str) -> bool:
    """Run an idempotent DDL script unless everything it creates exists (so an up-to-date
    catalog opens without any write, and without needing CREATE rights). True if it ran."""
    wanted = created_names(script)
    if wanted <= set(backend.table_names()) | set(backend.index_names()):
        return False
    with backend.transaction() as conn:
        for sql in split_statements(script):
            conn.execute(sql)
    return True


def applied(backend: CatalogBackend) -> list[dict]:
    rows = backend.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
    return [dict(r) for r in rows]


def migrate(backend: CatalogBackend, migrations: tuple[Migration, ...]) -> list[int]:
    """Bring the catalog up to the last migration; returns the versions applied now."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"catalog migrations must have increasing, unique versions: {versions}")
    latest = versions[-1] if versions else 0
    if current_version(backend) == latest:
        return []  # up to date: no write, no lock
    with backend.transaction() as conn:
        conn.execute(_TABLE)
    done: list[int] = []
    for m in migrations:
        with backend.transaction() as conn:  # the write lock: one process migrates at a time
            row = conn.execute("SELECT MAX(version) AS v FROM schema_migrations").fetchone()
            have = int(row["v"] or 0)
            if have > latest:
                raise KBError(
                    f"The catalog at {backend.description} is at schema version {have}, newer than "
                    f"this program knows ({latest}). Upgrade oh-kb before opening it."
                )
            if m.version <= have:
                continue
            for sql in m.statements:
                conn.execute(sql)
            for sql in m.backfill.get(backend.dialect, ()):
                conn.execute(sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (m.version, m.name, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
            )
            done.append(m.version)
    return done
