"""Section-aware chunking: unit tests and hypothesis properties."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunking import (
    chunk_document,
    count_tokens,
    document_text,
    encoder,
    uncovered_text,
)
from kb.records import Block, ChunkDraft, ParsedDocument
from tests.ingest.network_guard import block_network


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)


def _doc(*blocks: Block) -> ParsedDocument:
    return ParsedDocument(path="policy.md", blocks=list(blocks))


def heading(text: str, level: int, page: int | None = None) -> Block:
    return Block(kind="heading", text=text, level=level, page=page)


def para(text: str, page: int | None = None) -> Block:
    return Block(kind="text", text=text, page=page)


def sentences(n: int, topic: str = "vaccine") -> str:
    return " ".join(f"Sentence {i} explains the {topic} advice for staff in plain words." for i in range(n))


def check_invariants(doc: ParsedDocument, chunks: list[ChunkDraft], max_tokens: int) -> None:
    text = document_text(doc.blocks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert uncovered_text(doc, chunks) == ""
    for c in chunks:
        assert text[c.char_start : c.char_end] == c.text
        assert c.text and not c.text[0].isspace() and not c.text[-1].isspace()
        assert c.token_count == count_tokens(c.text) <= max_tokens
        if c.page_start is not None:
            assert c.page_end is not None and c.page_start <= c.page_end
    starts = [c.char_start for c in chunks]
    assert starts == sorted(set(starts))
    pages = [c.page_start for c in chunks if c.page_start is not None]
    assert pages == sorted(pages)


# ---------------------------------------------------------------- units


def test_tokens_load_offline_and_leave_the_environment_alone() -> None:
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    assert encoder().name == "cl100k_base"
    assert count_tokens("hepatitis B vaccine") > 0
    assert os.environ.get("TIKTOKEN_CACHE_DIR") == before


def test_document_text_joins_blocks_with_blank_lines() -> None:
    assert document_text([para("a"), heading("B", 1), para("c")]) == "a\n\nB\n\nc"


def test_heading_path_and_heading_as_first_line() -> None:
    doc = _doc(
        heading("4 Testing", 1),
        para(sentences(4, "testing")),
        heading("4.2 Non-responders", 2),
        para(sentences(4, "non-responder")),
    )
    chunks = chunk_document(doc)
    assert [(c.heading_path, c.text.split("\n")[0]) for c in chunks] == [
        ("4 Testing", "4 Testing"),
        ("4 Testing > 4.2 Non-responders", "4.2 Non-responders"),
    ]
    check_invariants(doc, chunks, 300)


def test_sections_are_never_mixed() -> None:
    doc = _doc(
        heading("Storage", 2),
        para(sentences(5, "storage")),
        heading("Disposal", 2),
        para(sentences(5, "disposal")),
    )
    chunks = chunk_document(doc, max_tokens=300)
    assert [c.heading_path for c in chunks] == ["Storage", "Disposal"]
    assert "disposal" not in chunks[0].text


def test_heading_stack_pops_to_the_right_level() -> None:
    doc = _doc(
        heading("Hepatitis B", 1),
        heading("Recommendations", 2),
        heading("Healthcare workers", 3),
        para(sentences(6, "worker")),
        heading("Adverse reactions", 2),
        para(sentences(6, "reaction")),
    )
    paths = [c.heading_path for c in chunk_document(doc)]
    assert paths == [
        "Hepatitis B > Recommendations > Healthcare workers",
        "Hepatitis B > Adverse reactions",
    ]


def test_heading_only_section_joins_its_child() -> None:
    doc = _doc(heading("History", 2), heading("Children", 3), para(sentences(6, "child")))
    (chunk,) = chunk_document(doc)
    assert chunk.heading_path == "History > Children"
    assert chunk.text.startswith("History\n\nChildren\n\nSentence 0")


def test_tiny_sibling_sections_merge_under_their_parent() -> None:
    doc = _doc(
        heading("The vaccine", 2),
        heading("Storage", 3),
        para("Store at 2 to 8 degrees."),
        heading("Presentation", 3),
        para("A suspension in a pre-filled syringe."),
        heading("Adverse reactions", 2),
        para(sentences(6, "reaction")),
    )
    chunks = chunk_document(doc, min_tokens=40)
    assert chunks[0].heading_path == "The vaccine"
    assert "Store at 2 to 8" in chunks[0].text and "pre-filled syringe" in chunks[0].text
    assert chunks[1].heading_path == "Adverse reactions"


def test_long_paragraph_splits_at_sentences() -> None:
    doc = _doc(heading("Advice", 1), para(sentences(60)))
    chunks = chunk_document(doc, max_tokens=100)
    assert len(chunks) > 3
    assert all(c.heading_path == "Advice" for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    check_invariants(doc, chunks, 100)


def test_unbreakable_text_splits_at_token_boundaries() -> None:
    doc = _doc(para("x" * 5000))
    chunks = chunk_document(doc, max_tokens=50)
    assert "".join(c.text for c in chunks) == "x" * 5000
    check_invariants(doc, chunks, 50)


def test_table_rows_split_at_lines() -> None:
    rows = "\n".join(f"Row {i} | Engerix-B | 20 micrograms | 1.0 ml" for i in range(80))
    doc = _doc(Block(kind="table", text=rows, page=4))
    chunks = chunk_document(doc, max_tokens=60)
    assert all(c.text.startswith("Row ") and c.text.endswith("ml") for c in chunks)
    assert all(c.page_start == c.page_end == 4 for c in chunks)


def test_pages_span_the_blocks_covered() -> None:
    doc = _doc(
        heading("Schedule", 1, page=3), para("Give at 0, 1 and 2 months.", 3), para("Then at 12 months.", 4)
    )
    (chunk,) = chunk_document(doc)
    assert (chunk.page_start, chunk.page_end) == (3, 4)


def test_overlap_repeats_trailing_sentences_within_a_section() -> None:
    doc = _doc(heading("Advice", 1), para(sentences(40)))
    plain = chunk_document(doc, max_tokens=80)
    overlapped = chunk_document(doc, max_tokens=80, overlap_tokens=20)
    assert len(overlapped) >= len(plain)
    assert any(b.char_start < a.char_end for a, b in zip(overlapped, overlapped[1:], strict=False))
    check_invariants(doc, overlapped, 80)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 8}, "max_tokens must be at least 16"),
        ({"overlap_tokens": 300}, "overlap_tokens must be in"),
        ({"overlap_tokens": -1}, "overlap_tokens must be in"),
        ({"min_tokens": -5}, "min_tokens must be 0 or more"),
    ],
)
def test_invalid_settings_are_rejected(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chunk_document(_doc(para("text")), **kwargs)


def test_empty_document_gives_no_chunks() -> None:
    assert chunk_document(_doc()) == []


# ---------------------------------------------------------------- properties

_words = st.sampled_from(
    [
        "vaccine",
        "HBsAg",
        "staff",
        "needlestick",
        "dose",
        "0.5ml",
        "anti-HBs",
        "é",
        "ü-ber",
        "≥10",
        "🙂",
        "x" * 40,
    ]
)
_separators = st.sampled_from([" ", " ", " ", ". ", ", ", "\n", "  ", "; ", "! "])


@st.composite
def _text(draw: st.DrawFn) -> str:
    words = draw(st.lists(_words, min_size=1, max_size=60))
    seps = draw(st.lists(_separators, min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, seps, strict=True)).strip() or "x"


@st.composite
def _documents(draw: st.DrawFn) -> ParsedDocument:
    blocks = []
    page = 1
    with_pages = draw(st.booleans())
    for _ in range(draw(st.integers(min_value=0, max_value=14))):
        page += draw(st.sampled_from([0, 0, 1]))
        kind = draw(st.sampled_from(["heading", "text", "text", "list", "table"]))
        level = draw(st.integers(min_value=1, max_value=6)) if kind == "heading" else 0
        text = draw(_text())
        if kind == "heading":
            text = text[:80].strip() or "Heading"
        blocks.append(Block(kind=kind, text=text, level=level, page=page if with_pages else None))
    return ParsedDocument(path="generated.txt", blocks=blocks)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=_documents(),
    max_tokens=st.sampled_from([16, 40, 300]),
    overlap=st.sampled_from([0, 0, 10]),
    min_tokens=st.sampled_from([0, 40]),
)
def test_chunking_properties(doc: ParsedDocument, max_tokens: int, overlap: int, min_tokens: int) -> None:
    chunks = chunk_document(doc, max_tokens=max_tokens, overlap_tokens=overlap, min_tokens=min_tokens)
    check_invariants(doc, chunks, max_tokens)
    if not overlap:  # without overlap, chunks do not overlap
        assert all(a.char_end <= b.char_start for a, b in zip(chunks, chunks[1:], strict=False))


# ---------------------------------------------------------------- hostile text (issue 12)

_any_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # every code point but lone surrogates
    min_size=0,
    max_size=400,
)


@st.composite
def _long_lines(draw: st.DrawFn) -> str:
    """A long run: one word repeated with no newline, or no spaces at all, up to ~12,000 chars."""
    word = draw(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Z", "Cc")), min_size=1, max_size=12))
    sep = draw(st.sampled_from(["", " ", ". ", "\u00a0", ","]))
    return (word + sep) * draw(st.integers(min_value=1, max_value=1000))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(st.one_of(_any_text, _long_lines()), min_size=1, max_size=4),
    kinds=st.lists(st.sampled_from(["heading", "text", "list", "table"]), min_size=4, max_size=4),
    ocr=st.lists(st.booleans(), min_size=4, max_size=4),
    max_tokens=st.sampled_from([16, 64, 256]),
)
def test_chunking_arbitrary_and_long_text_loses_nothing(
    texts: list[str], kinds: list[str], ocr: list[bool], max_tokens: int
) -> None:
    blocks = [
        Block(kind=k, text=t, level=1 if k == "heading" else 0, ocr=o)
        for t, k, o in zip(texts, kinds, ocr, strict=False)
    ]
    doc = _doc(*blocks)
    chunks = chunk_document(doc, max_tokens=max_tokens)
    check_invariants(doc, chunks, max_tokens)
    # the ocr flag follows the blocks a chunk covers
    spans, pos = [], 0
    for b in blocks:
        spans.append((pos, pos + len(b.text), b.ocr))
        pos += len(b.text) + 2
    text = document_text(doc.blocks)
    for c in chunks:
        expected = any(o for s, e, o in spans if text[max(s, c.char_start) : min(e, c.char_end)].strip())
        assert c.ocr == expected
