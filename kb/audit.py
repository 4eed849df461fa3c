"""The audit log: what the assistant told whom, on which versions, and who changed the library.

Every answer goes through `record_answer` (the app, `kb ask` and the API call it), and
every curation action through `record_event`. Records live in the catalog tables
`audit_answers` and `audit_events` (portable SQL). The stored question is redacted
(`kb.pii.redact`). `enforce_retention` deletes records older than `audit_retention_days`
and records that it did so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, is_dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kb.errors import KBError
from kb.pii import WARNING_START, find_identifiers, redact
from kb.records import Answer, SearchFilters


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetrievedChunk(_Record):
    chunk_id: str
    doc_id: str
    version: str
    score: float
    dense_score: float | None = None
    dense_rank: int | None = None
    sparse_rank: int | None = None


class AnswerRecord(_Record):
    """One answer as it was given. Every field is exported (CSV: lists and dicts as JSON)."""

    answer_id: str
    at: dt.datetime
    user: str
    role: str
    channel: str = "app"  # app, cli or api
    question: str  # redacted
    pii_found: list[str] = Field(default_factory=list)  # kinds of identifier removed from the question
    filters: dict[str, Any] = Field(default_factory=dict)
    retrieved: list[RetrievedChunk] = Field(default_factory=list)
    answer: str
    answerable: bool
    citations: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    mode: str = "extractive"
    backend: str = ""
    model: str = ""
    embed_model: str = ""
    verdicts: list[dict[str, Any]] | None = None
    latency_ms: float = 0.0
    settings: dict[str, Any] = Field(default_factory=dict)  # the retrieval and answer settings used


# Settings that change what an answer says; recorded with every answer and used by replay.
ANSWER_SETTINGS = ("store", "collection", "embedder", "embed_model", "llm", "llm_model", "chunk_tokens", "embed_section",
                   "dense_k", "sparse_k", "rrf_k", "dense_weight", "sparse_weight", "fusion",
                   "fusion_dense_prior", "fusion_gap_depth", "max_chunks_per_doc", "top_k", "answer_threshold", "refusal",
                   "bulletin_weight", "bulletin_half_life", "boilerplate_weight", "query_expansion",
                   "maxsim_weight", "maxsim_depth", "maxsim_reorder")
# Those replay can apply over the same store, embedder and LLM (the rest need another store or model).
REPLAYABLE_SETTINGS = tuple(k for k in ANSWER_SETTINGS if k not in ("store", "collection", "embedder", "embed_model",
                                                                   "llm", "llm_model", "chunk_tokens", "embed_section"))


class AuditEvent(_Record):
    event_id: str
    at: dt.datetime
    user: str
    role: str
    action: str  # ingest, supersede, retire, restore, purge, settings, users.add, audit.retention, sign_in.failed
    doc_id: str = ""
    detail: str = ""


_JSON_FIELDS = {"pii_found", "filters", "retrieved", "citations", "warnings", "verdicts", "settings"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _plain(item: Any) -> dict:
    if isinstance(item, BaseModel):
        return item.model_dump(mode="json")
    if is_dataclass(item):
        return json.loads(json.dumps(asdict(item), default=str))
    return json.loads(json.dumps(item, default=str))


# ------------------------------------------------------------------ writing


def record_answer(
    catalog,
    answer: Answer,
    user: str | None,
    role: str | None,
    filters: SearchFilters | None = None,
    settings=None,
    channel: str = "app",
    latency_ms: float | None = None,
    question: str | None = None,
) -> str:
    """Store one answer for audit and return its id (put it in `answer.id`).

    `question` is what the user typed when it differs from `answer.question` (for example
    when identifiers were redacted before asking); only its redacted form is stored.
    """
    typed = answer.question if question is None else question
    found = list(dict.fromkeys(f.kind for f in find_identifiers(typed)))
    sentences = getattr(answer, "sentences", None)  # the claim checker's verdicts, when the pipeline has them
    generative = answer.mode == "generative"
    record = AnswerRecord(
        answer_id=uuid.uuid4().hex,
        at=_now(),
        user=user or "anonymous",
        role=role or "anonymous",
        channel=channel,
        question=redact(typed),
        pii_found=found,
        filters=(filters or SearchFilters()).model_dump(mode="json"),
        retrieved=[
            RetrievedChunk(chunk_id=h.chunk.chunk_id, doc_id=h.chunk.doc_id, version=h.chunk.version,
                           score=h.score, dense_score=h.dense_score, dense_rank=h.dense_rank,
                           sparse_rank=h.sparse_rank)
            for h in answer.hits
        ],
        answer=answer.answer,
        answerable=answer.answerable,
        citations=[c.model_dump(mode="json") for c in answer.citations],
        warnings=list(answer.warnings),
        mode=answer.mode,
        backend=getattr(settings, "store", "") or "",
        model=(getattr(settings, "llm_model", "") or getattr(settings, "llm", "")) if generative else "",
        embed_model=(getattr(settings, "embed_model", "") or "packaged all-MiniLM-L6-v2") if settings else "",
        verdicts=[_plain(s) for s in sentences] if sentences is not None else None,
        latency_ms=float(latency_ms if latency_ms is not None else answer.timings_ms.get("total", 0.0)),
        settings={k: getattr(settings, k) for k in ANSWER_SETTINGS if hasattr(settings, k)} if settings else {},
    )
    doc_ids = sorted({c.doc_id for c in answer.citations} | {r.doc_id for r in record.retrieved})
    catalog.execute(
        "INSERT INTO audit_answers (answer_id, at, user_name, role, question, doc_ids, record) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (record.answer_id, _iso(record.at), record.user, record.role, record.question,
         json.dumps(doc_ids), record.model_dump_json()),
    )
    if settings is not None:
        _maybe_enforce(catalog, settings)
    return record.answer_id


def record_event(catalog, action: str, user: str | None, role: str | None, doc_id: str = "",
                 detail: str = "") -> str:
    """Store one curation or security event (who did what to which document)."""
    event = AuditEvent(event_id=uuid.uuid4().hex, at=_now(), user=user or "anonymous",
                       role=role or "anonymous", action=action, doc_id=doc_id or "", detail=detail)
    catalog.execute(
        "INSERT INTO audit_events (event_id, at, user_name, role, action, doc_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (event.event_id, _iso(event.at), event.user, event.role, event.action, event.doc_id, event.detail),
    )
    return event.event_id


# ------------------------------------------------------------------ reading


def _bounds(since: dt.date | None, until: dt.date | None) -> tuple[str, list[str]]:
    clauses, params = [], []
    if since:
        clauses.append("at >= ?")
        params.append(f"{since.isoformat()}T00:00:00")
    if until:
        clauses.append("at < ?")
        params.append(f"{(until + dt.timedelta(days=1)).isoformat()}T00:00:00")
    return " AND ".join(clauses), params


def _where(since, until, user: str | None, doc: tuple[str, str] | None) -> tuple[str, list]:
    """" WHERE ..." (or "") and its parameters: date bounds, user, and a document clause."""
    where, params = _bounds(since, until)
    clauses = [where] if where else []
    if user:
        clauses.append("user_name = ?")
        params.append(user)
    if doc:
        clauses.append(doc[0])
        params.append(doc[1])
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def answers(catalog, since: dt.date | None = None, until: dt.date | None = None, user: str | None = None,
            doc_id: str | None = None, limit: int | None = None) -> list[AnswerRecord]:
    """Answer records, oldest first, filtered by date (inclusive), user and document."""
    clauses, params = _where(since, until, user, ("doc_ids LIKE ?", f'%"{doc_id}"%') if doc_id else None)
    sql = "SELECT record FROM audit_answers" + clauses
    sql += " ORDER BY at, answer_id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [AnswerRecord.model_validate_json(r["record"]) for r in catalog.query(sql, params)]


def answer(catalog, answer_id: str) -> AnswerRecord:
    rows = catalog.query("SELECT record FROM audit_answers WHERE answer_id = ?", (answer_id,))
    if not rows:
        raise KBError(f"No audited answer with id {answer_id!r}. List them with `kb audit export --since DATE`.")
    return AnswerRecord.model_validate_json(rows[0]["record"])


def events(catalog, since: dt.date | None = None, until: dt.date | None = None, user: str | None = None,
           doc_id: str | None = None) -> list[AuditEvent]:
    clauses, params = _where(since, until, user, ("doc_id = ?", doc_id) if doc_id else None)
    sql = ("SELECT event_id, at, user_name AS user, role, action, doc_id, detail FROM audit_events"
           + clauses + " ORDER BY at, event_id")
    return [AuditEvent.model_validate(r) for r in catalog.query(sql, params)]


# ------------------------------------------------------------------ export


def to_jsonl(records: Iterable[BaseModel]) -> str:
    return "".join(r.model_dump_json() + "\n" for r in records)


def to_csv(records: Iterable[BaseModel], model: type[BaseModel] = AnswerRecord) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(model.model_fields), lineterminator="\n")
    writer.writeheader()
    for r in records:
        row = r.model_dump(mode="json")
        writer.writerow({k: json.dumps(v) if k in _JSON_FIELDS else v for k, v in row.items()})
    return out.getvalue()


def from_jsonl(text: str, model: type[BaseModel] = AnswerRecord) -> list[BaseModel]:
    return [model.model_validate_json(line) for line in text.splitlines() if line.strip()]


def from_csv(text: str, model: type[BaseModel] = AnswerRecord) -> list[BaseModel]:
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        data: dict[str, Any] = {k: json.loads(v) if k in _JSON_FIELDS else v for k, v in row.items()}
        rows.append(model.model_validate(data))
    return rows


# ------------------------------------------------------------------ retention

_last_enforced: dict[str, float] = {}
_enforce_lock = threading.Lock()


def enforce_retention(catalog, days: int, user: str = "system", role: str = "system",
                      now: dt.datetime | None = None, record_empty: bool = True) -> int:
    """Delete audit records older than `days` (0 keeps everything); the deletion is itself recorded.

    `record_empty=False` (the automatic hourly run) records only runs that deleted something.
    """
    if days <= 0:
        return 0
    cutoff = _iso((now or _now()) - dt.timedelta(days=days))
    gone = catalog.execute("DELETE FROM audit_answers WHERE at < ?", (cutoff,))
    gone += catalog.execute("DELETE FROM answers WHERE at < ?", (cutoff,))  # kb.ask(log=True)'s older log
    gone_events = catalog.execute("DELETE FROM audit_events WHERE at < ?", (cutoff,))
    if not (gone or gone_events or record_empty):
        return 0
    record_event(catalog, "audit.retention", user, role,
                 detail=f"deleted {gone} answers and {gone_events} events recorded before {cutoff} "
                        f"(audit_retention_days={days})")
    return gone + gone_events


def _maybe_enforce(catalog, settings, every_s: float = 3600.0) -> None:
    """Enforce retention at most once an hour per catalog, from the answer path."""
    key = str(getattr(catalog, "path", id(catalog)))
    with _enforce_lock:
        if time.monotonic() - _last_enforced.get(key, -every_s) < every_s:
            return
        _last_enforced[key] = time.monotonic()
    enforce_retention(catalog, int(getattr(settings, "audit_retention_days", 0) or 0), record_empty=False)


# ------------------------------------------------------------------ replay


class ReplayReport(_Record):
    answer_id: str
    same: bool
    differences: dict[str, dict[str, Any]] = Field(default_factory=dict)  # field -> {recorded, now}
    notes: list[str] = Field(default_factory=list)


def _citation_keys(citations: Iterable[dict]) -> list[dict]:
    return [{k: c.get(k) for k in ("n", "doc_id", "version", "chunk_id", "quote")} for c in citations]


def replay(kb, answer_id: str) -> ReplayReport:
    """Ask the recorded question again with the recorded filters and compare the results.

    What cannot be reproduced: identifiers redacted out of the question are gone; answers
    whose cited versions have since been replaced cite the new versions (old chunks are
    deleted until every version is kept); a generative answer needs the same model.
    """
    rec = answer(kb.catalog, answer_id)
    notes = []
    if rec.pii_found:
        notes.append("The recorded question was redacted; the redacted text was asked.")
    mode = rec.mode
    if mode == "generative" and kb.settings.llm == "none":
        notes.append("The answer was generative but no LLM is configured; replayed extractively.")
        mode = "extractive"
    asker = kb
    changed = {k: v for k, v in rec.settings.items() if k in REPLAYABLE_SETTINGS and getattr(kb.settings, k, v) != v}
    if changed:  # answer with the recorded settings, over the same store, model and catalog
        from kb.service import KnowledgeBase

        notes.append("Replayed with the recorded settings: " + ", ".join(f"{k}={v}" for k, v in changed.items()))
        asker = KnowledgeBase(kb.settings.replace(**changed), embedder=kb.embedder, store=kb.store,
                              catalog=kb.catalog)
    for k in ("store", "embedder", "embed_model", "chunk_tokens"):
        if k in rec.settings and getattr(kb.settings, k, None) != rec.settings[k]:
            notes.append(f"{k} was {rec.settings[k]!r} and is now {getattr(kb.settings, k)!r}: not reproducible.")
    now = asker.ask(rec.question, filters=SearchFilters.model_validate(rec.filters), answer_mode=mode)
    live = kb.catalog.live_versions(c["doc_id"] for c in rec.citations)
    replaced = sorted({c["doc_id"] for c in rec.citations if c["doc_id"] in live
                       and live[c["doc_id"]][0] != c["version"]})
    if replaced:
        notes.append("Cited versions have been replaced since: " + ", ".join(replaced) + ".")
    pairs = {
        "answer": (rec.answer, now.answer),
        "citations": (_citation_keys(rec.citations), _citation_keys(c.model_dump(mode="json") for c in now.citations)),
        # the identifier warning was about the typed question, which replay never sees
        "warnings": ([w for w in rec.warnings if not w.startswith(WARNING_START)], list(now.warnings)),
    }
    diffs = {k: {"recorded": a, "now": b} for k, (a, b) in pairs.items() if a != b}
    return ReplayReport(answer_id=answer_id, same=not diffs, differences=diffs, notes=notes)


def record_cli_event(catalog, action: str, doc_id: str = "", detail: str = "") -> str:
    """A curation event done from the command line: the operating-system user, role "cli"."""
    import getpass

    return record_event(catalog, action, getpass.getuser(), "cli", doc_id, detail)
