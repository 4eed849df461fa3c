"""The one place that maps a Document and its chunk drafts to stored Chunks and payloads, and back.

Ingest writes with `chunks_for` and `point_text`; retrieval reads with `chunk_from_payload`;
status changes rewrite `payload_fields`. Keeping the copies here means the dense text, the BM25
text and the payload can never disagree about a document's title or fields.
"""

from __future__ import annotations

from kb.records import Chunk, ChunkDraft, Document

# Sources whose headings the loader guesses rather than reads from markup.
UNMARKED_SUFFIXES = (".txt",)


def section_context(heading_path: str, source_path: str, levels: int = 2) -> str:
    """The chunk's section for its embedded text: the last `levels` headings of its path, when
    the source marks its headings up (Markdown, HTML, DOCX, PDF); "" for plain text."""
    if str(source_path).lower().endswith(UNMARKED_SUFFIXES):
        return ""
    parts = [h for h in (heading_path or "").split(" > ") if h]
    return " > ".join(parts[-levels:])


def point_text(title: str, chunk_text: str, section: str = "") -> str:
    """What the embedder and BM25 both see: the document title, the chunk's section
    (`section_context`), then the chunk text.

    The section was measured twice. Over every source (retrieval_lab --context title+section):
    golden chunk recall@1 .758 -> .779 (hybrid; dense alone .579 -> .663), but COVID-QA dev
    answer-span recall@5 fell .805 -> .799 (BM25 .791 -> .788), because the headings the loader
    guesses in long plain-text papers are noisy. Only where headings are marked up
    (title+marked-section): golden .758 -> .789, and .853 with the authority priors (.842
    without the section); COVID-QA (plain text) unchanged. A richer prefix (type, topics, three
    heading levels) was worse: golden .768, COVID-QA .799. Ingest passes a section only with
    `embed_section` on, which is off by default: in the golden gate one stale question lost its
    "guidance has changed" warning with it (docs/RETRIEVAL.md).
    """
    return f"{title}\n{section}\n{chunk_text}" if section else f"{title}\n{chunk_text}"


def indexed_text(title: str, chunk_text: str, heading_path: str, source_path: str, embed_section: bool) -> str:
    """The text ingest embeds and indexes for a chunk: `point_text`, with the chunk's section when
    `embed_section` is on. Whatever reads a stored chunk as BM25 saw it (the retriever's title test,
    the ingest bench) rebuilds it here from the payload."""
    return point_text(title, chunk_text, section_context(heading_path, source_path) if embed_section else "")


def payload_fields(doc: Document) -> dict:
    """Document fields copied onto every chunk, for filters."""
    return {
        "title": doc.title,
        "doc_type": doc.doc_type.value,
        "topics": list(doc.topics),
        "audience": doc.audience,
        "status": doc.status.value,
        "published": doc.published.isoformat() if doc.published else None,
        "review_due": doc.review_due.isoformat() if doc.review_due else None,
        "source_path": doc.source_path,
    }


def chunks_for(doc: Document, drafts: list[ChunkDraft]) -> list[Chunk]:
    """Stored chunks of `doc`: the draft's own fields plus the document's filter fields."""
    fields = payload_fields(doc)
    return [
        Chunk.model_validate(
            {
                **fields,
                **{k: v for k, v in d.model_dump().items() if k in Chunk.model_fields},
                "chunk_id": Chunk.make_id(doc.doc_id, doc.version, d.ordinal),
                "doc_id": doc.doc_id,
                "version": doc.version,
            }
        )
        for d in drafts
    ]


def chunk_from_payload(payload: dict) -> Chunk:
    return Chunk.model_validate({k: v for k, v in payload.items() if k in Chunk.model_fields})
