"""SIGKILL during `kb ingest` at named points (KB_TEST_CRASH_AT): after each kill the catalog
and the store agree (anything half-done is journaled as one unfinished intent), the document
still answers, and re-running the ingest completes the work without re-embedding what was
already committed."""

from __future__ import annotations

import signal

import pytest

from ingest.pipeline import ingest_paths
from kb.doctor import examine
from kb.store import PointFilter
from tests.crash_support import hash_kb, pdf_folder, run_kb, write_pdf

NAMES = ["doc0", "doc1", "doc2"]


@pytest.fixture
def stored(tmp_path):
    """Three PDFs ingested (version 1), then doc0 and doc1 changed on disk (version 2)."""
    folder = pdf_folder(tmp_path / "docs", NAMES)
    kb_dir = tmp_path / "kb"
    with hash_kb(kb_dir) as kb:
        ingest_paths(kb, [folder])
        v1 = {n: kb.document(n).version for n in NAMES}
    for n in ("doc0", "doc1"):
        write_pdf(folder / f"{n}.pdf", f"beta{n}")
    return folder, kb_dir, v1


def _only_journaled(findings) -> None:
    assert {f.kind for f in findings} <= {"unfinished_intent", "unfinished_run"}, findings


def _answers(kb, doc_id: str, version: str, word: str) -> None:
    hits = kb.search(word, k=3, mode="bm25")  # the marker word is lexical; the hash fake is not semantic
    assert hits and hits[0].chunk.doc_id == doc_id and hits[0].chunk.version == version


@pytest.mark.parametrize(
    ("point", "doc0_flipped"),
    [("parse:1", False), ("after_upsert", False), ("after_flip", True)],
)
def test_kill_during_ingest_leaves_a_state_the_next_run_repairs(stored, point, doc0_flipped):
    folder, kb_dir, v1 = stored
    killed = run_kb(kb_dir, "ingest", str(folder), crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with hash_kb(kb_dir) as kb:
        _only_journaled(examine(kb.catalog, kb.store))
        doc0 = kb.document("doc0")
        assert (doc0.version != v1["doc0"]) == doc0_flipped
        if doc0_flipped:
            _answers(kb, "doc0", doc0.version, "betadoc0")
        else:
            _answers(kb, "doc0", v1["doc0"], "alphadoc0")
        _answers(kb, "doc1", v1["doc1"], "alphadoc1")  # never reached: the old version answers
        again = ingest_paths(kb, [folder])
        assert not again.failed and again.repaired
        assert again.updated == (1 if doc0_flipped else 2)
        assert examine(kb.catalog, kb.store) == []
        for n in ("doc0", "doc1"):
            doc = kb.document(n)
            assert doc.version != v1[n]
            _answers(kb, n, doc.version, f"beta{n}")
            live = {p.payload["version"]: p.payload["live"] for p in kb.store.scroll(PointFilter(doc_ids=(n,)))}
            assert live == {doc.version: True, v1[n]: False}  # the old version is kept, not live


def test_killed_ingest_resumes_without_embedding_committed_documents_again(stored):
    folder, kb_dir, v1 = stored
    killed = run_kb(kb_dir, "ingest", str(folder), crash_at="after_unlive:1")  # right after doc0 commits
    assert killed.returncode == -signal.SIGKILL
    with hash_kb(kb_dir) as kb:
        assert examine(kb.catalog, kb.store)[0].kind in ("unfinished_intent", "unfinished_run")
        chunks_doc1 = kb.document("doc1").chunk_count
        again = ingest_paths(kb, [folder])
        assert (again.updated, again.unchanged) == (1, 2)  # doc0 was committed whole before the kill
        assert again.chunks_embedded == chunks_doc1
        assert examine(kb.catalog, kb.store) == []
        assert kb.catalog.runs()[1]["summary"] == {"interrupted": True}
