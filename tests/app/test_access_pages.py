"""Access in the app: audience per page once sign-in is on, roles per page, first run, audit."""

from __future__ import annotations

import pytest
from app_support import APP_DIR, ROOT, build_kb
from streamlit.testing.v1 import AppTest

from kb import audit
from kb.auth import Session, hash_password
from kb.catalog import Catalog

TIMEOUT = 120
ASK = str(APP_DIR / "Ask.py")
LIBRARY = str(APP_DIR / "pages" / "2_Library.py")
CURATE = str(APP_DIR / "pages" / "3_Curate.py")
EVALS = str(APP_DIR / "pages" / "4_Evals.py")
AUDIT = str(APP_DIR / "pages" / "6_Audit.py")
PUBLIC = "violence-aggression-public-leaflet-2025"
MEMBERS = "lone-working-policy-2024"
FILES = [ROOT / "corpus/violence-aggression/violence-aggression-public-leaflet-2025.html",
         ROOT / "corpus/violence-aggression/lone-working-policy-2024.md"]
PASSWORD = "pw-for-tests"
ACCOUNTS = {"members": "mo", "curators": "cu", "reviewers": "rita", "admins": "ada"}


@pytest.fixture(scope="session")
def public_kb(tmp_path_factory):
    kb_dir = tmp_path_factory.mktemp("public_kb")
    build_kb(kb_dir, FILES)
    encoded = hash_password(PASSWORD, iterations=2_000)
    config = tmp_path_factory.mktemp("public_cfg") / "kb.toml"
    tables = "\n".join(f'{t} = {{{u} = "{encoded}"}}' for t, u in ACCOUNTS.items())
    config.write_text(f"[auth]\nrequire_login = true\npublic_access = true\n{tables}\n", encoding="utf-8")
    return kb_dir, config


@pytest.fixture
def signin_on(public_kb, monkeypatch):
    import shared

    kb_dir, config = public_kb
    monkeypatch.setenv("KB_DIR", str(kb_dir))
    monkeypatch.setenv("KB_CONFIG", str(config))
    for var in ("KB_CURATORS", "KB_MEMBERS", "KB_REVIEWERS", "KB_ADMINS", "KB_REQUIRE_LOGIN",
                "KB_DEMO_CURATOR", "KB_PUBLIC_ACCESS", "KB_USERS_FILE"):
        monkeypatch.delenv(var, raising=False)
    shared.sign_in_limiter.clear()
    shared.get_kb()  # pages open the KB in the background: wait for it once, as app_env does
    yield kb_dir
    shared.sign_in_limiter.clear()


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def _sidebar_sign_in(at: AppTest, user: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="sidebar_sign_in_user").set_value(user)
    at.text_input(key="sidebar_sign_in_password").set_value(password)
    return next(b for b in at.button if b.label == "Sign in" and b.proto.form_id == "sidebar_sign_in").click().run()


def test_ask_anonymous_gets_public_documents_only(signin_on):
    at = AppTest.from_file(ASK, default_timeout=TIMEOUT).run()
    assert not at.exception
    at.chat_input(key="question").set_value("How often must lone workers check in with the team?").run()
    assert not at.exception
    answer = at.session_state["ask_history"][0]["answer"]
    seen = {h.chunk.doc_id for h in answer.hits} | {c.doc_id for c in answer.citations}
    assert seen == {PUBLIC}
    assert MEMBERS not in _html(at)
    rec = audit.answer(Catalog(signin_on / "catalog.db"), answer.id)
    assert rec.user == "anonymous" and rec.filters["audience"] == ["public"]


def test_library_anonymous_lists_and_opens_public_only(signin_on):
    at = AppTest.from_file(LIBRARY, default_timeout=TIMEOUT).run()
    assert not at.exception
    ids = {row["id"] for row in at.dataframe[0].value.to_dict("records")}
    assert ids == {PUBLIC}
    link = AppTest.from_file(LIBRARY, default_timeout=TIMEOUT)
    link.query_params["doc"] = MEMBERS  # a citation link / download for a members-only document
    link.run()
    assert any("No document with id" in e.value for e in link.error)
    assert not link.get("download_button")
    assert "lone" not in _html(link).lower()


def test_library_member_sees_both_after_sign_in(signin_on):
    at = _sidebar_sign_in(AppTest.from_file(LIBRARY, default_timeout=TIMEOUT).run(), "mo")
    assert not at.exception
    assert at.session_state["kb_session"].role == "member"
    assert {row["id"] for row in at.dataframe[0].value.to_dict("records")} == {PUBLIC, MEMBERS}


