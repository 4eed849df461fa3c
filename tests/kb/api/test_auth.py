"""API keys and roles: every auth failure, the audience rule, and refusing a non-loopback bind without keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kb.api import create_app
from kb.api.auth import ApiKey, ApiKeys, check_bind, load_api_keys, new_api_key
from kb.auth import hash_password
from kb.errors import ConfigError
from tests.kb.api.conftest import MEMBERS_DOC, PUBLIC_DOC, QUESTIONS

ROLES = ("public", "member", "curator", "reviewer", "admin")
KEYS = {role: new_api_key(f"{role}-key") for role in ROLES}


def _keys_table() -> dict:
    return {f"{role}-key": {"role": role, "hash": hash_password(key, iterations=1_000)} for role, key in KEYS.items()}


@pytest.fixture(scope="module")
def keyed_settings(api_kb):
    return api_kb.settings.replace(extra={"api": {"keys": _keys_table()}})


@pytest.fixture
def keyed(kb_with, keyed_settings):
    def make(**changes):
        kb = kb_with(extra=keyed_settings.extra, **changes)
        return TestClient(create_app(kb, mcp=False))

    with make() as c:
        c.make = make
        yield c


def bearer(role: str) -> dict:
    return {"Authorization": f"Bearer {KEYS[role]}"}


def test_no_key_wrong_key_and_malformed_header_are_401(keyed):
    missing = keyed.post("/v1/search", json={"query": "lone working"})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = keyed.post("/v1/search", json={"query": "x"}, headers={"Authorization": f"Bearer {KEYS['admin']}x"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_key"
    unknown = keyed.get("/v1/documents", headers={"X-API-Key": "nobody.secret"})
    assert unknown.status_code == 401
    basic = keyed.get("/v1/documents", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401 and basic.json()["error"]["code"] == "unauthorized"
    assert keyed.get("/healthz").status_code == 200  # health needs no key


def test_a_valid_key_works_by_bearer_or_x_api_key(keyed):
    assert keyed.get("/v1/documents", headers=bearer("member")).status_code == 200
    assert keyed.get("/v1/documents", headers={"X-API-Key": KEYS["member"]}).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_what_each_role_may_do(keyed, role):
    h = bearer(role)
    assert keyed.post("/v1/search", json={"query": "lone working"}, headers=h).status_code == 200
    versions = keyed.get(f"/v1/documents/{PUBLIC_DOC}/versions", headers=h)
    assert versions.status_code == (200 if role in {"curator", "reviewer", "admin"} else 403)
    if versions.status_code == 403:
        assert versions.json()["error"]["code"] == "forbidden" and role in versions.json()["error"]["message"]
    feedback = keyed.post("/v1/feedback", json={"question": "q", "rating": 1}, headers=h)
    assert feedback.status_code == (403 if role == "public" else 201)


def test_public_callers_never_see_members_documents(keyed, api_kb):
    h = bearer("public")
    docs = keyed.get("/v1/documents", headers=h).json()["documents"]
    assert [d["doc_id"] for d in docs] == [PUBLIC_DOC]
    assert keyed.get(f"/v1/documents/{MEMBERS_DOC}", headers=h).status_code == 404
    assert keyed.get(f"/v1/documents/{PUBLIC_DOC}", headers=h).status_code == 200
    # even when asking for members documents explicitly, the store query is limited to public ones
    hits = keyed.post("/v1/search", json={"query": "lone worker", "k": 10, "filters": {"audience": ["members"]}},
                      headers=h).json()["hits"]
    assert hits and {h_["doc_id"] for h_ in hits} == {PUBLIC_DOC}
    answer = keyed.post("/v1/ask", json={"question": QUESTIONS["pep"]}, headers=h).json()
    assert all(c["doc_id"] == PUBLIC_DOC for c in answer["citations"])
    assert all(r["doc_id"] == PUBLIC_DOC for r in answer["retrieved"])
    assert keyed.post("/v1/cite", json={"draft": "HIV PEP should start within the hour."}, headers=h).status_code == 403
    member = keyed.post("/v1/search", json={"query": "lone worker", "k": 10}, headers=bearer("member")).json()["hits"]
    assert MEMBERS_DOC in {h_["doc_id"] for h_ in member}


def test_the_audience_filter_goes_into_the_store_query(keyed, api_kb, monkeypatch):
    seen = []
    real = type(api_kb.store).query

    def spy(self, using, vector, limit, where=None):
        seen.append(where)
        return real(self, using, vector, limit, where)

    monkeypatch.setattr(type(api_kb.store), "query", spy)
    keyed.post("/v1/search", json={"query": "alarm"}, headers=bearer("public"))
    assert seen and all(f.audience == ("public",) for f in seen)


def test_anonymous_callers_are_public_when_allowed(keyed):
    with keyed.make(api_allow_anonymous=True) as c:
        docs = c.get("/v1/documents").json()["documents"]
        assert [d["doc_id"] for d in docs] == [PUBLIC_DOC]
        assert c.post("/v1/feedback", json={"question": "q", "rating": 1}).status_code == 403
        assert c.get("/v1/documents", headers={"X-API-Key": "bad.key"}).status_code == 401  # a wrong key stays wrong


def test_keys_from_a_keys_file_and_config_errors(tmp_path, api_kb):
    path = tmp_path / "keys.toml"
    key = new_api_key("bot")
    path.write_text(f'[api.keys.bot]\nrole = "reviewer"\nhash = "{hash_password(key, iterations=1_000)}"\n')
    keys = load_api_keys(api_kb.settings.replace(api_keys_file=str(path)))
    assert keys.authenticate(key).role == "reviewer"
    for table, needle in [({"x": {"role": "boss", "hash": "pbkdf2_sha256$1$a$b"}}, "role 'boss'"),
                          ({"x": {"role": "member"}}, "needs exactly role"),
                          ({"x": {"role": "member", "hash": "plaintext"}}, "kb auth hash-key"),
                          ({"bad name": {"role": "member", "hash": "pbkdf2_sha256$1$a$b"}}, "API key name")]:
        with pytest.raises(ConfigError, match=needle):
            load_api_keys(api_kb.settings.replace(extra={"api": {"keys": table}}))
    with pytest.raises(ConfigError, match="no such file"):
        load_api_keys(api_kb.settings.replace(api_keys_file=str(tmp_path / "missing.toml")))


def test_verified_keys_are_remembered_so_pbkdf2_runs_once(monkeypatch):
    key = new_api_key("k")
    keys = ApiKeys({"k": ApiKey("k", "member", hash_password(key, iterations=1_000))})
    calls = []
    import kb.api.auth as auth

    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda *a: calls.append(1) or real(*a))
    assert keys.authenticate(key) == keys.authenticate(key)
    assert len(calls) == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_non_loopback_bind_without_keys_is_refused(host):
    with pytest.raises(ConfigError, match=f"Refusing to listen on {host} with no API keys"):
        check_bind(host, ApiKeys())
    check_bind(host, ApiKeys({"k": None}))  # with keys it is allowed
    for local in ("127.0.0.1", "localhost", "::1"):
        check_bind(local, ApiKeys())


def test_kb_serve_refuses_a_public_host_without_keys(tmp_path):
    from kb.cli import app

    result = CliRunner().invoke(app, ["serve", "--kb-dir", str(tmp_path / "kb"), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "Refusing to listen on 0.0.0.0" in result.output


def test_hash_key_command_prints_a_key_that_verifies(tmp_path):
    import tomllib

    from kb.cli import app

    result = CliRunner().invoke(app, ["auth", "hash-key", "--name", "intranet", "--role", "curator"])
    assert result.exit_code == 0, result.output
    key = result.output.split("it is not stored): ")[1].split()[0]
    table = tomllib.loads(result.output.split("\n", 1)[1])["api"]["keys"]
    assert table["intranet"]["role"] == "curator"
    keys = ApiKeys({"intranet": ApiKey("intranet", "curator", table["intranet"]["hash"])})
    assert keys.authenticate(key).name == "intranet"
    assert CliRunner().invoke(app, ["auth", "hash-key", "--name", "x", "--role", "boss"]).exit_code == 2
