"""Where eval inputs and outputs live. External data is read in place, never copied."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KB_EVAL_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
DATASETS = REPO_ROOT / "evals" / "datasets"
GOLDEN = DATASETS / "golden.jsonl"
RUNS = Path(os.environ.get("KB_EVAL_RUNS", REPO_ROOT / "evals" / "runs"))
CORPUS = REPO_ROOT / "corpus"
CACHE = Path(os.environ.get("KB_EVAL_CACHE", "/tmp/kb-evals-cache"))
THRESHOLDS = REPO_ROOT / "evals" / "thresholds.toml"
