"""Timing benchmarks (not pass/fail): ingest throughput and query latency.

    .venv/bin/python -m evals.bench_ingest [--queries 30]

Prints chunks/s and pages/s for ingesting corpus/ and the Green Book PDFs in
../shared/data/greenbook-pdfs into fresh temp KBs, then p50/p95 latency of
`kb search` and `kb ask` (in-process, the CLI's batch mode path) over golden questions.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from evals.metrics import percentile
from evals.paths import CORPUS, SHARED_DATA


def bench_cli_batch(kb_dir: str, n: int) -> None:
    """Wall time of `kb search|ask --queries FILE --json` for 1 and for n questions, in fresh
    processes; (t_n - t_1) / (n - 1) is the per-question cost once the model and store are loaded."""
    import json
    import subprocess
    import sys

    from evals.golden import load_cases

    questions = [c.question for c in load_cases()][:n]
    tmp = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    for size in (1, len(questions)):
        (tmp / f"q{size}.jsonl").write_text(
            "".join(json.dumps({"id": i, "query": q}) + "\n" for i, q in enumerate(questions[:size])))
    for cmd in ("search", "ask"):
        walls = {}
        for size in (1, len(questions)):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "kb.cli", "--kb-dir", kb_dir, cmd, "--queries",
                            str(tmp / f"q{size}.jsonl"), "--json"], check=True, capture_output=True)
            walls[size] = time.perf_counter() - t0
        per = (walls[len(questions)] - walls[1]) / (len(questions) - 1) * 1e3
        print(f"kb {cmd} --queries (CLI batch, {len(questions)} questions): {walls[len(questions)]:.1f}s wall, "
              f"startup {walls[1]:.1f}s, {per:.1f} ms per question after startup")


def bench_ingest(label: str, folder: Path, embedder) -> object:
    from ingest.pipeline import ingest_paths
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    tmp = tempfile.mkdtemp(prefix=f"bench-{label}-")
    kb = KnowledgeBase.open(load_settings(kb_dir=tmp), embedder=embedder)
    t0 = time.perf_counter()
    files = sorted(p for p in folder.glob("*") if p.suffix == ".pdf") if label == "greenbook" else [folder]
    report = ingest_paths(kb, files)
    secs = time.perf_counter() - t0
    print(f"{label}: {report.added} docs, {report.chunks_embedded} chunks, {report.pages} pages, "
          f"{len(report.failed)} failed in {secs:.1f}s -> {report.chunks_embedded / secs:.1f} chunks/s, "
          f"{report.pages / secs:.2f} pages/s (embedding {report.embed_seconds:.1f}s)")
    return kb


def bench_queries(kb, n: int) -> None:
    from evals.golden import load_cases

    questions = [c.question for c in load_cases()][:n]
    for mode in ("hybrid", "bm25", "dense"):
        lat = []
        for q in questions:
            t0 = time.perf_counter()
            kb.search(q, k=5, mode=mode)
            lat.append((time.perf_counter() - t0) * 1e3)
        print(f"search {mode}: p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms ({len(lat)} queries)")
    lat = []
    for q in questions:
        t0 = time.perf_counter()
        kb.ask(q, answer_mode="extractive")
        lat.append((time.perf_counter() - t0) * 1e3)
    print(f"ask extractive: p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms ({len(lat)} questions)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    from kb.embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    kb = bench_ingest("corpus", CORPUS, embedder)
    bench_queries(kb, args.queries)
    kb_dir = str(kb.settings.kb_dir)
    kb.close()
    bench_cli_batch(kb_dir, args.queries)
    greenbook = SHARED_DATA / "greenbook-pdfs"
    if greenbook.is_dir():
        bench_ingest("greenbook", greenbook, embedder).close()
    else:
        print(f"{greenbook}: absent, skipped")


if __name__ == "__main__":
    main()
