"""Request bodies of the REST API. Unknown fields are an error (422 naming the field)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.records import SearchFilters


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class AskBody(_Body):
    question: str = Field(min_length=1, max_length=2000, examples=["When should HIV PEP be started after a needlestick?"])
    filters: SearchFilters | None = None
    conversation_id: str | None = Field(None, max_length=128, description="Echoed back; groups questions of one chat.")
    stream: bool = Field(False, description="Stream Server-Sent Events (same as `Accept: text/event-stream`).")

    _question = field_validator("question")(_not_blank)


class SearchBody(_Body):
    query: str = Field(min_length=1, max_length=2000, examples=["hep B non-responder"])
    k: int = Field(5, ge=1, le=50)
    filters: SearchFilters | None = None
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"

    _query = field_validator("query")(_not_blank)


class CiteBody(_Body):
    draft: str = Field(min_length=1, description="The bulletin draft (plain text or Markdown).")

    _draft = field_validator("draft")(_not_blank)


class FeedbackBody(_Body):
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field("", max_length=20_000)
    rating: Literal[1, -1] = Field(description="1 helpful, -1 not helpful.")
    chunk_ids: list[str] = Field(default_factory=list, max_length=50)
    comment: str = Field("", max_length=2000)
    answer_id: str | None = Field(None, max_length=64, description="The `id` of the answer from POST /v1/ask.")

    _question = field_validator("question")(_not_blank)
