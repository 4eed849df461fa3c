"""First run: no account exists yet. Say exactly how to create one, and offer a one-time
setup form when both the app and the browser are on this machine (127.0.0.1)."""

from __future__ import annotations

import streamlit as st
from shared import SESSION_KEY, auth_config, get_kb, local_setup_allowed, settings

from kb.audit import record_event
from kb.auth import Session, hash_password, users_file_path, write_user
from kb.errors import KBError


def first_account(config) -> None:
    path = users_file_path(settings())
    st.info(
        "No account exists yet. Create the first one in a terminal on this machine, in the folder "
        "you start the app from:"
    )
    st.code(f"kb users add YOUR-NAME --role admin   # or --role curator\n# writes {path}", language="bash")
    st.caption("Then reload this page and sign in. `kb users add` asks for the password twice and "
               "stores only its PBKDF2 hash.")
    if not local_setup_allowed(config):
        return
    with st.form("first_account", border=True):
        st.markdown("**Or create the first account here** (offered once, only on 127.0.0.1)")
        name = st.text_input("New user name", key="setup_user")
        role = st.selectbox("Role", ["admin", "curator"], key="setup_role")
        pw = st.text_input("New password", type="password", key="setup_password", autocomplete="new-password")
        again = st.text_input("Repeat the password", type="password", key="setup_again",
                              autocomplete="new-password")
        if not st.form_submit_button("Create account", type="primary"):
            return
    if auth_config().has_accounts:  # someone else was quicker: the form is one-time only
        st.error("An account exists now. Sign in with it instead.")
        return
    if len(pw) < 8 or pw != again:
        st.error("The passwords must match and be at least 8 characters long.")
        return
    try:
        write_user(path, name.strip(), role, hash_password(pw))
    except KBError as exc:
        st.error(str(exc))
        return
    record_event(get_kb().catalog, "users.add", name.strip(), role, detail=f"first account, set up in the app ({path})")
    st.session_state[SESSION_KEY] = Session(name.strip(), role)
    st.rerun()
