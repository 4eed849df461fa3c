"""Document metadata from a folder `manifest.yaml` and per-file sidecars.

Resolution for a file `guide.pdf`, later sources win:
1. `manifest.yaml` in the same folder: its `defaults`, then `documents["guide.pdf"]`;
2. a sidecar `guide.pdf.meta.yaml` (or `guide.meta.yaml`);
3. anything still unset is inferred from the file (title line, stated date) by the pipeline.

Manifest format::

    defaults: {publisher: ..., audience: members, sample: true}
    documents:
      guide.pdf: {doc_id: guide, title: ..., doc_type: guideline, topics: [..],
                  published: 2024-03-01, review_due: 2027-03-01, status: current,
                  supersedes: [old-guide], source_url: null}
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from kb.errors import IngestError
from kb.records import DocumentMeta

MANIFEST_NAME = "manifest.yaml"
SIDECAR_SUFFIX = ".meta.yaml"


def is_metadata_file(path: Path) -> bool:
    return path.name == MANIFEST_NAME or path.name.endswith(SIDECAR_SUFFIX)


def _ascii_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def slugify(text: str) -> str:
    """A doc_id from a file stem: lower-case ASCII words joined by "-".

    A name with no ASCII letters or digits (all Cyrillic, Greek, CJK, ...) used to become
    "document" for every such file, so the second failed as a duplicate. Such names are now
    transliterated where Unicode can (accents dropped), else named by a short hash:

    >>> slugify("Sharps Policy (v2)")
    'sharps-policy-v2'
    >>> slugify("Ééü")
    'eeu'
    >>> slugify("Руководство") != slugify("Инструкция")
    True
    """
    slug = _ascii_slug(text)
    if slug:
        return slug  # unchanged from earlier versions, so existing doc_ids stay the same
    nfc = unicodedata.normalize("NFC", text)
    slug = _ascii_slug(unicodedata.normalize("NFKD", nfc).encode("ascii", "ignore").decode())
    if slug:
        return slug
    if not nfc.strip():
        return "document"
    return "doc-" + hashlib.blake2b(nfc.encode(), digest_size=4).hexdigest()


@lru_cache(maxsize=256)
def _read_yaml(path: Path, mtime: float) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise IngestError(str(path), "invalid metadata file", str(exc).splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise IngestError(str(path), "invalid metadata file", "expected a mapping at the top level")
    return data


def _yaml(path: Path) -> dict:
    return _read_yaml(path, path.stat().st_mtime)


def _normalise(raw: dict) -> dict:
    out = dict(raw)
    sup = out.get("supersedes")
    if sup is None:
        out.pop("supersedes", None)
    elif isinstance(sup, str):
        out["supersedes"] = [sup]
    for key in ("published", "review_due"):
        if out.get(key) in ("", None):
            out.pop(key, None)
    return out


def metadata_for(path: Path) -> tuple[DocumentMeta, set[str]]:
    """The curator's metadata for `path`, and the names of the fields they set explicitly."""
    merged: dict = {}
    manifest = path.parent / MANIFEST_NAME
    sources = []
    if manifest.is_file():
        data = _yaml(manifest)
        merged.update(data.get("defaults") or {})
        entry = (data.get("documents") or {}).get(path.name)
        if entry:
            merged.update(entry)
        sources.append(manifest)
    for sidecar in (path.with_name(path.name + SIDECAR_SUFFIX), path.with_suffix(SIDECAR_SUFFIX)):
        if sidecar.is_file():
            merged.update(_yaml(sidecar))
            sources.append(sidecar)
            break
    try:
        meta = DocumentMeta.model_validate(_normalise(merged))
    except ValidationError as exc:
        where = ", ".join(str(s) for s in sources) or str(path)
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise IngestError(str(path), "invalid metadata", f"{where}: {problems}") from exc
    return meta, set(_normalise(merged))
