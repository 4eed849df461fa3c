"""Benchmark (not pass/fail): end-to-end extractive ask at scale, with its breakdown by stage.

    nice -n 5 .venv/bin/python -m evals.bench.ask [--points 100000] [--queries 60] [--profile]

Builds a knowledge base from corpus/ (the encoder as shipped: `embed_precision`), then adds filler chunks until the store holds
--points: near-copies of the real chunks (vectors with a little noise, their BM25 terms plus three
of their own, full payloads) under new doc ids that the catalog knows as live documents, so every
filler chunk can be retrieved, passes the live-version check and can be cited.

Then, side by side in this process, over the golden questions (`KnowledgeBase.ask`, extractive,
verification and currency included, query embedding included):
- `unoptimised`: the shard as ingest left it (no HNSW) and no sentence-vector cache;
- `hnsw`: the shard optimised (HNSW built), no sentence-vector cache;
- `hnsw+cache cold`: first pass with the sentence-vector cache (`Embedder.embed_cached`);
- `hnsw+cache warm`: the same questions again;
- `hnsw+sentence vectors from ingest`: an empty in-memory cache and the sentence vectors that
  ingest wrote to disk (`sentence_vectors`, the default): what a fresh process sees.
Each pass reports p50/p95 of the total and of each stage (`Answer.timings_ms`), and checks that
every pass gives the same answers. `--profile` writes a pyinstrument text profile of one pass.
Writes evals/bench/results/ask.json.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import tempfile
import time

from evals.bench.common import RESULTS, load_avg, pct, ratio, rss_mb, write_result


def build(points_total: int, n_queries: int):
    from evals.bench.search import base_data, points
    from evals.paths import CORPUS
    from ingest.pipeline import ingest_paths
    from kb.embedder import SentenceTransformerEmbedder, resolve_precision
    from kb.service import KnowledgeBase
    from kb.settings import load_settings
    from kb.vector_cache import open_vector_cache

    emb = SentenceTransformerEmbedder(precision=resolve_precision(load_settings().embed_precision))
    kb = KnowledgeBase(load_settings(kb_dir=tempfile.mkdtemp(prefix="bench-ask-")), embedder=emb)
    # as `kb ingest` does it (sentence_vectors on): the evidence sentences go to the on-disk cache.
    # The filler chunks are copies of these texts, so their sentences are in it too, as they would
    # be had ingest embedded 100k real chunks.
    emb.persistent = open_vector_cache(kb.settings.kb_dir, emb.name, emb.dim)
    t0 = time.perf_counter()
    ingest_paths(kb, [CORPUS])
    real = kb.store.count()
    data = base_data(n_queries)
    docs = {d.doc_id: d for d in kb.catalog.documents()}
    n = max(0, points_total - real)
    seen: set[str] = set()
    for batch in points(data, n):
        for p in batch:
            doc_id = p.payload["doc_id"]
            if doc_id in seen:
                continue
            seen.add(doc_id)
            src = docs.get(doc_id.rsplit("-x", 1)[0])
            if src is not None:
                kb.catalog.put(src.model_copy(update={"doc_id": doc_id, "supersedes": []}), "added", "bench filler")
        kb.store.upsert(batch)
    kb.store.flush()
    return kb, {"real_chunks": real, "filler_chunks": n, "points": kb.store.count(),
                "build_s": round(time.perf_counter() - t0, 1)}


def one_pass(kb, questions: list[str], label: str) -> tuple[dict, list[str]]:
    totals, stages, answers = [], {}, []
    for q in questions:
        t0 = time.perf_counter()
        a = kb.ask(q, answer_mode="extractive")
        totals.append((time.perf_counter() - t0) * 1e3)
        for stage, ms in a.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
        for stage, ms in (a.trace.timings_ms or {}).items():
            stages.setdefault(f"retrieve.{stage}", []).append(ms)
        answers.append(a.answer)
    out = {"p50_ms": round(pct(totals, 50), 1), "p95_ms": round(pct(totals, 95), 1), "questions": len(totals),
           "stages_p50_ms": {k: round(pct(v, 50), 1) for k, v in stages.items()},
           "stages_p95_ms": {k: round(pct(v, 95), 1) for k, v in stages.items()}, "load": load_avg()}
    print(f"{label}: {out}", flush=True)
    return out, answers


@contextlib.contextmanager
def profiled(on: bool, name: str):
    """A pyinstrument text profile of the block in results/<name> (when `on`)."""
    if not on:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.002)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / name).write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from evals.golden import load_cases

    questions = [c.question for c in load_cases() if c.question][: args.queries]
    kb, built = build(args.points, 200)
    print(f"built: {built}, load {load_avg()}", flush=True)
    emb = kb.embedder
    vectors, emb.persistent = emb.persistent, None  # the passes before the last: without them
    kb.ask(questions[0], answer_mode="extractive")  # load the model, the checker, the catalog
    result: dict = {"built": built, "passes": {}}
    emb.cache_size = 0
    with profiled(args.profile, "ask_profile_unoptimised.txt"):
        result["passes"]["unoptimised"], base_answers = one_pass(kb, questions, "unoptimised")
    t0 = time.perf_counter()
    kb.store.optimise()
    result["optimise_s"] = round(time.perf_counter() - t0, 1)
    result["passes"]["hnsw"], a1 = one_pass(kb, questions, "hnsw")
    emb.cache_size = 100_000
    result["passes"]["hnsw+cache cold"], a2 = one_pass(kb, questions, "hnsw+cache cold")
    with profiled(args.profile, "ask_profile_warm.txt"):
        result["passes"]["hnsw+cache warm"], a3 = one_pass(kb, questions, "hnsw+cache warm")
    # what a fresh process sees after `kb ingest`: an empty in-memory cache, the sentence vectors on disk
    emb.__dict__.pop("_cache_state", None)  # the LRU that select and the claim checker share
    kb.retriever._matrices.clear()  # and the sentence MaxSim's LRU of sentence matrices
    emb.persistent = vectors
    result["passes"]["hnsw+sentence vectors from ingest"], a4 = one_pass(kb, questions,
                                                                         "hnsw+sentence vectors from ingest")
    # HNSW is approximate: among the filler's near-copies of one chunk it may return another copy
    # than the full scan did, so the cited copy can change. Compare both ways: exactly, and with
    # the copies' doc ids folded together. The cache must change nothing (against the hnsw pass).
    def same(a, b, fold=False):
        f = (lambda t: re.sub(r"-x\d+", "", t)) if fold else (lambda t: t)
        return sum(f(x) == f(y) for x, y in zip(a, b, strict=True))
    n = len(questions)
    result["same_answers"] = {
        "hnsw vs unoptimised": f"{same(a1, base_answers)}/{n}",
        "hnsw vs unoptimised, filler copies folded": f"{same(a1, base_answers, True)}/{n}",
        "cache cold vs hnsw": f"{same(a2, a1)}/{n}", "cache warm vs hnsw": f"{same(a3, a1)}/{n}",
        "sentence vectors from ingest vs hnsw": f"{same(a4, a1)}/{n}"}
    base = result["passes"]["unoptimised"]["p50_ms"]
    result["ratios"] = {f"unoptimised/{k} p50": ratio(base, v["p50_ms"]) for k, v in result["passes"].items()
                        if k != "unoptimised"}
    result["rss_mb"] = rss_mb()
    print(result["ratios"], result["same_answers"])
    kb.close()
    write_result("ask", result)


if __name__ == "__main__":
    main()
