"""Copy an embedded knowledge base (Edge shard + catalog) to a Qdrant server and a PostgreSQL
catalog, then verify the copy. `kb migrate --to server` is the command around it.

Steps, each reported through `progress(stage, done, total, detail)`:
1. `points`: every point of the Edge shard, with its dense and BM25 vectors and payload,
   upserted into the server collection in batches (ids unchanged, so a re-run is idempotent);
2. `catalog`: every catalog table copied row for row in one transaction (seq columns too,
   so history keeps its order);
3. `verify`: row counts per table, point counts per document (all versions and the live
   one), and a sample of questions asked of both sides, whose citations must match.

Nothing is written to the source (opening a catalog made by an older version upgrades its
schema in place, as every open does). The target must be empty unless `replace=True`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qdrant_edge import CountRequest, EdgeShard, ScrollRequest

from kb.catalog import Catalog
from kb.errors import KBError
from kb.store import PointData, PointFilter
from kb.store.edge import ShardLock
from kb.store.filters import DENSE, SPARSE

Progress = Callable[[str, int, int, str], None]
BATCH = 256


@dataclass(frozen=True)
class DocumentCheck:
    doc_id: str
    live_version: str
    catalog_chunks: int  # chunk_count the catalog records for the live version
    source_points: int  # all versions
    target_points: int
    source_live: int
    target_live: int

    @property
    def ok(self) -> bool:
        return self.source_points == self.target_points and self.source_live == self.target_live


@dataclass(frozen=True)
class QuestionCheck:
    question: str
    source: tuple[str, ...]  # cited chunk ids, in citation order
    target: tuple[str, ...]
    source_hits: tuple[str, ...] = ()  # top search hits (chunk ids): a check even when both refuse
    target_hits: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        # Hits are compared as sets: near-ties may swap places between two engines.
        return self.source == self.target and set(self.source_hits) == set(self.target_hits)


@dataclass(frozen=True)
class MigrationReport:
    source: dict[str, str]
    target: dict[str, str]
    points_copied: int
    tables: dict[str, tuple[int, int]]  # table -> (source rows, target rows)
    documents: list[DocumentCheck]
    questions: list[QuestionCheck]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def contract(self) -> dict:
        """The JSON that `kb migrate --json` prints."""
        return {
            "ok": self.ok,
            "source": self.source,
            "target": self.target,
            "points_copied": self.points_copied,
            "tables": {t: {"source": s, "target": d} for t, (s, d) in self.tables.items()},
            "documents": [
                {
                    "doc_id": d.doc_id,
                    "live_version": d.live_version,
                    "catalog_chunks": d.catalog_chunks,
                    "source_points": d.source_points,
                    "target_points": d.target_points,
                    "source_live_points": d.source_live,
                    "target_live_points": d.target_live,
                    "ok": d.ok,
                }
                for d in self.documents
            ],
            "questions": [
                {
                    "question": q.question,
                    "source": list(q.source),
                    "target": list(q.target),
                    "source_hits": list(q.source_hits),
                    "target_hits": list(q.target_hits),
                    "same": q.ok,
                }
                for q in self.questions
            ],
            "problems": self.problems,
        }


def shard_dimension(shard_path: Path) -> int:
    cfg = Path(shard_path) / "edge_config.json"
    if not cfg.is_file():
        raise KBError(
            f"{shard_path}: no embedded store here (edge_config.json is missing). Point --kb-dir at "
            "the knowledge base to migrate."
        )
    return int(json.loads(cfg.read_text())["vectors"][DENSE]["size"])


class EdgeSnapshot:
    """Read-only access to an Edge shard's points with their vectors, holding the shard's lock
    (a running app or ingest makes this fail with "in use by pid N" instead of a torn copy)."""

    def __init__(self, shard_path: Path) -> None:
        self.path = Path(shard_path)
        self._lock = ShardLock(self.path)

    def __enter__(self) -> EdgeSnapshot:
        self._lock.acquire()
        try:
            self._shard = EdgeShard.load(str(self.path))
        except Exception:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._shard.close()
        self._lock.release()

    def count(self) -> int:
        return int(self._shard.count(CountRequest(exact=True)))

    def batches(self, size: int = BATCH) -> Iterator[list[PointData]]:
        offset = None
        while True:
            records, offset = self._shard.scroll(
                ScrollRequest(offset=offset, limit=size, with_payload=True, with_vector=True)
            )
            batch = []
            for r in records:
                sparse = r.vector[SPARSE]
                batch.append(
                    PointData(str(r.id), list(r.vector[DENSE]), list(sparse.indices), list(sparse.values),
                              dict(r.payload or {}))
                )
            if batch:
                yield batch
            if offset is None:
                return


def empty_collection(target_store) -> None:
    """Delete every point of a ServerStore collection (for --replace)."""
    from qdrant_client import models

    ids = [p.id for p in target_store.scroll()]
    for start in range(0, len(ids), 1000):
        target_store.client.delete(
            target_store.collection, points_selector=models.PointIdsList(points=ids[start : start + 1000]), wait=True
        )


def copy_points(shard_path: Path, target, progress: Progress) -> Counter:
    """Copy every point; returns the number of points per (doc_id, version)."""
    per_version: Counter = Counter()
    with EdgeSnapshot(shard_path) as snap:
        total, done = snap.count(), 0
        progress("points", 0, total, "")
        for points in snap.batches():
            target.upsert(points)
            for p in points:
                per_version[(p.payload.get("doc_id", ""), p.payload.get("version", ""))] += 1
            done += len(points)
            progress("points", done, total, points[-1].payload.get("doc_id", ""))
    return per_version


def sample_questions(catalog: Catalog, limit: int) -> list[str]:
    """Questions from the library itself: the titles of up to `limit` current documents, spread evenly."""
    titles = [d.title for d in catalog.documents(["current"]) if d.title.strip()]
    if len(titles) <= limit:
        return titles
    step = len(titles) / limit
    return [titles[int(i * step)] for i in range(limit)]


def _cited(kb, question: str) -> tuple[str, ...]:
    return tuple(c.chunk_id for c in kb.ask(question, answer_mode="extractive").citations)


def _hits(kb, question: str, k: int = 5) -> tuple[str, ...]:
    return tuple(h.chunk.chunk_id for h in kb.search(question, k=k))


def verify(
    source_kb,
    target_kb,
    per_version: Counter,
    questions: Sequence[str],
    progress: Progress,
) -> tuple[dict[str, tuple[int, int]], list[DocumentCheck], list[QuestionCheck], list[str]]:
    problems: list[str] = []
    src_counts, dst_counts = source_kb.catalog.row_counts(), target_kb.catalog.row_counts()
    tables = {t: (n, dst_counts.get(t, 0)) for t, n in src_counts.items()}
    for t, (s, d) in tables.items():
        if s != d:
            problems.append(f"catalog table {t}: {s} rows in the source, {d} in the target")
    docs = source_kb.catalog.documents()
    checks: list[DocumentCheck] = []
    for i, doc in enumerate(docs, 1):
        progress("verify", i, len(docs), doc.doc_id)
        source_points = sum(n for (d, _), n in per_version.items() if d == doc.doc_id)
        check = DocumentCheck(
            doc_id=doc.doc_id,
            live_version=doc.version,
            catalog_chunks=doc.chunk_count,
            source_points=source_points,
            target_points=target_kb.store.count(PointFilter(doc_ids=(doc.doc_id,))),
            source_live=per_version.get((doc.doc_id, doc.version), 0),
            target_live=target_kb.store.count(PointFilter(doc_ids=(doc.doc_id,), versions=(doc.version,))),
        )
        checks.append(check)
        if not check.ok:
            problems.append(
                f"{doc.doc_id}: {check.source_points} points ({check.source_live} live) in the source, "
                f"{check.target_points} ({check.target_live} live) in the target"
            )
    total_source, total_target = sum(per_version.values()), target_kb.store.count()
    if total_source != total_target:
        problems.append(f"store: {total_source} points in the source, {total_target} in the target")
    answers: list[QuestionCheck] = []
    for i, q in enumerate(questions, 1):
        progress("ask", i, len(questions), q)
        check = QuestionCheck(
            q, _cited(source_kb, q), _cited(target_kb, q), _hits(source_kb, q), _hits(target_kb, q)
        )
        answers.append(check)
        if not check.ok:
            problems.append(
                f"question {q!r}: cites {list(check.source)} (hits {list(check.source_hits)}) in the source, "
                f"{list(check.target)} (hits {list(check.target_hits)}) in the target"
            )
    return tables, checks, answers, problems


def migrate_to_server(
    settings,
    embedder,
    target_store,
    target_catalog: Catalog,
    questions: Sequence[str] | None = None,
    sample: int = 10,
    replace: bool = False,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy the embedded knowledge base in `settings.kb_dir` to `target_store` (a ServerStore)
    and `target_catalog` (normally PostgreSQL), then verify. The caller owns and closes the targets."""
    from kb.service import KnowledgeBase
    from kb.store.edge import EdgeStore

    progress = progress or (lambda *a: None)
    shard = settings.shard_path
    dim = shard_dimension(shard)
    if dim != embedder.dim:
        raise KBError(f"{shard}: the store holds {dim}-dimensional vectors but the embedder makes {embedder.dim}.")
    if not settings.catalog_path.is_file():
        raise KBError(f"{settings.catalog_path}: no embedded catalog to migrate.")
    source_catalog = Catalog(settings.catalog_path)
    try:
        existing_points, existing_docs = target_store.count(), len(target_catalog.documents())
        if (existing_points or existing_docs) and not replace:
            raise KBError(
                f"The target is not empty ({existing_points} points in the collection, {existing_docs} "
                f"documents in {target_catalog.description}). Use an empty collection and database, "
                "or pass --replace to overwrite them."
            )
        if replace and existing_points:
            empty_collection(target_store)
        per_version = copy_points(shard, target_store, progress)
        progress("catalog", 0, 1, target_catalog.description)
        target_catalog.copy_from(source_catalog, replace=replace)
        progress("catalog", 1, 1, target_catalog.description)
        # The source is reopened read-only for the comparison; ask() does not log (log=False).
        source_kb = KnowledgeBase(settings, embedder=embedder, store=EdgeStore(shard, dim), catalog=source_catalog)
        target_kb = KnowledgeBase(settings, embedder=embedder, store=target_store, catalog=target_catalog)
        try:
            asked = list(questions) if questions is not None else sample_questions(source_catalog, sample)
            tables, docs, answers, problems = verify(source_kb, target_kb, per_version, asked, progress)
        finally:
            source_kb.store.close()
    finally:
        source_catalog.close()
    return MigrationReport(
        source={"store": f"edge:{shard}", "catalog": str(settings.catalog_path)},
        target={"store": f"server:{getattr(target_store, 'collection', '')}", "catalog": target_catalog.description},
        points_copied=sum(per_version.values()),
        tables=tables,
        documents=docs,
        questions=answers,
        problems=problems,
    )