def test_sign_in_is_rate_limited_and_logged(signin_on):
    at = AppTest.from_file(LIBRARY, default_timeout=TIMEOUT).run()
    for _ in range(5):
        at = _sidebar_sign_in(at, "mo", "wrong")
        assert any("not right" in e.value for e in at.error)
    at = _sidebar_sign_in(at, "mo", PASSWORD)
    assert any("Too many failed sign-ins" in e.value for e in at.error)
    assert not at.session_state["kb_session"].signed_in
    failed = [e for e in audit.events(Catalog(signin_on / "catalog.db"), user="mo") if e.action == "sign_in.failed"]
    assert len(failed) >= 6


@pytest.mark.parametrize("user,allowed", [(None, False), ("mo", False), ("cu", False), ("rita", True), ("ada", True)])
def test_audit_page_needs_reviewer_or_admin(signin_on, user, allowed):
    at = AppTest.from_file(AUDIT, default_timeout=TIMEOUT).run()
    if user:
        at = _sidebar_sign_in(at, user)
    assert not at.exception
    assert bool(at.get("dataframe")) is allowed
    if not allowed:
        assert any("reviewer or admin" in i.value for i in at.info)


def test_eval_run_needs_reviewer(signin_on):
    at = AppTest.from_file(EVALS, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("sign in" in i.value for i in at.info)  # anonymous: no eval reports (they quote members' docs)
    assert not [b for b in at.button if b.label == "Start run"]
    at = _sidebar_sign_in(at, "mo")
    assert next(b for b in at.button if b.label == "Start run").disabled  # a member may read, not start
    at.session_state["kb_session"] = Session("rita", "reviewer")
    at.run()
    assert not next(b for b in at.button if b.label == "Start run").disabled


def test_curate_actions_are_audited_with_who(signin_on):
    import curate_actions as actions
    from shared import get_kb

    from kb.auth import AccessDenied

    AppTest.from_file(LIBRARY, default_timeout=TIMEOUT).run()
    kb = get_kb()
    with pytest.raises(AccessDenied):
        actions.retire(Session("rita", "reviewer"), kb, MEMBERS, "no")
    actions.retire(Session("cu", "curator"), kb, MEMBERS, "test")
    actions.restore(Session("ada", "admin"), kb, MEMBERS)
    got = [(e.action, e.user) for e in audit.events(kb.catalog, doc_id=MEMBERS)]
    assert got[-2:] == [("retire", "cu"), ("restore", "ada")]


def test_upload_with_an_nhs_number_needs_confirmation(signin_on):
    import curate_actions as actions
    from shared import get_kb

    AppTest.from_file(LIBRARY, default_timeout=TIMEOUT).run()
    kb, cu = get_kb(), Session("cu", "curator")
    data = b"Clinic notes\n\nPatient NHS number 943 476 5919 attended for hepatitis B vaccination.\n"
    refused = actions.check_and_save(cu, kb, "notes.txt", data)
    assert "patient-identifiable" in refused.error and refused.path is None
    assert not (signin_on / "uploads" / "notes.txt").exists()
    stored = actions.check_and_save(cu, kb, "notes.txt", data, allow_identifiers=True)
    assert stored.path and stored.path.is_file()
    assert any(e.action == "upload.identifiers_confirmed" for e in audit.events(kb.catalog, user="cu"))


def test_first_run_explains_and_offers_setup(tmp_path, monkeypatch, public_kb):
    kb_dir, _ = public_kb
    monkeypatch.setenv("KB_DIR", str(kb_dir))
    empty = tmp_path / "kb.toml"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("KB_CONFIG", str(empty))
    users = tmp_path / "users.toml"
    monkeypatch.setenv("KB_USERS_FILE", str(users))
    for var in ("KB_CURATORS", "KB_MEMBERS", "KB_REVIEWERS", "KB_ADMINS", "KB_REQUIRE_LOGIN", "KB_DEMO_CURATOR"):
        monkeypatch.delenv(var, raising=False)
    at = AppTest.from_file(CURATE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("No account exists yet" in i.value for i in at.info)
    assert any("kb users add" in c.value for c in at.code)
    at.text_input(key="setup_user").set_value("ada")
    at.text_input(key="setup_password").set_value("long-enough-pw")
    at.text_input(key="setup_again").set_value("long-enough-pw")
    at = next(b for b in at.button if b.label == "Create account").click().run()
    assert not at.exception
    assert at.session_state["kb_session"].role == "admin"
    assert users.stat().st_mode & 0o777 == 0o600 and "long-enough-pw" not in users.read_text()
    assert at.get("file_uploader")  # signed in: curation is open
