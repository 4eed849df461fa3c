"""Load a file into a `ParsedDocument`: clean blocks in reading order plus hints.

    >>> from pathlib import Path
    >>> from ingest.loaders import load_document
    >>> doc = load_document(Path("corpus/policy.docx"))  # doctest: +SKIP
    >>> [b.kind for b in doc.blocks][:3]  # doctest: +SKIP
    ['heading', 'text', 'list']

PDF goes through pypdf (`pdf.py`); DOCX, HTML, Markdown, e-mail and plain text go through
`unstructured` (`unstructured_loader.py`). The file's type is checked by content first
(`sniff.py`). Every failure is a `kb.errors.IngestError` naming the file and the reason.
"""

from __future__ import annotations

import os

# Nothing may download at run time: no model hubs, no analytics pings. Set before any
# loader imports `unstructured`, which pings on import unless told not to.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "SCARF_NO_ANALYTICS": "true",
    "DO_NOT_TRACK": "true",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
}.items():
    os.environ.setdefault(_name, _value)

from ingest.loaders.dispatch import SUPPORTED_SUFFIXES, load_document  # noqa: E402

__all__ = ["SUPPORTED_SUFFIXES", "load_document"]
