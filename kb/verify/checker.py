"""The claim checker: `check(claim, passages) -> Verdict`.

Built from small parts, each in its own module:
- `quantities`: numbers, ranges, intervals, frequencies, doses and counts, units normalised;
- `polarity`: negation scope and opposite words;
- `entities`: infections and vaccines, tests, drugs and roles that must match;
- rare-term coverage (`kb.terms`) and embedding similarity.

How a verdict is reached:
1. Every sentence of every passage, and every pair of adjacent sentences, is a candidate span.
   Sentences that address a model ("ignore previous instructions") are never candidates.
2. Candidates are ranked by alignment with the claim: the mean of embedding similarity and the
   claim's rare-term coverage by the candidate.
3. The best aligned candidates are compared part by part. A candidate *supports* the claim when it
   is aligned well enough, every quantity in the claim agrees with one of its quantities, and
   neither polarity nor entities conflict. It *contradicts* when it is aligned well enough to be
   about the same point and a quantity, the polarity or an entity disagrees.
4. Any support wins (a true claim often sits beside sentences with other numbers); otherwise the
   best aligned contradiction; otherwise the claim is unsupported.

The thresholds come from `calibration.json`, fitted by `python -m evals.calibrate_checker` on
perturbations of the corpus (never hand-picked).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

from kb.embedder import Embedder
from kb.records import Chunk
from kb.sentences import split_sentences
from kb.terms import content_terms, stem, tokens, topic_terms, uncovered, weighted_coverage
from kb.verify.entities import entity_conflict, unmatched_entities
from kb.verify.polarity import negated_terms, polarity_conflict
from kb.verify.quantities import Quantity, agree, comparable, extract_quantities, written_numbers
from kb.verify.untrusted import is_instruction

VerdictLabel = Literal["supported", "contradicted", "unsupported"]
CALIBRATION_PATH = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class Passage:
    """Text to check a claim against, and the chunk it came from (if any)."""

    text: str
    chunk: Chunk | None = None

    @classmethod
    def of(cls, chunk: Chunk) -> Passage:
        return cls(chunk.text, chunk)


@dataclass(frozen=True)
class Evidence:
    """An exact span of one passage: `passages[passage].text[start:end] == quote`."""

    passage: int
    start: int
    end: int
    quote: str
    chunk_id: str | None = None


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictLabel
    score: float
    reason: str
    evidence: Evidence | None = None
    # the best verdict per passage (same order as the input), for alternatives
    per_passage: tuple[tuple[VerdictLabel, float, Evidence | None], ...] = ()
    features: dict[str, float] = field(default_factory=dict)

    @property
    def supported(self) -> bool:
        return self.verdict == "supported"


class ClaimChecker(Protocol):
    def check(self, claim: str, passages: Sequence[Passage], conflict_align: float | None = None) -> Verdict: ...


@dataclass(frozen=True)
class Thresholds:
    support_align: float = 0.62
    support_sim: float = 0.5
    support_coverage: float = 0.6
    conflict_align: float = 0.55
    # A contradiction this much more similar (embedding) to the claim than the best support wins.
    conflict_margin: float = 1.0
    # A span this similar to the claim supports it with less rare-term coverage (a paraphrase),
    # down to `support_coverage_floor`.
    support_sim_high: float = 1.1
    support_coverage_floor: float = 0.4
    # The best aligned span is about the claim's point: its clash contradicts from this alignment.
    top_conflict_align: float = 1.1
    top_candidates: int = 8
    embed_candidates: int = 16

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> Thresholds:
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.get("thresholds", {}).items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class _Span:
    passage: int
    start: int
    end: int
    text: str


# What older guidance said never supports a claim. A clause that reports it ("instead of every 2
# hours", "(previously 30 minutes)") is cut from a span before support is checked; a sentence that
# is only about the old rule ("The 2018 edition recommended ...", "has been replaced") can show a
# contradiction but never supports.
_OLD_CLAUSE = re.compile(r"\((?:[^()]*\b(?:previously|formerly|was|were|until)\b[^()]*)\)"
                         r"|,?\s*\b(?:instead of|rather than|replacing|which replaces?|replaces)\b[^.;:()]*",
                         re.IGNORECASE)
_HISTORICAL = re.compile(r"\b(?:editions?|previous(?:ly)?|formerly|used to|(?:has|have|was|were) been replaced|"
                         r"(?:was|were) replaced|replaced by|superseded)\b", re.IGNORECASE)


def current_part(text: str) -> str:
    """`text` without the clauses that report older guidance."""
    return _OLD_CLAUSE.sub("", text)


def is_historical(text: str) -> bool:
    return bool(_HISTORICAL.search(current_part(text)))


def candidate_spans(passages: Sequence[Passage]) -> list[_Span]:
    """Sentences and adjacent sentence pairs of every passage, instruction sentences left out."""
    spans: list[_Span] = []
    for pi, p in enumerate(passages):
        sents = [s for s in split_sentences(p.text) if len(s.text) >= 8 and not is_instruction(s.text)]
        for i, s in enumerate(sents):
            spans.append(_Span(pi, s.start, s.end, s.text))
            if i + 1 < len(sents):
                nxt = sents[i + 1]
                spans.append(_Span(pi, s.start, nxt.end, p.text[s.start : nxt.end]))
    return spans


def context_terms(passage: Passage) -> set[str]:
    """The content terms of a passage's document title and section headings, without numbers.

    A list item reads under its heading: "Check in at least every hour while working alone" in
    "Lone Working Policy 2024 > 5 Check-in intervals" states the rule for lone workers. These terms
    count towards a span's coverage of the claim, so a claim may name the subject its source's
    heading names. Quantities, negations and named entities are still compared with the span alone.
    """
    if passage.chunk is None:
        return set()
    terms = topic_terms(f"{passage.chunk.title} {passage.chunk.heading_path.replace(' > ', ' ')}")
    # A document about an activity ("Lone Working Policy") is about the people who do it ("lone workers").
    return terms | {t.removesuffix("_working") + "_worker" for t in terms if t.endswith("_working")}


def quantity_check(claim_q: list[Quantity], source_q: list[Quantity]) -> tuple[str, str]:
    """("match" | "conflict" | "missing", reason) for the claim's quantities against a source's."""
    for q in claim_q:
        if q.category == "number":
            if round(q.low, 6) in written_numbers(source_q):
                continue
            bare = [o for o in source_q if o.category == "number"]
            if bare:
                return "conflict", f"number differs: the claim says {q.describe()}, the source says {bare[0].describe()}"
            return "missing", f"the source does not state {q.describe()}"
        same = comparable(q, source_q)
        if any(agree(q, o) for o in same):
            continue
        if same:
            near = min(same, key=lambda o: abs(math.log((o.low + 1e-9) / (q.low + 1e-9))))
            return "conflict", f"number differs: the claim says {q.describe()}, the source says {near.describe()}"
        return "missing", f"the source does not state {q.describe()}"
    return "match", ""


class RuleChecker:
    """The default checker: quantities, polarity, entities, rare-term coverage and similarity.

    >>> # checker = RuleChecker(embedder)
    >>> # checker.check("PEP can start up to 30 days after", [Passage("Start PEP within 72 hours.")]).verdict
    >>> # 'contradicted'
    """

    name = "rules"

    def __init__(self, embedder: Embedder, thresholds: Thresholds | None = None) -> None:
        self.embedder = embedder
        self.thresholds = thresholds or Thresholds.load()

    # ------------------------------------------------------------ embeddings

    def vectors(self, texts: Sequence[str]) -> list[list[float]]:
        """Embeddings through the embedder's cache (`Embedder.embed_cached`: an LRU, then the
        on-disk vectors): answers and checks reuse the same passages."""
        return self.embedder.embed_cached(texts)

    # ------------------------------------------------------------ check

    def assess(self, claim: str, passages: Sequence[Passage]) -> list[Assessment]:
        """Every candidate span compared with the claim, best aligned first (threshold-free)."""
        claim = " ".join(claim.split())
        spans = candidate_spans(passages)
        if not claim or not spans:
            return []
        c_terms = topic_terms(claim)
        # Coverage is cheap: embed only the spans that share most of the claim's rare terms.
        # Ties (many spans hold every topic term) break on the claim's other terms, its numbers
        # included, then on shorter spans. A span is read under its document's title and section
        # (`context_terms`): they can name what it is about, never the values it states.
        all_terms = content_terms(claim)
        context = [context_terms(p) for p in passages]
        keyed = [(weighted_coverage(c_terms, t := content_terms(s.text) | context[s.passage]),
                  weighted_coverage(all_terms, t), i, s)
                 for i, s in enumerate(spans)]
        keyed.sort(key=lambda x: (-x[0], -x[1], len(x[3].text)))
        covered = [(cov, i, s) for cov, _, i, s in keyed[: self.thresholds.embed_candidates]]
        vecs = self.vectors([claim, *(s.text for _, _, s in covered)])
        cv = vecs[0]
        scored = []
        for (cov, _, s), v in zip(covered, vecs[1:], strict=True):
            sim = sum(a * b for a, b in zip(cv, v, strict=True))
            scored.append((0.5 * sim + 0.5 * cov, sim, cov, s))
        scored.sort(key=lambda x: -x[0])
        claim_q = extract_quantities(claim)
        claim_negated = negated_terms(claim)
        out = []
        for align, sim, cov, s in scored[: self.thresholds.top_candidates]:
            ev = Evidence(s.passage, s.start, s.end, s.text, _chunk_id(passages[s.passage]))
            now = current_part(s.text)
            q_state, q_reason = quantity_check(claim_q, extract_quantities(now))
            clash = (q_reason if q_state == "conflict" else None) or polarity_conflict(claim, s.text) \
                or entity_conflict(claim, s.text)
            reason = clash or (q_reason if q_state == "missing" else "") or _uncovered_reason(claim, s.text,
                                                                                                context[s.passage])
            # What the claim negates must be negated in the source too ("PEP is not needed" needs a
            # source that says something is not needed, not any sentence that mentions PEP).
            negation_found = claim_negated <= negated_terms(s.text)
            unnamed = unmatched_entities(claim, s.text)
            if unnamed and not clash and q_state == "match":
                q_state, reason = "missing", f"the source does not mention {unnamed[0].replace('_', ' ')}"
            out.append(Assessment(round(align, 4), round(sim, 4), round(cov, 4), ev, q_state, clash, reason,
                                  is_historical(s.text) or not negation_found,
                                  bool(claim_q) and q_state == "match"))
        return out

    def check(self, claim: str, passages: Sequence[Passage], conflict_align: float | None = None) -> Verdict:
        """`conflict_align` lowers the bar for a contradiction, where a weaker clash must still be seen
        (newer guidance against an older bulletin that agrees with the claim)."""
        t = self.thresholds if conflict_align is None else replace(self.thresholds, conflict_align=conflict_align)
        return decide(self.assess(claim, passages), len(passages), t)


@dataclass(frozen=True)
class Assessment:
    """One candidate span against the claim: alignment, and what the parts found."""

    align: float
    sim: float
    coverage: float
    evidence: Evidence
    quantities: str  # match | conflict | missing
    clash: str | None  # the reason of a quantity, polarity or entity conflict
    reason: str
    historical: bool = False  # reports older guidance, or lacks the claim's negation: never support
    quantified: bool = False  # the claim states a quantity and the span states the same one


_RANK = {"supported": 2, "contradicted": 1, "unsupported": 0}


def label_of(a: Assessment, t: Thresholds) -> VerdictLabel:
    # A paraphrase covers fewer of the claim's words: very similar spans, or spans that state the
    # claim's own numbers, support it down to the coverage floor.
    covered = a.coverage >= t.support_coverage or (
        a.coverage >= t.support_coverage_floor and (a.sim >= t.support_sim_high or a.quantified))
    if a.clash is None and not a.historical and a.quantities == "match" and a.align >= t.support_align \
            and a.sim >= t.support_sim and covered:
        return "supported"
    if a.clash is not None and a.align >= t.conflict_align:
        return "contradicted"
    return "unsupported"


def decide(assessments: list[Assessment], n_passages: int, t: Thresholds) -> Verdict:
    """Any support wins; else the best aligned contradiction; else unsupported."""
    if not assessments:
        return Verdict("unsupported", 0.0, "no source passage to check against",
                       per_passage=tuple(("unsupported", 0.0, None) for _ in range(n_passages)))
    labels = [label_of(a, t) for a in assessments]
    best: dict[int, tuple[VerdictLabel, float, Evidence | None]] = {}
    for a, label in zip(assessments, labels, strict=True):
        prev = best.get(a.evidence.passage)
        if prev is None or (_RANK[label], a.align) > (_RANK[prev[0]], prev[1]):
            best[a.evidence.passage] = (label, a.align, a.evidence)
    per_passage = tuple(best.get(i, ("unsupported", 0.0, None)) for i in range(n_passages))
    top = assessments[0]
    features = {"align": top.align, "sim": top.sim, "coverage": top.coverage}
    support = next((a for a, label in zip(assessments, labels, strict=True) if label == "supported"), None)
    conflict = next((a for a, label in zip(assessments, labels, strict=True) if label == "contradicted"), None)
    if support is not None and (conflict is None or conflict.sim < support.sim + t.conflict_margin):
        return Verdict("supported", support.align, f"the source states this (similarity {support.sim:.2f}, "
                       f"coverage {support.coverage:.2f})", support.evidence, per_passage, features)
    if conflict is None and top.clash is not None and top.align >= t.top_conflict_align:
        conflict = top
    if conflict is not None:
        return Verdict("contradicted", conflict.align, conflict.clash or "", conflict.evidence, per_passage, features)
    # Not enough to contradict, but a close passage that disagrees is the most useful reason to show.
    near = next((a for a in assessments if a.clash and a.align >= t.support_align), None)
    if near is not None:
        return Verdict("unsupported", near.align, f"not stated as claimed; the closest source differs: {near.clash}",
                       near.evidence, per_passage, features)
    return Verdict("unsupported", top.align, top.reason or "no source passage states this closely enough",
                   top.evidence, per_passage, features)


def _uncovered_reason(claim: str, source: str, context: set[str] = frozenset()) -> str:
    gone = uncovered(topic_terms(claim), content_terms(source) | context)
    if not gone:
        return ""
    surface = {stem(t): t for t in tokens(claim)}  # show "rabies", not its stem
    return "no source passage mentions " + ", ".join(f"'{surface.get(g, g).replace('_', ' ')}'" for g in gone[:3])


def _chunk_id(p: Passage) -> str | None:
    return p.chunk.chunk_id if p.chunk is not None else None
