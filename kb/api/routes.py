"""The /v1 endpoints. Responses are the CLI contract's JSON (kb/contract.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from kb.api.auth import Caller
from kb.api.errors import ApiError
from kb.api.gate import current_caller, require
from kb.api.schemas import AskBody, CiteBody, FeedbackBody, SearchBody
from kb.api.streaming import ask_events
from kb.contract import answer_json, hit_json
from kb.records import Document

router = APIRouter(prefix="/v1")
CallerDep = Annotated[Caller, Depends(current_caller)]
ERRORS = {s: {"description": d} for s, d in {
    401: "no or wrong API key", 403: "the key's role may not do this", 413: "body too large",
    422: "invalid JSON or fields", 429: "rate limited", 503: "store unavailable"}.items()}


def _kb(request: Request):
    return request.app.state.kb


def ask_payload(kb, body: AskBody, caller: Caller, on_token=None) -> dict:
    """What POST /v1/ask returns: `answer_json` exactly as `kb ask --json` prints it."""
    kwargs = {"on_token": on_token} if on_token is not None else {}
    answer = kb.ask(body.question, filters=caller.filters(body.filters), log=True, **kwargs)
    out = answer_json(answer)
    if body.conversation_id is not None:
        out["conversation_id"] = body.conversation_id
    return out


@router.post("/ask", responses={200: {"description": "The answer JSON, or an SSE stream when asked."}, **ERRORS})
async def ask(body: AskBody, request: Request, caller: CallerDep):
    """Ask a question; every sentence of the answer cites its source.

    Streams Server-Sent Events (`status`, `token`s when a generative model streams, `status`,
    then `answer` with the same JSON, then `done`) when `"stream": true` or `Accept: text/event-stream`.
    """
    kb = _kb(request)
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(ask_events(lambda on_token: ask_payload(kb, body, caller, on_token)),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return await run_in_threadpool(ask_payload, kb, body, caller)


@router.post("/search", responses=ERRORS)
def search(body: SearchBody, request: Request, caller: CallerDep) -> dict:
    """Hybrid (dense + BM25) search with filters: `{"hits": [...]}` as `kb search --json`."""
    hits = _kb(request).search(body.query, k=body.k, filters=caller.filters(body.filters), mode=body.mode)
    return {"hits": [hit_json(h) for h in hits]}


@router.post("/cite", responses=ERRORS)
def cite(body: CiteBody, request: Request, caller: CallerDep) -> dict:
    """Bulletin editors: the library citation for each claim in a draft."""
    from kb.bulletin import cite_json

    require(caller, "cite")
    return cite_json(_kb(request), body.draft)


def _visible(kb, doc_id: str, caller: Caller) -> Document:
    doc = kb.catalog.get(doc_id)
    if doc is None or not caller.sees(doc.audience):
        raise ApiError(404, f"No document with id {doc_id!r}. GET /v1/documents lists the ids.")
    return doc


@router.get("/documents", responses=ERRORS)
def documents(request: Request, caller: CallerDep,
              status: Literal["current", "superseded", "withdrawn"] | None = None) -> dict:
    """Every document the caller may see, as `kb docs list --json`."""
    docs = _kb(request).documents([status] if status else None)
    return {"documents": [d.model_dump(mode="json") for d in docs if caller.sees(d.audience)]}


@router.get("/documents/{doc_id}", responses={404: {"description": "no such document"}, **ERRORS})
def document(doc_id: str, request: Request, caller: CallerDep) -> dict:
    """One document's metadata and its live chunks (with links into the app)."""
    kb = _kb(request)
    doc = _visible(kb, doc_id, caller)
    chunks = kb.chunks(doc_id)
    return {
        "document": doc.model_dump(mode="json"),
        "chunks": [
            {**c.model_dump(mode="json", include={"chunk_id", "ordinal", "heading_path", "page_start", "page_end",
                                                  "token_count", "text"}), "link": kb.link_for(c)}
            for c in chunks
        ],
    }


@router.get("/documents/{doc_id}/versions", responses={404: {"description": "no such document"}, **ERRORS})
def versions(doc_id: str, request: Request, caller: CallerDep) -> dict:
    """Version history (curator, reviewer and admin keys)."""
    require(caller, "versions")
    kb = _kb(request)
    _visible(kb, doc_id, caller)
    return {"doc_id": doc_id, "versions": kb.catalog.versions(doc_id)}


@router.post("/feedback", status_code=201, responses=ERRORS)
def feedback(body: FeedbackBody, request: Request, caller: CallerDep) -> dict:
    """Record whether an answer helped. Written only after the whole body is valid."""
    require(caller, "feedback")
    feedback_id = _kb(request).catalog.add_feedback(
        body.question, body.answer, body.chunk_ids, body.rating, body.comment, body.answer_id
    )
    return {"feedback_id": feedback_id}
