"""Tell a file's type from its bytes, and check that it matches the file's extension.

Kinds: "pdf" (`%PDF-`), "docx" (a zip holding `word/document.xml`), "html", "eml" (RFC 822
headers), "text" (other text: UTF-8, UTF-16/32 with a byte-order mark, or a legacy codec such
as cp1252 or latin-1, see `text_decoding`), or a named binary kind ("PNG image", "program", ...).
"""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path

from ingest.loaders.text_decoding import bom_encoding, decode_text, looks_like_text
from kb.errors import IngestError

HEAD_BYTES = 8192

# What each extension accepts. Markdown and plain text accept any UTF-8 text, since such files
# may hold HTML fragments or start with "Subject:"-style lines.
ACCEPTS: dict[str, frozenset[str]] = {
    ".pdf": frozenset({"pdf"}),
    ".docx": frozenset({"docx"}),
    ".html": frozenset({"html"}),
    ".htm": frozenset({"html"}),
    ".eml": frozenset({"eml"}),
    ".md": frozenset({"text", "html", "eml"}),
    ".markdown": frozenset({"text", "html", "eml"}),
    ".txt": frozenset({"text", "html", "eml"}),
}

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office (OLE) file"),
    (b"{\\rtf", "RTF document"),
    (b"%!PS", "PostScript file"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-zip archive"),
    (b"Rar!", "RAR archive"),
    (b"\x7fELF", "program (ELF executable)"),
    (b"MZ\x90\x00", "program (Windows executable)"),
    (b"\xcf\xfa\xed\xfe", "program (Mach-O executable)"),
)
_HTML_START_RE = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_TAG_RE = re.compile(r"<(?:html|head|body|p|div|h[1-6]|table|ul|ol|article|section)\b[^>]*>", re.I)
_HEADER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]*\S", re.M)
_EMAIL_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "mime-version", "received", "return-path", "cc"}
)


def _decode_head(head: bytes) -> str | None:
    """The head as text, or None if it is not text (tolerates a cut final character)."""
    bom = bom_encoding(head)
    if bom:
        return codecs.getincrementaldecoder(bom)(errors="replace").decode(head, final=False)
    if b"\x00" in head:
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        text = decode_text(head).text  # a legacy codec (cp1252, latin-1)
    return text if looks_like_text(text) else None


def _looks_like_email(text: str) -> bool:
    header_block = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    lines = [ln for ln in header_block.splitlines() if ln.strip()]
    if not lines or not _HEADER_RE.match(lines[0]):
        return False
    names = {m.group(1).lower() for m in _HEADER_RE.finditer(header_block)}
    return len(names & _EMAIL_HEADERS) >= 2


def detect_kind(path: Path) -> str:
    """The kind of file `path` holds, judged by its content."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return "damaged zip archive"
        return "docx" if "word/document.xml" in names else "zip archive"
    for magic, name in _BINARY_MAGIC:
        if head.startswith(magic):
            return name
    text = _decode_head(head)
    if text is None:
        return "binary data"
    if _HTML_START_RE.match(text):
        return "html"
    if _looks_like_email(text):
        return "eml"
    if _HTML_TAG_RE.search(text) and text.lstrip().startswith("<"):
        return "html"
    return "text"


def is_blank(path: Path) -> bool:
    """True for a 0-byte file or one holding only whitespace."""
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            if chunk.strip():
                return False
    return True


def check_type(path: Path) -> str:
    """Return the content kind of `path`, raising IngestError if it is blank or mismatched."""
    suffix = path.suffix.lower()
    if is_blank(path):
        raise IngestError(str(path), "empty file", "the file has no content")
    kind = detect_kind(path)
    accepted = ACCEPTS.get(suffix, frozenset())
    if kind not in accepted:
        expected = "not a PDF: " if suffix == ".pdf" else ""
        raise IngestError(
            str(path),
            "type does not match extension",
            f"{expected}the name says {suffix} but the content looks like {_describe(kind)}; "
            "rename it or export it again",
        )
    return kind


def _describe(kind: str) -> str:
    return {
        "pdf": "a PDF",
        "binary data": "binary data",
        "docx": "a Word document",
        "html": "HTML",
        "eml": "an e-mail",
        "text": "plain text",
    }.get(kind, f"a {kind}")
