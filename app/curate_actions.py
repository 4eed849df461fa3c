"""Curator actions behind the Curate page. Each one checks the role on the server first.

Hiding the page is not enough: every function here calls `require_curator(session)`
before it touches anything, so a session that is not a signed-in curator (or admin) gets
`AccessDenied` whatever the page shows. Each change is recorded in the audit log with who did it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ingest_jobs import IngestJob, IngestJobs

from ingest.upload import UploadRejected, check_upload, save_upload, write_sidecar
from kb.audit import record_event
from kb.auth import Session, require_curator
from kb.curation import restore_document, retire_document, supersede_document
from kb.pii import pii_warnings
from kb.records import DocStatus, Document, DocumentMeta


@dataclass(frozen=True)
class UploadResult:
    original_name: str
    path: Path | None = None
    error: str = ""


def upload_dir(kb) -> Path:
    return kb.settings.kb_dir / "uploads"


def check_and_save(session: Session, kb, name: str, data: bytes, allow_identifiers: bool = False) -> UploadResult:
    """Check one uploaded file (type by content, size, name, patient identifiers) and save it
    under KB_DIR/uploads/. A file that looks like it holds patient data is not stored unless
    the curator has confirmed it (`allow_identifiers`)."""
    require_curator(session)
    try:
        checked = check_upload(name, data, kb.settings.upload_max_mb * 1024 * 1024)
    except UploadRejected as exc:
        return UploadResult(name, error=str(exc))
    found = pii_warnings(upload_text(name, data))
    if found and not allow_identifiers:
        return UploadResult(name, error=f"{name}: not stored. {found[0]} Tick the confirmation to store it anyway.")
    try:
        saved = save_upload(upload_dir(kb), checked, data)
    except UploadRejected as exc:
        return UploadResult(name, error=str(exc))
    if found:
        _audit(kb, session, "upload.identifiers_confirmed", "", name)
    return UploadResult(name, saved)


def upload_text(name: str, data: bytes) -> str:
    """The text of an upload, for the identifier check (best effort; binary parts are skipped)."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".pdf":
            import io

            from pypdf import PdfReader

            return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
        if suffix == ".docx":
            import io
            import re
            import zipfile

            xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode("utf-8", "replace")
            return re.sub(r"<[^>]+>", " ", re.sub(r"</w:p>", "\n", xml))
    except Exception:  # a damaged file is rejected by ingest with its own reason
        return ""
    return data.decode("utf-8", errors="replace")


def save_metadata(session: Session, path: Path, meta: DocumentMeta) -> Path:
    """Write the curator's metadata as `<file>.meta.yaml` beside the saved upload."""
    require_curator(session)
    return write_sidecar(path, meta)


def start_ingest(session: Session, kb, jobs: IngestJobs, paths: list[Path]) -> IngestJob:
    """Ingest the saved files in a background thread; poll the returned job for progress."""
    who = require_curator(session)
    bare = getattr(kb, "kb", kb)  # the page's AudienceView wraps the shared KB
    _audit(bare, who, "ingest", "", ", ".join(p.name for p in paths))
    return jobs.start(bare, paths, who.user or "curator")


def retire(session: Session, kb, doc_id: str, reason: str) -> Document:
    require_curator(session)
    doc = retire_document(kb, doc_id, f"{reason} (by {session.user})" if reason else f"by {session.user}")
    _audit(kb, session, "retire", doc_id, reason)
    return doc


def restore(session: Session, kb, doc_id: str) -> Document:
    require_curator(session)
    doc = restore_document(kb, doc_id)
    _audit(kb, session, "restore", doc_id)
    return doc


def supersede(session: Session, kb, old_id: str, new_id: str) -> tuple[Document, Document]:
    require_curator(session)
    docs = supersede_document(kb, old_id, new_id)
    _audit(kb, session, "supersede", old_id, f"superseded by {new_id}")
    return docs


def _audit(kb, session: Session, action: str, doc_id: str, detail: str = "") -> None:
    record_event(kb.catalog, action, session.user, session.role, doc_id, detail)


def review_lists(session: Session, kb, within_days: int = 60,
                 today: dt.date | None = None) -> tuple[list[Document], list[Document]]:
    """(past review, due within `within_days`) among documents that are not withdrawn."""
    require_curator(session)
    today = today or dt.date.today()
    soon = today + dt.timedelta(days=within_days)
    docs = [d for d in kb.documents() if d.status != DocStatus.withdrawn and d.review_due]
    past = sorted((d for d in docs if d.review_due < today), key=lambda d: d.review_due)
    due = sorted((d for d in docs if today <= d.review_due <= soon), key=lambda d: d.review_due)
    return past, due


def ingest_runs(session: Session, kb, limit: int = 50) -> list[dict]:
    require_curator(session)
    return kb.catalog.runs(limit)


def run_errors(session: Session, kb, run_id: str) -> list[dict]:
    require_curator(session)
    return kb.catalog.errors(run_id)
