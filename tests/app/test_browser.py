"""The app in a real headless Chromium: ask, follow a citation, curate an upload, ask about it.

Starts `streamlit run app/Ask.py` on a free port over a small real KB, and stops it afterwards.
Screenshots go to test-artifacts/screenshots/, timings to test-artifacts/app-timings.json.
"""

from __future__ import annotations

import json
import os
import runpy
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from app_support import APP_DIR, CURATOR, PASSWORD, ROOT, build_kb, write_config

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
QUESTIONS = [
    "How often must lone workers check in?",
    "When are the police contacted if a lone worker cannot be found?",
    "Who must have a lone-worker device?",
    "What is health surveillance?",
    "Who is responsible for arranging health surveillance?",
]
FACT_QUESTION = "How much water must staff on Zephyr Ward drink during night shifts?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not come up in {timeout}s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: run README command 2, which apt-installs chromium")
    kb_dir = tmp_path_factory.mktemp("browser_kb")
    config = write_config(tmp_path_factory.mktemp("browser_cfg") / "kb.toml")
    build_kb(kb_dir)
    port = _free_port()
    options = runpy.run_path(str(APP_DIR / "theme.py"))["STREAMLIT_OPTIONS"]
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP_DIR / "Ask.py"),
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--global.developmentMode", "false"]
    for name, value in options.items():
        cmd += [f"--{name}", str(value)]
    env = dict(os.environ, KB_DIR=str(kb_dir), KB_CONFIG=str(config), KB_APP_PORT=str(port),
               KB_APP_HOST="127.0.0.1")
    for var in ("KB_CURATORS", "KB_MEMBERS", "KB_REQUIRE_LOGIN", "KB_DEMO_CURATOR", "KB_APP_BASE_URL"):
        env.pop(var, None)
    log = open(tmp_path_factory.mktemp("browser_log") / "streamlit.log", "w")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, proc)
        yield {"base": base, "started": started, "tmp": tmp_path_factory.mktemp("browser_files"),
               "timings": {}}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(server):
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(90_000)
    yield pg
    context.close()


def _ask(page, question: str) -> float:
    box = page.get_by_placeholder("Ask about occupational health guidance")
    before = page.locator(".kb-answer, .kb-refusal").count()
    t0 = time.perf_counter()
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        f"document.querySelectorAll('.kb-answer, .kb-refusal').length > {before}", timeout=90_000)
    return time.perf_counter() - t0


def test_ask_shows_answer_with_citation(server, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server["base"] + "/")
    first = _ask(page, QUESTIONS[0])
    server["timings"]["start_to_first_answer_s"] = round(time.perf_counter() - server["started"], 2)
    server["timings"]["first_answer_in_browser_s"] = round(first, 2)
    answer = page.locator(".kb-answer").last
    playwright_api.expect(answer).to_contain_text("hour")
    marker = answer.locator("a.kb-marker").first
    playwright_api.expect(marker).to_be_visible()
    playwright_api.expect(page.locator("article.kb-card").first).to_be_visible()
    playwright_api.expect(page.locator("mark.kb-quote").first).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "ask.png"))

    times = [first] + [_ask(page, q) for q in QUESTIONS[1:]]
    server["timings"]["browser_answer_s"] = [round(t, 2) for t in times]
    server["timings"]["browser_answer_p50_s"] = round(statistics.median(times), 2)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "ask-phone.png"))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "app-timings.json").write_text(json.dumps(server["timings"], indent=2))


def test_citation_opens_library_at_the_chunk(server, page):
    page.goto(server["base"] + "/")
    _ask(page, QUESTIONS[0])
    marker = page.locator(".kb-answer a.kb-marker").first
    href = marker.get_attribute("href")
    assert href.startswith("Library?doc=")
    doc_id = href.split("doc=")[1].split("&")[0]
    with page.expect_popup() as popup:
        marker.click()
    lib = popup.value
    cited = lib.locator(".kb-doc-chunk.kb-cited")
    playwright_api.expect(cited).to_be_visible()
    playwright_api.expect(cited).to_be_in_viewport()
    assert "/Library" in lib.url and doc_id in lib.url
    background = cited.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")  # visibly highlighted
    lib.wait_for_timeout(700)
    lib.screenshot(path=str(SHOTS / "library.png"))


