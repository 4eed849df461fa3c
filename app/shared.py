"""What every page shares: the one KnowledgeBase per process, the look, and sign-in.

The KnowledgeBase (embedded Qdrant shard, catalog, embedding model) is opened once per
process with `st.cache_resource` and shared by every session; pages never reopen it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from theme import CSS

from kb.auth import AuthConfig, Session, can_read, initial_session, load_auth_config, sign_in
from kb.service import KnowledgeBase
from kb.settings import Settings, load_settings

APP_DIR = Path(__file__).resolve().parent
SESSION_KEY = "kb_session"


@st.cache_resource(show_spinner="Opening the knowledge base…")
def _open_kb(kb_dir: str) -> KnowledgeBase:
    from kb.api.app_process import shared_kb

    kb = shared_kb(kb_dir) or KnowledgeBase.open(load_settings(kb_dir=kb_dir))  # `kb app`: one KB for app + API
    kb.embedder.embed_query("warm up")  # load the model now, not on the first question
    _ = kb.store
    return kb


def settings() -> Settings:
    return load_settings()


def get_kb() -> KnowledgeBase:
    """The process-wide KnowledgeBase for the configured KB_DIR."""
    return _open_kb(str(settings().kb_dir.resolve()))


def auth_config() -> AuthConfig:
    return load_auth_config(settings())


def session() -> Session:
    """This browser session's sign-in state (a member in local mode until someone signs in)."""
    if SESSION_KEY not in st.session_state:
        st.session_state[SESSION_KEY] = initial_session(auth_config())
    return st.session_state[SESSION_KEY]


def sign_in_form(config: AuthConfig, purpose: str) -> None:
    """A labelled sign-in form; on success the session becomes that user."""
    with st.form("sign_in", border=True):
        st.markdown(f"**Sign in** {purpose}")
        user = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        if st.form_submit_button("Sign in", type="primary"):
            found = sign_in(config, user, password)
            if found is None:
                st.error("The user name or password is not right. Try again, or ask an administrator.")
            else:
                st.session_state[SESSION_KEY] = found
                st.rerun()


def page_setup(title: str) -> tuple[KnowledgeBase, Session]:
    """Configure the page, apply the style, check access, and return (kb, session)."""
    st.set_page_config(page_title=f"{title} · OH knowledge base", layout="wide",
                       initial_sidebar_state="auto")
    st.html(f"<style>{CSS}</style>")
    st.html(
        '<header class="kb-banner" role="banner"><span class="kb-logo">NHS</span>'
        "<span class=\"kb-banner-title\">Occupational Health knowledge base</span></header>"
    )
    config = auth_config()
    current = session()
    if not can_read(current, config):
        st.title(title)
        sign_in_form(config, "to use the knowledge base.")
        st.stop()
    _sidebar_account(current)
    return get_kb(), current


def _sidebar_account(current: Session) -> None:
    with st.sidebar:
        if current.signed_in:
            note = " (demo, automatic)" if current.automatic else ""
            st.caption(f"Signed in as **{current.user}**, {current.role}{note}")
            if st.button("Sign out", key="sign_out"):
                st.session_state[SESSION_KEY] = Session()
                st.rerun()
        else:
            st.caption("Local mode: you can Ask and use the Library. Curate needs a curator sign-in.")
