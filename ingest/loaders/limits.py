"""Limits that bound what parsing one file may cost, and the checks made before parsing.

- `max_file_mb`: a larger file fails with "file too large" before it is opened.
- `max_pages`: a PDF with more pages fails with "too many pages"; none of its pages are read
  (a partial document would answer questions as if it were whole).
- `parse_timeout_s`, `parse_memory_mb`: enforced by `ingest.isolation`, which parses in a
  child process under RLIMIT_AS and a wall-time limit.
- Compressed content: a DOCX (zip) whose members would inflate past `max_unzipped_mb`, or
  any member by more than `MAX_ZIP_RATIO` times over 100 MB, fails with "decompression bomb"
  before any member is read. PDF streams are bounded by pypdf's own output limits, and
  reported with the same reason.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from kb.errors import IngestError

MB = 1 << 20
MAX_ZIP_RATIO = 200  # deflate tops out near 1000:1; real Office members stay far below 200:1
_RATIO_FLOOR_MB = 100


@dataclass(frozen=True)
class ParseLimits:
    max_file_mb: int = 50
    max_pages: int = 1000
    parse_timeout_s: float = 120
    parse_memory_mb: int = 1024

    @property
    def max_unzipped_mb(self) -> int:
        return max(256, 10 * self.max_file_mb)

    @classmethod
    def from_settings(cls, settings: object) -> ParseLimits:
        defaults = cls()
        return cls(**{name: getattr(settings, name, getattr(defaults, name)) for name in (
            "max_file_mb", "max_pages", "parse_timeout_s", "parse_memory_mb")})


def check_size(path: Path, limits: ParseLimits) -> None:
    size = path.stat().st_size
    if size > limits.max_file_mb * MB:
        raise IngestError(
            str(path),
            "file too large",
            f"{size / MB:.1f} MB is over the {limits.max_file_mb} MB limit (setting max_file_mb); "
            "split the file or raise the limit",
        )


def check_zip_inflation(path: Path, limits: ParseLimits) -> None:
    """Refuse a zip (DOCX) whose members would inflate out of all proportion."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(str(path), "corrupt file", f"damaged zip archive: {exc}") from exc
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_mb * MB:
        raise IngestError(
            str(path),
            "decompression bomb",
            f"its parts would inflate to {total / MB:,.0f} MB, over the {limits.max_unzipped_mb} MB "
            "limit; it was not opened",
        )
    for m in members:
        ratio = m.file_size / max(1, m.compress_size)
        if m.file_size > _RATIO_FLOOR_MB * MB and ratio > MAX_ZIP_RATIO:
            raise IngestError(
                str(path),
                "decompression bomb",
                f"{m.filename} would inflate {ratio:,.0f} times to {m.file_size / MB:,.0f} MB; "
                "it was not opened",
            )
