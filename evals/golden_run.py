"""Score the golden set: retrieval in three modes, then the answer, per question."""

from __future__ import annotations

import time
from collections.abc import Callable

from evals import metrics as m
from evals.golden import GoldenCase
from kb.records import Answer, DocStatus, Hit

MODES = ("hybrid", "bm25", "dense")
KS = (1, 5, 10)


def _norm(t: str) -> str:
    return " ".join(t.lower().split())


def chunk_relevant(hit: Hit, case: GoldenCase) -> bool:
    """Chunk-level gold: a gold document's chunk that holds a key phrase or lies on a gold page."""
    c = hit.chunk
    if c.doc_id not in case.gold_doc_ids:
        return False
    if case.gold_pages and m.pages_overlap(c.page_start, c.page_end, case.gold_pages):
        return True
    text = _norm(c.text)
    return any(_norm(p) in text for p in case.key_phrases)


def retrieval_metrics(hits: list[Hit], case: GoldenCase) -> dict[str, float]:
    docs = m.dedupe(h.chunk.doc_id for h in hits)
    flags = [chunk_relevant(h, case) for h in hits]
    out = {}
    for k in KS:
        out[f"doc_recall@{k}"] = m.recall_at_k(docs, case.gold_doc_ids, k)
        out[f"chunk_recall@{k}"] = m.flags_recall_at_k(flags, k)
    out["doc_mrr@10"] = m.mrr_at_k(docs, case.gold_doc_ids, 10)
    out["doc_ndcg@10"] = m.ndcg_at_k(docs, case.gold_doc_ids, 10)
    out["chunk_mrr@10"] = m.flags_mrr(flags, 10)
    out["chunk_ndcg@10"] = m.flags_ndcg(flags, 10, 1)
    return out


def faithfulness_of(answer: Answer, generative: bool) -> float:
    chunks = {h.chunk.chunk_id: h.chunk.text for h in answer.hits}
    by_n = {c.n: c for c in answer.citations}
    supported = []
    for text, nums in m.answer_sentences(answer.answer):
        cites = [by_n[n] for n in nums if n in by_n]
        if generative:
            ok = bool(cites) and m.lexical_support(text, [chunks.get(c.chunk_id, c.quote) for c in cites])
        else:
            ok = bool(cites) and m.supported_extractive(text, [c.quote for c in cites],
                                                        [chunks.get(c.chunk_id, "") for c in cites])
        supported.append(ok)
    return m.faithfulness(supported)


def score_answer(answer: Answer, case: GoldenCase, generative: bool) -> tuple[dict, bool, list[str]]:
    """Answer metrics, pass/fail and the reasons for a fail."""
    refused = not answer.answerable
    cited = [c.doc_id for c in answer.citations]
    warned = bool(answer.warnings)
    out: dict[str, float] = {"refused": float(refused), "warned": float(warned)}
    reasons: list[str] = []
    if case.kind == "unanswerable":
        if not refused:
            reasons.append(f"answered (evidence {answer.evidence_score}) but should refuse")
        return out, not reasons, reasons
    if refused:
        reasons.append(f"refused (evidence {answer.evidence_score}) but the library covers it")
        return out, False, reasons
    p, r = m.citation_precision_recall(cited, case.gold_doc_ids)
    plain = m.strip_markers(answer.answer)
    out.update(
        citation_precision=p,
        citation_recall=r,
        key_phrase_recall=m.key_phrase_recall(plain, case.key_phrases),
        token_f1=m.token_f1(plain, case.reference_answer) if case.reference_answer else 0.0,
        faithfulness=faithfulness_of(answer, generative),
    )
    if not set(cited) & set(case.gold_doc_ids):
        reasons.append(f"cites {sorted(set(cited))}, none of gold {case.gold_doc_ids}")
    if case.kind == "stale":
        old = sorted({c.doc_id for c in answer.citations if c.status == DocStatus.superseded})
        if old:
            reasons.append(f"cites superseded {old}")
    if (case.kind == "stale" or case.expect_warning) and not warned:
        reasons.append("no currency warning")
    return out, not reasons, reasons


