"""What every page shares: the one KnowledgeBase per process, the look, and sign-in.

The KnowledgeBase (embedded Qdrant shard, catalog, embedding model) is opened once per
process with `st.cache_resource` and shared by every session; pages never reopen it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import streamlit as st
from theme import CSS

from kb.access import AudienceView
from kb.auth import (
    AccessDenied,
    AuthConfig,
    Session,
    SignInLimiter,
    can_read,
    initial_session,
    is_loopback,
    issue_token,
    load_auth_config,
    session_from_token,
    session_secret,
    sign_in,
)
from kb.service import KnowledgeBase
from kb.settings import Settings, load_settings

APP_DIR = Path(__file__).resolve().parent
SESSION_KEY = "kb_session"
COOKIE = "kb_session"  # the signed session token (kb.auth.issue_token), so sign-in survives a reload
_COOKIE_KEY = "kb_cookie_pending"


class KbLoader:
    """Opens the KnowledgeBase (store, embedding model) on a background thread, so pages can
    show at once with a "loading the model" state instead of blocking for the whole load."""

    def __init__(self, kb_dir: str) -> None:
        self.kb_dir = kb_dir
        self.kb: KnowledgeBase | None = None
        self.error: Exception | None = None
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._load, name="kb-open", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            from kb.api.app_process import shared_kb

            kb = shared_kb(self.kb_dir)  # `kb app`: one KB for app + API, already open
            config = load_settings(kb_dir=self.kb_dir)
            if kb is None:
                from kb.store import check_store_free

                check_store_free(config)  # a locked store fails at once, before the model loads
            kb = kb or KnowledgeBase.open(config)
            kb.warm_up()  # load the model now, not on the first question
            self.kb = kb
        except Exception as exc:  # noqa: BLE001 - shown on the page, not raised in a thread
            self.error = exc

    @property
    def ready(self) -> bool:
        return self.kb is not None or self.error is not None

    def wait(self, seconds: float) -> bool:
        self._thread.join(seconds)
        return self.ready


@st.cache_resource(show_spinner=False)
def _loader(kb_dir: str) -> KbLoader:
    return KbLoader(kb_dir)


def settings() -> Settings:
    return load_settings()


def get_kb() -> KnowledgeBase:
    """The process-wide KnowledgeBase for the configured KB_DIR (waits for it to open)."""
    loader = _loader(str(settings().kb_dir.resolve()))
    while not loader.ready:
        time.sleep(0.1)
    if loader.error is not None:
        raise loader.error
    return loader.kb


def _wait_for_kb(title: str) -> KnowledgeBase:
    """The KnowledgeBase if it is open; otherwise a clear loading state that reruns when ready."""
    loader = _loader(str(settings().kb_dir.resolve()))
    loader.wait(0.5)  # under `kb app` the KB is usually open already: no loading state, no extra run
    if loader.kb is not None:
        _first_page_served()
        return loader.kb
    if loader.error is not None:
        st.title(title)
        st.error(f"The knowledge base could not be opened: {loader.error}")
        st.stop()
    st.title(title)
    st.html('<div class="kb-loading" role="status" aria-live="polite"><strong>Loading the model…</strong> '
            "The knowledge base is opening in the background (the embedding model takes a while "
            "on the first start). This page fills in by itself when it is ready.</div>")

    @st.fragment(run_every=0.25)  # the page fills in within a quarter second of the KB opening
    def _poll() -> None:
        if loader.ready:
            st.rerun(scope="app")
        st.caption(f"Waiting {time.monotonic() - loader.started:.0f} s")

    _poll()
    st.stop()


def _first_page_served() -> None:
    """Under `kb app`, the API starts once a page has the KB (or after 10 s): its imports no
    longer compete with the first page for the 2 cores (kb.api.app_process)."""
    from kb.api.app_process import page_served

    page_served()


def auth_config() -> AuthConfig:
    return load_auth_config(settings())


@st.cache_resource
def sign_in_limiter(max_failures: int, window_minutes: int) -> SignInLimiter:
    """One limiter per process, shared by every browser session."""
    return SignInLimiter(max_failures, window_minutes * 60.0)


def _peer() -> str | None:
    """The direct peer's IP address, when Streamlit knows it."""
    ip = getattr(st.context, "ip_address", None)
    return ip if isinstance(ip, str) and ip else None


def client_address() -> str:
    """The browser's address, for per-client sign-in limits. Behind a reverse proxy on loopback
    the peer is the proxy, so the last X-Forwarded-For entry (the one the proxy added) is used."""
    peer = _peer()
    forwarded = (getattr(st.context, "headers", None) or {}).get("X-Forwarded-For", "")
    if isinstance(forwarded, str) and forwarded and (peer is None or is_loopback(peer)):
        return forwarded.split(",")[-1].strip() or "unknown"
    return peer or "unknown"


