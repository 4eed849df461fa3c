"""The data folder (`KB_DIR`) is private: folders 0700, catalog files 0600.

The catalog holds the answer audit log and feedback, so nobody but the owner may
read it. New folders are made with 0700; folders and catalog files we find with
looser modes are tightened when the knowledge base opens. Files that Qdrant Edge
writes inside the shard follow the process umask, but sit behind 0700 folders.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path, tighten: bool = True) -> Path:
    """Create `path` (and missing parents) with mode 0700. With `tighten`, an existing `path`
    that we own is set to 0700 too (for KB_DIR; not for an arbitrary folder a file sits in)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is filtered by the umask
    if tighten:
        _tighten(path, FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if it is missing, or tighten it if we own it."""
    path = Path(path)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
        os.close(fd)
    _tighten(path, FILE_MODE)
    return path


def _tighten(path: Path, mode: int) -> None:
    st = path.stat()
    if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def prepare_data_folder(settings) -> Path:
    """`KB_DIR` (0700) and, for the embedded store, its shard folder (0700)."""
    kb_dir = private_folder(settings.kb_dir)
    if settings.store == "edge":
        private_folder(settings.shard_path)
    return kb_dir
