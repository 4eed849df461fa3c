"""The `kb` command: the composition root that wires kb, ingest, evals and the app.

Each command group lives in its own module; ingest and evals are imported lazily
inside the commands, so `kb` itself imports none of them at module level.
"""

from __future__ import annotations

from kb.cli.main import app, main

__all__ = ["app", "main"]
