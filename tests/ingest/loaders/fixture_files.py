"""Small real PDFs made at test time with reportlab and pypdf, for the loader tests."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

PAGE_W, PAGE_H = A4
LEFT = 72.0


def _running_text(c: canvas.Canvas, page: int, pages: int) -> None:
    c.setFont("Helvetica", 9)
    c.drawString(LEFT, PAGE_H - 32, "Sharps Injury Policy - Version 2")
    c.drawString(PAGE_W / 2 - 20, 30, f"Page {page} of {pages}")


def _lines(
    c: canvas.Canvas,
    y: float,
    lines: list[str],
    font: str = "Helvetica",
    size: float = 10,
    leading: float = 13,
) -> float:
    c.setFont(font, size)
    for line in lines:
        c.drawString(LEFT, y, line)
        y -= leading
    return y


def make_policy_pdf(path: Path) -> Path:
    """Three pages: running header, "Page N of 3" footers, numbered headings, a hyphenated
    line break, a table with a caption and a bulleted list."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle("Sharps injury policy for staff")
    pages = 3

    _running_text(c, 1, pages)
    y = _lines(c, PAGE_H - 100, ["Sharps Injury Policy"], "Helvetica-Bold", 22)
    y = _lines(c, y - 20, ["1 Purpose"], "Helvetica-Bold", 14)
    y = _lines(
        c,
        y - 6,
        [
            "This policy tells staff what to do after a sharps or splash injury at work. All",
            "injuries must be reported to occupational health on the same day, and staff should",
            "check their hepatitis B immuni-",
            "sation status with the occupational health team.",
        ],
    )
    y = _lines(c, y - 14, ["1.1 Scope"], "Helvetica-Bold", 12)
    _lines(
        c,
        y - 6,
        [
            "The policy applies to all employed staff, students and contractors who handle",
            "sharps or clinical waste. A post-exposure risk assessment is always required.",
        ],
    )
    c.showPage()

    _running_text(c, 2, pages)
    y = _lines(c, PAGE_H - 100, ["2 Immediate first aid"], "Helvetica-Bold", 14)
    y = _lines(
        c,
        y - 6,
        [
            "Encourage the wound to bleed gently under running water and wash it with soap.",
            "Do not suck the wound or scrub it.",
        ],
    )
    y = _lines(c, y - 14, ["Table 1 Post-exposure actions"])
    rows = [
        ("Exposure", "Source status", "Action"),
        ("Needlestick", "HBsAg positive", "Booster dose and HBIG"),
        ("Splash to eye", "Unknown", "Irrigate and assess"),
    ]
    y -= 6
    for i, row in enumerate(rows):
        c.setFont("Helvetica-Bold" if i == 0 else "Helvetica", 9)
        for x, cell in zip((LEFT, 250, 400), row, strict=True):
            c.drawString(x, y, cell)
        y -= 16
    _lines(
        c,
        y - 14,
        [
            "Record every incident in the staff incident reporting system within 24 hours.",
        ],
    )
    c.showPage()

    _running_text(c, 3, pages)
    y = _lines(c, PAGE_H - 100, ["3 Follow-up"], "Helvetica-Bold", 14)
    y = _lines(
        c,
        y - 6,
        [
            "Blood tests are repeated at six weeks, three months and six months after the exposure.",
        ],
    )
    _lines(
        c,
        y - 14,
        [
            "\u2022 Attend every follow-up appointment",
            "\u2022 Use condoms until the tests are clear",
        ],
    )
    c.showPage()
    c.save()
    return path


def make_image_only_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    image = Image.new("RGB", (120, 80), (200, 30, 30))
    c.drawImage(ImageReader(image), LEFT, PAGE_H - 300, width=240, height=160)
    c.rect(LEFT, 100, 200, 100, fill=1)
    c.showPage()
    c.save()
    return path


def make_encrypted_pdf(source: Path, path: Path, user_password: str) -> Path:
    writer = PdfWriter()
    for page in PdfReader(source).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner-secret")
    with path.open("wb") as f:
        writer.write(f)
    return path


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()
