"""Every REST endpoint in local mode (no keys), and the contract: POST /v1/ask == `kb ask --json`."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from kb.api import create_app
from tests.kb.api.conftest import MEMBERS_DOC, PUBLIC_DOC, QUESTIONS, without_volatile


@pytest.fixture(scope="module")
def client(api_kb):
    with TestClient(create_app(api_kb)) as c:
        yield c


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_ask_returns_the_same_json_as_the_cli(client, cli_answers, name):
    cli = cli_answers[name]
    api = client.post("/v1/ask", json={"question": QUESTIONS[name]})
    assert api.status_code == 200, api.text
    assert without_volatile(api.json()) == without_volatile(cli)
    assert api.json()["id"]  # the API logs the answer (as `kb ask QUESTION` does) and returns its id


def test_contract_covers_an_answer_with_page_citations_and_a_refusal(cli_answers):
    pep = cli_answers["pep"]
    assert pep["answerable"] and pep["citations"] and pep["citations"][0]["page_start"] is not None
    assert cli_answers["none"]["answerable"] is False and cli_answers["none"]["closest_documents"]


def test_ask_with_filters_and_conversation_id(client, api_kb):
    r = client.post("/v1/ask", json={"question": QUESTIONS["lone"], "filters": {"doc_types": ["policy"]},
                                     "conversation_id": "chat-1"})
    assert r.status_code == 200
    body = r.json()
    assert body["conversation_id"] == "chat-1"
    assert body["citations"] and {c["doc_id"] for c in body["citations"]} == {MEMBERS_DOC}
    logged = api_kb.catalog._query("SELECT question FROM answers WHERE answer_id = ?", (body["id"],))
    assert logged[0]["question"] == QUESTIONS["lone"]


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.mark.parametrize("how", ["body", "accept"])
def test_streaming_ask_sends_status_then_the_answer(client, cli_answers, how):
    kwargs = ({"json": {"question": QUESTIONS["pep"], "stream": True}} if how == "body" else
              {"json": {"question": QUESTIONS["pep"]}, "headers": {"Accept": "text/event-stream"}})
    r = client.post("/v1/ask", **kwargs)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = _events(r.text)
    assert [e for e, _ in events] == ["status", "status", "answer", "done"]
    assert without_volatile(events[2][1]) == without_volatile(cli_answers["pep"])


def test_search_returns_the_cli_hit_json(client, api_kb):
    from kb.contract import hit_json

    r = client.post("/v1/search", json={"query": "lone worker buddy check-in", "k": 3})
    assert r.status_code == 200
    assert r.json() == {"hits": [hit_json(h) for h in api_kb.search("lone worker buddy check-in", k=3)]}
    typed = client.post("/v1/search", json={"query": "needlestick", "filters": {"doc_types": ["protocol"]}}).json()
    assert typed["hits"] and {h["doc_type"] for h in typed["hits"]} == {"protocol"}


def test_cite_returns_claims_with_citations(client):
    draft = ("Lone workers must check in with their buddy at least every hour. "
             "The staff canteen will serve free pizza on Fridays from next month onwards.")
    r = client.post("/v1/cite", json={"draft": draft})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"claims", "annotated", "references"}
    first, second = body["claims"]
    assert first["verdict"] == "supported" and first["citations"][0]["doc_id"] == MEMBERS_DOC
    assert {"n", "doc_id", "title", "section", "page_start", "page_end", "quote", "link"} <= set(first["citations"][0])
    assert second["verdict"] == "unsupported" and second["citations"] == []
    assert "[citation needed]" in body["annotated"]


def test_documents_list_show_and_versions_rule(client):
    docs = client.get("/v1/documents").json()["documents"]
    assert {d["doc_id"] for d in docs} == {"hiv-pep-occupational-2025", MEMBERS_DOC, PUBLIC_DOC}
    assert client.get("/v1/documents", params={"status": "withdrawn"}).json() == {"documents": []}
    one = client.get(f"/v1/documents/{MEMBERS_DOC}").json()
    assert one["document"]["doc_id"] == MEMBERS_DOC
    assert one["chunks"] and all(c["text"] and c["link"] for c in one["chunks"])
    # local mode is a member: version history needs a curator, reviewer or admin key
    assert client.get(f"/v1/documents/{MEMBERS_DOC}/versions").status_code == 403


def test_unknown_document_and_endpoint_are_json_404s(client):
    r = client.get("/v1/documents/no-such-doc")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert "no-such-doc" in r.json()["error"]["message"]
    assert client.get("/v1/nothing-here").json()["error"]["code"] == "not_found"
    assert client.get("/v1/ask").status_code == 405


def test_feedback_is_written_only_when_valid(client, api_kb):
    before = len(api_kb.catalog.feedback())
    bad = client.post("/v1/feedback", json={"question": "q?", "answer": "a", "rating": 5, "chunk_ids": ["c1"]})
    assert bad.status_code == 422 and "rating" in bad.json()["error"]["message"]
    assert client.post("/v1/feedback", content=b'{"question": "q?", "rating": 1',
                       headers={"content-type": "application/json"}).status_code == 422
    assert len(api_kb.catalog.feedback()) == before
    ok = client.post("/v1/feedback", json={"question": "q?", "answer": "a", "rating": -1, "chunk_ids": ["c1"],
                                           "comment": "out of date"})
    assert ok.status_code == 201
    rows = api_kb.catalog.feedback()
    assert len(rows) == before + 1 and rows[0]["feedback_id"] == ok.json()["feedback_id"]
    assert rows[0]["comment"] == "out of date" and rows[0]["chunk_ids"] == ["c1"]


@pytest.mark.parametrize(("body", "code", "needle"), [
    (b"{not json", "invalid_json", "not valid JSON"),
    (b'{"query": "x", "filters": {"doc_types": ["memo"]}}', "invalid_request", "filters.doc_types.0"),
    (b'{"query": "x", "filters": {"colour": "red"}}', "invalid_request", "filters.colour"),
    (b'{"query": "x", "k": 0}', "invalid_request", "k:"),
    (b'{"query": "   "}', "invalid_request", "query: Value error, must not be blank"),
    (b'{"q": "x"}', "invalid_request", "query: Field required"),
    (b'{"query": "x", "filters": {"published_from": "last tuesday"}}', "invalid_request", "published_from"),
])
def test_bad_json_and_bad_fields_are_422_with_a_clear_message(client, body, code, needle):
    r = client.post("/v1/search", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == code
    assert needle in r.json()["error"]["message"]


def test_empty_question_is_rejected_before_any_work(client, api_kb):
    before = api_kb.catalog._query("SELECT COUNT(*) AS n FROM answers")[0]["n"]
    r = client.post("/v1/ask", json={"question": "  ", "stream": True})
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"
    assert api_kb.catalog._query("SELECT COUNT(*) AS n FROM answers")[0]["n"] == before


def test_health_readiness_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 3 and ready["chunks"] > 0
    spec = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/search", "/v1/cite", "/v1/documents", "/v1/documents/{doc_id}",
            "/v1/documents/{doc_id}/versions", "/v1/feedback", "/healthz", "/readyz"} <= set(spec["paths"])
    assert "SearchFilters" in spec["components"]["schemas"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    assert "swagger" in client.get("/docs").text.lower()


def test_readyz_is_503_when_the_store_cannot_open(tmp_path):
    from kb.embedder import HashEmbedder
    from kb.errors import StoreLockedError
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    class LockedStore:
        def count(self):
            raise StoreLockedError("The knowledge base store is in use by pid 1")

        def close(self):
            pass

    kb = KnowledgeBase(load_settings(kb_dir=tmp_path / "kb"), embedder=HashEmbedder(), store=LockedStore())
    with TestClient(create_app(kb, mcp=False)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503 and "in use by pid 1" in r.json()["error"]["message"]
    kb.close()


def test_streaming_relays_tokens_of_a_generative_answer_before_the_answer(kb_with):
    kb = kb_with()
    real_ask = kb.ask

    def ask_with_tokens(question, on_token=None, **kwargs):
        for token in ("HIV ", "PEP ", "[1]"):
            on_token(token)
        return real_ask(question, **kwargs)

    kb.ask = ask_with_tokens
    with TestClient(create_app(kb, mcp=False)) as c:
        events = _events(c.post("/v1/ask", json={"question": QUESTIONS["pep"], "stream": True}).text)
    assert [e for e, _ in events] == ["status", "token", "token", "token", "status", "answer", "done"]
    assert "".join(d["text"] for e, d in events if e == "token") == "HIV PEP [1]"
    assert events[5][1]["answerable"] is True


def test_an_error_after_streaming_started_is_an_error_event(kb_with):
    from kb.errors import KBError

    kb = kb_with()

    def failing(question, **kwargs):
        raise KBError("The store went away.")

    kb.ask = failing
    with TestClient(create_app(kb, mcp=False)) as c:
        events = _events(c.post("/v1/ask", json={"question": "anything", "stream": True}).text)
    assert events[-1] == ("error", {"error": {"code": "bad_request", "message": "The store went away."}})
