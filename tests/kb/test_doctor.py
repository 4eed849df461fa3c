"""`kb doctor` finds each way the store can disagree with the catalog, and `--repair` fixes it."""

from __future__ import annotations

import json

from ingest.pipeline import ingest_paths
from kb.doctor import examine, repair
from kb.store import PointData, PointFilter
from tests.crash_support import hash_kb, pdf_folder, run_kb


def test_doctor_finds_and_repairs_every_kind_of_disagreement(tmp_path):
    folder = pdf_folder(tmp_path / "docs", ["doc0", "doc1", "doc2"])
    kb_dir = tmp_path / "kb"
    with hash_kb(kb_dir) as kb:
        ingest_paths(kb, [folder])
        assert examine(kb.catalog, kb.store) == []
        payload = {"doc_id": "ghost", "version": "v0", "status": "current", "live": 1}
        kb.store.upsert([PointData("00000000-0000-0000-0000-000000000001", [1.0] + [0.0] * 63, [1], [1.0], payload)])
        kb.store.set_payload(PointFilter(doc_ids=("doc1",)), {"status": "withdrawn"})
        kb.store.set_payload(PointFilter(doc_ids=("doc2",)), {"live": 0})
        kb.store.delete(PointFilter(doc_ids=("doc0",)))
        kinds = {(f.kind, f.doc_id) for f in examine(kb.catalog, kb.store)}
        assert kinds == {("orphan_points", "ghost"), ("payload_mismatch", "doc1"), ("live_flag", "doc2"),
                         ("missing_chunks", "doc0")}
        report = repair(kb.catalog, kb.store)
        assert report.reingest == ["doc0"]
        assert [f.kind for f in report.findings] == ["missing_chunks"]  # needs re-embedding
    fixed = run_kb(kb_dir, "doctor", "--repair", "--json")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert any("re-embedded doc0" in line for line in json.loads(fixed.stdout)["repaired"])
    again = run_kb(kb_dir, "doctor")
    assert again.returncode == 0 and "agree" in again.stdout


def test_versions_are_listed_and_old_chunks_readable(tmp_path):
    from tests.crash_support import write_pdf

    folder = pdf_folder(tmp_path / "docs", ["doc0"])
    kb_dir = tmp_path / "kb"
    with hash_kb(kb_dir) as kb:
        ingest_paths(kb, [folder])
        first = kb.document("doc0").version
        write_pdf(folder / "doc0.pdf", "betadoc0")
        ingest_paths(kb, [folder])
        write_pdf(folder / "doc0.pdf", "gammadoc0")
        ingest_paths(kb, [folder])
        live = kb.document("doc0").version
        assert "alphadoc0" in kb.chunks("doc0", version=first)[0].text
        assert "gammadoc0" in kb.chunks("doc0")[0].text
        assert not kb.search("alphadoc0", k=3, mode="bm25")  # kept versions are never retrieved
    out = json.loads(run_kb(kb_dir, "docs", "versions", "doc0", "--json").stdout)
    rows = out["versions"]
    assert len(rows) == 3 and [r["live"] for r in rows] == [False, False, True]
    assert rows[-1]["version"] == live and all({"version", "ingested_at", "live"} <= set(r) for r in rows)
    refused = run_kb(kb_dir, "docs", "purge", "doc0", "--version", live, "--yes")
    assert refused.returncode == 2 and "live version" in refused.stderr
    done = run_kb(kb_dir, "docs", "purge", "doc0", "--version", first[:16], "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(run_kb(kb_dir, "docs", "versions", "doc0", "--json").stdout)["versions"]) == 2
    with hash_kb(kb_dir) as kb:
        assert kb.chunks("doc0", version=first) == []
        assert examine(kb.catalog, kb.store) == []
