"""The CLI contract that evaluation and operations tooling depend on: flags, JSON keys, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app

REPO = Path(__file__).resolve().parents[3]
HIT_KEYS = {"doc_id", "title", "source_path", "chunk_id", "text", "score", "page_start", "page_end",
            "section", "doc_type", "status", "published", "review_due"}
CITATION_KEYS = {"n", "doc_id", "title", "source_path", "section", "page_start", "page_end", "quote"}


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    docs = root / "docs"
    docs.mkdir()
    for rel in ("bloodborne-viruses/hiv-pep-occupational-2025.pdf", "bloodborne-viruses/hiv-pep-occupational-2018.pdf",
                "violence-aggression/lone-working-policy-2024.md"):
        shutil.copy(REPO / "corpus" / rel, docs / Path(rel).name)
    (docs / "manifest.yaml").write_text(
        "documents:\n"
        "  hiv-pep-occupational-2025.pdf: {doc_type: protocol, topics: [hiv, pep], supersedes: [hiv-pep-occupational-2018]}\n"
        "  hiv-pep-occupational-2018.pdf: {doc_type: protocol, topics: [hiv, pep], status: superseded}\n"
        "  lone-working-policy-2024.md: {doc_type: policy, topics: [lone-working], published: 2024-04-01}\n"
    )
    runner = CliRunner()
    kb_dir = str(root / "kb")

    def run(*args, input=None):
        return runner.invoke(app, ["--kb-dir", kb_dir, *args], input=input)

    result = run("ingest", str(docs), "--json")
    assert result.exit_code == 0, result.output
    run.root = root
    run.docs = docs
    run.first = json.loads(result.stdout.strip().splitlines()[-1])
    return run


def test_ingest_json_contract(cli):
    assert cli.first["added"] == 3 and cli.first["failed"] == []
    assert {"added", "updated", "unchanged", "withdrawn", "failed"} <= set(cli.first)
    again = json.loads(cli("ingest", str(cli.docs), "--json").stdout.strip().splitlines()[-1])
    assert again["unchanged"] == 3 and again["added"] == 0


def test_ingest_exit_1_when_some_files_fail(cli, tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    result = cli("ingest", str(bad), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["failed"][0]["path"] == str(bad.resolve())
    errors = json.loads(cli("docs", "errors", "--json").stdout)["errors"]
    assert errors[0]["path"] == str(bad.resolve())


def test_ingest_exit_2_on_usage_error(cli):
    assert cli("ingest", "/no/such/folder").exit_code == 2
    assert cli("ingest").exit_code == 2


def test_search_json_hits(cli):
    result = cli("search", "how often should lone workers check in", "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert 0 < len(hits) <= 3
    assert HIT_KEYS <= set(hits[0])
    assert Path(hits[0]["source_path"]).is_absolute()
    md = [h for h in hits if h["source_path"].endswith(".md")]
    assert md and md[0]["page_start"] is None and md[0]["page_end"] is None


def test_search_type_topic_and_superseded_flags(cli):
    hits = json.loads(cli("search", "PEP", "--type", "protocol", "--json").stdout)["hits"]
    assert hits and {h["doc_type"] for h in hits} == {"protocol"}
    assert "hiv-pep-occupational-2018" not in {h["doc_id"] for h in hits}
    hits = json.loads(cli("search", "PEP", "--include-superseded", "-k", "10", "--json").stdout)["hits"]
    assert "hiv-pep-occupational-2018" in {h["doc_id"] for h in hits}
    hits = json.loads(cli("search", "check in", "--topic", "lone-working", "--json").stdout)["hits"]
    assert {h["doc_id"] for h in hits} == {"lone-working-policy-2024"}


def test_search_batch(cli, tmp_path):
    q = tmp_path / "q.jsonl"
    q.write_text('{"id": "a", "query": "PEP regimen"}\n{"id": "b", "query": "lone worker devices"}\n')
    result = cli("search", "--queries", str(q), "-k", "2", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"]
    assert all(HIT_KEYS <= set(h) for x in lines for h in x["hits"])


def test_ask_json_and_batch(cli, tmp_path):
    result = cli("ask", "When should HIV PEP be started after an injury?", "--json")
    assert result.exit_code == 0, result.output
    a = json.loads(result.stdout)
    assert {"id", "answer", "answerable", "citations", "warnings"} <= set(a)
    assert a["answerable"] and CITATION_KEYS <= set(a["citations"][0])
    q = tmp_path / "q.jsonl"
    q.write_text('{"id": 7, "query": "When should HIV PEP be started?"}\n{"id": 8, "query": "What is the NHS pension rate?"}\n')
    lines = [json.loads(x) for x in cli("ask", "--queries", str(q), "--json").stdout.strip().splitlines()]
    assert [x["id"] for x in lines] == [7, 8]
    assert lines[0]["answerable"] and not lines[1]["answerable"]


def test_docs_list_show_supersede_retire_restore(cli):
    docs = json.loads(cli("docs", "list", "--json").stdout)["documents"]
    by_id = {d["doc_id"]: d for d in docs}
    assert by_id["hiv-pep-occupational-2018"]["status"] == "superseded"
    assert by_id["hiv-pep-occupational-2018"]["superseded_by"] == "hiv-pep-occupational-2025"
    shown = json.loads(cli("docs", "show", "lone-working-policy-2024", "--json").stdout)
    assert shown["document"]["doc_id"] == "lone-working-policy-2024" and shown["chunks"]
    assert cli("docs", "retire", "lone-working-policy-2024").exit_code == 0
    hits = json.loads(cli("search", "lone worker check in", "--json").stdout)["hits"]
    assert "lone-working-policy-2024" not in {h["doc_id"] for h in hits}
    assert cli("docs", "restore", "lone-working-policy-2024").exit_code == 0
    assert cli("docs", "supersede", "lone-working-policy-2024", "hiv-pep-occupational-2025").exit_code == 0
    assert cli("docs", "restore", "lone-working-policy-2024").exit_code == 0
    assert cli("docs", "show", "no-such-doc").exit_code == 2


def test_ask_is_audited_redacted_and_replayable(cli):
    import datetime as dt

    result = cli("ask", "Patient NHS number 943 476 5919: when should HIV PEP be started after an injury?", "--json")
    assert result.exit_code == 0, result.output
    a = json.loads(result.stdout)
    assert any("patient-identifiable" in w for w in a["warnings"])
    assert "5919" not in a["question"]  # redacted before it was searched
    shown = json.loads(cli("audit", "show", a["id"]).stdout)
    assert shown["channel"] == "cli" and shown["role"] == "member" and "[NHS number]" in shown["question"]
    assert [c["chunk_id"] for c in shown["citations"]] == [c["chunk_id"] for c in a["citations"]]
    replay = cli("audit", "replay", a["id"], "--json")
    assert replay.exit_code == 0, replay.output
    report = json.loads(replay.stdout)
    assert report["same"] and "redacted" in report["notes"][0]
    today = dt.date.today().isoformat()
    assert cli("docs", "retire", "lone-working-policy-2024").exit_code == 0
    assert cli("docs", "restore", "lone-working-policy-2024").exit_code == 0
    events = [json.loads(e) for e in cli("audit", "export", "--since", today, "--kind", "events").stdout.splitlines()]
    assert any(e["action"] == "ingest" for e in events)
    changes = [(e["action"], e["doc_id"], e["role"]) for e in events]
    assert changes[-2:] == [("retire", "lone-working-policy-2024", "cli"), ("restore", "lone-working-policy-2024", "cli")]
    assert all(e["user"] for e in events)  # who: the operating-system user
