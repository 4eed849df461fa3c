"""A real uvicorn on a loopback port: REST ask (plain and streamed) and MCP over streamable HTTP."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from kb.api import create_app
from kb.api.auth import new_api_key
from kb.auth import hash_password
from tests.kb.api.conftest import MEMBERS_DOC, PUBLIC_DOC, QUESTIONS, running, without_volatile
from tests.kb.api.test_mcp import call_every_tool

MEMBER, PUBLIC = new_api_key("member"), new_api_key("public")


@pytest.fixture(scope="module")
def server(api_kb):
    from kb.service import KnowledgeBase

    keys = {"member": {"role": "member", "hash": hash_password(MEMBER, iterations=1_000)},
            "public": {"role": "public", "hash": hash_password(PUBLIC, iterations=1_000)}}
    kb = KnowledgeBase(api_kb.settings.replace(extra={"api": {"keys": keys}}), embedder=api_kb.embedder,
                       store=api_kb.store, catalog=api_kb.catalog)
    with running(create_app(kb)) as url:
        yield url


def test_ask_over_a_real_socket_matches_the_cli(server, cli_answers):
    r = httpx.post(f"{server}/v1/ask", json={"question": QUESTIONS["pep"]},
                   headers={"Authorization": f"Bearer {MEMBER}"}, timeout=60)
    assert r.status_code == 200
    assert without_volatile(r.json()) == without_volatile(cli_answers["pep"])
    assert httpx.post(f"{server}/v1/ask", json={"question": "x"}, timeout=10).status_code == 401


def test_streamed_ask_arrives_as_server_sent_events(server, cli_answers):
    events, event = [], None
    with httpx.stream("POST", f"{server}/v1/ask", json={"question": QUESTIONS["pep"]}, timeout=60,
                      headers={"Accept": "text/event-stream", "X-API-Key": MEMBER}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert "content-length" not in r.headers  # streamed, not buffered
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))
    assert [e for e, _ in events] == ["status", "status", "answer", "done"]
    assert events[0][1]["stage"] == "retrieving"
    assert without_volatile(events[2][1]) == without_volatile(cli_answers["pep"])


def test_oversized_body_over_a_real_socket(server):
    r = httpx.post(f"{server}/v1/cite", content=b'{"draft": "' + b"z" * 300_000 + b'"}',
                   headers={"X-API-Key": MEMBER, "content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def _client(url: str, key: str | None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return Client(streamable_http_client(f"{url}/mcp", http_client=create_mcp_http_client(headers=headers)))


def test_mcp_over_streamable_http_with_a_member_key(server, cli_answers):
    async def main():
        async with _client(server, MEMBER) as client:
            await call_every_tool(client, cli_answers)

    anyio.run(main)


def test_mcp_over_http_applies_the_public_audience_rule(server):
    async def main():
        async with _client(server, PUBLIC) as client:
            hits = (await client.call_tool("search", {"query": "lone worker", "k": 10})).structured_content["hits"]
            assert hits and {h["doc_id"] for h in hits} == {PUBLIC_DOC}
            hidden = await client.call_tool("get_document", {"doc_id": MEMBERS_DOC})
            assert hidden.is_error and "No document" in hidden.content[0].text
            cite = await client.call_tool("cite", {"draft": "HIV PEP should be started within one hour of exposure."})
            assert cite.is_error and "may not use cite" in cite.content[0].text

    anyio.run(main)


def test_mcp_over_http_needs_a_key(server):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for headers in ({}, {"Authorization": "Bearer member.wrong"}):
        r = httpx.post(f"{server}/mcp", json=body, headers={"Accept": "application/json, text/event-stream", **headers},
                       timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] in {"unauthorized", "invalid_key"}
