"""Reusable contract tests for every `VectorStore` backend (after haystack's testing/document_store.py).

A backend's test module subclasses `StoreContract` and provides a `store` fixture.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from kb.sparse import sparse_document, sparse_query
from kb.store import DENSE, KEPT, LIVE, SPARSE, PointData, PointFilter

DIM = 8


def _vec(i: int) -> list[float]:
    v = [0.01] * DIM
    v[i % DIM] = 1.0
    return v


def point(doc_id: str, version: str, i: int, text: str, **payload) -> PointData:
    idx, vals = sparse_document(text)
    base = {
        "doc_id": doc_id,
        "version": version,
        "status": "current",
        "doc_type": "guideline",
        "topics": ["immunisation"],
        "audience": "members",
        "published": "2024-03-01",
        "text": text,
    }
    base.update(payload)
    return PointData(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{doc_id}{version}{i}")), _vec(i), idx, vals, base)


CORPUS = [
    point("hepb", "v1", 0, "Hepatitis B booster for low responders with anti-HBs 10 to 100"),
    point("hepb", "v1", 1, "Non-responders need a repeat course of hepatitis B vaccine"),
    point("pep", "v1", 2, "Start HIV post-exposure prophylaxis within 72 hours", topics=["hiv", "pep"]),
    point("lone", "v1", 3, "Lone workers check in every hour", doc_type="policy", topics=["lone-working"],
          published="2019-05-01", status="superseded"),
    point("old", "v0", 4, "Withdrawn leaflet about hepatitis B", status="withdrawn"),
]


class StoreContract:
    @pytest.fixture
    def store(self):  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    @pytest.fixture
    def filled(self, store):
        store.upsert(CORPUS)
        return store

    def test_count_and_upsert_is_idempotent(self, filled):
        assert filled.count() == len(CORPUS)
        filled.upsert(CORPUS[:2])
        assert filled.count() == len(CORPUS)

    def test_dense_query_orders_by_similarity(self, filled):
        hits = filled.query(DENSE, _vec(2), 3)
        assert hits[0].payload["doc_id"] == "pep"
        assert hits[0].score >= hits[1].score

    def test_bm25_query_finds_the_term(self, filled):
        hits = filled.query(SPARSE, sparse_query("non-responders repeat course"), 3)
        assert hits[0].payload["text"].startswith("Non-responders")

    def test_bm25_stems(self, filled):
        hits = filled.query(SPARSE, sparse_query("responder"), 5)
        assert {h.payload["doc_id"] for h in hits} >= {"hepb"}

    def test_tied_scores_come_in_point_id_order_whatever_the_write_order(self, store):
        """A passage published twice scores the same for every query; ties are ordered by point id and
        the cut at `limit` keeps the lowest ids, so two builds of the same KB rank alike."""
        same = "Mumps exclusion is five days after the swelling starts"
        twins = [point(f"twin{i}", "v1", 0, same) for i in range(12)]
        store.upsert(twins[6:])  # written in two batches, the later ids first
        store.upsert(twins[:6])
        store.upsert([point("other", "v1", 1, "Mumps vaccine")])
        by_id = sorted(p.id for p in twins)
        for using, query in ((SPARSE, sparse_query("mumps exclusion swelling")), (DENSE, _vec(0))):
            hits = store.query(using, query, 5)
            assert [h.id for h in hits] == by_id[:5]
            assert len({h.score for h in hits}) == 1

    def test_empty_sparse_query_returns_nothing(self, filled):
        assert filled.query(SPARSE, ([], []), 5) == []

    @pytest.mark.parametrize(
        ("where", "expected"),
        [
            (PointFilter(statuses=("current",)), {"hepb", "pep"}),
            (PointFilter(statuses=("current", "superseded")), {"hepb", "pep", "lone"}),
            (PointFilter(doc_types=("policy",)), {"lone"}),
            (PointFilter(topics=("pep",)), {"pep"}),
            (PointFilter(doc_ids=("hepb", "old")), {"hepb", "old"}),
            (PointFilter(published_to=dt.date(2020, 1, 1)), {"lone"}),
            (PointFilter(published_from=dt.date(2024, 3, 1)), {"hepb", "pep", "old"}),
            (PointFilter(doc_ids=("hepb",), exclude_versions=("v1",)), set()),
        ],
    )
    def test_filters(self, filled, where, expected):
        got = {p.payload["doc_id"] for p in filled.query(DENSE, _vec(0), 10, where)}
        assert got == expected
        assert filled.count(where) == sum(1 for p in CORPUS if p.payload["doc_id"] in expected)

    def test_delete_by_filter_removes_only_matches(self, filled):
        filled.upsert([point("hepb", "v2", 9, "Updated hepatitis B guidance")])
        filled.delete(PointFilter(doc_ids=("hepb",), exclude_versions=("v2",)))
        left = {(p.payload["doc_id"], p.payload["version"]) for p in filled.scroll()}
        assert ("hepb", "v1") not in left
        assert ("hepb", "v2") in left
        assert ("pep", "v1") in left

    def test_delete_with_empty_filter_is_refused(self, filled):
        with pytest.raises(ValueError, match="empty filter"):
            filled.delete(PointFilter())
        assert filled.count() == len(CORPUS)

    def test_set_payload_changes_status(self, filled):
        filled.set_payload(PointFilter(doc_ids=("pep",)), {"status": "withdrawn"})
        got = {p.payload["doc_id"] for p in filled.query(DENSE, _vec(2), 10, PointFilter(statuses=("current",)))}
        assert "pep" not in got

    def test_scroll_returns_every_point(self, store):
        many = [point("bulk", "v1", i, f"bulk text number {i}") for i in range(1100)]
        store.upsert(many)
        assert len(store.scroll(PointFilter(doc_ids=("bulk",)))) == 1100

    def test_live_only_skips_kept_versions_and_counts_unmarked_points_as_live(self, filled):
        filled.upsert([point("hepb", "v2", 9, "Hepatitis B booster, second edition", live=LIVE)])
        filled.set_payload(PointFilter(doc_ids=("hepb",), exclude_versions=("v2",)), {"live": KEPT})
        live = {(p.payload["doc_id"], p.payload["version"]) for p in filled.scroll(PointFilter(live_only=True))}
        assert ("hepb", "v1") not in live and ("hepb", "v2") in live
        assert ("pep", "v1") in live  # written before the live field existed
        hits = filled.query(SPARSE, sparse_query("hepatitis B booster"), 10, PointFilter(live_only=True))
        assert {p.payload["version"] for p in hits if p.payload["doc_id"] == "hepb"} == {"v2"}
        assert filled.count(PointFilter(doc_ids=("hepb",))) == 3  # kept, only hidden
