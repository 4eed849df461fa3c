"""OCR for PDF pages that have no text layer: render with pypdfium2, read with tesseract.

Debian's `tesseract-ocr` (with its English data) is installed by README command 2 and
`.ci/run`; it is called as a subprocess (`tesseract stdin stdout`), one page at a time, with a
time limit per page. Blocks made from OCR text carry `ocr=True`, and so do the chunks and
citations built from them, so a reader can tell the text was machine-read from an image.

Paragraphs are tesseract's blank-line-separated groups, with their lines joined by spaces.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from kb.records import Block

RENDER_DPI = 300
PAGE_TIMEOUT_S = 60
MAX_OCR_PAGES = 50
BLANK_STDDEV = 2.0  # grey-level spread below which a rendered page holds no marks
# A page is OCR'd when its text layer has no words, or fewer than SPARSE_WORDS words beside an
# image of at least LARGE_IMAGE_PIXELS (HSE L74 p.33: a 21-word heading over a 2116x2035
# flowchart image). Smaller images (logos, photos) on sparse pages are left alone.
SPARSE_WORDS = 40
LARGE_IMAGE_PIXELS = 1_000_000  # a scanned binder longer than this needs a proper OCR pass first
_WORD_RE = re.compile(r"[A-Za-z]{2,}|\d")  # a line worth keeping: a word or a number
_MISREAD_BULLET_RE = re.compile(r"^[e«©°*»]\s+(?=[A-Z])")


def has_large_image(page: Any) -> bool:
    """True if the pypdf `page` draws an image XObject of at least LARGE_IMAGE_PIXELS."""
    try:
        resources = page["/Resources"].get_object()
        xobjects = resources.get("/XObject")
        if not xobjects:
            return False
        for ref in xobjects.get_object().values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                if int(obj.get("/Width", 0)) * int(obj.get("/Height", 0)) >= LARGE_IMAGE_PIXELS:
                    return True
    except Exception:  # broken resources: judge the page by its words alone
        return False
    return False


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def new_to_page(blocks: list[Block], layer_text: str) -> list[Block]:
    """OCR blocks whose text is not already in the page's text layer (headings over a figure)."""
    layer = _normal(layer_text)
    return [b for b in blocks if _normal(b.text) not in layer]


def tesseract_path() -> str | None:
    return shutil.which("tesseract")


def render_page_png(pdf: Path, page_number: int, dpi: int = RENDER_DPI) -> bytes | None:
    """PNG bytes of 1-based `page_number` of `pdf`, rendered in greyscale; None for a blank page
    (one flat tone: nothing to read, so tesseract is not started)."""
    import pypdfium2 as pdfium
    from PIL import ImageStat

    document = pdfium.PdfDocument(str(pdf), password="")
    try:
        page = document[page_number - 1]
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
        page.close()
    finally:
        document.close()
    if ImageStat.Stat(image).stddev[0] < BLANK_STDDEV:
        return None
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def ocr_image(png: bytes, timeout_s: float = PAGE_TIMEOUT_S) -> str:
    """The text tesseract reads in one image (English, automatic page segmentation)."""
    exe = tesseract_path()
    if exe is None:
        raise FileNotFoundError("tesseract is not installed (Debian package tesseract-ocr)")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # one core per page: the machine is shared
    done = subprocess.run(
        [exe, "stdin", "stdout", "-l", "eng", "--psm", "3"],
        input=png,
        capture_output=True,
        timeout=timeout_s,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tesseract failed: {done.stderr.decode(errors='replace').strip()[:200]}")
    return done.stdout.decode("utf-8", errors="replace")


def text_to_blocks(text: str, page: int) -> list[Block]:
    """OCR output as text blocks: one per paragraph, lines joined, noise-only lines dropped.
    A bullet that tesseract reads as "e" or "«" at the start of a paragraph becomes "•"."""
    blocks = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in para.splitlines() if _WORD_RE.search(ln)]
        if lines:
            body = _MISREAD_BULLET_RE.sub("\u2022 ", " ".join(" ".join(lines).split()))
            blocks.append(Block(kind="text", text=body, page=page, ocr=True))
    return blocks


def ocr_pdf_pages(pdf: Path, pages: list[int]) -> dict[int, list[Block]]:
    """OCR blocks for each 1-based page number in `pages` (pages where OCR read nothing are absent)."""
    out: dict[int, list[Block]] = {}
    for number in pages:
        png = render_page_png(pdf, number)
        if png is None:
            continue
        blocks = text_to_blocks(ocr_image(png), number)
        if blocks:
            out[number] = blocks
    return out
