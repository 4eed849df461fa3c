"""The PDF loader on small PDFs made with reportlab at test time."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import load_document
from kb.errors import IngestError
from tests.ingest.loaders.fixture_files import make_encrypted_pdf, png_bytes


def _blocks(path: Path) -> list[tuple[str, int, int | None, str]]:
    return [(b.kind, b.level, b.page, b.text) for b in load_document(path).blocks]


def test_headings_levels_and_pages(policy_pdf: Path) -> None:
    headings = [(text, level, page) for kind, level, page, text in _blocks(policy_pdf) if kind == "heading"]
    assert headings == [
        ("Sharps Injury Policy", 1, 1),
        ("1 Purpose", 2, 1),
        ("1.1 Scope", 3, 1),
        ("2 Immediate first aid", 2, 2),
        ("3 Follow-up", 2, 3),
    ]


def test_running_header_and_page_footer_removed(policy_pdf: Path) -> None:
    texts = "\n".join(text for *_, text in _blocks(policy_pdf))
    assert "Sharps Injury Policy - Version 2" not in texts
    assert "Page 1 of 3" not in texts and "Page 3 of 3" not in texts


def test_hyphenated_line_break_is_joined(policy_pdf: Path) -> None:
    first_para = next(text for kind, _, _, text in _blocks(policy_pdf) if kind == "text")
    assert "hepatitis B immunisation status" in first_para
    assert "immuni-" not in first_para
    # a real compound keeps its hyphen
    assert any("post-exposure risk assessment" in text for *_, text in _blocks(policy_pdf))


def test_paragraph_lines_are_joined_and_pages_kept(policy_pdf: Path) -> None:
    blocks = _blocks(policy_pdf)
    para = next(b for b in blocks if b[3].startswith("Encourage the wound"))
    assert para == (
        "text",
        0,
        2,
        "Encourage the wound to bleed gently under running water and wash it with soap. "
        "Do not suck the wound or scrub it.",
    )
    assert next(b for b in blocks if b[3].startswith("Blood tests"))[2] == 3


def test_table_rows_and_cells(policy_pdf: Path) -> None:
    table = next(b for b in _blocks(policy_pdf) if b[0] == "table")
    assert table[2] == 2
    assert table[3].splitlines() == [
        "Table 1 Post-exposure actions",
        "Exposure | Source status | Action",
        "Needlestick: Source status: HBsAg positive; Action: Booster dose and HBIG",
        "Splash to eye: Source status: Unknown; Action: Irrigate and assess",
    ]


def test_bullets_become_one_list_block(policy_pdf: Path) -> None:
    lists = [b for b in _blocks(policy_pdf) if b[0] == "list"]
    assert lists == [
        (
            "list",
            0,
            3,
            "\u2022 Attend every follow-up appointment\n\u2022 Use condoms until the tests are clear",
        )
    ]


def test_hints(policy_pdf: Path) -> None:
    doc = load_document(policy_pdf)
    assert doc.page_count == 3
    assert doc.title_hint == "Sharps injury policy for staff"
    assert doc.path == str(policy_pdf)


def test_encrypted_pdf_needing_a_password(policy_pdf: Path, tmp_path: Path) -> None:
    locked = make_encrypted_pdf(policy_pdf, tmp_path / "locked.pdf", user_password="secret")
    with pytest.raises(IngestError) as info:
        load_document(locked)
    assert info.value.reason == "encrypted PDF"
    assert str(locked) in str(info.value)


def test_pdf_encrypted_with_empty_user_password_still_loads(policy_pdf: Path, tmp_path: Path) -> None:
    restricted = make_encrypted_pdf(policy_pdf, tmp_path / "restricted.pdf", user_password="")
    assert "1 Purpose" in [b.text for b in load_document(restricted).blocks]


def test_image_only_pdf_has_no_text_layer(image_only_pdf: Path) -> None:
    with pytest.raises(IngestError, match="no text layer") as info:
        load_document(image_only_pdf)
    assert info.value.reason == "no text layer"
    assert info.value.path == str(image_only_pdf)


def test_truncated_pdf_is_corrupt(policy_pdf: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(policy_pdf.read_bytes()[:400])
    with pytest.raises(IngestError) as info:
        load_document(broken)
    assert info.value.reason == "corrupt PDF"
    assert str(broken) in str(info.value)


def test_png_named_pdf_is_a_type_mismatch(tmp_path: Path) -> None:
    fake = tmp_path / "scan.pdf"
    fake.write_bytes(png_bytes())
    with pytest.raises(IngestError, match="PNG image") as info:
        load_document(fake)
    assert info.value.reason == "type does not match extension"
