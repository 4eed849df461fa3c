"""The cited PDF page: the quote is found on the real page and boxed, and the page is cached."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from kb.cited_page import find_quote, render_cited_page

REPO = Path(__file__).resolve().parents[2]
PDF = REPO / "corpus/bloodborne-viruses/hiv-pep-occupational-2025.pdf"
QUOTE = ("PEP should not be started more than 72 hours after the exposure, as there is little "
         "evidence that it works after that time.")


def test_find_quote_tolerates_whitespace_hyphens_case_and_ligatures():
    chars = list("Staff must be im-\r\nmunised  \ufb01rst, then YEARLY.")
    start, end = find_quote(chars, "must be immunised first, then yearly")
    assert "".join(chars[start:end]) == "must be im-\r\nmunised  \ufb01rst, then YEARLY"
    assert find_quote(chars, "not on this page at all") is None


def test_long_quote_running_onto_the_next_page_matches_its_start():
    chars = list("one two three four five six seven eight nine ten")
    span = find_quote(chars, "one two three four five six seven eight nine ten eleven twelve")
    assert span == (0, len(chars))


def test_renders_the_page_holding_the_quote_with_boxes(tmp_path):
    # the chunk says page 2; the quote is on page 1, so the other pages are searched too
    page = render_cited_page(PDF, "v2025", QUOTE, [2], tmp_path)
    assert page.page == 1 and page.page_count == 3 and page.found
    assert 1 <= len(page.boxes) <= 3  # one box per line of the quote
    with Image.open(page.png) as im:
        assert (im.width, im.height) == (page.width, page.height)
        box = page.boxes[0]
        inside = im.getpixel((int(box.left + 3), int((box.top + box.bottom) / 2)))
        assert inside[2] < inside[0] - 40  # yellow-tinted: less blue than red
    again = render_cited_page(PDF, "v2025", QUOTE, [2], tmp_path)
    assert again.png == page.png and again.boxes == page.boxes
    assert len(list(tmp_path.iterdir())) == 1  # served from the cache


def test_quote_not_on_any_page_renders_the_cited_page_plainly(tmp_path):
    page = render_cited_page(PDF, "v2025", "words that appear nowhere in this document", [2], tmp_path)
    assert page.page == 2 and not page.found and page.png.is_file()
