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


# ---------------------------------------------------------------- roles

from kb.auth import (  # noqa: E402
    PERMISSIONS,
    ROLES,
    SignInLimiter,
    SignInThrottled,
    is_loopback,
    issue_token,
    read_users_file,
    require,
    require_admin,
    require_reviewer,
    session_from_token,
    session_secret,
    write_user,
)

ALLOWED = {
    "read_members": {"member", "curator", "reviewer", "admin"},
    "curate": {"curator", "admin"},
    "run_evals": {"reviewer", "admin"},
    "read_audit": {"reviewer", "admin"},
    "purge": {"admin"},
    "manage_users": {"admin"},
    "change_settings": {"admin"},
}


@pytest.mark.parametrize("action", sorted(PERMISSIONS))
@pytest.mark.parametrize("role", [*ROLES, None])
def test_each_action_refused_for_each_role_that_may_not(action, role):
    session = Session("u", role) if role else Session()
    if role in ALLOWED[action]:
        assert require(session, action) is session
    else:
        with pytest.raises(AccessDenied, match="This needs"):
            require(session, action)


@pytest.mark.parametrize("role", ["member", "curator", None])
def test_eval_runs_need_a_reviewer(role):
    with pytest.raises(AccessDenied, match="reviewer"):
        require_reviewer(Session("u", role) if role else Session())
    assert require_reviewer(Session("rita", "reviewer")).user == "rita"


@pytest.mark.parametrize("role", ["member", "curator", "reviewer"])
def test_purge_needs_an_admin(role):
    with pytest.raises(AccessDenied, match="admin"):
        require_admin(Session("u", role))


def test_admin_may_curate():
    assert require_curator(Session("ada", "admin")).is_curator


# ---------------------------------------------------------------- equal cost and rate limiting


@pytest.fixture
def rounds(monkeypatch):
    """Every PBKDF2 call's iteration count (the real function still runs)."""
    import kb.auth as auth

    seen: list[int] = []
    real = auth._pbkdf2

    def counting(password, salt, n):
        seen.append(n)
        return real(password, salt, min(n, FAST))  # count 600k, compute 1k: fast and still a real hash

    monkeypatch.setattr(auth, "_pbkdf2", counting)
    return seen


def test_unknown_and_known_users_cost_the_same_600k_rounds(rounds):
    config = AuthConfig(curators={"alice": "pbkdf2_sha256$600000$c2FsdHNhbHQ=$" + "A" * 43 + "="})
    assert config.dummy_iterations == 600_000
    sign_in(config, "alice", "wrong")
    sign_in(config, "nobody", "wrong")
    assert rounds == [600_000, 600_000]


def test_dummy_matches_the_configured_hashes(rounds, alice_hash):
    sign_in(AuthConfig(curators={"alice": alice_hash}), "nobody", "x")
    assert rounds == [FAST]
    assert AuthConfig().dummy_iterations == 600_000


def test_failed_sign_ins_are_rate_limited_per_user(alice_hash, caplog):
    config = AuthConfig(curators={"alice": alice_hash})
    now = [0.0]
    limiter = SignInLimiter(max_failures=5, window_s=900, clock=lambda: now[0])
    for i in range(5):
        assert sign_in(config, "alice", "wrong", client=f"10.0.0.{i}", limiter=limiter) is None
    assert "failed sign-in for user 'alice'" in caplog.text
    with pytest.raises(SignInThrottled, match="this user name"):  # even with the right password
        sign_in(config, "alice", "correct horse", client="10.0.0.9", limiter=limiter)
    now[0] = 901.0
    assert sign_in(config, "alice", "correct horse", client="10.0.0.9", limiter=limiter).is_curator


def test_failed_sign_ins_are_rate_limited_per_client(alice_hash):
    config = AuthConfig(curators={"alice": alice_hash})
    limiter = SignInLimiter(max_failures=3, window_s=900, clock=lambda: 0.0)
    for name in ("a", "b", "c"):
        sign_in(config, name, "x", client="10.1.1.1", limiter=limiter)
    with pytest.raises(SignInThrottled, match="this computer"):
        sign_in(config, "alice", "correct horse", client="10.1.1.1", limiter=limiter)
    assert sign_in(config, "alice", "correct horse", client="10.1.1.2", limiter=limiter)


def test_twelve_wrong_then_right_is_refused(alice_hash):
    config = AuthConfig(curators={"alice": alice_hash})
    limiter = SignInLimiter(max_failures=5, window_s=900, clock=lambda: 0.0)
    outcomes = []
    for _ in range(12):
        try:
            outcomes.append(sign_in(config, "alice", "wrong", client="c", limiter=limiter))
        except SignInThrottled:
            outcomes.append("throttled")
    assert outcomes.count("throttled") == 7
    with pytest.raises(SignInThrottled):
        sign_in(config, "alice", "correct horse", client="c", limiter=limiter)


