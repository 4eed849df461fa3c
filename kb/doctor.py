"""`kb doctor`: compare the catalog (the truth) with the store, and repair what disagrees.

Findings (`kind`):
- `unfinished_intent`: a command was killed between its catalog and store writes;
- `unfinished_run`: an ingest run never finished (it was killed);
- `missing_chunks`: a live document has fewer chunks of its live version than the catalog says;
- `extra_chunks`: it has more (a half-written re-store of the same version);
- `orphan_points`: points of a version the catalog does not know;
- `payload_mismatch`: chunk payload (status, title, type, topics, audience, dates) disagrees
  with the catalog;
- `live_flag`: the live version's chunks are marked not live, or an old version's live.
Everything but `missing_chunks` and `extra_chunks` is repaired here; missing chunks need the
file re-embedded, which `kb doctor --repair` does through the ingest pipeline
(kb/cli/maint_cmd.py). Extra chunks (left by a changed chunk size) are only reported.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

from kb.mapping import payload_fields
from kb.repair import close_interrupted_runs, finish_ingest, repair_pending
from kb.store import LIVE, PointFilter

_COMPARED = ("status", "title", "doc_type", "topics", "audience", "published", "review_due")


@dataclass(frozen=True)
class Finding:
    kind: str
    doc_id: str
    detail: str
    version: str = ""


@dataclass
class DoctorReport:
    findings: list[Finding] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    reingest: list[str] = field(default_factory=list)  # doc ids whose chunks must be re-embedded

    @property
    def ok(self) -> bool:
        return not self.findings

    def contract(self) -> dict:
        return {
            "ok": self.ok,
            "findings": [asdict(f) for f in self.findings],
            "repaired": self.repaired,
        }


def _same(payload_value, catalog_value) -> bool:
    if isinstance(catalog_value, list):
        return sorted(payload_value or []) == sorted(catalog_value)
    if isinstance(payload_value, str) and isinstance(catalog_value, str) and "T" in payload_value:
        return payload_value.startswith(catalog_value)
    return payload_value == catalog_value


def examine(catalog, store) -> list[Finding]:
    """Everything on which the catalog and the store disagree (read-only)."""
    out: list[Finding] = []
    intents = catalog.intents()
    for row in intents:
        out.append(Finding("unfinished_intent", row["doc_id"],
                           f"{row['action']} started {row['started_at']} did not finish",
                           row["detail"].get("version", "")))
    for run in catalog.unfinished_runs():
        out.append(Finding("unfinished_run", "", f"ingest run {run['run_id']} started {run['started_at']}"))
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for p in store.scroll():
        groups[(p.payload.get("doc_id", ""), p.payload.get("version", ""))].append(p.payload)
    known = catalog.all_versions()
    # a document with an unfinished intent is that intent's to finish or undo: it is reported
    # once, as the intent, not again as orphans or mismatches
    journaled = {r["doc_id"] for r in intents} | {r["detail"].get("new_id", "") for r in intents}
    docs = {d.doc_id: d for d in catalog.documents()}
    for (doc_id, version), payloads in sorted(groups.items()):
        if doc_id in journaled:
            continue
        if (doc_id, version) not in known and not (doc_id in docs and docs[doc_id].version == version):
            out.append(Finding("orphan_points", doc_id, f"{len(payloads)} points of an unknown version", version))
            continue
        doc = docs.get(doc_id)
        if doc is None:
            continue
        live = version == doc.version
        flags = {bool(pl.get("live", LIVE)) for pl in payloads}
        if (live and False in flags) or (not live and True in flags):
            out.append(Finding("live_flag", doc_id, f"version marked {'not ' if live else ''}live", version))
        wanted = payload_fields(doc)
        wrong = sorted({k for pl in payloads for k in _COMPARED if not _same(pl.get(k), wanted[k])})
        if wrong:
            out.append(Finding("payload_mismatch", doc_id, "payload disagrees on " + ", ".join(wrong), version))
    for doc in docs.values():
        if doc.doc_id in journaled:
            continue
        have = len(groups.get((doc.doc_id, doc.version), []))
        if have < doc.chunk_count:
            out.append(Finding("missing_chunks", doc.doc_id, f"{have} of {doc.chunk_count} chunks in the store",
                               doc.version))
        elif have > doc.chunk_count:
            out.append(Finding("extra_chunks", doc.doc_id, f"{have} chunks, the catalog says {doc.chunk_count}",
                               doc.version))
    return out


def repair(catalog, store, any_owner: bool = False) -> DoctorReport:
    """Repair what can be repaired without re-embedding; report the rest."""
    report = DoctorReport()
    report.repaired += repair_pending(catalog, store, any_owner=any_owner)
    report.repaired += close_interrupted_runs(catalog)
    for f in examine(catalog, store):
        doc = catalog.get(f.doc_id) if f.doc_id else None
        if f.kind == "orphan_points":
            store.delete(PointFilter(doc_ids=(f.doc_id,), versions=(f.version,)))
            report.repaired.append(f"{f.doc_id}: deleted {f.detail}")
        elif f.kind == "live_flag" and doc is not None:
            report.repaired.append(finish_ingest(catalog, store, f.doc_id, doc.version))
        elif f.kind == "payload_mismatch" and doc is not None:
            store.set_payload(PointFilter(doc_ids=(f.doc_id,)), payload_fields(doc))
            report.repaired.append(f"{f.doc_id}: payload set from the catalog")
        elif f.kind == "missing_chunks" and doc is not None:
            report.reingest.append(f.doc_id)
    report.findings = examine(catalog, store)
    return report
