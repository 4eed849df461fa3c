"""The `VectorStore` protocol: the one seam between kb and a Qdrant backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

from kb.store.filters import PointData, PointFilter, StoredPoint

VectorName = Literal["dense", "bm25"]


class VectorStore(Protocol):
    """Dense + BM25 points with payload filters.

    - `upsert(points)`: insert or replace points by id.
    - `query(using, vector, limit, where)`: nearest points by one vector, best first.
      For `using="bm25"` the vector is `(indices, values)`.
    - `delete(where)`: remove every point matching the filter; returns nothing.
    - `count(where)`: number of points matching.
    - `scroll(where)`: every matching point's payload (no vectors), in no set order.
    - `set_payload(where, values)`: merge `values` into the payload of matching points.
    - `flush()`: make every write so far durable.
    - `backup(dest, while_paused)`: a consistent copy of the store's files in `dest`, calling
      `while_paused()` before writes resume (embedded store only).
    - `close()`: flush and release the store.
    """

    backend: str

    def upsert(self, points: list[PointData]) -> None: ...

    def query(
        self,
        using: VectorName,
        vector: list[float] | tuple[list[int], list[float]],
        limit: int,
        where: PointFilter | None = None,
    ) -> list[StoredPoint]: ...

    def delete(self, where: PointFilter) -> None: ...

    def count(self, where: PointFilter | None = None) -> int: ...

    def scroll(self, where: PointFilter | None = None) -> list[StoredPoint]: ...

    def set_payload(self, where: PointFilter, values: dict) -> None: ...

    def flush(self) -> None: ...

    def backup(self, dest: Path, while_paused: Callable[[], None] | None = None) -> None: ...

    def close(self) -> None: ...
