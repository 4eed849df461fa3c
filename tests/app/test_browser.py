"""The app in a real headless Chromium: ask, follow a citation, converse, see the cited PDF
page, curate an upload, and run axe-core on every page in light and dark themes.

Starts `streamlit run app/Ask.py` on a free port over a small real KB, and stops it afterwards.
Screenshots go to test-artifacts/screenshots/, timings to test-artifacts/app-timings.json and
the axe results to test-artifacts/axe.json (timings are recorded, never asserted).
"""

from __future__ import annotations

import json
import os
import re
import runpy
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from app_support import APP_DIR, CORPUS_FILES, CURATOR, PASSWORD, ROOT, build_kb, write_config
from playwright import sync_api as playwright_api  # a test dependency: never skipped

pytestmark = pytest.mark.browser

# The machine is shared: pages can take several seconds to render under load (no timing asserts).
playwright_api.expect.set_options(timeout=30_000)

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
PDF_FILE = ROOT / "corpus/bloodborne-viruses/hiv-pep-occupational-2025.pdf"
PDF_QUESTION = "When should HIV post-exposure prophylaxis be started after a needlestick injury?"
AXE = ROOT / "tests/app/node/node_modules/axe-core/axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PAGES = {"Ask": "/", "Library": "/Library", "Curate": "/Curate", "Evals": "/Evals", "Bulletin": "/Bulletin"}


