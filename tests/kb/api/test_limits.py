"""Request size (413) and request rate (429) limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kb.api import create_app
from kb.api.auth import new_api_key
from kb.api.limits import RateLimiter
from kb.auth import hash_password


@pytest.fixture
def small_body(kb_with):
    with TestClient(create_app(kb_with(api_max_body_kb=1))) as c:
        yield c


def test_a_body_over_the_limit_is_413_before_any_work(small_body, api_kb):
    before = len(api_kb.catalog.feedback())
    r = small_body.post("/v1/feedback", json={"question": "q", "rating": 1, "comment": "x" * 2000})
    assert r.status_code == 413
    assert r.json() == {"error": {"code": "too_large",
                                  "message": "The request body is over the 1 KB limit (setting api_max_body_kb)."}}
    assert len(api_kb.catalog.feedback()) == before
    assert small_body.post("/v1/feedback", json={"question": "q", "rating": 1}).status_code == 201


def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(small_body, api_kb):
    before = len(api_kb.catalog.feedback())

    def chunks():
        yield b'{"question": "q", "rating": 1, "comment": "'
        for _ in range(8):
            yield b"y" * 256
        yield b'"}'

    r = small_body.post("/v1/feedback", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert len(api_kb.catalog.feedback()) == before


def test_the_mcp_endpoint_has_the_same_size_limit(small_body):
    r = small_body.post("/mcp", content=b"x" * 4096, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_rate_limit_is_429_with_retry_after(kb_with):
    with TestClient(create_app(kb_with(api_rate_limit=3), mcp=False)) as c:
        codes = [c.get("/v1/documents").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/v1/documents")
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1 and "api_rate_limit" in r.json()["error"]["message"]
        assert c.get("/healthz").status_code == 200  # health checks are never limited


def test_each_key_has_its_own_bucket_and_failed_keys_are_limited_too(kb_with):
    a, b = new_api_key("a"), new_api_key("b")
    keys = {"a": {"role": "member", "hash": hash_password(a, iterations=1_000)},
            "b": {"role": "member", "hash": hash_password(b, iterations=1_000)}}
    with TestClient(create_app(kb_with(api_rate_limit=2, extra={"api": {"keys": keys}}), mcp=False)) as c:
        get = lambda key: c.get("/v1/documents", headers={"X-API-Key": key}).status_code  # noqa: E731
        assert [get(a), get(a), get(a)] == [200, 200, 429]
        assert get(b) == 200
        assert [get("a.wrong"), get("a.wrong"), get("a.wrong")] == [401, 401, 429]


def test_rate_limiter_refills_over_the_minute():
    limiter = RateLimiter(per_minute=60)
    assert all(limiter.check("k", now=0.0) is None for _ in range(60))
    assert limiter.check("k", now=0.0) == 1.0
    assert limiter.check("k", now=1.0) is None  # one token back after a second
    assert limiter.check("other", now=0.0) is None
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(per_minute=0)
