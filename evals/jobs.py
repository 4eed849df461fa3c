"""Eval runs in a background thread, for the app: start, poll progress, get the result."""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from evals import runner


@dataclass
class EvalJob:
    suites: list[str]
    mode: str = "extractive"
    limit: int | None = None
    compare: str | None = None
    stage: str = "starting"
    done: int = 0
    total: int = 0
    detail: str = ""
    result: Path | None = None
    error: str | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def _progress(self, stage: str, done: int, total: int, detail: str) -> None:
        self.stage, self.done, self.total, self.detail = stage, done, total, str(detail)

    def _run(self) -> None:
        try:
            self.result = runner.run(self.suites, self.mode, self.limit, self.compare, self._progress)
            self.stage = "finished"
        except Exception as exc:  # shown on the page
            self.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
            self.stage = "failed"

    def start(self) -> EvalJob:
        self._thread = threading.Thread(target=self._run, name="eval-run", daemon=True)
        self._thread.start()
        return self


def question_view(record: dict) -> dict:
    """What the page shows for one question: gold, retrieved chunks, answer, verdict."""
    retrieval = record.get("retrieval", {})
    hybrid = retrieval.get("hybrid", {})
    return {
        "verdict": "pass" if record.get("passed") else "fail",
        "reasons": record.get("reasons", []),
        "gold": record.get("gold", {}),
        "metrics": {mode: r.get("metrics", {}) for mode, r in retrieval.items()},
        "retrieved": hybrid.get("hits", []),
        "answer": record.get("answer"),
        "scores": record.get("scores", {}),
    }
