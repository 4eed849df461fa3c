"""Occupational-health knowledge base: store, retrieval and cited answers.

Importing `kb` switches the process to offline mode first (see `kb.offline`).
"""

from kb import offline as _offline  # noqa: F401  (side effect: offline env)

__version__ = "0.1.0"
