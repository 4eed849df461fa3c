"""`kb cite DRAFT [--format md|html] [--json] [--choices FILE]` over a small KB (hash embedder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.bulletin_export import EditorChoices, choices_json

REPO = Path(__file__).resolve().parents[3]
CLAIM_KEYS = {"text", "verdict", "score", "reason", "citations", "alternatives"}
CITATION_KEYS = {"n", "doc_id", "title", "section", "page_start", "page_end", "quote", "link"}
DRAFT = """# Members' bulletin

## Lone working

Lone workers must check in with their buddy at least every hour during a shift.

The police are contacted if a lone worker cannot be reached after 60 minutes.
"""


@pytest.fixture(scope="module")
def cite_cli(tmp_path_factory):
    import kb.service
    from kb.cli import app
    from kb.embedder import HashEmbedder

    root = tmp_path_factory.mktemp("cite")
    docs = root / "docs"
    docs.mkdir()
    shutil.copy(REPO / "corpus/violence-aggression/lone-working-policy-2024.md", docs)
    shutil.copy(REPO / "corpus/bulletins/bulletin-2024-04.html", docs)
    (docs / "manifest.yaml").write_text(
        "documents:\n"
        "  lone-working-policy-2024.md: {doc_type: policy, source_url: 'https://www.example.nhs.uk/lone-working'}\n"
        "  bulletin-2024-04.html: {doc_type: bulletin, source_url: 'https://news.example.org/2024-04.html'}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kb.service, "open_embedder", lambda settings: HashEmbedder())
        kb_dir = str(root / "kb")

        def run(*args):
            return runner.invoke(app, ["--kb-dir", kb_dir, *args])

        assert run("ingest", str(docs), "--json").exit_code == 0
        draft = root / "draft.md"
        draft.write_text(DRAFT, encoding="utf-8")
        run.draft = draft
        yield run


def test_cite_json_contract(cite_cli):
    result = cite_cli("cite", str(cite_cli.draft), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"claims", "annotated", "references"} <= set(data)
    assert len(data["claims"]) == 2
    for claim in data["claims"]:
        assert CLAIM_KEYS <= set(claim)
        assert claim["verdict"] in ("supported", "contradicted", "unsupported")
        for c in claim["citations"]:
            assert CITATION_KEYS <= set(c)


def test_cite_markdown_and_html_apply_the_sidecar_choices(cite_cli):
    data = json.loads(cite_cli("cite", str(cite_cli.draft), "--json").stdout)
    first, second = (c["text"] for c in data["claims"])
    claim = data["claims"][0]
    assert claim["citations"] or claim["alternatives"], "the hash KB should propose a passage for the first claim"
    action, alt = ("accept", None) if claim["citations"] else ("pick", 0)  # the verdict varies with the checker
    choices = EditorChoices(draft="draft.md").set(0, first, action, alt).set(1, second, "reject")
    sidecar = cite_cli.draft.with_name("draft.md.citations.json")
    sidecar.write_text(choices_json(choices), encoding="utf-8")
    try:
        md = cite_cli("cite", str(cite_cli.draft), "--format", "md")
        assert md.exit_code == 0, md.output
        assert md.stdout.startswith("# Members' bulletin\n\n## Lone working\n")
        assert "during a shift.[^1]" in md.stdout and "after 60 minutes.\n" in md.stdout
        note = next(ln for ln in md.stdout.splitlines() if ln.startswith("[^1]: "))
        assert "/Library?doc=" in note and "Source: <https://" in note
        html = cite_cli("cite", str(cite_cli.draft), "--format", "html")
        assert html.exit_code == 0 and html.stdout.startswith("<!DOCTYPE html>")
        assert '<a href="#note-1"' in html.stdout and "<style" not in html.stdout
    finally:
        sidecar.unlink()
    other = cite_cli.draft.with_name("elsewhere.json")
    other.write_text(choices_json(EditorChoices().set(0, first, "reject")), encoding="utf-8")
    md = cite_cli("cite", str(cite_cli.draft), "--format", "md", "--choices", str(other))
    assert "[^1]" not in md.stdout.split("during a shift.")[1][:5]


def test_cite_errors_name_the_file(cite_cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = cite_cli("cite", str(cite_cli.draft), "--format", "md", "--choices", str(bad))
    assert result.exit_code == 2 and "bad.json: not a citation choices file" in result.output
    result = cite_cli("cite", str(cite_cli.draft), "--format", "pdf")
    assert result.exit_code == 2 and "--format must be md or html" in result.output
