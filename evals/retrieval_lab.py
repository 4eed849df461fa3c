"""Retrieval experiments on the dev splits: fetch each retriever's candidates once, then try
ranking techniques in memory and print recall@k for each, side by side with the baselines.

    python -m evals.retrieval_lab [--sets golden,medquad,covidqa] [--json OUT] [--no-maxsim] [--stored-maxsim]

Only dev splits are used (golden, MedQuAD dev folders, COVID-QA dev papers). The numbers that
go in reports still come from `kb eval`, which runs `KnowledgeBase.search` itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from evals import metrics as m
from kb.fusion import (
    adaptive_convex_fusion,
    cap_per_group,
    convex_combination,
    min_max,
    reciprocal_rank_fusion,
)
from kb.mapping import point_text, section_context
from kb.records import SearchFilters
from kb.retrieval import HybridRetriever, RetrievalConfig, to_point_filter
from kb.sentences import split_sentences
from kb.sparse import sparse_query
from kb.store import DENSE, SPARSE, StoredPoint

KS = (1, 3, 5, 10)
DEPTH = 100


@dataclass
class Query:
    text: str
    relevant: Callable[[dict], bool]
    dense: list[tuple[str, float]] = field(default_factory=list)
    sparse: list[tuple[str, float]] = field(default_factory=list)
    sparse_x: list[tuple[str, float]] = field(default_factory=list)  # BM25 with the expanded query
    vector: list[float] | None = None


@dataclass
class LabSet:
    name: str
    kb: object
    queries: list[Query]
    cap: int  # chunks per document in the ranked list (the eval's own setting)
    payloads: dict[str, dict] = field(default_factory=dict)

    def rel(self, q: Query, pid: str) -> bool:
        return q.relevant(self.payloads[pid])


def collect(lab: LabSet, expand: Callable[[str], tuple[list[int], list[float]]] | None, progress=True) -> None:
    kb = lab.kb
    where = to_point_filter(SearchFilters())
    vectors = kb.embedder.embed([q.text for q in lab.queries])
    for i, (q, qv) in enumerate(zip(lab.queries, vectors, strict=True)):
        q.vector = qv
        dense = kb.store.query(DENSE, qv, DEPTH, where)
        sparse = kb.store.query(SPARSE, sparse_query(q.text), DEPTH, where)
        q.dense = [(p.id, p.score) for p in dense]
        q.sparse = [(p.id, p.score) for p in sparse]
        pts = dense + sparse
        if expand is not None:
            sx = kb.store.query(SPARSE, expand(q.text), DEPTH, where)
            q.sparse_x = [(p.id, p.score) for p in sx]
            pts += sx
        for p in pts:
            lab.payloads.setdefault(p.id, p.payload)
        if progress and (i + 1) % 50 == 0:
            print(f"  {lab.name}: {i + 1}/{len(lab.queries)}", file=sys.stderr)


def score(lab: LabSet, rank: Callable[[Query], list[str]]) -> dict[str, float]:
    hits = {k: 0 for k in KS}
    mrr = 0.0
    for q in lab.queries:
        ranked = rank(q)
        ranked = cap_per_group(ranked, {p: lab.payloads[p]["doc_id"] for p in ranked}, lab.cap)[:10]
        flags = [lab.rel(q, p) for p in ranked]
        for k in KS:
            hits[k] += any(flags[:k])
        mrr += m.flags_mrr(flags, 10)
    n = len(lab.queries) or 1
    return {**{f"r@{k}": round(hits[k] / n, 4) for k in KS}, "mrr": round(mrr / n, 4)}


# ------------------------------------------------------------------ sentence vectors (MaxSim)


class SentenceCache:
    def __init__(self, lab: LabSet) -> None:
        self.lab = lab
        self.vectors: dict[str, list[list[float]]] = {}

    def ensure(self, pids: set[str]) -> None:
        todo = [p for p in pids if p not in self.vectors]
        if not todo:
            return
        texts, owners = [], []
        for p in todo:
            pay = self.lab.payloads[p]
            sents = [s.text for s in split_sentences(pay["text"]) if len(s.text) >= 12] or [pay["text"]]
            for s in sents:
                texts.append(s)
                owners.append(p)
        vecs = self.lab.kb.embedder.embed(texts)
        for p in todo:
            self.vectors[p] = []
        for p, v in zip(owners, vecs, strict=True):
            self.vectors[p].append(v)

    def maxsim(self, pid: str, qv: list[float]) -> float:
        return max(sum(a * b for a, b in zip(v, qv, strict=True)) for v in self.vectors[pid])


def run(sets: list[LabSet], sent_depth: int = 30, maxsim: bool = True, stored_maxsim: bool = False) -> dict:
    return {lab.name: run_one(lab, sent_depth, maxsim, stored_maxsim) for lab in sets}


def run_one(lab: LabSet, sent_depth: int = 30, maxsim: bool = True, stored_maxsim: bool = False) -> dict[str, dict]:
    def adaptive(q: Query, sparse=None, prior=1.5, depth_d=30, depth_s=30):
        return [p for p, _ in adaptive_convex_fusion(q.dense[:depth_d], (sparse or q.sparse)[:depth_s], prior)]

    t0 = time.perf_counter()
    r: dict[str, dict] = {}
    r["dense"] = score(lab, lambda q: [p for p, _ in q.dense])
    r["bm25"] = score(lab, lambda q: [p for p, _ in q.sparse])
    r["rrf@30"] = score(lab, lambda q: [p for p, _ in reciprocal_rank_fusion(
        [[p for p, _ in q.dense[:30]], [p for p, _ in q.sparse[:30]]])])
    r["adaptive@30 (current)"] = score(lab, lambda q: adaptive(q))
    for d in (50, 100):
        r[f"adaptive@{d}"] = score(lab, lambda q, d=d: adaptive(q, depth_d=d, depth_s=d))
    for prior in (1.0, 2.0):
        r[f"adaptive prior {prior}"] = score(lab, lambda q, pr=prior: adaptive(q, prior=pr))
    if lab.queries and lab.queries[0].sparse_x:
        r["bm25 expanded"] = score(lab, lambda q: [p for p, _ in q.sparse_x])
        r["adaptive + expanded bm25"] = score(lab, lambda q: adaptive(q, sparse=q.sparse_x))
    for b in (0.8,):
        r[f"authority x{b} + expanded bm25"] = score(lab, lambda q, b=b: [p for p, _ in sorted(
            adaptive_convex_fusion(q.dense[:30], q.sparse_x[:30], 1.5), key=lambda x: -x[1] * (
                b if lab.payloads[x[0]].get("doc_type") == "bulletin" and x[1] > 0 else 1.0))]) \
            if lab.queries and lab.queries[0].sparse_x else {}
    # The shipped authority priors (`HybridRetriever.authority`) at other settings: bulletin items
    # decay with age (before the set's newest bulletin) and boilerplate sections weigh less.
    pubs = [dt.date.fromisoformat(p["published"]) for p in lab.payloads.values()
            if p.get("doc_type") == "bulletin" and p.get("published")]
    newest = _NewestBulletin(max(pubs) if pubs else None)

    def priors(q, base=0.8, half_life=0.0, boil=1.0, years=False):
        cfg = RetrievalConfig(bulletin_weight=base, bulletin_half_life=half_life, boilerplate_weight=boil)
        f = adaptive_convex_fusion(q.dense[:30], q.sparse[:30], 1.5)
        points = {p: StoredPoint(p, s, lab.payloads[p]) for p, s in f}
        # `years`: the shipped rule, no recency decay when the question names a year
        return [p for p, _ in HybridRetriever(None, None, newest, cfg).authority(f, points, q.text if years else "")]
    r["prior bulletin x0.8 (current)"] = score(lab, lambda q: priors(q))
    for hl in (2.0, 4.0, 8.0):
        r[f"prior bulletin x0.8 half-life {hl}y"] = score(lab, lambda q, hl=hl: priors(q, half_life=hl))
    for boil in (0.9, 0.8):
        r[f"prior x0.8 + boilerplate x{boil}"] = score(lab, lambda q, b=boil: priors(q, boil=b))
        r[f"prior x0.8 hl 4y + boilerplate x{boil}"] = score(lab, lambda q, b=boil: priors(q, half_life=4.0, boil=b))
    r["prior x0.8 hl 4y unless a year + boilerplate x0.8 (shipped)"] = score(
        lab, lambda q: priors(q, half_life=4.0, boil=0.8, years=True))
    if stored_maxsim:  # the shipped rerank (`HybridRetriever.sentence_maxsim`, `maxsim_weight`)
        r.update(shipped_maxsim(lab, newest))
    if not maxsim:
        _report(lab, r, t0)
        return r
    # MaxSim over sentence vectors, mixed with the fused score, on the top `sent_depth`.
    cache = SentenceCache(lab)
    fused = {id(q): adaptive_convex_fusion(q.dense[:30], q.sparse[:30], 1.5)[:sent_depth] for q in lab.queries}
    cache.ensure({p for f in fused.values() for p, _ in f})
    for w in (0.25, 0.5, 1.0):
        def rer(q, w=w):
            f = fused[id(q)]
            ms = min_max([cache.maxsim(p, q.vector) for p, _ in f])
            fs = min_max([s for _, s in f])
            order = sorted(range(len(f)), key=lambda i: -(fs[i] + w * ms[i]))
            return [f[i][0] for i in order]
        r[f"adaptive + maxsim w={w}"] = score(lab, rer)

    def maxsim_as_dense(q, w=0.5):
        f = fused[id(q)]
        dense = dict(q.dense)
        mixed = [(p, (1 - w) * dense.get(p, 0.0) + w * cache.maxsim(p, q.vector)) for p, _ in f]
        mixed.sort(key=lambda x: -x[1])
        return [p for p, _ in convex_combination([mixed, q.sparse[:30]], [0.6, 0.4])]
    r["maxsim-blended dense, convex"] = score(lab, maxsim_as_dense)

    def authority_maxsim(q, beta, w=0.25):
        f = adaptive_convex_fusion(q.dense[:30], q.sparse[:30], 1.5)
        top = f[:sent_depth]
        ms = min_max([cache.maxsim(p, q.vector) for p, _ in top])
        fs = min_max([s for _, s in top])
        f = [(p, fs[i] + w * ms[i]) for i, (p, _) in enumerate(top)] + [(p, -1.0) for p, _ in f[sent_depth:]]
        f = [(p, s * (beta if lab.payloads[p].get("doc_type") == "bulletin" and s > 0 else 1.0)) for p, s in f]
        return [p for p, _ in sorted(f, key=lambda x: -x[1])]
    for beta in (0.9, 0.8, 0.7):
        r[f"authority bulletin x{beta}"] = score(lab, lambda q, b=beta: priors(q, base=b, boil=1.0))
        r[f"authority x{beta} + maxsim 0.25"] = score(lab, lambda q, b=beta: authority_maxsim(q, b))
    _report(lab, r, t0)
    return r


MAXSIM_WEIGHTS = (0.25, 0.5, 0.75, 1.0)


def shipped_maxsim(lab: LabSet, newest: _NewestBulletin) -> dict[str, dict]:
    """The MaxSim rerank (`maxsim_weight`) over the evidence sentences' vectors (the ones ingest
    stores), at several weights and depths, before the shipped authority priors, as `retrieve`
    runs it. Uses the lab's BM25 30 candidates (the shipped `sparse_k` is 50)."""
    from kb.fusion import maxsim_rerank

    retriever = HybridRetriever(None, lab.kb.embedder, None, RetrievalConfig())
    t0 = time.perf_counter()
    ms: dict[int, dict[str, float]] = {}
    for i, q in enumerate(lab.queries):
        f = adaptive_convex_fusion(q.dense[:30], q.sparse[:30], 1.5)[:50]
        points = {p: StoredPoint(p, s, lab.payloads[p]) for p, s in f}
        ms[id(q)] = retriever.sentence_maxsim(q.vector, [p for p, _ in f], points, dict(q.dense))
        if (i + 1) % 50 == 0:
            print(f"  {lab.name}: sentence MaxSim {i + 1}/{len(lab.queries)}", file=sys.stderr)
    print(f"  {lab.name}: sentence MaxSim for {len(lab.queries)} questions in {time.perf_counter() - t0:.0f}s",
          file=sys.stderr)
    def rank(q, w, depth, with_priors=True, reorder=None):
        f = adaptive_convex_fusion(q.dense[:30], q.sparse[:30], 1.5)
        f = maxsim_rerank(f, ms[id(q)], w, depth, reorder or depth)
        if not with_priors:
            return [p for p, _ in f]
        points = {p: StoredPoint(p, s, lab.payloads[p]) for p, s in f}
        return [p for p, _ in HybridRetriever(None, None, newest, RetrievalConfig()).authority(f, points, q.text)]

    r = {}
    for w in MAXSIM_WEIGHTS:
        for depth in (10, 20, 30, 50):
            r[f"shipped priors + stored maxsim w={w} depth {depth}"] = score(lab, lambda q, w=w, d=depth: rank(q, w, d))
        r[f"stored maxsim w={w} depth 30, no priors"] = score(lab, lambda q, w=w: rank(q, w, 30, False))
        # as `maxsim_weight` runs it: scales over the top 30, only the top 10 re-ordered
        r[f"shipped priors + stored maxsim w={w} over 30, top 10 re-ordered"] = score(
            lab, lambda q, w=w: rank(q, w, 30, reorder=10))
    return r


