"""Who may do what: roles, accounts, sign-in, rate limiting and signed session tokens.

Roles are member, curator, reviewer and admin (`PERMISSIONS` says what each may do).
Accounts come from a users file (`users_file`, default `KB_DIR/users.toml`, written by
`kb users add`), from the `[auth]` table of `kb.toml`, and from the environment (the
environment wins)::

    # KB_DIR/users.toml (mode 0600)
    [users.alice]
    role = "curator"
    password_hash = "pbkdf2_sha256$600000$<salt>$<hash>"

    # kb.toml
    [auth]
    curators = {alice = "pbkdf2_sha256$600000$<salt>$<hash>"}
    reviewers = {rita = "..."}   admins = {ada = "..."}   members = {bob = "..."}
    require_login = false      # true: sign-in is on; anonymous visitors see public documents at most
    public_access = false      # with require_login: anonymous visitors may read `audience: public` documents
    demo_auto_login = ""       # a curator signed in automatically, on a loopback address only

    KB_CURATORS="alice:<hash>,..."  KB_MEMBERS  KB_REVIEWERS  KB_ADMINS  KB_REQUIRE_LOGIN=1
    KB_PUBLIC_ACCESS=1  KB_DEMO_CURATOR=alice

With no configuration the app runs in local mode: the person at the machine is a member.

>>> encoded = hash_password("s3cret", iterations=1_000)
>>> verify_password("s3cret", encoded), verify_password("wrong", encoded)
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
import time
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kb.errors import ConfigError, KBError

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000
Role = Literal["member", "curator", "reviewer", "admin"]
ROLES: tuple[str, ...] = ("member", "curator", "reviewer", "admin")
ROLE_TABLES = {"admins": "admin", "curators": "curator", "reviewers": "reviewer", "members": "member"}
_AUTH_KEYS = {*ROLE_TABLES, "require_login", "public_access", "demo_auto_login"}
USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

# What each role may do. Every guarded action names one of these.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read_members": frozenset(ROLES),  # documents with audience: members
    "curate": frozenset({"curator", "admin"}),  # upload, ingest, supersede, retire, restore
    "run_evals": frozenset({"reviewer", "admin"}),
    "read_audit": frozenset({"reviewer", "admin"}),
    "purge": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
    "change_settings": frozenset({"admin"}),
}
_NEEDS = {
    "read_members": "a member sign-in",
    "curate": "a curator sign-in",
    "run_evals": "a reviewer sign-in",
    "read_audit": "a reviewer or admin sign-in",
    "purge": "an admin sign-in",
    "manage_users": "an admin sign-in",
    "change_settings": "an admin sign-in",
}

log = logging.getLogger("kb.auth")


class AccessDenied(KBError):
    """The session may not do this; the message says how to get access."""


class SignInThrottled(AccessDenied):
    """Too many failed sign-ins for this user name or from this client."""


# ------------------------------------------------------------------ password hashes


def _pbkdf2(password: str, salt: bytes, rounds: int) -> bytes:
    """The one place PBKDF2 runs (tests count its iterations here)."""
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, rounds)


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """Encode `password` as `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`."""
    if not password:
        raise ValueError("The password is empty.")
    if iterations < 1:
        raise ValueError("iterations must be positive")
    salt = salt or secrets.token_bytes(16)
    digest = _pbkdf2(password, salt, iterations)
    return f"{ALGORITHM}${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _parse_hash(encoded: str) -> tuple[bytes, bytes, int] | None:
    try:
        algorithm, iterations, salt_b64, hash_b64 = encoded.split("$")
        if algorithm != ALGORITHM:
            return None
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(hash_b64, validate=True)
        rounds = int(iterations)
    except (ValueError, TypeError, AttributeError):
        return None
    return (salt, expected, rounds) if rounds >= 1 else None


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches `encoded`; malformed hashes never match. Constant-time compare."""
    parsed = _parse_hash(encoded)
    if parsed is None:
        return False
    salt, expected, rounds = parsed
    return hmac.compare_digest(_pbkdf2(password, salt, rounds), expected)


