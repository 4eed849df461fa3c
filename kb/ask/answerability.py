"""Refusal as a calibrated decision over several signals, not one cosine threshold.

Features (all from retrieval and evidence selection, no extra model call):
- `evidence`: mean of the best sentence's and the best passage's cosine with the question;
- `dense_top`: the best dense cosine among the hits;
- `coverage`: how much of the question's rare-term mass the top passages contain;
- `missing_entity`: the question names an infection, vaccine, drug or test no top passage mentions;
- `lexical`: the best sentence's share of the question's terms;
- `agreement`: dense and BM25 agree (how many chunks both retrievers rank in their own top 5).

A logistic model over these, fitted by `python -m evals.fit_answerability` on the golden set and
leave-the-gold-out cases from the MedQuAD and COVID-QA dev splits, gives p(answerable); the
question is answered when p >= the fitted threshold. Without a fitted model the evidence score
is compared with `answer_threshold` (the old rule).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from kb.ask.select import Evidence
from kb.embedder import DEFAULT_NAME
from kb.records import Hit, RetrievalTrace
from kb.terms import content_terms, weighted_coverage
from kb.verify.entities import missing_entities

MODEL_PATH = Path(__file__).with_name("answerability.json")


def model_path(encoder: str = "") -> Path:
    """The refusal model fitted for this encoder's vectors. Its features (evidence, dense_top, the
    agreement of the two retrievers) are similarities from the encoder, so an encoder whose vectors
    differ needs its own fit: `answerability.<encoder>.json` beside the default when there is one
    (`KB_EMBEDDER=int8`: fitted on int8 vectors; with the default's model, golden stale warnings
    fell .947 -> .842), else the default's (fp32, and bf16, whose vectors agree with fp32 to cosine
    0.9999)."""
    own = model_file(encoder)
    return own if own.is_file() else MODEL_PATH


def model_file(encoder: str = "") -> Path:
    """Where the refusal model fitted on this encoder's vectors lives (`evals.fit_answerability
    --write` writes it there): the default's file for the packaged model, else its own."""
    return MODEL_PATH if encoder in ("", DEFAULT_NAME) else MODEL_PATH.with_name(f"answerability.{encoder}.json")


FEATURES = ("evidence", "dense_top", "coverage", "missing_entity", "lexical", "agreement")
COVERAGE_HITS = 3


def features(question: str, hits: list[Hit], evidence: Evidence, trace: RetrievalTrace | None) -> dict[str, float]:
    top = [h for i, h in enumerate(hits[:COVERAGE_HITS]) if i not in evidence.untrusted]
    pool_text = " ".join(f"{h.chunk.title} {h.chunk.heading_path} {h.chunk.text}" for h in top)
    q_terms = content_terms(question)
    dense = [h.dense_score for h in hits if h.dense_score is not None]
    return {
        "evidence": round(evidence.score, 4),
        "dense_top": round(max(dense), 4) if dense else 0.0,
        "coverage": round(weighted_coverage(q_terms, content_terms(pool_text)), 4) if top else 0.0,
        "missing_entity": 1.0 if top and missing_entities(question, pool_text) else 0.0,
        "lexical": round(evidence.best_lexical, 4),
        "agreement": round(agreement(hits, trace), 4),
    }


def agreement(hits: list[Hit], trace: RetrievalTrace | None = None) -> float:
    """How far dense and BM25 agree on this question: the share of the top 5 that both put in
    their own top 5.

    From the trace, the two retrievers' own top 5s, so it does not move when a later stage
    (MaxSim, the authority priors, the per-document cap) re-orders the hits: it describes the
    question, not the ranking. Without a trace, the hits' own ranks.
    """
    top = hits[:5]
    if not top:
        return 0.0
    if trace is not None and trace.dense and trace.sparse:
        both = {pid for pid, _ in trace.dense[:5]} & {pid for pid, _ in trace.sparse[:5]}
        return min(1.0, len(both) / len(top))
    both = sum(1 for h in top if (h.dense_rank or 99) <= 5 and (h.sparse_rank or 99) <= 5)
    return both / len(top)


@dataclass(frozen=True)
class AnswerabilityModel:
    weights: dict[str, float]
    bias: float
    threshold: float
    means: dict[str, float]
    scales: dict[str, float]
    # Never answer from evidence weaker than this, whatever the other features say: the largest
    # multiple of 0.05 below every answerable training question's evidence (evals.fit_answerability).
    # 0.35 on the 2026-12-02 fit: it refuses none of the 395 answerable training questions, and
    # "What mileage rate is paid for my own car?" (evidence 0.20) no longer gets lone-working advice.
    evidence_floor: float = 0.0

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> AnswerabilityModel | None:
        if not path.is_file():
            return None
        d = json.loads(path.read_text(encoding="utf-8"))
        return cls(d["weights"], d["bias"], d["threshold"], d["means"], d["scales"], d.get("evidence_floor", 0.0))

    def probability(self, x: dict[str, float]) -> float:
        z = self.bias + sum(
            self.weights[f] * (x[f] - self.means[f]) / (self.scales[f] or 1.0) for f in self.weights
        )
        return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Decision:
    answerable: bool
    probability: float
    features: dict[str, float]


class AnswerabilityStage:
    def __init__(self, fallback_threshold: float, model: AnswerabilityModel | None = None) -> None:
        self.model = model  # None: the evidence score against `fallback_threshold`
        self.fallback_threshold = fallback_threshold

    def run(self, question: str, hits: list[Hit], evidence: Evidence, trace: RetrievalTrace | None) -> Decision:
        x = features(question, hits, evidence, trace)
        if not evidence.picks:
            return Decision(False, 0.0, x)
        if self.model is None:
            return Decision(x["evidence"] >= self.fallback_threshold, x["evidence"], x)
        p = self.model.probability(x)
        return Decision(p >= self.model.threshold and x["evidence"] >= self.model.evidence_floor, round(p, 4), x)
