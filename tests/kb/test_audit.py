"""The audit log: every field recorded, exported and read back; redaction; retention; replay; CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from kb import audit
from kb.access import ask_as
from kb.auth import AuthConfig, Session
from kb.cli import app
from kb.curation import retire_document
from kb.errors import KBError
from kb.records import SearchFilters, SentenceCheck

QUESTION = "What should staff do after a needlestick injury?"
NHS = "943 476 5919"  # valid modulus-11 check digit
TODAY = dt.datetime.now(dt.UTC).date()


def _record(kb, session=Session("mo", "member"), question=QUESTION, **kw):
    answer = ask_as(kb, session, AuthConfig(), question, SearchFilters(topics=[]), **kw)
    return answer, audit.answer(kb.catalog, answer.id)


def test_answer_is_recorded_with_every_field(edge_kb):
    answer, rec = _record(edge_kb)
    assert (rec.user, rec.role, rec.channel) == ("mo", "member", "app")
    assert rec.question == QUESTION and rec.answer == answer.answer and rec.answerable == answer.answerable
    assert rec.retrieved and all(r.version and r.chunk_id and r.score is not None for r in rec.retrieved)
    assert {r.chunk_id for r in rec.retrieved} == {h.chunk.chunk_id for h in answer.hits}
    assert [c["chunk_id"] for c in rec.citations] == [c.chunk_id for c in answer.citations]
    assert all(c["version"] for c in rec.citations)
    assert rec.warnings == answer.warnings
    assert rec.filters["include_superseded"] is False
    assert rec.mode == "extractive" and rec.backend == "edge" and rec.latency_ms > 0
    assert rec.verdicts == [s.model_dump(mode="json") for s in answer.sentences]  # the checker's verdicts
    assert abs((rec.at - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_checker_verdicts_are_recorded(edge_kb):
    plain = edge_kb.ask(QUESTION)
    checked = plain.model_copy(update={"sentences": [SentenceCheck(text="x", citations=[1], verdict="unsupported",
                                                                   verified=False, support=0.2, reason="why")]})
    answer_id = audit.record_answer(edge_kb.catalog, checked, "rita", "reviewer", None, edge_kb.settings)
    (verdict,) = audit.answer(edge_kb.catalog, answer_id).verdicts
    assert verdict["verdict"] == "unsupported" and verdict["reason"] == "why" and verdict["citations"] == [1]


def test_stored_question_is_redacted(edge_kb):
    typed = f"My patient Mrs Jane Smith, NHS number {NHS}, had a needlestick injury: what now?"
    answer, rec = _record(edge_kb, question=typed)
    assert any("patient-identifiable" in w for w in answer.warnings)
    assert answer.question == rec.question  # the redacted question was what got searched
    assert "5919" not in rec.question and "[NHS number]" in rec.question
    assert rec.pii_found == ["nhs_number"]
    raw = b"".join(p.read_bytes() for p in edge_kb.settings.kb_dir.glob("catalog.db*"))
    assert b"476 5919" not in raw and b"4765919" not in raw


def test_export_round_trips_every_field(edge_kb):
    _record(edge_kb)
    plain = edge_kb.ask(QUESTION)
    checked = plain.model_copy(update={"sentences": [SentenceCheck(text='a, "b"\nc', verdict="unsupported")]})
    audit.record_answer(edge_kb.catalog, checked, "rita", "reviewer", SearchFilters(topics=["t"]),
                        edge_kb.settings, channel="api", latency_ms=12.5)
    records = audit.answers(edge_kb.catalog, since=TODAY)
    assert len(records) == 2
    assert records[1].verdicts and records[1].channel == "api" and records[1].latency_ms == 12.5
    assert audit.from_jsonl(audit.to_jsonl(records)) == records
    csv_text = audit.to_csv(records)
    assert csv_text.splitlines()[0].split(",") == list(audit.AnswerRecord.model_fields)
    assert audit.from_csv(csv_text) == records
    events = [audit.AuditEvent.model_validate(
        {"event_id": "e1", "at": "2026-01-02T03:04:05+00:00", "user": "cu", "role": "curator",
         "action": "retire", "doc_id": "d", "detail": 'why, "quoted"'})]
    assert audit.from_csv(audit.to_csv(events, audit.AuditEvent), audit.AuditEvent) == events


def test_filters_by_date_user_and_document(edge_kb):
    _record(edge_kb, Session("mo", "member"))
    _record(edge_kb, Session("cu", "curator"))
    cat = edge_kb.catalog
    assert [r.user for r in audit.answers(cat, user="cu")] == ["cu"]
    assert len(audit.answers(cat, doc_id="staff-only")) == 2
    assert audit.answers(cat, doc_id="no-such-doc") == []
    assert audit.answers(cat, since=TODAY + dt.timedelta(days=1)) == []
    assert len(audit.answers(cat, since=TODAY, until=TODAY)) == 2
    assert audit.answers(cat, until=TODAY - dt.timedelta(days=1)) == []


def test_unknown_answer_id_is_a_clear_error(edge_kb):
    with pytest.raises(KBError, match="No audited answer with id 'nope'"):
        audit.answer(edge_kb.catalog, "nope")


def test_retention_deletes_old_records_and_is_audited(edge_kb):
    _, old = _record(edge_kb)
    _, new = _record(edge_kb)
    cat = edge_kb.catalog
    cat.execute("UPDATE audit_answers SET at = ? WHERE answer_id = ?", ("2020-01-01T00:00:00+00:00", old.answer_id))
    audit.record_event(cat, "retire", "cu", "curator", "x", "old event")
    cat.execute("UPDATE audit_events SET at = ? WHERE action = 'retire'", ("2020-01-01T00:00:00+00:00",))
    assert audit.enforce_retention(cat, 0) == 0  # 0 keeps everything
    assert audit.enforce_retention(cat, 365, "ada", "admin") == 2
    assert [r.answer_id for r in audit.answers(cat)] == [new.answer_id]
    (event,) = audit.events(cat)
    assert (event.action, event.user) == ("audit.retention", "ada")
    assert "deleted 1 answers and 1 events" in event.detail


def test_curation_events_record_who(edge_kb):
    audit.record_event(edge_kb.catalog, "supersede", "cu", "curator", "staff-only", "by public-leaflet")
    (event,) = audit.events(edge_kb.catalog, doc_id="staff-only")
    assert (event.user, event.role, event.action) == ("cu", "curator", "supersede")
    assert audit.events(edge_kb.catalog, user="someone-else") == []


def test_replay_same_then_different(edge_kb):
    answer, rec = _record(edge_kb)
    assert any(c.doc_id == "staff-only" for c in answer.citations)
    report = audit.replay(edge_kb, rec.answer_id)
    assert report.same and not report.differences
    retire_document(edge_kb, "staff-only", "test")
    report = audit.replay(edge_kb, rec.answer_id)
    assert not report.same and "citations" in report.differences
    assert any(c["doc_id"] == "staff-only" for c in report.differences["citations"]["recorded"])


# ---------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(edge_kb, monkeypatch, tmp_path):
    monkeypatch.setenv("KB_DIR", str(edge_kb.settings.kb_dir))
    monkeypatch.delenv("KB_USERS_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    return edge_kb


def test_cli_export_and_show(cli_env):
    _, rec = _record(cli_env)
    runner = CliRunner()
    out = runner.invoke(app, ["audit", "export", "--since", TODAY.isoformat(), "--format", "jsonl"])
    assert out.exit_code == 0, out.output
    (line,) = [json.loads(x) for x in out.stdout.splitlines()]
    assert line["answer_id"] == rec.answer_id and line["retrieved"]
    target = cli_env.settings.kb_dir / "export.csv"
    out = runner.invoke(app, ["audit", "export", "--since", TODAY.isoformat(), "--until", TODAY.isoformat(),
                              "--format", "csv", "--output", str(target)])
    assert out.exit_code == 0, out.output
    assert audit.from_csv(target.read_text()) == [rec]
    out = runner.invoke(app, ["audit", "show", rec.answer_id])
    assert out.exit_code == 0 and json.loads(out.stdout)["question"] == QUESTION
    assert runner.invoke(app, ["audit", "show", "nope"]).exit_code == 2
    bad = runner.invoke(app, ["audit", "export", "--since", "yesterday"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_cli_events_export_and_prune(cli_env):
    runner = CliRunner()
    out = runner.invoke(app, ["audit", "prune"])
    assert out.exit_code == 0 and "0 audit records deleted" in out.output
    out = runner.invoke(app, ["audit", "export", "--since", TODAY.isoformat(), "--kind", "events"])
    assert [json.loads(x)["action"] for x in out.stdout.splitlines()] == ["audit.retention"]


def test_cli_users_add_prompts_and_writes_the_hash(cli_env):
    runner = CliRunner()
    out = runner.invoke(app, ["users", "add", "ada", "--role", "admin"], input="pw-1\npw-1\n")
    assert out.exit_code == 0, out.output
    users = cli_env.settings.kb_dir / "users.toml"
    assert users.stat().st_mode & 0o777 == 0o600
    assert "pw-1" not in users.read_text() and "pbkdf2_sha256$600000$" in users.read_text()
    listed = runner.invoke(app, ["users", "list", "--json"])
    assert json.loads(listed.stdout) == {"users": [{"user": "ada", "role": "admin"}]}
    assert runner.invoke(app, ["users", "add", "x", "--role", "owner"], input="a\na\n").exit_code == 2
    (event,) = [e for e in audit.events(cli_env.catalog) if e.action == "users.add"]
    assert "ada as admin" in event.detail


def test_replay_uses_the_recorded_settings(edge_kb):
    from kb.service import KnowledgeBase

    answer, rec = _record(edge_kb)
    assert rec.settings["answer_threshold"] == 0.0 and rec.settings["fusion"] == edge_kb.settings.fusion
    stricter = KnowledgeBase(edge_kb.settings.replace(answer_threshold=0.99), embedder=edge_kb.embedder,
                             store=edge_kb.store, catalog=edge_kb.catalog)
    assert not stricter.ask(QUESTION).answerable  # today's settings alone would refuse
    report = audit.replay(stricter, rec.answer_id)
    assert report.same, report.differences
    assert any("answer_threshold=0.0" in n for n in report.notes)
