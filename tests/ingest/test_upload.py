import datetime as dt
import io

import pytest
import yaml

from ingest.upload import UploadRejected, check_upload, safe_filename, save_upload, write_sidecar
from kb.records import DocStatus, DocType, DocumentMeta

MB = 1024 * 1024


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("guide.pdf", "guide.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\me\\Policy (v2).DOCX", "Policy_v2_.docx"),
        (".hidden.md", "hidden.md"),
        ("...", "upload"),
        ("naïve café.html", "na_ve_caf_.html"),
    ],
)
def test_safe_filename(given, safe):
    assert safe_filename(given) == safe


def test_size_limit_and_empty():
    with pytest.raises(UploadRejected, match="over the 1 MB upload limit"):
        check_upload("big.txt", b"a" * (MB + 1), MB)
    with pytest.raises(UploadRejected, match="empty"):
        check_upload("e.txt", b"", MB)


def test_extension_not_accepted():
    with pytest.raises(UploadRejected, match="not accepted"):
        check_upload("tool.exe", b"MZ\x90\x00", MB)


def _docx_bytes() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("Hello")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("fake.pdf", b"<html><body>not a pdf</body></html>"),
        ("fake.docx", b"PK\x03\x04 not really a zip"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00"),
    ],
)
def test_content_must_match_extension(tmp_path, name, data):
    checked = check_upload(name, data, MB)
    with pytest.raises(UploadRejected, match=name):
        save_upload(tmp_path, checked, data)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


@pytest.mark.parametrize(
    ("name", "data"),
    [("ok.docx", None), ("ok.md", b"# Title\n\nText."), ("ok.pdf", b"%PDF-1.4\n%...")],
)
def test_good_files_are_saved(tmp_path, name, data):
    data = data or _docx_bytes()
    path = save_upload(tmp_path / "uploads", check_upload(name, data, MB), data)
    assert path.read_bytes() == data and path.name == name
    assert [p.name for p in path.parent.iterdir()] == [name]


def test_sidecar(tmp_path):
    target = tmp_path / "guide.docx"
    meta = DocumentMeta(title="Guide", doc_type=DocType.guideline, topics=["sharps"],
                        published=dt.date(2025, 1, 2), review_due=None, status=DocStatus.current,
                        supersedes=["old-guide"])
    sidecar = write_sidecar(target, meta)
    assert sidecar.name == "guide.docx.meta.yaml"
    data = yaml.safe_load(sidecar.read_text())
    assert data["title"] == "Guide" and data["published"] == "2025-01-02"
    assert data["supersedes"] == ["old-guide"] and "review_due" not in data
    assert DocumentMeta.model_validate(data).doc_type == DocType.guideline
