"""API keys, callers and what each role may do.

Keys live in the `[api.keys]` table of kb.toml, or of the TOML file named by the
`api_keys_file` setting; only PBKDF2 hashes are stored (`kb auth hash-key` makes one)::

    [api.keys.intranet]
    role = "member"                      # public, member, curator, reviewer or admin
    hash = "pbkdf2_sha256$600000$..."

A key is sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Its text is
`<name>.<secret>`, so the server checks one hash, never all of them.

With no keys configured the API runs in local mode: it listens on loopback only and every
caller is a member, like the app's local mode. `public` callers (a public-role key, or a
request without a key when `api_allow_anonymous` is on) only ever see documents whose
audience is `public`: the audience filter goes into the store query itself.

>>> key = new_api_key("intranet")
>>> keys = ApiKeys({"intranet": ApiKey("intranet", "member", hash_password(key, iterations=1_000))})
>>> keys.authenticate(key).role, keys.authenticate(key + "x")
('member', None)
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from kb.auth import hash_password, verify_password
from kb.errors import ConfigError
from kb.records import SearchFilters

Role = Literal["public", "member", "curator", "reviewer", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
CALLER_STATE = "kb_caller"  # key in the ASGI scope state where the MCP gate leaves the caller
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# action -> roles allowed. Reading is open to every caller (public callers see public documents only).
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "cite": frozenset({"member", "curator", "reviewer", "admin"}),
    "feedback": frozenset({"member", "curator", "reviewer", "admin"}),
    "versions": frozenset({"curator", "reviewer", "admin"}),
}


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: Role
    hash: str


@dataclass(frozen=True)
class Caller:
    """Who is calling: a key's name and role, `local` (no keys configured) or `anonymous`."""

    name: str
    role: Role
    via: Literal["key", "local", "anonymous"] = "key"

    @property
    def public_only(self) -> bool:
        return self.role == "public"

    def may(self, action: str) -> bool:
        return self.role in PERMISSIONS[action]

    def filters(self, filters: SearchFilters | None) -> SearchFilters:
        """The caller's filters with the audience rule applied (public callers: public documents only)."""
        filters = filters or SearchFilters()
        if self.public_only:
            return filters.model_copy(update={"audience": ["public"]})
        return filters

    def sees(self, audience: str) -> bool:
        return not self.public_only or audience == "public"


LOCAL = Caller("local", "member", "local")
ANONYMOUS = Caller("anonymous", "public", "anonymous")


def new_api_key(name: str) -> str:
    """A fresh random key `<name>.<secret>` (shown once; store only its hash)."""
    if not NAME.match(name):
        raise ValueError(f"API key name {name!r}: use 1-64 letters, digits, '-' or '_'.")
    return f"{name}.{secrets.token_urlsafe(32)}"


@dataclass
class ApiKeys:
    """The configured keys. Verified keys are remembered (by SHA-256) so PBKDF2 runs once per key."""

    keys: dict[str, ApiKey] = field(default_factory=dict)
    allow_anonymous: bool = False
    _verified: dict[str, Caller] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def local_mode(self) -> bool:
        return not self.keys

    def authenticate(self, presented: str) -> Caller | None:
        digest = hashlib.sha256(presented.encode("utf-8")).hexdigest()
        with self._lock:
            if digest in self._verified:
                return self._verified[digest]
        name, _, _secret = presented.partition(".")
        key = self.keys.get(name)
        if key is None or not verify_password(presented, key.hash):
            return None
        caller = Caller(key.name, key.role)
        with self._lock:
            self._verified[digest] = caller
        return caller


def _parse_keys(table: object, origin: str) -> dict[str, ApiKey]:
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: [api.keys] must be a table of key names.")
    out: dict[str, ApiKey] = {}
    for name, entry in table.items():
        if not NAME.match(name):
            raise ConfigError(f"{origin}: API key name {name!r}: use letters, digits, '-' or '_'.")
        if not isinstance(entry, dict) or set(entry) != {"role", "hash"}:
            raise ConfigError(f'{origin}: [api.keys.{name}] needs exactly role = "..." and hash = "...".')
        role, encoded = entry["role"], entry["hash"]
        if role not in ROLES:
            raise ConfigError(f"{origin}: [api.keys.{name}] role {role!r} is not one of: {', '.join(ROLES)}.")
        if not isinstance(encoded, str) or not encoded.startswith("pbkdf2_sha256$"):
            raise ConfigError(f"{origin}: [api.keys.{name}] hash must come from `kb auth hash-key`.")
        out[name] = ApiKey(name, role, encoded)
    return out


def load_api_keys(settings) -> ApiKeys:
    """Keys from kb.toml `[api.keys]` and from the `api_keys_file` setting (the file wins on a clash)."""
    api = dict((getattr(settings, "extra", None) or {}).get("api", {}) or {})
    unknown = sorted(set(api) - {"keys"})
    if unknown:
        raise ConfigError(f"kb.toml [api]: unknown key(s) {', '.join(unknown)} (only [api.keys] goes here).")
    keys = _parse_keys(api.get("keys", {}), "kb.toml")
    if settings.api_keys_file:
        path = Path(settings.api_keys_file)
        if not path.is_file():
            raise ConfigError(f"api_keys_file {path}: no such file.")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML ({exc}).") from exc
        keys.update(_parse_keys(data.get("api", {}).get("keys", {}), str(path)))
    return ApiKeys(keys, allow_anonymous=settings.api_allow_anonymous)


def hash_api_key(key: str) -> str:
    return hash_password(key)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: ApiKeys) -> None:
    """Refuse to serve beyond this machine with no keys: local mode trusts every caller."""
    if keys.local_mode and not is_loopback(host):
        raise ConfigError(
            f"Refusing to listen on {host} with no API keys configured: without keys every caller is "
            "trusted as a member. Add keys to kb.toml [api.keys] (make them with `kb auth hash-key`), "
            "or listen on 127.0.0.1."
        )
