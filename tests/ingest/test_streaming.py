"""The streaming pipeline: documents are committed while the run goes on, progress shows
documents, chunks, rate and time left, memory does not grow with the corpus, and a second
writer is refused before anything is parsed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ingest.pipeline import Ingestor
from tests.conftest import CORPUS
from tests.crash_support import hash_kb, pdf_folder, run_kb


def test_documents_are_committed_while_the_run_goes_on(tmp_path):
    folder = pdf_folder(tmp_path / "docs", [f"doc{i}" for i in range(6)])
    seen: list[tuple[int, int, str, int]] = []
    with hash_kb(tmp_path / "kb") as kb:

        def progress(stage: str, done: int, total: int, detail: str) -> None:
            seen.append((done, total, detail, len(kb.catalog.documents())))

        ingestor = Ingestor(kb.catalog, kb.store, kb.embedder, kb.settings, progress=progress, batch_chunks=1)
        report = ingestor.run([folder])
    assert report.added == 6
    done, total, detail, committed = seen[-1]
    assert (done, total, committed) == (6, 6, 6)
    assert "chunks" in detail and "chunks/s" in detail and "left" in detail
    midway = [c for d, _, _, c in seen if 0 < d < 6]
    assert midway and min(midway) < 6  # stored and visible before the run ended


def test_a_second_writer_is_refused_at_once_before_any_parsing(tmp_path):
    folder = pdf_folder(tmp_path / "docs", ["doc0"])
    kb_dir = tmp_path / "kb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from kb.store.edge import EdgeStore; "
         f"s = EdgeStore(__import__('pathlib').Path({str(kb_dir / 'qdrant')!r}), 64); "
         "print('ready', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        # if parsing were reached, the crash point would kill the process (-9) instead
        second = run_kb(kb_dir, "ingest", str(folder), crash_at="parse")
        assert second.returncode == 3, second.stderr
        assert f"in use by pid {holder.pid}" in second.stderr
    finally:
        holder.kill()
        holder.wait()
    with hash_kb(kb_dir) as kb:
        assert kb.catalog.runs() == [] and kb.documents() == []  # nothing was started


_MEASURE = """
import json, shutil, sys
from pathlib import Path
from ingest.pipeline import ingest_paths
from kb.embedder import HashEmbedder
from kb.service import KnowledgeBase
from kb.settings import load_settings

copies, corpus, work = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
folder = work / "docs"
pdfs = sorted(p for p in corpus.rglob("*.pdf") if "_build" not in p.parts)
for n in range(copies):
    (folder / f"copy{n}").mkdir(parents=True)
    for pdf in pdfs:
        shutil.copy(pdf, folder / f"copy{n}" / f"{pdf.stem}-copy{n}.pdf")
kb = KnowledgeBase(load_settings(kb_dir=work / "kb"), embedder=HashEmbedder(dim=384))
report = ingest_paths(kb, [folder])
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"added": report.added, "chunks": report.chunks_embedded,
                  "rss_kb": int(status["VmRSS"].split()[0]), "peak_kb": int(status["VmHWM"].split()[0])}))
