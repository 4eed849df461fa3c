"""The Bulletin page with Streamlit's AppTest: review claims, choose per claim, export, what's new."""

from __future__ import annotations

from app_support import APP_DIR
from streamlit.testing.v1 import AppTest

from kb.bulletin_export import EditorChoices

BULLETIN = str(APP_DIR / "pages" / "5_Bulletin.py")
DRAFT = (
    "## Lone working\n\n"
    "Lone workers must check in at least every hour.\n\n"
    "- The staff canteen serves free pizza on Fridays from next month.\n"
)


def test_review_choose_and_export(app_env):
    at = AppTest.from_file(BULLETIN, default_timeout=120).run()
    assert not at.exception
    at.text_area(key="bulletin_draft").input(DRAFT).run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert any("2 claims" in m.value for m in at.markdown)
    first, second = at.radio(key="bulletin_choice_0"), at.radio(key="bulletin_choice_1")
    assert first.value is None and first.options[0].startswith("Accept suggestion: Lone Working Policy 2024")
    assert any("no support in the library" in w.value for w in at.warning)
    second.set_value("Reject all: no citation").run()
    at.radio(key="bulletin_choice_0").set_value(at.radio(key="bulletin_choice_0").options[0]).run()
    choices = at.session_state["bulletin_choices"]
    assert isinstance(choices, EditorChoices)
    assert [(c.claim, c.action) for c in choices.choices] == [(0, "accept"), (1, "reject")]
    md = next(c.value for c in at.code if c.language == "markdown")
    assert md.startswith("## Lone working") and "every hour.[^1]" in md and "[citation needed]" not in md
    assert "[^1]: [Lone Working Policy 2024](" in md
    labels = {b.proto.label for b in at.get("download_button")}
    assert {"Download Markdown", "Download HTML (email-safe)", "Download choices"} <= labels


def test_whats_new_lists_the_ingested_documents(app_env):
    at = AppTest.from_file(BULLETIN, default_timeout=120).run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    assert any("3 new, 1 superseded" in t for t in texts), texts
    assert any("**Superseded** · [Lone Working Policy 2019]" in t for t in texts)
