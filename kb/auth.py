"""Who may do what: member and curator sign-in for the app.

Configuration comes from the `[auth]` table of `kb.toml` and the environment
(the environment wins)::

    [auth]
    curators = {alice = "pbkdf2_sha256$600000$<salt>$<hash>"}
    members = {bob = "pbkdf2_sha256$..."}   # only needed when require_login = true
    require_login = false                   # true: everyone signs in (deployment)
    demo_auto_login = ""                    # a curator name signed in automatically (demos only)

    KB_CURATORS="alice:<hash>,bob:<hash>"  KB_MEMBERS="..."  KB_REQUIRE_LOGIN=1  KB_DEMO_CURATOR=alice

With no configuration the app runs in local mode: the person at the machine is a
member and can Ask and browse the Library; Curate always needs a curator sign-in.
Make a hash with `kb auth hash-password`.

>>> encoded = hash_password("s3cret", iterations=1_000)
>>> verify_password("s3cret", encoded), verify_password("wrong", encoded)
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from typing import Literal

from kb.errors import ConfigError, KBError

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000
Role = Literal["member", "curator"]

# Verified against when the user name is unknown, so a wrong name costs as much as a wrong password.
_DUMMY = f"{ALGORITHM}$1000$ZHVtbXlzYWx0$" + base64.b64encode(b"\0" * 32).decode()


class AccessDenied(KBError):
    """The session may not do this; the message says how to get access."""


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """Encode `password` as `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`."""
    if not password:
        raise ValueError("The password is empty.")
    if iterations < 1:
        raise ValueError("iterations must be positive")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches `encoded`; malformed hashes never match. Constant-time compare."""
    try:
        algorithm, iterations, salt_b64, hash_b64 = encoded.split("$")
        if algorithm != ALGORITHM:
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(hash_b64, validate=True)
        rounds = int(iterations)
    except (ValueError, TypeError):
        return False
    if rounds < 1:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, rounds)
    return hmac.compare_digest(digest, expected)


@dataclass(frozen=True)
class AuthConfig:
    curators: dict[str, str] = field(default_factory=dict)  # name -> encoded hash
    members: dict[str, str] = field(default_factory=dict)
    require_login: bool = False
    demo_auto_login: str = ""

    @property
    def local_mode(self) -> bool:
        """No sign-in needed to Ask and browse the Library."""
        return not self.require_login


@dataclass
class Session:
    """Who is using this app session. Kept in the Streamlit session state."""

    user: str | None = None
    role: Role | None = None
    automatic: bool = False  # signed in by demo_auto_login

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def is_curator(self) -> bool:
        return self.signed_in and self.role == "curator"


def _parse_pairs(text: str, origin: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        name, sep, encoded = item.partition(":")
        if not sep or not name.strip() or not encoded.strip():
            raise ConfigError(f"{origin}: expected 'name:<hash>' pairs separated by commas, got {item!r}.")
        out[name.strip()] = encoded.strip()
    return out


def _truthy(value) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "on"}


def _users(table: dict, key: str) -> dict[str, str]:
    value = table.get(key, {}) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"kb.toml [auth] {key} must be a table of name = \"<hash>\".")
    return dict(value)


def load_auth_config(settings=None, environ: dict[str, str] | None = None) -> AuthConfig:
    """Read `[auth]` from the settings' kb.toml extras, then apply the environment."""
    env = os.environ if environ is None else environ
    table = dict((getattr(settings, "extra", None) or {}).get("auth", {}) or {})
    unknown = sorted(set(table) - {"curators", "members", "require_login", "demo_auto_login"})
    if unknown:
        raise ConfigError(f"kb.toml [auth]: unknown key(s) {', '.join(unknown)}.")
    curators = _users(table, "curators")
    members = _users(table, "members")
    require_login = _truthy(table.get("require_login", False))
    demo = str(table.get("demo_auto_login", "") or "")
    if env.get("KB_CURATORS"):
        curators.update(_parse_pairs(env["KB_CURATORS"], "KB_CURATORS"))
    if env.get("KB_MEMBERS"):
        members.update(_parse_pairs(env["KB_MEMBERS"], "KB_MEMBERS"))
    if env.get("KB_REQUIRE_LOGIN"):
        require_login = _truthy(env["KB_REQUIRE_LOGIN"])
    if env.get("KB_DEMO_CURATOR"):
        demo = env["KB_DEMO_CURATOR"].strip()
    return AuthConfig(curators, members, require_login, demo)


def sign_in(config: AuthConfig, user: str, password: str) -> Session | None:
    """A signed-in session, or None when the name or password is wrong (same cost either way)."""
    user = user.strip()
    if user in config.curators:
        return Session(user, "curator") if verify_password(password, config.curators[user]) else None
    if user in config.members:
        return Session(user, "member") if verify_password(password, config.members[user]) else None
    verify_password(password, _DUMMY)
    return None


def initial_session(config: AuthConfig) -> Session:
    """The session a new visitor starts with: the demo curator only when explicitly configured."""
    if config.demo_auto_login:
        return Session(config.demo_auto_login, "curator", automatic=True)
    return Session()


def can_read(session: Session | None, config: AuthConfig) -> bool:
    """May this session Ask and browse the Library?"""
    return config.local_mode or (session is not None and session.signed_in)


def require_curator(session: Session | None) -> Session:
    """Raise AccessDenied unless `session` is a signed-in curator. Every curator action calls this."""
    if session is None or not isinstance(session, Session) or not session.is_curator:
        raise AccessDenied("This needs a curator sign-in. Sign in on the Curate page with a curator account.")
    return session
