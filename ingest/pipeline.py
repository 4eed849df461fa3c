"""Incremental ingestion: files -> parsed -> chunks -> embeddings -> store + catalog.

- Unchanged bytes (same sha256 as the live version) are skipped with no embedding;
  metadata edits on such files are applied without re-embedding.
- A changed file becomes a new version: its chunks are written first, then the
  catalog flips the live version in one transaction, then the old chunks are removed.
- `sync=True` treats each folder given as the truth and withdraws documents that are gone.
- One bad file never stops the run; each failure names the file and the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunking import chunk_document
from ingest.isolation import parse_isolated
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.loaders.limits import ParseLimits
from ingest.metadata import is_metadata_file, metadata_for, slugify
from kb.errors import IngestError, KBError
from kb.mapping import chunks_for, payload_fields, point_text
from kb.records import ChunkDraft, DocStatus, Document, DocumentMeta, ParsedDocument
from kb.sparse import sparse_document
from kb.store import PointData, PointFilter

Progress = Callable[[str, int, int, str], None]  # (stage, done, total, detail)


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    failed: list[dict] = field(default_factory=list)
    metadata_updated: int = 0
    chunks_embedded: int = 0
    pages: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    run_id: str = ""
    doc_ids: list[str] = field(default_factory=list)

    def contract(self) -> dict:
        """The `kb ingest --json` contract, plus extra fields."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "failed": self.failed,
            "metadata_updated": self.metadata_updated,
            "chunks_embedded": self.chunks_embedded,
            "pages": self.pages,
            "seconds": round(self.seconds, 2),
            "embed_seconds": round(self.embed_seconds, 2),
            "run_id": self.run_id,
        }


