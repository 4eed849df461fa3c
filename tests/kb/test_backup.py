"""`kb backup` while an ingest runs (in a thread of the serving process), then `kb restore`
into a fresh KB_DIR: the catalog passes integrity_check, every document has its chunks, and
searches answer exactly as the source did for the documents the backup holds."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading

from ingest.pipeline import ingest_paths
from kb.backup import backup_kb
from kb.doctor import examine
from kb.store import PointFilter
from tests.conftest import CORPUS
from tests.crash_support import hash_kb, run_kb, write_pdf


def _golden_questions(n: int = 8) -> list[str]:
    lines = (CORPUS.parent / "evals" / "datasets" / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines[:n]]


def _results(kb, questions, doc_ids):
    """Dense hits on the guidance: dense scores do not depend on what else is stored (BM25's IDF
    does), so the source and the restored copy must agree exactly."""
    return [[(h.chunk.doc_id, h.chunk.chunk_id) for h in kb.search(q, k=10, mode="dense")
             if h.chunk.doc_id in doc_ids] for q in questions]


def test_backup_during_ingest_restores_to_the_same_answers(tmp_path):
    guidance = tmp_path / "guidance"
    guidance.mkdir()
    for pdf in sorted(CORPUS.rglob("*.pdf")):
        if "_build" not in pdf.parts:
            shutil.copy(pdf, guidance / pdf.name)
    more = tmp_path / "more"
    more.mkdir()
    for i in range(24):
        write_pdf(more / f"widget-{i}.pdf", f"calibrationword{i}")
    src_dir, dest, fresh = tmp_path / "kb", tmp_path / "backup", tmp_path / "restored"
    questions = _golden_questions()
    with hash_kb(src_dir) as kb:
        ingest_paths(kb, [guidance])
        guidance_ids = {d.doc_id for d in kb.documents()}
        before = _results(kb, questions, guidance_ids)
        assert all(before)
        halfway = threading.Event()
        ingest = threading.Thread(
            target=ingest_paths, args=(kb, [more]),
            kwargs={"progress": lambda stage, done, total, detail: done >= 4 and halfway.set()},
        )
        ingest.start()
        assert halfway.wait(60)
        manifest = backup_kb(kb, dest)  # while the ingest goes on
        ingest.join()
        assert ingest.is_alive() is False and len(kb.documents()) == 13 + 24
    assert 13 <= manifest["documents"] < 13 + 24  # taken part-way through the second ingest
    restored = run_kb(fresh, "restore", str(dest), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["doctor"]["ok"]
    with sqlite3.connect(fresh / "catalog.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with hash_kb(fresh) as kb:
        assert examine(kb.catalog, kb.store) == []
        for doc in kb.documents():
            assert kb.store.count(PointFilter(doc_ids=(doc.doc_id,), versions=(doc.version,))) == doc.chunk_count
        assert _results(kb, questions, guidance_ids) == before
    again = run_kb(fresh, "restore", str(dest))
    assert again.returncode == 2 and "--force" in again.stderr
    assert run_kb(fresh, "restore", str(dest), "--force").returncode == 0
