"""Hybrid retrieval: dense top-N and BM25 top-N fused on the client (`kb.fusion`).

Order of operations:
1. store-side filters (status, type, topic, audience, dates, doc ids);
2. dense and BM25 candidate lists (hybrid BM25 also searches the other names of the query's
   domain terms, `kb.vocabulary`, at `query_expansion` weight when that is on), fused on the client (`kb.fusion`), so both
   store backends rank identically and the trace keeps each retriever's rank; when BM25's top hits
   match the question only through their documents' titles, fusion gives BM25 no weight
   (`title_only_bm25`);
3. sentence-level scoring (hybrid only, `maxsim_weight`, 0.5 by default): the fused top 10 are re-ordered by
   their best evidence sentence's similarity to the question, or the chunk's own when higher (MaxSim
   over the sentence vectors ingest stored), so a chunk whose one sentence answers is not out-ranked
   by a chunk that is merely about the topic; refusal reads the order without it (`Retrieved.unreordered`);
4. the authority priors (hybrid only): a bulletin item that summarises guidance ranks below the
   guidance itself unless it matches clearly better (`bulletin_weight`), older bulletin items
   weigh less than newer ones (`bulletin_half_life`), and sections that describe the document
   rather than its guidance (Purpose, Scope, Summary of changes...) weigh a little less
   (`boilerplate_weight`);
5. the catalog check: only each document's live version and catalog status count;
6. a cap on chunks per document, then the top k.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from kb.catalog import Catalog
from kb.embedder import Embedder
from kb.fusion import (
    adaptive_convex_fusion,
    cap_per_group,
    convex_combination,
    maxsim_rerank,
    reciprocal_rank_fusion,
)
from kb.mapping import chunk_from_payload, indexed_text
from kb.records import Hit, RetrievalTrace, SearchFilters
from kb.sparse import expanded_sparse_query, sparse_document, sparse_query
from kb.store import DENSE, SPARSE, PointFilter, StoredPoint, VectorStore

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")
FUSIONS: tuple[str, ...] = ("adaptive", "convex", "rrf")


@dataclass(frozen=True)
class RetrievalConfig:
    dense_k: int = 30
    sparse_k: int = 50
    rrf_k: int = 60
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    max_chunks_per_doc: int = 3
    fusion: str = "adaptive"  # adaptive | convex | rrf (see kb.fusion)
    fusion_dense_prior: float = 1.5
    fusion_gap_depth: int = 10
    bulletin_weight: float = 0.8
    bulletin_half_life: float = 4.0  # years; 0 = off
    boilerplate_weight: float = 0.8
    query_expansion: float = 0.0
    maxsim_weight: float = 0.5  # 0 = off (see kb.settings)
    maxsim_depth: int = 30
    maxsim_reorder: int = 10
    embed_section: bool = False  # what ingest indexed with each chunk (kb.settings embed_section)

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; choose one of {', '.join(FUSIONS)}")
        if self.dense_k < 1 or self.sparse_k < 1:
            raise ValueError("dense_k and sparse_k must be at least 1")
        if self.rrf_k < 1:
            raise ValueError("rrf_k must be at least 1")
        if not 0 < self.bulletin_weight <= 1:
            raise ValueError("bulletin_weight must be in (0, 1]")
        if not 0 <= self.query_expansion <= 1:
            raise ValueError("query_expansion must be in [0, 1]")
        if self.bulletin_half_life < 0:
            raise ValueError("bulletin_half_life must be 0 (off) or a number of years above 0")
        if not 0 < self.boilerplate_weight <= 1:
            raise ValueError("boilerplate_weight must be in (0, 1]")
        if self.maxsim_weight < 0:
            raise ValueError("maxsim_weight must be 0 (off) or above")
        if self.maxsim_depth < 1 or self.maxsim_reorder < 1:
            raise ValueError("maxsim_depth and maxsim_reorder must be at least 1")

    @classmethod
    def from_settings(cls, settings) -> RetrievalConfig:
        return cls(
            dense_k=settings.dense_k,
            sparse_k=settings.sparse_k,
            rrf_k=settings.rrf_k,
            dense_weight=settings.dense_weight,
            sparse_weight=settings.sparse_weight,
            max_chunks_per_doc=settings.max_chunks_per_doc,
            fusion=settings.fusion,
            fusion_dense_prior=settings.fusion_dense_prior,
            fusion_gap_depth=settings.fusion_gap_depth,
            bulletin_weight=settings.bulletin_weight,
            bulletin_half_life=settings.bulletin_half_life,
            boilerplate_weight=settings.boilerplate_weight,
            query_expansion=settings.query_expansion,
            maxsim_weight=settings.maxsim_weight,
            maxsim_depth=settings.maxsim_depth,
            maxsim_reorder=settings.maxsim_reorder,
            embed_section=settings.embed_section,
        )


# The last heading of a section that describes the document rather than giving guidance.
BOILERPLATE_SECTION = re.compile(
    r"^[\d.\s]*(purpose|scope|introduction|background|overview|contents|about this \w+( \w+)?|"
    r"summary of changes\b.*|what changed\b.*|what has changed\b.*)$", re.IGNORECASE)


_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def is_boilerplate(heading_path: str) -> bool:
    """True when the chunk's own section (the last heading) is Purpose, Scope, Background..."""
    return bool(BOILERPLATE_SECTION.match((heading_path or "").split(" > ")[-1].strip()))


