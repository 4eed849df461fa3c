"""The golden set over `corpus/`: cases, validation against the corpus, and the fresh KB.

Case kinds and what passes:
- answerable: the answer is not a refusal and cites a gold document.
- unanswerable: the answer is a refusal.
- stale (superseded or past-review guidance): the answer is not a refusal, cites a gold
  document, which is the *current* document, cites no superseded document, and carries a
  currency warning (cited doc past review or superseded, or superseded guidance also matched).
Any case with `expect_warning` also needs a warning.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from evals.paths import CACHE, CORPUS, GOLDEN, REPO_ROOT

Kind = Literal["answerable", "stale", "unanswerable"]


class GoldenCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    kind: Kind
    gold_doc_ids: list[str] = Field(default_factory=list)
    gold_pages: list[int] = Field(default_factory=list)
    gold_section: str = ""
    key_phrases: list[str] = Field(default_factory=list)
    reference_answer: str = ""
    expect_warning: bool = False


def load_cases(path: Path = GOLDEN) -> list[GoldenCase]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append(GoldenCase.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: {exc}") from exc
    return out


def spread(cases: list[GoldenCase], limit: int | None) -> list[GoldenCase]:
    """`limit` cases evenly spaced through the set (all of them for None or 0).

    The golden file is grouped by kind (answerable first, unanswerable last), so the first N
    would hold no unanswerable case and refusal precision and recall would mean nothing.

    >>> [c.id for c in spread([GoldenCase(id=str(i), question="q", kind="answerable") for i in range(10)], 3)]
    ['0', '3', '6']
    """
    if not limit or limit >= len(cases):
        return list(cases)
    return [cases[i * len(cases) // limit] for i in range(limit)]


def write_cases(cases: Iterable[GoldenCase], path: Path = GOLDEN) -> None:
    path.write_text("".join(c.model_dump_json() + "\n" for c in cases), encoding="utf-8")


# ---------------------------------------------------------------- the corpus


@dataclass
class CorpusDoc:
    doc_id: str
    path: Path
    status: str
    review_due: str | None
    supersedes: list[str]
    text: str = ""
    pages: dict[int, str] = field(default_factory=dict)


def manifest_docs(corpus: Path = CORPUS) -> dict[str, CorpusDoc]:
    """doc_id -> the manifest entry, for every `corpus/*/manifest.yaml`."""
    out: dict[str, CorpusDoc] = {}
    for manifest in sorted(corpus.glob("*/manifest.yaml")):
        data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
        for name, meta in (data.get("documents") or {}).items():
            meta = meta or {}
            doc_id = meta.get("doc_id") or Path(name).stem
            out[doc_id] = CorpusDoc(
                doc_id, manifest.parent / name, str(meta.get("status", "current")),
                str(meta["review_due"]) if meta.get("review_due") else None, list(meta.get("supersedes") or []),
            )
    return out


def extract_text(doc: CorpusDoc) -> CorpusDoc:
    """Fill `text` and `pages` with the loader's extracted text."""
    from ingest.loaders import load_document

    parsed = load_document(doc.path)
    doc.text = "\n\n".join(b.text for b in parsed.blocks)
    for b in parsed.blocks:
        if b.page is not None:
            doc.pages[b.page] = doc.pages.get(b.page, "") + "\n\n" + b.text
    return doc


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-").split())


def validate_case(case: GoldenCase, docs: dict[str, CorpusDoc]) -> list[str]:
    """Problems with one case against the corpus; empty when it is sound."""
    problems = []
    if not case.question.strip():
        problems.append("empty question")
    if case.kind == "unanswerable":
        if case.gold_doc_ids:
            problems.append("unanswerable case lists gold documents")
        return problems
    if not case.gold_doc_ids:
        return problems + ["no gold_doc_ids"]
    for d in case.gold_doc_ids:
        if d not in docs:
            problems.append(f"gold doc {d!r} is not in any manifest")
    if problems:
        return problems
    if case.kind == "stale" and any(docs[d].status != "current" for d in case.gold_doc_ids):
        problems.append("stale case: gold documents must be the current ones")
    texts = [_norm(docs[d].text) for d in case.gold_doc_ids]
    for phrase in case.key_phrases:
        if not any(_norm(phrase) in t for t in texts):
            problems.append(f"key phrase not in gold text: {phrase!r}")
    if case.gold_pages:
        paged = [docs[d] for d in case.gold_doc_ids if docs[d].pages]
        if not paged:
            problems.append("gold_pages given but no gold document has pages")
        else:
            page_text = " ".join(_norm(d.pages.get(p, "")) for d in paged for p in case.gold_pages)
            missing = [p for p in case.key_phrases if _norm(p) not in page_text]
            if missing:
                problems.append(f"key phrase(s) not on gold pages {case.gold_pages}: {missing}")
    return problems


# ---------------------------------------------------------------- the golden KB


def corpus_fingerprint(corpus: Path = CORPUS, **params) -> str:
    h = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for f in sorted(corpus.rglob("*")):
        rel = f.relative_to(corpus)
        if f.is_file() and not any(p.startswith((".", "_")) for p in rel.parts):
            h.update(str(rel).encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    h.update(ingest_code_fingerprint().encode())  # loader or chunker changes
    return h.hexdigest()[:12]


# Code outside ingest/ that decides what a stored chunk is: its embedded and BM25 text, its vector.
_STORED_TEXT_CODE = ("kb/mapping.py", "kb/embedder.py", "kb/bert.py", "kb/sparse.py")


def encoder_precision(settings) -> str:
    """The local model's resolved arithmetic (fp32 or bf16): part of every eval KB's cache key."""
    from kb.embedder import resolve_precision

    return resolve_precision(settings.embed_precision, settings.embed_model) if settings.embedder == "local" else ""


def ingest_code_fingerprint() -> str:
    h = hashlib.sha256()
    for src in [*sorted((REPO_ROOT / "ingest").rglob("*.py")), *(REPO_ROOT / p for p in _STORED_TEXT_CODE)]:
        h.update(src.read_bytes())
    return h.hexdigest()[:12]


def golden_kb(progress: Callable[[str, int, int, str], None] | None = None, fresh: bool = False, **overrides):
    """A KB built by ingesting `corpus/` into a temp dir, reused while corpus and ingest code
    are unchanged (keyed by their bytes and the chunk settings)."""
    import shutil

    from ingest.pipeline import ingest_paths
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    base = load_settings(**overrides)
    key = corpus_fingerprint(chunk_tokens=base.chunk_tokens, embedder=base.embedder, model=base.embed_model,
                             precision=encoder_precision(base),
                             **({"embed_section": True} if base.embed_section else {}))
    kb_dir = CACHE / f"golden-{key}"
    settings = base.replace(kb_dir=kb_dir)
    if fresh or not (kb_dir / ".complete").is_file():
        if kb_dir.exists():
            shutil.rmtree(kb_dir)
        with KnowledgeBase.open(settings) as kb:
            report = ingest_paths(kb, [CORPUS], progress=progress)
        if report.failed:  # never cache a partial corpus: every eval on it would be wrong
            shutil.rmtree(kb_dir)
            raise RuntimeError(f"ingesting corpus/ for the eval failed for {len(report.failed)} file(s): "
                               f"{report.failed[0]['path']}: {report.failed[0]['error'][:300]}")
        (kb_dir / "ingest.json").write_text(json.dumps(report.contract(), default=str))
        (kb_dir / ".complete").write_text(key)
    return KnowledgeBase.open(settings)
