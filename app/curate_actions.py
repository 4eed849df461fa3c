"""Curator actions behind the Curate page. Each one checks the role on the server first.

Hiding the page is not enough: every function here calls `require_curator(session)`
before it touches anything, so a session that is not a signed-in curator gets
`AccessDenied` whatever the page shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ingest_jobs import IngestJob, IngestJobs

from ingest.upload import UploadRejected, check_upload, save_upload, write_sidecar
from kb.auth import Session, require_curator
from kb.curation import restore_document, retire_document, supersede_document
from kb.records import DocStatus, Document, DocumentMeta


@dataclass(frozen=True)
class UploadResult:
    original_name: str
    path: Path | None = None
    error: str = ""


def upload_dir(kb) -> Path:
    return kb.settings.kb_dir / "uploads"


def check_and_save(session: Session, kb, name: str, data: bytes) -> UploadResult:
    """Check one uploaded file (type by content, size, name) and save it under KB_DIR/uploads/."""
    require_curator(session)
    try:
        checked = check_upload(name, data, kb.settings.upload_max_mb * 1024 * 1024)
        return UploadResult(name, save_upload(upload_dir(kb), checked, data))
    except UploadRejected as exc:
        return UploadResult(name, error=str(exc))


def save_metadata(session: Session, path: Path, meta: DocumentMeta) -> Path:
    """Write the curator's metadata as `<file>.meta.yaml` beside the saved upload."""
    require_curator(session)
    return write_sidecar(path, meta)


def start_ingest(session: Session, kb, jobs: IngestJobs, paths: list[Path]) -> IngestJob:
    """Ingest the saved files in a background thread; poll the returned job for progress."""
    who = require_curator(session)
    return jobs.start(kb, paths, who.user or "curator")


def retire(session: Session, kb, doc_id: str, reason: str) -> Document:
    require_curator(session)
    return retire_document(kb, doc_id, f"{reason} (by {session.user})" if reason else f"by {session.user}")


def restore(session: Session, kb, doc_id: str) -> Document:
    require_curator(session)
    return restore_document(kb, doc_id)


def supersede(session: Session, kb, old_id: str, new_id: str) -> tuple[Document, Document]:
    require_curator(session)
    return supersede_document(kb, old_id, new_id)


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