def _make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("Zephyr Ward Night Shift Hydration Protocol", level=1)
    d.add_heading("1 Hydration during night shifts", level=2)
    d.add_paragraph(
        "Staff on Zephyr Ward must drink at least 250 ml of water every 90 minutes during night shifts. "
        "The ward sister keeps a hydration log at the nurses' station."
    )
    d.add_heading("2 Review", level=2)
    d.add_paragraph("This protocol is reviewed every two years by the occupational health team.")
    d.save(path)
    return path


def test_curator_uploads_docx_then_ask_cites_it(server, page):
    docx_path = _make_docx(server["tmp"] / "zephyr-hydration.docx")
    page.goto(server["base"] + "/Curate")
    page.get_by_role("textbox", name="User name").fill(CURATOR)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[type=file]").set_input_files(str(docx_path))
    page.get_by_role("textbox", name="Title").fill("Zephyr Ward hydration protocol")
    page.get_by_role("button", name="Save and ingest").click()
    playwright_api.expect(page.get_by_text("Ingest finished")).to_be_visible(timeout=120_000)
    playwright_api.expect(page.get_by_text("1 added")).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "curate.png"))

    page.goto(server["base"] + "/")
    _ask(page, FACT_QUESTION)
    answer = page.locator(".kb-answer").last
    playwright_api.expect(answer).to_contain_text("250 ml")
    playwright_api.expect(page.locator("article.kb-card h4").first).to_contain_text("Zephyr Ward")
    page.screenshot(path=str(SHOTS / "ask-new-document.png"))


def test_sign_in_survives_a_reload_and_sign_out_ends_it(server, page):
    page.goto(server["base"] + "/Curate")
    page.get_by_role("textbox", name="User name").fill(CURATOR)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    playwright_api.expect(page.locator("input[type=file]")).to_be_attached(timeout=30_000)
    page.wait_for_timeout(500)  # let the token cookie be written
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert "kb_session" in cookies and PASSWORD not in cookies["kb_session"]["value"]
    page.reload()
    playwright_api.expect(page.get_by_text(f"Signed in as {CURATOR}")).to_be_visible(timeout=30_000)
    playwright_api.expect(page.locator("input[type=file]")).to_be_attached()
    page.get_by_role("button", name="Sign out").click()
    playwright_api.expect(page.get_by_role("textbox", name="User name")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)
    page.reload()
    playwright_api.expect(page.get_by_role("textbox", name="User name")).to_be_visible(timeout=30_000)
    assert not page.locator("input[type=file]").count()


BULLETIN_DRAFT = (
    "## Lone working\n\n"
    "Lone workers must check in at least every hour.\n\n"
    "- The staff canteen serves free pizza on Fridays from next month.\n"
)


def test_bulletin_paste_review_accept_export(server, page):
    """The editor pastes a draft, reviews the claims, accepts a citation and downloads both exports."""
    page.goto(server["base"] + "/Bulletin")
    box = page.get_by_label("Bulletin draft")
    box.fill(BULLETIN_DRAFT)
    box.press("Control+Enter")
    page.get_by_role("button", name="Check claims").click()
    playwright_api.expect(page.get_by_text("2 claims")).to_be_visible(timeout=90_000)
    claim = page.locator(".st-key-bulletin_claim_0")
    playwright_api.expect(claim).to_contain_text("Lone workers must check in at least every hour.")
    playwright_api.expect(claim.locator(".kb-card").first).to_contain_text("Lone Working Policy 2024")
    playwright_api.expect(page.locator(".st-key-bulletin_claim_1")).to_contain_text("no support in the library")
    claim.get_by_text("Accept suggestion", exact=False).first.click()
    playwright_api.expect(page.get_by_text("Lone workers must check in at least every hour.[^1]")).to_be_visible()
    page.screenshot(path=str(SHOTS / "bulletin.png"), full_page=True)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download Markdown").click()
    md = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "every hour.[^1]" in md and "[^1]: [Lone Working Policy 2024](" in md and "[citation needed]" in md
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download HTML (email-safe)").click()
    html_export = Path(dl.value.path()).read_text(encoding="utf-8")
    assert html_export.startswith("<!DOCTYPE html>") and "<style" not in html_export and "<script" not in html_export
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download choices").click()
    saved = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert saved["choices"] == [{"text": "Lone workers must check in at least every hour.", "action": "accept",
                                 "claim": 0}]
