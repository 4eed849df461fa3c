"""Fit the refusal model (kb/ask/answerability.py) and report refusal before and after.

    python -m evals.fit_answerability [--medquad N] [--covidqa N] [--write]

Training cases:
- the golden set: answerable and stale questions are answerable, unanswerable ones are not;
- MedQuAD and COVID-QA dev questions, each twice: as asked (answerable), and with the gold
  passage's document dropped from the results ("leave the gold out": unanswerable).

A logistic regression over standardised features (L2-regularised, fitted by gradient descent
with numpy) gives p(answerable). The threshold is the highest one that refuses at most 5% of the
answerable golden questions. Figures are reported in-sample and with 5-fold cross-validation
over the golden set (the fit never sees the fold it is scored on), beside the old rule
(evidence score >= answer_threshold).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random

import numpy as np

from evals import paths
from kb.ask.answerability import FEATURES, AnswerabilityModel, features, model_file
from kb.ask.select import select_evidence

GOLDEN_WEIGHT = 3.0
MAX_REFUSED_ANSWERABLE = 0.05


def case_features(kb, question: str, drop_doc: str | None = None, k: int = 6) -> dict[str, float]:
    qv = kb.embedder.embed_query(question)
    found = kb.retriever.retrieve(question, k + 6 if drop_doc else k, None, "hybrid", query_vector=qv)
    # as `AskPipeline.decide` reads them: without the sentence MaxSim re-rank, when it ran
    hits = [h for h in (found.unreordered or found.hits) if h.chunk.doc_id != drop_doc][:k]
    ev = select_evidence(question, hits, kb.embedder, question_vector=qv)
    x = features(question, hits, ev, found.trace)
    x["_picks"] = float(bool(ev.picks))
    return x


def golden_rows(progress=print) -> list[dict]:
    from evals.golden import golden_kb, load_cases

    kb = golden_kb()
    try:
        rows = []
        for i, case in enumerate(load_cases(), 1):
            rows.append({"set": "golden", "id": case.id, "y": int(case.kind != "unanswerable"),
                         "x": case_features(kb, case.question)})
            if i % 25 == 0:
                progress(f"golden {i}")
        return rows
    finally:
        kb.close()


def external_rows(name: str, n: int, progress=print) -> list[dict]:
    from evals.external import covidqa, medquad
    from evals.external.run import covidqa_kb, medquad_kb

    if name == "medquad":
        _, queries = medquad.load()
        dev = medquad.dev_queries(queries, sample=n)
        kb = medquad_kb(max_chunks_per_doc=3)
        items = [(q.qid, q.question, q.gold_doc) for q in dev]
    else:
        _, queries = covidqa.load()
        dev = covidqa.dev_queries(queries)
        random.Random(5).shuffle(dev)
        kb = covidqa_kb()
        items = [(q.qid, q.question, q.doc_id) for q in dev[:n]]
    try:
        rows = []
        for i, (qid, question, gold) in enumerate(items, 1):
            rows.append({"set": name, "id": qid, "y": 1, "x": case_features(kb, question)})
            rows.append({"set": f"{name}-leave-gold-out", "id": qid, "y": 0, "x": case_features(kb, question, gold)})
            if i % 25 == 0:
                progress(f"{name} {i}/{len(items)}")
        return rows
    finally:
        kb.close()


def fit_logistic(rows: list[dict], l2: float = 1.0, steps: int = 3000, lr: float = 0.1) -> AnswerabilityModel:
    X = np.array([[r["x"][f] for f in FEATURES] for r in rows], dtype=float)
    y = np.array([r["y"] for r in rows], dtype=float)
    w_row = np.array([GOLDEN_WEIGHT if r["set"] == "golden" else 1.0 for r in rows])
    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd[sd == 0] = 1.0
    Z = (X - mu) / sd
    w, b = np.zeros(Z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(Z @ w + b)))
        g = (p - y) * w_row
        w -= lr * (Z.T @ g / w_row.sum() + l2 * w / len(y))
        b -= lr * g.sum() / w_row.sum()
    return AnswerabilityModel(dict(zip(FEATURES, map(float, w), strict=True)), float(b), 0.5,
                              dict(zip(FEATURES, map(float, mu), strict=True)),
                              dict(zip(FEATURES, map(float, sd), strict=True)))


def evidence_floor(rows: list[dict], step: float = 0.05) -> float:
    """The largest multiple of `step` below the evidence of every answerable training question:
    below it the library is taken not to cover the question, whatever the model says."""
    weakest = min((r["x"]["evidence"] for r in rows if r["y"] == 1), default=0.0)
    return round(max(0.0, (int(weakest / step - 1e-9)) * step), 4)


def pick_threshold(model: AnswerabilityModel, rows: list[dict]) -> float:
    golden = [r for r in rows if r["set"] == "golden"]
    answerable = sorted(model.probability(r["x"]) for r in golden if r["y"] == 1)
    allowed = int(MAX_REFUSED_ANSWERABLE * len(answerable))  # may refuse this many answerable questions
    return float(answerable[allowed] - 1e-6) if answerable else 0.5


def refusal_figures(rows: list[dict], decide) -> dict:
    out = {}
    for s in sorted({r["set"] for r in rows}):
        sub = [r for r in rows if r["set"] == s]
        ans = [r for r in sub if r["y"] == 1]
        una = [r for r in sub if r["y"] == 0]
        refused = {id(r) for r in sub if not decide(r)}
        out[s] = {
            "n": len(sub),
            "answerable_refused": round(sum(id(r) in refused for r in ans) / len(ans), 4) if ans else None,
            "unanswerable_refused": round(sum(id(r) in refused for r in una) / len(una), 4) if una else None,
        }
        tp = sum(id(r) in refused for r in una)
        n_ref = len(refused)
        out[s]["refusal_precision"] = round(tp / n_ref, 4) if n_ref else None
        out[s]["refusal_recall"] = round(tp / len(una), 4) if una else None
    return out


def cross_validated(rows: list[dict], folds: int = 5) -> dict:
    """Golden refusal figures where each golden question is scored by a model fitted without it."""
    golden = [r for r in rows if r["set"] == "golden"]
    rest = [r for r in rows if r["set"] != "golden"]
    rng = random.Random(11)
    order = golden[:]
    rng.shuffle(order)
    scored = []
    for f in range(folds):
        test = order[f::folds]
        train = [r for r in order if r not in test] + rest
        model = fit_logistic(train)
        t = pick_threshold(model, train)
        scored += [(r, model.probability(r["x"]) >= t and r["x"]["_picks"] > 0) for r in test]
    answered = {id(r): a for r, a in scored}
    return refusal_figures(golden, lambda r: answered[id(r)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--medquad", type=int, default=150)
    ap.add_argument("--covidqa", type=int, default=150)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    from kb.settings import load_settings

    rows = golden_rows()
    if args.medquad:
        rows += external_rows("medquad", args.medquad)
    if args.covidqa:
        rows += external_rows("covidqa", args.covidqa)
    threshold = load_settings().answer_threshold
    model = fit_logistic(rows)
    model = AnswerabilityModel(model.weights, model.bias, pick_threshold(model, rows), model.means, model.scales,
                               evidence_floor(rows))
    report = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cases": {s: sum(r["set"] == s for r in rows) for s in sorted({r["set"] for r in rows})},
        "weights": model.weights, "bias": model.bias, "threshold": model.threshold,
        "evidence_floor": model.evidence_floor,
        "means": model.means, "scales": model.scales,
        "before": refusal_figures(rows, lambda r: r["x"]["evidence"] >= threshold and r["x"]["_picks"] > 0),
        "after": refusal_figures(rows, lambda r: model.probability(r["x"]) >= model.threshold
                                 and r["x"]["evidence"] >= model.evidence_floor and r["x"]["_picks"] > 0),
        "after_golden_cross_validated": cross_validated(rows),
    }
    print(json.dumps(report, indent=1))
    run = paths.RUNS / (dt.datetime.now().strftime("%Y%m%d-%H%M%S") + "-answerability")
    run.mkdir(parents=True, exist_ok=True)
    (run / "metrics.json").write_text(json.dumps(report, indent=1))
    (run / "features.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if args.write:  # the default's model, or one for an encoder whose vectors differ (`model_path`)
        from kb.embedder import open_embedder

        name = open_embedder(load_settings()).name
        target = model_file(name)
        report["encoder"] = name
        target.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
