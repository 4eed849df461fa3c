"""Calibrate the claim checker on perturbations of the corpus, and record the run.

    python -m evals.calibrate_checker [--per-kind 60] [--write]

1. Build the checker suite (`evals.checker_suite`) from the ingested corpus.
2. For each case retrieve passages as `kb cite` does (hybrid search on the claim; off-topic cases
   only see documents of other topic folders) and assess every candidate span once.
3. Grid-search the thresholds on the "fit" half of the documents: as many true claims supported
   as possible while at most 3% of perturbed claims and 5% of off-topic claims are supported;
   then the contradiction threshold that flags most perturbations as contradicted while rarely
   calling a true claim contradicted.
4. Report figures by kind on both halves; `--write` stores the thresholds and the figures in
   kb/verify/calibration.json, and the run goes to evals/runs/<id>-checker/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
from collections import defaultdict
from dataclasses import asdict, replace

from evals import paths
from evals.checker_suite import PERTURBATIONS, CheckerCase, build_cases
from kb.records import SearchFilters
from kb.verify.checker import CALIBRATION_PATH, Assessment, Passage, RuleChecker, Thresholds, decide


def real_cases() -> list[CheckerCase]:
    """Hand-written true and wrong claims over the corpus (evals/datasets/checker_dev.jsonl)."""
    path = paths.DATASETS / "checker_dev.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [CheckerCase(f"{r['kind']}-{i:03d}", r["kind"], r["claim"], "", "", "", "fit" if i % 2 == 0 else "check")
            for i, r in enumerate(rows)]


# Topic groups with no overlap: an off-topic claim from one is checked against the other only.
CLINICAL = {"bloodborne-viruses", "immunisation"}


def passages_for(kb, case: CheckerCase, folders: dict[str, str], k: int = 6) -> list[Passage]:
    filters = None
    if case.kind == "offtopic":
        others = [d for d, f in folders.items() if (f in CLINICAL) != (case.folder in CLINICAL)]
        filters = SearchFilters(doc_ids=others)
    hits = kb.search(case.claim, k=k, filters=filters)
    return [Passage.of(h.chunk) for h in hits]


def assess_all(kb, cases: list[CheckerCase], checker: RuleChecker, progress=None) -> list[tuple[list[Assessment], int]]:
    folders = {d.doc_id: d.source_path.split("/")[-2] for d in kb.documents(statuses=["current"])}
    out = []
    for i, case in enumerate(cases, start=1):
        ps = passages_for(kb, case, folders)
        out.append((checker.assess(case.claim, ps), len(ps)))
        if progress:
            progress(i, len(cases))
    return out


def figures(cases: list[CheckerCase], assessed, t: Thresholds, split: str | None = None) -> dict:
    by: dict[str, list[str]] = defaultdict(list)
    for case, (ass, n) in zip(cases, assessed, strict=True):
        if split and case.split != split:
            continue
        by[case.kind].append(decide(ass, n, t).verdict)
    out = {}
    for kind, verdicts in sorted(by.items()):
        n = len(verdicts)
        out[kind] = {
            "n": n,
            "supported": round(verdicts.count("supported") / n, 4),
            "contradicted": round(verdicts.count("contradicted") / n, 4),
            "unsupported": round(verdicts.count("unsupported") / n, 4),
        }
    pert = [v for k in (*PERTURBATIONS, "real_wrong") for v in by.get(k, [])]
    if pert:
        out["all_perturbations"] = {
            "n": len(pert),
            "caught": round(1 - pert.count("supported") / len(pert), 4),
            "contradicted": round(pert.count("contradicted") / len(pert), 4),
        }
    return out


REAL_WEIGHT = 3.0  # hand-written claims (evals/datasets/checker_dev.jsonl) weigh more than generated ones


def _rates(cases: list[CheckerCase], assessed, idx: list[int], t: Thresholds) -> dict[str, float]:
    n = {"true": 0.0, "pert": 0.0, "off": 0.0}
    got = {"true_sup": 0.0, "true_con": 0.0, "pert_sup": 0.0, "pert_con": 0.0, "off_sup": 0.0, "off_con": 0.0}
    for i in idx:
        ass, k = assessed[i]
        v = decide(ass, k, t).verdict
        kind = cases[i].kind
        w = REAL_WEIGHT if kind.startswith("real_") else 1.0
        group = "true" if kind in ("true", "real_true") else "off" if kind == "offtopic" else "pert"
        n[group] += w
        got[f"{group}_sup"] += w * (v == "supported")
        got[f"{group}_con"] += w * (v == "contradicted")
    return {k: v / max(n[k.split("_")[0]], 1.0) for k, v in got.items()}


def fit(cases: list[CheckerCase], assessed) -> Thresholds:
    """Penalised grid search on the "fit" half: a supported perturbation or off-topic claim costs
    twice what a true claim left unsupported costs (a wrong "supported" misleads a clinician)."""
    idx = [i for i, c in enumerate(cases) if c.split == "fit"]
    best, best_j = Thresholds(), None
    grid = itertools.product(
        [x / 100 for x in range(45, 81, 3)], [x / 100 for x in range(30, 71, 5)], [x / 100 for x in range(40, 91, 5)]
    )
    for (align, sim, cov), high in itertools.product(list(grid), [0.75, 0.8, 0.85, 0.9, 1.1]):
        t = replace(Thresholds(), support_align=align, support_sim=sim, support_coverage=cov, support_sim_high=high)
        r = _rates(cases, assessed, idx, t)
        j = r["true_sup"] - 2 * r["pert_sup"] - 2 * r["off_sup"]
        if best_j is None or j > best_j:
            best, best_j = t, j
    best_c, best_cj = best, None
    for c_align, margin, top in itertools.product([x / 100 for x in range(35, 76, 5)], [0.0, 0.05, 0.1, 0.2, 1.0],
                                                  [0.45, 0.5, 0.55, 0.6, 1.1]):
        t = replace(best, conflict_align=c_align, conflict_margin=margin, top_conflict_align=top)
        r = _rates(cases, assessed, idx, t)
        j = (r["true_sup"] - 2 * r["pert_sup"] - 2 * r["off_sup"] + 0.5 * r["pert_con"] - 2 * r["true_con"]
             - 0.25 * r["off_con"])  # an unrelated claim is "no support", not "contradicts"
        if best_cj is None or j > best_cj:
            best_c, best_cj = t, j
    return best_c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-kind", type=int, default=60)
    ap.add_argument("--write", action="store_true", help="store the fitted thresholds in kb/verify/calibration.json")
    ap.add_argument("--cache", help="pickle of the assessments: reused if present (re-fit without re-checking)")
    args = ap.parse_args()
    import pickle
    from pathlib import Path

    from evals.golden import golden_kb

    cache = Path(args.cache) if args.cache else None
    if cache and cache.is_file():
        cases, assessed = pickle.loads(cache.read_bytes())
    else:
        kb = golden_kb()
        try:
            chunks = [c for d in kb.documents(statuses=["current"]) if d.doc_type.value != "bulletin"
                      for c in kb.chunks(d.doc_id)]
            cases = build_cases(chunks, per_kind=args.per_kind) + real_cases()
            checker = RuleChecker(kb.embedder, Thresholds())
            assessed = assess_all(kb, cases, checker,
                                  progress=lambda i, n: print(f"{i}/{n}", flush=True) if i % 50 == 0 else None)
        finally:
            kb.close()
        if cache:
            cache.write_bytes(pickle.dumps((cases, assessed)))
    before = Thresholds()
    fitted = fit(cases, assessed)
    report = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cases": len(cases),
        "thresholds": asdict(fitted),
        "defaults_before": asdict(before),
        "fit": figures(cases, assessed, fitted, "fit"),
        "check": figures(cases, assessed, fitted, "check"),
        "all": figures(cases, assessed, fitted),
        "before_all": figures(cases, assessed, before),
    }
    print(json.dumps(report, indent=1))
    run = paths.RUNS / (dt.datetime.now().strftime("%Y%m%d-%H%M%S") + "-checker")
    run.mkdir(parents=True, exist_ok=True)
    (run / "metrics.json").write_text(json.dumps(report, indent=1))
    (run / "cases.jsonl").write_text("".join(json.dumps(asdict(c)) + "\n" for c in cases))
    if args.write:
        CALIBRATION_PATH.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {CALIBRATION_PATH}")


if __name__ == "__main__":
    main()