def _dummy_hash(rounds: int) -> str:
    """Verified against when the user name is unknown, with as many rounds as real accounts."""
    return f"{ALGORITHM}${rounds}$ZHVtbXlzYWx0ZHVtbXk=$" + base64.b64encode(b"\0" * 32).decode()


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class AuthConfig:
    curators: dict[str, str] = field(default_factory=dict)  # name -> encoded hash
    members: dict[str, str] = field(default_factory=dict)
    require_login: bool = False
    demo_auto_login: str = ""
    reviewers: dict[str, str] = field(default_factory=dict)
    admins: dict[str, str] = field(default_factory=dict)
    public_access: bool = False

    @property
    def local_mode(self) -> bool:
        """Sign-in is off: the person at the machine is a member."""
        return not self.require_login

    @property
    def has_accounts(self) -> bool:
        return bool(self.curators or self.members or self.reviewers or self.admins)

    def account(self, user: str) -> tuple[Role, str] | None:
        """(role, encoded hash) of `user`, or None."""
        for table, role in ROLE_TABLES.items():
            encoded = getattr(self, table).get(user)
            if encoded is not None:
                return role, encoded  # type: ignore[return-value]
        return None

    @property
    def dummy_iterations(self) -> int:
        """Rounds the dummy hash runs: the most any account uses (600,000 by default)."""
        rounds = [p[2] for t in ROLE_TABLES for h in getattr(self, t).values() if (p := _parse_hash(h))]
        return max(rounds, default=DEFAULT_ITERATIONS)


@dataclass
class Session:
    """Who is using this app session. Kept in the Streamlit session state."""

    user: str | None = None
    role: Role | None = None
    automatic: bool = False  # signed in by demo_auto_login

    @property
    def signed_in(self) -> bool:
        return self.user is not None and self.role is not None

    def may(self, action: str) -> bool:
        return self.signed_in and self.role in PERMISSIONS[action]

    @property
    def is_curator(self) -> bool:
        return self.may("curate")

    @property
    def is_reviewer(self) -> bool:
        return self.may("run_evals")

    @property
    def is_admin(self) -> bool:
        return self.signed_in and self.role == "admin"


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


def users_file_path(settings) -> Path | None:
    """The users file: `users_file` if set, else `KB_DIR/users.toml`."""
    if settings is None:
        return None
    explicit = getattr(settings, "users_file", "") or ""
    return Path(explicit) if explicit else Path(settings.kb_dir) / "users.toml"


def read_users_file(path: Path | None) -> dict[str, tuple[str, str]]:
    """name -> (role, encoded hash) from a users file; a missing file has no users."""
    if path is None or not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}). Fix the file or re-create it with `kb users add`.") from exc
    out = {}
    for name, entry in (data.get("users") or {}).items():
        if not isinstance(entry, dict) or entry.get("role") not in ROLES or not isinstance(
            entry.get("password_hash"), str
        ):
            raise ConfigError(
                f"{path}: [users.{name}] needs role (one of {', '.join(ROLES)}) and password_hash."
            )
        out[name] = (entry["role"], entry["password_hash"])
    return out


