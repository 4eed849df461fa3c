"""SIGKILL during `kb docs supersede|retire|restore|purge` (KB_TEST_CRASH_AT): the catalog and the
store never disagree except under one journaled intent, search reflects the catalog, and the
next ingest, curation command or `kb doctor --repair` finishes the command."""

from __future__ import annotations

import json
import signal

import pytest

from ingest.pipeline import ingest_paths
from kb.doctor import examine
from kb.records import DocStatus
from kb.store import PointFilter
from tests.crash_support import hash_kb, pdf_folder, run_kb, write_pdf


@pytest.fixture
def stored(tmp_path):
    folder = pdf_folder(tmp_path / "docs", ["doc0", "doc1", "doc2"])
    kb_dir = tmp_path / "kb"
    with hash_kb(kb_dir) as kb:
        ingest_paths(kb, [folder])
    return folder, kb_dir


def _journaled_only(kb) -> None:
    assert {f.kind for f in examine(kb.catalog, kb.store)} <= {"unfinished_intent"}


def _statuses(kb, doc_id: str) -> set[str]:
    return {p.payload["status"] for p in kb.store.scroll(PointFilter(doc_ids=(doc_id,)))}


def _found(kb, word: str, **kw) -> bool:
    return any(h.chunk.doc_id == word.removeprefix("alpha") for h in kb.search(word, k=5, mode="bm25", **kw))


@pytest.mark.parametrize("point", ["supersede_after_status", "supersede_after_catalog"])
def test_kill_during_supersede_then_next_ingest_finishes_it(stored, point):
    folder, kb_dir = stored
    assert run_kb(kb_dir, "docs", "supersede", "doc0", "doc1", crash_at=point).returncode == -signal.SIGKILL
    with hash_kb(kb_dir) as kb:
        _journaled_only(kb)
        assert kb.document("doc0").status == DocStatus.superseded
        assert not _found(kb, "alphadoc0")  # hidden at once: retrieval checks the catalog
        ingest_paths(kb, [folder])  # the next run repairs (the probe found it did not)
        assert examine(kb.catalog, kb.store) == []
        assert kb.document("doc1").supersedes == ["doc0"]
        assert _statuses(kb, "doc0") == {"superseded"}
        from kb.records import SearchFilters

        assert _found(kb, "alphadoc0", filters=SearchFilters(include_superseded=True))


def test_kill_during_retire_then_rerunning_the_command_finishes_it(stored):
    _, kb_dir = stored
    assert run_kb(kb_dir, "docs", "retire", "doc2", crash_at="retire_after_catalog").returncode == -signal.SIGKILL
    with hash_kb(kb_dir) as kb:
        _journaled_only(kb)
        assert not _found(kb, "alphadoc2")
        assert _statuses(kb, "doc2") == {"current"}  # the store write never happened
    done = run_kb(kb_dir, "docs", "retire", "doc2", "--json")
    assert done.returncode == 0, done.stderr
    with hash_kb(kb_dir) as kb:
        assert examine(kb.catalog, kb.store) == []
        assert _statuses(kb, "doc2") == {"withdrawn"}


def test_kill_during_restore_then_next_ingest_repairs_it(stored):
    folder, kb_dir = stored
    assert run_kb(kb_dir, "docs", "retire", "doc2").returncode == 0
    assert run_kb(kb_dir, "docs", "restore", "doc2", crash_at="restore_after_store").returncode == -signal.SIGKILL
    with hash_kb(kb_dir) as kb:
        _journaled_only(kb)
        assert kb.document("doc2").status == DocStatus.withdrawn
        assert not _found(kb, "alphadoc2")  # the catalog still says withdrawn, and wins
        ingest_paths(kb, [folder])
        assert kb.document("doc2").status == DocStatus.current
        assert _statuses(kb, "doc2") == {"current"}
        assert _found(kb, "alphadoc2")
        assert examine(kb.catalog, kb.store) == []


def test_kill_during_purge_then_doctor_repair_finishes_it(stored):
    folder, kb_dir = stored
    with hash_kb(kb_dir) as kb:
        old = kb.document("doc0").version
        write_pdf(folder / "doc0.pdf", "betadoc0")
        ingest_paths(kb, [folder])
    refused = run_kb(kb_dir, "docs", "purge", "doc0", "--version", old)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    killed = run_kb(kb_dir, "docs", "purge", "doc0", "--version", old, "--yes", crash_at="purge_after_catalog")
    assert killed.returncode == -signal.SIGKILL
    listed = json.loads(run_kb(kb_dir, "docs", "versions", "doc0", "--json").stdout)
    assert [v["live"] for v in listed["versions"]] == [True]
    doctor = run_kb(kb_dir, "doctor", "--json")
    assert doctor.returncode == 1 and json.loads(doctor.stdout)["findings"][0]["kind"] == "unfinished_intent"
    fixed = run_kb(kb_dir, "doctor", "--repair", "--json")
    assert fixed.returncode == 0 and json.loads(fixed.stdout)["ok"], fixed.stdout
    with hash_kb(kb_dir) as kb:
        assert kb.store.count(PointFilter(doc_ids=("doc0",), versions=(old,))) == 0
        assert kb.catalog.events("doc0", limit=1)[0]["action"] == "purge"
