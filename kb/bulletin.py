"""Citations for a bulletin draft (`kb cite`, the Bulletin page): each claim checked against the library.

1. The draft is split into claims: sentences and bullet points. Headings, blank lines and links
   are kept as they are.
2. Each claim is searched (superseded documents included) and checked by the claim checker
   against current primary guidance, current bulletins and superseded guidance separately:
   - supported by current guidance: `supported`, citing the passage that supports it;
   - a current source contradicts it: `contradicted`, showing the sentence it contradicts;
     a current bulletin that supports it does not save it when newer guidance contradicts it;
   - only superseded guidance supports it: flagged `superseded_only`, with the current version;
   - otherwise `unsupported`.
3. Up to three alternatives per claim, with their verdicts.

The JSON contract (`kb cite --json`):
{"claims":[{"text","verdict","score","reason","citations":[{"n","doc_id","title","section",
"page_start","page_end","quote","link",...}],"alternatives":[...],"flags":[...]}],
"annotated","references"}
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from kb.records import Chunk, DocStatus, DocType, Hit, SearchFilters
from kb.sentences import split_sentences
from kb.verify import Passage, Verdict

MIN_WORDS = 5
SEARCH_K = 8
MAX_ALTERNATIVES = 3
_HEADING = re.compile(r"^\s*(#{1,6}\s|={3,}|-{3,}\s*$)")
_BULLET = re.compile(r"^(\s*(?:[-*\u2022]|\d+[.)])\s+)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


@dataclass
class ClaimResult:
    text: str
    verdict: str
    score: float
    reason: str
    citations: list[dict] = field(default_factory=list)
    alternatives: list[dict] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"text": self.text, "verdict": self.verdict, "score": self.score, "reason": self.reason,
                "citations": self.citations, "alternatives": self.alternatives, "flags": self.flags}


@dataclass(frozen=True)
class Segment:
    """A piece of the draft: a claim to check, or text kept as it is (headings, links, blanks)."""

    text: str
    claim: bool
    line_end: bool = False


def plain(text: str) -> str:
    """Claim text without Markdown link syntax or emphasis."""
    return " ".join(_LINK.sub(r"\1", text).replace("**", "").replace("__", "").split())


def split_draft(draft: str) -> list[Segment]:
    out: list[Segment] = []
    for line in draft.splitlines():
        if not line.strip() or _HEADING.match(line):
            out.append(Segment(line, False, True))
            continue
        m = _BULLET.match(line)
        if m:
            out.append(Segment(m.group(1), False))
            body = line[m.end():]
            out.append(Segment(body, len(plain(body).split()) >= MIN_WORDS, True))
            continue
        sents = split_sentences(line)
        for i, s in enumerate(sents):
            out.append(Segment(s.text, len(plain(s.text).split()) >= MIN_WORDS, i == len(sents) - 1))
    return out


def _cite(c: Chunk, quote: str, link: str, n: int | None = None, **extra) -> dict:
    d = {"n": n, "doc_id": c.doc_id, "title": c.title, "section": c.heading_path, "page_start": c.page_start,
         "page_end": c.page_end, "quote": quote, "link": link, "version": c.version,
         "published": c.published.isoformat() if c.published else None, "status": c.status.value,
         "doc_type": c.doc_type.value}
    d.update(extra)
    return d


def _is_newer(a: Chunk, b: Chunk) -> bool:
    return a.published is not None and (b.published is None or a.published > b.published)


class DraftChecker:
    """Checks the claims of one draft against the library of a `KnowledgeBase`."""

    def __init__(self, kb) -> None:
        self.kb = kb

    def check_claims(self, claims: list[str]) -> list[ClaimResult]:
        vectors = self.kb.embedder.embed(claims) if claims else []  # one batched call for the draft
        return [self.check_claim(c, v) for c, v in zip(claims, vectors, strict=True)]

    def check_claim(self, claim: str, vector: list[float]) -> ClaimResult:
        hits = self.kb.retriever.search(claim, SEARCH_K, SearchFilters(include_superseded=True),
                                        query_vector=vector)
        current = [h for h in hits if h.chunk.status == DocStatus.current]
        primary = [h for h in current if h.chunk.doc_type != DocType.bulletin]
        bulletins = [h for h in current if h.chunk.doc_type == DocType.bulletin]
        old = [h for h in hits if h.chunk.status == DocStatus.superseded]
        v_primary, v_bulletin, v_old = (self._check(claim, group) for group in (primary, bulletins, old))
        result = self._decide(claim, (v_primary, primary), (v_bulletin, bulletins), (v_old, old))
        result.alternatives = self._alternatives(result, [(v_primary, primary), (v_bulletin, bulletins)])
        return result

    def _check(self, claim: str, hits: list[Hit]) -> Verdict:
        return self.kb.checker.check(claim, [Passage.of(h.chunk) for h in hits])

    def _evidence(self, verdict: Verdict, hits: list[Hit], **extra) -> dict:
        ev = verdict.evidence
        chunk = hits[ev.passage].chunk
        return _cite(chunk, ev.quote, self.kb.link_for(chunk), **extra)

    def _decide(self, claim, primary, bulletin, old) -> ClaimResult:
        (vp, hp), (vb, hb), (vo, ho) = primary, bulletin, old
        if vp.verdict == "supported":
            return self._result(claim, vp, hp)
        if vb.verdict == "supported":
            b_chunk = hb[vb.evidence.passage].chunk
            newer = [h for h in hp if _is_newer(h.chunk, b_chunk)]
            if newer and vp.verdict != "contradicted":
                # Newer guidance outranks the bulletin: any clash with it on this point counts.
                relaxed = self.kb.checker.check(claim, [Passage.of(h.chunk) for h in newer],
                                                conflict_align=self.kb.checker.thresholds.support_align)
                if relaxed.verdict == "contradicted":
                    vp, hp = relaxed, newer
            if vp.verdict == "contradicted" and _is_newer(hp[vp.evidence.passage].chunk, b_chunk):
                newer = hp[vp.evidence.passage].chunk
                res = self._result(claim, vp, hp, verdict="contradicted",
                                   reason=f"newer guidance '{newer.title}' ({newer.published}) says otherwise: "
                                          f"{vp.reason}; the bulletin '{b_chunk.title}' ({b_chunk.published}) "
                                          "that agrees with the claim is older")
                res.flags.append("contradicts_newer_guidance")
                return res
            return self._result(claim, vb, hb)
        contra = next(((v, h) for v, h in ((vp, hp), (vb, hb)) if v.verdict == "contradicted"), None)
        if vo.verdict == "supported":
            old_chunk = ho[vo.evidence.passage].chunk
            old_doc = self.kb.catalog.get(old_chunk.doc_id)
            newer = self.kb.catalog.get(old_doc.superseded_by) if old_doc and old_doc.superseded_by else None
            base = contra or (vp, hp)
            res = self._result(claim, *base, verdict="contradicted" if contra else "unsupported",
                               reason=f"only superseded guidance supports this: '{old_chunk.title}' "
                                      f"({old_chunk.published})" + (f"; the current version is '{newer.title}' "
                                                                    f"({newer.published})" if newer else ""))
            res.flags.append("superseded_only")
            res.citations.append(self._evidence(vo, ho, role="superseded_source"))
            if newer is not None:
                res.citations[-1]["current_version"] = {
                    "doc_id": newer.doc_id, "title": newer.title,
                    "link": f"{self.kb.settings.base_url}/Library?doc={newer.doc_id}"}
            return res
        if contra is not None:
            return self._result(claim, *contra)
        return self._result(claim, vp if vp.score >= vb.score else vb, hp if vp.score >= vb.score else hb)

    def _result(self, claim: str, v: Verdict, hits: list[Hit], verdict: str | None = None,
                reason: str | None = None) -> ClaimResult:
        verdict = verdict or v.verdict
        res = ClaimResult(claim, verdict, round(v.score, 4), reason or v.reason)
        if v.evidence is not None and hits and verdict in ("supported", "contradicted"):
            role = "supports" if verdict == "supported" else "contradicts"
            res.citations.append(self._evidence(v, hits, role=role))
            chunk = hits[v.evidence.passage].chunk
            if chunk.review_due and chunk.review_due < dt.date.today():
                res.flags.append("past_review")
        if verdict == "unsupported" and "superseded_only" not in res.flags:
            res.flags.append("no_support")
        return res

    def _alternatives(self, result: ClaimResult, groups) -> list[dict]:
        chosen = {(c["doc_id"], c["quote"]) for c in result.citations}
        alts = []
        for v, hits in groups:
            for i, (label, score, ev) in enumerate(v.per_passage):
                if ev is None or (hits[i].chunk.doc_id, ev.quote) in chosen:
                    continue
                alts.append(_cite(hits[i].chunk, ev.quote, self.kb.link_for(hits[i].chunk), verdict=label,
                                  score=round(score, 4)))
        rank = {"supported": 0, "contradicted": 1, "unsupported": 2}
        alts.sort(key=lambda a: (rank[a["verdict"]], -a["score"]))
        return alts[:MAX_ALTERNATIVES]


def cite_draft(kb, draft: str) -> tuple[list[Segment], list[ClaimResult]]:
    segments = split_draft(draft)
    claims = [plain(s.text) for s in segments if s.claim]
    return segments, DraftChecker(kb).check_claims(claims)


def annotate(segments: list[Segment], results: list[ClaimResult], style: str = "markdown") -> tuple[str, str]:
    """The draft with [n] after supported claims and a flag after the others, and the references."""
    numbers: dict[tuple, int] = {}
    refs: list[str] = []
    it = iter(results)
    lines, line = [], ""
    for seg in segments:
        text = seg.text
        if seg.claim:
            res = next(it)
            marks = []
            for c in res.citations:
                key = (c["doc_id"], c["section"], c["quote"])
                if key not in numbers:
                    numbers[key] = len(numbers) + 1
                    refs.append(reference(numbers[key], c, style))
                c["n"] = numbers[key]
                marks.append(c["n"])
            if res.verdict == "supported":
                text = f"{text} " + "".join(f"[{n}]" for n in marks)
            elif res.verdict == "contradicted":
                text = f"{text} [check: contradicts {''.join(f'[{n}]' for n in marks)}]"
            elif "superseded_only" in res.flags:
                text = f"{text} [check: superseded guidance {''.join(f'[{n}]' for n in marks)}]"
            else:
                text = f"{text} [citation needed]"
        line = f"{line} {text}".strip() if line and not line.endswith(" ") else f"{line}{text}"
        if seg.line_end:
            lines.append(line)
            line = ""
    if line:
        lines.append(line)
    return "\n".join(lines), "\n".join(refs)


def reference(n: int, c: dict, style: str = "markdown") -> str:
    page = f", p.{c['page_start']}" if c.get("page_start") else ""
    date = f" ({c['published']})" if c.get("published") else ""
    if style == "markdown":
        return f"[{n}] [{c['title']}]({c['link']}), {c['section']}{page}{date}"
    return f"[{n}] {c['title']}, {c['section']}{page}{date}. {c['link']}"


def cite_json(kb, draft: str, style: str = "markdown") -> dict:
    segments, results = cite_draft(kb, draft)
    annotated, references = annotate(segments, results, style)
    return {"claims": [r.to_json() for r in results], "annotated": annotated, "references": references}
