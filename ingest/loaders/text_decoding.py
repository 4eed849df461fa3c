"""Decode a text file's bytes, judged over the whole file (not its first 8 KB).

Order:
1. a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) decides;
2. otherwise the bytes are tried as strict UTF-8;
3. otherwise the legacy codec (cp1252, latin-1, ...) is chosen by `charset-normalizer` from the
   lines that are not UTF-8, and each line is decoded on its own: UTF-8 where it is valid,
   the legacy codec where not. So a file pasted together from a UTF-8 note and a latin-1 note
   keeps both ("Résumé" and "naïve £" alike).

    >>> decode_text("naïve £".encode("latin-1")).text
    'naïve £'
    >>> decode_text("naïve £".encode("utf-16")).encoding
    'utf-16'
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Legacy single-byte codecs we accept for Western European guidance. cp1252 first: it is a
# superset of latin-1's printable range and what Windows editors write.
LEGACY_CODECS = ("cp1252", "latin_1", "iso8859_15")
_SAMPLE_BYTES = 1 << 20  # at most this much of the non-UTF-8 lines goes to detection


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # "utf-8", "utf-16", "cp1252", "utf-8+cp1252" for mixed files, ...


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start of `data` declares, if any."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def _legacy_codec(sample: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:_SAMPLE_BYTES], cp_isolation=list(LEGACY_CODECS)).best()
    name = best.encoding if best is not None else "cp1252"
    return name if name in LEGACY_CODECS else "cp1252"


def _decode_legacy(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:  # cp1252 leaves five bytes undefined; latin-1 has them all
        return data.decode("latin_1")


def decode_text(data: bytes) -> DecodedText:
    """The text in `data` (see the module docstring for the order)."""
    bom = bom_encoding(data)
    if bom:
        return DecodedText(data.decode(bom, errors="replace"), bom.replace("-sig", ""))
    try:
        return DecodedText(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    lines = data.splitlines(keepends=True)
    valid = [_is_utf8(line) for line in lines]
    codec = _legacy_codec(b"".join(line for line, ok in zip(lines, valid, strict=True) if not ok))
    if not any(ok and _has_multibyte(line) for line, ok in zip(lines, valid, strict=True)):
        return DecodedText(_decode_legacy(data, codec), codec)  # no UTF-8 beyond ASCII: one codec
    out = [
        line.decode("utf-8") if ok else _decode_legacy(line, codec)
        for line, ok in zip(lines, valid, strict=True)
    ]
    return DecodedText("".join(out), f"utf-8+{codec}")


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _has_multibyte(line: bytes) -> bool:
    return not line.isascii()


def looks_like_text(text: str) -> bool:
    """False when decoded text is mostly control characters (a binary file that decoded)."""
    if not text:
        return True
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return controls <= max(1, len(text) // 100)