def is_front_matter(payload: dict) -> bool:
    """A document's first chunk before its first section heading: the title page (owner,
    version, the sample banner), whose sentences describe the document rather than its guidance."""
    return payload.get("ordinal") == 0 and (payload.get("heading_path") or "") in ("", payload.get("title") or "")


@dataclass(frozen=True)
class Retrieved:
    """Hits, best first, and the retrieval trace the answer keeps.

    `unreordered`: with the sentence MaxSim re-rank on, the hits as fusion and the authority priors
    ranked them without it (None when MaxSim did not run). The refusal decision reads these, so
    turning MaxSim on changes which passages an answer quotes, not whether it answers.
    """

    hits: list[Hit]
    trace: RetrievalTrace
    unreordered: list[Hit] | None = None


def to_point_filter(filters: SearchFilters, statuses: tuple[str, ...] | None = None) -> PointFilter:
    if statuses is None:
        statuses = ("current", "superseded") if filters.include_superseded else ("current",)
    return PointFilter(
        doc_ids=tuple(filters.doc_ids),
        statuses=statuses,
        doc_types=tuple(t.value for t in filters.doc_types),
        topics=tuple(filters.topics),
        audience=tuple(filters.audience),
        published_from=filters.published_from,
        published_to=filters.published_to,
        live_only=True,
    )


