"""DOCX, HTML, Markdown, e-mail and plain text through `unstructured`, with the network blocked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import docx
import pytest

from ingest.loaders import load_document

HTML = """<!DOCTYPE html>
<html><head><title>Needlestick injuries | OH service</title></head>
<body>
<h1>Needlestick injuries</h1>
<p>Published 3 March 2024. Wash the wound with soap and running water straight away.</p>
<h2>Reporting</h2>
<p>Report the injury to your manager and to occupational health on the same day.</p>
<ul><li>Complete an incident form</li><li>Phone the OH advice line</li></ul>
<h3>Out of hours</h3>
<p>Go to the emergency department if OH is closed.</p>
<table>
<tr><th>Exposure</th><th>Action</th></tr>
<tr><td>Percutaneous</td><td>Test the source patient</td></tr>
</table>
</body></html>
"""

MARKDOWN = """# Flu vaccination for staff

All frontline staff should have the flu vaccine every autumn.

## Where to get it

- Staff clinics in the main hospital
- Peer vaccinators on the wards

### Exemptions

| Reason | What to do |
|---|---|
| Egg allergy | Ask for an egg-free vaccine |
"""

EMAIL = """From: OH Team <oh@example.nhs.uk>
To: all-staff@example.nhs.uk
Subject: Flu vaccination clinics 2025
Date: Mon, 6 Oct 2025 09:00:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

Dear colleagues,

Flu clinics open on 13 October in the staff room. Bring your ID badge.
"""

TEXT = """SHARPS DISPOSAL

Place used sharps in the sharps bin straight away and never re-sheath a needle.

Close the bin when it is three quarters full and label it with the ward name.
"""


def _kinds(path: Path) -> list[tuple[str, int, str]]:
    return [(b.kind, b.level, b.text) for b in load_document(path).blocks]


def test_html_headings_levels_lists_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "needlestick.html"
    path.write_text(HTML, encoding="utf-8")
    blocks = _kinds(path)
    assert [(k, lvl, t) for k, lvl, t in blocks if k == "heading"] == [
        ("heading", 1, "Needlestick injuries"),
        ("heading", 2, "Reporting"),
        ("heading", 3, "Out of hours"),
    ]
    assert ("list", 0, "\u2022 Complete an incident form\n\u2022 Phone the OH advice line") in blocks
    assert ("table", 0, "Exposure | Action\nPercutaneous: Action: Test the source patient") in blocks
    doc = load_document(path)
    assert doc.title_hint == "Needlestick injuries | OH service"
    assert doc.date_hint == dt.date(2024, 3, 3)
    assert all(b.page is None for b in doc.blocks)
    assert doc.page_count is None


def test_markdown_heading_levels_follow_hashes(tmp_path: Path) -> None:
    path = tmp_path / "flu.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    blocks = _kinds(path)
    assert [(lvl, t) for k, lvl, t in blocks if k == "heading"] == [
        (1, "Flu vaccination for staff"),
        (2, "Where to get it"),
        (3, "Exemptions"),
    ]
    assert (
        "list",
        0,
        "\u2022 Staff clinics in the main hospital\n\u2022 Peer vaccinators on the wards",
    ) in blocks
    assert ("table", 0, "Reason | What to do\nEgg allergy: What to do: Ask for an egg-free vaccine") in blocks


def test_docx_heading_styles_give_levels(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Sharps policy"
    document.add_heading("1 Purpose", 1)
    document.add_paragraph("This policy explains what staff must do after a sharps injury.")
    document.add_heading("1.1 Scope", 2)
    document.add_paragraph("It applies to all staff, including students.")
    document.add_paragraph("Report to OH", style="List Bullet")
    document.add_paragraph("Keep the sharp", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Exposure", (0, 1): "Action", (1, 0): "Needle", (1, 1): "Report"}.items():
        table.cell(r, c).text = text
    path = tmp_path / "sharps.docx"
    document.save(str(path))
    blocks = _kinds(path)
    assert [(lvl, t) for k, lvl, t in blocks if k == "heading"] == [(1, "1 Purpose"), (2, "1.1 Scope")]
    assert ("list", 0, "\u2022 Report to OH\n\u2022 Keep the sharp") in blocks
    assert ("table", 0, "Exposure | Action\nNeedle: Action: Report") in blocks
    assert load_document(path).title_hint == "Sharps policy"


def test_email_subject_heads_the_body(tmp_path: Path) -> None:
    path = tmp_path / "clinics.eml"
    path.write_text(EMAIL, encoding="utf-8")
    doc = load_document(path)
    assert doc.blocks[0].kind == "heading" and doc.blocks[0].text == "Flu vaccination clinics 2025"
    assert doc.title_hint == "Flu vaccination clinics 2025"
    assert doc.date_hint == dt.date(2025, 10, 6)
    assert any("Flu clinics open on 13 October" in b.text for b in doc.blocks)


def test_plain_text_paragraphs_and_title(tmp_path: Path) -> None:
    path = tmp_path / "sharps.txt"
    path.write_text(TEXT, encoding="utf-8")
    blocks = _kinds(path)
    assert blocks[0] == ("heading", 1, "SHARPS DISPOSAL")
    assert [k for k, _, _ in blocks[1:]] == ["text", "text"]
    assert blocks[1][2].startswith("Place used sharps in the sharps bin")


@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_text_formats_accept_any_utf8(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"note{suffix}"
    path.write_text("Hand hygiene matters before and after every patient contact.\n", encoding="utf-8")
    assert "Hand hygiene" in load_document(path).blocks[0].text
