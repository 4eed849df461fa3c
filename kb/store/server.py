"""Scale-out backend: a Qdrant server or cluster through `qdrant-client` (`QDRANT_URL`).

Same payload schema and BM25 vectors as the Edge store, so both rank alike.
Tested here through qdrant-client's in-process local mode (`location=":memory:"`),
which speaks the same client API; no Qdrant server binary can run on this machine.
"""

from __future__ import annotations

from qdrant_client import QdrantClient, models

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

_SCHEMA = {
    "keyword": models.PayloadSchemaType.KEYWORD,
    "datetime": models.PayloadSchemaType.DATETIME,
    "integer": models.PayloadSchemaType.INTEGER,
}


def _to_filter(where: PointFilter | None) -> models.Filter | None:
    if where is None or where.is_empty():
        return None
    must: list = [models.FieldCondition(key=k, match=models.MatchAny(any=v)) for k, v in where.any_of()]
    must_not: list = []
    if where.exclude_versions:
        must_not.append(
            models.FieldCondition(key="version", match=models.MatchAny(any=list(where.exclude_versions)))
        )
    if where.live_only:
        must_not.append(models.FieldCondition(key="live", match=models.MatchValue(value=KEPT)))
    lo, hi = where.published_bounds()
    if lo or hi:
        must.append(models.FieldCondition(key="published", range=models.DatetimeRange(gte=lo, lte=hi)))
    return models.Filter(must=must or None, must_not=must_not or None)


class ServerStore:
    """`VectorStore` on a Qdrant server collection."""

    backend = "server"

    def __init__(
        self,
        url: str | None,
        collection: str,
        dim: int,
        api_key: str | None = None,
        client: QdrantClient | None = None,
        create_options: dict | None = None,
    ) -> None:
        """`create_options` go to create_collection when the collection is new (for a cluster:
        shard_number, replication_factor, write_consistency_factor; see deploy/README.md)."""
        self.client = client or QdrantClient(url=url, api_key=api_key or None, timeout=30)
        self.collection = collection
        self.dim = dim
        if not self.client.collection_exists(collection):
            self.client.create_collection(
                collection,
                vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                **(create_options or {}),
            )
            for name, kind in INDEXED_FIELDS.items():
                self.client.create_payload_index(collection, name, field_schema=_SCHEMA[kind])

    def upsert(self, points: list[PointData]) -> None:
        batch = [
            models.PointStruct(
                id=p.id,
                vector={
                    DENSE: p.dense,
                    SPARSE: models.SparseVector(indices=p.sparse_indices, values=p.sparse_values),
                },
                payload=p.payload,
            )
            for p in points
        ]
        for start in range(0, len(batch), 256):
            self.client.upsert(self.collection, batch[start : start + 256], wait=True)

    def query(self, using, vector, limit, where=None) -> list[StoredPoint]:
        if using == SPARSE:
            indices, values = vector
            if not indices:
                return []
            qv = models.SparseVector(indices=list(indices), values=list(values))
        else:
            qv = list(vector)
        res = self.client.query_points(
            self.collection,
            query=qv,
            using=using,
            limit=limit + TIE_SLACK,
            query_filter=_to_filter(where),
            with_payload=True,
        )
        return in_score_order([StoredPoint(str(p.id), float(p.score), dict(p.payload or {})) for p in res.points], limit)

    def delete(self, where: PointFilter) -> None:
        flt = _to_filter(where)
        if flt is None:
            raise ValueError("refusing to delete with an empty filter")
        self.client.delete(self.collection, points_selector=models.FilterSelector(filter=flt), wait=True)

    def count(self, where: PointFilter | None = None) -> int:
        return int(self.client.count(self.collection, count_filter=_to_filter(where), exact=True).count)

    def scroll(self, where: PointFilter | None = None) -> list[StoredPoint]:
        out: list[StoredPoint] = []
        offset = None
        while True:
            records, offset = self.client.scroll(
                self.collection,
                scroll_filter=_to_filter(where),
                limit=512,
                offset=offset,
                with_payload=True,
            )
            out.extend(StoredPoint(str(r.id), 0.0, dict(r.payload or {})) for r in records)
            if offset is None:
                return out

    def set_payload(self, where: PointFilter, values: dict) -> None:
        flt = _to_filter(where)
        if flt is None:
            raise ValueError("refusing to set payload with an empty filter")
        self.client.set_payload(self.collection, payload=values, points=flt, wait=True)

    def flush(self) -> None:
        """Writes use wait=True, so there is nothing to flush on the client."""

    def backup(self, dest, while_paused=None) -> None:
        from kb.errors import KBError

        raise KBError(
            f"kb backup copies the embedded store only; for the Qdrant server collection "
            f"{self.collection!r} take a Qdrant snapshot (POST /collections/{self.collection}/snapshots)."
        )

    def close(self) -> None:
        self.client.close()
