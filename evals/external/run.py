"""Run MedQuAD and COVID-QA dev splits: hybrid vs BM25-only vs dense-only, in one run."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from evals import metrics as m
from evals.external import benchkb, covidqa, medquad

MODES = ("hybrid", "bm25", "dense")
KS = (1, 3, 5, 10)
Progress = Callable[[int, int, str], None]


def _ranking_metrics(flags: list[bool], docs: list[str], gold_doc: str, level: str) -> dict[str, float]:
    out = {}
    for k in KS:
        out[f"{level}_recall@{k}"] = m.flags_recall_at_k(flags, k)
    out[f"{level}_mrr@10"] = m.flags_mrr(flags, 10)
    out[f"{level}_ndcg@10"] = m.flags_ndcg(flags, 10, 1)
    for k in KS:
        out[f"doc_recall@{k}"] = m.recall_at_k(docs, [gold_doc], k)
    out["doc_mrr@10"] = m.mrr_at_k(docs, [gold_doc], 10)
    out["doc_ndcg@10"] = m.ndcg_at_k(docs, [gold_doc], 10)
    return out


def _aggregate(records: list[dict]) -> dict:
    out: dict = {"n": len(records), "retrieval": {}, "latency_ms": {}}
    for mode in MODES:
        rows = [r["retrieval"][mode]["metrics"] for r in records]
        if not rows:
            continue
        out["retrieval"][mode] = {k: round(m.mean(x[k] for x in rows), 4) for k in rows[0]}
        lat = [r["latency_ms"][mode] for r in records]
        out["latency_ms"][f"search_{mode}_p50"] = round(m.percentile(lat, 50), 1)
        out["latency_ms"][f"search_{mode}_p95"] = round(m.percentile(lat, 95), 1)
    return out


def medquad_kb(progress=None, **overrides):
    passages, _ = medquad.load()
    return benchkb.open_cached(
        "medquad", lambda kb, prog: benchkb.write_passages(kb, passages, prog),
        {"v": 1, "embedder": "minilm"}, progress, **overrides,
    )


def _retrieve_all_modes(kb, rec: dict, question: str, qv, gold_doc: str, level: str,
                        is_relevant, hit_fields) -> dict[str, list]:
    """Search top 10 with every mode (hybrid and the two baselines) into `rec`; returns hits by mode."""
    by_mode = {}
    for mode in MODES:
        t0 = time.perf_counter()
        hits = kb.retriever.search(question, 10, None, mode, query_vector=qv)
        rec["latency_ms"][mode] = (time.perf_counter() - t0) * 1e3
        flags = [is_relevant(h) for h in hits]
        docs = m.dedupe(h.chunk.doc_id for h in hits)
        rec["retrieval"][mode] = {
            "metrics": _ranking_metrics(flags, docs, gold_doc, level),
            "hits": [hit_fields(h) | {"doc_id": h.chunk.doc_id, "score": round(h.score, 5)}
                     | ({"text": h.chunk.text[:300]} if mode == "hybrid" else {}) for h in hits],
        }
        by_mode[mode] = hits
    return by_mode


def run_medquad(limit: int | None = 400, progress: Progress | None = None, kb=None, **overrides) -> tuple[list[dict], dict]:
    """Passage-level gold = the question's own answer; document-level gold = its file."""
    _, queries = medquad.load()
    dev = medquad.dev_queries(queries, sample=limit)
    own = kb is None
    overrides.setdefault("max_chunks_per_doc", 0)  # passage-level gold: no per-document cap
    kb = kb or medquad_kb(**overrides)
    records = []
    try:
        vectors = kb.embedder.embed([q.question for q in dev])  # once per question, batched
        for i, (q, qv) in enumerate(zip(dev, vectors, strict=True), start=1):
            rec = {"id": q.qid, "suite": "medquad", "kind": q.qtype, "question": q.question,
                   "gold": {"passage": q.gold_passage, "doc": q.gold_doc}, "retrieval": {}, "latency_ms": {}}
            _retrieve_all_modes(
                kb, rec, q.question, qv, q.gold_doc, "passage",
                is_relevant=lambda h, q=q: h.chunk.heading_path == q.gold_passage,
                hit_fields=lambda h: {"passage": h.chunk.heading_path},
            )
            rec["passed"] = bool(rec["retrieval"]["hybrid"]["metrics"]["passage_recall@5"])
            rec["reasons"] = [] if rec["passed"] else ["gold passage not in hybrid top 5"]
            records.append(rec)
            if progress:
                progress(i, len(dev), q.qid)
    finally:
        if own:
            kb.close()
    summary = _aggregate(records)
    summary["dataset"] = {"passages": 4500, "dev_questions": len(medquad.dev_queries(queries)),
                          "sampled": len(dev), "dev_folders": list(medquad.DEV_FOLDERS)}
    return records, summary