class HybridRetriever:
    """Search the store and return `Hit`s, best first.

    >>> # retriever = HybridRetriever(store, embedder, catalog, RetrievalConfig())
    >>> # hits = retriever.search("hepatitis B non-responder", k=5)
    """

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        catalog: Catalog,
        config: RetrievalConfig | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.catalog = catalog
        self.config = config or RetrievalConfig()
        self._newest: tuple[tuple, dt.date | None] | None = None
        self._newest_lock = threading.Lock()
        self._matrices: OrderedDict = OrderedDict()  # see _sentence_matrices
        self._matrices_lock = threading.Lock()

    def candidates(
        self,
        query: str,
        where: PointFilter,
        query_vector: list[float] | None = None,
        expand: bool = False,
    ) -> tuple[list[float], list[StoredPoint], list[StoredPoint], dict[str, float]]:
        """(the query vector, dense candidates, BM25 candidates, timings)."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        qv = query_vector if query_vector is not None else self.embedder.embed_query(query)
        t1 = time.perf_counter()
        dense = self.store.query(DENSE, qv, self.config.dense_k, where)
        t2 = time.perf_counter()
        sq = expanded_sparse_query(query, self.config.query_expansion) if expand else sparse_query(query)
        sparse = self.store.query(SPARSE, sq, self.config.sparse_k, where)
        t3 = time.perf_counter()
        timings.update(embed=(t1 - t0) * 1e3, dense=(t2 - t1) * 1e3, bm25=(t3 - t2) * 1e3)
        return qv, dense, sparse, timings

    def fuse(self, dense: list[tuple[str, float]], sparse: list[tuple[str, float]],
             bm25_title_only: bool = False) -> list[tuple[str, float]]:
        """Fuse the two candidate lists with the configured fusion function. With `bm25_title_only`
        (`title_only_bm25`), adaptive fusion gives BM25's ranking no confidence."""
        cfg = self.config
        if cfg.fusion == "adaptive":
            return adaptive_convex_fusion(dense, sparse, cfg.fusion_dense_prior, cfg.fusion_gap_depth,
                                          sparse_confident=not bm25_title_only)
        if cfg.fusion == "convex":
            return convex_combination([dense, sparse], [cfg.dense_weight, cfg.sparse_weight])
        return reciprocal_rank_fusion(
            [[i for i, _ in dense], [i for i, _ in sparse]], k=cfg.rrf_k, weights=[cfg.dense_weight, cfg.sparse_weight]
        )

    def search(
        self,
        query: str,
        k: int = 5,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
        query_vector: list[float] | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> list[Hit]:
        return self.retrieve(query, k, filters, mode, query_vector, statuses).hits

    def retrieve(
        self,
        query: str,
        k: int = 5,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
        query_vector: list[float] | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> Retrieved:
        """The top `k` live hits and the trace of what each retriever returned."""
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        if not query.strip():
            raise ValueError("the query is empty")
        where = to_point_filter(filters or SearchFilters(), statuses)
        qv, dense, sparse, timings = self.candidates(query, where, query_vector, expand=mode == "hybrid")
        trace = RetrievalTrace(query=query, mode=mode, dense=[(p.id, p.score) for p in dense],
                               sparse=[(p.id, p.score) for p in sparse], timings_ms=timings)
        points = {p.id: p for p in sparse} | {p.id: p for p in dense}
        if mode == "hybrid" and self.config.fusion == "adaptive":
            trace.bm25_title_only = self.title_only_bm25(query, sparse)
        ranked = self.rank(mode, trace.dense, trace.sparse, trace.bm25_title_only)
        unreordered = live = None
        # The same ranking however the KB was opened: the sentence vectors come from the store ingest
        # wrote (`sentence_vectors`) or, for any that are missing, are embedded once and kept.
        if mode == "hybrid" and self.config.maxsim_weight > 0:
            t0 = time.perf_counter()
            top = [pid for pid, _ in ranked[: self.config.maxsim_depth]]
            reranked = maxsim_rerank(ranked, self.sentence_maxsim(qv, top, points, dict(trace.dense)),
                                     self.config.maxsim_weight, self.config.maxsim_depth, self.config.maxsim_reorder)
            trace.timings_ms["maxsim"] = (time.perf_counter() - t0) * 1e3
            unreordered, live = self._hits(self.authority(ranked, points, query), points, where, k, trace)
            ranked = reranked
        if mode == "hybrid":
            ranked = self.authority(ranked, points, query)
        return Retrieved(self._hits(ranked, points, where, k, trace, live)[0], trace, unreordered)

    def _hits(self, ranked: list[tuple[str, float]], points: dict[str, StoredPoint], where: PointFilter, k: int,
              trace: RetrievalTrace, live: dict[str, tuple[str, str]] | None = None,
              ) -> tuple[list[Hit], dict[str, tuple[str, str]]]:
        """The top `k` live hits of a ranking, at most `max_chunks_per_doc` per document, and the
        catalog's live versions it read (the same candidates ranked again need not read them twice)."""
        kept, live = self.live_only(ranked, points, set(where.statuses), live)
        order = cap_per_group([pid for pid, _ in kept], {pid: points[pid].payload["doc_id"] for pid, _ in kept},
                              self.config.max_chunks_per_doc)[:k]
        score_of = dict(kept)
        ranks = {"dense": {pid: i for i, (pid, _) in enumerate(trace.dense, 1)},
                 "sparse": {pid: i for i, (pid, _) in enumerate(trace.sparse, 1)}}
        dense_score = dict(trace.dense)
        return [_hit(points[pid], live, score_of[pid], ranks["dense"].get(pid), ranks["sparse"].get(pid),
                     dense_score.get(pid)) for pid in order], live

    def sentence_maxsim(self, query_vector: list[float], pids: list[str], points: dict[str, StoredPoint],
                        dense: dict[str, float] | None = None) -> dict[str, float]:
        """Each chunk's best evidence sentence's cosine with the question (MaxSim), or the chunk's own
        dense cosine when that is higher: the whole chunk is one more span. A chunk that matches as a
        whole but none of whose sentences does alone ("PEP should be started ... within 24 hours"
        under "HIV post-exposure prophylaxis": MiniLM does not know PEP is post-exposure prophylaxis,
        0.40 for the sentence, 0.67 for the chunk under its title) is not pushed below a chunk with one
        sentence that repeats the question's words (docs/RETRIEVAL.md, round 3).

        The sentences and their embedded text are the ones answers are selected from
        (`kb.ask.select.evidence_texts`), so with `sentence_vectors` on their
        vectors were stored at ingest and this reads them (`Embedder.embed_cached`); any that are
        missing are embedded once and kept. A chunk with no evidence sentence (a heading, a
        fragment) scores its own dense cosine, or 0 when dense did not return it. Front matter
        (`is_front_matter`) is left out, so it scores as the lowest candidate: under the title as
        their heading, its metadata lines match any question about the document (golden: a
        checklist's title page above its Outcome section).
        """
        import numpy as np

        qv = np.asarray(query_vector, dtype=np.float32)
        dense = dense or {}
        out: dict[str, float] = {}
        for pid, matrix in self._sentence_matrices(pids, points).items():
            spans = [float((matrix @ qv).max())] if matrix is not None else []
            if pid in dense:
                spans.append(dense[pid])
            out[pid] = max(spans, default=0.0)
        return out

    SENTENCE_MATRICES = 5_000  # chunks whose sentence vectors stay in memory (~8 x 1.5 KB each)

    def _sentence_matrices(self, pids: list[str], points: dict[str, StoredPoint]) -> dict:
        """{pid: float32 matrix of its evidence sentences' vectors, or None} for the chunks that
        are not front matter; an LRU of the matrices, so a warm search does no sentence splitting
        and no per-vector conversion (a cold one reads the vectors through `embed_cached`)."""
        import numpy as np

        from kb.ask.select import evidence_texts  # kb.ask imports this module

        found, todo = {}, {}
        with self._matrices_lock:
            for pid in pids:
                pay = points[pid].payload
                if is_front_matter(pay):
                    continue
                key = (pid, hash(pay.get("text", "")))
                if key in self._matrices:
                    self._matrices.move_to_end(key)
                    found[pid] = self._matrices[key]
                else:
                    todo[pid] = key
        if todo:
            pays = {pid: points[pid].payload for pid in todo}
            texts = {pid: evidence_texts(p.get("text", ""), p.get("heading_path", "") or "", p.get("title", "") or "")
                     for pid, p in pays.items()}
            flat = list(dict.fromkeys(t for ts in texts.values() for t in ts))
            vec = dict(zip(flat, self.embedder.embed_cached(flat), strict=True)) if flat else {}
            with self._matrices_lock:
                for pid, ts in texts.items():
                    m = np.asarray([vec[t] for t in ts], dtype=np.float32) if ts else None
                    found[pid] = self._matrices[todo[pid]] = m
                while len(self._matrices) > self.SENTENCE_MATRICES:
                    self._matrices.popitem(last=False)
        return found

    def rank(self, mode: str, dense: list[tuple[str, float]], sparse: list[tuple[str, float]],
             bm25_title_only: bool = False) -> list[tuple[str, float]]:
        if mode == "dense":
            return list(dense)
        if mode == "bm25":
            return list(sparse)
        return self.fuse(dense, sparse, bm25_title_only)

    def title_only_bm25(self, query: str, sparse: list[StoredPoint]) -> bool:
        """Whether every one of BM25's top `fusion_gap_depth` hits matches the query only through
        words of its own document title.

        A chunk is indexed under its document's title (`point_text`), so for "What is (are)
        glaucoma ?" every passage of the glaucoma document matches "glaucoma", and BM25 orders
        them by how often the word recurs and by length, not by which one answers. Its score gap
        then says nothing about the passage, but adaptive fusion read it as confidence and let
        BM25's order push the definition the dense ranking had found out of the top 10. When this
        holds, fusion gives BM25 no weight (`adaptive_dense_weight`). On the dev splits
        (docs/RETRIEVAL.md, addendum 3) it holds for 60 of 400 MedQuAD questions, 1 of 359
        COVID-QA questions and none of the 95 golden ones: MedQuAD r@10 .8525 -> .8575, the others
        unchanged. The test stops at the first hit that matches a word outside its title, which
        for most questions is the first hit."""
        top = sparse[: self.config.fusion_gap_depth]
        if len(top) < 2:
            return False
        expand = self.config.query_expansion
        terms = set((expanded_sparse_query(query, expand) if expand else sparse_query(query))[0])
        if not terms:
            return False
        titles: dict[str, set[int]] = {}
        for point in top:
            title = str(point.payload.get("title") or "")
            if title not in titles:
                titles[title] = set(sparse_document(title)[0]) if title else set()
            rest = terms - titles[title]
            if not rest:
                continue  # every query word is in the title: whatever the chunk says, it matched the title
            text = indexed_text(title, str(point.payload.get("text") or ""), point.payload.get("heading_path") or "",
                                point.payload.get("source_path") or "", self.config.embed_section)
            indexed = set(sparse_document(text)[0])
            if rest & indexed:
                return False
        return True

    def authority(self, ranked: list[tuple[str, float]], points: dict[str, StoredPoint],
                  query: str = "") -> list[tuple[str, float]]:
        """Scale fused scores by the authority priors and re-sort (ties keep the fused order).

        - Bulletin items by `bulletin_weight`. Why: a bulletin item summarises the guideline it
          announces, so both match a question; the member should be sent to the guideline. On
          the golden dev set, 11 of the 23 questions whose first hit was wrong had a bulletin
          item first and the guideline second; 0.8 moves chunk recall@1 from .758 to .810
          (0.9: .800, 0.7: .800).
        - Bulletin items again by 0.5 ** (age / `bulletin_half_life`), the age in years before
          the library's newest bulletin: news goes stale, and an old item often states what a
          later guideline changed (golden: an IR1 form item from 2021 above the 2024 procedure
          that withdrew it). Measured against the library's newest bulletin, not today, so an
          unchanged library ranks the same next year. Half-life 4 years: .810 -> .821 (2: .810, 8: .810).
          Not when the question names a year ("the 2021 TRiM course"): then it asks about that
          time, and recency is not what it wants.
        - Chunks whose own section is boilerplate (`is_boilerplate`: Purpose, Scope, Summary of
          changes...) by `boilerplate_weight`: they mention every topic of the document and
          answer none in detail. 0.8 with the two bulletin priors: .821 -> .842 (0.9: .832).
        MedQuAD and COVID-QA dev are unchanged by all three (no bulletins; no such sections win).
        """
        cfg = self.config
        if cfg.bulletin_weight >= 1 and cfg.boilerplate_weight >= 1:
            return ranked
        decay = bool(cfg.bulletin_half_life) and cfg.bulletin_weight < 1 and not _YEAR.search(query)
        # The catalog is asked (one small query) only when a bulletin item is among the candidates.
        bulletins = decay and any(points[pid].payload.get("doc_type") == "bulletin" for pid, _ in ranked)
        newest = self._newest_bulletin() if bulletins else None

        def weight(payload: dict) -> float:
            w = 1.0
            if payload.get("doc_type") == "bulletin":
                w = cfg.bulletin_weight
                published = payload.get("published")
                if newest is not None and published:
                    age = max(0.0, (newest - dt.date.fromisoformat(published[:10])).days / 365.25)
                    w *= 0.5 ** (age / cfg.bulletin_half_life)
            if cfg.boilerplate_weight < 1 and is_boilerplate(payload.get("heading_path", "")):
                w *= cfg.boilerplate_weight
            return w

        scaled = [(pid, score * weight(points[pid].payload) if score > 0 else score) for pid, score in ranked]
        order = {pid: i for i, (pid, _) in enumerate(ranked)}
        return sorted(scaled, key=lambda x: (-x[1], order[x[0]]))

    def _newest_bulletin(self) -> dt.date | None:
        """The newest publication date of a bulletin in the catalog (cached until it changes)."""
        if self.catalog is None:
            return None
        stamp = self.catalog.documents_stamp()
        with self._newest_lock:
            if self._newest is None or self._newest[0] != stamp:
                self._newest = (stamp, self.catalog.newest_published("bulletin"))
            return self._newest[1]

    def live_only(
        self, ranked: list[tuple[str, float]], points: dict[str, StoredPoint], allowed: set[str],
        live: dict[str, tuple[str, str]] | None = None,
    ) -> tuple[list[tuple[str, float]], dict[str, tuple[str, str]]]:
        """Keep hits of each document's live version whose catalog status is allowed (`live`: the
        catalog's live versions when the caller already has them)."""
        if live is None:
            live = self.catalog.live_versions(points[pid].payload.get("doc_id", "") for pid, _ in ranked)
        kept = []
        for pid, score in ranked:
            payload = points[pid].payload
            version, status = live.get(payload.get("doc_id"), (None, None))
            if version is not None and payload.get("version") == version and status in allowed:
                kept.append((pid, score))
        return kept, live

    def dense_matches(self, query_vector: list[float], k: int, filters: SearchFilters | None,
                      statuses: tuple[str, ...]) -> list[Hit]:
        """One dense query (no BM25, no fusion): used for the superseded-guidance check."""
        where = to_point_filter(filters or SearchFilters(), statuses)
        by_id = {p.id: p for p in self.store.query(DENSE, query_vector, k, where)}
        kept, live = self.live_only([(pid, p.score) for pid, p in by_id.items()], by_id, set(statuses))
        return [_hit(by_id[pid], live, score, i, None, score) for i, (pid, score) in enumerate(kept, 1)]


def _hit(point: StoredPoint, live: dict[str, tuple[str, str]], score: float, dense_rank: int | None,
         sparse_rank: int | None, dense_score: float | None) -> Hit:
    """A hit whose chunk carries the catalog's status (the payload's may lag a status change)."""
    status = live[point.payload["doc_id"]][1]
    return Hit(chunk=chunk_from_payload({**point.payload, "status": status}), score=float(score),
               dense_rank=dense_rank, sparse_rank=sparse_rank, dense_score=dense_score)
