"""Throwaway benchmark knowledge bases, cached under a temp dir keyed by dataset + settings.

A cache entry is a complete KB_DIR (catalog + Edge shard) with a `.complete` marker written
last, so an interrupted build is rebuilt rather than half-used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

from evals.paths import CACHE
from kb.records import Chunk, DocType, Document
from kb.service import KnowledgeBase
from kb.settings import Settings, load_settings
from kb.sparse import sparse_document
from kb.store import PointData

Progress = Callable[[str, int, int], None]


def cache_dir(dataset: str, **params) -> Path:
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return CACHE / f"{dataset}-{key}"


def open_cached(
    dataset: str,
    build: Callable[[KnowledgeBase, Progress], None],
    params: dict,
    progress: Progress | None = None,
    **overrides,
) -> KnowledgeBase:
    """Open the cached KB for (dataset, params, the configured encoder), building it first if needed."""
    from evals.golden import encoder_precision

    base = load_settings(**overrides)
    if base.embedder != "local":  # a store is made by one encoder (the key of a "local" store is as before)
        params = {**params, "encoder": base.embedder}
    if encoder_precision(base) == "bf16":  # bf16 vectors are close to fp32 but not equal: their own KB
        params = {**params, "precision": "bf16"}
    kb_dir = cache_dir(dataset, **params)
    settings: Settings = load_settings(kb_dir=kb_dir, **overrides)
    if not (kb_dir / ".complete").is_file():
        if kb_dir.exists():
            shutil.rmtree(kb_dir)
        kb = KnowledgeBase.open(settings)
        build(kb, progress or (lambda stage, done, total: None))
        kb.close()
        (kb_dir / ".complete").write_text(json.dumps(params, sort_keys=True))
    return KnowledgeBase.open(settings)


def write_passages(kb: KnowledgeBase, passages, progress: Progress) -> None:
    """Write passages straight through the store API: one point per passage, payload a Chunk.

    `passages` items need passage_id, doc_id, title, text. Embedding and BM25 text are
    "title\\ntext", as ingest does for chunks.
    """
    now = dt.datetime.now(dt.UTC)
    by_doc: dict[str, list] = {}
    for p in passages:
        by_doc.setdefault(p.doc_id, []).append(p)
    for doc_id, items in by_doc.items():
        kb.catalog.put(
            Document(doc_id=doc_id, title=items[0].title, doc_type=DocType.other, source_path=doc_id,
                     version="v1", ingested_at=now, chunk_count=len(items)),
            "added",
            "benchmark",
        )
    texts = [f"{p.title}\n{p.text}" for p in passages]
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        progress("embed", done, len(texts))

    vectors = kb.embedder.embed(texts, progress=tick)
    ordinal: dict[str, int] = {}
    points = []
    for p, vec, text in zip(passages, vectors, texts, strict=True):
        n = ordinal.get(p.doc_id, 0)
        ordinal[p.doc_id] = n + 1
        chunk = Chunk(
            chunk_id=Chunk.make_id(p.doc_id, "v1", n), doc_id=p.doc_id, version="v1", ordinal=n,
            text=p.text, heading_path=p.passage_id, char_start=0, char_end=len(p.text),
            token_count=len(p.text.split()), title=p.title, doc_type=DocType.other, source_path=p.doc_id,
        )
        idx, vals = sparse_document(text)
        points.append(PointData(chunk.chunk_id, vec, idx, vals, chunk.model_dump(mode="json")))
    for start in range(0, len(points), 512):
        kb.store.upsert(points[start : start + 512])
    if kb.settings.sentence_vectors and kb.embedder.persistent is not None:
        # as ingest does: each passage's evidence sentences, embedded once for asks and MaxSim
        from kb.ask.select import evidence_texts

        sentences = [t for p in passages for t in evidence_texts(p.text, p.passage_id, p.title)]
        progress("sentences", 0, len(sentences))
        for start in range(0, len(sentences), 4096):
            kb.embedder.precompute(sentences[start : start + 4096])
            progress("sentences", min(start + 4096, len(sentences)), len(sentences))