def _record(key: str, value) -> None:
    """Merge one figure into test-artifacts/app-timings.json (tests may run in any order)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "app-timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2))


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
    build_kb(kb_dir, [*CORPUS_FILES, PDF_FILE])
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
    box.wait_for(timeout=240_000)  # the first page of a fresh server waits for the model
    before = page.locator(".kb-answer, .kb-refusal").count()
    t0 = time.perf_counter()
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        f"document.querySelectorAll('.kb-answer, .kb-refusal').length > {before}", timeout=90_000)
    return time.perf_counter() - t0


def test_first_load_shows_at_once(server, page):
    t0 = time.perf_counter()
    page.goto(server["base"] + "/")
    playwright_api.expect(page.locator(".kb-banner")).to_be_visible(timeout=30_000)
    # the first test on a fresh server: the model is still loading, and the page says so
    playwright_api.expect(page.get_by_role("status").filter(has_text="Loading the model")).to_be_visible()
    _record("first_paint_with_loading_state_s", round(time.perf_counter() - t0, 2))
    playwright_api.expect(page.get_by_placeholder("Ask about occupational health guidance")).to_be_visible(
        timeout=300_000)
    _record("page_ready_s", round(time.perf_counter() - t0, 2))


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
    for key, value in server["timings"].items():
        _record(key, value)


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
    quote = cited.locator("mark.kb-quote")  # the quote is highlighted, not the whole chunk
    playwright_api.expect(quote).to_be_visible()
    playwright_api.expect(quote).to_be_in_viewport()
    assert "/Library" in lib.url and doc_id in lib.url
    background = quote.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")  # visibly highlighted
    assert len(quote.inner_text()) < len(cited.locator(".kb-text").inner_text())
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


def test_conversation_follow_up_and_reload(server, page):
    page.goto(server["base"] + "/")
    _ask(page, "What is health surveillance?")
    _ask(page, "Who is responsible for arranging it?")
    searched = page.locator(".kb-searched").last
    playwright_api.expect(searched).to_contain_text("Who is responsible for arranging health surveillance?")
    second = page.locator('[data-testid="stChatMessage"]').nth(3)  # user, assistant, user, assistant
    playwright_api.expect(second.locator(".kb-answer")).to_contain_text("surveillance")
    playwright_api.expect(second.locator("article.kb-card h4").first).to_contain_text(
        re.compile("health surveillance", re.IGNORECASE))
    page.wait_for_url("**c=*")
    assert "c=" in page.url
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "conversation.png"), full_page=True)

    page.reload()
    page.wait_for_function("document.querySelectorAll('.kb-answer').length === 2", timeout=90_000)
    playwright_api.expect(page.locator(".kb-searched")).to_contain_text("arranging health surveillance")
    playwright_api.expect(page.get_by_role("button", name="New conversation")).to_be_visible()
    # the conversation is listed in the sidebar (the current one, so not clickable)
    playwright_api.expect(page.get_by_role("button", name="What is health surveillance? (2)")).to_be_visible()


def test_citation_click_shows_pdf_page_with_highlight(server, page):
    page.goto(server["base"] + "/")
    _ask(page, PDF_QUESTION)
    marker = page.locator(".kb-answer a.kb-marker").first
    assert "hiv-pep-occupational-2025" in marker.get_attribute("href")
    t0 = time.perf_counter()
    with page.expect_popup() as popup:
        marker.click()
    lib = popup.value
    figure = lib.locator('#kb-cited-page[data-found="true"]')
    playwright_api.expect(figure.locator("img")).to_be_visible(timeout=60_000)
    playwright_api.expect(figure).to_be_in_viewport(timeout=10_000)
    elapsed = time.perf_counter() - t0
    _record("citation_click_to_highlighted_pdf_page_s", round(elapsed, 2))
    img = figure.locator("img")
    assert img.evaluate("el => el.naturalWidth") > 500  # a real rendered page
    assert "with the quote highlighted" in img.get_attribute("alt")
    lib.wait_for_timeout(300)
    figure.screenshot(path=str(SHOTS / "pdf-page-highlight.png"))
    # a second click is served from the page cache
    t1 = time.perf_counter()
    lib.reload()
    playwright_api.expect(lib.locator('#kb-cited-page[data-found="true"] img')).to_be_visible(timeout=60_000)
    _record("citation_reload_cached_page_s", round(time.perf_counter() - t1, 2))


def test_keyboard_reaches_citation_and_feedback(server, page):
    page.goto(server["base"] + "/")
    _ask(page, QUESTIONS[0])
    page.locator("h1").first.click()  # start tabbing from the top of the page

    def tab_to(js_test: str, limit: int = 80) -> bool:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(js_test):
                return True
        return False

    assert tab_to("document.activeElement && document.activeElement.matches('a.kb-marker')")
    with page.expect_popup() as popup:
        page.keyboard.press("Enter")
    popup.value.close()
    assert tab_to("document.activeElement && document.activeElement.closest('[data-testid=stFeedback]') !== null"
                  " || (document.activeElement && /thumb/i.test(document.activeElement.getAttribute('aria-label')"
                  " || ''))", limit=120)
    page.keyboard.press("Enter")
    playwright_api.expect(page.get_by_placeholder("What was wrong or missing?")).to_be_visible()


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),"
        " data: (n.any[0] || {}).data || null}))})))",
        AXE_TAGS,
    )
    return result


def test_axe_on_every_page_light_and_dark(server, browser):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run README command 2 (npm ci --prefix tests/app/node)")
    report: dict[str, dict] = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        page.set_default_timeout(90_000)
        for name, path in PAGES.items():
            page.goto(server["base"] + path)
            playwright_api.expect(page.locator("h1").first).to_be_visible(timeout=60_000)
            playwright_api.expect(page.locator(".kb-loading")).to_have_count(0, timeout=120_000)
            if name == "Ask":
                _ask(page, QUESTIONS[0])
            page.wait_for_timeout(800)
            violations = _axe(page)
            report[f"{name} ({scheme})"] = {
                "violations": len(violations),
                "serious_or_critical": [v for v in violations if v["impact"] in ("serious", "critical")],
                "other": [{"id": v["id"], "impact": v["impact"]} for v in violations
                          if v["impact"] not in ("serious", "critical")],
            }
            if name == "Ask":
                page.screenshot(path=str(SHOTS / f"ask-{scheme}.png"))
        context.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe.json").write_text(json.dumps(report, indent=2))
    bad = {page: r["serious_or_critical"] for page, r in report.items() if r["serious_or_critical"]}
    assert not bad, json.dumps(bad, indent=2)


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
