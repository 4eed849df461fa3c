"""Benchmark (not pass/fail): ingest throughput against the encoder limit and a naive
llama-index pipeline, side by side in one process, plus re-ingest.

    nice -n 5 .venv/bin/python -m evals.bench.ingest [--datasets corpus,greenbook] [--copies 6]
        [--embedders local] [--compare-encoders onnx-int8,int8] [--no-naive] [--no-reingest] [--no-chunks-only]

Per dataset (corpus/ copied N times under new doc ids, at least 3,000 chunks; the 38 Green Book
PDFs read in place from ../shared/data):
- `kb` ingest into a fresh knowledge base (model loaded and store opened before the clock), as
  shipped (`sentence_vectors` on: each chunk's evidence sentences are embedded too, for asks),
  and "chunks only" (`sentence_vectors` off: the chunk vectors the encoder limit also computes);
- the encoder limit: the same chunk texts encoded directly by that encoder, one call, with the
  best batch size of a sweep;
- naive llama-index: SimpleDirectoryReader -> SentenceSplitter(256, 20) -> HuggingFaceEmbedding
  (same model directory) -> QdrantVectorStore on qdrant-client local mode; and the same with
  llama-index's default 1024-token chunks;
- for every pipeline: chunks/s, pages/s, embedded tokens/s (MiniLM word pieces the encoder sees),
  and the share of tokens past the encoder's 256-token window that it never sees;
- re-ingest (first dataset only): unchanged, then with one file changed, against the first ingest.

The llama-index integrations are a bench-only extra: `pip install -e ".[bench]"`.
Writes evals/bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
from pathlib import Path

from evals.bench.common import Timer, load_avg, peak_rss_mb, ratio, write_result
from evals.paths import SHARED_DATA

WINDOW = 256  # all-MiniLM-L6-v2's max_seq_length


def token_counter():
    """Word pieces per text as the encoder's tokenizer makes them (special tokens included)."""
    from tokenizers import Tokenizer

    from kb.embedder import packaged_model_dir

    tok = Tokenizer.from_file(str(packaged_model_dir() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return lambda texts: [len(e.ids) for e in tok.encode_batch(list(texts))]


def coverage(counts: list[int]) -> dict:
    total = sum(counts)
    seen = sum(min(c, WINDOW) for c in counts)
    return {"tokens_total": total, "tokens_embedded": seen,
            "unseen_share": round(1 - seen / total, 4) if total else 0.0}


def rates(seconds: float, chunks: int, pages: int, cov: dict) -> dict:
    return {"seconds": round(seconds, 2), "chunks": chunks, "pages": pages,
            "chunks_per_s": round(chunks / seconds, 2), "pages_per_s": round(pages / seconds, 3) if pages else None,
            "embedded_tokens_per_s": round(cov["tokens_embedded"] / seconds, 1), **cov}


def make_embedder(name: str):
    """`local`: the packaged model as `kb ingest` builds it (its `embed_precision`, auto: bf16 on a CPU
    with native bf16); `fp32`, `bf16`: that precision (an `fp32` encoder limit is sentence-transformers
    itself); `fp32-kb`: our fp32 encoder; `int8`, `onnx-int8`: those encoders."""
    from kb.embedder import OnnxEmbedder, SentenceTransformerEmbedder, resolve_precision
    from kb.settings import load_settings

    settings = load_settings()
    batch = settings.embed_batch_size  # as `kb ingest` builds it (16 by default)
    if name == "onnx-int8":
        return OnnxEmbedder(batch_size=batch)
    if name == "int8":
        embedder = SentenceTransformerEmbedder(batch_size=batch, int8=True)
    elif name == "fp32-kb":  # our fp32 encoder (kb.bert, token batches), not sentence-transformers
        embedder = SentenceTransformerEmbedder(batch_size=batch, precision="fp32")
        embedder.ours = True
    else:
        precision = name if name in ("fp32", "bf16") else resolve_precision(settings.embed_precision)
        embedder = SentenceTransformerEmbedder(batch_size=batch, precision=precision)
    embedder.batch_tokens = settings.embed_batch_tokens  # and its token budget per batch (2048)
    return embedder


def kb_ingest(files: list[Path] | Path, embedder, count, **settings_over) -> tuple[dict, list[str], object]:
    """Our pipeline into a fresh KB; returns figures, the embedded texts and the open KB."""
    from ingest.pipeline import ingest_paths
    from kb.mapping import indexed_text
    from kb.service import KnowledgeBase
    from kb.settings import load_settings
    from kb.vector_cache import open_vector_cache

    kb_dir = tempfile.mkdtemp(prefix="bench-ingest-")
    kb = KnowledgeBase(load_settings(kb_dir=kb_dir, **settings_over), embedder=embedder)
    _ = kb.store  # open the shard before the clock
    # as `kb ingest` runs it: with sentence_vectors on, evidence sentences go to the on-disk cache
    embedder.persistent = open_vector_cache(kb.settings.kb_dir, embedder.name, embedder.dim) \
        if kb.settings.sentence_vectors else None
    try:
        with Timer() as t:
            report = ingest_paths(kb, files if isinstance(files, list) else [files])
    finally:
        if embedder.persistent is not None:
            embedder.persistent.close()
        embedder.persistent = None
    texts = [indexed_text(p.payload["title"], p.payload["text"], p.payload.get("heading_path", ""),  # as ingest embedded them
                          p.payload["source_path"], kb.settings.embed_section) for p in kb.store.scroll()]
    out = rates(t.seconds, report.chunks_embedded, report.pages, coverage(count(texts)))
    out.update(embed_seconds=round(report.embed_seconds, 2), optimise_seconds=round(report.optimise_seconds, 2),
               sentences_embedded=report.sentences_embedded, sentence_seconds=round(report.sentence_seconds, 2),
               failed=len(report.failed), load=t.load_after)
    return out, texts, kb


def encoder_limit(embedder, texts: list[str], count, sizes=(16, 32, 64, 128)) -> dict:
    """The texts encoded directly (no parse, store or catalog), best batch size of a sweep (for an
    encoder that batches by padded tokens, `batch_tokens`, the best of a sweep of those)."""
    encode = _direct(embedder)
    if getattr(encode, "by_tokens", False):
        sizes = (1024, 2048, 4096, 8192)
    sample = sorted(texts, key=len)[:: max(1, len(texts) // 384)][:384]
    sweep = {}
    for b in sizes:
        encode(sample[:32], b)  # warm
        t0 = time.perf_counter()
        encode(sample, b)
        sweep[b] = round(len(sample) / (time.perf_counter() - t0), 2)
    best = max(sweep, key=sweep.get)
    with Timer() as t:
        encode(texts, best)
    out = rates(t.seconds, len(texts), 0, coverage(count(texts)))
    out.update({"batch_tokens" if getattr(encode, "by_tokens", False) else "batch_size": best},
               sweep_chunks_per_s=sweep, load=t.load_after)
    return out


def _direct(embedder):
    from kb.embedder import SentenceTransformerEmbedder, packaged_model_dir

    model = None
    if (isinstance(embedder, SentenceTransformerEmbedder) and embedder.precision == "fp32"
            and not getattr(embedder, "ours", False)):
        # the fp32 limit is sentence-transformers itself
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(packaged_model_dir()), device="cpu", local_files_only=True)
    if model is not None:  # one encode call sorts by length itself
        return lambda texts, b: model.encode(list(texts), batch_size=b, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False)

    by_tokens = bool(embedder.counts_tokens and embedder.batch_tokens)
    attr = "batch_tokens" if by_tokens else "batch_size"

    def run(texts, b):
        saved = getattr(embedder, attr)
        setattr(embedder, attr, b)
        try:
            return embedder.embed(list(texts))
        finally:
            setattr(embedder, attr, saved)
    run.by_tokens = by_tokens
    return run


def naive_llama(files: list[Path], count, chunk_size: int, overlap: int) -> dict:
    """SimpleDirectoryReader -> SentenceSplitter -> HuggingFaceEmbedding -> QdrantVectorStore (local)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    from kb.embedder import packaged_model_dir

    embed = HuggingFaceEmbedding(model_name=str(packaged_model_dir()), device="cpu")
    path = tempfile.mkdtemp(prefix="bench-naive-")
    client = QdrantClient(path=path)
    store = QdrantVectorStore(client=client, collection_name="naive")
    pipeline = IngestionPipeline(transformations=[SentenceSplitter(chunk_size=chunk_size, chunk_overlap=overlap),
                                                  embed], vector_store=store)
    with Timer() as t:
        docs = SimpleDirectoryReader(input_files=[str(f) for f in files]).load_data()
        nodes = pipeline.run(documents=docs)
    pages = sum(1 for d in docs if str(d.metadata.get("file_path", "")).endswith(".pdf"))
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    out = rates(t.seconds, len(nodes), pages, coverage(count(texts)))
    out.update(chunk_size=chunk_size, chunk_overlap=overlap, load=t.load_after)
    client.close()
    shutil.rmtree(path, ignore_errors=True)
    return out


def corpus_files(copies: int) -> tuple[list[Path], Path]:
    from evals.bench_stream import make_copies
    from ingest.loaders import SUPPORTED_SUFFIXES

    root = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    make_copies(root, copies)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
    return files, root


def reingest(kb, root: Path, first: dict) -> dict:
    """Re-run over the same folder: unchanged, then one file changed; ratios against the first ingest."""
    from ingest.pipeline import ingest_paths

    with Timer() as t:
        rep = ingest_paths(kb, [root])
    unchanged = {"seconds": round(t.seconds, 3), "unchanged": rep.unchanged, "chunks_embedded": rep.chunks_embedded,
                 "speedup_vs_first": ratio(first["seconds"], t.seconds), "load": t.load_after}
    target = next(p for p in sorted(root.rglob("*.md")))
    target.write_text(target.read_text(encoding="utf-8") + "\n\nReviewed again for the benchmark.\n",
                      encoding="utf-8")
    with Timer() as t:
        rep = ingest_paths(kb, [root])
    changed = {"seconds": round(t.seconds, 3), "updated": rep.updated, "unchanged": rep.unchanged,
               "chunks_embedded": rep.chunks_embedded, "file": str(target.relative_to(root)),
               "speedup_vs_first": ratio(first["seconds"], t.seconds), "load": t.load_after}
    return {"unchanged_corpus": unchanged, "one_file_changed": changed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="corpus,greenbook")
    parser.add_argument("--copies", type=int, default=6, help="copies of corpus/ (6 gives ~3,000 chunks)")
    parser.add_argument("--embedders", default="local",
                        help="encoders that run the whole kb ingest: local (as shipped), fp32, bf16, int8, onnx-int8")
    parser.add_argument("--compare-encoders", default="bf16,onnx-int8,int8",
                        help="encoders timed on the same chunk texts only (encoder limit), beside fp32")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-reingest", action="store_true")
    parser.add_argument("--chunks-only", action=argparse.BooleanOptionalAction, default=True,
                        help="also time kb ingest with sentence_vectors off (chunk vectors only)")
    args = parser.parse_args()
    count = token_counter()
    embedders = {name: make_embedder(name) for name in args.embedders.split(",")}
    result: dict = {"load_start": load_avg(), "datasets": {}}
    for ds in args.datasets.split(","):
        if ds == "corpus":
            files, root = corpus_files(args.copies)
        else:
            root = SHARED_DATA / "greenbook-pdfs"
            files = sorted(root.glob("*.pdf"))
        row: dict = {"files": len(files)}
        print(f"== {ds}: {len(files)} files, load {load_avg()}", flush=True)
        for name, emb in embedders.items():
            if args.chunks_only:  # the same ingest without the sentence vectors (sentence_vectors = false)
                figures, _, other = kb_ingest(files, emb, count, sentence_vectors=False)
                other.close()
                shutil.rmtree(other.settings.kb_dir, ignore_errors=True)
                row[f"kb[{name}] chunks only"] = figures
                print(f"kb ingest [{name}] chunks only: {figures}", flush=True)
            figures, texts, kb = kb_ingest(files, emb, count)
            row[f"kb[{name}]"] = figures
            print(f"kb ingest [{name}]: {figures}", flush=True)
            if ds == "corpus" and not args.no_reingest and name == next(iter(embedders)):
                row["reingest"] = reingest(kb, root, figures)
                print(f"re-ingest: {row['reingest']}", flush=True)
            kb.close()
            shutil.rmtree(kb.settings.kb_dir, ignore_errors=True)
            row[f"encoder[{name}]"] = limit = encoder_limit(emb, texts, count)
            print(f"encoder limit [{name}]: {limit}", flush=True)
            # the baseline of every ratio: sentence-transformers fp32 on the same texts
            for other in [e for e in ["fp32", *args.compare_encoders.split(",")] if e and e not in embedders]:
                if f"encoder[{other}]" not in row:
                    row[f"encoder[{other}]"] = fig = encoder_limit(make_embedder(other), texts, count)
                    print(f"encoder limit [{other}]: {fig}", flush=True)
            gc.collect()
        if not args.no_naive:
            for size, overlap in ((256, 20), (1024, 200)):
                row[f"naive-llama-{size}"] = fig = naive_llama(files, count, size, overlap)
                print(f"naive llama-index {size}: {fig}", flush=True)
                gc.collect()
        row["ratios"] = ratios(row, list(embedders))
        print(f"ratios: {row['ratios']}", flush=True)
        result["datasets"][ds] = row
        if ds == "corpus":
            shutil.rmtree(root, ignore_errors=True)
    result["peak_rss_mb"] = peak_rss_mb()
    write_result("ingest", result)


def ratios(row: dict, embedders: list[str]) -> dict:
    out = {}
    fp32 = row.get("encoder[fp32]") or row.get("encoder[local]")
    for name in embedders:
        for label in (f"kb[{name}]", f"kb[{name}] chunks only"):
            kb = row.get(label)
            if kb is None:
                continue
            if fp32:
                out[f"{label} / fp32 encoder limit (chunks/s)"] = ratio(kb["chunks_per_s"], fp32["chunks_per_s"])
            out[f"{label} / its encoder limit (chunks/s)"] = ratio(kb["chunks_per_s"],
                                                                 row[f"encoder[{name}]"]["chunks_per_s"])
            naive = row.get("naive-llama-256")
            if naive:
                key = "pages_per_s" if kb["pages_per_s"] else "embedded_tokens_per_s"
                out[f"{label} / naive llama-index 256 ({key})"] = ratio(kb[key], naive[key])
    for other in ("onnx-int8", "int8", "bf16", "fp32-kb", *embedders):
        if fp32 and f"encoder[{other}]" in row and other != "fp32":
            out[f"{other} encoder / fp32 encoder (chunks/s)"] = ratio(row[f"encoder[{other}]"]["chunks_per_s"],
                                                                     fp32["chunks_per_s"])
    return out


if __name__ == "__main__":
    main()
