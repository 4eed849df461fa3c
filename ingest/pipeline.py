"""Incremental, streaming ingestion: files -> parsed -> chunks -> embeddings -> store + catalog.

- It streams: one producer thread plans and parses files into a bounded queue while the
  caller's thread embeds small batches of their chunks (length-sorted) and a writer thread
  commits each document of the previous batch (BM25 vectors, upsert, catalog flip) as soon as
  its chunks are written, so parse, embed and store overlap (issue 14). Memory is bounded by the queue and the batch,
  not by the corpus, and a killed run keeps every document committed before the kill.
- Unchanged bytes (same sha256 as the live version) are skipped with no embedding, so a
  re-run resumes where a killed one stopped; metadata edits on such files are applied
  without re-embedding.
- A changed file becomes a new version. Under a journal intent (`kb.journal`): its chunks are
  written first (live), then the catalog flips the live version in one transaction, then
  the old version's chunks are marked `live: false`. Old versions are kept (issue 13) and
  only `kb docs purge` removes one. A document is only ever committed whole; whatever a
  kill leaves is finished or undone by `kb.repair` at the start of the next run.
- `sync=True` treats each folder given as the truth and withdraws documents that are gone.
- One bad file never stops the run; each failure names the file and the reason.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunking import chunk_document
from ingest.discovery import discover, file_sha256
from ingest.isolation import parse_isolated
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.loaders.limits import ParseLimits
from ingest.metadata import metadata_for, slugify
from kb.curation import Curator
from kb.errors import IngestError
from kb.journal import crash_point, intent
from kb.mapping import chunks_for, indexed_text
from kb.records import ChunkDraft, DocStatus, Document, DocumentMeta
from kb.repair import close_interrupted_runs, repair_pending
from kb.sparse import sparse_document
from kb.store import KEPT, LIVE, PointData, PointFilter
from kb.verify.untrusted import instruction_sentences

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
    sentences_embedded: int = 0  # evidence sentences embedded ahead for asks (sentence_vectors)
    sentence_seconds: float = 0.0
    optimise_seconds: float = 0.0
    run_id: str = ""
    doc_ids: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    # stored documents that contain text addressed to an AI assistant (never used as evidence)
    flagged: list[dict] = field(default_factory=list)

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
            "sentences_embedded": self.sentences_embedded,
            "sentence_seconds": round(self.sentence_seconds, 2),
            "optimise_seconds": round(self.optimise_seconds, 2),
            "run_id": self.run_id,
            "repaired": self.repaired,
            "flagged": self.flagged,
        }


@dataclass
class _Work:
    """One file to (re)store: what the producer thread hands to the embedding thread."""

    path: Path
    sha: str
    meta: DocumentMeta
    doc_id: str
    previous: Document | None
    title_hint: str | None = None
    date_hint: dt.date | None = None
    page_count: int | None = None
    drafts: list[ChunkDraft] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class _Unchanged:
    path: Path
    doc: Document
    meta: DocumentMeta
    explicit: set[str]


@dataclass(frozen=True)
class _Failed:
    path: str
    error: str


_END = None  # the producer's last item
_NOTHING_READY = object()

def _title(w: _Work) -> str:
    """The document's title: curator metadata, then the file's own title, then the file name."""
    return w.meta.title or w.title_hint or w.path.stem.replace("-", " ").replace("_", " ").title()


def _build_document(w: _Work, now: dt.datetime) -> Document:
    meta = w.meta
    return Document(
        doc_id=w.doc_id,
        title=_title(w),
        doc_type=meta.doc_type,
        topics=meta.topics,
        publisher=meta.publisher,
        audience=meta.audience,
        published=meta.published or w.date_hint,
        review_due=meta.review_due,
        status=meta.status,
        supersedes=meta.supersedes,
        superseded_by=w.previous.superseded_by if w.previous and meta.status != DocStatus.current else None,
        source_path=str(w.path),
        source_url=meta.source_url,
        version=w.sha,
        ingested_at=now,
        sample=meta.sample,
        page_count=w.page_count,
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
    """Runs one streaming ingest over paths, writing to a catalog and a store.

    >>> # Ingestor(kb.catalog, kb.store, kb.embedder, kb.settings).run([Path("corpus")])

    - `batch_chunks`: chunks embedded together before their documents are stored
      (default: 8 embedding batches, and at least `MIN_BATCH_CHUNKS`; sorted by length
      together, so they pad little). A batch
      that is not full is embedded once it has waited 2 s for the parser (`max_batch_wait_s`).
      The run's first batch does not wait: the encoder starts on the first parsed document
      instead of idling until the parser has filled a batch (`first_batch_wait_s`).
    - `overlap`: store a batch in a writer thread while the next one embeds (default on).
    - `queue_docs`: parsed documents waiting for the embedder (the producer blocks beyond it).
    - `reembed`: doc ids to embed and store again even if their bytes are unchanged
      (`kb doctor --repair` uses it for documents whose chunks are missing).
    """

    # The packaged encoder batches by tokens (2,048 a batch, ~18 chunks), so 8 x `embed_batch_size`
    # (16) was 128 chunks a call: in a corpus x6 ingest its 24 calls replayed alone took 31.0 and
    # 31.5 s against 29.3 and 28.7 s in calls of 256 (512: 28.8 / 29.1; 1,024: 29.1 / 28.9; all in
    # one call: 26.6 / 27.3), since a call's batches are sorted and paired over fewer texts
    # (docs/PERFORMANCE.md, change 27).
    MIN_BATCH_CHUNKS = 256

    def __init__(
        self,
        catalog,
        store_writer,
        embedder,
        settings,
        progress: Progress | None = None,
        chunk_tokens: int | None = None,
        batch_chunks: int | None = None,
        queue_docs: int = 64,
        reembed: Iterable[str] = (),
        overlap: bool = True,
    ) -> None:
        self.catalog = catalog
        self.store = store_writer
        self.embedder = embedder
        self.settings = settings
        self.curator = Curator(catalog, store_writer)
        self.chunk_tokens = chunk_tokens or settings.chunk_tokens
        self.batch_chunks = batch_chunks or max(self.MIN_BATCH_CHUNKS,
                                                8 * max(1, int(getattr(embedder, "batch_size", 32))))
        self.max_batch_wait_s = 2.0
        self.first_batch_wait_s = 0.0
        self.overlap = overlap
        self.queue_docs = max(1, queue_docs)
        self.reembed = set(reembed)
        self.progress = progress or (lambda stage, done, total, detail: None)
        self._producer: threading.Thread | None = None
        self._threads: int | None = None  # the encoder's threads while the parser is busy (_share_cores)
        self._parse_busy = 0.0  # seconds the producer has spent parsing files, and since when it is parsing
        self._parse_started: float | None = None
        self._busy_mark = (0.0, 0.0)  # (_parse_busy, time) at the last _share_cores

    def run(self, paths: list[Path], sync: bool = False) -> IngestReport:
        t_start = time.perf_counter()
        report = IngestReport()
        report.repaired = repair_pending(self.catalog, self.store) + close_interrupted_runs(self.catalog)
        files, roots = discover(paths)
        report.run_id = self.catalog.start_run([str(Path(p).resolve()) for p in paths])
        self._t_start = t_start
        items: queue.Queue = queue.Queue(maxsize=self.queue_docs)
        stop = threading.Event()
        producer = threading.Thread(
            target=self._produce, args=(files, items, stop), name="ingest-parse", daemon=True
        )
        producer.start()
        self._producer, self._busy_mark = producer, (self._parse_busy, t_start)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ingest-store") if self.overlap else None
        self._storing: Future | None = None
        try:
            self._consume(items, len(files), report)
            self._wait_stored()
            self._tick(len(files), len(files), report)  # the last batch is committed now
        finally:
            if self._threads is not None:
                self.embedder.use_threads(None)
                self._threads = None
            if self._writer is not None:
                self._writer.shutdown(wait=True)
            stop.set()
            while producer.is_alive():  # unblock a producer waiting on a full queue
                try:
                    items.get(timeout=0.05)
                except queue.Empty:
                    pass
            producer.join()
        self._apply_supersedes(report.doc_ids)
        if sync:
            report.withdrawn = self._withdraw_missing(roots, {str(f) for f in files})
        optimise = getattr(self.store, "optimise", None)
        if optimise is not None and report.chunks_embedded:
            t0 = time.perf_counter()
            optimise()  # build HNSW graphs now, not a full scan per query (issue 14)
            report.optimise_seconds = time.perf_counter() - t0
        report.seconds = time.perf_counter() - t_start
        self.catalog.finish_run(report.run_id, report.contract())
        return report

    # ------------------------------------------------------------ producer thread

    def _produce(self, files: list[Path], items: queue.Queue, stop: threading.Event) -> None:
        claimed: dict[str, Path] = {}
        try:
            for path in files:
                if stop.is_set():
                    return
                self._parse_started = time.perf_counter()
                try:
                    item = self._prepare(path, claimed)
                finally:
                    began, self._parse_started = self._parse_started, None
                    self._parse_busy += time.perf_counter() - began
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        finally:
            if not stop.is_set():
                items.put(_END)

    def _prepare(self, path: Path, claimed: dict[str, Path]) -> _Work | _Unchanged | _Failed:
        """Plan one file and, if it changed, parse and chunk it (no catalog or store writes)."""
        try:
            planned = self._plan(path, claimed)
            if isinstance(planned, _Unchanged):
                return planned
            w = planned
            crash_point("parse")
            parsed = parse_isolated(w.path, ParseLimits.from_settings(self.settings))
            w.drafts = chunk_document(parsed, max_tokens=self.chunk_tokens)
            if not w.drafts:
                raise IngestError(str(w.path), "no text layer", "no text could be extracted")
            w.title_hint, w.date_hint, w.page_count = parsed.title_hint, parsed.date_hint, parsed.page_count
            return w
        except IngestError as exc:
            return _Failed(exc.path, exc.reason + (f": {exc.detail}" if exc.detail else ""))
        except Exception as exc:  # a loader bug must not stop the run
            return _Failed(str(path), f"could not be read: {type(exc).__name__}: {exc}")

    def _plan(self, path: Path, claimed: dict[str, Path]) -> _Work | _Unchanged:
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
        previous = self.catalog.get(doc_id)
        if previous and previous.source_path != str(path) and Path(previous.source_path).exists():
            if previous.status != DocStatus.withdrawn:
                raise IngestError(
                    str(path),
                    "duplicate doc_id",
                    f"'{doc_id}' already belongs to {previous.source_path}; set a different doc_id",
                )
        sha = file_sha256(path)
        if previous and previous.version == sha and doc_id not in self.reembed:
            return _Unchanged(path, previous, meta, explicit)
        return _Work(path, sha, meta, doc_id, previous)

    # ------------------------------------------------------------ embedding thread (the caller's)

    def _consume(self, items: queue.Queue, total: int, report: IngestReport) -> None:
        batch: list[_Work] = []
        pending_chunks = 0
        handled = 0
        finished = False
        batch_since = 0.0
        first = True  # no batch embedded yet: the encoder is idle, so it takes what there is
        while not finished or batch:
            item: object = _NOTHING_READY
            if not finished:
                # Wait for a full batch (sorted by length together, it pads little), but embed what
                # is there once it has waited `max_batch_wait_s` for a slow parse. Embedding each time
                # the queue was momentarily empty gave batches of 13-57 chunks and cost 1.57x the
                # encoder time of the same texts in full batches (corpus x2, 1,012 chunks).
                limit = self.first_batch_wait_s if first else self.max_batch_wait_s
                wait = limit - (time.perf_counter() - batch_since) if batch else None
                try:
                    item = items.get(timeout=wait) if wait is None or wait > 0 else items.get_nowait()
                except queue.Empty:
                    pass
            if item is _END:
                finished = True
            elif isinstance(item, _Failed):
                self._fail(report, item.path, item.error)
                handled += 1
            elif isinstance(item, _Unchanged):
                try:
                    self._refresh_unchanged(item.doc, item.meta, item.explicit, item.path)
                except Exception as exc:
                    self._fail(report, str(item.path), f"could not update metadata: {type(exc).__name__}: {exc}")
                report.unchanged += 1
                handled += 1
            elif isinstance(item, _Work):
                if not batch:
                    batch_since = time.perf_counter()
                batch.append(item)
                pending_chunks += len(item.drafts)
            if batch and (finished or pending_chunks >= self.batch_chunks or item is _NOTHING_READY):
                self._embed_and_store(batch, report)
                handled += len(batch)
                batch, pending_chunks, first = [], 0, False
            self._tick(handled, total, report)

    def _tick(self, handled: int, total: int, report: IngestReport) -> None:
        elapsed = max(time.perf_counter() - self._t_start, 1e-6)
        rate = report.chunks_embedded / elapsed
        left = elapsed / handled * (total - handled) if handled else 0.0
        self.progress(
            "ingest", handled, total,
            f"{report.chunks_embedded} chunks, {rate:.1f} chunks/s, about {left:.0f}s left",
        )

    def _fail(self, report: IngestReport, path: str, error: str) -> None:
        report.failed.append({"path": path, "error": error})
        self.catalog.add_error(report.run_id, path, error)

    def _refresh_unchanged(self, doc: Document, meta: DocumentMeta, explicit: set[str], path: Path) -> None:
        changes = _metadata_changed(doc, meta, explicit)
        restore = doc.status == DocStatus.withdrawn and self._withdrawn_by_sync(doc)
        if str(path) != doc.source_path:
            changes["source_path"] = str(path)
        if not changes and not restore:
            return
        if restore:
            changes["status"] = meta.status
        self.curator.update_metadata(doc.model_copy(update=changes), ", ".join(sorted(changes)))

    def _withdrawn_by_sync(self, doc: Document) -> bool:
        events = self.catalog.events(doc.doc_id, limit=1)
        return bool(events) and events[0]["detail"] == "gone from folder (sync)"

    # The parser's share of the time since the last encoder call above which the encoder gives it a
    # core. Measured shares: Green Book 1.0 while its PDFs parse, then 0; corpus x6 1.0 for the first
    # batch, then 0.0-0.75 while the parser refills the queue during a batch's chunks and 0 during its
    # sentences (at 0.5 the sentence calls ran on one thread while the parser waited: 4% slower).
    BUSY_PARSER = 0.8

    def _share_cores(self) -> None:
        """While the parser keeps a core busy, the encoder runs on one thread fewer than it has.

        Files are parsed in a child process (`parse_isolated`). When it parses without a break
        (the Green Book's PDFs, 17 s of CPU in the first 20 s of the run), the encoder's 2 OpenMP
        threads share 2 cores with it and each of their barriers waits for whichever thread the
        parser has just displaced: Green Book with chunk vectors only, 63.6-66.4 s with 2 threads
        throughout, 55.3-55.8 s with 1 while the parser is busy (docs/PERFORMANCE.md, change 23).
        When the parser mostly waits for room in the queue (corpus x6: small files, parsed faster
        than they are embedded), one thread would halve the encoder for nothing, so the rule is
        the parser's busy share since the last encoder call (`BUSY_PARSER`), not whether it still
        has files: by the latter, the bench's corpus x6 ingest took 66.7 s (round 5: 49.7 s).
        Checked before each encoder call (a batch's chunks, then its sentences).

        The packaged encoder now runs a call's batches data parallel, one single-threaded worker
        per core (`SentenceTransformerEmbedder.workers`, change 26), which has no barrier for the
        parser to stall and ignores this; it still applies to a call of one batch and to encoders
        that run on OpenMP threads."""
        cores = self.embedder.default_threads
        if cores < 2 or self._producer is None:
            return
        now = time.perf_counter()
        started = self._parse_started
        busy = self._parse_busy + (now - started if started is not None else 0.0)
        share = (busy - self._busy_mark[0]) / max(now - self._busy_mark[1], 1e-6)
        self._busy_mark = (busy, now)
        want = cores - 1 if self._producer.is_alive() and share >= self.BUSY_PARSER else None
        if want != self._threads:
            self.embedder.use_threads(want)
            self._threads = want

    def _embed_and_store(self, batch: list[_Work], report: IngestReport) -> None:
        texts: list[str] = []
        owners: list[_Work] = []
        for w in batch:
            title = _title(w)  # the same title the BM25 text and the payload get
            for d in w.drafts:
                texts.append(indexed_text(title, d.text, d.heading_path, str(w.path), self.settings.embed_section))
                owners.append(w)
        self._share_cores()
        t0 = time.perf_counter()
        try:
            vectors = self.embedder.embed(texts)
        except Exception as exc:  # an embedding endpoint failing fails this batch, not the run
            for w in batch:
                self._fail(report, str(w.path), f"could not be embedded: {type(exc).__name__}: {exc}")
            return
        report.embed_seconds += time.perf_counter() - t0
        report.chunks_embedded += len(texts)
        for w, v in zip(owners, vectors, strict=True):
            w.vectors.append(v)
        sentences = self._evidence_texts(batch)
        self._wait_stored()  # one batch in the writer at a time: documents commit in order
        if self._writer is None:
            self._store_batch(batch, report)
        else:
            self._storing = self._writer.submit(self._store_batch, batch, report)
        if sentences:  # while the writer stores the batch
            self._share_cores()
            t0 = time.perf_counter()
            try:
                report.sentences_embedded += self.embedder.precompute(sentences)
            except Exception:  # noqa: BLE001 - a cache: an ask embeds what is missing
                pass
            report.sentence_seconds += time.perf_counter() - t0

    def _evidence_texts(self, batch: list[_Work]) -> list[str]:
        """The texts `kb.ask.select` embeds for these chunks' sentences, to embed once, now
        (with `sentence_vectors` on, when the embedder has the on-disk cache to keep them in)."""
        if not self.settings.sentence_vectors or getattr(self.embedder, "persistent", None) is None:
            return []
        from kb.ask.select import evidence_texts

        return [t for w in batch for d in w.drafts for t in evidence_texts(d.text, d.heading_path, _title(w))]

    def _wait_stored(self) -> None:
        if self._storing is not None:
            storing, self._storing = self._storing, None
            storing.result()  # re-raises what the writer raised (a crash point in tests)

    def _store_batch(self, batch: list[_Work], report: IngestReport) -> None:
        now = dt.datetime.now(dt.UTC)
        for w in batch:
            try:
                self._store(w, now, report)
            except Exception as exc:
                self._fail(report, str(w.path), f"could not be stored: {type(exc).__name__}: {exc}")
            w.drafts, w.vectors = [], []

    def _store(self, w: _Work, now: dt.datetime, report: IngestReport) -> None:
        """Commit one document whole: chunks, then the catalog flip, then the old version not live."""
        doc = _build_document(w, now)
        chunks = chunks_for(doc, w.drafts)
        points = []
        for chunk, vec in zip(chunks, w.vectors, strict=True):
            idx, vals = sparse_document(indexed_text(doc.title, chunk.text, chunk.heading_path, doc.source_path,
                                                     self.settings.embed_section))
            payload = {**chunk.model_dump(mode="json"), "live": LIVE}
            points.append(PointData(chunk.chunk_id, vec, idx, vals, payload))
        previous = w.previous.version if w.previous else None
        with intent(self.catalog, "ingest", doc.doc_id, version=doc.version, previous=previous):
            self.store.upsert(points)  # 1. new chunks first; readers still see the old version
            crash_point("after_upsert")
            self.catalog.put(doc, "updated" if w.previous else "added", str(w.path))  # 2. flip
            crash_point("after_flip")
            if w.previous:  # 3. every other version is kept, marked not live
                self.store.set_payload(
                    PointFilter(doc_ids=(doc.doc_id,), exclude_versions=(doc.version,)), {"live": KEPT}
                )
                crash_point("after_unlive")
        if w.previous:
            report.updated += 1
        else:
            report.added += 1
        report.pages += doc.page_count or 0
        report.doc_ids.append(doc.doc_id)
        suspicious = [t for c in chunks for t in instruction_sentences(c.text)]
        if suspicious:  # flagged to curators; answers never rest on these sentences
            report.flagged.append({"path": str(w.path), "doc_id": doc.doc_id,
                                   "reason": "contains text addressed to an AI assistant", "sentences": suspicious[:3]})
            self.catalog.add_event(doc.doc_id, "flagged", "instructions addressed to an AI: " + suspicious[0][:200])

    def _apply_supersedes(self, doc_ids: list[str]) -> None:
        """Documents that declare `supersedes` mark their predecessors as superseded."""
        touched = set(doc_ids)
        for doc in self.catalog.documents(statuses=["current"]):
            for old_id in doc.supersedes:
                old = self.catalog.get(old_id)
                if old is None:
                    continue
                if doc.doc_id in touched or old_id in touched:
                    if old.status != DocStatus.superseded or old.superseded_by != doc.doc_id:
                        if old.status != DocStatus.withdrawn:
                            self.curator.supersede(old_id, doc.doc_id)

    def _withdraw_missing(self, roots: list[Path], seen: set[str]) -> int:
        count = 0
        for doc in self.catalog.documents():
            if doc.status == DocStatus.withdrawn or doc.source_path in seen:
                continue
            src = Path(doc.source_path)
            if any(src.is_relative_to(r) for r in roots):
                self.curator.retire(doc.doc_id, "gone from folder (sync)")
                count += 1
        return count


def ingest_paths(
    kb, paths: list[Path], sync: bool = False, progress: Progress | None = None, reembed: Iterable[str] = ()
) -> IngestReport:
    """Ingest files and folders into `kb`; see the module docstring.

    The store is taken first: if another process holds the embedded store, this fails at
    once with "in use by pid N", before anything is parsed or embedded.
    """
    from kb.store import check_store_free

    check_store_free(kb.settings)
    store = kb.store  # holds the store's write lock for the whole run
    ingestor = Ingestor(kb.catalog, store, kb.embedder, kb.settings, progress=progress, reembed=reembed)
    return ingestor.run([Path(p) for p in paths], sync=sync)
