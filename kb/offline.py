"""Switch off every network side effect before heavy libraries are imported.

Imported first by `kb/__init__.py`, so any entry point (CLI, app, tests, evals)
runs offline by default: no model-hub lookups, no telemetry, no NLTK/spaCy downloads.
"""

from __future__ import annotations

import os
from pathlib import Path

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "SCARF_NO_ANALYTICS": "true",
    "DO_NOT_TRACK": "true",
    "ANONYMIZED_TELEMETRY": "False",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # no "Loading weights" bar on every CLI call
    "UNSTRUCTURED_TELEMETRY": "0",  # belt and braces; unstructured reads SCARF/DO_NOT_TRACK
}


def apply_offline_env() -> None:
    """Set the offline variables unless the user set them explicitly."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    _point_tiktoken_at_bundled_cache()


def _point_tiktoken_at_bundled_cache() -> None:
    """llama-index-core ships the cl100k_base BPE file; use it so tiktoken never downloads."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return
    try:
        import importlib.util

        spec = importlib.util.find_spec("llama_index.core")
    except (ImportError, ValueError):
        return
    if spec is None or not spec.origin:
        return
    cache = Path(spec.origin).parent / "_static" / "tiktoken_cache"
    if cache.is_dir():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


apply_offline_env()