class _NewestBulletin:
    """The two catalog calls of the bulletin age prior, answered from the lab set's payloads."""

    def __init__(self, newest) -> None:
        self.newest = newest

    def documents_stamp(self) -> tuple:
        return ()

    def newest_published(self, doc_type: str):
        return self.newest


def _report(lab: LabSet, r: dict, t0: float) -> None:
    print(f"\n{lab.name} (n={len(lab.queries)}, cap={lab.cap}, {time.perf_counter() - t0:.0f}s)")
    for name, vals in r.items():
        print(f"  {name:34s} " + "  ".join(f"{k} {v:.3f}" for k, v in vals.items()))


# ------------------------------------------------------------------ contextual chunk text


def _section(p: dict, levels: int = 2) -> str:
    """The section path's last `levels` headings, whatever the source (`section_context` without
    its plain-text rule)."""
    return section_context(p.get("heading_path", ""), "", levels)


# What the embedder and BM25 see for a chunk. "title" is what ingest stores by default
# (kb.mapping.point_text); "title+marked-section" is what it stores with `embed_section` on.
CONTEXTS: dict[str, Callable[[dict], str]] = {
    "title": lambda p: f"{p['title']}\n{p['text']}",
    "title+section": lambda p: f"{p['title']}\n{_section(p)}\n{p['text']}",
    # the section path only where the source marks its headings up (not plain .txt, whose
    # headings the loader guesses)
    "title+marked-section": lambda p: point_text(p["title"], p["text"], section_context(
        p.get("heading_path", ""), p.get("source_path", ""))),  # ingest with embed_section on
    # richer, still document-derived: type, topics, the section path and where it sits
    "rich": lambda p: (f"{p['title']} ({p.get('doc_type', '')}"
                       + (f"; {', '.join(p.get('topics') or [])}" if p.get("topics") else "")
                       + ")\n" + (f"Section: {_section(p, 3)}\n" if _section(p) else "")
                       + p["text"]),
}


