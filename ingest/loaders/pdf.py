"""Load a PDF with pypdf: text by physical page, repaired words, headings, lists and tables.

Steps:
1. Open (and decrypt with the empty password if needed).
2. Extract each page's lines with font size, weight and position (`pdf_lines`).
3. Drop running headers, footers and page numbers (`running_text`).
4. Learn the document's vocabulary. When many words look split by kerning ("emplo yed"), also
   extract the text in pypdf's layout mode, whose word spacing follows glyph widths, as a
   reference for which splits to merge (`word_repair`).
5. Classify lines and group them into blocks (`pdf_structure`, `pdf_blocks`), undoing line-end
   hyphenation, then merge kerning splits.
6. Pages with no text layer (a scanned page), or only a few words over a large image (a
   flowchart drawn as an image under a heading), are OCR'd (`ocr`); their blocks carry
   `ocr=True`, placed after the page's text-layer blocks. A PDF with no text at all and nothing OCR can read
   fails with "no text layer" (needs OCR).

Limits (`limits.ParseLimits`): more than `max_pages` pages fails with "too many pages" before
any page is read; a stream that inflates past pypdf's output limits fails with
"decompression bomb".
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, LimitReachedError

from ingest.loaders import ocr
from ingest.loaders.date_hint import find_date
from ingest.loaders.limits import ParseLimits
from ingest.loaders.pdf_blocks import build_blocks
from ingest.loaders.pdf_lines import Line, page_lines
from ingest.loaders.pdf_structure import analyse_type
from ingest.loaders.running_text import drop_running_text
from ingest.loaders.word_repair import Vocabulary, repair_kerning
from kb.errors import IngestError
from kb.records import Block, ParsedDocument

# Kerning repair fetches a layout-mode reference when at least this many merges look needed
# and they make up at least this share of the words.
KERNING_MIN_MERGES = 5
KERNING_MIN_SHARE = 0.002

# Metadata titles that are file names rather than a document's title.
_JUNK_TITLE_RE = re.compile(
    r"^(microsoft \w+ - |untitled|document\d*$)|\.(docx?|pdf|indd|qxd|rtf|odt)$", re.IGNORECASE
)
# Print-job numbers and version tags around a title: "2906121 Green Book Chapter 13 v2_0".
_TITLE_NOISE_RE = re.compile(r"^\d{5,}\s+|\s+v\d+[_.]\d+$", re.IGNORECASE)
_WORDS_RE = re.compile(r"[A-Za-z]+")

log = logging.getLogger(__name__)


def _open(path: Path) -> PdfReader:
    try:
        reader = PdfReader(path)
    except Exception as exc:
        raise IngestError(str(path), "corrupt PDF", str(exc) or type(exc).__name__) from exc
    if reader.is_encrypted:
        try:
            result = reader.decrypt("")
        except DependencyError as exc:  # AES needs the `cryptography` package
            raise IngestError(
                str(path), "encrypted PDF", f"it is AES-encrypted and cannot be opened here ({exc})"
            ) from exc
        except Exception as exc:
            raise IngestError(str(path), "encrypted PDF", str(exc) or type(exc).__name__) from exc
        if result == PasswordType.NOT_DECRYPTED:
            raise IngestError(
                str(path), "encrypted PDF", "it needs a password; save an unprotected copy and add that"
            )
    return reader


def _bounds(page: Any) -> tuple[float, float]:
    try:
        box = page.mediabox
        return float(box.bottom), float(box.top)
    except Exception:
        return 0.0, 0.0


def _outline_titles(reader: PdfReader) -> list[str]:
    titles: list[str] = []

    def walk(items: Any) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                title = getattr(item, "title", None)
                if isinstance(title, str):
                    titles.append(title)

    try:
        walk(reader.outline)
    except Exception:  # a broken outline only costs us heading hints
        return []
    return titles


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    if not isinstance(title, str):
        return None
    title = _TITLE_NOISE_RE.sub("", " ".join(title.split()))
    if len(title.split()) < 2 or _JUNK_TITLE_RE.search(title):
        return None
    return title


# pypdf's layout mode logs a warning per rotated run of text; the plain text already has it.
logging.getLogger("pypdf._text_extraction._layout_mode._fixed_width_page").setLevel(logging.ERROR)


def _layout_reference(reader: PdfReader) -> str:
    texts = []
    for page in reader.pages:
        try:
            texts.append(page.extract_text(extraction_mode="layout"))
        except Exception:  # the reference is optional; a page it cannot lay out is skipped
            continue
    return "\n".join(texts)


def _vocabulary(reader: PdfReader, lines: list[Line]) -> Vocabulary:
    vocab = Vocabulary.from_texts(line.text for line in lines)
    _, merges = repair_kerning("\n".join(line.text for line in lines), vocab)
    words = sum(vocab.words.values()) or 1
    if merges >= KERNING_MIN_MERGES and merges / words >= KERNING_MIN_SHARE:
        vocab.add_reference(_layout_reference(reader))
    return vocab


def _title_hint(reader: PdfReader, blocks: list[Block]) -> str | None:
    title = _metadata_title(reader)
    if title:
        return title
    headings = [b for b in blocks if b.kind == "heading" and b.page in (1, 2)]
    if headings:
        return min(headings, key=lambda b: b.level).text
    return None


_LONE_BULLET_RE = re.compile("^[\\s\u2022\u25cf\u25aa\u25a0\u25e6\u00b7\uf0b7\uf0a7\x7f\x95-]+$")


def load_pdf(path: Path, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse a PDF into blocks with 1-based physical page numbers."""
    try:
        return _load_pdf(path, limits or ParseLimits())
    except LimitReachedError as exc:
        raise IngestError(
            str(path), "decompression bomb", f"a stream inflates past pypdf's limit ({exc})"
        ) from exc