@dataclass
class _Work:
    path: Path
    sha: str
    meta: DocumentMeta
    doc_id: str
    previous: Document | None
    parsed: ParsedDocument | None = None
    drafts: list[ChunkDraft] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Files to ingest under `paths`, and the folders given (for --sync).

    Skips names starting with "." or "_" (build folders, hidden files) and metadata files.
    """
    files: list[Path] = []
    roots: list[Path] = []
    for p in paths:
        p = Path(p).resolve()
        if not p.exists():
            raise KBError(f"{p}: no such file or folder.")
        if p.is_file():
            files.append(p)
            continue
        roots.append(p)
        for f in sorted(p.rglob("*")):
            rel = f.relative_to(p).parts
            if any(part.startswith((".", "_")) for part in rel):
                continue
            if f.is_file() and not is_metadata_file(f):
                files.append(f)
    return list(dict.fromkeys(files)), roots


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _title(w: _Work) -> str:
    """The document's title: curator metadata, then the file's own title, then the file name."""
    hint = w.parsed.title_hint if w.parsed else None
    return w.meta.title or hint or w.path.stem.replace("-", " ").replace("_", " ").title()


def _build_document(w: _Work, now: dt.datetime) -> Document:
    meta, parsed = w.meta, w.parsed
    assert parsed is not None
    return Document(
        doc_id=w.doc_id,
        title=_title(w),
        doc_type=meta.doc_type,
        topics=meta.topics,
        publisher=meta.publisher,
        audience=meta.audience,
        published=meta.published or parsed.date_hint,
        review_due=meta.review_due,
        status=meta.status,
        supersedes=meta.supersedes,
        superseded_by=w.previous.superseded_by if w.previous and meta.status != DocStatus.current else None,
        source_path=str(w.path),
        source_url=meta.source_url,
        version=w.sha,
        ingested_at=now,
        sample=meta.sample,
        page_count=parsed.page_count,
        chunk_count=len(w.drafts),
    )


def _metadata_changed(old: Document, meta: DocumentMeta, explicit: set[str]) -> dict:
    """Non-status metadata fields the curator changed since the live version was stored."""
    changes = {}
    for name in ("title", "doc_type", "topics", "publisher", "audience", "published", "review_due",
                 "supersedes", "source_url", "sample"):
        if name not in explicit:
            continue
        new = getattr(meta, name)
        if new != getattr(old, name):
            changes[name] = new
    return changes


class Ingestor:
    """Runs one ingest over paths, writing through a `KnowledgeBase`."""

    def __init__(self, kb, chunk_tokens: int | None = None, progress: Progress | None = None) -> None:
        self.kb = kb
        self.chunk_tokens = chunk_tokens or kb.settings.chunk_tokens
        self.progress = progress or (lambda stage, done, total, detail: None)

    def run(self, paths: list[Path], sync: bool = False) -> IngestReport:
        t_start = time.perf_counter()
        files, roots = discover(paths)
        report = IngestReport()
        report.run_id = self.kb.catalog.start_run([str(Path(p).resolve()) for p in paths])
        seen_paths: set[str] = set()
        claimed: dict[str, Path] = {}
        work: list[_Work] = []

        for i, path in enumerate(files, start=1):
            self.progress("scan", i, len(files), path.name)
            seen_paths.add(str(path))
            try:
                w = self._plan(path, claimed)
            except IngestError as exc:
                self._fail(report, exc.path, f"{exc.reason}" + (f": {exc.detail}" if exc.detail else ""))
                continue
            if w is None:
                report.unchanged += 1
                continue
            work.append(w)

        parsed: list[_Work] = []
        for i, w in enumerate(work, start=1):
            self.progress("parse", i, len(work), w.path.name)
            try:
                w.parsed = parse_isolated(w.path, ParseLimits.from_settings(self.kb.settings))
                w.drafts = chunk_document(w.parsed, max_tokens=self.chunk_tokens)
                if not w.drafts:
                    raise IngestError(str(w.path), "no text layer", "no text could be extracted")
            except IngestError as exc:
                self._fail(report, str(w.path), exc.reason + (f": {exc.detail}" if exc.detail else ""))
                continue
            except Exception as exc:  # a loader bug must not stop the run
                self._fail(report, str(w.path), f"could not be read: {type(exc).__name__}: {exc}")
                continue
            parsed.append(w)

        self._embed(parsed, report)
        now = dt.datetime.now(dt.UTC)
        for i, w in enumerate(parsed, start=1):
            self.progress("store", i, len(parsed), w.path.name)
            try:
                self._store(w, now, report)
            except Exception as exc:
                self._fail(report, str(w.path), f"could not be stored: {type(exc).__name__}: {exc}")
        self._apply_supersedes(report.doc_ids)
        if sync:
            report.withdrawn = self._withdraw_missing(roots, seen_paths)
        report.seconds = time.perf_counter() - t_start
        self.kb.catalog.finish_run(report.run_id, report.contract())
        return report

    # ------------------------------------------------------------------ steps

    def _fail(self, report: IngestReport, path: str, error: str) -> None:
        report.failed.append({"path": path, "error": error})
        self.kb.catalog.add_error(report.run_id, path, error)

    def _plan(self, path: Path, claimed: dict[str, Path]) -> _Work | None:
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise IngestError(
                str(path),
                "unsupported type",
                f"'{path.suffix or 'no extension'}' files are not supported; "
                f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}",
            )
        meta, explicit = metadata_for(path)
        doc_id = meta.doc_id or slugify(path.stem)
        if doc_id in claimed:
            raise IngestError(str(path), "duplicate doc_id", f"'{doc_id}' is also used by {claimed[doc_id]}")
        claimed[doc_id] = path
        previous = self.kb.catalog.get(doc_id)
        if previous and previous.source_path != str(path) and Path(previous.source_path).exists():
            if previous.status != DocStatus.withdrawn:
                raise IngestError(
                    str(path),
                    "duplicate doc_id",
                    f"'{doc_id}' already belongs to {previous.source_path}; set a different doc_id",
                )
        sha = _sha256(path)
        if previous and previous.version == sha:
            self._refresh_unchanged(previous, meta, explicit, path)
            return None
        return _Work(path, sha, meta, doc_id, previous)

    def _refresh_unchanged(self, doc: Document, meta: DocumentMeta, explicit: set[str], path: Path) -> None:
        changes = _metadata_changed(doc, meta, explicit)
        restore = doc.status == DocStatus.withdrawn and self._withdrawn_by_sync(doc)
        if str(path) != doc.source_path:
            changes["source_path"] = str(path)
        if not changes and not restore:
            return
        if restore:
            changes["status"] = meta.status
        updated = doc.model_copy(update=changes)
        self.kb.catalog.put(updated, "metadata", ", ".join(sorted(changes)))
        self.kb.store.set_payload(PointFilter(doc_ids=(doc.doc_id,)), payload_fields(updated))

    def _withdrawn_by_sync(self, doc: Document) -> bool:
        events = self.kb.catalog.events(doc.doc_id, limit=1)
        return bool(events) and events[0]["detail"] == "gone from folder (sync)"

    def _embed(self, parsed: list[_Work], report: IngestReport) -> None:
        texts: list[str] = []
        owners: list[_Work] = []
        for w in parsed:
            title = _title(w)  # the same title the BM25 text and the payload get
            for d in w.drafts:
                texts.append(point_text(title, d.text))
                owners.append(w)
        if not texts:
            return
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            self.progress("embed", done, len(texts), f"{done}/{len(texts)} chunks")

        t0 = time.perf_counter()
        vectors = self.kb.embedder.embed(texts, progress=tick)
        report.embed_seconds = time.perf_counter() - t0
        report.chunks_embedded = len(texts)
        for w, v in zip(owners, vectors, strict=True):
            w.vectors.append(v)

    def _store(self, w: _Work, now: dt.datetime, report: IngestReport) -> None:
        doc = _build_document(w, now)
        chunks = chunks_for(doc, w.drafts)
        points = []
        for chunk, vec in zip(chunks, w.vectors, strict=True):
            idx, vals = sparse_document(point_text(doc.title, chunk.text))
            points.append(PointData(chunk.chunk_id, vec, idx, vals, chunk.model_dump(mode="json")))
        self.kb.store.upsert(points)  # 1. new chunks first
        action = "updated" if w.previous else "added"
        self.kb.catalog.put(doc, action, str(w.path))  # 2. flip the live version
        if w.previous:  # 3. then remove every other version's chunks
            self.kb.store.delete(PointFilter(doc_ids=(doc.doc_id,), exclude_versions=(doc.version,)))
            report.updated += 1
        else:
            report.added += 1
        report.pages += doc.page_count or 0
        report.doc_ids.append(doc.doc_id)

    def _apply_supersedes(self, doc_ids: list[str]) -> None:
        """Documents that declare `supersedes` mark their predecessors as superseded."""
        from kb.curation import supersede_document

        touched = set(doc_ids)
        for doc in self.kb.catalog.documents(statuses=["current"]):
            for old_id in doc.supersedes:
                old = self.kb.catalog.get(old_id)
                if old is None:
                    continue
                if doc.doc_id in touched or old_id in touched:
                    if old.status != DocStatus.superseded or old.superseded_by != doc.doc_id:
                        if old.status != DocStatus.withdrawn:
                            supersede_document(self.kb, old_id, doc.doc_id)

    def _withdraw_missing(self, roots: list[Path], seen: set[str]) -> int:
        count = 0
        for doc in self.kb.catalog.documents():
            if doc.status == DocStatus.withdrawn or doc.source_path in seen:
                continue
            src = Path(doc.source_path)
            if any(src.is_relative_to(r) for r in roots):
                self.kb.catalog.set_status(doc.doc_id, DocStatus.withdrawn, doc.superseded_by,
                                           "gone from folder (sync)")
                self.kb.store.set_payload(PointFilter(doc_ids=(doc.doc_id,)), {"status": "withdrawn"})
                count += 1
        return count


def ingest_paths(kb, paths: list[Path], sync: bool = False, progress: Progress | None = None) -> IngestReport:
    """Ingest files and folders into `kb`; see the module docstring."""
    return Ingestor(kb, progress=progress).run([Path(p) for p in paths], sync=sync)
