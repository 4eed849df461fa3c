"""The embedded default: a Qdrant Edge shard in this process, under `KB_DIR/qdrant`.

Qdrant Edge allows one process per shard. We hold an advisory lock file with our
pid beside the shard, so a second process gets a clear "in use by pid N" error
instead of a WAL error.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from pathlib import Path

from qdrant_edge import (
    CountRequest,
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeSparseVectorParams,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    HnswIndexConfig,
    MatchAny,
    MatchValue,
    Memory,
    Modifier,
    PayloadSchemaType,
    Point,
    QuantizationSearchParams,
    Query,
    QueryRequest,
    RangeDateTime,
    ScalarQuantizationConfig,
    ScalarType,
    ScrollRequest,
    SearchParams,
    SparseVector,
    UpdateOperation,
)

from kb.errors import ConfigError, StoreLockedError
from kb.store.filters import (
    DENSE,
    INDEXED_FIELDS,
    KEPT,
    SPARSE,
    TIE_SLACK,
    PointData,
    PointFilter,
    StoredPoint,
    in_score_order,
)

_HELD: set[str] = set()  # lock files this process holds

_SCHEMA = {
    "keyword": PayloadSchemaType.Keyword,
    "datetime": PayloadSchemaType.Datetime,
    "integer": PayloadSchemaType.Integer,
}


class ShardLock:
    """An exclusive advisory lock on `<shard>.lock` that records the holder's pid."""

    def __init__(self, shard_path: Path) -> None:
        self.path = shard_path.with_name(shard_path.name + ".lock")
        self._fh = None

    def probe(self) -> None:
        """Raise `StoreLockedError` if another process holds the lock; hold nothing after."""
        if str(self.path) in _HELD or not self.path.parent.exists():
            return
        self.acquire()
        self.release()

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise StoreLockedError(
                f"The knowledge base store {self.path.parent} is in use by pid {holder} "
                "(probably the app or another kb command). Stop that process, or do this "
                "from the app, then try again."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        _HELD.add(str(self.path))

    def release(self) -> None:
        if self._fh is not None:
            _HELD.discard(str(self.path))
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _to_filter(where: PointFilter | None) -> Filter | None:
    if where is None or where.is_empty():
        return None
    must: list = [FieldCondition(key=k, match=MatchAny(v)) for k, v in where.any_of()]
    must_not: list = []
    if where.exclude_versions:
        must_not.append(FieldCondition(key="version", match=MatchAny(list(where.exclude_versions))))
    if where.live_only:
        must_not.append(FieldCondition(key="live", match=MatchValue(KEPT)))
    lo, hi = where.published_bounds()
    if lo or hi:
        must.append(FieldCondition(key="published", range=RangeDateTime(gte=lo, lte=hi)))
    return Filter(must=must or None, must_not=must_not or None)


def stored_dim(path: Path) -> int | None:
    """The dense vector size of the shard at `path`, or None if there is no shard yet."""
    cfg_file = Path(path) / "edge_config.json"
    if not cfg_file.exists():
        return None
    return int(json.loads(cfg_file.read_text())["vectors"][DENSE]["size"])


LEGACY_ENCODER = "all-MiniLM-L6-v2"  # the only local encoder before stores recorded theirs
LEGACY_DIM = 384


def encoder_file(shard_path: Path) -> Path:
    return Path(shard_path).with_name(Path(shard_path).name + ".encoder")


def stored_encoder(shard_path: Path) -> str | None:
    """The encoder recorded for the shard, the fp32 default for an unrecorded 384-d shard, else None."""
    f = encoder_file(shard_path)
    if f.exists():
        return f.read_text(encoding="utf-8").strip() or None
    dim = stored_dim(shard_path)
    return LEGACY_ENCODER if dim == LEGACY_DIM else None


def record_encoder(shard_path: Path, encoder: str | None) -> None:
    if encoder:
        encoder_file(shard_path).write_text(encoder + "\n", encoding="utf-8")


def check_encoder(shard_path: Path, encoder: str | None, dim: int) -> None:
    """Refuse a shard whose vectors another encoder made; adopt an unrecorded non-default shard."""
    if not encoder:
        return
    made_by = stored_encoder(shard_path)
    if made_by is None:
        record_encoder(shard_path, encoder)
        return
    if made_by != encoder:
        raise ConfigError(
            f"{shard_path}: this store's vectors were made by the {made_by!r} encoder, but the "
            f"configured embedder is {encoder!r}; vectors from two encoders must not be mixed. "
            f"Set KB_EMBEDDER back, or use a new KB_DIR and re-ingest (kb ingest)."
        )


class EdgeStore:
    """`VectorStore` on a local Qdrant Edge shard.

    - `encoder`: the name of the embedder that makes the vectors. It is recorded beside the shard
      (`<shard>.encoder`) when the shard is created, and a shard made by another encoder is refused:
      vectors from two encoders are never mixed. A shard from before the record is taken to be the
      fp32 default's (`LEGACY_ENCODER`) when its size matches.
    - `quantization="int8"`: scalar int8 quantisation of the dense vectors, kept in RAM, with the
      fp32 originals on disk (mmap) for rescoring; payloads on disk. Fixed when the shard is made.
    - `optimise()`: build the HNSW graphs and merge segments (after an ingest); until then a
      segment is searched by a full scan.
    """

    backend = "edge"

    def __init__(self, path: Path, dim: int, encoder: str | None = None, quantization: str = "none") -> None:
        self.path = Path(path)
        self.dim = dim
        self.encoder = encoder
        self.quantization = quantization
        self._lock = ShardLock(self.path)
        self._lock.acquire()
        self._write = threading.Lock()
        try:
            self._shard = self._open()
        except Exception:
            self._lock.release()
            raise
        self._params = SearchParams(quantization=QuantizationSearchParams(rescore=True)) \
            if self._quantized() else None

    def _quantized(self) -> bool:
        cfg = json.loads((self.path / "edge_config.json").read_text()) if (self.path / "edge_config.json").exists() else {}
        return bool(cfg.get("quantization_config") or cfg.get("vectors", {}).get(DENSE, {}).get("quantization_config"))

    def _config(self) -> EdgeConfig:
        if self.quantization == "int8":
            return EdgeConfig(
                vectors={DENSE: EdgeVectorParams(
                    size=self.dim, distance=Distance.Cosine, memory=Memory.Cold,
                    quantization_config=ScalarQuantizationConfig(ScalarType.Int8, quantile=0.99,
                                                                 memory=Memory.Pinned))},
                sparse_vectors={SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
                payload_memory=Memory.Cold,
                hnsw_config=HnswIndexConfig(m=16, ef_construct=100, full_scan_threshold=10_000),
            )
        if self.quantization != "none":
            raise ConfigError(f"Unknown edge quantization {self.quantization!r}: use none or int8.")
        return EdgeConfig(
            vectors={DENSE: EdgeVectorParams(size=self.dim, distance=Distance.Cosine)},
            sparse_vectors={SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
        )

    def _open(self) -> EdgeShard:
        cfg_file = self.path / "edge_config.json"
        if cfg_file.exists():
            stored = json.loads(cfg_file.read_text())["vectors"][DENSE]["size"]
            if stored != self.dim:
                raise ConfigError(
                    f"{self.path}: the store holds {stored}-dimensional vectors but the embedder "
                    f"makes {self.dim}. Use a new KB_DIR or re-ingest into an empty one."
                )
            check_encoder(self.path, self.encoder, stored)
            return EdgeShard.load(str(self.path))
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        shard = EdgeShard.create(str(self.path), self._config())
        for name, kind in INDEXED_FIELDS.items():
            shard.update(UpdateOperation.create_field_index(name, _SCHEMA[kind]))
        record_encoder(self.path, self.encoder)
        return shard

    def optimise(self) -> bool:
        """Build HNSW graphs and merge segments now (blocking); True if anything changed."""
        with self._write:
            return bool(self._shard.optimize())

    def upsert(self, points: list[PointData]) -> None:
        if not points:
            return
        edge_points = [
            Point(
                p.id,
                {DENSE: p.dense, SPARSE: SparseVector(p.sparse_indices, p.sparse_values)},
                p.payload,
            )
            for p in points
        ]
        with self._write:
            for start in range(0, len(edge_points), 512):
                self._shard.update(UpdateOperation.upsert_points(edge_points[start : start + 512]))

    def query(self, using, vector, limit, where=None) -> list[StoredPoint]:
        if using == SPARSE:
            indices, values = vector
            if not indices:
                return []
            qv = SparseVector(list(indices), list(values))
        else:
            qv = list(vector)
        req = QueryRequest(
            limit=limit + TIE_SLACK,
            query=Query.Nearest(qv, using=using),
            filter=_to_filter(where),
            with_payload=True,
            params=self._params if using == DENSE else None,
        )
        return in_score_order([StoredPoint(str(p.id), float(p.score), dict(p.payload or {}))
                               for p in self._shard.query(req)], limit)

    def delete(self, where: PointFilter) -> None:
        flt = _to_filter(where)
        if flt is None:
            raise ValueError("refusing to delete with an empty filter")
        with self._write:
            self._shard.update(UpdateOperation.delete_points_by_filter(flt))

    def count(self, where: PointFilter | None = None) -> int:
        return int(self._shard.count(CountRequest(exact=True, filter=_to_filter(where))))

    def scroll(self, where: PointFilter | None = None) -> list[StoredPoint]:
        out: list[StoredPoint] = []
        offset = None
        flt = _to_filter(where)
        while True:
            records, offset = self._shard.scroll(
                ScrollRequest(offset=offset, limit=512, filter=flt, with_payload=True)
            )
            out.extend(StoredPoint(str(r.id), 0.0, dict(r.payload or {})) for r in records)
            if offset is None:
                return out

    def set_payload(self, where: PointFilter, values: dict) -> None:
        flt = _to_filter(where)
        if flt is None:
            raise ValueError("refusing to set payload with an empty filter")
        with self._write:
            self._shard.update(UpdateOperation.set_payload_by_filter(flt, values))

    def flush(self) -> None:
        with self._write:
            self._shard.flush()

    def backup(self, dest: Path, while_paused=None) -> None:
        """A consistent copy of the shard in `dest` (which must not exist) while we keep serving.

        Writes wait on the write lock while the shard is flushed and its files copied, and
        while `while_paused()` runs (the catalog copy, so both are taken at one point in
        time); readers go on. The copy loads with `EdgeShard.load` (WAL included).
        """
        with self._write:
            self._shard.flush()
            shutil.copytree(self.path, dest)
            if while_paused is not None:
                while_paused()

    def close(self) -> None:
        if getattr(self, "_shard", None) is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None
        self._lock.release()