def write_user(path: Path, user: str, role: str, encoded: str) -> None:
    """Add or replace one account in the users file, written atomically with mode 0600."""
    if not USER_NAME.match(user):
        raise ConfigError(f"{user!r} is not a valid user name: use letters, digits and . _ @ - (at most 64).")
    if role not in ROLES:
        raise ConfigError(f"Unknown role {role!r}; choose from {', '.join(ROLES)}.")
    if _parse_hash(encoded) is None:
        raise ConfigError("The password hash is malformed.")
    users = read_users_file(path)
    users[user] = (role, encoded)
    lines = ["# Accounts for the OH knowledge base. Written by `kb users add`; keep this file private.", ""]
    for name in sorted(users):
        r, h = users[name]
        lines += [f'[users."{name}"]', f'role = "{r}"', f'password_hash = "{h}"', ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_auth_config(settings=None, environ: dict[str, str] | None = None) -> AuthConfig:
    """Accounts from the users file, then kb.toml `[auth]`, then the environment."""
    env = os.environ if environ is None else environ
    table = dict((getattr(settings, "extra", None) or {}).get("auth", {}) or {})
    unknown = sorted(set(table) - _AUTH_KEYS)
    if unknown:
        raise ConfigError(f"kb.toml [auth]: unknown key(s) {', '.join(unknown)}.")
    roles: dict[str, dict[str, str]] = {t: {} for t in ROLE_TABLES}
    by_role = {r: t for t, r in ROLE_TABLES.items()}
    for name, (role, encoded) in read_users_file(users_file_path(settings)).items():
        roles[by_role[role]][name] = encoded
    for t in ROLE_TABLES:
        roles[t].update(_users(table, t))
        var = f"KB_{t.upper()}"
        if env.get(var):
            roles[t].update(_parse_pairs(env[var], var))
    seen: dict[str, str] = {}
    for t, names in roles.items():
        for name in names:
            if name in seen:
                raise ConfigError(f"User {name!r} is configured twice ({seen[name]} and {t}); keep one role.")
            seen[name] = t
    require_login = _truthy(env.get("KB_REQUIRE_LOGIN") or table.get("require_login", False))
    public_access = _truthy(env.get("KB_PUBLIC_ACCESS") or table.get("public_access", False))
    demo = str(env.get("KB_DEMO_CURATOR") or table.get("demo_auto_login", "") or "").strip()
    return AuthConfig(roles["curators"], roles["members"], require_login, demo, roles["reviewers"],
                      roles["admins"], public_access)


# ------------------------------------------------------------------ sign-in and rate limiting


class SignInLimiter:
    """Failed sign-ins per user name and per client in a sliding window; both are limited.

    Kept in memory per process (the app shares one across sessions).
    """

    def __init__(self, max_failures: int = 5, window_s: float = 900.0, clock=time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        cutoff = self._clock() - self.window_s
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def check(self, user: str, client: str) -> None:
        with self._lock:
            for key, what in ((f"user:{user.lower()}", "this user name"), (f"client:{client}", "this computer")):
                q = self._recent(key)
                if len(q) >= self.max_failures:
                    wait = int(q[0] + self.window_s - self._clock()) + 1
                    raise SignInThrottled(
                        f"Too many failed sign-ins for {what}. Try again in {max(wait // 60, 1)} minute(s), "
                        "or ask an administrator."
                    )

    def failed(self, user: str, client: str) -> None:
        with self._lock:
            now = self._clock()
            self._failures.setdefault(f"user:{user.lower()}", deque()).append(now)
            self._failures.setdefault(f"client:{client}", deque()).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{user.lower()}", None)


def sign_in(
    config: AuthConfig, user: str, password: str, client: str = "local", limiter: SignInLimiter | None = None
) -> Session | None:
    """A signed-in session, or None when the name or password is wrong.

    Unknown names cost as much as known ones: the dummy hash runs as many PBKDF2 rounds.
    Raises SignInThrottled (before checking anything) when this name or client has failed
    too often. Every failure is logged with the name and client, never the password.
    """
    user = user.strip()
    if limiter is not None:
        try:
            limiter.check(user, client)
        except SignInThrottled:
            log.warning("sign-in refused (rate limited) for user %r from %s", user, client)
            raise
    account = config.account(user)
    if account is None:
        verify_password(password, _dummy_hash(config.dummy_iterations))
        ok = False
    else:
        ok = verify_password(password, account[1])
    if not ok:
        if limiter is not None:
            limiter.failed(user, client)
        log.warning("failed sign-in for user %r from %s", user, client)
        return None
    if limiter is not None:
        limiter.succeeded(user)
    log.info("signed in: %r (%s) from %s", user, account[0], client)
    return Session(user, account[0])


def is_loopback(host: str | None) -> bool:
    """True for localhost / 127.0.0.0/8 / ::1; false for 0.0.0.0, names and anything else."""
    if not host:
        return False
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def initial_session(config: AuthConfig, host: str = "127.0.0.1", client: str | None = None) -> Session:
    """The session a new visitor starts with.

    The demo curator is signed in only when the app listens on a loopback address, the
    visitor (when known) is on loopback too, and the name is a configured curator.
    """
    name = config.demo_auto_login
    if not name:
        return Session()
    if not is_loopback(host) or (client is not None and not is_loopback(client)):
        log.warning("demo_auto_login ignored: the app listens on %s (client %s), not loopback only", host, client)
        return Session()
    if name not in config.curators:
        log.warning("demo_auto_login ignored: %r is not a configured curator", name)
        return Session()
    return Session(name, "curator", automatic=True)


def can_read(session: Session | None, config: AuthConfig) -> bool:
    """May this session Ask and browse the Library at all?"""
    return config.local_mode or config.public_access or (session is not None and session.signed_in)


def require(session: Session | None, action: str) -> Session:
    """Raise AccessDenied unless `session` may do `action` (see PERMISSIONS)."""
    if not isinstance(session, Session) or not session.may(action):
        raise AccessDenied(f"This needs {_NEEDS[action]}. Sign in with an account that has that role.")
    return session


def require_curator(session: Session | None) -> Session:
    """Every curator action calls this (curator or admin)."""
    if not isinstance(session, Session) or not session.may("curate"):
        raise AccessDenied("This needs a curator sign-in. Sign in on the Curate page with a curator account.")
    return session


def require_reviewer(session: Session | None) -> Session:
    """Starting an eval run and reading the audit log (reviewer or admin)."""
    return require(session, "run_evals")


def require_admin(session: Session | None) -> Session:
    return require(session, "purge")


# ------------------------------------------------------------------ session tokens


def session_secret(kb_dir: Path) -> bytes:
    """The HMAC key for session tokens: `KB_DIR/session.key`, created once with mode 0600."""
    path = Path(kb_dir) / "session.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("%s was readable by others; its mode is now 0600", path)
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigError(f"{path}: the session key is too short. Delete the file; a new one is made.")
    return key.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fingerprint(encoded: str) -> str:
    """Changes when the password changes, so old tokens stop working."""
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


def issue_token(secret: bytes, session: Session, config: AuthConfig, hours: float = 12,
                now: float | None = None) -> str:
    """A signed, expiring token for a signed-in (not automatic) session: `<payload>.<hmac>`."""
    account = config.account(session.user or "")
    if not session.signed_in or session.automatic or account is None:
        raise AccessDenied("Only a signed-in account gets a session token.")
    expires = int((time.time() if now is None else now) + hours * 3600)
    body = _b64(json.dumps({"u": session.user, "r": account[0], "exp": expires,
                            "h": _fingerprint(account[1])}, separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())}"


def session_from_token(secret: bytes, token: str | None, config: AuthConfig,
                       now: float | None = None) -> Session | None:
    """The session a token stands for, or None if it is forged, expired or its account changed."""
    if not token or token.count(".") != 1:
        return None
    body, sig = token.split(".")
    try:
        good = hmac.compare_digest(_unb64(sig), hmac.new(secret, body.encode(), hashlib.sha256).digest())
        data = json.loads(_unb64(body)) if good else None
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("exp", 0) <= (time.time() if now is None else now):
        return None
    account = config.account(str(data.get("u", "")))
    if account is None or account[0] != data.get("r") or _fingerprint(account[1]) != data.get("h"):
        return None
    return Session(data["u"], account[0])