def recontext(lab: LabSet, variant: str) -> None:
    """Re-embed and re-index every chunk of `lab` with the `variant` text, in a temp Edge store
    (payloads unchanged), and point the lab's KB at it. Queries are untouched."""
    import tempfile
    from pathlib import Path

    from kb.sparse import sparse_document
    from kb.store import PointData
    from kb.store.edge import EdgeStore

    if variant == "title":
        return
    pts = lab.kb.store.scroll()
    texts = [CONTEXTS[variant](p.payload) for p in pts]
    t0 = time.perf_counter()
    vecs = lab.kb.embedder.embed(texts)
    store = EdgeStore(Path(tempfile.mkdtemp(prefix=f"lab-{variant}-")) / "shard", len(vecs[0]))
    for i in range(0, len(pts), 512):
        store.upsert([PointData(p.id, v, *sparse_document(t), p.payload)
                      for p, v, t in zip(pts[i:i + 512], vecs[i:i + 512], texts[i:i + 512], strict=True)])
    store.flush()
    print(f"  {lab.name}: {len(pts)} chunks re-embedded as {variant!r} in {time.perf_counter() - t0:.0f}s",
          file=sys.stderr)
    lab.kb._store = store  # the lab reads kb.store only; nothing else uses this KB


# ------------------------------------------------------------------ data sets


