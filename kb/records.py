"""Typed records passed between ingest, store, retrieval and answers.

Every record is defined once here. Pass records, not dicts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Namespace for deterministic chunk point ids (uuid5 of doc_id, version, ordinal).
CHUNK_NAMESPACE = uuid.UUID("6f1c3c1e-9a55-4f0e-9d7e-5b8a3f0c2a11")


class DocType(StrEnum):
    guideline = "guideline"
    policy = "policy"
    protocol = "protocol"
    bulletin = "bulletin"
    form = "form"
    other = "other"


class DocStatus(StrEnum):
    current = "current"
    superseded = "superseded"
    withdrawn = "withdrawn"


Audience = Literal["members", "public"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DocumentMeta(_Record):
    """Curator-editable metadata, from a sidecar or manifest, or inferred from the file."""

    doc_id: str | None = None
    title: str | None = None
    doc_type: DocType = DocType.other
    topics: list[str] = Field(default_factory=list)
    publisher: str | None = None
    audience: Audience = "members"
    published: dt.date | None = None
    review_due: dt.date | None = None
    status: DocStatus = DocStatus.current
    supersedes: list[str] = Field(default_factory=list)
    source_url: str | None = None
    sample: bool = False


class Document(_Record):
    """One live (or retired) document as the catalog knows it."""

    doc_id: str
    title: str
    doc_type: DocType = DocType.other
    topics: list[str] = Field(default_factory=list)
    publisher: str | None = None
    audience: Audience = "members"
    published: dt.date | None = None
    review_due: dt.date | None = None
    status: DocStatus = DocStatus.current
    supersedes: list[str] = Field(default_factory=list)
    superseded_by: str | None = None
    source_path: str
    source_url: str | None = None
    version: str  # sha256 of the file's bytes
    ingested_at: dt.datetime
    sample: bool = False
    page_count: int | None = None
    chunk_count: int = 0

    def is_past_review(self, today: dt.date | None = None) -> bool:
        today = today or dt.date.today()
        return self.review_due is not None and self.review_due < today


# ---------------------------------------------------------------- parsing


BlockKind = Literal["heading", "text", "table", "list"]


class Block(_Record):
    """One structural element of a parsed file, in reading order."""

    kind: BlockKind
    text: str
    level: int = 0  # heading level 1..6 for headings, 0 otherwise
    page: int | None = None  # 1-based physical page, None for formats without pages
    ocr: bool = False  # the text was read by OCR from an image of the page
    anchor: str | None = None  # a bulletin item's anchor (HTML id or slug), for `#anchor` links


class ParsedDocument(_Record):
    """What a loader returns: clean blocks in reading order plus hints from the file."""

    path: str
    blocks: list[Block]
    title_hint: str | None = None
    page_count: int | None = None
    date_hint: dt.date | None = None


class ChunkDraft(_Record):
    """A chunk before it has ids and embeddings.

    `char_start`/`char_end` index into the document text built by joining the
    block texts with "\\n\\n" (see `ingest.chunking.document_text`).
    """

    ordinal: int
    text: str
    heading_path: str = ""
    page_start: int | None = None
    page_end: int | None = None
    char_start: int
    char_end: int
    token_count: int
    ocr: bool = False  # some of the text was read by OCR
    anchor: str | None = None  # the bulletin item this chunk belongs to


class Chunk(_Record):
    """A stored chunk with the document fields that filters need."""

    chunk_id: str
    doc_id: str
    version: str
    ordinal: int
    text: str
    heading_path: str = ""
    page_start: int | None = None
    page_end: int | None = None
    char_start: int
    char_end: int
    token_count: int
    title: str
    doc_type: DocType
    topics: list[str] = Field(default_factory=list)
    audience: Audience = "members"
    status: DocStatus = DocStatus.current
    published: dt.date | None = None
    review_due: dt.date | None = None
    source_path: str
    ocr: bool = False  # some of the text was read by OCR (say so when citing it)
    anchor: str | None = None  # the bulletin item (HTML id or slug) this chunk comes from

    @staticmethod
    def make_id(doc_id: str, version: str, ordinal: int) -> str:
        return str(uuid.uuid5(CHUNK_NAMESPACE, f"{doc_id}|{version}|{ordinal}"))


# ---------------------------------------------------------------- retrieval


class SearchFilters(_Record):
    doc_types: list[DocType] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    audience: list[Audience] = Field(default_factory=list)
    published_from: dt.date | None = None
    published_to: dt.date | None = None
    include_superseded: bool = False
    doc_ids: list[str] = Field(default_factory=list)


class Hit(_Record):
    chunk: Chunk
    score: float
    dense_rank: int | None = None
    sparse_rank: int | None = None
    dense_score: float | None = None  # cosine similarity to the query, when in the dense list


# ---------------------------------------------------------------- answers


class Citation(_Record):
    """One numbered source of an answer. Build it with `Citation.quoting`, the one constructor."""

    n: int
    doc_id: str
    version: str
    chunk_id: str
    title: str
    source_path: str
    section: str
    page_start: int | None = None
    page_end: int | None = None
    quote: str
    published: dt.date | None = None
    review_due: dt.date | None = None
    status: DocStatus = DocStatus.current
    link: str = ""
    ocr: bool = False  # the quoted chunk holds text read by OCR from a page image

    @classmethod
    def quoting(cls, n: int, chunk: Chunk, start: int, end: int, link: str) -> Citation:
        """Citation `n` quoting `chunk.text[start:end]` exactly."""
        return cls(
            n=n, doc_id=chunk.doc_id, version=chunk.version, chunk_id=chunk.chunk_id, title=chunk.title,
            source_path=chunk.source_path, section=chunk.heading_path, page_start=chunk.page_start,
            page_end=chunk.page_end, quote=chunk.text[start:end], published=chunk.published,
            review_due=chunk.review_due, status=chunk.status, link=link, ocr=chunk.ocr,
        )


class SentenceCheck(_Record):
    """One sentence of an answer with the checker's verdict on it (`kb ask --json` "sentences")."""

    text: str
    citations: list[int] = Field(default_factory=list)
    verdict: Literal["supported", "contradicted", "unsupported"] = "supported"
    verified: bool = True
    support: float = 0.0
    reason: str = ""
    shown: bool = True  # False when the sentence was removed from the answer (unverified = drop)
    sources: list[str] = Field(default_factory=list)  # chunk ids of the passages it cited (removed ones too)


class RetrievalTrace(_Record):
    """What retrieval saw: each retriever's candidates (point id, score) and the timings."""

    query: str
    mode: str
    dense: list[tuple[str, float]] = Field(default_factory=list)
    sparse: list[tuple[str, float]] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    # hybrid: BM25's top hits matched the query only through their titles, so fusion gave it no weight
    bm25_title_only: bool = False


class Answer(_Record):
    id: str | None = None
    question: str
    answer: str
    answerable: bool
    citations: list[Citation] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    closest_documents: list[dict] = Field(default_factory=list)
    evidence_score: float = 0.0
    hits: list[Hit] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    mode: str = "extractive"
    sentences: list[SentenceCheck] = Field(default_factory=list)
    trace: RetrievalTrace | None = None
    answerability: dict[str, float] = Field(default_factory=dict)  # the refusal model's inputs and p