"""


def _measure(copies: int, work: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(copies), str(CORPUS), str(work)],
                         capture_output=True, text=True, check=True, env=dict(os.environ), timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_memory_stays_bounded_on_a_corpus_ten_times_larger(tmp_path):
    """The corpus's PDFs, once and ten times over (new doc ids), 384-dimensional fake vectors.

    (All 54 corpus files ten times over take minutes to parse here, mostly in unstructured;
    evals/bench_stream.py measures that with the real model, old and new pipeline side by side.)
    """
    t0 = time.perf_counter()
    one = _measure(1, tmp_path / "x1")
    ten = _measure(10, tmp_path / "x10")
    assert ten["added"] == 10 * one["added"] and ten["chunks"] == 10 * one["chunks"]
    assert ten["rss_kb"] <= 1.2 * one["rss_kb"], (one, ten, time.perf_counter() - t0)


def test_storing_in_a_writer_thread_stores_the_same_as_in_line(tmp_path):
    """Issue 14: a batch is stored while the next one embeds; the result is the same as storing in line."""
    folder = pdf_folder(tmp_path / "docs", [f"doc{i}" for i in range(4)])
    stored = {}
    for overlap in (True, False):
        with hash_kb(tmp_path / f"kb-{overlap}") as kb:
            report = Ingestor(kb.catalog, kb.store, kb.embedder, kb.settings, batch_chunks=1,
                              overlap=overlap).run([folder])
            assert report.added == 4 and not report.failed
            stored[overlap] = (sorted((p.id, p.payload["text"]) for p in kb.store.scroll()),
                               sorted((d.doc_id, d.version, d.chunk_count) for d in kb.documents()))
    assert stored[True] == stored[False]


def _slow_parse(monkeypatch, stem: str, seconds: float) -> None:
    """The file named `stem` takes `seconds` longer to parse."""
    import ingest.pipeline as pipeline

    real_parse = pipeline.parse_isolated

    def parse(path, limits):
        if path.stem == stem:
            time.sleep(seconds)
        return real_parse(path, limits)
    monkeypatch.setattr(pipeline, "parse_isolated", parse)


def test_the_embedder_waits_for_a_full_batch_but_not_for_a_slow_file(tmp_path, monkeypatch):
    """Batches are filled before they are embedded (small ones padded badly: 1.57x the encoder
    time), but a batch that has waited `max_batch_wait_s` for a slow parse is embedded and
    committed without it."""
    folder = pdf_folder(tmp_path / "docs", ["doc0", "doc1", "doc2", "slow"])
    _slow_parse(monkeypatch, "slow", 2.0)
    with hash_kb(tmp_path / "kb") as kb:
        batches: list[list[str]] = []
        committed_before_slow: list[int] = []
        ingestor = Ingestor(kb.catalog, kb.store, kb.embedder, kb.settings, batch_chunks=1000)
        ingestor.max_batch_wait_s = ingestor.first_batch_wait_s = 0.3
        real_embed = ingestor._embed_and_store

        def embed_and_store(batch, report):
            batches.append([w.doc_id for w in batch])
            return real_embed(batch, report)
        ingestor._embed_and_store = embed_and_store
        real_store = ingestor._store

        def store(w, now, report):
            if w.doc_id.startswith("slow"):
                committed_before_slow.append(len(kb.catalog.documents()))
            return real_store(w, now, report)
        ingestor._store = store
        report = ingestor.run([folder])
    assert report.added == 4
    assert [sorted(b) for b in batches] == [["doc0", "doc1", "doc2"], ["slow"]]  # together, then alone
    assert committed_before_slow == [3]


def test_the_first_batch_starts_the_encoder_on_the_first_document(tmp_path, monkeypatch):
    """Issue 14: at the start of a run the encoder is idle, so the first parsed document is
    embedded at once rather than after the parser has filled a batch (2.4 s of a Green Book
    ingest's start-up, now 0.9 s). Later batches wait to fill as before."""
    folder = pdf_folder(tmp_path / "docs", ["doc0", "doc1", "doc2"])
    _slow_parse(monkeypatch, "doc1", 1.0)
    with hash_kb(tmp_path / "kb") as kb:
        batches: list[list[str]] = []
        ingestor = Ingestor(kb.catalog, kb.store, kb.embedder, kb.settings, batch_chunks=1000)
        ingestor.max_batch_wait_s = 5.0
        real_embed = ingestor._embed_and_store

        def embed_and_store(batch, report):
            batches.append(sorted(w.doc_id for w in batch))
            return real_embed(batch, report)
        ingestor._embed_and_store = embed_and_store
        report = ingestor.run([folder])
    assert report.added == 3
    assert batches == [["doc0"], ["doc1", "doc2"]]


def test_the_encoder_leaves_the_parser_a_core_while_it_parses(tmp_path, monkeypatch):
    """Issue 14: while files are still being parsed (a child process on a core of its own), the
    encoder runs on one thread fewer than its default; once the last file is parsed it has every
    core again, and the run ends with the default restored."""
    folder = pdf_folder(tmp_path / "docs", ["doc0", "doc1", "slow"])
    _slow_parse(monkeypatch, "slow", 1.5)
    with hash_kb(tmp_path / "kb") as kb:
        calls: list[int | None] = []
        at_embed: list[tuple[str, int | None]] = []
        kb.embedder.default_threads = 4
        kb.embedder.use_threads = calls.append
        ingestor = Ingestor(kb.catalog, kb.store, kb.embedder, kb.settings, batch_chunks=1000)
        ingestor.max_batch_wait_s = ingestor.first_batch_wait_s = 0.3  # doc0 and doc1 in one batch
        real_embed = kb.embedder.embed

        def embed(texts, progress=None):
            at_embed.append(("slow" if any("slow" in t for t in texts) else "first", ingestor._threads))
            return real_embed(texts, progress)
        kb.embedder.embed = embed
        report = ingestor.run([folder])
    assert report.added == 3
    # doc0 and doc1 were embedded while "slow" was parsing: 3 of 4 threads; "slow" after the parser finished
    assert at_embed == [("first", 3), ("first", 3), ("slow", None), ("slow", None)]  # chunks, then their sentences
    assert calls == [3, None]  # and the default is back when the run ends

    # an encoder whose threads cannot change (a remote endpoint, onnxruntime) is left alone
    with hash_kb(tmp_path / "kb2") as kb:
        assert kb.embedder.default_threads == 0
        kb.embedder.use_threads = lambda n: (_ for _ in ()).throw(AssertionError("called"))
        assert Ingestor(kb.catalog, kb.store, kb.embedder, kb.settings).run([folder]).added == 3


def test_the_local_encoder_changes_its_threads_and_restores_them(embedder):
    import torch

    assert embedder.default_threads == torch.get_num_threads() >= 1
    before = embedder.embed(["Hepatitis B vaccine is given in three doses."])[0]
    embedder.use_threads(1)
    try:
        assert torch.get_num_threads() == 1
        one = embedder.embed(["Hepatitis B vaccine is given in three doses."])[0]
    finally:
        embedder.use_threads(None)
    assert torch.get_num_threads() == embedder.default_threads
    assert sum(a * b for a, b in zip(before, one, strict=True)) > 0.9999