def covidqa_kb(progress=None, chunk_tokens: int = 256, **overrides):
    papers, _ = covidqa.load()

    def build(kb, prog):
        from ingest.pipeline import ingest_paths

        with tempfile.TemporaryDirectory(prefix="covidqa-") as tmp:
            covidqa.write_papers(papers, Path(tmp))
            ingest_paths(kb, [Path(tmp)], progress=lambda stage, d, t, detail: prog(stage, d, t))

    # Keyed by chunk settings and the ingest code, so a change to loaders, chunking or the
    # embedded text rebuilds it (a few minutes: 2.3M characters to embed).
    from evals.golden import ingest_code_fingerprint

    key = {"v": 2, "chunk_tokens": chunk_tokens, "ingest": ingest_code_fingerprint()}
    from kb.settings import load_settings

    if load_settings(**overrides).embed_section:  # stored text differs: its own cache entry
        key["embed_section"] = True
    return benchkb.open_cached("covidqa", build, key, progress, chunk_tokens=chunk_tokens, **overrides)


def run_covidqa(limit: int | None = None, progress: Progress | None = None, kb=None, answers: bool = True,
                chunk_tokens: int = 256, **overrides) -> tuple[list[dict], dict]:
    """Answer-span recall@k: a hit is relevant when it contains the gold answer text."""
    _, queries = covidqa.load()
    dev = covidqa.dev_queries(queries)[: limit or None]
    own = kb is None
    overrides.setdefault("max_chunks_per_doc", 0)  # span-level gold: no per-document cap
    kb = kb or covidqa_kb(chunk_tokens=chunk_tokens, **overrides)
    records = []
    words: dict[str, list[float]] = {mode: [] for mode in MODES}
    try:
        vectors = kb.embedder.embed([q.question for q in dev])  # once per question, batched
        for i, (q, qv) in enumerate(zip(dev, vectors, strict=True), start=1):
            rec = {"id": q.qid, "suite": "covidqa", "kind": "extractive", "question": q.question,
                   "gold": {"answer": q.answer, "doc": q.doc_id}, "retrieval": {}, "latency_ms": {}}
            by_mode = _retrieve_all_modes(
                kb, rec, q.question, qv, q.doc_id, "span",
                is_relevant=lambda h, q=q: m.contains_span(h.chunk.text, q.answer),
                hit_fields=lambda h: {"chunk_id": h.chunk.chunk_id},
            )
            for mode, hits in by_mode.items():
                words[mode].extend(len(h.chunk.text.split()) for h in hits[:5])
            if answers:
                t0 = time.perf_counter()
                ans = kb.ask(q.question, answer_mode="extractive")
                rec["latency_ms"]["ask"] = (time.perf_counter() - t0) * 1e3
                rec["answer"] = {"text": ans.answer, "answerable": ans.answerable,
                                 "evidence_score": ans.evidence_score}
                plain = m.strip_markers(ans.answer)
                rec["scores"] = {"contains_gold": float(m.contains_span(plain, q.answer)),
                                 "token_f1": m.token_f1(plain, q.answer)}
            rec["passed"] = bool(rec["retrieval"]["hybrid"]["metrics"]["span_recall@5"])
            rec["reasons"] = [] if rec["passed"] else ["no hybrid top-5 hit contains the gold span"]
            records.append(rec)
            if progress:
                progress(i, len(dev), q.qid)
    finally:
        if own:
            kb.close()
    summary = _aggregate(records)
    summary["mean_words_per_hit"] = {mode: round(m.mean(words[mode]), 1) for mode in MODES}
    if answers and records:
        summary["answers"] = {
            "contains_gold": round(m.mean(r["scores"]["contains_gold"] for r in records), 4),
            "token_f1": round(m.mean(r["scores"]["token_f1"] for r in records), 4),
            "ask_p50": round(m.percentile([r["latency_ms"]["ask"] for r in records], 50), 1),
            "ask_p95": round(m.percentile([r["latency_ms"]["ask"] for r in records], 95), 1),
        }
    summary["dataset"] = {"papers": 98, "dev_questions": len(covidqa.dev_queries(queries)), "used": len(dev),
                          "chunk_tokens": chunk_tokens}
    return records, summary