def _page_line_lists(path: Path, pages: list[Any]) -> list[list[Line]]:
    out: list[list[Line]] = []
    for number, page in enumerate(pages, start=1):
        try:
            out.append(page_lines(page, number))
        except LimitReachedError:
            raise
        except Exception as exc:
            raise IngestError(str(path), "corrupt PDF", f"page {number}: {exc}") from exc
    return out


def _ocr_blocks(path: Path, pages: list[Any], page_line_lists: list[list[Line]]) -> dict[int, list[Block]]:
    """OCR blocks for pages with no text layer, or a sparse one over a large image ({} if none)."""
    wanted = []
    for number, (page, lines) in enumerate(zip(pages, page_line_lists, strict=True), start=1):
        words = sum(len(_WORDS_RE.findall(line.text)) for line in lines)
        if words == 0 or (words < ocr.SPARSE_WORDS and ocr.has_large_image(page)):
            wanted.append(number)
    if not wanted or ocr.tesseract_path() is None:
        return {}
    if len(wanted) > ocr.MAX_OCR_PAGES:
        log.warning("%s: %d pages need OCR; reading the first %d", path, len(wanted), ocr.MAX_OCR_PAGES)
        wanted = wanted[: ocr.MAX_OCR_PAGES]
    out = {}
    for number, blocks in ocr.ocr_pdf_pages(path, wanted).items():
        layer = "\n".join(line.text for line in page_line_lists[number - 1])
        if kept := ocr.new_to_page(blocks, layer):
            out[number] = kept
    return out


def _with_ocr(blocks: list[Block], ocr_blocks: dict[int, list[Block]]) -> list[Block]:
    """Insert each OCR'd page's blocks in page order."""
    if not ocr_blocks:
        return blocks
    out: list[Block] = []
    pending = sorted(ocr_blocks.items())
    for block in blocks:
        while pending and block.page is not None and pending[0][0] < block.page:
            out.extend(pending.pop(0)[1])
        out.append(block)
    for _, page_blocks in pending:
        out.extend(page_blocks)
    return out


def _load_pdf(path: Path, limits: ParseLimits) -> ParsedDocument:
    reader = _open(path)
    try:
        pages = list(reader.pages)
    except LimitReachedError:
        raise
    except Exception as exc:
        raise IngestError(str(path), "corrupt PDF", str(exc) or type(exc).__name__) from exc
    if not pages:
        raise IngestError(str(path), "corrupt PDF", "no pages could be read from it")
    if len(pages) > limits.max_pages:
        raise IngestError(
            str(path),
            "too many pages",
            f"{len(pages):,} pages is over the limit of {limits.max_pages:,} (setting max_pages); "
            "no page was read. Split the file or raise the limit",
        )

    page_line_lists = _page_line_lists(path, pages)
    ocr_blocks = _ocr_blocks(path, pages, page_line_lists)
    letters = sum(len(_WORDS_RE.findall(line.text)) for lines in page_line_lists for line in lines)
    if letters == 0 and not ocr_blocks:
        how = "OCR found no words in it" if ocr.tesseract_path() else "tesseract is not installed"
        raise IngestError(
            str(path),
            "no text layer",
            f"needs OCR: {len(pages)} page(s) but no extractable text, and {how}; "
            "OCR it first",
        )

    first_pages = "\n".join(line.text for lines in page_line_lists[:2] for line in lines)
    if not first_pages.strip():
        first_pages = "\n".join(b.text for n in (1, 2) for b in ocr_blocks.get(n, []))
    kept = drop_running_text(page_line_lists, [_bounds(p) for p in pages])
    lines = [line for page_list in kept for line in page_list]
    blocks: list[Block] = []
    if lines:
        blocks = _text_layer_blocks(reader, kept, lines)
    blocks = _with_ocr(blocks, ocr_blocks)
    return ParsedDocument(
        path=str(path),
        blocks=blocks,
        title_hint=_title_hint(reader, blocks),
        page_count=len(pages),
        date_hint=find_date(first_pages),
    )


def _text_layer_blocks(reader: PdfReader, kept: list[list[Line]], lines: list[Line]) -> list[Block]:
    vocab = _vocabulary(reader, lines)
    scale = analyse_type(kept, _outline_titles(reader))
    blocks: list[Block] = []
    pending_bullet = False
    for block in build_blocks(lines, scale, vocab):
        text, _ = repair_kerning(block.text, vocab)
        if not text.strip():
            continue
        if _LONE_BULLET_RE.match(text):  # a bullet glyph on a line of its own
            pending_bullet = True
            continue
        if pending_bullet and block.kind != "heading":
            text = "\u2022 " + text.lstrip()
        pending_bullet = False
        blocks.append(block.model_copy(update={"text": text}))
    return blocks