def _restore_from_cookie(config: AuthConfig) -> Session | None:
    token = (getattr(st.context, "cookies", None) or {}).get(COOKIE)
    if not token:
        return None
    return session_from_token(session_secret(settings().kb_dir), token, config)


def session() -> Session:
    """This browser session's sign-in state: a token cookie from an earlier sign-in, the demo
    curator (loopback only), or anonymous (a member in local mode)."""
    if SESSION_KEY not in st.session_state:
        config = auth_config()
        restored = _restore_from_cookie(config)
        client = _peer()
        st.session_state[SESSION_KEY] = restored or initial_session(config, settings().app_host, client)
    return st.session_state[SESSION_KEY]


def _set_cookie(token: str | None, hours: float = 0) -> None:
    """Queue the cookie change; it is written by the next full run (`_write_cookie`)."""
    st.session_state[_COOKIE_KEY] = (token or "", int(hours * 3600) if token else 0)


def _write_cookie() -> None:
    pending = st.session_state.pop(_COOKIE_KEY, None)
    if pending is None:
        return
    token, max_age = pending
    st.html(
        "<script>document.cookie=" + repr(f"{COOKIE}={token}; Path=/; Max-Age={max_age}; SameSite=Strict")
        + "+(location.protocol==='https:'?'; Secure':'');</script>",
        unsafe_allow_javascript=True,
    )


def sign_in_form(config: AuthConfig, purpose: str, key: str = "sign_in") -> None:
    """A labelled sign-in form; on success the session becomes that user (and survives a reload)."""
    with st.form(key, border=True):
        st.markdown(f"**Sign in** {purpose}")
        user = st.text_input("User name", autocomplete="username", key=f"{key}_user")
        password = st.text_input("Password", type="password", autocomplete="current-password",
                                 key=f"{key}_password")
        if st.form_submit_button("Sign in", type="primary"):
            s = settings()
            client = client_address()
            try:
                found = sign_in(config, user, password, client,
                                sign_in_limiter(s.signin_max_failures, s.signin_window_minutes))
            except AccessDenied as exc:
                _audit_sign_in_failure(user, client, "rate limited")
                st.error(str(exc))
                return
            if found is None:
                _audit_sign_in_failure(user, client, "wrong name or password")
                st.error("The user name or password is not right. Try again, or ask an administrator.")
            else:
                st.session_state[SESSION_KEY] = found
                _set_cookie(issue_token(session_secret(s.kb_dir), found, config, s.session_hours), s.session_hours)
                st.rerun()


def _audit_sign_in_failure(user: str, client: str, why: str) -> None:
    from kb.audit import record_event

    record_event(get_kb().catalog, "sign_in.failed", user.strip()[:64] or "(empty)", "anonymous",
                 detail=f"{why}, from {client}")


def local_setup_allowed(config: AuthConfig) -> bool:
    """The one-time setup form: no account exists at all, and both ends are on this machine."""
    client = _peer()
    return not config.has_accounts and is_loopback(settings().app_host) and (client is None or is_loopback(client))


def page_setup(title: str) -> tuple[AudienceView, Session]:
    """Configure the page, apply the style, check access, and return (kb, session).

    The kb is an `AudienceView`: search, ask, the Library, citation links, downloads and
    bulletin suggestions only ever see the documents this user may receive.
    """
    st.set_page_config(page_title=f"{title} · OH knowledge base", layout="wide",
                       initial_sidebar_state="auto")
    st.html(f"<style>{CSS}</style>")
    st.html(
        '<header class="kb-banner" role="banner"><span class="kb-logo">NHS</span>'
        "<span class=\"kb-banner-title\">Occupational Health knowledge base</span></header>"
    )
    config = auth_config()
    current = session()
    _write_cookie()
    if not can_read(current, config):
        st.title(title)
        sign_in_form(config, "to use the knowledge base.")
        st.stop()
    _sidebar_account(current)
    return AudienceView(_wait_for_kb(title), current, config), current


def _sidebar_account(current: Session) -> None:
    with st.sidebar:
        if current.signed_in:
            note = " (demo, automatic)" if current.automatic else ""
            st.caption(f"Signed in as **{current.user}**, {current.role}{note}")
            if st.button("Sign out", key="sign_out"):
                st.session_state[SESSION_KEY] = Session()
                _set_cookie(None)
                st.rerun()
        elif auth_config().local_mode:
            st.caption("Local mode: you can Ask and use the Library. Curate needs a curator sign-in.")
        else:
            st.caption("You see public documents only. Sign in to see members' documents.")
            sign_in_form(auth_config(), "to see members' documents.", key="sidebar_sign_in")
