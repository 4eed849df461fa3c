"""The HTML export renders in a real Chromium with every outbound request blocked, and needs none."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright import sync_api as playwright_api  # a test dependency: never skipped

from kb.bulletin_export import EditorChoices, export_html, resolve_claims
from tests.kb.test_bulletin_export import CITE, DRAFT, SOURCES

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: run README command 2, which apt-installs chromium")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _render(browser, markup: str) -> tuple[list[str], str, str]:
    """(requests attempted, visible text, colour of the first heading) for `markup`."""
    attempted: list[str] = []
    context = browser.new_context()
    try:
        context.route("**/*", lambda route: (attempted.append(route.request.url), route.abort()))
        page = context.new_page()
        page.on("request", lambda request: attempted.append(request.url))
        page.set_content(markup, wait_until="load")
        page.wait_for_timeout(300)
        text = page.inner_text("body")
        colour = page.eval_on_selector("h1", "el => getComputedStyle(el).color")
    finally:
        context.close()
    return attempted, text, colour


def test_blocking_harness_sees_an_outbound_request(browser):
    attempted, _, _ = _render(browser, '<h1>x</h1><img src="https://tracker.example/pixel.gif">')
    assert any("tracker.example" in url for url in attempted)


def test_html_export_renders_with_no_outbound_request(browser):
    page = export_html(DRAFT, resolve_claims(CITE, EditorChoices()), SOURCES, title="December 2026")
    attempted, text, colour = _render(browser, page)
    assert attempted == []
    assert "OH Network e-Bulletin, December 2026" in text
    assert "Lone workers must check in at least every hour.[1]" in text
    assert "References" in text and "Lone Working Policy 2024, 4 Check-ins (2024-04-02)." in text
    assert colour == "rgb(0, 94, 184)"  # the inline style applied
