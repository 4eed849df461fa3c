"""Pick the loader for a file, check its type by content, and turn every failure into an
`IngestError` that names the file and the reason."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders.limits import ParseLimits, check_size, check_zip_inflation
from ingest.loaders.pdf import load_pdf
from ingest.loaders.sniff import ACCEPTS, check_type
from ingest.loaders.unstructured_loader import load_with_unstructured
from kb.errors import IngestError
from kb.records import ParsedDocument

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(ACCEPTS)

# The content kind that `unstructured` should parse, by extension, for non-PDF files.
_UNSTRUCTURED_KIND = {
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "md",
    ".markdown": "md",
    ".txt": "text",
    ".eml": "eml",
}


def load_document(path: Path, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse one file into blocks. Raises `IngestError` (never a library error) on failure.

    This parses in the calling process; `ingest.isolation.parse_isolated` runs it in a child
    process under memory and time limits, which is what ingest uses.
    """
    path = Path(path)
    limits = limits or ParseLimits()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(
            str(path),
            "unsupported type",
            f"{suffix or 'no extension'} is not one of {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        )
    try:
        check_size(path, limits)
        check_type(path)
        if suffix == ".pdf":
            doc = load_pdf(path, limits)
        elif suffix == ".docx":
            check_zip_inflation(path, limits)
            doc = load_with_unstructured(path, "docx")
        else:
            doc = load_with_unstructured(path, _UNSTRUCTURED_KIND[suffix])
    except IngestError as exc:
        if isinstance(exc.__cause__, MemoryError):  # a loader wrapped it as "corrupt ..."
            raise IngestError(str(path), "parser ran out of memory", "the file needs more memory than allowed") from exc
        raise
    except MemoryError as exc:
        raise IngestError(str(path), "parser ran out of memory", "the file needs more memory than allowed") from exc
    except Exception as exc:  # any library failure is a file we could not read
        raise IngestError(str(path), "corrupt file", f"{type(exc).__name__}: {exc}") from exc
    if not doc.blocks:
        raise IngestError(str(path), "empty file", "no text was found in it")
    return doc
