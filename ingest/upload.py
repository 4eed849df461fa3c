"""Checks for files that curators upload, before they are saved or ingested.

- the name is made safe: no folders, only [A-Za-z0-9._-], no leading dot;
- the size is under a limit (setting `upload_max_mb`, default 20 MB);
- the type is checked by content (`ingest.loaders.sniff`: magic bytes and a text
  check), and must agree with the extension: a `.pdf` that is not a PDF is refused.

Saved uploads go to `KB_DIR/uploads/`, with curator metadata in a sidecar
`<file>.meta.yaml` beside each one (see `ingest.metadata`).

>>> safe_filename("../../etc/Guide (v2).PDF")
'Guide_v2_.pdf'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ingest.loaders.dispatch import SUPPORTED_SUFFIXES
from ingest.loaders.sniff import check_type
from kb.errors import IngestError, KBError
from kb.records import DocumentMeta

ALLOWED_SUFFIXES = tuple(sorted(SUPPORTED_SUFFIXES))  # one list of file types: the loaders'


class UploadRejected(KBError):
    """An uploaded file failed a check; the message names the file and what to do."""


@dataclass(frozen=True)
class CheckedUpload:
    name: str  # safe file name
    kind: str  # the extension without the dot
    size: int


def safe_filename(name: str) -> str:
    """Strip folders, replace unsafe characters with '_', lower-case the extension, no leading dot."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".") or "upload"
    stem, dot, suffix = base.rpartition(".")
    if dot and stem:
        base = f"{stem}.{suffix.lower()}"
    return base[:150]


def check_upload(name: str, data: bytes, max_bytes: int) -> CheckedUpload:
    """Check the name and size of one uploaded file; raise UploadRejected saying what to do.

    The content check needs the bytes on disk; `save_upload` does it before the file goes live.
    """
    safe = safe_filename(name)
    suffix = Path(safe).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UploadRejected(
            f"{name}: '{suffix or 'no extension'}' files are not accepted; "
            f"upload one of {', '.join(ALLOWED_SUFFIXES)}."
        )
    if not data:
        raise UploadRejected(f"{name}: the file is empty.")
    if len(data) > max_bytes:
        raise UploadRejected(
            f"{name}: {len(data) / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB upload limit; "
            "split the file or ask an administrator to raise upload_max_mb."
        )
    return CheckedUpload(safe, suffix.lstrip("."), len(data))


def save_upload(upload_dir: Path, checked: CheckedUpload, data: bytes) -> Path:
    """Check the type by content (magic bytes, not the name) and save under `upload_dir`.

    The bytes go to a hidden temporary file first; only a file whose content matches its
    extension is renamed into place (replacing an earlier upload of that name).
    """
    upload_dir.mkdir(parents=True, exist_ok=True)
    target = (upload_dir / checked.name).resolve()
    if target.parent != upload_dir.resolve():
        raise UploadRejected(f"{checked.name}: not a plain file name.")
    tmp = target.with_name("." + target.stem + ".part" + target.suffix)
    tmp.write_bytes(data)
    try:
        check_type(tmp)
    except IngestError as exc:
        tmp.unlink(missing_ok=True)
        detail = f" ({exc.detail})" if exc.detail else ""
        raise UploadRejected(
            f"{checked.name}: {exc.reason}{detail}. Upload the original file with its correct extension."
        ) from exc
    tmp.replace(target)
    return target


def write_sidecar(path: Path, meta: DocumentMeta) -> Path:
    """Write `<file>.meta.yaml` beside `path` with the fields the curator set."""
    data = meta.model_dump(mode="json", exclude_defaults=False, exclude_none=True)
    for key in ("sample",):
        data.pop(key, None)
    sidecar = path.with_name(path.name + ".meta.yaml")
    sidecar.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return sidecar
