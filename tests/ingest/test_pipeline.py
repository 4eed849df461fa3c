"""Incremental ingestion, versions, --sync, and bad files, on a real Edge shard and real model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from kb.records import DocStatus
from kb.store import PointFilter


def _doc_chunks(kb, doc_id):
    return kb.store.scroll(PointFilter(doc_ids=(doc_id,)))


def test_reingest_unchanged_embeds_nothing(make_kb, corpus_copy):
    kb = make_kb()
    first = ingest_paths(kb, [corpus_copy])
    assert first.added > 0 and not first.failed
    assert first.chunks_embedded > 0
    points = kb.store.count()
    again = ingest_paths(kb, [corpus_copy])
    assert again.chunks_embedded == 0
    assert again.unchanged == first.added
    assert again.added == again.updated == 0
    assert kb.store.count() == points


def test_changed_file_becomes_new_version_and_old_chunks_are_kept_not_live(make_kb, corpus_copy):
    kb = make_kb()
    ingest_paths(kb, [corpus_copy])
    path = next(corpus_copy.rglob("*.md"))
    doc = kb.catalog.by_source_path(str(path.resolve()))
    old_version = doc.version
    path.write_text(path.read_text(encoding="utf-8") + "\n\n## 99 Added section\n\nThe zebra protocol applies on Tuesdays.\n", encoding="utf-8")
    report = ingest_paths(kb, [corpus_copy])
    assert report.updated == 1 and report.added == 0
    new = kb.catalog.get(doc.doc_id)
    assert new.version != old_version
    live = {p.payload["version"]: p.payload["live"] for p in _doc_chunks(kb, doc.doc_id)}
    assert live == {new.version: True, old_version: False}
    assert kb.chunks(doc.doc_id, version=old_version)[0].version == old_version
    assert [v["version"] for v in kb.catalog.versions(doc.doc_id)] == [old_version, new.version]
    hits = kb.search("zebra protocol Tuesdays", k=3)
    assert hits[0].chunk.doc_id == doc.doc_id


def test_sync_withdraws_deleted_file_and_restores_it(make_kb, corpus_copy, tmp_path):
    kb = make_kb()
    ingest_paths(kb, [corpus_copy])
    path = next(corpus_copy.rglob("*.md"))
    doc = kb.catalog.by_source_path(str(path.resolve()))
    saved = path.read_bytes()
    path.unlink()
    without_sync = ingest_paths(kb, [corpus_copy])
    assert without_sync.withdrawn == 0
    report = ingest_paths(kb, [corpus_copy], sync=True)
    assert report.withdrawn == 1
    assert kb.catalog.get(doc.doc_id).status == DocStatus.withdrawn
    assert all(h.chunk.doc_id != doc.doc_id for h in kb.search(doc.title, k=10))
    path.write_bytes(saved)
    back = ingest_paths(kb, [corpus_copy], sync=True)
    assert back.chunks_embedded == 0
    assert kb.catalog.get(doc.doc_id).status != DocStatus.withdrawn


def _pdf_bytes(text_pages: list[str], encrypt: str | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for t in text_pages:
        if t:
            c.drawString(72, 720, t)
        else:
            c.rect(72, 500, 300, 200, fill=1)  # a drawing, no text
        c.showPage()
    c.save()
    data = buf.getvalue()
    if encrypt:
        from pypdf import PdfReader, PdfWriter

        w = PdfWriter()
        for p in PdfReader(io.BytesIO(data)).pages:
            w.add_page(p)
        w.encrypt(encrypt)
        out = io.BytesIO()
        w.write(out)
        data = out.getvalue()
    return data


@pytest.fixture
def bad_files(tmp_path) -> dict[str, Path]:
    d = tmp_path / "bad"
    d.mkdir()
    files = {
        "corrupt": (d / "corrupt.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF"),
        "encrypted": (d / "encrypted.pdf", _pdf_bytes(["Secret text about sharps."], encrypt="secret")),
        "empty": (d / "empty.txt", b""),
        "image_only": (d / "scan.pdf", _pdf_bytes(["", ""])),
        "unsupported": (d / "table.xyz", b"col1,col2\n1,2\n"),
    }
    for path, data in files.values():
        path.write_bytes(data)
    return {k: v[0] for k, v in files.items()}


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("corrupt", "corrupt"),
        ("encrypted", "encrypted"),
        ("empty", "empty"),
        ("image_only", "no text layer"),
        ("unsupported", "unsupported type"),
    ],
)
def test_bad_file_gives_clear_error_and_keeps_stored_data(make_kb, corpus_copy, bad_files, kind, reason):
    kb = make_kb()
    ingest_paths(kb, [corpus_copy])
    before = kb.store.count()
    docs_before = len(kb.documents())
    report = ingest_paths(kb, [corpus_copy, bad_files[kind]])
    assert len(report.failed) == 1
    failure = report.failed[0]
    assert failure["path"] == str(bad_files[kind].resolve())
    assert reason in failure["error"].lower()
    assert kb.store.count() == before
    assert len(kb.documents()) == docs_before
    assert kb.catalog.errors()[0]["path"] == failure["path"]


def test_one_bad_file_does_not_stop_the_run(make_kb, bad_files, corpus_copy):
    kb = make_kb()
    report = ingest_paths(kb, [bad_files["corrupt"].parent, corpus_copy])
    assert len(report.failed) == len(bad_files)
    assert report.added >= 1


def test_bad_metadata_names_the_manifest(make_kb, tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "note.md").write_text("# Note\n\nSome occupational health text about flu vaccination.\n")
    (d / "manifest.yaml").write_text("documents:\n  note.md:\n    doc_type: leaflet\n")
    kb = make_kb()
    report = ingest_paths(kb, [d])
    assert report.failed and "manifest.yaml" in report.failed[0]["error"]
    assert "doc_type" in report.failed[0]["error"]


def test_metadata_edit_applies_without_reembedding(make_kb, tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "note.md").write_text("# Flu note\n\nStaff flu vaccination opens in October each year.\n")
    (d / "note.md.meta.yaml").write_text("title: Flu note\ndoc_type: bulletin\nreview_due: 2030-01-01\n")
    kb = make_kb()
    ingest_paths(kb, [d])
    (d / "note.md.meta.yaml").write_text("title: Flu note\ndoc_type: bulletin\nreview_due: 2020-01-01\n")
    report = ingest_paths(kb, [d])
    assert report.chunks_embedded == 0
    doc = kb.catalog.get("note")
    assert str(doc.review_due) == "2020-01-01"
    hit = kb.search("flu vaccination October", k=1)[0]
    assert str(hit.chunk.review_due) == "2020-01-01"


def test_report_json_contract(make_kb, corpus_copy):
    kb = make_kb()
    data = ingest_paths(kb, [corpus_copy]).contract()
    for key in ("added", "updated", "unchanged", "withdrawn", "failed"):
        assert key in data
    json.dumps(data)