# ---------------------------------------------------------------- demo auto sign-in


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.1.2.3"])
def test_loopback(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "kb.example.nhs.uk", "", None])
def test_not_loopback(host):
    assert not is_loopback(host)


def test_demo_only_on_loopback_and_for_a_configured_curator(alice_hash):
    config = AuthConfig(curators={"alice": alice_hash}, members={"mo": alice_hash}, demo_auto_login="alice")
    assert initial_session(config, "127.0.0.1").is_curator
    assert initial_session(config, "127.0.0.1", client="127.0.0.1").is_curator
    assert not initial_session(config, "0.0.0.0").signed_in
    assert not initial_session(config, "127.0.0.1", client="192.168.1.20").signed_in
    for name in ("nobody", "mo"):
        assert not initial_session(AuthConfig(curators={"alice": alice_hash}, members={"mo": alice_hash},
                                              demo_auto_login=name), "127.0.0.1").signed_in


# ---------------------------------------------------------------- session tokens


def test_session_secret_is_private_and_stable(tmp_path):
    key = session_secret(tmp_path)
    path = tmp_path / "session.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert session_secret(tmp_path) == key and len(key) >= 32
    path.chmod(0o644)
    assert session_secret(tmp_path) == key and path.stat().st_mode & 0o777 == 0o600


def test_token_survives_reload_and_expires(tmp_path, alice_hash):
    secret = session_secret(tmp_path)
    config = AuthConfig(curators={"alice": alice_hash})
    token = issue_token(secret, Session("alice", "curator"), config, hours=1, now=1_000)
    assert "correct horse" not in token and alice_hash not in token
    assert session_from_token(secret, token, config, now=1_000 + 3599) == Session("alice", "curator")
    assert session_from_token(secret, token, config, now=1_000 + 3600) is None  # expired
    assert session_from_token(b"another-secret" * 4, token, config, now=1_001) is None  # wrong key
    body, sig = token.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + sig
    assert session_from_token(secret, forged, config, now=1_001) is None
    changed = AuthConfig(curators={"alice": hash_password("new", iterations=FAST)})
    assert session_from_token(secret, token, changed, now=1_001) is None  # password changed
    assert session_from_token(secret, token, AuthConfig(members={"alice": alice_hash}), now=1_001) is None
    for junk in (None, "", "x", "a.b.c", "!!.??"):
        assert session_from_token(secret, junk, config) is None


def test_no_token_for_anonymous_or_demo(tmp_path, alice_hash):
    config = AuthConfig(curators={"alice": alice_hash})
    for s in (Session(), Session("alice", "curator", automatic=True), Session("ghost", "curator")):
        with pytest.raises(AccessDenied):
            issue_token(session_secret(tmp_path), s, config)


# ---------------------------------------------------------------- users file


def test_users_file_roundtrip_and_mode(tmp_path, monkeypatch, alice_hash):
    for var in ("KB_CURATORS", "KB_MEMBERS", "KB_REVIEWERS", "KB_ADMINS", "KB_CONFIG", "KB_USERS_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    kb_dir = tmp_path / "kbdir"
    write_user(kb_dir / "users.toml", "rita", "reviewer", alice_hash)
    write_user(kb_dir / "users.toml", "ada", "admin", alice_hash)
    write_user(kb_dir / "users.toml", "rita", "curator", alice_hash)  # replaced, not duplicated
    assert (kb_dir / "users.toml").stat().st_mode & 0o777 == 0o600
    assert read_users_file(kb_dir / "users.toml") == {"ada": ("admin", alice_hash), "rita": ("curator", alice_hash)}
    config = load_auth_config(load_settings(kb_dir=kb_dir), environ={})
    assert config.admins == {"ada": alice_hash} and config.curators == {"rita": alice_hash}
    assert sign_in(config, "ada", "correct horse").is_admin


@pytest.mark.parametrize("name,role", [("bad name", "member"), ("ok", "owner"), ("", "member")])
def test_write_user_refuses_bad_input(tmp_path, name, role, alice_hash):
    with pytest.raises(ConfigError):
        write_user(tmp_path / "users.toml", name, role, alice_hash)


def test_a_user_in_two_roles_is_an_error(alice_hash):
    with pytest.raises(ConfigError, match="configured twice"):
        load_auth_config(None, environ={"KB_CURATORS": f"al:{alice_hash}", "KB_ADMINS": f"al:{alice_hash}"})
