import pytest

from kb.auth import (
    AccessDenied,
    AuthConfig,
    Session,
    can_read,
    hash_password,
    initial_session,
    load_auth_config,
    require_curator,
    sign_in,
    verify_password,
)
from kb.errors import ConfigError
from kb.settings import load_settings

FAST = 1_000  # iterations: fast tests; production default is 600k


@pytest.fixture(scope="module")
def alice_hash() -> str:
    return hash_password("correct horse", iterations=FAST)


def test_hash_roundtrip_and_format(alice_hash):
    algorithm, iterations, salt, digest = alice_hash.split("$")
    assert (algorithm, iterations) == ("pbkdf2_sha256", str(FAST))
    assert verify_password("correct horse", alice_hash)
    assert not verify_password("correct horse ", alice_hash)
    assert not verify_password("", alice_hash)


def test_salt_differs_each_time():
    assert hash_password("x", iterations=FAST) != hash_password("x", iterations=FAST)


@pytest.mark.parametrize(
    "encoded",
    ["", "plain", "md5$1$a$b", "pbkdf2_sha256$x$AAAA$AAAA", "pbkdf2_sha256$0$AAAA$AAAA",
     "pbkdf2_sha256$10$not base64!$AAAA"],
)
def test_malformed_hashes_never_match(encoded):
    assert verify_password("anything", encoded) is False


def test_empty_password_refused():
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_config_from_toml(tmp_path, monkeypatch, alice_hash):
    for var in ("KB_CURATORS", "KB_MEMBERS", "KB_REQUIRE_LOGIN", "KB_DEMO_CURATOR"):
        monkeypatch.delenv(var, raising=False)
    toml = tmp_path / "kb.toml"
    toml.write_text(f'[auth]\ncurators = {{alice = "{alice_hash}"}}\nrequire_login = true\n')
    monkeypatch.setenv("KB_CONFIG", str(toml))
    config = load_auth_config(load_settings())
    assert config.curators == {"alice": alice_hash}
    assert config.require_login and not config.local_mode
    assert config.demo_auto_login == ""


def test_env_overrides_toml(tmp_path, monkeypatch, alice_hash):
    toml = tmp_path / "kb.toml"
    toml.write_text("[auth]\nrequire_login = true\n")
    monkeypatch.setenv("KB_CONFIG", str(toml))
    bob = hash_password("b", iterations=FAST)
    env = {"KB_CURATORS": f"alice:{alice_hash}, bob:{bob}", "KB_REQUIRE_LOGIN": "false",
           "KB_DEMO_CURATOR": "alice"}
    config = load_auth_config(load_settings(), environ=env)
    assert set(config.curators) == {"alice", "bob"}
    assert config.local_mode
    assert config.demo_auto_login == "alice"


def test_no_configuration_is_local_mode():
    config = load_auth_config(None, environ={})
    assert config == AuthConfig()
    session = initial_session(config)
    assert can_read(session, config) and not session.is_curator


@pytest.mark.parametrize("bad", ["alice", "alice:", ":hash", "alice=hash"])
def test_bad_env_pairs_are_named(bad):
    with pytest.raises(ConfigError, match="KB_CURATORS"):
        load_auth_config(None, environ={"KB_CURATORS": bad})


def test_unknown_auth_key_is_an_error(tmp_path, monkeypatch):
    toml = tmp_path / "kb.toml"
    toml.write_text("[auth]\ncurator = {}\n")
    monkeypatch.setenv("KB_CONFIG", str(toml))
    with pytest.raises(ConfigError, match="unknown key"):
        load_auth_config(load_settings(), environ={})


def test_sign_in(alice_hash):
    member = hash_password("m", iterations=FAST)
    config = AuthConfig(curators={"alice": alice_hash}, members={"mo": member}, require_login=True)
    assert sign_in(config, "alice", "correct horse") == Session("alice", "curator")
    assert sign_in(config, " alice ", "correct horse").is_curator
    assert sign_in(config, "alice", "wrong") is None
    assert sign_in(config, "nobody", "correct horse") is None
    mo = sign_in(config, "mo", "m")
    assert mo.signed_in and not mo.is_curator
    assert not can_read(Session(), config) and can_read(mo, config)


def test_demo_auto_login_only_when_set(alice_hash):
    assert not initial_session(AuthConfig(curators={"alice": alice_hash})).signed_in
    demo = initial_session(AuthConfig(curators={"alice": alice_hash}, demo_auto_login="alice"))
    assert demo.is_curator and demo.automatic


@pytest.mark.parametrize(
    "session", [None, Session(), Session("mo", "member"), Session(None, "curator"), {"role": "curator"}]
)
def test_guard_refuses_non_curators(session):
    with pytest.raises(AccessDenied, match="curator sign-in"):
        require_curator(session)


def test_guard_allows_curator():
    s = Session("alice", "curator")
    assert require_curator(s) is s
