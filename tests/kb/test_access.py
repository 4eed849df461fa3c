"""Audience: once sign-in is on, a members-only document never reaches an anonymous user.

Each surface is tested on both store backends (Edge, and the server backend through
qdrant-client's local mode). A spy store records every filter sent to the store, to
prove the audience condition is part of the store query and not applied afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.access import (
    ask_as,
    audience_for,
    chunks_for,
    document_for,
    documents_for,
    filters_for,
    search_as,
)
from kb.auth import AuthConfig, Session
from kb.bulletin import cite_draft
from kb.errors import KBError
from kb.records import SearchFilters

SIGN_IN_ON = AuthConfig(require_login=True, public_access=True)
ANONYMOUS = Session()
MEMBER = Session("mo", "member")
QUESTION = "What should staff do after a needlestick injury?"


def _queries_were_filtered(kb) -> None:
    sent = kb.store.filters
    assert sent, "no store query was made"
    assert all(f is not None and f.audience == ("public",) for f in sent), sent
    kb.store.filters.clear()


def test_audience_rules():
    assert audience_for(ANONYMOUS, AuthConfig()) == []  # local mode: the person at the machine is a member
    assert audience_for(ANONYMOUS, SIGN_IN_ON) == ["public"]
    for role in ("member", "curator", "reviewer", "admin"):
        assert audience_for(Session("u", role), SIGN_IN_ON) == []
    asked = filters_for(ANONYMOUS, SIGN_IN_ON, SearchFilters(audience=["members"], topics=["x"]))
    assert asked.audience == ["public"] and asked.topics == ["x"]
    assert filters_for(MEMBER, SIGN_IN_ON, SearchFilters(audience=["members"])).audience == ["members"]


def test_search(access_kb):
    access_kb.store.filters.clear()
    hits = search_as(access_kb, ANONYMOUS, SIGN_IN_ON, "needlestick injury staff occupational health", k=1)
    _queries_were_filtered(access_kb)
    # k=1 and the staff document matches best: a filter applied after the query would return nothing.
    assert [h.chunk.doc_id for h in hits] == ["public-leaflet"]
    member_hits = search_as(access_kb, MEMBER, SIGN_IN_ON, "needlestick injury staff occupational health", k=1)
    assert [h.chunk.doc_id for h in member_hits] == ["staff-only"]


def test_ask(access_kb):
    access_kb.store.filters.clear()
    answer = ask_as(access_kb, ANONYMOUS, SIGN_IN_ON, QUESTION)
    _queries_were_filtered(access_kb)
    seen = {h.chunk.doc_id for h in answer.hits} | {c.doc_id for c in answer.citations}
    seen |= {d["doc_id"] for d in answer.closest_documents}
    assert seen and seen <= {"public-leaflet"}
    assert "prophylaxis" not in answer.answer
    member = ask_as(access_kb, MEMBER, SIGN_IN_ON, QUESTION)
    assert "staff-only" in {h.chunk.doc_id for h in member.hits}


def test_library_list(access_kb):
    assert [d.doc_id for d in documents_for(access_kb, ANONYMOUS, SIGN_IN_ON)] == ["public-leaflet"]
    assert {d.doc_id for d in documents_for(access_kb, MEMBER, SIGN_IN_ON)} == {"public-leaflet", "staff-only"}


def test_citation_link_and_passages(access_kb):
    with pytest.raises(KBError, match="No document with id 'staff-only'"):
        document_for(access_kb, ANONYMOUS, SIGN_IN_ON, "staff-only")  # same message as an unknown id
    with pytest.raises(KBError, match="No document"):
        chunks_for(access_kb, ANONYMOUS, SIGN_IN_ON, "staff-only")
    access_kb.store.filters.clear()
    chunks = chunks_for(access_kb, ANONYMOUS, SIGN_IN_ON, "public-leaflet")
    _queries_were_filtered(access_kb)
    assert chunks and {c.doc_id for c in chunks} == {"public-leaflet"}
    assert chunks_for(access_kb, MEMBER, SIGN_IN_ON, "staff-only")


def test_download(access_kb):
    """The Library offers the original file only for a document `document_for` returns."""
    assert Path(document_for(access_kb, ANONYMOUS, SIGN_IN_ON, "public-leaflet").source_path).is_file()
    with pytest.raises(KBError):
        document_for(access_kb, ANONYMOUS, SIGN_IN_ON, "staff-only")


def _suggested(claims) -> set[str]:
    return {c["doc_id"] for cl in claims for c in cl.citations} | {a["doc_id"] for cl in claims for a in cl.alternatives}


def test_bulletin_suggestions(access_kb):
    from kb.access import AudienceView

    access_kb.store.filters.clear()
    draft = "Staff must report every needlestick injury to occupational health on the same day."
    _, claims = cite_draft(AudienceView(access_kb, ANONYMOUS, SIGN_IN_ON), draft)  # as the Bulletin page calls it
    _queries_were_filtered(access_kb)
    assert claims and _suggested(claims) <= {"public-leaflet"}
    _, member_claims = cite_draft(AudienceView(access_kb, MEMBER, SIGN_IN_ON), draft)
    assert "staff-only" in _suggested(member_claims)


def test_audience_view_covers_every_surface(access_kb):
    """The app's pages get an AudienceView; each of its surfaces carries the audience to the store."""
    from kb.access import AudienceView

    view = AudienceView(access_kb, ANONYMOUS, SIGN_IN_ON)
    access_kb.store.filters.clear()
    assert {h.chunk.doc_id for h in view.search("needlestick injury staff", k=5)} == {"public-leaflet"}
    answer = view.ask(QUESTION, log=True)
    assert answer.id and {h.chunk.doc_id for h in answer.hits} == {"public-leaflet"}
    _, claims = cite_draft(view, "Staff must report every needlestick injury to occupational health on the same day.")
    assert _suggested(claims) <= {"public-leaflet"}
    assert [c.doc_id for c in view.chunks("public-leaflet")] and view.document("public-leaflet")
    _queries_were_filtered(access_kb)
    assert [d.doc_id for d in view.documents()] == ["public-leaflet"]
    assert [d.doc_id for d in view.catalog.documents()] == ["public-leaflet"]
    assert view.catalog.get("staff-only") is None and view.catalog.get("public-leaflet")
    with pytest.raises(KBError, match="No document"):
        view.document("staff-only")
    member = AudienceView(access_kb, MEMBER, SIGN_IN_ON)
    assert {d.doc_id for d in member.documents()} == {"public-leaflet", "staff-only"}
    assert member.settings is access_kb.settings  # everything else is the shared KB
