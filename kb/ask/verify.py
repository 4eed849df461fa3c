"""Verify: every generated sentence is checked against the sources it cites.

- `supported`: kept and verified; its citation quotes the span the checker found.
- `contradicted`: never shown as verified; it is always removed (a wrong dose is worse than none).
- `unsupported` (or no valid citation): removed (`unverified = drop`, the default) or shown
  marked as unverified (`unverified = flag`).
Citations are renumbered after removals. If nothing verified is left, the answer is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from kb.ask.compose import Draft
from kb.llm_reply import GeneratedSentence
from kb.records import Chunk, Citation, Hit, SentenceCheck
from kb.verify import ClaimChecker, Passage

UNVERIFIED_MARK = "(unverified)"


def verify_generated(
    sentences: list[GeneratedSentence],
    hits: list[Hit],
    checker: ClaimChecker,
    link_for: Callable[[Chunk], str],
    unverified: str = "drop",
    model: str = "",
) -> Draft:
    checks: list[tuple[GeneratedSentence, list[int], SentenceCheck, tuple[int, int, int] | None]] = []
    for g in sentences:
        valid = [n for n in g.citations if 1 <= n <= len(hits)]
        if not valid:
            why = f"cites source {g.out_of_range[0]}, which does not exist" if g.out_of_range else "cites no source"
            checks.append((g, [], SentenceCheck(text=g.text, citations=g.citations, verdict="unsupported",
                                                verified=False, reason=why), None))
            continue
        v = checker.check(g.text, [Passage.of(hits[n - 1].chunk) for n in valid])
        span = (valid[v.evidence.passage], v.evidence.start, v.evidence.end) if v.evidence else None
        checks.append((g, valid, SentenceCheck(text=g.text, citations=valid, verdict=v.verdict,
                                               verified=v.verdict == "supported", support=v.score,
                                               reason=v.reason, sources=[hits[n - 1].chunk.chunk_id for n in valid]),
                       span))
    numbering: dict[int, int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    out: list[SentenceCheck] = []
    warnings: list[str] = []
    for g, valid, check, span in checks:
        show = check.verified or (unverified == "flag" and check.verdict != "contradicted" and valid)
        if not show:
            out.append(check.model_copy(update={"shown": False}))
            what = "contradicts" if check.verdict == "contradicted" else "is not supported by"
            warnings.append(f'Removed a generated sentence that {what} its sources: "{g.text[:120]}" ({check.reason})')
            continue
        marks = []
        for src in valid:
            if src not in numbering:
                numbering[src] = len(numbering) + 1
                chunk = hits[src - 1].chunk
                start, end = (span[1], span[2]) if span and span[0] == src else (0, min(len(chunk.text), 240))
                citations.append(Citation.quoting(numbering[src], chunk, start, end, link_for(chunk)))
            marks.append(f"[{numbering[src]}]")
        flag = "" if check.verified else f" {UNVERIFIED_MARK}"
        parts.append(f"{g.text}{flag} {''.join(marks)}")
        out.append(check.model_copy(update={"citations": [numbering[s] for s in valid]}))
    return Draft(" ".join(parts), citations, out, warnings, mode="generative", model=model)
