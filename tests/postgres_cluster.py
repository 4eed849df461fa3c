"""A throwaway PostgreSQL cluster for the tests: Debian's `postgresql`, a tmp dir, a unix socket.

`initdb` and `pg_ctl` come from /usr/lib/postgresql/*/bin (README command 2 installs the
package). PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres`
user (`runuser -u postgres --`) in a tmp dir it owns. It listens only on a unix socket in
that dir (no TCP port, so parallel test runs never collide), trusts local connections and
has fsync off (it is thrown away). Each test gets an empty schema from `fresh_database`.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is not in /usr/lib/postgresql/*/bin: install Debian's postgresql "
            "(README command 2 does)."
        )
    return found[-1]


@dataclass(frozen=True)
class PostgresCluster:
    root: Path
    as_user: tuple[str, ...]

    @property
    def socket_dir(self) -> str:
        return str(self.root)

    def url(self, schema: str | None = None) -> str:
        url = f"postgresql://postgres@/postgres?host={self.socket_dir}"
        return url + (f"&options=-csearch_path%3D{schema}" if schema else "")

    def fresh_database(self) -> str:
        """A URL whose tables land in a new, empty schema (much faster than CREATE DATABASE)."""
        import psycopg

        name = "kb_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url(name)

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, _bin("pg_ctl"), "-D", str(self.root / "data"), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )


def _start() -> PostgresCluster:
    root = Path(tempfile.mkdtemp(prefix="kb-pg-"))
    as_user: tuple[str, ...] = ()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ("runuser", "-u", "postgres", "--")
    init = subprocess.run(
        [*as_user, _bin("initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth=trust",
         "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr}")
    cluster = PostgresCluster(root, as_user)
    started = cluster.pg_ctl(
        "-l", str(root / "server.log"), "-w", "-t", "60",
        "-o", f"-k {root} -c listen_addresses= -c fsync=off -c max_connections=40", "start",
    )
    if started.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{log}")
    return cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = _start()
    try:
        yield cluster
    finally:
        cluster.pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """The URL of a new, empty database on the session's throwaway cluster."""
    return postgres_cluster.fresh_database()