def judge_sentences(answer: Answer, case: GoldenCase) -> list[dict]:
    """The answer's checked sentences, each with two judgements of whether it is good:

    - `quote`: its text is a verbatim copy of a passage it cites (whitespace and case ignored),
      so it is certainly supported;
    - `key_phrase`: it holds a golden key phrase and cites a gold document, so it most
      likely states the golden answer.
    A removed sentence with either is counted as a good sentence wrongly removed.
    """
    chunks = {h.chunk.chunk_id: h.chunk for h in answer.hits}
    out = []
    for s in answer.sentences:
        cited = [chunks[c] for c in s.sources if c in chunks]
        text = _norm(m.strip_markers(s.text)).rstrip(".!?")
        quote = bool(text) and any(text in _norm(c.text) for c in cited)
        key = any(c.doc_id in case.gold_doc_ids for c in cited) and any(
            _norm(p) in _norm(s.text) for p in case.key_phrases)
        out.append(s.model_dump() | {"quote": quote, "key_phrase": key})
    return out


def hit_record(h: Hit, with_text: bool = True) -> dict:
    c = h.chunk
    out = {"doc_id": c.doc_id, "chunk_id": c.chunk_id, "section": c.heading_path, "page_start": c.page_start,
           "page_end": c.page_end, "status": c.status.value, "score": round(h.score, 5),
           "dense_rank": h.dense_rank, "bm25_rank": h.sparse_rank}
    if with_text:
        out["text"] = c.text[:600]
    return out


def run_case(kb, case: GoldenCase, answer_mode: str = "extractive", modes: tuple[str, ...] = MODES) -> dict:
    rec: dict = {"id": case.id, "suite": "golden", "kind": case.kind, "question": case.question,
                 "gold": case.model_dump(exclude={"id", "question", "kind"}), "retrieval": {}}
    lat: dict[str, float] = {}
    if case.kind != "unanswerable":
        qv = kb.embedder.embed_query(case.question)
        for mode in modes:
            t0 = time.perf_counter()
            hits = kb.retriever.search(case.question, 10, None, mode, query_vector=qv)
            lat[f"search_{mode}"] = (time.perf_counter() - t0) * 1e3
            rec["retrieval"][mode] = {"metrics": retrieval_metrics(hits, case),
                                      "hits": [hit_record(h, with_text=mode == "hybrid") for h in hits]}
    t0 = time.perf_counter()
    answer = kb.ask(case.question, answer_mode=answer_mode)
    lat["ask"] = (time.perf_counter() - t0) * 1e3
    scores, passed, reasons = score_answer(answer, case, answer_mode == "generative")
    rec.update(
        answer={"text": answer.answer, "answerable": answer.answerable, "evidence_score": answer.evidence_score,
                "warnings": answer.warnings, "mode": answer.mode,
                "p_answerable": answer.answerability.get("p_answerable"),
                "sentences": judge_sentences(answer, case),
                "citations": [{"n": c.n, "doc_id": c.doc_id, "status": c.status.value, "section": c.section,
                               "page_start": c.page_start, "quote": c.quote} for c in answer.citations],
                "hits": [hit_record(h) for h in answer.hits]},
        scores=scores, passed=passed, reasons=reasons, latency_ms=lat,
    )
    return rec