def golden_set() -> LabSet:
    from evals.golden import golden_kb, load_cases
    from evals.golden_run import _norm

    kb = golden_kb()
    qs = []
    for case in load_cases():
        if case.kind == "unanswerable":
            continue

        def rel(p, case=case):
            if p["doc_id"] not in case.gold_doc_ids:
                return False
            if case.gold_pages and m.pages_overlap(p.get("page_start"), p.get("page_end"), case.gold_pages):
                return True
            return any(_norm(k) in _norm(p["text"]) for k in case.key_phrases)
        qs.append(Query(case.question, rel))
    return LabSet("golden", kb, qs, cap=3)


def medquad_set(limit: int = 400) -> LabSet:
    from evals.external import medquad
    from evals.external.run import medquad_kb

    _, queries = medquad.load()
    kb = medquad_kb()
    qs = [Query(q.question, lambda p, q=q: p.get("heading_path") == q.gold_passage)
          for q in medquad.dev_queries(queries, sample=limit)]
    return LabSet("medquad", kb, qs, cap=0)


def covidqa_set() -> LabSet:
    from evals.external import covidqa
    from evals.external.run import covidqa_kb

    _, queries = covidqa.load()
    kb = covidqa_kb()
    qs = [Query(q.question, lambda p, q=q: m.contains_span(p["text"], q.answer)) for q in covidqa.dev_queries(queries)]
    return LabSet("covidqa", kb, qs, cap=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sets", default="golden,medquad,covidqa")
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-expand", action="store_true")
    ap.add_argument("--no-maxsim", action="store_true", help="skip the sentence-vector experiments (slow)")
    ap.add_argument("--stored-maxsim", action="store_true",
                    help="the shipped MaxSim rerank over the stored evidence-sentence vectors, at several weights")
    ap.add_argument("--expand-weight", type=float, default=0.5)
    ap.add_argument("--context", default="title", choices=sorted(CONTEXTS),
                    help="chunk text to embed and index (re-embeds every chunk in a temp store)")
    args = ap.parse_args(argv)
    from kb.sparse import expanded_sparse_query  # noqa: PLC0415

    makers = {"golden": golden_set, "medquad": medquad_set, "covidqa": covidqa_set}
    sets = []
    for name in args.sets.split(","):
        lab = makers[name]()
        recontext(lab, args.context)
        collect(lab, None if args.no_expand else lambda t: expanded_sparse_query(t, args.expand_weight))
        sets.append(lab)
    out = run(sets, maxsim=not args.no_maxsim, stored_maxsim=args.stored_maxsim)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    for lab in sets:
        lab.kb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
