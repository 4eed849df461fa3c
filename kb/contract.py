"""The JSON shapes of the CLI contract (`kb search --json`, `kb ask --json`).

Evaluation and operations tooling depend on these exact keys; add, never rename.
"""

from __future__ import annotations

from kb.records import Answer, Hit


def hit_json(hit: Hit) -> dict:
    c = hit.chunk
    return {
        "doc_id": c.doc_id,
        "title": c.title,
        "source_path": c.source_path,
        "chunk_id": c.chunk_id,
        "text": c.text,
        "score": round(hit.score, 6),
        "page_start": c.page_start,
        "page_end": c.page_end,
        "section": c.heading_path,
        "doc_type": c.doc_type.value,
        "status": c.status.value,
        "published": c.published.isoformat() if c.published else None,
        "review_due": c.review_due.isoformat() if c.review_due else None,
        "version": c.version,
        "dense_rank": hit.dense_rank,
        "bm25_rank": hit.sparse_rank,
    }


def answer_json(answer: Answer, id_=None) -> dict:
    return {
        "id": id_ if id_ is not None else answer.id,
        "question": answer.question,
        "answer": answer.answer,
        "answerable": answer.answerable,
        "citations": [
            {
                "n": c.n,
                "doc_id": c.doc_id,
                "title": c.title,
                "source_path": c.source_path,
                "section": c.section,
                "page_start": c.page_start,
                "page_end": c.page_end,
                "quote": c.quote,
                "chunk_id": c.chunk_id,
                "version": c.version,
                "published": c.published.isoformat() if c.published else None,
                "review_due": c.review_due.isoformat() if c.review_due else None,
                "status": c.status.value,
                "link": c.link,
            }
            for c in answer.citations
        ],
        "warnings": answer.warnings,
        "closest_documents": answer.closest_documents if not answer.answerable else [],
        "evidence_score": answer.evidence_score,
        "retrieved": [
            {"doc_id": h.chunk.doc_id, "chunk_id": h.chunk.chunk_id, "score": round(h.score, 6),
             "page_start": h.chunk.page_start, "page_end": h.chunk.page_end, "section": h.chunk.heading_path}
            for h in answer.hits
        ],
        "timings_ms": answer.timings_ms,
        "mode": answer.mode,
        "sentences": [
            {"text": x.text, "citations": x.citations, "verdict": x.verdict, "verified": x.verified,
             "support": round(x.support, 4), "reason": x.reason, "shown": x.shown}
            for x in answer.sentences
        ],
        "answerability": answer.answerability,
    }