def aggregate(records: list[dict], threshold: float | None = None) -> dict:
    """Suite metrics from per-question records."""
    out: dict = {"n": len(records), "n_by_kind": {}}
    for r in records:
        out["n_by_kind"][r["kind"]] = out["n_by_kind"].get(r["kind"], 0) + 1
    retrieval: dict[str, dict[str, float]] = {}
    for mode in MODES:
        rows = [r["retrieval"][mode]["metrics"] for r in records if mode in r["retrieval"]]
        if rows:
            retrieval[mode] = {k: round(m.mean(x[k] for x in rows), 4) for k in rows[0]}
    out["retrieval"] = retrieval
    answered = [r for r in records if r["kind"] != "unanswerable" and not r["scores"]["refused"]]
    ans: dict[str, float] = {}
    for key in ("citation_precision", "citation_recall", "key_phrase_recall", "token_f1", "faithfulness"):
        ans[key] = round(m.mean(r["scores"][key] for r in answered), 4)
    refused = [bool(r["scores"]["refused"]) for r in records]
    should = [r["kind"] == "unanswerable" for r in records]
    ans["refusal_precision"], ans["refusal_recall"] = (round(x, 4) for x in m.precision_recall(refused, should))
    stale = [r for r in records if r["kind"] == "stale"]
    ans["stale_warning_accuracy"] = round(m.accuracy([bool(r["scores"]["warned"]) for r in stale]), 4)
    warn_cases = [r for r in answered]
    ans["warning_accuracy"] = round(m.accuracy([
        bool(r["scores"]["warned"]) == (r["kind"] == "stale" or r["gold"]["expect_warning"]) for r in warn_cases
    ]), 4)
    ans["pass_rate"] = round(m.accuracy([r["passed"] for r in records]), 4)
    for kind in ("answerable", "stale", "unanswerable"):
        rows = [r["passed"] for r in records if r["kind"] == kind]
        ans[f"pass_rate_{kind}"] = round(m.accuracy(rows), 4)
    out["answers"] = ans
    generated = [r for r in records if r["answer"].get("mode") == "generative"]
    sents = [s for r in generated for s in r["answer"].get("sentences", [])]  # the model's, not fallbacks'
    fell_back = [r for r in records if r["answer"].get("mode") == "extractive" and r["answer"]["answerable"]]
    if generated or any(r["answer"].get("mode") for r in records):
        out["sentences"] = {
            "answers_generative": len(generated),
            "answers_generative_refused": sum(not r["answer"]["answerable"] for r in generated),
            "answers_fell_back_to_extractive": len(fell_back),
            "fell_back_declined": sum(any("declined" in w for w in r["answer"]["warnings"]) for r in fell_back),
            "sentences": len(sents),
            "verified": sum(s["verified"] for s in sents),
            "contradicted": sum(s["verdict"] == "contradicted" for s in sents),
            "unsupported": sum(s["verdict"] == "unsupported" for s in sents),
            "removed": sum(not s["shown"] for s in sents),
            "flagged": sum(s["shown"] and not s["verified"] for s in sents),
            # contradicted sentences are never shown: each one is a wrong claim caught
            "contradicted_caught": sum(s["verdict"] == "contradicted" and not s["shown"] for s in sents),
            "quotes_of_cited_source": sum(bool(s.get("quote")) for s in sents),
            "good_wrongly_removed": sum(not s["shown"] and bool(s.get("quote") or s.get("key_phrase"))
                                        for s in sents),
            "good_wrongly_removed_quotes": sum(not s["shown"] and bool(s.get("quote")) for s in sents),
            # not a verbatim quote of what it cites: with the scripted `perturbed` replies these are
            # exactly the planted wrong sentences; with a real model, paraphrases count too
            "non_quotes": sum(not s.get("quote") for s in sents),
            "non_quotes_removed": sum(not s["shown"] and not s.get("quote") for s in sents),
        }
    lat: dict[str, float] = {}
    for key in ("ask", "search_hybrid", "search_bm25", "search_dense"):
        xs = [r["latency_ms"][key] for r in records if key in r["latency_ms"]]
        lat[f"{key}_p50"] = round(m.percentile(xs, 50), 1)
        lat[f"{key}_p95"] = round(m.percentile(xs, 95), 1)
    out["latency_ms"] = lat
    return out


def calibrate_threshold(records: list[dict], current: float = 0.45) -> dict:
    """The answer threshold on evidence_score that best separates answerable (incl. stale) from
    unanswerable cases: maximise the F1 of "refused" vs "should refuse" (a wrong refusal and a
    missed refusal both count; balanced accuracy over-rewards refusing when unanswerable cases
    are few). Among ties take the cut nearest `current`."""
    pts = sorted((r["answer"]["evidence_score"], r["kind"] == "unanswerable") for r in records)
    pos = sum(u for _, u in pts)
    if not pos or pos == len(pts):
        return {}
    vals = sorted({round(s, 4) for s, _ in pts})
    cuts = [(a + b) / 2 for a, b in zip(vals, vals[1:], strict=False)] + [vals[-1] + 0.01]
    best = None
    for t in cuts:
        tp = sum(1 for s, u in pts if u and s < t)
        fp = sum(1 for s, u in pts if not u and s < t)
        f1 = 2 * tp / (2 * tp + fp + (pos - tp)) if tp else 0.0
        key = (round(f1, 6), -abs(t - current))
        if best is None or key > best[0]:
            best = (key, t, tp, fp)
    (f1, _), t, tp, fp = best
    return {"threshold": round(t, 4), "refusal_f1": round(f1, 4),
            "refusal_precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
            "refusal_recall": round(tp / pos, 4)}


def refusal_at(records: list[dict], threshold: float) -> tuple[float, float]:
    """Refusal precision/recall if ask refused below `threshold` (evidence only; empty picks ignored)."""
    refused = [r["answer"]["evidence_score"] < threshold for r in records]
    return m.precision_recall(refused, [r["kind"] == "unanswerable" for r in records])


def run_golden(kb, cases: list[GoldenCase], answer_mode: str = "extractive",
               progress: Callable[[int, int, str], None] | None = None, modes: tuple[str, ...] = MODES) -> list[dict]:
    out = []
    for i, case in enumerate(cases, start=1):
        out.append(run_case(kb, case, answer_mode, modes))
        if progress:
            progress(i, len(cases), case.id)
    return out
