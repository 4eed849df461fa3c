"""Which files an ingest looks at, and the version (sha256 of the bytes) of each."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from ingest.metadata import is_metadata_file
from kb.errors import KBError


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Files to ingest under `paths`, and the folders given (for --sync).

    Skips names starting with "." or "_" (build folders, hidden files) and metadata files.
    """
    files: list[Path] = []
    roots: list[Path] = []
    for p in paths:
        p = Path(p).resolve()
        if not p.exists():
            raise KBError(f"{p}: no such file or folder.")
        if p.is_file():
            files.append(p)
            continue
        roots.append(p)
        for f in sorted(p.rglob("*")):
            rel = f.relative_to(p).parts
            if any(part.startswith((".", "_")) for part in rel):
                continue
            if f.is_file() and not is_metadata_file(f):
                files.append(f)
    return list(dict.fromkeys(files)), roots


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
