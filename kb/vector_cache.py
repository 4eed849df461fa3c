"""Sentence vectors kept on disk, so an ask does not embed the sentences of its top chunks.

Selecting evidence scores every sentence of the top five chunks against the question, and
embedding those ~50 sentences was most of a cold `ask` (about 200 of 230 ms on 2 cores). Ingest
now embeds each new chunk's evidence sentences once (`sentence_vectors = true`, the default) and
writes them here; `Embedder.embed_cached` looks here after its in-memory LRU, and writes back
any sentence it had to embed, so nothing is embedded twice across processes or restarts.

A cache, not a store of record: a row is keyed by the encoder's name and the exact text it
embedded (sha256), so a changed sentence, heading or model simply misses, and the file can be
deleted at any time (the next asks and ingests refill it). Vectors are the float32 values the
encoder returned, so answers are the same with or without it. One SQLite file in WAL mode under
KB_DIR: several processes (the app, `kb ask`, an eval) may read and write it at once.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Sequence
from pathlib import Path

FILE_NAME = "sentence-vectors.sqlite"
_CHUNK = 500  # keys per SELECT ... IN (...)


class VectorCache:
    def __init__(self, path: Path, encoder: str, dim: int) -> None:
        self.path = Path(path)
        self.encoder = encoder
        self.dim = dim
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID")

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.encoder}\0{text}".encode()).digest()[:16]

    def get(self, texts: Sequence[str]) -> dict[str, list[float]]:
        """The stored vectors of those `texts` that have one."""
        keys = {self._key(t): t for t in dict.fromkeys(texts)}
        found: dict[str, list[float]] = {}
        items = list(keys)
        with self._lock:
            for start in range(0, len(items), _CHUNK):
                part = items[start:start + _CHUNK]
                try:
                    rows = self._conn.execute(
                        f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part).fetchall()
                except sqlite3.Error:  # a damaged or locked file is a miss, never a failed ask
                    return found
                for key, blob in rows:
                    vec = array("f" if len(blob) == 4 * self.dim else "d")
                    vec.frombytes(blob)
                    if len(vec) == self.dim:
                        found[keys[key]] = vec.tolist()
        return found

    def put(self, items: Iterable[tuple[str, Sequence[float]]]) -> None:
        rows = [(self._key(t), _packed(v)) for t, v in items]
        if not rows:
            return
        with self._lock:
            try:
                with self._conn:  # one transaction; rolled back on error
                    self._conn.execute("BEGIN")
                    self._conn.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)", rows)
            except sqlite3.Error:  # not kept: the next ask embeds those texts again
                pass

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _packed(vec: Sequence[float]) -> bytes:
    """float32 when that is exact (a model's output is), else float64: a hit returns the very vector."""
    single = array("f", vec)
    return single.tobytes() if single.tolist() == list(vec) else array("d", vec).tobytes()


def open_vector_cache(kb_dir: Path, encoder: str, dim: int) -> VectorCache | None:
    """The cache under `kb_dir`, or None when it cannot be opened (the asks still work, slower)."""
    try:
        return VectorCache(Path(kb_dir) / FILE_NAME, encoder, dim)
    except sqlite3.Error:
        return None
