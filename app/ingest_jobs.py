"""Ingest runs started from Curate, in a background thread so other people's Ask stays responsive.

The thread only calls `ingest.pipeline.ingest_paths`; this module keeps its progress
(stage, done, total, detail) for the page to poll. One ingest runs at a time per process.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import KBError


@dataclass
class IngestJob:
    job_id: str
    paths: list[str]
    started_by: str
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    stage: str = "queued"
    done: int = 0
    total: int = 0
    detail: str = ""
    report: dict | None = None  # IngestReport.contract() when finished
    error: str = ""

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def fraction(self) -> float:
        order = {"queued": 0, "scan": 0, "parse": 1, "embed": 2, "store": 3}
        within = self.done / self.total if self.total else 0.0
        if self.stage == "ingest":  # the streaming pipeline reports documents done of all
            return 1.0 if not self.running else min(0.99, within)
        step = order.get(self.stage, 3)
        return 1.0 if not self.running else min(0.99, (step + within) / 4)

    @property
    def label(self) -> str:
        if not self.running:
            return "Finished" if not self.error else "Stopped with an error"
        names = {"queued": "Waiting", "scan": "Checking files", "parse": "Reading",
                 "embed": "Embedding", "store": "Storing", "ingest": "Ingesting"}
        count = f" {self.done}/{self.total}" if self.total else ""
        return f"{names.get(self.stage, self.stage)}{count} {self.detail}".strip()


class IngestJobs:
    """Process-wide registry of ingest jobs (the app caches one instance)."""

    def __init__(self) -> None:
        self._jobs: dict[str, IngestJob] = {}
        self._lock = threading.Lock()
        self._busy = threading.Lock()

    def get(self, job_id: str | None) -> IngestJob | None:
        with self._lock:
            return self._jobs.get(job_id or "")

    def running(self) -> IngestJob | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.running), None)

    def start(self, kb, paths: list[Path], started_by: str) -> IngestJob:
        if not self._busy.acquire(blocking=False):
            other = self.running()
            who = f" started by {other.started_by}" if other else ""
            raise KBError(f"Another ingest{who} is running. Wait for it to finish, then try again.")
        job = IngestJob(uuid.uuid4().hex[:12], [str(p) for p in paths], started_by)
        with self._lock:
            self._jobs[job.job_id] = job
        thread = threading.Thread(target=self._run, args=(kb, job, paths), name=f"ingest-{job.job_id}",
                                  daemon=True)
        thread.start()
        return job

    def _run(self, kb, job: IngestJob, paths: list[Path]) -> None:
        from ingest.pipeline import ingest_paths

        def progress(stage: str, done: int, total: int, detail: str) -> None:
            job.stage, job.done, job.total, job.detail = stage, done, total, detail

        try:
            job.report = ingest_paths(kb, [Path(p) for p in paths], progress=progress).contract()
        except KBError as exc:
            job.error = str(exc)
        except Exception as exc:  # shown to the curator, never kills the app
            job.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        finally:
            job.finished_at = time.time()
            self._busy.release()

    def wait(self, job_id: str, timeout: float = 300) -> IngestJob:
        """Block until the job finishes (for tests and scripts)."""
        deadline = time.time() + timeout
        job = self.get(job_id)
        while job is not None and job.running and time.time() < deadline:
            time.sleep(0.05)
        if job is None:
            raise KBError(f"No ingest job {job_id}.")
        return job
