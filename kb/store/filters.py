"""The store-neutral filter grammar. Each backend translates it to its own models.

All conditions are ANDed. Empty lists mean "no condition".
- `doc_ids`: doc_id is one of these.
- `versions`: version is one of these; `exclude_versions`: version is none of these.
- `statuses`: status is one of these (current, superseded, withdrawn).
- `doc_types`, `audience`: the field is one of these.
- `topics`: the chunk has at least one of these topics.
- `published_from` / `published_to`: inclusive ISO date bounds on `published`.
- `live_only`: only chunks of a document's live version (payload `live` is not `KEPT`).
  Kept old versions carry `live: 0` (issue 13); points written before that field existed
  count as live. `live` is an integer (1 live, 0 kept), not a JSON bool, because the Edge
  binding turns `MatchValue(False)` into the integer 0, which never matches a bool.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Equal scores are common (a passage published twice scores the same for every query), and a
# store returns tied points in its internal order, which differs between two builds of the same
# KB: MedQuAD dev's BM25 top 50 differed for 203 of 400 questions between two fresh builds, and
# recall moved by up to a point with nothing changed. A query therefore asks for `TIE_SLACK` more
# points than it needs and `in_score_order` puts ties in point-id order before cutting, so the
# same store contents give the same ranking however they were written.
TIE_SLACK = 8


def in_score_order(points: list[StoredPoint], limit: int) -> list[StoredPoint]:
    """The best `limit` points, ties by point id (`points` may hold up to `TIE_SLACK` more)."""
    return sorted(points, key=lambda p: (-p.score, p.id))[:limit]


@dataclass(frozen=True)
class PointFilter:
    doc_ids: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    exclude_versions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    published_from: dt.date | None = None
    published_to: dt.date | None = None
    live_only: bool = False

    def is_empty(self) -> bool:
        return self == PointFilter()

    def any_of(self) -> list[tuple[str, list[str]]]:
        """(payload key, allowed values) pairs: each key must match one of its values."""
        pairs = (
            ("doc_id", self.doc_ids),
            ("version", self.versions),
            ("status", self.statuses),
            ("doc_type", self.doc_types),
            ("topics", self.topics),
            ("audience", self.audience),
        )
        return [(key, list(values)) for key, values in pairs if values]

    def published_bounds(self) -> tuple[str | None, str | None]:
        """Inclusive RFC 3339 bounds on `published`, or None where open."""
        lo = f"{self.published_from}T00:00:00Z" if self.published_from else None
        hi = f"{self.published_to}T23:59:59Z" if self.published_to else None
        return lo, hi


@dataclass(frozen=True)
class StoredPoint:
    """A point as the store returns it."""

    id: str
    score: float
    payload: dict


@dataclass(frozen=True)
class PointData:
    """A point to write: id, dense vector, BM25 sparse vector and payload."""

    id: str
    dense: list[float]
    sparse_indices: list[int]
    sparse_values: list[float]
    payload: dict


DENSE = "dense"
SPARSE = "bm25"

# Payload fields that get an index (keyword unless noted).
INDEXED_FIELDS = {
    "doc_id": "keyword",
    "version": "keyword",
    "status": "keyword",
    "doc_type": "keyword",
    "topics": "keyword",
    "audience": "keyword",
    "published": "datetime",
    "live": "integer",
}

LIVE = 1  # payload `live` of the live version's chunks
KEPT = 0  # payload `live` of a kept old version's chunks
