"""`load_document`: type checks and the errors users see."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import SUPPORTED_SUFFIXES, dispatch, load_document
from kb.errors import IngestError
from tests.ingest.loaders.fixture_files import png_bytes


def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == frozenset(
        {".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt", ".eml"}
    )


def _reason(path: Path) -> IngestError:
    with pytest.raises(IngestError) as info:
        load_document(path)
    assert str(path) in str(info.value)  # the message names the file
    return info.value


def test_unknown_extension_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.xyz"
    path.write_text("some text", encoding="utf-8")
    error = _reason(path)
    assert error.reason == "unsupported type"
    assert ".pdf" in error.detail


@pytest.mark.parametrize("name", ["empty.pdf", "empty.txt", "empty.docx", "empty.html"])
def test_zero_byte_file_is_empty(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    assert _reason(path).reason == "empty file"


def test_whitespace_only_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.md"
    path.write_text("  \n\n\t \n", encoding="utf-8")
    assert _reason(path).reason == "empty file"


def test_html_without_text_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "bare.html"
    path.write_text("<html><body><div></div></body></html>", encoding="utf-8")
    assert _reason(path).reason == "empty file"


@pytest.mark.parametrize(
    ("name", "content", "looks_like"),
    [
        ("scan.docx", png_bytes(), "PNG image"),
        ("page.html", b"%PDF-1.7\n%fake", "a PDF"),
        ("mail.eml", b"Just a note without headers.\n", "plain text"),
        ("notes.txt", b"\x00\x01\x02binary\xff\xfe", "binary data"),
        ("report.pdf", b"<html><body><p>Hello</p></body></html>", "HTML"),
    ],
)
def test_content_must_match_extension(tmp_path: Path, name: str, content: bytes, looks_like: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    error = _reason(path)
    assert error.reason == "type does not match extension"
    assert looks_like in error.detail


def test_missing_file_is_reported_not_raised_raw(tmp_path: Path) -> None:
    error = _reason(tmp_path / "gone.pdf")
    assert error.reason == "corrupt file"


def test_library_errors_are_wrapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(path: Path, kind: str) -> None:
        raise ValueError("parser blew up")

    monkeypatch.setattr(dispatch, "load_with_unstructured", explode)
    path = tmp_path / "note.md"
    path.write_text("# Title\n\nText.\n", encoding="utf-8")
    error = _reason(path)
    assert error.reason == "corrupt file"
    assert "parser blew up" in error.detail


def test_docx_zip_without_document_is_mismatch(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "fake.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    error = _reason(path)
    assert error.reason == "type does not match extension"
    assert "zip archive" in error.detail
