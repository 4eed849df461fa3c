"""`kb digest`: what was added, updated, superseded or retired in a period, and what passed review."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

import kb.catalog
from ingest.pipeline import ingest_paths
from kb.curation import retire_document, supersede_document
from kb.digest import digest, digest_html, digest_json, digest_markdown, one_line_summary
from kb.embedder import HashEmbedder
from kb.service import KnowledgeBase
from kb.settings import load_settings

DOCS = {
    "stable.md": ("Stable Guide", "The stable guide explains how to book an OH appointment online."),
    "changing.md": ("Changing Policy", "This policy sets out how managers refer staff to OH."),
    "old-flu.md": ("Flu Programme 2024", "The 2024 programme offered flu vaccine to all frontline staff."),
    "retiring.md": ("Paper Forms Guide", "Paper referral forms were posted to the OH department."),
    "reviewed.md": ("Noise Surveillance Protocol", "Audiometry is offered every year to staff exposed to loud noise."),
}
MANIFEST = """documents:
  reviewed.md: {review_due: 2026-02-14}
  stable.md: {review_due: 2025-12-01}
"""


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> str:
        return self.now.isoformat(timespec="seconds")


def _write(folder, name, title, text):
    (folder / name).write_text(f"# {title}\n\nSAMPLE DOCUMENT - not clinical advice.\n\n## Purpose\n\n{text} "
                               "It applies to all member organisations.\n", encoding="utf-8")


@pytest.fixture(scope="module")
def history_dir(tmp_path_factory):
    """A KB where, after a January ingest, February adds, updates, supersedes and retires."""
    tmp_path = tmp_path_factory.mktemp("digest")
    clock = Clock()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kb.catalog, "_now", clock)
        folder = tmp_path / "corpus"
        folder.mkdir()
        (folder / "manifest.yaml").write_text(MANIFEST, encoding="utf-8")
        for name, (title, text) in DOCS.items():
            _write(folder, name, title, text)
        with _open(tmp_path / "kb") as knowledge:
            assert ingest_paths(knowledge, [folder]).added == 5
            clock.now = dt.datetime(2026, 2, 3, 10, 0, tzinfo=dt.UTC)
            _write(folder, "new-flu.md", "Flu Programme 2026", "The 2026 programme adds peer vaccinators on every ward.")
            _write(folder, "changing.md", "Changing Policy", "This policy now says managers refer staff through the portal.")
            report = ingest_paths(knowledge, [folder])
            assert (report.added, report.updated) == (1, 1)
            clock.now = dt.datetime(2026, 2, 10, 10, 0, tzinfo=dt.UTC)
            supersede_document(knowledge, "old-flu", "new-flu")
            clock.now = dt.datetime(2026, 2, 20, 10, 0, tzinfo=dt.UTC)
            retire_document(knowledge, "retiring", "replaced by the portal")
    return tmp_path / "kb"


def _open(kb_dir) -> KnowledgeBase:
    settings = load_settings(kb_dir=kb_dir, app_base_url="https://oh.example")
    return KnowledgeBase(settings, embedder=HashEmbedder())


@pytest.fixture
def history(history_dir):
    with _open(history_dir) as knowledge:
        yield knowledge


def test_digest_lists_each_change_in_the_period(history):
    entries = digest(history, dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    got = [(e.doc_id, e.change, e.date) for e in entries]
    assert got == [
        ("new-flu", "added", "2026-02-03"),
        ("changing", "updated", "2026-02-03"),
        ("old-flu", "superseded", "2026-02-10"),
        ("retiring", "retired", "2026-02-20"),
        ("reviewed", "review_due", "2026-02-14"),
    ]  # January's adds and December's past-review document are outside the period
    by_id = {e.doc_id: e for e in entries}
    assert by_id["new-flu"].summary == "The 2026 programme adds peer vaccinators on every ward."
    assert by_id["changing"].summary.startswith("This policy now says managers refer staff through the portal.")
    assert by_id["old-flu"].superseded_by == "new-flu" and by_id["old-flu"].superseded_by_title == "Flu Programme 2026"
    assert by_id["retiring"].link == "https://oh.example/Library?doc=retiring"
    data = digest_json(entries)
    assert set(data) == {"entries"}
    assert all({"doc_id", "title", "change", "date", "summary", "link"} <= set(e) for e in data["entries"])


def test_digest_period_bounds_and_january(history):
    january = digest(history, dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert sorted((e.doc_id, e.change) for e in january) == [
        ("changing", "added"), ("old-flu", "added"), ("retiring", "added"), ("reviewed", "added"),
        ("stable", "added")]
    assert [e.change for e in digest(history, dt.date(2026, 2, 11), dt.date(2026, 2, 19))] == ["review_due"]


def test_digest_markdown_and_html_are_ready_to_paste(history):
    since, until = dt.date(2026, 2, 1), dt.date(2026, 2, 28)
    entries = digest(history, since, until)
    md = digest_markdown(entries, since, until)
    assert md.startswith("## Resources update (2026-02-01 to 2026-02-28)")
    assert "### Superseded" in md and "replaced by Flu Programme 2026" in md
    assert "- [Flu Programme 2026](https://oh.example/Library?doc=new-flu) (2026-02-03): The 2026 programme" in md
    assert "### Past its review date" in md and "review due 2026-02-14" in md
    page = digest_html(entries, since, until)
    assert "<style" not in page and "<img" not in page and "<script" not in page
    assert '<a href="https://oh.example/Library?doc=retiring" style=' in page


def test_one_line_summary_skips_titles_banners_and_metadata_lines():
    text = "Guide\n\nSAMPLE DOCUMENT - written for the project.\n\nIssue 3 | Published 1 May 2025\n\n" \
           "Short.\n\nThe guide explains what to do after a sharps injury, in order. More follows."
    assert one_line_summary([text], "Guide") == "The guide explains what to do after a sharps injury, in order."


def test_kb_digest_cli_json_and_errors(history_dir, monkeypatch):
    import kb.service

    kb_dir = str(history_dir)
    monkeypatch.setenv("KB_APP_BASE_URL", "https://oh.example")
    monkeypatch.setattr(kb.service, "open_embedder", lambda settings: HashEmbedder())
    from kb.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["--kb-dir", kb_dir, "digest", "--since", "2026-02-01", "--until", "2026-02-28",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [e["change"] for e in data["entries"]] == ["added", "updated", "superseded", "retired", "review_due"]
    bad = runner.invoke(app, ["--kb-dir", kb_dir, "digest", "--since", "last week"])
    assert bad.exit_code == 2 and "must be dates like" in bad.output
